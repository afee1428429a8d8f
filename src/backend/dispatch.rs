//! From a mapped worker name to a finished response: a direct ajp13 worker, or a
//! balancer that calls [`AjpWorker::forward`] per member.
//!
//! The seam for the lb worker is the [`Balancer`] trait. Until `src/balancer`
//! implements it, [`InOrderFailover`] serves lb workers with the simplest policy
//! that is still correct: members in configured order, moving on only when the
//! failed attempt is [`RetrySafety::Safe`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::body::{RequestBody, ResponseSink};
use super::context::ForwardContext;
use super::outcome::{AttemptError, Completed, RetrySafety};
use super::worker::AjpWorker;

/// The future a [`Balancer`] returns.
pub type ForwardFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Completed, AttemptError>> + Send + 'a>>;

/// A load balancer over ajp13 members. It chooses members, sets `ctx.route` and
/// `ctx.activation`, calls [`AjpWorker::forward`] per attempt, and decides on
/// failover from each [`AttemptError`] (its [`AttemptError::retry_safety`],
/// [`AttemptError::member_at_fault`], and `ctx`/`body` rewinding via
/// [`RequestBody::rewind`]). It returns the last attempt's result.
pub trait Balancer: Send + Sync + std::fmt::Debug {
    /// The lb worker's name.
    fn name(&self) -> &str;

    /// Relays one request.
    fn forward<'a>(
        &'a self,
        ctx: &'a mut ForwardContext,
        body: &'a mut RequestBody,
        sink: &'a mut ResponseSink,
    ) -> ForwardFuture<'a>;
}

/// Members in configured order; the next member only after a failure that
/// provably did not reach the previous one.
#[derive(Debug)]
pub struct InOrderFailover {
    name: String,
    members: Vec<(Arc<AjpWorker>, Arc<str>)>,
}

impl InOrderFailover {
    /// An lb called `name` over `(member, route)` pairs.
    pub fn new(name: impl Into<String>, members: Vec<(Arc<AjpWorker>, Arc<str>)>) -> Self {
        InOrderFailover {
            name: name.into(),
            members,
        }
    }
}

impl Balancer for InOrderFailover {
    fn name(&self) -> &str {
        &self.name
    }

    fn forward<'a>(
        &'a self,
        ctx: &'a mut ForwardContext,
        body: &'a mut RequestBody,
        sink: &'a mut ResponseSink,
    ) -> ForwardFuture<'a> {
        Box::pin(async move {
            let mut last = None;
            for (member, route) in &self.members {
                if ctx.route.is_none() {
                    ctx.route = Some(bytes::Bytes::copy_from_slice(route.as_bytes()));
                }
                ctx.activation = "ACT";
                match member.forward(ctx, body, sink).await {
                    Ok(done) => return Ok(done),
                    Err(err) => {
                        tracing::warn!(worker = %self.name, member = %member.name(), phase = %err.phase,
                            kind = %err.kind, cause = %err.cause, "member attempt failed");
                        let go_on = err.retry_safety() == RetrySafety::Safe && body.rewind();
                        last = Some(err);
                        if !go_on {
                            break;
                        }
                    }
                }
            }
            Err(last.unwrap_or_else(|| {
                AttemptError::new(
                    super::outcome::FailureKind::ConnectFailed,
                    super::outcome::Phase::Acquire,
                    format!("lb {} has no members", self.name),
                )
            }))
        })
    }
}

/// What a worker name stands for.
#[derive(Debug, Clone)]
pub enum Target {
    /// A direct ajp13 worker.
    Ajp(Arc<AjpWorker>),
    /// A load balancer.
    Balanced(Arc<dyn Balancer>),
}

impl Target {
    /// Relays one request through this target.
    pub async fn forward(
        &self,
        ctx: &mut ForwardContext,
        body: &mut RequestBody,
        sink: &mut ResponseSink,
    ) -> Result<Completed, AttemptError> {
        match self {
            Target::Ajp(worker) => {
                ctx.activation = "ACT";
                worker.forward(ctx, body, sink).await
            }
            Target::Balanced(lb) => lb.forward(ctx, body, sink).await,
        }
    }
}

/// Every worker a mount may name.
#[derive(Debug, Default, Clone)]
pub struct Workers {
    targets: HashMap<String, Target>,
}

impl Workers {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `target` under `name`.
    pub fn insert(&mut self, name: impl Into<String>, target: Target) {
        self.targets.insert(name.into(), target);
    }

    /// The target called `name`.
    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.get(name)
    }

    /// Every registered worker name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.targets.keys().map(String::as_str)
    }
}
