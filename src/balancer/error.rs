//! Errors of the lb worker: who failed, on which attempt, and whether a retry was safe.

use std::fmt;

use thiserror::Error;

/// A problem in an lb worker's configuration.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum BalancerConfigError {
    /// The lb has no members.
    #[error("lb worker '{lb}': balance_workers is empty")]
    NoMembers {
        /// The lb worker.
        lb: String,
    },
    /// Two members share a route, so sessions could not be routed unambiguously.
    #[error("lb worker '{lb}': members '{first}' and '{second}' both use route '{route}'")]
    DuplicateRoute {
        /// The lb worker.
        lb: String,
        /// The first member with the route.
        first: String,
        /// The second member with the route.
        second: String,
        /// The shared route.
        route: String,
    },
    /// A member name appears twice.
    #[error("lb worker '{lb}': member '{member}' is listed twice")]
    DuplicateMember {
        /// The lb worker.
        lb: String,
        /// The repeated member.
        member: String,
    },
    /// A status-style update named a member the lb does not have.
    #[error("lb worker '{lb}': no member called '{member}'")]
    UnknownMember {
        /// The lb worker.
        lb: String,
        /// The requested member name.
        member: String,
    },
}

/// Why one attempt against one member failed, as the balancer classifies it (mod_jk §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The client went away, sent a bad body, or the request is too large: no failover.
    Client,
    /// No connection slot, or the member's `busy_limit` was reached.
    Busy,
    /// The response status is a negative ("soft") `fail_on_status` entry: the member stays
    /// OK.
    SoftStatus(u16),
    /// The response status is a positive ("hard") `fail_on_status` entry: the member goes
    /// ERR.
    HardStatus(u16),
    /// A packet did not arrive within `reply_timeout`.
    ReplyTimeout,
    /// Broken AJP framing from the member (the member's state is left alone).
    Framing,
    /// Connect, send, CPing or read failure, or invalid AJP content.
    Backend,
}

impl FailureKind {
    /// The HTTP status mod_jk gives the client when this was the last attempt (§3.11).
    pub fn client_status(self) -> u16 {
        match self {
            FailureKind::Client => 400,
            FailureKind::Busy | FailureKind::SoftStatus(_) | FailureKind::HardStatus(_) => 503,
            FailureKind::ReplyTimeout => 504,
            FailureKind::Framing | FailureKind::Backend => 502,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Client => f.write_str("client error"),
            FailureKind::Busy => f.write_str("member busy"),
            FailureKind::SoftStatus(s) => write!(f, "fail_on_status -{s} (soft)"),
            FailureKind::HardStatus(s) => write!(f, "fail_on_status {s}"),
            FailureKind::ReplyTimeout => f.write_str("reply timeout"),
            FailureKind::Framing => f.write_str("AJP framing error"),
            FailureKind::Backend => f.write_str("backend failure"),
        }
    }
}

/// One failed attempt, as recorded in an [`LbError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAttempt {
    /// Attempt number within the request, from 1.
    pub attempt: u32,
    /// The member's name.
    pub member: String,
    /// What went wrong.
    pub kind: FailureKind,
    /// Whether sending the request to another member afterwards was safe.
    pub retry_safe: bool,
    /// Detail from the member (error text).
    pub detail: String,
}

impl fmt::Display for FailedAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "attempt {} on member '{}': {}{} ({})",
            self.attempt,
            self.member,
            self.kind,
            if self.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", self.detail)
            },
            if self.retry_safe {
                "retry elsewhere was safe"
            } else {
                "retry elsewhere was not safe"
            }
        )
    }
}

/// Why an lb request produced no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LbFailure {
    /// No member could be chosen (all unusable, or the session's member unusable with
    /// `sticky_session_force`).
    NoMember,
    /// Every allowed attempt failed.
    Exhausted,
    /// The last failure may not be retried on another member (request already sent,
    /// response started, or a client error).
    NotRetryable,
}

/// The error of one lb request: which lb, every failed attempt, and the HTTP status the
/// client should get.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct LbError {
    /// The lb worker.
    pub lb: String,
    /// Why the loop ended.
    pub failure: LbFailure,
    /// Failed attempts in order.
    pub attempts: Vec<FailedAttempt>,
    /// HTTP status for the client (mod_jk §3.11).
    pub status: u16,
    /// Whether the response had already started towards the client (then the status can
    /// no longer be sent; the connection must be ended).
    pub response_started: bool,
    /// The session id candidates the request carried (`;`-joined), for logs.
    pub session_id: Option<String>,
}

impl fmt::Display for LbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.failure {
            LbFailure::NoMember => "no usable member",
            LbFailure::Exhausted => "all attempts failed",
            LbFailure::NotRetryable => "failure not safe to retry on another member",
        };
        write!(
            f,
            "lb worker '{}': {} (status {})",
            self.lb, why, self.status
        )?;
        for attempt in &self.attempts {
            write!(f, "; {attempt}")?;
        }
        Ok(())
    }
}
