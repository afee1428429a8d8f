//! AJP13 backends: connection pools, CPING/CPONG, timeouts and the request relay.

pub mod outcome;

pub use outcome::{AttemptError, Blame, Completed, FailureKind, Phase, RetrySafety};
