//! Deterministic unit tests of the lb decision core (mod_jk.md §3) with a manual clock.
#![cfg(feature = "proxy")]

use std::sync::Arc;
use std::time::Duration;

use jkgate::balancer::{
    Activation, AttemptReport, Balancer, Choice, FailureKind, LbFailure, LbMethod, LbSettings,
    ManualClock, MemberSettings, MemberState, Progress, RecoveryOptions, ReplayPolicy,
    RequestFacts, RequestPlan, Step, Verdict, lb_multipliers,
};

fn members(names: &[&str]) -> Vec<MemberSettings> {
    names.iter().map(|n| MemberSettings::new(*n)).collect()
}

fn lb_with(settings: LbSettings, members: Vec<MemberSettings>) -> (Balancer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let lb = Balancer::new(settings, members, clock.clone()).expect("valid lb");
    (lb, clock)
}

fn lb3() -> (Balancer, Arc<ManualClock>) {
    lb_with(LbSettings::new("lb"), members(&["node1", "node2", "node3"]))
}

fn get(uri: &str) -> RequestFacts {
    RequestFacts {
        method: "GET".into(),
        uri: bytes::Bytes::copy_from_slice(uri.as_bytes()),
        ..RequestFacts::default()
    }
}

fn with_cookie(uri: &str, cookie: &str) -> RequestFacts {
    RequestFacts {
        cookies: vec![bytes::Bytes::copy_from_slice(cookie.as_bytes())],
        ..get(uri)
    }
}

fn expect_attempt(lb: &Balancer, plan: &mut RequestPlan) -> Choice {
    match lb.next_step(plan) {
        Step::Attempt(choice) => choice,
        other => panic!("expected an attempt, got {other:?}"),
    }
}

/// Runs one request that succeeds on the first member chosen; returns that member.
fn serve_ok(lb: &Balancer, facts: &RequestFacts) -> String {
    let mut plan = lb.begin(facts);
    let choice = expect_attempt(lb, &mut plan);
    let guard = lb.start_attempt(&mut plan, &choice).expect("not busy");
    assert_eq!(
        guard.finish(&mut plan, AttemptReport::success(100)),
        Verdict::Done
    );
    choice.member.to_string()
}

/// Makes `name` fail one attempt with a backend failure (nothing else in flight → ERR).
fn fail_member(lb: &Balancer, name: &str) {
    lb.update_member(name, |_| {}).unwrap();
    let facts = with_cookie("/app", &format!("JSESSIONID=x.{}", route_of(lb, name)));
    let mut plan = lb.begin(&facts);
    let choice = expect_attempt(lb, &mut plan);
    assert_eq!(choice.member, name);
    let guard = lb.start_attempt(&mut plan, &choice).unwrap();
    let verdict = guard.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
    );
    assert_eq!(verdict, Verdict::TryAnother);
}

fn route_of(lb: &Balancer, name: &str) -> String {
    lb.topology()
        .members
        .iter()
        .find(|m| m.name == name)
        .unwrap()
        .route
        .clone()
}

fn state(lb: &Balancer, name: &str) -> MemberState {
    lb.status()
        .members
        .iter()
        .find(|m| m.name == name)
        .unwrap()
        .state
}

fn lb_value(lb: &Balancer, name: &str) -> u64 {
    lb.status()
        .members
        .iter()
        .find(|m| m.name == name)
        .unwrap()
        .lb_value
}

// === load counters and methods ===

#[test]
fn lb_mult_is_lcm_over_factor() {
    assert_eq!(lb_multipliers([1u64, 2, 3].into_iter()), vec![6, 3, 2]);
    assert_eq!(lb_multipliers([4u64, 6].into_iter()), vec![3, 2]);
    assert_eq!(lb_multipliers([0u64, 1].into_iter()), vec![1, 1]);
}

#[test]
fn request_method_rotates_equal_members_via_the_start_offset() {
    let (lb, _) = lb3();
    let order: Vec<String> = (0..6).map(|_| serve_ok(&lb, &get("/app"))).collect();
    assert_eq!(
        order,
        ["node1", "node2", "node3", "node1", "node2", "node3"]
    );
}

#[test]
fn request_method_weights_by_factor() {
    let mut ms = members(&["a", "b"]);
    ms[1].lbfactor = 2;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    let order: Vec<String> = (0..6).map(|_| serve_ok(&lb, &get("/"))).collect();
    assert_eq!(order, ["a", "b", "b", "a", "b", "b"]);
    assert_eq!(lb_value(&lb, "a"), 4);
    assert_eq!(lb_value(&lb, "b"), 4);
}

#[test]
fn request_method_counts_failed_attempts_too() {
    let (lb, _) = lb3();
    let mut plan = lb.begin(&get("/"));
    let choice = expect_attempt(&lb, &mut plan);
    let guard = lb.start_attempt(&mut plan, &choice).unwrap();
    guard.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
    );
    assert_eq!(lb_value(&lb, &choice.member), 1);
}

#[test]
fn session_method_counts_only_requests_without_session() {
    let settings = LbSettings {
        method: LbMethod::Session,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["node1", "node2"]));
    for _ in 0..3 {
        assert_eq!(
            serve_ok(&lb, &with_cookie("/", "JSESSIONID=abc.node1")),
            "node1"
        );
    }
    assert_eq!(lb_value(&lb, "node1"), 0);
    assert_eq!(serve_ok(&lb, &get("/")), "node1");
    assert_eq!(serve_ok(&lb, &get("/")), "node2");
    assert_eq!(lb_value(&lb, "node1"), 1);
    let status = lb.status();
    assert_eq!(status.members[0].sessions, 1);
    assert_eq!(status.settings.method.status_name(), "Sessions");
}

#[test]
fn stateless_requests_do_not_count_as_sessions_and_rotate() {
    let settings = LbSettings {
        method: LbMethod::Session,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["a", "b", "c"]));
    let facts = RequestFacts {
        stateless: true,
        ..get("/")
    };
    let order: Vec<String> = (0..4).map(|_| serve_ok(&lb, &facts)).collect();
    assert_eq!(order, ["a", "b", "c", "a"]);
    assert!(
        lb.status()
            .members
            .iter()
            .all(|m| m.sessions == 0 && m.lb_value == 0)
    );
}

#[test]
fn traffic_method_adds_bytes_times_mult_after_the_attempt() {
    let mut ms = members(&["a", "b"]);
    ms[0].lbfactor = 2;
    let settings = LbSettings {
        method: LbMethod::Traffic,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, ms);
    assert_eq!(serve_ok(&lb, &get("/")), "a");
    // lb_mult: a = 1, b = 2; success() reports 100 bytes.
    assert_eq!(lb_value(&lb, "a"), 100);
    assert_eq!(serve_ok(&lb, &get("/")), "b");
    assert_eq!(lb_value(&lb, "b"), 200);
}

#[test]
fn busyness_counts_requests_in_flight_and_is_not_decayed() {
    let settings = LbSettings {
        method: LbMethod::Busyness,
        ..LbSettings::new("lb")
    };
    let (lb, clock) = lb_with(settings, members(&["a", "b"]));
    let mut p1 = lb.begin(&get("/"));
    let c1 = expect_attempt(&lb, &mut p1);
    let g1 = lb.start_attempt(&mut p1, &c1).unwrap();
    let mut p2 = lb.begin(&get("/"));
    let c2 = expect_attempt(&lb, &mut p2);
    let g2 = lb.start_attempt(&mut p2, &c2).unwrap();
    assert_ne!(c1.member, c2.member);
    assert_eq!(lb_value(&lb, "a"), 1);
    clock.advance(Duration::from_secs(60));
    assert!(lb.maintain().ran);
    assert_eq!(lb_value(&lb, "a"), 1, "Busyness is not decayed");
    g1.finish(&mut p1, AttemptReport::success(10));
    drop(g2); // cancelled request: the drop guard releases the count
    assert_eq!(lb_value(&lb, "a"), 0);
    assert_eq!(lb_value(&lb, "b"), 0);
    assert_eq!(lb.status().busy, 0);
    assert!(lb.status().members.iter().all(|m| m.busy == 0));
}

#[test]
fn maintenance_halves_load_values_per_interval() {
    let (lb, clock) = lb3();
    for _ in 0..12 {
        serve_ok(&lb, &get("/"));
    }
    assert_eq!(lb_value(&lb, "node1"), 4);
    clock.advance(Duration::from_secs(30));
    assert!(!lb.maintain().ran, "interval not reached");
    clock.advance(Duration::from_secs(30));
    let report = lb.maintain();
    assert!(report.ran);
    assert_eq!(report.decay_shift, 1);
    assert_eq!(lb_value(&lb, "node1"), 2);
    clock.advance(Duration::from_secs(120));
    assert_eq!(lb.maintain().decay_shift, 2);
    assert_eq!(lb_value(&lb, "node1"), 0);
}

#[test]
fn maintain_zero_disables_maintenance() {
    let settings = LbSettings {
        maintain_interval: Duration::ZERO,
        ..LbSettings::new("lb")
    };
    let (lb, clock) = lb_with(settings, members(&["a", "b"]));
    serve_ok(&lb, &get("/"));
    clock.advance(Duration::from_secs(3600));
    assert!(!lb.maintain().ran);
    assert_eq!(lb_value(&lb, "a"), 1);
}

#[test]
fn next_method_subtracts_the_minimum_instead_of_halving() {
    let settings = LbSettings {
        method: LbMethod::Next,
        ..LbSettings::new("lb")
    };
    let (lb, clock) = lb_with(settings, members(&["a", "b"]));
    for _ in 0..5 {
        serve_ok(&lb, &get("/"));
    }
    assert_eq!((lb_value(&lb, "a"), lb_value(&lb, "b")), (3, 2));
    clock.advance(Duration::from_secs(60));
    lb.maintain();
    assert_eq!((lb_value(&lb, "a"), lb_value(&lb, "b")), (1, 0));
}

#[test]
fn distance_tiers_prefer_the_lowest_usable_distance() {
    let mut ms = members(&["near1", "near2", "far"]);
    ms[2].distance = 0;
    ms[0].distance = 1;
    ms[1].distance = 1;
    ms[2].distance = 0;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    for _ in 0..4 {
        assert_eq!(serve_ok(&lb, &get("/")), "far");
    }
    fail_member(&lb, "far");
    let got: Vec<String> = (0..4).map(|_| serve_ok(&lb, &get("/"))).collect();
    assert!(got.iter().all(|m| m != "far"));
    assert!(got.contains(&"near1".to_owned()) && got.contains(&"near2".to_owned()));
}

// === activation ===

#[test]
fn disabled_member_gets_only_sticky_requests() {
    let mut ms = members(&["node1", "node2", "node3"]);
    ms[1].activation = Activation::Disabled;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    for _ in 0..6 {
        assert_ne!(serve_ok(&lb, &get("/")), "node2");
    }
    assert_eq!(
        serve_ok(&lb, &with_cookie("/", "JSESSIONID=abc.node2")),
        "node2"
    );
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=abc.node2"));
    assert_eq!(
        expect_attempt(&lb, &mut plan).activation,
        Activation::Disabled
    );
}

#[test]
fn stopped_member_gets_nothing_not_even_its_sessions() {
    let mut ms = members(&["node1", "node2", "node3"]);
    ms[1].activation = Activation::Stopped;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    for _ in 0..6 {
        assert_ne!(serve_ok(&lb, &get("/")), "node2");
    }
    assert_ne!(
        serve_ok(&lb, &with_cookie("/", "JSESSIONID=abc.node2")),
        "node2"
    );
}

#[test]
fn per_mount_activation_override_applies() {
    let (lb, _) = lb3();
    let facts = RequestFacts {
        activation_overrides: vec![
            ("node1".into(), Activation::Stopped),
            ("node2".into(), Activation::Stopped),
        ],
        ..get("/")
    };
    for _ in 0..3 {
        assert_eq!(serve_ok(&lb, &facts), "node3");
    }
}

#[test]
fn activation_change_resets_load_values() {
    let (lb, _) = lb3();
    for _ in 0..3 {
        serve_ok(&lb, &get("/"));
    }
    lb.update_member("node2", |m| m.activation = Activation::Disabled)
        .unwrap();
    assert!(lb.status().members.iter().all(|m| m.lb_value == 0));
    assert_eq!(lb.status().members[1].activation.status_name(), "DIS");
}

#[test]
fn factor_change_recomputes_multipliers() {
    let (lb, _) = lb3();
    lb.update_member("node3", |m| m.lbfactor = 3).unwrap();
    let mults: Vec<u64> = lb.status().members.iter().map(|m| m.lb_mult).collect();
    assert_eq!(mults, vec![3, 3, 1]);
    assert!(lb.update_member("nodeX", |_| {}).is_err());
}

// === sticky sessions ===

#[test]
fn cookie_route_sticks_to_its_member() {
    let (lb, _) = lb3();
    for _ in 0..5 {
        let mut plan = lb.begin(&with_cookie("/app", "JSESSIONID=ABC123.node3"));
        let choice = expect_attempt(&lb, &mut plan);
        assert_eq!(choice.member, "node3");
        assert!(choice.sticky);
        assert_eq!(choice.route, "node3");
    }
}

#[test]
fn path_parameter_route_sticks_and_beats_the_cookie() {
    let (lb, _) = lb3();
    let facts = with_cookie("/app/page;jsessionid=ABC.node2", "JSESSIONID=XYZ.node1");
    assert_eq!(serve_ok(&lb, &facts), "node2");
}

#[test]
fn several_cookie_candidates_are_tried_in_order() {
    let (lb, _) = lb3();
    let facts = with_cookie("/", "JSESSIONID=old.gone; JSESSIONID=new.node3");
    assert_eq!(serve_ok(&lb, &facts), "node3");
    fail_member(&lb, "node1");
    let facts = with_cookie("/", "JSESSIONID=a.node1; JSESSIONID=b.node2");
    assert_eq!(serve_ok(&lb, &facts), "node2");
}

#[test]
fn a_failover_attempt_sees_only_the_first_session_candidate() {
    // mod_jk 1.2.48 cuts the `;`-joined id list in place during its first choice: after
    // the first candidate's member failed, the second cookie is no longer consulted and
    // the request is balanced by value (observed in tests/lb_modjk_differential.rs).
    let (lb, _) = lb3();
    assert_eq!(serve_ok(&lb, &get("/")), "node1");
    assert_eq!(serve_ok(&lb, &get("/")), "node2");
    let facts = with_cookie("/", "JSESSIONID=a.node2; JSESSIONID=b.node1");
    let mut plan = lb.begin(&facts);
    let first = expect_attempt(&lb, &mut plan);
    assert_eq!(first.member, "node2");
    assert!(first.sticky);
    let guard = lb.start_attempt(&mut plan, &first).unwrap();
    assert_eq!(
        guard.finish(
            &mut plan,
            AttemptReport::failed(FailureKind::Backend, Progress::NothingSent)
        ),
        Verdict::TryAnother
    );
    let second = expect_attempt(&lb, &mut plan);
    assert_eq!(
        second.member, "node3",
        "balanced by value, not routed to b.node1"
    );
    assert!(!second.sticky);
    assert_eq!(
        second.route, "node2",
        "the route of the first attempt is kept"
    );
}

#[test]
fn route_is_the_text_after_the_first_dot() {
    let ms = vec![
        MemberSettings::new("w1").with_route("dc1.node1"),
        MemberSettings::new("w2").with_route("dc1.node2"),
    ];
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    assert_eq!(
        serve_ok(&lb, &with_cookie("/", "JSESSIONID=ABC.dc1.node2")),
        "w2"
    );
}

#[test]
fn routes_not_names_are_compared() {
    let ms = vec![
        MemberSettings::new("w1").with_route("node1"),
        MemberSettings::new("w2").with_route("node2"),
    ];
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    assert_eq!(
        serve_ok(&lb, &with_cookie("/", "JSESSIONID=ABC.node2")),
        "w2"
    );
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=ABC.w2"));
    assert!(!expect_attempt(&lb, &mut plan).sticky);
}

#[test]
fn sticky_session_false_ignores_session_ids() {
    let settings = LbSettings {
        sticky_session: false,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["node1", "node2"]));
    let facts = with_cookie("/", "JSESSIONID=ABC.node2");
    let got: Vec<String> = (0..2).map(|_| serve_ok(&lb, &facts)).collect();
    assert_eq!(got, ["node1", "node2"]);
    assert_eq!(
        lb.status().members[0].sessions,
        1,
        "every request is a session"
    );
}

#[test]
fn sticky_ignore_and_route_override() {
    let (lb, _) = lb3();
    let ignore = RequestFacts {
        sticky_ignore: true,
        ..with_cookie("/", "JSESSIONID=ABC.node3")
    };
    assert_eq!(serve_ok(&lb, &ignore), "node1");
    let forced = RequestFacts {
        route_override: Some("node2".into()),
        ..with_cookie("/", "JSESSIONID=ABC.node3")
    };
    assert_eq!(serve_ok(&lb, &forced), "node2");
}

#[test]
fn dead_owner_moves_the_session_elsewhere() {
    let (lb, _) = lb3();
    fail_member(&lb, "node2");
    assert_eq!(state(&lb, "node2"), MemberState::Error);
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=ABC.node2"));
    let choice = expect_attempt(&lb, &mut plan);
    assert_ne!(choice.member, "node2");
    assert!(
        !choice.sticky,
        "the session's member is unusable: mod_jk 1.2.48 treats the request as failover \
         (no longer sticky; it emits the routing cookie), see tests/lb_modjk_differential.rs"
    );
}

#[test]
fn sticky_session_force_answers_503_instead_of_moving() {
    let settings = LbSettings {
        sticky_session_force: true,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["node1", "node2", "node3"]));
    fail_member(&lb, "node2");
    // A further request with forced recovery: node2 ERR → ERR/FRC and is tried.
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=ABC.node2"));
    let choice = expect_attempt(&lb, &mut plan);
    assert_eq!(choice.member, "node2");
    assert_eq!(state(&lb, "node2"), MemberState::ForcedRecovery);
    let guard = lb.start_attempt(&mut plan, &choice).unwrap();
    guard.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
    );
    let end = loop {
        match lb.next_step(&mut plan) {
            Step::Attempt(c) => panic!("must not move the session to {}", c.member),
            Step::Wait(_) => continue,
            Step::GiveUp(e) => break e,
        }
    };
    assert_eq!(end.status, 503);
    // Unknown route with force: 503 as well (mod_jk's code, the manual says 500).
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=ABC.nowhere"));
    let end = loop {
        match lb.next_step(&mut plan) {
            Step::Attempt(c) => panic!("unknown route must not be balanced to {}", c.member),
            Step::Wait(_) => continue,
            Step::GiveUp(e) => break e,
        }
    };
    assert_eq!((end.status, end.failure), (503, LbFailure::NoMember));
}

#[test]
fn unavailable_owner_prefers_its_domain() {
    let ms = vec![
        MemberSettings::new("a1").with_route("dcA.n1"),
        MemberSettings::new("b1").with_route("dcB.n1"),
        MemberSettings::new("a2").with_route("dcA.n2"),
        MemberSettings::new("b2").with_route("dcB.n2"),
    ];
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    fail_member(&lb, "a1");
    for _ in 0..3 {
        let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=S.dcA.n1"));
        let choice = expect_attempt(&lb, &mut plan);
        assert_eq!(choice.member, "a2");
        assert_eq!(
            choice.route, "dcA",
            "the request's route becomes the domain"
        );
    }
}

#[test]
fn route_matching_only_a_domain_picks_the_domains_best_member() {
    let ms = vec![
        MemberSettings::new("a1").with_route("dcA.n1"),
        MemberSettings::new("a2").with_route("dcA.n2"),
    ];
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    serve_ok(&lb, &get("/")); // a1 now has the higher load
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=S.dcA.n9"));
    let choice = expect_attempt(&lb, &mut plan);
    assert_eq!(choice.member, "a2");
    assert!(!choice.sticky);
}

#[test]
fn redirect_beats_domain_and_may_target_a_disabled_standby() {
    let mut ms = vec![
        MemberSettings::new("a1").with_route("dcA.n1"),
        MemberSettings::new("a2").with_route("dcA.n2"),
        MemberSettings::new("standby"),
    ];
    ms[0].redirect = "standby".into();
    ms[2].activation = Activation::Disabled;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    fail_member(&lb, "a1");
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=S.dcA.n1"));
    let choice = expect_attempt(&lb, &mut plan);
    assert_eq!(choice.member, "standby");
    assert_eq!(choice.route, "standby");
}

#[test]
fn failover_worker_is_the_first_redirect_when_nothing_is_usable() {
    let mut ms = members(&["node1", "standby"]);
    ms[0].redirect = "standby".into();
    ms[1].activation = Activation::Disabled;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    assert_eq!(serve_ok(&lb, &get("/")), "node1");
    fail_member(&lb, "node1");
    let mut plan = lb.begin(&get("/"));
    let choice = expect_attempt(&lb, &mut plan);
    assert_eq!(choice.member, "standby");
    assert!(!choice.sticky);
}

#[test]
fn single_member_shortcut() {
    let (lb, _) = lb_with(LbSettings::new("lb"), members(&["only"]));
    let mut plan = lb.begin(&get("/"));
    let choice = expect_attempt(&lb, &mut plan);
    assert!(choice.sticky, "single member requests count as sticky");
    let mut ms = members(&["only"]);
    ms[0].activation = Activation::Disabled;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    assert_eq!(
        serve_ok(&lb, &with_cookie("/", "JSESSIONID=x.only")),
        "only"
    );
    let mut plan = lb.begin(&get("/"));
    loop {
        match lb.next_step(&mut plan) {
            Step::Attempt(c) => panic!("disabled single member got a new request: {c:?}"),
            Step::Wait(_) => continue,
            Step::GiveUp(e) => {
                assert_eq!(e.status, 503);
                break;
            }
        }
    }
}

// === routing cookie ===

#[test]
fn set_session_cookie_mints_a_route_cookie_when_not_sticky() {
    let settings = LbSettings {
        set_session_cookie: true,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings.clone(), members(&["node1", "node2"]));
    let mut plan = lb.begin(&get("/"));
    let choice = expect_attempt(&lb, &mut plan);
    assert_eq!(
        choice.set_cookie.as_deref(),
        Some("JSESSIONID=.node1;PATH=/;HttpOnly")
    );
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=.node2"));
    assert_eq!(expect_attempt(&lb, &mut plan).set_cookie, None);

    let custom = LbSettings {
        session_cookie: "ROUTEID".into(),
        session_cookie_path: "/shop".into(),
        ..settings
    };
    let (lb, _) = lb_with(custom, members(&["node1"]));
    let facts = RequestFacts {
        secure: true,
        ..get("/")
    };
    let ms2 = members(&["node1", "node2"]);
    let (lb2, _) = lb_with(lb.topology().settings.clone(), ms2);
    let mut plan = lb2.begin(&facts);
    assert_eq!(
        expect_attempt(&lb2, &mut plan).set_cookie.as_deref(),
        Some("ROUTEID=.node1;PATH=/shop;HttpOnly;Secure")
    );
}

// === outcomes and member states ===

#[test]
fn backend_failure_with_nothing_else_in_flight_is_a_global_error() {
    let (lb, _) = lb3();
    fail_member(&lb, "node1");
    assert_eq!(state(&lb, "node1"), MemberState::Error);
    assert_eq!(lb.status().members[0].errors, 1);
    assert_eq!(MemberState::Error.status_name(), "ERR");
}

#[test]
fn backend_failure_while_busy_is_local_until_escalation_time() {
    let (lb, clock) = lb3();
    // Another request is in flight on node1.
    let mut other = lb.begin(&with_cookie("/", "JSESSIONID=o.node1"));
    let oc = expect_attempt(&lb, &mut other);
    let _busy = lb.start_attempt(&mut other, &oc).unwrap();

    let fail_once = || {
        let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=f.node1"));
        let c = expect_attempt(&lb, &mut plan);
        assert_eq!(c.member, "node1");
        let g = lb.start_attempt(&mut plan, &c).unwrap();
        let v = g.finish(
            &mut plan,
            AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
        );
        assert_eq!(v, Verdict::TryAnother);
        // The failed member is excluded for the rest of the request.
        let next = expect_attempt(&lb, &mut plan);
        assert_ne!(next.member, "node1");
    };
    fail_once();
    assert_ne!(state(&lb, "node1"), MemberState::Error, "local error only");
    clock.advance(Duration::from_secs(29));
    fail_once();
    assert_ne!(state(&lb, "node1"), MemberState::Error);
    clock.advance(Duration::from_secs(1));
    fail_once();
    assert_eq!(state(&lb, "node1"), MemberState::Error, "episode 30 s old");
}

#[test]
fn lingering_local_error_escalates_at_maintenance() {
    let (lb, clock) = lb3();
    let mut other = lb.begin(&with_cookie("/", "JSESSIONID=o.node1"));
    let oc = expect_attempt(&lb, &mut other);
    let _busy = lb.start_attempt(&mut other, &oc).unwrap();
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=f.node1"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
    );
    assert_eq!(state(&lb, "node1"), MemberState::Ok);
    clock.advance(Duration::from_secs(60));
    let report = lb.maintain();
    assert_eq!(report.escalated, vec!["node1".to_owned()]);
    assert_eq!(state(&lb, "node1"), MemberState::Error);
}

#[test]
fn error_escalation_time_zero_escalates_at_once() {
    let settings = LbSettings {
        error_escalation_time: Duration::ZERO,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["node1", "node2"]));
    let mut other = lb.begin(&with_cookie("/", "JSESSIONID=o.node1"));
    let oc = expect_attempt(&lb, &mut other);
    let _busy = lb.start_attempt(&mut other, &oc).unwrap();
    fail_member(&lb, "node1");
    assert_eq!(state(&lb, "node1"), MemberState::Error);
}

#[test]
fn hard_fail_on_status_marks_error_soft_does_not() {
    let (lb, _) = lb3();
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node1"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    let v = g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::SoftStatus(503), Progress::NothingSent),
    );
    assert_eq!(v, Verdict::TryAnother);
    assert_eq!(state(&lb, "node1"), MemberState::Ok);
    assert_ne!(expect_attempt(&lb, &mut plan).member, "node1");

    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node2"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::HardStatus(500), Progress::NothingSent),
    );
    assert_eq!(state(&lb, "node2"), MemberState::Error);
}

#[test]
fn reply_timeouts_over_the_limit_mark_error() {
    let settings = LbSettings {
        max_reply_timeouts: 1,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["node1", "node2"]));
    let time_out = || {
        let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node1"));
        let c = expect_attempt(&lb, &mut plan);
        let g = lb.start_attempt(&mut plan, &c).unwrap();
        g.finish(
            &mut plan,
            AttemptReport::failed(FailureKind::ReplyTimeout, Progress::NothingSent),
        )
    };
    time_out();
    assert_eq!(state(&lb, "node1"), MemberState::Ok);
    time_out();
    assert_eq!(state(&lb, "node1"), MemberState::Error);

    // Default max_reply_timeouts = 0: one timeout is enough.
    let (lb, _) = lb3();
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node3"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::ReplyTimeout, Progress::NothingSent),
    );
    assert_eq!(state(&lb, "node3"), MemberState::Error);
}

#[test]
fn framing_error_leaves_the_member_state_alone() {
    let (lb, _) = lb3();
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node1"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    let v = g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Framing, Progress::NothingSent),
    );
    assert_eq!(v, Verdict::TryAnother);
    assert_eq!(state(&lb, "node1"), MemberState::Ok);
}

#[test]
fn client_error_stops_without_failover_and_keeps_the_member_ok() {
    let (lb, _) = lb3();
    let mut plan = lb.begin(&get("/"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    let v = g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Client, Progress::NothingSent),
    );
    match v {
        Verdict::Stop(e) => {
            assert_eq!(e.status, 400);
            assert_eq!(e.failure, LbFailure::NotRetryable);
        }
        other => panic!("client error must stop: {other:?}"),
    }
    assert_eq!(state(&lb, &c.member), MemberState::Ok);
}

#[test]
fn busy_limit_marks_busy_and_fails_over() {
    let mut ms = members(&["node1", "node2"]);
    ms[0].busy_limit = 1;
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    let mut p1 = lb.begin(&with_cookie("/", "JSESSIONID=a.node1"));
    let c1 = expect_attempt(&lb, &mut p1);
    let g1 = lb.start_attempt(&mut p1, &c1).unwrap();
    let mut p2 = lb.begin(&with_cookie("/", "JSESSIONID=b.node1"));
    let c2 = expect_attempt(&lb, &mut p2);
    assert_eq!(c2.member, "node1");
    assert!(lb.start_attempt(&mut p2, &c2).is_err());
    assert_eq!(state(&lb, "node1"), MemberState::Busy);
    assert_eq!(MemberState::Busy.status_name(), "OK/BUSY");
    assert_eq!(expect_attempt(&lb, &mut p2).member, "node2");
    g1.finish(&mut p1, AttemptReport::success(1));
    // The next request finds node1 below its limit again and sets it back to OK.
    let mut p3 = lb.begin(&with_cookie("/", "JSESSIONID=c.node1"));
    assert_eq!(expect_attempt(&lb, &mut p3).member, "node1");
    assert_eq!(state(&lb, "node1"), MemberState::Ok);
}

#[test]
fn no_slot_marks_busy() {
    let (lb, _) = lb3();
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node1"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    let v = g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Busy, Progress::NothingSent),
    );
    assert_eq!(v, Verdict::TryAnother);
    assert_eq!(state(&lb, "node1"), MemberState::Busy);
}

// === recovery ===

#[test]
fn error_member_recovers_after_recover_time_and_is_probed() {
    let (lb, clock) = lb3();
    for _ in 0..6 {
        serve_ok(&lb, &get("/"));
    }
    fail_member(&lb, "node2");
    clock.advance(Duration::from_secs(60));
    let report = lb.maintain();
    assert!(report.recovered.is_empty(), "needs more than recover_time");
    assert_eq!(state(&lb, "node2"), MemberState::Error);
    clock.advance(Duration::from_secs(60));
    let report = lb.maintain();
    assert_eq!(report.recovered, vec!["node2".to_owned()]);
    assert_eq!(state(&lb, "node2"), MemberState::Recovering);
    let max = lb
        .status()
        .members
        .iter()
        .map(|m| m.lb_value)
        .max()
        .unwrap();
    assert_eq!(
        lb_value(&lb, "node2"),
        max,
        "returns with the current maximum"
    );
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node2"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    assert_eq!(state(&lb, "node2"), MemberState::Probing);
    assert_eq!(MemberState::Probing.status_name(), "ERR/PRB");
    g.finish(&mut plan, AttemptReport::success(1));
    assert_eq!(state(&lb, "node2"), MemberState::Ok);
}

#[test]
fn cancelled_probe_hands_the_member_back_to_recovery() {
    let (lb, clock) = lb3();
    fail_member(&lb, "node2");
    clock.advance(Duration::from_secs(61));
    lb.maintain();
    let mut plan = lb.begin(&with_cookie("/", "JSESSIONID=a.node2"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    assert_eq!(lb.status().members[1].busy, 1);
    drop(g);
    assert_eq!(state(&lb, "node2"), MemberState::Recovering);
    assert_eq!(lb.status().members[1].busy, 0);
    assert_eq!(lb.status().busy, 0);
}

#[test]
fn request_forces_recovery_when_every_member_is_in_error() {
    let (lb, _) = lb_with(LbSettings::new("lb"), members(&["node1", "node2"]));
    fail_member(&lb, "node1");
    fail_member(&lb, "node2");
    let mut plan = lb.begin(&get("/"));
    let c = expect_attempt(&lb, &mut plan);
    assert_eq!(state(&lb, "node1"), MemberState::ForcedRecovery);
    assert_eq!(state(&lb, "node2"), MemberState::ForcedRecovery);
    assert_eq!(MemberState::ForcedRecovery.status_name(), "ERR/FRC");
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    g.finish(&mut plan, AttemptReport::success(1));
    assert_eq!(state(&lb, &c.member), MemberState::Ok);
}

#[test]
fn maintenance_forces_recovery_when_every_member_is_in_error() {
    let (lb, clock) = lb_with(LbSettings::new("lb"), members(&["node1", "node2"]));
    fail_member(&lb, "node1");
    fail_member(&lb, "node2");
    clock.advance(Duration::from_secs(60));
    let report = lb.maintain();
    assert_eq!(report.forced, vec!["node1".to_owned(), "node2".to_owned()]);
    assert_eq!(state(&lb, "node1"), MemberState::ForcedRecovery);
}

#[test]
fn idle_members_are_marked_at_maintenance() {
    let (lb, clock) = lb3();
    serve_ok(&lb, &get("/"));
    assert_eq!(state(&lb, "node1"), MemberState::Ok);
    assert_eq!(state(&lb, "node2"), MemberState::Idle);
    assert_eq!(MemberState::Idle.status_name(), "OK/IDLE");
    clock.advance(Duration::from_secs(60));
    lb.maintain();
    assert_eq!(
        state(&lb, "node1"),
        MemberState::Ok,
        "elected in this interval"
    );
    clock.advance(Duration::from_secs(60));
    lb.maintain();
    assert_eq!(state(&lb, "node1"), MemberState::Idle);
}

#[test]
fn status_recover_and_reset() {
    let (lb, _) = lb3();
    fail_member(&lb, "node1");
    assert!(lb.recover_member("node1").unwrap());
    assert_eq!(state(&lb, "node1"), MemberState::Recovering);
    assert!(!lb.recover_member("node2").unwrap());
    lb.reset(None).unwrap();
    assert!(
        lb.status()
            .members
            .iter()
            .all(|m| m.state == MemberState::Idle && m.lb_value == 0 && m.errors == 0)
    );
}

// === retries and replay safety ===

fn fail_all_the_way(
    lb: &Balancer,
    facts: &RequestFacts,
    report: AttemptReport,
) -> (Vec<String>, u32) {
    let mut plan = lb.begin(facts);
    let mut tried = Vec::new();
    let mut waits = 0;
    loop {
        match lb.next_step(&mut plan) {
            Step::Attempt(c) => {
                tried.push(c.member.to_string());
                let g = lb.start_attempt(&mut plan, &c).unwrap();
                if let Verdict::Stop(_) = g.finish(&mut plan, report.clone()) {
                    return (tried, waits);
                }
            }
            Step::Wait(d) => {
                assert_eq!(d, Duration::from_millis(100));
                waits += 1;
            }
            Step::GiveUp(e) => {
                assert_eq!(e.lb, "lb");
                assert_eq!(e.attempts.len(), tried.len());
                return (tried, waits);
            }
        }
    }
}

#[test]
fn lb_retries_caps_members_per_round_and_retries_counts_rounds() {
    // Framing failures leave the global state alone (local errors only), so every round
    // sees all members again.
    let (lb, _) = lb3();
    let (tried, waits) = fail_all_the_way(
        &lb,
        &get("/"),
        AttemptReport::failed(FailureKind::Framing, Progress::NothingSent),
    );
    assert_eq!(tried.len(), 4, "2 members per round × 2 rounds: {tried:?}");
    assert_eq!(waits, 1);
    let settings = LbSettings {
        retries: 3,
        lb_retries: 5,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["a", "b", "c"]));
    let (tried, waits) = fail_all_the_way(
        &lb,
        &get("/"),
        AttemptReport::failed(FailureKind::Framing, Progress::NothingSent),
    );
    assert_eq!(tried.len(), 9, "capped by the member count: {tried:?}");
    assert_eq!(waits, 2);
}

#[test]
fn busy_members_stay_out_until_the_next_request() {
    // OK/BUSY is global: the next round of the same request does not see the member
    // again (mod_jk resets OK/BUSY only when a new request starts).
    let (lb, _) = lb3();
    let (tried, _) = fail_all_the_way(
        &lb,
        &get("/"),
        AttemptReport::failed(FailureKind::Busy, Progress::NothingSent),
    );
    assert_eq!(tried, ["node1", "node2", "node3"]);
    assert_eq!(serve_ok(&lb, &get("/")), "node1");
}

#[test]
fn a_member_that_failed_is_not_tried_again_in_the_same_round() {
    let settings = LbSettings {
        retries: 1,
        lb_retries: 3,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["a", "b", "c"]));
    let (tried, _) = fail_all_the_way(
        &lb,
        &get("/"),
        AttemptReport::failed(FailureKind::Framing, Progress::NothingSent),
    );
    let mut sorted = tried.clone();
    sorted.sort();
    assert_eq!(sorted, ["a", "b", "c"]);
}

#[test]
fn post_that_reached_a_member_is_never_replayed_by_default() {
    let (lb, _) = lb3();
    let post = RequestFacts {
        method: "POST".into(),
        ..get("/")
    };
    let (tried, _) = fail_all_the_way(
        &lb,
        &post,
        AttemptReport::failed(FailureKind::Backend, Progress::RequestSent),
    );
    assert_eq!(tried.len(), 1);
}

#[test]
fn failure_before_anything_was_sent_is_retried_for_any_method() {
    let (lb, _) = lb3();
    let post = RequestFacts {
        method: "POST".into(),
        ..get("/")
    };
    let mut plan = lb.begin(&post);
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    let v = g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
    );
    assert_eq!(v, Verdict::TryAnother);
    let next = expect_attempt(&lb, &mut plan);
    assert_ne!(next.member, c.member);
    assert_eq!(
        next.route, c.route,
        "route attribute is not updated on failover"
    );
}

#[test]
fn idempotent_requests_without_a_body_go_to_another_member_by_default() {
    // (method, has body, sent to a second member after it reached the first)
    let cases = [
        ("GET", false, true),
        ("HEAD", false, true),
        ("OPTIONS", false, true),
        ("TRACE", false, true),
        ("PUT", false, true),
        ("DELETE", false, true),
        ("GET", true, false),
        ("PUT", true, false),
        ("POST", false, false),
        ("POST", true, false),
        ("PATCH", false, false),
        ("PROPFIND", false, false),
        ("BREW", false, false),
    ];
    for (method, has_body, replayed) in cases {
        let (lb, _) = lb3();
        let facts = RequestFacts {
            method: method.to_owned().into(),
            has_body,
            ..get("/")
        };
        let (tried, _) = fail_all_the_way(
            &lb,
            &facts,
            AttemptReport::failed(FailureKind::Backend, Progress::RequestSent),
        );
        assert_eq!(
            tried.len() > 1,
            replayed,
            "{method} body={has_body}: {tried:?}"
        );
    }
}

#[test]
fn recovery_option_16_also_rescues_a_get_with_a_body() {
    let mut ms = members(&["a", "b"]);
    for m in &mut ms {
        m.recovery_options = RecoveryOptions(RecoveryOptions::ALWAYS_RECOVER_GET);
    }
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    let get_with_body = RequestFacts {
        has_body: true,
        ..get("/")
    };
    let mut plan = lb.begin(&get_with_body);
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    assert_eq!(
        g.finish(
            &mut plan,
            AttemptReport::failed(FailureKind::Backend, Progress::RequestSent)
        ),
        Verdict::TryAnother
    );
    let post = RequestFacts {
        method: "POST".into(),
        ..get("/")
    };
    let (tried, _) = fail_all_the_way(
        &lb,
        &post,
        AttemptReport::failed(FailureKind::Backend, Progress::RequestSent),
    );
    assert_eq!(tried.len(), 1, "option 16 rescues GET only");
}

#[test]
fn started_response_is_never_replayed_in_safe_mode() {
    let mut ms = members(&["a", "b"]);
    for m in &mut ms {
        m.recovery_options = RecoveryOptions(RecoveryOptions::ALWAYS_RECOVER_GET);
    }
    let (lb, _) = lb_with(LbSettings::new("lb"), ms);
    let mut plan = lb.begin(&get("/"));
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    match g.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Backend, Progress::ResponseStarted),
    ) {
        Verdict::Stop(e) => {
            assert!(e.response_started);
            assert_eq!(e.attempts.len(), 1);
            assert!(!e.attempts[0].retry_safe);
            let text = e.to_string();
            assert!(text.contains("lb worker 'lb'") && text.contains("attempt 1 on member"));
        }
        other => panic!("must stop: {other:?}"),
    }
}

#[test]
fn mod_jk_replay_policy_follows_recovery_option_bits() {
    let settings = LbSettings {
        replay: ReplayPolicy::ModJk,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings.clone(), members(&["a", "b"]));
    let post = RequestFacts {
        method: "POST".into(),
        ..get("/")
    };
    let mut plan = lb.begin(&post);
    let c = expect_attempt(&lb, &mut plan);
    let g = lb.start_attempt(&mut plan, &c).unwrap();
    assert_eq!(
        g.finish(
            &mut plan,
            AttemptReport::failed(FailureKind::Backend, Progress::ResponseStarted)
        ),
        Verdict::TryAnother,
        "mod_jk's default 0 replays even after the response started"
    );
    let mut ms = members(&["a", "b"]);
    for m in &mut ms {
        m.recovery_options = RecoveryOptions(3);
    }
    let (lb, _) = lb_with(settings, ms);
    let (tried, _) = fail_all_the_way(
        &lb,
        &post,
        AttemptReport::failed(FailureKind::Backend, Progress::RequestSent),
    );
    assert_eq!(tried.len(), 1);
}

#[test]
fn body_streamed_is_never_replayed_and_member_not_recoverable_stops() {
    let settings = LbSettings {
        replay: ReplayPolicy::ModJk,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["a", "b"]));
    let (tried, _) = fail_all_the_way(
        &lb,
        &get("/"),
        AttemptReport::failed(FailureKind::Backend, Progress::BodyStreamed),
    );
    assert_eq!(tried.len(), 1);
    let mut report = AttemptReport::failed(FailureKind::Backend, Progress::NothingSent);
    report.recoverable = false;
    let (tried, _) = fail_all_the_way(&lb, &get("/"), report);
    assert_eq!(tried.len(), 1);
}

#[test]
fn last_status_is_that_of_the_last_attempt() {
    let settings = LbSettings {
        retries: 1,
        ..LbSettings::new("lb")
    };
    let (lb, _) = lb_with(settings, members(&["a", "b"]));
    let mut plan = lb.begin(&get("/"));
    let last;
    loop {
        match lb.next_step(&mut plan) {
            Step::Attempt(c) => {
                let g = lb.start_attempt(&mut plan, &c).unwrap();
                g.finish(
                    &mut plan,
                    AttemptReport::failed(FailureKind::ReplyTimeout, Progress::NothingSent),
                );
            }
            Step::Wait(_) => {}
            Step::GiveUp(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let e = last.unwrap();
    assert_eq!(e.status, 504);
    assert_eq!(e.failure, LbFailure::Exhausted);
}

#[test]
fn config_errors_name_the_lb_and_members() {
    let clock = Arc::new(ManualClock::new());
    let err = Balancer::new(LbSettings::new("lb"), vec![], clock.clone()).unwrap_err();
    assert_eq!(err.to_string(), "lb worker 'lb': balance_workers is empty");
    let ms = vec![
        MemberSettings::new("a").with_route("r"),
        MemberSettings::new("b").with_route("r"),
    ];
    let err = Balancer::new(LbSettings::new("lb"), ms, clock).unwrap_err();
    assert!(err.to_string().contains("'a' and 'b' both use route 'r'"));
}

// ---- reconfigure (SIGHUP reload) ------------------------------------------------------

fn member_status(lb: &Balancer, name: &str) -> jkgate::balancer::MemberStatus {
    lb.status()
        .members
        .into_iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} is a member"))
}

#[test]
fn reconfigure_keeps_each_members_numbers_by_name_whatever_its_position() {
    let (lb, _clock) = lb3();
    for _ in 0..6 {
        serve_ok(&lb, &get("/app"));
    }
    let before: Vec<_> = ["node1", "node2", "node3"]
        .map(|n| (n, member_status(&lb, n).elected))
        .to_vec();
    // node2 leaves, node4 joins, node3 moves to the front.
    lb.reconfigure(LbSettings::new("lb"), members(&["node3", "node1", "node4"]))
        .expect("valid members");
    let names: Vec<String> = lb.status().members.into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["node3", "node1", "node4"]);
    for (name, elected) in before.iter().filter(|(n, _)| *n != "node2") {
        assert_eq!(member_status(&lb, name).elected, *elected, "{name}");
    }
    assert_eq!(member_status(&lb, "node4").elected, 0);
    assert_eq!(member_status(&lb, "node4").state, MemberState::Idle);
    // Brought back, node2 finds its numbers where it left them.
    lb.reconfigure(
        LbSettings::new("lb"),
        members(&["node1", "node2", "node3", "node4"]),
    )
    .expect("valid members");
    assert_eq!(member_status(&lb, "node2").elected, before[1].1);
}

#[test]
fn a_request_planned_before_a_reload_finishes_on_its_member() {
    let (lb, _clock) = lb_with(LbSettings::new("lb"), members(&["node1", "node2"]));
    // In flight on node2 (index 1 of the old topology) while the reload reorders.
    let facts = with_cookie("/app", "JSESSIONID=abc.node2");
    let mut plan = lb.begin(&facts);
    let choice = expect_attempt(&lb, &mut plan);
    assert_eq!(choice.member, "node2");
    let guard = lb.start_attempt(&mut plan, &choice).expect("not busy");
    assert_eq!(member_status(&lb, "node2").busy, 1);
    lb.reconfigure(LbSettings::new("lb"), members(&["node2", "node3"]))
        .expect("valid members");
    assert_eq!(
        member_status(&lb, "node2").busy,
        1,
        "busy survives the reload"
    );
    assert_eq!(member_status(&lb, "node3").busy, 0);
    let verdict = guard.finish(
        &mut plan,
        AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
    );
    assert_eq!(verdict, Verdict::TryAnother);
    // The outcome landed on node2, now at index 0, not on whoever holds index 1.
    let node2 = member_status(&lb, "node2");
    assert_eq!((node2.busy, node2.errors), (0, 1));
    assert_eq!(node2.state, MemberState::Error);
    let node3 = member_status(&lb, "node3");
    assert_eq!((node3.busy, node3.errors, node3.elected), (0, 0, 0));
    // A cancelled attempt on a member the reload removed releases its count too.
    let mut plan = lb.begin(&with_cookie("/app", "JSESSIONID=abc.node3"));
    let choice = expect_attempt(&lb, &mut plan);
    assert_eq!(choice.member, "node3");
    let guard = lb.start_attempt(&mut plan, &choice).expect("not busy");
    lb.reconfigure(LbSettings::new("lb"), members(&["node2"]))
        .expect("valid members");
    drop(guard);
    assert_eq!(lb.status().busy, 0);
    lb.reconfigure(LbSettings::new("lb"), members(&["node2", "node3"]))
        .expect("valid members");
    assert_eq!(member_status(&lb, "node3").busy, 0);
}

#[test]
fn reconfigure_refuses_what_new_refuses_and_changes_nothing() {
    let (lb, _clock) = lb3();
    let dup = vec![
        MemberSettings::new("a").with_route("r"),
        MemberSettings::new("b").with_route("r"),
    ];
    assert!(lb.reconfigure(LbSettings::new("lb"), dup).is_err());
    assert!(lb.reconfigure(LbSettings::new("lb"), Vec::new()).is_err());
    let names: Vec<String> = lb.status().members.into_iter().map(|m| m.name).collect();
    assert_eq!(names, ["node1", "node2", "node3"]);
}

// === dry runs (cmd=route) and health verdicts ===

fn no_saturation() -> std::iter::Empty<bool> {
    std::iter::empty()
}

#[test]
fn a_dry_run_predicts_the_next_request_and_changes_nothing() {
    use jkgate::balancer::Decision;
    let (lb, _) = lb3();
    for _ in 0..4 {
        let before = lb.status();
        let run = lb.dry_run(&get("/app"), no_saturation());
        let again = lb.dry_run(&get("/app"), no_saturation());
        assert_eq!(lb.status(), before, "a dry run moved something");
        let predicted = run.choice.expect("a member").member;
        assert_eq!(again.choice.expect("a member").member, predicted);
        assert_eq!(run.decision, Decision::Balanced);
        assert_eq!(serve_ok(&lb, &get("/app")), predicted);
    }
    let run = lb.dry_run(&with_cookie("/", "JSESSIONID=S.node3"), no_saturation());
    let choice = run.choice.expect("a member");
    assert_eq!((choice.member.as_str(), choice.sticky), ("node3", true));
    assert_eq!(run.decision, Decision::SessionRoute);
    assert_eq!(run.session_id.as_deref(), Some("S.node3"));
}

#[test]
fn a_dry_run_with_every_member_in_error_forces_recovery_only_in_its_own_plan() {
    let (lb, _) = lb3();
    for name in ["node1", "node2", "node3"] {
        fail_member(&lb, name);
    }
    let run = lb.dry_run(&get("/"), no_saturation());
    assert!(run.forced_recovery);
    assert!(run.choice.is_some());
    for name in ["node1", "node2", "node3"] {
        assert_eq!(state(&lb, name), MemberState::Error, "{name}");
    }
    // A real request forces recovery for everyone.
    let mut plan = lb.begin(&get("/"));
    expect_attempt(&lb, &mut plan);
    assert_eq!(state(&lb, "node1"), MemberState::ForcedRecovery);
}

#[test]
fn redirect_and_domain_decisions_name_the_session_owner() {
    use jkgate::balancer::Decision;
    let mut a1 = MemberSettings::new("a1").with_route("a1");
    a1.domain = "dcA".into();
    let mut a2 = MemberSettings::new("a2").with_route("a2");
    a2.domain = "dcA".into();
    let mut b1 = MemberSettings::new("b1").with_route("b1");
    b1.redirect = "a2".into();
    let (lb, _) = lb_with(LbSettings::new("lb"), vec![a1, a2, b1]);
    lb.update_member("a1", |m| m.activation = Activation::Stopped)
        .unwrap();
    lb.update_member("b1", |m| m.activation = Activation::Stopped)
        .unwrap();
    let run = lb.dry_run(&with_cookie("/", "JSESSIONID=S.a1"), no_saturation());
    assert_eq!(run.choice.as_ref().map(|c| c.member.as_str()), Some("a2"));
    assert_eq!(run.decision, Decision::DomainFailover { owner: 0 });
    assert_eq!(run.sticky_miss, Some(0));
    let run = lb.dry_run(&with_cookie("/", "JSESSIONID=S.b1"), no_saturation());
    assert_eq!(run.choice.as_ref().map(|c| c.member.as_str()), Some("a2"));
    assert_eq!(run.decision, Decision::Redirect { owner: 2 });
    let run = lb.dry_run(&with_cookie("/", "JSESSIONID=S.dcA"), no_saturation());
    assert_eq!(run.decision, Decision::SessionDomain);
}

#[test]
fn a_member_whose_health_is_down_takes_nothing_until_it_is_up() {
    use jkgate::balancer::Health;
    let mut a1 = MemberSettings::new("a1").with_route("a1");
    a1.domain = "dcA".into();
    let mut a2 = MemberSettings::new("a2").with_route("a2");
    a2.domain = "dcA".into();
    let (lb, _) = lb_with(LbSettings::new("lb"), vec![a1, a2]);
    assert_eq!(
        lb.set_health("a1", Health::Down).unwrap(),
        Health::Unchecked
    );
    let sticky = with_cookie("/", "JSESSIONID=S.a1");
    for _ in 0..3 {
        assert_eq!(serve_ok(&lb, &get("/")), "a2");
        assert_eq!(
            serve_ok(&lb, &sticky),
            "a2",
            "its sessions go to its domain"
        );
    }
    // Its mod_jk state is its own; the verdict survives a counter reset.
    assert_ne!(state(&lb, "a1"), MemberState::Error);
    lb.reset(None).unwrap();
    assert_eq!(member_status(&lb, "a1").health, Health::Down);
    // Nobody up: no forced recovery for a failing application, 503.
    lb.set_health("a2", Health::Down).unwrap();
    let mut plan = lb.begin(&get("/"));
    loop {
        match lb.next_step(&mut plan) {
            Step::Wait(_) => continue,
            Step::GiveUp(error) => {
                assert_eq!(error.status, 503);
                break;
            }
            Step::Attempt(choice) => panic!("{} chosen while DOWN", choice.member),
        }
    }
    lb.set_health("a1", Health::Up).unwrap();
    lb.set_health("a2", Health::Unchecked).unwrap();
    assert_eq!(serve_ok(&lb, &sticky), "a1");
}
