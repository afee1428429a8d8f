//! The async lb loop against fake members, with paused tokio time.
#![cfg(feature = "proxy")]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jkgate::balancer::{
    AttemptContext, AttemptReport, Balancer, FailureKind, LbFailure, LbMember, LbSettings,
    MemberSettings, MemberState, Progress, RequestFacts, SystemClock, service, spawn_maintenance,
};

/// A scripted member: answers from a queue of outcomes, then succeeds; can hang forever.
#[derive(Default)]
struct FakeMember {
    name: String,
    script: Mutex<VecDeque<Result<u64, AttemptReport>>>,
    calls: AtomicU32,
    seen: Mutex<Vec<AttemptContext>>,
    hang: bool,
}

impl FakeMember {
    fn new(name: &str) -> Self {
        FakeMember {
            name: name.into(),
            ..Default::default()
        }
    }
    fn failing(name: &str, n: usize, report: AttemptReport) -> Self {
        let m = Self::new(name);
        for _ in 0..n {
            m.script.lock().unwrap().push_back(Err(report.clone()));
        }
        m
    }
}

impl LbMember<Vec<u8>> for FakeMember {
    type Response = String;

    fn name(&self) -> Option<&str> {
        Some(&self.name)
    }

    async fn forward(
        &self,
        request: &mut Vec<u8>,
        context: &AttemptContext,
    ) -> Result<(String, u64), AttemptReport> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.seen.lock().unwrap().push(context.clone());
        if self.hang {
            std::future::pending::<()>().await;
        }
        let next = self.script.lock().unwrap().pop_front();
        match next {
            Some(Err(report)) => Err(report),
            Some(Ok(bytes)) => Ok((format!("{} {}", self.name, request.len()), bytes)),
            None => Ok((format!("{} {}", self.name, request.len()), 10)),
        }
    }
}

fn lb(settings: LbSettings, names: &[&str]) -> Balancer {
    Balancer::new(
        settings,
        names.iter().map(|n| MemberSettings::new(*n)).collect(),
        Arc::new(SystemClock),
    )
    .unwrap()
}

fn facts(method: &str, cookie: Option<&str>) -> RequestFacts {
    RequestFacts {
        method: method.to_owned().into(),
        uri: "/app/session".into(),
        cookies: cookie
            .map(|c| bytes::Bytes::copy_from_slice(c.as_bytes()))
            .into_iter()
            .collect(),
        ..RequestFacts::default()
    }
}

/// A reload gives a kept lb its new topology while requests that hold the member list of
/// before are still being planned (the race behind a 500 "no usable member" seen once in
/// tests/reload_tomcat.rs): they reach the member they chose by its name, and never choose
/// one that is not in their list.
#[tokio::test(start_paused = true)]
async fn a_request_holding_the_members_of_before_a_reload_reaches_only_those() {
    let balancer = lb(LbSettings::new("lb"), &["node1", "node2"]);
    let before = [FakeMember::new("node1"), FakeMember::new("node2")];
    // The reload puts node3 first and drops node1.
    balancer
        .reconfigure(
            LbSettings::new("lb"),
            vec![MemberSettings::new("node3"), MemberSettings::new("node2")],
        )
        .unwrap();
    for cookie in [None, None, None, Some("JSESSIONID=abc.node3")] {
        let done = service(&balancer, &before, &facts("GET", cookie), &mut Vec::new())
            .await
            .unwrap();
        assert_eq!(done.member, "node2", "cookie {cookie:?}");
        assert_eq!(done.response, "node2 0");
    }
    assert_eq!(
        before[0].calls.load(Ordering::SeqCst),
        0,
        "node1 left the lb"
    );
    assert_eq!(before[1].calls.load(Ordering::SeqCst), 4);
}

#[tokio::test(start_paused = true)]
async fn connect_failure_fails_over_to_the_next_member() {
    let balancer = lb(LbSettings::new("lb"), &["node1", "node2", "node3"]);
    let members = [
        FakeMember::failing(
            "node1",
            1,
            AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
        ),
        FakeMember::new("node2"),
        FakeMember::new("node3"),
    ];
    let mut body = b"x=1".to_vec();
    let done = service(&balancer, &members, &facts("POST", None), &mut body)
        .await
        .unwrap();
    assert_eq!(done.member, "node2");
    assert_eq!(done.response, "node2 3");
    assert_eq!(done.attempts, 2);
    assert_eq!(balancer.status().members[0].state, MemberState::Error);
    // The route attribute stays that of the first attempt (mod_jk).
    assert_eq!(members[1].seen.lock().unwrap()[0].route, "node1");
    assert_eq!(members[1].seen.lock().unwrap()[0].attempt, 2);
}

#[tokio::test(start_paused = true)]
async fn post_that_reached_a_member_is_not_replayed() {
    let balancer = lb(LbSettings::new("lb"), &["node1", "node2"]);
    let members = [
        FakeMember::failing(
            "node1",
            1,
            AttemptReport::failed(FailureKind::Backend, Progress::RequestSent)
                .with_detail("connection reset while waiting for headers"),
        ),
        FakeMember::new("node2"),
    ];
    let mut body = b"order=1".to_vec();
    let err = service(&balancer, &members, &facts("POST", None), &mut body)
        .await
        .unwrap_err();
    assert_eq!(err.failure, LbFailure::NotRetryable);
    assert_eq!(err.status, 502);
    assert_eq!(members[1].calls.load(Ordering::SeqCst), 0);
    let text = err.to_string();
    assert!(text.contains("member 'node1'"), "{text}");
    assert!(text.contains("retry elsewhere was not safe"), "{text}");
    assert!(text.contains("connection reset"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn rounds_sleep_retry_interval_then_give_up_with_the_last_status() {
    let settings = LbSettings {
        retry_interval: Duration::from_millis(250),
        ..LbSettings::new("lb")
    };
    let balancer = lb(settings, &["node1", "node2"]);
    // Framing errors exclude a member for the round only, so both rounds try both.
    let broken = AttemptReport::failed(FailureKind::Framing, Progress::NothingSent);
    let members = [
        FakeMember::failing("node1", 10, broken.clone()),
        FakeMember::failing("node2", 10, broken),
    ];
    let start = tokio::time::Instant::now();
    let err = service(&balancer, &members, &facts("GET", None), &mut Vec::new())
        .await
        .unwrap_err();
    assert_eq!(err.status, 502);
    assert_eq!(err.failure, LbFailure::Exhausted);
    assert_eq!(err.attempts.len(), 4);
    assert_eq!(start.elapsed(), Duration::from_millis(250));
}

#[tokio::test(start_paused = true)]
async fn sticky_request_goes_to_its_member_and_routing_cookie_is_collected() {
    let settings = LbSettings {
        set_session_cookie: true,
        ..LbSettings::new("lb")
    };
    let balancer = lb(settings, &["node1", "node2", "node3"]);
    let members = [
        FakeMember::new("node1"),
        FakeMember::new("node2"),
        FakeMember::new("node3"),
    ];
    let done = service(
        &balancer,
        &members,
        &facts("GET", Some("JSESSIONID=abc.node3")),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(done.member, "node3");
    assert!(done.set_cookies.is_empty());
    assert_eq!(done.session_id.as_deref(), Some("abc.node3"));
    let done = service(&balancer, &members, &facts("GET", None), &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(
        done.set_cookies,
        vec![format!("JSESSIONID=.{};PATH=/;HttpOnly", done.member)]
    );
}

#[tokio::test(start_paused = true)]
async fn dropped_request_releases_busy_counts() {
    let balancer = lb(LbSettings::new("lb"), &["node1", "node2"]);
    let mut hanging = FakeMember::new("node1");
    hanging.hang = true;
    let members = Arc::new([hanging, FakeMember::new("node2")]);
    let task = {
        let balancer = balancer.clone();
        let members = members.clone();
        tokio::spawn(async move {
            let mut body = Vec::new();
            service(&balancer, &members[..], &facts("GET", None), &mut body).await
        })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(balancer.status().busy, 1);
    assert_eq!(balancer.status().members[0].busy, 1);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(balancer.status().busy, 0);
    assert_eq!(balancer.status().members[0].busy, 0);
    assert_ne!(balancer.status().members[0].state, MemberState::Error);
}

#[tokio::test(start_paused = true)]
async fn maintenance_task_recovers_an_error_member_after_recover_time() {
    let settings = LbSettings {
        recover_time: Duration::from_secs(5),
        maintain_interval: Duration::from_secs(3),
        ..LbSettings::new("lb")
    };
    let balancer = lb(settings, &["node1", "node2"]);
    let members = [
        FakeMember::failing(
            "node1",
            1,
            AttemptReport::failed(FailureKind::Backend, Progress::NothingSent),
        ),
        FakeMember::new("node2"),
    ];
    service(&balancer, &members, &facts("GET", None), &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(balancer.status().members[0].state, MemberState::Error);
    let hook_runs = Arc::new(AtomicU32::new(0));
    let runs = hook_runs.clone();
    let task = spawn_maintenance(balancer.clone(), move || {
        runs.fetch_add(1, Ordering::SeqCst);
    });
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert_eq!(balancer.status().members[0].state, MemberState::Error);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(balancer.status().members[0].state, MemberState::Recovering);
    assert_eq!(hook_runs.load(Ordering::SeqCst), 2);
    let done = service(
        &balancer,
        &members,
        &facts("GET", Some("JSESSIONID=x.node1")),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(done.member, "node1");
    assert_eq!(balancer.status().members[0].state, MemberState::Ok);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn client_never_sees_a_failure_a_safe_retry_could_hide() {
    // Every member but the last fails before anything is sent; the client gets the answer.
    let settings = LbSettings {
        lb_retries: 4,
        ..LbSettings::new("lb")
    };
    let balancer = lb(settings, &["a", "b", "c", "d"]);
    let refused = AttemptReport::failed(FailureKind::Backend, Progress::NothingSent);
    let members = [
        FakeMember::failing("a", 1, refused.clone()),
        FakeMember::failing("b", 1, refused.clone()),
        FakeMember::failing("c", 1, refused),
        FakeMember::new("d"),
    ];
    let done = service(&balancer, &members, &facts("DELETE", None), &mut Vec::new())
        .await
        .unwrap();
    assert_eq!(done.member, "d");
    assert_eq!(done.attempts, 4);
}
