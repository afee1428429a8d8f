//! A fleet of three jkgate processes sharing their runtime edits through a real etcd
//! (`StateStore = etcd://127.0.0.1:PORT/jkgate/...`): an edit made on one reaches the others
//! within a second (watch), a starting instance reads it, and etcd being away never stops
//! requests: an edit made meanwhile is in effect at once on the jkgate it was made on, and
//! reaches etcd and the others once etcd is back.
#![cfg(all(feature = "interop", feature = "etcd"))]

#[path = "support/container.rs"]
mod container;
#[path = "support/etcd.rs"]
mod etcd;
#[path = "support/gate.rs"]
mod gate;
#[path = "support/reload.rs"]
mod reload;
#[path = "support/tomcat.rs"]
mod tomcat;

use std::time::{Duration, Instant};

use container::{Container, echo_script};
use reload::ConfGate;

struct Backends {
    _runtime: tokio::runtime::Runtime,
    nodes: Vec<Container>,
}

impl Backends {
    fn start() -> Backends {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let nodes = vec![
            runtime.block_on(Container::start(echo_script("node1"))),
            runtime.block_on(Container::start(echo_script("node2"))),
        ];
        Backends {
            _runtime: runtime,
            nodes,
        }
    }

    fn workers(&self) -> String {
        let mut text = String::from(
            "worker.list=lb,jkstatus\nworker.jkstatus.type=status\n\
             worker.lb.type=lb\nworker.lb.balance_workers=node1,node2\n",
        );
        for (i, c) in self.nodes.iter().enumerate() {
            text.push_str(&format!(
                "worker.node{n}.host=127.0.0.1\nworker.node{n}.port={}\n",
                c.addr.port(),
                n = i + 1
            ));
        }
        text
    }
}

fn start(label: &str, workers: &str, store: &str, state_file: bool) -> ConfGate {
    start_with_copy(label, workers, store, state_file, None)
}

/// As [`start`], with `copy` written as the state file (a local copy kept earlier).
fn start_with_copy(
    label: &str,
    workers: &str,
    store: &str,
    state_file: bool,
    copy: Option<&str>,
) -> ConfGate {
    ConfGate::start(label, false, |g| {
        if let Some(copy) = copy {
            g.write("state.json", copy);
        }
        let file = if state_file {
            "StateFile = state.json\n"
        } else {
            ""
        };
        g.write(
            "jkgate.ini",
            format!(
                "Listen = 127.0.0.1:{}\nJkWorkersFile = workers.properties\n\
                 StateStore = {store}\n{file}[mounts]\n/x = lb\n/jkstatus = jkstatus\n",
                g.port
            ),
        );
        g.write("workers.properties", workers);
    })
}

fn command(gate: &ConfGate, query: &str) {
    let text = gate.get(&format!("/jkstatus?mime=txt&{query}"), &[]).text();
    assert!(text.contains("type=OK"), "status {query}: {text}");
}

fn value(gate: &ConfGate, key: &str) -> String {
    gate.status_prop().req(key).to_owned()
}

/// Polls `gate` until `key` is `want`; returns how long it took (panics after `limit`).
fn wait_value(gate: &ConfGate, key: &str, want: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = value(gate, key);
        if now == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{key} stayed {now}, not {want}, for {limit:?}\n{}",
            gate::tail(&gate.error_log(), 30)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Every one of `n` requests through `gate` is answered.
fn serves(gate: &ConfGate, n: usize) {
    for _ in 0..n {
        let reply = gate.get("/x", &[]);
        assert_eq!(reply.status, 200, "{}", reply.text());
    }
}

#[test]
fn three_jkgates_share_edits_through_etcd_and_survive_its_absence() {
    let backends = Backends::start();
    let mut etcd = etcd::Etcd::start("fleet");
    let prefix = format!("/jkgate/test-{}", std::process::id());
    let store = format!("etcd://{}{prefix}", etcd.endpoint());
    let workers = backends.workers();
    let a = start("fleet-a", &workers, &store, false);
    let b = start("fleet-b", &workers, &store, false);
    let c = start("fleet-c", &workers, &store, true);

    // An edit on a reaches b and c within a second.
    command(&a, "cmd=update&w=lb&sw=node2&vwa=S");
    let to_b = wait_value(&b, "worker.node2.activation", "STP", Duration::from_secs(5));
    let to_c = wait_value(&c, "worker.node2.activation", "STP", Duration::from_secs(5));
    eprintln!("edit a -> b in {to_b:?}, a -> c in {to_c:?}");
    assert!(to_b < Duration::from_secs(1), "a -> b took {to_b:?}");
    assert!(to_c < Duration::from_secs(1), "a -> c took {to_c:?}");
    let keys = etcd.get_prefix(&format!("{prefix}/"));
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].0, format!("{prefix}/lb/node2/activation"));
    assert!(keys[0].1.contains("\"value\":\"stopped\""), "{keys:?}");

    // A jkgate that starts reads it.
    let d = start("fleet-d", &workers, &store, false);
    assert_eq!(value(&d, "worker.node2.activation"), "STP");
    drop(d);

    // etcd goes away: requests go on everywhere, an edit on b is in effect on b at once.
    etcd.stop();
    for gate in [&a, &b, &c] {
        serves(gate, 3);
    }
    command(&b, "cmd=update&w=lb&sw=node1&vwf=5");
    assert_eq!(value(&b, "worker.node1.lbfactor"), "5", "in effect on b");
    assert_eq!(value(&a, "worker.node1.lbfactor"), "1", "a cannot know yet");
    let mut b = b;
    b.wait_for_log("saved when the store answers", Duration::from_secs(10));
    // A reload while etcd is away keeps what is in force, the unsaved edit included.
    b.hup_expect_reloaded();
    assert_eq!(value(&b, "worker.node1.lbfactor"), "5");
    assert_eq!(value(&b, "worker.node2.activation"), "STP");
    // A jkgate starting now starts from its local copy (c keeps one: StateFile).
    let c_copy = std::fs::read_to_string(c.dir.join("state.json")).expect("c's local copy");
    assert!(c_copy.contains("stopped"), "{c_copy}");
    let mut e = start_with_copy("fleet-e", &workers, &store, true, Some(&c_copy));
    e.wait_for_log("starting from the local copy", Duration::from_secs(10));
    assert_eq!(value(&e, "worker.node2.activation"), "STP");
    serves(&e, 3);
    drop(e);

    // etcd is back: b's edit reaches etcd and the others, within the retry backoff.
    let restarted = Instant::now();
    etcd.start_again();
    let healthy = restarted.elapsed();
    wait_value(&a, "worker.node1.lbfactor", "5", Duration::from_secs(15));
    let to_a = restarted.elapsed();
    wait_value(&c, "worker.node1.lbfactor", "5", Duration::from_secs(15));
    let to_c = restarted.elapsed();
    eprintln!(
        "etcd restarted, healthy after {healthy:?}; b's edit on a after {to_a:?}, on c after {to_c:?}"
    );
    b.wait_for_log("runtime edits saved again", Duration::from_secs(10));
    assert_eq!(etcd.get_prefix(&format!("{prefix}/")).len(), 2);
    // A reload reads etcd again and keeps both.
    let mut a = a;
    a.hup_expect_reloaded();
    assert_eq!(value(&a, "worker.node1.lbfactor"), "5");
    assert_eq!(value(&a, "worker.node2.activation"), "STP");
    for gate in [&a, &b, &c] {
        serves(gate, 3);
    }

    // Revert on c releases node2 everywhere.
    command(&c, "cmd=revert&w=lb&sw=node2");
    for gate in [&a, &b] {
        wait_value(
            gate,
            "worker.node2.activation",
            "ACT",
            Duration::from_secs(5),
        );
    }
    assert_eq!(etcd.get_prefix(&format!("{prefix}/")).len(), 1);
}
