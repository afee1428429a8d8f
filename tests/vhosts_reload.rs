//! A vhost's own mount file is read again when it changes (`JkMountFileReload`), without a
//! SIGHUP, and only that vhost's table changes; a full reload (`Jkgate::reload`) takes new
//! vhosts. jkgate in process, embedded AJP13 backends.
#![cfg(feature = "proxy")]

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jkgate::ajp::PacketSize;
use jkgate::app::Jkgate;
use jkgate::config::{Sources, resolve_settings};
use jkgate::demo::EmbeddedBackend;

/// (status, route) of `GET path` with `Host: host`.
async fn route(addr: std::net::SocketAddr, host: &str, path: &str) -> (u16, Option<String>) {
    let head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(20))).ok();
        stream.write_all(head.as_bytes()).expect("send");
        let mut raw = String::new();
        let _ = stream.read_to_string(&mut raw);
        let status = raw
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let route = raw
            .lines()
            .find_map(|l| l.strip_prefix("route="))
            .map(str::to_owned);
        (status, route)
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vhost_mount_file_reloads_on_its_own() {
    let a = EmbeddedBackend::start("a", PacketSize::DEFAULT)
        .await
        .expect("a");
    let b = EmbeddedBackend::start("b", PacketSize::DEFAULT)
        .await
        .expect("b");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jkgate-vhosts-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("workers.properties"),
        format!(
            "worker.list=a,b\nworker.a.host=127.0.0.1\nworker.a.port={}\nworker.b.host=127.0.0.1\nworker.b.port={}\n",
            a.addr.port(),
            b.addr.port()
        ),
    )
    .expect("workers");
    std::fs::write(dir.join("shop.map"), "/x/*=a\n").expect("map");
    let ini = "JkMountFileReload = 1\n[mounts]\n/x/* = b\n\
               [vhost www]\nJkMountCopy = On\n[vhost shop]\nJkMountFile = shop.map\n";
    std::fs::write(dir.join("jkgate.ini"), ini).expect("ini");
    let sources = Sources {
        config: Some(dir.join("jkgate.ini")),
        listen: vec!["127.0.0.1:0".to_owned()],
        ..Sources::default()
    };
    let settings = resolve_settings(&sources).expect("settings");
    let again = sources.clone();
    let mut gate = Jkgate::start(settings, Box::new(move || resolve_settings(&again)))
        .await
        .expect("jkgate starts");
    let addr = gate.addr();
    assert_eq!(
        route(addr, "shop", "/x/1").await,
        (200, Some("a".to_owned()))
    );
    assert_eq!(
        route(addr, "www", "/x/1").await,
        (200, Some("b".to_owned()))
    );

    // The file's modification time must move: wait past the second it was written in.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    std::fs::write(dir.join("shop.map"), "/x/*=b\n/y/*=a\n").expect("map");
    let deadline = Instant::now() + Duration::from_secs(10);
    while route(addr, "shop", "/y/1").await != (200, Some("a".to_owned())) {
        assert!(
            Instant::now() < deadline,
            "the shop's mount file was not read again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        route(addr, "shop", "/x/1").await,
        (200, Some("b".to_owned()))
    );
    // www copies the top level only: unchanged.
    assert_eq!(route(addr, "www", "/y/1").await.0, 404);

    // A full reload takes a new vhost and drops the old ones' names.
    std::fs::write(
        dir.join("jkgate.ini"),
        "[mounts]\n/x/* = b\n[vhost new]\nServerAlias = *.new.test\n/z = a\n",
    )
    .expect("ini");
    gate.reload().await.expect("reload");
    assert_eq!(
        route(addr, "a.new.test", "/z").await,
        (200, Some("a".to_owned()))
    );
    // `shop` is now unknown: the only vhost (the default) answers, and maps no /x.
    assert_eq!(route(addr, "shop", "/x/1").await.0, 404);
    gate.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
