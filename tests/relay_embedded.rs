//! The relay and the lb worker end to end, with no system package: jkgate's own
//! listener, registry and balancer in front of scripted AJP13 containers (which record
//! every packet) and the embedded demo backends. Real Tomcat runs the same paths in
//! `relay_tomcat.rs` and `lb_tomcat.rs`; here the wire is checked packet by packet and
//! hostile backends are played.
#![cfg(feature = "proxy")]

#[path = "support/client.rs"]
mod client;
#[path = "support/container.rs"]
mod container;
#[path = "support/in_process.rs"]
mod in_process;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use client::{Client, get};
use container::{Conn, Container, echo_script, script};
use in_process::Running;
use jkgate::ajp::{ContainerMessage, PacketSize, ProxyMessage};
use jkgate::backend::dispatch::Target;
use jkgate::config::RunSettings;
use jkgate::demo::EmbeddedBackend;

const LONG: Duration = Duration::from_secs(10);

/// jkgate in-process with `properties` and `mounts`, on a free loopback port.
async fn jkgate(properties: &str, mounts: &[&str]) -> Running {
    in_process::start(in_process::settings(properties, mounts)).await
}

/// The same, with jkgate.ini's settings changed by `change` first.
async fn jkgate_with(
    properties: &str,
    mounts: &[&str],
    change: impl FnOnce(&mut RunSettings),
) -> Running {
    let mut settings = in_process::settings(properties, mounts);
    change(&mut settings);
    in_process::start(settings).await
}

/// A direct ajp13 worker `w` at `port`, mounted at `/*`.
fn direct(port: u16, extra: &str) -> String {
    format!(
        "worker.list=w\nworker.w.type=ajp13\nworker.w.host=127.0.0.1\nworker.w.port={port}\n\
         worker.w.retry_interval=10\n{extra}"
    )
}

/// An lb `lb` over members `(name, port)`, with `extra` lines.
fn lb(members: &[(&str, u16)], extra: &str) -> String {
    let mut text = String::from("worker.list=lb\nworker.lb.type=lb\nworker.lb.retry_interval=10\n");
    let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
    text.push_str(&format!("worker.lb.balance_workers={}\n", names.join(",")));
    for (name, port) in members {
        text.push_str(&format!(
            "worker.{name}.type=ajp13\nworker.{name}.host=127.0.0.1\nworker.{name}.port={port}\n\
             worker.{name}.retry_interval=10\n"
        ));
    }
    text.push_str(extra);
    text
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn sizes(packets: &[Bytes]) -> String {
    packets
        .iter()
        .map(|p| p.len().to_string())
        .collect::<Vec<_>>()
        .join(",")
}

// ---- the three body cases, packet by packet (ajp13.md §3.2) -------------------------

#[tokio::test]
async fn bodiless_request_carries_content_length_zero_and_no_body_packet() {
    let backend = Container::start(script(|mut conn: Conn| async move {
        while let Some(request) = conn.request(LONG).await {
            let quiet = conn.quiet_for(Duration::from_millis(200)).await;
            let cl = request
                .header_values(b"content-length")
                .map(|v| {
                    String::from_utf8_lossy(v.map(|b| &b[..]).unwrap_or_default()).into_owned()
                })
                .collect::<Vec<_>>()
                .join("|");
            let text = format!("quiet={quiet}\ncl={cl}\n");
            conn.respond(200, &[], text.as_bytes()).await;
        }
    }))
    .await;
    let server = jkgate(&direct(backend.addr.port(), ""), &["/*=w"]).await;
    let reply = get(server.addr, "/x", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.line("quiet").as_deref(), Some("true"));
    assert_eq!(reply.line("cl").as_deref(), Some("0"));
}

#[tokio::test]
async fn content_length_body_sends_the_first_packet_unasked_then_one_per_get_body_chunk() {
    let backend = Container::start(script(|mut conn: Conn| async move {
        let Some(_request) = conn.request(LONG).await else {
            return;
        };
        // The first packet must come without a GET_BODY_CHUNK.
        let mut packets = Vec::new();
        match conn.recv(Duration::from_secs(3)).await {
            Some(ProxyMessage::Body(data)) => packets.push(data),
            other => {
                let text = format!("unsolicited={other:?}");
                conn.respond(500, &[], text.as_bytes()).await;
                return;
            }
        }
        // Then exactly what is asked for, and the empty packet at the end.
        for ask in [1000u16, 8186, 8186, 8186, 8186, 8186] {
            conn.send(ContainerMessage::GetBodyChunk { requested_len: ask })
                .await;
            match conn.recv(LONG).await {
                Some(ProxyMessage::Body(data)) => {
                    let last = data.is_empty();
                    packets.push(data);
                    if last {
                        break;
                    }
                }
                _ => return,
            }
        }
        conn.request_done();
        let quiet = conn.quiet_for(Duration::from_millis(200)).await;
        let text = format!("sizes={}\nquiet={quiet}\n", sizes(&packets));
        conn.respond(200, &[], text.as_bytes()).await;
    }))
    .await;
    let server = jkgate(&direct(backend.addr.port(), ""), &["/*=w"]).await;
    let body = vec![b'x'; 20_000];
    let mut client = Client::connect(server.addr).await;
    let reply = client.request("POST", "/up", &[], Some(&body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.line("quiet").as_deref(), Some("true"));
    let sizes: Vec<usize> = reply
        .line("sizes")
        .expect("sizes")
        .split(',')
        .map(|n| n.parse().unwrap())
        .collect();
    // 8186 (P − 6) unasked; then never more than asked (1000, then 8186 each), never an
    // empty packet before the end, and exactly one empty packet once the body is done.
    assert_eq!(sizes[0], 8186, "{sizes:?}");
    assert!((1..=1000).contains(&sizes[1]), "{sizes:?}");
    let (last, middle) = sizes[2..].split_last().unwrap();
    assert!(middle.iter().all(|&n| (1..=8186).contains(&n)), "{sizes:?}");
    assert_eq!(*last, 0, "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 20_000, "{sizes:?}");
}

#[tokio::test]
async fn chunked_body_waits_to_be_asked_has_no_length_and_ends_with_one_empty_packet() {
    let backend = Container::start(script(|mut conn: Conn| async move {
        let Some(request) = conn.request(LONG).await else {
            return;
        };
        let has_cl = request.header_values(b"content-length").next().is_some();
        let quiet = conn.quiet_for(Duration::from_millis(300)).await;
        let Some(packets) = conn.read_body(&request, 8186).await else {
            return;
        };
        let empty_before_end = packets[..packets.len() - 1].iter().any(Bytes::is_empty);
        let total: usize = packets.iter().map(Bytes::len).sum();
        let text = format!(
            "has_cl={has_cl}\nquiet={quiet}\nempty_before_end={empty_before_end}\ntotal={total}\nlast={}\n",
            packets.last().map_or(99, Bytes::len)
        );
        conn.respond(200, &[], text.as_bytes()).await;
    }))
    .await;
    let server = jkgate(&direct(backend.addr.port(), ""), &["/*=w"]).await;
    let mut client = Client::connect(server.addr).await;
    let mut request =
        b"POST /up HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in [3000usize, 10_000, 7] {
        request.extend_from_slice(format!("{piece:x}\r\n").as_bytes());
        request.extend(std::iter::repeat_n(b'c', piece));
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    client.send(&request).await;
    let reply = client.read_reply(false).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.line("has_cl").as_deref(), Some("false"));
    assert_eq!(reply.line("quiet").as_deref(), Some("true"));
    assert_eq!(reply.line("empty_before_end").as_deref(), Some("false"));
    assert_eq!(reply.line("total").as_deref(), Some("13007"));
    assert_eq!(reply.line("last").as_deref(), Some("0"));
}

#[tokio::test]
async fn a_response_that_ignores_the_body_leaves_no_unasked_bytes_on_the_connection() {
    let backend = Container::start(script(|mut conn: Conn| async move {
        // First request: take only the unsolicited packet (as Tomcat swallows it), answer.
        let Some(_first) = conn.request(LONG).await else {
            return;
        };
        let Some(ProxyMessage::Body(_)) = conn.recv(LONG).await else {
            return;
        };
        conn.request_done();
        conn.respond(200, &[], b"first").await;
        // The next packet on this connection must be the next request.
        while let Some(next) = conn.request(LONG).await {
            let body = conn.read_body(&next, 8186).await.unwrap_or_default();
            conn.respond(200, &[], format!("second:{}", sizes(&body)).as_bytes())
                .await;
        }
    }))
    .await;
    let server = jkgate(&direct(backend.addr.port(), ""), &["/*=w"]).await;
    let mut client = Client::connect(server.addr).await;
    let first = client
        .request("POST", "/a", &[], Some(&vec![b'p'; 50_000]))
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), "first");
    let second = get(server.addr, "/b", &[]).await;
    assert_eq!(second.text(), "second:", "{second:?}");
    assert_eq!(backend.connections(), 1, "the AJP connection was reused");
    let kinds: Vec<String> = backend
        .received()
        .iter()
        .map(|r| match &r.message {
            ProxyMessage::ForwardRequest(_) => "request".to_owned(),
            ProxyMessage::Body(data) => format!("body{}", data.len()),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(kinds, ["request", "body8186", "request"]);
}

// ---- hostile and broken backends ---------------------------------------------------

/// A container that answers every request on a connection with `bytes`, then closes.
fn hostile(bytes: &'static [u8]) -> container::Script {
    script(move |mut conn: Conn| async move {
        if conn.request(LONG).await.is_some() {
            conn.send_raw(bytes).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

#[tokio::test]
async fn hostile_packets_before_the_headers_give_502_and_never_disturb_other_requests() {
    let cases: &[(&str, &'static [u8])] = &[
        ("bad magic", b"HTTP/1.1 200 OK\r\n\r\n"),
        (
            "frame longer than the packet size",
            &[0x41, 0x42, 0xFF, 0xF0, 0x04],
        ),
        (
            "header count past the payload",
            &[
                0x41, 0x42, 0x00, 0x0B, 0x04, 0x00, 0xC8, 0x00, 0x03, b'2', b'0', b'0', 0x00, 0x00,
                0x05,
            ],
        ),
        ("unknown packet type", &[0x41, 0x42, 0x00, 0x01, 0x07]),
        ("empty frame", &[0x41, 0x42, 0x00, 0x00]),
        (
            "END_RESPONSE before SEND_HEADERS",
            &[0x41, 0x42, 0x00, 0x02, 0x05, 0x01],
        ),
        ("CPONG during a request", &[0x41, 0x42, 0x00, 0x01, 0x09]),
        (
            "body chunk longer than its packet",
            &[0x41, 0x42, 0x00, 0x04, 0x03, 0x00, 0x05, 0x41],
        ),
        ("close without answer", &[]),
    ];
    let healthy = Container::start(echo_script("healthy")).await;
    for (what, bytes) in cases {
        let evil = Container::start(hostile(bytes)).await;
        let properties = format!(
            "worker.list=evil,good\nworker.evil.host=127.0.0.1\nworker.evil.port={}\n\
             worker.evil.retries=1\nworker.good.host=127.0.0.1\nworker.good.port={}\n",
            evil.addr.port(),
            healthy.addr.port()
        );
        let server = jkgate(&properties, &["/evil/*=evil", "/good/*=good"]).await;
        let addr = server.addr;
        // Healthy requests run alongside the hostile one.
        let good = tokio::spawn(async move {
            let mut client = Client::connect(addr).await;
            let mut replies = Vec::new();
            for _ in 0..5 {
                replies.push(client.request("GET", "/good/x", &[], None).await);
            }
            replies
        });
        let reply = get(addr, "/evil/x", &[]).await;
        assert_eq!(reply.status, 502, "{what}: {reply:?}");
        assert_eq!(reply.reason, "Bad Gateway", "{what}");
        let replies = good.await.expect("healthy client");
        for r in &replies {
            assert_eq!(
                (r.status, r.text()),
                (200, "healthy:0".to_owned()),
                "{what}"
            );
        }
        // jkgate still answers the hostile worker's next request (no crash, clean state).
        let again = get(server.addr, "/evil/x", &[]).await;
        assert_eq!(again.status, 502, "{what} (second time)");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn hostile_packets_after_the_headers_abort_the_client_connection() {
    // The head and part of the body reach the client (flushed), then the member breaks
    // the protocol: the client must see an aborted response, never a clean end.
    let cases: &[(&str, &'static [u8])] = &[
        (
            "second SEND_HEADERS",
            &[
                0x41, 0x42, 0x00, 0x0B, 0x04, 0x00, 0xC8, 0x00, 0x03, b'2', b'0', b'0', 0x00, 0x00,
                0x00,
            ],
        ),
        (
            "more body than Content-Length",
            &[
                0x41, 0x42, 0x00, 0x0B, 0x03, 0x00, 0x07, b'o', b'v', b'e', b'r', b'r', b'u', b'n',
                0,
            ],
        ),
        ("bad magic", b"garbage!"),
        ("close mid-body", &[]),
    ];
    let healthy = Container::start(echo_script("healthy")).await;
    for (what, bytes) in cases {
        let evil = Container::start(script(move |mut conn: Conn| async move {
            if conn.request(LONG).await.is_some() {
                conn.send(ContainerMessage::SendHeaders(jkgate::ajp::SendHeaders {
                    status: 200,
                    status_msg: Some(Bytes::from_static(b"200")),
                    headers: vec![(
                        jkgate::ajp::ResponseHeaderName::from_name(Bytes::from_static(
                            b"Content-Length",
                        )),
                        Some(Bytes::from_static(b"10")),
                    )],
                }))
                .await;
                conn.send(ContainerMessage::SendBodyChunk(Bytes::from_static(b"abcd")))
                    .await;
                conn.send(ContainerMessage::SendBodyChunk(Bytes::new()))
                    .await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                conn.send_raw(bytes).await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }))
        .await;
        let properties = format!(
            "worker.list=evil,good\nworker.evil.host=127.0.0.1\nworker.evil.port={}\n\
             worker.good.host=127.0.0.1\nworker.good.port={}\n",
            evil.addr.port(),
            healthy.addr.port()
        );
        let server = jkgate(&properties, &["/evil/*=evil", "/good/*=good"]).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send(b"GET /evil/x HTTP/1.1\r\nHost: t\r\n\r\n")
            .await;
        let reply = client.try_read_reply(false).await;
        assert!(
            reply.is_none(),
            "{what}: the response must not end cleanly: {reply:?}"
        );
        let next = get(server.addr, "/good/y", &[]).await;
        assert_eq!(
            (next.status, next.text()),
            (200, "healthy:0".to_owned()),
            "{what}"
        );
    }
}

// ---- errors an operator can act on --------------------------------------------------

#[tokio::test]
async fn unreachable_member_is_503_and_reply_timeout_is_504() {
    let server = jkgate(&direct(dead_port(), ""), &["/*=w"]).await;
    let reply = get(server.addr, "/x", &[]).await;
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (503, "Service Unavailable")
    );

    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let server = jkgate(
        &direct(backend.addr.port(), "worker.w.reply_timeout=300\n"),
        &["/*=w", "/patient/*=w;reply_timeout=3000"],
    )
    .await;
    let reply = get(server.addr, "/x?sleep=1500", &[]).await;
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (504, "Gateway Timeout")
    );
    // The mount's reply_timeout replaces the worker's.
    let reply = get(server.addr, "/patient/x?sleep=1000", &[]).await;
    assert_eq!(reply.status, 200);
}

/// GETs `path` and says how long the answer took.
async fn timed_get(addr: std::net::SocketAddr, path: &str) -> (client::Reply, Duration) {
    let started = std::time::Instant::now();
    let reply = get(addr, path, &[]).await;
    (reply, started.elapsed())
}

#[tokio::test]
async fn socket_timeout_bounds_a_silent_member_when_reply_timeout_is_unset() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    // socket_timeout is in seconds; with no reply_timeout it bounds every wait for a packet.
    let server = jkgate(
        &direct(backend.addr.port(), "worker.w.socket_timeout=1\n"),
        &["/*=w"],
    )
    .await;
    let (reply, waited) = timed_get(server.addr, "/x?sleep=4000").await;
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (504, "Gateway Timeout")
    );
    let bound = Duration::from_millis(900)..Duration::from_millis(3000);
    assert!(bound.contains(&waited), "answered after {waited:?}");
    // A member that answers within the bound is unaffected.
    let reply = get(server.addr, "/x?sleep=300", &[]).await;
    assert_eq!(reply.status, 200);
}

/// A listener whose accept queue is full: further connects hang in SYN-SENT (the kernel
/// drops their SYNs), as with a host that drops packets. Returns it and the connections
/// that filled it.
async fn full_listener() -> (tokio::net::TcpListener, Vec<tokio::net::TcpStream>, u16) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
    let listener = socket.listen(1).expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
        match tokio::time::timeout(Duration::from_millis(300), connect).await {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    (listener, fillers, port)
}

#[tokio::test]
async fn socket_connect_timeout_bounds_a_connect_that_hangs() {
    let (_listener, fillers, port) = full_listener().await;
    assert!(!fillers.is_empty(), "no connection reached the listener");
    // A connect that would hang now gives up after 500 ms (twice: retries=2).
    let server = jkgate(
        &direct(port, "worker.w.socket_connect_timeout=500\n"),
        &["/*=w"],
    )
    .await;
    let (reply, waited) = timed_get(server.addr, "/x").await;
    assert_eq!(
        (reply.status, reply.reason.as_str()),
        (503, "Service Unavailable")
    );
    let bound = Duration::from_millis(450)..Duration::from_millis(5000);
    assert!(bound.contains(&waited), "answered after {waited:?}");
}

/// The TCP timer column of `/proc/net/tcp` for established connections to `port`:
/// 2 means the keepalive timer is armed.
fn timers_of_connections_to(port: u16) -> Vec<u8> {
    let text = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let mut timers = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let remote_port = fields
            .get(2)
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| u16::from_str_radix(p, 16).ok());
        let established = fields.get(3) == Some(&"01");
        if remote_port == Some(port) && established {
            let timer = fields
                .get(5)
                .and_then(|t| t.split(':').next())
                .and_then(|t| u8::from_str_radix(t, 16).ok());
            timers.push(timer.expect("timer column"));
        }
    }
    timers
}

#[tokio::test]
async fn socket_keepalive_arms_tcp_keepalive_on_pooled_connections() {
    let with = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let without = EmbeddedBackend::start("node2", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let properties = format!(
        "worker.list=on,off\n\
         worker.on.type=ajp13\nworker.on.host=127.0.0.1\nworker.on.port={}\n\
         worker.on.socket_keepalive=true\n\
         worker.off.type=ajp13\nworker.off.host=127.0.0.1\nworker.off.port={}\n",
        with.addr.port(),
        without.addr.port()
    );
    let server = jkgate(&properties, &["/on/*=on", "/off/*=off"]).await;
    assert_eq!(get(server.addr, "/on/x", &[]).await.status, 200);
    assert_eq!(get(server.addr, "/off/x", &[]).await.status, 200);
    // Both connections now idle in their pools.
    assert_eq!(timers_of_connections_to(with.addr.port()), [2]);
    assert_eq!(timers_of_connections_to(without.addr.port()), [0]);
}

#[tokio::test]
async fn use_server_errors_replaces_the_member_page_but_keeps_the_challenge() {
    let backend = Container::start(script(|mut conn: Conn| async move {
        while let Some(request) = conn.request(LONG).await {
            let uri = String::from_utf8_lossy(request.req_uri.as_deref().unwrap_or_default())
                .into_owned();
            let status = if uri.ends_with("/auth") { 401 } else { 500 };
            conn.respond(
                status,
                &[
                    ("WWW-Authenticate", "Basic realm=\"x\""),
                    ("X-Secret", "leak"),
                ],
                b"stack trace of the member",
            )
            .await;
        }
    }))
    .await;
    let server = jkgate(
        &direct(backend.addr.port(), ""),
        &["/plain/*=w", "/own/*=w;use_server_errors=400"],
    )
    .await;
    let passed = get(server.addr, "/plain/x", &[]).await;
    assert_eq!(passed.status, 500);
    assert_eq!(passed.text(), "stack trace of the member");
    let own = get(server.addr, "/own/x", &[]).await;
    assert_eq!(own.status, 500);
    assert!(
        own.text().contains("Internal Server Error"),
        "{}",
        own.text()
    );
    assert!(own.header("x-secret").is_none());
    let auth = get(server.addr, "/own/auth", &[]).await;
    assert_eq!(auth.status, 401);
    assert_eq!(auth.header("www-authenticate"), Some("Basic realm=\"x\""));
    assert!(!auth.text().contains("stack trace"));
}

// ---- the lb worker on embedded backends --------------------------------------------

async fn backends(routes: &[&str]) -> Vec<EmbeddedBackend> {
    let mut all = Vec::new();
    for route in routes {
        all.push(
            EmbeddedBackend::start(route, PacketSize::DEFAULT)
                .await
                .expect("backend"),
        );
    }
    all
}

fn members(backends: &[EmbeddedBackend]) -> Vec<(&str, u16)> {
    backends
        .iter()
        .map(|b| (b.route.as_str(), b.addr.port()))
        .collect()
}

#[tokio::test]
async fn sticky_by_cookie_and_by_path_parameter_then_failover_when_the_owner_is_down() {
    let nodes = backends(&["node1", "node2", "node3"]).await;
    let server = jkgate(&lb(&members(&nodes), ""), &["/*=lb"]).await;
    let first = get(server.addr, "/session", &[]).await;
    let owner = first.line("route").expect("route");
    let session = first.line("session").expect("session id");
    assert!(session.ends_with(&format!(".{owner}")));
    let cookie = format!("JSESSIONID={session}");
    for n in 2..=6 {
        let reply = get(server.addr, "/session", &[("Cookie", &cookie)]).await;
        assert_eq!(reply.line("route").as_deref(), Some(owner.as_str()));
        assert_eq!(reply.line("count"), Some(n.to_string()));
    }
    // ;jsessionid= beats the cookie.
    let other = ["node1", "node2", "node3"]
        .into_iter()
        .find(|r| *r != owner)
        .unwrap();
    let by_path = get(
        server.addr,
        &format!("/echo;jsessionid=ABC.{other}"),
        &[("Cookie", &cookie)],
    )
    .await;
    assert_eq!(by_path.line("route").as_deref(), Some(other));
    // The owner goes down: its sessions are served elsewhere, GET is safe to send.
    let owner_backend = nodes.iter().find(|b| b.route == owner).unwrap();
    owner_backend.kill();
    drop_listener_now(owner_backend).await;
    let moved = get(server.addr, "/session", &[("Cookie", &cookie)]).await;
    assert_eq!(moved.status, 200, "{moved:?}");
    assert_ne!(moved.line("route").as_deref(), Some(owner.as_str()));
}

/// Waits until the stopped backend's port refuses connections.
async fn drop_listener_now(backend: &EmbeddedBackend) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(backend.addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("backend {} still accepts", backend.route);
}

#[tokio::test]
async fn a_post_that_reached_a_member_is_never_replayed_elsewhere() {
    // node1 reads the whole request, then dies without answering.
    let dying = Container::start(script(|mut conn: Conn| async move {
        if let Some(request) = conn.request(LONG).await {
            let _ = conn.read_body(&request, 8186).await;
        }
    }))
    .await;
    let healthy = Container::start(echo_script("node2")).await;
    let properties = lb(
        &[("node1", dying.addr.port()), ("node2", healthy.addr.port())],
        "worker.lb.sticky_session=true\n",
    );
    let server = jkgate(&properties, &["/*=lb"]).await;
    let mut client = Client::connect(server.addr).await;
    let reply = client
        .request(
            "POST",
            "/order",
            &[("Cookie", "JSESSIONID=abc.node1")],
            Some(b"buy=1"),
        )
        .await;
    assert_eq!(reply.status, 502, "{reply:?}");
    assert_eq!(dying.requests().len(), 1);
    assert!(
        healthy.requests().is_empty(),
        "the POST must not reach a second member"
    );
    // The same failure on an idempotent GET with recovery_options=16 (GET stays
    // recoverable) fails over.
    let properties = lb(
        &[("node1", dying.addr.port()), ("node2", healthy.addr.port())],
        "worker.node1.recovery_options=17\nworker.node1.retries=1\n",
    );
    let server = jkgate(&properties, &["/*=lb"]).await;
    let reply = get(server.addr, "/page", &[("Cookie", "JSESSIONID=abc.node1")]).await;
    assert_eq!((reply.status, reply.text()), (200, "node2:0".to_owned()));
    // Under mod_jk's own rules (Replay = mod_jk, recovery_options 0) the same POST is
    // not replayed either: node1 asked for body data (GET_BODY_CHUNK), which makes the
    // attempt unrecoverable in mod_jk (seen with real mod_jk in lb_modjk_differential).
    let mod_jk_rules = |s: &mut RunSettings| s.replay = jkgate::config::ini::ReplayPolicy::ModJk;
    let properties = lb(
        &[("node1", dying.addr.port()), ("node2", healthy.addr.port())],
        "worker.node1.retries=1\n",
    );
    let server = jkgate_with(&properties, &["/*=lb"], mod_jk_rules).await;
    let before = healthy.requests().len();
    let mut client = Client::connect(server.addr).await;
    let reply = client
        .request(
            "POST",
            "/order",
            &[("Cookie", "JSESSIONID=abc.node1")],
            Some(b"buy=1"),
        )
        .await;
    assert_eq!(reply.status, 502, "{reply:?}");
    assert_eq!(healthy.requests().len(), before);
    // A member that dies after the unsolicited first packet, before asking for more:
    // mod_jk replays the kept packet elsewhere; jkgate's safe default does not.
    let dies_early = Container::start(script(|mut conn: Conn| async move {
        if conn.request(LONG).await.is_some() {
            let _ = conn.recv(LONG).await;
        }
    }))
    .await;
    let properties = lb(
        &[
            ("node1", dies_early.addr.port()),
            ("node2", healthy.addr.port()),
        ],
        "worker.node1.retries=1\n",
    );
    let server = jkgate_with(&properties, &["/*=lb"], mod_jk_rules).await;
    let mut client = Client::connect(server.addr).await;
    let reply = client
        .request(
            "POST",
            "/order",
            &[("Cookie", "JSESSIONID=abc.node1")],
            Some(b"buy=1"),
        )
        .await;
    assert_eq!((reply.status, reply.text()), (200, "node2:5".to_owned()));
    let server = jkgate(&properties, &["/*=lb"]).await;
    let mut client = Client::connect(server.addr).await;
    let reply = client
        .request(
            "POST",
            "/order",
            &[("Cookie", "JSESSIONID=abc.node1")],
            Some(b"buy=1"),
        )
        .await;
    assert_eq!(reply.status, 502, "{reply:?}");
}

/// A member that reads the whole request, then closes the connection without answering
/// (a Tomcat killed while the request is in it).
async fn dies_before_answering() -> Container {
    Container::start(script(|mut conn: Conn| async move {
        if let Some(request) = conn.request(LONG).await {
            let _ = conn.read_body(&request, 8186).await;
        }
    }))
    .await
}

#[tokio::test]
async fn an_idempotent_request_without_a_body_goes_to_another_member_by_default() {
    let dying = dies_before_answering().await;
    let healthy = Container::start(echo_script("node2")).await;
    let properties = lb(
        &[("node1", dying.addr.port()), ("node2", healthy.addr.port())],
        "",
    );
    let on_node1 = [("Cookie", "JSESSIONID=abc.node1")];
    // (method, body, answered by node2 after node1 died with it)
    let cases: [(&str, Option<&[u8]>, bool); 6] = [
        ("GET", None, true),
        ("HEAD", None, true),
        ("DELETE", None, true),
        ("GET", Some(b"q"), false),
        ("POST", Some(b"buy=1"), false),
        ("PATCH", Some(b"x"), false),
    ];
    for (method, body, replayed) in cases {
        // A fresh jkgate each time: after one failure node1 is in error and gets nothing.
        let server = jkgate(&properties, &["/*=lb"]).await;
        let seen_by_node1 = dying.requests().len();
        let seen_by_node2 = healthy.requests().len();
        let reply = Client::connect(server.addr)
            .await
            .request(method, "/x", &on_node1, body)
            .await;
        let label = format!("{method} body={}", body.is_some());
        assert_eq!(dying.requests().len(), seen_by_node1 + 1, "{label}");
        if replayed {
            assert_eq!(reply.status, 200, "{label}: {reply:?}");
            assert_eq!(healthy.requests().len(), seen_by_node2 + 1, "{label}");
        } else {
            assert_eq!(reply.status, 502, "{label}: {reply:?}");
            assert_eq!(
                healthy.requests().len(),
                seen_by_node2,
                "{label} must not reach a second member"
            );
        }
    }
}

/// A member that answers the first request on each connection and dies with the second
/// one in it (reads it whole, then closes without answering): a Tomcat killed while a
/// request that came on a pooled connection is in it. `seen` gets `METHOD body-length` of
/// every request it read.
async fn dies_on_a_pooled_connection(seen: Arc<std::sync::Mutex<Vec<String>>>) -> Container {
    Container::start(script(move |mut conn: Conn| {
        let seen = seen.clone();
        async move {
            let mut served = 0;
            while let Some(request) = conn.request(LONG).await {
                let method = request.method.name().unwrap_or("?").to_owned();
                if served == 1 {
                    // As Tomcat: the body packet that came with the request (a short
                    // body is all in it), no GET_BODY_CHUNK; then the JVM is gone.
                    let mut length = 0;
                    if matches!(
                        request.content_length(),
                        jkgate::ajp::ContentLength::Length(n) if n > 0
                    ) && let Some(ProxyMessage::Body(data)) = conn.recv(LONG).await
                    {
                        length = data.len();
                    }
                    seen.lock().unwrap().push(format!("{method} {length}"));
                    return;
                }
                let Some(body) = conn.read_body(&request, 8186).await else {
                    return;
                };
                let length: usize = body.iter().map(Bytes::len).sum();
                seen.lock().unwrap().push(format!("{method} {length}"));
                conn.respond(200, &[("Content-Type", "text/plain")], b"node1")
                    .await;
                served += 1;
            }
        }
    }))
    .await
}

/// A request with a body that reached its member on a pooled connection, when the member
/// dies with it, is neither sent again on a new connection nor to another member, also when
/// its method is idempotent (PUT): `Replay = safe` never re-sends a body a member may have
/// received. A GET without a body is sent to the other member. (Regression: the retry on
/// a fresh connection, meant for a connection found dead before it took the request, was
/// taken for any idempotent method, body or not, and its connect error made the lb treat
/// the request as never sent, so the PUT went to node2.)
#[tokio::test]
async fn a_body_that_reached_a_member_on_a_pooled_connection_is_never_sent_again() {
    let healthy = Container::start(echo_script("node2")).await;
    let on_node1 = [("Cookie", "JSESSIONID=abc.node1")];
    // (method, body, answered by node2)
    let cases: [(&str, Option<&[u8]>, bool); 3] = [
        ("GET", None, true),
        ("PUT", Some(b"v=1"), false),
        ("DELETE", Some(b"why"), false),
    ];
    for (method, body, replayed) in cases {
        let label = format!("{method} body={}", body.is_some());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let node1 = dies_on_a_pooled_connection(seen.clone()).await;
        let properties = lb(
            &[("node1", node1.addr.port()), ("node2", healthy.addr.port())],
            "",
        );
        let server = jkgate(&properties, &["/*=lb"]).await;
        // A first request leaves a pooled connection to node1.
        let warm = get(server.addr, "/warm", &on_node1).await;
        assert_eq!(
            (warm.status, warm.text()),
            (200, "node1".to_owned()),
            "{label}"
        );
        // node1 goes away (no new connection gets through) but the pooled one stays open
        // until the next request is in it.
        let addr = node1.addr;
        drop(node1);
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(addr).await.is_ok() {
            assert!(std::time::Instant::now() < deadline, "node1 still accepts");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let seen_by_node2 = healthy.requests().len();
        let reply = Client::connect(server.addr)
            .await
            .request(method, "/x", &on_node1, body)
            .await;
        let length = body.map_or(0, <[u8]>::len);
        assert_eq!(
            *seen.lock().unwrap(),
            ["GET 0".to_owned(), format!("{method} {length}")],
            "{label}: node1 got the request once, on the pooled connection"
        );
        if replayed {
            assert_eq!(reply.status, 200, "{label}: {reply:?}");
            assert_eq!(healthy.requests().len(), seen_by_node2 + 1, "{label}");
        } else {
            assert_eq!(reply.status, 502, "{label}: {reply:?}");
            assert_eq!(
                healthy.requests().len(),
                seen_by_node2,
                "{label} must not reach a second member"
            );
        }
    }
}

/// The same on a direct worker: a PUT with a body that its member received on a pooled
/// connection is not sent again on a new connection to the same member (which would
/// execute it twice); a GET without a body is.
#[tokio::test]
async fn a_body_that_reached_a_direct_worker_on_a_pooled_connection_is_not_sent_again() {
    for (method, body, resent) in [("GET", None, true), ("PUT", Some(&b"v=1"[..]), false)] {
        let label = format!("{method} body={}", body.is_some());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let node1 = dies_on_a_pooled_connection(seen.clone()).await;
        let server = jkgate(&direct(node1.addr.port(), ""), &["/*=w"]).await;
        let warm = get(server.addr, "/warm", &[]).await;
        assert_eq!(warm.status, 200, "{label}");
        let reply = Client::connect(server.addr)
            .await
            .request(method, "/x", &[], body)
            .await;
        let length = body.map_or(0, <[u8]>::len);
        let once = ["GET 0".to_owned(), format!("{method} {length}")];
        if resent {
            assert_eq!(reply.status, 200, "{label}: {reply:?}");
            assert_eq!(
                *seen.lock().unwrap(),
                [&once[..], &[format!("{method} {length}")]].concat(),
                "{label}: sent again on a new connection"
            );
        } else {
            assert_eq!(reply.status, 502, "{label}: {reply:?}");
            assert_eq!(*seen.lock().unwrap(), once, "{label}: executed once");
        }
    }
}

#[tokio::test]
async fn a_member_that_refuses_or_resets_is_left_at_once_without_the_retry_pause() {
    let healthy = Container::start(echo_script("node2")).await;
    let dying = dies_before_answering().await;
    // A pause long enough that taking it even once shows.
    let slow_retries = "worker.lb.retry_interval=4000\nworker.node1.retry_interval=4000\n\
                        worker.node1.retries=3\n";
    for (what, node1_port) in [
        ("refused", dead_port()),
        ("reset mid-request", dying.addr.port()),
    ] {
        let properties = lb(
            &[("node1", node1_port), ("node2", healthy.addr.port())],
            slow_retries,
        );
        let server = jkgate(&properties, &["/*=lb"]).await;
        let started = std::time::Instant::now();
        let reply = get(server.addr, "/x", &[("Cookie", "JSESSIONID=abc.node1")]).await;
        let took = started.elapsed();
        assert_eq!(reply.status, 200, "{what}: {reply:?}");
        assert_eq!(reply.text(), "node2:0", "{what}");
        assert!(
            took < Duration::from_secs(2),
            "{what}: the request waited {took:?}, as if the 4 s retry pause was taken"
        );
    }
    // A direct ajp13 worker has nowhere else to go: its own retries keep their pause.
    let server = jkgate(
        &direct(
            dead_port(),
            "worker.w.retries=2\nworker.w.retry_interval=300\n",
        ),
        &["/*=w"],
    )
    .await;
    let (reply, took) = timed_get(server.addr, "/x").await;
    assert_eq!(reply.status, 503);
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

#[tokio::test]
async fn connect_failure_fails_over_for_any_method() {
    let healthy = Container::start(echo_script("node2")).await;
    let properties = lb(
        &[("node1", dead_port()), ("node2", healthy.addr.port())],
        "",
    );
    let server = jkgate(&properties, &["/*=lb"]).await;
    let mut client = Client::connect(server.addr).await;
    let reply = client
        .request(
            "POST",
            "/x",
            &[("Cookie", "JSESSIONID=s.node1")],
            Some(b"abc"),
        )
        .await;
    assert_eq!((reply.status, reply.text()), (200, "node2:3".to_owned()));
}

#[tokio::test]
async fn fail_on_status_hard_marks_the_member_and_soft_does_not() {
    let failing = Container::start(script(|mut conn: Conn| async move {
        while conn.request(LONG).await.is_some() {
            conn.respond(503, &[], b"overloaded").await;
        }
    }))
    .await;
    let healthy = Container::start(echo_script("node2")).await;
    // GET stays recoverable (16): the 503 is hidden by node2.
    let properties = lb(
        &[
            ("node1", failing.addr.port()),
            ("node2", healthy.addr.port()),
        ],
        "worker.node1.fail_on_status=503\nworker.node1.recovery_options=16\nworker.node1.retries=1\n",
    );
    let server = jkgate(&properties, &["/*=lb"]).await;
    let reply = get(server.addr, "/x", &[("Cookie", "JSESSIONID=a.node1")]).await;
    assert_eq!((reply.status, reply.text()), (200, "node2:0".to_owned()));
    // node1 is in error now: cookie-less requests all go to node2.
    let seen = failing.requests().len();
    for _ in 0..4 {
        assert_eq!(get(server.addr, "/y", &[]).await.text(), "node2:0");
    }
    assert_eq!(
        failing.requests().len(),
        seen,
        "an ERR member gets no traffic"
    );
    // Without a retry allowed the client gets 503, not the member's page.
    let properties = lb(
        &[
            ("node1", failing.addr.port()),
            ("node2", healthy.addr.port()),
        ],
        "worker.node1.fail_on_status=-503\nworker.node1.retries=1\n",
    );
    let server = jkgate(&properties, &["/*=lb"]).await;
    // A GET without a body is idempotent: it goes to node2 (jkgate's default replay rule).
    let reply = get(server.addr, "/x", &[("Cookie", "JSESSIONID=a.node1")]).await;
    assert_eq!((reply.status, reply.text()), (200, "node2:0".to_owned()));
    // A POST is not: the client gets 503, not the member's page, and node2 never sees it.
    let before = healthy.requests().len();
    let reply = Client::connect(server.addr)
        .await
        .request(
            "POST",
            "/x",
            &[("Cookie", "JSESSIONID=a.node1")],
            Some(b"hi"),
        )
        .await;
    assert_eq!(reply.status, 503);
    assert!(!reply.text().contains("overloaded"));
    assert_eq!(healthy.requests().len(), before);
    // Soft: node1 stays usable for cookie-less traffic.
    let seen = failing.requests().len();
    for _ in 0..4 {
        let _ = get(server.addr, "/y", &[]).await;
    }
    assert!(
        failing.requests().len() > seen,
        "a soft failure keeps the member OK"
    );
}

#[tokio::test]
async fn routing_cookie_activation_and_lbfactor() {
    let nodes = backends(&["node1", "node2"]).await;
    let ports = members(&nodes);
    // set_session_cookie: a request not routed by its session gets the route cookie.
    let server = jkgate(
        &lb(&ports, "worker.lb.set_session_cookie=true\n"),
        &["/*=lb"],
    )
    .await;
    let reply = get(server.addr, "/echo", &[]).await;
    let route = reply.line("route").unwrap();
    assert!(
        reply
            .headers_named("set-cookie")
            .contains(&format!("JSESSIONID=.{route};PATH=/;HttpOnly").as_str()),
        "{:?}",
        reply.headers
    );
    let sticky = get(server.addr, "/echo", &[("Cookie", "JSESSIONID=.node2")]).await;
    assert_eq!(sticky.line("route").as_deref(), Some("node2"));
    assert!(sticky.headers_named("set-cookie").is_empty());

    // Disabled: only sticky requests. Stopped: none at all.
    let server = jkgate(&lb(&ports, "worker.node2.activation=D\n"), &["/*=lb"]).await;
    for _ in 0..6 {
        assert_eq!(
            get(server.addr, "/e", &[]).await.line("route").as_deref(),
            Some("node1")
        );
    }
    let reply = get(server.addr, "/e", &[("Cookie", "JSESSIONID=z.node2")]).await;
    assert_eq!(reply.line("route").as_deref(), Some("node2"));
    assert_eq!(reply.line("attr.JK_LB_ACTIVATION").as_deref(), Some("DIS"));
    let server = jkgate(&lb(&ports, "worker.node2.activation=S\n"), &["/*=lb"]).await;
    let reply = get(server.addr, "/e", &[("Cookie", "JSESSIONID=z.node2")]).await;
    assert_eq!(reply.line("route").as_deref(), Some("node1"));
    // A mount can stop a member for its requests only.
    let server = jkgate(&lb(&ports, ""), &["/*=lb", "/only1/*=lb;stopped=node2"]).await;
    let reply = get(server.addr, "/only1/e", &[("Cookie", "JSESSIONID=z.node2")]).await;
    assert_eq!(reply.line("route").as_deref(), Some("node1"));

    // lbfactor 1:3 with method Request: exactly 25 % / 75 % of cookie-less requests.
    let server = jkgate(&lb(&ports, "worker.node2.lbfactor=3\n"), &["/*=lb"]).await;
    let mut node2 = 0;
    for _ in 0..200 {
        if get(server.addr, "/e", &[]).await.line("route").as_deref() == Some("node2") {
            node2 += 1;
        }
    }
    assert!((146..=154).contains(&node2), "node2 got {node2} of 200");
}

#[tokio::test]
async fn the_route_attribute_names_the_chosen_member() {
    let nodes = backends(&["node1", "node2"]).await;
    let server = jkgate(&lb(&members(&nodes), ""), &["/*=lb"]).await;
    let reply = get(server.addr, "/e", &[("Cookie", "JSESSIONID=q.node2")]).await;
    // The backend prints its own route first, then attribute 0x06 as `route=...`.
    let routes: Vec<&str> = reply
        .text()
        .leak()
        .lines()
        .filter(|l| l.starts_with("route="))
        .collect();
    assert_eq!(routes, ["route=node2", "route=node2"], "{}", reply.text());
    assert!(reply.text().contains("attr.JK_LB_ACTIVATION=ACT"));
}

#[tokio::test]
async fn busy_counts_return_to_zero_when_clients_vanish_mid_request() {
    let nodes = backends(&["node1", "node2"]).await;
    let server = jkgate(&lb(&members(&nodes), "worker.lb.method=B\n"), &["/*=lb"]).await;
    let Some(Target::Balanced(lb)) = server.gateway().workers.get("lb").cloned() else {
        panic!("lb registered");
    };
    // Clients that give up while the member is still working (before the head), and
    // clients that vanish while a streamed body is on its way (after the head).
    let mut clients = Vec::new();
    for i in 0..6 {
        let mut client = Client::connect(server.addr).await;
        let target = if i % 2 == 0 {
            "/slow?sleep=400"
        } else {
            "/big?gen=3000000&flush=1"
        };
        client
            .send(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .await;
        clients.push(client);
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let busy_now: u64 = lb.balancer().status().members.iter().map(|m| m.busy).sum();
    assert!(busy_now > 0, "requests are in flight");
    drop(clients);
    let deadline = tokio::time::Instant::now() + LONG;
    loop {
        let status = lb.balancer().status();
        let members_busy: u64 = status.members.iter().map(|m| m.busy).sum();
        let pools_busy: usize = lb.members().iter().map(|m| m.pool().busy()).sum();
        let values: u64 = status.members.iter().map(|m| m.lb_value).sum();
        if status.busy == 0 && members_busy == 0 && pools_busy == 0 && values == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "busy counts stuck: lb {} members {members_busy} pools {pools_busy} values {values}",
            status.busy
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And the lb still serves.
    assert_eq!(get(server.addr, "/e", &[]).await.status, 200);
}

#[tokio::test]
async fn jk_options_reject_unsafe_uri_and_forward_local_address() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let properties = direct(backend.addr.port(), "");
    let plain = jkgate(&properties, &["/*=w"]).await;
    let reply = get(plain.addr, "/a%255c/b", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.line("uri").as_deref(), Some("/a%255c/b"));
    assert_ne!(reply.line("attr.AJP_REMOTE_PORT").as_deref(), Some("0"));

    let jk = jkgate::config::ini::JkOptions::parse("+RejectUnsafeURI +ForwardLocalAddress")
        .expect("valid JkOptions")
        .0;
    let strict = jkgate_with(&properties, &["/*=w"], |s| s.options = jk).await;
    // `%25` decodes to `%`, `%5C` to `\`: such paths are not mapped.
    for unsafe_path in ["/a%255c/b", "/a%5Cb", "/a\\b"] {
        let reply = get(strict.addr, unsafe_path, &[]).await;
        assert_eq!(reply.status, 404, "{unsafe_path}");
    }
    let reply = get(strict.addr, "/a/b", &[]).await;
    assert_eq!(reply.status, 200);
    // ForwardLocalAddress: the server's address and port 0 stand in for the client's.
    assert_eq!(reply.line("attr.AJP_REMOTE_PORT").as_deref(), Some("0"));
    assert_eq!(reply.line("remote_addr").as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn the_forwarded_uri_is_the_path_httpd_would_hand_mod_jk() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let server = jkgate(&direct(backend.addr.port(), ""), &["/app/*=w"]).await;
    for (sent, forwarded) in [
        ("/app/x/../echo", "/app/echo"),
        ("/app/./a//b", "/app/a/b"),
        ("/app/%2e%2e/app/echo", "/app/echo"),
        ("/app;jsessionid=A.n1/echo", "/app;jsessionid=A.n1/echo"),
        ("/app/a%20b%3Bc", "/app/a%20b;c"),
    ] {
        let reply = get(server.addr, sent, &[]).await;
        assert_eq!(reply.status, 200, "{sent}");
        assert_eq!(reply.line("uri").as_deref(), Some(forwarded), "{sent}");
    }
    // An encoded slash is refused as httpd refuses it (AllowEncodedSlashes Off).
    assert_eq!(get(server.addr, "/app/a%2Fb", &[]).await.status, 404);
}

// ---- the connection pool: CPING modes, idle timeout, limits, reuse ------------------

/// A container that answers CPINGs and requests on every connection, and records what
/// happened on each connection (`<conn>:cping`, `<conn>:request`, `<conn>:closed`).
fn recording_script(
    events: Arc<std::sync::Mutex<Vec<String>>>,
    answer_cping: bool,
) -> container::Script {
    script(move |mut conn: Conn| {
        let events = events.clone();
        async move {
            let id = conn.id;
            loop {
                match conn.recv(Duration::from_secs(30)).await {
                    Some(ProxyMessage::CPing) => {
                        events.lock().unwrap().push(format!("{id}:cping"));
                        if answer_cping {
                            conn.send(ContainerMessage::CPong).await;
                        }
                    }
                    Some(ProxyMessage::ForwardRequest(_)) => {
                        events.lock().unwrap().push(format!("{id}:request"));
                        conn.request_done();
                        conn.respond(200, &[], format!("conn={id}").as_bytes())
                            .await;
                    }
                    _ => {
                        events.lock().unwrap().push(format!("{id}:closed"));
                        return;
                    }
                }
            }
        }
    })
}

fn events_of(events: &std::sync::Mutex<Vec<String>>) -> Vec<String> {
    events.lock().unwrap().clone()
}

#[tokio::test]
async fn ping_mode_connect_and_prepost_send_cping_before_requests() {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let backend = Container::start(recording_script(events.clone(), true)).await;
    // C: a CPING right after connecting; P: before each request on a reused connection.
    let server = jkgate(
        &direct(
            backend.addr.port(),
            "worker.w.ping_mode=CP\nworker.w.ping_timeout=500\n",
        ),
        &["/*=w"],
    )
    .await;
    let mut client = Client::connect(server.addr).await;
    for _ in 0..3 {
        let reply = client.request("GET", "/x", &[], None).await;
        assert_eq!((reply.status, reply.text()), (200, "conn=0".to_owned()));
    }
    assert_eq!(
        events_of(&events),
        [
            "0:cping",
            "0:request",
            "0:cping",
            "0:request",
            "0:cping",
            "0:request"
        ]
    );
}

#[tokio::test]
async fn a_member_that_does_not_answer_cping_is_unavailable() {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mute = Container::start(recording_script(events.clone(), false)).await;
    let healthy = Container::start(echo_script("node2")).await;
    let properties = lb(
        &[("node1", mute.addr.port()), ("node2", healthy.addr.port())],
        "worker.node1.connect_timeout=200\nworker.node1.retries=1\n",
    );
    let server = jkgate(&properties, &["/*=lb"]).await;
    // Sticky to node1, whose connector accepts but never answers CPING: nothing of the
    // request was sent, so node2 serves it, POST included.
    let mut client = Client::connect(server.addr).await;
    let reply = client
        .request(
            "POST",
            "/x",
            &[("Cookie", "JSESSIONID=a.node1")],
            Some(b"abc"),
        )
        .await;
    assert_eq!((reply.status, reply.text()), (200, "node2:3".to_owned()));
    assert!(events_of(&events).contains(&"0:cping".to_owned()));
    assert!(!events_of(&events).iter().any(|e| e.ends_with(":request")));
}

#[tokio::test]
async fn idle_connections_are_pinged_at_intervals_and_closed_after_the_pool_timeout() {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let backend = Container::start(recording_script(events.clone(), true)).await;
    // Interval CPING after 1 s idle; closed after 3 s idle (minsize 0).
    let server = jkgate(
        &direct(
            backend.addr.port(),
            "worker.w.connection_ping_interval=1\nworker.w.ping_timeout=500\n\
             worker.w.connection_pool_timeout=3\nworker.w.connection_pool_minsize=0\n",
        ),
        &["/*=w"],
    )
    .await;
    assert_eq!(get(server.addr, "/x", &[]).await.status, 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = events_of(&events);
        if seen.contains(&"0:closed".to_owned()) {
            let cping = seen.iter().position(|e| e == "0:cping");
            let closed = seen.iter().position(|e| e == "0:closed");
            assert!(cping.is_some() && cping < closed, "{seen:?}");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "idle connection never closed: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The next request opens a fresh connection without any error.
    let reply = get(server.addr, "/x", &[]).await;
    assert_eq!((reply.status, reply.text()), (200, "conn=1".to_owned()));
}

#[tokio::test]
async fn a_connection_the_member_closed_while_idle_is_replaced_quietly() {
    // The container closes each connection 100 ms after answering (keepAliveTimeout).
    let backend = Container::start(script(|mut conn: Conn| async move {
        let id = conn.id;
        if conn.request(LONG).await.is_some() {
            conn.request_done();
            conn.respond(200, &[], format!("conn={id}").as_bytes())
                .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }))
    .await;
    let server = jkgate(&direct(backend.addr.port(), ""), &["/*=w"]).await;
    for n in 0..3 {
        let reply = get(server.addr, "/x", &[]).await;
        assert_eq!((reply.status, reply.text()), (200, format!("conn={n}")));
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test]
async fn pool_size_limits_concurrency_and_acquire_timeout_answers_503() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let server = jkgate(
        &direct(
            backend.addr.port(),
            "worker.w.connection_pool_size=1\nworker.w.connection_acquire_timeout=200\n",
        ),
        &["/*=w"],
    )
    .await;
    let addr = server.addr;
    let slow = tokio::spawn(async move { get(addr, "/slow?sleep=1000", &[]).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = tokio::time::Instant::now();
    let refused = get(server.addr, "/fast", &[]).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(started.elapsed() >= Duration::from_millis(180));
    assert_eq!(slow.await.unwrap().status, 200);
    assert_eq!(get(server.addr, "/fast", &[]).await.status, 200);
    assert_eq!(
        backend
            .stats
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[tokio::test]
async fn requests_wait_in_line_for_a_full_pool_in_arrival_order() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    // One connection and no explicit acquire timeout: the default queue, not a 503.
    let server = jkgate(
        &direct(backend.addr.port(), "worker.w.connection_pool_size=1\n"),
        &["/*=w"],
    )
    .await;
    let done = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut clients = Vec::new();
    for i in 0..6 {
        let (addr, done) = (server.addr, done.clone());
        clients.push(tokio::spawn(async move {
            let reply = get(addr, &format!("/q{i}?sleep=150"), &[]).await;
            done.lock().unwrap().push(i);
            reply.status
        }));
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for client in clients {
        assert_eq!(client.await.unwrap(), 200);
    }
    assert_eq!(
        *done.lock().unwrap(),
        [0, 1, 2, 3, 4, 5],
        "served in arrival order"
    );
}

#[tokio::test]
async fn the_lb_prefers_a_member_with_a_free_connection_to_queueing() {
    let nodes = backends(&["node1", "node2"]).await;
    // node1 is preferred (distance 0) and has a single connection.
    let server = jkgate(
        &lb(
            &members(&nodes),
            "worker.node1.connection_pool_size=1\nworker.node2.distance=1\n",
        ),
        &["/*=lb"],
    )
    .await;
    let idle = get(server.addr, "/a", &[]).await;
    assert_eq!(idle.line("route").as_deref(), Some("node1"));
    let addr = server.addr;
    let slow = tokio::spawn(async move { get(addr, "/slow?sleep=800", &[]).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    // node1's connection is busy: a request free to go anywhere goes to node2 now.
    let (moved, took) = timed_get(server.addr, "/b").await;
    assert_eq!(moved.line("route").as_deref(), Some("node2"), "{moved:?}");
    assert!(took < Duration::from_millis(500), "it queued: {took:?}");
    let slow = slow.await.unwrap();
    assert_eq!(slow.line("route").as_deref(), Some("node1"));
    // A request whose session lives on node1 waits for node1 instead.
    let slow = tokio::spawn(async move { get(addr, "/slow?sleep=600", &[]).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let sticky = get(server.addr, "/c", &[("Cookie", "JSESSIONID=s.node1")]).await;
    assert_eq!(sticky.status, 200);
    assert_eq!(sticky.line("route").as_deref(), Some("node1"));
    assert_eq!(slow.await.unwrap().status, 200);
}

#[tokio::test]
async fn reuse_only_after_end_response_said_so_and_never_with_disable_reuse() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let connections = || {
        backend
            .stats
            .connections
            .load(std::sync::atomic::Ordering::SeqCst)
    };
    let server = jkgate(&direct(backend.addr.port(), ""), &["/*=w"]).await;
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/x", &[]).await.status, 200);
    }
    assert_eq!(connections(), 1, "reused after END_RESPONSE(reuse=1)");
    // END_RESPONSE(reuse=0): the connection is dropped after the response, so the
    // request after each such one needs a new connection.
    for _ in 0..2 {
        assert_eq!(
            get(server.addr, "/x?misbehave=no-reuse", &[]).await.status,
            200
        );
    }
    assert_eq!(get(server.addr, "/x", &[]).await.status, 200);
    assert_eq!(connections(), 3);
    // JkOptions DisableReuse: a connection per request.
    let backend2 = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let server = jkgate_with(&direct(backend2.addr.port(), ""), &["/*=w"], |s| {
        s.options.disable_reuse = true
    })
    .await;
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/x", &[]).await.status, 200);
    }
    assert_eq!(
        backend2
            .stats
            .connections
            .load(std::sync::atomic::Ordering::SeqCst),
        3
    );
}
