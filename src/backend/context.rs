//! What one client request carries to a worker, independent of the member.

use std::sync::Arc;

use bytes::Bytes;

use std::time::Duration;

use crate::ajp::{AttributeRef, ForwardRequestHead};
use crate::balancer::SharedName;
use crate::config::FailOnStatus;

/// Settings a mount rule overrides for the requests it maps (mod_jk's rule extensions,
/// `mod_jk.md` §6.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOverrides {
    /// `reply_timeout=`: replaces the worker's value; zero means no timeout.
    pub reply_timeout: Option<Duration>,
    /// `fail_on_status=`: replaces the worker's list.
    pub fail_on_status: Option<FailOnStatus>,
    /// `use_server_errors=`: statuses from this value up get jkgate's own error page
    /// (0 = off).
    pub use_server_errors: u16,
}

/// TLS facts of the client connection, forwarded only when jkgate terminated TLS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// Cipher suite name (attribute 0x08).
    pub cipher: Option<Bytes>,
    /// Session identifier (attribute 0x09).
    pub session_id: Option<Bytes>,
    /// Symmetric key size in bits (attribute 0x0B, a u16).
    pub key_size: Option<u16>,
    /// Client certificate chain as PEM, leaf first (attribute 0x07).
    pub client_cert: Option<Bytes>,
    /// Protocol version, e.g. `TLSv1.3` (req_attribute `AJP_SSL_PROTOCOL`).
    pub protocol: Option<Bytes>,
}

/// A request ready to be forwarded: the FORWARD_REQUEST's encoded head (everything but
/// the per-member attributes, which [`ForwardContext::attributes`] gives each attempt),
/// plus what the relay and the access log need.
#[derive(Debug, Clone)]
pub struct ForwardContext {
    /// Method, protocol, URI, addresses, server name/port, is_ssl and headers, encoded.
    pub head: ForwardRequestHead,
    /// The client's request target: its raw query string is attribute 0x05.
    pub uri: http::Uri,
    /// The Cookie header values, slices of `head`, in order (moved into the lb's facts).
    pub cookies: Vec<Bytes>,
    /// Method name when it has no AJP code (attribute 0x0D).
    pub stored_method: Option<Bytes>,
    /// Client port (`AJP_REMOTE_PORT`).
    pub remote_port: Bytes,
    /// Local address the client connected to (`AJP_LOCAL_ADDR`).
    pub local_addr: Bytes,
    /// TLS facts when the client leg is TLS.
    pub tls: Option<TlsInfo>,
    /// `JkEnvVar` attributes: fixed names from the configuration, never from the client.
    pub env_vars: Option<Arc<[(Bytes, Bytes)]>>,
    /// True for HEAD: response bodies are never relayed.
    pub is_head: bool,
    /// Route sent as attribute 0x06 (set by the lb on its first attempt).
    pub route: Option<SharedName>,
    /// The route of the member of the latest attempt (lb only): the route actually used,
    /// for the access log's `%R`.
    pub used_route: Option<SharedName>,
    /// The route of the first attempt's member (lb only): the session's sticky route, or
    /// the first member balanced to; the access log's `%F`.
    pub first_route: Option<SharedName>,
    /// `JK_LB_ACTIVATION` of the chosen member (`ACT` for direct workers).
    pub activation: &'static str,
    /// Session id the client sent (cookie or `;jsessionid=`), for the access log.
    pub session_id: Option<Bytes>,
    /// Name of the member of the latest attempt, for the access log.
    pub member: Option<Arc<str>>,
    /// What the mount rule overrides.
    pub overrides: RequestOverrides,
}

impl ForwardContext {
    /// [`ForwardContext::method_name`] as an owned text, copied only for a method AJP has
    /// no code for.
    pub fn method_text(&self) -> std::borrow::Cow<'static, str> {
        match (&self.stored_method, self.head.method().name()) {
            (None, Some(name)) => std::borrow::Cow::Borrowed(name),
            _ => std::borrow::Cow::Owned(self.method_name().to_owned()),
        }
    }

    /// The request method's name (`GET`, or the stored name such as `PATCH`).
    pub fn method_name(&self) -> &str {
        match &self.stored_method {
            Some(name) => std::str::from_utf8(name).unwrap_or(""),
            None => self.head.method().name().unwrap_or(""),
        }
    }

    /// The raw query string, as the client sent it.
    pub fn query(&self) -> Option<&[u8]> {
        self.uri.query().map(str::as_bytes)
    }

    /// The attributes of an attempt on a member with `secret`, in mod_jk's order
    /// (mod_jk.md §4.8), borrowed from the context: nothing is copied per attempt. They
    /// are gathered into an array first: the encoder walks them twice, and a chain of a
    /// dozen optional iterators walked the whole chain on every step.
    pub fn attributes<'a>(
        &'a self,
        secret: Option<&'a [u8]>,
    ) -> impl Iterator<Item = AttributeRef<'a>> + Clone + 'a {
        let mut fixed = [AttributeRef::SslKeySize(0); MAX_FIXED_ATTRIBUTES];
        let mut len = 0;
        let mut push = |attribute| {
            if let Some(slot) = fixed.get_mut(len) {
                *slot = attribute;
                len += 1;
            }
        };
        let tls = self.tls.as_ref();
        if let Some(secret) = secret {
            push(AttributeRef::Secret(secret));
        }
        if let Some(query) = self.query() {
            push(AttributeRef::QueryString(query));
        }
        if let Some(route) = &self.route {
            push(AttributeRef::Route(route.as_bytes()));
        }
        if let Some(tls) = tls {
            if let Some(cert) = &tls.client_cert {
                push(AttributeRef::SslCert(cert));
            }
            if let Some(cipher) = &tls.cipher {
                push(AttributeRef::SslCipher(cipher));
            }
            if let Some(session) = &tls.session_id {
                push(AttributeRef::SslSession(session));
            }
            if let Some(bits) = tls.key_size {
                push(AttributeRef::SslKeySize(bits));
            }
        }
        if let Some(method) = &self.stored_method {
            push(AttributeRef::StoredMethod(method));
        }
        if let Some(protocol) = tls.and_then(|t| t.protocol.as_deref()) {
            push(req_attribute("AJP_SSL_PROTOCOL", protocol));
        }
        push(req_attribute("AJP_REMOTE_PORT", &self.remote_port));
        push(req_attribute("AJP_LOCAL_ADDR", &self.local_addr));
        push(req_attribute(
            "JK_LB_ACTIVATION",
            self.activation.as_bytes(),
        ));
        fixed.into_iter().take(len).chain(
            self.env_vars
                .iter()
                .flat_map(|vars| vars.iter())
                .map(|(name, value)| AttributeRef::ReqAttribute { name, value }),
        )
    }
}

/// Attributes jkgate itself sets (all but `JkEnvVar`s): secret, query, route, four TLS
/// facts, stored method, and four request attributes.
const MAX_FIXED_ATTRIBUTES: usize = 12;

fn req_attribute<'a>(name: &'static str, value: &'a [u8]) -> AttributeRef<'a> {
    AttributeRef::ReqAttribute {
        name: name.as_bytes(),
        value,
    }
}
