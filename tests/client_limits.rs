//! Client limits, each on its own, against jkgate in-process with a scripted AJP13 container
//! (no system package): `RequestReadTimeout` (header phase, its MinRate extension, body
//! phase), `KeepAliveTimeout`, `LimitRequestLine` / `LimitRequestFieldSize` /
//! `LimitRequestFields`, `LimitRequestBody` (declared and streamed), `MaxConnections`, a
//! reload that changes them, and jkgate.ini's parsing of the keys.
//! The 4,000-connection slow-headers case is `client_load.rs`.
#![cfg(feature = "proxy")]

#[path = "support/client.rs"]
mod client;
#[path = "support/container.rs"]
mod container;
#[path = "support/in_process.rs"]
mod in_process;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use client::Client;
use container::{Conn, Container, Script, script};
use in_process::Running;
use jkgate::ajp::ProxyMessage;
use jkgate::app::Jkgate;
use jkgate::config::RunSettings;
use jkgate::config::limits::{ClientLimits, RateTimeout};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Answers `200 ok:<body bytes>` to every request, after 1.5 s for a path under `/slow`.
fn app() -> Script {
    script(|mut conn: Conn| async move {
        while let Some(request) = conn.request(Duration::from_secs(60)).await {
            let Some(body) = conn.read_body(&request, 8186).await else {
                return;
            };
            if request
                .req_uri
                .as_deref()
                .is_some_and(|uri| uri.starts_with(b"/slow"))
            {
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            let total: usize = body.iter().map(Bytes::len).sum();
            let text = format!("ok:{total}");
            if !conn.respond(200, &[], text.as_bytes()).await {
                return;
            }
        }
    })
}

fn workers(container: &Container) -> String {
    format!(
        "worker.list=w\nworker.w.type=ajp13\nworker.w.host=127.0.0.1\nworker.w.port={}\n",
        container.addr.port()
    )
}

/// jkgate in front of [`app`], with the limits `change` sets.
async fn gate(change: impl FnOnce(&mut ClientLimits)) -> (Running, Container) {
    let container = Container::start(app()).await;
    let mut settings = in_process::settings(&workers(&container), &["/*=w"]);
    change(&mut settings.limits);
    (in_process::start(settings).await, container)
}

fn fixed(seconds: u64) -> Option<RateTimeout> {
    Some(RateTimeout {
        initial: Duration::from_secs(seconds),
        max: None,
        min_rate: None,
    })
}

/// Body bytes the container received, over every request.
fn body_bytes_seen(container: &Container) -> usize {
    container
        .received()
        .iter()
        .map(|r| match &r.message {
            ProxyMessage::Body(data) => data.len(),
            _ => 0,
        })
        .sum()
}

#[tokio::test]
async fn a_request_head_sent_too_slowly_is_closed_at_the_header_timeout() {
    let (gate, container) = gate(|l| l.read_timeout.header = fixed(1)).await;
    let mut partial = Client::connect(gate.addr).await;
    partial.send(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
    let mut silent = Client::connect(gate.addr).await;
    let sent = Instant::now();
    assert!(
        !partial.closed_within(Duration::from_millis(700)).await,
        "closed before the header timeout"
    );
    assert!(
        partial.closed_within(Duration::from_secs(3)).await,
        "still open 3.7 s after a 1 s header timeout"
    );
    let after = sent.elapsed();
    assert!(
        after >= Duration::from_millis(900),
        "closed after {after:?}"
    );
    // A client that connects and never sends a byte is held to the same timeout.
    assert!(silent.closed_within(Duration::from_secs(2)).await);
    // A complete head in time is served.
    let reply = client::get(gate.addr, "/x", &[]).await;
    assert_eq!((reply.status, reply.text()), (200, "ok:0".to_owned()));
    assert_eq!(container.requests().len(), 1);
    gate.shutdown().await;
}

/// mod_reqtimeout's `header=1-3,MinRate=10`: bytes arriving at 40 bytes/s keep the
/// connection past the first second, but not past the maximum.
#[tokio::test]
async fn min_rate_extends_the_header_timeout_up_to_its_maximum() {
    let (gate, _container) = gate(|l| {
        l.read_timeout.header = Some(RateTimeout {
            initial: Duration::from_secs(1),
            max: Some(Duration::from_secs(3)),
            min_rate: Some(10),
        })
    })
    .await;
    let mut stream = TcpStream::connect(gate.addr).await.expect("connect");
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let closed_at = loop {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "still open after 6 s with a 3 s maximum"
        );
        if stream.write_all(b"X-Drip: ab").await.is_err() {
            break started.elapsed();
        }
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(250), stream.read(&mut byte)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break started.elapsed(),
            Ok(Ok(_)) => panic!("an answer to an incomplete head"),
            Err(_) => {}
        }
    };
    assert!(
        closed_at >= Duration::from_millis(2700) && closed_at < Duration::from_millis(4500),
        "closed after {closed_at:?}; expected about 3 s (1 s extended by the rate, capped at 3 s)"
    );
    gate.shutdown().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_and_an_active_one_is_not() {
    let (gate, _container) = gate(|l| l.keep_alive_timeout = Duration::from_secs(1)).await;
    let mut idle = Client::connect(gate.addr).await;
    assert_eq!(idle.request("GET", "/a", &[], None).await.status, 200);
    let answered = Instant::now();

    // Requests 400 ms apart for 2.4 s, then one answered after 1.5 s: the same connection.
    let mut active = Client::connect(gate.addr).await;
    for _ in 0..6 {
        let reply = active.request("GET", "/b", &[], None).await;
        assert_eq!(reply.status, 200);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let reply = active.request("GET", "/slow", &[], None).await;
    assert_eq!(reply.status, 200, "a slow answer is not an idle connection");

    assert!(
        idle.closed_within(Duration::from_secs(2)).await,
        "the idle connection is still open {:?} after its answer",
        answered.elapsed()
    );
    let idle_for = answered.elapsed();
    assert!(idle_for >= Duration::from_millis(900), "{idle_for:?}");
    assert_eq!(active.request("GET", "/c", &[], None).await.status, 200);
    gate.shutdown().await;
}

#[tokio::test]
async fn oversized_heads_are_refused_with_httpd_statuses_before_the_member() {
    let (gate, container) = gate(|l| {
        l.fields = 10;
        l.field_size = 100;
        l.request_line = 100;
    })
    .await;
    let addr = gate.addr;
    let status = |target: String, headers: Vec<(String, String)>| async move {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let mut client = Client::connect(addr).await;
        let reply = client.request("GET", &target, &headers, None).await;
        if reply.status != 200 {
            assert!(
                client.closed_within(Duration::from_secs(2)).await,
                "connection left open after {}",
                reply.status
            );
        }
        reply.status
    };
    let numbered = |n: usize, len: usize| -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("X-H{i}"), "v".repeat(len)))
            .collect()
    };
    // Host plus 9: exactly LimitRequestFields; one more is refused (hyper's 431).
    assert_eq!(status("/".into(), numbered(9, 1)).await, 200);
    assert_eq!(status("/".into(), numbered(10, 1)).await, 431);
    // `X-Big: ` + 93 bytes = 100: at LimitRequestFieldSize; one more byte: httpd's 400.
    let big = |len: usize| vec![("X-Big".to_owned(), "b".repeat(len))];
    assert_eq!(status("/".into(), big(93)).await, 200);
    assert_eq!(status("/".into(), big(94)).await, 400);
    // `GET ` + target + ` HTTP/1.1` = 100: at LimitRequestLine; one more: 414.
    let target = |len: usize| format!("/{}", "p".repeat(len - 1));
    assert_eq!(status(target(87), vec![]).await, 200);
    assert_eq!(status(target(88), vec![]).await, 414);
    // A head larger than hyper's smallest buffer (8 KiB) never completes: 431.
    assert_eq!(status("/".into(), numbered(9, 1000)).await, 431);
    assert_eq!(
        container.requests().len(),
        3,
        "only the requests within the limits reached the member"
    );
    gate.shutdown().await;
}

#[tokio::test]
async fn a_body_over_limit_request_body_gets_413() {
    let (gate, container) = gate(|l| l.body = Some(1000)).await;
    let mut client = Client::connect(gate.addr).await;
    let reply = client
        .request("POST", "/up", &[], Some(&[b'a'; 1000]))
        .await;
    assert_eq!((reply.status, reply.text()), (200, "ok:1000".to_owned()));

    // Declared too long: refused before anything reaches the member, body unread.
    let mut client = Client::connect(gate.addr).await;
    client
        .send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n")
        .await;
    let reply = client.read_reply(false).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.header("connection"), Some("close"));
    assert!(client.closed_within(Duration::from_secs(2)).await);
    assert_eq!(container.requests().len(), 1, "the member never saw it");

    // Chunked: cut off once more than the limit arrived; the member got at most the limit.
    let before = body_bytes_seen(&container);
    let mut client = Client::connect(gate.addr).await;
    let chunk = format!("258\r\n{}\r\n", "c".repeat(600));
    client
        .send(
            format!(
                "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    let reply = client.read_reply(false).await;
    assert_eq!(reply.status, 413, "{}", reply.text());
    assert!(client.closed_within(Duration::from_secs(2)).await);
    let seen = body_bytes_seen(&container) - before;
    assert!(seen <= 1000, "the member received {seen} body bytes");

    // Unlimited (httpd's 0): the same chunked body goes through.
    gate.shutdown().await;
    let (gate, _container) = gate_unlimited().await;
    let mut client = Client::connect(gate.addr).await;
    client
        .send(
            format!(
                "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n"
            )
            .as_bytes(),
        )
        .await;
    let reply = client.read_reply(false).await;
    assert_eq!((reply.status, reply.text()), (200, "ok:1200".to_owned()));
    gate.shutdown().await;
}

async fn gate_unlimited() -> (Running, Container) {
    gate(|l| l.body = None).await
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_closed_at_the_body_timeout() {
    let (gate, _container) = gate(|l| l.read_timeout.body = fixed(1)).await;
    let mut client = Client::connect(gate.addr).await;
    client
        .send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .await;
    let sent = Instant::now();
    // The member waits for the rest; jkgate gives up on the client after 1 s. Whatever
    // jkgate says (its 400 page for the cut-short body, or nothing), the connection ends.
    let ended = loop {
        assert!(sent.elapsed() < Duration::from_secs(4), "still open");
        if client.closed_within(Duration::from_millis(100)).await {
            break sent.elapsed();
        }
    };
    assert!(ended >= Duration::from_millis(900), "{ended:?}");
    gate.shutdown().await;
}

#[tokio::test]
async fn max_connections_holds_the_next_client_in_the_backlog_until_one_closes() {
    let (gate, _container) = gate(|l| {
        l.max_connections = 2;
        l.keep_alive_timeout = Duration::from_secs(60);
    })
    .await;
    let mut a = Client::connect(gate.addr).await;
    let mut b = Client::connect(gate.addr).await;
    assert_eq!(a.request("GET", "/a", &[], None).await.status, 200);
    assert_eq!(b.request("GET", "/b", &[], None).await.status, 200);
    assert_eq!(gate.gateway().connections.open(), 2);

    // The third connects (the kernel's backlog takes it) but is not served.
    let mut c = Client::connect(gate.addr).await;
    c.send(b"GET /c HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(800), c.try_read_reply(false))
            .await
            .is_err(),
        "the third client was served with two connections open and MaxConnections 2"
    );
    drop(a);
    let freed = Instant::now();
    let reply = c.read_reply(false).await;
    assert_eq!(reply.status, 200);
    assert!(
        freed.elapsed() < Duration::from_secs(2),
        "{:?}",
        freed.elapsed()
    );
    assert_eq!(b.request("GET", "/b", &[], None).await.status, 200);
    gate.shutdown().await;
}

/// A reload's limits apply to connections accepted after it; the cap is resized in place.
#[tokio::test]
async fn a_reload_applies_new_limits_to_new_connections() {
    let container = Container::start(app()).await;
    let mut first = in_process::settings(&workers(&container), &["/*=w"]);
    first.limits.max_connections = 1;
    first.limits.keep_alive_timeout = Duration::from_secs(60);
    let next: Arc<Mutex<RunSettings>> = Arc::new(Mutex::new(first.clone()));
    let source = {
        let next = next.clone();
        Box::new(move || Ok(next.lock().unwrap().clone()))
    };
    let mut jkgate = Jkgate::start(first, source).await.expect("starts");
    let addr = jkgate.addr();
    let many: Vec<(String, String)> = (0..6).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();

    let mut old = Client::connect(addr).await;
    assert_eq!(old.request("GET", "/", &many, None).await.status, 200);
    let mut waiting = Client::connect(addr).await;
    waiting.send(b"GET /w HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(
        tokio::time::timeout(Duration::from_millis(500), waiting.try_read_reply(false))
            .await
            .is_err(),
        "served beyond MaxConnections 1"
    );

    {
        let mut next = next.lock().unwrap();
        next.limits.max_connections = 3;
        next.limits.fields = 5;
    }
    jkgate.reload().await.expect("reload");
    // The raised cap lets the waiting client in at once.
    assert_eq!(waiting.read_reply(false).await.status, 200);
    assert_eq!(jkgate.gateway().connections.limit(), 3);
    // A new connection is held to the new LimitRequestFields; the old one keeps its own.
    let mut new = Client::connect(addr).await;
    assert_eq!(new.request("GET", "/", &many, None).await.status, 431);
    assert_eq!(old.request("GET", "/", &many, None).await.status, 200);
    jkgate.shutdown().await;
}

#[test]
fn jkgate_ini_keys_are_read_and_bad_values_named_by_line() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("client_limits_ini");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("workers.properties"),
        "worker.list=w\nworker.w.host=127.0.0.1\nworker.w.port=8009\n",
    )
    .unwrap();
    let ini = dir.join("jkgate.ini");
    let sources = jkgate::config::Sources {
        config: Some(ini.clone()),
        mounts: vec!["/*=w".into()],
        ..Default::default()
    };
    std::fs::write(
        &ini,
        "Listen = 127.0.0.1:0\n\
         RequestReadTimeout = header=10-30,MinRate=1000 body=0\n\
         KeepAliveTimeout = 300ms\n\
         LimitRequestLine = 4000\n\
         LimitRequestFieldSize = 2000\n\
         LimitRequestFields = 50\n\
         LimitRequestBody = 0\n\
         MaxConnections = 500\n",
    )
    .unwrap();
    let settings = jkgate::config::resolve_settings(&sources).expect("valid");
    let limits = &settings.limits;
    assert_eq!(
        limits.read_timeout.header,
        Some(RateTimeout {
            initial: Duration::from_secs(10),
            max: Some(Duration::from_secs(30)),
            min_rate: Some(1000),
        })
    );
    assert_eq!(limits.read_timeout.body, None);
    assert_eq!(limits.keep_alive_timeout, Duration::from_millis(300));
    assert_eq!(
        (limits.request_line, limits.field_size, limits.fields),
        (4000, 2000, 50)
    );
    assert_eq!(limits.body, None);
    assert_eq!(limits.max_connections, 500);

    // Without the keys: httpd's defaults.
    std::fs::write(&ini, "Listen = 127.0.0.1:0\n").unwrap();
    let settings = jkgate::config::resolve_settings(&sources).expect("valid");
    assert_eq!(settings.limits, ClientLimits::default());
    assert_eq!(settings.limits.body, Some(1 << 30));
    assert_eq!(settings.limits.keep_alive_timeout, Duration::from_secs(5));

    std::fs::write(
        &ini,
        "# limits\nListen = 127.0.0.1:0\n\nKeepAliveTimeout = soon\nMaxConnections = 0\n",
    )
    .unwrap();
    let error = jkgate::config::resolve_settings(&sources)
        .expect_err("invalid")
        .to_string();
    let file = ini.display().to_string();
    assert!(
        error.contains(&format!("{file}:4: KeepAliveTimeout: `soon` is not a time")),
        "{error}"
    );
    assert!(
        error.contains(&format!(
            "{file}:5: MaxConnections: `0` is not a whole number from 1 to 10000000"
        )),
        "{error}"
    );
}
