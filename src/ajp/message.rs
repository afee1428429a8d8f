//! The AJP13 message model: every packet both directions, as plain data.
//!
//! Byte values are [`Bytes`] and are never validated as UTF-8. Where the wire allows
//! a null string (`FF FF`) the field is an `Option<Bytes>`: `None` is null, `Some(empty)`
//! is the empty string, and the two stay distinct through decoding and encoding.

use bytes::Bytes;

/// Prefix code of a FORWARD_REQUEST (proxy → container).
pub const CODE_FORWARD_REQUEST: u8 = 0x02;
/// Prefix code of a SEND_BODY_CHUNK (container → proxy).
pub const CODE_SEND_BODY_CHUNK: u8 = 0x03;
/// Prefix code of a SEND_HEADERS (container → proxy).
pub const CODE_SEND_HEADERS: u8 = 0x04;
/// Prefix code of an END_RESPONSE (container → proxy).
pub const CODE_END_RESPONSE: u8 = 0x05;
/// Prefix code of a GET_BODY_CHUNK (container → proxy).
pub const CODE_GET_BODY_CHUNK: u8 = 0x06;
/// Prefix code of a SHUTDOWN (proxy → container; Tomcat does not implement it).
pub const CODE_SHUTDOWN: u8 = 0x07;
/// Prefix code of a PING (proxy → container; Tomcat does not implement it).
pub const CODE_PING: u8 = 0x08;
/// Prefix code of a CPONG (container → proxy).
pub const CODE_CPONG: u8 = 0x09;
/// Prefix code of a CPING (proxy → container).
pub const CODE_CPING: u8 = 0x0A;

/// Attribute code that ends the attribute list and the FORWARD_REQUEST.
pub const ATTRIBUTE_TERMINATOR: u8 = 0xFF;

/// Generates a fieldless enum with explicit wire codes and names, plus lookups both ways.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in wire-code order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];

            /// The wire code of this variant.
            pub const fn code(self) -> $repr {
                match self { $( $name::$variant => $code ),+ }
            }

            /// The variant with this wire code, if the code is defined.
            pub const fn from_code(code: $repr) -> Option<Self> {
                match code { $( $code => Some($name::$variant), )+ _ => None }
            }

            /// The name this code stands for on the HTTP side.
            pub const fn name(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }
        }
    };
}

coded_enum! {
    /// An HTTP method with its own AJP13 method code (1..=27, spec §2.2).
    ///
    /// Methods without a code (PATCH, CONNECT, extension methods) travel as
    /// [`Method::Stored`] plus an [`Attribute::StoredMethod`].
    KnownMethod: u8 {
        /// OPTIONS (1).
        Options = 1 => "OPTIONS",
        /// GET (2).
        Get = 2 => "GET",
        /// HEAD (3).
        Head = 3 => "HEAD",
        /// POST (4).
        Post = 4 => "POST",
        /// PUT (5).
        Put = 5 => "PUT",
        /// DELETE (6).
        Delete = 6 => "DELETE",
        /// TRACE (7).
        Trace = 7 => "TRACE",
        /// PROPFIND (8).
        Propfind = 8 => "PROPFIND",
        /// PROPPATCH (9).
        Proppatch = 9 => "PROPPATCH",
        /// MKCOL (10).
        Mkcol = 10 => "MKCOL",
        /// COPY (11).
        Copy = 11 => "COPY",
        /// MOVE (12).
        Move = 12 => "MOVE",
        /// LOCK (13).
        Lock = 13 => "LOCK",
        /// UNLOCK (14).
        Unlock = 14 => "UNLOCK",
        /// ACL (15).
        Acl = 15 => "ACL",
        /// REPORT (16).
        Report = 16 => "REPORT",
        /// VERSION-CONTROL (17).
        VersionControl = 17 => "VERSION-CONTROL",
        /// CHECKIN (18).
        Checkin = 18 => "CHECKIN",
        /// CHECKOUT (19).
        Checkout = 19 => "CHECKOUT",
        /// UNCHECKOUT (20).
        Uncheckout = 20 => "UNCHECKOUT",
        /// SEARCH (21).
        Search = 21 => "SEARCH",
        /// MKWORKSPACE (22).
        Mkworkspace = 22 => "MKWORKSPACE",
        /// UPDATE (23).
        Update = 23 => "UPDATE",
        /// LABEL (24).
        Label = 24 => "LABEL",
        /// MERGE (25).
        Merge = 25 => "MERGE",
        /// BASELINE-CONTROL (26; the protocol page spells it BASELINE_CONTROL).
        BaselineControl = 26 => "BASELINE-CONTROL",
        /// MKACTIVITY (27).
        Mkactivity = 27 => "MKACTIVITY",
    }
}

impl KnownMethod {
    /// The coded method for an HTTP method name, matched case-sensitively as mod_jk does
    /// (`b"GET"` yes, `b"get"` no).
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|method| method.name().as_bytes() == name)
    }
}

/// The method byte of a FORWARD_REQUEST: a coded method or `0xFF` ("stored method").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// One of the 27 coded methods.
    Known(KnownMethod),
    /// `0xFF` (SC_M_JK_STORED): the real name travels in [`Attribute::StoredMethod`].
    Stored,
}

impl Method {
    /// The method byte for stored methods.
    pub const STORED_CODE: u8 = 0xFF;

    /// The wire byte of this method.
    pub const fn code(self) -> u8 {
        match self {
            Method::Known(known) => known.code(),
            Method::Stored => Self::STORED_CODE,
        }
    }

    /// The method for a wire byte; `None` for the undefined codes 0 and 28..=254.
    pub const fn from_code(code: u8) -> Option<Self> {
        if code == Self::STORED_CODE {
            return Some(Method::Stored);
        }
        match KnownMethod::from_code(code) {
            Some(known) => Some(Method::Known(known)),
            None => None,
        }
    }

    /// The coded method for an HTTP method name (case-sensitive, like mod_jk), or
    /// [`Method::Stored`] when the name has no code and must go into
    /// [`Attribute::StoredMethod`].
    pub fn from_name(name: &[u8]) -> Self {
        KnownMethod::from_name(name).map_or(Method::Stored, Method::Known)
    }

    /// The HTTP method name for a coded method; `None` for [`Method::Stored`].
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Method::Known(known) => Some(known.name()),
            Method::Stored => None,
        }
    }
}

impl From<KnownMethod> for Method {
    fn from(known: KnownMethod) -> Self {
        Method::Known(known)
    }
}

coded_enum! {
    /// A coded request header name `A0 01`..`A0 0E` (spec §2.3). Names are the
    /// lower-case forms Tomcat registers.
    RequestHeaderCode: u16 {
        /// `accept` (A001).
        Accept = 0xA001 => "accept",
        /// `accept-charset` (A002).
        AcceptCharset = 0xA002 => "accept-charset",
        /// `accept-encoding` (A003).
        AcceptEncoding = 0xA003 => "accept-encoding",
        /// `accept-language` (A004).
        AcceptLanguage = 0xA004 => "accept-language",
        /// `authorization` (A005).
        Authorization = 0xA005 => "authorization",
        /// `connection` (A006).
        Connection = 0xA006 => "connection",
        /// `content-type` (A007).
        ContentType = 0xA007 => "content-type",
        /// `content-length` (A008).
        ContentLength = 0xA008 => "content-length",
        /// `cookie` (A009).
        Cookie = 0xA009 => "cookie",
        /// `cookie2` (A00A).
        Cookie2 = 0xA00A => "cookie2",
        /// `host` (A00B).
        Host = 0xA00B => "host",
        /// `pragma` (A00C).
        Pragma = 0xA00C => "pragma",
        /// `referer` (A00D).
        Referer = 0xA00D => "referer",
        /// `user-agent` (A00E).
        UserAgent = 0xA00E => "user-agent",
    }
}

impl RequestHeaderCode {
    /// The code for a header name, matched ASCII-case-insensitively as mod_jk does.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.name().as_bytes().eq_ignore_ascii_case(name))
    }
}

coded_enum! {
    /// A coded response header name `A0 01`..`A0 0B` (spec §2.4), with its canonical name.
    ResponseHeaderCode: u16 {
        /// `Content-Type` (A001).
        ContentType = 0xA001 => "Content-Type",
        /// `Content-Language` (A002).
        ContentLanguage = 0xA002 => "Content-Language",
        /// `Content-Length` (A003).
        ContentLength = 0xA003 => "Content-Length",
        /// `Date` (A004).
        Date = 0xA004 => "Date",
        /// `Last-Modified` (A005).
        LastModified = 0xA005 => "Last-Modified",
        /// `Location` (A006).
        Location = 0xA006 => "Location",
        /// `Set-Cookie` (A007).
        SetCookie = 0xA007 => "Set-Cookie",
        /// `Set-Cookie2` (A008).
        SetCookie2 = 0xA008 => "Set-Cookie2",
        /// `Servlet-Engine` (A009).
        ServletEngine = 0xA009 => "Servlet-Engine",
        /// `Status` (A00A).
        Status = 0xA00A => "Status",
        /// `WWW-Authenticate` (A00B).
        WwwAuthenticate = 0xA00B => "WWW-Authenticate",
    }
}

impl ResponseHeaderCode {
    /// The code for a header name, matched exactly (case-sensitively) as Tomcat does
    /// when it writes SEND_HEADERS.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.name().as_bytes() == name)
    }
}

/// A request header name: coded (`A0 nn`) or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RequestHeaderName {
    /// A coded name `A0 01`..`A0 0E`.
    Coded(RequestHeaderCode),
    /// A string name, sent with the case it has.
    Named(Bytes),
}

impl RequestHeaderName {
    /// The coded form if the name has a code (case-insensitive, like mod_jk), else the
    /// string form with the name's bytes unchanged.
    pub fn from_name(name: Bytes) -> Self {
        match RequestHeaderCode::from_name(&name) {
            Some(code) => RequestHeaderName::Coded(code),
            None => RequestHeaderName::Named(name),
        }
    }

    /// Like [`RequestHeaderName::from_name`], copying `name` only when it has no code.
    pub fn from_name_slice(name: &[u8]) -> Self {
        match RequestHeaderCode::from_name(name) {
            Some(code) => RequestHeaderName::Coded(code),
            None => RequestHeaderName::Named(Bytes::copy_from_slice(name)),
        }
    }

    /// The name's bytes: the lower-case registered name for a code.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            RequestHeaderName::Coded(code) => code.name().as_bytes(),
            RequestHeaderName::Named(name) => name,
        }
    }

    /// True when this is `name`, compared ASCII-case-insensitively.
    pub fn is(&self, name: &[u8]) -> bool {
        self.as_bytes().eq_ignore_ascii_case(name)
    }
}

impl From<RequestHeaderCode> for RequestHeaderName {
    fn from(code: RequestHeaderCode) -> Self {
        RequestHeaderName::Coded(code)
    }
}

/// A response header name: coded (`A0 nn`) or a string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResponseHeaderName {
    /// A coded name `A0 01`..`A0 0B`.
    Coded(ResponseHeaderCode),
    /// A string name.
    Named(Bytes),
}

impl ResponseHeaderName {
    /// The coded form if the name matches a code exactly (Tomcat's rule), else the
    /// string form.
    pub fn from_name(name: Bytes) -> Self {
        match ResponseHeaderCode::from_name(&name) {
            Some(code) => ResponseHeaderName::Coded(code),
            None => ResponseHeaderName::Named(name),
        }
    }

    /// The name's bytes: the canonical name for a code.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ResponseHeaderName::Coded(code) => code.name().as_bytes(),
            ResponseHeaderName::Named(name) => name,
        }
    }

    /// True when this is `name`, compared ASCII-case-insensitively.
    pub fn is(&self, name: &[u8]) -> bool {
        self.as_bytes().eq_ignore_ascii_case(name)
    }
}

impl From<ResponseHeaderCode> for ResponseHeaderName {
    fn from(code: ResponseHeaderCode) -> Self {
        ResponseHeaderName::Coded(code)
    }
}

/// One FORWARD_REQUEST attribute (spec §2.5). Attribute strings are never null on the
/// wire in practice (mod_jk omits absent ones); the decoder rejects a null one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// `01` context (Tomcat discards it).
    Context(Bytes),
    /// `02` servlet_path (Tomcat discards it).
    ServletPath(Bytes),
    /// `03` remote_user (trusted only with `tomcatAuthentication=false`).
    RemoteUser(Bytes),
    /// `04` auth_type.
    AuthType(Bytes),
    /// `05` query_string, raw, without the leading `?`.
    QueryString(Bytes),
    /// `06` route (jvmRoute; Tomcat discards it).
    Route(Bytes),
    /// `07` ssl_cert (PEM or DER; may contain line breaks).
    SslCert(Bytes),
    /// `08` ssl_cipher.
    SslCipher(Bytes),
    /// `09` ssl_session.
    SslSession(Bytes),
    /// `0A` req_attribute: a name and a value.
    ReqAttribute {
        /// Attribute name, e.g. `AJP_REMOTE_PORT`.
        name: Bytes,
        /// Attribute value.
        value: Bytes,
    },
    /// `0B` ssl_key_size, a u16 (not a string).
    SslKeySize(u16),
    /// `0C` secret.
    Secret(Bytes),
    /// `0D` stored_method: the request method name.
    StoredMethod(Bytes),
}

impl Attribute {
    /// Attribute code of `context`.
    pub const CONTEXT: u8 = 0x01;
    /// Attribute code of `servlet_path`.
    pub const SERVLET_PATH: u8 = 0x02;
    /// Attribute code of `remote_user`.
    pub const REMOTE_USER: u8 = 0x03;
    /// Attribute code of `auth_type`.
    pub const AUTH_TYPE: u8 = 0x04;
    /// Attribute code of `query_string`.
    pub const QUERY_STRING: u8 = 0x05;
    /// Attribute code of `route`.
    pub const ROUTE: u8 = 0x06;
    /// Attribute code of `ssl_cert`.
    pub const SSL_CERT: u8 = 0x07;
    /// Attribute code of `ssl_cipher`.
    pub const SSL_CIPHER: u8 = 0x08;
    /// Attribute code of `ssl_session`.
    pub const SSL_SESSION: u8 = 0x09;
    /// Attribute code of `req_attribute`.
    pub const REQ_ATTRIBUTE: u8 = 0x0A;
    /// Attribute code of `ssl_key_size`.
    pub const SSL_KEY_SIZE: u8 = 0x0B;
    /// Attribute code of `secret`.
    pub const SECRET: u8 = 0x0C;
    /// Attribute code of `stored_method`.
    pub const STORED_METHOD: u8 = 0x0D;

    /// The attribute's wire code.
    pub const fn code(&self) -> u8 {
        match self {
            Attribute::Context(_) => Self::CONTEXT,
            Attribute::ServletPath(_) => Self::SERVLET_PATH,
            Attribute::RemoteUser(_) => Self::REMOTE_USER,
            Attribute::AuthType(_) => Self::AUTH_TYPE,
            Attribute::QueryString(_) => Self::QUERY_STRING,
            Attribute::Route(_) => Self::ROUTE,
            Attribute::SslCert(_) => Self::SSL_CERT,
            Attribute::SslCipher(_) => Self::SSL_CIPHER,
            Attribute::SslSession(_) => Self::SSL_SESSION,
            Attribute::ReqAttribute { .. } => Self::REQ_ATTRIBUTE,
            Attribute::SslKeySize(_) => Self::SSL_KEY_SIZE,
            Attribute::Secret(_) => Self::SECRET,
            Attribute::StoredMethod(_) => Self::STORED_METHOD,
        }
    }

    /// mod_jk's name for an attribute code (`"query_string"`, …); `None` if undefined.
    pub const fn code_name(code: u8) -> Option<&'static str> {
        Some(match code {
            Self::CONTEXT => "context",
            Self::SERVLET_PATH => "servlet_path",
            Self::REMOTE_USER => "remote_user",
            Self::AUTH_TYPE => "auth_type",
            Self::QUERY_STRING => "query_string",
            Self::ROUTE => "route",
            Self::SSL_CERT => "ssl_cert",
            Self::SSL_CIPHER => "ssl_cipher",
            Self::SSL_SESSION => "ssl_session",
            Self::REQ_ATTRIBUTE => "req_attribute",
            Self::SSL_KEY_SIZE => "ssl_key_size",
            Self::SECRET => "secret",
            Self::STORED_METHOD => "stored_method",
            _ => return None,
        })
    }
}

/// What a request's Content-Length header says about its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentLength {
    /// No Content-Length header: unknown length, the container asks for body packets.
    Absent,
    /// Exactly one Content-Length header made only of ASCII digits.
    Length(u64),
    /// Present but unusable: several of them, null, empty, non-digits or too large.
    Invalid,
}

impl ContentLength {
    /// Judges the values of every Content-Length header of a request as Tomcat does
    /// (digits only, more than one is invalid); shared by the owned and borrowed views.
    pub(crate) fn judge<'v>(mut values: impl Iterator<Item = Option<&'v [u8]>>) -> Self {
        let Some(first) = values.next() else {
            return ContentLength::Absent;
        };
        if values.next().is_some() {
            return ContentLength::Invalid;
        }
        match first.and_then(parse_decimal) {
            Some(length) => ContentLength::Length(length),
            None => ContentLength::Invalid,
        }
    }
}

/// A FORWARD_REQUEST (prefix `02`): request line, connection facts, headers, attributes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForwardRequest {
    /// Method byte; see [`ForwardRequest::set_method_name`] for uncoded methods.
    pub method: Method,
    /// Protocol, e.g. `HTTP/1.1` (null is never encoded).
    pub protocol: Option<Bytes>,
    /// Undecoded request path without query string (null is never encoded).
    pub req_uri: Option<Bytes>,
    /// Client address as the proxy sees it.
    pub remote_addr: Option<Bytes>,
    /// Client host name, often null.
    pub remote_host: Option<Bytes>,
    /// Virtual host name (Host without port).
    pub server_name: Option<Bytes>,
    /// Port the client connected to.
    pub server_port: u16,
    /// True when the client leg is TLS (any non-zero byte decodes as true).
    pub is_ssl: bool,
    /// Headers in order, duplicates kept. A `None` value is a null string on the wire:
    /// decodable (Tomcat accepts it) but never encoded.
    pub headers: Vec<(RequestHeaderName, Option<Bytes>)>,
    /// Attributes in order, before the `FF` terminator.
    pub attributes: Vec<Attribute>,
}

impl Default for ForwardRequest {
    /// A `GET /` over `HTTP/1.1` with every other string empty-but-present except
    /// `remote_host` (null), port 80, no headers or attributes.
    fn default() -> Self {
        ForwardRequest {
            method: Method::Known(KnownMethod::Get),
            protocol: Some(Bytes::from_static(b"HTTP/1.1")),
            req_uri: Some(Bytes::from_static(b"/")),
            remote_addr: Some(Bytes::new()),
            remote_host: None,
            server_name: Some(Bytes::new()),
            server_port: 80,
            is_ssl: false,
            headers: Vec::new(),
            attributes: Vec::new(),
        }
    }
}

impl ForwardRequest {
    /// Sets the method from an HTTP method name: the code when it has one, otherwise
    /// [`Method::Stored`] plus an [`Attribute::StoredMethod`] carrying the name (any
    /// earlier stored-method attribute is removed).
    pub fn set_method_name(&mut self, name: &[u8]) {
        self.attributes
            .retain(|attribute| !matches!(attribute, Attribute::StoredMethod(_)));
        self.method = Method::from_name(name);
        if self.method == Method::Stored {
            self.attributes
                .push(Attribute::StoredMethod(Bytes::copy_from_slice(name)));
        }
    }

    /// The method name the container will see: the last stored-method attribute if any
    /// (Tomcat lets it override even a coded method), else the coded name.
    pub fn method_name(&self) -> Option<&[u8]> {
        let stored = self
            .attributes
            .iter()
            .rev()
            .find_map(|attribute| match attribute {
                Attribute::StoredMethod(name) => Some(&name[..]),
                _ => None,
            });
        stored.or_else(|| self.method.name().map(str::as_bytes))
    }

    /// Appends a header, coding its name when it has a request header code.
    pub fn push_header(&mut self, name: Bytes, value: Bytes) {
        self.headers
            .push((RequestHeaderName::from_name(name), Some(value)));
    }

    /// Values of every header called `name` (ASCII-case-insensitive; coded and string
    /// forms both match), in order.
    pub fn header_values<'a>(
        &'a self,
        name: &'a [u8],
    ) -> impl Iterator<Item = Option<&'a Bytes>> + 'a {
        self.headers
            .iter()
            .filter(move |(header, _)| header.is(name))
            .map(|(_, value)| value.as_ref())
    }

    /// What the Content-Length header(s) say, judged as Tomcat does (digits only,
    /// more than one is invalid).
    pub fn content_length(&self) -> ContentLength {
        ContentLength::judge(
            self.header_values(b"content-length")
                .map(|value| value.map(|value| &value[..])),
        )
    }

    /// The query string attribute (the last one wins, as in Tomcat).
    pub fn query_string(&self) -> Option<&Bytes> {
        self.attributes
            .iter()
            .rev()
            .find_map(|attribute| match attribute {
                Attribute::QueryString(query) => Some(query),
                _ => None,
            })
    }
}

/// Parses a non-empty run of ASCII digits into a u64; `None` on anything else or overflow.
fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |total, &byte| {
        if byte.is_ascii_digit() {
            total.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
        } else {
            None
        }
    })
}

/// A message from the proxy (web server) to the container; magic `12 34`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxyMessage {
    /// FORWARD_REQUEST (`02`).
    ForwardRequest(ForwardRequest),
    /// A request-body packet (no prefix code). Empty data is the end-of-body packet.
    Body(Bytes),
    /// CPING (`0A`).
    CPing,
    /// SHUTDOWN (`07`); Tomcat closes the connection on it.
    Shutdown,
    /// PING (`08`); Tomcat closes the connection on it.
    Ping,
}

impl ProxyMessage {
    /// The end-of-body packet (an empty body packet).
    pub const fn end_of_body() -> Self {
        ProxyMessage::Body(Bytes::new())
    }

    /// True for the end-of-body packet.
    pub fn is_end_of_body(&self) -> bool {
        matches!(self, ProxyMessage::Body(data) if data.is_empty())
    }
}

impl From<ForwardRequest> for ProxyMessage {
    fn from(request: ForwardRequest) -> Self {
        ProxyMessage::ForwardRequest(request)
    }
}

/// SEND_HEADERS (`04`): status and response headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SendHeaders {
    /// Numeric HTTP status.
    pub status: u16,
    /// Status message; Tomcat 10.1 sends the status as decimal text (`"200"`).
    pub status_msg: Option<Bytes>,
    /// Headers in order, duplicates kept (never merge Set-Cookie). A `None` value is a
    /// null string on the wire: decodable but never encoded.
    pub headers: Vec<(ResponseHeaderName, Option<Bytes>)>,
}

impl SendHeaders {
    /// Values of every header called `name` (ASCII-case-insensitive), in order.
    pub fn header_values<'a>(
        &'a self,
        name: &'a [u8],
    ) -> impl Iterator<Item = Option<&'a Bytes>> + 'a {
        self.headers
            .iter()
            .filter(move |(header, _)| header.is(name))
            .map(|(_, value)| value.as_ref())
    }
}

/// A message from the container to the proxy; magic `41 42` ("AB").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ContainerMessage {
    /// SEND_HEADERS (`04`).
    SendHeaders(SendHeaders),
    /// SEND_BODY_CHUNK (`03`): response body bytes; empty data is a flush request.
    SendBodyChunk(Bytes),
    /// GET_BODY_CHUNK (`06`): the container wants the next request-body packet.
    GetBodyChunk {
        /// How many body bytes the container asks for (Tomcat: packet size − 6).
        requested_len: u16,
    },
    /// END_RESPONSE (`05`): last message of a cycle.
    EndResponse {
        /// True when the container keeps the connection open for another request.
        reuse: bool,
    },
    /// CPONG (`09`), the answer to CPING.
    CPong,
}

impl ContainerMessage {
    /// The prefix code of this message.
    pub const fn code(&self) -> u8 {
        match self {
            ContainerMessage::SendHeaders(_) => CODE_SEND_HEADERS,
            ContainerMessage::SendBodyChunk(_) => CODE_SEND_BODY_CHUNK,
            ContainerMessage::GetBodyChunk { .. } => CODE_GET_BODY_CHUNK,
            ContainerMessage::EndResponse { .. } => CODE_END_RESPONSE,
            ContainerMessage::CPong => CODE_CPONG,
        }
    }
}

impl From<SendHeaders> for ContainerMessage {
    fn from(headers: SendHeaders) -> Self {
        ContainerMessage::SendHeaders(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_codes_and_names_agree_both_ways() {
        assert_eq!(KnownMethod::ALL.len(), 27);
        for (index, method) in KnownMethod::ALL.iter().enumerate() {
            assert_eq!(usize::from(method.code()), index + 1);
            assert_eq!(
                KnownMethod::from_name(method.name().as_bytes()),
                Some(*method)
            );
            assert_eq!(
                Method::from_code(method.code()),
                Some(Method::Known(*method))
            );
        }
        assert_eq!(Method::from_code(0), None);
        assert_eq!(Method::from_code(28), None);
        assert_eq!(Method::from_code(0xFF), Some(Method::Stored));
        assert_eq!(Method::from_name(b"PATCH"), Method::Stored);
        assert_eq!(Method::from_name(b"get"), Method::Stored);
        assert_eq!(Method::from_name(b"BASELINE-CONTROL").code(), 26);
    }

    #[test]
    fn request_header_codes_match_case_insensitively() {
        assert_eq!(RequestHeaderCode::ALL.len(), 14);
        assert_eq!(
            RequestHeaderCode::from_name(b"Content-Length"),
            Some(RequestHeaderCode::ContentLength)
        );
        assert_eq!(
            RequestHeaderName::from_name(Bytes::from_static(b"USER-AGENT")),
            RequestHeaderName::Coded(RequestHeaderCode::UserAgent)
        );
        assert_eq!(
            RequestHeaderName::from_name(Bytes::from_static(b"X-Req-Id")),
            RequestHeaderName::Named(Bytes::from_static(b"X-Req-Id"))
        );
        assert_eq!(RequestHeaderCode::from_code(0xA000), None);
        assert_eq!(RequestHeaderCode::from_code(0xA00F), None);
    }

    #[test]
    fn response_header_codes_match_exactly() {
        assert_eq!(ResponseHeaderCode::ALL.len(), 11);
        assert_eq!(
            ResponseHeaderCode::from_code(0xA007).map(|c| c.name()),
            Some("Set-Cookie")
        );
        assert_eq!(ResponseHeaderCode::from_name(b"content-type"), None);
        assert_eq!(
            ResponseHeaderCode::from_name(b"Content-Type"),
            Some(ResponseHeaderCode::ContentType)
        );
        assert_eq!(ResponseHeaderCode::from_code(0xA00C), None);
    }

    #[test]
    fn stored_method_round_trip_through_helpers() {
        let mut request = ForwardRequest::default();
        request.set_method_name(b"PATCH");
        assert_eq!(request.method, Method::Stored);
        assert_eq!(request.method_name(), Some(&b"PATCH"[..]));
        request.set_method_name(b"PUT");
        assert_eq!(request.method, Method::Known(KnownMethod::Put));
        assert!(request.attributes.is_empty());
        assert_eq!(request.method_name(), Some(&b"PUT"[..]));
    }

    #[test]
    fn content_length_is_judged_like_tomcat() {
        let mut request = ForwardRequest::default();
        assert_eq!(request.content_length(), ContentLength::Absent);
        request.push_header(
            Bytes::from_static(b"Content-Length"),
            Bytes::from_static(b"42"),
        );
        assert_eq!(request.content_length(), ContentLength::Length(42));
        request.headers.push((
            RequestHeaderName::Named(Bytes::from_static(b"content-length")),
            Some(Bytes::from_static(b"42")),
        ));
        assert_eq!(request.content_length(), ContentLength::Invalid);
        for bad in [&b""[..], b"+1", b" 1", b"1a", b"99999999999999999999999"] {
            let mut request = ForwardRequest::default();
            request.push_header(
                Bytes::from_static(b"content-length"),
                Bytes::copy_from_slice(bad),
            );
            assert_eq!(request.content_length(), ContentLength::Invalid, "{bad:?}");
        }
    }
}
