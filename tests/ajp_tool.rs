//! `jkgate ajp request|ping|probe|fuzz|replay` against real Tomcat 10.1, and `probe`
//! compared with what nmap's `ajp-headers`, `ajp-methods` and `ajp-request` scripts
//! report on the same connectors.
#![cfg(feature = "interop")]

#[path = "support/process.rs"]
mod process;
#[path = "support/tomcat.rs"]
mod tomcat;

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use process::TestDir;
use tomcat::{KvReply, TomcatNode, TomcatOptions};

/// What one run of the binary left.
struct Ran {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Ran {
    fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs `jkgate ARGS` with `stdin` (or nothing) on standard input, its output in files,
/// killed after `limit`.
fn jkgate(dir: &Path, label: &str, args: &[&str], stdin: Option<&Path>, limit: Duration) -> Ran {
    let out = dir.join(format!("{label}.stdout"));
    let err = dir.join(format!("{label}.stderr"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_jkgate"));
    command
        .args(args)
        .env_remove("JKGATE_AJP_SECRET")
        .stdout(fs::File::create(&out).unwrap())
        .stderr(fs::File::create(&err).unwrap())
        .stdin(match stdin {
            Some(path) => Stdio::from(fs::File::open(path).unwrap()),
            None => Stdio::null(),
        });
    let mut child = command.spawn().expect("jkgate starts");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "jkgate {args:?} still runs after {limit:?}:\n{}",
                fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code().unwrap_or(-1),
        stdout: fs::read(&out).unwrap_or_default(),
        stderr: fs::read_to_string(&err).unwrap_or_default(),
    }
}

fn ok(ran: Ran, what: &str) -> Ran {
    assert_eq!(
        ran.code,
        0,
        "{what}: exit {}\n{}\n{}",
        ran.code,
        ran.out(),
        ran.stderr
    );
    ran
}

/// The body after `-i`'s head.
fn split_head(stdout: &[u8]) -> (String, Vec<u8>) {
    let at = stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head ending in an empty line");
    (
        String::from_utf8_lossy(&stdout[..at]).into_owned(),
        stdout[at + 4..].to_vec(),
    )
}

#[test]
fn request_ping_fuzz_and_replay_on_tomcat() {
    let node = TomcatNode::start(TomcatOptions::with_route("ajptool"));
    let dir = TestDir::new("ajptool");
    let port = node.ajp_port();
    let base = format!("ajp://127.0.0.1:{port}");
    let limit = Duration::from_secs(60);

    // GET with a query, a header and the request attributes Tomcat knows; -i prints the
    // head, -v every packet on standard error.
    let ran = ok(
        jkgate(
            &dir.path,
            "get",
            &[
                "ajp",
                "request",
                "-i",
                "-v",
                &format!("{base}/app/echo?x=1&y=%41"),
                "-H",
                "X-Test: hello",
                "-a",
                "AJP_REMOTE_PORT=4242",
                "-a",
                "JK_LB_ACTIVATION=ACT",
            ],
            None,
            limit,
        ),
        "GET",
    );
    let (head, body) = split_head(&ran.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("Content-Type: text/plain"), "{head}");
    let kv = KvReply::parse(&body);
    assert_eq!(kv.req("method"), "GET");
    assert_eq!(kv.req("requestURI"), "/app/echo");
    assert_eq!(kv.req("queryString"), "x=1&y=%41");
    assert_eq!(kv.req("remotePort"), "4242");
    assert_eq!(kv.attr("JK_LB_ACTIVATION"), Some("ACT"));
    assert_eq!(kv.header_values("X-Test"), vec!["hello"]);
    for line in [
        "> FORWARD_REQUEST",
        "method 0x02 GET /app/echo HTTP/1.1",
        ">   X-Test: hello",
        ">   attribute query_string=x=1&y=%41",
        ">   attribute req_attribute AJP_REMOTE_PORT=4242",
        "< SEND_HEADERS 200",
        "< SEND_BODY_CHUNK",
        "< END_RESPONSE reuse=yes",
    ] {
        assert!(
            ran.stderr.contains(line),
            "-v lacks {line:?}:\n{}",
            ran.stderr
        );
    }

    // A 100 KiB body from a file: Content-Length, the first packet unsolicited, the rest
    // in answer to GET_BODY_CHUNK.
    let upload = dir.path.join("upload.bin");
    let data = tomcat::pattern_bytes(102_400);
    fs::write(&upload, &data).unwrap();
    let ran = ok(
        jkgate(
            &dir.path,
            "post-file",
            &[
                "ajp",
                "request",
                "-v",
                &format!("{base}/app/echo"),
                "-d",
                &format!("@{}", upload.display()),
            ],
            None,
            limit,
        ),
        "POST @file",
    );
    let kv = KvReply::parse(&ran.stdout);
    assert_eq!(kv.req("method"), "POST");
    assert_eq!(kv.req("contentLength"), "102400");
    assert_eq!(kv.req("bodyLength"), "102400");
    assert_eq!(kv.req("bodySha256"), tomcat::sha256_hex(&data));
    assert!(ran.stderr.contains("< GET_BODY_CHUNK"), "{}", ran.stderr);
    assert!(ran.stderr.contains("> BODY 8186 bytes"), "{}", ran.stderr);

    // Standard input, streamed without a Content-Length, with another method.
    let piped = dir.path.join("piped.bin");
    let data = tomcat::pattern_bytes(20_000);
    fs::write(&piped, &data).unwrap();
    let ran = ok(
        jkgate(
            &dir.path,
            "put-stdin",
            &[
                "ajp",
                "request",
                "-X",
                "PATCH",
                &format!("{base}/app/echo"),
                "-d",
                "@-",
                "-H",
                "Content-Type: application/octet-stream",
            ],
            Some(&piped),
            limit,
        ),
        "PATCH @-",
    );
    let kv = KvReply::parse(&ran.stdout);
    assert_eq!(kv.req("method"), "PATCH");
    assert_eq!(kv.req("contentType"), "application/octet-stream");
    assert_eq!(kv.req("bodyLength"), "20000");
    assert_eq!(kv.req("bodySha256"), tomcat::sha256_hex(&data));

    // A larger packet size than the connector's is still a valid request when it fits.
    let ran = ok(
        jkgate(
            &dir.path,
            "static",
            &[
                "ajp",
                "request",
                "--packet-size",
                "8192",
                &format!("{base}/app/static/100k.bin"),
            ],
            None,
            limit,
        ),
        "static",
    );
    assert_eq!(ran.stdout, tomcat::pattern_bytes(102_400));

    // ping: three CPINGs, timed, with ping's summary.
    let ran = ok(
        jkgate(
            &dir.path,
            "ping",
            &["ajp", "ping", "-c", "3", "-i", "0.2", &base],
            None,
            limit,
        ),
        "ping",
    );
    let out = ran.out();
    assert_eq!(out.matches("CPONG from 127.0.0.1").count(), 3, "{out}");
    assert!(
        out.contains("3 CPINGs sent, 3 CPONGs received, 0% loss"),
        "{out}"
    );
    assert!(out.contains("rtt min/avg/max/mdev = "), "{out}");

    // fuzz: a bounded, seeded run; the container must still answer afterwards.
    let findings = dir.path.join("findings");
    let ran = jkgate(
        &dir.path,
        "fuzz",
        &[
            "ajp",
            "fuzz",
            &format!("{base}/app/echo"),
            "--count",
            "400",
            "--seed",
            "7",
            "--timeout",
            "10",
            "--out",
            findings.to_str().unwrap(),
        ],
        None,
        Duration::from_secs(600),
    );
    let out = ran.out();
    assert!(
        ran.code == 0 || ran.code == 1,
        "fuzz exit {}: {out}\n{}",
        ran.code,
        ran.stderr
    );
    assert!(out.contains("with seed 7"), "{out}");
    assert!(out.contains("done: 400 conversations"), "{out}");
    let files: Vec<PathBuf> = fs::read_dir(&findings)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        ran.code == 1,
        !files.is_empty() || out.contains("finding:"),
        "{out}"
    );
    eprintln!("{out}");
    tomcat::ajp_cping(port, Duration::from_secs(5))
        .expect("Tomcat answers CPING after the fuzz run");

    // --seed: two runs of the same seed against the same URL send the same conversations
    // and write the same reproducers, byte for byte.
    let runs: Vec<Vec<(String, String)>> = (0..2)
        .map(|round| {
            let out = dir.path.join(format!("seeded{round}"));
            let ran = jkgate(
                &dir.path,
                "seeded",
                &[
                    "ajp",
                    "fuzz",
                    &format!("{base}/app/echo"),
                    "--count",
                    "60",
                    "--seed",
                    "11",
                    "--concurrency",
                    "1",
                    "--keep",
                    "100",
                    "--out",
                    out.to_str().unwrap(),
                ],
                None,
                Duration::from_secs(300),
            );
            assert!(
                ran.code == 0 || ran.code == 1,
                "{}\n{}",
                ran.out(),
                ran.stderr
            );
            let mut files: Vec<(String, String)> = fs::read_dir(&out)
                .unwrap()
                .map(|e| {
                    let path = e.unwrap().path();
                    let name = path.file_name().unwrap().to_string_lossy().into_owned();
                    (name, fs::read_to_string(&path).unwrap())
                })
                .collect();
            files.sort();
            files
        })
        .collect();
    assert!(
        !runs[0].is_empty(),
        "60 conversations found nothing to compare"
    );
    // The same seed sends the same conversations: a conversation both runs kept is written
    // byte for byte the same. Which conversations make findings may differ between the runs
    // (a split write can meet a busy Tomcat at a different moment), so only those in both are
    // compared, and there must be some.
    let both: Vec<_> = runs[0]
        .iter()
        .filter_map(|(name, text)| {
            runs[1]
                .iter()
                .find(|(other, _)| other == name)
                .map(|(_, again)| (name, text, again))
        })
        .collect();
    assert!(
        !both.is_empty(),
        "the two runs with the same seed kept no conversation in common"
    );
    for (name, text, again) in both {
        assert_eq!(text, again, "the same seed wrote {name} differently");
    }

    // Every reproducer the run wrote replays (whether the finding comes back is printed).
    for file in &files {
        let ran = jkgate(
            &dir.path,
            "replay-finding",
            &["ajp", "replay", file.to_str().unwrap()],
            None,
            limit,
        );
        assert!(
            ran.code == 0 || ran.code == 1,
            "{}: {}\n{}",
            file.display(),
            ran.out(),
            ran.stderr
        );
        assert!(ran.out().contains("recorded: "), "{}", ran.out());
    }

    // replay: a hand-written conversation, a CPING and a GET cut in three writes with a
    // pause: no finding recorded, none now (exit 0), every packet decoded on stderr.
    let mut request = Vec::new();
    request.extend_from_slice(&cping_frame());
    request.extend_from_slice(&get_frame("/app/echo"));
    let (a, rest) = request.split_at(3);
    let (b, c) = rest.split_at(20);
    let file = dir.path.join("hand.ajp");
    fs::write(
        &file,
        format!(
            "# by hand\nformat 1\ntarget 127.0.0.1:{port}\nwrite {}\npause-ms 30\nwrite {}\nwrite {}\n",
            hex(a),
            hex(b),
            hex(c)
        ),
    )
    .unwrap();
    let ran = ok(
        jkgate(
            &dir.path,
            "replay",
            &["ajp", "replay", file.to_str().unwrap()],
            None,
            limit,
        ),
        "replay",
    );
    let out = ran.out();
    assert!(out.contains("owes 2 answer(s)"), "{out}");
    assert!(
        out.contains("outcome: statuses [200], 2 answer(s), everything owed arrived"),
        "{out}"
    );
    assert!(out.contains("recorded: none; reproduced"), "{out}");
    assert!(
        ran.stderr.contains("< CPONG") && ran.stderr.contains("< SEND_HEADERS 200"),
        "{}",
        ran.stderr
    );
    // The same file claiming a hang: not reproduced, exit 1; the URL argument wins over
    // the file's target.
    fs::write(
        &file,
        fs::read_to_string(&file).unwrap() + "finding hang claimed by hand\n",
    )
    .unwrap();
    let ran = jkgate(
        &dir.path,
        "replay-claim",
        &["ajp", "replay", file.to_str().unwrap(), &base],
        None,
        limit,
    );
    assert_eq!(ran.code, 1, "{}\n{}", ran.out(), ran.stderr);
    assert!(
        ran.out().contains("recorded: hang; NOT reproduced"),
        "{}",
        ran.out()
    );
}

#[test]
fn exit_codes_follow_curl() {
    let dir = TestDir::new("ajpexit");
    let limit = Duration::from_secs(60);
    // Refused: a port nobody listens on.
    let closed = tomcat::free_port();
    let ran = jkgate(
        &dir.path,
        "refused",
        &["ajp", "request", &format!("ajp://127.0.0.1:{closed}/")],
        None,
        limit,
    );
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    let ran = jkgate(
        &dir.path,
        "ping-refused",
        &[
            "ajp",
            "ping",
            "-c",
            "1",
            &format!("ajp://127.0.0.1:{closed}/"),
        ],
        None,
        limit,
    );
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    // Timeout: a listener that never answers (the kernel completes the handshake).
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let ran = jkgate(
        &dir.path,
        "timeout",
        &[
            "ajp",
            "request",
            "--timeout",
            "1",
            &format!("ajp://127.0.0.1:{silent_port}/"),
        ],
        None,
        limit,
    );
    assert_eq!(ran.code, 28, "{}", ran.stderr);
    // Weird reply: an HTTP server on the AJP port.
    let http = TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = http.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = http.accept().unwrap();
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::thread::sleep(Duration::from_millis(500));
    });
    let ran = jkgate(
        &dir.path,
        "weird",
        &["ajp", "request", &format!("ajp://127.0.0.1:{http_port}/")],
        None,
        limit,
    );
    assert_eq!(ran.code, 8, "{}", ran.stderr);
    server.join().unwrap();
    // Closed without an answer.
    let closer = TcpListener::bind("127.0.0.1:0").unwrap();
    let closer_port = closer.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = closer.accept().unwrap();
        // Read the request first: closing with unread bytes would be a reset (56).
        let mut request = [0u8; 4096];
        let _ = std::io::Read::read(&mut conn, &mut request);
        std::thread::sleep(Duration::from_millis(100));
        drop(conn);
    });
    let ran = jkgate(
        &dir.path,
        "nothing",
        &["ajp", "request", &format!("ajp://127.0.0.1:{closer_port}/")],
        None,
        limit,
    );
    assert_eq!(ran.code, 52, "{}", ran.stderr);
    server.join().unwrap();
    // The URL and the options.
    for (args, code) in [
        (vec!["ajp", "request", "http://127.0.0.1/"], 1),
        (vec!["ajp", "request", "ajp://127.0.0.1:0/"], 3),
        (
            vec!["ajp", "request", "ajp://127.0.0.1:1/", "-H", "nocolon"],
            2,
        ),
        (
            vec![
                "ajp",
                "request",
                "ajp://127.0.0.1:1/",
                "-d",
                "@/nonexistent/file",
            ],
            26,
        ),
        (vec!["ajp", "request", "ajp://host.invalid/"], 6),
        // fuzz refuses a non-loopback target before sending anything.
        (vec!["ajp", "fuzz", "ajp://192.0.2.1:8009/"], 2),
        (
            vec!["ajp", "replay", "/nonexistent.ajp", "ajp://127.0.0.1:1/"],
            2,
        ),
    ] {
        let ran = jkgate(&dir.path, "args", &args, None, limit);
        assert_eq!(ran.code, code, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.starts_with("jkgate ajp: "),
            "{args:?}: {}",
            ran.stderr
        );
    }
}

/// `nmap -Pn -n -p PORT --script +SCRIPT --script-args ARGS 127.0.0.1` (the `+` runs
/// the script although the port is not 8009); its output.
fn nmap(port: u16, script: &str, args: &str) -> String {
    let output = Command::new("nmap")
        .args([
            "-Pn",
            "-n",
            "-p",
            &port.to_string(),
            "--script",
            &format!("+{script}"),
            "--script-args",
            args,
            "127.0.0.1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("nmap does not run (is it installed?): {e}"));
    assert!(
        output.status.success(),
        "nmap failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The `| ` lines of one script's output, without the prefixes.
fn script_lines(nmap_out: &str, script: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in nmap_out.lines() {
        if line.starts_with(&format!("| {script}:")) || line.starts_with(&format!("|_{script}:")) {
            inside = true;
            let rest = line.split_once(':').map(|(_, r)| r.trim()).unwrap_or("");
            if !rest.is_empty() {
                lines.push(rest.to_owned());
            }
            if line.starts_with("|_") {
                break;
            }
            continue;
        }
        if inside {
            if let Some(rest) = line.strip_prefix("|_") {
                lines.push(rest.trim().to_owned());
                break;
            }
            if let Some(rest) = line.strip_prefix("|") {
                lines.push(rest.trim().to_owned());
            }
        }
    }
    lines
}

/// The value of `key: ` in the probe report.
fn field<'a>(report: &'a str, key: &str) -> &'a str {
    report
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no `{key}` in the probe report:\n{report}"))
}

fn methods_of(list: &str) -> Vec<String> {
    let mut methods: Vec<String> = list
        .split([',', ' '])
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .collect();
    methods.sort();
    methods
}

#[test]
fn probe_on_three_connectors_agrees_with_nmap() {
    let mut open = TomcatOptions::with_route("open");
    open.packet_size = Some(16_384);
    let mut locked = TomcatOptions::with_route("locked");
    locked.secret = Some("s3cr3t".into());
    let mut any = TomcatOptions::with_route("anyattr");
    any.allowed_request_attributes_pattern = Some(".*".into());
    let nodes: Vec<TomcatNode> = std::thread::scope(|scope| {
        let handles: Vec<_> = [open, locked, any]
            .into_iter()
            .map(|options| scope.spawn(move || TomcatNode::start(options)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("Tomcat starts"))
            .collect()
    });
    let dir = TestDir::new("ajpprobe");
    let limit = Duration::from_secs(120);
    let probe = |node: &TomcatNode, secret: Option<&str>| {
        let url = format!("ajp://127.0.0.1:{}/app/", node.ajp_port());
        let mut args = vec!["ajp", "probe", url.as_str()];
        if let Some(secret) = secret {
            args.extend(["--secret", secret]);
        }
        let ran = ok(jkgate(&dir.path, node.route(), &args, None, limit), "probe");
        eprintln!("--- probe {} ---\n{}", node.route(), ran.out());
        ran.out()
    };

    // secretRequired="false", no pattern, packetSize 16384.
    let open = &nodes[0];
    let report = probe(open, None);
    assert!(
        field(&report, "cping").starts_with("answered in "),
        "{report}"
    );
    assert!(
        field(&report, "probe path").ends_with("(answered 404)"),
        "{report}"
    );
    assert!(
        field(&report, "secret required").starts_with("no (answered 404"),
        "{report}"
    );
    assert!(
        field(&report, "wrong secret refused").starts_with("no (answered 404"),
        "{report}"
    );
    assert!(
        field(&report, "request attributes").starts_with("allow-list only"),
        "{report}"
    );
    assert_eq!(
        field(&report, "javax.servlet.include.* attributes"),
        "refused (403)"
    );
    assert_eq!(
        field(&report, "jakarta.servlet.include.* attributes"),
        "refused (403)"
    );
    assert_eq!(
        field(&report, "largest packet accepted"),
        "16384 bytes (16385 refused)"
    );
    assert_eq!(field(&report, "method codes decoded"), "27 of 27");
    // Tomcat 10.1 looks method code 28 up in its table and fails with a 500.
    assert_eq!(field(&report, "undefined method code 28"), "500");
    // nmap's ajp-methods reads the same OPTIONS answer.
    let allow = field(&report, "OPTIONS 200, Allow").to_owned();
    let nmap_methods = script_lines(
        &nmap(open.ajp_port(), "ajp-methods", "ajp-methods.path=/app/"),
        "ajp-methods",
    );
    let supported = nmap_methods
        .iter()
        .find_map(|l| l.strip_prefix("Supported methods: "))
        .unwrap_or_else(|| panic!("nmap ajp-methods: {nmap_methods:?}"));
    assert_eq!(
        methods_of(supported),
        methods_of(&allow),
        "nmap {nmap_methods:?} vs probe {allow}"
    );

    // ajp-headers and ajp-request against `jkgate ajp request` on the same paths.
    let headers_out = nmap(
        open.ajp_port(),
        "ajp-headers",
        "ajp-headers.path=/app/static/1k.bin",
    );
    let nmap_headers = script_lines(&headers_out, "ajp-headers");
    let ran = ok(
        jkgate(
            &dir.path,
            "headers",
            &[
                "ajp",
                "request",
                "-i",
                &format!("ajp://127.0.0.1:{}/app/static/1k.bin", open.ajp_port()),
            ],
            None,
            limit,
        ),
        "request 1k",
    );
    let (head, _) = split_head(&ran.stdout);
    for wanted in ["Content-Length: 1024", "ETag: ", "Last-Modified: "] {
        let ours = head
            .lines()
            .find(|l| l.starts_with(wanted))
            .unwrap_or_else(|| panic!("{wanted} in {head}"));
        let theirs = nmap_headers
            .iter()
            .find(|l| l.starts_with(wanted))
            .unwrap_or_else(|| panic!("{wanted} in nmap's {nmap_headers:?}"));
        assert_eq!(ours, theirs, "ajp-headers vs jkgate ajp request -i");
    }
    // ajp-request and `jkgate ajp request -i` on a page with a session: same status, same
    // body lines.
    let request_out = nmap(
        open.ajp_port(),
        "ajp-request",
        "ajp-request.path=/app/session",
    );
    let nmap_request = script_lines(&request_out, "ajp-request");
    assert_eq!(
        nmap_request.first().map(String::as_str),
        Some("AJP/1.3 200 200"),
        "{request_out}"
    );
    assert!(
        nmap_request.iter().any(|l| l == "node=open"),
        "{request_out}"
    );
    let ran = ok(
        jkgate(
            &dir.path,
            "session",
            &[
                "ajp",
                "request",
                "-i",
                &format!("ajp://127.0.0.1:{}/app/session", open.ajp_port()),
            ],
            None,
            limit,
        ),
        "request session",
    );
    let (head, body) = split_head(&ran.stdout);
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    let ours = KvReply::parse(&body);
    assert_eq!(ours.req("node"), "open");
    assert_eq!(ours.req("isNew"), "true");
    // A GET the servlet reads a body for (no Content-Length: Tomcat sends GET_BODY_CHUNK):
    // nmap's AJP library does not answer GET_BODY_CHUNK and gives up (its error shows
    // only with -d: the script prints nothing), jkgate answers it.
    let request_out = nmap(open.ajp_port(), "ajp-request", "ajp-request.path=/app/echo");
    assert!(
        script_lines(&request_out, "ajp-request").is_empty(),
        "{request_out}"
    );
    let ran = ok(
        jkgate(
            &dir.path,
            "echo",
            &[
                "ajp",
                "request",
                "-v",
                &format!("ajp://127.0.0.1:{}/app/echo", open.ajp_port()),
            ],
            None,
            limit,
        ),
        "request echo",
    );
    assert_eq!(KvReply::parse(&ran.stdout).req("requestURI"), "/app/echo");
    assert!(ran.stderr.contains("< GET_BODY_CHUNK"), "{}", ran.stderr);

    // secretRequired="true": without the secret Tomcat answers 403, and nmap (which has no
    // secret) gets that 403 too.
    let locked = &nodes[1];
    let report = probe(locked, None);
    assert!(
        field(&report, "secret required").starts_with("yes (403 without a secret"),
        "{report}"
    );
    assert_eq!(
        field(&report, "request attributes").split(' ').next(),
        Some("unknown")
    );
    let report = probe(locked, Some("s3cr3t"));
    assert_eq!(
        field(&report, "secret required"),
        "yes (403 without it; the given secret is accepted)"
    );
    assert_eq!(field(&report, "wrong secret refused"), "yes (403)");
    assert!(
        field(&report, "request attributes").starts_with("allow-list only"),
        "{report}"
    );
    assert_eq!(
        field(&report, "largest packet accepted"),
        "8192 bytes (8193 refused)"
    );
    let request_out = nmap(
        locked.ajp_port(),
        "ajp-request",
        "ajp-request.path=/app/session",
    );
    let nmap_request = script_lines(&request_out, "ajp-request");
    assert_eq!(
        nmap_request.first().map(String::as_str),
        Some("AJP/1.3 403 403"),
        "{request_out}"
    );
    let methods_out = nmap(locked.ajp_port(), "ajp-methods", "ajp-methods.path=/app/");
    assert!(
        script_lines(&methods_out, "ajp-methods")
            .iter()
            .any(|l| l.contains("Failed to get a valid response")),
        "{methods_out}"
    );

    // allowedRequestAttributesPattern=".*": any name goes, and Tomcat 10.1 honours the
    // jakarta include attributes (the Ghostcat shape), not the javax ones.
    let any = &nodes[2];
    let report = probe(any, None);
    assert!(
        field(&report, "request attributes").starts_with("any"),
        "{report}"
    );
    assert!(
        field(&report, "jakarta.servlet.include.* attributes").starts_with("HONOURED"),
        "{report}"
    );
    assert!(
        field(&report, "javax.servlet.include.* attributes")
            .starts_with("accepted but not honoured"),
        "{report}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn cping_frame() -> Vec<u8> {
    vec![0x12, 0x34, 0x00, 0x01, 0x0A]
}

/// A GET FORWARD_REQUEST for `uri` encoded by the crate's codec, Host set.
fn get_frame(uri: &str) -> Vec<u8> {
    use bytes::{Bytes, BytesMut};
    use jkgate::ajp::{ForwardRequest, PacketSize, encode_forward_request};
    let mut request = ForwardRequest {
        req_uri: Some(Bytes::copy_from_slice(uri.as_bytes())),
        remote_addr: Some(Bytes::from_static(b"127.0.0.1")),
        server_name: Some(Bytes::from_static(b"localhost")),
        ..ForwardRequest::default()
    };
    request.push_header(
        Bytes::from_static(b"Host"),
        Bytes::from_static(b"localhost"),
    );
    request.push_header(
        Bytes::from_static(b"Content-Length"),
        Bytes::from_static(b"0"),
    );
    let mut out = BytesMut::new();
    encode_forward_request(&request, PacketSize::DEFAULT, &mut out).unwrap();
    out.to_vec()
}

/// A listener whose every connection is handled by `script` on its own thread.
fn fake_container(script: fn(std::net::TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || script(conn));
        }
    });
    port
}

/// Reads what arrives for a while, so a close is not a reset by accident.
fn drain(conn: &mut std::net::TcpStream, wait: Duration) {
    let _ = conn.set_read_timeout(Some(wait));
    let mut buf = [0u8; 4096];
    while let Ok(n) = std::io::Read::read(conn, &mut buf) {
        if n == 0 {
            break;
        }
    }
}

#[test]
fn replay_judges_hangs_resets_and_a_lost_cping() {
    let dir = TestDir::new("ajpjudge");
    let limit = Duration::from_secs(60);
    let whole_get = hex(&get_frame("/app/echo"));
    let reproducer = |name: &str, kind: &str, writes: &str| {
        let file = dir.path.join(name);
        fs::write(
            &file,
            format!("format 1\nfinding {kind} claimed\ntimeout-ms 1000\n{writes}"),
        )
        .unwrap();
        file
    };
    // A container that reads a whole request and never answers: a hang.
    let silent = fake_container(|mut conn| {
        drain(&mut conn, Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(5));
    });
    let file = reproducer("hang.ajp", "hang", &format!("write {whole_get}\n"));
    let ran = jkgate(
        &dir.path,
        "hang",
        &[
            "ajp",
            "replay",
            file.to_str().unwrap(),
            &format!("ajp://127.0.0.1:{silent}"),
        ],
        None,
        limit,
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.out(), ran.stderr);
    assert!(
        ran.out().contains("finding: hang no answer within 1s"),
        "{}",
        ran.out()
    );
    // One that resets the connection instead of answering.
    let resetting = fake_container(|mut conn| {
        let mut buf = [0u8; 16];
        let _ = std::io::Read::read(&mut conn, &mut buf);
        socket2::SockRef::from(&conn)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(conn);
    });
    let file = reproducer("reset.ajp", "reset", &format!("write {whole_get}\n"));
    let ran = jkgate(
        &dir.path,
        "reset",
        &[
            "ajp",
            "replay",
            file.to_str().unwrap(),
            &format!("ajp://127.0.0.1:{resetting}"),
        ],
        None,
        limit,
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.out(), ran.stderr);
    assert!(
        ran.out()
            .contains("finding: reset reset after 0 of 1 answers"),
        "{}",
        ran.out()
    );
    // Half a packet owes nothing; the silent container then fails the CPING check.
    let file = reproducer("cping.ajp", "cping-lost", "write 123400\n");
    let ran = jkgate(
        &dir.path,
        "cping",
        &[
            "ajp",
            "replay",
            file.to_str().unwrap(),
            &format!("ajp://127.0.0.1:{silent}"),
        ],
        None,
        limit,
    );
    assert_eq!(ran.code, 0, "{}\n{}", ran.out(), ran.stderr);
    assert!(
        ran.out()
            .contains("finding: cping-lost no CPONG on a new connection"),
        "{}",
        ran.out()
    );
}
