//! Reload in-process, with no system package: scripted AJP13 containers that count their
//! connections show what the real-Tomcat test (`reload_tomcat.rs`) cannot see from outside —
//! a member whose settings did not change keeps its pooled connection across a reload, a
//! removed member's pool is closed once nothing uses it, listeners open and close, and a
//! reload that fails leaves the running gateway in place.
#![cfg(feature = "proxy")]

#[path = "support/client.rs"]
mod client;
#[path = "support/container.rs"]
mod container;
#[path = "support/in_process.rs"]
mod in_process;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use client::Client;
use container::{Conn, Container, script};
use jkgate::app::Jkgate;
use jkgate::config::{ConfigError, Listener, RunSettings};

/// A container that answers `200 <label>` on each request and counts the connections that
/// ended (closed by jkgate).
async fn counting(label: &'static str, closed: Arc<AtomicUsize>) -> Container {
    Container::start(script(move |mut conn: Conn| {
        let closed = closed.clone();
        async move {
            while let Some(request) = conn.request(Duration::from_secs(30)).await {
                if conn.read_body(&request, 8186).await.is_none()
                    || !conn.respond(200, &[], label.as_bytes()).await
                {
                    break;
                }
            }
            closed.fetch_add(1, Ordering::SeqCst);
        }
    }))
    .await
}

fn lb(members: &[(&str, &Container)]) -> String {
    let mut text = String::from("worker.list=lb\nworker.lb.type=lb\n");
    let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
    text.push_str(&format!("worker.lb.balance_workers={}\n", names.join(",")));
    for (name, container) in members {
        text.push_str(&format!(
            "worker.{name}.host=127.0.0.1\nworker.{name}.port={}\n",
            container.addr.port()
        ));
    }
    text
}

/// GET `/x` sticky to `route` on one keep-alive client; the body says who answered.
async fn sticky(client: &mut Client, route: &str) -> (u16, String) {
    let cookie = format!("JSESSIONID=abc.{route}");
    let reply = client
        .request("GET", "/x", &[("Cookie", cookie.as_str())], None)
        .await;
    (
        reply.status,
        String::from_utf8_lossy(&reply.body).into_owned(),
    )
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the next reload reads, as jkgate would read its configuration files: settings, or
/// an error (given once).
type Next = Arc<Mutex<Result<RunSettings, Option<ConfigError>>>>;

async fn start(first: RunSettings) -> (Jkgate, Next) {
    let next: Next = Arc::new(Mutex::new(Ok(first.clone())));
    let source = {
        let next = next.clone();
        Box::new(move || match &mut *next.lock().unwrap() {
            Ok(settings) => Ok(settings.clone()),
            Err(error) => Err(error.take().expect("one reload per error")),
        })
    };
    (Jkgate::start(first, source).await.expect("starts"), next)
}

#[tokio::test]
async fn reload_keeps_unchanged_members_pools_and_closes_removed_ones() {
    let closed = [(); 3].map(|_| Arc::new(AtomicUsize::new(0)));
    let node1 = counting("node1", closed[0].clone()).await;
    let node2 = counting("node2", closed[1].clone()).await;
    let node3 = counting("node3", closed[2].clone()).await;
    let first = in_process::settings(&lb(&[("node1", &node1), ("node2", &node2)]), &["/*=lb"]);
    let (mut jkgate, next) = start(first).await;
    let mut client = Client::connect(jkgate.addr()).await;
    for _ in 0..3 {
        assert_eq!(sticky(&mut client, "node1").await, (200, "node1".into()));
        assert_eq!(sticky(&mut client, "node2").await, (200, "node2".into()));
    }
    assert_eq!((node1.connections(), node2.connections()), (1, 1));

    // node2 leaves, node3 joins; node1's settings stay as they were.
    *next.lock().unwrap() = Ok(in_process::settings(
        &lb(&[("node1", &node1), ("node3", &node3)]),
        &["/*=lb"],
    ));
    assert_eq!(jkgate.reload().await.expect("reload"), 2);
    for _ in 0..3 {
        assert_eq!(sticky(&mut client, "node1").await, (200, "node1".into()));
    }
    assert_eq!(
        node1.connections(),
        1,
        "node1 keeps its pooled connection across the reload"
    );
    assert_eq!(closed[0].load(Ordering::SeqCst), 0);
    eventually("node2's pooled connection to close", || {
        closed[1].load(Ordering::SeqCst) == 1
    })
    .await;
    // node2's sessions go elsewhere, without an error.
    let (status, body) = sticky(&mut client, "node2").await;
    assert_eq!(status, 200);
    assert!(body == "node1" || body == "node3", "{body}");
    assert_eq!(node2.connections(), 1, "nothing reaches the removed member");
    assert_eq!(sticky(&mut client, "node3").await, (200, "node3".into()));
    jkgate.shutdown().await;
}

#[tokio::test]
async fn reload_opens_and_closes_listeners_and_a_failed_one_changes_nothing() {
    let closed = Arc::new(AtomicUsize::new(0));
    let node1 = counting("node1", closed).await;
    let properties = lb(&[("node1", &node1)]);
    let first = in_process::settings(&properties, &["/*=lb"]);
    let (mut jkgate, next) = start(first.clone()).await;
    let old = jkgate.addr();

    // A second listener is opened, on another loopback address.
    let mut second = first.clone();
    second.listeners.push(Listener {
        addr: "127.0.0.2:0".parse().unwrap(),
        tls: false,
    });
    *next.lock().unwrap() = Ok(second);
    assert_eq!(jkgate.reload().await.expect("reload"), 2);
    let addrs = jkgate.addrs();
    assert_eq!(addrs.len(), 2, "{addrs:?}");
    assert_eq!(addrs[0].0, old, "the kept listener keeps its socket");
    let added = addrs[1].0;
    for addr in [old, added] {
        let reply = client::get(addr, "/x", &[]).await;
        assert_eq!(
            (reply.status, reply.body),
            (200, Bytes::from("node1").to_vec())
        );
    }

    // A broken configuration: nothing changes, the same gateway serves on.
    let gateway = jkgate.gateway();
    *next.lock().unwrap() = Err(Some(
        RunSettings::from_workers_text(
            "broken.properties",
            "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=\n",
            &["/*=lb"],
            old,
        )
        .expect_err("an lb without members is refused"),
    ));
    let error = jkgate.reload().await.expect_err("the reload fails");
    assert!(error.to_string().contains("broken.properties"), "{error}");
    assert!(Arc::ptr_eq(&gateway, &jkgate.gateway()));
    assert_eq!(jkgate.generation().number, 2);
    assert_eq!(jkgate.addrs().len(), 2);
    assert_eq!(
        jkgate.generation().reloads.last_failure().as_deref(),
        Some(error.to_string().as_str())
    );

    // The first listener is dropped: its port refuses connections at once.
    let mut third = first.clone();
    third.listeners = vec![Listener {
        addr: "127.0.0.2:0".parse().unwrap(),
        tls: false,
    }];
    *next.lock().unwrap() = Ok(third);
    assert_eq!(jkgate.reload().await.expect("reload"), 3);
    assert!(jkgate.generation().reloads.last_failure().is_none());
    assert_eq!(jkgate.addrs(), [(added, false)]);
    eventually("the removed listener to refuse connections", || {
        std::net::TcpStream::connect(old).is_err()
    })
    .await;
    assert_eq!(client::get(added, "/x", &[]).await.status, 200);
    jkgate.shutdown().await;
}
