//! `jkgate ajp ping URL`: CPING/CPONG with the pool's own check, repeated like `ping`,
//! with a summary line.

use std::time::Duration;

use tokio::time::Instant;

use super::client::Client;
use super::error::ToolError;
use super::target::AjpUrl;
use super::trace::Trace;

/// The options of `jkgate ajp ping`.
#[derive(Debug, Clone)]
pub struct PingOptions {
    /// `ajp://host:port`.
    pub url: String,
    /// `-c`: how many CPINGs (none: until interrupted).
    pub count: Option<u64>,
    /// `-i`: pause between CPINGs.
    pub interval: Duration,
    /// `--packet-size`: the connector's packetSize.
    pub packet_size: u32,
    /// Bound on connecting and on each CPONG.
    pub timeout: Duration,
    /// `-v`: trace every packet.
    pub verbose: bool,
}

/// Round-trip times of the answered CPINGs.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Tally {
    /// CPINGs sent (or tried).
    pub sent: u64,
    /// Round-trip times of the CPONGs received, in milliseconds.
    pub rtts: Vec<f64>,
}

impl Tally {
    /// `ping`'s summary: counts, loss, and rtt min/avg/max/mdev.
    pub(crate) fn summary(&self, target: &str, elapsed: Duration) -> String {
        let received = self.rtts.len() as u64;
        let loss = if self.sent == 0 {
            0.0
        } else {
            100.0 * (self.sent - received) as f64 / self.sent as f64
        };
        let mut out = format!(
            "--- {target} ajp ping statistics ---\n{} CPINGs sent, {received} CPONGs received, {loss:.0}% loss, time {}ms\n",
            self.sent,
            elapsed.as_millis()
        );
        if !self.rtts.is_empty() {
            let n = self.rtts.len() as f64;
            let min = self.rtts.iter().copied().fold(f64::INFINITY, f64::min);
            let max = self.rtts.iter().copied().fold(0.0, f64::max);
            let avg = self.rtts.iter().sum::<f64>() / n;
            let mdev = (self.rtts.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / n).sqrt();
            out += &format!("rtt min/avg/max/mdev = {min:.3}/{avg:.3}/{max:.3}/{mdev:.3} ms\n");
        }
        out
    }
}

/// Runs `jkgate ajp ping`: one connection, reopened after a failure; every CPING is
/// timed on its own. Ends with the error of the last failure when any CPING failed.
pub(crate) async fn run(options: PingOptions) -> Result<(), ToolError> {
    let url = AjpUrl::parse(&options.url)?;
    let packet_size = super::packet_size(options.packet_size)?;
    let addr = url.resolve()?;
    let trace = Trace::new(options.verbose);
    let target = url.authority();
    say!("AJP CPING {target} ({addr})");
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut client: Option<Client> = None;
    let mut last_error = None;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let mut seq = 0u64;
    loop {
        if options.count.is_some_and(|count| seq >= count) {
            break;
        }
        seq += 1;
        tally.sent += 1;
        let attempt = async {
            let connected = match client.take() {
                Some(open) => open,
                None => {
                    let opened = Instant::now();
                    let open = Client::connect(addr, packet_size, options.timeout, trace).await?;
                    say!(
                        "connected to {addr} in {:.3} ms",
                        opened.elapsed().as_secs_f64() * 1000.0
                    );
                    open
                }
            };
            let mut open = connected;
            let rtt = open.cping().await?;
            Ok::<_, ToolError>((open, rtt))
        };
        let result = tokio::select! {
            result = attempt => result,
            _ = &mut interrupted => break,
        };
        match result {
            Ok((open, rtt)) => {
                let ms = rtt.as_secs_f64() * 1000.0;
                say!("CPONG from {addr}: seq={seq} time={ms:.3} ms");
                tally.rtts.push(ms);
                client = Some(open);
            }
            Err(err) => {
                say!("no CPONG from {addr}: seq={seq}: {err}");
                last_error = Some(err);
            }
        }
        if options.count.is_some_and(|count| seq >= count) {
            break;
        }
        tokio::select! {
            () = tokio::time::sleep(options.interval) => {}
            _ = &mut interrupted => break,
        }
    }
    {
        use std::io::Write as _;
        let _ = std::io::stdout()
            .lock()
            .write_all(tally.summary(&target, started.elapsed()).as_bytes());
    }
    match last_error {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reads_like_ping() {
        let tally = Tally {
            sent: 4,
            rtts: vec![1.0, 3.0, 2.0],
        };
        let text = tally.summary("h:1", Duration::from_millis(3004));
        assert_eq!(
            text,
            "--- h:1 ajp ping statistics ---\n4 CPINGs sent, 3 CPONGs received, 25% loss, time 3004ms\nrtt min/avg/max/mdev = 1.000/2.000/3.000/0.816 ms\n"
        );
        let none = Tally {
            sent: 2,
            rtts: vec![],
        }
        .summary("h:1", Duration::ZERO);
        assert!(none.ends_with("100% loss, time 0ms\n"), "{none}");
    }
}
