//! jkgate's own status worker outputs, end to end with no system package: `mime=json` (the
//! values of `mime=prop` for every worker, member and mount, and a serde round trip) and
//! `cmd=route` (where a session id would go now, in every format, changing nothing), and
//! the `jkgate route` command asking a live jkgate.
#![cfg(feature = "proxy")]

#[path = "support/client.rs"]
mod client;
#[path = "support/in_process.rs"]
mod in_process;

use std::collections::HashMap;
use std::net::SocketAddr;

use client::{Reply, get};
use in_process::Running;
use jkgate::ajp::PacketSize;
use jkgate::demo::EmbeddedBackend;
use jkgate::status::json::StatusDocument;
use serde_json::Value;

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

/// lb `lb` over node1 and node2 (a domain and a redirect on node1), plain worker `solo`,
/// status worker `jkstatus`, mounts with extensions.
async fn gate() -> (Running, Vec<EmbeddedBackend>) {
    let all = backends(&["node1", "node2", "solo"]).await;
    let port = |i: usize| all[i].addr.port();
    let properties = format!(
        "worker.list=jkstatus,lb,solo\nworker.jkstatus.type=status\n\
         worker.lb.type=lb\nworker.lb.balance_workers=node1,node2\nworker.lb.retry_interval=10\n\
         worker.node1.type=ajp13\nworker.node1.host=127.0.0.1\nworker.node1.port={}\n\
         worker.node1.domain=east\nworker.node1.redirect=node2\nworker.node1.retry_interval=10\n\
         worker.node2.type=ajp13\nworker.node2.host=127.0.0.1\nworker.node2.port={}\n\
         worker.node2.lbfactor=3\nworker.node2.retry_interval=10\n\
         worker.solo.type=ajp13\nworker.solo.host=127.0.0.1\nworker.solo.port={}\n",
        port(0),
        port(1),
        port(2)
    );
    let running = in_process::start(in_process::settings(
        &properties,
        &[
            "/jkstatus=jkstatus",
            "/app/*=lb",
            "/ext/*=lb;stateless=1;fail_on_status=503",
            "/solo=solo",
            "/sticky/*=lb;sticky_ignore=1;stopped=node2",
        ],
    ))
    .await;
    (running, all)
}

async fn status(addr: SocketAddr, query: &str) -> Reply {
    let reply = get(addr, &format!("/jkstatus?{query}"), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply
}

fn props(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A JSON scalar as prop writes it: `True`/`False` (`0`/`1` for mount flags), numbers and
/// strings as they are.
fn as_prop(value: &Value, flag_as_digit: bool) -> String {
    match value {
        Value::Bool(b) if flag_as_digit => u8::from(*b).to_string(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Keys whose values move with the clock between two answers.
fn timed(key: &str) -> bool {
    key.starts_with("last_reset") || key.starts_with("time_to_")
}

/// Checks every scalar field of `object` against `prefix.<field>` in `prop`; returns how
/// many were compared.
fn compare(object: &Value, prefix: &str, prop: &HashMap<String, String>, skip: &[&str]) -> usize {
    let mut compared = 0;
    for (key, value) in object.as_object().expect("an object") {
        if skip.contains(&key.as_str()) || timed(key) || value.is_array() || value.is_object() {
            continue;
        }
        let prop_key = format!("{prefix}.{key}");
        let expected = prop
            .get(&prop_key)
            .unwrap_or_else(|| panic!("prop has no {prop_key} (JSON has {key}={value})"));
        let flag = prefix.contains(".map.");
        assert_eq!(&as_prop(value, flag), expected, "{prop_key}");
        compared += 1;
    }
    compared
}

#[tokio::test]
async fn json_has_the_prop_values_of_every_worker_and_member() {
    let (server, _backends) = gate().await;
    let addr = server.addr;
    for i in 0..6 {
        assert_eq!(get(addr, &format!("/app/x{i}"), &[]).await.status, 200);
    }
    assert_eq!(get(addr, "/solo", &[]).await.status, 200);
    let prop = props(&status(addr, "mime=prop").await.text());
    let reply = status(addr, "mime=json").await;
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let text = reply.text();

    // Round trip through the documented types: nothing lost, nothing added.
    let document: StatusDocument = serde_json::from_str(&text).expect("the schema's types");
    assert_eq!(
        serde_json::to_string_pretty(&document).expect("serialises") + "\n",
        text
    );
    assert_eq!(document.result.kind, "OK");

    let json: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        as_prop(&json["server"]["name"], false),
        prop["worker.server_name"]
    );
    assert_eq!(
        as_prop(&json["server"]["port"], false),
        prop["worker.server_port"]
    );
    assert_eq!(
        as_prop(&json["software"]["web_server"], false),
        prop["worker.web_server"]
    );
    assert_eq!(
        as_prop(&json["config"]["generation"], false),
        prop["worker.config_generation"]
    );
    assert_eq!(as_prop(&json["lb_count"], false), prop["worker.lb_count"]);
    assert_eq!(as_prop(&json["ajp_count"], false), prop["worker.ajp_count"]);

    let balancers = json["balancers"].as_array().expect("balancers");
    assert_eq!(balancers.len(), 1);
    let lb = &balancers[0];
    assert_eq!(compare(lb, "worker.lb", &prop, &["name"]), 16);
    let members = lb["members"].as_array().expect("members");
    let names: Vec<&str> = members
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["node1", "node2"]);
    for member in members {
        let name = member["name"].as_str().unwrap();
        // Every member field prop has is there with prop's value.
        assert!(compare(member, &format!("worker.{name}"), &prop, &["name"]) >= 35);
        assert_eq!(member["health"], "N/A");
    }
    // The traffic went somewhere and both formats say the same about it.
    let elected: u64 = members.iter().map(|m| m["elected"].as_u64().unwrap()).sum();
    assert_eq!(elected, 6);
    let maps = lb["maps"].as_array().expect("maps");
    assert_eq!(maps.len(), 3);
    for map in maps {
        let id = map["id"].as_u64().unwrap();
        assert!(compare(map, &format!("worker.lb.map.{id}"), &prop, &["id"]) >= 12);
    }
    let by_uri = |uri: &str| maps.iter().find(|m| m["uri"] == uri).expect("the mount");
    assert_eq!(by_uri("/ext/*")["stateless"], true);
    assert_eq!(by_uri("/ext/*")["fail_on_status"], "503");
    assert_eq!(by_uri("/sticky/*")["stopped"], "node2");

    let ajp = json["ajp_workers"].as_array().expect("ajp workers");
    assert_eq!(ajp.len(), 1);
    assert!(compare(&ajp[0], "worker.solo", &prop, &["name"]) >= 25);
    assert_eq!(ajp[0]["used"], 1);

    // Errors and actions answer with the result record only.
    let bad: StatusDocument =
        serde_json::from_str(&status(addr, "mime=json&cmd=show&w=nope").await.text()).unwrap();
    assert_eq!(bad.result.kind, "ERROR");
    assert_eq!(bad.result.message, "Could not find given worker");
    let reset: StatusDocument =
        serde_json::from_str(&status(addr, "mime=json&cmd=reset&w=lb").await.text()).unwrap();
    assert_eq!(reset.result.message, "Action finished");
    assert!(reset.server.is_none() && reset.balancers.is_empty());
    // dump keeps the file's order.
    let dump: StatusDocument =
        serde_json::from_str(&status(addr, "mime=json&cmd=dump").await.text()).unwrap();
    let keys: Vec<String> = dump
        .dump
        .expect("dump")
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(keys.first().map(String::as_str), Some("worker.list"));
    server.shutdown().await;
}

/// A session id issued by `route`'s backend.
async fn session_on(addr: SocketAddr, route: &str) -> String {
    for _ in 0..20 {
        let reply = get(addr, "/app/session", &[]).await;
        let cookie = reply
            .header("set-cookie")
            .expect("a new session")
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("JSESSIONID=")
            .to_owned();
        if cookie.ends_with(&format!(".{route}")) {
            return cookie;
        }
    }
    panic!("no session on {route}");
}

async fn route(addr: SocketAddr, query: &str) -> Value {
    let doc: Value = serde_json::from_str(
        &status(addr, &format!("mime=json&cmd=route&{query}"))
            .await
            .text(),
    )
    .expect("JSON");
    assert_eq!(doc["result"]["type"], "OK", "{doc}");
    doc["routes"][0].clone()
}

#[tokio::test]
async fn route_says_where_a_session_goes_in_every_format_and_changes_nothing() {
    let (server, _backends) = gate().await;
    let addr = server.addr;
    let sid = session_on(addr, "node2").await;
    let answer = route(addr, &format!("sid={sid}&w=lb")).await;
    assert_eq!(answer["member"], "node2");
    assert_eq!(answer["route"], "node2");
    assert_eq!(answer["session_route"], "node2");
    assert_eq!(answer["reason"], "session_route");
    assert_eq!(answer["sticky"], true);
    assert_eq!(answer["state"], "OK");

    // Every format says the same.
    let query = format!("cmd=route&w=lb&sid={sid}");
    let txt = status(addr, &format!("mime=txt&{query}")).await.text();
    assert!(
        txt.contains(&format!(
            "Route: lb=lb session_id=\"{sid}\" session_route=\"node2\" member=\"node2\""
        )),
        "{txt}"
    );
    let prop = props(&status(addr, &format!("mime=prop&{query}")).await.text());
    assert_eq!(prop["worker.route.lb.member"], "node2");
    assert_eq!(prop["worker.route.lb.reason"], "session_route");
    let xml = status(addr, &format!("mime=xml&{query}")).await.text();
    assert!(
        xml.contains("<jk:route") && xml.contains("member=\"node2\""),
        "{xml}"
    );
    let html = status(addr, &format!("mime=html&{query}")).await.text();
    assert!(
        html.contains("<td>node2</td>") && html.contains("session_route"),
        "{html}"
    );

    // A dry run moves nothing: no state, no counter, no load value, no rotation.
    let before = status(addr, "mime=prop").await.text();
    for _ in 0..5 {
        route(addr, &format!("sid={sid}")).await;
        route(addr, "sid=nosession").await;
    }
    let after = status(addr, "mime=prop").await.text();
    let moving = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| {
                !l.contains("time_") && !l.contains("last_reset") && !l.contains("error_time")
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(moving(&before), moving(&after));

    // Without a session: balanced, the same member a request then gets.
    let answer = route(addr, "sid=nosession&w=lb").await;
    assert_eq!(answer["reason"], "balanced");
    let predicted = answer["member"].as_str().unwrap().to_owned();
    let reply = get(addr, "/app/next", &[]).await;
    assert_eq!(reply.line("route").as_deref(), Some(predicted.as_str()));

    // The session's member stopped: node1 instead, and why.
    status(addr, "cmd=update&w=lb&sw=node2&vwa=2").await;
    let answer = route(addr, &format!("sid={sid}")).await;
    assert_eq!(answer["member"], "node1");
    assert_eq!(answer["reason"], "balanced");
    assert_eq!(answer["sticky"], false);
    let why = answer["why"].as_str().unwrap();
    assert!(why.contains("node2") && why.contains("STP"), "{why}");
    let cookie = format!("JSESSIONID={sid}");
    let reply = get(addr, "/app/s", &[("Cookie", &cookie)]).await;
    assert_eq!(reply.line("route").as_deref(), Some("node1"));

    // node1's redirect is node2 (stopped): a node1 session whose member is stopped goes to
    // the redirect only when it can take it; with node2 active again it does.
    status(addr, "cmd=update&w=lb&sw=node2&vwa=0").await;
    status(addr, "cmd=update&w=lb&sw=node1&vwa=2").await;
    let answer = route(addr, "sid=ABC.node1").await;
    assert_eq!(answer["member"], "node2");
    assert_eq!(answer["reason"], "redirect");

    // With `uri`, the mount's extensions apply as to a request for it: `/sticky/*` ignores
    // the session and stops node2; `/app/*` has none.
    status(addr, "cmd=update&w=lb&sw=node1&vwa=0").await;
    let answer = route(addr, &format!("sid={sid}&uri=/sticky/x")).await;
    assert_eq!(answer["lb"], "lb");
    assert_eq!(answer["session_id"], "");
    assert_eq!(answer["member"], "node1");
    assert_eq!(answer["reason"], "balanced");
    let answer = route(addr, &format!("sid={sid}&uri=/app/x&w=lb")).await;
    assert_eq!(answer["member"], "node2");
    assert_eq!(answer["reason"], "session_route");

    // Errors.
    for (query, message) in [
        (
            "cmd=route&sid=X&uri=/nothing",
            "No mount rule maps /nothing",
        ),
        (
            "cmd=route&sid=X&uri=/solo&w=lb",
            "/solo is mapped to solo, not to lb",
        ),
        (
            "cmd=route&sid=X&uri=/solo",
            "Worker solo is not a load balancer",
        ),
        ("cmd=route", "NULL or EMPTY session id param (sid)"),
        (
            "cmd=route&sid=X&w=solo",
            "Worker solo is not a load balancer",
        ),
        ("cmd=route&sid=X&w=nope", "Could not find given worker"),
    ] {
        let doc: Value =
            serde_json::from_str(&status(addr, &format!("mime=json&{query}")).await.text())
                .unwrap();
        assert_eq!(doc["result"]["message"], message, "{query}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn jkgate_route_asks_the_live_status_worker() {
    let (server, _backends) = gate().await;
    let addr = server.addr;
    let sid = session_on(addr, "node1").await;
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_jkgate"))
                .arg("route")
                .args(args)
                .output()
                .expect("jkgate runs")
        })
    };
    let url = format!("http://{addr}/jkstatus");
    let out = run(vec!["--status-url".into(), url.clone(), sid.clone()])
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!(
            "lb: session {sid} (route node1) -> member node1 (route node1, ACT OK"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("sticky") && stdout.contains("[session_route]"),
        "{stdout}"
    );

    // The live state: node1 stopped now, the answer changes.
    status(addr, "cmd=update&w=lb&sw=node1&vwa=2").await;
    let out = run(vec![
        "--status-url".into(),
        url.clone(),
        "--worker".into(),
        "lb".into(),
        "--json".into(),
        sid.clone(),
    ])
    .await
    .unwrap();
    assert!(out.status.success());
    let doc: StatusDocument = serde_json::from_slice(&out.stdout).expect("the JSON answer");
    assert_eq!(doc.routes[0].member, "node2");

    // Errors go to standard error with exit 1.
    let out = run(vec!["--status-url".into(), format!("{url}x"), sid.clone()])
        .await
        .unwrap();
    assert!(!out.status.success());
    let out = run(vec![
        "--status-url".into(),
        url.clone(),
        "--uri".into(),
        "/sticky/x".into(),
        sid.clone(),
    ])
    .await
    .unwrap();
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    // node1 stopped at run time, node2 by the mount: nobody.
    assert!(
        said.starts_with("lb: session - (route -) -> no member (the request would get 503 now)"),
        "{said}"
    );
    let out = run(vec![
        "--status-url".into(),
        url,
        "--worker".into(),
        "solo".into(),
        sid,
    ])
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Worker solo is not a load balancer"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.shutdown().await;
}
