//! Virtual hosts on real Tomcat: `jkgate run` with `[vhost NAME]` sections in front of two
//! Tomcat 10.1 nodes, each host mounting `/app/*` on its own lb worker (`lb_www` over
//! node1, `lb_shop` over node2).
//!
//! * The Host header picks the vhost (ServerName, ServerAlias with wildcards, any case,
//!   with a port); a name nobody claims and a request without a name get the first vhost.
//! * `JkMountCopy = On` adds the top-level mounts to a vhost's own; a vhost without mounts
//!   and without it maps nothing (404).
//! * HTTPS: curl with `--resolve` sends each name as SNI and verifies the certificate it is
//!   served against that name: each vhost's own, the default vhost's for an unknown name.
//! * SIGHUP: the vhosts are read again (a vhost moved to the HTTPS port only, a new alias).
//! * The status worker names each map's server as mod_jk does (`ServerName [*]`).
//!
//! Needs tomcat10 and curl (scripts/test installs them); fails, never skips, without them.
#![cfg(feature = "interop")]

#[path = "support/gate.rs"]
mod gate;
#[path = "support/pki.rs"]
mod pki;
#[path = "support/reload.rs"]
mod reload;
#[path = "support/tomcat.rs"]
mod tomcat;

use std::path::Path;
use std::process::Command;

use pki::{IssuedCert, TestCa};
use reload::ConfGate;
use tomcat::{TomcatCluster, TomcatOptions};

/// Writes the CA (`ca.pem`) and, for each name, a certificate whose SAN and CN are the
/// name (`NAME.pem`, `NAME.key`) into the gate's configuration directory.
fn write_pki(gate: &ConfGate, ca: &TestCa, certs: &[IssuedCert]) {
    gate.write("ca.pem", &ca.pem);
    for cert in certs {
        gate.write(&format!("{}.pem", cert.cn), &cert.cert_pem);
        gate.write(&format!("{}.key", cert.cn), &cert.key_pem);
    }
}

fn workers_properties(cluster: &TomcatCluster) -> String {
    let node = |route: &str| cluster.node(route).ajp_port();
    format!(
        "worker.list=lb_www,lb_shop,jkstatus\n\
         worker.jkstatus.type=status\n\
         worker.node1.type=ajp13\nworker.node1.host=127.0.0.1\nworker.node1.port={}\n\
         worker.node2.type=ajp13\nworker.node2.host=127.0.0.1\nworker.node2.port={}\n\
         worker.lb_www.type=lb\nworker.lb_www.balance_workers=node1\n\
         worker.lb_shop.type=lb\nworker.lb_shop.balance_workers=node2\n",
        node("node1"),
        node("node2"),
    )
}

/// The ini: the main server mounts `/app/*` on lb_www and `/jkstatus`; `www` (first, the
/// default) and `shop` mount `/app/*` on their lbs; `copy` adds its own `/app/echo/copy`
/// to the copied top-level mounts; `bare` has nothing. `shop_vhost_address` is the
/// `VirtualHost` line of shop (changed by the reload).
fn ini(gate: &ConfGate, shop_extra: &str) -> String {
    format!(
        "Listen = 127.0.0.1:{port}\n\
         JkWorkersFile = workers.properties\n\
         ServerName = gate.example.com\n\
         AccessLog = access.log\n\
         JkRequestLogFormat = %v|%V|%w|%U\n\
         [tls]\n\
         Listen = 127.0.0.1:{tls}\n\
         [mounts]\n\
         /app/* = lb_www\n\
         /jkstatus = jkstatus\n\
         [vhost www.example.com]\n\
         ServerAlias = example.com *.www.example.com\n\
         Certificate = www.example.com.pem\n\
         Key = www.example.com.key\n\
         /app/* = lb_www\n\
         /jkstatus = jkstatus\n\
         [vhost shop.example.com]\n\
         ServerAlias = *.shop.example.com\n\
         Certificate = shop.example.com.pem\n\
         Key = shop.example.com.key\n\
         {shop_extra}\
         /app/* = lb_shop\n\
         !/app/static/* = lb_shop\n\
         [vhost copy.example.com]\n\
         JkMountCopy = On\n\
         /app/echo/copy = lb_shop\n\
         [vhost bare.example.com]\n",
        port = gate.port,
        tls = gate.tls_port.expect("TLS port"),
    )
}

/// (status, node) of `GET path` with `Host: host` (no Host header at all for `None`) on
/// the plain port.
fn ask(gate: &ConfGate, host: Option<&str>, path: &str) -> (u16, Option<String>) {
    let reply = match host {
        Some(host) => gate.get(path, &[("Host", host)]),
        None => {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(("127.0.0.1", gate.port)).expect("connect");
            write!(s, "GET {path} HTTP/1.0\r\n\r\n").expect("send");
            let mut raw = Vec::new();
            let _ = s.read_to_end(&mut raw);
            let text = String::from_utf8_lossy(&raw).into_owned();
            let status = text
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let node = text
                .lines()
                .find_map(|l| l.strip_prefix("node="))
                .map(str::to_owned);
            return (status, node);
        }
    };
    let node = reply.kv().get("node").map(str::to_owned);
    (reply.status, node)
}

/// curl over HTTPS with `name` as SNI and Host, the test CA trusted (the certificate must
/// name `name` or curl refuses it): (exit success, subject CN seen, node).
fn curl_tls(dir: &Path, port: u16, name: &str, insecure: bool) -> (bool, String, String) {
    let mut command = Command::new("curl");
    command
        .arg("-sS")
        .arg("-v")
        .arg("--max-time")
        .arg("30")
        .arg("--resolve")
        .arg(format!("{name}:{port}:127.0.0.1"))
        .arg("--cacert")
        .arg(dir.join("ca.pem"));
    if insecure {
        command.arg("--insecure");
    }
    let output = command
        .arg(format!("https://{name}:{port}/app/echo"))
        .output()
        .expect("curl runs (install curl)");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let subject = stderr
        .lines()
        .find_map(|l| l.split_once("subject: ").map(|(_, s)| s.trim().to_owned()))
        .unwrap_or_default();
    let node = String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("node="))
        .unwrap_or_default()
        .to_owned();
    (output.status.success(), subject, node)
}

#[test]
fn two_hosts_reach_their_own_lb_with_their_own_certificate() {
    let cluster = TomcatCluster::start(2, TomcatOptions::default());
    let names = ["www.example.com", "shop.example.com"];
    let ca = TestCa::generate("jkgate vhost test CA");
    let certs: Vec<IssuedCert> = names
        .iter()
        .map(|name| ca.issue_server(&[name], name))
        .collect();
    let mut gate = ConfGate::start("vhosts", true, |g| {
        write_pki(g, &ca, &certs);
        g.write("workers.properties", workers_properties(&cluster));
        g.write("jkgate.ini", ini(g, ""));
    });

    // Host header routing, as httpd picks the vhost.
    let n1 = Some("node1".to_owned());
    let n2 = Some("node2".to_owned());
    /// (Host, path, (status, node)).
    type Case<'a> = (Option<&'a str>, &'a str, (u16, Option<String>));
    let cases: Vec<Case<'_>> = vec![
        (Some("www.example.com"), "/app/echo", (200, n1.clone())),
        (Some("shop.example.com"), "/app/echo", (200, n2.clone())),
        (
            Some("SHOP.Example.COM:8080"),
            "/app/echo",
            (200, n2.clone()),
        ),
        (Some("a.b.shop.example.com"), "/app/echo", (200, n2.clone())),
        (Some("example.com"), "/app/echo", (200, n1.clone())),
        (Some("nobody.example.org"), "/app/echo", (200, n1.clone())),
        (None, "/app/echo", (200, n1.clone())),
        // shop excludes its static files; www does not.
        (Some("shop.example.com"), "/app/static/1k.bin", (404, None)),
        (Some("www.example.com"), "/app/static/1k.bin", (200, None)),
        // copy: its own mount, then the copied top-level one.
        (
            Some("copy.example.com"),
            "/app/echo/copy",
            (200, n2.clone()),
        ),
        (Some("copy.example.com"), "/app/echo", (200, n1.clone())),
        // bare: no mounts, no JkMountCopy: nothing is mapped.
        (Some("bare.example.com"), "/app/echo", (404, None)),
    ];
    for (host, path, expected) in &cases {
        assert_eq!(
            ask(&gate, *host, path),
            *expected,
            "Host {host:?} {path}\n{}",
            gate.error_log()
        );
    }

    // The access log's %v is the ServerName of the vhost that answered, %V the Host.
    let wanted = [
        "shop.example.com|a.b.shop.example.com|lb_shop|/app/echo",
        "www.example.com|nobody.example.org|lb_www|/app/echo",
        "bare.example.com|bare.example.com|-|/app/echo",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(gate.dir.join("access.log")).unwrap_or_default();
        if wanted.iter().all(|w| log.lines().any(|l| l.contains(w))) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "access log lacks {wanted:?}:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // SNI: each name gets its own certificate (curl verifies it against the name).
    let tls = gate.tls_port.expect("TLS port");
    let (ok, subject, node) = curl_tls(&gate.dir, tls, "www.example.com", false);
    assert!(
        ok && subject.contains("CN=www.example.com") && node == "node1",
        "www: {ok} {subject} {node}"
    );
    let (ok, subject, node) = curl_tls(&gate.dir, tls, "shop.example.com", false);
    assert!(
        ok && subject.contains("CN=shop.example.com") && node == "node2",
        "shop: {ok} {subject} {node}"
    );
    let (ok, subject, _) = curl_tls(&gate.dir, tls, "x.shop.example.com", true);
    assert!(
        ok && subject.contains("CN=shop.example.com"),
        "alias: {ok} {subject}"
    );
    // A name nobody claims: the default (first) vhost's certificate, which does not name
    // it, so curl refuses it unless told not to verify.
    let (ok, _, _) = curl_tls(&gate.dir, tls, "nobody.example.org", false);
    assert!(!ok, "curl accepted a certificate for a name nobody claims");
    let (ok, subject, node) = curl_tls(&gate.dir, tls, "nobody.example.org", true);
    assert!(
        ok && subject.contains("CN=www.example.com") && node == "node1",
        "default: {ok} {subject} {node}"
    );

    // The status worker: each map's server is its vhost's `ServerName [address]`.
    let status = gate.get(
        "/jkstatus?mime=prop&cmd=list",
        &[("Host", "www.example.com")],
    );
    assert_eq!(status.status, 200);
    let text = status.text();
    for expected in [
        "worker.lb_www.map.1.server=gate.example.com",
        "server=www.example.com [*]",
        "server=shop.example.com [*]",
        "server=copy.example.com [*]",
    ] {
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }

    // Reload: shop answers on the HTTPS port only, and gets a new alias. On the plain port
    // its name now falls to the default vhost (www, node1).
    gate.write(
        "jkgate.ini",
        ini(
            &gate,
            &format!(
                "VirtualHost = *:{}\nServerAlias = shop.example.net\n",
                gate.tls_port.expect("TLS port")
            ),
        ),
    );
    gate.hup_expect_reloaded();
    assert_eq!(
        ask(&gate, Some("shop.example.com"), "/app/echo"),
        (200, n1.clone())
    );
    let (ok, subject, node) = curl_tls(&gate.dir, tls, "shop.example.net", true);
    assert!(
        ok && subject.contains("CN=shop.example.com") && node == "node2",
        "after reload: {ok} {subject} {node}"
    );
    gate.assert_running("after the reload");
}
