//! The result of one attempt to relay a request to one AJP13 member.
//!
//! The ajp13 worker reports every attempt as either [`Completed`] or an
//! [`AttemptError`]. The error says *where* it happened ([`Phase`]), *who* is
//! to blame ([`Blame`]), how far the request got ([`AttemptError::request_reached_member`],
//! [`AttemptError::response_started`]) and whether another member may get the
//! same request ([`AttemptError::retry_safety`]). The lb worker uses exactly
//! these answers to decide on failover and member state (mod_jk.md §3.6, §4.7).

use std::fmt;
use std::time::Duration;

/// The step of an attempt in which something went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for a free slot in the member's connection pool.
    Acquire,
    /// Opening the TCP connection to the member.
    Connect,
    /// CPING/CPONG probe (after connect, before the request, or at intervals).
    Ping,
    /// Writing the FORWARD_REQUEST packet.
    SendRequest,
    /// Reading the request body from the client or writing it to the member.
    SendBody,
    /// Waiting for SEND_HEADERS.
    AwaitHeaders,
    /// Relaying the response body after the headers went to the client.
    RelayBody,
}

impl Phase {
    /// Short lower-case name for log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Acquire => "acquire",
            Phase::Connect => "connect",
            Phase::Ping => "cping",
            Phase::SendRequest => "send-request",
            Phase::SendBody => "send-body",
            Phase::AwaitHeaders => "await-headers",
            Phase::RelayBody => "relay-body",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who caused a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Blame {
    /// The member: unreachable, timed out, closed the connection, or broke the protocol.
    Member,
    /// The HTTP client: aborted, stopped sending its body, or sent something unforwardable.
    Client,
    /// jkgate itself or its configuration (for example the pool is exhausted).
    Local,
}

/// What went wrong, in terms the lb and the HTTP status mapping need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// No free pool slot within `connection_acquire_timeout` (member busy).
    PoolExhausted,
    /// The member refused the TCP connection or could not be reached.
    ConnectFailed,
    /// Connecting took longer than `socket_connect_timeout`.
    ConnectTimeout,
    /// A CPING got no CPONG (or a wrong answer) within its timeout.
    PingFailed,
    /// The member closed or reset the connection, or an I/O error happened on it.
    ConnectionLost,
    /// No packet arrived within `reply_timeout` (or `socket_timeout`).
    ReplyTimeout,
    /// The member's packets are not AJP13 frames at all (bad magic, a packet
    /// longer than `max_packet_size`): mod_jk leaves the member's state alone.
    BadFraming,
    /// The member sent something AJP13 does not allow inside a frame (field past
    /// the payload, unknown packet type, second SEND_HEADERS, body overrun...).
    ProtocolViolation,
    /// The member answered with a status listed in `fail_on_status`; its response
    /// was not relayed. `hard` (a positive entry) puts the member in error.
    StatusFailed {
        /// The status the member sent.
        status: u16,
        /// A positive list entry (the member goes ERR); negative entries are soft.
        hard: bool,
    },
    /// The client went away or failed while its body was being read or the
    /// response was being written.
    ClientAborted,
    /// The request cannot be expressed in AJP13 (too large for one packet,
    /// forbidden bytes in a field).
    RequestRejected,
}

impl FailureKind {
    /// Short lower-case name for log lines.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::PoolExhausted => "pool-exhausted",
            FailureKind::ConnectFailed => "connect-failed",
            FailureKind::ConnectTimeout => "connect-timeout",
            FailureKind::PingFailed => "cping-failed",
            FailureKind::ConnectionLost => "connection-lost",
            FailureKind::ReplyTimeout => "reply-timeout",
            FailureKind::BadFraming => "bad-framing",
            FailureKind::ProtocolViolation => "protocol-violation",
            FailureKind::StatusFailed { .. } => "fail-on-status",
            FailureKind::ClientAborted => "client-aborted",
            FailureKind::RequestRejected => "request-rejected",
        }
    }

    /// Who is to blame for this kind of failure.
    pub fn blame(self) -> Blame {
        match self {
            FailureKind::PoolExhausted => Blame::Local,
            FailureKind::ClientAborted | FailureKind::RequestRejected => Blame::Client,
            _ => Blame::Member,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the same request may be sent to another member (or again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetrySafety {
    /// No byte of the request reached the member and nothing went to the client:
    /// retrying anywhere cannot execute the request twice.
    Safe,
    /// The member may have received (and started executing) the request, but no
    /// response byte reached the client and the body can still be replayed. A retry
    /// is safe only for idempotent requests or when the operator accepts replays
    /// (mod_jk `recovery_options` without bit 1).
    IfIdempotent,
    /// Never retry: the client already has part of a response, the client itself
    /// failed, or request-body bytes that can no longer be replayed were consumed.
    Never,
}

/// A failed attempt on one member.
#[derive(Debug)]
pub struct AttemptError {
    /// What went wrong.
    pub kind: FailureKind,
    /// Where it went wrong.
    pub phase: Phase,
    /// At least one byte of the request was written to the member.
    pub request_reached_member: bool,
    /// Response headers were handed to the client; the status can no longer change.
    pub response_started: bool,
    /// Request-body bytes were consumed that cannot be replayed to another member, or
    /// the member asked for body data (GET_BODY_CHUNK): mod_jk treats the attempt as
    /// unrecoverable from then on.
    pub body_consumed: bool,
    /// The failure happened on a connection taken from the pool (not freshly opened).
    pub reused_connection: bool,
    /// Human-readable cause (an I/O error, the protocol rule that was broken...).
    pub cause: String,
}

impl AttemptError {
    /// Creates an error with nothing sent and nothing started.
    pub fn new(kind: FailureKind, phase: Phase, cause: impl Into<String>) -> Self {
        AttemptError {
            kind,
            phase,
            request_reached_member: false,
            response_started: false,
            body_consumed: false,
            reused_connection: false,
            cause: cause.into(),
        }
    }

    /// Who is to blame.
    pub fn blame(&self) -> Blame {
        self.kind.blame()
    }

    /// True when the member is at fault (the lb should count an error against it).
    pub fn member_at_fault(&self) -> bool {
        self.blame() == Blame::Member
    }

    /// Whether this request may be tried again, on this or another member.
    pub fn retry_safety(&self) -> RetrySafety {
        if self.response_started || self.body_consumed || self.blame() == Blame::Client {
            RetrySafety::Never
        } else if self.request_reached_member {
            RetrySafety::IfIdempotent
        } else {
            RetrySafety::Safe
        }
    }

    /// How far the attempt got, in the balancer's terms (decides what may be replayed).
    pub fn progress(&self) -> crate::balancer::Progress {
        use crate::balancer::Progress;
        if self.response_started {
            Progress::ResponseStarted
        } else if self.body_consumed {
            Progress::BodyStreamed
        } else if self.request_reached_member {
            Progress::RequestSent
        } else {
            Progress::NothingSent
        }
    }

    /// The HTTP status the client gets when this is the final attempt
    /// (mod_jk.md §3.11): unreachable 503, protocol violation or lost connection
    /// 502, reply timeout 504, request too large 413, client failure 400.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            FailureKind::PoolExhausted
            | FailureKind::ConnectFailed
            | FailureKind::ConnectTimeout
            | FailureKind::PingFailed => 503,
            FailureKind::StatusFailed { .. } => 503,
            FailureKind::ConnectionLost
            | FailureKind::ProtocolViolation
            | FailureKind::BadFraming => {
                if self.request_reached_member {
                    502
                } else {
                    503
                }
            }
            FailureKind::ReplyTimeout => 504,
            FailureKind::ClientAborted => 400,
            FailureKind::RequestRejected => 413,
        }
    }
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} during {}: {} (blame {:?}, reached member: {}, response started: {})",
            self.kind,
            self.phase,
            self.cause,
            self.blame(),
            self.request_reached_member,
            self.response_started
        )
    }
}

impl std::error::Error for AttemptError {}

/// A successful attempt: END_RESPONSE was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// Status Tomcat sent in SEND_HEADERS.
    pub status: u16,
    /// Response body bytes relayed to the client.
    pub body_bytes: u64,
    /// The member allowed the connection to be reused (END_RESPONSE reuse flag).
    pub reuse: bool,
    /// Time from the start of the attempt to END_RESPONSE.
    pub elapsed: Duration,
    /// AJP bytes moved in both directions, framing included (the Traffic lb method).
    pub ajp_bytes: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_safety_follows_progress() {
        let mut e = AttemptError::new(FailureKind::ConnectFailed, Phase::Connect, "refused");
        assert_eq!(e.retry_safety(), RetrySafety::Safe);
        assert_eq!(e.http_status(), 503);
        e.request_reached_member = true;
        assert_eq!(e.retry_safety(), RetrySafety::IfIdempotent);
        e.body_consumed = true;
        assert_eq!(e.retry_safety(), RetrySafety::Never);
        let mut s = AttemptError::new(FailureKind::ReplyTimeout, Phase::AwaitHeaders, "t");
        s.response_started = true;
        assert_eq!(s.retry_safety(), RetrySafety::Never);
        assert_eq!(s.http_status(), 504);
        let c = AttemptError::new(FailureKind::ClientAborted, Phase::SendBody, "eof");
        assert_eq!(c.blame(), Blame::Client);
        assert_eq!(c.retry_safety(), RetrySafety::Never);
        assert!(!c.member_at_fault());
    }

    #[test]
    fn protocol_violation_after_send_is_bad_gateway() {
        let mut e = AttemptError::new(FailureKind::ProtocolViolation, Phase::AwaitHeaders, "magic");
        e.request_reached_member = true;
        assert_eq!(e.http_status(), 502);
        assert!(e.member_at_fault());
    }
}
