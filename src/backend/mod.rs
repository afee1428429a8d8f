//! AJP13 backends: connection pools, CPING/CPONG, timeouts and the request relay.
//!
//! Entry points: [`AjpWorker::forward`] relays a request to one member (with the
//! member's own retries) and reports an [`outcome`]; [`lb::LoadBalancer`] runs the
//! [`crate::balancer`] core over members; [`dispatch`] maps a worker name to either.

pub mod body;
pub mod conn;
pub mod context;
pub mod dispatch;
pub mod health;
pub mod latency;
pub mod lb;
pub mod outcome;
pub mod pool;
pub mod registry;
mod relay_rest;
pub mod response;
pub mod response_head;
pub mod settings;
pub mod wire;
pub mod worker;

pub use body::{BodyKind, RequestBody};
pub use context::{ForwardContext, TlsInfo};
pub use outcome::{AttemptError, Blame, Completed, FailureKind, Phase, RetrySafety};
pub use response::{ResponseBody, ResponseHead, ResponseSink};
pub use settings::{MemberConfig, MemberSettingsError};
pub use worker::AjpWorker;
