//! A slow-headers attack against jkgate in-process (no system package): 4,000 connections
//! drip a request head one byte per second while a normal client keeps sending requests.
//! Every normal request must succeed with a low latency, and every dripping connection must
//! be closed at the header timeout. Bounded to about 10 s.
//!
//! The test process holds both ends of every connection (about 8,100 descriptors): it fails,
//! saying so, when the open-file limit is lower (raise it with `ulimit -n 10000`).
#![cfg(feature = "proxy")]

#[path = "support/client.rs"]
mod client;
#[path = "support/container.rs"]
mod container;
#[path = "support/in_process.rs"]
mod in_process;

use std::sync::Arc;
use std::time::Duration;

use client::Client;
use container::{Container, echo_script};
use jkgate::config::limits::RateTimeout;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

const DRIPPERS: usize = 4000;
/// `RequestReadTimeout header=4-8,MinRate=500`: one byte a second earns 2 ms a byte, so a
/// dripper is closed a little after 4 s.
const HEADER: Duration = Duration::from_secs(4);

/// The soft open-file limit of this process, from /proc/self/limits (std has no getrlimit).
fn open_file_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("a `Max open files` line in /proc/self/limits");
    let soft = line
        .split_whitespace()
        .nth(3)
        .expect("the soft limit column");
    if soft == "unlimited" {
        u64::MAX
    } else {
        soft.parse().expect("a number")
    }
}

/// One dripping connection: a request head, one byte per second, never finished. Returns
/// how long after connecting jkgate closed it (`None`: still open at `give_up`).
async fn drip(
    addr: std::net::SocketAddr,
    connects: Arc<Semaphore>,
    give_up: Instant,
) -> Option<Duration> {
    let stream = {
        let _turn = connects.acquire().await.expect("open semaphore");
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .expect("dripper connects in time")
            .expect("dripper connects")
    };
    let connected = Instant::now();
    let mut stream = stream;
    let head = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut byte = [0u8; 64];
    for &b in head.iter().cycle() {
        if stream.write_all(&[b]).await.is_err() {
            return Some(connected.elapsed());
        }
        let wait = (Instant::now() + Duration::from_secs(1)).min(give_up);
        match tokio::time::timeout_at(wait, stream.read(&mut byte)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(connected.elapsed()),
            Ok(Ok(_)) => panic!("jkgate answered an incomplete head"),
            Err(_) if Instant::now() >= give_up => return None,
            Err(_) => {}
        }
    }
    unreachable!("the head cycles for ever")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_from_4000_connections_do_not_stop_normal_requests() {
    let needed = (2 * DRIPPERS + 100) as u64;
    let limit = open_file_limit();
    assert!(
        limit >= needed,
        "this test holds both ends of {DRIPPERS} connections and needs {needed} open files, \
         but the soft limit is {limit}: raise it (`ulimit -n 10000`) and run it again"
    );
    let container = Container::start(echo_script("ok")).await;
    let mut settings = in_process::settings(
        &format!(
            "worker.list=w\nworker.w.type=ajp13\nworker.w.host=127.0.0.1\nworker.w.port={}\n",
            container.addr.port()
        ),
        &["/*=w"],
    );
    settings.limits.read_timeout.header = Some(RateTimeout {
        initial: HEADER,
        max: Some(HEADER * 2),
        min_rate: Some(500),
    });
    let gate = in_process::start(settings).await;
    let addr = gate.addr;

    let started = Instant::now();
    let give_up = started + Duration::from_secs(10);
    let connects = Arc::new(Semaphore::new(200));
    let drippers: Vec<_> = (0..DRIPPERS)
        .map(|_| tokio::spawn(drip(addr, connects.clone(), give_up)))
        .collect();

    // A normal keep-alive client and a new connection per request, for 4 s while the
    // drippers connect and drip.
    let mut latencies = Vec::new();
    let mut keep_alive = Client::connect(addr).await;
    while started.elapsed() < Duration::from_secs(4) {
        let sent = Instant::now();
        let reply = keep_alive.request("GET", "/normal", &[], None).await;
        assert_eq!((reply.status, reply.text()), (200, "ok:0".to_owned()));
        let fresh = client::get(addr, "/fresh", &[]).await;
        assert_eq!(fresh.status, 200);
        latencies.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    latencies.sort();
    let p50 = latencies[latencies.len() / 2];
    let p99 = latencies[latencies.len() * 99 / 100];
    let max = *latencies.last().expect("some requests");
    println!(
        "normal requests during the attack: {} pairs, p50 {p50:?}, p99 {p99:?}, max {max:?}",
        latencies.len()
    );
    assert!(
        latencies.len() >= 20,
        "only {} requests in 4 s",
        latencies.len()
    );
    assert!(
        max < Duration::from_secs(1),
        "a normal request took {max:?} during the attack"
    );

    let mut closed_after = Vec::with_capacity(DRIPPERS);
    for dripper in drippers {
        match dripper.await.expect("dripper task") {
            Some(after) => closed_after.push(after),
            None => panic!("a dripping connection was still open 10 s after the start"),
        }
    }
    closed_after.sort();
    let first = closed_after[0];
    let last = closed_after[closed_after.len() - 1];
    println!(
        "{DRIPPERS} dripping connections closed {first:?} to {last:?} after connecting; \
         whole test {:?}",
        started.elapsed()
    );
    assert!(
        first >= HEADER - Duration::from_millis(200),
        "a dripper was closed after {first:?}, before the {HEADER:?} header timeout"
    );
    assert!(
        last <= HEADER + Duration::from_secs(2),
        "a dripper was closed only after {last:?}"
    );
    gate.shutdown().await;
}
