//! A real etcd (`/usr/bin/etcd`, Debian's `etcd-server`) for a test: one member on
//! loopback ports picked at run time, its own data directory under Cargo's target tmp dir,
//! stopped by PID. `stop()` and `start_again()` take it away and bring it back on the same
//! ports with the same data (the keys survive), to show what happens while it is away.
//!
//! Stands alone (no other support file needed).
//!
//! ```text
//! let etcd = etcd::Etcd::start("fleet");
//! etcd.endpoint();                 // "127.0.0.1:PORT"
//! etcd.get_prefix("/jkgate/x/");   // [(key, value)] through etcdctl
//! etcd.stop(); etcd.start_again();
//! ```
#![allow(dead_code)]

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const ETCD: &str = "/usr/bin/etcd";
const ETCDCTL: &str = "/usr/bin/etcdctl";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One etcd member. Killed when dropped; its directory is removed unless the test
/// panicked.
pub struct Etcd {
    child: Option<Child>,
    /// Its directory (data dir and `etcd.log`).
    pub dir: PathBuf,
    /// Client port on 127.0.0.1.
    pub client_port: u16,
    peer_port: u16,
}

impl Etcd {
    /// Starts etcd and waits until it answers (`etcdctl endpoint health`), 30 s at most.
    /// Panics (never skips) when `/usr/bin/etcd` is missing.
    pub fn start(label: &str) -> Etcd {
        assert!(
            std::path::Path::new(ETCD).is_file() && std::path::Path::new(ETCDCTL).is_file(),
            "{ETCD} or {ETCDCTL} missing: install Debian's etcd-server and etcd-client \
             (scripts/test does); interop tests never skip"
        );
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "jkgate-etcd-{}-{}-{label}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("etcd dir");
        let mut etcd = Etcd {
            child: None,
            dir,
            client_port: free_port(),
            peer_port: free_port(),
        };
        etcd.spawn();
        etcd
    }

    /// `127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    fn spawn(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("etcd.log"))
            .expect("etcd.log");
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let child = Command::new(ETCD)
            .arg("--name=jkgate-test")
            .arg(format!("--data-dir={}", self.dir.join("data").display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=jkgate-test={peer}"))
            .arg("--listen-metrics-urls=")
            .env_remove("ETCD_UNSUPPORTED_ARCH")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("etcd starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect(("127.0.0.1", self.client_port)).is_ok()
                && self.ctl(&["endpoint", "health"]).is_some()
            {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("etcd exited at start ({status}):\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "etcd not healthy within 30 s:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// etcd's own log, last lines.
    pub fn log_tail(&self) -> String {
        let all = fs::read_to_string(self.dir.join("etcd.log")).unwrap_or_default();
        let lines: Vec<&str> = all.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `etcdctl --endpoints=... ARGS`; standard output when it succeeded.
    pub fn ctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new(ETCDCTL)
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoint()))
            .arg("--dial-timeout=2s")
            .arg("--command-timeout=3s")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every key under `prefix` with its value, in key order.
    pub fn get_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let out = self
            .ctl(&["get", "--prefix", prefix])
            .unwrap_or_else(|| panic!("etcdctl get {prefix} failed:\n{}", self.log_tail()));
        let lines: Vec<&str> = out.lines().collect();
        lines
            .chunks(2)
            .filter(|pair| pair.len() == 2)
            .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
            .collect()
    }

    /// Stops etcd (SIGTERM by PID, SIGKILL after 10 s); the data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same ports and data; waits until healthy.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "etcd is running");
        self.spawn();
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "etcd kept for inspection: {}\n{}",
                self.dir.display(),
                self.log_tail()
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
