//! Idle keep-alive clients against a real jkgate process, and what they cost it in memory.
//! Run through `benches/idle_clients.sh`, which builds jkgate and this program.
//!
//! Usage: `idle_clients JKGATE_BINARY [CLIENTS]` (default 10000 clients).
//!
//! Starts `JKGATE_BINARY run` with a jkgate.ini in a temporary directory (a status worker
//! only, so nothing but jkgate is measured; `KeepAliveTimeout` long enough for the clients
//! to stay; `MaxConnections` above their number), opens CLIENTS connections, each sends one
//! request, reads the answer and stays open and idle. Samples jkgate's VmRSS from
//! /proc/PID/status before, with every client idle, and after they closed; prints the totals
//! and the cost per connection. Everything is bounded: about 30 s at most.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// The whole run gives up after this.
const BUDGET: Duration = Duration::from_secs(30);

/// Kills jkgate (by its PID, through its `Child`) when the program ends, however it ends.
struct Jkgate(Child);

impl Drop for Jkgate {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A field of /proc/PID/status, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("jkgate's status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The soft open-file limit of this process.
fn open_file_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .map(|soft| soft.parse().unwrap_or(u64::MAX))
        .expect("a `Max open files` line")
}

/// One request on `stream`, its answer read to the end (Content-Length).
async fn one_request(stream: &mut TcpStream) -> std::io::Result<u16> {
    stream
        .write_all(b"GET /jkstatus?mime=prop HTTP/1.1\r\nHost: bench\r\n\r\n")
        .await?;
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
        let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buffer.len() < end + 4 + length {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        return Ok(status);
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .expect("usage: idle_clients JKGATE_BINARY [CLIENTS]");
    let clients: usize = args
        .next()
        .map(|n| n.parse().expect("CLIENTS is a number"))
        .unwrap_or(10_000);
    let needed = clients as u64 + 100;
    let limit = open_file_limit();
    assert!(
        limit >= needed,
        "{clients} clients need {needed} open files in this process, the soft limit is {limit}: \
         raise it (`ulimit -n {needed}`)"
    );
    let started = Instant::now();

    let dir = std::env::temp_dir().join(format!("jkgate-idle-clients-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    std::fs::write(
        dir.join("workers.properties"),
        "worker.list=jkstatus\nworker.jkstatus.type=status\nworker.jkstatus.read_only=true\n",
    )
    .expect("write workers.properties");
    std::fs::write(
        dir.join("jkgate.ini"),
        format!(
            "Listen = 127.0.0.1:{port}\nJkLogLevel = warn\nKeepAliveTimeout = 120\n\
             MaxConnections = {}\n\n[mounts]\n/jkstatus = jkstatus\n",
            clients + 100
        ),
    )
    .expect("write jkgate.ini");
    let log = std::fs::File::create(dir.join("error.log")).expect("error.log");
    let child = Command::new(&binary)
        .arg("run")
        .arg("--config")
        .arg(dir.join("jkgate.ini"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
    let jkgate = Jkgate(child);
    let pid = jkgate.0.id();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // Ready when it answers.
    let ready_by = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(mut stream) = TcpStream::connect(addr).await
            && one_request(&mut stream).await.ok() == Some(200)
        {
            break;
        }
        assert!(
            Instant::now() < ready_by,
            "jkgate did not answer within 10 s; see {}",
            dir.join("error.log").display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = status_kib(pid, "VmRSS:");

    let opening = Instant::now();
    let turns = Arc::new(Semaphore::new(256));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let turns = turns.clone();
            tokio::spawn(async move {
                let _turn = turns.acquire().await.expect("open semaphore");
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let status = one_request(&mut stream).await.expect("an answer");
                assert_eq!(status, 200);
                stream
            })
        })
        .collect();
    let mut idle = Vec::with_capacity(clients);
    for task in tasks {
        let stream = tokio::time::timeout(BUDGET.saturating_sub(started.elapsed()), task)
            .await
            .expect("every client connected and answered within the budget")
            .expect("client task");
        idle.push(stream);
    }
    let opened_in = opening.elapsed();
    // Let jkgate settle, then take the largest of a few samples.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut with_clients = 0;
    for _ in 0..5 {
        with_clients = with_clients.max(status_kib(pid, "VmRSS:"));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Every client is still connected (jkgate closed none of them).
    let mut probe = [0u8; 1];
    let mut still_open = 0;
    for stream in &idle {
        if matches!(stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        {
            still_open += 1;
        }
    }
    drop(idle);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = status_kib(pid, "VmRSS:");
    let peak = status_kib(pid, "VmHWM:");
    let per_connection = (with_clients.saturating_sub(before)) as f64 * 1024.0 / clients as f64;
    println!("jkgate ({binary}), {clients} idle keep-alive clients, one request each");
    println!("  opened and answered in {opened_in:.2?}; still open when sampled: {still_open}");
    println!("  RSS before:            {}", mib(before));
    println!("  RSS with the clients:  {}", mib(with_clients));
    println!(
        "  per idle connection:   {:.1} KiB",
        per_connection / 1024.0
    );
    println!(
        "  RSS after they closed: {}   (peak VmHWM {})",
        mib(after),
        mib(peak)
    );
    println!("  run time {:.1?}", started.elapsed());
    assert_eq!(still_open, clients, "jkgate closed idle clients early");
    drop(jkgate);
    let _ = std::fs::remove_dir_all(&dir);
}
