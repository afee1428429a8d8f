//! One connection to a container, as every `jkgate ajp` command uses it: the backend's
//! own [`AjpConnection`] (connect, codec buffers, CPING) with `-v` tracing and the
//! tool's typed errors around it.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::error::ToolError;
use super::trace::Trace;
use crate::ajp::{ContainerMessage, PacketSize, ProxyMessage, SendHeaders, encode_proxy_message};
use crate::backend::conn::{AjpConnection, CpingError, ReadError};
use crate::backend::{FailureKind, MemberConfig};

/// An open AJP connection.
#[derive(Debug)]
pub(crate) struct Client {
    conn: AjpConnection,
    trace: Trace,
    timeout: Duration,
}

/// How a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ended {
    /// END_RESPONSE's reuse flag.
    pub reuse: bool,
}

/// What receives a response as it arrives.
pub(crate) trait ResponseSink {
    /// SEND_HEADERS.
    fn head(&mut self, head: &SendHeaders) -> Result<(), ToolError>;
    /// One SEND_BODY_CHUNK's data.
    fn body(&mut self, data: &[u8]) -> Result<(), ToolError>;
}

/// A whole response, kept in memory (probe checks).
#[derive(Debug, Default)]
pub(crate) struct Collected {
    /// SEND_HEADERS, once it arrived.
    pub head: Option<SendHeaders>,
    /// The body.
    pub body: Vec<u8>,
}

impl ResponseSink for Collected {
    fn head(&mut self, head: &SendHeaders) -> Result<(), ToolError> {
        self.head = Some(head.clone());
        Ok(())
    }

    fn body(&mut self, data: &[u8]) -> Result<(), ToolError> {
        self.body.extend_from_slice(data);
        Ok(())
    }
}

/// Where request-body packets come from.
pub(crate) trait BodySource {
    /// The length the request declares (Content-Length), if known.
    fn length(&self) -> Option<u64>;
    /// Up to `max` next bytes; empty at the end.
    fn next(&mut self, max: usize) -> impl Future<Output = Result<Bytes, ToolError>>;
}

/// No body at all.
#[derive(Debug, Default)]
pub(crate) struct NoBody;

impl BodySource for NoBody {
    fn length(&self) -> Option<u64> {
        Some(0)
    }

    async fn next(&mut self, _max: usize) -> Result<Bytes, ToolError> {
        Ok(Bytes::new())
    }
}

impl Client {
    /// Connects to `addr` with the backend's connection code (TCP_NODELAY), bounded by
    /// `timeout`, which also bounds every later read and write.
    pub(crate) async fn connect(
        addr: SocketAddr,
        packet_size: PacketSize,
        timeout: Duration,
        trace: Trace,
    ) -> Result<Client, ToolError> {
        let mut cfg = MemberConfig::new("ajp", addr);
        cfg.packet_size = packet_size;
        cfg.socket_connect_timeout = timeout;
        trace.note(format_args!("connecting to {addr}"));
        let conn = AjpConnection::connect(&cfg).await.map_err(|err| {
            if err.kind == FailureKind::ConnectTimeout {
                ToolError::ConnectTimeout {
                    addr,
                    limit: timeout,
                }
            } else {
                ToolError::Connect {
                    addr,
                    cause: err.cause,
                }
            }
        })?;
        trace.note(format_args!("connected to {addr}"));
        Ok(Client {
            conn,
            trace,
            timeout,
        })
    }

    /// Encodes and sends one message.
    pub(crate) async fn send(
        &mut self,
        message: &ProxyMessage,
        phase: &'static str,
    ) -> Result<(), ToolError> {
        let mut frame = BytesMut::new();
        encode_proxy_message(message, self.conn.packet_size(), &mut frame)
            .map_err(|cause| ToolError::Encode { phase, cause })?;
        self.trace.sent(message, frame.len());
        self.conn
            .write_raw(&frame, Some(self.timeout))
            .await
            .map_err(|cause| ToolError::Send { phase, cause })
    }

    /// Sends bytes as they are (hostile packets, hand-made frames).
    pub(crate) async fn send_raw(
        &mut self,
        bytes: &[u8],
        phase: &'static str,
    ) -> Result<(), ToolError> {
        self.trace.sent_raw(bytes);
        self.conn
            .write_raw(bytes, Some(self.timeout))
            .await
            .map_err(|cause| ToolError::Send { phase, cause })
    }

    /// Receives one message, waiting at most the connection's timeout.
    pub(crate) async fn recv(
        &mut self,
        phase: &'static str,
    ) -> Result<ContainerMessage, ToolError> {
        self.recv_within(self.timeout, phase).await
    }

    /// Receives one message, waiting at most `limit`.
    pub(crate) async fn recv_within(
        &mut self,
        limit: Duration,
        phase: &'static str,
    ) -> Result<ContainerMessage, ToolError> {
        match self.conn.read_message(Some(limit)).await {
            Ok(message) => {
                self.trace.received(&message);
                Ok(message)
            }
            Err(err) => Err(read_error(err, phase)),
        }
    }

    /// CPING → CPONG with the pool's own check; the time it took.
    pub(crate) async fn cping(&mut self) -> Result<Duration, ToolError> {
        const PHASE: &str = "awaiting CPONG";
        self.trace.sent(&ProxyMessage::CPing, 5);
        let started = Instant::now();
        match self.conn.cping(self.timeout).await {
            Ok(()) => {
                let took = started.elapsed();
                self.trace.received(&ContainerMessage::CPong);
                Ok(took)
            }
            Err(CpingError::Send(cause)) => Err(ToolError::Send {
                phase: "sending CPING",
                cause,
            }),
            Err(CpingError::Read(err)) => Err(read_error(err, PHASE)),
            Err(CpingError::Unexpected(code)) => Err(ToolError::Protocol {
                phase: PHASE,
                detail: format!("packet type {code:#04x} instead of CPONG"),
            }),
            Err(CpingError::NoCpong) => Err(ToolError::Protocol {
                phase: PHASE,
                detail: "two other packets instead of CPONG".to_owned(),
            }),
        }
    }

    /// One request cycle: FORWARD_REQUEST, the body (its first packet unsolicited when
    /// the length is known and not zero, as mod_jk sends it; then one packet per
    /// GET_BODY_CHUNK), the response into `sink`, up to END_RESPONSE.
    pub(crate) async fn exchange(
        &mut self,
        request: &ProxyMessage,
        body: &mut impl BodySource,
        sink: &mut impl ResponseSink,
    ) -> Result<Ended, ToolError> {
        self.send(request, "sending FORWARD_REQUEST").await?;
        self.finish(body, sink).await
    }

    /// The rest of a request cycle once its FORWARD_REQUEST is sent (by
    /// [`Client::exchange`], or as raw bytes): the body and the response.
    pub(crate) async fn finish(
        &mut self,
        body: &mut impl BodySource,
        sink: &mut impl ResponseSink,
    ) -> Result<Ended, ToolError> {
        let max_body = self.conn.packet_size().max_request_body_data();
        if body.length().is_some_and(|length| length > 0) {
            let data = body.next(max_body).await?;
            self.send(&ProxyMessage::Body(data), "sending the request body")
                .await?;
        }
        let mut headers_seen = false;
        loop {
            let phase = if headers_seen {
                "awaiting the response body"
            } else {
                "awaiting SEND_HEADERS"
            };
            let message = match self.recv(phase).await {
                Ok(message) => message,
                Err(ToolError::EmptyReply { phase }) if headers_seen => {
                    return Err(ToolError::Partial { phase });
                }
                Err(err) => return Err(err),
            };
            match message {
                ContainerMessage::SendHeaders(head) => {
                    if headers_seen {
                        return Err(ToolError::Protocol {
                            phase,
                            detail: "a second SEND_HEADERS".to_owned(),
                        });
                    }
                    headers_seen = true;
                    sink.head(&head)?;
                }
                ContainerMessage::SendBodyChunk(data) => {
                    if !headers_seen {
                        return Err(ToolError::Protocol {
                            phase,
                            detail: "SEND_BODY_CHUNK before SEND_HEADERS".to_owned(),
                        });
                    }
                    sink.body(&data)?;
                }
                ContainerMessage::GetBodyChunk { requested_len } => {
                    let max = usize::from(requested_len).min(max_body);
                    let data = body.next(max).await?;
                    self.send(&ProxyMessage::Body(data), "sending the request body")
                        .await?;
                }
                ContainerMessage::EndResponse { reuse } => {
                    if !headers_seen {
                        return Err(ToolError::Protocol {
                            phase,
                            detail: "END_RESPONSE without SEND_HEADERS".to_owned(),
                        });
                    }
                    return Ok(Ended { reuse });
                }
                ContainerMessage::CPong => {
                    return Err(ToolError::Protocol {
                        phase,
                        detail: "CPONG nobody asked for".to_owned(),
                    });
                }
            }
        }
    }
}

/// The tool's error for a failed read.
pub(crate) fn read_error(err: ReadError, phase: &'static str) -> ToolError {
    match err {
        ReadError::Timeout(limit) => ToolError::Timeout { phase, limit },
        ReadError::Closed => ToolError::EmptyReply { phase },
        ReadError::Io(cause) => ToolError::Recv { phase, cause },
        ReadError::Protocol(cause) => ToolError::Protocol {
            phase,
            detail: cause.to_string(),
        },
    }
}
