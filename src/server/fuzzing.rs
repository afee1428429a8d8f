//! Entry points of the server's fuzz targets (and their corpus replay in `tests/fuzz_replay.rs`).
//!
//! `request_parsers`: any bytes as the parts of a client request that jkgate parses
//! before anything reaches a member — the request target (path, `;jsessionid=`, percent
//! escapes, query string), the `Host` header (name and port) and `Cookie` headers (session
//! ids). Never a panic; every function here asserts the invariants the relay relies on.
//!
//! Input layout: `target \n host \n cookie \n cookie ...` (a missing line is absent).
//!
//! `proxy_header`: any bytes as the start of a connection on a PROXY protocol listener.

use std::net::{Ipv4Addr, SocketAddr};

use bytes::BytesMut;

use super::mapping::{
    ConnectionInfo, MappingOptions, build_context, httpd_path, matching_path, percent_decode,
    proxy_encode, request_session_id, split_host,
};
use super::proxy_protocol::{Framing, V1_MAX, framing, parse};
use crate::ajp::{PacketSize, encode_forward_request_from_head};
use crate::balancer::{route_of_session, session_candidates};
use crate::config::ini::{ForwardUri, JkOptions};
use crate::config::uriworkermap::normalize_path;

/// True when every `%` in `raw` starts a two-hex-digit escape.
fn escapes_well_formed(raw: &[u8]) -> bool {
    raw.iter().enumerate().all(|(at, &b)| {
        b != b'%'
            || raw
                .get(at + 1..at + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    })
}

fn has_dot_segment(path: &[u8]) -> bool {
    path.split(|&b| b == b'/')
        .skip(1)
        .any(|segment| segment == b"." || segment == b"..")
}

/// The byte-level parsers on their own: percent decoding, both path normalisations, the
/// ForwardURIProxy re-encoding, session ids and their routes, the Host split.
fn byte_parsers(target: &[u8], host: &[u8], cookies: &[&str]) {
    // The query string is only carried (attribute 0x05): `mapped_request` checks it.
    let path = match target.iter().position(|&b| b == b'?') {
        Some(at) => &target[..at],
        None => target,
    };
    let decoded = percent_decode(path);
    assert_eq!(
        decoded.is_some(),
        escapes_well_formed(path),
        "percent_decode accepts exactly the well-formed escapes"
    );
    if let Some(decoded) = &decoded {
        assert!(decoded.len() <= path.len(), "decoding never grows");
        // ForwardURIProxy's re-encoding decodes back to the same bytes, and its output
        // is plain ASCII a member can read.
        let encoded = proxy_encode(decoded);
        assert!(encoded.is_ascii());
        assert_eq!(
            percent_decode(&encoded).as_deref(),
            Some(&decoded[..]),
            "ForwardURIProxy encoding round trip"
        );
        if let Ok(normal) = normalize_path(decoded) {
            assert!(normal.starts_with(b"/"));
            assert!(
                !has_dot_segment(&normal),
                "normalised path keeps a dot segment"
            );
            assert!(!normal.contains(&b';'), "normalised path keeps a parameter");
            assert!(
                !normal.windows(2).any(|w| w == b"//"),
                "normalised path keeps `//`"
            );
            assert_eq!(
                normalize_path(&normal).as_deref(),
                Ok(&normal[..]),
                "normalisation is idempotent"
            );
        }
    }
    if let Ok(text) = std::str::from_utf8(path) {
        if let Ok(matching) = matching_path(text) {
            assert!(matching.starts_with(b"/"));
            assert!(
                !matching.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n'),
                "NUL, CR or LF in a path used for matching"
            );
            assert!(!has_dot_segment(&matching));
        }
        if let Ok(forwarded) = httpd_path(text) {
            assert!(
                !forwarded.windows(2).any(|w| w == b"//"),
                "forwarded path keeps `//`"
            );
            assert!(
                !has_dot_segment(&forwarded),
                "forwarded path keeps a dot segment"
            );
        }
        let ids = session_candidates(
            text.as_bytes(),
            cookies.iter().copied(),
            ";jsessionid",
            "JSESSIONID",
        );
        for id in &ids {
            assert!(!id.contains(';'), "a session id candidate holds a `;`");
            if let Some(route) = route_of_session(id) {
                assert!(route.len() < id.len());
            }
        }
    }
    let (name, _port) = split_host(host, 8080);
    assert!(name.len() <= host.len());
}

fn connection() -> ConnectionInfo {
    ConnectionInfo::new(
        SocketAddr::from((Ipv4Addr::new(192, 0, 2, 7), 40_000)),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
        None,
    )
}

/// The whole mapping of a request as hyper hands it over, under every ForwardURI mode,
/// then the AJP encoding of what would be sent.
fn mapped_request(target: &[u8], host: &[u8], cookies: &[&str]) {
    let mut builder = http::Request::builder()
        .method(http::Method::GET)
        .uri(target);
    if !host.is_empty() {
        builder = builder.header(http::header::HOST, host);
    }
    for cookie in cookies {
        builder = builder.header(http::header::COOKIE, *cookie);
    }
    let Ok(request) = builder.body(()) else {
        return; // hyper would have refused it before jkgate saw it
    };
    let (parts, ()) = request.into_parts();
    let _ = request_session_id(parts.uri.path(), &parts.headers);
    let conn = connection();
    for forward_uri in [
        ForwardUri::Proxy,
        ForwardUri::CompatUnparsed,
        ForwardUri::Compat,
        ForwardUri::Escaped,
    ] {
        for reject_unsafe_uri in [false, true] {
            let options = MappingOptions {
                jk: JkOptions {
                    forward_uri,
                    reject_unsafe_uri,
                    ..JkOptions::default()
                },
                ..MappingOptions::default()
            };
            let Ok((ctx, _kind)) = build_context(&parts, true, &conn, &options) else {
                continue;
            };
            let uri = ctx.head.req_uri();
            assert!(
                !uri.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n'),
                "NUL, CR or LF in the forwarded URI"
            );
            if reject_unsafe_uri && forward_uri == ForwardUri::Proxy {
                assert!(!uri.contains(&b'\\'), "RejectUnsafeURI let a `\\` through");
            }
            let mut wire = BytesMut::new();
            let _ = encode_forward_request_from_head(
                &ctx.head,
                ctx.attributes(Some(b"secret")),
                PacketSize::MAX,
                &mut wire,
            );
        }
    }
}

/// Runs `data` through every request-side parser (see the module documentation).
pub fn request_parsers(data: &[u8]) {
    let mut lines = data.split(|&b| b == b'\n');
    let target = lines.next().unwrap_or_default();
    let host = lines.next().unwrap_or_default();
    let cookies: Vec<&str> = lines.filter_map(|l| std::str::from_utf8(l).ok()).collect();
    byte_parsers(target, host, &cookies);
    mapped_request(target, host, &cookies);
}

/// Frames `data` as the start of a connection on a PROXY protocol listener, as
/// [`super::proxy_protocol::read_header`] does, and parses the header when it is complete.
/// Checks that framing only ever asks for more than it has, never more than a v2 header can
/// hold, and that a v1 header it completes fits the protocol's 107 bytes.
pub fn proxy_header(data: &[u8]) {
    let mut have = 0;
    loop {
        match framing(&data[..have]) {
            Ok(Framing::Need(total)) => {
                assert!(total > have, "framing asked for {total} with {have} read");
                assert!(total <= 16 + usize::from(u16::MAX));
                if total > data.len() {
                    break;
                }
                have = total;
            }
            Ok(Framing::Complete) => {
                if data.starts_with(b"PROXY ") {
                    assert!(have <= V1_MAX && data[..have].ends_with(b"\r\n"));
                }
                if let Ok(Some(client)) = parse(&data[..have]) {
                    assert!(!client.to_string().is_empty());
                }
                break;
            }
            Err(error) => {
                assert!(!error.to_string().is_empty());
                break;
            }
        }
    }
    // The parser alone, on anything.
    let _ = parse(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_well_formed_agrees_with_the_decoder_on_examples() {
        for (raw, ok) in [
            (&b"/a%41"[..], true),
            (b"/a%4", false),
            (b"/%", false),
            (b"/%%41", false),
            (b"/plain", true),
        ] {
            assert_eq!(escapes_well_formed(raw), ok, "{raw:?}");
            assert_eq!(percent_decode(raw).is_some(), ok, "{raw:?}");
        }
    }

    #[test]
    fn a_typical_request_runs_clean() {
        request_parsers(
            b"/app/x;jsessionid=A.n1/y?q=%41&b\nexample.org:8443\nJSESSIONID=B.n2; x=1\n",
        );
        request_parsers(b"");
        request_parsers(b"*\n[::1]:80\n");
    }
}
