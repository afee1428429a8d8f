//! Differential test: jkgate's reading of workers.properties against real mod_jk 1.2.48
//! (Debian `libapache2-mod-jk` under `/usr/sbin/apache2`).
//!
//! For each workers.properties below, httpd + mod_jk is started on a free loopback port
//! with a private ServerRoot, its status worker is asked for `?mime=prop&cmd=list`, and
//! every lb, member and plain ajp13 worker setting it prints is compared with jkgate's
//! resolved value. Where jkgate follows mod_jk 1.2.49+ on purpose (integer parsing) or
//! clamps a value (negative timeouts), the difference is asserted explicitly.
#![cfg(feature = "interop")]

#[path = "support/modjk.rs"]
mod modjk;

use std::collections::BTreeMap;

use jkgate::config::{AjpSettings, LbMember, WorkerKind, WorkersConfig, read_workers_properties};
use modjk::{ModJk, ModJkSetup, StatusProps};

/// The status worker every case adds (to `worker.list`, which accumulates).
const STATUS: &str = "\nworker.list=jkstatus\nworker.jkstatus.type=status\n";

fn ours(text: &str, env: &[(&str, &str)]) -> WorkersConfig {
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    };
    read_workers_properties(text.as_bytes(), "differential.properties", &lookup)
        .unwrap_or_else(|e| panic!("jkgate rejects what mod_jk accepts: {e}"))
        .config
}

fn start(text: &str, env: &[(&str, &str)]) -> ModJk {
    ModJk::start_setup(ModJkSetup {
        workers_properties: text.to_owned(),
        status_worker: Some("jkstatus".to_owned()),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..ModJkSetup::default()
    })
    .unwrap_or_else(|f| {
        panic!(
            "mod_jk refused a configuration jkgate accepts:\n{}",
            f.all_text()
        )
    })
}

fn tf(value: bool) -> &'static str {
    if value { "True" } else { "False" }
}

fn ajp_values(ajp: &AjpSettings) -> Vec<(&'static str, String)> {
    vec![
        ("type", "ajp13".to_owned()),
        ("host", ajp.host.clone()),
        ("port", ajp.port.to_string()),
        (
            "source",
            ajp.source.clone().unwrap_or_else(|| "undefined".to_owned()),
        ),
        (
            "connection_pool_timeout",
            ajp.connection_pool_timeout.as_secs().to_string(),
        ),
        ("ping_timeout", ajp.ping_timeout.as_millis().to_string()),
        (
            "connect_timeout",
            ajp.connect_timeout.as_millis().to_string(),
        ),
        (
            "prepost_timeout",
            ajp.prepost_timeout.as_millis().to_string(),
        ),
        ("reply_timeout", ajp.reply_timeout.as_millis().to_string()),
        ("retries", ajp.retries.to_string()),
        (
            "connection_ping_interval",
            ajp.connection_ping_interval.as_secs().to_string(),
        ),
        ("recovery_options", ajp.recovery_options.0.to_string()),
        ("busy_limit", ajp.busy_limit.to_string()),
        ("max_packet_size", ajp.max_packet_size.to_string()),
    ]
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn member_values(member: &LbMember, lcm: u64) -> Vec<(&'static str, String)> {
    let mut values = ajp_values(&member.ajp);
    let m = &member.member;
    values.extend([
        ("activation", m.activation.status_name().to_owned()),
        ("lbfactor", m.lbfactor.to_string()),
        ("route", m.route.clone()),
        ("redirect", m.redirect.clone()),
        ("domain", m.domain.clone()),
        ("distance", m.distance.to_string()),
        ("lbmult", (lcm / u64::from(m.lbfactor)).to_string()),
    ]);
    values
}

/// Every value jkgate resolved, keyed like mod_jk's prop output, plus the list of lbs and
/// plain ajp workers mod_jk shows.
fn expected(config: &WorkersConfig) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lbs = Vec::new();
    let mut plain = Vec::new();
    for worker in &config.workers {
        let name = &worker.name;
        match &worker.kind {
            WorkerKind::Lb(lb) => {
                lbs.push(name.clone());
                let s = &lb.settings;
                for (key, value) in [
                    ("type", "lb".to_owned()),
                    ("sticky_session", tf(s.sticky_session).to_owned()),
                    (
                        "sticky_session_force",
                        tf(s.sticky_session_force).to_owned(),
                    ),
                    ("retries", s.retries.to_string()),
                    ("recover_time", s.recover_time.as_secs().to_string()),
                    (
                        "error_escalation_time",
                        s.error_escalation_time.as_secs().to_string(),
                    ),
                    ("max_reply_timeouts", s.max_reply_timeouts.to_string()),
                    ("method", s.method.status_name().to_owned()),
                    ("lock", s.lock.status_name().to_owned()),
                    ("member_count", lb.members.len().to_string()),
                    (
                        "balance_workers",
                        lb.members
                            .iter()
                            .map(|m| m.name.as_str())
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                ] {
                    out.insert(format!("worker.{name}.{key}"), value);
                }
                let lcm = lb
                    .members
                    .iter()
                    .map(|m| u64::from(m.member.lbfactor))
                    .fold(1, |acc, f| acc / gcd(acc, f) * f);
                for member in &lb.members {
                    for (key, value) in member_values(member, lcm) {
                        out.insert(format!("worker.{}.{key}", member.name), value);
                    }
                }
            }
            WorkerKind::Ajp13(ajp) => {
                plain.push(name.clone());
                for (key, value) in ajp_values(ajp) {
                    out.insert(format!("worker.{name}.{key}"), value);
                }
            }
            WorkerKind::Status(_) => {}
        }
    }
    out.insert("lbs".to_owned(), lbs.join(","));
    out.insert("ajp workers".to_owned(), plain.join(","));
    out.insert(
        "worker.maintain".to_owned(),
        config.maintain.as_secs().to_string(),
    );
    out
}

/// The same keys read from mod_jk's prop output.
fn observed(props: &StatusProps, keys: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in keys.keys() {
        let value = match key.as_str() {
            "lbs" => props.all("worker.list").join(","),
            "ajp workers" => props
                .0
                .iter()
                .filter(|(k, v)| {
                    k.ends_with(".list") && k != "worker.list" && k == &format!("worker.{v}.list")
                })
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(","),
            "worker.maintain" => {
                // time_to_maintenance_max = min + worker.maintain (min is fresh after start).
                let lb = props.all("worker.list").first().map(|s| s.to_string());
                match lb {
                    Some(lb) => {
                        let min: i64 = props
                            .worker(&lb, "time_to_maintenance_min")
                            .unwrap_or("0")
                            .parse()
                            .unwrap();
                        let max: i64 = props
                            .worker(&lb, "time_to_maintenance_max")
                            .unwrap_or("0")
                            .parse()
                            .unwrap();
                        (max - min).to_string()
                    }
                    None => keys[key].clone(),
                }
            }
            k if k.ends_with(".balance_workers") => props.all(k).join(","),
            k => props.get(k).unwrap_or("<absent>").to_owned(),
        };
        out.insert(key.clone(), value);
    }
    out
}

/// Runs one case: returns the keys where mod_jk and jkgate differ, as
/// `key: mod_jk=<x> jkgate=<y>`.
fn differences(text: &str, env: &[(&str, &str)]) -> Vec<String> {
    let text = format!("{text}{STATUS}");
    let config = ours(&text, env);
    let httpd = start(&text, env);
    let props = httpd.status_prop("");
    let ours = expected(&config);
    let theirs = observed(&props, &ours);
    ours.iter()
        .filter(|(k, v)| theirs.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: mod_jk={} jkgate={v}", theirs[k]))
        .collect()
}

#[test]
fn cluster_with_template_variables_comments_duplicates_suffixes_and_units() {
    let text = r#"
# A three-node cluster, as operators write it.
tomcat_host=$(JK_TEST_HOST)       # from the environment
base_port=81
worker.list=balancer
worker.list=solo                  # accumulates: balancer,solo
worker.maintain=45
worker.maintain=90                # glued with `*`: the first value (45) wins

worker.template.type=ajp13
worker.template.host=$(tomcat_host)
worker.template.socket_connect_timeout=2000
worker.template.socket_timeout=10
worker.template.connection_pool_timeout=600
worker.template.ping_mode=A
worker.template.ping_timeout=3000
worker.template.reply_timeout=120000
worker.template.retries=3
worker.template.recovery_options=3
worker.template.max_packet_size=16k
worker.template.fail_on_status=500
worker.template.fail_on_status=-503

worker.node1.reference=worker.template
worker.node1.port=$(base_port)09
worker.node1.route=node1 # trailing comment
worker.node1.lbfactor=2
worker.node1.redirect=node2#fragment
worker.node2.reference=worker.template
worker.node2.port=8209
worker.node2.port=8219              # unique key: last wins
worker.node2.lbfactor=3
worker.node2.ping_mode=P
worker.node2.prepost_timeout=1500
worker.node3.reference=worker.template
worker.node3.port=8309
worker.node3.activation=disabled
worker.node3.distance=1
worker.node3.distance=1
worker.node3.busy_limit=2k
worker.node3.connection_pool_timeout=1M

worker.balancer.type=lb
worker.balancer.balance_workers=node1,node2
worker.balancer.balance_workers=node3
worker.balancer.method=Busyness
worker.balancer.lock=P
worker.balancer.sticky_session=yes
worker.balancer.sticky_session_force=off
worker.balancer.retries=4
worker.balancer.recover_time=90
worker.balancer.max_reply_timeouts=3

worker.solo.host=localhost
worker.solo.port=8409
worker.solo.ping_mode=I
worker.solo.connection_ping_interval=0
worker.solo.reply_timeout=500
"#;
    let diffs = differences(text, &[("JK_TEST_HOST", "127.0.0.1")]);
    assert!(
        diffs.is_empty(),
        "jkgate and mod_jk disagree:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn deprecated_aliases_and_activation_spellings() {
    let text = r#"
worker.list=lb1,lb2
worker.lb1.type=lb
worker.lb1.balanced_workers=a1,a2,a3
worker.lb1.method=S
worker.lb2.type=lb
worker.lb2.balance_workers=b1,b2
worker.lb2.balanced_workers=ignored_when_balance_workers_exists
worker.lb2.method=next
worker.lb2.recover_time=0
worker.lb2.error_escalation_time=7
worker.lb2.retries=0
worker.a1.host=127.0.0.1
worker.a1.port=8001
worker.a1.jvm_route=jvm1
worker.a1.cachesize=5
worker.a1.cache_timeout=33
worker.a1.recycle_timeout=10
worker.a1.local_worker=true
worker.a1.local_worker_only=false
worker.a2.host=127.0.0.1
worker.a2.port=8002
worker.a2.disabled=true
worker.a3.host=127.0.0.1
worker.a3.port=8003
worker.a3.stopped=1
worker.a3.disabled=1
worker.b1.host=127.0.0.1
worker.b1.port=8004
worker.b1.route=dc1.r1
worker.b1.jvm_route=ignored
worker.b1.activation=S
worker.b1.stopped=false
worker.b2.host=127.0.0.1
worker.b2.port=8005
worker.b2.domain=explicit
worker.b2.route=dc2.r2
worker.b2.activation=1
worker.b2.connection_pool_timeout=-1
worker.b2.cache_timeout=44
"#;
    let diffs = differences(text, &[]);
    assert!(
        diffs.is_empty(),
        "jkgate and mod_jk disagree:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn implicit_workers_for_undefined_names() {
    // `ghost` (listed) and `phantom` (member) have no properties at all.
    let text = "worker.list=ghost,lb\nworker.lb.type=lb\nworker.lb.balance_workers=phantom\n";
    let diffs = differences(text, &[]);
    assert!(
        diffs.is_empty(),
        "jkgate and mod_jk disagree:\n{}",
        diffs.join("\n")
    );
    let config = ours(&format!("{text}{STATUS}"), &[]);
    let WorkerKind::Ajp13(ghost) = &config.get("ghost").unwrap().kind else {
        panic!()
    };
    assert_eq!((ghost.host.as_str(), ghost.port), ("localhost", 8009));
}

#[test]
fn integer_rules_where_1_2_48_and_jkgate_differ_on_purpose() {
    // jkgate follows mod_jk 1.2.49+ (strtol: the k/M suffix must follow the digits, no
    // digits → default); 1.2.48 multiplies by the *last* character and uses atoi (junk → 0).
    // jkgate also turns a negative reply_timeout into 0: both mean "no timeout".
    let text = r#"
worker.list=lb
worker.lb.type=lb
worker.lb.balance_workers=n1
worker.n1.host=127.0.0.1
worker.n1.port=8 k
worker.n1.retries=abc
worker.n1.reply_timeout=-1
worker.n1.lbfactor=abc
worker.n1.busy_limit=12 requests
worker.n1.max_packet_size=9000
"#;
    let mut diffs = differences(text, &[]);
    diffs.sort();
    assert_eq!(
        diffs,
        vec![
            // 1.2.48: atoi("8 ") * 1024 (last char k); 1.2.49+: strtol stops at the space.
            "worker.n1.port: mod_jk=8192 jkgate=8".to_owned(),
            // Shown raw by mod_jk; jkgate clamps negative timeouts to 0 (= no timeout).
            "worker.n1.reply_timeout: mod_jk=-1 jkgate=0".to_owned(),
            // 1.2.48: atoi("abc") = 0, clamped to 1; 1.2.49+: no digits → default 2.
            "worker.n1.retries: mod_jk=1 jkgate=2".to_owned(),
        ]
    );
}

/// Configurations mod_jk refuses to start with; jkgate must refuse them too.
#[test]
fn fatal_errors_are_fatal_in_both() {
    let cases: &[(&str, &str)] = &[
        ("unknown directive", "worker.list=a\nworker.a.prot=8009\n"),
        (
            "wrong case directive",
            "worker.list=a\nworker.a.Port=8009\n",
        ),
        (
            "reference not found",
            "worker.list=a\nworker.a.reference=worker.nothing\n",
        ),
        (
            "reference without prefix",
            "worker.list=a\nworker.tpl.port=1\nworker.a.reference=tpl\n",
        ),
        (
            "reference loop",
            "worker.list=a\nworker.a.reference=worker.b\nworker.b.reference=worker.a\n",
        ),
        ("unknown type", "worker.list=a\nworker.a.type=AJP13\n"),
        ("lb without members", "worker.list=lb\nworker.lb.type=lb\n"),
        (
            "duplicate route",
            "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=a,b\nworker.a.route=r\nworker.b.route=r\n",
        ),
        (
            "route longer than 63 bytes",
            "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=a\nworker.a.route=rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr\n",
        ),
    ];
    let mut failures = Vec::new();
    for (what, text) in cases {
        let text = format!("{text}{STATUS}");
        let jkgate = read_workers_properties(text.as_bytes(), "fatal.properties", &|_| None);
        let modjk = ModJk::start(&text, Some("jkstatus"), &[]);
        match (&jkgate, &modjk) {
            (Err(_), Err(_)) => {}
            (Ok(_), Err(f)) => failures.push(format!(
                "{what}: mod_jk refuses, jkgate accepts\n{}",
                f.all_text()
            )),
            (Err(e), Ok(_)) => {
                failures.push(format!("{what}: jkgate refuses ({e}), mod_jk starts"))
            }
            (Ok(_), Ok(_)) => failures.push(format!("{what}: both accept; the case is not fatal")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
