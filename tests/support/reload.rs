//! Configuration reload fixtures: the real `jkgate` binary started from a configuration
//! directory (`jkgate run --config DIR/jkgate.ini`) that a test rewrites and reloads with
//! SIGHUP, the status worker's `mime=prop` answer as a map, a test CA that signs server
//! certificates (and a PKI of two) and a TLS client that records the certificate it was
//! served, and a background load generator that sends requests without pause and counts
//! every failure.
//!
//! Include it together with the Tomcat and gate fixtures (it uses their HTTP client and
//! log helpers):
//!
//! ```text
//! #[path = "support/tomcat.rs"]
//! mod tomcat;
//! #[path = "support/gate.rs"]
//! mod gate;
//! #[path = "support/reload.rs"]
//! mod reload;
//! ```
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::gate::{strip_ansi, tail};
use crate::tomcat::{self, HttpReply, KvReply, http_request};

// ---------------------------------------------------------------------------------------
// jkgate from a configuration directory
// ---------------------------------------------------------------------------------------

/// The `jkgate` binary run as `jkgate run --config DIR/jkgate.ini`, standard error to
/// `DIR/error.log`. The test writes the files (all relative to DIR) in the `setup`
/// closure of [`ConfGate::start`] and later with [`ConfGate::write`], then reloads with
/// [`ConfGate::hup`]. Killed when dropped; DIR is removed unless the test panicked (then
/// its path and the log tail are printed).
pub struct ConfGate {
    child: Option<Child>,
    /// The configuration directory.
    pub dir: PathBuf,
    /// Plain HTTP port on 127.0.0.1 (write it as the ini's `Listen`).
    pub port: u16,
    /// HTTPS port on 127.0.0.1 (write it as `[tls] Listen`), when started with TLS.
    pub tls_port: Option<u16>,
    /// Where the status worker is mounted (default `/jkstatus`).
    pub status_path: String,
    label: String,
}

impl ConfGate {
    /// Picks free loopback ports (an HTTPS one too when `tls`), calls `setup` to write the
    /// configuration files into [`ConfGate::dir`] (the ini must use [`ConfGate::port`] and
    /// [`ConfGate::tls_port`]), starts jkgate and waits until every port accepts
    /// connections (60 s at most). A port taken meanwhile is retried with new ports (up to
    /// 3 times, `setup` is called again); any other early exit panics with the log.
    pub fn start(label: &str, tls: bool, setup: impl Fn(&ConfGate)) -> ConfGate {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "jkgate-reload-{}-{}-{label}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        for _ in 0..3 {
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create the configuration directory");
            let mut gate = ConfGate {
                child: None,
                dir: dir.clone(),
                port: tomcat::free_port(),
                tls_port: tls.then(tomcat::free_port),
                status_path: "/jkstatus".to_owned(),
                label: label.to_owned(),
            };
            setup(&gate);
            let stderr = fs::File::create(dir.join("error.log")).expect("create error.log");
            gate.child = Some(
                Command::new(env!("CARGO_BIN_EXE_jkgate"))
                    .arg("run")
                    .arg("--config")
                    .arg(dir.join("jkgate.ini"))
                    .current_dir(&dir)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(stderr)
                    .spawn()
                    .expect("jkgate starts"),
            );
            let ports: Vec<u16> = std::iter::once(gate.port).chain(gate.tls_port).collect();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if ports
                    .iter()
                    .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok())
                {
                    return gate;
                }
                if let Some(status) = gate.exit_status() {
                    let log = gate.error_log();
                    assert!(
                        log.contains("in use"),
                        "jkgate {label} exited at start ({status}):\n{log}"
                    );
                    break; // a port was taken meanwhile: new ports
                }
                assert!(
                    Instant::now() < deadline,
                    "jkgate {label} did not listen on {ports:?} within 60 s:\n{}",
                    gate.error_log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("jkgate {label}: no free ports after 3 attempts");
    }

    /// Writes `content` to `DIR/name` atomically (a temporary file renamed over it), so
    /// jkgate never reads a half-written file.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, content).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
        fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
    }

    /// The process id (panics if jkgate is not running).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("jkgate was started").id()
    }

    /// `Some(status)` once the process has exited.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Panics (with the log tail) if jkgate is no longer running.
    pub fn assert_running(&mut self, context: &str) {
        if let Some(status) = self.exit_status() {
            panic!(
                "{context}: jkgate {} exited ({status})\n--- error.log tail ---\n{}",
                self.label,
                tail(&self.error_log(), 40)
            );
        }
    }

    /// jkgate's error log (standard error), without terminal colour codes.
    pub fn error_log(&self) -> String {
        strip_ansi(&fs::read_to_string(self.dir.join("error.log")).unwrap_or_default())
    }

    /// A position in the error log: [`ConfGate::log_since`] and
    /// [`ConfGate::wait_for_log_since`] only look at what was written after it.
    pub fn log_mark(&self) -> u64 {
        fs::metadata(self.dir.join("error.log"))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// The error log written after `mark`, without colour codes.
    pub fn log_since(&self, mark: u64) -> String {
        let raw = fs::read(self.dir.join("error.log")).unwrap_or_default();
        let start = (mark as usize).min(raw.len());
        strip_ansi(&String::from_utf8_lossy(&raw[start..]))
    }

    /// Sends SIGHUP (with `kill -HUP PID`); panics if jkgate is not running or kill fails.
    pub fn hup(&mut self) {
        self.assert_running("before SIGHUP");
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -HUP {pid}: {status}");
    }

    /// Waits until a line containing `needle` appears anywhere in the log; returns it.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        self.wait_for_log_since(0, needle, timeout)
    }

    /// Waits until a line containing `needle` appears after `mark`; returns that line.
    /// Panics (with the log written since `mark`) after `timeout` or if jkgate exits.
    pub fn wait_for_log_since(&mut self, mark: u64, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log_since(mark);
            if let Some(line) = log.lines().find(|l| l.contains(needle)) {
                return line.to_owned();
            }
            if let Some(status) = self.exit_status() {
                panic!(
                    "jkgate {} exited ({status}) while the test waited for a log line with `{needle}`\n--- error.log since then ---\n{}",
                    self.label,
                    tail(&self.log_since(mark), 40)
                );
            }
            assert!(
                Instant::now() < deadline,
                "no log line with `{needle}` within {timeout:?}\n--- error.log since then ---\n{}",
                tail(&log, 40)
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// SIGHUP, then waits (30 s at most) for `configuration reloaded`; panics with the
    /// log if `reload failed` comes instead. Returns the log line and the instant it was
    /// seen (every request sent after that instant must see the new configuration).
    pub fn hup_expect_reloaded(&mut self) -> (String, Instant) {
        self.hup_expect("configuration reloaded", "reload failed")
    }

    /// SIGHUP, then waits (30 s at most) for `reload failed`; panics with the log if
    /// `configuration reloaded` comes instead. Returns the log line and when it was seen.
    pub fn hup_expect_failed(&mut self) -> (String, Instant) {
        self.hup_expect("reload failed", "configuration reloaded")
    }

    fn hup_expect(&mut self, wanted: &str, unwanted: &str) -> (String, Instant) {
        let mark = self.log_mark();
        self.hup();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = self.log_since(mark);
            if let Some(line) = log.lines().find(|l| l.contains(wanted)) {
                let seen = Instant::now();
                self.assert_running(&format!("after `{wanted}`"));
                return (line.to_owned(), seen);
            }
            assert!(
                !log.contains(unwanted),
                "SIGHUP: expected `{wanted}`, jkgate logged `{unwanted}`:\n{}",
                tail(&log, 40)
            );
            if let Some(status) = self.exit_status() {
                panic!(
                    "jkgate {} exited ({status}) after SIGHUP instead of logging `{wanted}` (SIGHUP not handled?)\n--- error.log since the SIGHUP ---\n{}",
                    self.label,
                    tail(&log, 40)
                );
            }
            assert!(
                Instant::now() < deadline,
                "SIGHUP: no `{wanted}` within 30 s\n--- error.log since the SIGHUP ---\n{}",
                tail(&log, 40)
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// GET through the plain listener (`Connection: close`); panics if no HTTP reply.
    pub fn get(&self, target: &str, headers: &[(&str, &str)]) -> HttpReply {
        http_request(self.port, "GET", target, headers, b"").unwrap_or_else(|e| {
            panic!(
                "GET {target} via jkgate {}: {e}\n--- error.log tail ---\n{}",
                self.label,
                tail(&self.error_log(), 40)
            )
        })
    }

    /// GET `target`, expect 200 and a webapp reply.
    pub fn get_ok(&self, target: &str, headers: &[(&str, &str)]) -> KvReply {
        let reply = self.get(target, headers);
        assert_eq!(
            reply.status,
            200,
            "GET {target} {headers:?} via jkgate {}: {}\n--- error.log tail ---\n{}",
            self.label,
            reply.text(),
            tail(&self.error_log(), 40)
        );
        reply.kv()
    }

    /// `GET <status_path>?mime=prop`, expects 200, parsed.
    pub fn status_prop(&self) -> StatusProps {
        let target = format!("{}?mime=prop", self.status_path);
        let reply = self.get(&target, &[]);
        assert_eq!(
            reply.status,
            200,
            "GET {target}: {}\n--- error.log tail ---\n{}",
            reply.text(),
            tail(&self.error_log(), 40)
        );
        StatusProps::parse(&reply.text())
    }
}

impl Drop for ConfGate {
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
                tail(&self.error_log(), 60)
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

// ---------------------------------------------------------------------------------------
// The status worker's mime=prop answer
// ---------------------------------------------------------------------------------------

/// A `mime=prop` answer: `key=value` lines in order, repeated keys kept
/// (`worker.lb.balance_workers` appears once per member).
#[derive(Clone, Debug, Default)]
pub struct StatusProps {
    /// Every line as (key, value), in order.
    pub lines: Vec<(String, String)>,
}

impl StatusProps {
    /// Parses the text; lines without `=` are ignored.
    pub fn parse(text: &str) -> StatusProps {
        StatusProps {
            lines: text
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The value of `key`; panics with the whole answer if it is absent.
    pub fn req(&self, key: &str) -> &str {
        self.get(key)
            .unwrap_or_else(|| panic!("status has no `{key}`:\n{}", self.text()))
    }

    /// The value of `key` as a whole number; panics with the answer if absent or not one.
    pub fn num(&self, key: &str) -> u64 {
        let value = self.req(key);
        value
            .parse()
            .unwrap_or_else(|_| panic!("status `{key}={value}` is not a number:\n{}", self.text()))
    }

    /// Whether any key starts with `prefix`.
    pub fn has_prefix(&self, prefix: &str) -> bool {
        self.lines.iter().any(|(k, _)| k.starts_with(prefix))
    }

    /// The answer as text again.
    pub fn text(&self) -> String {
        self.lines
            .iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// TLS client
// ---------------------------------------------------------------------------------------

/// A byte stream a [`HttpConn`] runs on (plain TCP or TLS).
pub trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

/// A blocking HTTP/1.1 client connection (keep-alive unless told otherwise), plain or TLS.
pub struct HttpConn {
    io: BufReader<Box<dyn Io>>,
    port: u16,
    /// The leaf certificate the server presented (TLS only), DER.
    pub peer_cert: Option<Vec<u8>>,
    /// When the connection was opened (before the TLS handshake).
    pub opened: Instant,
    /// Requests answered on this connection so far.
    pub requests: u64,
    /// The server said `Connection: close` (or closed): no further request on it.
    pub closed: bool,
}

/// One response read by [`HttpConn::request`].
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header fields, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// The body as the webapp's `key=value` reply.
    pub fn kv(&self) -> KvReply {
        KvReply::parse(&self.body)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl HttpConn {
    /// Connects to 127.0.0.1:`port`; with `tls`, completes a handshake (server name
    /// `127.0.0.1`) and records the served certificate. 5 s connect and 30 s I/O limits.
    pub fn connect(port: u16, tls: Option<&Arc<rustls::ClientConfig>>) -> io::Result<HttpConn> {
        let opened = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(30)))?;
        tcp.set_nodelay(true)?;
        let (io, peer_cert): (Box<dyn Io>, _) = match tls {
            None => (Box::new(tcp), None),
            Some(config) => {
                let name = ServerName::try_from("127.0.0.1").expect("IP server name");
                let conn = rustls::ClientConnection::new(Arc::clone(config), name)
                    .map_err(io::Error::other)?;
                let mut stream = rustls::StreamOwned::new(conn, tcp);
                while stream.conn.is_handshaking() {
                    stream.conn.complete_io(&mut stream.sock)?;
                }
                let cert = stream
                    .conn
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec());
                (Box::new(stream), cert)
            }
        };
        Ok(HttpConn {
            io: BufReader::new(io),
            port,
            peer_cert,
            opened,
            requests: 0,
            closed: false,
        })
    }

    /// Sends `GET target` (with `Connection: close` when `close`) and reads the whole
    /// response. An error when the connection ends before a complete response.
    pub fn get(
        &mut self,
        target: &str,
        headers: &[(&str, &str)],
        close: bool,
    ) -> io::Result<Response> {
        self.request("GET", target, headers, b"", close)
    }

    /// Sends `method target` with `body` (and a `Content-Length` when the body is not
    /// empty or the method is POST, PUT or PATCH), with `Connection: close` when `close`,
    /// and reads the whole response. An error when the connection ends before a complete
    /// response. (A response to HEAD is read as if it had a body: not for HEAD.)
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        close: bool,
    ) -> io::Result<Response> {
        if self.closed {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the server closed this connection after the previous response",
            ));
        }
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUser-Agent: jkgate-reload-test\r\n",
            self.port
        );
        if close {
            head.push_str("Connection: close\r\n");
        }
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let io = self.io.get_mut();
        let mut message = head.into_bytes();
        message.extend_from_slice(body);
        io.write_all(&message)?;
        io.flush()?;
        let response = self.read_response()?;
        self.requests += 1;
        if close {
            self.closed = true;
        }
        Ok(response)
    }

    fn read_line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        let n = self.io.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection ended in the middle of the response head",
            ));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }

    fn read_response(&mut self) -> io::Result<Response> {
        let mut first = String::new();
        if self.io.read_line(&mut first)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "connection closed before any byte of the response (request {} on this connection)",
                    self.requests + 1
                ),
            ));
        }
        let status_line = first.trim_end().to_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| invalid(format!("bad status line {status_line:?}")))?;
        let mut headers = Vec::new();
        loop {
            let line = self.read_line()?;
            if line.is_empty() {
                break;
            }
            let (k, v) = line
                .split_once(':')
                .ok_or_else(|| invalid(format!("bad header line {line:?}")))?;
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_ascii_lowercase())
        };
        if header("connection").is_some_and(|v| v.contains("close"))
            || status_line.starts_with("HTTP/1.0")
        {
            self.closed = true;
        }
        let mut body = Vec::new();
        if (100..200).contains(&status) || status == 204 || status == 304 {
            // no body
        } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let size_line = self.read_line()?;
                let hex = size_line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(hex, 16)
                    .map_err(|_| invalid(format!("bad chunk size {hex:?}")))?;
                if size == 0 {
                    while !self.read_line()?.is_empty() {}
                    break;
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.io.read_exact(&mut body[start..])?;
                if !self.read_line()?.is_empty() {
                    return Err(invalid("chunk not followed by CRLF"));
                }
            }
        } else if let Some(len) = header("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {len:?}")))?;
            body.resize(len, 0);
            self.io.read_exact(&mut body)?;
        } else {
            self.io.read_to_end(&mut body)?;
            self.closed = true;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

// ---------------------------------------------------------------------------------------
// Load generator
// ---------------------------------------------------------------------------------------

/// One load thread: where it sends and how.
#[derive(Clone)]
pub struct LoadSpec {
    /// A name for reports (`http-keepalive-1`, ...).
    pub name: String,
    /// Port on 127.0.0.1.
    pub port: u16,
    /// TLS client configuration, for an HTTPS port.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Keep one connection for many requests (`false`: a new connection per request,
    /// `Connection: close`).
    pub keep_alive: bool,
    /// The request target; it must answer 2xx with the webapp's `node=` line.
    pub target: String,
    /// The method (`GET` by default).
    pub method: String,
    /// Extra request header fields (a `Cookie` for sticky requests, ...).
    pub headers: Vec<(String, String)>,
    /// The request body, sent with a `Content-Length` (empty by default: none).
    pub body: Vec<u8>,
    /// `Some(prefix)`: every request gets its own mark, `mark=PREFIX-N` (N = 1, 2, ...)
    /// appended to the target's query, and its outcome is kept ([`Load::marked`]), so a
    /// test can tell which requests reached which node (`/app/marks`).
    pub mark: Option<String>,
}

impl Default for LoadSpec {
    /// `GET /app/echo` on a keep-alive plain connection to port 0 (set `port`).
    fn default() -> Self {
        LoadSpec {
            name: "load".to_owned(),
            port: 0,
            tls: None,
            keep_alive: true,
            target: "/app/echo".to_owned(),
            method: "GET".to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            mark: None,
        }
    }
}

/// The outcome of one request of a [`LoadSpec`] with a `mark`.
#[derive(Clone, Debug)]
pub struct MarkedRequest {
    /// The mark (`PREFIX-N`).
    pub mark: String,
    /// The load thread's name.
    pub thread: String,
    /// When it was sent.
    pub sent: Instant,
    /// When its answer (or the error) came.
    pub answered: Instant,
    /// The status of the answer, `None` when no complete answer arrived.
    pub status: Option<u16>,
    /// The webapp's `node=` line of the answer, if any.
    pub node: Option<String>,
    /// The I/O error, when no complete answer arrived.
    pub error: Option<String>,
}

/// Which member answered: counts and when the requests it answered were sent.
#[derive(Clone, Copy, Debug)]
pub struct NodeTally {
    /// Requests answered.
    pub count: u64,
    /// When the first of them was sent.
    pub first_sent: Instant,
    /// When the last of them was sent.
    pub last_sent: Instant,
}

/// TLS handshakes that presented one certificate.
#[derive(Clone, Copy, Debug)]
pub struct CertTally {
    /// Handshakes.
    pub count: u64,
    /// When the first of these connections was opened.
    pub first_opened: Instant,
    /// When the last of these connections was opened.
    pub last_opened: Instant,
}

#[derive(Default)]
struct LoadStats {
    ok: AtomicU64,
    failed: AtomicU64,
    reconnects: AtomicU64,
    failures: Mutex<Vec<String>>,
    nodes: Mutex<HashMap<String, NodeTally>>,
    certs: Mutex<HashMap<Vec<u8>, CertTally>>,
    per_thread: Mutex<HashMap<String, u64>>,
    marked: Mutex<Vec<MarkedRequest>>,
    slowest: Mutex<HashMap<String, Slowest>>,
}

/// The answered request of one load thread that took longest ([`Load::slowest`]).
#[derive(Clone, Debug)]
pub struct Slowest {
    /// Time from sending the request to the end of its answer.
    pub latency: Duration,
    /// When it was sent.
    pub sent: Instant,
    /// The load thread.
    pub thread: String,
    /// The member that answered it.
    pub node: String,
}

const KEPT_FAILURES: usize = 30;

impl LoadStats {
    fn fail(&self, epoch: Instant, spec: &LoadSpec, sent: Instant, what: String) {
        self.failed.fetch_add(1, Ordering::SeqCst);
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if failures.len() < KEPT_FAILURES {
            failures.push(format!(
                "[{:>8.3} s] {}: {what}",
                sent.duration_since(epoch).as_secs_f64(),
                spec.name
            ));
        }
    }

    fn served(&self, node: &str, sent: Instant, thread: &str) {
        let latency = sent.elapsed();
        {
            let mut slowest = self.slowest.lock().unwrap_or_else(|p| p.into_inner());
            if slowest.get(thread).is_none_or(|s| s.latency < latency) {
                slowest.insert(
                    thread.to_owned(),
                    Slowest {
                        latency,
                        sent,
                        thread: thread.to_owned(),
                        node: node.to_owned(),
                    },
                );
            }
        }
        let mut nodes = self.nodes.lock().unwrap_or_else(|p| p.into_inner());
        let tally = nodes.entry(node.to_owned()).or_insert(NodeTally {
            count: 0,
            first_sent: sent,
            last_sent: sent,
        });
        tally.count += 1;
        tally.last_sent = tally.last_sent.max(sent);
    }

    fn handshake(&self, der: &[u8], opened: Instant) {
        let mut certs = self.certs.lock().unwrap_or_else(|p| p.into_inner());
        let tally = certs.entry(der.to_vec()).or_insert(CertTally {
            count: 0,
            first_opened: opened,
            last_opened: opened,
        });
        tally.count += 1;
        tally.last_opened = tally.last_opened.max(opened);
    }
}

/// Background threads sending requests through jkgate without pause, one per
/// [`LoadSpec`]. Every non-2xx answer, I/O error, cut-short or malformed response and
/// 2xx answer without a `node=` line counts as a failure (the first 30 are kept with
/// their time). A keep-alive thread opens a new connection only when the server closed
/// the previous one with `Connection: close` (counted as a reconnect) or after a failure.
/// Stops when dropped.
pub struct Load {
    stats: Arc<LoadStats>,
    stop: Arc<AtomicBool>,
    threads: Vec<(String, JoinHandle<()>)>,
    /// When the load started (failure times are relative to it).
    pub epoch: Instant,
}

/// What the load did, from [`Load::stop`].
#[derive(Debug)]
pub struct LoadReport {
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub failed: u64,
    /// Keep-alive connections the server closed with `Connection: close`.
    pub reconnects: u64,
    /// The first failures.
    pub failures: Vec<String>,
    /// Answers per member.
    pub nodes: Vec<(String, u64)>,
    /// Successful requests per thread.
    pub per_thread: Vec<(String, u64)>,
    /// The requests with a mark and their outcomes.
    pub marked: Vec<MarkedRequest>,
    /// Per load thread, the successful request that took longest.
    pub slowest: Vec<Slowest>,
}

impl Load {
    /// Starts one thread per spec.
    pub fn start(specs: Vec<LoadSpec>) -> Load {
        let stats = Arc::new(LoadStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        let threads = specs
            .into_iter()
            .map(|spec| {
                let name = spec.name.clone();
                let stats = Arc::clone(&stats);
                let stop = Arc::clone(&stop);
                let handle = std::thread::Builder::new()
                    .name(format!("load-{name}"))
                    .spawn(move || load_thread(spec, &stats, &stop, epoch))
                    .expect("spawn load thread");
                (name, handle)
            })
            .collect();
        Load {
            stats,
            stop,
            threads,
            epoch,
        }
    }

    /// Successful requests so far.
    pub fn ok(&self) -> u64 {
        self.stats.ok.load(Ordering::SeqCst)
    }

    /// Failed requests so far.
    pub fn failed(&self) -> u64 {
        self.stats.failed.load(Ordering::SeqCst)
    }

    /// Per load thread, the successful request that took longest so far (by thread name).
    pub fn slowest(&self) -> Vec<Slowest> {
        let slowest = self.stats.slowest.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<Slowest> = slowest.values().cloned().collect();
        all.sort_by(|a, b| a.thread.cmp(&b.thread));
        all
    }

    /// Every request with a mark sent so far, with its outcome, in completion order.
    pub fn marked(&self) -> Vec<MarkedRequest> {
        self.stats
            .marked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The first failures (at most 30).
    pub fn failures(&self) -> Vec<String> {
        self.stats
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The tally of `node`, if it answered any request.
    pub fn node(&self, node: &str) -> Option<NodeTally> {
        self.stats
            .nodes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(node)
            .copied()
    }

    /// Answers per member so far, sorted by name.
    pub fn nodes(&self) -> Vec<(String, u64)> {
        let nodes = self.stats.nodes.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = nodes.iter().map(|(n, t)| (n.clone(), t.count)).collect();
        all.sort();
        all
    }

    /// The TLS handshakes that presented `der`.
    pub fn cert(&self, der: &[u8]) -> Option<CertTally> {
        self.stats
            .certs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(der)
            .copied()
    }

    /// Waits until `node` answered a request sent after `after`; panics after `timeout`
    /// with the per-member counts.
    pub fn wait_served_by(&self, node: &str, after: Instant, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.node(node).is_none_or(|t| t.last_sent <= after) {
            assert!(
                Instant::now() < deadline,
                "no request sent in the last {timeout:?} was answered by {node}; answers so far: {:?}; failures: {:#?}",
                self.nodes(),
                self.failures()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `count` more requests succeeded (at most `timeout`).
    pub fn wait_more(&self, count: u64, timeout: Duration) {
        let target = self.ok() + count;
        let deadline = Instant::now() + timeout;
        while self.ok() < target {
            assert!(
                Instant::now() < deadline,
                "the load made no progress: {} of {count} requests within {timeout:?}; failures: {:#?}",
                count - (target - self.ok()),
                self.failures()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until a TLS handshake that began after `after` presented `der`.
    pub fn wait_cert_after(&self, der: &[u8], after: Instant, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.cert(der).is_none_or(|t| t.last_opened <= after) {
            assert!(
                Instant::now() < deadline,
                "no TLS connection opened in the last {timeout:?} was served this certificate; failures: {:#?}",
                self.failures()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics with the failures and `log_tail` if any request failed so far.
    pub fn assert_no_failures(&self, context: &str, log_tail: impl FnOnce() -> String) {
        let failed = self.failed();
        if failed > 0 {
            panic!(
                "{context}: {failed} of {} requests of the load failed; the first ones:\n{}\n--- jkgate error.log tail ---\n{}",
                failed + self.ok(),
                self.failures().join("\n"),
                log_tail()
            );
        }
    }

    /// Stops the threads (each finishes its current request) and reports.
    pub fn stop(mut self) -> LoadReport {
        self.stop.store(true, Ordering::SeqCst);
        for (name, handle) in self.threads.drain(..) {
            if handle.join().is_err() {
                panic!("load thread {name} panicked");
            }
        }
        let mut per_thread: Vec<_> = self
            .stats
            .per_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(n, c)| (n.clone(), *c))
            .collect();
        per_thread.sort();
        LoadReport {
            ok: self.ok(),
            failed: self.failed(),
            reconnects: self.stats.reconnects.load(Ordering::SeqCst),
            failures: self.failures(),
            nodes: self.nodes(),
            per_thread,
            marked: self.marked(),
            slowest: self.slowest(),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for (_, handle) in self.threads.drain(..) {
            let _ = handle.join();
        }
    }
}

fn load_thread(spec: LoadSpec, stats: &LoadStats, stop: &AtomicBool, epoch: Instant) {
    let mut conn: Option<HttpConn> = None;
    let mut done = 0u64;
    let mut sequence = 0u64;
    let headers: Vec<(&str, &str)> = spec
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    while !stop.load(Ordering::SeqCst) {
        let sent = Instant::now();
        if conn.is_none() {
            match HttpConn::connect(spec.port, spec.tls.as_ref()) {
                Ok(c) => {
                    if let Some(der) = &c.peer_cert {
                        stats.handshake(der, c.opened);
                    }
                    conn = Some(c);
                }
                Err(e) => {
                    stats.fail(epoch, &spec, sent, format!("connect: {e}"));
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected");
        let mark = spec.mark.as_ref().map(|prefix| {
            sequence += 1;
            format!("{prefix}-{sequence}")
        });
        let target = match &mark {
            None => spec.target.clone(),
            Some(mark) => {
                let sep = if spec.target.contains('?') { '&' } else { '?' };
                format!("{}{sep}mark={mark}", spec.target)
            }
        };
        let sent = Instant::now();
        let reused = c.requests;
        let result = c.request(
            &spec.method,
            &target,
            &headers,
            &spec.body,
            !spec.keep_alive,
        );
        if let Some(mark) = mark {
            let (status, node, error) = match &result {
                Ok(r) => (Some(r.status), r.kv().get("node").map(str::to_owned), None),
                Err(e) => (None, None, Some(e.to_string())),
            };
            stats
                .marked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(MarkedRequest {
                    mark,
                    thread: spec.name.clone(),
                    sent,
                    answered: Instant::now(),
                    status,
                    node,
                    error,
                });
        }
        match result {
            Ok(response) if (200..300).contains(&response.status) => {
                match response.kv().get("node") {
                    Some(node) => {
                        stats.ok.fetch_add(1, Ordering::SeqCst);
                        stats.served(node, sent, &spec.name);
                        done += 1;
                    }
                    None => stats.fail(
                        epoch,
                        &spec,
                        sent,
                        format!(
                            "{} without a node= line: {:?}",
                            response.status,
                            response.text()
                        ),
                    ),
                }
                if c.closed {
                    if spec.keep_alive {
                        stats.reconnects.fetch_add(1, Ordering::SeqCst);
                    }
                    conn = None;
                }
            }
            Ok(response) => {
                stats.fail(
                    epoch,
                    &spec,
                    sent,
                    format!(
                        "{} {target}: status {}: {:?}",
                        spec.method,
                        response.status,
                        response.text()
                    ),
                );
                conn = None;
            }
            Err(e) => {
                stats.fail(
                    epoch,
                    &spec,
                    sent,
                    format!(
                        "{} {target}: {e} (after {reused} requests on this connection)",
                        spec.method
                    ),
                );
                conn = None;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    stats
        .per_thread
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(spec.name.clone(), done);
}
