//! A FORWARD_REQUEST encoded in two parts: the head, which does not depend on the member
//! it goes to, encoded once from borrowed fields; and each attempt's attributes, appended
//! when the frame is written.
//!
//! A front end that balances sends one client request to one member, or again to another
//! after a failure, with different attributes (route, secret, activation). Building an
//! owned [`ForwardRequest`] for that copies every field into `Bytes` (a reference count
//! per header to take and to drop) only for [`encode_forward_request`] to validate and
//! copy them again. Here the fields are validated and written once, into one buffer, and
//! an attempt copies that buffer behind the frame header.
//!
//! The bytes are exactly [`encode_forward_request`]'s for the same fields and attributes,
//! and the same inputs are refused (`tests/ajp_properties.rs` holds both to that).
//!
//! [`encode_forward_request`]: super::encode_forward_request

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::encode::{
    Forbidden, checked_attribute, checked_header_name, checked_string, frame, put_attribute,
    required, too_large,
};
use super::error::{Direction, EncodeError};
use super::message::{ATTRIBUTE_TERMINATOR, CODE_FORWARD_REQUEST, ForwardRequest, Method};
use super::packet_size::PacketSize;
use super::view::{AttributeRef, RequestHeaderNameRef};

/// The request line and connection facts of a FORWARD_REQUEST, borrowed: the fields of
/// [`ForwardRequest`](super::ForwardRequest) before its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    /// Method byte; a [`Method::Stored`] needs an [`AttributeRef::StoredMethod`] in every
    /// attempt's attributes.
    pub method: Method,
    /// Protocol, e.g. `HTTP/1.1`.
    pub protocol: &'a [u8],
    /// Undecoded request path without query string.
    pub req_uri: &'a [u8],
    /// Client address as the proxy sees it (`None`: the null string).
    pub remote_addr: Option<&'a [u8]>,
    /// Client host name, often null.
    pub remote_host: Option<&'a [u8]>,
    /// Virtual host name (Host without port).
    pub server_name: Option<&'a [u8]>,
    /// Port the client connected to.
    pub server_port: u16,
    /// True when the client leg is TLS.
    pub is_ssl: bool,
}

/// Writes a [`ForwardRequestHead`]: the request line, then one header per call.
#[derive(Debug)]
pub struct ForwardRequestHeadBuilder {
    buf: BytesMut,
    /// Where the header count goes, written when the head is finished.
    count_at: usize,
    count: u16,
    method: Method,
    req_uri: Range<usize>,
}

/// The member-independent part of a FORWARD_REQUEST payload (prefix code through the last
/// header), validated and encoded once; [`encode_forward_request_from_head`] frames it
/// with an attempt's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRequestHead {
    bytes: Bytes,
    method: Method,
    req_uri: Range<usize>,
}

/// Appends an AJP string (validated by the caller) and returns where its bytes are.
fn put_string(buf: &mut BytesMut, value: &[u8]) -> Range<usize> {
    // Lengths were checked below 0xFFFF by `checked_string`.
    buf.put_u16(u16::try_from(value.len()).unwrap_or(u16::MAX));
    let start = buf.len();
    buf.extend_from_slice(value);
    buf.put_u8(0);
    start..start + value.len()
}

fn put_optional(buf: &mut BytesMut, value: Option<&[u8]>) {
    match value {
        Some(value) => {
            put_string(buf, value);
        }
        None => buf.put_u16(0xFFFF),
    }
}

impl ForwardRequestHeadBuilder {
    /// Validates and writes the request line; `headers_len` is a capacity hint (the bytes
    /// of the header names and values to come).
    pub fn new(line: &RequestLine<'_>, headers_len: usize) -> Result<Self, EncodeError> {
        let strict = Forbidden::NulCrLf;
        let len = 2
            + checked_string("protocol", Some(line.protocol), strict)?
            + checked_string("req_uri", Some(line.req_uri), strict)?
            + checked_string("remote_addr", line.remote_addr, strict)?
            + checked_string("remote_host", line.remote_host, strict)?
            + checked_string("server_name", line.server_name, strict)?
            + 2
            + 1
            + 2;
        let mut buf = BytesMut::with_capacity(len + headers_len + 64);
        buf.put_u8(CODE_FORWARD_REQUEST);
        buf.put_u8(line.method.code());
        put_string(&mut buf, line.protocol);
        let req_uri = put_string(&mut buf, line.req_uri);
        put_optional(&mut buf, line.remote_addr);
        put_optional(&mut buf, line.remote_host);
        put_optional(&mut buf, line.server_name);
        buf.put_u16(line.server_port);
        buf.put_u8(u8::from(line.is_ssl));
        let count_at = buf.len();
        buf.put_u16(0);
        Ok(ForwardRequestHeadBuilder {
            buf,
            count_at,
            count: 0,
            method: line.method,
            req_uri,
        })
    }

    /// Validates and appends one header; returns where its value's bytes are in the head
    /// (for [`ForwardRequestHead::share`]). Nothing is written on error.
    pub fn header(
        &mut self,
        name: RequestHeaderNameRef<'_>,
        value: &[u8],
    ) -> Result<Range<usize>, EncodeError> {
        if let RequestHeaderNameRef::Named(name) = name {
            checked_header_name("request header name", name)?;
        }
        checked_string("request header value", Some(value), Forbidden::NulCrLf)?;
        self.count = self
            .count
            .checked_add(1)
            .ok_or_else(|| too_large("FORWARD_REQUEST", "headers", 1 << 16, 0xFFFF))?;
        match name {
            RequestHeaderNameRef::Coded(code) => self.buf.put_u16(code.code()),
            RequestHeaderNameRef::Named(name) => {
                put_string(&mut self.buf, name);
            }
        }
        Ok(put_string(&mut self.buf, value))
    }

    /// The head, with its header count written.
    pub fn finish(mut self) -> ForwardRequestHead {
        let count = self.count.to_be_bytes();
        if let Some(field) = self.buf.get_mut(self.count_at..self.count_at + 2) {
            field.copy_from_slice(&count);
        }
        ForwardRequestHead {
            bytes: self.buf.freeze(),
            method: self.method,
            req_uri: self.req_uri,
        }
    }
}

impl ForwardRequestHead {
    /// The method byte the head was written with.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The encoded payload bytes, prefix code first.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The request path as written.
    pub fn req_uri(&self) -> &[u8] {
        self.bytes.get(self.req_uri.clone()).unwrap_or_default()
    }

    /// A field the builder wrote (a range it returned, or the request path's), sharing
    /// the head's buffer.
    pub fn share(&self, field: Range<usize>) -> Bytes {
        if field.end <= self.bytes.len() && field.start <= field.end {
            self.bytes.slice(field)
        } else {
            Bytes::new()
        }
    }

    /// The request path as a shared slice of the head.
    pub fn share_req_uri(&self) -> Bytes {
        self.share(self.req_uri.clone())
    }
}

impl ForwardRequest {
    /// This request's head, to frame with [`encode_forward_request_from_head`] and its
    /// attributes (or others). Refuses what [`encode_forward_request`] refuses in the head:
    /// a null protocol, path or header value, and the bytes and lengths AJP cannot carry.
    ///
    /// [`encode_forward_request`]: super::encode_forward_request
    pub fn head(&self) -> Result<ForwardRequestHead, EncodeError> {
        let line = RequestLine {
            method: self.method,
            protocol: required("protocol", self.protocol.as_deref())?,
            req_uri: required("req_uri", self.req_uri.as_deref())?,
            remote_addr: self.remote_addr.as_deref(),
            remote_host: self.remote_host.as_deref(),
            server_name: self.server_name.as_deref(),
            server_port: self.server_port,
            is_ssl: self.is_ssl,
        };
        let headers_len = self
            .headers
            .iter()
            .map(|(name, value)| name.as_bytes().len() + value.as_ref().map_or(0, |v| v.len()) + 6)
            .sum();
        let mut builder = ForwardRequestHeadBuilder::new(&line, headers_len)?;
        for (name, value) in &self.headers {
            let value = required("request header value", value.as_deref())?;
            builder.header(name.as_borrowed(), value)?;
        }
        Ok(builder.finish())
    }
}

/// Encodes a FORWARD_REQUEST frame from `head` and an attempt's `attributes` into `dst`:
/// the bytes [`encode_forward_request`](super::encode_forward_request) writes for the
/// same request. Nothing is written on error (an invalid attribute, a stored method
/// without its name, more than the packet holds). The attributes are walked twice
/// (validated, then written), hence `Clone`.
pub fn encode_forward_request_from_head<'a, I>(
    head: &ForwardRequestHead,
    attributes: I,
    packet_size: PacketSize,
    dst: &mut BytesMut,
) -> Result<(), EncodeError>
where
    I: IntoIterator<Item = AttributeRef<'a>>,
    I::IntoIter: Clone,
{
    let attributes = attributes.into_iter();
    let mut len = head.bytes.len() + 1;
    let mut stored_method = false;
    for attribute in attributes.clone() {
        stored_method |= matches!(attribute, AttributeRef::StoredMethod(_));
        len += checked_attribute(&attribute)?;
    }
    if head.method == Method::Stored && !stored_method {
        return Err(EncodeError::MissingStoredMethod);
    }
    let max = packet_size.max_payload();
    if len > max {
        return Err(too_large("FORWARD_REQUEST", "payload", len, max));
    }
    frame(dst, Direction::ToContainer, len, |dst| {
        dst.put_slice(&head.bytes);
        for attribute in attributes {
            put_attribute(dst, &attribute);
        }
        dst.put_u8(ATTRIBUTE_TERMINATOR);
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ajp::{Attribute, KnownMethod, RequestHeaderName, encode_forward_request};

    fn request() -> ForwardRequest {
        let mut request = ForwardRequest {
            req_uri: Some(Bytes::from_static(b"/app/page")),
            remote_addr: Some(Bytes::from_static(b"192.0.2.1")),
            server_name: Some(Bytes::from_static(b"example.org")),
            server_port: 8080,
            is_ssl: true,
            ..ForwardRequest::default()
        };
        request.push_header(Bytes::from_static(b"host"), Bytes::from_static(b"x"));
        request.push_header(Bytes::from_static(b"x-trace"), Bytes::from_static(b"1"));
        request.attributes = vec![
            Attribute::Route(Bytes::from_static(b"node1")),
            Attribute::SslKeySize(256),
        ];
        request
    }

    #[test]
    fn a_head_and_its_attributes_frame_as_the_owned_request_does() {
        let request = request();
        let mut owned = BytesMut::new();
        encode_forward_request(&request, PacketSize::DEFAULT, &mut owned).unwrap();
        let head = request.head().unwrap();
        let mut from_head = BytesMut::new();
        encode_forward_request_from_head(
            &head,
            request.attributes.iter().map(Attribute::as_borrowed),
            PacketSize::DEFAULT,
            &mut from_head,
        )
        .unwrap();
        assert_eq!(from_head, owned);
        assert_eq!(head.req_uri(), b"/app/page");
        assert_eq!(&head.share_req_uri()[..], b"/app/page");
    }

    #[test]
    fn a_header_value_range_shares_the_value() {
        let mut builder = ForwardRequestHeadBuilder::new(
            &RequestLine {
                method: Method::Known(KnownMethod::Get),
                protocol: b"HTTP/1.1",
                req_uri: b"/",
                remote_addr: None,
                remote_host: None,
                server_name: None,
                server_port: 80,
                is_ssl: false,
            },
            0,
        )
        .unwrap();
        let at = builder
            .header(RequestHeaderNameRef::Named(b"cookie"), b"JSESSIONID=a.n1")
            .unwrap();
        let head = builder.finish();
        assert_eq!(&head.share(at)[..], b"JSESSIONID=a.n1");
        assert_eq!(head.share(0..usize::MAX), Bytes::new());
    }

    /// What the owned encoder refuses, the two-part one refuses too, writing nothing.
    #[test]
    fn refusals_match_the_owned_encoder() {
        type Breaks = fn(&mut ForwardRequest);
        let cases: [(&str, Breaks); 5] = [
            ("CR in a header value", |r| {
                r.headers[0].1 = Some(Bytes::from_static(b"a\rb"));
            }),
            ("LF in the path", |r| {
                r.req_uri = Some(Bytes::from_static(b"/a\nb"));
            }),
            ("empty header name", |r| {
                r.headers[1].0 = RequestHeaderName::Named(Bytes::new());
            }),
            ("stored method without its name", |r| {
                r.method = Method::Stored
            }),
            ("NUL in an attribute", |r| {
                r.attributes[0] = Attribute::Route(Bytes::from_static(b"n\0"));
            }),
        ];
        for (case, breaks) in cases {
            let mut request = request();
            breaks(&mut request);
            let owned = encode_forward_request(&request, PacketSize::DEFAULT, &mut BytesMut::new());
            let mut dst = BytesMut::new();
            let two_part = request.head().and_then(|head| {
                encode_forward_request_from_head(
                    &head,
                    request.attributes.iter().map(Attribute::as_borrowed),
                    PacketSize::DEFAULT,
                    &mut dst,
                )
            });
            assert_eq!(two_part, owned, "{case}");
            assert!(two_part.is_err() && dst.is_empty(), "{case}");
        }
    }

    #[test]
    fn a_head_over_the_packet_size_is_refused_when_framed() {
        let mut request = request();
        request.headers[1].1 = Some(Bytes::from(vec![b'v'; 9000]));
        let head = request.head().unwrap();
        let mut dst = BytesMut::new();
        let refused = encode_forward_request_from_head(
            &head,
            std::iter::empty(),
            PacketSize::DEFAULT,
            &mut dst,
        );
        assert!(
            matches!(refused, Err(EncodeError::TooLarge { .. })),
            "{refused:?}"
        );
        assert!(dst.is_empty());
    }
}
