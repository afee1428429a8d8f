//! Runtime edits kept in the state file (`StateFile`): what the status worker changes is in
//! effect again after jkgate is restarted and after a reload, wins over workers.properties
//! until `cmd=revert` releases it, and an edit that no longer fits workers.properties is
//! reported entry by entry (error log and `jkgate check`) and not applied.
//!
//! The real jkgate binary (`reload::ConfGate`) in front of scripted AJP13 containers that
//! answer `<member>:<body length>`, so every answer says which member served it.
#![cfg(feature = "proxy")]

#[path = "support/container.rs"]
mod container;
#[path = "support/gate.rs"]
mod gate;
#[path = "support/reload.rs"]
mod reload;
#[path = "support/tomcat.rs"]
mod tomcat;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use container::{Container, echo_script};
use reload::ConfGate;

/// Two echo containers, node1 and node2, on a runtime of their own.
struct Backends {
    _runtime: tokio::runtime::Runtime,
    node1: Container,
    node2: Container,
}

impl Backends {
    fn start() -> Backends {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let node1 = runtime.block_on(Container::start(echo_script("node1")));
        let node2 = runtime.block_on(Container::start(echo_script("node2")));
        Backends {
            _runtime: runtime,
            node1,
            node2,
        }
    }

    /// lb over node1 and node2 (`members` limits it), with `extra` lines, and a status
    /// worker.
    fn workers(&self, members: &[&str], extra: &str) -> String {
        let mut text = format!(
            "worker.list=lb,jkstatus\nworker.jkstatus.type=status\n\
             worker.lb.type=lb\nworker.lb.balance_workers={}\n",
            members.join(",")
        );
        for (name, c) in [("node1", &self.node1), ("node2", &self.node2)] {
            text.push_str(&format!(
                "worker.{name}.host=127.0.0.1\nworker.{name}.port={}\n",
                c.addr.port()
            ));
        }
        text.push_str(extra);
        text
    }
}

/// A directory for the state file that outlives each jkgate process.
fn state_dir(label: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("jkgate-state-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("state dir");
    dir
}

fn ini(port: u16, state_file: &Path) -> String {
    format!(
        "Listen = 127.0.0.1:{port}\nJkWorkersFile = workers.properties\nStateFile = {}\n\
         [mounts]\n/x = lb\n/jkstatus = jkstatus\n",
        state_file.display()
    )
}

fn start(label: &str, workers: &str, state_file: &Path) -> ConfGate {
    ConfGate::start(label, false, |g| {
        g.write("jkgate.ini", ini(g.port, state_file));
        g.write("workers.properties", workers);
    })
}

/// A status command; panics unless its result is OK.
fn command(gate: &ConfGate, query: &str) {
    let reply = gate.get(&format!("/jkstatus?mime=txt&{query}"), &[]);
    let text = reply.text();
    assert!(
        text.contains("type=OK"),
        "status {query}: {text}\n{}",
        gate.error_log()
    );
}

/// Which member answered each of `n` requests without a session.
fn served(gate: &ConfGate, n: usize) -> BTreeMap<String, usize> {
    let mut tally = BTreeMap::new();
    for _ in 0..n {
        let reply = gate.get("/x", &[]);
        assert_eq!(reply.status, 200, "{}", reply.text());
        let text = reply.text();
        let member = text.split(':').next().unwrap_or_default().to_owned();
        *tally.entry(member).or_insert(0) += 1;
    }
    tally
}

/// The state file's edits as `worker/member setting=value` lines.
fn state_entries(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    if text.is_empty() {
        return Vec::new();
    }
    let doc: serde_json::Value = serde_json::from_str(&text).expect("state file is JSON");
    assert_eq!(doc["format"], "jkgate-state/1", "{text}");
    doc["edits"]
        .as_array()
        .expect("edits")
        .iter()
        .map(|e| {
            format!(
                "{}/{} {}={}",
                e["worker"].as_str().unwrap_or_default(),
                e["member"].as_str().unwrap_or("-"),
                e["setting"].as_str().unwrap_or_default(),
                e["value"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn wait_state(path: &Path, what: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entries = state_entries(path);
        if done(&entries) {
            return entries;
        }
        assert!(
            Instant::now() < deadline,
            "state file never showed {what}: {entries:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn status_edits_survive_a_restart_and_reloads_and_win_until_reverted() {
    let backends = Backends::start();
    let dir = state_dir("restart");
    let state_file = dir.join("state.json");
    let workers = backends.workers(&["node1", "node2"], "");

    let first = start("state-first", &workers, &state_file);
    assert_eq!(served(&first, 4).len(), 2, "both members serve at first");
    command(&first, "cmd=update&w=lb&sw=node2&vwa=S");
    command(&first, "cmd=update&w=lb&sw=node1&vwf=4&vart=1500");
    command(&first, "cmd=update&w=lb&vlr=3");
    let entries = wait_state(&state_file, "the four edits", |e| e.len() == 4);
    assert_eq!(
        entries,
        [
            "lb/- retries=3",
            "lb/node1 lbfactor=4",
            "lb/node1 reply_timeout=1500",
            "lb/node2 activation=stopped",
        ]
    );
    assert_eq!(served(&first, 6).get("node2"), None, "node2 is stopped");
    drop(first); // SIGKILL: nothing is saved at exit, it was saved when made

    let second = start("state-second", &workers, &state_file);
    let status = second.status_prop();
    assert_eq!(status.req("worker.node2.activation"), "STP");
    assert_eq!(status.req("worker.node1.lbfactor"), "4");
    assert_eq!(status.req("worker.node1.reply_timeout"), "1500");
    assert_eq!(status.req("worker.lb.retries"), "3");
    assert_eq!(
        served(&second, 6),
        BTreeMap::from([("node1".to_owned(), 6)]),
        "after the restart node2 is still stopped"
    );

    // A reload keeps them, even against a workers.properties that now says otherwise.
    let mut second = second;
    second.write(
        "workers.properties",
        backends.workers(
            &["node1", "node2"],
            "worker.node1.lbfactor=2\nworker.node2.activation=A\n",
        ),
    );
    second.hup_expect_reloaded();
    let status = second.status_prop();
    assert_eq!(
        status.req("worker.node2.activation"),
        "STP",
        "the edit wins"
    );
    assert_eq!(status.req("worker.node1.lbfactor"), "4", "the edit wins");
    assert_eq!(served(&second, 4).get("node2"), None);

    // Revert releases node2's edits: workers.properties' value is back at once and stays
    // after a reload; node1's edits stay.
    command(&second, "cmd=revert&w=lb&sw=node2");
    wait_state(&state_file, "node2's edit gone", |e| {
        e.len() == 3 && !e.iter().any(|l| l.contains("node2"))
    });
    assert_eq!(second.status_prop().req("worker.node2.activation"), "ACT");
    assert!(
        served(&second, 6).contains_key("node2"),
        "node2 serves again"
    );
    second.hup_expect_reloaded();
    let status = second.status_prop();
    assert_eq!(status.req("worker.node2.activation"), "ACT");
    assert_eq!(status.req("worker.node1.lbfactor"), "4");

    // Deleting the file and reloading releases everything.
    std::fs::remove_file(&state_file).expect("remove the state file");
    second.hup_expect_reloaded();
    let status = second.status_prop();
    assert_eq!(status.req("worker.node1.lbfactor"), "2", "the file's value");
    assert_eq!(status.req("worker.lb.retries"), "2", "the default");
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}

fn edit(worker: &str, member: Option<&str>, setting: &str, value: &str) -> serde_json::Value {
    let mut e = serde_json::json!({"worker": worker, "setting": setting, "value": value});
    if let Some(member) = member {
        e["member"] = member.into();
    }
    e
}

#[test]
fn an_edit_that_no_longer_fits_is_reported_and_skipped() {
    let backends = Backends::start();
    let dir = state_dir("stale");
    let state_file = dir.join("state.json");
    let doc = serde_json::json!({
        "format": "jkgate-state/1",
        "edits": [
            edit("lb", Some("node3"), "activation", "stopped"),
            edit("lb", Some("node1"), "lbfactor", "0"),
            edit("gone", None, "retries", "3"),
            edit("lb", Some("node2"), "activation", "disabled"),
            edit("lb", Some("node1"), "host", "no-such-host.invalid"),
        ]
    });
    std::fs::write(
        &state_file,
        serde_json::to_string_pretty(&doc).expect("json"),
    )
    .expect("write the state file");
    let workers = backends.workers(&["node1", "node2"], "");

    // `jkgate check` lists each entry.
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).expect("conf dir");
    std::fs::write(conf.join("jkgate.ini"), ini(1, &state_file)).expect("ini");
    std::fs::write(conf.join("workers.properties"), &workers).expect("workers");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .args(["check", "--config"])
        .arg(conf.join("jkgate.ini"))
        .output()
        .expect("jkgate check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "runtime edits: 5 in the state store, 1 applied over workers.properties, 4 not applied",
        "applied: lb/node2 activation=disabled",
        "runtime edit lb/node3 activation=stopped not applied: node3 is no longer a member of lb",
        "runtime edit lb/node1 lbfactor=0 not applied: 0 is out of range",
        "runtime edit gone retries=3 not applied: worker gone is no longer in worker.list",
        "runtime edit lb/node1 host=no-such-host.invalid not applied: worker `node1` (member of lb `lb`): cannot resolve host",
    ] {
        assert!(stdout.contains(line), "check lacks {line:?}:\n{stdout}");
    }

    // `run` logs the same, applies the entry that fits and leaves the rest.
    let mut gate = start("state-stale", &workers, &state_file);
    gate.wait_for_log(
        "lb/node3 activation=stopped not applied",
        Duration::from_secs(10),
    );
    let log = gate.error_log();
    assert!(log.contains("lb/node1 lbfactor=0 not applied"), "{log}");
    assert!(
        log.contains("lb/node1 host=no-such-host.invalid not applied"),
        "{log}"
    );
    let status = gate.status_prop();
    assert_eq!(status.req("worker.node2.activation"), "DIS");
    assert_eq!(status.req("worker.node1.lbfactor"), "1");

    // A reload that drops node2 from the lb reports node2's edit too, and serves.
    let mark = gate.log_mark();
    gate.write("workers.properties", backends.workers(&["node1"], ""));
    gate.hup_expect_reloaded();
    gate.wait_for_log_since(
        mark,
        "runtime edit lb/node2 activation=disabled not applied: node2 is no longer a member of lb",
        Duration::from_secs(10),
    );
    assert_eq!(served(&gate, 3), BTreeMap::from([("node1".to_owned(), 3)]));
    // Stale entries stay in the file (node2 may come back): nothing was rewritten.
    assert_eq!(state_entries(&state_file).len(), 5);
    drop(gate);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_state_file_a_reload_keeps_the_edits_and_a_broken_file_stops_a_reload() {
    let backends = Backends::start();
    let workers = backends.workers(&["node1", "node2"], "");
    // No StateFile: edits live as long as the process, reloads included.
    let mut gate = ConfGate::start("state-memory", false, |g| {
        g.write(
            "jkgate.ini",
            format!(
                "Listen = 127.0.0.1:{}\nJkWorkersFile = workers.properties\n\
                 [mounts]\n/x = lb\n/jkstatus = jkstatus\n",
                g.port
            ),
        );
        g.write("workers.properties", &workers);
    });
    command(&gate, "cmd=update&w=lb&sw=node1&vwa=D");
    gate.hup_expect_reloaded();
    assert_eq!(gate.status_prop().req("worker.node1.activation"), "DIS");
    drop(gate);

    // A state file that is not a state document: the start is refused, as for a broken
    // configuration file, and so is a reload (the edits in force stay).
    let dir = state_dir("broken");
    let state_file = dir.join("state.json");
    std::fs::write(&state_file, "{not json").expect("write");
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).expect("conf dir");
    std::fs::write(conf.join("jkgate.ini"), ini(1, &state_file)).expect("ini");
    std::fs::write(conf.join("workers.properties"), &workers).expect("workers");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .args(["check", "--config"])
        .arg(conf.join("jkgate.ini"))
        .output()
        .expect("jkgate check runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("state.json: not a jkgate state document"),
        "{stderr}"
    );
    std::fs::remove_file(&state_file).expect("remove");
    let mut gate = start("state-broken", &workers, &state_file);
    command(&gate, "cmd=update&w=lb&sw=node2&vwf=7");
    wait_state(&state_file, "the edit", |e| e.len() == 1);
    std::fs::write(&state_file, "{not json").expect("break it");
    let (line, _) = gate.hup_expect_failed();
    assert!(line.contains("not a jkgate state document"), "{line}");
    assert_eq!(gate.status_prop().req("worker.node2.lbfactor"), "7");
    drop(gate);
    let _ = std::fs::remove_dir_all(&dir);
}
