//! jkgate as a service manager runs it (issue 9): the real binary, its log files rotated
//! by rename and reopened on SIGUSR1, stopped by SIGTERM or SIGINT (every listener closes
//! at once, in-flight requests drain), systemd's notifications on start, reload and stop,
//! and log files it cannot open refused before it serves.
#![cfg(feature = "proxy")]

#[path = "support/process.rs"]
mod process;

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use jkgate::ajp::PacketSize;
use jkgate::demo::EmbeddedBackend;
use process::{Process, TestDir, free_addr, http_get, poll_until, run_within};

/// An embedded AJP13 backend (route `node1`) on a runtime of its own, so that the tests
/// around it stay plain blocking code.
struct Backend {
    backend: EmbeddedBackend,
    _runtime: tokio::runtime::Runtime,
}

impl Backend {
    fn start() -> Backend {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let backend = runtime
            .block_on(EmbeddedBackend::start("node1", PacketSize::DEFAULT))
            .expect("embedded backend");
        Backend {
            backend,
            _runtime: runtime,
        }
    }

    /// workers.properties: `lb` over this backend, and the status worker on `/jkstatus`.
    fn workers_properties(&self) -> String {
        format!(
            "worker.list=lb,jkstatus\n\
             worker.node1.type=ajp13\nworker.node1.host=127.0.0.1\nworker.node1.port={}\n\
             worker.lb.type=lb\nworker.lb.balance_workers=node1\n\
             worker.jkstatus.type=status\nworker.jkstatus.mount=/jkstatus\n",
            self.backend.addr.port()
        )
    }
}

/// GET through jkgate; panics unless the reply is a 200.
fn get_ok(addr: SocketAddr, target: &str) -> String {
    let reply = http_get(addr, target).unwrap_or_else(|e| panic!("GET {target}: {e}"));
    assert!(reply.starts_with("HTTP/1.1 200"), "GET {target}: {reply}");
    reply
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Polls until the file at `path` contains `needle` (5 s at most).
fn wait_contains(path: &Path, needle: &str) {
    poll_until(
        Duration::from_secs(5),
        &format!("`{needle}` in {}", path.display()),
        || read(path).contains(needle),
    );
}

#[test]
fn sigusr1_reopens_the_access_log_and_the_jk_log_file_after_rotation_by_rename() {
    let backend = Backend::start();
    let dir = TestDir::new("usr1");
    std::fs::create_dir(dir.join("logs")).unwrap();
    dir.write("workers.properties", &backend.workers_properties());
    let addr = free_addr();
    // Both paths relative: resolved against the ini's directory, as AccessLog always was.
    let ini = dir.write(
        "jkgate.ini",
        &format!(
            "Listen = {addr}\nJkWorkersFile = workers.properties\nJkLogFile = logs/error.log\n\
             AccessLog = logs/access.log\nJkLogLevel = info\n[mounts]\n/app/* = lb\n"
        ),
    );
    let mut gate = Process::start(
        "usr1",
        &dir.path,
        [OsStr::new("run"), "--config".as_ref(), ini.as_os_str()],
        &[],
    );
    gate.wait_listening(addr);
    let access = dir.join("logs/access.log");
    let errors = dir.join("logs/error.log");
    let access_old = dir.join("logs/access.log.1");
    let errors_old = dir.join("logs/error.log.1");

    // The error log goes to the JkLogFile, not to standard error.
    wait_contains(&errors, "listening");
    assert!(!gate.stderr().contains("listening"), "{}", gate.stderr());
    get_ok(addr, "/app/echo/before");
    wait_contains(&access, "/app/echo/before");

    // logrotate renames; jkgate goes on writing to the renamed files.
    std::fs::rename(&access, &access_old).unwrap();
    std::fs::rename(&errors, &errors_old).unwrap();
    get_ok(addr, "/app/echo/renamed");
    wait_contains(&access_old, "/app/echo/renamed");
    assert!(!access.exists(), "nothing reopened the access log yet");

    // SIGUSR1: both paths are opened again (created), the old files get no more lines.
    gate.signal("USR1");
    wait_contains(&errors, "access log reopened");
    wait_contains(&errors, "error log reopened");
    assert!(
        read(&errors_old).contains("SIGUSR1"),
        "{}",
        read(&errors_old)
    );
    get_ok(addr, "/app/echo/reopened");
    wait_contains(&access, "/app/echo/reopened");
    // Later error log lines (a reload here) go to the new file too. The reload cannot
    // change the log level of the running process, and says so.
    let errors_old_then = read(&errors_old);
    let ini_text = read(&ini).replace("JkLogLevel = info", "JkLogLevel = debug");
    std::fs::write(&ini, ini_text).unwrap();
    gate.signal("HUP");
    wait_contains(&errors, "configuration reloaded");
    wait_contains(
        &errors,
        "JkLogLevel changed: it takes effect when jkgate is restarted",
    );
    assert!(
        !read(&errors).contains("JkLogFile changed"),
        "{}",
        read(&errors)
    );
    get_ok(addr, "/app/echo/reloaded");
    wait_contains(&access, "/app/echo/reloaded");

    let new_access = read(&access);
    assert!(!new_access.contains("/app/echo/before"), "{new_access}");
    assert!(!new_access.contains("/app/echo/renamed"), "{new_access}");
    let old_access = read(&access_old);
    assert!(old_access.contains("/app/echo/before"), "{old_access}");
    assert!(!old_access.contains("/app/echo/reopened"), "{old_access}");
    assert!(!old_access.contains("/app/echo/reloaded"), "{old_access}");
    assert_eq!(
        read(&errors_old),
        errors_old_then,
        "the old error log got more lines"
    );
    assert!(!read(&errors_old).contains("reopened"));
    assert!(gate.is_running(), "jkgate stopped:\n{}", gate.stderr());
}

#[test]
fn a_log_file_that_cannot_be_opened_is_refused_by_run_and_check() {
    let backend = Backend::start();
    // (what the case sets, the ini line, the extra flags, the log named in the error)
    let cases: [(&str, &str, &[&str], &str); 3] = [
        (
            "JkLogFile",
            "JkLogFile = missing/error.log\n",
            &[],
            "error log",
        ),
        (
            "AccessLog",
            "AccessLog = missing/access.log\n",
            &[],
            "access log",
        ),
        ("--log-file", "", &["--log-file", "MISSING"], "error log"),
    ];
    for (case, line, flags, what) in cases {
        let dir = TestDir::new("badlog");
        dir.write("workers.properties", &backend.workers_properties());
        let addr = free_addr();
        let ini = dir.write(
            "jkgate.ini",
            &format!("Listen = {addr}\n{line}[mounts]\n/app/* = lb\n"),
        );
        // A file in a directory that does not exist: root cannot open it either.
        let missing = dir.join("missing").join("flag.log");
        let flags: Vec<&OsStr> = flags
            .iter()
            .map(|f| {
                if *f == "MISSING" {
                    missing.as_os_str()
                } else {
                    OsStr::new(f)
                }
            })
            .collect();
        let named = if case == "--log-file" {
            missing.clone()
        } else {
            dir.join(line.split(" = ").nth(1).unwrap().trim())
        };
        for command in ["check", "run"] {
            let finished = run_within(
                Command::new(env!("CARGO_BIN_EXE_jkgate"))
                    .arg(command)
                    .arg("--config")
                    .arg(&ini)
                    .args(&flags),
                &dir.path,
                command,
                Duration::from_secs(20),
            );
            assert!(!finished.status.success(), "{case} {command}: {finished:?}");
            let expected = format!("error: cannot open the {what} {}", named.display());
            assert!(
                finished.stderr.contains(&expected),
                "{case} {command}: wanted `{expected}` in:\n{}",
                finished.stderr
            );
            assert!(
                TcpStream::connect(addr).is_err(),
                "{case} {command}: something listens on {addr}"
            );
        }
    }
}

#[test]
fn check_accepts_writable_log_files_and_leaves_no_file_behind() {
    let backend = Backend::start();
    let dir = TestDir::new("goodlog");
    dir.write("workers.properties", &backend.workers_properties());
    let kept = dir.write("access.log", "an old line\n");
    let ini = dir.write(
        "jkgate.ini",
        "JkLogFile = error.log\nAccessLog = access.log\n[mounts]\n/app/* = lb\n",
    );
    let finished = run_within(
        Command::new(env!("CARGO_BIN_EXE_jkgate"))
            .arg("check")
            .arg("--config")
            .arg(&ini),
        &dir.path,
        "check",
        Duration::from_secs(20),
    );
    assert!(finished.status.success(), "{finished:?}");
    assert!(finished.stdout.contains("configuration OK"), "{finished:?}");
    assert!(
        !dir.join("error.log").exists(),
        "check created the error log"
    );
    assert_eq!(read(&kept), "an old line\n", "check changed the access log");
}

/// `connect` to `addr` is refused (nothing listens any more).
fn refused(addr: SocketAddr) -> bool {
    match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
        Ok(_) => false,
        Err(e) => e.kind() == ErrorKind::ConnectionRefused,
    }
}

/// How soon after the signal every listener must refuse new connections. Far below the
/// 1.5 s the in-flight request still needs: the listeners close first, the drain follows.
const REFUSED_WITHIN: Duration = Duration::from_millis(250);

#[test]
fn sigterm_and_sigint_close_every_listener_at_once_then_drain_in_flight_requests() {
    let backend = Backend::start();
    for signal in ["TERM", "INT"] {
        let dir = TestDir::new(&format!("stop-{signal}"));
        dir.write("workers.properties", &backend.workers_properties());
        let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("self-signed certificate");
        dir.write("cert.pem", &key.cert.pem());
        dir.write("key.pem", &key.signing_key.serialize_pem());
        let (plain1, plain2, tls) = (free_addr(), free_addr(), free_addr());
        let ini = dir.write(
            "jkgate.ini",
            &format!(
                "Listen = {plain1}, {plain2}\nJkWorkersFile = workers.properties\n\
                 GracefulShutdownTimeout = 10\nAccessLog = off\n\
                 [tls]\nListen = {tls}\nCertificate = cert.pem\nKey = key.pem\n\
                 [mounts]\n/app/* = lb\n"
            ),
        );
        let mut gate = Process::start(
            signal,
            &dir.path,
            [OsStr::new("run"), "--config".as_ref(), ini.as_os_str()],
            &[],
        );
        for addr in [plain1, plain2, tls] {
            gate.wait_listening(addr);
        }
        let connections = backend.backend.stats.connections.load(Ordering::SeqCst);
        let answered = backend.backend.stats.requests.load(Ordering::SeqCst);
        let slow = std::thread::spawn(move || http_get(plain1, "/app/echo/slow?sleep=1500"));
        // In flight: jkgate took the request and opened its backend connection for it.
        poll_until(
            Duration::from_secs(10),
            "the slow request reaches the backend",
            || backend.backend.stats.connections.load(Ordering::SeqCst) > connections,
        );
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(
            backend.backend.stats.requests.load(Ordering::SeqCst),
            answered,
            "the slow request was answered before the signal"
        );

        gate.signal(signal);
        let signalled = Instant::now();
        let mut closed = Vec::new();
        for addr in [plain1, plain2, tls] {
            while !refused(addr) {
                assert!(
                    signalled.elapsed() < REFUSED_WITHIN,
                    "SIG{signal}: {addr} still accepts {:?} after the signal",
                    signalled.elapsed()
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            closed.push((addr, signalled.elapsed()));
        }
        // Every port is closed while the request is still running and jkgate waits for it.
        assert!(
            !slow.is_finished(),
            "SIG{signal}: the slow request ended early: {closed:?}"
        );
        assert!(
            gate.is_running(),
            "SIG{signal}: jkgate exited before the drain"
        );

        let reply = slow
            .join()
            .expect("request thread")
            .expect("the slow request's reply");
        assert!(reply.starts_with("HTTP/1.1 200"), "SIG{signal}: {reply}");
        assert!(reply.contains("route=node1"), "SIG{signal}: {reply}");
        let exit = gate.wait_exit(Duration::from_secs(8));
        assert!(exit.success(), "SIG{signal}: {exit}\n{}", gate.stderr());
        assert!(
            gate.stderr().contains("shutting down"),
            "SIG{signal}: {}",
            gate.stderr()
        );
        eprintln!(
            "SIG{signal}: listeners refused after {closed:?}; exited after {:?}",
            signalled.elapsed()
        );
    }
}

/// The notifications jkgate sent, one datagram each.
struct NotifySocket {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl NotifySocket {
    fn bind(path: &Path) -> NotifySocket {
        let socket = UnixDatagram::bind(path).expect("bind the notify socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        NotifySocket {
            socket,
            seen: Vec::new(),
        }
    }

    /// Reads datagrams until one has the line `line` (10 s at most); returns it.
    fn expect(&mut self, line: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => {
                    let message = String::from_utf8_lossy(&buf[..n]).into_owned();
                    self.seen.push(message.clone());
                    if message.lines().any(|l| l == line) {
                        return message;
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("notify socket: {e}"),
            }
            assert!(
                Instant::now() < deadline,
                "no `{line}` within 10 s; received: {:?}",
                self.seen
            );
        }
    }
}

#[test]
fn sd_notify_ready_then_reloading_and_ready_on_sighup_then_stopping() {
    let backend = Backend::start();
    let dir = TestDir::new("notify");
    let workers = dir.write("workers.properties", &backend.workers_properties());
    let addr = free_addr();
    let ini = dir.write(
        "jkgate.ini",
        &format!("Listen = {addr}\nAccessLog = off\n[mounts]\n/app/* = lb\n"),
    );
    let socket_path = dir.join("notify.sock");
    let mut notify = NotifySocket::bind(&socket_path);
    let mut gate = Process::start(
        "notify",
        &dir.path,
        [OsStr::new("run"), "--config".as_ref(), ini.as_os_str()],
        &[("NOTIFY_SOCKET", socket_path.as_os_str())],
    );

    let ready = notify.expect("READY=1");
    assert!(
        ready.contains(&format!(
            "STATUS=serving on http://{addr} (configuration generation 1)"
        )),
        "{ready:?}"
    );
    // READY comes when the listener is open.
    get_ok(addr, "/app/echo");

    // A reload: RELOADING, then READY with the next generation.
    gate.signal("HUP");
    let reloading = notify.expect("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading:?}");
    let ready = notify.expect("READY=1");
    assert!(ready.contains("(configuration generation 2)"), "{ready:?}");

    // A failed reload changes nothing: READY again, the same generation, the status
    // worker says ERROR and requests are served as before.
    std::fs::write(&workers, "worker.list=lb\nworker.lb.prot=1\n").unwrap();
    gate.signal("HUP");
    notify.expect("RELOADING=1");
    let ready = notify.expect("READY=1");
    assert!(ready.contains("(configuration generation 2)"), "{ready:?}");
    let status = get_ok(addr, "/jkstatus?mime=prop");
    assert!(status.contains("worker.config_reload=ERROR"), "{status}");
    assert!(status.contains("worker.config_generation=2"), "{status}");
    get_ok(addr, "/app/echo");

    gate.signal("TERM");
    let stopping = notify.expect("STOPPING=1");
    assert!(stopping.contains("STATUS=stopping"), "{stopping:?}");
    let exit = gate.wait_exit(Duration::from_secs(15));
    assert!(exit.success(), "{exit}\n{}", gate.stderr());
}

/// A jkgate serving `lb` on `addr` with `AccessLog = {access}`, its error log on standard
/// error.
fn start_with_access_log(dir: &TestDir, backend: &Backend, access: &str) -> (Process, SocketAddr) {
    dir.write("workers.properties", &backend.workers_properties());
    let addr = free_addr();
    let ini = dir.write(
        "jkgate.ini",
        &format!(
            "Listen = {addr}\nJkWorkersFile = workers.properties\nAccessLog = {access}\n\
             [mounts]\n/app/* = lb\n"
        ),
    );
    let mut gate = Process::start(
        "accesslog",
        &dir.path,
        [OsStr::new("run"), "--config".as_ref(), ini.as_os_str()],
        &[],
    );
    gate.wait_listening(addr);
    (gate, addr)
}

#[test]
fn sigterm_right_after_a_burst_loses_no_access_line() {
    let backend = Backend::start();
    let dir = TestDir::new("burst");
    let (mut gate, addr) = start_with_access_log(&dir, &backend, "access.log");
    // Four clients at once, then SIGTERM the moment the last answer is in: the lines
    // still queued for the writer thread must reach the file before jkgate exits.
    const PER_CLIENT: usize = 250;
    let clients: Vec<_> = (0..4)
        .map(|c| {
            std::thread::spawn(move || {
                for i in 0..PER_CLIENT {
                    get_ok(addr, &format!("/app/echo/c{c}/{i}"));
                }
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    gate.signal("TERM");
    assert!(gate.wait_exit(Duration::from_secs(15)).success());
    let log = read(&dir.join("access.log"));
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("uri=/app/echo/c"))
        .collect();
    assert_eq!(lines.len(), 4 * PER_CLIENT, "{}", gate.stderr());
    for c in 0..4 {
        for i in [0, PER_CLIENT / 2, PER_CLIENT - 1] {
            let uri = format!("uri=/app/echo/c{c}/{i} ");
            assert!(lines.iter().any(|l| l.contains(&uri)), "no line for {uri}");
        }
    }
    assert!(!gate.stderr().contains("lost"), "{}", gate.stderr());
}

#[test]
fn access_lines_a_full_disk_refuses_are_counted_and_reported() {
    // /dev/full takes the open and fails every write with ENOSPC, as a full disk does.
    let backend = Backend::start();
    let dir = TestDir::new("fulldisk");
    let (mut gate, addr) = start_with_access_log(&dir, &backend, "/dev/full");
    for i in 0..20 {
        get_ok(addr, &format!("/app/echo/{i}"));
    }
    // The first loss is reported at once (later ones at most every 10 s).
    poll_until(Duration::from_secs(5), "a lost-lines report", || {
        gate.stderr().contains("access log: ")
    });
    gate.signal("TERM");
    assert!(gate.wait_exit(Duration::from_secs(15)).success());
    let stderr = gate.stderr();
    assert!(
        stderr.contains("access log closed; 20 line(s) were lost in all (0 with the buffer full, 20 in failed writes)"),
        "{stderr}"
    );
}
