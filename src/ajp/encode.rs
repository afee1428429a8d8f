//! Sans-I/O encoding into [`BytesMut`].
//!
//! Every encoder first validates the whole message and computes its exact payload
//! length, so nothing is written when it fails; the header's length field is taken from
//! that computation and checked against what was actually written (a `debug_assert!`).
//! The validating pass tests field bytes eight at a time, and the writing pass copies
//! into a frame-sized slice; those two were most of the encode time.
//! Refused: anything that would not fit in P, null where a value is required, NUL/CR/LF
//! where a peer would misread them, header-name lengths that would read as codes, and
//! the stored method byte without its attribute. Unknown codes cannot be expressed by
//! the message types at all.

use bytes::BytesMut;

use super::error::{Direction, EncodeError};
use super::message::*;
use super::packet_size::{HEADER_LEN, PacketSize};
use super::view::AttributeRef;

/// Bytes an AJP string of `len` bytes occupies (length, bytes, NUL).
const fn string_wire_len(len: usize) -> usize {
    2 + len + 1
}

/// Which bytes a field may not contain.
#[derive(Clone, Copy)]
pub(super) enum Forbidden {
    /// NUL, CR and LF: everything that ends up in an HTTP head.
    NulCrLf,
    /// Only NUL (mod_jk truncates at it); for ssl_cert, whose PEM has line breaks.
    Nul,
}

/// Every byte of a word set to `byte`.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// True when some byte of `word` is below `limit` (≤ 0x80): the exact SWAR test from
/// "Bit Twiddling Hacks" (`hasless`); a borrow can only mark bytes above a real hit.
#[inline(always)]
const fn has_byte_below(word: u64, limit: u8) -> bool {
    word.wrapping_sub(splat(limit)) & !word & splat(0x80) != 0
}

impl Forbidden {
    #[inline(always)]
    fn matches(self, byte: u8) -> bool {
        match self {
            Forbidden::NulCrLf => matches!(byte, 0 | b'\r' | b'\n'),
            Forbidden::Nul => byte == 0,
        }
    }

    /// Bytes below this bound may be forbidden (every forbidden byte is, and few
    /// allowed ones are: TAB and other controls).
    const fn bound(self) -> u8 {
        match self {
            Forbidden::NulCrLf => b'\r' + 1,
            Forbidden::Nul => 1,
        }
    }

    /// True when `value` holds a forbidden byte. This scan touches every byte the
    /// encoder writes, and a per-byte search was most of the encode time. Here one
    /// word test per eight bytes (no unsafe, no SIMD intrinsics) asks "is any byte below
    /// `bound`?", without branching between words; only a value where that is so (a
    /// forbidden byte, or a rare TAB) is checked byte by byte.
    #[inline]
    fn found_in(self, value: &[u8]) -> bool {
        let bound = self.bound();
        let word_hit = |word: &[u8; 8]| has_byte_below(u64::from_ne_bytes(*word), bound);
        let suspicious = match value.last_chunk::<8>() {
            Some(last) => {
                // The last word covers the bytes after the last whole word (and
                // re-tests a few).
                value.chunks_exact(8).fold(word_hit(last), |hit, word| {
                    hit | word.first_chunk::<8>().is_none_or(word_hit)
                })
            }
            // Shorter than a word: byte by byte. (Padding it to a word took a call to
            // `memcpy` for a variable length, which cost more than these few tests.)
            None => return value.iter().any(|&byte| self.matches(byte)),
        };
        suspicious && value.iter().any(|&byte| self.matches(byte))
    }
}

fn check_bytes(field: &'static str, value: &[u8], forbidden: Forbidden) -> Result<(), EncodeError> {
    if !forbidden.found_in(value) {
        return Ok(());
    }
    match value.iter().find(|&&byte| forbidden.matches(byte)) {
        Some(&byte) => Err(EncodeError::ForbiddenByte { field, byte }),
        None => Ok(()),
    }
}

/// Validates a string value and returns its wire length. `None` (null) takes 2 bytes.
pub(super) fn checked_string(
    field: &'static str,
    value: Option<&[u8]>,
    forbidden: Forbidden,
) -> Result<usize, EncodeError> {
    match value {
        None => Ok(2),
        Some(value) => {
            check_bytes(field, value, forbidden)?;
            if value.len() >= usize::from(u16::MAX) {
                return Err(EncodeError::StringTooLong {
                    field,
                    len: value.len(),
                });
            }
            Ok(string_wire_len(value.len()))
        }
    }
}

pub(super) fn required<'a>(
    field: &'static str,
    value: Option<&'a [u8]>,
) -> Result<&'a [u8], EncodeError> {
    value.ok_or(EncodeError::NullNotAllowed { field })
}

/// Validates a string header name: not empty, and its length must not have high byte
/// 0xA0, or readers would take it for a code.
pub(super) fn checked_header_name(field: &'static str, name: &[u8]) -> Result<usize, EncodeError> {
    if name.is_empty() {
        return Err(EncodeError::EmptyHeaderName { field });
    }
    if name.len() >> 8 == 0xA0 {
        return Err(EncodeError::StringTooLong {
            field,
            len: name.len(),
        });
    }
    checked_string(field, Some(name), Forbidden::NulCrLf)
}

pub(super) fn too_large(
    message: &'static str,
    what: &'static str,
    len: usize,
    max: usize,
) -> EncodeError {
    EncodeError::TooLarge {
        message,
        what,
        len,
        max,
    }
}

/// A cursor over the frame's bytes, zero-filled up front to the length the validation
/// pass computed: each write is a bounds-checked copy into that slice instead of a
/// `BytesMut` put (capacity check, length update) per field. A write that would not fit
/// (a bug in the length computation) is dropped and caught by the `debug_assert!` in
/// [`frame`].
pub(super) struct Writer<'b> {
    out: &'b mut [u8],
    pos: usize,
}

impl Writer<'_> {
    #[inline]
    pub(super) fn put_slice(&mut self, bytes: &[u8]) {
        let end = self.pos + bytes.len();
        if let Some(dst) = self.out.get_mut(self.pos..end) {
            dst.copy_from_slice(bytes);
        }
        self.pos = end;
    }

    #[inline]
    pub(super) fn put_u8(&mut self, value: u8) {
        self.put_slice(&[value]);
    }

    #[inline]
    fn put_u16(&mut self, value: u16) {
        self.put_slice(&value.to_be_bytes());
    }

    /// An AJP string (length, bytes, NUL) or the null string `FF FF`.
    #[inline]
    fn put_string(&mut self, value: Option<&[u8]>) {
        match value {
            None => self.put_u16(0xFFFF),
            Some(value) => {
                // Lengths were validated below 0xFFFF by `checked_string`.
                self.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
                self.put_slice(value);
                self.put_u8(0);
            }
        }
    }
}

/// Writes the frame header with the exact payload length, runs `write`, and checks the
/// written length matches.
pub(super) fn frame(
    dst: &mut BytesMut,
    direction: Direction,
    payload_len: usize,
    write: impl FnOnce(&mut Writer<'_>),
) {
    let start = dst.len();
    let frame_len = HEADER_LEN + payload_len;
    dst.resize(start + frame_len, 0);
    let mut writer = Writer {
        out: dst.get_mut(start..).unwrap_or_default(),
        pos: 0,
    };
    writer.put_u16(direction.magic());
    // payload_len was checked against P − 4 ≤ 65532 by every caller.
    writer.put_u16(u16::try_from(payload_len).unwrap_or(u16::MAX));
    write(&mut writer);
    debug_assert_eq!(writer.pos, frame_len, "computed length");
}

fn attribute_forbidden(attribute: &AttributeRef<'_>) -> Forbidden {
    match attribute {
        AttributeRef::SslCert(_) => Forbidden::Nul,
        _ => Forbidden::NulCrLf,
    }
}

/// Validates an attribute and returns its wire length, code byte included.
pub(super) fn checked_attribute(attribute: &AttributeRef<'_>) -> Result<usize, EncodeError> {
    let forbidden = attribute_forbidden(attribute);
    let body = match attribute {
        AttributeRef::ReqAttribute { name, value } => {
            checked_string("req_attribute name", Some(name), forbidden)?
                + checked_string("req_attribute value", Some(value), forbidden)?
        }
        AttributeRef::SslKeySize(_) => 2,
        other => {
            let (field, value) = attribute_string(other);
            checked_string(field, Some(value), forbidden)?
        }
    };
    Ok(1 + body)
}

/// Field name and value of a single-string attribute.
fn attribute_string<'a>(attribute: &AttributeRef<'a>) -> (&'static str, &'a [u8]) {
    match *attribute {
        AttributeRef::Context(v) => ("context", v),
        AttributeRef::ServletPath(v) => ("servlet_path", v),
        AttributeRef::RemoteUser(v) => ("remote_user", v),
        AttributeRef::AuthType(v) => ("auth_type", v),
        AttributeRef::QueryString(v) => ("query_string", v),
        AttributeRef::Route(v) => ("route", v),
        AttributeRef::SslCert(v) => ("ssl_cert", v),
        AttributeRef::SslCipher(v) => ("ssl_cipher", v),
        AttributeRef::SslSession(v) => ("ssl_session", v),
        AttributeRef::Secret(v) => ("secret", v),
        AttributeRef::StoredMethod(v) => ("stored_method", v),
        AttributeRef::ReqAttribute { name, .. } => ("req_attribute name", name),
        AttributeRef::SslKeySize(_) => ("ssl_key_size", &[]),
    }
}

/// Writes one validated attribute, code byte first.
pub(super) fn put_attribute(dst: &mut Writer<'_>, attribute: &AttributeRef<'_>) {
    dst.put_u8(attribute.code());
    match attribute {
        AttributeRef::ReqAttribute { name, value } => {
            dst.put_string(Some(name));
            dst.put_string(Some(value));
        }
        AttributeRef::SslKeySize(size) => dst.put_u16(*size),
        other => dst.put_string(Some(attribute_string(other).1)),
    }
}

/// Validates a FORWARD_REQUEST and returns its exact payload length.
fn forward_request_payload_len(request: &ForwardRequest) -> Result<usize, EncodeError> {
    if request.method == Method::Stored
        && !request
            .attributes
            .iter()
            .any(|attribute| matches!(attribute, Attribute::StoredMethod(_)))
    {
        return Err(EncodeError::MissingStoredMethod);
    }
    let strict = Forbidden::NulCrLf;
    let mut len = 2; // prefix, method
    len += checked_string(
        "protocol",
        Some(required("protocol", request.protocol.as_deref())?),
        strict,
    )?;
    len += checked_string(
        "req_uri",
        Some(required("req_uri", request.req_uri.as_deref())?),
        strict,
    )?;
    len += checked_string("remote_addr", request.remote_addr.as_deref(), strict)?;
    len += checked_string("remote_host", request.remote_host.as_deref(), strict)?;
    len += checked_string("server_name", request.server_name.as_deref(), strict)?;
    len += 2 + 1 + 2; // server_port, is_ssl, num_headers
    for (name, value) in &request.headers {
        len += match name {
            RequestHeaderName::Coded(_) => 2,
            RequestHeaderName::Named(name) => checked_header_name("request header name", name)?,
        };
        let value = required("request header value", value.as_deref())?;
        len += checked_string("request header value", Some(value), strict)?;
    }
    for attribute in &request.attributes {
        len += checked_attribute(&attribute.as_borrowed())?;
    }
    Ok(len + 1) // 0xFF terminator
}

fn put_forward_request(dst: &mut Writer<'_>, request: &ForwardRequest) {
    dst.put_u8(CODE_FORWARD_REQUEST);
    dst.put_u8(request.method.code());
    dst.put_string(request.protocol.as_deref());
    dst.put_string(request.req_uri.as_deref());
    dst.put_string(request.remote_addr.as_deref());
    dst.put_string(request.remote_host.as_deref());
    dst.put_string(request.server_name.as_deref());
    dst.put_u16(request.server_port);
    dst.put_u8(u8::from(request.is_ssl));
    // The count was checked to fit in a u16 (through the payload limit) by the caller.
    dst.put_u16(u16::try_from(request.headers.len()).unwrap_or(u16::MAX));
    for (name, value) in &request.headers {
        match name {
            RequestHeaderName::Coded(code) => dst.put_u16(code.code()),
            RequestHeaderName::Named(name) => dst.put_string(Some(name)),
        }
        dst.put_string(value.as_deref());
    }
    for attribute in &request.attributes {
        put_attribute(dst, &attribute.as_borrowed());
    }
    dst.put_u8(ATTRIBUTE_TERMINATOR);
}

/// Encodes a FORWARD_REQUEST frame (`12 34 …`) into `dst`. Nothing is written on error.
pub fn encode_forward_request(
    request: &ForwardRequest,
    packet_size: PacketSize,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let payload_len = forward_request_payload_len(request)?;
    let max = packet_size.max_payload();
    if payload_len > max {
        return Err(too_large("FORWARD_REQUEST", "payload", payload_len, max));
    }
    frame(dst, Direction::ToContainer, payload_len, |dst| {
        put_forward_request(dst, request)
    });
    Ok(())
}

/// Encodes a request-body packet; empty `data` gives the end-of-body packet in mod_jk's
/// form `12 34 00 00`. Data above P − 6 bytes is refused.
pub fn encode_body(
    data: &[u8],
    packet_size: PacketSize,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let max = packet_size.max_request_body_data();
    if data.len() > max {
        return Err(too_large("body packet", "data", data.len(), max));
    }
    if data.is_empty() {
        frame(dst, Direction::ToContainer, 0, |_| {});
        return Ok(());
    }
    frame(dst, Direction::ToContainer, 2 + data.len(), |dst| {
        dst.put_u16(u16::try_from(data.len()).unwrap_or(u16::MAX));
        dst.put_slice(data);
    });
    Ok(())
}

/// Encodes any proxy → container message. Nothing is written on error.
pub fn encode_proxy_message(
    message: &ProxyMessage,
    packet_size: PacketSize,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let single = |code: u8, dst: &mut BytesMut| {
        frame(dst, Direction::ToContainer, 1, |dst| dst.put_u8(code));
        Ok(())
    };
    match message {
        ProxyMessage::ForwardRequest(request) => encode_forward_request(request, packet_size, dst),
        ProxyMessage::Body(data) => encode_body(data, packet_size, dst),
        ProxyMessage::CPing => single(CODE_CPING, dst),
        ProxyMessage::Shutdown => single(CODE_SHUTDOWN, dst),
        ProxyMessage::Ping => single(CODE_PING, dst),
    }
}

/// Validates a SEND_HEADERS and returns its exact payload length.
fn send_headers_payload_len(headers: &SendHeaders) -> Result<usize, EncodeError> {
    let strict = Forbidden::NulCrLf;
    let status_msg = required("http_status_msg", headers.status_msg.as_deref())?;
    let mut len = 1 + 2 + checked_string("http_status_msg", Some(status_msg), strict)? + 2;
    for (name, value) in &headers.headers {
        len += match name {
            ResponseHeaderName::Coded(_) => 2,
            ResponseHeaderName::Named(name) => checked_header_name("response header name", name)?,
        };
        let value = required("response header value", value.as_deref())?;
        len += checked_string("response header value", Some(value), strict)?;
    }
    Ok(len)
}

/// Encodes any container → proxy message (`41 42 …`). SEND_BODY_CHUNK is written as
/// Tomcat writes it, with a trailing 0x00, so its data is limited to P − 8 bytes.
/// Nothing is written on error.
pub fn encode_container_message(
    message: &ContainerMessage,
    packet_size: PacketSize,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let direction = Direction::FromContainer;
    match message {
        ContainerMessage::SendHeaders(headers) => {
            let payload_len = send_headers_payload_len(headers)?;
            let max = packet_size.max_payload();
            if payload_len > max {
                return Err(too_large("SEND_HEADERS", "payload", payload_len, max));
            }
            frame(dst, direction, payload_len, |dst| {
                dst.put_u8(CODE_SEND_HEADERS);
                dst.put_u16(headers.status);
                dst.put_string(headers.status_msg.as_deref());
                dst.put_u16(u16::try_from(headers.headers.len()).unwrap_or(u16::MAX));
                for (name, value) in &headers.headers {
                    match name {
                        ResponseHeaderName::Coded(code) => dst.put_u16(code.code()),
                        ResponseHeaderName::Named(name) => dst.put_string(Some(name)),
                    }
                    dst.put_string(value.as_deref());
                }
            });
        }
        ContainerMessage::SendBodyChunk(data) => {
            let max = packet_size.max_response_body_data();
            if data.len() > max {
                return Err(too_large("SEND_BODY_CHUNK", "data", data.len(), max));
            }
            frame(dst, direction, 1 + 2 + data.len() + 1, |dst| {
                dst.put_u8(CODE_SEND_BODY_CHUNK);
                dst.put_u16(u16::try_from(data.len()).unwrap_or(u16::MAX));
                dst.put_slice(data);
                dst.put_u8(0);
            });
        }
        ContainerMessage::GetBodyChunk { requested_len } => {
            frame(dst, direction, 3, |dst| {
                dst.put_u8(CODE_GET_BODY_CHUNK);
                dst.put_u16(*requested_len);
            });
        }
        ContainerMessage::EndResponse { reuse } => {
            frame(dst, direction, 2, |dst| {
                dst.put_u8(CODE_END_RESPONSE);
                dst.put_u8(u8::from(*reuse));
            });
        }
        ContainerMessage::CPong => {
            frame(dst, direction, 1, |dst| dst.put_u8(CODE_CPONG));
        }
    }
    Ok(())
}

impl ProxyMessage {
    /// Encodes this message as one frame into `dst`; see [`encode_proxy_message`].
    pub fn encode(&self, packet_size: PacketSize, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_proxy_message(self, packet_size, dst)
    }
}

impl ForwardRequest {
    /// Encodes this request as one frame into `dst`; see [`encode_forward_request`].
    pub fn encode(&self, packet_size: PacketSize, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_forward_request(self, packet_size, dst)
    }
}

impl ContainerMessage {
    /// Encodes this message as one frame into `dst`; see [`encode_container_message`].
    pub fn encode(&self, packet_size: PacketSize, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_container_message(self, packet_size, dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time scan agrees with a byte-by-byte one for every byte value at
    /// every position of values up to five words long, on both policies.
    #[test]
    fn forbidden_byte_scan_matches_the_naive_search() {
        for forbidden in [Forbidden::NulCrLf, Forbidden::Nul] {
            for len in 0..=40usize {
                for position in 0..len {
                    for byte in 0..=u8::MAX {
                        for filler in [b'a', b'\t', 0x0E, 0xFF, 0x80] {
                            let mut value = vec![filler; len];
                            value[position] = byte;
                            let naive = value.iter().any(|&b| forbidden.matches(b));
                            assert_eq!(
                                forbidden.found_in(&value),
                                naive,
                                "{value:02X?} under {}",
                                forbidden.bound()
                            );
                        }
                    }
                }
                assert!(!forbidden.found_in(&vec![b'x'; len]));
            }
        }
    }

    #[test]
    fn refused_bytes_are_named() {
        assert_eq!(
            check_bytes("f", b"ab\r\n", Forbidden::NulCrLf),
            Err(EncodeError::ForbiddenByte {
                field: "f",
                byte: b'\r'
            })
        );
        assert_eq!(check_bytes("f", b"a\tb\r\n", Forbidden::Nul), Ok(()));
        assert_eq!(
            check_bytes("f", b"-----\n\0", Forbidden::Nul),
            Err(EncodeError::ForbiddenByte {
                field: "f",
                byte: 0
            })
        );
    }
}
