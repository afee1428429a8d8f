//! The proxy side of the AJP13 wire as the relay uses it: encode what jkgate
//! sends, decode what the container sends, both straight on the connection's
//! buffers. The message model is the codec's (`crate::ajp`).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::ajp::{
    Attribute, ContainerMessage, ForwardRequest, PacketSize, ProxyMessage, RequestHeaderName,
    ResponseHeaderCode, ResponseHeaderName, SendHeaders,
};

/// Magic of packets to the container.
const TO_CONTAINER: [u8; 2] = [0x12, 0x34];
/// Magic of packets from the container ("AB").
const FROM_CONTAINER: u16 = 0x4142;

/// An encoding failure: the request cannot be expressed in one packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The packet would be larger than the packet size.
    #[error("{len} bytes do not fit into one {max}-byte AJP packet")]
    TooLarge {
        /// Packet length needed.
        len: usize,
        /// Packet size P.
        max: usize,
    },
    /// A field contains CR, LF or NUL, or is too long for its length field.
    #[error("AJP field `{0}` contains a forbidden byte (CR, LF or NUL) or is too long")]
    Forbidden(&'static str),
}

/// A decoding failure: the member broke the protocol. The connection is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError(msg.into())
}

/// Encodes `message` into `dst` (after whatever is already there).
pub fn encode_proxy(
    message: &ProxyMessage,
    dst: &mut BytesMut,
    packet_size: PacketSize,
) -> Result<(), EncodeError> {
    match message {
        ProxyMessage::ForwardRequest(request) => encode_forward(request, dst, packet_size),
        ProxyMessage::Body(data) => {
            encode_body(data, dst);
            Ok(())
        }
        ProxyMessage::CPing => {
            dst.put_slice(&[0x12, 0x34, 0x00, 0x01, 0x0A]);
            Ok(())
        }
        ProxyMessage::Shutdown => {
            dst.put_slice(&[0x12, 0x34, 0x00, 0x01, 0x07]);
            Ok(())
        }
        ProxyMessage::Ping => {
            dst.put_slice(&[0x12, 0x34, 0x00, 0x01, 0x08]);
            Ok(())
        }
    }
}

/// Encodes one request-body packet; empty `data` gives the end-of-body packet
/// `12 34 00 00`. The caller keeps `data` within P − 6 bytes.
pub fn encode_body(data: &[u8], dst: &mut BytesMut) {
    dst.reserve(6 + data.len());
    dst.put_slice(&TO_CONTAINER);
    if data.is_empty() {
        dst.put_u16(0);
        return;
    }
    dst.put_u16((data.len() + 2) as u16);
    dst.put_u16(data.len() as u16);
    dst.put_slice(data);
}

fn put_string(dst: &mut BytesMut, field: &'static str, value: &[u8]) -> Result<(), EncodeError> {
    if value.len() >= 0xFFFF || value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(EncodeError::Forbidden(field));
    }
    dst.put_u16(value.len() as u16);
    dst.put_slice(value);
    dst.put_u8(0);
    Ok(())
}

fn put_opt_string(
    dst: &mut BytesMut,
    field: &'static str,
    value: &Option<Bytes>,
) -> Result<(), EncodeError> {
    match value {
        Some(value) => put_string(dst, field, value),
        None => {
            dst.put_u16(0xFFFF);
            Ok(())
        }
    }
}

fn encode_forward(
    request: &ForwardRequest,
    dst: &mut BytesMut,
    packet_size: PacketSize,
) -> Result<(), EncodeError> {
    let start = dst.len();
    dst.reserve(1024);
    dst.put_slice(&TO_CONTAINER);
    dst.put_u16(0); // length, patched below
    dst.put_u8(crate::ajp::CODE_FORWARD_REQUEST);
    dst.put_u8(request.method.code());
    let required = |v: &Option<Bytes>, f: &'static str| v.clone().ok_or(EncodeError::Forbidden(f));
    put_string(dst, "protocol", &required(&request.protocol, "protocol")?)?;
    put_string(dst, "req_uri", &required(&request.req_uri, "req_uri")?)?;
    put_opt_string(dst, "remote_addr", &request.remote_addr)?;
    put_opt_string(dst, "remote_host", &request.remote_host)?;
    put_opt_string(dst, "server_name", &request.server_name)?;
    dst.put_u16(request.server_port);
    dst.put_u8(u8::from(request.is_ssl));
    if request.headers.len() > 0xFFFF {
        return Err(EncodeError::Forbidden("num_headers"));
    }
    dst.put_u16(request.headers.len() as u16);
    for (name, value) in &request.headers {
        match name {
            RequestHeaderName::Coded(code) => dst.put_u16(code.code()),
            RequestHeaderName::Named(name) => {
                if name.is_empty() || name.len() >= 0xA000 {
                    return Err(EncodeError::Forbidden("header name"));
                }
                put_string(dst, "header name", name)?;
            }
        }
        let value = value.as_ref().ok_or(EncodeError::Forbidden("header value"))?;
        put_string(dst, "header value", value)?;
    }
    for attribute in &request.attributes {
        dst.put_u8(attribute.code());
        match attribute {
            Attribute::Context(v)
            | Attribute::ServletPath(v)
            | Attribute::RemoteUser(v)
            | Attribute::AuthType(v)
            | Attribute::QueryString(v)
            | Attribute::Route(v)
            | Attribute::SslCert(v)
            | Attribute::SslCipher(v)
            | Attribute::SslSession(v)
            | Attribute::Secret(v)
            | Attribute::StoredMethod(v) => {
                // Client certificates are PEM: line breaks are part of the value.
                if matches!(attribute, Attribute::SslCert(_)) {
                    if v.len() >= 0xFFFF || v.contains(&0) {
                        return Err(EncodeError::Forbidden("ssl_cert"));
                    }
                    dst.put_u16(v.len() as u16);
                    dst.put_slice(v);
                    dst.put_u8(0);
                } else {
                    put_string(dst, "attribute", v)?;
                }
            }
            Attribute::ReqAttribute { name, value } => {
                put_string(dst, "req_attribute name", name)?;
                put_string(dst, "req_attribute value", value)?;
            }
            Attribute::SslKeySize(bits) => dst.put_u16(*bits),
        }
    }
    dst.put_u8(crate::ajp::ATTRIBUTE_TERMINATOR);
    let len = dst.len() - start;
    if len > packet_size.get() {
        dst.truncate(start);
        return Err(EncodeError::TooLarge {
            len,
            max: packet_size.get(),
        });
    }
    let payload = (len - 4) as u16;
    dst[start + 2..start + 4].copy_from_slice(&payload.to_be_bytes());
    Ok(())
}

/// True when `buf` starts with a whole packet (header and declared payload).
pub fn whole_packet_buffered(buf: &[u8]) -> bool {
    buf.len() >= 4 && buf.len() >= 4 + usize::from(u16::from_be_bytes([buf[2], buf[3]]))
}

/// Decodes one container packet from the front of `buf`, consuming it; `None`
/// when more bytes are needed. Checks the magic and the size limit before
/// waiting for the payload, then parses the exact payload.
pub fn decode_container(
    buf: &mut BytesMut,
    packet_size: PacketSize,
) -> Result<Option<ContainerMessage>, DecodeError> {
    if buf.len() < 4 {
        if buf.len() >= 2 && u16::from_be_bytes([buf[0], buf[1]]) != FROM_CONTAINER {
            return Err(bad(format!(
                "bad magic 0x{:02X}{:02X}",
                buf[0], buf[1]
            )));
        }
        return Ok(None);
    }
    let magic = u16::from_be_bytes([buf[0], buf[1]]);
    if magic != FROM_CONTAINER {
        return Err(bad(format!("bad magic 0x{magic:04X}")));
    }
    let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    if len > packet_size.max_payload() {
        return Err(bad(format!(
            "packet of {len} bytes exceeds max_packet_size {packet_size}"
        )));
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    buf.advance(4);
    let payload = buf.split_to(len).freeze();
    parse_container(payload).map(Some)
}

struct Reader {
    data: Bytes,
    pos: usize,
}

impl Reader {
    fn need(&self, n: usize, what: &str) -> Result<(), DecodeError> {
        if self.data.len() - self.pos < n {
            Err(bad(format!("{what} runs past the end of the packet")))
        } else {
            Ok(())
        }
    }
    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        self.need(1, what)?;
        self.pos += 1;
        Ok(self.data[self.pos - 1])
    }
    fn u16(&mut self, what: &str) -> Result<u16, DecodeError> {
        self.need(2, what)?;
        self.pos += 2;
        Ok(u16::from_be_bytes([self.data[self.pos - 2], self.data[self.pos - 1]]))
    }
    fn string_of_len(&mut self, len: u16, what: &str) -> Result<Option<Bytes>, DecodeError> {
        if len == 0xFFFF {
            return Ok(None);
        }
        let len = usize::from(len);
        self.need(len + 1, what)?;
        let value = self.data.slice(self.pos..self.pos + len);
        self.pos += len + 1;
        Ok(Some(value))
    }
    fn string(&mut self, what: &str) -> Result<Option<Bytes>, DecodeError> {
        let len = self.u16(what)?;
        self.string_of_len(len, what)
    }
}

fn parse_container(payload: Bytes) -> Result<ContainerMessage, DecodeError> {
    let mut r = Reader {
        data: payload,
        pos: 0,
    };
    let code = r
        .u8("message type")
        .map_err(|_| bad("empty packet from the container"))?;
    match code {
        crate::ajp::CODE_SEND_HEADERS => {
            let status = r.u16("status")?;
            let status_msg = r.string("status message")?;
            let count = r.u16("header count")?;
            let mut headers = Vec::with_capacity(usize::from(count).min(64));
            for _ in 0..count {
                let first = r.u16("header name")?;
                let name = if first >> 8 == 0xA0 {
                    let code = ResponseHeaderCode::from_code(first)
                        .ok_or_else(|| bad(format!("no such response header code 0x{first:04X}")))?;
                    ResponseHeaderName::Coded(code)
                } else {
                    let name = r
                        .string_of_len(first, "header name")?
                        .ok_or_else(|| bad("null response header name"))?;
                    ResponseHeaderName::Named(name)
                };
                let value = r.string("header value")?;
                headers.push((name, value));
            }
            Ok(ContainerMessage::SendHeaders(SendHeaders {
                status,
                status_msg,
                headers,
            }))
        }
        crate::ajp::CODE_SEND_BODY_CHUNK => {
            let len = usize::from(r.u16("chunk length")?);
            // Tomcat follows the data with one NUL; accept it missing.
            if len > r.data.len() - r.pos {
                return Err(bad(format!(
                    "body chunk declares {len} bytes but the packet holds {}",
                    r.data.len() - r.pos
                )));
            }
            Ok(ContainerMessage::SendBodyChunk(r.data.slice(r.pos..r.pos + len)))
        }
        crate::ajp::CODE_GET_BODY_CHUNK => Ok(ContainerMessage::GetBodyChunk {
            requested_len: r.u16("requested length")?,
        }),
        crate::ajp::CODE_END_RESPONSE => {
            let reuse = r.u8("reuse flag")?;
            if reuse == 0xFF {
                return Err(bad("invalid END_RESPONSE reuse byte 0xFF"));
            }
            Ok(ContainerMessage::EndResponse { reuse: reuse != 0 })
        }
        crate::ajp::CODE_CPONG => Ok(ContainerMessage::CPong),
        other => Err(bad(format!("unexpected packet type 0x{other:02X} from the container"))),
    }
}
