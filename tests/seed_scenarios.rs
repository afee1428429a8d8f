//! The seed scenarios of the Tomcat clustering guides, through the real `jkgate` binary in
//! front of real Tomcat 10.1 clusters (test webapp, `/app/session` counts per session):
//!
//! 1. three nodes, `SimpleTcpCluster` + `DeltaManager`: the session's owner is killed with
//!    SIGKILL; the session (its id base and its counter) survives through jkgate;
//! 2. four nodes with `BackupManager`, in two membership domains that workers.properties'
//!    `domain` repeats: the owner is killed; the next request goes to the member of the
//!    owner's domain (the only one holding the backup), and the session survives, although
//!    that member is the one the lb would pick last without domains (`distance=1`);
//! 3. `JvmRouteBinderValve`: after the failover the session id's route is rewritten to the
//!    heir's, and jkgate's next requests go straight to the heir: no attempt on the dead
//!    owner even once it is due for a recovery probe (its error count does not move, while a
//!    request with the old id does move it).
//!
//! Scenarios 1 and 3 share one 3-node cluster (3 follows 1's failover); one cluster runs at
//! a time.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use gate::{Gate, tail};
use tomcat::{ClusterMode, HttpReply, TomcatCluster, TomcatOptions};

/// One cluster at a time: two clusters booting together on 2 cores only slow both.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// A status worker next to the lb, fast maintenance and recovery.
const STATUS_AND_FAST_RECOVERY: &str = "worker.list=jkstatus\nworker.jkstatus.type=status\n\
                                        worker.maintain=1\nworker.lb.recover_time=2\n";

fn start_gate(label: &str, workers: &str) -> Gate {
    Gate::start_with(
        label,
        &format!("{workers}{STATUS_AND_FAST_RECOVERY}"),
        &["/app/*=lb", "/jkstatus=jkstatus"],
    )
}

/// The `JSESSIONID` value Tomcat set in this reply.
fn set_cookie_session(reply: &HttpReply) -> Option<String> {
    reply.header_values("Set-Cookie").into_iter().find_map(|v| {
        v.strip_prefix("JSESSIONID=")
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    })
}

/// `worker.<member>.<key>` of the status worker's `mime=prop` listing, as a number.
fn member_number(gate: &Gate, member: &str, key: &str) -> u64 {
    let reply = gate.get("/jkstatus?mime=prop", &[]);
    let text = reply.text();
    let wanted = format!("worker.{member}.{key}=");
    text.lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {wanted}N in the status:\n{text}"))
}

fn member_state(gate: &Gate, member: &str) -> String {
    let text = gate.get("/jkstatus?mime=prop", &[]).text();
    let wanted = format!("worker.{member}.state=");
    text.lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .unwrap_or_else(|| panic!("no {wanted} in the status:\n{text}"))
        .to_owned()
}

/// A session through jkgate, used `uses` more times on its owner: (id, owner, counter).
fn session_with_counter(gate: &Gate, uses: u32) -> (String, String, u32) {
    let kv = gate.session(None);
    let owner = kv.req("jvmRoute").to_owned();
    let id = kv.req("sessionId").to_owned();
    for expected in 2..=uses + 1 {
        let kv = gate.session(Some(&id));
        assert_eq!(kv.req("jvmRoute"), owner, "sticky to its owner");
        assert_eq!(kv.req("counter"), expected.to_string());
    }
    (id, owner, uses + 1)
}

#[test]
fn seed_1_delta_session_survives_owner_kill_and_3_rewritten_route_is_followed() {
    let _one = serial();
    let started = Instant::now();
    let options = TomcatOptions {
        cluster: ClusterMode::Delta,
        ..TomcatOptions::default()
    };
    let mut cluster = TomcatCluster::start(3, options);
    let booted = started.elapsed();
    let gate = start_gate("seed-delta", &cluster.workers_properties("lb"));

    // Scenario 1.
    let (id, owner, counter) = session_with_counter(&gate, 3);
    let (id_base, _) = id.split_once('.').expect("session id with a route");
    cluster.node_mut(&owner).kill();
    let cookie = format!("JSESSIONID={id}");
    let (reply, kv) = gate.get_ok("/app/session", &[("Cookie", &cookie)]);
    let heir = kv.req("jvmRoute").to_owned();
    assert_ne!(heir, owner, "another node answers");
    assert_eq!(
        kv.req("counter"),
        (counter + 1).to_string(),
        "the replicated session survives with its counter"
    );
    let new_id = kv.req("sessionId").to_owned();
    assert_eq!(
        new_id.split_once('.').map(|(b, _)| b),
        Some(id_base),
        "same id base"
    );

    // Scenario 3: the valve rewrote the route and the client got it.
    assert_eq!(
        new_id,
        format!("{id_base}.{heir}"),
        "route rewritten to the heir"
    );
    assert_eq!(
        set_cookie_session(&reply).as_deref(),
        Some(new_id.as_str()),
        "the rewritten id reaches the client: {:?}",
        reply.headers
    );
    // Wait until the dead owner is due for a recovery probe (recover_time 2 s, maintain
    // 1 s): a request still routed to it would now try it and fail over again.
    let deadline = Instant::now() + Duration::from_secs(15);
    while member_state(&gate, &owner) != "ERR/REC" {
        assert!(
            Instant::now() < deadline,
            "{owner} never became ERR/REC: {}",
            member_state(&gate, &owner)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let owner_errors = member_number(&gate, &owner, "errors");
    let heir_elected = member_number(&gate, &heir, "elected");
    for expected in counter + 2..=counter + 6 {
        let kv = gate.session(Some(&new_id));
        assert_eq!(kv.req("jvmRoute"), heir, "straight to the heir");
        assert_eq!(kv.req("counter"), expected.to_string());
    }
    assert_eq!(
        member_number(&gate, &owner, "errors"),
        owner_errors,
        "no attempt on the dead owner: no further failover\n{}",
        tail(&gate.error_log(), 30)
    );
    assert_eq!(
        member_number(&gate, &heir, "elected"),
        heir_elected + 5,
        "each request went to the heir once"
    );
    assert_eq!(member_state(&gate, &owner), "ERR/REC", "never probed");
    // The control: the old id still names the owner, and jkgate tries it (and fails over).
    let (_, kv) = gate.get_ok("/app/session", &[("Cookie", &cookie)]);
    assert_ne!(kv.req("jvmRoute"), owner);
    assert!(
        member_number(&gate, &owner, "errors") > owner_errors,
        "the old route makes jkgate try the owner: the check above can fail"
    );
    eprintln!(
        "seed 1+3: cluster booted in {booted:?}, scenario ran in {:?}",
        started.elapsed() - booted
    );
}

#[test]
fn seed_2_backup_manager_failover_stays_in_the_owners_domain() {
    let _one = serial();
    let started = Instant::now();
    let options = TomcatOptions {
        cluster: ClusterMode::Backup,
        ..TomcatOptions::default()
    };
    let mut cluster = TomcatCluster::start_in_domains(&["a", "a", "b", "b"], options);
    let booted = started.elapsed();
    // node2, node1's only domain partner, is the member the lb likes least.
    let workers = format!(
        "{}worker.node2.distance=1\n",
        cluster.workers_properties("lb")
    );
    assert!(workers.contains("worker.node1.domain=a"), "{workers}");
    let gate = start_gate("seed-backup", &workers);

    // A session owned by node1: created there directly, then used through jkgate.
    let first = cluster.node("node1").http_get("/app/session");
    assert_eq!(first.status, 200, "{}", first.text());
    let id = first.kv().req("sessionId").to_owned();
    assert!(id.ends_with(".node1"), "{id}");
    for expected in 2..=4 {
        let kv = gate.session(Some(&id));
        assert_eq!(kv.req("jvmRoute"), "node1");
        assert_eq!(kv.req("counter"), expected.to_string());
    }
    // Session-less requests go to the distance-0 members only.
    for _ in 0..6 {
        let kv = gate.session(None);
        assert_ne!(kv.req("jvmRoute"), "node2", "distance 1 is the last choice");
    }

    cluster.node_mut("node1").kill();
    let (base, _) = id.split_once('.').expect("route");
    let rewritten = format!("{base}.node2");
    // Tomcat's JvmRouteBinderValve rewrites the route once node2's BackupManager finds the
    // session under its old id. Right after the kill it may not find it there yet (node1 has
    // not left the membership) and serves the session with its id unchanged (seen once in a
    // full run). Every answer must come from node2 with the counter going on; the route is
    // rewritten within a few requests.
    let mut counter = 5;
    let mut current = id.clone();
    let new_id = loop {
        let cookie = format!("JSESSIONID={current}");
        let (_, kv) = gate.get_ok("/app/session", &[("Cookie", &cookie)]);
        assert_eq!(
            kv.req("jvmRoute"),
            "node2",
            "the failover stays in the owner's domain\n{}",
            tail(&gate.error_log(), 30)
        );
        assert_eq!(
            kv.req("counter"),
            counter.to_string(),
            "the backup copy carries the session on"
        );
        counter += 1;
        current = kv.req("sessionId").to_owned();
        if current == rewritten {
            break current;
        }
        assert_eq!(current, id, "same id base, rewritten route or none yet");
        assert!(
            counter < 15,
            "Tomcat did not rewrite the route in 10 requests"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let kv = gate.session(Some(&new_id));
    assert_eq!(
        (kv.req("jvmRoute"), kv.req("counter")),
        ("node2", counter.to_string().as_str()),
        "the session goes on on node2"
    );
    eprintln!(
        "seed 2: cluster booted in {booted:?}, scenario ran in {:?}",
        started.elapsed() - booted
    );
}
