//! The metrics and the health check probe with no system package: embedded AJP13 backends
//! behind jkgate in-process. Pool waits and the response-time histogram follow requests that
//! queue for a member's only connection; `MetricsPath` / `MetricsListen` come and go with a
//! reload; `jkgate demo` serves `/metrics` next to `/jkstatus`; a check passes or fails on
//! status and body.
#![cfg(feature = "proxy")]

#[path = "support/client.rs"]
mod client;
#[path = "support/in_process.rs"]
mod in_process;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use client::get;
use jkgate::ajp::PacketSize;
use jkgate::app::Jkgate;
use jkgate::backend::health::{CheckFailure, probe};
use jkgate::backend::settings::MemberConfig;
use jkgate::config::health::{ExpectStatus, HealthCheck};
use jkgate::config::{MetricsSettings, RunSettings};
use jkgate::demo::EmbeddedBackend;

/// The value of the series `name{labels...}` in a classic-text scrape.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
        if series_name == name
            && labels
                .iter()
                .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")))
        {
            return value.parse().expect("a number");
        }
    }
    panic!("no sample {name}{labels:?} in:\n{text}");
}

async fn scrape(addr: SocketAddr) -> String {
    let reply = get(addr, "/metrics", &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.text()
}

fn one_member(port: u16) -> String {
    format!(
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=node1\n\
         worker.node1.type=ajp13\nworker.node1.host=127.0.0.1\nworker.node1.port={port}\n\
         worker.node1.connection_pool_size=1\nworker.node1.connection_acquire_timeout=5000\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_queued_for_the_only_connection_count_as_pool_waits() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let mut settings = in_process::settings(&one_member(backend.addr.port()), &["/app/*=lb"]);
    settings.metrics = Some(MetricsSettings {
        path: "/metrics".to_owned(),
        listen: None,
    });
    let server = in_process::start(settings).await;
    let addr = server.addr;
    let node = [("worker", "lb"), ("member", "node1")];
    let before = scrape(addr).await;
    assert_eq!(
        sample(&before, "jkgate_member_pool_waits_total", &node),
        0.0
    );

    // Three requests of 300 ms at once on one connection: two of them wait.
    let slow =
        (0..3).map(|_| tokio::spawn(async move { get(addr, "/app/x?sleep=300", &[]).await }));
    let mut waiting_seen = 0.0f64;
    let tasks: Vec<_> = slow.collect();
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = scrape(addr).await;
        waiting_seen = waiting_seen.max(sample(&now, "jkgate_member_pool_waiting", &node));
    }
    for task in tasks {
        assert_eq!(task.await.expect("request").status, 200);
    }
    let after = scrape(addr).await;
    assert!(waiting_seen >= 1.0, "nobody was seen waiting");
    assert_eq!(sample(&after, "jkgate_member_pool_waiting", &node), 0.0);
    assert_eq!(sample(&after, "jkgate_member_pool_waits_total", &node), 2.0);
    let waited = sample(&after, "jkgate_member_pool_wait_seconds_total", &node);
    // One waited about 300 ms, the other about 600 ms.
    assert!((0.8..3.0).contains(&waited), "waited {waited} s");
    assert_eq!(
        sample(&after, "jkgate_member_pool_wait_timeouts_total", &node),
        0.0
    );
    assert_eq!(sample(&after, "jkgate_member_requests_total", &node), 3.0);
    // Each attempt's time includes its wait for the connection: about 0.3, 0.6 and 0.9 s.
    let le = |bound: &'static str| {
        sample(
            &after,
            "jkgate_member_response_seconds_bucket",
            &[("member", "node1"), ("le", bound)],
        )
    };
    assert_eq!(le("0.25"), 0.0);
    assert_eq!(le("0.5"), 1.0);
    assert_eq!(le("1.0"), 3.0);
    assert_eq!(le("+Inf"), 3.0);
    assert_eq!(
        sample(&after, "jkgate_member_response_seconds_count", &node),
        3.0
    );
    let sum = sample(&after, "jkgate_member_response_seconds_sum", &node);
    assert!((1.7..2.6).contains(&sum), "sum {sum}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listener_and_path_follow_reloads() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let base = in_process::settings(&one_member(backend.addr.port()), &["/app/*=lb"]);
    let with = |metrics: Option<MetricsSettings>| RunSettings {
        metrics,
        ..base.clone()
    };
    let next = Arc::new(Mutex::new(with(Some(MetricsSettings {
        path: "/metrics".to_owned(),
        listen: Some("127.0.0.1:0".parse().unwrap()),
    }))));
    let source = next.clone();
    let first = next.lock().unwrap().clone();
    let mut jkgate = Jkgate::start(first, Box::new(move || Ok(source.lock().unwrap().clone())))
        .await
        .expect("starts");
    let main = jkgate.addr();
    let metrics = jkgate.metrics_addr().expect("a metrics listener");
    assert_ne!(main, metrics);
    // Only on their own listener, which serves nothing else.
    assert_eq!(get(main, "/metrics", &[]).await.status, 404);
    assert!(
        scrape(metrics)
            .await
            .contains("jkgate_member_requests_total")
    );
    assert_eq!(get(metrics, "/app/x", &[]).await.status, 404);

    // Reloaded onto the main listeners' path: the dedicated one closes.
    *next.lock().unwrap() = with(Some(MetricsSettings {
        path: "/stats/prometheus".to_owned(),
        listen: None,
    }));
    jkgate.reload().await.expect("reload");
    assert!(jkgate.metrics_addr().is_none());
    let reply = get(main, "/stats/prometheus", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(metrics).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(tokio::net::TcpStream::connect(metrics).await.is_err());

    // And off.
    *next.lock().unwrap() = with(None);
    jkgate.reload().await.expect("reload");
    assert_eq!(get(main, "/stats/prometheus", &[]).await.status, 404);
    jkgate.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_metrics_next_to_the_status_worker() {
    let demo = jkgate::demo::start("127.0.0.1:0".parse().unwrap())
        .await
        .expect("demo starts");
    let addr = demo.jkgate.addr();
    for _ in 0..4 {
        assert_eq!(get(addr, "/any", &[]).await.status, 200);
    }
    assert_eq!(get(addr, "/jkstatus?mime=json", &[]).await.status, 200);
    let text = scrape(addr).await;
    let total: f64 = ["node1", "node2"]
        .iter()
        .map(|n| {
            sample(
                &text,
                "jkgate_member_requests_total",
                &[("worker", "balancer"), ("member", n)],
            )
        })
        .sum();
    assert_eq!(total, 4.0);
    demo.jkgate.shutdown().await;
}

fn check(uri: &str, expect: &str, body: Option<&str>) -> HealthCheck {
    HealthCheck {
        target: "lb".to_owned(),
        uri: uri.to_owned(),
        interval: Duration::from_secs(1),
        timeout: Duration::from_millis(500),
        expect_status: ExpectStatus::parse(expect).expect("valid"),
        expect_body: body.map(str::to_owned),
        rise: 1,
        fall: 1,
        origin: None,
    }
}

#[tokio::test]
async fn a_check_passes_or_fails_on_status_body_and_time() {
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend");
    let mut cfg = MemberConfig::new("node1", backend.addr);
    assert_eq!(
        probe(&cfg, &check("/health", "2xx", None)).await.unwrap(),
        200
    );
    assert_eq!(
        probe(&cfg, &check("/health?x=1", "200", Some("route=node1")))
            .await
            .unwrap(),
        200
    );
    let failed = probe(&cfg, &check("/health?status=500", "2xx,3xx", None)).await;
    assert!(
        matches!(failed, Err(CheckFailure::Status { status: 500, .. })),
        "{failed:?}"
    );
    let failed = probe(&cfg, &check("/health", "200", Some("route=node9"))).await;
    assert!(matches!(failed, Err(CheckFailure::Body(_))), "{failed:?}");
    let failed = probe(&cfg, &check("/health?sleep=2000", "200", None)).await;
    assert!(
        matches!(failed, Err(CheckFailure::Timeout(_))),
        "{failed:?}"
    );
    cfg.address = "127.0.0.1:1".parse().unwrap();
    let failed = probe(&cfg, &check("/health", "200", None)).await;
    assert!(
        matches!(failed, Err(CheckFailure::Connection(_))),
        "{failed:?}"
    );
}
