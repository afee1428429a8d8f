//! `jkgate ajp request URL`: curl for AJP. One FORWARD_REQUEST, the body streamed in
//! answer to GET_BODY_CHUNK, the response body on standard output.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncReadExt as _;

use super::build::{RequestSpec, forward_request, parse_attribute, parse_header};
use super::client::{BodySource, Client, ResponseSink};
use super::error::ToolError;
use super::target::AjpUrl;
use super::trace::Trace;
use crate::ajp::{ProxyMessage, SendHeaders};

/// Where `-d` takes the body from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyArg {
    /// `-d TEXT`: these bytes.
    Literal(String),
    /// `-d @FILE`: the file, streamed; its size is the Content-Length.
    File(PathBuf),
    /// `-d @-`: standard input, streamed without a Content-Length.
    Stdin,
}

impl BodyArg {
    /// curl's `-d` syntax: `@-`, `@FILE` or the data itself.
    pub fn parse(arg: &str) -> BodyArg {
        match arg.strip_prefix('@') {
            Some("-") => BodyArg::Stdin,
            Some(path) => BodyArg::File(PathBuf::from(path)),
            None => BodyArg::Literal(arg.to_owned()),
        }
    }
}

/// The options of `jkgate ajp request`.
#[derive(Debug, Clone)]
pub struct RequestOptions {
    /// `ajp://host:port/path?query`.
    pub url: String,
    /// `-X`: the method (default GET, POST with `-d`).
    pub method: Option<String>,
    /// `-H "Name: value"`, repeatable.
    pub headers: Vec<String>,
    /// `-a NAME=VALUE` request attributes, repeatable.
    pub attributes: Vec<String>,
    /// `--secret`: the connector's secret.
    pub secret: Option<String>,
    /// `-d`: the request body.
    pub data: Option<BodyArg>,
    /// `--packet-size`: the connector's packetSize.
    pub packet_size: u32,
    /// `-i`: print the status line and headers before the body.
    pub include: bool,
    /// `-v`: trace every packet on standard error.
    pub verbose: bool,
    /// Bound on connecting and on every read and write.
    pub timeout: Duration,
}

/// The request body, read as GET_BODY_CHUNK asks for it.
enum Body {
    Bytes(Bytes, u64),
    File(tokio::fs::File, u64, PathBuf),
    Stdin(tokio::io::Stdin),
}

impl BodySource for Body {
    fn length(&self) -> Option<u64> {
        match self {
            Body::Bytes(_, length) | Body::File(_, length, _) => Some(*length),
            Body::Stdin(_) => None,
        }
    }

    async fn next(&mut self, max: usize) -> Result<Bytes, ToolError> {
        match self {
            Body::Bytes(bytes, _) => Ok(bytes.split_to(max.min(bytes.len()))),
            Body::File(file, _, path) => {
                read_up_to(file, max)
                    .await
                    .map_err(|cause| ToolError::BodyRead {
                        source_name: path.display().to_string(),
                        cause,
                    })
            }
            Body::Stdin(stdin) => {
                read_up_to(stdin, max)
                    .await
                    .map_err(|cause| ToolError::BodyRead {
                        source_name: "-".to_owned(),
                        cause,
                    })
            }
        }
    }
}

/// Reads until `max` bytes or the end, so each body packet is full but the last.
async fn read_up_to(
    reader: &mut (impl tokio::io::AsyncRead + Unpin),
    max: usize,
) -> std::io::Result<Bytes> {
    let mut buf = vec![0u8; max];
    let mut filled = 0;
    while filled < max {
        let n = reader.read(&mut buf[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    buf.truncate(filled);
    Ok(Bytes::from(buf))
}

/// Writes the response to standard output: `-i` head first, then the body as it comes.
struct Stdout {
    include: bool,
    status: Option<u16>,
}

impl ResponseSink for Stdout {
    fn head(&mut self, head: &SendHeaders) -> Result<(), ToolError> {
        self.status = Some(head.status);
        if self.include {
            let mut out = std::io::stdout().lock();
            out.write_all(&status_and_headers(head))
                .map_err(ToolError::Output)?;
        }
        Ok(())
    }

    fn body(&mut self, data: &[u8]) -> Result<(), ToolError> {
        let mut out = std::io::stdout().lock();
        out.write_all(data)
            .and_then(|()| out.flush())
            .map_err(ToolError::Output)
    }
}

/// `HTTP/1.1 200 OK` and the headers, CRLF-ended like `curl -i`, values as the
/// container sent them. The reason is Tomcat's status message unless that is only the
/// number again.
pub(crate) fn status_and_headers(head: &SendHeaders) -> Vec<u8> {
    let message = head
        .status_msg
        .as_ref()
        .filter(|m| !m.is_empty() && m[..] != *head.status.to_string().as_bytes());
    let mut out = format!("HTTP/1.1 {} ", head.status).into_bytes();
    match message {
        Some(message) => out.extend_from_slice(message),
        None => out.extend_from_slice(
            http::StatusCode::from_u16(head.status)
                .ok()
                .and_then(|code| code.canonical_reason())
                .unwrap_or("")
                .as_bytes(),
        ),
    }
    out.extend_from_slice(b"\r\n");
    for (name, value) in &head.headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_deref().unwrap_or_default());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Runs `jkgate ajp request`.
pub(crate) async fn run(options: RequestOptions) -> Result<(), ToolError> {
    let url = AjpUrl::parse(&options.url)?;
    let packet_size = super::packet_size(options.packet_size)?;
    let mut spec = RequestSpec {
        method: options.method.clone().unwrap_or_else(|| {
            if options.data.is_some() {
                "POST"
            } else {
                "GET"
            }
            .to_owned()
        }),
        secret: options.secret.as_ref().map(|s| Bytes::from(s.clone())),
        ..RequestSpec::default()
    };
    for header in &options.headers {
        spec.headers.push(parse_header(header)?);
    }
    for attribute in &options.attributes {
        spec.attributes.push(parse_attribute(attribute)?);
    }
    let mut body = match &options.data {
        None => Body::Bytes(Bytes::new(), 0),
        Some(BodyArg::Literal(text)) => Body::Bytes(Bytes::from(text.clone()), text.len() as u64),
        Some(BodyArg::File(path)) => {
            let read_error = |cause| ToolError::BodyRead {
                source_name: path.display().to_string(),
                cause,
            };
            let file = tokio::fs::File::open(path).await.map_err(read_error)?;
            let length = file.metadata().await.map_err(read_error)?.len();
            Body::File(file, length, path.clone())
        }
        Some(BodyArg::Stdin) => Body::Stdin(tokio::io::stdin()),
    };
    if options.data.is_some() {
        // curl -d's default; a -H Content-Type replaces it.
        if !spec
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(b"content-type"))
        {
            spec.headers.push((
                Bytes::from_static(b"Content-Type"),
                Bytes::from_static(b"application/x-www-form-urlencoded"),
            ));
        }
        spec.content_length = body.length();
    }
    let request = ProxyMessage::ForwardRequest(forward_request(&url, &spec));
    let trace = Trace::new(options.verbose);
    let addr = url.resolve()?;
    let mut client = Client::connect(addr, packet_size, options.timeout, trace).await?;
    let mut sink = Stdout {
        include: options.include,
        status: None,
    };
    let ended = client.exchange(&request, &mut body, &mut sink).await?;
    trace.note(format_args!(
        "response complete (status {}), connection {}",
        sink.status.unwrap_or(0),
        if ended.reuse { "reusable" } else { "closing" }
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ajp::{ResponseHeaderCode, ResponseHeaderName};

    #[test]
    fn body_argument_follows_curl() {
        assert_eq!(BodyArg::parse("@-"), BodyArg::Stdin);
        assert_eq!(BodyArg::parse("@a/b"), BodyArg::File("a/b".into()));
        assert_eq!(BodyArg::parse("x=1"), BodyArg::Literal("x=1".into()));
    }

    #[test]
    fn head_prints_like_curl_i() {
        let head = SendHeaders {
            status: 404,
            status_msg: Some(Bytes::from_static(b"404")),
            headers: vec![(
                ResponseHeaderName::Coded(ResponseHeaderCode::ContentType),
                Some(Bytes::from_static(b"text/html")),
            )],
        };
        assert_eq!(
            status_and_headers(&head),
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n"
        );
        let custom = SendHeaders {
            status: 299,
            status_msg: Some(Bytes::from_static(b"Fine")),
            headers: vec![],
        };
        assert_eq!(status_and_headers(&custom), b"HTTP/1.1 299 Fine\r\n\r\n");
    }
}
