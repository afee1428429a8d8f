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

/// The payload of a frame a view was parsed from, as [`decode_container_message_with`]
/// hands it over: a field of the view becomes a [`Bytes`] sharing the payload's buffer
/// (a reference count, no copy).
///
/// [`decode_container_message_with`]: super::decode_container_message_with
#[derive(Debug, Clone, Copy)]
pub struct FramePayload<'b>(&'b Bytes);

impl<'b> FramePayload<'b> {
    pub(crate) fn new(payload: &'b Bytes) -> Self {
        FramePayload(payload)
    }

    /// `field` as a slice of the payload; a field from elsewhere is copied (slow, never
    /// wrong, and never a panic).
    pub fn share(&self, field: &[u8]) -> Bytes {
        Backing::new(self.0, self.0).share(field)
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
    /// The coded form if the name has a code (case-insensitive, like mod_jk), else the
    /// string form with the name's bytes unchanged.
    pub fn from_name(name: &'a [u8]) -> Self {
        match RequestHeaderCode::from_name(name) {
            Some(code) => RequestHeaderNameRef::Coded(code),
            None => RequestHeaderNameRef::Named(name),
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ajp::{
        ContainerState, DecodeError, DecodeOptions, DecodeStatus, Terminators,
        decode_container_message, decode_container_message_ref, decode_proxy_message,
        decode_proxy_message_ref,
    };

    fn string(value: &[u8]) -> Vec<u8> {
        let mut wire = u16::try_from(value.len())
            .expect("short")
            .to_be_bytes()
            .to_vec();
        wire.extend_from_slice(value);
        wire.push(0);
        wire
    }

    fn frame(magic: [u8; 2], payload: &[u8]) -> Vec<u8> {
        let mut wire = magic.to_vec();
        wire.extend(u16::try_from(payload.len()).expect("short").to_be_bytes());
        wire.extend_from_slice(payload);
        wire
    }

    /// Every coded request header (value `v<code>`), then a string-named one.
    fn request_header_table() -> Vec<(Vec<u8>, RequestHeaderNameRef<'static>, Vec<u8>)> {
        let mut table: Vec<_> = RequestHeaderCode::ALL
            .iter()
            .map(|&code| {
                let value = format!("v{:04X}", code.code()).into_bytes();
                (
                    code.code().to_be_bytes().to_vec(),
                    RequestHeaderNameRef::Coded(code),
                    value,
                )
            })
            .collect();
        table.push((
            string(b"X-Request-Id"),
            RequestHeaderNameRef::Named(b"X-Request-Id"),
            b"42".to_vec(),
        ));
        table
    }

    /// A single-string attribute: code, view constructor, value.
    type SingleAttribute = (
        u8,
        fn(&'static [u8]) -> AttributeRef<'static>,
        &'static [u8],
    );

    /// Every attribute code, its wire form after the code byte, and the expected view.
    fn attribute_table() -> Vec<(u8, Vec<u8>, AttributeRef<'static>)> {
        let single: [SingleAttribute; 11] = [
            (Attribute::CONTEXT, AttributeRef::Context, b"/ctx"),
            (Attribute::SERVLET_PATH, AttributeRef::ServletPath, b"/s"),
            (Attribute::REMOTE_USER, AttributeRef::RemoteUser, b"alice"),
            (Attribute::AUTH_TYPE, AttributeRef::AuthType, b"Basic"),
            (
                Attribute::QUERY_STRING,
                AttributeRef::QueryString,
                b"a=1&b=2",
            ),
            (Attribute::ROUTE, AttributeRef::Route, b"node1"),
            (
                Attribute::SSL_CERT,
                AttributeRef::SslCert,
                b"-----BEGIN\r\nX\n",
            ),
            (
                Attribute::SSL_CIPHER,
                AttributeRef::SslCipher,
                b"TLS_AES_128",
            ),
            (Attribute::SSL_SESSION, AttributeRef::SslSession, b"abcd"),
            (Attribute::SECRET, AttributeRef::Secret, b"s3cr3t"),
            (
                Attribute::STORED_METHOD,
                AttributeRef::StoredMethod,
                b"PATCH",
            ),
        ];
        let mut table: Vec<_> = single
            .into_iter()
            .map(|(code, make, value)| (code, string(value), make(value)))
            .collect();
        let mut req_attribute = string(b"AJP_REMOTE_PORT");
        req_attribute.extend(string(b"51234"));
        table.push((
            Attribute::REQ_ATTRIBUTE,
            req_attribute,
            AttributeRef::ReqAttribute {
                name: b"AJP_REMOTE_PORT",
                value: b"51234",
            },
        ));
        table.push((
            Attribute::SSL_KEY_SIZE,
            vec![0x01, 0x00],
            AttributeRef::SslKeySize(256),
        ));
        table
    }

    fn forward_request_wire() -> Vec<u8> {
        let mut payload = vec![CODE_FORWARD_REQUEST, Method::STORED_CODE];
        payload.extend(string(b"HTTP/1.1"));
        payload.extend(string(b"/app/x"));
        payload.extend(string(b"192.0.2.1"));
        payload.extend([0xFF, 0xFF]); // remote_host: null
        payload.extend(string(b"")); // server_name: empty
        payload.extend([0x01, 0xBB, 0x01]); // port 443, is_ssl
        let headers = request_header_table();
        payload.extend(u16::try_from(headers.len()).expect("few").to_be_bytes());
        for (name, _, value) in &headers {
            payload.extend(name);
            payload.extend(string(value));
        }
        for (code, body, _) in attribute_table() {
            payload.push(code);
            payload.extend(body);
        }
        payload.push(ATTRIBUTE_TERMINATOR);
        frame([0x12, 0x34], &payload)
    }

    fn decode_request(wire: &[u8]) -> ForwardRequestRef<'_> {
        let options = DecodeOptions::default();
        match decode_proxy_message_ref(wire, ContainerState::AwaitingRequest, &options) {
            Ok(DecodeStatus::Complete(decoded)) => {
                assert_eq!(decoded.frame_len, wire.len());
                match decoded.message {
                    ProxyMessageRef::ForwardRequest(request) => request,
                    other => panic!("not a request: {other:?}"),
                }
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_coded_request_header_and_attribute_decodes_borrowed() {
        let wire = forward_request_wire();
        let request = decode_request(&wire);
        assert_eq!(request.method, Method::Stored);
        assert_eq!(request.protocol, Some(&b"HTTP/1.1"[..]));
        assert_eq!(request.req_uri, Some(&b"/app/x"[..]));
        assert_eq!(request.remote_addr, Some(&b"192.0.2.1"[..]));
        assert_eq!(request.remote_host, None);
        assert_eq!(request.server_name, Some(&b""[..]));
        assert_eq!((request.server_port, request.is_ssl), (443, true));

        let table = request_header_table();
        assert_eq!(request.headers.len(), table.len());
        assert_eq!(request.headers.iter().len(), table.len());
        for ((name, value), (_, expected_name, expected_value)) in
            request.headers.iter().zip(&table)
        {
            assert_eq!(name, *expected_name);
            assert_eq!(value, Some(&expected_value[..]));
        }
        let attributes = attribute_table();
        assert_eq!(request.attributes.len(), attributes.len());
        for (attribute, (code, _, expected)) in request.attributes.iter().zip(&attributes) {
            assert_eq!(attribute, *expected);
            assert_eq!(attribute.code(), *code);
        }
        // The helpers read the lazy lists as the owned ones do.
        assert_eq!(request.method_name(), Some(&b"PATCH"[..]));
        assert_eq!(request.query_string(), Some(&b"a=1&b=2"[..]));
        assert_eq!(request.content_length(), ContentLength::Invalid); // "vA008"
        let hosts: Vec<_> = request.header_values(b"HOST").collect();
        assert_eq!(hosts, [Some(&b"vA00B"[..])]);

        // Owned decode, conversion and field-wise comparison all agree.
        let owned = match decode_proxy_message(
            &wire,
            ContainerState::AwaitingRequest,
            &DecodeOptions::default(),
        ) {
            Ok(DecodeStatus::Complete(decoded)) => decoded.message,
            other => panic!("{other:?}"),
        };
        let ProxyMessage::ForwardRequest(owned) = owned else {
            panic!("{owned:?}")
        };
        assert_eq!(request, owned);
        assert_eq!(request.into_owned(), owned);
        assert_eq!(ForwardRequest::from(request), owned);
        assert_eq!(owned.content_length(), request.content_length());
        assert_eq!(owned.method_name(), request.method_name());
    }

    #[test]
    fn every_coded_response_header_decodes_borrowed() {
        let mut payload = vec![CODE_SEND_HEADERS, 0x00, 0xC8];
        payload.extend(string(b"OK"));
        let count = ResponseHeaderCode::ALL.len() + 1;
        payload.extend(u16::try_from(count).expect("few").to_be_bytes());
        for code in ResponseHeaderCode::ALL {
            payload.extend(code.code().to_be_bytes());
            payload.extend(string(code.name().as_bytes()));
        }
        payload.extend(string(b"Vary"));
        payload.extend([0xFF, 0xFF]); // a null value: decodable
        let wire = frame([0x41, 0x42], &payload);

        let options = DecodeOptions::default();
        let Ok(DecodeStatus::Complete(decoded)) = decode_container_message_ref(&wire, &options)
        else {
            panic!("whole frame")
        };
        let ContainerMessageRef::SendHeaders(headers) = decoded.message else {
            panic!("{:?}", decoded.message)
        };
        assert_eq!(
            (headers.status, headers.status_msg),
            (200, Some(&b"OK"[..]))
        );
        assert_eq!(headers.headers.len(), count);
        let items: Vec<_> = headers.headers.iter().collect();
        for (item, code) in items.iter().zip(ResponseHeaderCode::ALL) {
            assert_eq!(
                *item,
                (
                    ResponseHeaderNameRef::Coded(*code),
                    Some(code.name().as_bytes())
                )
            );
            assert_eq!(item.0.as_bytes(), code.name().as_bytes());
        }
        assert_eq!(
            items[count - 1],
            (ResponseHeaderNameRef::Named(b"Vary"), None)
        );
        let cookies: Vec<_> = headers.header_values(b"set-cookie").collect();
        assert_eq!(cookies, [Some(&b"Set-Cookie"[..])]);

        let Ok(DecodeStatus::Complete(owned)) = decode_container_message(&wire, &options) else {
            panic!("whole frame")
        };
        assert_eq!(decoded.message, owned.message);
        assert_eq!(decoded.message.into_owned(), owned.message);
        assert_eq!(
            (decoded.frame_len, decoded.trailing_bytes),
            (owned.frame_len, owned.trailing_bytes)
        );
    }

    #[test]
    fn borrowed_and_owned_decoders_refuse_the_same_way() {
        let wire = forward_request_wire();
        // magic+length, prefix+method, protocol, req_uri, remote_addr, null remote_host,
        // empty server_name, port+is_ssl, num_headers.
        let header_start = 4 + 2 + 11 + 9 + 12 + 2 + 3 + 3 + 2;
        let mut cases: Vec<(&str, Vec<u8>, Terminators)> = Vec::new();
        // An undefined request header code in place of the first one.
        let mut bad_code = wire.clone();
        bad_code[header_start..header_start + 2].copy_from_slice(&[0xA0, 0x0F]);
        cases.push(("header code", bad_code, Terminators::Strict));
        // A bad terminator after the protocol: refused strictly, skipped leniently.
        let mut bad_nul = wire.clone();
        bad_nul[4 + 2 + 10] = b'!';
        cases.push(("terminator", bad_nul.clone(), Terminators::Strict));
        cases.push(("lenient terminator", bad_nul, Terminators::Lenient));
        // An unknown attribute code, and a null attribute string.
        let attributes_end = wire.len() - 1;
        let mut unknown = wire.clone();
        unknown.insert(attributes_end, 0x0E);
        let declared = u16::try_from(unknown.len() - 4).expect("small");
        unknown[2..4].copy_from_slice(&declared.to_be_bytes());
        cases.push(("unknown attribute", unknown, Terminators::Strict));
        let mut null = wire.clone();
        null.splice(
            attributes_end..attributes_end,
            [Attribute::ROUTE, 0xFF, 0xFF],
        );
        let declared = u16::try_from(null.len() - 4).expect("small");
        null[2..4].copy_from_slice(&declared.to_be_bytes());
        cases.push(("null attribute", null, Terminators::Strict));
        // The frame cut short inside the header list (declared length shortened).
        let mut cut = wire[..header_start + 7].to_vec();
        let declared = u16::try_from(cut.len() - 4).expect("small");
        cut[2..4].copy_from_slice(&declared.to_be_bytes());
        cases.push(("cut", cut, Terminators::Strict));

        for (name, wire, terminators) in cases {
            let options = DecodeOptions {
                terminators,
                ..DecodeOptions::default()
            };
            let state = ContainerState::AwaitingRequest;
            let borrowed = decode_proxy_message_ref(&wire, state, &options);
            let owned = decode_proxy_message(&wire, state, &options);
            match (borrowed, owned) {
                (Err(a), Err(b)) => {
                    assert_eq!(a, b, "{name}");
                    let expected = match name {
                        "header code" => {
                            matches!(
                                a,
                                DecodeError::InvalidRequestHeaderCode { code: 0xA00F, .. }
                            )
                        }
                        "terminator" => matches!(
                            a,
                            DecodeError::BadTerminator {
                                field: "protocol",
                                offset: 16,
                                found: b'!'
                            }
                        ),
                        "unknown attribute" => {
                            matches!(a, DecodeError::UnknownAttribute { code: 0x0E, .. })
                        }
                        "null attribute" => {
                            matches!(a, DecodeError::NullString { field: "route", .. })
                        }
                        _ => matches!(a, DecodeError::Truncated { .. }),
                    };
                    assert!(expected, "{name}: {a:?}");
                }
                (Ok(DecodeStatus::Complete(a)), Ok(DecodeStatus::Complete(b))) => {
                    assert_eq!(name, "lenient terminator");
                    assert_eq!(a.message, b.message);
                    assert_eq!(a.message.into_owned(), b.message);
                }
                (a, b) => panic!("{name}: {a:?} vs {b:?}"),
            }
        }
    }

    #[test]
    fn backing_shares_inside_and_copies_outside() {
        let payload = Bytes::from_static(b"hello world");
        let backing = Backing::new(&payload, &payload);
        let inside = backing.share(&payload[6..]);
        assert_eq!(&inside[..], b"world");
        assert_eq!(inside.as_ptr(), payload[6..].as_ptr(), "shared, not copied");
        let elsewhere = b"world".to_vec();
        let copied = backing.share(&elsewhere);
        assert_eq!(&copied[..], b"world");
        assert_ne!(copied.as_ptr(), elsewhere.as_ptr());
        assert!(backing.share(&[]).is_empty());
    }
}
