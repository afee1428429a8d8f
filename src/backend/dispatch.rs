//! From a mapped worker name to a finished response: a direct ajp13 worker, or an
//! lb worker that runs the balancer over its members.

use std::collections::HashMap;
use std::sync::Arc;

use super::body::RequestBody;
use super::context::ForwardContext;
use super::lb::LoadBalancer;
use super::outcome::{AttemptError, Completed};
use super::response::ResponseSink;
use super::worker::AjpWorker;
use crate::balancer::{LbError, RequestFacts};

/// What a worker name stands for.
#[derive(Debug, Clone)]
pub enum Target {
    /// A direct ajp13 worker.
    Ajp(Arc<AjpWorker>),
    /// A load balancer.
    Balanced(Arc<LoadBalancer>),
}

/// Why a request got no (complete) response.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// A direct worker's last attempt failed.
    #[error("{0}")]
    Attempt(AttemptError),
    /// An lb gave up.
    #[error("{0}")]
    Lb(LbError),
}

impl RelayError {
    /// The HTTP status for the client (when no response started).
    pub fn http_status(&self) -> u16 {
        match self {
            RelayError::Attempt(err) => err.http_status(),
            RelayError::Lb(err) => err.status,
        }
    }
}

impl Target {
    /// Relays one request through this target. `facts` is read only by lb workers.
    pub async fn forward(
        &self,
        ctx: &mut ForwardContext,
        body: &mut RequestBody,
        sink: &mut ResponseSink,
        facts: &RequestFacts,
    ) -> Result<Completed, RelayError> {
        match self {
            Target::Ajp(worker) => {
                ctx.activation = "ACT";
                worker
                    .forward(ctx, body, sink)
                    .await
                    .map_err(RelayError::Attempt)
            }
            Target::Balanced(lb) => lb
                .forward(ctx, body, sink, facts)
                .await
                .map_err(RelayError::Lb),
        }
    }
}

/// Every worker a mount may name.
#[derive(Debug, Default, Clone)]
pub struct Workers {
    /// Keyed by shared names: a request takes its worker's name without copying it.
    targets: HashMap<Arc<str>, Target>,
}

impl Workers {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `target` under `name`.
    pub fn insert(&mut self, name: impl Into<String>, target: Target) {
        self.targets.insert(Arc::from(name.into()), target);
    }

    /// The target called `name`.
    pub fn get(&self, name: &str) -> Option<&Target> {
        self.targets.get(name)
    }

    /// The target called `name`, with the registry's shared copy of the name.
    pub fn get_named(&self, name: &str) -> Option<(&Arc<str>, &Target)> {
        self.targets.get_key_value(name)
    }

    /// Every registered worker name.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.targets.keys().map(|name| &**name)
    }

    /// Every worker with its name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Target)> {
        self.targets.iter().map(|(name, target)| (&**name, target))
    }
}
