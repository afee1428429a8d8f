//! The status worker against the real thing: the same workers.properties and mounts in
//! jkgate and in Apache httpd + mod_jk (Debian's 1.2.48), then the `mime=prop` and
//! `mime=txt` answers compared key by key (every key, in order) and value by value for
//! everything that is configuration or state rather than time (also after the same
//! `update` requests on both), the error answers byte for byte; and a headless Chromium
//! rendering of jkgate's HTML page.
//!
//! Needs apache2, libapache2-mod-jk and chromium (scripts/test installs them); fails,
//! never skips, without them.
#![cfg(feature = "interop")]

#[path = "support/client.rs"]
mod client;
#[path = "support/in_process.rs"]
mod in_process;
#[path = "support/modjk.rs"]
mod modjk;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use in_process::Running;
use jkgate::ajp::PacketSize;
use jkgate::config::{Sources, resolve_settings};
use jkgate::demo::EmbeddedBackend;
use modjk::{ModJk, ModJkSetup};

const MOUNTS: &[(&str, &str)] = &[
    ("/app/*", "lb"),
    ("/solo", "solo"),
    (
        "/ext/*",
        "lb;reply_timeout=5000;stateless=1;active=node1;fail_on_status=500,-503",
    ),
];

const MOUNT_FILE: &str = "!/app/static/*=lb\n-/off/*=solo\n/files|/*=solo\n";

fn workers_properties(ports: [u16; 4]) -> String {
    let [p1, p2, p3, p4] = ports;
    format!(
        "worker.list=jkstatus,lb,solo\n\
         worker.jkstatus.type=status\n\
         worker.lb.type=lb\n\
         worker.lb.balance_workers=node1,node2,node3\n\
         worker.lb.method=B\n\
         worker.lb.sticky_session=false\n\
         worker.lb.recover_time=45\n\
         worker.lb.max_reply_timeouts=3\n\
         worker.lb.retries=3\n\
         worker.node1.type=ajp13\n\
         worker.node1.host=127.0.0.1\n\
         worker.node1.port={p1}\n\
         worker.node1.lbfactor=2\n\
         worker.node1.busy_limit=5\n\
         worker.node1.connect_timeout=1500\n\
         worker.node1.reply_timeout=30000\n\
         worker.node1.recovery_options=3\n\
         worker.node1.source=127.0.0.1\n\
         worker.node2.type=ajp13\n\
         worker.node2.host=localhost\n\
         worker.node2.port={p2}\n\
         worker.node2.route=n2.east\n\
         worker.node2.redirect=node1\n\
         worker.node2.activation=D\n\
         worker.node2.distance=1\n\
         worker.node2.prepost_timeout=800\n\
         worker.node3.type=ajp13\n\
         worker.node3.host=127.0.0.1\n\
         worker.node3.port={p3}\n\
         worker.node3.stopped=true\n\
         worker.node3.max_packet_size=16000\n\
         worker.node3.connection_pool_timeout=30\n\
         worker.node3.secret=hush\n\
         worker.solo.type=ajp13\n\
         worker.solo.host=127.0.0.1\n\
         worker.solo.port={p4}\n\
         worker.solo.retries=4\n\
         worker.solo.ping_timeout=2500\n\
         worker.solo.connection_ping_interval=20\n"
    )
}

/// jkgate's own keys, which mod_jk has no counterpart for: the configuration generation,
/// the outcome of the last reload and a member's application health check.
fn jkgate_only(key: &str) -> bool {
    let last = key.rsplit_once('.').map_or(key, |(_, last)| last);
    key.starts_with("Config Generation.")
        || matches!(
            last,
            "config_generation"
                | "config_loaded"
                | "config_reload"
                | "config_reload_error"
                | "health"
        )
}

/// Keys whose values are times, the server's own name or the software string.
fn dynamic(key: &str) -> bool {
    let (head, last) = key.rsplit_once('.').unwrap_or(("", key));
    matches!(
        last,
        "server_name"
            | "server_port"
            | "time_datetime"
            | "time_tz"
            | "time_unix"
            | "web_server"
            | "jk_version"
            | "last_reset_at"
            | "last_reset_ago"
            | "time_to_maintenance_min"
            | "time_to_maintenance_max"
    ) || matches!(head, "Server" | "Time" | "Software")
        || (last == "server" && (head == "Map" || head.contains(".map.")))
}

struct Both {
    jkgate: Running,
    modjk: ModJk,
    _backends: Vec<EmbeddedBackend>,
}

async fn start_both() -> Both {
    let mut backends = Vec::new();
    for route in ["node1", "n2.east", "node3", "solo"] {
        backends.push(
            EmbeddedBackend::start(route, PacketSize::DEFAULT)
                .await
                .expect("backend"),
        );
    }
    let ports = [0, 1, 2, 3].map(|i| backends[i].addr.port());
    let text = workers_properties(ports);
    // The same files mod_jk reads, read by `jkgate run`'s own path.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "jkgate-status-modjk-{}-{}",
        std::process::id(),
        ports[0]
    ));
    std::fs::create_dir_all(&dir).expect("test dir");
    std::fs::write(dir.join("workers.properties"), &text).expect("workers.properties");
    std::fs::write(dir.join("uriworkermap.properties"), MOUNT_FILE).expect("mount file");
    let mut mounts = vec!["/jkstatus=jkstatus".to_owned()];
    mounts.extend(MOUNTS.iter().map(|(p, w)| format!("{p}={w}")));
    let settings = resolve_settings(&Sources {
        workers_file: Some(dir.join("workers.properties")),
        mount_file: Some(dir.join("uriworkermap.properties")),
        mounts,
        listen: vec!["127.0.0.1:0".to_owned()],
        ..Sources::default()
    })
    .expect("settings resolve");
    let jkgate = in_process::start(settings).await;
    let setup = ModJkSetup {
        workers_properties: text,
        status_worker: Some("jkstatus".to_owned()),
        mounts: MOUNTS
            .iter()
            .map(|(p, w)| ((*p).to_owned(), (*w).to_owned()))
            .collect(),
        mount_file: Some(MOUNT_FILE.to_owned()),
        ..ModJkSetup::default()
    };
    let modjk = tokio::task::spawn_blocking(move || ModJk::start_setup(setup))
        .await
        .expect("join")
        .unwrap_or_else(|f| panic!("httpd + mod_jk did not start: {}", f.all_text()));
    Both {
        jkgate,
        modjk,
        _backends: backends,
    }
}

impl Both {
    async fn get(&self, query: &str) -> (String, String) {
        let target = format!("/jkstatus?{query}");
        let ours = client::get(self.jkgate.addr, &target, &[]).await;
        assert_eq!(ours.status, 200, "jkgate {target}: {}", ours.text());
        let port = self.modjk.port;
        let theirs = tokio::task::spawn_blocking(move || modjk::http_get(port, &target))
            .await
            .expect("join");
        assert_eq!(theirs.0, 200, "mod_jk: {}", theirs.2);
        (ours.text(), theirs.2)
    }
}

/// `prop` lines as `(key, value)`.
fn prop_pairs(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// `txt` lines as `(record.key, value)`: `Member: name=x a=1` gives `Member.name`,
/// `Member.a`; quoted values keep their quotes.
fn txt_pairs(body: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in body.lines() {
        let Some((kind, rest)) = line.split_once(": ") else {
            out.push((line.to_owned(), String::new()));
            continue;
        };
        let mut rest = rest;
        while !rest.is_empty() {
            let Some((key, after)) = rest.split_once('=') else {
                break;
            };
            let (value, next) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                (
                    format!("\"{}\"", &quoted[..end]),
                    quoted.get(end + 1..).unwrap_or(""),
                )
            } else {
                let end = after.find(' ').unwrap_or(after.len());
                (after[..end].to_owned(), &after[end..])
            };
            out.push((format!("{kind}.{key}"), value));
            rest = next.trim_start();
        }
    }
    out
}

fn compare(what: &str, ours: &[(String, String)], theirs: &[(String, String)]) {
    let ours: Vec<(String, String)> = ours
        .iter()
        .filter(|(k, _)| !jkgate_only(k))
        .cloned()
        .collect();
    let our_keys: Vec<&str> = ours.iter().map(|(k, _)| k.as_str()).collect();
    let their_keys: Vec<&str> = theirs.iter().map(|(k, _)| k.as_str()).collect();
    let ours_set: BTreeSet<&str> = our_keys.iter().copied().collect();
    let theirs_set: BTreeSet<&str> = their_keys.iter().copied().collect();
    assert_eq!(
        ours_set
            .symmetric_difference(&theirs_set)
            .collect::<Vec<_>>(),
        Vec::<&&str>::new(),
        "{what}: keys only on one side"
    );
    assert_eq!(our_keys, their_keys, "{what}: key order");
    for ((key, ours), (_, theirs)) in ours.iter().zip(theirs) {
        if !dynamic(key) {
            assert_eq!(ours, theirs, "{what}: value of {key}");
        }
    }
}

async fn compare_listing(both: &Both, label: &str) {
    let (ours, theirs) = both.get("mime=prop").await;
    compare(
        &format!("{label} prop"),
        &prop_pairs(&ours),
        &prop_pairs(&theirs),
    );
    let (ours, theirs) = both.get("mime=txt").await;
    compare(
        &format!("{label} txt"),
        &txt_pairs(&ours),
        &txt_pairs(&theirs),
    );
    for show in ["cmd=show&w=lb&sw=node2", "cmd=show&w=solo"] {
        let (ours, theirs) = both.get(&format!("mime=prop&{show}")).await;
        compare(
            &format!("{label} {show}"),
            &prop_pairs(&ours),
            &prop_pairs(&theirs),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prop_and_txt_match_mod_jk_before_and_after_the_same_updates() {
    let both = start_both().await;
    compare_listing(&both, "start").await;
    for update in [
        "cmd=update&w=lb&sw=node1&vwa=S&vwf=3&vwd=2&vwr=n2.east&vwc=dom",
        "cmd=update&w=lb&sw=node2&vwn=n2.west",
        "cmd=update&w=lb&sw=node3&vwn=n3.south&vwa=A",
        "cmd=update&w=lb&vlr=5&vlt=0&vlee=20&vlx=-1&vls=1&vlm=N&vll=P&vlf=on",
        "cmd=update&w=lb&att=vwf&val0=7&val1=0&val2=2",
        "cmd=update&w=lb&att=vwa&val0=D&val1=x&val2=1",
        "cmd=update&w=lb&sw=node*&vwd=4",
        "cmd=update&w=lb&vlm=X&vll=Z&vls=maybe",
        "cmd=update&w=lb&vlr=4",
        "cmd=update&w=lb&sw=node3&vwa=bogus",
        "cmd=update&w=lb&sw=node1&vwd=-3&vwf=0",
        "cmd=reset&w=lb&sw=node2",
        // Connection settings of members and of a plain ajp13 worker.
        "cmd=update&w=lb&sw=node1&vart=500&vacpt=30&var=3&vari=250&vabl=9&varo=7&vamps=9000",
        "cmd=update&w=lb&sw=node2&vapng=4000&vact=1200&vapt=600&vacpi=15",
        "cmd=update&w=lb&att=vart&val0=100&val1=-1&val2=70",
        "cmd=update&w=lb&att=vacpt&val0=0&val2=5",
        "cmd=update&w=solo&var=0&vart=250&vamps=70000&vari=0",
        "cmd=update&w=solo&vahst=localhost",
    ] {
        let (ours, theirs) = both.get(&format!("mime=txt&{update}")).await;
        assert_eq!(ours, theirs, "{update}");
        compare_listing(&both, update).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_and_dump_match_mod_jk() {
    let both = start_both().await;
    for query in [
        "mime=txt&cmd=bogus",
        "mime=yaml",
        "mime=txt&cmd=show",
        "mime=txt&cmd=show&w=nope",
        "mime=txt&cmd=show&w=node1",
        "mime=txt&cmd=show&w=lb&sw=",
        "mime=txt&cmd=show&w=lb&sw=zz",
        "mime=txt&cmd=show&w=solo&sw=x",
        "mime=txt&cmd=show&w=lb&sw=node*",
        "mime=txt&cmd=recover&w=lb&sw=node1",
        "mime=txt&cmd=recover&w=lb",
        "mime=prop&cmd=reset&w=jkstatus",
        "mime=prop&cmd=update&w=jkstatus",
        "mime=txt&cmd=update&w=lb&sw=zz*&vwf=2",
        "mime=txt&cmd=update&w=lb&att=bogus",
        "mime=xml&opt=32&cmd=reset&w=lb",
        "mime=xml&cmd=show&w=nope",
    ] {
        let (ours, theirs) = both.get(query).await;
        assert_eq!(ours, theirs, "{query}");
    }
    // The configuration dump: the same lines (mod_jk adds httpd's ServerRoot).
    let (ours, theirs) = both.get("mime=txt&cmd=dump").await;
    let config = |body: &str| -> Vec<String> {
        body.lines()
            .skip_while(|l| *l != "Configuration:")
            .filter(|l| !l.starts_with("ServerRoot="))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(config(&ours), config(&theirs));
    assert!(!ours.contains("hush"));
}

/// Runs headless Chromium on `url` and returns the rendered DOM.
fn chromium_dom(url: &str) -> String {
    let profile = std::env::temp_dir().join(format!(
        "jkgate-chromium-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    std::fs::create_dir_all(&profile).expect("profile dir");
    let out_path = profile.join("dom.html");
    let out = std::fs::File::create(&out_path).expect("dom file");
    let mut child = Command::new("/usr/bin/chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
            "--dump-dom",
            url,
        ])
        .stdout(out)
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium runs (install the chromium package)");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match child.try_wait().expect("wait for chromium") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium did not finish within 120 s");
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let dom = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&profile);
    dom
}

async fn dom(addr: SocketAddr, query: &str) -> String {
    let url = format!("http://{addr}/jkstatus{query}");
    tokio::task::spawn_blocking(move || chromium_dom(&url))
        .await
        .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_lb_its_members_and_states() {
    let both = start_both().await;
    let addr = both.jkgate.addr;
    let page = dom(addr, "").await;
    assert!(page.contains("<title>JK Status Manager</title>"), "{page}");
    for needle in [
        "Worker Status for lb</h3>",
        "<td>node1</td><td>ACT</td><td>OK/IDLE</td>",
        "<td>node2</td><td>DIS</td><td>OK/IDLE</td>",
        "<td>node3</td><td>STP</td><td>OK/IDLE</td>",
        "<td>n2.east</td>",
        "Worker Status for solo</h3>",
        "<td>/app/*</td>",
    ] {
        assert!(
            page.contains(needle),
            "missing {needle:?} in the rendered DOM:\n{page}"
        );
    }
    // Traffic and a state change show up too.
    for i in 0..4 {
        let reply = client::get(addr, &format!("/app/x{i}"), &[]).await;
        assert_eq!(reply.status, 200);
    }
    let reply = client::get(addr, "/jkstatus?cmd=update&w=lb&sw=node1&vwa=S", &[]).await;
    assert!(reply.text().contains("Result: OK"));
    let page = dom(addr, "?cmd=show&w=lb").await;
    assert!(
        page.contains("<td>node1</td><td>STP</td><td>OK</td>"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_after_the_same_traffic_match_mod_jk() {
    let both = start_both().await;
    let port = both.modjk.port;
    for i in 0..4 {
        let target = format!("/app/x{i}");
        assert_eq!(
            client::get(both.jkgate.addr, &target, &[]).await.status,
            200
        );
        let theirs = tokio::task::spawn_blocking(move || modjk::http_get(port, &target))
            .await
            .expect("join");
        assert_eq!(theirs.0, 200, "mod_jk: {}", theirs.2);
    }
    for _ in 0..2 {
        assert_eq!(
            client::get(both.jkgate.addr, "/solo", &[]).await.status,
            200
        );
        let theirs = tokio::task::spawn_blocking(move || modjk::http_get(port, "/solo"))
            .await
            .expect("join");
        assert_eq!(theirs.0, 200);
    }
    let (ours, theirs) = both.get("mime=prop").await;
    let (ours, theirs) = (prop_pairs(&ours), prop_pairs(&theirs));
    for key in [
        "worker.lb.good",
        "worker.lb.degraded",
        "worker.lb.bad",
        "worker.lb.busy",
        "worker.lb.max_busy",
        "worker.node1.state",
        "worker.node1.elected",
        "worker.node1.sessions",
        "worker.node1.errors",
        "worker.node1.lbvalue",
        "worker.node1.busy",
        "worker.node1.max_busy",
        "worker.node1.connected",
        "worker.node1.max_connected",
        "worker.node2.state",
        "worker.node2.elected",
        "worker.solo.used",
        "worker.solo.errors",
        "worker.solo.busy",
        "worker.solo.max_busy",
        "worker.solo.connected",
    ] {
        let value = |pairs: &[(String, String)]| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        };
        assert_eq!(value(&ours), value(&theirs), "{key}");
    }
}
