//! Virtual hosts against the real thing: the same vhosts, mounts and `JkMountCopy` in
//! Apache httpd + mod_jk (Debian's) and in jkgate (`[vhost NAME]` sections), the same
//! requests (names, aliases with wildcards, a name nobody claims, no Host at all; mounted,
//! unmounted and excluded paths) sent to both: the same worker (the embedded backend's
//! route) and the same status for each. Then the status worker's maps: the same server
//! name, URI and source for every map of every worker, in the same order.
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
use std::time::Duration;

use jkgate::ajp::PacketSize;
use jkgate::config::{Sources, resolve_settings};
use jkgate::demo::EmbeddedBackend;
use modjk::{ModJk, ModJkSetup};

/// The workers: one embedded backend each, whose route is the worker's name.
const WORKERS: &[&str] = &["main", "www", "shop", "copy"];

fn workers_properties(ports: &[u16]) -> String {
    let mut text =
        String::from("worker.list=jkstatus,main,www,shop,copy\nworker.jkstatus.type=status\n");
    for (name, port) in WORKERS.iter().zip(ports) {
        text.push_str(&format!(
            "worker.{name}.type=ajp13\nworker.{name}.host=127.0.0.1\nworker.{name}.port={port}\n"
        ));
    }
    text
}

/// httpd's side: the main server mounts `/app/*` on `main` (ModJkSetup's JkMount lines),
/// then five vhosts.
const HTTPD_VHOSTS: &str = r#"
<VirtualHost *>
    ServerName www.example.com
    ServerAlias example.com *.www.example.com
    JkMount /app/* www
    JkMount /jkstatus jkstatus
    JkUnMount /app/static/* www
</VirtualHost>
<VirtualHost *>
    ServerName shop.example.com
    ServerAlias *.shop.example.com s?.example.org
    JkMount /app/* shop
    JkMount /shop/* shop
</VirtualHost>
<VirtualHost *>
    ServerName copy.example.com
    JkMountCopy On
    JkMount /copy/* copy
    JkMount /app/echo copy
</VirtualHost>
<VirtualHost *>
    ServerName nocopy.example.com
</VirtualHost>
<VirtualHost *>
    ServerName sharing.example.com
    JkMountCopy On
</VirtualHost>
"#;

/// jkgate's side: the same, as jkgate.ini.
const JKGATE_INI: &str = r#"
ServerName = 127.0.0.1
JkWorkersFile = workers.properties
[mounts]
/app/* = main
/jkstatus = jkstatus

[vhost www.example.com]
ServerAlias = example.com *.www.example.com
VirtualHost = *
/app/* = www
/jkstatus = jkstatus
!/app/static/* = www

[vhost shop.example.com]
ServerAlias = *.shop.example.com, s?.example.org
VirtualHost = *
/app/* = shop
/shop/* = shop

[vhost copy.example.com]
VirtualHost = *
JkMountCopy = On
/copy/* = copy
/app/echo = copy

[vhost nocopy.example.com]
VirtualHost = *

[vhost sharing.example.com]
VirtualHost = *
JkMountCopy = On
"#;

/// One HTTP/1.1 request (HTTP/1.0 without a Host when `host` is `None`): (status, route).
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
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let route = text
        .lines()
        .find_map(|l| l.strip_prefix("route="))
        .map(|r| r.trim().to_owned());
    (status, route)
}

/// `worker.W.map.N.server`, `.uri` and `.source` of every map, in order.
fn maps(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            k.contains(".map.")
                && (k.ends_with(".server") || k.ends_with(".uri") || k.ends_with(".source"))
        })
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vhost_routing_and_status_maps_match_mod_jk() {
    let mut backends = Vec::new();
    for name in WORKERS {
        backends.push(
            EmbeddedBackend::start(name, PacketSize::DEFAULT)
                .await
                .expect("backend"),
        );
    }
    let ports: Vec<u16> = backends.iter().map(|b| b.addr.port()).collect();
    let workers = workers_properties(&ports);
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "jkgate-vhosts-modjk-{}-{}",
        std::process::id(),
        ports[0]
    ));
    std::fs::create_dir_all(&dir).expect("test dir");
    std::fs::write(dir.join("workers.properties"), &workers).expect("workers.properties");
    std::fs::write(dir.join("jkgate.ini"), JKGATE_INI).expect("jkgate.ini");
    let settings = resolve_settings(&Sources {
        config: Some(dir.join("jkgate.ini")),
        listen: vec!["127.0.0.1:0".to_owned()],
        ..Sources::default()
    })
    .unwrap_or_else(|e| panic!("settings resolve: {e}"));
    let jkgate = in_process::start(settings).await;
    let setup = ModJkSetup {
        workers_properties: workers,
        status_worker: None,
        mounts: vec![
            ("/app/*".to_owned(), "main".to_owned()),
            ("/jkstatus".to_owned(), "jkstatus".to_owned()),
        ],
        extra_conf: vec![HTTPD_VHOSTS.to_owned()],
        ..ModJkSetup::default()
    };
    let modjk = tokio::task::spawn_blocking(move || ModJk::start_setup(setup))
        .await
        .expect("join")
        .unwrap_or_else(|f| panic!("httpd + mod_jk did not start: {}", f.all_text()));

    let hosts: &[Option<&str>] = &[
        Some("www.example.com"),
        Some("EXAMPLE.com:8080"),
        Some("a.b.www.example.com"),
        Some("www.example.com."),
        Some("shop.example.com"),
        Some("x.y.shop.example.com"),
        Some("s1.example.org"),
        Some("s12.example.org"),
        Some("copy.example.com"),
        Some("nocopy.example.com"),
        Some("sharing.example.com"),
        Some("unknown.example.net"),
        Some("127.0.0.1"),
        None,
    ];
    let paths = [
        "/app/echo",
        "/app/echo/x",
        "/app/static/1k.bin",
        "/shop/cart",
        "/copy/a",
        "/other",
    ];
    let (gate_port, httpd_port) = (jkgate.addr.port(), modjk.port);
    let mut mismatches = Vec::new();
    let mut routed = 0;
    for host in hosts {
        for path in paths {
            let (h, p) = (host.map(str::to_owned), path.to_owned());
            let (ours, theirs) = tokio::task::spawn_blocking(move || {
                (
                    request(gate_port, h.as_deref(), &p),
                    request(httpd_port, h.as_deref(), &p),
                )
            })
            .await
            .expect("join");
            if ours.1.is_some() {
                routed += 1;
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
        "jkgate and mod_jk differ:\n{}\nmod_jk log:\n{}",
        mismatches.join("\n"),
        modjk.jk_log()
    );
    // The comparison means something: every worker was reached, and 404s happened too.
    assert!(routed > 20, "only {routed} requests reached a worker");

    // The status worker lists the same maps under the same server names.
    let status_path = "/jkstatus?mime=prop&cmd=list";
    let ours = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", gate_port)).unwrap();
        write!(
            s,
            "GET {status_path} HTTP/1.0\r\nHost: www.example.com\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
    .await
    .expect("join");
    let theirs = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", httpd_port)).unwrap();
        write!(
            s,
            "GET {status_path} HTTP/1.0\r\nHost: www.example.com\r\n\r\n"
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    })
    .await
    .expect("join");
    let (our_maps, their_maps) = (maps(&ours), maps(&theirs));
    assert!(
        their_maps.iter().any(|(_, v)| v.contains("[*]")),
        "mod_jk shows vhost maps: {their_maps:?}"
    );
    assert_eq!(our_maps, their_maps, "status maps differ");
    drop(modjk);
    jkgate.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
