//! jkgate.ini + command-line overrides, and `jkgate check` exit codes (the real binary).
#![cfg(feature = "proxy")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use jkgate::config::ini::ForwardUri;
use jkgate::config::settings::DEFAULT_LISTEN;
use jkgate::config::{Listener, Sources, resolve_settings};

fn temp_dir() -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "jkgate-cli-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const WORKERS: &str = "worker.list=lb,jkstatus\nworker.lb.type=lb\nworker.lb.balance_workers=n1,n2\n\
    worker.n1.host=127.0.0.1\nworker.n1.port=8109\nworker.n2.host=127.0.0.1\nworker.n2.port=8209\n\
    worker.jkstatus.type=status\nworker.jkstatus.mount=/jkstatus\n";

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn ini_settings_are_read_relative_to_the_ini_file() {
    let dir = temp_dir();
    write(&dir, "workers.properties", WORKERS);
    write(
        &dir,
        "uriworkermap.properties",
        "/app/*=lb\n!/app/*.png=lb\n",
    );
    let ini = write(
        &dir,
        "jkgate.ini",
        "; jkgate settings\n\nListen = 127.0.0.1:18080, 127.0.0.1:18081\n  # indented comment\n\
         JkWorkersFile = workers.properties\nJkMountFile = uriworkermap.properties\nJkMountFileReload = 5\n\
         JkLogLevel = debug\nJkOptions = +ForwardURICompatUnparsed +RejectUnsafeURI\nJkStripSession = On\n\
         JkWatchdogInterval = 30\nAccessLog = access.log\nJkRequestLogFormat = %w %R %s\n\
         JkLogFile = logs/jkgate.log\n\
         [tls]\nListen = 127.0.0.1:18443\nCertificate = cert.pem\nKey = key.pem\n\
         [mounts]\n/api/* = lb;reply_timeout=1000\n/app|/* = lb\n\
         [env]\nSITE = blue\n\
         [status_users]\nadmin = s3cret\n",
    );
    let settings = resolve_settings(&Sources {
        config: Some(ini),
        ..Sources::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = |s: &str| s.parse::<SocketAddr>().unwrap();
    assert_eq!(
        settings.listeners,
        vec![
            Listener {
                addr: addr("127.0.0.1:18080"),
                tls: false
            },
            Listener {
                addr: addr("127.0.0.1:18081"),
                tls: false
            },
            Listener {
                addr: addr("127.0.0.1:18443"),
                tls: true
            },
        ]
    );
    let tls = settings.tls.as_ref().expect("tls");
    assert_eq!(tls.certificate, dir.join("cert.pem"));
    assert_eq!(tls.key, dir.join("key.pem"));
    assert_eq!(settings.workers_file, dir.join("workers.properties"));
    assert_eq!(
        settings.mount_file.as_deref(),
        Some(dir.join("uriworkermap.properties").as_path())
    );
    assert_eq!(settings.mount_file_reload, Duration::from_secs(5));
    assert_eq!(settings.options.forward_uri, ForwardUri::CompatUnparsed);
    assert!(settings.options.reject_unsafe_uri);
    assert_eq!(settings.strip_session.as_deref(), Some(";jsessionid"));
    assert_eq!(settings.watchdog_interval, Duration::from_secs(30));
    // Both are read, and jkgate says they change nothing here.
    for key in ["JkStripSession", "JkWatchdogInterval"] {
        let warning = settings
            .warnings
            .iter()
            .find(|w| w.key == key)
            .unwrap_or_else(|| panic!("a warning about {key}"));
        assert!(warning.message.contains("changes nothing"), "{warning}");
    }
    assert_eq!(
        settings.access_log.as_deref(),
        Some(dir.join("access.log").as_path())
    );
    assert_eq!(
        settings.log_file.as_deref(),
        Some(dir.join("logs/jkgate.log").as_path())
    );
    assert!(settings.request_log_format.is_some());
    assert_eq!(
        settings.env_vars,
        vec![("SITE".to_owned(), "blue".to_owned())]
    );
    let users: Vec<(&str, &jkgate::config::htpasswd::Credential)> = settings
        .status_users
        .iter()
        .map(|u| (u.name.as_str(), &u.credential))
        .collect();
    assert_eq!(
        users,
        [(
            "admin",
            &jkgate::config::htpasswd::Credential::Plain("s3cret".to_owned())
        )]
    );
    let m = &settings.mounts;
    assert_eq!(m.find_str("/api/x").map(|r| r.worker.as_str()), Some("lb"));
    assert_eq!(
        m.find_str("/api/x").unwrap().extensions.reply_timeout,
        Some(Duration::from_millis(1000))
    );
    assert_eq!(m.find_str("/app").map(|r| r.worker.as_str()), Some("lb"));
    assert_eq!(m.find_str("/app/a.png"), None);
    assert_eq!(
        m.find_str("/jkstatus").map(|r| r.worker.as_str()),
        Some("jkstatus")
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn flags_override_the_ini() {
    let dir = temp_dir();
    write(&dir, "workers.properties", "worker.list=wrong\n");
    let other = write(&dir, "other.properties", WORKERS);
    let ini = write(
        &dir,
        "jkgate.ini",
        "Listen = 127.0.0.1:18080\nJkLogLevel = debug\nJkLogFile = ini.log\n[mounts]\n/ini/* = lb\n",
    );
    let settings = resolve_settings(&Sources {
        config: Some(ini),
        workers_file: Some(other.clone()),
        listen: vec!["127.0.0.1:19090".to_owned(), "9091".to_owned()],
        mounts: vec!["/cli/*=lb".to_owned()],
        log_level: Some("warn".to_owned()),
        log_file: Some(PathBuf::from("/var/log/jkgate/error.log")),
        ..Sources::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(settings.workers_file, other);
    assert_eq!(
        settings.log_file.as_deref(),
        Some(Path::new("/var/log/jkgate/error.log"))
    );
    let addrs: Vec<String> = settings
        .listeners
        .iter()
        .map(|l| l.addr.to_string())
        .collect();
    assert_eq!(addrs, vec!["127.0.0.1:19090", "0.0.0.0:9091"]);
    assert_eq!(settings.log_level, jkgate::config::ini::LogLevel::Warn);
    assert!(
        settings.mounts.find_str("/ini/a").is_some(),
        "--mount adds to the ini's mounts"
    );
    assert!(settings.mounts.find_str("/cli/a").is_some());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn defaults_without_ini() {
    let dir = temp_dir();
    let workers = write(&dir, "w.properties", WORKERS);
    let settings = resolve_settings(&Sources {
        workers_file: Some(workers),
        ..Sources::default()
    })
    .unwrap();
    assert_eq!(
        settings.listeners,
        vec![Listener {
            addr: DEFAULT_LISTEN,
            tls: false
        }]
    );
    assert!(settings.tls.is_none());
    assert_eq!(settings.mount_file_reload, Duration::from_secs(60));
    assert_eq!(settings.options.forward_uri, ForwardUri::Proxy);
    assert!(settings.options.forward_key_size);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn setting_errors_are_collected_and_named() {
    let dir = temp_dir();
    write(&dir, "workers.properties", WORKERS);
    let ini = write(
        &dir,
        "jkgate.ini",
        "Listen = nowhere\nJkOptions = +Bogus\nJkLogLevel = loud\n[tls]\nListen = 127.0.0.1:18443\n[mounts]\n/x/* = missing\n",
    );
    let err = resolve_settings(&Sources {
        config: Some(ini),
        ..Sources::default()
    })
    .unwrap_err();
    let text = err.to_string();
    // Each value error names the jkgate.ini line it came from.
    for needle in [
        "jkgate.ini:1: Listen: `nowhere`",
        "jkgate.ini:2: JkOptions: unknown option `+Bogus`",
        "jkgate.ini:3: JkLogLevel: `loud` is not a log level; valid: trace",
        "jkgate.ini:5: [tls]: HTTPS listeners need both Certificate and Key",
        "jkgate.ini:7: mount `/x/*` names worker `missing`",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn unknown_ini_setting_is_an_error() {
    let dir = temp_dir();
    let ini = write(&dir, "jkgate.ini", "JkWorkerFile = typo.properties\n");
    let err = resolve_settings(&Sources {
        config: Some(ini),
        ..Sources::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("JkWorkersFile"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

fn jkgate() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jkgate"))
}

#[test]
fn check_exits_0_and_prints_members_with_effective_settings() {
    let dir = temp_dir();
    let workers = write(&dir, "workers.properties", WORKERS);
    let out = jkgate()
        .arg("check")
        .arg("--workers-file")
        .arg(&workers)
        .arg("--mount")
        .arg("/app/*=lb")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("worker lb (type lb)"), "{stdout}");
    assert!(stdout.contains("member n1: route=n1"), "{stdout}");
    assert!(stdout.contains("port=8209"), "{stdout}");
    assert!(stdout.contains("reply_timeout=0 ms"), "{stdout}");
    assert!(stdout.contains("mount /app/* -> lb"), "{stdout}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn check_prints_the_metrics_and_health_checks_and_refuses_bad_ones() {
    let dir = temp_dir();
    write(&dir, "workers.properties", WORKERS);
    let ini = write(
        &dir,
        "jkgate.ini",
        "MetricsListen = 127.0.0.1:9100\n[mounts]\n/app/* = lb\n\
         [healthcheck lb]\nUri = /app/health\nExpectBody = UP\n\
         [healthcheck n2]\nUri = /n2/health\nInterval = 2\nTimeout = 300ms\nExpectStatus = 204\nRise = 1\nFall = 4\n",
    );
    let out = jkgate()
        .arg("check")
        .arg("--config")
        .arg(&ini)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("metrics: /metrics on 127.0.0.1:9100 only"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "health check lb: GET /app/health every 10 s timeout 5000 ms expect status 2xx,3xx body containing `UP` rise 2 fall 3"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("health check n2: GET /n2/health every 2 s timeout 300 ms expect status 204 rise 1 fall 4"),
        "{stdout}"
    );
    let bad = write(
        &dir,
        "bad.ini",
        "MetricsPath = metrics\n[mounts]\n/app/* = lb\n[healthcheck jkstatus]\nUri = /x\n",
    );
    let out = jkgate()
        .arg("check")
        .arg("--config")
        .arg(&bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("bad.ini:1: MetricsPath: `metrics` is not a path"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bad.ini:4: [healthcheck jkstatus]: `jkstatus` is neither an lb worker"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn check_exits_1_with_file_line_and_key_on_errors() {
    let dir = temp_dir();
    let workers = write(
        &dir,
        "workers.properties",
        "worker.list=a\n\nworker.a.prot=8009\n",
    );
    let out = jkgate()
        .arg("check")
        .arg("--workers-file")
        .arg(&workers)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("workers.properties:3"), "{stderr}");
    assert!(stderr.contains("worker.a.prot"), "{stderr}");
    let out = jkgate()
        .arg("check")
        .arg("--workers-file")
        .arg(dir.join("does-not-exist"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does-not-exist"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn check_with_bad_flags_is_a_usage_error() {
    let out = jkgate()
        .arg("check")
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `jkgate check` with `args`: exit code, stdout, stderr.
fn check(args: &[&std::ffi::OsStr]) -> (Option<i32>, String, String) {
    let out = jkgate().arg("check").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn ini_line_errors_name_file_and_line_without_serde_wrappers() {
    let dir = temp_dir();
    let workers = write(&dir, "workers.properties", WORKERS);
    let cases = [
        (
            "Listen = 8080\nJkWorkerFile = w\n",
            "jkgate.ini:2: unknown setting `JkWorkerFile` at the top level (before any [section]) (did you mean `JkWorkersFile`?); valid: Listen, ServerRoot,",
        ),
        (
            "[mount]\n/a = lb\n",
            "jkgate.ini:1: unknown section [mount] (did you mean [mounts]?); valid sections: [tls], [mounts], [env], [status_users], [access]",
        ),
        (
            "\n\nJkLogLevel debug\n",
            "jkgate.ini:3: line `JkLogLevel debug` at the top level (before any [section]) has no `=`; jkgate.ini writes every setting as KEY = VALUE, e.g. `JkLogLevel = debug`",
        ),
        (
            "JkMountFileReload = soon\n",
            "jkgate.ini:1: JkMountFileReload: `soon` is not a whole number of seconds",
        ),
        (
            "Replay = always\n",
            "jkgate.ini:1: Replay: `always` is not a replay policy; valid: safe, mod_jk",
        ),
    ];
    for (text, expected) in cases {
        let ini = write(&dir, "jkgate.ini", text);
        let (code, _, stderr) = check(&[
            "--config".as_ref(),
            ini.as_os_str(),
            "--workers-file".as_ref(),
            workers.as_os_str(),
        ]);
        assert_eq!(code, Some(1), "{text:?}: {stderr}");
        let expected = format!("error: {}/{expected}", dir.display());
        assert!(
            stderr.contains(&expected),
            "{text:?}: expected {expected:?} in\n{stderr}"
        );
        assert!(!stderr.contains("Custom("), "{stderr}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn repeated_listen_lines_are_all_listened_on() {
    let dir = temp_dir();
    write(&dir, "workers.properties", WORKERS);
    let (cert, key) = tls_pair(&dir, "server");
    let ini = write(
        &dir,
        "jkgate.ini",
        &format!(
            "Listen = 127.0.0.1:18080\nListen = 127.0.0.1:18081\n[tls]\nListen = 127.0.0.1:18443\n\
             Listen = 127.0.0.1:18444\nCertificate = {}\nKey = {}\n[mounts]\n/app/* = lb\n",
            cert.display(),
            key.display()
        ),
    );
    let (code, stdout, stderr) = check(&["--config".as_ref(), ini.as_os_str()]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for line in [
        "listen: 127.0.0.1:18080 (http)",
        "listen: 127.0.0.1:18081 (http)",
        "listen: 127.0.0.1:18443 (https)",
        "listen: 127.0.0.1:18444 (https)",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "no {line:?} in\n{stdout}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

/// A self-signed certificate and its key under `dir` (`NAME.pem`, `NAME.key`).
fn tls_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (
        write(dir, &format!("{name}.pem"), &pair.cert.pem()),
        write(
            dir,
            &format!("{name}.key"),
            &pair.signing_key.serialize_pem(),
        ),
    )
}

#[test]
fn check_refuses_unusable_tls_files_naming_setting_file_and_what_is_valid() {
    let dir = temp_dir();
    let workers = write(&dir, "workers.properties", WORKERS);
    let (cert, key) = tls_pair(&dir, "server");
    let (_, other_key) = tls_pair(&dir, "other");
    let not_pem = write(&dir, "not-pem.txt", "just text\n");
    let missing = dir.join("missing.pem");
    let check_tls = |cert: &Path, key: &Path| {
        check(&[
            "--workers-file".as_ref(),
            workers.as_os_str(),
            "--mount".as_ref(),
            "/app/*=lb".as_ref(),
            "--tls-listen".as_ref(),
            "127.0.0.1:18443".as_ref(),
            "--cert".as_ref(),
            cert.as_os_str(),
            "--key".as_ref(),
            key.as_os_str(),
        ])
    };
    let (code, stdout, stderr) = check_tls(&cert, &key);
    assert_eq!(code, Some(0), "a good pair passes: {stdout}\n{stderr}");
    let certificate_valid = "valid: a readable PEM file of `-----BEGIN CERTIFICATE-----` blocks";
    let key_valid = "valid: a readable PEM private key";
    let cases = [
        (
            &missing,
            &key,
            format!(
                "[tls] Certificate (--cert) {}: cannot be read: No such file",
                missing.display()
            ),
            certificate_valid,
        ),
        (
            &not_pem,
            &key,
            format!(
                "[tls] Certificate (--cert) {}: holds no certificate",
                not_pem.display()
            ),
            certificate_valid,
        ),
        (
            &cert,
            &missing,
            format!(
                "[tls] Key (--key) {}: cannot be read: No such file",
                missing.display()
            ),
            key_valid,
        ),
        (
            &cert,
            &not_pem,
            format!(
                "[tls] Key (--key) {}: holds no private key",
                not_pem.display()
            ),
            key_valid,
        ),
        (
            &cert,
            &other_key,
            format!(
                "[tls] Key (--key) {}: does not belong to the certificate in {}",
                other_key.display(),
                cert.display()
            ),
            key_valid,
        ),
    ];
    for (cert, key, problem, valid) in cases {
        let (code, stdout, stderr) = check_tls(cert, key);
        assert_eq!(code, Some(1), "{problem}: {stdout}\n{stderr}");
        let error = stderr
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("no error line in {stderr}"));
        assert!(error.contains(&problem), "expected {problem:?} in {error}");
        assert!(error.contains(valid), "expected {valid:?} in {error}");
        assert!(stdout.is_empty(), "nothing is described: {stdout}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn check_refuses_an_unresolvable_host_naming_file_line_worker_and_lb() {
    let dir = temp_dir();
    // RFC 6761: `.invalid` never resolves, no network needed.
    let workers = write(
        &dir,
        "workers.properties",
        "worker.list=lb,solo\nworker.lb.type=lb\nworker.lb.balance_workers=n1\n\
         worker.n1.port=8009\nworker.n1.host=tomcat1.invalid\nworker.solo.host=127.0.0.1\n",
    );
    let (code, _, stderr) = check(&["--workers-file".as_ref(), workers.as_os_str()]);
    assert_eq!(code, Some(1), "{stderr}");
    let expected = format!(
        "error: {}:5: worker `n1` (member of lb `lb`): cannot resolve host `tomcat1.invalid` (worker.n1.host, port 8009): ",
        workers.display()
    );
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in\n{stderr}"
    );
    assert!(
        stderr.contains(
            "; valid: a host name this machine resolves (DNS or /etc/hosts) or an IP address"
        ),
        "{stderr}"
    );
    let workers = write(
        &dir,
        "workers.properties",
        "worker.list=solo\nworker.solo.host=tomcat2.invalid\n",
    );
    let (code, _, stderr) = check(&["--workers-file".as_ref(), workers.as_os_str()]);
    assert_eq!(code, Some(1), "{stderr}");
    let expected = format!(
        "error: {}:2: worker `solo`: cannot resolve host `tomcat2.invalid`",
        workers.display()
    );
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in\n{stderr}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn check_refuses_a_variable_nothing_defines() {
    let dir = temp_dir();
    let workers = write(
        &dir,
        "workers.properties",
        "worker.list=w\nworker.w.host=$(JKGATE_TEST_TC_HOST)\n",
    );
    let out = jkgate()
        .args(["check", "--workers-file"])
        .arg(&workers)
        .env_remove("JKGATE_TEST_TC_HOST")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = format!(
        "error: {}:2: `worker.w.host=$(JKGATE_TEST_TC_HOST)`: `$(JKGATE_TEST_TC_HOST)` is not defined",
        workers.display()
    );
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in\n{stderr}"
    );
    assert!(
        stderr.contains("which can never be what was meant"),
        "{stderr}"
    );
    // Defined in the environment, the same file passes.
    let out = jkgate()
        .args(["check", "--workers-file"])
        .arg(&workers)
        .env("JKGATE_TEST_TC_HOST", "127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn check_warns_about_a_status_worker_anyone_may_change() {
    let dir = temp_dir();
    let workers = write(&dir, "workers.properties", WORKERS);
    let (code, _, stderr) = check(&["--workers-file".as_ref(), workers.as_os_str()]);
    assert_eq!(code, Some(0), "a warning, not an error: {stderr}");
    let expected = format!(
        "warning: {}:8: worker.jkstatus: status worker `jkstatus` lets anyone change workers",
        workers.display()
    );
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in\n{stderr}"
    );
    assert!(
        stderr.contains("set worker.jkstatus.read_only=true, or worker.jkstatus.user=NAME"),
        "{stderr}"
    );
    let workers = write(
        &dir,
        "workers.properties",
        &format!("{WORKERS}worker.jkstatus.read_only=true\n"),
    );
    let (code, _, stderr) = check(&["--workers-file".as_ref(), workers.as_os_str()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("lets anyone change"), "{stderr}");
    std::fs::remove_dir_all(dir).ok();
}
