//! The status worker end to end, with no system package: jkgate in-process with an lb over
//! embedded AJP13 backends, a plain ajp13 worker and status workers mounted next to them.
//! Every command and format, every update parameter (with requests proving that routing
//! changed), read-only mode, users, and hostile parameters.
#![cfg(feature = "proxy")]

#[path = "support/client.rs"]
mod client;
#[path = "support/in_process.rs"]
mod in_process;

use jkgate::config::htpasswd::{Credential, StatusUser};
use std::collections::HashMap;
use std::net::SocketAddr;

use client::{Client, Reply, get};
use in_process::Running;
use jkgate::ajp::PacketSize;
use jkgate::app::assemble;
use jkgate::demo::EmbeddedBackend;
use jkgate::status::{Generation, StatusRequest};

/// `alice:secret` and `bob:builder`.
const ALICE: &str = "Basic YWxpY2U6c2VjcmV0";
const BOB: &str = "Basic Ym9iOmJ1aWxkZXI=";
const ALICE_WRONG: &str = "Basic YWxpY2U6U2VjcmV0";

fn users() -> Vec<StatusUser> {
    [("alice", "secret"), ("bob", "builder")]
        .into_iter()
        .map(|(name, password)| StatusUser {
            name: name.to_owned(),
            credential: Credential::Plain(password.to_owned()),
            origin: None,
        })
        .collect()
}

/// jkgate with `properties`, the given mounts, and `[status_users]` alice and bob.
async fn gate(properties: &str, mounts: &[&str]) -> Running {
    let mut settings = in_process::settings(properties, mounts);
    settings.status_users = users();
    in_process::start(settings).await
}

async fn backends(routes: &[&str]) -> Vec<EmbeddedBackend> {
    let mut all = Vec::new();
    for route in routes {
        all.push(
            EmbeddedBackend::start(route, PacketSize::DEFAULT)
                .await
                .expect("backend"),
        );
    }
    all
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `worker.list=jkstatus,lb,solo` (+ `extra_list`): lb `lb` over `members` (name, port),
/// plain ajp13 worker `solo` at `solo_port`, status worker `jkstatus`, then `extra`.
fn setup(members: &[(&str, u16)], solo_port: u16, extra_list: &str, extra: &str) -> String {
    let names: Vec<&str> = members.iter().map(|(n, _)| *n).collect();
    let mut text = format!(
        "worker.list=jkstatus,lb,solo{extra_list}\nworker.jkstatus.type=status\n\
         worker.lb.type=lb\nworker.lb.retry_interval=10\nworker.lb.balance_workers={}\n\
         worker.solo.type=ajp13\nworker.solo.host=127.0.0.1\nworker.solo.port={solo_port}\n\
         worker.solo.secret=hush\n",
        names.join(",")
    );
    for (name, port) in members {
        text.push_str(&format!(
            "worker.{name}.type=ajp13\nworker.{name}.host=127.0.0.1\nworker.{name}.port={port}\n\
             worker.{name}.retry_interval=10\n"
        ));
    }
    text.push_str(extra);
    text
}

const MOUNTS: &[&str] = &["/jkstatus=jkstatus", "/app/*=lb", "/solo=solo"];

/// Two live members `node1`, `node2` and `solo`; the backends stay alive with the result.
async fn two_nodes(
    extra_list: &str,
    extra: &str,
    mounts: &[&str],
) -> (Running, Vec<EmbeddedBackend>) {
    let all = backends(&["node1", "node2", "solo"]).await;
    let members = [("node1", all[0].addr.port()), ("node2", all[1].addr.port())];
    let server = gate(
        &setup(&members, all[2].addr.port(), extra_list, extra),
        mounts,
    )
    .await;
    (server, all)
}

async fn status(addr: SocketAddr, query: &str) -> Reply {
    let reply = get(addr, &format!("/jkstatus?{query}"), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply
}

/// `key=value` lines of a `mime=prop` answer, in order.
fn props(reply: &Reply) -> Vec<(String, String)> {
    reply
        .text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

async fn prop(addr: SocketAddr, query: &str) -> Vec<(String, String)> {
    let reply = status(addr, &format!("mime=prop&{query}")).await;
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    props(&reply)
}

fn value<'a>(props: &'a [(String, String)], key: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

fn values<'a>(props: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    props
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The result record of a `txt` answer.
fn txt_result(reply: &Reply) -> String {
    reply
        .text()
        .lines()
        .find(|l| l.starts_with("Result: "))
        .unwrap_or("<no result>")
        .to_owned()
}

async fn txt(addr: SocketAddr, query: &str) -> Reply {
    status(addr, &format!("mime=txt&{query}")).await
}

fn ok() -> String {
    "Result: type=OK message=\"Action finished\"".to_owned()
}

fn error(message: &str) -> String {
    format!("Result: type=ERROR message=\"{message}\"")
}

/// Sends `n` requests to the lb (with `headers`) and counts the answering routes.
async fn spread(addr: SocketAddr, n: usize, headers: &[(&str, &str)]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for i in 0..n {
        let reply = get(addr, &format!("/app/x{i}"), headers).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        *counts
            .entry(reply.line("route").expect("echo names its route"))
            .or_insert(0) += 1;
    }
    counts
}

fn count(counts: &HashMap<String, usize>, route: &str) -> usize {
    counts.get(route).copied().unwrap_or(0)
}

// ---- formats ----------------------------------------------------------------------

#[tokio::test]
async fn list_in_txt_has_every_record_in_mod_jk_order() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let reply = txt(server.addr, "").await;
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    assert_eq!(reply.header("pragma"), Some("no-cache"));
    let text = reply.text();
    let kinds: Vec<&str> = text
        .lines()
        .map(|l| l.split(':').next().unwrap_or_default())
        .collect();
    assert_eq!(
        kinds,
        [
            "Server",
            "Time",
            "Software",
            "Config Generation",
            "Balancer Workers",
            "Balancer Worker",
            "Member",
            "Member",
            "Map",
            "AJP Workers",
            "AJP Worker",
            "Map",
            "Result"
        ],
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Server: name=test.example port={}\n",
            server.addr.port()
        )),
        "{text}"
    );
    assert!(text.contains("Balancer Workers: count=1\n"), "{text}");
    let lb = text
        .lines()
        .find(|l| l.starts_with("Balancer Worker:"))
        .unwrap();
    assert!(
        lb.starts_with(
            "Balancer Worker: name=lb type=lb sticky_session=True sticky_session_force=False \
             retries=2 recover_time=60 error_escalation_time=30 max_reply_timeouts=0 \
             method=Request lock=Optimistic member_count=2 good=2 degraded=0 bad=0 busy=0 \
             max_busy=0 map_count=1 time_to_maintenance_min="
        ),
        "{lb}"
    );
    let member = text.lines().find(|l| l.starts_with("Member:")).unwrap();
    assert!(
        member.contains(
            "type=ajp13 host=127.0.0.1 port=" // then the port
        ) && member.contains(
            " source=undefined connection_pool_timeout=0 ping_timeout=10000 connect_timeout=0 \
             prepost_timeout=0 reply_timeout=0 retries=2 connection_ping_interval=0 \
             recovery_options=0 busy_limit=0 max_packet_size=8192 activation=ACT lbfactor=1 \
             route=\"node1\" redirect=\"\" domain=\"\" distance=0 state=OK/IDLE health=N/A lbmult=1 \
             lbvalue=0 \
             elected=0 sessions=0 errors=0 client_errors=0 reply_timeouts=0 transferred=0 read=0 \
             busy=0 max_busy=0 connected=0 max_connected=0 time_to_recover_min=0 \
             time_to_recover_max=0 last_reset_at="
        ),
        "{member}"
    );
    assert!(
        text.contains(
            "Map: id=1 server=\"test.example\" uri=\"/app/*\" type=\"Wildchar\" source=\"JkMount\" \
             reply_timeout=\"-1\" sticky_ignore=\"0\" stateless=\"0\" fail_on_status=\"\" active=\"\" \
             disabled=\"\" stopped=\"\" use_server_errors=\"0\"\n"
        ),
        "{text}"
    );
    let ajp = text.lines().find(|l| l.starts_with("AJP Worker:")).unwrap();
    assert!(
        ajp.starts_with("AJP Worker: name=solo type=ajp13 host=127.0.0.1")
            && ajp.contains(" used=0 errors=0 client_errors=0")
            && ajp.contains(" map_count=1 last_reset_at="),
        "{ajp}"
    );
    assert!(text.ends_with(&format!("{}\n", ok())), "{text}");
    // Status workers themselves are not listed.
    assert!(!text.contains("jkstatus"), "{text}");
}

#[tokio::test]
async fn prop_output_keeps_mod_jk_quirks() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let p = prop(server.addr, "").await;
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        &keys[..11],
        [
            "worker.server_name",
            "worker.server_port",
            "worker.time_datetime",
            "worker.time_tz",
            "worker.time_unix",
            "worker.web_server",
            "worker.jk_version",
            // jkgate's own: which configuration runs and how the last reload went.
            "worker.config_generation",
            "worker.config_loaded",
            "worker.config_reload",
            "worker.lb_count"
        ]
    );
    assert_eq!(value(&p, "worker.config_generation"), Some("1"));
    assert_eq!(value(&p, "worker.config_reload"), Some("OK"));
    assert_eq!(value(&p, "worker.list"), Some("lb"));
    assert_eq!(value(&p, "worker.lb.type"), Some("lb"));
    assert_eq!(values(&p, "worker.lb.balance_workers"), ["node1", "node2"]);
    assert_eq!(value(&p, "worker.node2.state"), Some("OK/IDLE"));
    assert_eq!(value(&p, "worker.node2.route"), Some("node2"));
    // A member's reset time is keyed by the lb: once for the lb, once per member.
    assert_eq!(values(&p, "worker.lb.last_reset_at").len(), 3);
    assert_eq!(value(&p, "worker.node1.last_reset_at"), None);
    // The member record ends with time_to_recover_max, then the lb-keyed reset keys.
    let at = keys
        .iter()
        .position(|k| *k == "worker.node1.time_to_recover_max")
        .unwrap();
    assert_eq!(
        &keys[at + 1..at + 4],
        [
            "worker.lb.last_reset_at",
            "worker.lb.last_reset_ago",
            "worker.lb.balance_workers"
        ]
    );
    assert_eq!(value(&p, "worker.lb.map.1.uri"), Some("/app/*"));
    assert_eq!(value(&p, "worker.lb.map.1.reply_timeout"), Some("-1"));
    assert_eq!(value(&p, "worker.ajp_count"), Some("1"));
    assert_eq!(value(&p, "worker.solo.list"), Some("solo"));
    assert_eq!(value(&p, "worker.solo.used"), Some("0"));
    assert_eq!(value(&p, "worker.solo.map.1.type"), Some("Exact"));
    assert_eq!(
        &keys[keys.len() - 2..],
        ["worker.result.type", "worker.result.message"]
    );
    assert_eq!(value(&p, "worker.result.message"), Some("Action finished"));
}

#[tokio::test]
async fn prop_prefix_and_xml_namespace_settings_apply() {
    let (server, _b) = two_nodes(
        "",
        "worker.jkstatus.prefix=jk\nworker.jkstatus.ns=-\nworker.jkstatus.xmlns=-\n\
         worker.jkstatus.doctype=<!DOCTYPE status>\n",
        MOUNTS,
    )
    .await;
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "jk.list"), Some("lb"));
    assert_eq!(value(&p, "jk.result.type"), Some("OK"));
    let xml = status(server.addr, "mime=xml").await.text();
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<!DOCTYPE status>\n<status\n>\n<server\n"
        ),
        "{xml}"
    );
    assert!(xml.ends_with("</status>\n"), "{xml}");
}

#[tokio::test]
async fn xml_has_mod_jk_elements_one_attribute_per_line() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let reply = status(server.addr, "mime=xml").await;
    assert_eq!(reply.header("content-type"), Some("text/xml"));
    let xml = reply.text();
    assert!(
        xml.starts_with(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<jk:status\n  \
             xmlns:jk=\"http://tomcat.apache.org\">\n<jk:server\n  name=\"test.example\"\n"
        ),
        "{xml}"
    );
    for needle in [
        "<jk:balancers\n  count=\"1\"\n>\n  <jk:balancer\n    name=\"lb\"\n    type=\"lb\"\n",
        "      <jk:member\n        name=\"node1\"\n",
        "        connection_ping_interval=\"0\"\n        retries=\"2\"\n",
        "      <jk:map\n        id=\"1\"\n",
        "  </jk:balancer>\n</jk:balancers>\n<jk:ajp_workers\n  count=\"1\"\n>\n  <jk:ajp\n    name=\"solo\"\n",
        "</jk:ajp_workers>\n  <jk:result\n    type=\"OK\"\n    message=\"Action finished\"\n  />\n</jk:status>\n",
    ] {
        assert!(xml.contains(needle), "missing {needle:?} in {xml}");
    }
    assert_eq!(xml.matches("<jk:member\n").count(), 2);
}

#[tokio::test]
async fn html_lists_lb_members_states_and_maps() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let reply = get(server.addr, "/jkstatus", &[]).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("text/html"));
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let html = reply.text();
    for needle in [
        "<title>JK Status Manager</title>",
        &format!(
            "<h1>JK Status Manager for test.example:{}</h1>",
            server.addr.port()
        ),
        "Listing Load Balancing Worker (1 Worker)",
        "Worker Status for lb</h3>",
        "<td>node1</td><td>ACT</td><td>OK/IDLE</td>",
        "<td>node2</td><td>ACT</td><td>OK/IDLE</td>",
        "URI Mappings for lb (1 maps)",
        "<td>/app/*</td><td>Wildchar</td><td>JkMount</td>",
        "Listing AJP Worker (1 Worker)",
        "Worker Status for solo</h3>",
        "<a href=\"/jkstatus?cmd=edit&amp;from=list&amp;w=lb&amp;sw=node1\">E</a>",
        "<h2>Legend [",
        "JK Status Manager Start Page",
        "</body>\n</html>\n",
    ] {
        assert!(html.contains(needle), "missing {needle:?} in {html}");
    }
    // opt bits hide parts.
    let hidden = get(server.addr, "/jkstatus?opt=4", &[]).await.text();
    assert!(!hidden.contains("<h2>Legend ["), "{hidden}");
    assert!(hidden.contains("Show Legend"), "{hidden}");
}

#[tokio::test]
async fn good_and_bad_rules_come_from_the_status_worker() {
    let (server, _b) = two_nodes(
        ",picky",
        "worker.picky.type=status\nworker.picky.good=a.o\nworker.picky.good=d\n\
         worker.picky.bad=i\n",
        &["/jkstatus=jkstatus", "/picky=picky", "/app/*=lb"],
    )
    .await;
    let rated = |reply: Reply| {
        let p = props(&reply);
        ["good", "degraded", "bad"].map(|k| {
            value(&p, &format!("worker.lb.{k}"))
                .unwrap_or_default()
                .to_owned()
        })
    };
    // Both idle: the default rules say good, these say bad (idle).
    assert_eq!(
        rated(prop_reply(server.addr, "/jkstatus").await),
        ["2", "0", "0"]
    );
    assert_eq!(
        rated(prop_reply(server.addr, "/picky").await),
        ["0", "0", "2"]
    );
    // node1 OK and node2 disabled: default good + degraded; here good (a.o) + good (d).
    spread(server.addr, 2, &[]).await;
    txt(server.addr, "cmd=update&w=lb&sw=node2&vwa=D").await;
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.state"), Some("OK"));
    assert_eq!(
        rated(prop_reply(server.addr, "/jkstatus").await),
        ["1", "1", "0"]
    );
    assert_eq!(
        rated(prop_reply(server.addr, "/picky").await),
        ["2", "0", "0"]
    );
}

async fn prop_reply(addr: SocketAddr, path: &str) -> Reply {
    let reply = get(addr, &format!("{path}?mime=prop"), &[]).await;
    assert_eq!(reply.status, 200);
    reply
}

#[tokio::test]
async fn opt_bits_hide_members_maps_lbs_and_ajp_workers_in_text() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let kinds = |reply: Reply| -> Vec<String> {
        reply
            .text()
            .lines()
            .map(|l| l.split(':').next().unwrap_or_default().to_owned())
            .filter(|k| {
                !matches!(
                    k.as_str(),
                    "Server" | "Time" | "Software" | "Config Generation" | "Result"
                )
            })
            .collect()
    };
    assert_eq!(
        kinds(txt(server.addr, "opt=1").await),
        [
            "Balancer Workers",
            "Balancer Worker",
            "Map",
            "AJP Workers",
            "AJP Worker",
            "Map"
        ]
    );
    assert_eq!(
        kinds(txt(server.addr, "opt=2").await),
        [
            "Balancer Workers",
            "Balancer Worker",
            "Member",
            "Member",
            "AJP Workers",
            "AJP Worker"
        ]
    );
    assert_eq!(
        kinds(txt(server.addr, "opt=8").await),
        ["AJP Workers", "AJP Worker", "Map"]
    );
    assert!(kinds(txt(server.addr, "opt=24").await).is_empty());
}

#[tokio::test]
async fn show_version_and_dump() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    // show one lb member: lb record, only that member, the lb's maps.
    let text = txt(server.addr, "cmd=show&w=lb&sw=node2").await.text();
    let kinds: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "Server",
            "Time",
            "Software",
            "Config Generation",
            "Balancer Worker",
            "Member",
            "Map",
            "Result"
        ],
        "{text}"
    );
    assert!(text.contains("Member: name=node2 "), "{text}");
    // show the ajp worker in prop.
    let p = prop(server.addr, "cmd=show&w=solo").await;
    assert_eq!(value(&p, "worker.solo.list"), Some("solo"));
    assert_eq!(value(&p, "worker.lb.type"), None);
    // show of a status worker shows nothing, successfully.
    let text = txt(server.addr, "cmd=show&w=jkstatus").await.text();
    assert_eq!(text.lines().count(), 5, "{text}");
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=show&w=jkstatus").await),
        ok()
    );
    // version: only the header.
    let text = txt(server.addr, "cmd=version").await.text();
    let kinds: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        kinds,
        ["Server", "Time", "Software", "Config Generation", "Result"]
    );
    assert!(text.contains("jk_version=jkgate/"), "{text}");
    // dump: the startup map, secrets left out.
    let text = txt(server.addr, "cmd=dump").await.text();
    assert!(
        text.contains("Configuration:\nworker.list=jkstatus,lb,solo\n"),
        "{text}"
    );
    assert!(text.contains("worker.solo.port="), "{text}");
    assert!(!text.contains("secret"), "{text}");
    let p = prop(server.addr, "cmd=dump").await;
    assert_eq!(value(&p, "worker.lb.balance_workers"), Some("node1,node2"));
    let xml = status(server.addr, "cmd=dump&mime=xml").await.text();
    assert!(
        xml.contains("  <jk:configuration\n    worker.list=\"jkstatus,lb,solo\"\n"),
        "{xml}"
    );
    let html = get(server.addr, "/jkstatus?cmd=dump", &[]).await.text();
    assert!(
        html.contains("<PRE>\nworker.list=jkstatus,lb,solo\n"),
        "{html}"
    );
}

// ---- counters, states, reset, recover --------------------------------------------

#[tokio::test]
async fn counters_follow_traffic_and_reset_clears_them() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    spread(server.addr, 6, &[]).await;
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/solo", &[]).await.status, 200);
    }
    let p = prop(server.addr, "").await;
    for node in ["node1", "node2"] {
        assert_eq!(
            value(&p, &format!("worker.{node}.state")),
            Some("OK"),
            "{p:?}"
        );
        assert_eq!(value(&p, &format!("worker.{node}.elected")), Some("3"));
        assert_eq!(value(&p, &format!("worker.{node}.sessions")), Some("3"));
        let sent: u64 = value(&p, &format!("worker.{node}.transferred"))
            .unwrap()
            .parse()
            .unwrap();
        let read: u64 = value(&p, &format!("worker.{node}.read"))
            .unwrap()
            .parse()
            .unwrap();
        assert!(sent > 100 && read > 100, "{node}: {sent} {read}");
        assert_eq!(
            value(&p, &format!("worker.{node}.max_connected")),
            Some("1")
        );
    }
    assert_eq!(value(&p, "worker.lb.max_busy"), Some("1"));
    assert_eq!(value(&p, "worker.solo.used"), Some("3"));
    assert_eq!(value(&p, "worker.solo.errors"), Some("0"));
    // Reset one member: only its counters.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=reset&w=lb&sw=node1").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.elected"), Some("0"));
    assert_eq!(value(&p, "worker.node1.transferred"), Some("0"));
    assert_eq!(value(&p, "worker.node1.state"), Some("OK/IDLE"));
    assert_eq!(value(&p, "worker.node2.elected"), Some("3"));
    // Reset the lb: every member and the lb's max_busy.
    assert_eq!(txt_result(&txt(server.addr, "cmd=reset&w=lb").await), ok());
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node2.elected"), Some("0"));
    assert_eq!(value(&p, "worker.node2.lbvalue"), Some("0"));
    assert_eq!(value(&p, "worker.lb.max_busy"), Some("0"));
    // Reset the ajp worker.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=reset&w=solo").await),
        ok()
    );
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.solo.used"),
        Some("0")
    );
    // A status worker cannot be reset.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=reset&w=jkstatus").await),
        error("Reset failed")
    );
}

#[tokio::test]
async fn a_dead_member_shows_err_then_recover_marks_it_for_recovery() {
    let live = backends(&["node1", "solo"]).await;
    let dead = dead_port();
    let members = [("node1", live[0].addr.port()), ("dead", dead)];
    let server = gate(&setup(&members, live[1].addr.port(), "", ""), MOUNTS).await;
    // The dead member fails its first request and goes ERR; node1 answers everything.
    let counts = spread(server.addr, 4, &[]).await;
    assert_eq!(count(&counts, "node1"), 4);
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.dead.state"), Some("ERR"), "{p:?}");
    assert_eq!(value(&p, "worker.dead.errors"), Some("1"));
    assert_eq!(value(&p, "worker.lb.good"), Some("1"));
    assert_eq!(value(&p, "worker.lb.bad"), Some("1"));
    let ttr_min: u64 = value(&p, "worker.dead.time_to_recover_min")
        .unwrap()
        .parse()
        .unwrap();
    let ttr_max: u64 = value(&p, "worker.dead.time_to_recover_max")
        .unwrap()
        .parse()
        .unwrap();
    assert!(ttr_min >= 55 && ttr_max >= 115, "{ttr_min}/{ttr_max}");
    // Error time keys: keyed by the lb, with the space quirk.
    assert!(
        value(&p, "worker.lb.error_time_unix seconds").is_some(),
        "{p:?}"
    );
    assert!(
        value(&p, "worker.lb.error_time_ago seconds").is_some(),
        "{p:?}"
    );
    let text = txt(server.addr, "").await.text();
    assert!(text.contains(" error_time_unix_seconds="), "{text}");
    // The HTML offers T(ry recovery) for it.
    let html = get(server.addr, "/jkstatus", &[]).await.text();
    assert!(
        html.contains("<a href=\"/jkstatus?cmd=recover&amp;from=list&amp;w=lb&amp;sw=dead\">T</a>"),
        "{html}"
    );
    // recover: only for a member in ERR.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=recover&w=lb&sw=node1").await),
        error("Marking worker for recovery failed")
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=recover&w=lb").await),
        error("Marking worker for recovery failed")
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=recover&w=solo").await),
        error("Marking worker for recovery failed")
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=recover&w=lb&sw=dead").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.dead.state"), Some("ERR/REC"));
    assert_eq!(value(&p, "worker.dead.time_to_recover_max"), Some("0"));
}

#[tokio::test]
async fn a_failing_ajp_worker_shows_err_and_its_error_time() {
    let dead = dead_port();
    let live = backends(&["node1", "node2"]).await;
    let members = [
        ("node1", live[0].addr.port()),
        ("node2", live[1].addr.port()),
    ];
    let server = gate(
        &setup(&members, dead, "", "worker.solo.retry_interval=10\n"),
        MOUNTS,
    )
    .await;
    assert_eq!(get(server.addr, "/solo", &[]).await.status, 503);
    let p = prop(server.addr, "").await;
    let text = txt(server.addr, "").await.text();
    let ajp = text.lines().find(|l| l.starts_with("AJP Worker:")).unwrap();
    assert!(ajp.contains(" errors=1 "), "{ajp}");
    assert!(ajp.contains(" error_time_datetime="), "{ajp}");
    assert!(
        value(&p, "worker.solo.error_time_ago seconds").is_some(),
        "{p:?}"
    );
    let html = get(server.addr, "/jkstatus", &[]).await.text();
    assert!(html.contains("<tr><td>ERR</td><td>1 ("), "{html}");
}

// ---- update: member settings change routing ---------------------------------------

#[tokio::test]
async fn vwa_stopped_member_gets_no_traffic_and_active_again_does() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let before = spread(server.addr, 10, &[]).await;
    assert_eq!((count(&before, "node1"), count(&before, "node2")), (5, 5));
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vwa=S").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.activation"), Some("STP"));
    assert_eq!(value(&p, "worker.lb.bad"), Some("1"));
    let stopped = spread(server.addr, 10, &[]).await;
    assert_eq!(count(&stopped, "node1"), 0, "{stopped:?}");
    // A session of the stopped member moves too.
    let moved = spread(server.addr, 3, &[("Cookie", "JSESSIONID=abc.node1")]).await;
    assert_eq!(count(&moved, "node2"), 3);
    // Numeric codes work too (0 = active).
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vwa=0").await),
        ok()
    );
    let again = spread(server.addr, 10, &[]).await;
    assert_eq!(count(&again, "node1"), 5, "{again:?}");
}

#[tokio::test]
async fn vwa_disabled_member_keeps_its_sessions_only() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vwa=D").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.activation"), Some("DIS"));
    assert_eq!(value(&p, "worker.lb.degraded"), Some("1"));
    let fresh = spread(server.addr, 6, &[]).await;
    assert_eq!(count(&fresh, "node2"), 6);
    let sticky = spread(server.addr, 4, &[("Cookie", "JSESSIONID=abc.node1")]).await;
    assert_eq!(count(&sticky, "node1"), 4);
}

#[tokio::test]
async fn vwf_lbfactor_weights_the_traffic() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vwf=3").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.lbfactor"), Some("3"));
    assert_eq!(value(&p, "worker.node1.lbmult"), Some("1"));
    assert_eq!(value(&p, "worker.node2.lbmult"), Some("3"));
    let counts = spread(server.addr, 40, &[]).await;
    assert_eq!(
        (count(&counts, "node1"), count(&counts, "node2")),
        (30, 10),
        "{counts:?}"
    );
    // Out of range: ignored silently.
    for bad in ["0", "-2", "x", "2147483648"] {
        assert_eq!(
            txt_result(&txt(server.addr, &format!("cmd=update&w=lb&sw=node1&vwf={bad}")).await),
            ok()
        );
    }
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.node1.lbfactor"),
        Some("3")
    );
}

#[tokio::test]
async fn vwd_distance_prefers_the_nearer_member() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vwd=1").await),
        ok()
    );
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.node1.distance"),
        Some("1")
    );
    let counts = spread(server.addr, 8, &[]).await;
    assert_eq!(count(&counts, "node2"), 8, "{counts:?}");
    // Negative is out of range.
    txt(server.addr, "cmd=update&w=lb&sw=node1&vwd=-1").await;
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.node1.distance"),
        Some("1")
    );
}

#[tokio::test]
async fn vwn_route_change_moves_sessions_and_derives_the_domain() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let cookie = [("Cookie", "JSESSIONID=abc.n2.east")];
    // Before: no member has that route; the request is balanced.
    let before = spread(server.addr, 4, &cookie).await;
    assert_eq!(count(&before, "node1"), 2, "{before:?}");
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node2&vwn=n2.east").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node2.route"), Some("n2.east"));
    assert_eq!(value(&p, "worker.node2.domain"), Some("n2"));
    let after = spread(server.addr, 4, &cookie).await;
    assert_eq!(count(&after, "node2"), 4, "{after:?}");
    // A route of another member is refused (routes must stay unique), with a message.
    let reply = txt(server.addr, "cmd=update&w=lb&sw=node1&vwn=n2.east").await;
    let result = txt_result(&reply);
    assert!(
        result.starts_with(
            "Result: type=ERROR message=\"Update failed (at least partially) for sub worker 'node1'"
        ),
        "{result}"
    );
    // Longer than 63 bytes: ignored.
    txt(
        server.addr,
        &format!("cmd=update&w=lb&sw=node1&vwn={}", "r".repeat(64)),
    )
    .await;
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.node1.route"),
        Some("node1")
    );
}

#[tokio::test]
async fn vwr_redirect_and_vwc_domain_pick_the_failover_member() {
    let live = backends(&["node2", "node3", "solo"]).await;
    let members = [
        ("node1", dead_port()),
        ("node2", live[0].addr.port()),
        ("node3", live[1].addr.port()),
    ];
    let server = gate(&setup(&members, live[2].addr.port(), "", ""), MOUNTS).await;
    let cookie = [("Cookie", "JSESSIONID=abc.node1")];
    // Make node1 ERR first (its session requests are then balanced over node2/node3).
    spread(server.addr, 3, &[]).await;
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.node1.state"),
        Some("ERR")
    );
    let balanced = spread(server.addr, 6, &cookie).await;
    assert!(
        count(&balanced, "node2") > 0 && count(&balanced, "node3") > 0,
        "{balanced:?}"
    );
    // redirect: node1's sessions go to the member with route node3.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vwr=node3").await),
        ok()
    );
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.node1.redirect"),
        Some("node3")
    );
    let redirected = spread(server.addr, 6, &cookie).await;
    assert_eq!(count(&redirected, "node3"), 6, "{redirected:?}");
    // domain: without a redirect, node1's sessions go to a member of its domain.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vwr=").await),
        ok()
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&att=vwc&val0=d1&val1=&val2=d1").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.domain"), Some("d1"));
    assert_eq!(value(&p, "worker.node3.domain"), Some("d1"));
    assert_eq!(value(&p, "worker.node2.domain"), Some(""));
    let same_domain = spread(server.addr, 6, &cookie).await;
    assert_eq!(count(&same_domain, "node3"), 6, "{same_domain:?}");
}

#[tokio::test]
async fn att_with_values_updates_every_member() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&att=vwf&val0=2&val1=5").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.lbfactor"), Some("2"));
    assert_eq!(value(&p, "worker.node2.lbfactor"), Some("5"));
    assert_eq!(value(&p, "worker.node1.lbmult"), Some("5"));
    assert_eq!(value(&p, "worker.node2.lbmult"), Some("2"));
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&att=vwa&val0=S&val1=A").await),
        ok()
    );
    let counts = spread(server.addr, 5, &[]).await;
    assert_eq!(count(&counts, "node2"), 5);
    // An unknown attribute is ignored (mod_jk answers OK).
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&att=bogus&val0=1").await),
        ok()
    );
    // A connection attribute changes each member given a value.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&att=vart&val0=0&val1=500").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.reply_timeout"), Some("0"));
    assert_eq!(value(&p, "worker.node2.reply_timeout"), Some("500"));
}

#[tokio::test]
async fn sw_wildcards_update_every_matching_member() {
    let all = backends(&["node1", "node2", "other", "solo"]).await;
    let members = [
        ("node1", all[0].addr.port()),
        ("node2", all[1].addr.port()),
        ("other", all[2].addr.port()),
    ];
    let server = gate(&setup(&members, all[3].addr.port(), "", ""), MOUNTS).await;
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node*&vwd=3").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.distance"), Some("3"));
    assert_eq!(value(&p, "worker.node2.distance"), Some("3"));
    assert_eq!(value(&p, "worker.other.distance"), Some("0"));
    let counts = spread(server.addr, 4, &[]).await;
    assert_eq!(count(&counts, "other"), 4);
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=*her&vwd=1").await),
        ok()
    );
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.other.distance"),
        Some("1")
    );
    // `?` in a query becomes `@` before anything else (mod_jk's XSS guard), so it can
    // never act as a wildcard, as in mod_jk.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=%3Fther&vwd=2").await),
        error("could not find sub worker")
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=zz*&vwd=1").await),
        error("could not find sub worker")
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=show&w=lb&sw=node*").await),
        error("wildcard not allowed in sub worker for this command")
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=reset&w=lb&sw=*").await),
        error("wildcard not allowed in sub worker for this command")
    );
}

// ---- update: lb settings ----------------------------------------------------------

#[tokio::test]
async fn lb_settings_update_within_mod_jk_ranges() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    assert_eq!(
        txt_result(
            &txt(
                server.addr,
                "cmd=update&w=lb&vlr=3&vlri=250&vlt=90&vlee=45&vlx=4&vlf=1&vlm=T&vll=P"
            )
            .await
        ),
        ok()
    );
    let p = prop(server.addr, "").await;
    for (key, expected) in [
        ("retries", "3"),
        ("recover_time", "90"),
        ("error_escalation_time", "45"),
        ("max_reply_timeouts", "4"),
        ("sticky_session", "True"),
        ("sticky_session_force", "True"),
        ("method", "Traffic"),
        ("lock", "Pessimistic"),
    ] {
        assert_eq!(
            value(&p, &format!("worker.lb.{key}")),
            Some(expected),
            "{key}"
        );
    }
    // retry_interval is shown by the edit form.
    let form = get(server.addr, "/jkstatus?cmd=edit&w=lb", &[])
        .await
        .text();
    assert!(
        form.contains("<input name=\"vlri\" type=\"text\" value=\"250\"/>"),
        "{form}"
    );
    // Out of range: ignored.
    txt(
        server.addr,
        "cmd=update&w=lb&vlr=0&vlri=-1&vlt=0&vlee=0&vlx=-1",
    )
    .await;
    let p = prop(server.addr, "").await;
    for (key, expected) in [
        ("retries", "3"),
        ("recover_time", "90"),
        ("error_escalation_time", "45"),
        ("max_reply_timeouts", "4"),
        ("method", "Traffic"),
        ("lock", "Pessimistic"),
    ] {
        assert_eq!(
            value(&p, &format!("worker.lb.{key}")),
            Some(expected),
            "{key}"
        );
    }
    // Digits select methods too; vlx=0 is allowed.
    txt(server.addr, "cmd=update&w=lb&vlm=2&vlx=0").await;
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.lb.method"), Some("Busyness"));
    assert_eq!(value(&p, "worker.lb.max_reply_timeouts"), Some("0"));
    // An unrecognised method or lock letter means mod_jk's default.
    txt(server.addr, "cmd=update&w=lb&vlm=X&vll=Z").await;
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.lb.method"), Some("Request"));
    assert_eq!(value(&p, "worker.lb.lock"), Some("Optimistic"));
}

#[tokio::test]
async fn vls_and_vlf_change_sticky_routing() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let cookie = [("Cookie", "JSESSIONID=abc.node1")];
    assert_eq!(count(&spread(server.addr, 4, &cookie).await, "node1"), 4);
    // Sticky off: the session is ignored, requests are balanced.
    txt(server.addr, "cmd=update&w=lb&vls=off").await;
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.lb.sticky_session"),
        Some("False")
    );
    // (Reset the load values the sticky requests left on node1.)
    txt(server.addr, "cmd=reset&w=lb").await;
    assert_eq!(count(&spread(server.addr, 4, &cookie).await, "node1"), 2);
    // Sticky on and forced, node1 stopped: the session's request fails instead of moving.
    txt(server.addr, "cmd=update&w=lb&vls=yes&vlf=true").await;
    txt(server.addr, "cmd=update&w=lb&sw=node1&vwa=S").await;
    let reply = get(server.addr, "/app/forced", &cookie).await;
    assert_eq!(reply.status, 503, "{}", reply.text());
    txt(server.addr, "cmd=update&w=lb&vlf=0").await;
    let reply = get(server.addr, "/app/moved", &cookie).await;
    assert_eq!(reply.line("route").as_deref(), Some("node2"));
}

// ---- update: connection settings change at run time ---------------------------------

#[tokio::test]
async fn a_busy_limit_set_at_run_time_is_what_the_balancer_uses() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let on_node1 = [("Cookie", "JSESSIONID=abc.node1")];
    let addr = server.addr;
    // No limit yet: a second request for node1's session joins the first on node1.
    let slow = tokio::spawn(async move {
        get(
            addr,
            "/app/x?sleep=1200",
            &[("Cookie", "JSESSIONID=abc.node1")],
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = get(server.addr, "/app/x", &on_node1).await;
    assert_eq!(second.line("route").as_deref(), Some("node1"));
    assert_eq!(slow.await.unwrap().status, 200);
    // busy_limit 1 on node1: while it serves one request, the next goes elsewhere.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vabl=1").await),
        ok()
    );
    let slow = tokio::spawn(async move {
        get(
            addr,
            "/app/x?sleep=1200",
            &[("Cookie", "JSESSIONID=abc.node1")],
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let second = get(server.addr, "/app/x", &on_node1).await;
    assert_eq!(second.line("route").as_deref(), Some("node2"));
    assert_eq!(slow.await.unwrap().status, 200);
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.busy_limit"), Some("1"));
}

#[tokio::test]
async fn recovery_options_set_at_run_time_decide_the_failover() {
    let all = backends(&["node1", "node2", "solo"]).await;
    let members = [("node1", all[0].addr.port()), ("node2", all[1].addr.port())];
    let properties = setup(&members, all[2].addr.port(), "", "");
    // Under mod_jk's rules (`Replay = mod_jk`) recovery_options alone decides.
    let mut settings = in_process::settings(&properties, MOUNTS);
    settings.replay = jkgate::config::ini::ReplayPolicy::ModJk;
    let server = in_process::start(settings).await;
    let on_node1 = [("Cookie", "JSESSIONID=abc.node1")];
    // Reply timeouts alone do not put node1 in error (max_reply_timeouts).
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&vlx=10").await),
        ok()
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&vart=300").await),
        ok()
    );
    // recovery_options 0 (mod_jk's default): a GET node1 timed out on goes to node2.
    let reply = get(server.addr, "/app/x?sleep=700", &on_node1).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.line("route").as_deref(), Some("node2"));
    // recovery_options 1 set at run time: once node1 may have received it, never again.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&varo=1").await),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.state"), Some("OK"));
    assert_eq!(value(&p, "worker.node1.recovery_options"), Some("1"));
    let reply = get(server.addr, "/app/x?sleep=700", &on_node1).await;
    assert_eq!(reply.status, 504, "{}", reply.text());
}

#[tokio::test]
async fn connection_settings_change_at_run_time() {
    let (server, b) = two_nodes("", "", MOUNTS).await;
    // Unchanged values (as the edit form submits them) are fine.
    assert_eq!(
        txt_result(
            &txt(
                server.addr,
                "cmd=update&w=lb&sw=node1&vart=0&var=2&vamps=8192&vahst=127.0.0.1"
            )
            .await
        ),
        ok()
    );
    // Member and connection settings of one request both apply, for the next request on.
    assert_eq!(
        txt_result(
            &txt(
                server.addr,
                "cmd=update&w=lb&sw=node1&vwf=4&vart=500&vacpt=30",
            )
            .await,
        ),
        ok()
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.node1.lbfactor"), Some("4"));
    assert_eq!(value(&p, "worker.node1.reply_timeout"), Some("500"));
    assert_eq!(
        value(&p, "worker.node1.connection_pool_timeout"),
        Some("30")
    );
    let on_node1 = [("Cookie", "JSESSIONID=abc.node1")];
    // A POST, which no member gets twice: the reply timeout answers it.
    let slow = Client::connect(server.addr)
        .await
        .request("POST", "/app/x?sleep=1500", &on_node1, Some(b"x"))
        .await;
    assert_eq!(slow.status, 504, "{}", slow.text());
    // Out of range is ignored as in mod_jk (no change, no message).
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=lb&sw=node1&var=0&vamps=70000").await),
        ok()
    );

    // The plain ajp13 worker moves to another port: its pooled connection to the old one
    // is closed, so the very next request reaches the new address.
    let first = get(server.addr, "/solo", &[]).await;
    assert_eq!(first.line("route").as_deref(), Some("solo"));
    let node2_port = b[1].addr.port();
    assert_eq!(
        txt_result(
            &txt(
                server.addr,
                &format!("cmd=update&w=solo&vaprt={node2_port}")
            )
            .await
        ),
        ok()
    );
    let moved = get(server.addr, "/solo", &[]).await;
    assert_eq!(moved.line("route").as_deref(), Some("node2"));
    let p = prop(server.addr, "").await;
    assert_eq!(
        value(&p, "worker.solo.port"),
        Some(node2_port.to_string().as_str())
    );
    assert_eq!(
        value(&p, "worker.solo.address"),
        Some(format!("127.0.0.1:{node2_port}").as_str())
    );
    // A host that does not resolve changes nothing, and says why.
    let result = txt_result(
        &txt(
            server.addr,
            "cmd=update&w=solo&vahst=no-such-host.invalid&vart=700",
        )
        .await,
    );
    assert!(
        result.contains("worker 'solo'") && result.contains("cannot resolve host"),
        "{result}"
    );
    let p = prop(server.addr, "").await;
    assert_eq!(value(&p, "worker.solo.host"), Some("127.0.0.1"));
    assert_eq!(value(&p, "worker.solo.reply_timeout"), Some("0"));
    assert_eq!(
        get(server.addr, "/solo", &[])
            .await
            .line("route")
            .as_deref(),
        Some("node2")
    );
    // Wildcard updates stop at the first failing member.
    let result = txt_result(
        &txt(
            server.addr,
            "cmd=update&w=lb&sw=node*&vahst=no-such-host.invalid",
        )
        .await,
    );
    assert!(
        result.ends_with(" Aborting further wildcard updates.\""),
        "{result}"
    );
    // A status worker cannot be updated.
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=update&w=jkstatus").await),
        error("Update failed")
    );
}

// ---- HTML actions and forms -------------------------------------------------------

#[tokio::test]
async fn html_edit_forms_and_update_redirect() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    let form = get(
        server.addr,
        "/jkstatus?cmd=edit&from=list&w=lb&sw=node1",
        &[],
    )
    .await
    .text();
    for needle in [
        "<h3>Edit worker settings for node1</h3>",
        "<input type=\"hidden\" name=\"cmd\" value=\"update\"/>",
        "<input type=\"hidden\" name=\"sw\" value=\"node1\"/>",
        "<input name=\"vwa\" type=\"radio\" value=\"0\" checked=\"checked\"/>",
        "<input name=\"vwf\" type=\"text\" value=\"1\"/>",
        "<input name=\"vahst\" type=\"text\" value=\"127.0.0.1\" maxlength=\"60\"/>",
        "[<a href=\"/jkstatus?cmd=list\">Back to worker list</a>]",
    ] {
        assert!(form.contains(needle), "missing {needle:?} in {form}");
    }
    let form = get(server.addr, "/jkstatus?cmd=edit&w=lb&att=vwa", &[])
        .await
        .text();
    assert!(
        form.contains("Edit attribute 'Activation' for all members of load balancer lb"),
        "{form}"
    );
    assert!(
        form.contains("<input name=\"val1\" type=\"radio\" value=\"2\"/>"),
        "{form}"
    );
    let form = get(server.addr, "/jkstatus?cmd=edit&w=solo", &[])
        .await
        .text();
    assert!(
        form.contains("<h3>Edit worker settings for solo</h3>"),
        "{form}"
    );
    assert!(
        form.contains("<input name=\"vaprt\" type=\"text\""),
        "{form}"
    );
    // What the lb form submits (sticky box unchecked: only the hidden 0) is applied.
    let reply = get(
        server.addr,
        "/jkstatus?cmd=update&from=list&w=lb&vlr=2&vlri=100&vlt=60&vlee=30&vlx=0&vls=0&vlf=0&vlm=0&vll=0",
        &[],
    )
    .await;
    let html = reply.text();
    assert!(
        html.contains(
            "<meta http-equiv=\"Refresh\" content=\"3;url=/jkstatus?cmd=list&amp;w=lb\">"
        ),
        "{html}"
    );
    assert!(
        html.contains("Result: OK - You will be redirected in 3 seconds."),
        "{html}"
    );
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.lb.sticky_session"),
        Some("False")
    );
    // Checked box: hidden 0 then 1, the last wins.
    get(server.addr, "/jkstatus?cmd=update&w=lb&vls=0&vls=1", &[]).await;
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.lb.sticky_session"),
        Some("True")
    );
    // An HTML error.
    let html = get(server.addr, "/jkstatus?cmd=edit&w=jkstatus", &[])
        .await
        .text();
    assert!(
        html.contains("Result: ERROR - Error in generating this worker's configuration form."),
        "{html}"
    );
    // Auto refresh.
    let html = get(server.addr, "/jkstatus?re=5", &[]).await.text();
    assert!(
        html.contains("<meta http-equiv=\"Refresh\" content=\"5;url=/jkstatus?re=5\">"),
        "{html}"
    );
    assert!(html.contains("Stop auto refresh"), "{html}");
}

// ---- security -----------------------------------------------------------------------

#[tokio::test]
async fn read_only_worker_and_opt_32_forbid_changes() {
    let (server, _b) = two_nodes(
        ",ro",
        "worker.ro.type=status\nworker.ro.read_only=true\n",
        &["/jkstatus=jkstatus", "/ro=ro", "/app/*=lb", "/solo=solo"],
    )
    .await;
    let forbidden = error("This command is not allowed in read only mode.");
    for cmd in [
        "cmd=update&w=lb&sw=node1&vwa=S",
        "cmd=reset&w=lb",
        "cmd=recover&w=lb&sw=node1",
        "cmd=edit&w=lb",
    ] {
        let reply = get(server.addr, &format!("/ro?mime=txt&{cmd}"), &[]).await;
        assert_eq!(reply.status, 200);
        assert_eq!(txt_result(&reply), forbidden, "{cmd}");
        // The writable worker with opt=32 refuses too.
        assert_eq!(
            txt_result(&txt(server.addr, &format!("{cmd}&opt=32")).await),
            forbidden
        );
    }
    assert_eq!(
        value(&prop(server.addr, "").await, "worker.node1.activation"),
        Some("ACT")
    );
    // Reading works; the HTML says so and offers no edit links.
    let reply = get(server.addr, "/ro?mime=txt", &[]).await;
    assert_eq!(txt_result(&reply), ok());
    let html = get(server.addr, "/ro", &[]).await.text();
    assert!(html.contains(" (read only)</h1>"), "{html}");
    assert!(!html.contains("cmd=edit"), "{html}");
    assert!(!html.contains("Read/Write"), "{html}");
    let html = get(server.addr, "/jkstatus?opt=32", &[]).await.text();
    assert!(html.contains("Read/Write</a>"), "{html}");
    let html = get(server.addr, "/ro?cmd=reset&w=lb", &[]).await.text();
    assert!(
        html.contains("Result: ERROR - This command is not allowed in read only mode."),
        "{html}"
    );
}

#[tokio::test]
async fn users_need_valid_basic_credentials() {
    let (server, _b) = two_nodes(
        ",auth,anyone",
        "worker.auth.type=status\nworker.auth.user=alice\n\
         worker.anyone.type=status\nworker.anyone.user=ALICE,carol\nworker.anyone.user_case_insensitive=true\n",
        &["/auth=auth", "/anyone=anyone", "/app/*=lb"],
    )
    .await;
    let denied = error("Access denied.");
    let ask = |path: &'static str, auth: Option<&'static str>| {
        let addr = server.addr;
        async move {
            let headers: Vec<(&str, &str)> =
                auth.map(|a| ("Authorization", a)).into_iter().collect();
            get(addr, &format!("{path}?mime=txt"), &headers).await
        }
    };
    // No credentials, wrong password, valid but unlisted user: denied, and nothing else.
    // Without valid credentials jkgate asks for them (401 + Basic challenge, httpd's part);
    // a known user who is not listed gets mod_jk's 200 "Access denied.".
    for (auth, status) in [
        (None, 401),
        (Some(ALICE_WRONG), 401),
        (Some(BOB), 200),
        (Some("Basic %%%"), 401),
    ] {
        let reply = ask("/auth", auth).await;
        assert_eq!(reply.status, status, "{auth:?}");
        assert_eq!(reply.text(), format!("{denied}\n"), "{auth:?}");
        let challenge = reply.header("www-authenticate");
        if status == 401 {
            assert_eq!(challenge, Some("Basic realm=\"auth\", charset=\"UTF-8\""));
        } else {
            assert_eq!(challenge, None);
        }
    }
    assert_eq!(txt_result(&ask("/auth", Some(ALICE)).await), ok());
    assert!(
        ask("/auth", Some(ALICE))
            .await
            .text()
            .contains("Balancer Worker: name=lb")
    );
    // Case-insensitive user list.
    assert_eq!(txt_result(&ask("/anyone", Some(ALICE)).await), ok());
    assert_eq!(txt_result(&ask("/anyone", Some(BOB)).await), denied);
    // Denied in HTML: the challenge, with the error page as its body.
    let html = get(server.addr, "/auth", &[]).await;
    assert_eq!(html.status, 401);
    assert!(html.text().contains("Result: ERROR - Access denied."));
    // A denied update changes nothing.
    get(
        server.addr,
        "/auth?cmd=update&w=lb&sw=node1&vwa=S",
        &[("Authorization", BOB)],
    )
    .await;
    let p = props(&get(server.addr, "/auth?mime=prop", &[("Authorization", ALICE)]).await);
    assert_eq!(value(&p, "worker.node1.activation"), Some("ACT"));
}

// ---- hostile and wrong parameters ---------------------------------------------------

#[tokio::test]
async fn bad_parameters_give_mod_jk_errors() {
    let (server, _b) = two_nodes("", "", MOUNTS).await;
    for (query, expected) in [
        ("cmd=bogus", "Invalid command."),
        ("cmd=LIST", "Invalid command."),
        ("cmd=show", "NULL or EMPTY worker param"),
        ("cmd=show&w=", "NULL or EMPTY worker param"),
        ("cmd=show&w=nope", "Could not find given worker"),
        ("cmd=show&w=node1", "Could not find given worker"),
        ("cmd=show&w=lb&sw=", "EMPTY sub worker param"),
        ("cmd=show&w=lb&sw=nope", "could not find sub worker"),
        ("cmd=show&w=solo&sw=x", "worker type has no sub workers"),
        ("cmd=update&w=solo&sw=x*", "worker type has no sub workers"),
        ("cmd=update", "NULL or EMPTY worker param"),
    ] {
        let reply = txt(server.addr, query).await;
        assert_eq!(reply.text(), format!("{}\n", error(expected)), "{query}");
    }
    // An unknown mime type is answered in the prop format.
    let reply = status(server.addr, "mime=yaml").await;
    assert_eq!(reply.header("content-type"), Some("text/plain"));
    assert_eq!(
        reply.text(),
        "worker.result.type=ERROR\nworker.result.message=Invalid mime type.\n"
    );
    // XML errors.
    let xml = status(server.addr, "mime=xml&cmd=show&w=nope").await.text();
    assert!(
        xml.contains("  <jk:result\n    type=\"ERROR\"\n    message=\"Could not find given worker\"\n  />\n</jk:status>\n"),
        "{xml}"
    );
    // Percent-decoding, `+` as space, last repeated key wins.
    assert_eq!(txt_result(&txt(server.addr, "cmd=show&w=%6Cb").await), ok());
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=show&w=a+b").await),
        error("Could not find given worker")
    );
    assert_eq!(
        txt_result(&txt(server.addr, "cmd=bogus&cmd=version").await),
        ok()
    );
    // Markup in parameters never comes back.
    for query in [
        "cmd=show&w=%3Cscript%3Ealert(1)%3C/script%3E",
        "w=%22%3E%3Cscript%3Ex%3C/script%3E&re=%22%3E%3Cb%3E",
        "cmd=edit&w=lb&att=%3Cimg%20src=x%3E",
        "cmd=show&w=lb&sw=node1&psw=%3Cx%3E&from=%22",
    ] {
        let html = get(server.addr, &format!("/jkstatus?{query}"), &[]).await;
        assert_eq!(html.status, 200);
        let text = html.text();
        assert!(
            !text.contains("<script") && !text.contains("<img") && !text.contains("<b>\""),
            "{text}"
        );
    }
    // Status answers to any method.
    let mut client = client::Client::connect(server.addr).await;
    let reply = client
        .request(
            "POST",
            "/jkstatus?mime=txt&cmd=version",
            &[],
            Some(b"cmd=reset"),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(txt_result(&reply), ok());
}

#[test]
fn no_query_makes_the_status_worker_panic() {
    use proptest::prelude::*;
    let text = "worker.list=jkstatus,lb,solo\nworker.jkstatus.type=status\nworker.lb.type=lb\n\
                worker.lb.balance_workers=node1,node2\nworker.node1.port=1\nworker.node2.port=2\n\
                worker.solo.port=3\nworker.node1.host=127.0.0.1\nworker.node2.host=127.0.0.1\n\
                worker.solo.host=127.0.0.1\nworker.jkstatus.user=alice\n";
    let mut settings = in_process::settings(text, &["/a/*=lb;reply_timeout=5;active=node1"]);
    settings.status_users = users();
    let gateway = assemble(&settings, Generation::first(), None)
        .expect("workers build")
        .commit();
    let worker = gateway.status.get("jkstatus").unwrap().clone();
    let mounts = gateway.mounts.load_full();
    let workers = &gateway.workers;
    let piece = prop_oneof![
        Just("cmd=".to_owned()),
        Just("mime=".to_owned()),
        Just("w=lb".to_owned()),
        Just("w=solo".to_owned()),
        Just("sw=".to_owned()),
        Just("att=".to_owned()),
        Just("val0=".to_owned()),
        Just("opt=".to_owned()),
        Just("re=".to_owned()),
        "[a-z]{1,5}=",
        "[%+&=<>?\"*a-zA-Z0-9]{0,12}",
        prop::sample::select(vec![
            "list",
            "show",
            "edit",
            "update",
            "reset",
            "recover",
            "version",
            "dump",
            "html",
            "xml",
            "txt",
            "prop",
            "node1",
            "node*",
            "S",
            "-1",
            "2147483648",
            "%ff%fe",
            "vwn",
            "vart",
            "vwa",
        ])
        .prop_map(str::to_owned),
    ];
    let query = prop::collection::vec(piece, 0..12).prop_map(|p| p.join("&"));
    let auth = prop_oneof![
        Just(None),
        Just(Some(ALICE.to_owned())),
        "[ -~]{0,20}".prop_map(Some)
    ];
    let config = ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(query in query, auth in auth, path in "/[ -~]{0,10}")| {
        let request = StatusRequest {
            path: &path,
            query: Some(&query),
            host: Some("h:1"),
            local_ip: "127.0.0.1",
            local_port: 1,
            authorization: auth.as_deref().map(str::as_bytes),
        };
        let reply = worker.handle(&jkgate::status::ServerMap::main(&mounts), workers, &request);
        prop_assert!(!reply.body.is_empty());
        if reply.content_type != "text/html" {
            prop_assert!(reply.body.contains("result") || reply.body.contains("Result"));
        }
    });
}

#[tokio::test]
async fn jkgate_run_settings_serve_the_status_worker() {
    let dir = std::env::temp_dir().join(format!("jkgate-status-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let backend = EmbeddedBackend::start("node1", PacketSize::DEFAULT)
        .await
        .unwrap();
    std::fs::write(
        dir.join("workers.properties"),
        format!(
            "worker.list=jkstatus,lb\nworker.jkstatus.type=status\nworker.jkstatus.user=alice\n\
             worker.lb.type=lb\nworker.lb.balance_workers=node1\nworker.node1.host=127.0.0.1\n\
             worker.node1.port={}\n",
            backend.addr.port()
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("jkgate.ini"),
        "Listen = 127.0.0.1:0\n[mounts]\n/jkstatus = jkstatus\n/app/* = lb\n[status_users]\nalice = secret\n",
    )
    .unwrap();
    let sources = jkgate::config::Sources {
        config: Some(dir.join("jkgate.ini")),
        ..Default::default()
    };
    let settings = jkgate::config::resolve_settings(&sources).expect("settings resolve");
    let running = in_process::start(settings).await;
    let addr = running.addr;
    let reply = get(addr, "/jkstatus?mime=txt", &[("Authorization", ALICE)]).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.text().contains("Member: name=node1 "),
        "{}",
        reply.text()
    );
    let reply = get(addr, "/jkstatus?mime=txt", &[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(txt_result(&reply), error("Access denied."));
    running.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
