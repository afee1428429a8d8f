//! Every directive of spec §2: its default, and a set value with its unit.
#![cfg(feature = "proxy")]

use std::time::Duration;

use jkgate::config::{
    Activation, AjpSettings, LbLock, LbMember, LbMethod, LbSettings, PingMode, StatusFailure,
    StatusSettings, WorkerKind, WorkersFile, read_workers_properties,
};

fn no_env(_: &str) -> Option<String> {
    None
}

fn read(text: &str) -> WorkersFile {
    read_workers_properties(text.as_bytes(), "d.properties", &no_env).expect("valid")
}

fn ajp(extra: &str) -> AjpSettings {
    let file = read(&format!("worker.list=w\nworker.w.type=ajp13\n{extra}"));
    match &file.config.get("w").unwrap().kind {
        WorkerKind::Ajp13(ajp) => ajp.clone(),
        other => panic!("{other:?}"),
    }
}

fn lb(extra: &str) -> (LbSettings, Vec<LbMember>) {
    let file = read(&format!(
        "worker.list=lb\nworker.lb.type=lb\nworker.lb.balance_workers=m1,m2\n{extra}"
    ));
    match &file.config.get("lb").unwrap().kind {
        WorkerKind::Lb(lb) => (lb.settings.clone(), lb.members.clone()),
        other => panic!("{other:?}"),
    }
}

fn status(extra: &str) -> StatusSettings {
    let file = read(&format!("worker.list=st\nworker.st.type=status\n{extra}"));
    match &file.config.get("st").unwrap().kind {
        WorkerKind::Status(st) => st.clone(),
        other => panic!("{other:?}"),
    }
}

const MS: fn(u64) -> Duration = Duration::from_millis;
const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn ajp13_defaults() {
    let d = ajp("");
    assert_eq!(d.host, "localhost");
    assert_eq!(d.port, 8009);
    assert_eq!(d.source, None);
    assert!(!d.prefer_ipv6);
    assert_eq!(d.secret, None);
    // jkgate's own defaults (one process): a Tomcat connector's maxThreads, and a queue as
    // long as a client waits; mod_jk's are 25 per httpd child and 200 ms.
    assert_eq!(d.connection_pool_size, 200);
    assert_eq!(d.connection_pool_minsize, 100);
    assert_eq!(d.connection_pool_timeout, S(0));
    assert_eq!(d.connection_acquire_timeout, S(30));
    assert_eq!(d.ping_mode, PingMode::NONE);
    assert_eq!(d.ping_timeout, MS(10_000));
    assert_eq!(d.connect_timeout, MS(0));
    assert_eq!(d.prepost_timeout, MS(0));
    assert_eq!(d.connection_ping_interval, S(0));
    assert_eq!(d.reply_timeout, MS(0));
    assert_eq!(d.socket_timeout, S(0));
    assert_eq!(d.socket_connect_timeout, MS(0));
    assert!(!d.socket_keepalive);
    assert_eq!(d.socket_buffer, 0);
    assert_eq!(d.max_packet_size, 8192);
    assert_eq!(d.retries, 2);
    assert_eq!(d.retry_interval, MS(100));
    assert_eq!(d.recovery_options.0, 0);
    assert!(d.fail_on_status.is_empty());
    assert_eq!(d.busy_limit, 0);
    assert_eq!(d.lb_retries, 2);
    assert_eq!(d, AjpSettings::default());
}

#[test]
fn ajp13_set_values_with_their_units() {
    let s = ajp(
        "worker.w.host=tc1.example\nworker.w.port=8109\nworker.w.source=10.0.0.5\n\
         worker.w.prefer_ipv6=yes\nworker.w.secret=s3cr3t\nworker.w.connection_pool_size=10\n\
         worker.w.connection_pool_minsize=2\nworker.w.connection_pool_timeout=600\n\
         worker.w.connection_acquire_timeout=1500\nworker.w.ping_mode=CI\nworker.w.ping_timeout=2000\n\
         worker.w.connect_timeout=3000\nworker.w.prepost_timeout=4000\nworker.w.connection_ping_interval=30\n\
         worker.w.reply_timeout=60000\nworker.w.socket_timeout=7\nworker.w.socket_connect_timeout=900\n\
         worker.w.socket_keepalive=On\nworker.w.socket_buffer=65536\nworker.w.max_packet_size=16k\n\
         worker.w.retries=3\nworker.w.retry_interval=250\nworker.w.recovery_options=7\n\
         worker.w.fail_on_status=500,-503 404\nworker.w.busy_limit=40\nworker.w.lb_retries=5\n",
    );
    assert_eq!(s.host, "tc1.example");
    assert_eq!(s.port, 8109);
    assert_eq!(s.source.as_deref(), Some("10.0.0.5"));
    assert!(s.prefer_ipv6);
    assert_eq!(s.secret.as_deref(), Some("s3cr3t"));
    assert_eq!(s.connection_pool_size, 10);
    assert_eq!(s.connection_pool_minsize, 2);
    assert_eq!(s.connection_pool_timeout, S(600));
    assert_eq!(s.connection_acquire_timeout, MS(1500));
    assert_eq!(
        s.ping_mode,
        PingMode {
            connect: true,
            prepost: false,
            interval: true
        }
    );
    assert_eq!(s.ping_timeout, MS(2000));
    assert_eq!(s.connect_timeout, MS(3000));
    assert_eq!(s.prepost_timeout, MS(4000));
    assert_eq!(s.connection_ping_interval, S(30));
    assert_eq!(s.reply_timeout, MS(60_000));
    assert_eq!(s.socket_timeout, S(7));
    assert_eq!(s.socket_connect_timeout, MS(900));
    assert!(s.socket_keepalive);
    assert_eq!(s.socket_buffer, 65536);
    assert_eq!(s.max_packet_size, 16384);
    assert_eq!(s.retries, 3);
    assert_eq!(s.retry_interval, MS(250));
    assert_eq!(s.recovery_options.0, 7);
    assert_eq!(s.fail_on_status.0, vec![500, -503, 404]);
    assert_eq!(s.fail_on_status.classify(500), Some(StatusFailure::Hard));
    assert_eq!(s.fail_on_status.classify(503), Some(StatusFailure::Soft));
    assert_eq!(s.fail_on_status.classify(200), None);
    assert_eq!(s.busy_limit, 40);
    assert_eq!(s.lb_retries, 5);
}

#[test]
fn ping_mode_fills_timeouts_from_ping_timeout() {
    let s = ajp("worker.w.ping_mode=A\n");
    assert_eq!(s.ping_mode, PingMode::ALL);
    assert_eq!(s.connect_timeout, MS(10_000));
    assert_eq!(s.prepost_timeout, MS(10_000));
    assert_eq!(s.connection_ping_interval, S(100));
    let s = ajp("worker.w.ping_mode=pxc\nworker.w.ping_timeout=5000\n");
    assert_eq!(s.connect_timeout, MS(5000));
    assert_eq!(s.prepost_timeout, MS(5000));
    assert_eq!(s.connection_ping_interval, S(0));
}

#[test]
fn derived_defaults_follow_their_sources() {
    let s = ajp(
        "worker.w.socket_timeout=12\nworker.w.retries=4\nworker.w.retry_interval=50\nworker.w.connection_pool_size=8\n",
    );
    assert_eq!(s.socket_connect_timeout, MS(12_000));
    assert_eq!(s.connection_pool_minsize, 4);
}

#[test]
fn acquire_timeout_does_not_follow_retries_and_an_explicit_one_is_honoured() {
    // mod_jk derives it from retries × retry_interval; jkgate queues instead (see
    // DEFAULT_CONNECTION_ACQUIRE_TIMEOUT).
    let s = ajp("worker.w.retries=4\nworker.w.retry_interval=50\n");
    assert_eq!(s.connection_acquire_timeout, S(30));
    let s = ajp("worker.w.retries=0\n");
    assert_eq!(s.retries, 1);
    assert_eq!(s.connection_acquire_timeout, S(30));
    let s = ajp("worker.w.connection_acquire_timeout=0\n");
    assert_eq!(s.connection_acquire_timeout, MS(0));
    let s = ajp("worker.w.connection_acquire_timeout=750\n");
    assert_eq!(s.connection_acquire_timeout, MS(750));
}

#[test]
fn max_packet_size_rounds_up_and_clamps() {
    assert_eq!(ajp("worker.w.max_packet_size=9000\n").max_packet_size, 9216);
    assert_eq!(ajp("worker.w.max_packet_size=100\n").max_packet_size, 8192);
    assert_eq!(ajp("worker.w.max_packet_size=1M\n").max_packet_size, 65536);
}

#[test]
fn socket_buffer_below_packet_size_is_raised() {
    assert_eq!(ajp("worker.w.socket_buffer=100\n").socket_buffer, 8192);
}

#[test]
fn lb_defaults() {
    let (s, members) = lb("");
    assert!(s.sticky_session);
    assert!(!s.sticky_session_force);
    assert_eq!(s.method, LbMethod::Request);
    assert_eq!(s.lock, LbLock::Optimistic);
    assert_eq!(s.retries, 2);
    assert_eq!(s.lb_retries, 2);
    assert_eq!(s.retry_interval, MS(100));
    assert_eq!(s.recover_time, S(60));
    assert_eq!(s.error_escalation_time, S(30));
    assert_eq!(s.max_reply_timeouts, 0);
    assert_eq!(s.secret, None);
    assert_eq!(s.session_cookie, "JSESSIONID");
    assert_eq!(s.session_path, ";jsessionid");
    assert!(!s.set_session_cookie);
    assert_eq!(s.session_cookie_path, "/");
    assert_eq!(s, LbSettings::default());
    let m = &members[0].member;
    assert_eq!(m.lbfactor, 1);
    assert_eq!(m.distance, 0);
    assert_eq!(m.route, "m1");
    assert_eq!(m.domain, "");
    assert_eq!(m.redirect, "");
    assert_eq!(m.activation, Activation::Active);
}

#[test]
fn lb_set_values_with_their_units() {
    let (s, _) = lb(
        "worker.lb.sticky_session=false\nworker.lb.sticky_session_force=1\nworker.lb.method=B\n\
         worker.lb.lock=P\nworker.lb.retries=3\nworker.lb.lb_retries=1\nworker.lb.retry_interval=500\n\
         worker.lb.recover_time=120\nworker.lb.error_escalation_time=10\nworker.lb.max_reply_timeouts=4\n\
         worker.lb.secret=shared\nworker.lb.session_cookie=SESSION\nworker.lb.session_path=;sess\n\
         worker.lb.set_session_cookie=yes\nworker.lb.session_cookie_path=/app\n",
    );
    assert!(!s.sticky_session);
    assert!(s.sticky_session_force);
    assert_eq!(s.method, LbMethod::Busyness);
    assert_eq!(s.lock, LbLock::Pessimistic);
    assert_eq!(s.retries, 3);
    assert_eq!(s.lb_retries, 1);
    assert_eq!(s.retry_interval, MS(500));
    assert_eq!(s.recover_time, S(120));
    assert_eq!(s.error_escalation_time, S(10));
    assert_eq!(s.max_reply_timeouts, 4);
    assert_eq!(s.secret.as_deref(), Some("shared"));
    assert_eq!(s.session_cookie, "SESSION");
    assert_eq!(s.session_path, ";sess");
    assert!(s.set_session_cookie);
    assert_eq!(s.session_cookie_path, "/app");
}

#[test]
fn error_escalation_time_defaults_to_half_the_recover_time() {
    let (s, _) = lb("worker.lb.recover_time=45\n");
    assert_eq!(s.error_escalation_time, S(22));
    let (s, _) = lb("worker.lb.recover_time=0\n");
    assert_eq!(s.recover_time, S(1));
    assert_eq!(s.error_escalation_time, S(0));
}

#[test]
fn lb_method_spellings() {
    for (value, method) in [
        ("Request", LbMethod::Request),
        ("r", LbMethod::Request),
        ("0", LbMethod::Request),
        ("Traffic", LbMethod::Traffic),
        ("1", LbMethod::Traffic),
        ("busyness", LbMethod::Busyness),
        ("2", LbMethod::Busyness),
        ("Session", LbMethod::Session),
        ("Sessions", LbMethod::Session),
        ("3", LbMethod::Session),
        ("Next", LbMethod::Next),
        ("n", LbMethod::Next),
        ("4", LbMethod::Next),
        ("xyz", LbMethod::Request),
    ] {
        let (s, _) = lb(&format!("worker.lb.method={value}\n"));
        assert_eq!(s.method, method, "{value}");
    }
    assert_eq!(LbMethod::Session.status_name(), "Sessions");
}

#[test]
fn lock_and_activation_spellings() {
    for (value, lock) in [
        ("O", LbLock::Optimistic),
        ("pessimistic", LbLock::Pessimistic),
        ("1", LbLock::Pessimistic),
        ("?", LbLock::Optimistic),
    ] {
        assert_eq!(
            lb(&format!("worker.lb.lock={value}\n")).0.lock,
            lock,
            "{value}"
        );
    }
    for (value, activation) in [
        ("A", Activation::Active),
        ("disabled", Activation::Disabled),
        ("1", Activation::Disabled),
        ("Stopped", Activation::Stopped),
        ("2", Activation::Stopped),
        ("x", Activation::Active),
    ] {
        let (_, m) = lb(&format!("worker.m1.activation={value}\n"));
        assert_eq!(m[0].member.activation, activation, "{value}");
    }
}

#[test]
fn member_set_values() {
    let (_, m) = lb(
        "worker.m1.lbfactor=3\nworker.m1.distance=-2\nworker.m1.route=dc1.node1\n\
         worker.m1.redirect=m2\nworker.m2.domain=zone\nworker.m2.stopped=true\n",
    );
    assert_eq!(m[0].member.lbfactor, 3);
    assert_eq!(m[0].member.distance, -2);
    assert_eq!(m[0].member.route, "dc1.node1");
    assert_eq!(
        m[0].member.domain, "dc1",
        "domain derived from the route before its first dot"
    );
    assert_eq!(m[0].member.redirect, "m2");
    assert_eq!(m[1].member.domain, "zone");
    assert_eq!(m[1].member.activation, Activation::Stopped);
}

#[test]
fn lbfactor_below_one_becomes_one() {
    let (_, m) = lb("worker.m1.lbfactor=0\n");
    assert_eq!(m[0].member.lbfactor, 1);
}

#[test]
fn member_port_zero_forces_stopped() {
    let (_, m) = lb("worker.m1.port=0\n");
    assert_eq!(m[0].member.activation, Activation::Stopped);
}

#[test]
fn member_inherits_the_lb_secret_unless_it_has_one() {
    let (_, m) = lb("worker.lb.secret=lbs\nworker.m2.secret=own\n");
    assert_eq!(m[0].ajp.secret.as_deref(), Some("lbs"));
    assert_eq!(m[1].ajp.secret.as_deref(), Some("own"));
}

#[test]
fn status_defaults_and_set_values() {
    let d = status("");
    assert_eq!(d, StatusSettings::default());
    assert_eq!(d.prefix, "worker");
    assert_eq!(d.ns.as_deref(), Some("jk:"));
    assert_eq!(d.good, vec!["a.o", "a.i", "a.b", "a.r"]);
    assert_eq!(d.bad, vec!["e", "s"]);
    let s = status(
        "worker.st.css=/s.css\nworker.st.prefix=jk\nworker.st.ns=-\nworker.st.xmlns=-\n\
         worker.st.doctype=<!DOCTYPE x>\nworker.st.read_only=true\nworker.st.user=alice\nworker.st.user=bob,carol\n\
         worker.st.user_case_insensitive=1\nworker.st.good=a\nworker.st.bad=e,s,d\n",
    );
    assert_eq!(s.css.as_deref(), Some("/s.css"));
    assert_eq!(s.prefix, "jk");
    assert_eq!(s.ns, None);
    assert_eq!(s.xmlns, None);
    assert_eq!(s.doctype.as_deref(), Some("<!DOCTYPE x>"));
    assert!(s.read_only);
    assert_eq!(s.users, vec!["alice", "bob", "carol"]);
    assert!(s.user_case_insensitive);
    assert_eq!(s.good, vec!["a"]);
    assert_eq!(s.bad, vec!["e", "s", "d"]);
}

#[test]
fn worker_maintain_default_set_and_negative() {
    assert_eq!(read("worker.list=a\n").config.maintain, S(60));
    assert_eq!(
        read("worker.list=a\nworker.maintain=15\n").config.maintain,
        S(15)
    );
    assert_eq!(
        read("worker.list=a\nworker.maintain=-5\n").config.maintain,
        S(0)
    );
}

#[test]
fn mount_directive_accumulates() {
    let file = read("worker.list=a\nworker.a.mount=/x /y\nworker.a.mount=/z\n");
    assert_eq!(file.config.get("a").unwrap().mounts, vec!["/x", "/y", "/z"]);
}

#[test]
fn integers_with_suffixes_and_junk_follow_mod_jk_1_2_49() {
    assert_eq!(ajp("worker.w.socket_buffer=64k\n").socket_buffer, 65536);
    assert_eq!(ajp("worker.w.busy_limit=12 requests\n").busy_limit, 12);
    // No digits → the default (1.2.48 would have used 0).
    let file = read("worker.list=w\nworker.w.busy_limit=many\nworker.w.retries=lots\n");
    let WorkerKind::Ajp13(s) = &file.config.get("w").unwrap().kind else {
        panic!()
    };
    assert_eq!(s.retries, 2);
    assert!(
        file.warnings
            .iter()
            .any(|w| w.key == "worker.w.busy_limit" && w.message.contains("1.2.48"))
    );
}

#[test]
fn booleans_in_all_spellings_and_bad_ones_keep_the_default() {
    for (value, expected) in [
        ("true", true),
        ("Yes", true),
        ("on", true),
        ("1", true),
        ("False", false),
        ("no", false),
        ("OFF", false),
        ("0", false),
        ("2", false),
        ("enable", false),
    ] {
        assert_eq!(
            ajp(&format!("worker.w.socket_keepalive={value}\n")).socket_keepalive,
            expected,
            "{value}"
        );
    }
    let (s, _) = lb("worker.lb.sticky_session=maybe\n");
    assert!(s.sticky_session, "invalid boolean keeps the default true");
}

#[test]
fn every_supported_directive_is_accepted() {
    let mut text = String::from("worker.list=w\n");
    for directive in jkgate::config::properties::SUPPORTED_DIRECTIVES {
        if [
            "type",
            "reference",
            "list",
            "maintain",
            "balance_workers",
            "balanced_workers",
            "port",
        ]
        .contains(directive)
        {
            continue;
        }
        text.push_str(&format!("worker.w.{directive}=1\n"));
    }
    let file = read(&text);
    assert!(file.config.get("w").is_some());
}

/// The warnings about status worker `st` being open to changes by anyone.
fn open_status_warnings(extra: &str) -> Vec<String> {
    let file = read(&format!("worker.list=st\nworker.st.type=status\n{extra}"));
    file.warnings
        .iter()
        .filter(|w| w.key == "worker.st")
        .map(|w| w.to_string())
        .collect()
}

#[test]
fn a_status_worker_anyone_may_change_is_warned_about() {
    let warnings = open_status_warnings("");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert!(
        warning.starts_with(
            "d.properties:2: worker.st: status worker `st` lets anyone change workers"
        ),
        "{warning}"
    );
    assert!(warning.contains("worker.st.read_only=true"), "{warning}");
    assert!(warning.contains("worker.st.user=NAME"), "{warning}");
    assert!(warning.contains("[status_users]"), "{warning}");
    // `read_only=false` written out is the same as the default.
    assert_eq!(open_status_warnings("worker.st.read_only=false\n").len(), 1);
}

#[test]
fn a_read_only_or_user_restricted_status_worker_is_not_warned_about() {
    assert!(open_status_warnings("worker.st.read_only=true\n").is_empty());
    assert!(open_status_warnings("worker.st.user=admin\n").is_empty());
}
