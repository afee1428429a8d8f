//! The errors of `jkgate ajp` commands and their exit codes, which follow curl's so
//! scripts written around curl read them the same way.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::reproducer::ReproducerError;
use super::target::UrlError;
use crate::ajp::EncodeError;

/// curl's exit codes that `jkgate ajp` uses (see `man curl`, "EXIT CODES").
pub(crate) mod exit {
    /// Everything went as asked.
    pub(crate) const OK: u8 = 0;
    /// Unsupported protocol (a URL scheme other than `ajp`).
    pub(crate) const UNSUPPORTED_PROTOCOL: u8 = 1;
    /// Failed to initialize: a bad option, a request that cannot be encoded, a target
    /// refused by the loopback guard, an unreadable reproducer file.
    pub(crate) const FAILED_INIT: u8 = 2;
    /// URL malformed.
    pub(crate) const URL_MALFORMED: u8 = 3;
    /// Could not resolve host.
    pub(crate) const COULDNT_RESOLVE_HOST: u8 = 6;
    /// Failed to connect to host (refused, unreachable).
    pub(crate) const COULDNT_CONNECT: u8 = 7;
    /// Weird server reply: the container sent bytes that are not valid AJP13 or a
    /// packet out of place.
    pub(crate) const WEIRD_SERVER_REPLY: u8 = 8;
    /// Partial file: the connection closed after the headers, before END_RESPONSE.
    pub(crate) const PARTIAL_FILE: u8 = 18;
    /// Write error (standard output, a findings file).
    pub(crate) const WRITE_ERROR: u8 = 23;
    /// Read error (the request body's file or standard input).
    pub(crate) const READ_ERROR: u8 = 26;
    /// Operation timeout (connect or an answer).
    pub(crate) const OPERATION_TIMEDOUT: u8 = 28;
    /// Empty reply from server: closed before any answer.
    pub(crate) const GOT_NOTHING: u8 = 52;
    /// Failure sending network data.
    pub(crate) const SEND_ERROR: u8 = 55;
    /// Failure receiving network data (e.g. a reset).
    pub(crate) const RECV_ERROR: u8 = 56;
}

/// What went wrong in a `jkgate ajp` command; each names the phase it happened in.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ToolError {
    /// The URL.
    #[error(transparent)]
    Url(#[from] UrlError),
    /// The host did not resolve.
    #[error("cannot resolve host `{host}`: {cause}")]
    Resolve {
        /// The host.
        host: String,
        /// What the resolver said.
        cause: io::Error,
    },
    /// A command that sends hostile traffic was pointed at a non-loopback address.
    #[error(
        "refusing to send to {target} ({addr}): not a loopback address; add --allow-remote if this container is yours to break"
    )]
    NotLoopback {
        /// The URL's host:port.
        target: String,
        /// The first non-loopback address it resolved to.
        addr: SocketAddr,
    },
    /// A bad option value.
    #[error("{option}: {why}")]
    Option {
        /// The flag.
        option: &'static str,
        /// What is wrong and what would be valid.
        why: String,
    },
    /// The request cannot be encoded as AJP13 (too large for the packet, a CR in a
    /// header, ...).
    #[error("{phase}: the request cannot be sent as AJP13: {cause}")]
    Encode {
        /// What was being built.
        phase: &'static str,
        /// The codec's refusal.
        cause: EncodeError,
    },
    /// TCP connect failed.
    #[error("connecting to {addr}: {cause}")]
    Connect {
        /// The container's address.
        addr: SocketAddr,
        /// Why.
        cause: String,
    },
    /// TCP connect did not finish in time.
    #[error("no connection to {addr} within {limit:?}")]
    ConnectTimeout {
        /// The container's address.
        addr: SocketAddr,
        /// The limit.
        limit: Duration,
    },
    /// Nothing arrived in time.
    #[error("{phase}: no answer within {limit:?}")]
    Timeout {
        /// What was awaited.
        phase: &'static str,
        /// The limit.
        limit: Duration,
    },
    /// The container closed the connection before answering.
    #[error("{phase}: the container closed the connection without an answer")]
    EmptyReply {
        /// What was awaited.
        phase: &'static str,
    },
    /// The container closed the connection in the middle of a response.
    #[error("{phase}: the container closed the connection before END_RESPONSE")]
    Partial {
        /// What was awaited.
        phase: &'static str,
    },
    /// Writing to the container failed.
    #[error("{phase}: sending: {cause}")]
    Send {
        /// What was being sent.
        phase: &'static str,
        /// The I/O error.
        cause: io::Error,
    },
    /// Reading from the container failed (a reset, ...).
    #[error("{phase}: receiving: {cause}")]
    Recv {
        /// What was awaited.
        phase: &'static str,
        /// The I/O error.
        cause: io::Error,
    },
    /// The container's answer is not valid AJP13, or a packet came out of place.
    #[error("{phase}: protocol error: {detail}")]
    Protocol {
        /// What was awaited.
        phase: &'static str,
        /// What arrived.
        detail: String,
    },
    /// Reading the request body from a file or standard input failed.
    #[error("reading the request body from {source_name}: {cause}")]
    BodyRead {
        /// `-` for standard input, else the file.
        source_name: String,
        /// The I/O error.
        cause: io::Error,
    },
    /// Writing the response to standard output failed.
    #[error("writing the response: {0}")]
    Output(io::Error),
    /// A reproducer file cannot be read.
    #[error(transparent)]
    Reproducer(#[from] ReproducerError),
    /// Writing a finding or creating its directory failed.
    #[error("writing {}: {cause}", path.display())]
    Findings {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        cause: io::Error,
    },
    /// The async runtime cannot start.
    #[error("cannot start the runtime: {0}")]
    Runtime(io::Error),
}

impl ToolError {
    /// The curl exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            ToolError::Url(UrlError::Scheme { .. }) => exit::UNSUPPORTED_PROTOCOL,
            ToolError::Url(UrlError::Malformed { .. }) => exit::URL_MALFORMED,
            ToolError::Resolve { .. } => exit::COULDNT_RESOLVE_HOST,
            ToolError::NotLoopback { .. }
            | ToolError::Option { .. }
            | ToolError::Encode { .. }
            | ToolError::Reproducer(_)
            | ToolError::Runtime(_) => exit::FAILED_INIT,
            ToolError::Connect { .. } => exit::COULDNT_CONNECT,
            ToolError::ConnectTimeout { .. } | ToolError::Timeout { .. } => {
                exit::OPERATION_TIMEDOUT
            }
            ToolError::EmptyReply { .. } => exit::GOT_NOTHING,
            ToolError::Partial { .. } => exit::PARTIAL_FILE,
            ToolError::Send { .. } => exit::SEND_ERROR,
            ToolError::Recv { .. } => exit::RECV_ERROR,
            ToolError::Protocol { .. } => exit::WEIRD_SERVER_REPLY,
            ToolError::BodyRead { .. } => exit::READ_ERROR,
            ToolError::Output(_) | ToolError::Findings { .. } => exit::WRITE_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        "127.0.0.1:8009".parse().unwrap()
    }

    #[test]
    fn exit_codes_are_curls() {
        let io = || io::Error::from(io::ErrorKind::ConnectionReset);
        let cases: Vec<(ToolError, u8)> = vec![
            (
                UrlError::Scheme {
                    url: "http://x".into(),
                    scheme: "http".into(),
                }
                .into(),
                1,
            ),
            (
                UrlError::Malformed {
                    url: "ajp://".into(),
                    why: "no host",
                }
                .into(),
                3,
            ),
            (
                ToolError::Resolve {
                    host: "nowhere.invalid".into(),
                    cause: io(),
                },
                6,
            ),
            (
                ToolError::Connect {
                    addr: addr(),
                    cause: "Connection refused".into(),
                },
                7,
            ),
            (
                ToolError::Protocol {
                    phase: "awaiting SEND_HEADERS",
                    detail: "bad magic".into(),
                },
                8,
            ),
            (ToolError::Partial { phase: "body" }, 18),
            (ToolError::Output(io()), 23),
            (
                ToolError::BodyRead {
                    source_name: "-".into(),
                    cause: io(),
                },
                26,
            ),
            (
                ToolError::ConnectTimeout {
                    addr: addr(),
                    limit: Duration::from_secs(1),
                },
                28,
            ),
            (
                ToolError::Timeout {
                    phase: "CPONG",
                    limit: Duration::from_secs(1),
                },
                28,
            ),
            (ToolError::EmptyReply { phase: "headers" }, 52),
            (
                ToolError::Send {
                    phase: "request",
                    cause: io(),
                },
                55,
            ),
            (
                ToolError::Recv {
                    phase: "headers",
                    cause: io(),
                },
                56,
            ),
            (
                ToolError::NotLoopback {
                    target: "192.0.2.1:8009".into(),
                    addr: "192.0.2.1:8009".parse().unwrap(),
                },
                2,
            ),
            (
                ToolError::Option {
                    option: "-H",
                    why: "no colon".into(),
                },
                2,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error}");
        }
    }
}
