//! Wire conformance against third-party tools:
//!
//! - Wireshark's AJP13 dissector (Debian's `tshark`) decodes a loopback capture of jkgate
//!   talking to a real Tomcat 10.1 (GET, HEAD, POST with a length, chunked POST, a 300 KB
//!   streamed response with flushes, `secret`, a `[env]` request attribute, CPING/CPONG,
//!   16 KiB packets) with no malformed packet and no expert error, and every message type
//!   the exchange uses shows up in the decode.
//! - testssl.sh (Debian's `testssl`) against jkgate's HTTPS listener, limited to protocols
//!   and cipher categories (`-p -s`): nothing below TLS 1.2, no NULL/anonymous/export/low/
//!   3DES/obsolete-CBC cipher (testssl 3.0 calls the last one `AVERAGE`).
//!
//! The capture is taken with `tshark -i lo` started by the test, which needs root (the test
//! suite runs as root here) or the capture capabilities on dumpcap.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

#[path = "support/reload.rs"]
mod reload;

#[path = "support/pki.rs"]
mod pki;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pki::TestPki;
use reload::ConfGate;
use tomcat::{TomcatNode, TomcatOptions, http_request, pattern_bytes, sha256_hex};

const SECRET: &str = "wire-s3cr3t";
const PACKET: u32 = 16384;

fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found, "{tool} is missing: install it (scripts/test does)");
}

/// A `tshark -i lo` capture of one TCP port into a pcapng file, stopped (SIGINT, so the
/// file is complete) by [`Capture::finish`] or when dropped.
struct Capture {
    child: Option<Child>,
    file: PathBuf,
    log: PathBuf,
}

impl Capture {
    fn start(dir: &Path, port: u16) -> Capture {
        let file = dir.join("ajp.pcapng");
        let log = dir.join("tshark.log");
        let child = Command::new("tshark")
            .args(["-i", "lo", "-f", &format!("tcp port {port}"), "-w"])
            .arg(&file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create tshark.log"))
            .spawn()
            .expect("start tshark");
        let capture = Capture {
            child: Some(child),
            file,
            log,
        };
        // tshark says `Capturing on 'Loopback: lo'` once the capture runs.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let said = std::fs::read_to_string(&capture.log).unwrap_or_default();
            if said.contains("Capturing on") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "tshark did not start capturing within 30 s:\n{said}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));
        capture
    }

    fn finish(&mut self) -> PathBuf {
        // Let the last packets reach the capture, then stop it cleanly.
        std::thread::sleep(Duration::from_millis(500));
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.file.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn tshark_read(file: &Path, port: u16, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-d", &format!("tcp.port=={port},ajp13")])
        .args(args)
        .output()
        .expect("run tshark -r");
    assert!(
        out.status.success(),
        "tshark -r {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn test_dir(tag: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("wire-conformance")
        .join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the test directory");
    dir
}

fn start_gate(label: &str, node: &TomcatNode, pki: &TestPki) -> ConfGate {
    let ajp_port = node.ajp_port();
    ConfGate::start(label, true, |g| {
        g.write("server.pem", &pki.a.cert_pem);
        g.write("server.key", &pki.a.key_pem);
        g.write(
            "workers.properties",
            format!(
                "worker.list=w\n\
                 worker.w.type=ajp13\n\
                 worker.w.host=127.0.0.1\n\
                 worker.w.port={ajp_port}\n\
                 worker.w.secret={SECRET}\n\
                 worker.w.max_packet_size={PACKET}\n\
                 worker.w.ping_mode=A\n"
            ),
        );
        g.write(
            "jkgate.ini",
            format!(
                "Listen = 127.0.0.1:{}\n\
                 JkWorkersFile = workers.properties\n\
                 JkLogLevel = info\n\
                 \n\
                 [tls]\n\
                 Listen = 127.0.0.1:{}\n\
                 Certificate = server.pem\n\
                 Key = server.key\n\
                 \n\
                 [mounts]\n\
                 /app/* = w\n\
                 \n\
                 [env]\n\
                 WIRE_SITE = blue\n",
                g.port,
                g.tls_port.expect("an HTTPS port")
            ),
        );
    })
}

fn tomcat_options() -> TomcatOptions {
    let mut options = TomcatOptions::with_route("wire");
    options.secret = Some(SECRET.to_owned());
    options.packet_size = Some(PACKET);
    options.allowed_request_attributes_pattern = Some("WIRE_.*".to_owned());
    options
}

/// Sends the exchange the capture must contain; checks each answer.
fn send_traffic(port: u16) {
    let get = http_request(port, "GET", "/app/echo?attr=WIRE_SITE", &[], b"").expect("GET");
    assert_eq!(get.status, 200, "GET: {}", get.text());
    assert_eq!(get.kv().attr("WIRE_SITE"), Some("blue"), "[env] attribute");

    let head = http_request(port, "HEAD", "/app/echo", &[], b"").expect("HEAD");
    assert_eq!(head.status, 200, "HEAD");

    // 40 KB: an unsolicited first body packet, then GET_BODY_CHUNKs, 16 KiB packets.
    let body = pattern_bytes(40_000);
    let post = http_request(port, "POST", "/app/echo", &[], &body).expect("POST");
    assert_eq!(post.status, 200, "POST: {}", post.text());
    assert_eq!(post.kv().req("bodySha256"), sha256_hex(&body));

    let mut chunked = Vec::new();
    let pieces = [&body[..10_000], &body[10_000..30_000], &body[30_000..]];
    for piece in pieces {
        chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let post = http_request(
        port,
        "POST",
        "/app/echo",
        &[("Transfer-Encoding", "chunked")],
        &chunked,
    )
    .expect("chunked POST");
    assert_eq!(post.status, 200, "chunked POST: {}", post.text());
    assert_eq!(post.kv().req("bodySha256"), sha256_hex(&body));

    let stream =
        http_request(port, "GET", "/app/echo?gen=307200&flush=32768", &[], b"").expect("stream");
    assert_eq!(stream.status, 200);
    assert_eq!(stream.body.len(), 307_200, "the streamed response");
    assert_eq!(stream.body, pattern_bytes(307_200));
}

/// AJP13 message codes as Wireshark's dissector names them in `ajp13.code`.
const FORWARD_REQUEST: u32 = 2;
const SEND_BODY_CHUNK: u32 = 3;
const SEND_HEADERS: u32 = 4;
const END_RESPONSE: u32 = 5;
const GET_BODY_CHUNK: u32 = 6;
const CPONG: u32 = 9;
const CPING: u32 = 10;

#[test]
fn wireshark_decodes_jkgate_and_tomcat_without_malformed_packets() {
    require("tshark");
    let dir = test_dir("tshark");
    let node = TomcatNode::start(tomcat_options());
    let pki = TestPki::generate();
    let ajp_port = node.ajp_port();
    let mut capture = Capture::start(&dir, ajp_port);
    let gate = start_gate("wire", &node, &pki);
    send_traffic(gate.port);
    let file = capture.finish();

    // Nothing malformed, no expert error.
    let bad = tshark_read(
        &file,
        ajp_port,
        &[
            "-Y",
            "_ws.malformed || _ws.expert.severity == error",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "_ws.col.Info",
        ],
    );
    let verbose = || tshark_read(&file, ajp_port, &["-V"]);
    assert!(
        bad.trim().is_empty(),
        "malformed packets or expert errors:\n{bad}\n--- decode (kept in {}) ---\n{}",
        dir.display(),
        verbose().chars().take(20_000).collect::<String>()
    );
    let expert = tshark_read(&file, ajp_port, &["-q", "-z", "expert,error"]);
    assert!(!expert.contains("Error"), "expert errors:\n{expert}");

    // Every message type the exchange uses was decoded as AJP13.
    let fields = tshark_read(
        &file,
        ajp_port,
        &[
            "-Y",
            "ajp13",
            "-T",
            "fields",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
            "-e",
            "tcp.dstport",
            "-e",
            "ajp13.code",
            "-e",
            "ajp13.method",
            "-e",
            "ajp13.len",
            "-e",
            "ajp13.secret",
            "-e",
            "ajp13.req_attribute",
            "-e",
            "ajp13.data",
        ],
    );
    let rows: Vec<Vec<&str>> = fields.lines().map(|l| l.split('\t').collect()).collect();
    let col = |row: &Vec<&str>, i: usize| row.get(i).copied().unwrap_or("").to_owned();
    let codes = |row: &Vec<&str>| -> Vec<u32> {
        col(row, 1)
            .split(',')
            .filter_map(|c| c.trim().parse().ok())
            .collect()
    };
    let to_tomcat = |row: &Vec<&str>| col(row, 0).split(',').any(|p| p == ajp_port.to_string());
    let has = |code: u32| rows.iter().any(|r| codes(r).contains(&code));
    let summary = || {
        format!(
            "{} AJP13 rows; decode kept in {}:\n{}",
            rows.len(),
            dir.display(),
            fields.chars().take(6000).collect::<String>()
        )
    };
    for (code, name) in [
        (FORWARD_REQUEST, "FORWARD_REQUEST"),
        (SEND_BODY_CHUNK, "SEND_BODY_CHUNK"),
        (SEND_HEADERS, "SEND_HEADERS"),
        (END_RESPONSE, "END_RESPONSE"),
        (GET_BODY_CHUNK, "GET_BODY_CHUNK"),
        (CPING, "CPING"),
        (CPONG, "CPONG"),
    ] {
        assert!(has(code), "no {name} decoded; {}", summary());
    }
    // Methods GET (2), HEAD (3), POST (4) on FORWARD_REQUESTs, each with the secret.
    let forwards: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|r| codes(r).contains(&FORWARD_REQUEST))
        .collect();
    for (method, name) in [("2", "GET"), ("3", "HEAD"), ("4", "POST")] {
        assert!(
            forwards
                .iter()
                .any(|r| col(r, 2).split(',').any(|m| m == method)),
            "no {name} FORWARD_REQUEST; {}",
            summary()
        );
    }
    assert!(
        forwards.iter().all(|r| col(r, 4).contains(SECRET)),
        "a FORWARD_REQUEST without the secret; {}",
        summary()
    );
    assert!(
        forwards.iter().any(|r| col(r, 5).contains("WIRE_SITE")),
        "no req_attribute WIRE_SITE; {}",
        summary()
    );
    // Request body packets (jkgate → Tomcat, no code) and 16 KiB packets both ways.
    let lengths = |pred: &dyn Fn(&Vec<&str>) -> bool| -> u32 {
        rows.iter()
            .filter(|r| pred(r))
            .flat_map(|r| {
                col(r, 3)
                    .split(',')
                    .filter_map(|l| l.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .max()
            .unwrap_or(0)
    };
    assert!(
        rows.iter().any(|r| to_tomcat(r) && !col(r, 6).is_empty()),
        "no request body packet decoded; {}",
        summary()
    );
    let max_to_tomcat = lengths(&|r| to_tomcat(r));
    let max_from_tomcat = lengths(&|r| !to_tomcat(r));
    assert!(
        max_to_tomcat > 8192 && max_to_tomcat <= PACKET - 4,
        "request packets up to {max_to_tomcat} bytes: 16 KiB packets not used; {}",
        summary()
    );
    assert!(
        max_from_tomcat > 16_000 && max_from_tomcat <= PACKET - 4,
        "response packets up to {max_from_tomcat} bytes: 16 KiB packets not used; {}",
        summary()
    );
    eprintln!(
        "tshark decoded {} AJP13 messages: largest to Tomcat {max_to_tomcat} B, from Tomcat {max_from_tomcat} B",
        rows.len()
    );
    drop(gate);
    let _ = std::fs::remove_dir_all(&dir);
}

/// testssl.sh's JSON findings: (id, severity, finding).
fn testssl_findings(json: &str) -> Vec<(String, String, String)> {
    // The file is a JSON array of flat objects with string values; read the three fields
    // of each object without a JSON dependency.
    let field = |object: &str, key: &str| -> String {
        let needle = format!("\"{key}\"");
        object
            .find(&needle)
            .and_then(|at| {
                let rest = &object[at + needle.len()..];
                let start = rest.find('"')? + 1;
                let end = rest[start..].find('"')? + start;
                Some(rest[start..end].to_owned())
            })
            .unwrap_or_default()
    };
    json.split('}')
        .filter(|o| o.contains("\"id\""))
        .map(|o| (field(o, "id"), field(o, "severity"), field(o, "finding")))
        .collect()
}

#[test]
fn testssl_finds_no_old_protocol_and_no_weak_cipher() {
    require("testssl");
    let dir = test_dir("testssl");
    let node = TomcatNode::start(tomcat_options());
    let pki = TestPki::generate();
    let gate = start_gate("testssl", &node, &pki);
    let tls_port = gate.tls_port.expect("an HTTPS port");
    let json = dir.join("testssl.json");
    let started = Instant::now();
    let out = Command::new("testssl")
        .args(["--quiet", "--color", "0", "--warnings", "off", "-p", "-s"])
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("https://127.0.0.1:{tls_port}"))
        .output()
        .expect("run testssl");
    let took = started.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let findings = testssl_findings(
        &std::fs::read_to_string(&json)
            .unwrap_or_else(|e| panic!("testssl wrote no {}: {e}\n{text}", json.display())),
    );
    let finding = |id: &str| -> &str {
        findings
            .iter()
            .find(|(i, _, _)| i == id)
            .map(|(_, _, f)| f.as_str())
            .unwrap_or_else(|| panic!("testssl reported no {id}:\n{text}"))
    };
    eprintln!("testssl -p -s took {took:?}:\n{text}");
    for old in ["SSLv2", "SSLv3", "TLS1", "TLS1_1"] {
        assert!(
            finding(old).starts_with("not offered"),
            "{old}: {}\n{text}",
            finding(old)
        );
    }
    assert!(finding("TLS1_2").starts_with("offered"), "TLS 1.2\n{text}");
    assert!(finding("TLS1_3").starts_with("offered"), "TLS 1.3\n{text}");
    for weak in [
        "cipherlist_NULL",
        "cipherlist_aNULL",
        "cipherlist_EXPORT",
        "cipherlist_LOW",
        "cipherlist_3DES_IDEA",
        "cipherlist_AVERAGE",
    ] {
        assert!(
            finding(weak).starts_with("not offered"),
            "{weak}: {}\n{text}",
            finding(weak)
        );
    }
    let severe: Vec<_> = findings
        .iter()
        .filter(|(_, s, _)| s == "HIGH" || s == "CRITICAL")
        .collect();
    assert!(severe.is_empty(), "testssl: {severe:?}\n{text}");
    drop(gate);
    let _ = std::fs::remove_dir_all(&dir);
}
