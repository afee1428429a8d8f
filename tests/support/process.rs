//! The real `jkgate` binary run as a service manager runs it: any command line and
//! environment, a private directory for its files, its standard streams in files there,
//! signals sent by PID, and bounded waits for what it does.
//!
//! Include with `#[path = "support/process.rs"] mod process;` (needs no system package
//! and no other support file).
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A fresh, empty directory under Cargo's target tmp dir for one test's files (kept short:
/// a unix socket path in it must fit in 108 bytes). Removed when dropped, unless the test
/// panicked: then its path is printed so the logs in it can be read.
pub struct TestDir {
    /// The directory.
    pub path: PathBuf,
}

impl TestDir {
    /// Creates `<target tmp>/jkgate-proc-<pid>-<n>-<label>`.
    pub fn new(label: &str) -> TestDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "jkgate-proc-{}-{}-{label}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        TestDir { path }
    }

    /// `name` in the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `content` to `name` in the directory; returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.join(name);
        fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test files kept for inspection: {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// What [`run_within`] saw.
#[derive(Debug)]
pub struct Finished {
    /// The exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `command` to its end with its standard streams in files `<label>.stdout` and
/// `<label>.stderr` in `dir` (no pipe to fill up); kills it and panics after `limit`.
pub fn run_within(command: &mut Command, dir: &Path, label: &str, limit: Duration) -> Finished {
    let out = dir.join(format!("{label}.stdout"));
    let err = dir.join(format!("{label}.stderr"));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).expect("create stdout file"))
        .stderr(fs::File::create(&err).expect("create stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{command:?} still runs after {limit:?}:\n{}",
                fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        status,
        stdout: fs::read_to_string(&out).unwrap_or_default(),
        stderr: fs::read_to_string(&err).unwrap_or_default(),
    }
}

/// A free loopback port (bound once and released; the process binds it next).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A free loopback address.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Calls `done` every 20 ms until it is true; panics with `what` after `limit`.
pub fn poll_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One `GET target` over HTTP/1.1 with `Connection: close`; the whole reply as text (10 s
/// read limit).
pub fn http_get(addr: SocketAddr, target: &str) -> io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

/// The jkgate process. Killed (SIGKILL) when dropped; when the test panicked, the tail of
/// its standard error is printed.
pub struct Process {
    child: Option<Child>,
    stderr_path: PathBuf,
    label: String,
}

impl Process {
    /// Starts `jkgate ARGS` with the extra environment `envs`; standard output and error
    /// go to `<label>.stdout` and `<label>.stderr` in `dir`.
    pub fn start<A: AsRef<OsStr>>(
        label: &str,
        dir: &Path,
        args: impl IntoIterator<Item = A>,
        envs: &[(&str, &OsStr)],
    ) -> Process {
        let stderr_path = dir.join(format!("{label}.stderr"));
        let stdout =
            fs::File::create(dir.join(format!("{label}.stdout"))).expect("create stdout file");
        let stderr = fs::File::create(&stderr_path).expect("create stderr file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_jkgate"));
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (key, value) in envs {
            command.env(key, value);
        }
        let child = command.spawn().expect("jkgate starts");
        Process {
            child: Some(child),
            stderr_path,
            label: label.to_owned(),
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends `signal` (a name `kill` knows: `TERM`, `INT`, `HUP`, `USR1`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}: {status}", self.pid());
    }

    /// Its exit status if it has exited.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .expect("started")
            .try_wait()
            .expect("try_wait")
    }

    /// Whether it still runs.
    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// Waits for it to exit; panics (with its standard error) after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_exit() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "jkgate {} still runs after {limit:?}:\n{}",
                self.label,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `addr` accepts TCP connections; panics if the process exits or after
    /// 20 s.
    pub fn wait_listening(&mut self, addr: SocketAddr) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = self.try_exit() {
                panic!(
                    "jkgate {} exited ({status}) before listening on {addr}:\n{}",
                    self.label,
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "jkgate {} does not listen on {addr} after 20 s:\n{}",
                self.label,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it wrote to standard error so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            let stderr = self.stderr();
            let lines: Vec<&str> = stderr.lines().collect();
            eprintln!(
                "--- jkgate {} stderr tail ---\n{}",
                self.label,
                lines[lines.len().saturating_sub(40)..].join("\n")
            );
        }
    }
}
