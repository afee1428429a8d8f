//! The FORWARD_REQUEST every command sends, built from a URL and curl-like options with
//! the codec's typed message: `request` sends it as asked, `probe` varies one field at a
//! time, `fuzz` mutates it.

use bytes::Bytes;

use super::error::ToolError;
use super::target::AjpUrl;
use crate::ajp::{Attribute, ForwardRequest, RequestHeaderName};

/// The `remote_addr` the tool claims: the loopback client it is.
pub(crate) const REMOTE_ADDR: &str = "127.0.0.1";

/// What a request carries beyond its URL.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestSpec {
    /// The HTTP method name (coded when AJP has a code, else stored).
    pub method: String,
    /// Headers in order.
    pub headers: Vec<(Bytes, Bytes)>,
    /// `req_attribute`s in order.
    pub attributes: Vec<(Bytes, Bytes)>,
    /// The connector's `secret`.
    pub secret: Option<Bytes>,
    /// The body length, sent as Content-Length unless a header already says one.
    pub content_length: Option<u64>,
}

/// Splits a `-H "Name: value"` argument (curl's form; the value is trimmed).
pub(crate) fn parse_header(arg: &str) -> Result<(Bytes, Bytes), ToolError> {
    let (name, value) = arg.split_once(':').ok_or_else(|| ToolError::Option {
        option: "-H",
        why: format!("`{arg}` has no colon; valid: -H \"Name: value\""),
    })?;
    let name = name.trim();
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
        return Err(ToolError::Option {
            option: "-H",
            why: format!("`{arg}`: empty or spaced header name; valid: -H \"Name: value\""),
        });
    }
    Ok((
        Bytes::copy_from_slice(name.as_bytes()),
        Bytes::copy_from_slice(value.trim().as_bytes()),
    ))
}

/// Splits a `-a NAME=VALUE` request attribute argument.
pub(crate) fn parse_attribute(arg: &str) -> Result<(Bytes, Bytes), ToolError> {
    match arg.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((
            Bytes::copy_from_slice(name.as_bytes()),
            Bytes::copy_from_slice(value.as_bytes()),
        )),
        _ => Err(ToolError::Option {
            option: "-a",
            why: format!("`{arg}`: valid: -a NAME=VALUE (a request attribute)"),
        }),
    }
}

/// The FORWARD_REQUEST for `url` and `spec`: HTTP/1.1, `remote_addr` 127.0.0.1,
/// `server_name` the URL's host and port 80 (the port a browser would have used),
/// `Host` unless given, Content-Length when known, the query string, request
/// attributes, the secret, and the method (stored when AJP has no code for it).
pub(crate) fn forward_request(url: &AjpUrl, spec: &RequestSpec) -> ForwardRequest {
    let mut request = ForwardRequest {
        req_uri: Some(Bytes::copy_from_slice(url.path.as_bytes())),
        remote_addr: Some(Bytes::from_static(REMOTE_ADDR.as_bytes())),
        server_name: Some(Bytes::copy_from_slice(url.host.as_bytes())),
        server_port: 80,
        ..ForwardRequest::default()
    };
    let has = |name: &[u8]| {
        spec.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    };
    if !has(b"host") {
        request.push_header(
            Bytes::from_static(b"Host"),
            Bytes::copy_from_slice(url.authority().as_bytes()),
        );
    }
    for (name, value) in &spec.headers {
        request.push_header(name.clone(), value.clone());
    }
    if let Some(length) = spec.content_length
        && !has(b"content-length")
    {
        request.push_header(
            Bytes::from_static(b"Content-Length"),
            Bytes::from(length.to_string()),
        );
    }
    if let Some(query) = &url.query {
        request
            .attributes
            .push(Attribute::QueryString(Bytes::copy_from_slice(
                query.as_bytes(),
            )));
    }
    for (name, value) in &spec.attributes {
        request.attributes.push(Attribute::ReqAttribute {
            name: name.clone(),
            value: value.clone(),
        });
    }
    if let Some(secret) = &spec.secret {
        request.attributes.push(Attribute::Secret(secret.clone()));
    }
    request.set_method_name(spec.method.as_bytes());
    request
}

/// Adds a padding header so the request encodes to exactly `frame_len` bytes, when
/// that is possible (`None` when the request is already larger).
pub(crate) fn pad_to(request: &ForwardRequest, frame_len: usize) -> Option<ForwardRequest> {
    const NAME: &[u8] = b"X-Jkgate-Pad";
    let base = encoded_len(request)?;
    // A string header: 2-byte length, name, NUL; then the value the same way.
    let overhead = 2 + NAME.len() + 1 + 2 + 1;
    let value_len = frame_len.checked_sub(base + overhead)?;
    let mut padded = request.clone();
    padded.headers.push((
        RequestHeaderName::Named(Bytes::from_static(NAME)),
        Some(Bytes::from(vec![b'p'; value_len])),
    ));
    (encoded_len(&padded)? == frame_len).then_some(padded)
}

/// The wire length of a FORWARD_REQUEST, encoded with the largest packet size.
pub(crate) fn encoded_len(request: &ForwardRequest) -> Option<usize> {
    let mut frame = bytes::BytesMut::new();
    crate::ajp::encode_forward_request(request, crate::ajp::PacketSize::MAX, &mut frame).ok()?;
    Some(frame.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ajp::{KnownMethod, Method};

    #[test]
    fn builds_what_curl_would_send() {
        let url = AjpUrl::parse("ajp://127.0.0.1:8009/app/echo?a=1").unwrap();
        let spec = RequestSpec {
            method: "PATCH".into(),
            headers: vec![parse_header("X-Test:  yes ").unwrap()],
            attributes: vec![parse_attribute("name=va=lue").unwrap()],
            secret: Some(Bytes::from_static(b"s")),
            content_length: Some(5),
        };
        let request = forward_request(&url, &spec);
        assert_eq!(request.method, Method::Stored);
        assert_eq!(request.method_name(), Some(&b"PATCH"[..]));
        assert_eq!(request.req_uri.as_deref(), Some(&b"/app/echo"[..]));
        assert_eq!(request.query_string().map(|q| &q[..]), Some(&b"a=1"[..]));
        let headers: Vec<(&[u8], &[u8])> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_deref().unwrap()))
            .collect();
        assert_eq!(
            headers,
            vec![
                (&b"host"[..], &b"127.0.0.1:8009"[..]),
                (b"X-Test", b"yes"),
                (b"content-length", b"5"),
            ]
        );
        assert!(request.attributes.contains(&Attribute::ReqAttribute {
            name: Bytes::from_static(b"name"),
            value: Bytes::from_static(b"va=lue"),
        }));
        assert!(
            request
                .attributes
                .contains(&Attribute::Secret(Bytes::from_static(b"s")))
        );
        let get = forward_request(
            &url,
            &RequestSpec {
                method: "GET".into(),
                headers: vec![parse_header("host: other").unwrap()],
                ..RequestSpec::default()
            },
        );
        assert_eq!(get.method, Method::Known(KnownMethod::Get));
        assert_eq!(get.headers.len(), 1);
    }

    #[test]
    fn bad_header_and_attribute_arguments_are_refused() {
        for bad in ["NoColon", ": empty", "Two Words: x"] {
            assert!(parse_header(bad).is_err(), "{bad}");
        }
        for bad in ["novalue", "=value"] {
            assert!(parse_attribute(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_attribute("a=").unwrap(),
            (Bytes::from_static(b"a"), Bytes::new())
        );
    }

    #[test]
    fn padding_hits_the_exact_frame_length() {
        let url = AjpUrl::parse("ajp://h/x").unwrap();
        let request = forward_request(
            &url,
            &RequestSpec {
                method: "GET".into(),
                ..RequestSpec::default()
            },
        );
        for len in [8192, 8193, 16000, 65536] {
            let padded = pad_to(&request, len).unwrap();
            assert_eq!(encoded_len(&padded), Some(len));
        }
        assert!(pad_to(&request, 10).is_none());
    }
}
