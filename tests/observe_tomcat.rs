//! Seeing the cluster on real Tomcat 10.1 behind `jkgate run`: the Prometheus metrics on a
//! loopback listener of their own (checked by `promtool check metrics`, values following
//! the traffic, a refused replay and a failover), the access log's routes after a failover
//! (`%R` the route used, `%F` the first one tried), and where a session would go now
//! (`cmd=route`, `jkgate route`), answered from the live state without side effects.
#![cfg(feature = "interop")]

#[path = "support/gate.rs"]
mod gate;
#[path = "support/reload.rs"]
mod reload;
#[path = "support/tomcat.rs"]
mod tomcat;

use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reload::ConfGate;
use tomcat::{TomcatCluster, TomcatOptions, free_port, http_request};

/// The cluster's workers.properties with a status worker `jkstatus`.
fn workers(cluster: &TomcatCluster) -> String {
    cluster
        .workers_properties("lb")
        .replace("worker.list=lb\n", "worker.list=lb,jkstatus\n")
        + "worker.jkstatus.type=status\nworker.lb.retry_interval=100\n"
}

/// `GET /metrics` on `port`: 200 in Prometheus' text format (what promtool reads); the
/// same numbers in OpenMetrics for a scraper that asks for it (as Prometheus does).
fn scrape(port: u16) -> String {
    let reply = http_request(port, "GET", "/metrics", &[], b"").expect("metrics answer");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let accept = [(
        "Accept",
        "application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
    )];
    let open = http_request(port, "GET", "/metrics", &accept, b"").expect("metrics answer");
    assert_eq!(
        open.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    let open = open.text();
    assert!(open.ends_with("# EOF\n"), "{open}");
    assert!(
        open.contains("# TYPE jkgate_member_requests counter"),
        "{open}"
    );
    reply.text()
}

/// The value of the series `name{labels...}` (every given label must match).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = series.split_once('{').unwrap_or((series, ""));
        if series_name == name
            && labels
                .iter()
                .all(|(k, v)| series_labels.contains(&format!("{k}=\"{v}\"")))
        {
            return value.parse().expect("a number");
        }
    }
    panic!("no sample {name}{labels:?} in:\n{text}");
}

fn member(text: &str, name: &str, node: &str) -> f64 {
    sample(text, name, &[("worker", "lb"), ("member", node)])
}

/// `promtool check metrics` (Debian's prometheus package) accepts `text`.
fn promtool_check(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package prometheus)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool ends");
    assert!(
        out.status.success(),
        "promtool check metrics refused the output ({}):\n{}{}\n--- metrics ---\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A session created on `node` through jkgate.
fn session_on(gate: &ConfGate, node: &str) -> String {
    for _ in 0..30 {
        let kv = gate.get_ok("/app/session", &[]);
        if kv.req("node") == node {
            return kv.req("sessionId").to_owned();
        }
    }
    panic!("no session landed on {node}");
}

/// The `cmd=route` answer for `sid` on lb `lb`, as JSON.
fn route(gate: &ConfGate, sid: &str) -> serde_json::Value {
    let reply = gate.get(
        &format!("/jkstatus?cmd=route&mime=json&w=lb&sid={sid}"),
        &[],
    );
    assert_eq!(reply.status, 200);
    let doc: serde_json::Value = serde_json::from_str(&reply.text()).expect("JSON");
    assert_eq!(doc["result"]["type"], "OK", "{doc}");
    doc["routes"][0].clone()
}

/// The access log line of the request marked `mark` (waits for it, 10 s at most).
fn access_line(gate: &ConfGate, mark: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = std::fs::read_to_string(gate.dir.join("access.log")).unwrap_or_default();
        if let Some(line) = log.lines().find(|l| l.contains(&format!("mark={mark}"))) {
            return line.to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no access log line for {mark}:\n{log}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn metrics_routes_and_access_log_follow_traffic_and_failover() {
    let mut cluster = TomcatCluster::start(2, TomcatOptions::default());
    let metrics_port = free_port();
    let properties = workers(&cluster);
    let gate = ConfGate::start("observe", false, |g| {
        g.write(
            "jkgate.ini",
            format!(
                "Listen = 127.0.0.1:{}\nMetricsListen = 127.0.0.1:{metrics_port}\n\
                 AccessLog = access.log\nJkRequestLogFormat = %s %U%q %w sid=%S used=%R first=%F node=%N\n\
                 [mounts]\n/app/* = lb\n/jkstatus = jkstatus\n",
                g.port
            ),
        );
        g.write("workers.properties", &properties);
    });

    // Only the metrics listener serves them, and nothing else.
    assert_eq!(gate.get("/metrics", &[]).status, 404);
    let other = http_request(metrics_port, "GET", "/app/echo", &[], b"").expect("answer");
    assert_eq!(other.status, 404);
    let before = scrape(metrics_port);
    promtool_check(&before);
    for node in ["node1", "node2"] {
        assert_eq!(member(&before, "jkgate_member_requests_total", node), 0.0);
        let idle = [("worker", "lb"), ("member", node), ("state", "OK/IDLE")];
        assert_eq!(sample(&before, "jkgate_member_state", &idle), 1.0);
        let act = [("worker", "lb"), ("member", node), ("activation", "ACT")];
        assert_eq!(sample(&before, "jkgate_member_activation", &act), 1.0);
        let na = [("worker", "lb"), ("member", node), ("health", "N/A")];
        assert_eq!(sample(&before, "jkgate_member_health", &na), 1.0);
    }

    // Traffic: the counters move by what each node answered.
    let mut answered: HashMap<String, f64> = HashMap::new();
    for i in 0..12 {
        let kv = gate.get_ok(&format!("/app/echo?mark=m{i}"), &[]);
        *answered.entry(kv.req("node").to_owned()).or_default() += 1.0;
    }
    let after = scrape(metrics_port);
    promtool_check(&after);
    for node in ["node1", "node2"] {
        let served = answered.get(node).copied().unwrap_or(0.0);
        assert!(served > 0.0, "{node} served nothing: {answered:?}");
        assert_eq!(member(&after, "jkgate_member_requests_total", node), served);
        assert_eq!(
            member(&after, "jkgate_member_response_seconds_count", node),
            served
        );
        assert!(member(&after, "jkgate_member_response_seconds_sum", node) > 0.0);
        assert!(member(&after, "jkgate_member_sent_bytes_total", node) > 0.0);
        assert!(member(&after, "jkgate_member_received_bytes_total", node) > 0.0);
        assert!(member(&after, "jkgate_member_connections", node) >= 1.0);
        assert_eq!(member(&after, "jkgate_member_busy", node), 0.0);
        let ok = [("worker", "lb"), ("member", node), ("state", "OK")];
        assert_eq!(sample(&after, "jkgate_member_state", &ok), 1.0);
    }
    assert_eq!(
        sample(&after, "jkgate_lb_members", &[("worker", "lb")]),
        2.0
    );

    // Where sessions go, asked of the live gateway (status worker and CLI).
    let sid1 = session_on(&gate, "node1");
    let sid2 = session_on(&gate, "node2");
    let answer = route(&gate, &sid1);
    assert_eq!(
        (
            answer["member"].as_str(),
            answer["reason"].as_str(),
            answer["sticky"].as_bool()
        ),
        (Some("node1"), Some("session_route"), Some(true)),
        "{answer}"
    );
    let cli = Command::new(env!("CARGO_BIN_EXE_jkgate"))
        .args(["route", "--status-url"])
        .arg(format!("http://127.0.0.1:{}/jkstatus", gate.port))
        .arg(&sid2)
        .output()
        .expect("jkgate route runs");
    let said = String::from_utf8_lossy(&cli.stdout).into_owned();
    assert!(
        cli.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert!(
        said.contains("-> member node2 (route node2, ACT OK"),
        "{said}"
    );

    // A POST with a body cut by the death of its member is not replayed: a refused replay.
    let cookie2 = format!("JSESSIONID={sid2}");
    let body = vec![b'x'; 2000];
    let cut = gate::cut_by_kill(
        gate.port,
        &mut cluster,
        "node2",
        &sid2,
        ("POST", &body),
        "cut1",
    );
    assert!(cut.reply.status >= 500, "{}", cut.reply.status);
    let line = access_line(&gate, "cut1");
    assert!(line.contains("used=node2 first=node2 node=node2"), "{line}");
    let cut_metrics = scrape(metrics_port);
    promtool_check(&cut_metrics);
    assert_eq!(
        member(&cut_metrics, "jkgate_member_refused_replays_total", "node2"),
        1.0
    );
    assert_eq!(
        member(&cut_metrics, "jkgate_member_failovers_total", "node2"),
        0.0
    );
    assert!(member(&cut_metrics, "jkgate_member_errors_total", "node2") >= 1.0);
    let err = [("worker", "lb"), ("member", "node2"), ("state", "ERR")];
    assert_eq!(sample(&cut_metrics, "jkgate_member_state", &err), 1.0);

    // node2 in ERR: its session would go to node1, and the answer says why.
    let answer = route(&gate, &sid2);
    assert_eq!(answer["member"], "node1", "{answer}");
    assert_eq!(answer["reason"], "balanced");
    let why = answer["why"].as_str().unwrap();
    assert!(why.contains("node2") && why.contains("ERR"), "{why}");

    // Marked for recovery: the next request for its session probes it. Asking does not.
    let recover = gate.get("/jkstatus?cmd=recover&mime=txt&w=lb&sw=node2", &[]);
    assert!(recover.text().contains("type=OK"), "{}", recover.text());
    for _ in 0..3 {
        let answer = route(&gate, &sid2);
        assert_eq!(answer["member"], "node2", "{answer}");
        assert_eq!(answer["state"], "ERR/REC");
    }
    assert_eq!(gate.status_prop().req("worker.node2.state"), "ERR/REC");

    // The probe finds node2 dead: the request fails over to node1, and the access log
    // says which route was used and which was tried first.
    let kv = gate.get_ok("/app/echo?mark=fo1", &[("Cookie", &cookie2)]);
    assert_eq!(kv.req("node"), "node1");
    let line = access_line(&gate, "fo1");
    assert!(
        line.contains(&format!("sid={sid2} used=node1 first=node2 node=node1")),
        "{line}"
    );
    let failed_over = scrape(metrics_port);
    promtool_check(&failed_over);
    assert_eq!(
        member(&failed_over, "jkgate_member_failovers_total", "node2"),
        1.0
    );
    assert_eq!(
        member(&failed_over, "jkgate_member_refused_replays_total", "node2"),
        1.0
    );
    assert_eq!(
        member(&failed_over, "jkgate_member_requests_total", "node1"),
        member(&cut_metrics, "jkgate_member_requests_total", "node1") + 1.0
    );
}
