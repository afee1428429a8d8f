//! Plays one conversation against a container and judges what came back: the part
//! `jkgate ajp fuzz` and `jkgate ajp replay` share.
//!
//! What the container owes is worked out from the bytes sent, with the codec's own
//! container-side decoder and Tomcat's state transitions ([`ContainerState::after`]):
//! every whole FORWARD_REQUEST whose body is complete owes one END_RESPONSE, every
//! CPING one CPONG. Only a conversation that decodes cleanly to its last byte owes
//! anything; for the rest (cut frames, bad lengths, noise) any reaction short of a 5xx
//! or invalid AJP is the container's right: waiting for more bytes, 400, closing.

use std::net::SocketAddr;
use std::time::Duration;

use super::client::Client;
use super::error::ToolError;
use super::reproducer::{Finding, FindingKind, Step, steps_bytes};
use super::trace::Trace;
use crate::ajp::{
    ContainerMessage, ContainerState, DecodeOptions, DecodeStatus, PacketSize, ProxyMessage,
    decode_proxy_message,
};

/// What the container owes for a conversation's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owed {
    /// The bytes decode cleanly to the end, between requests.
    pub complete: bool,
    /// END_RESPONSEs and CPONGs owed.
    pub answers: usize,
}

/// Works out what the container owes for `bytes` (see the module documentation).
pub(crate) fn owed(bytes: &[u8], packet_size: PacketSize) -> Owed {
    let options = DecodeOptions::new(packet_size);
    let mut state = ContainerState::AwaitingRequest;
    let mut rest = bytes;
    let mut answers = 0;
    let mut in_request = false;
    loop {
        if rest.is_empty() {
            return Owed {
                complete: state == ContainerState::AwaitingRequest,
                answers,
            };
        }
        let decoded = match decode_proxy_message(rest, state, &options) {
            Ok(DecodeStatus::Complete(decoded)) => decoded,
            Ok(DecodeStatus::Incomplete { .. }) | Err(_) => {
                return Owed {
                    complete: false,
                    answers,
                };
            }
        };
        let next = state.after(&decoded.message);
        match &decoded.message {
            ProxyMessage::CPing => answers += 1,
            ProxyMessage::ForwardRequest(_) => {
                if next == ContainerState::AwaitingRequest {
                    answers += 1;
                } else {
                    in_request = true;
                }
            }
            ProxyMessage::Body(_) => {
                if in_request && next == ContainerState::AwaitingRequest {
                    answers += 1;
                    in_request = false;
                }
            }
            // Tomcat closes the connection on these.
            ProxyMessage::Shutdown | ProxyMessage::Ping => {
                return Owed {
                    complete: false,
                    answers,
                };
            }
        }
        state = next;
        rest = &rest[decoded.frame_len..];
    }
}

/// How the container's side of a conversation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Everything owed arrived; nothing more was waited for.
    Done,
    /// It closed the connection.
    Closed,
    /// Reading failed (a reset).
    Reset(String),
    /// Nothing more within the short grace period, nothing owed.
    Waiting,
    /// Nothing more within the timeout while an answer was owed.
    Silent(Duration),
    /// It sent bytes that are not valid AJP13.
    Invalid(String),
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    /// SEND_HEADERS statuses in order.
    pub statuses: Vec<u16>,
    /// END_RESPONSEs and CPONGs.
    pub answers: usize,
    /// The last packet received was GET_BODY_CHUNK (it is waiting for the body).
    pub asked_for_body: bool,
    /// A write failed (the container had closed or reset).
    pub send_error: Option<String>,
    /// How it ended.
    pub end: End,
}

impl Observed {
    /// A short label for the run's tally of outcomes.
    pub(crate) fn label(&self) -> String {
        let end = match &self.end {
            End::Done => "done",
            End::Closed => "closed",
            End::Reset(_) => "reset",
            End::Waiting => "waiting",
            End::Silent(_) => "silent",
            End::Invalid(_) => "invalid reply",
        };
        match self.statuses.first() {
            Some(status) => format!("answered {status}, then {end}"),
            None if self.asked_for_body => format!("asked for body, then {end}"),
            None if self.answers > 0 => format!("CPONG, then {end}"),
            None => format!("no answer, {end}"),
        }
    }
}

/// Timing of one play.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Silence this long while an answer is owed is a hang.
    pub timeout: Duration,
    /// How long to wait for anything more when nothing is owed.
    pub grace: Duration,
}

/// Sends the steps on a fresh connection and reads until the container is done, closes
/// or falls silent.
pub(crate) async fn play(
    addr: SocketAddr,
    steps: &[Step],
    owed: Owed,
    limits: Limits,
    trace: Trace,
) -> Result<Observed, ToolError> {
    let mut client = Client::connect(addr, PacketSize::MAX, limits.timeout, trace).await?;
    let mut send_error = None;
    for step in steps {
        match step {
            Step::Write(bytes) => {
                if let Err(err) = client.send_raw(bytes, "sending the conversation").await {
                    send_error = Some(err.to_string());
                    break;
                }
            }
            Step::Pause(pause) => tokio::time::sleep(*pause).await,
        }
    }
    let mut observed = Observed {
        statuses: Vec::new(),
        answers: 0,
        asked_for_body: false,
        send_error,
        end: End::Waiting,
    };
    loop {
        let outstanding = owed.complete && observed.answers < owed.answers;
        if owed.complete && !outstanding && observed.send_error.is_none() {
            observed.end = End::Done;
            break;
        }
        let limit = if outstanding {
            limits.timeout
        } else {
            limits.grace
        };
        match client.recv_within(limit, "reading the answer").await {
            Ok(message) => {
                observed.asked_for_body = matches!(message, ContainerMessage::GetBodyChunk { .. });
                match message {
                    ContainerMessage::SendHeaders(head) => observed.statuses.push(head.status),
                    ContainerMessage::EndResponse { .. } | ContainerMessage::CPong => {
                        observed.answers += 1;
                    }
                    ContainerMessage::SendBodyChunk(_) | ContainerMessage::GetBodyChunk { .. } => {}
                }
            }
            Err(ToolError::Timeout { limit, .. }) => {
                observed.end = if outstanding {
                    End::Silent(limit)
                } else {
                    End::Waiting
                };
                break;
            }
            Err(ToolError::EmptyReply { .. }) => {
                observed.end = End::Closed;
                break;
            }
            Err(ToolError::Recv { cause, .. }) => {
                observed.end = End::Reset(cause.to_string());
                break;
            }
            Err(ToolError::Protocol { detail, .. }) => {
                observed.end = End::Invalid(detail);
                break;
            }
            Err(other) => return Err(other),
        }
    }
    Ok(observed)
}

/// The finding in what came back, if any.
pub(crate) fn judge(owed: Owed, observed: &Observed) -> Option<Finding> {
    if let End::Invalid(detail) = &observed.end {
        return Some(Finding {
            kind: FindingKind::BadReply,
            detail: format!("the container sent invalid AJP13: {detail}"),
        });
    }
    // 501 is the right answer to a method the container does not implement, not a fault.
    if let Some(status) = observed
        .statuses
        .iter()
        .find(|status| **status >= 500 && **status != 501)
    {
        return Some(Finding {
            kind: FindingKind::ServerError,
            detail: format!("status {status} (statuses {:?})", observed.statuses),
        });
    }
    let short = owed.complete && observed.answers < owed.answers;
    match &observed.end {
        End::Reset(cause) if short => Some(Finding {
            kind: FindingKind::Reset,
            detail: format!(
                "reset after {} of {} answers to a well-formed conversation: {cause}",
                observed.answers, owed.answers
            ),
        }),
        End::Silent(limit) if !observed.asked_for_body => Some(Finding {
            kind: FindingKind::Hang,
            detail: format!(
                "no answer within {limit:?} after {} of {} answers to a well-formed conversation",
                observed.answers, owed.answers
            ),
        }),
        _ => None,
    }
}

/// CPING checks after a conversation, one second apart, before the container counts
/// as gone.
const CPING_TRIES: u32 = 3;

/// CPING on a fresh connection, tried a few times a second apart: whether the
/// container still answers after a conversation.
pub(crate) async fn cping_alive(addr: SocketAddr, timeout: Duration) -> Result<(), ToolError> {
    let mut last = ToolError::EmptyReply {
        phase: "awaiting CPONG",
    };
    for attempt in 0..CPING_TRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let result = async {
            let mut client =
                Client::connect(addr, PacketSize::DEFAULT, timeout, Trace::new(false)).await?;
            client.cping().await.map(|_| ())
        }
        .await;
        match result {
            Ok(()) => return Ok(()),
            Err(err) => last = err,
        }
    }
    Err(last)
}

/// [`owed`] for a conversation's steps.
pub(crate) fn owed_by_steps(steps: &[Step], packet_size: PacketSize) -> Owed {
    owed(&steps_bytes(steps), packet_size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};

    use crate::ajp::{ForwardRequest, encode_proxy_message};

    fn frame(message: &ProxyMessage) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_proxy_message(message, PacketSize::DEFAULT, &mut out).unwrap();
        out.to_vec()
    }

    fn request(content_length: Option<&str>) -> Vec<u8> {
        let mut request = ForwardRequest::default();
        if let Some(length) = content_length {
            request.push_header(
                Bytes::from_static(b"Content-Length"),
                Bytes::copy_from_slice(length.as_bytes()),
            );
        }
        frame(&ProxyMessage::ForwardRequest(request))
    }

    #[test]
    fn owed_answers_follow_tomcat_states() {
        let ps = PacketSize::DEFAULT;
        let body = frame(&ProxyMessage::Body(Bytes::from_static(b"abc")));
        let end = frame(&ProxyMessage::end_of_body());
        let cping = frame(&ProxyMessage::CPing);
        let cases: Vec<(Vec<u8>, Owed)> = vec![
            (
                request(Some("0")),
                Owed {
                    complete: true,
                    answers: 1,
                },
            ),
            (
                [request(Some("0")), cping.clone()].concat(),
                Owed {
                    complete: true,
                    answers: 2,
                },
            ),
            // Absent length: the container will ask for the body, the request is open.
            (
                request(None),
                Owed {
                    complete: false,
                    answers: 0,
                },
            ),
            (
                [request(Some("3")), body.clone()].concat(),
                Owed {
                    complete: false,
                    answers: 0,
                },
            ),
            (
                [request(Some("3")), body.clone(), end.clone()].concat(),
                Owed {
                    complete: true,
                    answers: 1,
                },
            ),
            (
                request(Some("0"))[..7].to_vec(),
                Owed {
                    complete: false,
                    answers: 0,
                },
            ),
            (
                vec![0x41, 0x42, 0, 1, 0x0a],
                Owed {
                    complete: false,
                    answers: 0,
                },
            ),
            (
                [cping.clone(), vec![0x12]].concat(),
                Owed {
                    complete: false,
                    answers: 1,
                },
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(owed(&bytes, ps), expected, "{}", hex::encode(&bytes));
        }
    }

    fn seen(statuses: Vec<u16>, answers: usize, end: End) -> Observed {
        Observed {
            statuses,
            answers,
            asked_for_body: false,
            send_error: None,
            end,
        }
    }

    #[test]
    fn judging_tells_findings_from_refusals() {
        let owes_one = Owed {
            complete: true,
            answers: 1,
        };
        let owes_nothing = Owed {
            complete: false,
            answers: 0,
        };
        let kind = |owed, observed: Observed| judge(owed, &observed).map(|f| f.kind);
        let limit = Duration::from_secs(1);
        assert_eq!(kind(owes_one, seen(vec![200], 1, End::Done)), None);
        assert_eq!(kind(owes_nothing, seen(vec![400], 1, End::Closed)), None);
        assert_eq!(
            kind(owes_nothing, seen(vec![], 0, End::Reset("x".into()))),
            None
        );
        assert_eq!(kind(owes_nothing, seen(vec![], 0, End::Waiting)), None);
        assert_eq!(
            kind(owes_nothing, seen(vec![500], 1, End::Closed)),
            Some(FindingKind::ServerError)
        );
        assert_eq!(kind(owes_one, seen(vec![501], 1, End::Done)), None);
        assert_eq!(
            kind(owes_one, seen(vec![], 0, End::Reset("x".into()))),
            Some(FindingKind::Reset)
        );
        assert_eq!(
            kind(owes_one, seen(vec![], 0, End::Silent(limit))),
            Some(FindingKind::Hang)
        );
        assert_eq!(
            kind(owes_one, seen(vec![], 0, End::Invalid("bad magic".into()))),
            Some(FindingKind::BadReply)
        );
        let mut asked = seen(vec![], 0, End::Silent(limit));
        asked.asked_for_body = true;
        assert_eq!(kind(owes_one, asked), None);
    }
}
