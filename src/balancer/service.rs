//! The async lb loop: drives the [`Balancer`] core against members, retrying across them,
//! sleeping between rounds, and running maintenance on a timer.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::core::{AttemptReport, Balancer, Choice, RequestFacts, Step, Verdict};
use super::error::{LbError, LbFailure};
use super::name::SharedName;
use super::settings::Activation;

/// What a member attempt is told about the lb's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptContext {
    /// The lb worker's name.
    pub lb: Arc<str>,
    /// The member's name.
    pub member: SharedName,
    /// AJP `route` attribute to send.
    pub route: SharedName,
    /// The member's own route (the route this attempt actually uses).
    pub member_route: SharedName,
    /// `JK_LB_ACTIVATION` to send.
    pub activation: Activation,
    /// Attempt number within the request, from 1.
    pub attempt: u32,
    /// Routing cookies (`Set-Cookie` values) to add to the response, oldest first.
    pub set_cookies: Vec<String>,
}

/// One lb member as the lb loop reaches it (the ajp13 worker in production, fakes in
/// tests). `forward` runs one attempt, including the member's own same-member retries.
pub trait LbMember<Req>: Send + Sync {
    /// What a successful attempt yields.
    type Response: Send;

    /// Whether every connection to this member is busy now (a request would queue).
    fn saturated(&self) -> bool {
        false
    }

    /// The member's name in the lb's topology. When every member has one, [`service`]
    /// finds the chosen member by name instead of by position, and never chooses a member
    /// of the topology that is not in its list: a reload may add, remove or reorder members
    /// while a request that holds the earlier list is being planned. Without names the
    /// list must be in topology order.
    fn name(&self) -> Option<&str> {
        None
    }

    /// Sends `request` to this member. On success returns the response and the AJP bytes
    /// moved (for the Traffic method); on failure the attempt's report, which says how far
    /// the attempt got. The future may be dropped (client gone): the lb's drop guards then
    /// release the member's busy count.
    fn forward(
        &self,
        request: &mut Req,
        context: &AttemptContext,
    ) -> impl Future<Output = Result<(Self::Response, u64), AttemptReport>> + Send;
}

/// A successful lb request.
#[derive(Debug)]
pub struct LbResponse<R> {
    /// What the member returned.
    pub response: R,
    /// The member that served it.
    pub member: SharedName,
    /// The route sent along.
    pub route: SharedName,
    /// Attempts made (1 = first try succeeded).
    pub attempts: u32,
    /// Routing cookies to add to the response.
    pub set_cookies: Vec<String>,
    /// The session id candidates the request carried (`;`-joined), for logs.
    pub session_id: Option<String>,
}

/// Runs one request through the lb: chooses members, calls them, records outcomes, retries
/// where safe (mod_jk §3.4 with jkgate's replay policy).
///
/// `members[i]` must be the member at index `i` of the balancer's topology.
pub async fn service<Req, M>(
    balancer: &Balancer,
    members: &[M],
    facts: &RequestFacts,
    request: &mut Req,
) -> Result<LbResponse<M::Response>, LbError>
where
    M: LbMember<Req>,
    Req: Send,
{
    let named = members.iter().all(|m| m.name().is_some());
    let mut plan = if named {
        balancer.begin_among(facts, |name| members.iter().any(|m| m.name() == Some(name)))
    } else {
        balancer.begin(facts)
    };
    let mut set_cookies = Vec::new();
    loop {
        plan.note_saturation(members.iter().map(LbMember::saturated));
        let choice: Choice = match balancer.next_step(&mut plan) {
            Step::Attempt(choice) => choice,
            Step::Wait(pause) => {
                tokio::time::sleep(pause).await;
                continue;
            }
            Step::GiveUp(error) => {
                tracing::warn!(lb = %error.lb, status = error.status, "{error}");
                return Err(error);
            }
        };
        let member = if named {
            members
                .iter()
                .find(|m| m.name() == Some(choice.member.as_str()))
        } else {
            members.get(choice.index)
        };
        let Some(member) = member else {
            // The member table does not match the topology: a wiring bug, reported as such.
            return Err(LbError {
                lb: plan.lb_name().to_owned(),
                failure: LbFailure::NoMember,
                attempts: plan.failures().to_vec(),
                status: 500,
                response_started: false,
                session_id: plan.session_id().map(str::to_owned),
            });
        };
        if let Some(cookie) = &choice.set_cookie {
            set_cookies.push(cookie.clone());
        }
        let Ok(guard) = balancer.start_attempt(&mut plan, &choice) else {
            tracing::info!(lb = %plan.lb_name(), member = %choice.member, attempt = choice.attempt,
                "member busy (busy_limit), trying another");
            continue;
        };
        let context = AttemptContext {
            lb: plan.lb_name_shared(),
            member: choice.member,
            route: choice.route,
            member_route: choice.member_route,
            activation: choice.activation,
            attempt: choice.attempt,
            set_cookies: set_cookies.clone(),
        };
        tracing::debug!(lb = %context.lb, member = %context.member, route = %context.route,
            attempt = context.attempt, session = plan.session_id().unwrap_or(""), "lb attempt");
        match member.forward(request, &context).await {
            Ok((response, bytes)) => {
                guard.finish(&mut plan, AttemptReport::success(bytes));
                return Ok(LbResponse {
                    response,
                    member: context.member,
                    route: context.route,
                    attempts: plan.attempts_made(),
                    set_cookies,
                    session_id: plan.take_session_id(),
                });
            }
            Err(report) => {
                tracing::info!(lb = %context.lb, member = %context.member, attempt = context.attempt,
                    failure = ?report.failure, progress = ?report.progress, detail = %report.detail,
                    "lb attempt failed");
                match guard.finish(&mut plan, report) {
                    Verdict::TryAnother => continue,
                    Verdict::Stop(error) => {
                        tracing::warn!(lb = %error.lb, status = error.status, "{error}");
                        return Err(error);
                    }
                    Verdict::Done => continue,
                }
            }
        }
    }
}

/// Runs [`Balancer::maintain`] every `worker.maintain` interval, then `pool_hook` (the
/// members' connection-pool maintenance), until the task is aborted. With a zero interval
/// nothing runs (mod_jk: `worker.maintain=0` disables maintenance).
pub fn spawn_maintenance<F>(balancer: Balancer, mut pool_hook: F) -> JoinHandle<()>
where
    F: FnMut() + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let interval = balancer.topology().settings.maintain_interval;
            if interval.is_zero() {
                // Maintenance disabled; look again later in case the setting changes.
                tokio::time::sleep(Duration::from_secs(60)).await;
                continue;
            }
            tokio::time::sleep(interval).await;
            let report = balancer.maintain();
            if report.ran {
                tracing::debug!(lb = %balancer.name(), ?report, "lb maintenance");
            }
            pool_hook();
        }
    })
}
