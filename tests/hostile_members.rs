//! Hostile and broken members behind the real jkgate binary, under load:
//! a scripted container (tests/support/container.rs) plays the members real Tomcat cannot
//! play (garbage or a close in the middle of a body, a response dripped a byte a second),
//! a real Tomcat 10.1 plays a member that stops answering (SIGSTOP) and a large response to
//! a client that reads slowly.
//!
//! Each case: an lb with a `good` and a `bad` member; the hostile requests stick to `bad`
//! (`JSESSIONID=...bad`) from twelve clients at once while wrk keeps 32 keep-alive
//! connections busy with requests that stick to `good` (four times its pool, so they queue
//! for pooled connections throughout). Then: wrk saw no non-2xx answer and no socket error,
//! the hostile clients got the
//! error mod_jk gives (a cut-short response once the head went out, a 5xx before), nothing
//! is left busy in the status worker (`mime=prop`: the lb's and each member's `busy`), the
//! pooled connections stay within the pool, and jkgate's RSS (printed) stays bounded.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

#[path = "support/container.rs"]
mod container;

#[path = "support/modjk.rs"]
mod modjk;

#[path = "support/wrk.rs"]
mod wrk;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use container::{Conn, Container, echo_script, script};
use gate::Gate;
use jkgate::ajp::{
    ContainerMessage, PacketSize, ResponseHeaderName, SendHeaders, encode_container_message,
};
use modjk::StatusProps;
use tomcat::{TomcatNode, TomcatOptions};
use wrk::WrkLoad;

const GOOD: &str = "JSESSIONID=G0.good";
const BAD: &str = "JSESSIONID=B0.bad";

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn props(gate: &Gate) -> StatusProps {
    let reply = gate.get("/jkstatus?mime=prop", &[]);
    assert_eq!(reply.status, 200, "status worker: {}", reply.text());
    StatusProps::parse(&reply.text())
}

/// Waits until the lb and both members have nothing busy; returns the last status.
fn wait_idle(gate: &Gate, case: &str) -> StatusProps {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = props(gate);
        let busy: Vec<(String, String)> = ["lb", "good", "bad"]
            .iter()
            .map(|w| {
                let key = format!("worker.{w}.busy");
                (key.clone(), status.get(&key).unwrap_or("?").to_owned())
            })
            .collect();
        if busy.iter().all(|(_, v)| v == "0") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{case}: still busy 20 s after the load: {busy:?}\n{}",
            gate::tail(&gate.error_log(), 30)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn workers(good_port: u16, bad_port: u16) -> String {
    format!(
        "worker.list=lb,jkstatus\n\
         worker.good.type=ajp13\nworker.good.host=127.0.0.1\nworker.good.port={good_port}\n\
         worker.bad.type=ajp13\nworker.bad.host=127.0.0.1\nworker.bad.port={bad_port}\n\
         worker.bad.reply_timeout=2000\n\
         worker.good.connection_pool_size=8\nworker.bad.connection_pool_size=8\n\
         worker.lb.type=lb\nworker.lb.balance_workers=good,bad\n\
         worker.jkstatus.type=status\n"
    )
}

/// What a raw client read: the status (0 when none), body bytes after the head, how long.
#[derive(Debug)]
struct RawAnswer {
    status: u16,
    body_len: usize,
    declared: Option<usize>,
    took: Duration,
}

impl RawAnswer {
    fn cut_short(&self) -> bool {
        self.declared.is_some_and(|d| self.body_len < d)
    }
}

fn raw_get(port: u16, target: &str, cookie: &str) -> RawAnswer {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "GET {target} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let head_end = text.find("\r\n\r\n").map_or(answer.len(), |at| at + 4);
    let declared = text[..head_end.min(text.len())]
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok());
    RawAnswer {
        status,
        body_len: answer.len().saturating_sub(head_end),
        declared,
        took: started.elapsed(),
    }
}

/// Real load that sticks to `good` (wrk, keep-alive, [`GOOD_CONNECTIONS`] connections) for
/// as long as a case runs; every answer must be a 2xx and no connection may fail.
struct GoodLoad(WrkLoad);

/// Connections of the good load: four times the good member's pool, so requests queue for
/// a pooled connection the whole time the hostile member misbehaves.
const GOOD_CONNECTIONS: usize = 32;

impl GoodLoad {
    fn start(port: u16) -> GoodLoad {
        GoodLoad(WrkLoad::start(
            port,
            "/app/echo",
            &[("Cookie", GOOD)],
            GOOD_CONNECTIONS,
            Duration::from_secs(300),
        ))
    }

    fn finish(self, case: &str) -> u64 {
        let summary = self.0.finish();
        assert_eq!(
            (summary.non_2xx, summary.socket_errors),
            (0, [0; 4]),
            "{case}: the load on the good member saw failures: {summary:?}"
        );
        summary.requests
    }
}

/// Hostile clients at once, each sending two requests to the hostile member.
const HOSTILE_CLIENTS: usize = 12;

/// Runs `hostile` from [`HOSTILE_CLIENTS`] threads at once (two requests each) beside the
/// good load; returns the answers, the good member's count, and the peak RSS seen.
fn under_load(
    gate: &Gate,
    case: &str,
    hostile: impl Fn(u16) -> RawAnswer + Send + Sync + 'static,
) -> (Vec<RawAnswer>, u64, u64) {
    let pid = gate.pid();
    let before = rss_kib(pid);
    let load = GoodLoad::start(gate.port);
    // The hostile requests arrive while the good load is in full swing.
    std::thread::sleep(Duration::from_secs(1));
    let hostile = Arc::new(hostile);
    let port = gate.port;
    let threads: Vec<_> = (0..HOSTILE_CLIENTS)
        .map(|_| {
            let hostile = hostile.clone();
            std::thread::spawn(move || (0..2).map(|_| hostile(port)).collect::<Vec<_>>())
        })
        .collect();
    let mut peak = before;
    while threads.iter().any(|t| !t.is_finished()) {
        peak = peak.max(rss_kib(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let answers: Vec<RawAnswer> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("hostile thread"))
        .collect();
    let ok = load.finish(case);
    let after = rss_kib(pid);
    eprintln!(
        "{case}: jkgate RSS {before} KiB before, peak {peak} KiB, {after} KiB after; good member answered {ok}; hostile answers {answers:?}"
    );
    (answers, ok, peak)
}

fn headers_packet(declared: usize) -> ContainerMessage {
    ContainerMessage::SendHeaders(SendHeaders {
        status: 200,
        status_msg: Some(Bytes::from_static(b"OK")),
        headers: vec![
            (
                ResponseHeaderName::from_name(Bytes::from_static(b"Content-Type")),
                Some(Bytes::from_static(b"text/plain")),
            ),
            (
                ResponseHeaderName::from_name(Bytes::from_static(b"Content-Length")),
                Some(Bytes::from(declared.to_string())),
            ),
        ],
    })
}

fn encoded(message: &ContainerMessage) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_container_message(message, PacketSize::DEFAULT, &mut out).expect("encode");
    out.to_vec()
}

/// The head, 1000 body bytes, then what `then` does to the connection.
async fn half_response(conn: &mut Conn) -> bool {
    let Some(request) = conn.request(Duration::from_secs(30)).await else {
        return false;
    };
    if conn.read_body(&request, 8186).await.is_none() {
        return false;
    }
    conn.send(headers_packet(100_000)).await
        && conn
            .send(ContainerMessage::SendBodyChunk(Bytes::from(vec![
                b'a';
                1000
            ])))
            .await
}

#[test]
fn broken_members_leak_nothing_and_the_others_keep_serving() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut node = TomcatNode::start(TomcatOptions::with_route("good"));

    // --- garbage in the middle of a body -----------------------------------------------
    let garbage = runtime.block_on(Container::start(script(|mut conn: Conn| async move {
        if half_response(&mut conn).await {
            conn.send_raw(b"\x41\x42\x00\x05garbage, not an AJP packet")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })));
    // --- a close in the middle of a body ------------------------------------------------
    let closing = runtime.block_on(Container::start(script(|mut conn: Conn| async move {
        let _ = half_response(&mut conn).await;
        // Dropping the connection closes it.
    })));
    // --- a response dripped a byte a second --------------------------------------------
    let dripping = runtime.block_on(Container::start(script(|mut conn: Conn| async move {
        let Some(request) = conn.request(Duration::from_secs(30)).await else {
            return;
        };
        if conn.read_body(&request, 8186).await.is_none() {
            return;
        }
        let mut bytes = encoded(&headers_packet(5));
        bytes.extend(encoded(&ContainerMessage::SendBodyChunk(
            Bytes::from_static(b"hello"),
        )));
        bytes.extend(encoded(&ContainerMessage::EndResponse { reuse: true }));
        for byte in bytes {
            if !conn.send_raw(&[byte]).await {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })));

    let mut report = Vec::new();
    for (case, bad) in [
        ("garbage mid-body", &garbage),
        ("close mid-body", &closing),
        ("drip a byte a second", &dripping),
    ] {
        let gate = Gate::start_with(
            "hostile-member",
            &workers(node.ajp_port(), bad.addr.port()),
            &["/app/*=lb", "/jkstatus=jkstatus"],
        );
        let (answers, ok, peak) = under_load(&gate, case, |port| raw_get(port, "/app/echo", BAD));
        assert!(
            !bad.requests().is_empty(),
            "{case}: no hostile request reached the bad member"
        );
        for answer in &answers {
            let served_by_good = answer.status == 200 && !answer.cut_short();
            let right_error = match case {
                // The head was handed on: the client gets a broken response, never one that
                // looks complete — cut short after the head, or the connection closed before
                // hyper wrote anything (httpd + mod_jk can do no better once the status line
                // is sent). Before the head was handed on, the bodiless GET went to `good`.
                "garbage mid-body" | "close mid-body" => {
                    answer.status == 0 || (answer.status == 200 && answer.cut_short())
                }
                // No head within reply_timeout (2 s per packet): a gateway error.
                _ => (502..=504).contains(&answer.status),
            };
            assert!(
                right_error || served_by_good,
                "{case}: hostile client got {answer:?}"
            );
            assert!(
                answer.took < Duration::from_secs(15),
                "{case}: the hostile request took {:?}",
                answer.took
            );
        }
        let status = wait_idle(&gate, case);
        let state = status.get("worker.bad.state").unwrap_or("?").to_owned();
        let connected = status.get("worker.bad.connected").unwrap_or("?").to_owned();
        // mod_jk puts a member in error after a failure that is not the client's (a protocol
        // error, a connection lost, a reply timeout with max_reply_timeouts=0).
        assert!(
            state.starts_with("ERR"),
            "{case}: the bad member is in state {state}, not ERR"
        );
        let max_connected: usize = status
            .get("worker.good.max_connected")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(
            max_connected <= 8,
            "{case}: good member pool went to {max_connected} connections (pool size 8)"
        );
        assert!(peak < 200 * 1024, "{case}: jkgate RSS peaked at {peak} KiB");
        report.push(format!(
            "{case}: bad member state {state}, connected {connected}; good answered {ok}; peak RSS {peak} KiB"
        ));
    }

    // --- a large response to a client that reads slowly ---------------------------------
    {
        let gate = Gate::start_with(
            "slow-reader",
            &workers(node.ajp_port(), node.ajp_port()),
            &["/app/*=lb", "/jkstatus=jkstatus"],
        );
        let pid = gate.pid();
        let before = rss_kib(pid);
        let load = GoodLoad::start(gate.port);
        let mut stream = TcpStream::connect(("127.0.0.1", gate.port)).expect("connect");
        stream
            .write_all(
                format!(
                    "GET /app/echo?gen=2000000000&flush=65536 HTTP/1.1\r\nHost: x\r\nCookie: {GOOD}\r\n\r\n"
                )
                .as_bytes(),
            )
            .expect("send");
        // Read 64 KiB a quarter second for 8 s (about 2 MB), watching jkgate's memory.
        let mut peak = before;
        let mut got = 0usize;
        let mut buf = vec![0u8; 65536];
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(8) {
            got += stream.read(&mut buf).expect("read the slow response");
            peak = peak.max(rss_kib(pid));
            std::thread::sleep(Duration::from_millis(250));
        }
        drop(stream); // the client goes away in the middle of a 2 GB response
        let ok = load.finish("slow reader");
        let status = wait_idle(&gate, "slow reader");
        let after = rss_kib(pid);
        eprintln!(
            "slow reader: read {got} bytes of 2 GB in 8 s; jkgate RSS {before} KiB before, peak {peak} KiB, {after} KiB after"
        );
        assert!(
            peak < before + 64 * 1024,
            "slow reader: RSS grew from {before} to {peak} KiB: the response is buffered"
        );
        report.push(format!(
            "slow reader: {got} bytes read, RSS {before} -> peak {peak} -> {after} KiB, good answered {ok}, good state {}",
            status.get("worker.good.state").unwrap_or("?")
        ));
    }

    // --- a member that stops answering (SIGSTOP on real Tomcat) --------------------------
    {
        let echo = runtime.block_on(Container::start(echo_script("echo")));
        // Roles swap: Tomcat is the bad member, the scripted echo container the good one.
        let gate = Gate::start_with(
            "stopped-member",
            &workers(echo.addr.port(), node.ajp_port()),
            &["/app/*=lb", "/jkstatus=jkstatus"],
        );
        // A first request opens a pooled connection to Tomcat while it still answers.
        let warm = raw_get(gate.port, "/app/echo", BAD);
        assert_eq!(warm.status, 200, "before SIGSTOP: {warm:?}");
        let pid = node.pid().expect("Tomcat's pid");
        let stopped = std::process::Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .expect("kill -STOP");
        assert!(stopped.success());
        let (answers, ok, peak) =
            under_load(&gate, "SIGSTOP", |port| raw_get(port, "/app/echo", BAD));
        let _ = std::process::Command::new("kill")
            .args(["-CONT", &pid.to_string()])
            .status();
        for answer in &answers {
            // A bodiless GET whose member never answered is sent to another member (mod_jk
            // with recovery_options=0 does the same): the echo container answers it.
            assert!(
                answer.status == 200 || (502..=504).contains(&answer.status),
                "SIGSTOP: hostile client got {answer:?}"
            );
            assert!(answer.took < Duration::from_secs(15), "SIGSTOP: {answer:?}");
        }
        let status = wait_idle(&gate, "SIGSTOP");
        let state = status.get("worker.bad.state").unwrap_or("?").to_owned();
        assert!(
            state.starts_with("ERR"),
            "SIGSTOP: the stopped member is in state {state}, not ERR (mod_jk puts a member whose reply timed out in error)"
        );
        report.push(format!(
            "SIGSTOP: bad member state {state}; good answered {ok}; peak RSS {peak} KiB; answers {:?}",
            answers.iter().map(|a| a.status).collect::<Vec<_>>()
        ));
    }
    assert!(node.is_running());
    eprintln!("{}", report.join("\n"));
}
