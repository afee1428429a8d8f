//! HTTP request → FORWARD_REQUEST, as mod_jk fills it (mod_jk.md §4.8).

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, Version};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};

use crate::ajp::{
    EncodeError, ForwardRequestHeadBuilder, Method, RequestHeaderCode, RequestHeaderNameRef,
    RequestLine,
};
use crate::backend::{BodyKind, ForwardContext, TlsInfo};
use crate::balancer::{RequestFacts, session_id_list};
use crate::config::MountExtensions;
use crate::config::ini::JkOptions;
use crate::config::uriworkermap::{is_unsafe_path, normalize_path, resolve_dot_segments};
use crate::config::workers::{DEFAULT_SESSION_COOKIE, DEFAULT_SESSION_PATH};

/// Facts about the client connection, fixed for all its requests (the client's address may
/// be replaced per request by `RemoteIPHeader`, see [`ConnectionInfo::with_client`]).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// Client IP as text (`remote_addr`): the real client's when RemoteIP found it.
    pub remote_ip: Bytes,
    /// Client port as text (`AJP_REMOTE_PORT`).
    pub remote_port: Bytes,
    /// Local IP as text (`AJP_LOCAL_ADDR`).
    pub local_ip: Bytes,
    /// Local port the client connected to.
    pub local_port: u16,
    /// The local address the client connected to (which vhosts may answer; its IP is what
    /// `Require local` accepts besides loopback).
    pub local: std::net::SocketAddr,
    /// TLS facts when the connection is TLS.
    pub tls: Option<TlsInfo>,
    /// The client's address (access rules are checked against it).
    pub client: std::net::IpAddr,
    /// The connection's peer as text (the TCP peer, or the PROXY header's source):
    /// `ForwardPhysicalAddress` forwards it instead of the client found in a header.
    pub physical_ip: Bytes,
}

impl ConnectionInfo {
    /// Facts of a TCP connection between `remote` and `local`.
    pub fn new(
        remote: std::net::SocketAddr,
        local: std::net::SocketAddr,
        tls: Option<TlsInfo>,
    ) -> Self {
        let remote_ip = Bytes::from(remote.ip().to_string());
        ConnectionInfo {
            physical_ip: remote_ip.clone(),
            remote_ip,
            remote_port: Bytes::from(remote.port().to_string()),
            local_ip: Bytes::from(local.ip().to_string()),
            local_port: local.port(),
            local,
            tls,
            client: remote.ip(),
        }
    }

    /// The same connection with `client` as the client's address (RemoteIP); the port
    /// stays the peer's, as in mod_remoteip.
    pub fn with_client(&self, client: std::net::IpAddr) -> Self {
        ConnectionInfo {
            remote_ip: Bytes::from(client.to_string()),
            client,
            ..self.clone()
        }
    }
}

pub use crate::config::ini::ForwardUri;

/// A request that cannot be forwarded, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// HTTP status for the client.
    pub status: u16,
    /// Why, for the log.
    pub reason: String,
}

fn reject(status: u16, reason: impl Into<String>) -> Rejected {
    Rejected {
        status,
        reason: reason.into(),
    }
}

/// Percent-decodes a path; `None` for a malformed escape (httpd answers 400, where the
/// crate would keep the `%` as it is).
pub fn percent_decode(raw: &[u8]) -> Option<Cow<'_, [u8]>> {
    // Most paths have no escape at all: no copy, and nothing to check.
    if !raw.contains(&b'%') {
        return Some(Cow::Borrowed(raw));
    }
    let well_formed = raw.split(|&b| b == b'%').skip(1).all(|after| {
        after
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return None;
    }
    let mut decoded = Vec::with_capacity(raw.len());
    decoded.extend(percent_encoding::percent_decode(raw));
    Some(Cow::Owned(decoded))
}

/// What mod_jk's ForwardURIProxy escapes: all but ASCII letters, digits and
/// `~$-_.+!*'(),;:@&=/` (non-ASCII bytes are always escaped).
const PROXY_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'~')
    .remove(b'$')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'+')
    .remove(b'!')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b',')
    .remove(b';')
    .remove(b':')
    .remove(b'@')
    .remove(b'&')
    .remove(b'=')
    .remove(b'/');

/// The bytes of a plain path: those ForwardURIProxy leaves as they are, except `;` (mount
/// matching strips path parameters) and, by construction, `%` and `\\`.
const fn plain_path_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 128 {
        table[byte] = (byte as u8).is_ascii_alphanumeric();
        byte += 1;
    }
    let punctuation = b"~$-_.+!*'(),:@&=/";
    let mut at = 0;
    while at < punctuation.len() {
        table[punctuation[at] as usize] = true;
        at += 1;
    }
    table
}

static PLAIN_PATH_BYTE: [bool; 256] = plain_path_bytes();

/// True for a path that decoding, normalising, resolving, ForwardURIProxy's escaping and
/// the unsafe-path and forbidden-byte checks all leave as it is: it starts with `/`, holds
/// only plain bytes, and no `/` is followed by another `/` or by `.` (so it has no empty,
/// `.` or `..` segment). Most request paths are plain; for them one pass replaces the
/// half dozen the general steps make.
pub(crate) fn is_plain_path(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && path.iter().all(|&byte| PLAIN_PATH_BYTE[usize::from(byte)])
        && !path
            .windows(2)
            .any(|pair| pair[0] == b'/' && matches!(pair[1], b'/' | b'.'))
}

/// Re-encodes a decoded path the way mod_jk's ForwardURIProxy does.
pub fn proxy_encode(decoded: &[u8]) -> Bytes {
    Bytes::from(proxy_encoded(Cow::Borrowed(decoded)).into_owned())
}

/// [`proxy_encode`] that gives `decoded` back when nothing needs escaping.
fn proxy_encoded(decoded: Cow<'_, [u8]>) -> Cow<'_, [u8]> {
    // One borrowed piece is the input itself, unless the input is a single escaped byte.
    let escaped = match Cow::from(percent_encode(&decoded, PROXY_ESCAPED)) {
        Cow::Borrowed(piece) if piece.as_bytes() == &decoded[..] => None,
        piece => Some(piece.into_owned()),
    };
    escaped.map_or(decoded, |escaped| Cow::Owned(escaped.into_bytes()))
}

/// The path of a request, decoded and normalised for mount matching.
/// Borrows `raw_path` when decoding and normalising change nothing.
pub fn matching_path(raw_path: &str) -> Result<Cow<'_, [u8]>, Rejected> {
    if is_plain_path(raw_path.as_bytes()) {
        return Ok(Cow::Borrowed(raw_path.as_bytes()));
    }
    if !raw_path.starts_with('/') {
        return Err(reject(400, "request path does not start with /"));
    }
    let decoded = percent_decode(raw_path.as_bytes())
        .ok_or_else(|| reject(400, "malformed %-escape in path"))?;
    if forbidden(&decoded) {
        return Err(reject(400, "NUL, CR or LF in the decoded path"));
    }
    still_borrowed(decoded, normalize_path).map_err(|_| reject(400, "path climbs above the root"))
}

/// A path transformation that borrows its input when it changes nothing.
type PathStep<E> = for<'b> fn(&'b [u8]) -> Result<Cow<'b, [u8]>, E>;

/// `step` applied to `path`, borrowing from where `path` borrows when neither copied.
fn still_borrowed<E>(path: Cow<'_, [u8]>, step: PathStep<E>) -> Result<Cow<'_, [u8]>, E> {
    match path {
        Cow::Borrowed(path) => step(path),
        Cow::Owned(path) => step(&path).map(|done| Cow::Owned(done.into_owned())),
    }
}

/// The session id a request carries, as mod_jk finds it with the default names
/// (`;jsessionid=` path parameter first, then every `JSESSIONID` cookie): candidates
/// joined by `;`. lb workers look again with their own names.
pub fn request_session_id(raw_path: &str, headers: &HeaderMap) -> Option<Bytes> {
    session_id_list(
        raw_path.as_bytes(),
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
        DEFAULT_SESSION_PATH,
        DEFAULT_SESSION_COOKIE,
    )
    .map(Bytes::from)
}

/// What an lb worker needs to know of a request (its session id sources, method, body,
/// TLS) and of the mount rule that mapped it (mod_jk's rule extensions).
/// The context's Cookie values move into the facts.
pub fn request_facts(
    ctx: &mut ForwardContext,
    body: BodyKind,
    ext: &MountExtensions,
) -> RequestFacts {
    RequestFacts {
        method: ctx.method_text(),
        has_body: body != BodyKind::Empty,
        uri: ctx.head.share_req_uri(),
        // The forwarded request's Cookie values (slices of its encoded head), in order.
        cookies: std::mem::take(&mut ctx.cookies),
        secure: ctx.tls.is_some(),
        ..RequestFacts::for_mount(ext)
    }
}

fn protocol_name(version: Version) -> &'static [u8] {
    match version {
        Version::HTTP_09 => b"HTTP/0.9",
        Version::HTTP_10 => b"HTTP/1.0",
        Version::HTTP_2 => b"HTTP/2.0",
        Version::HTTP_3 => b"HTTP/3.0",
        _ => b"HTTP/1.1",
    }
}

fn forbidden(bytes: &[u8]) -> bool {
    // (memchr3: cookie values run to hundreds of bytes, and this looks at every one.)
    memchr::memchr3(0, b'\r', b'\n', bytes).is_some()
}

/// The path httpd hands mod_jk (its `r->uri`): percent-decoded, an encoded slash refused
/// with 404 (httpd's default `AllowEncodedSlashes Off`), `//` merged, `.` and `..` segments
/// resolved (`..` above the root is 400). Path parameters stay (`;jsessionid=` reaches
/// Tomcat), unlike the copy mounts are matched against.
/// Borrows `raw_path` when decoding and resolving change nothing.
pub fn httpd_path(raw_path: &str) -> Result<Cow<'_, [u8]>, Rejected> {
    let raw = raw_path.as_bytes();
    if raw
        .windows(3)
        .any(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
    {
        return Err(reject(404, "encoded slash (%2F) in the path"));
    }
    let decoded = percent_decode(raw).ok_or_else(|| reject(400, "malformed %-escape in path"))?;
    still_borrowed(decoded, resolve_dot_segments).map_err(|e| reject(400, e.to_string()))
}

/// Settings of the mapping that come from the configuration.
#[derive(Debug, Clone, Default)]
pub struct MappingOptions {
    /// `JkOptions`: ForwardURI mode, RejectUnsafeURI, ForwardLocalAddress, ForwardKeySize,
    /// ForwardSSLCertChain. (FlushHeader and FlushPackets need nothing: the relay never
    /// holds response bytes back while it waits for the member.)
    pub jk: JkOptions,
    /// `JkEnvVar` attributes (fixed names and values).
    pub env_vars: Arc<[(Bytes, Bytes)]>,
}

/// The TLS facts forwarded under `options`: without `ForwardKeySize` no key size, without
/// `ForwardSSLCertChain` only the client's own certificate (the first PEM block), as
/// mod_jk sends them.
fn forwarded_tls(tls: &TlsInfo, options: &JkOptions) -> TlsInfo {
    let mut tls = tls.clone();
    if !options.forward_key_size {
        tls.key_size = None;
    }
    if !options.forward_ssl_cert_chain
        && let Some(chain) = &tls.client_cert
    {
        const END: &[u8] = b"-----END CERTIFICATE-----";
        if let Some(at) = chain.windows(END.len()).position(|w| w == END) {
            let mut end = at + END.len();
            if chain.get(end) == Some(&b'\n') {
                end += 1;
            }
            tls.client_cert = Some(chain.slice(..end));
        }
    }
    tls
}

/// Builds the forwarding context and the body kind of a request.
pub fn build_context(
    parts: &Parts,
    body_is_end: bool,
    conn: &ConnectionInfo,
    options: &MappingOptions,
) -> Result<(ForwardContext, BodyKind), Rejected> {
    let method_name = parts.method.as_str().as_bytes();
    // jkgate is no forward proxy and AJP has no tunnel: a CONNECT never reaches a member
    // (hyper would turn the connection into a raw tunnel after a 2xx answer).
    if parts.method == http::Method::CONNECT {
        return Err(reject(400, "CONNECT is not relayed"));
    }
    if forbidden(method_name) {
        return Err(reject(400, "forbidden byte in method"));
    }
    let method = Method::from_name(method_name);
    let stored_method = (method == Method::Stored).then(|| Bytes::copy_from_slice(method_name));

    let raw_path = parts.uri.path();
    let plain = is_plain_path(raw_path.as_bytes());
    if options.jk.reject_unsafe_uri && !plain {
        // mod_jk: a decoded, normalised path with `%` or `\` is not mapped (404).
        let unsafe_path = percent_decode(raw_path.as_bytes())
            .and_then(|decoded| still_borrowed(decoded, normalize_path).ok())
            .is_none_or(|path| is_unsafe_path(&path));
        if unsafe_path {
            return Err(reject(
                404,
                "RejectUnsafeURI: `%` or `\\` in the decoded path",
            ));
        }
    }
    let req_uri: Cow<'_, [u8]> = match options.jk.forward_uri {
        // Every mode forwards a plain path as it came.
        _ if plain => Cow::Borrowed(raw_path.as_bytes()),
        ForwardUri::CompatUnparsed => Cow::Borrowed(raw_path.as_bytes()),
        ForwardUri::Compat => httpd_path(raw_path)?,
        // Escaped re-escapes like Proxy here; both never forward a raw `%`-byte.
        ForwardUri::Proxy | ForwardUri::Escaped => proxy_encoded(httpd_path(raw_path)?),
    };
    if !plain && forbidden(&req_uri) {
        return Err(reject(400, "forbidden byte in path"));
    }
    let query = parts.uri.query().map(str::as_bytes);
    if query.is_some_and(forbidden) {
        return Err(reject(400, "forbidden byte in query"));
    }

    // Absolute-form (`GET http://name:port/path HTTP/1.1`): the target's authority is the
    // host, whatever a Host header says (RFC 9112 §3.2.2), as httpd takes it.
    let absolute_authority = (parts.version < Version::HTTP_2)
        .then(|| parts.uri.authority())
        .flatten()
        .map(|authority| authority.as_str().as_bytes());
    // One pass over the headers: the framing headers and the first Host header met on the
    // way (a map lookup per name would hash again), the size counted. No byte is checked
    // here: a `HeaderValue` holds no NUL, CR or LF (hyper's parser and `http`'s constructors
    // refuse them), and the FORWARD_REQUEST builder below checks every value it writes again
    // (a 400 if one ever did).
    let mut headers_len = 0;
    let mut host_header = None;
    let mut length_header = None;
    let mut length_headers = 0;
    let mut chunked = false;
    for (name, value) in &parts.headers {
        if *name == http::header::HOST {
            host_header = host_header.or(Some(value.as_bytes()));
        } else if *name == http::header::CONTENT_LENGTH {
            length_headers += 1;
            length_header = length_header.or(Some(value.as_bytes()));
        } else if *name == http::header::TRANSFER_ENCODING {
            chunked |= value
                .as_bytes()
                .windows(7)
                .any(|w| w.eq_ignore_ascii_case(b"chunked"));
        }
        headers_len += name.as_str().len() + value.len() + 6;
    }
    // Content-Length: at most one value, digits only (Tomcat answers 400 otherwise).
    let content_length = match length_header {
        None => None,
        Some(_) if length_headers > 1 => {
            return Err(reject(400, "several Content-Length headers"));
        }
        Some(v) => {
            if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
                return Err(reject(400, "invalid Content-Length"));
            }
            Some(
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| reject(400, "invalid Content-Length"))?,
            )
        }
    };
    let kind = if chunked {
        BodyKind::Chunked
    } else {
        match content_length {
            Some(0) => BodyKind::Empty,
            Some(n) => BodyKind::Length(n),
            None if body_is_end => BodyKind::Empty,
            None => BodyKind::Chunked,
        }
    };
    let forwarded = |name: &http::HeaderName| {
        !(name == http::header::HOST && absolute_authority.is_some()
            || chunked && name == http::header::CONTENT_LENGTH)
    };
    // The host the member is told about: the absolute form's, the first Host header's, or
    // HTTP/2's :authority; and the one header carrying it when the Host headers do not.
    let (host, added_host) = match (absolute_authority, host_header) {
        (Some(authority), _) => (Some(authority), Some(authority)),
        (None, Some(header)) => (Some(header), None),
        (None, None) => {
            let authority = parts.uri.authority().map(|a| a.as_str().as_bytes());
            (authority, authority)
        }
    };
    let (server_name, server_port) = match host {
        Some(host) => split_host(host, conn.local_port),
        None => (&conn.local_ip[..], conn.local_port),
    };
    // ForwardLocalAddress: the server's own address stands in for the client's;
    // ForwardPhysicalAddress: the connection's peer, not the client a header named.
    let remote_addr = if options.jk.forward_local_address {
        &conn.local_ip
    } else if options.jk.forward_physical_address {
        &conn.physical_ip
    } else {
        &conn.remote_ip
    };
    // The member-independent part of the FORWARD_REQUEST is encoded here, once: every
    // attempt (a retry on another member too) frames these bytes with its attributes.
    let line = RequestLine {
        method,
        protocol: protocol_name(parts.version),
        req_uri: &req_uri,
        remote_addr: Some(remote_addr),
        remote_host: None,
        server_name: Some(server_name),
        server_port,
        is_ssl: conn.tls.is_some(),
    };
    // What AJP cannot carry: too long for its strings (413, as a request over one packet
    // is answered), or a byte it forbids (400; checked above already).
    let unencodable = |err: EncodeError| {
        let status = match err {
            EncodeError::StringTooLong { .. } | EncodeError::TooLarge { .. } => 413,
            _ => 400,
        };
        reject(status, format!("request does not fit AJP: {err}"))
    };
    let mut head = ForwardRequestHeadBuilder::new(&line, headers_len).map_err(unencodable)?;
    let mut cookie_fields = Vec::new();
    for (name, value) in parts.headers.iter().filter(|(name, _)| forwarded(name)) {
        let name = RequestHeaderNameRef::from_name(name.as_str().as_bytes());
        let at = head.header(name, value.as_bytes()).map_err(unencodable)?;
        if name == RequestHeaderNameRef::Coded(RequestHeaderCode::Cookie) {
            cookie_fields.push(at);
        }
    }
    if let Some(host) = added_host {
        head.header(RequestHeaderNameRef::Coded(RequestHeaderCode::Host), host)
            .map_err(unencodable)?;
    }
    if kind == BodyKind::Empty && content_length.is_none() {
        head.header(
            RequestHeaderNameRef::Coded(RequestHeaderCode::ContentLength),
            b"0",
        )
        .map_err(unencodable)?;
    }
    let head = head.finish();
    let cookies = cookie_fields
        .into_iter()
        .map(|field| head.share(field))
        .collect();

    let ctx = ForwardContext {
        head,
        uri: parts.uri.clone(),
        cookies,
        stored_method,
        remote_port: if options.jk.forward_local_address {
            Bytes::from_static(b"0")
        } else {
            conn.remote_port.clone()
        },
        local_addr: conn.local_ip.clone(),
        tls: conn.tls.as_ref().map(|tls| forwarded_tls(tls, &options.jk)),
        // (No reference taken on the shared list when it is empty, as it mostly is.)
        env_vars: (!options.env_vars.is_empty()).then(|| options.env_vars.clone()),
        is_head: parts.method == http::Method::HEAD,
        route: None,
        used_route: None,
        first_route: None,
        activation: "ACT",
        // Only the access log reads it (lb workers extract it with their own names).
        session_id: if crate::server::access_log::enabled() {
            request_session_id(raw_path, &parts.headers)
        } else {
            None
        },
        member: None,
        overrides: Default::default(),
    };
    Ok((ctx, kind))
}

/// Host header → (server name, server port): the port from the header when it
/// has one, else the local port (httpd's `UseCanonicalName Off`).
pub(crate) fn split_host(host: &[u8], local_port: u16) -> (&[u8], u16) {
    let (name, port) = if host.starts_with(b"[") {
        match host.iter().position(|&b| b == b']') {
            Some(end) => (
                &host[..=end],
                host.get(end + 1..).and_then(|r| r.strip_prefix(b":")),
            ),
            None => (host, None),
        }
    } else {
        match host.iter().rposition(|&b| b == b':') {
            Some(colon) => (&host[..colon], Some(&host[colon + 1..])),
            None => (host, None),
        }
    };
    let port = port
        .and_then(|p| std::str::from_utf8(p).ok())
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(local_port);
    (name, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request head as hyper hands it over.
    fn request_parts(method: &str, uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).expect("request").into_parts().0
    }

    /// The FORWARD_REQUEST an attempt sends for `ctx` (no secret), as Tomcat decodes it.
    fn forwarded(ctx: &ForwardContext) -> crate::ajp::ForwardRequest {
        let mut wire = bytes::BytesMut::new();
        crate::ajp::encode_forward_request_from_head(
            &ctx.head,
            ctx.attributes(None),
            crate::ajp::PacketSize::MAX,
            &mut wire,
        )
        .expect("encodable");
        let options = crate::ajp::DecodeOptions {
            packet_size: crate::ajp::PacketSize::MAX,
            ..Default::default()
        };
        match crate::ajp::decode_proxy_message_from(&mut wire, Default::default(), &options) {
            Ok(Some(decoded)) => match decoded.message {
                crate::ajp::ProxyMessage::ForwardRequest(request) => request,
                other => panic!("not a FORWARD_REQUEST: {other:?}"),
            },
            other => panic!("undecodable: {other:?}"),
        }
    }

    /// A plain-HTTP connection from 192.0.2.1:4000 to 127.0.0.1:80.
    fn plain_connection() -> ConnectionInfo {
        ConnectionInfo::new(
            "192.0.2.1:4000".parse().expect("addr"),
            "127.0.0.1:80".parse().expect("addr"),
            None,
        )
    }

    /// `build_context` for a request on a plain connection whose body has ended, with the
    /// default options.
    fn mapped(method: &str, uri: &str, headers: &[(&str, &str)]) -> (ForwardContext, BodyKind) {
        let parts = request_parts(method, uri, headers);
        build_context(
            &parts,
            true,
            &plain_connection(),
            &MappingOptions::default(),
        )
        .expect("mapped")
    }

    /// What the general steps of the mapping make of a path, without the plain-path
    /// shortcut.
    #[derive(Debug, PartialEq)]
    struct GeneralSteps {
        matching: Option<Vec<u8>>,
        httpd: Option<Vec<u8>>,
        proxy: Option<Vec<u8>>,
        unsafe_path: bool,
        forbidden: bool,
    }

    fn general_steps(raw: &str) -> GeneralSteps {
        let matching = percent_decode(raw.as_bytes())
            .filter(|d| !forbidden(d))
            .and_then(|d| normalize_path(&d).ok().map(Cow::into_owned));
        let escaped_slash = raw.to_ascii_lowercase().contains("%2f");
        let httpd = percent_decode(raw.as_bytes())
            .filter(|_| !escaped_slash)
            .and_then(|d| resolve_dot_segments(&d).ok().map(Cow::into_owned));
        let proxy = httpd.as_deref().map(|h| proxy_encode(h).to_vec());
        GeneralSteps {
            unsafe_path: matching.as_deref().is_none_or(is_unsafe_path),
            forbidden: forbidden(raw.as_bytes()),
            matching,
            httpd,
            proxy,
        }
    }

    /// A plain path is what every general step gives back unchanged.
    fn assert_plain_is_unchanged(raw: &str) {
        if is_plain_path(raw.as_bytes()) {
            let same = Some(raw.as_bytes().to_vec());
            let unchanged = GeneralSteps {
                matching: same.clone(),
                httpd: same.clone(),
                proxy: same,
                unsafe_path: false,
                forbidden: false,
            };
            assert_eq!(general_steps(raw), unchanged, "{raw:?}");
        }
    }

    #[test]
    fn plain_paths_are_left_unchanged_by_every_step() {
        let table = [
            ("/", true),
            ("/app/static/1k.bin", true),
            ("/app/", true),
            ("/a-b_c~d/e.f/g+h!i*j'k(l)m,n:o@p&q=r$s", true),
            ("/a.b/c..d/e.", true),
            ("app", false),
            ("", false),
            ("//app", false),
            ("/app//x", false),
            ("/./x", false),
            ("/a/../x", false),
            ("/a/..", false),
            ("/.well-known/x", false),
            ("/app;jsessionid=A.n1/x", false),
            ("/a%20b", false),
            ("/a b", false),
            ("/a\\b", false),
            ("/a\u{e9}", false),
            ("/a\"b", false),
            ("/a<b>", false),
        ];
        for (raw, plain) in table {
            assert_eq!(is_plain_path(raw.as_bytes()), plain, "{raw:?}");
            assert_plain_is_unchanged(raw);
        }
        // Every single byte after `/x`: plain exactly when ForwardURIProxy keeps it and it
        // is neither `;` nor `%`.
        for byte in 0..=u8::MAX {
            let path = [b'/', b'x', byte];
            let kept = proxy_encode(&path[..]) == path[..];
            assert_eq!(
                is_plain_path(&path),
                kept && byte != b';',
                "byte {byte:#04x}"
            );
        }
    }

    proptest::proptest! {
        /// Paths from an alphabet of the bytes every step looks at.
        #[test]
        fn the_plain_path_shortcut_agrees_with_the_general_steps(
            raw in "[/a.;%2Fb\\\\ ~é]{0,12}"
        ) {
            assert_plain_is_unchanged(&raw);
        }
    }

    #[test]
    fn proxy_encoding_matches_mod_jk() {
        let decoded = percent_decode(b"/a%7Eb%3Bc%3D%2B %25%3F%c3%a9/x").expect("valid");
        assert_eq!(&proxy_encode(&decoded)[..], b"/a~b;c=+%20%25%3F%C3%A9/x");
        // A lone escaped byte is one piece of the encoder's output too.
        assert_eq!(&proxy_encode(b"\xe9")[..], b"%E9");
        assert_eq!(&proxy_encode(b" ")[..], b"%20");
        assert_eq!(&proxy_encode(b"")[..], b"");
        // Every byte: kept as it is or escaped with upper-case hex, as mod_jk does.
        let every_byte: Vec<u8> = (0..=255).collect();
        let expected: String = every_byte
            .iter()
            .map(|&b| {
                if b.is_ascii_alphanumeric() || b"~$-_.+!*'(),;:@&=/".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        assert_eq!(&proxy_encode(&every_byte)[..], expected.as_bytes());
    }

    #[test]
    fn percent_decoding_refuses_malformed_escapes() {
        assert_eq!(percent_decode(b"/a%41%2f").as_deref(), Some(&b"/aA/"[..]));
        assert_eq!(percent_decode(b"/a%4"), None);
        assert_eq!(percent_decode(b"/a%"), None);
        assert_eq!(percent_decode(b"/a%%41"), None);
        assert_eq!(percent_decode(b"/a%4%41"), None);
        assert_eq!(percent_decode(b"/a%g1"), None);
        assert_eq!(
            percent_decode(b"/a%C3%A9").as_deref(),
            Some("/aé".as_bytes())
        );
        assert!(matches!(
            percent_decode(b"/plain/path"),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn normalisation_for_matching() {
        let n = |p: &str| {
            matching_path(p)
                .ok()
                .map(|v| String::from_utf8(v.into_owned()).expect("utf8"))
        };
        assert_eq!(n("/a//b/./c/../d").as_deref(), Some("/a/b/d"));
        assert_eq!(n("/app;jsessionid=x/echo").as_deref(), Some("/app/echo"));
        assert_eq!(n("/app/").as_deref(), Some("/app/"));
        assert_eq!(n("/../etc"), None);
        assert_eq!(n("/").as_deref(), Some("/"));
    }

    #[test]
    fn tls_facts_follow_forward_key_size_and_forward_ssl_cert_chain() {
        let chain = "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n\
                     -----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
        let tls = TlsInfo {
            key_size: Some(256),
            client_cert: Some(Bytes::from(chain)),
            ..TlsInfo::default()
        };
        let defaults = forwarded_tls(&tls, &JkOptions::default());
        assert_eq!(defaults.key_size, Some(256));
        assert_eq!(
            defaults.client_cert.as_deref(),
            Some(&b"-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n"[..])
        );
        let options = JkOptions {
            forward_key_size: false,
            forward_ssl_cert_chain: true,
            ..JkOptions::default()
        };
        let all = forwarded_tls(&tls, &options);
        assert_eq!(all.key_size, None);
        assert_eq!(all.client_cert.as_deref(), Some(chain.as_bytes()));
    }

    #[test]
    fn the_forwarded_path_is_cleaned_as_httpd_cleans_it() {
        let p =
            |raw: &str| httpd_path(raw).map(|v| String::from_utf8(v.into_owned()).expect("utf8"));
        assert_eq!(p("/app/../x").as_deref(), Ok("/x"));
        assert_eq!(p("/app/%2e%2e/x").as_deref(), Ok("/x"));
        assert_eq!(p("/a//b/./c/").as_deref(), Ok("/a/b/c/"));
        assert_eq!(p("/a/b/..").as_deref(), Ok("/a/"));
        assert_eq!(
            p("/app;jsessionid=X/e").as_deref(),
            Ok("/app;jsessionid=X/e")
        );
        assert_eq!(p("/a%20b/%C3%A9").as_deref(), Ok("/a b/é"));
        assert_eq!(p("/").as_deref(), Ok("/"));
        assert_eq!(p("/a/%2Fb").map_err(|r| r.status), Err(404));
        assert_eq!(p("/a/%2fb").map_err(|r| r.status), Err(404));
        assert_eq!(p("/../x").map_err(|r| r.status), Err(400));
        assert_eq!(p("/a%zz").map_err(|r| r.status), Err(400));
    }

    /// Ghostcat (CVE-2020-1938) set `javax.servlet.include.*` as AJP attributes; no header a
    /// client sends, whatever its name, becomes an attribute: the attributes are the same
    /// with and without such headers, and every one of them is jkgate's own.
    #[test]
    fn client_headers_never_become_attributes() {
        let conn = plain_connection();
        let options = MappingOptions {
            env_vars: Arc::from(vec![(
                Bytes::from_static(b"SITE"),
                Bytes::from_static(b"blue"),
            )]),
            ..MappingOptions::default()
        };
        let attributes = |hostile: &[(&str, &str)]| {
            let headers: Vec<_> = [("host", "h")].iter().chain(hostile).copied().collect();
            let parts = request_parts("GET", "/app/x?q=1", &headers);
            let (ctx, _) = build_context(&parts, true, &conn, &options).expect("mapped");
            let request = forwarded(&ctx);
            (request.attributes, request.headers.len())
        };
        let (plain, plain_headers) = attributes(&[]);
        let hostile = [
            ("javax.servlet.include.request_uri", "/WEB-INF/web.xml"),
            ("javax.servlet.include.servlet_path", "/WEB-INF/web.xml"),
            ("jakarta.servlet.include.request_uri", "/"),
            ("AJP_REMOTE_PORT", "1"),
            ("AJP_LOCAL_ADDR", "6.6.6.6"),
            ("AJP_SSL_PROTOCOL", "SSLv2"),
            ("JK_LB_ACTIVATION", "DIS"),
            ("SITE", "red"),
            ("SSL_CLIENT_CERT", "x"),
            ("req_attribute", "x"),
            ("secret", "x"),
            ("query_string", "x"),
            ("route", "x"),
        ];
        let (with_hostile, hostile_headers) = attributes(&hostile);
        assert_eq!(plain, with_hostile, "client headers changed the attributes");
        assert_eq!(
            hostile_headers,
            plain_headers + hostile.len(),
            "they stay headers"
        );
        let names: Vec<&[u8]> = plain
            .iter()
            .filter_map(|a| match a {
                crate::ajp::Attribute::ReqAttribute { name, .. } => Some(&name[..]),
                _ => None,
            })
            .collect();
        assert_eq!(
            names,
            [
                &b"AJP_REMOTE_PORT"[..],
                b"AJP_LOCAL_ADDR",
                b"JK_LB_ACTIVATION",
                b"SITE"
            ]
        );
    }

    #[test]
    fn the_lb_facts_share_the_forwarded_path_and_cookies() {
        let (mut ctx, kind) = mapped(
            "GET",
            "/app;jsessionid=A.n1/x?q=1",
            &[
                ("host", "x"),
                ("cookie", "a=1; JSESSIONID=B.n2"),
                ("x-other", "y"),
                ("cookie", "JSESSIONID=C.n3"),
            ],
        );
        let facts = request_facts(&mut ctx, kind, &MountExtensions::default());
        assert_eq!(&facts.uri[..], b"/app;jsessionid=A.n1/x");
        assert_eq!(facts.cookies, ["a=1; JSESSIONID=B.n2", "JSESSIONID=C.n3"]);
        // Slices of the forwarded request's encoded head, not copies.
        let head = ctx.head.as_bytes().as_ptr_range();
        assert_eq!(facts.uri.as_ptr(), ctx.head.req_uri().as_ptr());
        for cookie in &facts.cookies {
            assert!(head.contains(&cookie.as_ptr()), "a cookie copied");
        }
    }

    #[test]
    fn an_absolute_form_target_names_the_host() {
        let (ctx, _) = mapped("GET", "http://other.example:8123/app/x", &[("host", "x")]);
        let request = forwarded(&ctx);
        assert_eq!(request.server_name.as_deref(), Some(&b"other.example"[..]));
        assert_eq!(request.server_port, 8123);
        let hosts: Vec<&[u8]> = request
            .headers
            .iter()
            .filter(|(name, _)| name.is(b"host"))
            .filter_map(|(_, value)| value.as_deref())
            .collect();
        assert_eq!(
            hosts,
            [&b"other.example:8123"[..]],
            "one Host, the target's"
        );
    }

    #[test]
    fn the_first_host_header_names_the_server() {
        let (ctx, _) = mapped(
            "GET",
            "/app/x",
            &[
                ("x-a", "1"),
                ("host", "first.example:81"),
                ("host", "second.example:82"),
            ],
        );
        let request = forwarded(&ctx);
        assert_eq!(request.server_name.as_deref(), Some(&b"first.example"[..]));
        assert_eq!(request.server_port, 81);
    }

    #[test]
    fn the_body_framing_comes_from_one_content_length_or_a_chunked_coding() {
        use crate::ajp::{RequestHeaderCode, RequestHeaderName};
        struct Case {
            headers: &'static [(&'static str, &'static str)],
            end_of_stream: bool,
            /// The framing, or the reason of a 400.
            framing: Result<BodyKind, &'static str>,
            /// The Content-Length the member is told: 0 for a request without a body,
            /// as mod_jk tells it.
            told: Option<&'static str>,
        }
        let case = |headers, end_of_stream, framing, told| Case {
            headers,
            end_of_stream,
            framing,
            told,
        };
        let cases = [
            case(&[], true, Ok(BodyKind::Empty), Some("0")),
            case(&[], false, Ok(BodyKind::Chunked), None),
            case(
                &[("content-length", "0")],
                true,
                Ok(BodyKind::Empty),
                Some("0"),
            ),
            case(
                &[("content-length", "12")],
                false,
                Ok(BodyKind::Length(12)),
                Some("12"),
            ),
            case(
                &[
                    ("transfer-encoding", "gzip, CHUNKED"),
                    ("content-length", "12"),
                ],
                false,
                Ok(BodyKind::Chunked),
                None,
            ),
            case(
                &[
                    ("content-length", "12"),
                    ("x-a", "1"),
                    ("content-length", "12"),
                ],
                false,
                Err("several Content-Length headers"),
                None,
            ),
            case(
                &[("content-length", "1x")],
                false,
                Err("invalid Content-Length"),
                None,
            ),
            case(
                &[("content-length", "")],
                false,
                Err("invalid Content-Length"),
                None,
            ),
            case(
                &[("content-length", "99999999999999999999")],
                false,
                Err("invalid Content-Length"),
                None,
            ),
        ];
        let conn = plain_connection();
        for Case {
            headers,
            end_of_stream,
            framing,
            told,
        } in cases
        {
            let parts = request_parts("POST", "/app/x", headers);
            let built = build_context(&parts, end_of_stream, &conn, &MappingOptions::default());
            match (built, framing) {
                (Ok((ctx, kind)), Ok(want)) => {
                    assert_eq!(kind, want, "{headers:?}");
                    let request = forwarded(&ctx);
                    let length = request.headers.iter().find_map(|(name, value)| {
                        (*name == RequestHeaderName::Coded(RequestHeaderCode::ContentLength))
                            .then(|| value.clone().unwrap_or_default())
                    });
                    assert_eq!(length.as_deref(), told.map(str::as_bytes), "{headers:?}");
                }
                (Err(rejected), Err(reason)) => {
                    assert_eq!((rejected.status, rejected.reason.as_str()), (400, reason));
                }
                (got, want) => panic!("{headers:?}: {:?} where {want:?} was due", got.map(|r| r.1)),
            }
        }
    }

    #[test]
    fn connect_is_never_relayed() {
        let conn = plain_connection();
        for target in ["/app/x", "127.0.0.1:22"] {
            let parts = request_parts("CONNECT", target, &[]);
            let refused = build_context(&parts, true, &conn, &MappingOptions::default())
                .expect_err("CONNECT refused");
            assert_eq!(refused.status, 400, "{target}");
        }
    }

    #[test]
    fn a_path_that_needs_no_change_is_borrowed_not_copied() {
        // (path, borrowed by matching_path, borrowed by httpd_path)
        let cases = [
            ("/app/x", true, true),
            ("/app/x/", true, true),
            ("/app;jsessionid=A.n1/x", false, true),
            ("/app/%41", false, false),
            ("/app//x", false, false),
            ("/app/./x", false, false),
        ];
        for (path, matching, httpd) in cases {
            let borrowed = |p: &Cow<'_, [u8]>| matches!(p, Cow::Borrowed(_));
            assert_eq!(
                borrowed(&matching_path(path).expect("valid")),
                matching,
                "{path}"
            );
            assert_eq!(borrowed(&httpd_path(path).expect("valid")), httpd, "{path}");
        }
    }

    #[test]
    fn malformed_escapes_are_rejected() {
        assert!(matching_path("/a%zz").is_err());
        assert!(matching_path("/a%0d%0a").is_err());
        assert!(matching_path("/a%00").is_err());
        assert_eq!(matching_path("/app/x").expect("ok").as_ref(), b"/app/x");
    }
}
