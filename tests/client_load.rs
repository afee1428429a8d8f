//! A slow-headers attack against jkgate in-process (no system package): 4,000 connections
//! drip a request head one byte per second while a normal client keeps sending requests.
//! Every normal request must succeed with a low latency, and every dripping connection must
//! be closed at the header timeout. Bounded: about 8 s, at most 14 s.
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use client::Client;
use container::{Container, echo_script};
use jkgate::config::limits::RateTimeout;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

const DRIPPERS: usize = 4000;
/// `RequestReadTimeout header=8-16,MinRate=500`: one byte a second earns 2 ms a byte, so a
/// dripper is closed a little after 8 s. Long enough that the attack is still on when the
/// normal requests end even if connecting the 4,000 drippers takes 5 s on a busy machine.
const HEADER: Duration = Duration::from_secs(8);
/// How long the normal client runs once every dripper is connected.
const NORMAL: Duration = Duration::from_millis(2500);

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

/// When a dripping connection was closed: since its connect began (jkgate's clock starts
/// later, at the accept) and since the connect returned (which this task may see late).
#[derive(Debug, Clone, Copy)]
struct Closed {
    since_connecting: Duration,
    since_connected: Duration,
}

/// Counts of the attack's connections.
#[derive(Default)]
struct Tally {
    connected: AtomicUsize,
    closed: AtomicUsize,
}

/// One dripping connection: a request head, one byte per second, never finished. `None`:
/// still open at `give_up`.
async fn drip(
    addr: std::net::SocketAddr,
    connects: Arc<Semaphore>,
    tally: Arc<Tally>,
    give_up: Instant,
) -> Option<Closed> {
    let (mut stream, connecting) = {
        let _turn = connects.acquire().await.expect("open semaphore");
        let connecting = Instant::now();
        let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr))
            .await
            .expect("dripper connects in time")
            .expect("dripper connects");
        (stream, connecting)
    };
    let connected = Instant::now();
    tally.connected.fetch_add(1, Ordering::SeqCst);
    let closed = || {
        tally.closed.fetch_add(1, Ordering::SeqCst);
        Some(Closed {
            since_connecting: connecting.elapsed(),
            since_connected: connected.elapsed(),
        })
    };
    let head = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut byte = [0u8; 64];
    for &b in head.iter().cycle() {
        if stream.write_all(&[b]).await.is_err() {
            return closed();
        }
        let wait = (Instant::now() + Duration::from_secs(1)).min(give_up);
        match tokio::time::timeout_at(wait, stream.read(&mut byte)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return closed(),
            Ok(Ok(_)) => panic!("jkgate answered an incomplete head"),
            Err(_) if Instant::now() >= give_up => return None,
            Err(_) => {}
        }
    }
    unreachable!("the head cycles for ever")
}

/// Latencies of one kind of request, summarised (and printed).
struct Summary {
    count: usize,
    p99: Duration,
    max: Duration,
}

fn summary(what: &str, mut latencies: Vec<Duration>) -> Summary {
    latencies.sort();
    let count = latencies.len();
    let p50 = latencies[count / 2];
    let p99 = latencies[(count * 99 / 100).min(count - 1)];
    let max = latencies[count - 1];
    println!("{what} requests during the attack: {count}, p50 {p50:?}, p99 {p99:?}, max {max:?}");
    Summary { count, p99, max }
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
    let give_up = started + Duration::from_secs(20);
    let connects = Arc::new(Semaphore::new(200));
    let tally = Arc::new(Tally::default());
    let drippers: Vec<_> = (0..DRIPPERS)
        .map(|_| tokio::spawn(drip(addr, connects.clone(), tally.clone(), give_up)))
        .collect();
    while tally.connected.load(Ordering::SeqCst) < DRIPPERS {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "only {} of {DRIPPERS} dripping connections connected in 6 s",
            tally.connected.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let attack_on = started.elapsed();

    // A normal keep-alive client, and a new connection per request, while they drip.
    let mut kept = Vec::new();
    let mut fresh = Vec::new();
    let mut keep_alive = Client::connect(addr).await;
    let normal_from = Instant::now();
    while normal_from.elapsed() < NORMAL {
        let sent = Instant::now();
        let reply = keep_alive.request("GET", "/normal", &[], None).await;
        assert_eq!((reply.status, reply.text()), (200, "ok:0".to_owned()));
        kept.push(sent.elapsed());
        let sent = Instant::now();
        let reply = client::get(addr, "/fresh", &[]).await;
        assert_eq!((reply.status, reply.text()), (200, "ok:0".to_owned()));
        fresh.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let still_open = DRIPPERS - tally.closed.load(Ordering::SeqCst);
    println!(
        "{DRIPPERS} dripping connections open after {attack_on:?}; {still_open} still open when \
         the normal requests ended"
    );
    let kept = summary("keep-alive", kept);
    let fresh = summary("new connection", fresh);
    assert!(
        still_open >= DRIPPERS / 2,
        "the attack was mostly over before the normal requests ended"
    );
    assert!(
        kept.count >= 10,
        "only {} requests in {NORMAL:?}",
        kept.count
    );
    assert!(
        kept.max < Duration::from_secs(1),
        "a keep-alive request took {:?} during the attack",
        kept.max
    );
    assert!(
        fresh.p99 < Duration::from_secs(1),
        "requests on new connections: p99 {:?}",
        fresh.p99
    );

    let mut closed = Vec::with_capacity(DRIPPERS);
    for dripper in drippers {
        match dripper.await.expect("dripper task") {
            Some(when) => closed.push(when),
            None => panic!("a dripping connection was still open 20 s after the start"),
        }
    }
    let earliest = closed
        .iter()
        .map(|c| c.since_connecting)
        .min()
        .expect("some");
    let latest = closed
        .iter()
        .map(|c| c.since_connected)
        .max()
        .expect("some");
    println!(
        "{DRIPPERS} dripping connections closed {earliest:?} after connecting at the earliest, \
         {latest:?} at the latest; whole test {:?}",
        started.elapsed()
    );
    assert!(
        earliest >= HEADER,
        "a dripper was closed after {earliest:?}, before the {HEADER:?} header timeout"
    );
    assert!(
        latest <= HEADER + Duration::from_secs(2),
        "a dripper was closed only after {latest:?}"
    );
    gate.shutdown().await;
}
