//! The relay against real Tomcat 10.1: the real `jkgate` binary (a workers.properties on
//! disk, `--mount` rules, direct ajp13 workers) in front of Tomcat nodes from the fixture,
//! driven by real HTTP clients (raw sockets, the fixture's parsers, curl).
//!
//! Two Tomcat nodes are shared by every test, since booting a JVM costs seconds:
//! * `main`: Tomcat's AJP defaults (packetSize 8192, maxHeaderCount 100, no secret). Tests
//!   hold it through a read lock; the restart test takes the write lock.
//! * `locked`: packetSize 16384 and an AJP secret.
//!
//! Every test starts its own jkgate process, so the error log (stderr), the backend sockets
//! and the memory use a test looks at are that test's alone.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/pki.rs"]
mod pki;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use pki::TestCa;
use tomcat::{KvReply, TomcatNode, TomcatOptions, free_port, pattern_bytes, sha256_hex};

// ---------------------------------------------------------------------------------------------
// Shared Tomcat nodes.

/// The AJP secret of the `locked` node.
const SECRET: &str = "s3cr3t-relay";
/// AJP packet size of the `locked` node.
const BIG_PACKET: u32 = 16_384;
/// The `locked` node's `allowedRequestAttributesPattern`: the extra attributes it accepts.
const ALLOWED_ATTRIBUTES: &str = "SITE|TIER";

struct Nodes {
    main: RwLock<TomcatNode>,
    locked: TomcatNode,
}

/// Boots both nodes once (in parallel). They live until the test process exits; the
/// fixture's watchdog then kills the JVMs.
fn nodes() -> &'static Nodes {
    static NODES: OnceLock<Nodes> = OnceLock::new();
    NODES.get_or_init(|| {
        let locked = std::thread::spawn(|| {
            let mut options = TomcatOptions::with_route("locked");
            options.secret = Some(SECRET.to_owned());
            options.packet_size = Some(BIG_PACKET);
            options.allowed_request_attributes_pattern = Some(ALLOWED_ATTRIBUTES.to_owned());
            TomcatNode::start(options)
        });
        let main = TomcatNode::start(TomcatOptions::with_route("main"));
        let locked = locked
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Nodes {
            main: RwLock::new(main),
            locked,
        }
    })
}

/// The `main` node, shared with other tests (never restarted while this guard lives).
fn main_node() -> RwLockReadGuard<'static, TomcatNode> {
    nodes().main.read().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// workers.properties helpers.

/// The `worker.NAME.*` lines of an ajp13 worker on 127.0.0.1:`port`, plus `extra` settings.
fn ajp13(name: &str, port: u16, extra: &[(&str, &str)]) -> String {
    let mut s = format!(
        "worker.{name}.type=ajp13\nworker.{name}.host=127.0.0.1\nworker.{name}.port={port}\n"
    );
    for (key, value) in extra {
        let _ = writeln!(s, "worker.{name}.{key}={value}");
    }
    s
}

/// A workers.properties listing `list`, made of `blocks`.
fn workers(list: &[&str], blocks: &[String]) -> String {
    format!(
        "# written by tests/relay_tomcat.rs\nworker.list={}\n{}",
        list.join(","),
        blocks.concat()
    )
}

// ---------------------------------------------------------------------------------------------
// The jkgate process.

static DIR_SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory for one jkgate process (configuration, access log, TLS files).
fn test_dir(tag: &str) -> PathBuf {
    let seq = DIR_SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("relay-tomcat")
        .join(format!("{tag}-{}-{seq}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// PEM files for the HTTPS listener and a client certificate, all from one test CA.
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
}

/// The subject CN of the client certificate [`tls_files`] writes.
const CLIENT_CN: &str = "relay test client";
/// The subject CN of the test CA.
const CA_CN: &str = "jkgate relay test CA";

fn tls_files(dir: &Path) -> TlsFiles {
    let ca = TestCa::generate(CA_CN);
    let server = ca.issue_server(&["localhost", "127.0.0.1"], "localhost");
    let client = ca.issue_client(CLIENT_CN);

    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
        client_cert: dir.join("client.pem"),
        client_key: dir.join("client.key"),
    };
    for (path, pem) in [
        (&files.ca, ca.pem.clone()),
        (&files.cert, server.cert_pem),
        (&files.key, server.key_pem),
        // The client presents its chain (leaf, then the CA), as OpenSSL-based clients do
        // when they find the issuer.
        (&files.client_cert, format!("{}{}", client.cert_pem, ca.pem)),
        (&files.client_key, client.key_pem),
    ] {
        std::fs::write(path, pem).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
    files
}

/// A running `jkgate` binary. Killed when dropped; its directory is kept (and its log
/// printed) when the test panicked.
struct Jkgate {
    child: Child,
    /// Plain HTTP port on 127.0.0.1.
    port: u16,
    /// HTTPS port on 127.0.0.1, when started with TLS.
    tls_port: Option<u16>,
    dir: PathBuf,
    log: Arc<Mutex<Vec<u8>>>,
}

/// How to start jkgate beyond its workers and mounts.
#[derive(Default)]
struct Extra<'a> {
    /// An HTTPS listener with these files (and their client CA).
    tls: Option<&'a TlsFiles>,
    /// A jkgate.ini (`--config`).
    ini: Option<&'a str>,
    /// `--log-level`.
    log_level: Option<&'a str>,
}

impl Jkgate {
    /// jkgate with a plain listener, `workers` as its workers.properties and `mounts` as
    /// `--mount` rules.
    fn start(tag: &str, workers: &str, mounts: &[&str]) -> Jkgate {
        Jkgate::launch(tag, workers, mounts, &Extra::default())
    }

    fn launch(tag: &str, workers: &str, mounts: &[&str], extra: &Extra<'_>) -> Jkgate {
        let tls = extra.tls;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let dir = test_dir(tag);
            let workers_file = dir.join("workers.properties");
            std::fs::write(&workers_file, workers).expect("write workers.properties");
            let port = free_port();
            let tls_port = tls.map(|_| free_port());
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_jkgate"));
            cmd.arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--workers-file")
                .arg(&workers_file)
                .arg("--access-log")
                .arg(dir.join("access.log"));
            for mount in mounts {
                cmd.arg("--mount").arg(mount);
            }
            if let Some(ini) = extra.ini {
                let path = dir.join("jkgate.ini");
                std::fs::write(&path, ini).expect("write jkgate.ini");
                cmd.arg("--config").arg(path);
            }
            if let Some(level) = extra.log_level {
                cmd.arg("--log-level").arg(level);
            }
            if let (Some(tls), Some(tls_port)) = (tls, tls_port) {
                cmd.arg("--tls-listen")
                    .arg(format!("127.0.0.1:{tls_port}"))
                    .arg("--cert")
                    .arg(&tls.cert)
                    .arg("--key")
                    .arg(&tls.key)
                    .arg("--client-ca")
                    .arg(&tls.ca);
            }
            let mut child = cmd
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start the jkgate binary");
            let mut stderr = child.stderr.take().expect("piped stderr");
            let log = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = stderr.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend_from_slice(&buf[..n]);
                }
            });
            let mut jk = Jkgate {
                child,
                port,
                tls_port,
                dir,
                log,
            };
            let listeners = 1 + usize::from(tls.is_some());
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let log = jk.log();
                let ready = log
                    .lines()
                    .filter(|l| l.contains("listening") && l.contains("listen="))
                    .count();
                if ready >= listeners {
                    return jk;
                }
                if let Ok(Some(status)) = jk.child.try_wait() {
                    std::thread::sleep(Duration::from_millis(100));
                    let log = jk.log();
                    if log.contains("Address already in use") && attempt < 3 {
                        break; // a port was taken meanwhile: new ports
                    }
                    panic!("jkgate exited ({status}) before listening:\n{log}");
                }
                assert!(
                    Instant::now() < deadline,
                    "jkgate did not listen within 30 s:\n{log}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// The error log so far (stderr, escape sequences removed).
    fn log(&self) -> String {
        let raw = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        strip_ansi(&String::from_utf8_lossy(&raw))
    }

    /// Waits until `ready(log)` holds; panics with the log after `timeout`.
    fn wait_log(&self, what: &str, timeout: Duration, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            if ready(&log) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "jkgate's log never showed {what} within {timeout:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while the process runs.
    fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`).
    fn status_kib(&self, field: &str) -> u64 {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {path}"))
    }

    /// TCP states of jkgate's own sockets connected to `ajp_port`.
    fn backend_sockets(&self, ajp_port: u16) -> Vec<TcpState> {
        let inodes = socket_inodes(self.pid());
        tcp_table()
            .into_iter()
            .filter(|e| e.remote_port == ajp_port && inodes.contains(&e.inode))
            .map(|e| e.state)
            .collect()
    }

    /// One request on a new connection (`Connection: close`).
    fn request(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        request(self.port, method, target, headers, body)
    }

    fn url(&self, target: &str) -> String {
        format!("http://127.0.0.1:{}{target}", self.port)
    }
}

impl Drop for Jkgate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "jkgate kept for inspection: {}\n--- jkgate stderr ---\n{}",
                self.dir.display(),
                self.log()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// True when a log line carries `field` (`name=value`) as one whitespace-separated token.
fn has_field(line: &str, field: &str) -> bool {
    line.split_whitespace().any(|token| token == field)
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// TCP states from `/proc/net/tcp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TcpState {
    Established,
    CloseWait,
    Other(u8),
}

#[derive(Debug)]
struct TcpEntry {
    local_port: u16,
    remote_port: u16,
    state: TcpState,
    inode: u64,
}

fn tcp_table() -> Vec<TcpEntry> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                continue;
            }
            let port = |addr: &str| {
                addr.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
                    .unwrap_or(0)
            };
            let state = match u8::from_str_radix(f[3], 16).unwrap_or(0) {
                0x01 => TcpState::Established,
                0x08 => TcpState::CloseWait,
                other => TcpState::Other(other),
            };
            out.push(TcpEntry {
                local_port: port(f[1]),
                remote_port: port(f[2]),
                state,
                inode: f[9].parse().unwrap_or(0),
            });
        }
    }
    out
}

fn socket_inodes(pid: u32) -> HashSet<u64> {
    let mut set = HashSet::new();
    if let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for entry in entries.flatten() {
            if let Ok(target) = std::fs::read_link(entry.path()) {
                let target = target.to_string_lossy().into_owned();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|r| r.strip_suffix(']'))
                    .and_then(|i| i.parse().ok())
                {
                    set.insert(inode);
                }
            }
        }
    }
    set
}

/// Waits until no connection to Tomcat's `ajp_port` sits in CLOSE_WAIT on Tomcat's side
/// (the peer closed, Tomcat did not): a Tomcat thread stuck on a dead connection.
fn assert_tomcat_holds_no_dead_ajp_connection(ajp_port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let stuck: Vec<TcpEntry> = tcp_table()
            .into_iter()
            .filter(|e| e.local_port == ajp_port && e.state == TcpState::CloseWait)
            .collect();
        if stuck.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "Tomcat keeps AJP connections its peer closed: {stuck:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP clients.

/// A response as the client received it.
#[derive(Debug)]
struct Reply {
    /// The status line, exactly (`HTTP/1.1 404 Not Found`).
    status_line: String,
    status: u16,
    headers: Vec<(String, String)>,
    /// The body, de-chunked; for HEAD/204/304 every byte that followed the head.
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn kv(&self) -> KvReply {
        KvReply::parse(&self.body)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Splits a raw HTTP/1.1 response. `no_body`: HEAD, 204 and 304 keep the raw rest as body
/// (it must be empty). `decode_chunks`: de-chunk a chunked body (off for curl's output,
/// which curl already decoded).
fn parse_reply(raw: &[u8], no_body: bool, decode_chunks: bool) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no end of head in {} bytes: {:?}",
                raw.len(),
                String::from_utf8_lossy(&raw[..raw.len().min(400)])
            )
        });
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header line {l:?}"));
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let rest = &raw[end + 4..];
    let mut reply = Reply {
        status_line,
        status,
        headers,
        body: rest.to_vec(),
    };
    if no_body || status == 204 || status == 304 {
        return reply;
    }
    let chunked = reply
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked && decode_chunks {
        reply.body = dechunk(rest);
    } else if let Some(len) = reply.header("content-length") {
        let len: usize = len.parse().expect("numeric Content-Length");
        assert_eq!(rest.len(), len, "body length vs Content-Length");
    }
    reply
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = String::from_utf8_lossy(&data[..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|_| panic!("bad chunk size {size_text:?}"));
        data = &data[eol + 2..];
        if size == 0 {
            assert_eq!(data, b"\r\n", "chunked body ends with an empty trailer");
            return out;
        }
        assert!(data.len() >= size + 2, "chunk cut short");
        out.extend_from_slice(&data[..size]);
        assert_eq!(&data[size..size + 2], b"\r\n", "CRLF after chunk data");
        data = &data[size + 2..];
    }
}

fn connect(port: u16) -> TcpStream {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(60)))
        .expect("write timeout");
    s
}

/// The head of a request with `Host` and `Connection: close` unless given, and a
/// `Content-Length` for a non-empty body.
fn request_head(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body_len: usize,
) -> String {
    let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    if !has("host") {
        let _ = write!(head, "Host: 127.0.0.1:{port}\r\n");
    }
    if !has("connection") {
        head.push_str("Connection: close\r\n");
    }
    if body_len > 0 && !has("content-length") && !has("transfer-encoding") {
        let _ = write!(head, "Content-Length: {body_len}\r\n");
    }
    for (k, v) in headers {
        let _ = write!(head, "{k}: {v}\r\n");
    }
    head.push_str("\r\n");
    head
}

/// One request on a new connection; reads the response to the end.
fn request(port: u16, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut s = connect(port);
    s.write_all(request_head(port, method, target, headers, body.len()).as_bytes())
        .expect("write head");
    s.write_all(body).expect("write body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {target}: reading the response: {e}"));
    parse_reply(&raw, method == "HEAD", true)
}

/// curl's output of one exchange.
struct CurlRun {
    /// The last response (`-i` output after any 100 Continue).
    reply: Reply,
    /// curl's stderr (`-v` trace when asked for).
    stderr: String,
}

/// Runs curl with `-sS -i` and `args`; panics when curl fails.
fn curl(args: &[&str]) -> CurlRun {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "60"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "curl {args:?} failed ({}):\n{stderr}",
        out.status
    );
    let mut raw: &[u8] = &out.stdout;
    // Interim responses come first in -i output.
    while raw.starts_with(b"HTTP/") {
        let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
            break;
        };
        let status = String::from_utf8_lossy(&raw[..end])
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        if (100..200).contains(&status) {
            raw = &raw[end + 4..];
        } else {
            break;
        }
    }
    CurlRun {
        reply: parse_reply(raw, false, false),
        stderr,
    }
}

/// Deterministic bytes without a short period (a swapped or repeated packet changes the
/// hash, which a 64-byte pattern would not reveal).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A 200 from the echo servlet on node `route`.
fn assert_echo_ok(reply: &Reply, route: &str) -> KvReply {
    assert_eq!(reply.status, 200, "{}\n{}", reply.status_line, reply.text());
    let kv = reply.kv();
    assert_eq!(kv.req("jvmRoute"), route, "{}", reply.text());
    kv
}

// ---------------------------------------------------------------------------------------------
// Request forwarding.

#[test]
fn get_head_and_post_reach_the_servlet_as_sent() {
    let node = main_node();
    let jk = Jkgate::start(
        "basic",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );

    let get = jk.request(
        "GET",
        "/app/echo/some/path?x=1",
        &[("User-Agent", "relay-test/1"), ("Accept", "text/plain")],
        b"",
    );
    assert_eq!(get.status_line, "HTTP/1.1 200 OK");
    let kv = assert_echo_ok(&get, "main");
    assert_eq!(kv.req("method"), "GET");
    assert_eq!(kv.req("protocol"), "HTTP/1.1");
    assert_eq!(kv.req("requestURI"), "/app/echo/some/path");
    assert_eq!(kv.req("pathInfo"), "/some/path");
    assert_eq!(kv.req("queryString"), "x=1");
    assert_eq!(kv.req("scheme"), "http");
    assert_eq!(kv.req("secure"), "false");
    assert_eq!(kv.req("serverName"), "127.0.0.1");
    assert_eq!(kv.req("serverPort"), jk.port.to_string());
    assert_eq!(kv.req("remoteAddr"), "127.0.0.1");
    assert_eq!(kv.header_values("user-agent"), ["relay-test/1"]);
    assert_eq!(kv.header_values("accept"), ["text/plain"]);
    // mod_jk adds `content-length: 0` to a bodiless request so Tomcat never asks for a body.
    assert_eq!(kv.header_values("content-length"), ["0"]);
    assert_eq!(kv.req("contentLength"), "0");
    assert_eq!(kv.req("bodyLength"), "0");

    // HEAD: the GET's headers (Content-Length included), not one body byte.
    let get = jk.request("GET", "/app/static/1k.bin", &[], b"");
    assert_eq!(get.status, 200);
    assert_eq!(get.body, pattern_bytes(1024));
    assert_eq!(get.header("content-length"), Some("1024"));
    let head = jk.request("HEAD", "/app/static/1k.bin", &[], b"");
    assert_eq!(head.status_line, "HTTP/1.1 200 OK");
    assert_eq!(head.header("content-length"), Some("1024"), "{head:?}");
    assert_eq!(head.header("etag"), get.header("etag"));
    assert!(
        head.body.is_empty(),
        "HEAD got {} body bytes",
        head.body.len()
    );
    let head = jk.request("HEAD", "/app/echo", &[], b"");
    assert_eq!(head.status, 200);
    let declared: usize = head
        .header("content-length")
        .unwrap_or_else(|| panic!("HEAD /app/echo lost its Content-Length: {head:?}"))
        .parse()
        .expect("numeric");
    assert!(declared > 100, "{head:?}");
    assert!(
        head.body.is_empty(),
        "HEAD got {} body bytes",
        head.body.len()
    );

    // POST with Content-Length: a body within the first packet and one spanning several.
    for len in [100usize, 50_000] {
        let body = noise(len);
        let post = jk.request(
            "POST",
            "/app/echo",
            &[("Content-Type", "application/octet-stream")],
            &body,
        );
        let kv = assert_echo_ok(&post, "main");
        assert_eq!(kv.req("method"), "POST");
        assert_eq!(kv.req("contentType"), "application/octet-stream");
        assert_eq!(kv.req("contentLength"), len.to_string());
        assert_eq!(kv.req("bodyLength"), len.to_string());
        assert_eq!(kv.req("bodySha256"), sha256_hex(&body));
    }
}

#[test]
fn chunked_post_reaches_tomcat_without_content_length() {
    let node = main_node();
    let mut jk = Jkgate::start(
        "chunked",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );

    // Chunks around the packet limit (P − 6 = 8186), sent with pauses in between.
    let sizes = [1usize, 100, 8186, 8187, 20_000, 3];
    let data = noise(sizes.iter().sum());
    let mut s = connect(jk.port);
    let head = request_head(
        jk.port,
        "POST",
        "/app/echo",
        &[
            ("Transfer-Encoding", "chunked"),
            ("Content-Type", "application/octet-stream"),
        ],
        0,
    );
    s.write_all(head.as_bytes()).expect("head");
    let mut offset = 0;
    for (i, size) in sizes.iter().enumerate() {
        s.write_all(format!("{size:x}\r\n").as_bytes())
            .expect("chunk size");
        s.write_all(&data[offset..offset + size])
            .expect("chunk data");
        s.write_all(b"\r\n").expect("chunk end");
        offset += size;
        if i % 2 == 0 {
            std::thread::sleep(Duration::from_millis(40));
        }
    }
    s.write_all(b"0\r\n\r\n").expect("last chunk");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let reply = parse_reply(&raw, false, true);
    let kv = assert_echo_ok(&reply, "main");
    assert_eq!(kv.req("contentLength"), "-1", "{}", reply.text());
    assert_eq!(kv.req("bodyLength"), data.len().to_string());
    assert_eq!(kv.req("bodySha256"), sha256_hex(&data));
    assert!(
        kv.header_values("content-length").is_empty(),
        "a chunked request must reach Tomcat without Content-Length: {}",
        reply.text()
    );

    // A real client's chunked upload.
    let file = jk.dir.join("chunked.bin");
    let body = noise(300_000);
    std::fs::write(&file, &body).expect("write upload file");
    let run = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        &format!("@{}", file.display()),
        &jk.url("/app/upload"),
    ]);
    assert_eq!(run.reply.status, 200, "{}", run.reply.text());
    let kv = run.reply.kv();
    assert_eq!(kv.req("contentLength"), "-1");
    assert_eq!(kv.req("bodyLength"), body.len().to_string());
    assert_eq!(kv.req("bodySha256"), sha256_hex(&body));

    // Broken chunk framing is the client's error; jkgate answers and lives on.
    let mut s = connect(jk.port);
    s.write_all(head.as_bytes()).expect("head");
    s.write_all(b"5\r\nhello\r\nzz\r\nbroken\r\n0\r\n\r\n")
        .expect("broken body");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let broken = parse_reply(&raw, false, true);
    assert_eq!(broken.status, 400, "{}", broken.status_line);
    assert!(jk.is_running(), "jkgate died on a broken chunked body");
    let after = jk.request("GET", "/app/echo", &[], b"");
    assert_echo_ok(&after, "main");
}

#[test]
fn ten_mib_upload_and_download_arrive_intact_in_bounded_memory() {
    const SIZE: usize = 10 * 1024 * 1024;
    let node = main_node();
    let jk = Jkgate::start(
        "big-body",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    assert_echo_ok(&jk.request("GET", "/app/echo", &[], b""), "main");
    let baseline_kib = jk.status_kib("VmRSS");

    // Upload with Content-Length.
    let data = noise(SIZE);
    let up = jk.request(
        "POST",
        "/app/upload",
        &[("Content-Type", "application/octet-stream")],
        &data,
    );
    assert_eq!(up.status, 200, "{}", up.text());
    let kv = up.kv();
    assert_eq!(kv.req("contentLength"), SIZE.to_string());
    assert_eq!(kv.req("bodyLength"), SIZE.to_string());
    assert_eq!(kv.req("bodySha256"), sha256_hex(&data));

    // Chunked upload by curl.
    let file = jk.dir.join("upload.bin");
    std::fs::write(&file, &data).expect("write upload file");
    drop(data);
    let run = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{}", file.display()),
        &jk.url("/app/upload"),
    ]);
    let kv = run.reply.kv();
    assert_eq!(kv.req("contentLength"), "-1");
    assert_eq!(kv.req("bodyLength"), SIZE.to_string());
    let _ = std::fs::remove_file(&file);

    // Downloads: without Content-Length (jkgate chunks it) and with one.
    let expected = sha256_hex(&pattern_bytes(SIZE));
    let down = jk.request("GET", &format!("/app/echo?gen={SIZE}"), &[], b"");
    assert_eq!(down.status, 200);
    assert_eq!(down.header("transfer-encoding"), Some("chunked"));
    assert_eq!(down.body.len(), SIZE);
    assert_eq!(sha256_hex(&down.body), expected);
    drop(down);
    let down = jk.request("GET", &format!("/app/echo?gen={SIZE}&cl=1"), &[], b"");
    assert_eq!(down.status, 200);
    assert_eq!(
        down.header("content-length"),
        Some(SIZE.to_string().as_str())
    );
    assert_eq!(sha256_hex(&down.body), expected);

    // jkgate streamed 40 MiB; its peak resident set grew by a small fraction of one body.
    let peak_kib = jk.status_kib("VmHWM");
    let growth_kib = peak_kib.saturating_sub(baseline_kib);
    eprintln!("jkgate RSS: baseline {baseline_kib} KiB, peak {peak_kib} KiB");
    assert!(
        growth_kib < 5 * 1024,
        "jkgate's peak RSS grew by {growth_kib} KiB (baseline {baseline_kib} KiB, peak {peak_kib} KiB) relaying 10 MiB bodies"
    );
}

#[test]
fn patch_and_webdav_methods_reach_the_servlet_by_name() {
    let node = main_node();
    let jk = Jkgate::start(
        "methods",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    type Case<'a> = (&'a str, &'a [u8], &'a [(&'a str, &'a str)]);
    let cases: [Case<'_>; 5] = [
        // Not in AJP's method table: stored method (0xFF + attribute 0x0D).
        (
            "PATCH",
            b"{\"op\":\"replace\",\"path\":\"/a\"}",
            &[("Content-Type", "application/json-patch+json")],
        ),
        (
            "PROPFIND",
            b"<?xml version=\"1.0\"?><propfind xmlns=\"DAV:\"><allprop/></propfind>",
            &[("Depth", "1"), ("Content-Type", "application/xml")],
        ),
        ("MKCOL", b"", &[]),
        (
            "LOCK",
            b"<lockinfo xmlns=\"DAV:\"/>",
            &[("Timeout", "Second-60")],
        ),
        // An extension method no table knows.
        ("PURGE", b"", &[]),
    ];
    for (method, body, headers) in cases {
        let reply = jk.request(method, "/app/echo/dav/x", headers, body);
        let kv = assert_echo_ok(&reply, "main");
        assert_eq!(kv.req("method"), method);
        assert_eq!(kv.req("pathInfo"), "/dav/x");
        assert_eq!(kv.req("bodyLength"), body.len().to_string(), "{method}");
        assert_eq!(kv.req("bodySha256"), sha256_hex(body), "{method}");
        for (name, value) in headers {
            assert_eq!(kv.header_values(name), [*value], "{method}");
        }
    }
}

#[test]
fn a_hundred_request_headers_pass_and_tomcat_counts_them() {
    let node = main_node();
    let jk = Jkgate::start(
        "headers",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    // Host and Connection from the client, `content-length: 0` added by jkgate (mod_jk's
    // rule for bodiless requests): 97 custom headers make exactly Tomcat's
    // maxHeaderCount (100).
    let custom: Vec<(String, String)> = (1..=97)
        .map(|i| {
            (
                format!("X-Relay-{i:03}"),
                format!("value {i}-{}", "v".repeat(i % 9)),
            )
        })
        .collect();
    let headers: Vec<(&str, &str)> = custom
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let reply = jk.request("GET", "/app/echo", &headers, b"");
    let kv = assert_echo_ok(&reply, "main");
    assert_eq!(kv.req("headerCount"), "100", "{}", reply.text());
    let seen: Vec<(String, String)> = kv
        .headers()
        .into_iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-relay-"))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect();
    let sent: Vec<(String, String)> = custom
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    assert_eq!(seen, sent, "custom headers in order");

    // One more and Tomcat's AJP connector refuses the request (maxHeaderCount): the count
    // above is Tomcat's, not a coincidence of the echo servlet.
    let mut one_more = headers.clone();
    one_more.push(("X-Relay-Extra", "101"));
    let refused = jk.request("GET", "/app/echo", &one_more, b"");
    assert_eq!(
        refused.status_line,
        "HTTP/1.1 500 Internal Server Error",
        "{}",
        refused.text()
    );
    // Tomcat closed that AJP connection (reuse=0); the next request gets a fresh one.
    assert_echo_ok(&jk.request("GET", "/app/echo", &headers, b""), "main");
}

#[test]
fn twelve_kib_of_headers_need_a_16k_packet_on_both_sides() {
    let locked = &nodes().locked;
    let big_packet = BIG_PACKET.to_string();
    let jk_big = Jkgate::start(
        "large-headers",
        &workers(
            &["big"],
            &[ajp13(
                "big",
                locked.ajp_port(),
                &[("max_packet_size", &big_packet), ("secret", SECRET)],
            )],
        ),
        &["/app/*=big"],
    );
    let large: Vec<(String, String)> = (0..12)
        .map(|i| {
            let value: String = (0..1024)
                .map(|j| char::from(b'a' + ((i * 7 + j) % 26) as u8))
                .collect();
            (format!("X-Large-{i:02}"), value)
        })
        .collect();
    let headers: Vec<(&str, &str)> = large
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let reply = jk_big.request("GET", "/app/echo", &headers, b"");
    let kv = assert_echo_ok(&reply, "locked");
    for (name, value) in &large {
        assert_eq!(kv.header_values(name), [value.as_str()], "{name}");
    }

    // The same request through a worker with the default max_packet_size (8192, matching
    // a default Tomcat): it cannot fit one AJP packet, so jkgate answers 413 itself.
    let main = main_node();
    let jk_small = Jkgate::start(
        "small-packet",
        &workers(&["small"], &[ajp13("small", main.ajp_port(), &[])]),
        &["/app/*=small"],
    );
    let refused = jk_small.request("GET", "/app/echo", &headers, b"");
    assert_eq!(refused.status_line, "HTTP/1.1 413 Payload Too Large");
    assert!(
        refused
            .text()
            .contains("<title>413 Payload Too Large</title>"),
        "not jkgate's own page: {}",
        refused.text()
    );
    jk_small.wait_log("the request-rejected line", Duration::from_secs(5), |log| {
        log.lines().any(|l| {
            l.contains("request-rejected") && l.contains("worker=small") && l.contains("AJP packet")
        })
    });
    // The worker itself is fine.
    assert_echo_ok(&jk_small.request("GET", "/app/echo", &[], b""), "main");
}

#[test]
fn right_secret_gets_200_wrong_or_missing_secret_gets_403_from_tomcat() {
    let locked = &nodes().locked;
    let size = BIG_PACKET.to_string();
    let port = locked.ajp_port();
    let jk = Jkgate::start(
        "secret",
        &workers(
            &["good", "wrong", "none"],
            &[
                ajp13(
                    "good",
                    port,
                    &[("max_packet_size", &size), ("secret", SECRET)],
                ),
                ajp13(
                    "wrong",
                    port,
                    &[("max_packet_size", &size), ("secret", "not-the-secret")],
                ),
                ajp13("none", port, &[("max_packet_size", &size)]),
            ],
        ),
        &[
            "/app/*=good",
            "/app/echo/wrong/*=wrong",
            "/app/echo/none/*=none",
        ],
    );
    for _ in 0..2 {
        let good = jk.request("GET", "/app/echo/ok", &[], b"");
        assert_eq!(good.status_line, "HTTP/1.1 200 OK");
        assert_echo_ok(&good, "locked");
        for target in ["/app/echo/wrong/x", "/app/echo/none/x"] {
            // Tomcat refuses before the servlet runs (its own error page) and closes the
            // connection (reuse=0); a second round proves jkgate did not reuse it.
            assert_refused_by_tomcat(&jk.request("GET", target, &[], b""), target);
        }
    }
}

#[test]
fn jk_env_var_attributes_reach_tomcat_only_when_its_connector_allows_them() {
    // jkgate.ini's [env] section is JkEnvVar: fixed attributes on every request. Since the
    // Ghostcat fix Tomcat answers 403 to any attribute outside its allowlist, for mod_jk
    // and jkgate alike; `locked` allows SITE and TIER, `main` allows none.
    let locked = &nodes().locked;
    let main = main_node();
    let size = BIG_PACKET.to_string();
    let ini = Extra {
        ini: Some("[env]\nSITE = blue\nTIER = gold tier\n"),
        ..Extra::default()
    };
    let jk = Jkgate::launch(
        "env-var",
        &workers(
            &["allows", "plain"],
            &[
                ajp13(
                    "allows",
                    locked.ajp_port(),
                    &[("max_packet_size", &size), ("secret", SECRET)],
                ),
                ajp13("plain", main.ajp_port(), &[]),
            ],
        ),
        &["/app/*=allows", "/app/echo/plain/*=plain"],
        &ini,
    );
    let reply = jk.request("GET", "/app/echo/env?attr=SITE&attr=TIER", &[], b"");
    let kv = assert_echo_ok(&reply, "locked");
    assert_eq!(kv.attr("SITE"), Some("blue"));
    assert_eq!(kv.attr("TIER"), Some("gold tier"));
    // A client cannot set or override them: headers and the query stay what they are.
    let spoofed = jk.request(
        "GET",
        "/app/echo/env?attr=SITE&SITE=red",
        &[("SITE", "red")],
        b"",
    );
    let kv = assert_echo_ok(&spoofed, "locked");
    assert_eq!(kv.attr("SITE"), Some("blue"));
    assert_eq!(kv.header_values("SITE"), ["red"]);

    let target = "/app/echo/plain/env?attr=SITE";
    assert_refused_by_tomcat(&jk.request("GET", target, &[], b""), target);
}

/// Tomcat's AJP connector answered 403 itself: the servlet (which prints its jvmRoute)
/// never ran.
fn assert_refused_by_tomcat(reply: &Reply, target: &str) {
    assert_eq!(reply.status_line, "HTTP/1.1 403 Forbidden", "{target}");
    assert!(
        !reply.text().contains("jvmRoute="),
        "the servlet ran for {target}: {}",
        reply.text()
    );
}

#[test]
fn query_strings_and_escaped_paths_reach_tomcat_as_mod_jk_forwards_them() {
    let node = main_node();
    let jk = Jkgate::start(
        "uri",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    // The query travels raw (attribute 0x05): reserved characters, escapes of non-ASCII and
    // control bytes, and raw UTF-8 reach getQueryString() unchanged. (Tomcat turns the
    // query's bytes into a String as ISO-8859-1, one char per byte, so the bytes are
    // compared.)
    let queries = [
        "a=1&b=%20%2B+&c=%C3%A9&d=%FF%00x",
        "reserved=/?:@!$'()*+,;=&q=a%26b&empty=&=novalue&flag",
        "json={%22k%22:[1,2]}&tilde=~&pct=%25",
        "utf8=é&cjk=日本",
    ];
    for query in queries {
        let reply = jk.request("GET", &format!("/app/echo?{query}"), &[], b"");
        let kv = assert_echo_ok(&reply, "main");
        let seen: Vec<u8> = kv
            .req("queryString")
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("one byte per char"))
            .collect();
        assert_eq!(seen, query.as_bytes(), "{query}");
    }

    // Paths are forwarded per ForwardURIProxy (mod_jk's default): decoded, then re-encoded
    // with mod_jk's safe set, upper-case hex.
    let paths = [
        // (sent, requestURI at Tomcat, pathInfo at Tomcat)
        (
            "/app/echo/a%20b/%c3%a9/%7Ex%2Bz",
            "/app/echo/a%20b/%C3%A9/~x+z",
            "/a b/é/~x+z",
        ),
        ("/app/echo/é/日", "/app/echo/%C3%A9/%E6%97%A5", "/é/日"),
        (
            "/app/echo/100%25/x%3Fy",
            "/app/echo/100%25/x%3Fy",
            "/100%/x?y",
        ),
        // `%3B` is re-sent as `;`: a path parameter for Tomcat (documented mod_jk behaviour).
        ("/app/echo/x%3By/z", "/app/echo/x;y/z", "/x/z"),
    ];
    for (sent, uri, path_info) in paths {
        let reply = jk.request("GET", sent, &[], b"");
        let kv = assert_echo_ok(&reply, "main");
        assert_eq!(kv.req("requestURI"), uri, "{sent}");
        assert_eq!(kv.req("pathInfo"), path_info, "{sent}");
    }
}

/// Reads one response from a keep-alive connection: the head, then a Content-Length or
/// chunked body.
fn read_response(stream: &mut std::io::BufReader<TcpStream>) -> Reply {
    use std::io::BufRead as _;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read_until(b'\n', &mut head).expect("read head");
        assert!(
            n > 0,
            "connection closed in the head: {:?}",
            String::from_utf8_lossy(&head)
        );
    }
    let mut raw = head.clone();
    let parsed = parse_reply(&head, true, false);
    if let Some(len) = parsed.header("content-length") {
        let mut body = vec![0u8; len.parse().expect("numeric Content-Length")];
        stream.read_exact(&mut body).expect("read body");
        raw.extend_from_slice(&body);
    } else if parsed.header("transfer-encoding") == Some("chunked") {
        loop {
            let mut line = Vec::new();
            stream.read_until(b'\n', &mut line).expect("chunk size");
            raw.extend_from_slice(&line);
            let size = usize::from_str_radix(String::from_utf8_lossy(&line).trim(), 16)
                .expect("chunk size");
            let mut data = vec![0u8; size + 2];
            stream.read_exact(&mut data).expect("chunk data");
            raw.extend_from_slice(&data);
            if size == 0 {
                break;
            }
        }
    }
    parse_reply(&raw, false, true)
}

#[test]
fn a_body_the_servlet_leaves_unread_is_discarded_and_the_connection_kept() {
    let node = main_node();
    let jk = Jkgate::start(
        "unread-body",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    // Larger than any socket buffer: the client is still sending when the response comes.
    let body = Arc::new(noise(8 * 1024 * 1024));
    // (target, chunked, status): Tomcat answers without reading, or jkgate answers itself.
    let cases = [
        ("/app/echo?noread=1", false, 200),
        ("/app/echo?noread=1", true, 200),
        ("/not-mounted/x", false, 404),
    ];
    for (target, chunked, status) in cases {
        let stream = connect(jk.port);
        let mut writer = stream.try_clone().expect("clone");
        let port = jk.port;
        let upload = Arc::clone(&body);
        let sender = std::thread::spawn(move || -> std::io::Result<()> {
            let framing = if chunked {
                ("Transfer-Encoding", "chunked".to_owned())
            } else {
                ("Content-Length", upload.len().to_string())
            };
            let head = request_head(
                port,
                "POST",
                target,
                &[("Connection", "keep-alive"), (framing.0, &framing.1)],
                0,
            );
            writer.write_all(head.as_bytes())?;
            for piece in upload.chunks(64 * 1024) {
                if chunked {
                    writer.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                    writer.write_all(piece)?;
                    writer.write_all(b"\r\n")?;
                } else {
                    writer.write_all(piece)?;
                }
            }
            if chunked {
                writer.write_all(b"0\r\n\r\n")?;
            }
            Ok(())
        });
        let mut reader = std::io::BufReader::new(stream);
        let first = read_response(&mut reader);
        assert_eq!(first.status, status, "{target}: {}", first.text());
        if status == 200 {
            assert_eq!(first.kv().req("bodyRead"), "false");
        }
        sender
            .join()
            .expect("sender thread")
            .unwrap_or_else(|e| panic!("{target} (chunked: {chunked}): the upload broke off: {e}"));
        // The same connection serves the next request.
        let mut stream = reader.into_inner();
        stream
            .write_all(request_head(jk.port, "GET", "/app/echo?second=1", &[], 0).as_bytes())
            .expect("second request");
        let second = read_response(&mut std::io::BufReader::new(stream));
        let kv = assert_echo_ok(&second, "main");
        assert_eq!(kv.req("queryString"), "second=1");
    }

    // curl finishes its upload without a send failure.
    let file = jk.dir.join("unread.bin");
    std::fs::write(&file, body.as_slice()).expect("write upload file");
    let run = curl(&[
        "--data-binary",
        &format!("@{}", file.display()),
        &jk.url("/app/echo?noread=1"),
    ]);
    assert_eq!(run.reply.status, 200, "{}", run.stderr);
}

/// A request body of `left` bytes sent as fast as HTTP/2 flow control lets it go.
struct Upload {
    left: usize,
    piece: bytes::Bytes,
}

impl hyper::body::Body for Upload {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = self.left.min(self.piece.len());
        self.left -= n;
        let data = self.piece.slice(..n);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(data))))
    }

    /// An empty upload ends its stream with the request's headers, as a GET does.
    fn is_end_stream(&self) -> bool {
        self.left == 0
    }
}

/// Sends `request` on an HTTP/2 connection and reads the whole answer: its status and body.
/// Panics, naming `label`, when no answer comes within 30 s or the client loses it.
async fn h2_exchange(
    sender: &mut hyper::client::conn::http2::SendRequest<Upload>,
    request: http::Request<Upload>,
    label: &str,
) -> (u16, bytes::Bytes) {
    use http_body_util::BodyExt as _;
    let exchange = async {
        let response = sender.send_request(request).await?;
        let code = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok::<_, hyper::Error>((code, body))
    };
    tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .unwrap_or_else(|_| panic!("{label}: no response within 30 s"))
        .unwrap_or_else(|e| panic!("{label}: the client lost the response: {e:?}"))
}

#[test]
fn http2_clients_get_the_response_to_a_body_nobody_read() {
    let node = main_node();
    let jk = Jkgate::start(
        "h2-unread",
        &workers(
            &["tc", "down"],
            &[
                ajp13("tc", node.ajp_port(), &[]),
                ajp13("down", free_port(), &[]),
            ],
        ),
        &["/app/*=tc", "/app/echo/down/*=down"],
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let port = jk.port;
    runtime.block_on(async move {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let (mut sender, conn) = hyper::client::conn::http2::handshake(
            hyper_util::rt::TokioExecutor::new(),
            hyper_util::rt::TokioIo::new(stream),
        )
        .await
        .expect("h2c handshake (prior knowledge)");
        tokio::spawn(conn);
        // (target, status): the member reads it all, the member answers without reading,
        // jkgate answers itself (unmapped path, unreachable member).
        let cases = [
            ("/app/upload", 200),
            ("/app/echo?noread=1", 200),
            ("/nothing-mounted", 404),
            ("/app/echo/down/x", 503),
        ];
        for (target, status) in cases {
            let request = http::Request::post(format!("http://127.0.0.1:{port}{target}"))
                .header("content-length", (8 << 20).to_string())
                .body(Upload {
                    left: 8 << 20,
                    piece: bytes::Bytes::from(noise(64 * 1024)),
                })
                .expect("request");
            let (code, body) = h2_exchange(&mut sender, request, target).await;
            assert_eq!(code, status, "{target}: {}", String::from_utf8_lossy(&body));
            if target.contains("noread") {
                let kv = KvReply::parse(&body);
                assert_eq!(kv.req("bodyRead"), "false");
                assert_eq!(kv.req("protocol"), "HTTP/2.0");
            }
        }
        // Requests whose stream ended with their headers (jkgate keeps no body for them), on
        // the same connection: each gets its whole response.
        for round in 0..3 {
            let request = http::Request::get(format!("http://127.0.0.1:{port}/app/static/1k.bin"))
                .body(Upload {
                    left: 0,
                    piece: bytes::Bytes::new(),
                })
                .expect("request");
            let (code, body) = h2_exchange(&mut sender, request, &format!("GET {round}")).await;
            assert_eq!((code, body.len()), (200, 1024), "GET {round}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Responses.

#[test]
fn set_cookies_stay_separate_and_statuses_get_their_reason_phrase() {
    let node = main_node();
    let jk = Jkgate::start(
        "responses",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    let cookies = jk.request(
        "GET",
        "/app/echo?header=Set-Cookie:a=1&header=Set-Cookie:b=2;%20Path=/app&header=X-Multi:one&header=X-Multi:two",
        &[],
        b"",
    );
    assert_echo_ok(&cookies, "main");
    assert_eq!(
        cookies.header_values("set-cookie"),
        ["a=1", "b=2; Path=/app"]
    );
    assert_eq!(cookies.header_values("x-multi"), ["one", "two"]);

    let no_content = jk.request("GET", "/app/echo?status=204", &[], b"");
    assert_eq!(no_content.status_line, "HTTP/1.1 204 No Content");
    assert!(no_content.body.is_empty(), "{no_content:?}");
    assert_eq!(no_content.header("content-length"), None);
    assert_eq!(no_content.header("transfer-encoding"), None);

    let full = jk.request("GET", "/app/static/1k.bin", &[], b"");
    let etag = full.header("etag").expect("ETag").to_owned();
    let modified = full
        .header("last-modified")
        .expect("Last-Modified")
        .to_owned();
    for condition in [
        ("If-None-Match", etag.as_str()),
        ("If-Modified-Since", &modified),
    ] {
        let not_modified = jk.request("GET", "/app/static/1k.bin", &[condition], b"");
        assert_eq!(
            not_modified.status_line, "HTTP/1.1 304 Not Modified",
            "{condition:?}"
        );
        assert!(not_modified.body.is_empty(), "{not_modified:?}");
        assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    }

    let missing = jk.request("GET", "/app/no-such-thing", &[], b"");
    assert_eq!(missing.status_line, "HTTP/1.1 404 Not Found");
    let failed = jk.request("GET", "/app/echo?status=500", &[], b"");
    assert_eq!(failed.status_line, "HTTP/1.1 500 Internal Server Error");
    assert_eq!(
        failed.kv().req("jvmRoute"),
        "main",
        "the servlet's own body"
    );
    let unavailable = jk.request("GET", "/app/echo?status=503", &[], b"");
    assert_eq!(unavailable.status_line, "HTTP/1.1 503 Service Unavailable");
    // Codes without a standard phrase get mod_jk's, not an empty or placeholder one.
    for status in [299, 599] {
        let unusual = jk.request("GET", &format!("/app/echo?status={status}"), &[], b"");
        assert_eq!(
            unusual.status_line,
            format!("HTTP/1.1 {status} Unknown Reason")
        );
    }
}

#[test]
fn a_flushed_response_reaches_the_client_in_pieces() {
    let node = main_node();
    let jk = Jkgate::start(
        "streaming",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    assert_eq!(
        jk.request("GET", "/app/echo?gen=10", &[], b"").body,
        pattern_bytes(10)
    );
    assert_eq!(
        jk.request("GET", "/app/echo?gen=100&flush=10", &[], b"")
            .body,
        pattern_bytes(100)
    );

    // Six pieces of 4 KiB, the servlet flushes after each and then sleeps 300 ms.
    const PIECE: usize = 4096;
    const PIECES: usize = 6;
    const PAUSE_MS: u64 = 300;
    let target = format!(
        "/app/echo?gen={}&flush={PIECE}&pause={PAUSE_MS}",
        PIECE * PIECES
    );
    let mut s = connect(jk.port);
    let started = Instant::now();
    s.write_all(request_head(jk.port, "GET", &target, &[], 0).as_bytes())
        .expect("request");
    let mut raw = Vec::new();
    let mut arrivals: Vec<(Duration, usize)> = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = s.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        arrivals.push((started.elapsed(), raw.len()));
    }
    eprintln!("arrivals (time, bytes so far): {arrivals:?}");
    let reply = parse_reply(&raw, false, true);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, pattern_bytes(PIECE * PIECES));
    let head_len = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let first_body = arrivals
        .iter()
        .find(|(_, total)| *total > head_len + PIECE)
        .map(|(t, _)| *t)
        .expect("a first piece");
    let last = arrivals.last().map(|(t, _)| *t).expect("arrivals");
    let pause = Duration::from_millis(PAUSE_MS);
    // The whole response takes six pauses; the first piece came long before the end.
    assert!(last >= pause * 5, "{arrivals:?}");
    assert!(
        first_body + pause * 3 <= last,
        "the first flushed piece waited for the rest: {arrivals:?}"
    );
    let distinct = arrivals
        .windows(2)
        .filter(|w| w[1].0 - w[0].0 >= pause / 2)
        .count();
    assert!(
        distinct >= 4,
        "expected the pieces to arrive apart: {arrivals:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Failures the pool must survive.

#[test]
fn client_aborts_mid_upload_and_mid_download_leave_the_pool_healthy() {
    let node = main_node();
    let ajp_port = node.ajp_port();
    let jk = Jkgate::start(
        "aborts",
        &workers(&["tc"], &[ajp13("tc", ajp_port, &[])]),
        &["/app/*=tc"],
    );
    assert_echo_ok(&jk.request("GET", "/app/echo", &[], b""), "main");

    // Mid-upload: 1 MiB of a declared 10 MiB, then the client is gone.
    {
        let mut s = connect(jk.port);
        let head = request_head(
            jk.port,
            "POST",
            "/app/upload",
            &[("Content-Length", "10485760")],
            0,
        );
        s.write_all(head.as_bytes()).expect("head");
        s.write_all(&noise(1024 * 1024)).expect("part of the body");
        std::thread::sleep(Duration::from_millis(300));
        let _ = s.shutdown(Shutdown::Both);
    }
    jk.wait_log("the aborted upload", Duration::from_secs(10), |log| {
        log.lines()
            .any(|l| l.contains("request failed") && l.contains("client-aborted"))
    });

    // Mid-download: 10 MiB generated, the client reads 256 KiB and leaves.
    {
        let mut s = connect(jk.port);
        s.write_all(request_head(jk.port, "GET", "/app/echo?gen=10485760", &[], 0).as_bytes())
            .expect("request");
        let mut got = 0;
        let mut buf = [0u8; 16384];
        while got < 256 * 1024 {
            let n = s.read(&mut buf).expect("read");
            assert!(n > 0, "response ended early");
            got += n;
        }
    }
    jk.wait_log("the aborted download", Duration::from_secs(10), |log| {
        log.lines()
            .filter(|l| l.contains("request failed") && l.contains("client-aborted"))
            .count()
            >= 2
    });
    // Both aborted exchanges' AJP connections are closed (before the failure is logged);
    // only the first request's idle connection is left, and Tomcat holds none its peer
    // closed.
    let sockets = jk.backend_sockets(ajp_port);
    assert!(
        sockets.len() <= 1 && sockets.iter().all(|s| *s == TcpState::Established),
        "jkgate's AJP sockets after the aborts: {sockets:?}"
    );
    assert_tomcat_holds_no_dead_ajp_connection(ajp_port);

    // Right after: a quick 200 (a pool waiting on a dead exchange would hang or fail
    // here), then several in a row and in parallel.
    let started = Instant::now();
    assert_echo_ok(&jk.request("GET", "/app/echo", &[], b""), "main");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    for _ in 0..5 {
        let body = noise(30_000);
        let reply = jk.request("POST", "/app/upload", &[], &body);
        assert_eq!(reply.kv().req("bodySha256"), sha256_hex(&body));
    }
    let port = jk.port;
    let parallel: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || request(port, "GET", "/app/echo?sleep=100", &[], b"")))
        .collect();
    for handle in parallel {
        assert_echo_ok(&handle.join().expect("request thread"), "main");
    }

    // Still no connection left behind on either side.
    let sockets = jk.backend_sockets(ajp_port);
    assert!(
        !sockets.is_empty() && sockets.iter().all(|s| *s == TcpState::Established),
        "jkgate's AJP sockets: {sockets:?}"
    );
    assert_tomcat_holds_no_dead_ajp_connection(ajp_port);
}

#[test]
fn tomcat_restart_under_idle_pooled_connections_is_invisible_to_clients() {
    let mut node = nodes().main.write().unwrap_or_else(PoisonError::into_inner);
    let ajp_port = node.ajp_port();
    let debug = Extra {
        log_level: Some("debug"),
        ..Extra::default()
    };
    let jk = Jkgate::launch(
        "restart",
        &workers(&["tc"], &[ajp13("tc", ajp_port, &[])]),
        &["/app/*=tc"],
        &debug,
    );
    // Four requests at once (each takes a second in the servlet) leave four pooled
    // connections.
    let port = jk.port;
    let start = Arc::new(std::sync::Barrier::new(4));
    let warm: Vec<_> = (0..4)
        .map(|_| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                request(port, "GET", "/app/echo?sleep=1000", &[], b"")
            })
        })
        .collect();
    for handle in warm {
        assert_echo_ok(&handle.join().expect("request thread"), "main");
    }
    let pooled = jk.backend_sockets(ajp_port);
    assert_eq!(pooled, [TcpState::Established; 4], "pooled connections");

    node.restart();

    // The first request after the restart, then several at once: all succeed.
    let first = jk.request("GET", "/app/echo", &[], b"");
    assert_echo_ok(&first, "main");
    let after: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || request(port, "GET", "/app/echo?sleep=100", &[], b"")))
        .collect();
    for handle in after {
        assert_echo_ok(&handle.join().expect("request thread"), "main");
    }
    let log = jk.log();
    assert!(
        !log.contains("request failed"),
        "a client saw the restart:\n{log}"
    );
    // The dead pooled connections were noticed (by the idle watcher or at checkout) and
    // replaced by new ones.
    assert!(
        log.contains("the member closed") || log.contains("was stale"),
        "no sign of the stale pooled connections in the log:\n{log}"
    );
    let pooled = jk.backend_sockets(ajp_port);
    assert!(
        !pooled.is_empty() && pooled.iter().all(|s| *s == TcpState::Established),
        "{pooled:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// TLS, 100-continue, attributes.

#[test]
fn tls_facts_and_the_client_certificate_reach_tomcat() {
    let node = main_node();
    let dir = test_dir("tls-files");
    let tls = tls_files(&dir);
    let workers_file = workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]);
    let with_tls = Extra {
        tls: Some(&tls),
        ..Extra::default()
    };
    let jk = Jkgate::launch("tls", &workers_file, &["/app/*=tc"], &with_tls);
    let tls_port = jk.tls_port.expect("TLS port");
    let url = format!("https://localhost:{tls_port}/app/echo");
    let resolve = format!("localhost:{tls_port}:127.0.0.1");
    let ca = tls.ca.display().to_string();
    let cert = tls.client_cert.display().to_string();
    let key = tls.client_key.display().to_string();
    let tls_attrs = [
        "jakarta.servlet.request.cipher_suite",
        "jakarta.servlet.request.key_size",
        "jakarta.servlet.request.ssl_session_id",
        "org.apache.tomcat.util.net.secure_protocol_version",
    ];

    // TLS 1.3 with a client certificate.
    let run = curl(&[
        "--http1.1",
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        "--cert",
        &cert,
        "--key",
        &key,
        &url,
    ]);
    let kv = assert_echo_ok(&run.reply, "main");
    assert_eq!(kv.req("scheme"), "https");
    assert_eq!(kv.req("secure"), "true");
    assert_eq!(kv.req("serverName"), "localhost");
    assert_eq!(kv.req("serverPort"), tls_port.to_string());
    assert_eq!(kv.req("protocol"), "HTTP/1.1");
    assert_eq!(
        kv.attr("org.apache.tomcat.util.net.secure_protocol_version"),
        Some("TLSv1.3"),
        "{}",
        run.reply.text()
    );
    let cipher = kv
        .attr("jakarta.servlet.request.cipher_suite")
        .expect("cipher suite attribute");
    assert!(
        cipher.starts_with("TLS_AES_") || cipher.starts_with("TLS_CHACHA20"),
        "{cipher}"
    );
    let bits = kv
        .attr("jakarta.servlet.request.key_size")
        .expect("key size");
    assert!(bits == "128" || bits == "256", "{bits}");
    assert_eq!(
        kv.get("attrType.jakarta.servlet.request.key_size"),
        Some("java.lang.Integer")
    );
    let session = kv
        .attr("jakarta.servlet.request.ssl_session_id")
        .expect("ssl session id");
    assert!(
        session.len() >= 32 && session.bytes().all(|b| b.is_ascii_hexdigit()),
        "{session}"
    );
    // mod_jk's default: the client's own certificate only.
    assert_eq!(
        kv.attr("jakarta.servlet.request.X509Certificate"),
        Some("X509Certificate[1]"),
        "{}",
        run.reply.text()
    );
    assert_eq!(
        kv.attr("jakarta.servlet.request.X509Certificate.0.subject"),
        Some(format!("CN={CLIENT_CN}").as_str())
    );

    // TLS 1.2, no client certificate, HTTP/2.
    let run = curl(&[
        "--http2",
        "--tlsv1.2",
        "--tls-max",
        "1.2",
        "--cacert",
        &ca,
        "--resolve",
        &resolve,
        &url,
    ]);
    let kv = assert_echo_ok(&run.reply, "main");
    assert!(
        run.reply.status_line.starts_with("HTTP/2 200"),
        "{}",
        run.reply.status_line
    );
    assert_eq!(kv.req("protocol"), "HTTP/2.0");
    assert_eq!(kv.req("secure"), "true");
    assert_eq!(
        kv.attr("org.apache.tomcat.util.net.secure_protocol_version"),
        Some("TLSv1.2")
    );
    let cipher = kv
        .attr("jakarta.servlet.request.cipher_suite")
        .expect("cipher suite");
    assert!(cipher.starts_with("ECDHE-"), "{cipher}");
    assert_eq!(kv.attr("jakarta.servlet.request.X509Certificate"), None);
    // HTTP/2 has no Host header: the :authority becomes one.
    assert_eq!(kv.req("serverName"), "localhost");
    assert_eq!(
        kv.header_values("host"),
        [format!("localhost:{tls_port}").as_str()]
    );

    // JkOptions +ForwardSSLCertChain: the chain the client presented, leaf first.
    let with_chain = Extra {
        tls: Some(&tls),
        ini: Some("JkOptions = +ForwardSSLCertChain\n"),
        ..Extra::default()
    };
    let jk_chain = Jkgate::launch("tls-chain", &workers_file, &["/app/*=tc"], &with_chain);
    let chain_port = jk_chain.tls_port.expect("TLS port");
    let run = curl(&[
        "--cacert",
        &ca,
        "--resolve",
        &format!("localhost:{chain_port}:127.0.0.1"),
        "--cert",
        &cert,
        "--key",
        &key,
        &format!("https://localhost:{chain_port}/app/echo"),
    ]);
    let kv = assert_echo_ok(&run.reply, "main");
    assert_eq!(
        kv.attr("jakarta.servlet.request.X509Certificate"),
        Some("X509Certificate[2]"),
        "{}",
        run.reply.text()
    );
    assert_eq!(
        kv.attr("jakarta.servlet.request.X509Certificate.0.subject"),
        Some(format!("CN={CLIENT_CN}").as_str())
    );
    assert_eq!(
        kv.attr("jakarta.servlet.request.X509Certificate.1.subject"),
        Some(format!("CN={CA_CN}").as_str())
    );

    // Plain HTTP: no TLS facts at all.
    let plain = jk.request("GET", "/app/echo", &[], b"");
    let kv = assert_echo_ok(&plain, "main");
    assert_eq!(kv.req("scheme"), "http");
    assert_eq!(kv.req("secure"), "false");
    for name in tls_attrs {
        assert_eq!(kv.attr(name), None, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expect_100_continue_is_answered_towards_the_client() {
    let node = main_node();
    let jk = Jkgate::start(
        "expect",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    // A raw client that waits for the 100 before sending its body.
    let body = noise(200_000);
    let mut s = connect(jk.port);
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = request_head(
        jk.port,
        "POST",
        "/app/upload",
        &[
            ("Expect", "100-continue"),
            ("Content-Length", &body.len().to_string()),
        ],
        0,
    );
    s.write_all(head.as_bytes()).expect("head");
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        let n = s
            .read(&mut byte)
            .expect("jkgate sends 100 Continue before the body");
        assert!(n == 1, "connection closed before 100 Continue: {interim:?}");
        interim.push(byte[0]);
    }
    assert_eq!(
        String::from_utf8_lossy(&interim),
        "HTTP/1.1 100 Continue\r\n\r\n"
    );
    s.write_all(&body).expect("body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let reply = parse_reply(&raw, false, true);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.kv().req("bodySha256"), sha256_hex(&body));

    // curl the same way.
    let file = jk.dir.join("expect.bin");
    std::fs::write(&file, &body).expect("write body file");
    let run = curl(&[
        "-v",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &format!("@{}", file.display()),
        &jk.url("/app/upload"),
    ]);
    assert!(
        run.stderr.contains("< HTTP/1.1 100 Continue"),
        "{}",
        run.stderr
    );
    assert_eq!(run.reply.status, 200);
    assert_eq!(run.reply.kv().req("bodySha256"), sha256_hex(&body));
}

#[test]
fn client_headers_never_become_ajp_attributes() {
    let node = main_node();
    let jk = Jkgate::start(
        "ghostcat",
        &workers(&["tc"], &[ajp13("tc", node.ajp_port(), &[])]),
        &["/app/*=tc"],
    );
    let spoofed: [(&str, &str); 11] = [
        ("javax.servlet.include.request_uri", "/WEB-INF/web.xml"),
        ("jakarta.servlet.include.request_uri", "/WEB-INF/web.xml"),
        ("jakarta.servlet.include.servlet_path", "/WEB-INF/web.xml"),
        ("AJP_REMOTE_PORT", "1"),
        ("AJP_LOCAL_ADDR", "10.9.9.9"),
        ("AJP_SSL_PROTOCOL", "TLSv1.3"),
        ("JK_LB_ACTIVATION", "DIS"),
        ("jakarta.servlet.request.cipher_suite", "NULL-SHA"),
        ("HTTPS", "on"),
        ("SSL_CLIENT_CERT", "-----BEGIN CERTIFICATE-----"),
        ("Cookie", "AJP_REMOTE_PORT=2; JK_LB_ACTIVATION=STP"),
    ];
    let probes = [
        "javax.servlet.include.request_uri",
        "jakarta.servlet.include.request_uri",
        "jakarta.servlet.include.servlet_path",
        "AJP_LOCAL_ADDR",
        "AJP_REMOTE_PORT",
        "HTTPS",
        "SSL_CLIENT_CERT",
    ];
    // The query names them too (it travels as one opaque attribute, 0x05).
    let mut target = String::from("/app/echo?AJP_REMOTE_PORT=3&JK_LB_ACTIVATION=DIS&");
    for probe in probes {
        let _ = write!(target, "attr={probe}&");
    }
    let mut s = connect(jk.port);
    let client_port = s.local_addr().expect("local addr").port();
    s.write_all(request_head(jk.port, "GET", &target, &spoofed, 0).as_bytes())
        .expect("request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let reply = parse_reply(&raw, false, true);
    // A non-whitelisted attribute would have made Tomcat answer 403.
    let kv = assert_echo_ok(&reply, "main");
    for probe in probes {
        assert_eq!(kv.attr(probe), None, "{probe} became an attribute");
    }
    for (name, value) in spoofed {
        assert_eq!(
            kv.header_values(name),
            [value],
            "{name} is an ordinary header"
        );
    }
    // The facts Tomcat has are jkgate's own.
    assert_eq!(kv.req("remotePort"), client_port.to_string());
    assert_eq!(kv.req("localAddr"), "127.0.0.1");
    assert_eq!(kv.attr("JK_LB_ACTIVATION"), Some("ACT"));
    assert_eq!(kv.req("scheme"), "http");
    assert_eq!(kv.req("secure"), "false");
    assert_eq!(kv.attr("jakarta.servlet.request.cipher_suite"), None);
    assert_eq!(
        kv.attr("org.apache.tomcat.util.net.secure_protocol_version"),
        None
    );
    // The include path did not make Tomcat serve web.xml.
    assert!(!reply.text().contains("<web-app"), "{}", reply.text());
}

// ---------------------------------------------------------------------------------------------
// Errors a user can act on.

#[test]
fn unreachable_member_is_503_and_reply_timeout_is_504_with_log_lines() {
    let node = main_node();
    let dead_port = free_port();
    let jk = Jkgate::start(
        "errors",
        &workers(
            &["tc", "down", "slow"],
            &[
                ajp13("tc", node.ajp_port(), &[]),
                ajp13("down", dead_port, &[]),
                ajp13("slow", node.ajp_port(), &[("reply_timeout", "500")]),
            ],
        ),
        &[
            "/app/*=tc",
            "/app/echo/down/*=down",
            "/app/echo/slow/*=slow",
        ],
    );

    let down = jk.request("GET", "/app/echo/down/x", &[], b"");
    assert_eq!(down.status_line, "HTTP/1.1 503 Service Unavailable");
    let log = jk.wait_log("the unreachable member", Duration::from_secs(5), |log| {
        log.lines()
            .any(|l| l.contains("request failed") && l.contains("worker=down"))
    });
    let line = log
        .lines()
        .find(|l| l.contains("request failed") && l.contains("worker=down"))
        .expect("log line");
    assert!(has_field(line, "member=down"), "{line}");
    for part in [
        "during connect",
        &format!("127.0.0.1:{dead_port}"),
        "refused",
    ] {
        assert!(line.contains(part), "missing {part:?} in {line}");
    }

    let started = Instant::now();
    let slow = jk.request("GET", "/app/echo/slow/x?sleep=2000", &[], b"");
    let took = started.elapsed();
    assert_eq!(slow.status_line, "HTTP/1.1 504 Gateway Timeout");
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_secs(4),
        "took {took:?}"
    );
    let log = jk.wait_log("the reply timeout", Duration::from_secs(5), |log| {
        log.lines()
            .any(|l| l.contains("request failed") && l.contains("worker=slow"))
    });
    let line = log
        .lines()
        .find(|l| l.contains("request failed") && l.contains("worker=slow"))
        .expect("log line");
    for part in [
        "member=slow",
        "reply-timeout",
        "await-headers",
        "reply_timeout",
    ] {
        assert!(line.contains(part), "missing {part:?} in {line}");
    }

    // Both workers recover as soon as their member answers.
    assert_echo_ok(&jk.request("GET", "/app/echo/slow/x", &[], b""), "main");
    assert_echo_ok(&jk.request("GET", "/app/echo", &[], b""), "main");
}
