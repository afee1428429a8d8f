//! What one client request carries to a worker, independent of the member.

use std::sync::Arc;

use bytes::Bytes;

use std::time::Duration;

use crate::ajp::{Attribute, ForwardRequest};
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

/// A request ready to be forwarded: the FORWARD_REQUEST without the per-member
/// attributes, plus what the relay and the access log need.
#[derive(Debug, Clone)]
pub struct ForwardContext {
    /// Method, protocol, URI, addresses, server name/port, is_ssl and headers.
    /// Its `attributes` are rebuilt for every attempt by [`ForwardContext::build_attributes`].
    pub request: ForwardRequest,
    /// Raw query string (attribute 0x05).
    pub query: Option<Bytes>,
    /// Method name when it has no AJP code (attribute 0x0D).
    pub stored_method: Option<Bytes>,
    /// Client port (`AJP_REMOTE_PORT`).
    pub remote_port: Bytes,
    /// Local address the client connected to (`AJP_LOCAL_ADDR`).
    pub local_addr: Bytes,
    /// TLS facts when the client leg is TLS.
    pub tls: Option<TlsInfo>,
    /// `JkEnvVar` attributes: fixed names from the configuration, never from the client.
    pub env_vars: Arc<[(Bytes, Bytes)]>,
    /// True for HEAD: response bodies are never relayed.
    pub is_head: bool,
    /// Route sent as attribute 0x06 (set by the lb on its first attempt).
    pub route: Option<Bytes>,
    /// The route of the member of the latest attempt (lb only): the route actually used,
    /// for the access log's `%R`.
    pub used_route: Option<Bytes>,
    /// The route of the first attempt's member (lb only): the session's sticky route, or
    /// the first member balanced to; the access log's `%F`.
    pub first_route: Option<Bytes>,
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
        match (&self.stored_method, self.request.method.name()) {
            (None, Some(name)) => std::borrow::Cow::Borrowed(name),
            _ => std::borrow::Cow::Owned(self.method_name().to_owned()),
        }
    }

    /// The request method's name (`GET`, or the stored name such as `PATCH`).
    pub fn method_name(&self) -> &str {
        match &self.stored_method {
            Some(name) => std::str::from_utf8(name).unwrap_or(""),
            None => self.request.method.name().unwrap_or(""),
        }
    }

    /// Rebuilds `request.attributes` for an attempt on a member with `secret`, in
    /// mod_jk's order (mod_jk.md §4.8).
    pub fn build_attributes(&mut self, secret: Option<&Bytes>) {
        let attributes = &mut self.request.attributes;
        attributes.clear();
        if let Some(secret) = secret {
            attributes.push(Attribute::Secret(secret.clone()));
        }
        if let Some(query) = &self.query {
            attributes.push(Attribute::QueryString(query.clone()));
        }
        if let Some(route) = &self.route {
            attributes.push(Attribute::Route(route.clone()));
        }
        if let Some(tls) = &self.tls {
            if let Some(cert) = &tls.client_cert {
                attributes.push(Attribute::SslCert(cert.clone()));
            }
            if let Some(cipher) = &tls.cipher {
                attributes.push(Attribute::SslCipher(cipher.clone()));
            }
            if let Some(session) = &tls.session_id {
                attributes.push(Attribute::SslSession(session.clone()));
            }
            if let Some(bits) = tls.key_size {
                attributes.push(Attribute::SslKeySize(bits));
            }
        }
        if let Some(method) = &self.stored_method {
            attributes.push(Attribute::StoredMethod(method.clone()));
        }
        if let Some(protocol) = self.tls.as_ref().and_then(|t| t.protocol.clone()) {
            attributes.push(req_attribute("AJP_SSL_PROTOCOL", protocol));
        }
        attributes.push(req_attribute("AJP_REMOTE_PORT", self.remote_port.clone()));
        attributes.push(req_attribute("AJP_LOCAL_ADDR", self.local_addr.clone()));
        attributes.push(req_attribute(
            "JK_LB_ACTIVATION",
            Bytes::from_static(self.activation.as_bytes()),
        ));
        for (name, value) in self.env_vars.iter() {
            attributes.push(Attribute::ReqAttribute {
                name: name.clone(),
                value: value.clone(),
            });
        }
    }
}

fn req_attribute(name: &'static str, value: Bytes) -> Attribute {
    Attribute::ReqAttribute {
        name: Bytes::from_static(name.as_bytes()),
        value,
    }
}
