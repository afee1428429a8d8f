//! Property tests of the lb core: weighted shares, stickiness, and busy accounting.
#![cfg(feature = "proxy")]

use std::sync::Arc;

use jkgate::balancer::{
    AttemptGuard, AttemptReport, Balancer, FailureKind, LbSettings, ManualClock, MemberSettings,
    MemberState, Progress, RequestFacts, Step, Verdict,
};
use proptest::prelude::*;

fn get(cookie: Option<String>) -> RequestFacts {
    RequestFacts {
        method: "GET".into(),
        uri: "/app/session".into(),
        cookies: cookie.into_iter().map(bytes::Bytes::from).collect(),
        ..RequestFacts::default()
    }
}

fn balancer(factors: &[u64]) -> Balancer {
    let members = factors
        .iter()
        .enumerate()
        .map(|(i, f)| MemberSettings {
            lbfactor: *f,
            ..MemberSettings::new(format!("node{}", i + 1))
        })
        .collect();
    Balancer::new(LbSettings::new("lb"), members, Arc::new(ManualClock::new())).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Method Request: over 10,000 requests every member's share matches its lbfactor
    /// within 2 percentage points.
    #[test]
    fn request_method_shares_follow_lbfactor(factors in prop::collection::vec(1u64..=10, 2..=5)) {
        let lb = balancer(&factors);
        let mut counts = vec![0u64; factors.len()];
        const REQUESTS: u64 = 10_000;
        for _ in 0..REQUESTS {
            let mut plan = lb.begin(&get(None));
            let Step::Attempt(choice) = lb.next_step(&mut plan) else {
                panic!("all members are up");
            };
            let guard = lb.start_attempt(&mut plan, &choice).unwrap();
            prop_assert_eq!(guard.finish(&mut plan, AttemptReport::success(0)), Verdict::Done);
            counts[choice.index] += 1;
        }
        let total: u64 = factors.iter().sum();
        for (i, f) in factors.iter().enumerate() {
            let expected = *f as f64 / total as f64 * 100.0;
            let got = counts[i] as f64 / REQUESTS as f64 * 100.0;
            prop_assert!((expected - got).abs() <= 2.0,
                "member {} factor {} expected {:.2}% got {:.2}% ({:?})", i, f, expected, got, counts);
        }
    }

    /// A request whose session route names a member that is up (OK, idle, recovering;
    /// active or disabled) always reaches that member, whatever happened before.
    #[test]
    fn sticky_request_reaches_its_route_while_the_member_is_up(
        ops in prop::collection::vec((0usize..4, 0u8..6), 1..200)
    ) {
        let lb = balancer(&[1, 2, 1, 3]);
        for (member, op) in ops {
            let route = format!("node{}", member + 1);
            match op {
                // a failed attempt on the member (may put it into ERR)
                0 => {
                    let mut plan = lb.begin(&get(Some(format!("JSESSIONID=x.{route}"))));
                    if let Step::Attempt(c) = lb.next_step(&mut plan)
                        && let Ok(g) = lb.start_attempt(&mut plan, &c) {
                        g.finish(&mut plan, AttemptReport::failed(FailureKind::Backend, Progress::NothingSent));
                    }
                }
                // disable / enable
                1 => {
                    lb.update_member(&route, |m| m.activation = jkgate::balancer::Activation::Disabled).unwrap();
                }
                2 => {
                    lb.update_member(&route, |m| m.activation = jkgate::balancer::Activation::Active).unwrap();
                }
                // an unrelated request without session
                3 => {
                    let mut plan = lb.begin(&get(None));
                    if let Step::Attempt(c) = lb.next_step(&mut plan)
                        && let Ok(g) = lb.start_attempt(&mut plan, &c) {
                        g.finish(&mut plan, AttemptReport::success(10));
                    }
                }
                // a sticky request: must reach its member when that member is up
                _ => {
                    let status = lb.status();
                    let m = &status.members[member];
                    let up = matches!(m.state, MemberState::Ok | MemberState::Idle | MemberState::Recovering)
                        && m.activation != jkgate::balancer::Activation::Stopped;
                    let mut plan = lb.begin(&get(Some(format!("JSESSIONID=ABC.{route}"))));
                    let step = lb.next_step(&mut plan);
                    if up {
                        match step {
                            Step::Attempt(c) => {
                                prop_assert_eq!(&c.member, &route);
                                prop_assert!(c.sticky);
                                let g = lb.start_attempt(&mut plan, &c).unwrap();
                                g.finish(&mut plan, AttemptReport::success(1));
                            }
                            other => prop_assert!(false, "sticky request not served: {:?}", other),
                        }
                    }
                }
            }
        }
    }

    /// Busy counts return to zero whatever mix of finished and cancelled attempts ran,
    /// in whatever order they ended.
    #[test]
    fn busy_counts_return_to_zero(
        actions in prop::collection::vec((any::<bool>(), 0u8..3), 1..60),
        order_seed in any::<u64>()
    ) {
        let lb = balancer(&[1, 1, 2]);
        let mut open: Vec<(jkgate::balancer::RequestPlan, AttemptGuard, u8)> = Vec::new();
        for (open_one, how) in actions {
            if open_one || open.is_empty() {
                let mut plan = lb.begin(&get(None));
                if let Step::Attempt(c) = lb.next_step(&mut plan)
                    && let Ok(g) = lb.start_attempt(&mut plan, &c) {
                    open.push((plan, g, how));
                }
            } else {
                let pick = (order_seed as usize + open.len()) % open.len();
                let (mut plan, g, how) = open.swap_remove(pick);
                match how {
                    0 => drop(g),
                    1 => { g.finish(&mut plan, AttemptReport::success(5)); }
                    _ => { g.finish(&mut plan, AttemptReport::failed(FailureKind::Backend, Progress::NothingSent)); }
                }
            }
            let status = lb.status();
            let sum: u64 = status.members.iter().map(|m| m.busy).sum();
            prop_assert_eq!(status.busy, open.len() as u64);
            prop_assert_eq!(sum, open.len() as u64);
        }
        open.clear();
        let status = lb.status();
        prop_assert_eq!(status.busy, 0);
        prop_assert!(status.members.iter().all(|m| m.busy == 0));
    }
}
