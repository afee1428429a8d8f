//! The real `jkgate` binary (`CARGO_BIN_EXE_jkgate`) started for a test: a
//! workers.properties in a private directory, `--mount` rules, the error log (standard
//! error) and access log in that directory.
//!
//! Include it together with the Tomcat fixture, whose HTTP client it uses:
//!
//! ```text
//! #[path = "support/tomcat.rs"]
//! mod tomcat;
//! #[path = "support/gate.rs"]
//! mod gate;
//! ```
#![allow(dead_code)]

use std::fs;
use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::tomcat::{self, HttpReply, KvReply, http_request};

/// The real `jkgate` binary with a workers.properties (by default `/app/*` mounted on `lb`).
/// Killed when dropped; its directory (workers file, error and access log) is removed
/// unless the test panicked.
pub struct Gate {
    child: Option<Child>,
    /// The loopback port jkgate listens on.
    pub port: u16,
    /// Its private directory.
    pub dir: PathBuf,
    label: String,
}

impl Gate {
    /// Starts jkgate with `workers` and the single mount `/app/*=lb`; waits until it
    /// listens (30 s at most).
    pub fn start(label: &str, workers: &str) -> Gate {
        Gate::start_with(label, workers, &["/app/*=lb"])
    }

    /// Starts jkgate with `workers` and the given `--mount PATTERN=WORKER[;ext]` rules.
    pub fn start_with(label: &str, workers: &str, mounts: &[&str]) -> Gate {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "jkgate-gate-{}-{}-{label}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create gate dir");
        fs::write(dir.join("workers.properties"), workers).expect("write workers.properties");
        for _ in 0..3 {
            let port = tomcat::free_port();
            let stderr = fs::File::create(dir.join("error.log")).expect("create error.log");
            let child = Command::new(env!("CARGO_BIN_EXE_jkgate"))
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--workers-file")
                .arg(dir.join("workers.properties"))
                .args(mounts.iter().flat_map(|m| ["--mount", m]))
                .arg("--access-log")
                .arg(dir.join("access.log"))
                .arg("--log-level")
                .arg("info")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .expect("jkgate starts");
            let mut gate = Gate {
                child: Some(child),
                port,
                dir: dir.clone(),
                label: label.to_owned(),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return gate;
                }
                let exited = gate
                    .child
                    .as_mut()
                    .is_some_and(|c| !matches!(c.try_wait(), Ok(None)));
                if exited {
                    let log = gate.error_log();
                    assert!(
                        log.contains("in use"),
                        "jkgate {label} exited at start:\n{log}"
                    );
                    break; // port race: try another port
                }
                assert!(
                    Instant::now() < deadline,
                    "jkgate {label} did not listen on {port} within 30 s:\n{}",
                    gate.error_log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("jkgate {label}: no free port after 3 attempts");
    }

    /// The jkgate process id (for /proc figures such as its RSS).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// jkgate's log (standard error), without terminal colour codes.
    pub fn error_log(&self) -> String {
        strip_ansi(&fs::read_to_string(self.dir.join("error.log")).unwrap_or_default())
    }

    /// One request through jkgate ([`http_request`]: `Connection: close`, 60 s limit).
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<HttpReply> {
        http_request(self.port, method, target, headers, body)
    }

    /// GET through jkgate; panics (with jkgate's log) if no HTTP reply arrives.
    pub fn get(&self, target: &str, headers: &[(&str, &str)]) -> HttpReply {
        self.request("GET", target, headers, b"")
            .unwrap_or_else(|e| {
                panic!("GET {target} via {}: {e}\n{}", self.label, self.error_log())
            })
    }

    /// GET `target` and expect 200 with a webapp reply; returns it.
    pub fn get_ok(&self, target: &str, headers: &[(&str, &str)]) -> (HttpReply, KvReply) {
        let reply = self.get(target, headers);
        assert_eq!(
            reply.status,
            200,
            "GET {target} {headers:?} via {}: {}\n--- jkgate log ---\n{}",
            self.label,
            reply.text(),
            self.error_log()
        );
        let kv = reply.kv();
        (reply, kv)
    }

    /// `/app/session` with an optional session cookie; expects 200.
    pub fn session(&self, cookie: Option<&str>) -> KvReply {
        let header = cookie.map(|c| format!("JSESSIONID={c}"));
        let headers: Vec<(&str, &str)> = header.iter().map(|h| ("Cookie", h.as_str())).collect();
        self.get_ok("/app/session", &headers).1
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "jkgate {} kept for inspection: {}\n--- error.log tail ---\n{}",
                self.label,
                self.dir.display(),
                tail(&self.error_log(), 40)
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Removes `ESC [ ... letter` sequences.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// What [`cut_by_kill`] saw.
pub struct CutRequest {
    /// The proxy's reply to the client.
    pub reply: HttpReply,
    /// Time from the kill to the reply.
    pub after_kill: Duration,
}

/// Sends `method /app/echo?sleep=5000&mark=MARK` with `body` (a Content-Length body if not
/// empty) through the proxy on `port`, with `Cookie: JSESSIONID=<cookie>` routing it to
/// member `victim`; waits until `victim`'s echo servlet recorded the mark (the request
/// reached it and it now sleeps), SIGKILLs `victim` and returns the proxy's reply. Panics
/// if the request never reaches `victim` within 30 s or the client gets no HTTP reply.
pub fn cut_by_kill(
    port: u16,
    cluster: &mut tomcat::TomcatCluster,
    victim: &str,
    cookie: &str,
    (method, body): (&str, &[u8]),
    mark: &str,
) -> CutRequest {
    let target = format!("/app/echo?sleep=5000&mark={mark}");
    let cookie = format!("JSESSIONID={cookie}");
    let method = method.to_owned();
    let body = body.to_vec();
    let request = std::thread::spawn(move || {
        let mut headers = vec![("Cookie", cookie.as_str())];
        if !body.is_empty() {
            headers.push(("Content-Type", "application/octet-stream"));
        }
        http_request(port, &method, &target, &headers, &body)
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cluster.node(victim).marks().iter().any(|m| m == mark) {
        assert!(
            Instant::now() < deadline && !request.is_finished(),
            "the request {mark} never reached {victim}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Instant::now();
    cluster.node_mut(victim).kill();
    let reply = request
        .join()
        .expect("request thread")
        .unwrap_or_else(|e| panic!("request {mark}: no HTTP reply: {e}"));
    CutRequest {
        reply,
        after_kill: killed.elapsed(),
    }
}
