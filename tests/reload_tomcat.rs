//! Configuration reload with SIGHUP on real parts: the `jkgate` binary started as
//! `jkgate run --config DIR/jkgate.ini` in front of three real Tomcat 10.1 nodes
//! (jvmRoute node1..node3), with an HTTPS listener, a status worker and a mount file, while
//! a load generator sends requests without pause (three keep-alive and one
//! connection-per-request plain HTTP client, one keep-alive and one connection-per-request
//! HTTPS client).
//!
//! The contract shown, step by step on one running jkgate process:
//! * (a) SIGHUP after adding node3 to the lb's `balance_workers`: new requests reach node3;
//! * (b) SIGHUP after removing node2: a request that was being served by node2 when the
//!   reload happened completes (on the old configuration), no request sent after the
//!   reload reaches node2, a session routed to node2 fails over;
//! * (c) SIGHUP after changing node3's `lbfactor` (shown by the status worker) and adding
//!   mounts in the mount file and in jkgate.ini's `[mounts]`: paths that were 404 map;
//! * (d) SIGHUP with a workers.properties holding an unknown directive: nothing changes,
//!   jkgate keeps serving the previous configuration, logs `reload failed` with the file
//!   and line, the status worker shows `config_reload=ERROR`; the file fixed, SIGHUP works;
//! * (e) SIGHUP after replacing the TLS certificate and key files: new HTTPS connections
//!   are served the new certificate, HTTPS requests go on without a failure;
//! * `worker.config_generation` starts at 1 and grows by one per successful reload,
//!   `worker.config_loaded` is when the running configuration was loaded;
//! * members whose settings did not change keep their counters across every reload
//!   (their `elected` count covers every request the load got answered by them, before
//!   and after the reloads);
//! * not one request of the load fails, and jkgate is the same process throughout.
//!
//! `JkMountFileReload = 0`, so only SIGHUP can make jkgate read the mount file again.
#![cfg(feature = "interop")]

#[path = "support/tomcat.rs"]
mod tomcat;

#[path = "support/gate.rs"]
mod gate;

#[path = "support/reload.rs"]
mod reload;

#[path = "support/pki.rs"]
mod pki;

use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gate::tail;
use pki::TestPki;
use reload::{ConfGate, HttpConn, Load, LoadSpec, StatusProps};
use tomcat::{TomcatCluster, TomcatOptions, http_request, pattern_bytes};

/// How long a reload may take to show its effect on routing.
const EFFECT: Duration = Duration::from_secs(30);

/// Requests of the load that must succeed after each reload before the step's checks (so
/// that every step runs under load for a while, and a counter reset would show).
const SETTLE: u64 = 500;

/// What the configuration directory holds at one step.
#[derive(Clone)]
struct Layout {
    /// The lb's members, in order (only these nodes are defined).
    members: Vec<&'static str>,
    /// node3's `lbfactor`, when set.
    node3_lbfactor: Option<u32>,
    /// `/app/static/*=lb` in the mount file.
    static_mount: bool,
    /// `/app/upload = lb` in jkgate.ini's `[mounts]`.
    upload_mount: bool,
    /// An unknown directive (a typo of `lbfactor`) at the end of workers.properties.
    typo: bool,
}

/// workers.properties for `layout`, and the line of the typo when there is one.
fn workers_properties(cluster: &TomcatCluster, layout: &Layout) -> (String, Option<usize>) {
    let mut s = String::new();
    let _ = writeln!(s, "# jkgate reload test");
    let _ = writeln!(s, "worker.list=jkstatus,lb");
    let _ = writeln!(s, "worker.jkstatus.type=status");
    let _ = writeln!(s, "worker.lb.type=lb");
    let _ = writeln!(s, "worker.lb.balance_workers={}", layout.members.join(","));
    let _ = writeln!(s, "worker.lb.sticky_session=true");
    for member in &layout.members {
        let node = cluster.node(member);
        let _ = writeln!(s, "worker.{member}.type=ajp13");
        let _ = writeln!(s, "worker.{member}.host=127.0.0.1");
        let _ = writeln!(s, "worker.{member}.port={}", node.ajp_port());
        let _ = writeln!(s, "worker.{member}.route={member}");
        if *member == "node3"
            && let Some(factor) = layout.node3_lbfactor
        {
            let _ = writeln!(s, "worker.node3.lbfactor={factor}");
        }
    }
    let mut typo_line = None;
    if layout.typo {
        typo_line = Some(s.lines().count() + 1);
        let _ = writeln!(s, "worker.node3.lbfactr=5");
    }
    let _ = writeln!(s, "# end");
    (s, typo_line)
}

fn mount_file(layout: &Layout) -> String {
    let mut s = String::from("/app/echo=lb\n/app/echo/*=lb\n/app/marks=lb\n");
    if layout.static_mount {
        s.push_str("/app/static/*=lb\n");
    }
    s
}

fn jkgate_ini(gate: &ConfGate, layout: &Layout) -> String {
    let mut s = format!(
        "Listen = 127.0.0.1:{}\n\
         JkWorkersFile = workers.properties\n\
         JkMountFile = uriworkermap.properties\n\
         JkMountFileReload = 0\n\
         AccessLog = access.log\n\
         JkLogLevel = info\n\
         \n\
         [tls]\n\
         Listen = 127.0.0.1:{}\n\
         Certificate = server.pem\n\
         Key = server.key\n\
         \n\
         [mounts]\n\
         /jkstatus = jkstatus\n",
        gate.port,
        gate.tls_port.expect("an HTTPS port")
    );
    if layout.upload_mount {
        s.push_str("/app/upload = lb\n");
    }
    s
}

/// Writes workers.properties, the mount file and jkgate.ini for `layout`; returns the typo
/// line.
fn write_layout(gate: &ConfGate, cluster: &TomcatCluster, layout: &Layout) -> Option<usize> {
    let (workers, typo) = workers_properties(cluster, layout);
    gate.write("workers.properties", workers);
    gate.write("uriworkermap.properties", mount_file(layout));
    gate.write("jkgate.ini", jkgate_ini(gate, layout));
    typo
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// `worker.lb.balance_workers`, in order.
fn members(status: &StatusProps) -> Vec<&str> {
    status.all("worker.lb.balance_workers")
}

/// The reload keys after a successful load: generation `generation`, `config_loaded`
/// between `loaded_from` and now, `config_reload` not ERROR and no error message.
fn assert_loaded(status: &StatusProps, generation: u64, loaded_from: u64, step: &str) {
    assert_eq!(
        status.get("worker.config_generation"),
        Some(generation.to_string().as_str()),
        "{step}: worker.config_generation should be {generation}:\n{}",
        status.text()
    );
    let loaded = status.num("worker.config_loaded");
    let now = unix_now();
    assert!(
        (loaded_from..=now + 1).contains(&loaded),
        "{step}: worker.config_loaded={loaded} is not between {loaded_from} (the load or reload was asked for) and now ({now})"
    );
    assert_ne!(
        status.get("worker.config_reload"),
        Some("ERROR"),
        "{step}: the configuration loaded, yet the status says ERROR:\n{}",
        status.text()
    );
    assert!(
        status
            .get("worker.config_reload_error")
            .is_none_or(str::is_empty),
        "{step}: a reload error is shown after a successful load:\n{}",
        status.text()
    );
}

/// Members in `kept` keep their counters: `elected` and `read` never go down, and
/// `elected` covers every request the load got answered by that member (counted just
/// before `after` was fetched; a counter reset at a reload would count only the requests
/// since then).
fn assert_counters_kept(
    before: &StatusProps,
    after: &StatusProps,
    answered: &[(&str, u64)],
    step: &str,
) {
    for (member, load_count) in answered {
        for counter in ["elected", "read"] {
            let key = format!("worker.{member}.{counter}");
            let (old, new) = (before.num(&key), after.num(&key));
            assert!(
                new >= old,
                "{step}: {key} went down from {old} to {new}: the reload reset the counters of an unchanged member"
            );
        }
        let key = format!("worker.{member}.elected");
        let elected = after.num(&key);
        assert!(
            elected >= *load_count,
            "{step}: {key}={elected}, but {load_count} requests of the load were answered by {member}: its counter was reset by the reload"
        );
    }
}

/// The status answer with the load's per-member counts taken just before it.
fn status_with_counts(
    gate: &ConfGate,
    load: &Load,
    kept: &[&'static str],
) -> (StatusProps, Vec<(&'static str, u64)>) {
    let counts = kept
        .iter()
        .map(|m| (*m, load.node(m).map_or(0, |t| t.count)))
        .collect();
    (gate.status_prop(), counts)
}

/// A new HTTPS connection: which certificate it was served, and `/app/echo` over it.
fn tls_probe(
    gate: &ConfGate,
    pki: &TestPki,
    config: &std::sync::Arc<rustls::ClientConfig>,
) -> (&'static str, tomcat::KvReply) {
    let port = gate.tls_port.expect("an HTTPS port");
    let mut conn = HttpConn::connect(port, Some(config)).unwrap_or_else(|e| {
        panic!(
            "HTTPS connection to jkgate: {e}\n{}",
            tail(&gate.error_log(), 40)
        )
    });
    let cert = conn.peer_cert.clone().expect("a TLS server certificate");
    let reply = conn
        .get("/app/echo?probe=tls", &[], true)
        .unwrap_or_else(|e| panic!("GET over HTTPS: {e}\n{}", tail(&gate.error_log(), 40)));
    assert_eq!(reply.status, 200, "GET over HTTPS: {}", reply.text());
    (pki.which(&cert), reply.kv())
}

#[test]
fn sighup_reloads_members_mounts_and_certificate_without_failing_a_request() {
    let t0 = Instant::now();
    let cluster = TomcatCluster::start(3, TomcatOptions::default());
    let tomcat_boot = t0.elapsed();
    let pki = TestPki::generate();
    let client_tls = pki.client_config();

    let mut layout = Layout {
        members: vec!["node1", "node2"],
        node3_lbfactor: None,
        static_mount: false,
        upload_mount: false,
        typo: false,
    };
    let started_unix = unix_now();
    let mut gate = ConfGate::start("reload", true, |g| {
        write_layout(g, &cluster, &layout);
        g.write("server.pem", &pki.a.cert_pem);
        g.write("server.key", &pki.a.key_pem);
    });
    let pid = gate.pid();
    let tls_port = gate.tls_port.expect("an HTTPS port");

    // --- Before any reload: what the first configuration does. ---
    let kv = gate.get_ok("/app/echo", &[]);
    assert!(
        ["node1", "node2"].contains(&kv.req("node")),
        "answered by {}",
        kv.req("node")
    );
    for path in ["/app/static/1k.bin", "/app/upload"] {
        let reply = gate.get(path, &[]);
        assert_eq!(
            reply.status,
            404,
            "{path} is not mounted yet: {}",
            reply.text()
        );
    }
    let (cert, kv) = tls_probe(&gate, &pki, &client_tls);
    assert_eq!(
        cert, "A",
        "the HTTPS listener serves server.pem (certificate A)"
    );
    assert_eq!(kv.req("secure"), "true", "HTTPS is forwarded as secure");

    let mut specs = Vec::new();
    for i in 1..=3 {
        specs.push(LoadSpec {
            name: format!("http-keepalive-{i}"),
            port: gate.port,
            tls: None,
            keep_alive: true,
            target: format!("/app/echo?load=ka{i}"),
            ..LoadSpec::default()
        });
    }
    specs.push(LoadSpec {
        name: "http-new-connection".into(),
        port: gate.port,
        tls: None,
        keep_alive: false,
        target: "/app/echo?load=new".into(),
        ..LoadSpec::default()
    });
    specs.push(LoadSpec {
        name: "https-keepalive".into(),
        port: tls_port,
        tls: Some(client_tls.clone()),
        keep_alive: true,
        target: "/app/echo?load=tls-ka".into(),
        ..LoadSpec::default()
    });
    specs.push(LoadSpec {
        name: "https-new-connection".into(),
        port: tls_port,
        tls: Some(client_tls.clone()),
        keep_alive: false,
        target: "/app/echo?load=tls-new".into(),
        ..LoadSpec::default()
    });
    let load = Load::start(specs);
    let load_start = Instant::now();
    load.wait_served_by("node1", load_start, EFFECT);
    load.wait_served_by("node2", load_start, EFFECT);
    load.wait_more(SETTLE, EFFECT);
    load.assert_no_failures("before any reload", || tail(&gate.error_log(), 40));
    assert!(
        load.node("node3").is_none(),
        "node3 is not a member yet but answered: {:?}",
        load.nodes()
    );

    let status = gate.status_prop();
    assert_eq!(members(&status), ["node1", "node2"], "{}", status.text());
    assert!(status.num("worker.node1.elected") > 0, "{}", status.text());
    assert!(status.num("worker.node2.elected") > 0, "{}", status.text());
    assert!(!status.has_prefix("worker.node3."), "{}", status.text());
    assert_loaded(&status, 1, started_unix, "at start");
    let mut generation = 1;

    // --- (a) SIGHUP adds node3 to the lb. ---
    let (before, _) = status_with_counts(&gate, &load, &[]);
    layout.members = vec!["node1", "node2", "node3"];
    write_layout(&gate, &cluster, &layout);
    let asked = unix_now();
    let (_, reloaded) = gate.hup_expect_reloaded();
    generation += 1;
    load.wait_served_by("node3", reloaded, EFFECT);
    load.wait_more(SETTLE, EFFECT);
    let (after, answered) = status_with_counts(&gate, &load, &["node1", "node2"]);
    assert_loaded(&after, generation, asked, "(a) node3 added");
    assert_eq!(
        members(&after),
        ["node1", "node2", "node3"],
        "{}",
        after.text()
    );
    assert_eq!(
        after.req("worker.node3.port"),
        cluster.node("node3").ajp_port().to_string()
    );
    assert_counters_kept(&before, &after, &answered, "(a) node3 added");
    load.assert_no_failures("(a) node3 added", || tail(&gate.error_log(), 40));

    // --- (b) SIGHUP removes node2 while node2 serves a slow request. ---
    let port = gate.port;
    let in_flight = std::thread::spawn(move || {
        http_request(
            port,
            "GET",
            "/app/echo?sleep=6000&mark=inflight-b",
            &[("Cookie", "JSESSIONID=inflight.node2")],
            b"",
        )
    });
    let deadline = Instant::now() + EFFECT;
    while !cluster
        .node("node2")
        .marks()
        .iter()
        .any(|m| m == "inflight-b")
    {
        assert!(
            Instant::now() < deadline && !in_flight.is_finished(),
            "the slow request never reached node2"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (before, _) = status_with_counts(&gate, &load, &[]);
    layout.members = vec!["node1", "node3"];
    write_layout(&gate, &cluster, &layout);
    let asked = unix_now();
    let (_, reloaded) = gate.hup_expect_reloaded();
    generation += 1;
    assert!(
        !in_flight.is_finished(),
        "the slow request (6 s on node2) ended before the reload was done; the reload took too long to prove anything about requests in flight"
    );
    let reply = in_flight
        .join()
        .expect("in-flight request thread")
        .unwrap_or_else(|e| {
            panic!(
                "the request in flight during the reload failed: {e}\n{}",
                tail(&gate.error_log(), 40)
            )
        });
    assert_eq!(
        reply.status,
        200,
        "the request in flight on node2 during its removal: {}",
        reply.text()
    );
    assert_eq!(
        reply.kv().req("node"),
        "node2",
        "the request in flight finished on node2"
    );
    load.wait_served_by("node1", reloaded, EFFECT);
    load.wait_served_by("node3", reloaded, EFFECT);
    load.wait_more(SETTLE, EFFECT);
    let node2_last = load.node("node2").expect("node2 answered before").last_sent;
    assert!(
        node2_last < reloaded,
        "node2 answered a request sent {:?} after the reload removed it",
        node2_last.duration_since(reloaded)
    );
    let kv = gate.get_ok("/app/echo", &[("Cookie", "JSESSIONID=gone.node2")]);
    assert!(
        ["node1", "node3"].contains(&kv.req("node")),
        "a session of the removed node2 fails over to a member, not {}",
        kv.req("node")
    );
    let (after, answered) = status_with_counts(&gate, &load, &["node1", "node3"]);
    assert_loaded(&after, generation, asked, "(b) node2 removed");
    assert_eq!(members(&after), ["node1", "node3"], "{}", after.text());
    assert!(
        !after.has_prefix("worker.node2."),
        "node2 is gone:\n{}",
        after.text()
    );
    assert_counters_kept(&before, &after, &answered, "(b) node2 removed");
    load.assert_no_failures("(b) node2 removed", || tail(&gate.error_log(), 40));

    // --- (c) SIGHUP changes node3's lbfactor and adds two mounts. ---
    assert_eq!(after.req("worker.node3.lbfactor"), "1", "{}", after.text());
    let (before, _) = status_with_counts(&gate, &load, &[]);
    layout.node3_lbfactor = Some(3);
    layout.static_mount = true;
    layout.upload_mount = true;
    write_layout(&gate, &cluster, &layout);
    let asked = unix_now();
    gate.hup_expect_reloaded();
    generation += 1;
    let reply = gate.get("/app/static/1k.bin", &[]);
    assert_eq!(
        reply.status,
        200,
        "/app/static/* is mounted (mount file): {}",
        reply.text()
    );
    assert!(
        reply.body == pattern_bytes(1024),
        "/app/static/1k.bin: wrong body"
    );
    let kv = gate.get_ok("/app/upload", &[]);
    assert!(
        ["node1", "node3"].contains(&kv.req("node")),
        "/app/upload (jkgate.ini [mounts]) answered by {}",
        kv.req("node")
    );
    load.wait_more(SETTLE, EFFECT);
    let (after, answered) = status_with_counts(&gate, &load, &["node1"]);
    assert_loaded(&after, generation, asked, "(c) lbfactor and mounts");
    assert_eq!(after.req("worker.node3.lbfactor"), "3", "{}", after.text());
    assert_eq!(after.req("worker.node1.lbfactor"), "1", "{}", after.text());
    assert_eq!(members(&after), ["node1", "node3"], "{}", after.text());
    assert_counters_kept(&before, &after, &answered, "(c) lbfactor and mounts");
    load.assert_no_failures("(c) lbfactor and mounts", || tail(&gate.error_log(), 40));
    let good = layout.clone();

    // --- (d) SIGHUP with a broken workers.properties changes nothing. ---
    let (before, _) = status_with_counts(&gate, &load, &[]);
    let loaded_before = before.num("worker.config_loaded");
    let broken = Layout {
        members: vec!["node3"], // would drop node1, if anything of this file applied
        typo: true,
        ..good.clone()
    };
    let typo_line = write_layout(&gate, &cluster, &broken).expect("a typo line");
    let (line, failed_at) = gate.hup_expect_failed();
    let place = format!("workers.properties:{typo_line}");
    assert!(
        line.contains(&place),
        "the `reload failed` line names the file and line of the problem ({place}): {line}"
    );
    load.wait_served_by("node1", failed_at, EFFECT);
    load.wait_served_by("node3", failed_at, EFFECT);
    load.wait_more(SETTLE, EFFECT);
    let reply = gate.get("/app/static/1k.bin", &[]);
    assert_eq!(
        reply.status,
        200,
        "the mounts stay after a failed reload: {}",
        reply.text()
    );
    let (after, answered) = status_with_counts(&gate, &load, &["node1", "node3"]);
    assert_eq!(
        after.get("worker.config_reload"),
        Some("ERROR"),
        "the status says the last reload failed:\n{}",
        after.text()
    );
    let message = after.req("worker.config_reload_error");
    assert!(
        message.contains("workers.properties"),
        "worker.config_reload_error names the file: {message}"
    );
    assert_eq!(
        after.num("worker.config_generation"),
        generation,
        "a failed reload does not count as a generation:\n{}",
        after.text()
    );
    assert_eq!(
        after.num("worker.config_loaded"),
        loaded_before,
        "a failed reload leaves config_loaded"
    );
    assert_eq!(
        members(&after),
        ["node1", "node3"],
        "the previous members stay:\n{}",
        after.text()
    );
    assert_eq!(after.req("worker.node3.lbfactor"), "3", "{}", after.text());
    assert_counters_kept(&before, &after, &answered, "(d) broken workers.properties");
    load.assert_no_failures("(d) broken workers.properties", || {
        tail(&gate.error_log(), 40)
    });

    // The file fixed (the same configuration as before the broken one): SIGHUP works.
    let (before, _) = status_with_counts(&gate, &load, &[]);
    write_layout(&gate, &cluster, &good);
    let asked = unix_now();
    gate.hup_expect_reloaded();
    generation += 1;
    load.wait_more(SETTLE, EFFECT);
    let (after, answered) = status_with_counts(&gate, &load, &["node1", "node3"]);
    assert_loaded(&after, generation, asked, "(d) fixed");
    assert_eq!(
        after.get("worker.config_reload"),
        Some("OK"),
        "{}",
        after.text()
    );
    assert_eq!(members(&after), ["node1", "node3"], "{}", after.text());
    assert_counters_kept(&before, &after, &answered, "(d) fixed");
    load.assert_no_failures("(d) fixed", || tail(&gate.error_log(), 40));

    // --- (e) SIGHUP swaps the TLS certificate (the same file names, new contents). ---
    let (cert, _) = tls_probe(&gate, &pki, &client_tls);
    assert_eq!(cert, "A", "before the swap");
    assert!(
        load.cert(&pki.a.der).is_some_and(|t| t.count > 0),
        "the HTTPS load saw certificate A"
    );
    let (before, _) = status_with_counts(&gate, &load, &[]);
    gate.write("server.pem", &pki.b.cert_pem);
    gate.write("server.key", &pki.b.key_pem);
    let asked = unix_now();
    let (_, reloaded) = gate.hup_expect_reloaded();
    generation += 1;
    let (cert, kv) = tls_probe(&gate, &pki, &client_tls);
    assert_eq!(
        cert, "B",
        "a new HTTPS connection after the reload gets the new certificate"
    );
    assert_eq!(kv.req("secure"), "true");
    load.wait_cert_after(&pki.b.der, reloaded, EFFECT);
    load.wait_more(SETTLE, EFFECT);
    let a_last = load
        .cert(&pki.a.der)
        .expect("certificate A was seen")
        .last_opened;
    assert!(
        a_last < reloaded,
        "an HTTPS connection opened {:?} after the reload was served the old certificate",
        a_last.duration_since(reloaded)
    );
    let (after, answered) = status_with_counts(&gate, &load, &["node1", "node3"]);
    assert_loaded(&after, generation, asked, "(e) certificate swapped");
    assert_counters_kept(&before, &after, &answered, "(e) certificate swapped");

    // --- The end: the same process, not one failed request. ---
    gate.assert_running("at the end");
    assert_eq!(gate.pid(), pid);
    let report = load.stop();
    let log = gate.error_log();
    assert!(
        report.failed == 0,
        "{} of {} requests failed; the first ones:\n{}\n--- jkgate error.log tail ---\n{}",
        report.failed,
        report.ok + report.failed,
        report.failures.join("\n"),
        tail(&log, 40)
    );
    for (thread, count) in &report.per_thread {
        assert!(*count > 0, "load thread {thread} completed no request");
    }
    assert_eq!(
        log.matches("configuration reloaded").count(),
        5,
        "five successful reloads:\n{}",
        tail(&log, 40)
    );
    println!(
        "reload test: {} requests through jkgate during 6 reloads, 0 failed; per member {:?}; per client {:?}; server-closed keep-alive connections {}; Tomcat boot {:.1} s, total {:.1} s",
        report.ok,
        report.nodes,
        report.per_thread,
        report.reconnects,
        tomcat_boot.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
}
