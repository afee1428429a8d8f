//! Application health checks over AJP on real Tomcat 10.1: `[healthcheck lb]` requests
//! `/app/health` on every member; a node whose application answers 500 (its connector still
//! answers CPING) leaves the rotation — balanced and sticky requests alike — shows
//! `health=DOWN` in every status format and in the metrics, keeps its mod_jk state, and
//! comes back when the page answers 200 again. A reload without the section stops the
//! checks and the member is unchecked again.
#![cfg(feature = "interop")]

#[path = "support/gate.rs"]
mod gate;
#[path = "support/reload.rs"]
mod reload;
#[path = "support/tomcat.rs"]
mod tomcat;

use std::time::{Duration, Instant};

use reload::ConfGate;
use tomcat::{TomcatCluster, TomcatOptions};

fn workers(cluster: &TomcatCluster) -> String {
    cluster
        .workers_properties("lb")
        .replace("worker.list=lb\n", "worker.list=lb,jkstatus\n")
        + "worker.jkstatus.type=status\n"
}

fn ini(port: u16, checks: bool) -> String {
    let mut text = format!(
        "Listen = 127.0.0.1:{port}\nMetricsPath = /metrics\n\
         [mounts]\n/app/* = lb\n/jkstatus = jkstatus\n"
    );
    if checks {
        text.push_str(
            "[healthcheck lb]\nUri = /app/health?probe=1\nInterval = 1\nTimeout = 900ms\n\
             ExpectStatus = 200\nExpectBody = health=UP\nRise = 2\nFall = 2\n",
        );
    }
    text
}

/// Waits (20 s at most) until the status worker says `node` has health `health`.
fn wait_health(gate: &ConfGate, node: &str, health: &str) -> Duration {
    let started = Instant::now();
    loop {
        let props = gate.status_prop();
        if props.get(&format!("worker.{node}.health")) == Some(health) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{node} never became {health}:\n{}\n--- log ---\n{}",
            props.text(),
            gate::tail(&gate.error_log(), 30)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn session_on(gate: &ConfGate, node: &str) -> String {
    for _ in 0..30 {
        let kv = gate.get_ok("/app/session", &[]);
        if kv.req("node") == node {
            return kv.req("sessionId").to_owned();
        }
    }
    panic!("no session landed on {node}");
}

#[test]
fn a_member_whose_application_fails_leaves_the_rotation_and_returns() {
    let cluster = TomcatCluster::start(2, TomcatOptions::default());
    let properties = workers(&cluster);
    let mut gate = ConfGate::start("health", false, |g| {
        g.write("jkgate.ini", ini(g.port, true));
        g.write("workers.properties", &properties);
    });
    wait_health(&gate, "node1", "UP");
    wait_health(&gate, "node2", "UP");
    let sid2 = session_on(&gate, "node2");
    let cookie2 = format!("JSESSIONID={sid2}");

    // node2's application fails; its connector is fine (CPING answers).
    let set = cluster.node("node2").http_get("/app/health?set=500");
    assert_eq!(set.status, 200, "{}", set.text());
    tomcat::ajp_cping(cluster.node("node2").ajp_port(), Duration::from_secs(2))
        .expect("node2's connector answers CPING");
    let took = wait_health(&gate, "node2", "DOWN");
    // Fall = 2 at Interval = 1 s.
    assert!(took <= Duration::from_secs(5), "DOWN after {took:?}");
    eprintln!("node2 DOWN {took:?} after its page started answering 500");
    let log = gate.error_log();
    assert!(
        log.contains("health check: member DOWN") && log.contains("status 500"),
        "{}",
        gate::tail(&log, 20)
    );

    // Out of the rotation: nothing reaches node2, not even its own session.
    let before = cluster.node("node2").marks().len();
    for i in 0..10 {
        let kv = gate.get_ok(&format!("/app/echo?mark=h{i}"), &[]);
        assert_eq!(kv.req("node"), "node1");
    }
    let kv = gate.get_ok("/app/echo?mark=sticky", &[("Cookie", &cookie2)]);
    assert_eq!(kv.req("node"), "node1");
    assert_eq!(cluster.node("node2").marks().len(), before);

    // Every format shows it; its mod_jk state is not ERR (no request failed there).
    let props = gate.status_prop();
    assert_eq!(props.req("worker.node2.health"), "DOWN");
    assert_eq!(props.req("worker.node1.health"), "UP");
    assert!(
        props.req("worker.node2.state").starts_with("OK"),
        "{}",
        props.text()
    );
    assert_eq!(props.req("worker.lb.bad"), "1");
    let txt = gate.get("/jkstatus?mime=txt", &[]).text();
    assert!(
        txt.contains("name=node2") && txt.contains("health=DOWN"),
        "{txt}"
    );
    let xml = gate.get("/jkstatus?mime=xml", &[]).text();
    assert!(xml.contains("health=\"DOWN\""), "{xml}");
    let html = gate.get("/jkstatus", &[]).text();
    assert!(html.contains("health DOWN"), "{html}");
    let json: serde_json::Value =
        serde_json::from_str(&gate.get("/jkstatus?mime=json", &[]).text()).expect("JSON");
    let members = json["balancers"][0]["members"]
        .as_array()
        .expect("members")
        .clone();
    let node2 = members
        .iter()
        .find(|m| m["name"] == "node2")
        .expect("node2");
    assert_eq!(node2["health"], "DOWN");
    let metrics = gate.get("/metrics", &[]).text();
    assert!(
        metrics.contains(r#"jkgate_member_health{worker="lb",member="node2",health="DOWN"} 1"#),
        "{metrics}"
    );
    // Where would its session go? To node1, and why.
    let route: serde_json::Value = serde_json::from_str(
        &gate
            .get(&format!("/jkstatus?cmd=route&mime=json&sid={sid2}"), &[])
            .text(),
    )
    .expect("JSON");
    let answer = &route["routes"][0];
    assert_eq!(answer["member"], "node1", "{route}");
    let why = answer["why"].as_str().unwrap();
    assert!(
        why.contains("node2") && why.contains("health DOWN"),
        "{why}"
    );

    // The application recovers: back after Rise passes, sticky again.
    cluster.node("node2").http_get("/app/health?set=200");
    let took = wait_health(&gate, "node2", "UP");
    eprintln!("node2 UP {took:?} after its page answered 200 again");
    let kv = gate.get_ok("/app/echo?mark=back", &[("Cookie", &cookie2)]);
    assert_eq!(kv.req("node"), "node2");
    assert!(gate.error_log().contains("member UP again"));

    // A reload without the section: checks stop, the member is unchecked.
    cluster.node("node2").http_get("/app/health?set=500");
    wait_health(&gate, "node2", "DOWN");
    let port = gate.port;
    gate.write("jkgate.ini", ini(port, false));
    gate.hup_expect_reloaded();
    wait_health(&gate, "node2", "N/A");
    let kv = gate.get_ok("/app/echo?mark=unchecked", &[("Cookie", &cookie2)]);
    assert_eq!(kv.req("node"), "node2");
    let mark = gate.log_mark();
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !gate.log_since(mark).contains("health check"),
        "checks still run after the reload:\n{}",
        gate.log_since(mark)
    );
}
