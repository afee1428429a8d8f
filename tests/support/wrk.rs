//! wrk (Debian's `wrk`) as background load for tests that must hold under real load, not a
//! handful of requests: started with its connections and headers, stopped with SIGINT (wrk
//! then prints its summary as at the end of a timed run), and its summary parsed.
//!
//! Include with `#[path = "support/wrk.rs"] mod wrk;`.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A wrk run in the background.
pub struct WrkLoad {
    child: Option<Child>,
    output: std::path::PathBuf,
}

/// What wrk counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WrkSummary {
    /// Responses received (any status).
    pub requests: u64,
    /// Responses whose status was not 2xx or 3xx.
    pub non_2xx: u64,
    /// Connect, read, write and timeout errors, in that order.
    pub socket_errors: [u64; 4],
}

impl WrkSummary {
    /// Parses the summary wrk prints at the end of a run.
    pub fn parse(text: &str) -> WrkSummary {
        let mut summary = WrkSummary::default();
        for line in text.lines().map(str::trim) {
            if let Some((count, _)) = line.split_once(" requests in ") {
                summary.requests = count.trim().parse().unwrap_or(0);
            } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
                summary.non_2xx = rest.trim().parse().unwrap_or(0);
            } else if let Some(rest) = line.strip_prefix("Socket errors:") {
                for (slot, part) in summary.socket_errors.iter_mut().zip(rest.split(',')) {
                    *slot = part
                        .split_whitespace()
                        .last()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(0);
                }
            }
        }
        summary
    }
}

impl WrkLoad {
    /// Starts `wrk -t1 -c CONNECTIONS` on `http://127.0.0.1:PORT{target}` with `headers`,
    /// for at most `limit` (stop it sooner with [`WrkLoad::finish`]); wrk's own timeout is
    /// 10 s so that a slow answer counts as a timeout rather than vanishing.
    pub fn start(
        port: u16,
        target: &str,
        headers: &[(&str, &str)],
        connections: usize,
        limit: Duration,
    ) -> WrkLoad {
        let output = std::env::temp_dir().join(format!(
            "jkgate-wrk-{}-{port}-{}.out",
            std::process::id(),
            connections
        ));
        let file = std::fs::File::create(&output).expect("wrk output file");
        let mut command = Command::new("wrk");
        command
            .arg("-t1")
            .arg(format!("-c{connections}"))
            .arg(format!("-d{}s", limit.as_secs().max(1)))
            .arg("--timeout")
            .arg("10s");
        for (name, value) in headers {
            command.arg("-H").arg(format!("{name}: {value}"));
        }
        command
            .arg(format!("http://127.0.0.1:{port}{target}"))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(Stdio::null());
        let child = command
            .spawn()
            .expect("wrk runs (Debian package `wrk`; scripts/test installs it)");
        WrkLoad {
            child: Some(child),
            output,
        }
    }

    /// Stops wrk (SIGINT: it prints its summary), waits for it and returns what it counted.
    pub fn finish(mut self) -> WrkSummary {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(child.id().to_string())
            .status();
        let status = child.wait().expect("wrk exits");
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        let _ = std::fs::remove_file(&self.output);
        assert!(status.success(), "wrk failed ({status}): {text}");
        let summary = WrkSummary::parse(&text);
        assert!(summary.requests > 0, "wrk sent nothing: {text}");
        summary
    }
}

impl Drop for WrkLoad {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&self.output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_summary_with_errors() {
        let text = "Running 30s test @ http://127.0.0.1:1/\n  1 threads and 4 connections\n  \
                    353 requests in 2.00s, 3.72MB read\n  Socket errors: connect 1, read 2, write 3, timeout 4\n  \
                    Non-2xx or 3xx responses: 5\nRequests/sec:    176.33\n";
        assert_eq!(
            WrkSummary::parse(text),
            WrkSummary {
                requests: 353,
                non_2xx: 5,
                socket_errors: [1, 2, 3, 4],
            }
        );
    }
}
