//! Hostile clients: request smuggling attempts and headers a client may not turn into AJP
//! attributes, sent as raw bytes over TCP to jkgate and to Apache httpd + mod_jk, both in
//! front of the same real Tomcat node.
//!
//! Every request targets `/app/echo?mark=<front>-<case>` (a request hidden in a body gets
//! `...-smuggled`). The echo servlet records each mark when the request arrives, before it
//! reads the body, so `/app/marks` (read straight from Tomcat's HTTP connector) is what
//! reached Tomcat through each front. For every case the test compares, jkgate against
//! httpd + mod_jk: the statuses the client read, which requests reached Tomcat, and for
//! those the method, URI, declared length and body digest Tomcat saw. jkgate must never
//! forward a request httpd refuses, and never forward a request differently.
//!
//! Deliberate differences (jkgate is stricter, never looser) are listed in [`CASES`] with
//! their reason and in docs/conformance.md.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

#[path = "support/modjk.rs"]
mod modjk;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use gate::Gate;
use modjk::ModJk;
use tomcat::{KvReply, TomcatNode, TomcatOptions};

/// What one case expects of jkgate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Refused with this status; nothing reaches Tomcat.
    Refused(u16),
    /// Forwarded once (the first request only), answered with this status.
    Forwarded(u16),
    /// Refused with this status, the connection kept: the request pipelined behind it
    /// (`{s}`) is served (200), as httpd serves it.
    RefusedThenPipelined(u16),
}

/// One hostile request.
struct Case {
    name: &'static str,
    /// Raw bytes; `{m}` is replaced by the mark of the request, `{s}` by the mark of a
    /// request smuggled inside it.
    raw: &'static str,
    /// What jkgate does.
    expect: Expect,
    /// Why jkgate differs from httpd + mod_jk here (`None`: it does exactly what httpd
    /// does: same statuses, same requests reaching Tomcat).
    differs: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "cl_te",
        // Content-Length first: a CL-reading front end would see `0\r\n\r\nGET ...` as
        // the body; Transfer-Encoding wins (RFC 9112 §6.3), the connection closes after.
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nContent-Length: 45\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /app/echo?mark={s} HTTP/1.1\r\nHost: x\r\n\r\n",
        expect: Expect::Forwarded(200),
        differs: None,
    },
    Case {
        name: "te_cl",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /app/echo?mark={s} HTTP/1.1\r\nHost: x\r\n\r\n",
        expect: Expect::Forwarded(200),
        differs: None,
    },
    Case {
        name: "two_content_lengths",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\nhelloGET /app/echo?mark={s} HTTP/1.1\r\nHost: x\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "content_length_list",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 50\r\n\r\nhelloGET /app/echo?mark={s} HTTP/1.1\r\nHost: x\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "content_length_sign",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "obs_fold",
        raw: "GET /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n Transfer-Encoding: chunked\r\n\r\n",
        expect: Expect::Refused(400),
        differs: Some(
            "httpd unfolds obs-fold and forwards; jkgate refuses it (RFC 9112 section 5.2 allows either): no header a folding-unaware hop would read differently reaches Tomcat",
        ),
    },
    Case {
        name: "chunk_size_not_hex",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        differs: Some(
            "httpd + mod_jk send the request head to Tomcat before reading the body, then drop the client without an answer; jkgate reads the first chunk before it forwards anything and answers 400",
        ),
    },
    Case {
        name: "chunk_size_overflow",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000000005\r\nhello\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        differs: Some(
            "httpd + mod_jk send the request head to Tomcat before reading the body, then drop the client without an answer; jkgate reads the first chunk before it forwards anything and answers 400",
        ),
    },
    Case {
        name: "chunk_size_negative",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        differs: Some(
            "httpd + mod_jk send the request head to Tomcat before reading the body, then drop the client without an answer; jkgate reads the first chunk before it forwards anything and answers 400",
        ),
    },
    Case {
        name: "te_not_chunked_last",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "te_unknown",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "te_in_http10",
        raw: "POST /app/echo?mark={m} HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        expect: Expect::Refused(400),
        differs: Some(
            "httpd decodes a chunked body in an HTTP/1.0 request; jkgate refuses it (RFC 9112 section 6.1: such framing is faulty)",
        ),
    },
    Case {
        name: "bare_lf",
        raw: "GET /app/echo?mark={m} HTTP/1.1\nHost: x\n\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "bare_lf_inside_header",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nX-Lf: a\nContent-Length: 5\r\n\r\nhello",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "nul_in_header",
        raw: "GET /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nX-Nul: a\0b\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "bare_cr_inside_header",
        raw: "GET /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nX-Cr: a\rb\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "space_before_colon",
        raw: "POST /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "header_without_colon",
        raw: "GET /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nX-Broken\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
    Case {
        name: "absolute_form",
        raw: "GET http://other.example:8123/app/echo?mark={m} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        expect: Expect::Forwarded(200),
        differs: None,
    },
    Case {
        name: "connect_authority",
        // 405 keeps the connection (httpd's `Allow` answer); the GET behind it is a request
        // of its own, served by both.
        raw: "CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\nGET /app/echo?mark={s} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        expect: Expect::RefusedThenPipelined(405),
        differs: None,
    },
    Case {
        name: "connect_origin_form",
        raw: "CONNECT /app/echo?mark={m} HTTP/1.1\r\nHost: x\r\n\r\nGET /app/echo?mark={s} HTTP/1.1\r\nHost: x\r\n\r\n",
        expect: Expect::Refused(400),
        differs: None,
    },
];

/// What one front end did with one case.
#[derive(Debug)]
struct Outcome {
    /// Status codes of the responses read, in order.
    statuses: Vec<u16>,
    /// Marks of this case that reached Tomcat, in arrival order.
    reached: Vec<String>,
    /// What Tomcat saw of each forwarded request (from the echo reply), in order.
    seen: Vec<Seen>,
    /// The raw answer (for failure messages).
    raw: String,
}

/// What the echo servlet reports of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    method: String,
    uri: String,
    query: String,
    content_length: String,
    body_sha256: String,
    server_name: String,
    server_port: String,
    host: Vec<String>,
}

/// Sends `raw` on a fresh connection and reads until the server closes it or stays quiet
/// for `quiet`.
fn send_raw(port: u16, raw: &[u8], quiet: Duration) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(quiet)).expect("read timeout");
    stream.write_all(raw).expect("send the raw request");
    let mut answer = Vec::new();
    let mut buf = [0u8; 16384];
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                break;
            }
            Err(_) => break, // reset by the server
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
    answer
}

/// The status of every response in `answer` (a status line starts the answer or a line).
fn statuses(answer: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(answer);
    let mut found = Vec::new();
    for (at, _) in text.match_indices("HTTP/1.") {
        let line_start = at == 0 || text.as_bytes()[at - 1] == b'\n';
        let code = text
            .get(at + 9..at + 12)
            .and_then(|c| c.parse::<u16>().ok());
        if let (true, Some(code)) = (line_start, code) {
            found.push(code);
        }
    }
    found
}

/// The echo servlet's reports in `answer` (one per `node=` line).
fn seen(answer: &[u8]) -> Vec<Seen> {
    let text = String::from_utf8_lossy(answer);
    let mut reports = Vec::new();
    for part in text.split("\nnode=").skip(1) {
        let kv = KvReply::parse(format!("node={part}").as_bytes());
        let get = |k: &str| kv.get(k).unwrap_or("").to_owned();
        reports.push(Seen {
            method: get("method"),
            uri: get("requestURI"),
            query: get("queryString"),
            content_length: get("contentLength"),
            body_sha256: get("bodySha256"),
            server_name: get("serverName"),
            server_port: get("serverPort"),
            host: kv
                .header_values("host")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        });
    }
    reports
}

fn run_case(node: &TomcatNode, front: &str, port: u16, case: &Case) -> Outcome {
    let mark = format!("{front}-{}", case.name);
    let raw = case
        .raw
        .replace("{m}", &mark)
        .replace("{s}", &format!("{mark}-smuggled"));
    let answer = send_raw(port, raw.as_bytes(), Duration::from_secs(5));
    let reached = node
        .marks()
        .into_iter()
        .filter(|m| *m == mark || m.starts_with(&format!("{mark}-")))
        .collect();
    Outcome {
        statuses: statuses(&answer),
        reached,
        seen: seen(&answer),
        raw: String::from_utf8_lossy(&answer).into_owned(),
    }
}

fn workers(node: &TomcatNode) -> String {
    format!(
        "worker.list=w\nworker.w.type=ajp13\nworker.w.host=127.0.0.1\nworker.w.port={}\n",
        node.ajp_port()
    )
}

#[test]
fn smuggling_attempts_never_reach_tomcat_differently_than_through_httpd() {
    let node = TomcatNode::start(TomcatOptions::with_route("hostile"));
    let workers = workers(&node);
    let gate = Gate::start_with("hostile", &workers, &["/app/*=w"]);
    let httpd = ModJk::start(&workers, None, &[("/app/*", "w")])
        .unwrap_or_else(|f| panic!("httpd did not start:\n{}", f.all_text()));

    let mut report = String::new();
    let mut failures = Vec::new();
    for case in CASES {
        let ours = run_case(&node, "jkgate", gate.port, case);
        let theirs = run_case(&node, "httpd", httpd.port, case);
        report.push_str(&format!(
            "{:<24} jkgate {:?} reached {:?} | httpd {:?} reached {:?}\n",
            case.name, ours.statuses, ours.reached, theirs.statuses, theirs.reached
        ));
        let strip = |marks: &[String], front: &str| -> Vec<String> {
            marks
                .iter()
                .map(|m| m.trim_start_matches(front).to_owned())
                .collect()
        };
        let our_marks = strip(&ours.reached, "jkgate");
        let their_marks = strip(&theirs.reached, "httpd");
        let mut problems = Vec::new();
        // jkgate never forwards what httpd + mod_jk does not.
        for mark in &our_marks {
            if !their_marks.contains(mark) {
                problems.push(format!("jkgate forwarded {mark}, httpd + mod_jk did not"));
            }
        }
        match case.expect {
            Expect::Refused(status) => {
                if ours.statuses != [status] {
                    problems.push(format!(
                        "jkgate answered {:?}, expected [{status}]",
                        ours.statuses
                    ));
                }
                if !ours.reached.is_empty() {
                    problems.push(format!("reached Tomcat: {:?}", ours.reached));
                }
            }
            Expect::RefusedThenPipelined(status) => {
                if ours.statuses != [status, 200] {
                    problems.push(format!(
                        "jkgate answered {:?}, expected [{status}, 200]",
                        ours.statuses
                    ));
                }
                if our_marks != [format!("-{}-smuggled", case.name)] {
                    problems.push(format!(
                        "expected only the pipelined request at Tomcat, got {:?}",
                        ours.reached
                    ));
                }
            }
            Expect::Forwarded(status) => {
                if ours.statuses != [status] {
                    problems.push(format!(
                        "jkgate answered {:?}, expected [{status}]",
                        ours.statuses
                    ));
                }
                if our_marks != [format!("-{}", case.name)] {
                    problems.push(format!(
                        "expected exactly the first request at Tomcat, got {:?}",
                        ours.reached
                    ));
                }
                // What reached Tomcat is the same request through both.
                let normalise = |s: &Seen| Seen {
                    query: s.query.replace("jkgate-", "").replace("httpd-", ""),
                    ..s.clone()
                };
                let a: Vec<Seen> = ours.seen.iter().map(normalise).collect();
                let b: Vec<Seen> = theirs.seen.iter().map(normalise).collect();
                if a != b {
                    problems.push(format!(
                        "Tomcat saw through jkgate {a:?}\nthrough httpd {b:?}"
                    ));
                }
            }
        }
        if case.differs.is_none() {
            if ours.statuses != theirs.statuses {
                problems.push(format!(
                    "statuses differ: jkgate {:?}, httpd {:?}",
                    ours.statuses, theirs.statuses
                ));
            }
            if our_marks != their_marks {
                problems.push(format!(
                    "what reached Tomcat differs: jkgate {our_marks:?}, httpd {their_marks:?}"
                ));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n  jkgate answer: {:?}\n  httpd answer: {:?}",
                case.name,
                problems.join("\n  "),
                ours.raw.chars().take(400).collect::<String>(),
                theirs.raw.chars().take(400).collect::<String>()
            ));
        }
    }
    eprintln!("{report}");
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}\n\nall cases:\n{report}\njkgate log:\n{}",
        failures.len(),
        failures.join("\n"),
        gate::tail(&gate.error_log(), 40)
    );
}

/// Header names a client may send but that must never become request attributes: what
/// Ghostcat (CVE-2020-1938) set as attributes, the names mod_jk and jkgate use for their
/// own attributes, and TLS facts.
const HOSTILE_HEADERS: &[(&str, &str)] = &[
    ("javax.servlet.include.request_uri", "/WEB-INF/web.xml"),
    ("javax.servlet.include.servlet_path", "/WEB-INF/web.xml"),
    ("javax.servlet.include.path_info", "/WEB-INF/web.xml"),
    ("jakarta.servlet.include.request_uri", "/WEB-INF/web.xml"),
    ("jakarta.servlet.include.servlet_path", "/WEB-INF/web.xml"),
    ("AJP_REMOTE_PORT", "1"),
    ("AJP_LOCAL_ADDR", "6.6.6.6"),
    ("AJP_SSL_PROTOCOL", "SSLv2"),
    ("JK_LB_ACTIVATION", "DIS"),
    ("SSL_CLIENT_CERT", "forged"),
    ("SSL_CIPHER", "NULL"),
    ("jakarta.servlet.request.cipher_suite", "NULL"),
    ("jakarta.servlet.request.X509Certificate", "forged"),
    (
        "org.apache.tomcat.util.net.secure_protocol_version",
        "SSLv2",
    ),
    ("req_attribute", "javax.servlet.include.request_uri"),
];

#[test]
fn client_headers_never_become_request_attributes() {
    let node = TomcatNode::start(TomcatOptions::with_route("ghost"));
    let workers = workers(&node);
    let gate = Gate::start_with("ghost", &workers, &["/app/*=w"]);
    let httpd = ModJk::start(&workers, None, &[("/app/*", "w")])
        .unwrap_or_else(|f| panic!("httpd did not start:\n{}", f.all_text()));
    let attrs: Vec<String> = HOSTILE_HEADERS
        .iter()
        .map(|(name, _)| format!("attr={name}"))
        .collect();
    let target = format!("/app/echo?{}", attrs.join("&"));
    for (front, port) in [("jkgate", gate.port), ("httpd", httpd.port)] {
        let reply = tomcat::http_request(port, "GET", &target, HOSTILE_HEADERS, b"")
            .unwrap_or_else(|e| panic!("{front}: {e}"));
        assert_eq!(reply.status, 200, "{front}: {}", reply.text());
        let kv = reply.kv();
        for (name, value) in HOSTILE_HEADERS {
            if *name == "JK_LB_ACTIVATION" {
                // jkgate sends its own (ACT for a direct worker), mod_jk none for one.
                assert_ne!(kv.attr(name), Some(*value), "{front}: {name}");
                continue;
            }
            assert_eq!(
                kv.attr(name),
                None,
                "{front}: header {name} became a request attribute:\n{}",
                reply.text()
            );
            // It still arrives as what it is: a header.
            assert!(
                kv.header_values(name).contains(value),
                "{front}: header {name} did not reach Tomcat as a header:\n{}",
                reply.text()
            );
        }
        assert_ne!(kv.req("remotePort"), "1", "{front}: AJP_REMOTE_PORT header");
        assert_ne!(
            kv.req("localAddr"),
            "6.6.6.6",
            "{front}: AJP_LOCAL_ADDR header"
        );
        assert_eq!(kv.req("secure"), "false", "{front}: TLS headers");
        assert_eq!(
            kv.req("requestURI"),
            "/app/echo",
            "{front}: include headers"
        );
    }
}
