//! AJP13 backends: connection pools, CPING/CPONG, timeouts and the request relay.
//!
//! Entry points: [`AjpWorker::forward`] runs one attempt on one member and
//! reports an [`outcome`]; [`dispatch`] chooses between a direct worker and a
//! [`dispatch::Balancer`] (the lb seam).

pub mod body;
pub mod conn;
pub mod context;
pub mod dispatch;
pub mod outcome;
pub mod pool;
pub mod registry;
pub mod settings;
pub mod wire;
pub mod worker;

pub use body::{BodyKind, RequestBody, ResponseBody, ResponseHead, ResponseSink};
pub use context::{ForwardContext, TlsInfo};
pub use outcome::{AttemptError, Blame, Completed, FailureKind, Phase, RetrySafety};
pub use settings::{MemberConfig, MemberSettingsError};
pub use worker::AjpWorker;
