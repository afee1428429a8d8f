//! `jkgate import-httpd` against the real thing.
//!
//! * A multi-host configuration (tests/fixtures/import-httpd/multihost: Include and
//!   IncludeOptional with wildcards, `<IfModule>`, vhosts with aliases and wildcards, a
//!   vhost mount file, `<Location>` mounts and unmounts, `JkMountCopy All` and `Off`,
//!   RemoteIP and Require lines) is started by Apache httpd + mod_jk as it is, and imported
//!   by `jkgate import-httpd`; the written jkgate.ini passes `jkgate check`, and the same
//!   requests (several hosts, mounted, unmounted and excluded paths, no Host) get the same
//!   worker and the same status from both.
//! * Debian's own `/etc/libapache2-mod-jk/httpd-jk.conf` imports, lists what it cannot
//!   carry over (JkShmFile, Require ip, the mounts of workers its workers.properties does
//!   not list) and the result passes `jkgate check`.
//!
//! Needs apache2 and libapache2-mod-jk (scripts/test installs them); fails, never skips,
//! without them.
#![cfg(feature = "interop")]

#[path = "support/in_process.rs"]
mod in_process;
#[path = "support/modjk.rs"]
mod modjk;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use jkgate::ajp::PacketSize;
use jkgate::config::{Sources, resolve_settings};
use jkgate::demo::EmbeddedBackend;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/import-httpd/multihost"
);

const TLS_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/import-httpd/tls"
);

/// Copies the multi-host fixture into `root`, replacing the placeholders.
fn instantiate(root: &Path, port: u16, workers: &[(&str, u16)]) {
    instantiate_from(Path::new(FIXTURE), root, port, workers);
}

/// Copies `fixture` into `root`, replacing the placeholders.
fn instantiate_from(fixture: &Path, root: &Path, port: u16, workers: &[(&str, u16)]) {
    fn copy(from: &Path, to: &Path, replace: &dyn Fn(String) -> String) {
        std::fs::create_dir_all(to).expect("create dir");
        for entry in std::fs::read_dir(from).expect("read fixture dir") {
            let entry = entry.expect("entry");
            let target = to.join(entry.file_name());
            if entry.path().is_dir() {
                copy(&entry.path(), &target, replace);
            } else {
                let text = std::fs::read_to_string(entry.path()).expect("read fixture");
                std::fs::write(&target, replace(text)).expect("write copy");
            }
        }
    }
    let root_text = root.display().to_string();
    let replace = |text: String| {
        let mut text = text
            .replace("@ROOT@", &root_text)
            .replace("@PORT@", &port.to_string());
        for (name, port) in workers {
            text = text.replace(&format!("@W_{}@", name.to_uppercase()), &port.to_string());
        }
        text
    };
    copy(fixture, root, &replace);
    for sub in ["run", "logs", "htdocs"] {
        std::fs::create_dir_all(root.join(sub)).expect("dirs");
    }
    if is_root() {
        std::fs::write(
            root.join("conf/user.conf"),
            "User www-data\nGroup www-data\n",
        )
        .expect("user.conf");
        // httpd's children (www-data) write the mod_jk log and shm file there.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("a+rwX")
            .arg(root)
            .status();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

fn jkgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .args(args)
        .output()
        .expect("run jkgate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// httpd started on `root/httpd.conf`, stopped by its PID when dropped.
struct Httpd {
    root: PathBuf,
    port: u16,
}

impl Httpd {
    fn start(root: &Path, port: u16) -> Httpd {
        modjk::ModJk::require_installed();
        let conf = root.join("httpd.conf");
        let output = Command::new(modjk::HTTPD)
            .arg("-f")
            .arg(&conf)
            .arg("-k")
            .arg("start")
            .output()
            .expect("run apache2");
        let log = |root: &Path| {
            format!(
                "{}\n{}",
                std::fs::read_to_string(root.join("logs/error.log")).unwrap_or_default(),
                std::fs::read_to_string(root.join("logs/mod_jk.log")).unwrap_or_default()
            )
        };
        assert!(
            output.status.success(),
            "httpd refused the fixture: {}{}\n{}",
            text(&output.stdout),
            text(&output.stderr),
            log(root)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "httpd did not listen:\n{}",
                log(root)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Httpd {
            root: root.to_owned(),
            port,
        }
    }
}

impl Drop for Httpd {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.root.join("run/httpd.pid")) {
            let pid = pid.trim().to_owned();
            let _ = Command::new("kill").arg("-TERM").arg(&pid).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// (status, route) of one request; HTTP/1.0 without Host for `None`.
fn request(port: u16, host: Option<&str>, path: &str) -> (u16, Option<String>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
    let head = match host {
        Some(host) => format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        None => format!("GET {path} HTTP/1.0\r\n\r\n"),
    };
    stream.write_all(head.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let reply = text(&raw);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let route = reply
        .lines()
        .find_map(|l| l.strip_prefix("route="))
        .map(|r| r.trim().to_owned());
    (status, route)
}

fn temp_dir(label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jkgate-import-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_multihost_configuration_routes_like_mod_jk() {
    let mut backends = Vec::new();
    for name in ["main", "www", "shop", "copy"] {
        backends.push(
            EmbeddedBackend::start(name, PacketSize::DEFAULT)
                .await
                .expect("backend"),
        );
    }
    let workers: Vec<(&str, u16)> = ["main", "www", "shop", "copy"]
        .into_iter()
        .zip(backends.iter().map(|b| b.addr.port()))
        .collect();
    // Two copies: httpd runs one on its port, jkgate imports the other (its own port: the
    // vhosts are `*:PORT`, as operators write them).
    let httpd_root = temp_dir("httpd");
    let gate_root = temp_dir("gate");
    let (httpd_port, gate_port) = (modjk::free_port(), modjk::free_port());
    instantiate(&httpd_root, httpd_port, &workers);
    instantiate(&gate_root, gate_port, &workers);

    let ini_path = gate_root.join("jkgate.ini");
    let conf = gate_root.join("httpd.conf");
    let imported = jkgate(&[
        "import-httpd",
        conf.to_str().unwrap(),
        "-o",
        ini_path.to_str().unwrap(),
    ]);
    let report = text(&imported.stderr);
    assert!(imported.status.success(), "import failed: {report}");
    let ini = std::fs::read_to_string(&ini_path).expect("ini written");
    // Every directive left out is listed with file:line and why, in the report and the ini.
    for expected in [
        "sites-enabled/010-shop.conf:7: RemoteIPHeader X-Forwarded-For",
        "conf.d/jk.conf:4: JkShmFile run/jk.shm",
        "conf/modules.conf:1: LoadModule",
        "sites-enabled/000-www.conf:7: CustomLog",
    ] {
        assert!(
            report.contains(expected),
            "`{expected}` not reported:\n{report}"
        );
        assert!(
            ini.contains(expected),
            "`{expected}` not in the ini:\n{ini}"
        );
    }
    assert!(report.contains("not carried over: ") && ini.contains("; not carried over: "));
    // The main server's status location keeps its IP rule, as an [access] rule.
    assert!(
        ini.contains("[access]\n/jkstatus = Require ip 127.0.0.1\n"),
        "{ini}"
    );
    for expected in [
        "[vhost www.example.com]",
        "ServerAlias = example.com *.www.example.com",
        &format!("VirtualHost = *:{gate_port}"),
        "JkMountCopy = All",
        "JkMountFile = conf/shop-uriworkermap.properties",
        "!/api/internal = www",
        "/jkstatus = jkstatus",
        "JkOptions = +ForwardKeySize -ForwardDirectories",
        "DEPLOY_ENV = production",
    ] {
        assert!(ini.contains(expected), "`{expected}` missing:\n{ini}");
    }
    let check = jkgate(&["check", "--config", ini_path.to_str().unwrap()]);
    assert!(
        check.status.success(),
        "jkgate check refused the imported ini:\n{}\n{ini}",
        text(&check.stderr)
    );

    let httpd = tokio::task::spawn_blocking(move || Httpd::start(&httpd_root, httpd_port))
        .await
        .expect("join");
    let settings = resolve_settings(&Sources {
        config: Some(ini_path.clone()),
        log_file: Some(PathBuf::from("-")),
        ..Sources::default()
    })
    .unwrap_or_else(|e| panic!("settings: {e}"));
    let gate = in_process::start(settings).await;
    assert_eq!(gate.addr.port(), gate_port);

    let hosts: &[Option<&str>] = &[
        Some("www.example.com"),
        Some("Example.COM"),
        Some("a.www.example.com"),
        Some("shop.example.com"),
        Some("x.y.shop.example.com:443"),
        Some("s1.example.org"),
        Some("intranet.example.com"),
        Some("shared.example.com"),
        Some("gate.example.com"),
        Some("unknown.example.net"),
        None,
    ];
    let paths = [
        "/app/echo",
        "/app/static/site.css",
        "/api/v1/orders",
        "/api/internal",
        "/shop/cart",
        "/shop/admin/users",
        "/intra/x",
        "/jkstatus",
        "/other",
    ];
    let mut mismatches = Vec::new();
    let mut seen_routes = std::collections::BTreeSet::new();
    let (ours_port, theirs_port) = (gate_port, httpd.port);
    for host in hosts {
        for path in paths {
            let (h, p) = (host.map(str::to_owned), path.to_owned());
            let (ours, theirs) = tokio::task::spawn_blocking(move || {
                (
                    request(ours_port, h.as_deref(), &p),
                    request(theirs_port, h.as_deref(), &p),
                )
            })
            .await
            .expect("join");
            if let Some(route) = &ours.1 {
                seen_routes.insert(route.clone());
            }
            if ours != theirs {
                mismatches.push(format!(
                    "Host {host:?} {path}: jkgate {ours:?}, mod_jk {theirs:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "jkgate (imported) and httpd + mod_jk differ:\n{}\n{ini}",
        mismatches.join("\n")
    );
    assert_eq!(
        seen_routes.into_iter().collect::<Vec<_>>(),
        vec!["copy", "main", "shop", "www"],
        "every worker is reached by some request"
    );
    drop(httpd);
    gate.shutdown().await;
}

#[test]
fn debian_httpd_jk_conf_imports_and_checks() {
    let source = Path::new("/etc/libapache2-mod-jk/httpd-jk.conf");
    assert!(
        source.exists(),
        "{} is missing: install libapache2-mod-jk (scripts/test does)",
        source.display()
    );
    let dir = temp_dir("debian");
    std::fs::create_dir_all(&dir).expect("dir");
    let ini_path = dir.join("jkgate.ini");
    let imported = jkgate(&[
        "import-httpd",
        "-d",
        "/etc/apache2",
        source.to_str().unwrap(),
        "-o",
        ini_path.to_str().unwrap(),
    ]);
    let report = text(&imported.stderr);
    assert!(imported.status.success(), "{report}");
    let ini = std::fs::read_to_string(&ini_path).expect("ini");
    for expected in [
        "JkWorkersFile = /etc/libapache2-mod-jk/workers.properties",
        "JkLogLevel = info",
        "JkWatchdogInterval = 60",
        "ServerRoot = /etc/apache2",
    ] {
        assert!(ini.contains(expected), "`{expected}` missing:\n{ini}");
    }
    // The status locations' `Require ip` lines become [access] rules.
    assert!(
        ini.contains(
            "[access]\n/jk-status = Require ip 127.0.0.1\n/jk-manager = Require ip 127.0.0.1\n"
        ),
        "{ini}"
    );
    for expected in [
        "JkShmFile /var/log/apache2/jk-runtime-status",
        // Debian's workers.properties lists ajp13_worker only.
        "JkMount /jk-status jk-status: worker `jk-status` is not in worker.list",
    ] {
        assert!(
            report.contains(expected),
            "`{expected}` not reported:\n{report}"
        );
    }
    let check = jkgate(&[
        "check",
        "--config",
        ini_path.to_str().unwrap(),
        "--log-file",
        "-",
    ]);
    assert!(
        check.status.success(),
        "jkgate check refused the imported Debian configuration:\n{}\n{ini}",
        text(&check.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debian_apache2_conf_imports_and_checks() {
    let source = Path::new("/etc/apache2/apache2.conf");
    assert!(
        source.exists(),
        "{} is missing: install apache2 (scripts/test does)",
        source.display()
    );
    let dir = temp_dir("debian-apache2");
    std::fs::create_dir_all(&dir).expect("dir");
    let ini_path = dir.join("jkgate.ini");
    let imported = jkgate(&[
        "import-httpd",
        "-d",
        "/etc/apache2",
        source.to_str().unwrap(),
        "-o",
        ini_path.to_str().unwrap(),
    ]);
    let report = text(&imported.stderr);
    assert!(imported.status.success(), "{report}");
    let ini = std::fs::read_to_string(&ini_path).expect("ini");
    // ports.conf's `Listen 443` sits in <IfModule ssl_module>, which Debian does not load
    // by default; mods-enabled/*.load decide, as in httpd.
    assert!(ini.contains("Listen = 80\n"), "{ini}");
    assert!(!ini.contains("Listen = 443"), "{ini}");
    assert!(
        ini.contains("JkWorkersFile = "),
        "mod_jk's settings from mods-enabled: {ini}"
    );
    assert!(report.contains("LoadModule mpm_"), "{report}");
    let check = jkgate(&[
        "check",
        "--config",
        ini_path.to_str().unwrap(),
        "--log-file",
        "-",
    ]);
    assert!(
        check.status.success(),
        "jkgate check refused the imported Debian apache2.conf:\n{}\n{ini}",
        text(&check.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CA-signed certificate and key per name, PEM.
fn certificates(names: &[&str]) -> Vec<(String, String, String)> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "import test CA");
    let issuer = Issuer::new(ca, &ca_key);
    names
        .iter()
        .map(|name| {
            let key = KeyPair::generate().expect("key");
            let mut params =
                CertificateParams::new(vec![format!("{name}.example.com")]).expect("params");
            params
                .distinguished_name
                .push(DnType::CommonName, format!("{name}.example.com"));
            let cert = params.signed_by(&key, &issuer).expect("certificate");
            ((*name).to_owned(), cert.pem(), key.serialize_pem())
        })
        .collect()
}

/// curl over HTTPS to 127.0.0.1:`port`: with `name`, as SNI and Host (`--resolve`);
/// without, by IP (no SNI). (subject CN seen, status, route).
fn curl_https(port: u16, name: Option<&str>) -> (String, u16, Option<String>) {
    let mut command = Command::new("curl");
    command.args(["-sS", "-v", "--insecure", "--max-time", "30"]);
    let url = match name {
        Some(name) => {
            command
                .arg("--resolve")
                .arg(format!("{name}:{port}:127.0.0.1"));
            format!("https://{name}:{port}/app/echo")
        }
        None => format!("https://127.0.0.1:{port}/app/echo"),
    };
    let output = command
        .arg("-w")
        .arg("\nstatus=%{http_code}\n")
        .arg(url)
        .output()
        .expect("curl runs (install curl)");
    let stderr = text(&output.stderr);
    let subject = stderr
        .lines()
        .find_map(|l| l.split_once("subject: ").map(|(_, s)| s.trim().to_owned()))
        .unwrap_or_default();
    let stdout = text(&output.stdout);
    let status = stdout
        .lines()
        .find_map(|l| l.strip_prefix("status="))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let route = stdout
        .lines()
        .find_map(|l| l.strip_prefix("route="))
        .map(str::to_owned);
    (subject, status, route)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_tls_vhosts_choose_the_certificate_as_httpd_does() {
    let mut backends = Vec::new();
    for name in ["www", "shop"] {
        backends.push(
            EmbeddedBackend::start(name, PacketSize::DEFAULT)
                .await
                .expect("backend"),
        );
    }
    let workers: Vec<(&str, u16)> = ["www", "shop"]
        .into_iter()
        .zip(backends.iter().map(|b| b.addr.port()))
        .collect();
    let certs = certificates(&["www", "shop"]);
    let httpd_root = temp_dir("tls-httpd");
    let gate_root = temp_dir("tls-gate");
    let (httpd_port, gate_port) = (modjk::free_port(), modjk::free_port());
    for (root, port) in [(&httpd_root, httpd_port), (&gate_root, gate_port)] {
        instantiate_from(Path::new(TLS_FIXTURE), root, port, &workers);
        std::fs::create_dir_all(root.join("certs")).expect("certs dir");
        for (name, cert, key) in &certs {
            std::fs::write(root.join(format!("certs/{name}.pem")), cert).expect("cert");
            std::fs::write(root.join(format!("certs/{name}.key")), key).expect("key");
        }
    }
    let ini_path = gate_root.join("jkgate.ini");
    let conf = gate_root.join("httpd.conf");
    let imported = jkgate(&[
        "import-httpd",
        conf.to_str().unwrap(),
        "-o",
        ini_path.to_str().unwrap(),
    ]);
    assert!(imported.status.success(), "{}", text(&imported.stderr));
    let ini = std::fs::read_to_string(&ini_path).expect("ini");
    assert!(
        ini.contains(&format!("[tls]\nListen = 127.0.0.1:{gate_port}\n")),
        "{ini}"
    );
    let settings = resolve_settings(&Sources {
        config: Some(ini_path.clone()),
        log_file: Some(PathBuf::from("-")),
        ..Sources::default()
    })
    .unwrap_or_else(|e| panic!("settings: {e}\n{ini}"));
    let gate = in_process::start(settings).await;
    let httpd = tokio::task::spawn_blocking(move || Httpd::start(&httpd_root, httpd_port))
        .await
        .expect("join");

    let names = [
        Some("www.example.com"),
        Some("shop.example.com"),
        Some("a.shop.example.com"),
        Some("unknown.example.org"),
        None,
    ];
    let mut mismatches = Vec::new();
    let mut subjects = std::collections::BTreeSet::new();
    let theirs_port = httpd.port;
    for name in names {
        let (ours, theirs) = tokio::task::spawn_blocking(move || {
            (curl_https(gate_port, name), curl_https(theirs_port, name))
        })
        .await
        .expect("join");
        subjects.insert(ours.0.clone());
        if ours != theirs {
            mismatches.push(format!("{name:?}: jkgate {ours:?}, httpd {theirs:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "jkgate (imported) and httpd + mod_ssl + mod_jk differ:\n{}\n{ini}",
        mismatches.join("\n")
    );
    assert_eq!(
        subjects.len(),
        2,
        "both certificates were served: {subjects:?}"
    );
    drop(httpd);
    gate.shutdown().await;
}
