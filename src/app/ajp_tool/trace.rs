//! `-v`: every AJP packet both ways, decoded, on standard error (`>` sent, `<` received,
//! `*` notes), the way `curl -v` shows an HTTP exchange.

use std::io::Write as _;

use crate::ajp::{Attribute, ContainerMessage, ProxyMessage, RequestHeaderName};

/// Writes the trace when enabled; a no-op otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Trace {
    enabled: bool,
}

impl Trace {
    /// A trace that prints when `enabled`.
    pub(crate) fn new(enabled: bool) -> Self {
        Trace { enabled }
    }

    /// A note (`* ...`).
    pub(crate) fn note(&self, text: impl std::fmt::Display) {
        if self.enabled {
            let _ = writeln!(std::io::stderr().lock(), "* {text}");
        }
    }

    /// A packet about to be sent, `frame_len` bytes on the wire.
    pub(crate) fn sent(&self, message: &ProxyMessage, frame_len: usize) {
        if self.enabled {
            let _ = std::io::stderr()
                .lock()
                .write_all(describe_proxy(message, frame_len).as_bytes());
        }
    }

    /// Bytes written as they are (fuzz conversations and replays).
    pub(crate) fn sent_raw(&self, bytes: &[u8]) {
        if self.enabled {
            let _ = writeln!(
                std::io::stderr().lock(),
                "> write {} bytes: {}",
                bytes.len(),
                hex::encode(&bytes[..bytes.len().min(64)])
                    + if bytes.len() > 64 { "..." } else { "" }
            );
        }
    }

    /// A packet received.
    pub(crate) fn received(&self, message: &ContainerMessage) {
        if self.enabled {
            let _ = std::io::stderr()
                .lock()
                .write_all(describe_container(message).as_bytes());
        }
    }
}

/// Bytes as text: printable ASCII as it is, anything else as `\xHH`.
pub(crate) fn shown(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if (0x20..0x7f).contains(&byte) {
            out.push(char::from(byte));
        } else {
            out += &format!("\\x{byte:02x}");
        }
    }
    out
}

fn opt(bytes: &Option<bytes::Bytes>) -> String {
    bytes
        .as_ref()
        .map_or_else(|| "(null)".to_owned(), |b| shown(b))
}

/// The lines `-v` prints for a packet sent.
pub(crate) fn describe_proxy(message: &ProxyMessage, frame_len: usize) -> String {
    let mut out = String::new();
    match message {
        ProxyMessage::ForwardRequest(request) => {
            let method = request
                .method_name()
                .map_or_else(|| "(no method name)".to_owned(), shown);
            out += &format!(
                "> FORWARD_REQUEST ({frame_len} bytes) method {:#04x} {method} {} {}\n",
                request.method.code(),
                opt(&request.req_uri),
                opt(&request.protocol),
            );
            out += &format!(
                ">   remote_addr={} remote_host={} server_name={} server_port={} is_ssl={}\n",
                opt(&request.remote_addr),
                opt(&request.remote_host),
                opt(&request.server_name),
                request.server_port,
                request.is_ssl
            );
            for (name, value) in &request.headers {
                let code = match name {
                    RequestHeaderName::Coded(code) => format!(" [{:#06X}]", code.code()),
                    RequestHeaderName::Named(_) => String::new(),
                };
                out += &format!(">   {}{code}: {}\n", shown(name.as_bytes()), opt(value));
            }
            for attribute in &request.attributes {
                out += &format!(">   attribute {}\n", describe_attribute(attribute));
            }
        }
        ProxyMessage::Body(data) if data.is_empty() => {
            out += "> BODY end (empty body packet)\n";
        }
        ProxyMessage::Body(data) => out += &format!("> BODY {} bytes\n", data.len()),
        ProxyMessage::CPing => out += "> CPING\n",
        ProxyMessage::Shutdown => out += "> SHUTDOWN\n",
        ProxyMessage::Ping => out += "> PING\n",
    }
    out
}

fn describe_attribute(attribute: &Attribute) -> String {
    let name = Attribute::code_name(attribute.code()).unwrap_or("?");
    match attribute {
        Attribute::ReqAttribute { name: key, value } => {
            format!("req_attribute {}={}", shown(key), shown(value))
        }
        // The secret is shown by length only: traces end up in tickets.
        Attribute::Secret(secret) => format!("secret ({} bytes)", secret.len()),
        Attribute::SslKeySize(size) => format!("ssl_key_size={size}"),
        Attribute::Context(v)
        | Attribute::ServletPath(v)
        | Attribute::RemoteUser(v)
        | Attribute::AuthType(v)
        | Attribute::QueryString(v)
        | Attribute::Route(v)
        | Attribute::SslCert(v)
        | Attribute::SslCipher(v)
        | Attribute::SslSession(v)
        | Attribute::StoredMethod(v) => format!("{name}={}", shown(v)),
    }
}

/// The lines `-v` prints for a packet received.
pub(crate) fn describe_container(message: &ContainerMessage) -> String {
    match message {
        ContainerMessage::SendHeaders(head) => {
            let mut out = format!("< SEND_HEADERS {} {}\n", head.status, opt(&head.status_msg));
            for (name, value) in &head.headers {
                out += &format!("<   {}: {}\n", shown(name.as_bytes()), opt(value));
            }
            out
        }
        ContainerMessage::SendBodyChunk(data) => {
            format!("< SEND_BODY_CHUNK {} bytes\n", data.len())
        }
        ContainerMessage::GetBodyChunk { requested_len } => {
            format!("< GET_BODY_CHUNK {requested_len} bytes asked\n")
        }
        ContainerMessage::EndResponse { reuse } => {
            format!(
                "< END_RESPONSE reuse={}\n",
                if *reuse { "yes" } else { "no" }
            )
        }
        ContainerMessage::CPong => "< CPONG\n".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_only_what_a_terminal_cannot_show() {
        assert_eq!(shown(b"W/\"1-2\" a\\b"), "W/\"1-2\" a\\b");
        assert_eq!(shown(b"a\r\n\x00\xff"), "a\\x0d\\x0a\\x00\\xff");
    }
}
