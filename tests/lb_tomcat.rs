//! The lb worker end to end on real parts: the `jkgate` binary in front of three real
//! Tomcat 10.1 nodes (jvmRoute node1..node3), an lb with sticky sessions, and the test
//! webapp (`/app/session` counts per session and prints the serving node's jvmRoute;
//! `/app/echo?mark=X` records X on arrival and `/app/marks` lists what a node recorded).
//!
//! What is shown (mod_jk.md §3):
//! * sticky routing by cookie and by the `;jsessionid=` path parameter (which beats the
//!   cookie), the counter going up on the owner;
//! * the owner killed with SIGKILL: the next request carrying its session is answered by
//!   another node (200, a new session without replication; with DeltaManager the session
//!   survives and the counter goes on);
//! * an idempotent GET whose member refuses the connection is served by another member;
//! * a POST interrupted by the death of its node is not replayed anywhere: the client gets
//!   502 and no other node ever sees it (jkgate's `Replay safe`, the default, re-sends only
//!   idempotent requests without a body once a member may have received them; mod_jk
//!   1.2.48 also answers 502 when it had sent a body: tests/lb_modjk_differential.rs);
//! * the killed node, restarted, takes cookie-less traffic again after `recover_time`;
//! * `activation=D`: only sticky requests for its own sessions; `activation=S`: nothing,
//!   its sessions fail over.
//!
//! Each test boots one cluster; a lock keeps the tests of this file from booting two
//! clusters at once on a small machine.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use gate::{Gate, tail};
use tomcat::{ClusterMode, HttpReply, TomcatCluster, TomcatOptions};

/// One cluster at a time: two 3-JVM clusters booting together on 2 cores only slow both.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// Fast maintenance and recovery so recovery is observable within seconds.
const FAST_RECOVERY: &str = "worker.maintain=1\nworker.lb.recover_time=2\n";

/// The `JSESSIONID` value Tomcat set in this reply.
fn set_cookie_session(reply: &HttpReply) -> Option<String> {
    reply.header_values("Set-Cookie").into_iter().find_map(|v| {
        v.strip_prefix("JSESSIONID=")
            .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
    })
}

fn routes() -> [&'static str; 3] {
    ["node1", "node2", "node3"]
}

/// Creates a session directly on `route` (Tomcat's own HTTP connector); returns its id.
fn session_on_node(cluster: &TomcatCluster, route: &str) -> String {
    let reply = cluster.node(route).http_get("/app/session");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let kv = reply.kv();
    assert_eq!(kv.req("jvmRoute"), route);
    let id = kv.req("sessionId").to_owned();
    assert!(id.ends_with(&format!(".{route}")), "{id}");
    id
}

#[test]
fn lb_sticky_failover_no_replay_recovery_and_activations() {
    let _one = serial();
    let mut cluster = TomcatCluster::start(3, TomcatOptions::default());
    let base = cluster.workers_properties("lb");
    let gate = Gate::start("main", &format!("{base}{FAST_RECOVERY}"));

    // --- Sticky by cookie: a session created through jkgate stays on its node. ---
    let (first, kv) = gate.get_ok("/app/session", &[]);
    let owner = kv.req("jvmRoute").to_owned();
    let s1 = kv.req("sessionId").to_owned();
    assert!(s1.ends_with(&format!(".{owner}")), "{s1}");
    assert_eq!(kv.req("counter"), "1");
    assert_eq!(
        set_cookie_session(&first).as_deref(),
        Some(s1.as_str()),
        "Tomcat's Set-Cookie passes through: {:?}",
        first.headers
    );
    for expected in 2..=12 {
        let kv = gate.session(Some(&s1));
        assert_eq!(
            kv.req("jvmRoute"),
            owner,
            "request {expected} left the owner"
        );
        assert_eq!(kv.req("sessionId"), s1);
        assert_eq!(kv.req("counter"), expected.to_string());
        assert_eq!(kv.req("isNew"), "false");
    }

    // --- Sticky by `;jsessionid=`: a second session on another node, no cookie. ---
    let mut s2 = None;
    for _ in 0..10 {
        let kv = gate.session(None);
        if kv.req("jvmRoute") != owner {
            s2 = Some((
                kv.req("sessionId").to_owned(),
                kv.req("jvmRoute").to_owned(),
            ));
            break;
        }
    }
    let (s2, s2_node) = s2.expect("cookie-less requests reach another node than the busy owner");
    for expected in 2..=8 {
        let (_, kv) = gate.get_ok(&format!("/app/session;jsessionid={s2}"), &[]);
        assert_eq!(
            kv.req("jvmRoute"),
            s2_node,
            "path-parameter request left its node"
        );
        assert_eq!(kv.req("sessionId"), s2);
        assert_eq!(kv.req("requestedSessionIdFromURL"), "true");
        assert_eq!(kv.req("counter"), expected.to_string());
    }
    // The path parameter beats the cookie (mod_jk.md §3.5.1): routed to s2's node. (The
    // echo page, because Tomcat itself prefers the cookie's session id.)
    let cookie_s1 = format!("JSESSIONID={s1}");
    for _ in 0..3 {
        let (_, kv) = gate.get_ok(
            &format!("/app/echo;jsessionid={s2}"),
            &[("Cookie", &cookie_s1)],
        );
        assert_eq!(
            kv.req("jvmRoute"),
            s2_node,
            "the cookie won over the path parameter"
        );
    }

    // --- A POST cut off by its node's death is not replayed (jkgate's safe replay). ---
    // Sent with a route cookie for the owner; the node records the mark on arrival, then
    // sleeps; it is killed while it sleeps.
    let mark = format!("post-{}", std::process::id());
    let body = tomcat::pattern_bytes(2000);
    let cut = gate::cut_by_kill(gate.port, &mut cluster, &owner, &s1, ("POST", &body), &mark);
    assert_eq!(
        cut.reply.status,
        502,
        "a POST whose node died mid-request ends in 502 (so does mod_jk 1.2.48 for a \
         request whose body it sent, see tests/lb_modjk_differential.rs): {}\n{}",
        cut.reply.text(),
        gate.error_log()
    );
    assert!(
        cut.after_kill < Duration::from_secs(4),
        "the 502 came {:?} after the node's death, as if the proxy waited for the sleep",
        cut.after_kill
    );
    let others: Vec<&str> = routes().into_iter().filter(|r| *r != owner).collect();
    for other in &others {
        assert!(
            !cluster.node(other).marks().contains(&mark),
            "the interrupted POST was replayed on {other}"
        );
    }

    // --- Failover without replication: the owner's session goes elsewhere, new session. ---
    let (reply, kv) = gate.get_ok("/app/session", &[("Cookie", &cookie_s1)]);
    let heir = kv.req("jvmRoute").to_owned();
    assert_ne!(heir, owner, "served by the dead owner?");
    assert_eq!(
        kv.req("counter"),
        "1",
        "no replication: a new session starts"
    );
    assert_eq!(kv.req("isNew"), "true");
    let s1_new = kv.req("sessionId").to_owned();
    assert!(s1_new.ends_with(&format!(".{heir}")), "{s1_new}");
    assert_eq!(set_cookie_session(&reply).as_deref(), Some(s1_new.as_str()));
    // The client follows the new cookie: sticky to the heir from now on.
    for expected in 2..=4 {
        let kv = gate.session(Some(&s1_new));
        assert_eq!(kv.req("jvmRoute"), heir);
        assert_eq!(kv.req("counter"), expected.to_string());
    }

    // --- An idempotent GET whose member refuses the connection goes to another member. ---
    // A fresh jkgate (no pooled connections, every member OK/IDLE): the request is sticky
    // to the dead owner, the connect is refused, another member answers.
    let fresh = Gate::start("fresh", &format!("{base}{FAST_RECOVERY}"));
    let (_, kv) = fresh.get_ok("/app/echo?mark=refused-get", &[("Cookie", &cookie_s1)]);
    assert_ne!(kv.req("jvmRoute"), owner);
    let fresh_log = fresh.error_log();
    assert!(
        fresh_log.contains(&format!("member={owner}")) && fresh_log.contains("attempt failed"),
        "the first attempt went to the dead owner {owner} and failed:\n{fresh_log}"
    );
    drop(fresh);

    // --- While the owner is down, cookie-less traffic never reaches it and never fails. ---
    // (Every second maintenance puts it on probation after recover_time; the probe fails
    // over invisibly.)
    let down_until = Instant::now() + Duration::from_secs(5);
    let mut served = 0;
    while Instant::now() < down_until || served < 10 {
        let (_, kv) = gate.get_ok("/app/echo", &[]);
        assert_ne!(kv.req("jvmRoute"), owner);
        served += 1;
        std::thread::sleep(Duration::from_millis(100));
    }

    // --- Restarted, the owner takes cookie-less traffic again after recover_time. ---
    cluster.restart_node(&owner);
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(30);
    let mut seen = Vec::new();
    loop {
        let (_, kv) = gate.get_ok("/app/echo", &[]);
        let node = kv.req("jvmRoute").to_owned();
        seen.push(node.clone());
        if node == owner {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the restarted {owner} got no cookie-less request within 30 s (recover_time=2, \
             maintain=1); served by {seen:?}\n{}",
            tail(&gate.error_log(), 40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "{owner} restarted in {:?}; first cookie-less request {:?} later, after {seen:?}",
        cluster.node(&owner).startup_time(),
        restarted.elapsed()
    );
    // And it keeps its share: among the next 12 cookie-less requests it gets some.
    let mut share = 0;
    for _ in 0..12 {
        if gate.get_ok("/app/echo", &[]).1.req("jvmRoute") == owner {
            share += 1;
        }
    }
    assert!(
        share >= 2,
        "the recovered {owner} got {share} of 12 requests"
    );

    // The interrupted POST never reached any other node, not even later.
    for other in &others {
        assert!(!cluster.node(other).marks().contains(&mark));
    }

    // --- activation=D: only its own sessions; activation=S: nothing at all. ---
    drop(gate);
    activations(&cluster);
}

/// `node2` Disabled in one jkgate, Stopped in another, both in front of the same nodes.
fn activations(cluster: &TomcatCluster) {
    let base = cluster.workers_properties("lb");
    let disabled = Gate::start(
        "disabled",
        &format!("{base}{FAST_RECOVERY}worker.node2.activation=D\n"),
    );
    let stopped = Gate::start(
        "stopped",
        &format!("{base}{FAST_RECOVERY}worker.node2.activation=S\n"),
    );
    // A session that lives on node2 (created there directly, counter 1).
    let on2 = session_on_node(cluster, "node2");
    let cookie2 = format!("JSESSIONID={on2}");

    // Disabled: the session's requests still go to node2, the counter goes on.
    for expected in 2..=6 {
        let kv = disabled.session(Some(&on2));
        assert_eq!(
            kv.req("jvmRoute"),
            "node2",
            "a disabled member serves its sessions"
        );
        assert_eq!(kv.req("counter"), expected.to_string());
        assert_eq!(kv.req("sessionId"), on2);
    }
    // ... also by path parameter.
    let (_, kv) = disabled.get_ok(&format!("/app/session;jsessionid={on2}"), &[]);
    assert_eq!(kv.req("jvmRoute"), "node2");
    assert_eq!(kv.req("counter"), "7");
    // Cookie-less traffic never reaches it; the sticky traffic did not change that.
    let mut seen = Vec::new();
    for i in 0..15 {
        let (_, kv) = disabled.get_ok(&format!("/app/echo?mark=dis-{i}"), &[]);
        seen.push(kv.req("jvmRoute").to_owned());
    }
    assert!(
        seen.iter().all(|n| n != "node2"),
        "cookie-less requests reached the disabled node2: {seen:?}"
    );
    assert!(
        seen.iter().any(|n| n == "node1") && seen.iter().any(|n| n == "node3"),
        "the active members share the load: {seen:?}"
    );

    // Stopped: not even its sessions; they fail over to an active member.
    for _ in 0..3 {
        let (_, kv) = stopped.get_ok("/app/session", &[("Cookie", &cookie2)]);
        assert_ne!(
            kv.req("jvmRoute"),
            "node2",
            "a stopped member got a sticky request"
        );
        assert_eq!(kv.req("counter"), "1", "a new session on the active member");
    }
    let (_, kv) = stopped.get_ok(&format!("/app/session;jsessionid={on2}"), &[]);
    assert_ne!(kv.req("jvmRoute"), "node2");
    for i in 0..10 {
        let (_, kv) = stopped.get_ok(&format!("/app/echo?mark=stp-{i}"), &[]);
        assert_ne!(
            kv.req("jvmRoute"),
            "node2",
            "cookie-less request to a stopped member"
        );
    }
    // node2 never saw any of that: the session's counter resumes where the disabled
    // gate left it, and no cookie-less mark arrived there.
    let kv = disabled.session(Some(&on2));
    assert_eq!(kv.req("jvmRoute"), "node2");
    assert_eq!(
        kv.req("counter"),
        "8",
        "the stopped gate touched node2's session"
    );
    let marks2 = cluster.node("node2").marks();
    assert!(
        !marks2
            .iter()
            .any(|m| m.starts_with("dis-") || m.starts_with("stp-")),
        "{marks2:?}"
    );
}

#[test]
fn lb_replicated_session_survives_owner_kill() {
    let _one = serial();
    let options = TomcatOptions {
        cluster: ClusterMode::Delta,
        ..TomcatOptions::default()
    };
    let mut cluster = TomcatCluster::start(3, options);
    let base = cluster.workers_properties("lb");
    let gate = Gate::start("delta", &format!("{base}{FAST_RECOVERY}"));

    let kv = gate.session(None);
    let owner = kv.req("jvmRoute").to_owned();
    let id = kv.req("sessionId").to_owned();
    let (id_base, _) = id.split_once('.').expect("session id with a route");
    for expected in 2..=4 {
        let kv = gate.session(Some(&id));
        assert_eq!(kv.req("jvmRoute"), owner);
        assert_eq!(kv.req("counter"), expected.to_string());
    }
    cluster.node_mut(&owner).kill();

    let cookie = format!("JSESSIONID={id}");
    let (reply, kv) = gate.get_ok("/app/session", &[("Cookie", &cookie)]);
    let heir = kv.req("jvmRoute").to_owned();
    assert_ne!(heir, owner);
    assert_eq!(kv.req("counter"), "5", "the replicated session survives");
    let new_id = kv.req("sessionId").to_owned();
    assert_eq!(
        new_id,
        format!("{id_base}.{heir}"),
        "JvmRouteBinderValve keeps the id and rewrites the route"
    );
    assert_eq!(
        set_cookie_session(&reply).as_deref(),
        Some(new_id.as_str()),
        "the rewritten id reaches the client: {:?}",
        reply.headers
    );
    for expected in 6..=8 {
        let kv = gate.session(Some(&new_id));
        assert_eq!(kv.req("jvmRoute"), heir);
        assert_eq!(kv.req("counter"), expected.to_string());
    }
}
