//! The lb worker at run time: the [`crate::balancer`] core choosing among
//! [`AjpWorker`] members, one attempt at a time.
//!
//! The balancer decides (sticky route, load values, states, retries, replay safety);
//! this file only translates between the two vocabularies: a member attempt's
//! [`AttemptError`] becomes the balancer's [`AttemptReport`], and the balancer's
//! choice (route, activation, routing cookie) goes into the [`ForwardContext`].

use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::body::RequestBody;
use super::context::ForwardContext;
use super::outcome::{AttemptError, Completed, FailureKind as AttemptKind};
use super::response::ResponseSink;
use super::worker::AjpWorker;
use crate::balancer::{
    self, AttemptContext, AttemptReport, Balancer, FailureKind, LbError, LbMember, RequestFacts,
};

/// One request as the lb hands it to a member attempt.
pub struct Exchange<'a> {
    /// The request's forwarding context (route and activation are set per attempt).
    pub ctx: &'a mut ForwardContext,
    /// The request body (rewound between attempts).
    pub body: &'a mut RequestBody,
    /// Where the response goes.
    pub sink: &'a mut ResponseSink,
}

impl<'a> LbMember<Exchange<'a>> for AjpWorker {
    type Response = Completed;

    fn saturated(&self) -> bool {
        self.pool().saturated()
    }

    fn name(&self) -> Option<&str> {
        Some(AjpWorker::name(self))
    }

    async fn forward(
        &self,
        request: &mut Exchange<'a>,
        context: &AttemptContext,
    ) -> Result<(Completed, u64), AttemptReport> {
        let Exchange { ctx, body, sink } = request;
        if !context.route.is_empty() {
            ctx.route = Some(context.route.clone());
        }
        if ctx.first_route.is_none() {
            ctx.first_route = Some(context.member_route.clone());
        }
        ctx.used_route = Some(context.member_route.clone());
        ctx.activation = context.activation.status_name();
        sink.set_extra_headers(
            context
                .set_cookies
                .iter()
                .filter_map(|cookie| {
                    let value = http::HeaderValue::from_str(cookie).ok()?;
                    Some((http::header::SET_COOKIE, value))
                })
                .collect(),
        );
        match AjpWorker::forward_as_member(self, ctx, body, sink).await {
            Ok(done) => {
                let bytes = done.ajp_bytes;
                Ok((done, bytes))
            }
            Err(err) => {
                let rewound = err.response_started || body.rewind();
                Err(report(&err, rewound))
            }
        }
    }
}

/// The balancer's view of a failed member attempt (mod_jk §3.6 classes).
fn report(err: &AttemptError, body_rewound: bool) -> AttemptReport {
    let kind = match err.kind {
        AttemptKind::PoolExhausted => FailureKind::Busy,
        AttemptKind::ConnectFailed
        | AttemptKind::ConnectTimeout
        | AttemptKind::PingFailed
        | AttemptKind::ConnectionLost
        | AttemptKind::ProtocolViolation => FailureKind::Backend,
        AttemptKind::BadFraming => FailureKind::Framing,
        AttemptKind::ReplyTimeout => FailureKind::ReplyTimeout,
        AttemptKind::ClientAborted | AttemptKind::RequestRejected => FailureKind::Client,
        AttemptKind::StatusFailed { status, hard: true } => FailureKind::HardStatus(status),
        AttemptKind::StatusFailed {
            status,
            hard: false,
        } => FailureKind::SoftStatus(status),
    };
    let mut progress = err.progress();
    if !body_rewound && progress < balancer::Progress::BodyStreamed {
        progress = balancer::Progress::BodyStreamed;
    }
    let mut report = AttemptReport::failed(kind, progress)
        .with_detail(format!("{} during {}: {}", err.kind, err.phase, err.cause));
    report.status = err.http_status();
    report
}

/// An lb worker: the balancer and its members, in `balance_workers` order, plus the
/// maintenance task. After a reload the old and the new configuration's lb share the
/// balancer and the task until the old one's last request is done.
#[derive(Debug)]
pub struct LoadBalancer {
    balancer: Balancer,
    members: Vec<Arc<AjpWorker>>,
    maintenance: Arc<Maintenance>,
}

/// The `worker.maintain` task, stopped when the last lb sharing it is dropped.
#[derive(Debug)]
struct Maintenance(Option<JoinHandle<()>>);

impl Drop for Maintenance {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

impl LoadBalancer {
    /// An lb over `members` (index i = member i of the balancer's topology). Inside a
    /// tokio runtime, starts the `worker.maintain` task.
    pub fn new(balancer: Balancer, members: Vec<Arc<AjpWorker>>) -> Self {
        let maintenance = tokio::runtime::Handle::try_current()
            .is_ok()
            .then(|| balancer::spawn_maintenance(balancer.clone(), || {}));
        LoadBalancer {
            balancer,
            members,
            maintenance: Arc::new(Maintenance(maintenance)),
        }
    }

    /// The same lb (balancer, maintenance) over other members: what a reload builds for a
    /// kept lb. The balancer must be given the matching topology
    /// ([`Balancer::reconfigure`]) before requests use the result.
    pub fn with_members(&self, members: Vec<Arc<AjpWorker>>) -> Self {
        LoadBalancer {
            balancer: self.balancer.clone(),
            members,
            maintenance: self.maintenance.clone(),
        }
    }

    /// The lb's name.
    pub fn name(&self) -> String {
        self.balancer.name()
    }

    /// The decision core (for the status worker and tests).
    pub fn balancer(&self) -> &Balancer {
        &self.balancer
    }

    /// The members, in `balance_workers` order.
    pub fn members(&self) -> &[Arc<AjpWorker>] {
        &self.members
    }

    /// Relays one request through the lb. `ctx.session_id` and `ctx.member` tell the
    /// access log which session, and which member answered (or failed last).
    pub async fn forward(
        &self,
        ctx: &mut ForwardContext,
        body: &mut RequestBody,
        sink: &mut ResponseSink,
        facts: &RequestFacts,
    ) -> Result<Completed, LbError> {
        let mut exchange = Exchange { ctx, body, sink };
        let result = balancer::service(&self.balancer, &self.members, facts, &mut exchange).await;
        match result {
            Ok(done) => {
                if let Some(session) = done.session_id {
                    exchange.ctx.session_id = Some(Bytes::from(session));
                }
                Ok(done.response)
            }
            Err(lb) => {
                if let Some(session) = &lb.session_id {
                    exchange.ctx.session_id = Some(Bytes::from(session.clone()));
                }
                Err(lb)
            }
        }
    }
}

impl<'a, T: LbMember<Exchange<'a>> + Send + Sync> LbMember<Exchange<'a>> for Arc<T> {
    type Response = T::Response;

    fn saturated(&self) -> bool {
        (**self).saturated()
    }

    fn name(&self) -> Option<&str> {
        (**self).name()
    }

    fn forward(
        &self,
        request: &mut Exchange<'a>,
        context: &AttemptContext,
    ) -> impl Future<Output = Result<(Self::Response, u64), AttemptReport>> + Send {
        (**self).forward(request, context)
    }
}
