//! Proves the Tomcat test fixture against real Tomcat 10.1: the node serves the test webapp
//! over HTTP and speaks AJP13 on its AJP port (raw bytes here, independent of our codec).
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tomcat::{
    ClusterMode, KvReply, TomcatCluster, TomcatNode, TomcatOptions, http_request, pattern_bytes,
    sha256_hex,
};

// ---------------------------------------------------------------------------------------------
// Raw AJP13 helpers (wire layout from the AJP13 spec; deliberately not our codec).

/// Appends an AJP string: u16 length, bytes, NUL; `None` is the null string `FF FF`.
fn put_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.extend_from_slice(&u16::try_from(s.len()).expect("short string").to_be_bytes());
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        None => out.extend_from_slice(&[0xFF, 0xFF]),
    }
}

/// A request header name in a FORWARD_REQUEST: coded (`A0 nn`) or a string.
enum Name<'a> {
    Coded(u8),
    Text(&'a str),
}

/// A FORWARD_REQUEST packet: protocol HTTP/1.1, remote 127.0.0.1 (host null), server
/// localhost:80, no TLS; `attributes` are raw attribute bytes placed before the `FF`.
fn forward_request(
    method: u8,
    uri: &str,
    headers: &[(Name<'_>, &str)],
    attributes: &[u8],
) -> Vec<u8> {
    let mut p = vec![0x02, method];
    put_str(&mut p, Some("HTTP/1.1"));
    put_str(&mut p, Some(uri));
    put_str(&mut p, Some("127.0.0.1"));
    put_str(&mut p, None);
    put_str(&mut p, Some("localhost"));
    p.extend_from_slice(&80u16.to_be_bytes());
    p.push(0);
    p.extend_from_slice(
        &u16::try_from(headers.len())
            .expect("few headers")
            .to_be_bytes(),
    );
    for (name, value) in headers {
        match name {
            Name::Coded(code) => p.extend_from_slice(&[0xA0, *code]),
            Name::Text(t) => put_str(&mut p, Some(t)),
        }
        put_str(&mut p, Some(value));
    }
    p.extend_from_slice(attributes);
    p.push(0xFF);
    frame(&p)
}

/// Wraps a payload in the proxy-to-container header `12 34 LL LL`.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x12, 0x34];
    f.extend_from_slice(
        &u16::try_from(payload.len())
            .expect("fits a packet")
            .to_be_bytes(),
    );
    f.extend_from_slice(payload);
    f
}

/// A request-body packet carrying `data`.
fn body_packet(data: &[u8]) -> Vec<u8> {
    let mut p = u16::try_from(data.len())
        .expect("fits a packet")
        .to_be_bytes()
        .to_vec();
    p.extend_from_slice(data);
    frame(&p)
}

/// Reads one container-to-proxy packet; returns its payload.
fn read_packet(s: &mut TcpStream) -> Vec<u8> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).expect("read AJP packet header");
    assert_eq!(
        &head[..2],
        &[0x41, 0x42],
        "container packets start with 'AB'"
    );
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let mut payload = vec![0u8; len];
    s.read_exact(&mut payload).expect("read AJP packet payload");
    payload
}

fn get_u16(p: &[u8], at: &mut usize) -> u16 {
    let v = u16::from_be_bytes([p[*at], p[*at + 1]]);
    *at += 2;
    v
}

fn get_str(p: &[u8], at: &mut usize) -> String {
    let len = usize::from(get_u16(p, at));
    let s = String::from_utf8_lossy(&p[*at..*at + len]).into_owned();
    *at += len + 1;
    s
}

const RESPONSE_HEADER_NAMES: [&str; 11] = [
    "Content-Type",
    "Content-Language",
    "Content-Length",
    "Date",
    "Last-Modified",
    "Location",
    "Set-Cookie",
    "Set-Cookie2",
    "Servlet-Engine",
    "Status",
    "WWW-Authenticate",
];

/// One response as read off the AJP connection.
struct AjpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    reuse: bool,
    /// `requested_length` of every GET_BODY_CHUNK seen (the test answers none of them).
    body_requests: Vec<u16>,
}

/// Reads SEND_HEADERS, SEND_BODY_CHUNKs and END_RESPONSE. GET_BODY_CHUNKs are answered with
/// the next piece of `more_body` (the empty end-of-body packet once it is used up).
fn read_response(s: &mut TcpStream, mut more_body: &[u8]) -> AjpResponse {
    let mut r = AjpResponse {
        status: 0,
        headers: Vec::new(),
        body: Vec::new(),
        reuse: false,
        body_requests: Vec::new(),
    };
    loop {
        let p = read_packet(s);
        match p[0] {
            0x04 => {
                let mut at = 1;
                r.status = get_u16(&p, &mut at);
                let _message = get_str(&p, &mut at);
                let n = get_u16(&p, &mut at);
                for _ in 0..n {
                    let name = if p[at] == 0xA0 {
                        let code = usize::from(p[at + 1]);
                        at += 2;
                        RESPONSE_HEADER_NAMES[code - 1].to_owned()
                    } else {
                        get_str(&p, &mut at)
                    };
                    let value = get_str(&p, &mut at);
                    r.headers.push((name, value));
                }
            }
            0x03 => {
                let mut at = 1;
                let len = usize::from(get_u16(&p, &mut at));
                r.body.extend_from_slice(&p[at..at + len]);
            }
            0x06 => {
                let mut at = 1;
                let asked = get_u16(&p, &mut at);
                r.body_requests.push(asked);
                let take = more_body.len().min(usize::from(asked));
                let packet = if take == 0 {
                    vec![0x12, 0x34, 0x00, 0x00]
                } else {
                    body_packet(&more_body[..take])
                };
                more_body = &more_body[take..];
                s.write_all(&packet).expect("send body packet");
            }
            0x05 => {
                r.reuse = p[1] != 0;
                return r;
            }
            other => panic!("unexpected AJP packet type {other:#04x}: {p:02X?}"),
        }
    }
}

fn connect(node: &TomcatNode) -> TcpStream {
    let s = TcpStream::connect(node.ajp_addr()).expect("connect to the AJP port");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    s
}

// ---------------------------------------------------------------------------------------------

#[test]
fn node_serves_the_test_webapp_over_http_and_requires_its_ajp_secret() {
    let mut opts = TomcatOptions::with_route("locked");
    opts.secret = Some("s3cr3t".to_owned());
    let node = TomcatNode::start(opts);
    eprintln!("node locked ready in {:?}", node.startup_time());

    let echo = node.http_get("/app/echo/some/path?a=1&a=2");
    assert_eq!(echo.status, 200, "{}", echo.text());
    let kv = echo.kv();
    assert_eq!(kv.req("jvmRoute"), "locked");
    assert_eq!(kv.req("method"), "GET");
    assert_eq!(kv.req("requestURI"), "/app/echo/some/path");
    assert_eq!(kv.req("pathInfo"), "/some/path");
    assert_eq!(kv.req("queryString"), "a=1&a=2");
    assert_eq!(kv.req("bodyLength"), "0");

    for (name, len) in tomcat::STATIC_FILES {
        let r = node.http_get(&format!("/app/{name}"));
        assert_eq!(r.status, 200, "/app/{name}");
        assert_eq!(r.body, pattern_bytes(*len), "/app/{name} content");
    }

    let first = node.http_get("/app/session").kv();
    let id = first.req("sessionId").to_owned();
    assert!(id.ends_with(".locked"), "session id {id} ends in the route");
    assert_eq!(first.req("counter"), "1");
    assert_eq!(first.req("isNew"), "true");
    let cookie = format!("JSESSIONID={id}");
    let second = http_request(
        node.http_port(),
        "GET",
        "/app/session",
        &[("Cookie", &cookie)],
        b"",
    )
    .expect("second session request")
    .kv();
    assert_eq!(second.req("sessionId"), id);
    assert_eq!(second.req("counter"), "2");
    assert_eq!(second.req("isNew"), "false");

    // Controls of the echo servlet: status, repeated response headers, streamed output.
    let r = node.http_get("/app/echo?status=503&header=Set-Cookie:a=1&header=Set-Cookie:b=2");
    assert_eq!(r.status, 503);
    assert_eq!(r.header_values("Set-Cookie"), vec!["a=1", "b=2"]);
    assert_eq!(node.http_get("/app/echo?status=204").status, 204);
    let streamed = node.http_get("/app/echo?gen=100000&flush=8000");
    assert_eq!(streamed.header("Transfer-Encoding"), Some("chunked"));
    assert_eq!(streamed.body, pattern_bytes(100_000));

    // Any method, with a body: the echo hashes it.
    let body = pattern_bytes(70_000);
    for method in ["POST", "PUT", "PATCH", "PROPFIND", "MKCOL"] {
        let r = http_request(node.http_port(), method, "/app/echo", &[], &body).expect(method);
        let kv = r.kv();
        assert_eq!(kv.req("method"), method);
        assert_eq!(kv.req("bodyLength"), "70000", "{method}");
        assert_eq!(kv.req("bodySha256"), sha256_hex(&body), "{method}");
    }
    let up = http_request(node.http_port(), "PUT", "/app/upload", &[], &body).expect("upload");
    assert_eq!(up.kv().req("bodySha256"), sha256_hex(&body));

    // AJP without the secret: 403; with attribute 0x0C carrying it: 200.
    let mut s = connect(&node);
    s.write_all(&forward_request(
        0x02,
        "/app/echo",
        &[(Name::Coded(0x0B), "localhost")],
        &[],
    ))
    .expect("send");
    assert_eq!(read_response(&mut s, b"").status, 403);

    let mut secret = vec![0x0C];
    put_str(&mut secret, Some("s3cr3t"));
    let mut s = connect(&node);
    s.write_all(&forward_request(
        0x02,
        "/app/echo",
        &[(Name::Coded(0x0B), "localhost")],
        &secret,
    ))
    .expect("send");
    let r = read_response(&mut s, b"");
    assert_eq!(r.status, 200);
    assert_eq!(KvReply::parse(&r.body).req("jvmRoute"), "locked");
}

#[test]
fn reply_lines_are_unescaped_and_headers_kept_in_order() {
    let raw = b"a=x\\ny\\\\z\\xe9\\u{20ac}\nheader=X-A: 1\nheader=X-B: 2\nheader=x-a: 3\n";
    let kv = KvReply::parse(raw);
    assert_eq!(kv.get("a"), Some("x\ny\\z\u{e9}\u{20ac}"));
    assert_eq!(kv.header_values("X-A"), vec!["1", "3"]);
    assert_eq!(kv.headers().len(), 3);
}

/// CPING, the spec's minimal GET (vector 3) adapted to /app/echo, and a body larger than one
/// packet on a node with packetSize 16000.
#[test]
fn ajp_port_speaks_ajp13() {
    // The builder reproduces the spec's vector 3 byte for byte.
    let vector3: Vec<u8> = [
        0x12, 0x34, 0x00, 0x3F, 0x02, 0x02, 0x00, 0x08, 0x48, 0x54, 0x54, 0x50, 0x2F, 0x31, 0x2E,
        0x31, 0x00, 0x00, 0x01, 0x2F, 0x00, 0x00, 0x09, 0x31, 0x32, 0x37, 0x2E, 0x30, 0x2E, 0x30,
        0x2E, 0x31, 0x00, 0xFF, 0xFF, 0x00, 0x09, 0x6C, 0x6F, 0x63, 0x61, 0x6C, 0x68, 0x6F, 0x73,
        0x74, 0x00, 0x00, 0x50, 0x00, 0x00, 0x01, 0xA0, 0x0B, 0x00, 0x09, 0x6C, 0x6F, 0x63, 0x61,
        0x6C, 0x68, 0x6F, 0x73, 0x74, 0x00, 0xFF,
    ]
    .to_vec();
    assert_eq!(
        forward_request(0x02, "/", &[(Name::Coded(0x0B), "localhost")], &[]),
        vector3
    );

    let mut opts = TomcatOptions::with_route("ajp1");
    opts.packet_size = Some(16_000);
    let node = TomcatNode::start(opts);
    eprintln!("node ajp1 ready in {:?}", node.startup_time());
    let mut s = connect(&node);

    // CPING -> CPONG, twice on one connection.
    for _ in 0..2 {
        s.write_all(&[0x12, 0x34, 0x00, 0x01, 0x0A])
            .expect("send CPING");
        let mut reply = [0u8; 5];
        s.read_exact(&mut reply).expect("read CPONG");
        assert_eq!(reply, [0x41, 0x42, 0x00, 0x01, 0x09]);
    }

    // The minimal GET, twice on the same (reused) connection, plus a string-named header.
    for _ in 0..2 {
        let req = forward_request(
            0x02,
            "/app/echo",
            &[
                (Name::Coded(0x0B), "localhost"),
                (Name::Text("X-Probe"), "p1"),
            ],
            &[],
        );
        s.write_all(&req).expect("send FORWARD_REQUEST");
        let r = read_response(&mut s, b"");
        assert_eq!(r.status, 200);
        assert!(r.reuse, "Tomcat keeps the connection");
        assert!(
            r.headers
                .iter()
                .any(|(n, v)| n == "Content-Type" && v.starts_with("text/plain")),
            "{:?}",
            r.headers
        );
        let kv = KvReply::parse(&r.body);
        assert_eq!(kv.req("jvmRoute"), "ajp1");
        assert_eq!(kv.req("method"), "GET");
        assert_eq!(kv.req("protocol"), "HTTP/1.1");
        assert_eq!(kv.req("requestURI"), "/app/echo");
        assert_eq!(kv.req("remoteAddr"), "127.0.0.1");
        assert_eq!(kv.req("serverName"), "localhost");
        assert_eq!(kv.req("scheme"), "http");
        assert_eq!(kv.header_values("host"), vec!["localhost"]);
        assert_eq!(kv.header_values("x-probe"), vec!["p1"]);
    }

    // POST 20000 bytes: first packet unsolicited with P-6 = 15994 bytes, the rest on request;
    // every GET_BODY_CHUNK asks for P-6.
    let body = pattern_bytes(20_000);
    let req = forward_request(
        0x04,
        "/app/upload",
        &[
            (Name::Coded(0x0B), "localhost"),
            (Name::Coded(0x08), "20000"),
        ],
        &[],
    );
    s.write_all(&req).expect("send FORWARD_REQUEST");
    s.write_all(&body_packet(&body[..15_994]))
        .expect("send first body packet");
    let r = read_response(&mut s, &body[15_994..]);
    assert_eq!(r.status, 200);
    assert!(!r.body_requests.is_empty());
    assert!(
        r.body_requests.iter().all(|&n| n == 15_994),
        "{:?}",
        r.body_requests
    );
    let kv = KvReply::parse(&r.body);
    assert_eq!(kv.req("bodyLength"), "20000");
    assert_eq!(kv.req("bodySha256"), sha256_hex(&body));
}

#[test]
fn cluster_of_three_has_distinct_routes_and_a_killed_node_restarts_on_its_ports() {
    let mut cluster = TomcatCluster::start(3, TomcatOptions::default());
    let routes: Vec<&str> = cluster.nodes().iter().map(TomcatNode::route).collect();
    assert_eq!(routes, vec!["node1", "node2", "node3"]);
    for node in cluster.nodes() {
        eprintln!("{} ready in {:?}", node.route(), node.startup_time());
        assert_eq!(
            node.http_get("/app/echo").kv().req("jvmRoute"),
            node.route()
        );
    }
    let props = cluster.workers_properties("lb");
    assert!(
        props.contains("worker.lb.balance_workers=node1,node2,node3"),
        "{props}"
    );
    assert!(props.contains(&format!(
        "worker.node2.port={}",
        cluster.node("node2").ajp_port()
    )));
    assert_eq!(TomcatOptions::default().cluster, ClusterMode::None);

    let node = cluster.node_mut("node2");
    let (http, ajp) = (node.http_port(), node.ajp_port());
    assert!(node.pid().is_some());
    node.kill();
    assert!(!node.is_running());
    assert!(
        TcpStream::connect(node.ajp_addr()).is_err(),
        "AJP port closed after kill"
    );
    cluster.restart_node("node2");
    let node = cluster.node_mut("node2");
    assert_eq!((node.http_port(), node.ajp_port()), (http, ajp));
    assert_eq!(node.http_get("/app/echo").kv().req("jvmRoute"), "node2");
    tomcat::ajp_cping(ajp, Duration::from_secs(5)).expect("CPONG after restart");
    node.stop();
    assert!(!node.is_running());
}
