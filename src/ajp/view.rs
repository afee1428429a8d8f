//! Borrowing views of decoded messages: the same fields as the owned model in
//! [`message`](super::message), but every string is a `&'a [u8]` into the packet.
//!
//! Decoding a view allocates nothing and touches no reference count: a proxy that reads
//! a SEND_HEADERS only to copy its headers into an HTTP response, or a container that
//! looks at a FORWARD_REQUEST once, pays for neither a payload copy nor an `Arc`
//! increment and decrement per field. [`ProxyMessageRef::into_owned`] and
//! [`ContainerMessageRef::into_owned`] give the owned messages when they must outlive
//! the buffer (one copy of the payload, fields sharing it).
//!
//! **Header and attribute lists are lazy.** The decoder validates every header and
//! attribute once — so a view exists only for a packet the owned decoder would accept,
//! with the same errors — and keeps the region they occupy plus their count. Iterating
//! runs the same parser over that region again. The alternatives were worse: a `Vec`
//! of borrowed pairs allocates per decode, and a fixed inline array either caps the
//! header count (the wire allows up to 16 383 in the largest packet) or makes every
//! view kilobytes large. Re-parsing a validated region costs a few nanoseconds per
//! header, and most callers iterate once.

use std::fmt;
use std::iter::FusedIterator;

use bytes::Bytes;

use super::decode::PayloadParser;
use super::message::*;

/// Turns slices of a decoded payload into [`Bytes`] that share one buffer.
///
/// `bytes` holds the same content as `base` (the payload the view was parsed from, or a
/// copy of it); a field lying inside `base` becomes a slice of `bytes` at the same
/// offset. Anything else is copied, so a mismatched pair is slow, never wrong.
pub(crate) struct Backing<'b, 'a> {
    bytes: &'b Bytes,
    base: &'a [u8],
}

impl<'b, 'a> Backing<'b, 'a> {
    pub(crate) fn new(bytes: &'b Bytes, base: &'a [u8]) -> Self {
        Backing { bytes, base }
    }

    fn share(&self, field: &[u8]) -> Bytes {
        if field.is_empty() {
            return Bytes::new();
        }
        // Address arithmetic only (no dereference): where `field` starts inside `base`.
        let start = (field.as_ptr() as usize).wrapping_sub(self.base.as_ptr() as usize);
        match start.checked_add(field.len()) {
            Some(end) if end <= self.base.len() && end <= self.bytes.len() => {
                self.bytes.slice(start..end)
            }
            _ => Bytes::copy_from_slice(field),
        }
    }

    fn share_opt(&self, field: Option<&[u8]>) -> Option<Bytes> {
        field.map(|field| self.share(field))
    }
}

// === header names and attributes ===

/// A borrowed request header name: coded (`A0 nn`) or a string in the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestHeaderNameRef<'a> {
    /// A coded name `A0 01`..`A0 0E`.
    Coded(RequestHeaderCode),
    /// A string name, as sent.
    Named(&'a [u8]),
}

impl<'a> RequestHeaderNameRef<'a> {
    /// The name's bytes: the lower-case registered name for a code.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            RequestHeaderNameRef::Coded(code) => code.name().as_bytes(),
            RequestHeaderNameRef::Named(name) => name,
        }
    }

    /// True when this is `name`, compared ASCII-case-insensitively.
    pub fn is(&self, name: &[u8]) -> bool {
        self.as_bytes().eq_ignore_ascii_case(name)
    }

    /// The owned name (copies a string name).
    pub fn into_owned(self) -> RequestHeaderName {
        match self {
            RequestHeaderNameRef::Coded(code) => RequestHeaderName::Coded(code),
            RequestHeaderNameRef::Named(name) => {
                RequestHeaderName::Named(Bytes::copy_from_slice(name))
            }
        }
    }

    fn into_owned_in(self, backing: &Backing<'_, '_>) -> RequestHeaderName {
        match self {
            RequestHeaderNameRef::Coded(code) => RequestHeaderName::Coded(code),
            RequestHeaderNameRef::Named(name) => RequestHeaderName::Named(backing.share(name)),
        }
    }
}

impl RequestHeaderName {
    /// This name as a borrowed view.
    pub fn as_borrowed(&self) -> RequestHeaderNameRef<'_> {
        match self {
            RequestHeaderName::Coded(code) => RequestHeaderNameRef::Coded(*code),
            RequestHeaderName::Named(name) => RequestHeaderNameRef::Named(name),
        }
    }
}

/// A borrowed response header name: coded (`A0 nn`) or a string in the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseHeaderNameRef<'a> {
    /// A coded name `A0 01`..`A0 0B`.
    Coded(ResponseHeaderCode),
    /// A string name, as sent.
    Named(&'a [u8]),
}

impl<'a> ResponseHeaderNameRef<'a> {
    /// The name's bytes: the canonical name for a code.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            ResponseHeaderNameRef::Coded(code) => code.name().as_bytes(),
            ResponseHeaderNameRef::Named(name) => name,
        }
    }

    /// True when this is `name`, compared ASCII-case-insensitively.
    pub fn is(&self, name: &[u8]) -> bool {
        self.as_bytes().eq_ignore_ascii_case(name)
    }

    /// The owned name (copies a string name).
    pub fn into_owned(self) -> ResponseHeaderName {
        match self {
            ResponseHeaderNameRef::Coded(code) => ResponseHeaderName::Coded(code),
            ResponseHeaderNameRef::Named(name) => {
                ResponseHeaderName::Named(Bytes::copy_from_slice(name))
            }
        }
    }

    fn into_owned_in(self, backing: &Backing<'_, '_>) -> ResponseHeaderName {
        match self {
            ResponseHeaderNameRef::Coded(code) => ResponseHeaderName::Coded(code),
            ResponseHeaderNameRef::Named(name) => ResponseHeaderName::Named(backing.share(name)),
        }
    }
}

impl ResponseHeaderName {
    /// This name as a borrowed view.
    pub fn as_borrowed(&self) -> ResponseHeaderNameRef<'_> {
        match self {
            ResponseHeaderName::Coded(code) => ResponseHeaderNameRef::Coded(*code),
            ResponseHeaderName::Named(name) => ResponseHeaderNameRef::Named(name),
        }
    }
}

/// A borrowed FORWARD_REQUEST attribute; the variants of [`Attribute`], same codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeRef<'a> {
    /// `01` context.
    Context(&'a [u8]),
    /// `02` servlet_path.
    ServletPath(&'a [u8]),
    /// `03` remote_user.
    RemoteUser(&'a [u8]),
    /// `04` auth_type.
    AuthType(&'a [u8]),
    /// `05` query_string.
    QueryString(&'a [u8]),
    /// `06` route.
    Route(&'a [u8]),
    /// `07` ssl_cert.
    SslCert(&'a [u8]),
    /// `08` ssl_cipher.
    SslCipher(&'a [u8]),
    /// `09` ssl_session.
    SslSession(&'a [u8]),
    /// `0A` req_attribute.
    ReqAttribute {
        /// Attribute name.
        name: &'a [u8],
        /// Attribute value.
        value: &'a [u8],
    },
    /// `0B` ssl_key_size.
    SslKeySize(u16),
    /// `0C` secret.
    Secret(&'a [u8]),
    /// `0D` stored_method.
    StoredMethod(&'a [u8]),
}

impl<'a> AttributeRef<'a> {
    /// The attribute's wire code.
    pub const fn code(&self) -> u8 {
        match self {
            AttributeRef::Context(_) => Attribute::CONTEXT,
            AttributeRef::ServletPath(_) => Attribute::SERVLET_PATH,
            AttributeRef::RemoteUser(_) => Attribute::REMOTE_USER,
            AttributeRef::AuthType(_) => Attribute::AUTH_TYPE,
            AttributeRef::QueryString(_) => Attribute::QUERY_STRING,
            AttributeRef::Route(_) => Attribute::ROUTE,
            AttributeRef::SslCert(_) => Attribute::SSL_CERT,
            AttributeRef::SslCipher(_) => Attribute::SSL_CIPHER,
            AttributeRef::SslSession(_) => Attribute::SSL_SESSION,
            AttributeRef::ReqAttribute { .. } => Attribute::REQ_ATTRIBUTE,
            AttributeRef::SslKeySize(_) => Attribute::SSL_KEY_SIZE,
            AttributeRef::Secret(_) => Attribute::SECRET,
            AttributeRef::StoredMethod(_) => Attribute::STORED_METHOD,
        }
    }

    /// The owned attribute (copies its strings).
    pub fn into_owned(self) -> Attribute {
        let copy = Bytes::new();
        self.into_owned_in(&Backing::new(&copy, &[]))
    }

    fn into_owned_in(self, backing: &Backing<'_, '_>) -> Attribute {
        let share = |value| backing.share(value);
        match self {
            AttributeRef::Context(v) => Attribute::Context(share(v)),
            AttributeRef::ServletPath(v) => Attribute::ServletPath(share(v)),
            AttributeRef::RemoteUser(v) => Attribute::RemoteUser(share(v)),
            AttributeRef::AuthType(v) => Attribute::AuthType(share(v)),
            AttributeRef::QueryString(v) => Attribute::QueryString(share(v)),
            AttributeRef::Route(v) => Attribute::Route(share(v)),
            AttributeRef::SslCert(v) => Attribute::SslCert(share(v)),
            AttributeRef::SslCipher(v) => Attribute::SslCipher(share(v)),
            AttributeRef::SslSession(v) => Attribute::SslSession(share(v)),
            AttributeRef::ReqAttribute { name, value } => Attribute::ReqAttribute {
                name: share(name),
                value: share(value),
            },
            AttributeRef::SslKeySize(size) => Attribute::SslKeySize(size),
            AttributeRef::Secret(v) => Attribute::Secret(share(v)),
            AttributeRef::StoredMethod(v) => Attribute::StoredMethod(share(v)),
        }
    }
}

impl Attribute {
    /// This attribute as a borrowed view.
    pub fn as_borrowed(&self) -> AttributeRef<'_> {
        match self {
            Attribute::Context(v) => AttributeRef::Context(v),
            Attribute::ServletPath(v) => AttributeRef::ServletPath(v),
            Attribute::RemoteUser(v) => AttributeRef::RemoteUser(v),
            Attribute::AuthType(v) => AttributeRef::AuthType(v),
            Attribute::QueryString(v) => AttributeRef::QueryString(v),
            Attribute::Route(v) => AttributeRef::Route(v),
            Attribute::SslCert(v) => AttributeRef::SslCert(v),
            Attribute::SslCipher(v) => AttributeRef::SslCipher(v),
            Attribute::SslSession(v) => AttributeRef::SslSession(v),
            Attribute::ReqAttribute { name, value } => AttributeRef::ReqAttribute { name, value },
            Attribute::SslKeySize(size) => AttributeRef::SslKeySize(*size),
            Attribute::Secret(v) => AttributeRef::Secret(v),
            Attribute::StoredMethod(v) => AttributeRef::StoredMethod(v),
        }
    }
}

// === lazy lists ===

/// Generates a lazily parsed list type (validated region + count) and its iterator.
macro_rules! lazy_list {
    (
        $(#[$meta:meta])*
        $list:ident, $iter:ident, $count:ty, $item:ty, $parse:ident, $what:literal
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy)]
        pub struct $list<'a> {
            /// The validated wire bytes of the whole list.
            region: &'a [u8],
            /// How many entries the region holds.
            count: $count,
        }

        impl<'a> $list<'a> {
            /// Only the decoder makes these, after validating every entry of `region`.
            pub(crate) const fn new(region: &'a [u8], count: $count) -> Self {
                $list { region, count }
            }

            #[doc = concat!("Number of ", $what, ".")]
            pub fn len(&self) -> usize {
                usize::from(self.count)
            }

            #[doc = concat!("True when there are no ", $what, ".")]
            pub fn is_empty(&self) -> bool {
                self.count == 0
            }

            #[doc = concat!("The ", $what, " in wire order (parsed again from the packet).")]
            pub fn iter(&self) -> $iter<'a> {
                $iter {
                    parser: PayloadParser::revisit(self.region),
                    left: self.len(),
                }
            }
        }

        impl<'a> IntoIterator for $list<'a> {
            type Item = $item;
            type IntoIter = $iter<'a>;

            fn into_iter(self) -> $iter<'a> {
                self.iter()
            }
        }

        impl<'a> IntoIterator for &$list<'a> {
            type Item = $item;
            type IntoIter = $iter<'a>;

            fn into_iter(self) -> $iter<'a> {
                self.iter()
            }
        }

        /// Equal when the entries are equal, whatever the terminator bytes were.
        impl PartialEq for $list<'_> {
            fn eq(&self, other: &Self) -> bool {
                self.count == other.count && self.iter().eq(other.iter())
            }
        }

        impl Eq for $list<'_> {}

        impl fmt::Debug for $list<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list().entries(self.iter()).finish()
            }
        }

        #[doc = concat!("Iterator over ", $what, "; see [`", stringify!($list), "`].")]
        #[derive(Clone)]
        pub struct $iter<'a> {
            parser: PayloadParser<'a>,
            left: usize,
        }

        impl<'a> Iterator for $iter<'a> {
            type Item = $item;

            #[inline]
            fn next(&mut self) -> Option<$item> {
                if self.left == 0 {
                    return None;
                }
                self.left -= 1;
                match self.parser.$parse() {
                    Ok(Some(item)) => Some(item),
                    // The region was validated when the view was decoded, so this is
                    // unreachable; ending the iteration is the non-panicking answer.
                    Ok(None) | Err(_) => {
                        self.left = 0;
                        None
                    }
                }
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                (self.left, Some(self.left))
            }
        }

        impl ExactSizeIterator for $iter<'_> {}
        impl FusedIterator for $iter<'_> {}
    };
}

lazy_list! {
    /// The headers of a [`ForwardRequestRef`], in order, duplicates kept; a `None`
    /// value is a null string on the wire.
    RequestHeadersRef, RequestHeadersIter, u16,
    (RequestHeaderNameRef<'a>, Option<&'a [u8]>), next_request_header, "request headers"
}

lazy_list! {
    /// The headers of a [`SendHeadersRef`], in order, duplicates kept; a `None` value
    /// is a null string on the wire.
    ResponseHeadersRef, ResponseHeadersIter, u16,
    (ResponseHeaderNameRef<'a>, Option<&'a [u8]>), next_response_header, "response headers"
}

lazy_list! {
    /// The attributes of a [`ForwardRequestRef`], in order, before the `FF` terminator.
    AttributesRef, AttributesIter, u16, AttributeRef<'a>, next_attribute, "attributes"
}

// === messages ===

/// A borrowed FORWARD_REQUEST; the fields of [`ForwardRequest`], strings borrowed.
/// Equality and `Debug` look at the fields only, not at the packet they came from.
#[derive(Clone, Copy)]
pub struct ForwardRequestRef<'a> {
    /// Method byte.
    pub method: Method,
    /// Protocol, e.g. `HTTP/1.1`.
    pub protocol: Option<&'a [u8]>,
    /// Undecoded request path.
    pub req_uri: Option<&'a [u8]>,
    /// Client address.
    pub remote_addr: Option<&'a [u8]>,
    /// Client host name.
    pub remote_host: Option<&'a [u8]>,
    /// Virtual host name.
    pub server_name: Option<&'a [u8]>,
    /// Port the client connected to.
    pub server_port: u16,
    /// True when the client leg is TLS.
    pub is_ssl: bool,
    /// Headers, parsed lazily.
    pub headers: RequestHeadersRef<'a>,
    /// Attributes, parsed lazily.
    pub attributes: AttributesRef<'a>,
    /// The payload every field lies in, so [`ForwardRequestRef::into_owned`] copies once.
    pub(crate) payload: &'a [u8],
}

impl<'a> ForwardRequestRef<'a> {
    /// Values of every header called `name` (ASCII-case-insensitive), in order.
    pub fn header_values<'n>(
        &self,
        name: &'n [u8],
    ) -> impl Iterator<Item = Option<&'a [u8]>> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(header, _)| header.is(name))
            .map(|(_, value)| value)
    }

    /// What the Content-Length header(s) say; see [`ForwardRequest::content_length`].
    pub fn content_length(&self) -> ContentLength {
        ContentLength::judge(self.header_values(b"content-length"))
    }

    /// The method name the container will see; see [`ForwardRequest::method_name`].
    pub fn method_name(&self) -> Option<&'a [u8]> {
        let stored = self
            .attributes
            .iter()
            .fold(None, |last, attribute| match attribute {
                AttributeRef::StoredMethod(name) => Some(name),
                _ => last,
            });
        stored.or_else(|| self.method.name().map(str::as_bytes))
    }

    /// The query string attribute (the last one wins, as in Tomcat).
    pub fn query_string(&self) -> Option<&'a [u8]> {
        self.attributes
            .iter()
            .fold(None, |last, attribute| match attribute {
                AttributeRef::QueryString(query) => Some(query),
                _ => last,
            })
    }

    /// The owned request: the payload is copied once and every field shares that copy.
    pub fn into_owned(self) -> ForwardRequest {
        let copy = Bytes::copy_from_slice(self.payload);
        self.into_owned_in(&Backing::new(&copy, self.payload))
    }

    pub(crate) fn into_owned_in(self, backing: &Backing<'_, '_>) -> ForwardRequest {
        let mut headers = Vec::with_capacity(self.headers.len());
        headers.extend(
            self.headers
                .iter()
                .map(|(name, value)| (name.into_owned_in(backing), backing.share_opt(value))),
        );
        let mut attributes = Vec::with_capacity(self.attributes.len());
        attributes.extend(
            self.attributes
                .iter()
                .map(|attribute| attribute.into_owned_in(backing)),
        );
        ForwardRequest {
            method: self.method,
            protocol: backing.share_opt(self.protocol),
            req_uri: backing.share_opt(self.req_uri),
            remote_addr: backing.share_opt(self.remote_addr),
            remote_host: backing.share_opt(self.remote_host),
            server_name: backing.share_opt(self.server_name),
            server_port: self.server_port,
            is_ssl: self.is_ssl,
            headers,
            attributes,
        }
    }
}

impl PartialEq for ForwardRequestRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method
            && self.protocol == other.protocol
            && self.req_uri == other.req_uri
            && self.remote_addr == other.remote_addr
            && self.remote_host == other.remote_host
            && self.server_name == other.server_name
            && self.server_port == other.server_port
            && self.is_ssl == other.is_ssl
            && self.headers == other.headers
            && self.attributes == other.attributes
    }
}

impl Eq for ForwardRequestRef<'_> {}

impl fmt::Debug for ForwardRequestRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForwardRequestRef")
            .field("method", &self.method)
            .field("protocol", &self.protocol)
            .field("req_uri", &self.req_uri)
            .field("remote_addr", &self.remote_addr)
            .field("remote_host", &self.remote_host)
            .field("server_name", &self.server_name)
            .field("server_port", &self.server_port)
            .field("is_ssl", &self.is_ssl)
            .field("headers", &self.headers)
            .field("attributes", &self.attributes)
            .finish_non_exhaustive()
    }
}

impl From<ForwardRequestRef<'_>> for ForwardRequest {
    fn from(request: ForwardRequestRef<'_>) -> Self {
        request.into_owned()
    }
}

/// Field-by-field comparison with an owned request, without converting either side.
impl PartialEq<ForwardRequest> for ForwardRequestRef<'_> {
    fn eq(&self, other: &ForwardRequest) -> bool {
        self.method == other.method
            && self.protocol == other.protocol.as_deref()
            && self.req_uri == other.req_uri.as_deref()
            && self.remote_addr == other.remote_addr.as_deref()
            && self.remote_host == other.remote_host.as_deref()
            && self.server_name == other.server_name.as_deref()
            && self.server_port == other.server_port
            && self.is_ssl == other.is_ssl
            && self.headers.iter().eq(other
                .headers
                .iter()
                .map(|(name, value)| (name.as_borrowed(), value.as_deref())))
            && self
                .attributes
                .iter()
                .eq(other.attributes.iter().map(Attribute::as_borrowed))
    }
}

/// A borrowed SEND_HEADERS; the fields of [`SendHeaders`], strings borrowed.
/// Equality and `Debug` look at the fields only, not at the packet they came from.
#[derive(Clone, Copy)]
pub struct SendHeadersRef<'a> {
    /// Numeric HTTP status.
    pub status: u16,
    /// Status message.
    pub status_msg: Option<&'a [u8]>,
    /// Headers, parsed lazily.
    pub headers: ResponseHeadersRef<'a>,
    /// The payload every field lies in, so [`SendHeadersRef::into_owned`] copies once.
    pub(crate) payload: &'a [u8],
}

impl<'a> SendHeadersRef<'a> {
    /// Values of every header called `name` (ASCII-case-insensitive), in order.
    pub fn header_values<'n>(
        &self,
        name: &'n [u8],
    ) -> impl Iterator<Item = Option<&'a [u8]>> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(header, _)| header.is(name))
            .map(|(_, value)| value)
    }

    /// The owned message: the payload is copied once and every field shares that copy.
    pub fn into_owned(self) -> SendHeaders {
        let copy = Bytes::copy_from_slice(self.payload);
        self.into_owned_in(&Backing::new(&copy, self.payload))
    }

    pub(crate) fn into_owned_in(self, backing: &Backing<'_, '_>) -> SendHeaders {
        let mut headers = Vec::with_capacity(self.headers.len());
        headers.extend(
            self.headers
                .iter()
                .map(|(name, value)| (name.into_owned_in(backing), backing.share_opt(value))),
        );
        SendHeaders {
            status: self.status,
            status_msg: backing.share_opt(self.status_msg),
            headers,
        }
    }
}

impl PartialEq for SendHeadersRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
            && self.status_msg == other.status_msg
            && self.headers == other.headers
    }
}

impl Eq for SendHeadersRef<'_> {}

impl fmt::Debug for SendHeadersRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendHeadersRef")
            .field("status", &self.status)
            .field("status_msg", &self.status_msg)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl From<SendHeadersRef<'_>> for SendHeaders {
    fn from(headers: SendHeadersRef<'_>) -> Self {
        headers.into_owned()
    }
}

/// Field-by-field comparison with an owned message, without converting either side.
impl PartialEq<SendHeaders> for SendHeadersRef<'_> {
    fn eq(&self, other: &SendHeaders) -> bool {
        self.status == other.status
            && self.status_msg == other.status_msg.as_deref()
            && self.headers.iter().eq(other
                .headers
                .iter()
                .map(|(name, value)| (name.as_borrowed(), value.as_deref())))
    }
}

/// A borrowed proxy → container message; see [`ProxyMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMessageRef<'a> {
    /// FORWARD_REQUEST (`02`).
    ForwardRequest(ForwardRequestRef<'a>),
    /// A request-body packet; empty data is the end-of-body packet.
    Body(&'a [u8]),
    /// CPING (`0A`).
    CPing,
    /// SHUTDOWN (`07`).
    Shutdown,
    /// PING (`08`).
    Ping,
}

impl ProxyMessageRef<'_> {
    /// The owned message (one copy of the payload, shared by every field).
    pub fn into_owned(self) -> ProxyMessage {
        match self {
            ProxyMessageRef::ForwardRequest(request) => {
                ProxyMessage::ForwardRequest(request.into_owned())
            }
            ProxyMessageRef::Body(data) => ProxyMessage::Body(Bytes::copy_from_slice(data)),
            ProxyMessageRef::CPing => ProxyMessage::CPing,
            ProxyMessageRef::Shutdown => ProxyMessage::Shutdown,
            ProxyMessageRef::Ping => ProxyMessage::Ping,
        }
    }

    pub(crate) fn into_owned_in(self, backing: &Backing<'_, '_>) -> ProxyMessage {
        match self {
            ProxyMessageRef::ForwardRequest(request) => {
                ProxyMessage::ForwardRequest(request.into_owned_in(backing))
            }
            ProxyMessageRef::Body(data) => ProxyMessage::Body(backing.share(data)),
            ProxyMessageRef::CPing => ProxyMessage::CPing,
            ProxyMessageRef::Shutdown => ProxyMessage::Shutdown,
            ProxyMessageRef::Ping => ProxyMessage::Ping,
        }
    }
}

impl From<ProxyMessageRef<'_>> for ProxyMessage {
    fn from(message: ProxyMessageRef<'_>) -> Self {
        message.into_owned()
    }
}

/// Variant-by-variant comparison with an owned message.
impl PartialEq<ProxyMessage> for ProxyMessageRef<'_> {
    fn eq(&self, other: &ProxyMessage) -> bool {
        match (self, other) {
            (ProxyMessageRef::ForwardRequest(a), ProxyMessage::ForwardRequest(b)) => a == b,
            (ProxyMessageRef::Body(a), ProxyMessage::Body(b)) => *a == &b[..],
            (ProxyMessageRef::CPing, ProxyMessage::CPing)
            | (ProxyMessageRef::Shutdown, ProxyMessage::Shutdown)
            | (ProxyMessageRef::Ping, ProxyMessage::Ping) => true,
            _ => false,
        }
    }
}

/// A borrowed container → proxy message; see [`ContainerMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerMessageRef<'a> {
    /// SEND_HEADERS (`04`).
    SendHeaders(SendHeadersRef<'a>),
    /// SEND_BODY_CHUNK (`03`).
    SendBodyChunk(&'a [u8]),
    /// GET_BODY_CHUNK (`06`).
    GetBodyChunk {
        /// How many body bytes the container asks for.
        requested_len: u16,
    },
    /// END_RESPONSE (`05`).
    EndResponse {
        /// True when the container keeps the connection open.
        reuse: bool,
    },
    /// CPONG (`09`).
    CPong,
}

impl ContainerMessageRef<'_> {
    /// The owned message (one copy of the payload, shared by every field).
    pub fn into_owned(self) -> ContainerMessage {
        match self {
            ContainerMessageRef::SendHeaders(headers) => {
                ContainerMessage::SendHeaders(headers.into_owned())
            }
            ContainerMessageRef::SendBodyChunk(data) => {
                ContainerMessage::SendBodyChunk(Bytes::copy_from_slice(data))
            }
            other => {
                let none = Bytes::new();
                other.into_owned_in(&Backing::new(&none, &[]))
            }
        }
    }

    pub(crate) fn into_owned_in(self, backing: &Backing<'_, '_>) -> ContainerMessage {
        match self {
            ContainerMessageRef::SendHeaders(headers) => {
                ContainerMessage::SendHeaders(headers.into_owned_in(backing))
            }
            ContainerMessageRef::SendBodyChunk(data) => {
                ContainerMessage::SendBodyChunk(backing.share(data))
            }
            ContainerMessageRef::GetBodyChunk { requested_len } => {
                ContainerMessage::GetBodyChunk { requested_len }
            }
            ContainerMessageRef::EndResponse { reuse } => ContainerMessage::EndResponse { reuse },
            ContainerMessageRef::CPong => ContainerMessage::CPong,
        }
    }
}

impl From<ContainerMessageRef<'_>> for ContainerMessage {
    fn from(message: ContainerMessageRef<'_>) -> Self {
        message.into_owned()
    }
}

/// Variant-by-variant comparison with an owned message.
impl PartialEq<ContainerMessage> for ContainerMessageRef<'_> {
    fn eq(&self, other: &ContainerMessage) -> bool {
        match (self, other) {
            (ContainerMessageRef::SendHeaders(a), ContainerMessage::SendHeaders(b)) => a == b,
            (ContainerMessageRef::SendBodyChunk(a), ContainerMessage::SendBodyChunk(b)) => {
                *a == &b[..]
            }
            (
                ContainerMessageRef::GetBodyChunk { requested_len: a },
                ContainerMessage::GetBodyChunk { requested_len: b },
            ) => a == b,
            (
                ContainerMessageRef::EndResponse { reuse: a },
                ContainerMessage::EndResponse { reuse: b },
            ) => a == b,
            (ContainerMessageRef::CPong, ContainerMessage::CPong) => true,
            _ => false,
        }
    }
}
