//! `jkgate run` and `jkgate demo` as an operator starts them: the real binary, a
//! workers.properties on disk, an embedded AJP13 backend, curl-like requests over TCP.
#![cfg(feature = "proxy")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jkgate::ajp::PacketSize;
use jkgate::demo::EmbeddedBackend;

/// The jkgate process, killed when dropped.
struct Jkgate(Child);

impl Drop for Jkgate {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One HTTP/1.1 request with `Connection: close`; returns the whole reply as text.
fn http_get(addr: SocketAddr, target: &str, extra: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n"
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    Ok(reply)
}

/// Retries `http_get` until the listener answers (the process is starting).
fn wait_answer(addr: SocketAddr, target: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match http_get(addr, target, "") {
            Ok(reply) if !reply.is_empty() => return reply,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => panic!("jkgate on {addr} never answered {target}: {other:?}"),
        }
    }
}

fn line_value<'a>(reply: &'a str, key: &str) -> Option<&'a str> {
    reply
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_a_workers_properties_with_flags_only() {
    let node1 = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend node1");
    let node2 = EmbeddedBackend::start("node2", PacketSize::DEFAULT)
        .await
        .expect("backend node2");
    let dir = std::env::temp_dir().join(format!("jkgate-cli-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let workers = dir.join("workers.properties");
    std::fs::write(
        &workers,
        format!(
            "worker.list=lb\n\
             worker.node1.type=ajp13\nworker.node1.host=127.0.0.1\nworker.node1.port={}\n\
             worker.node2.type=ajp13\nworker.node2.host=127.0.0.1\nworker.node2.port={}\n\
             worker.lb.type=lb\nworker.lb.balance_workers=node1,node2\n",
            node1.addr.port(),
            node2.addr.port()
        ),
    )
    .unwrap();
    let access = dir.join("access.log");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let _jkgate = Jkgate(
        Command::new(env!("CARGO_BIN_EXE_jkgate"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--workers-file")
            .arg(&workers)
            .arg("--mount")
            .arg("/app/*=lb")
            .arg("--access-log")
            .arg(&access)
            .stdin(Stdio::null())
            .spawn()
            .expect("jkgate starts"),
    );
    let addr_copy = addr;
    let (first, session, unmapped) = tokio::task::spawn_blocking(move || {
        let first = wait_answer(addr_copy, "/app/session");
        let cookie = first
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: JSESSIONID="))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no session cookie in {first}"));
        let mut session = Vec::new();
        for _ in 0..4 {
            session.push(
                http_get(
                    addr_copy,
                    "/app/session",
                    &format!("Cookie: JSESSIONID={cookie}\r\n"),
                )
                .expect("sticky request"),
            );
        }
        let unmapped = http_get(addr_copy, "/elsewhere", "").expect("unmapped request");
        (first, session, unmapped)
    })
    .await
    .unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let route = line_value(&first, "route").expect("route line").to_owned();
    for (i, reply) in session.iter().enumerate() {
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        assert_eq!(line_value(reply, "route"), Some(route.as_str()), "{reply}");
        assert_eq!(
            line_value(reply, "count"),
            Some((i + 2).to_string().as_str()),
            "{reply}"
        );
    }
    assert!(unmapped.starts_with("HTTP/1.1 404"), "{unmapped}");
    // The access log names worker, member, route and session for each request.
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&access).unwrap_or_default();
        if log.lines().count() >= 6 || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let sticky: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("uri=/app/session") && l.contains("status=200"))
        .collect();
    assert_eq!(sticky.len(), 5, "{log}");
    for line in &sticky[1..] {
        assert!(line.contains("worker=\"lb\""), "{line}");
        assert!(line.contains(&format!("member=\"{route}\"")), "{line}");
        assert!(line.contains(&format!("route=\"{route}\"")), "{line}");
        assert!(line.contains(&format!(".{route}\"")), "{line}");
    }
    assert!(
        log.lines()
            .any(|l| l.contains("uri=/elsewhere") && l.contains("status=404")),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ini_request_log_format_and_mount_file_reload() {
    let node1 = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend node1");
    let dir = std::env::temp_dir().join(format!("jkgate-cli-ini-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("workers.properties"),
        format!(
            "worker.list=lb\nworker.node1.host=127.0.0.1\nworker.node1.port={}\n\
             worker.lb.type=lb\nworker.lb.balance_workers=node1\n",
            node1.addr.port()
        ),
    )
    .unwrap();
    let mount_file = dir.join("uriworkermap.properties");
    std::fs::write(&mount_file, "/app/*=lb\n").unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    std::fs::write(
        dir.join("jkgate.ini"),
        format!(
            "Listen = {addr}\nJkWorkersFile = workers.properties\nJkMountFile = uriworkermap.properties\n\
             JkMountFileReload = 1\nAccessLog = access.log\nJkRequestLogFormat = %m %U%q %s %w %N %R %S\n"
        ),
    )
    .unwrap();
    let _jkgate = Jkgate(
        Command::new(env!("CARGO_BIN_EXE_jkgate"))
            .arg("--config")
            .arg(dir.join("jkgate.ini"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("jkgate starts"),
    );
    let access = dir.join("access.log");
    let mount_file_copy = mount_file.clone();
    tokio::task::spawn_blocking(move || {
        let first = wait_answer(addr, "/app/echo?x=1");
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        let other = http_get(addr, "/other/echo", "").expect("request");
        assert!(other.starts_with("HTTP/1.1 404"), "{other}");
        // The mount file changes: /other/* is mapped within about a second, /app/* no more.
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(&mount_file_copy, "/other/*=lb\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let other = http_get(addr, "/other/echo", "").expect("request");
            if other.starts_with("HTTP/1.1 200") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "mount file not reloaded: {other}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let app = http_get(addr, "/app/echo", "").expect("request");
        assert!(app.starts_with("HTTP/1.1 404"), "{app}");
        let sticky =
            http_get(addr, "/other/echo", "Cookie: JSESSIONID=abc.node1\r\n").expect("request");
        assert!(sticky.starts_with("HTTP/1.1 200"), "{sticky}");
    })
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&access).unwrap_or_default();
        if log.contains("abc.node1") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // One line per request in the operator's format (after the timestamp).
    assert!(
        log.lines()
            .any(|l| l.ends_with("GET /app/echo?x=1 200 lb node1 node1 -")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.ends_with("GET /other/echo 404 - - - -")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.ends_with("GET /other/echo 200 lb node1 node1 abc.node1")),
        "{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_stops_within_the_grace_period_despite_a_hanging_client() {
    let dir = std::env::temp_dir().join(format!("jkgate-cli-stop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("workers.properties"),
        "worker.list=w\nworker.w.host=127.0.0.1\nworker.w.port=1\n",
    )
    .unwrap();
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    std::fs::write(
        dir.join("jkgate.ini"),
        format!("Listen = {addr}\nGracefulShutdownTimeout = 1\n[mounts]\n/app/* = w\n"),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .arg("--config")
        .arg(dir.join("jkgate.ini"))
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("jkgate starts");
    // A client that never finishes its request head.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut hanging = loop {
        match TcpStream::connect(addr) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("jkgate does not listen: {e}"),
        }
    };
    hanging
        .write_all(b"GET /app/x HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stopped_at = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if stopped_at.elapsed() > Duration::from_secs(8) {
            let _ = child.kill();
            panic!("jkgate still runs 8 s after SIGTERM with a 1 s grace period");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        stopped_at.elapsed() >= Duration::from_millis(900),
        "the grace period was given"
    );
    drop(hanging);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_refuses_a_broken_workers_file_naming_file_and_line() {
    let dir = std::env::temp_dir().join(format!("jkgate-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let workers = dir.join("workers.properties");
    std::fs::write(
        &workers,
        "worker.list=w\nworker.w.type=ajp13\nworker.w.prot=8009\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .arg("run")
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", free_port()))
        .arg("--workers-file")
        .arg(&workers)
        .output()
        .expect("jkgate runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("workers.properties:3"), "{stderr}");
    assert!(stderr.contains("prot"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn demo_balances_and_sticks_without_tomcat() {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .args(["demo", "--listen", &addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jkgate demo starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let _jkgate = Jkgate(child);
    let mut banner = String::new();
    let mut reader = BufReader::new(stderr);
    // The error log's "listening" lines come first, then the banner.
    while !banner.contains("jkgate demo listening") {
        banner.clear();
        let read = reader.read_line(&mut banner).expect("banner line");
        assert!(read > 0, "jkgate demo ended before its banner");
    }
    assert!(banner.contains(&format!("http://{addr}")), "{banner}");
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let first = wait_answer(addr, "/session");
    let route = line_value(&first, "route").expect("route").to_owned();
    let cookie = first
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: JSESSIONID="))
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_owned();
    for _ in 0..3 {
        let reply = http_get(
            addr,
            "/session",
            &format!("Cookie: JSESSIONID={cookie}\r\n"),
        )
        .expect("sticky request");
        assert_eq!(line_value(&reply, "route"), Some(route.as_str()), "{reply}");
    }
    let direct = http_get(addr, "/node2/echo", "").expect("direct member request");
    assert!(direct.starts_with("HTTP/1.1 200"), "{direct}");
    assert_eq!(line_value(&direct, "route"), Some("node2"), "{direct}");
    // The status worker shows the lb, its members and the requests they served.
    let status = http_get(addr, "/jkstatus?mime=prop", "").expect("status worker request");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    assert!(status.contains("worker.list=balancer"), "{status}");
    assert!(
        status.contains(&format!("worker.{route}.route={route}")),
        "{status}"
    );
    assert!(status.contains("worker.result.type=OK"), "{status}");
}

#[test]
fn status_times_are_in_the_local_zone_from_tz() {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // A POSIX TZ string (UTC+05:30, no DST) needs no zone database, as with glibc.
    let child = Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .args(["demo", "--listen", &addr.to_string()])
        .env("TZ", "XST-5:30")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("jkgate demo starts");
    let _jkgate = Jkgate(child);
    let status = wait_answer(addr, "/jkstatus?mime=prop");
    assert_eq!(
        line_value(&status, "worker.time_tz"),
        Some("+0530"),
        "{status}"
    );
    let unix: i64 = line_value(&status, "worker.time_unix")
        .and_then(|v| v.parse().ok())
        .expect("time_unix");
    let zone = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(19_800).unwrap());
    let local = jiff::Timestamp::from_second(unix)
        .unwrap()
        .to_zoned(zone)
        .strftime("%Y%m%d%H%M%S")
        .to_string();
    assert_eq!(
        line_value(&status, "worker.time_datetime"),
        Some(local.as_str()),
        "{status}"
    );
    let html = http_get(addr, "/jkstatus", "").expect("HTML status page");
    assert!(html.contains(" +0530"), "{html}");
}

/// The `error:` lines `jkgate ARGS` prints, with its exit code.
fn error_lines(args: &[&std::ffi::OsStr]) -> (Option<i32>, Vec<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("jkgate runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(str::to_owned)
        .collect();
    (out.status.code(), errors)
}

/// `jkgate run` refuses at start what `jkgate check` refuses, with the same message, and
/// listens nowhere.
fn run_refuses_like_check(config: &[&std::ffi::OsStr], expected: &str) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut check_args: Vec<&std::ffi::OsStr> = vec!["check".as_ref()];
    check_args.extend_from_slice(config);
    let (code, check_errors) = error_lines(&check_args);
    assert_eq!(code, Some(1), "{check_errors:?}");
    assert_eq!(check_errors.len(), 1, "{check_errors:?}");
    assert!(
        check_errors[0].contains(expected),
        "expected {expected:?} in {check_errors:?}"
    );
    let mut run_args: Vec<&std::ffi::OsStr> = vec!["run".as_ref(), "--listen".as_ref()];
    run_args.push(listen.as_ref());
    run_args.extend_from_slice(config);
    let (code, run_errors) = error_lines(&run_args);
    assert_eq!(code, Some(1), "{run_errors:?}");
    assert_eq!(run_errors, check_errors, "run and check say the same");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens after a refused start"
    );
}

#[test]
fn run_refuses_an_unusable_certificate_as_check_does() {
    let dir = std::env::temp_dir().join(format!("jkgate-cli-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let workers = dir.join("workers.properties");
    std::fs::write(&workers, "worker.list=w\nworker.w.host=127.0.0.1\n").unwrap();
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = dir.join("server.pem");
    let other_key = dir.join("other.key");
    let not_pem = dir.join("server.der");
    std::fs::write(&cert, pair.cert.pem()).unwrap();
    std::fs::write(&other_key, other.signing_key.serialize_pem()).unwrap();
    std::fs::write(&not_pem, pair.cert.der().as_ref()).unwrap();
    let tls_port = free_port().to_string();
    let tls_listen = format!("127.0.0.1:{tls_port}");
    for (cert, key, expected) in [
        (
            &not_pem,
            &other_key,
            format!(
                "[tls] Certificate (--cert) {}: holds no certificate",
                not_pem.display()
            ),
        ),
        (
            &cert,
            &other_key,
            format!(
                "[tls] Key (--key) {}: does not belong to the certificate",
                other_key.display()
            ),
        ),
    ] {
        run_refuses_like_check(
            &[
                "--workers-file".as_ref(),
                workers.as_os_str(),
                "--mount".as_ref(),
                "/app/*=w".as_ref(),
                "--tls-listen".as_ref(),
                tls_listen.as_ref(),
                "--cert".as_ref(),
                cert.as_os_str(),
                "--key".as_ref(),
                key.as_os_str(),
            ],
            &expected,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn run_refuses_an_unresolvable_host_as_check_does() {
    let dir = std::env::temp_dir().join(format!("jkgate-cli-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let workers = dir.join("workers.properties");
    std::fs::write(
        &workers,
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=n1\nworker.n1.host=tomcat.invalid\n",
    )
    .unwrap();
    run_refuses_like_check(
        &[
            "--workers-file".as_ref(),
            workers.as_os_str(),
            "--mount".as_ref(),
            "/app/*=lb".as_ref(),
        ],
        &format!(
            "{}:4: worker `n1` (member of lb `lb`): cannot resolve host `tomcat.invalid`",
            workers.display()
        ),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_listens_on_every_listen_line_and_logs_the_open_status_worker() {
    let node1 = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .expect("backend node1");
    let dir = std::env::temp_dir().join(format!("jkgate-cli-listen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("workers.properties"),
        format!(
            "worker.list=node1,jkstatus\nworker.node1.host=127.0.0.1\nworker.node1.port={}\n\
             worker.jkstatus.type=status\n",
            node1.addr.port()
        ),
    )
    .unwrap();
    let first: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let second: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    // As httpd users write it: one Listen line per address.
    std::fs::write(
        dir.join("jkgate.ini"),
        format!("Listen = {first}\nListen = {second}\n[mounts]\n/app/* = node1\n"),
    )
    .unwrap();
    let error_log = dir.join("error.log");
    let _jkgate = Jkgate(
        Command::new(env!("CARGO_BIN_EXE_jkgate"))
            .arg("--config")
            .arg(dir.join("jkgate.ini"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&error_log).unwrap())
            .spawn()
            .expect("jkgate starts"),
    );
    let (on_first, on_second) = tokio::task::spawn_blocking(move || {
        (
            wait_answer(first, "/app/echo"),
            wait_answer(second, "/app/echo"),
        )
    })
    .await
    .unwrap();
    assert!(on_first.starts_with("HTTP/1.1 200"), "{on_first}");
    assert!(on_second.starts_with("HTTP/1.1 200"), "{on_second}");
    assert_eq!(
        line_value(&on_second, "route"),
        Some("node1"),
        "{on_second}"
    );
    // The warning `check` prints is in the error log at start.
    let log = std::fs::read_to_string(&error_log).unwrap();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN"))
        .unwrap_or_else(|| panic!("no warning in the error log:\n{log}"));
    assert!(
        warning.contains("workers.properties:4: worker.jkstatus: status worker `jkstatus` lets anyone change workers"),
        "{warning}"
    );
    assert!(
        warning.contains("worker.jkstatus.read_only=true"),
        "{warning}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
