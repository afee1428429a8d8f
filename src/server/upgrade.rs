//! Requests to switch protocols (WebSocket and any other `Upgrade`), which AJP13 cannot
//! carry: a FORWARD_REQUEST is one request and one response, and there is no AJP message
//! for the two-way byte stream that follows a `101 Switching Protocols`. Relayed, such a
//! request reaches Tomcat as a plain request that its WebSocket endpoint refuses or answers
//! with a `101` nothing can follow — the client hangs or gets an error from the wrong place.
//!
//! jkgate answers them itself with **501 Not Implemented**: RFC 9110 §15.6.2 — "the server
//! does not support the functionality required to fulfill the request" — which is exactly
//! the case (400 would say the client erred; 426 would ask it to upgrade). The log line says
//! why, with the client, path, worker and protocol.
//!
//! `Upgrade: h2c` is the exception: it is optional (RFC 9110 §7.8 lets a server ignore an
//! upgrade it does not take), curl sends it with `--http2` on plain HTTP, and the request
//! is a whole HTTP/1.1 request without it; it is relayed as usual. HTTP/2's extended
//! CONNECT (RFC 8441, WebSocket over HTTP/2) cannot arrive: jkgate never announces
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`, so a client does not send `:protocol`; one that does
//! anyway is answered 501 all the same.

use http::request::Parts;

/// The protocol a request asks to switch to, if it asks for one jkgate cannot give.
pub fn refused_upgrade(parts: &Parts) -> Option<String> {
    if let Some(protocol) = parts.extensions.get::<hyper::ext::Protocol>() {
        return Some(protocol.as_str().to_owned());
    }
    if parts.version >= http::Version::HTTP_2 {
        return None;
    }
    let wanted: Vec<String> = parts
        .headers
        .get_all(http::header::UPGRADE)
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("?").split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let only_h2c = wanted.iter().all(|p| p.eq_ignore_ascii_case("h2c"));
    (!wanted.is_empty() && !only_h2c).then(|| wanted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(version: http::Version, upgrade: &[&str]) -> Parts {
        let mut builder = http::Request::builder().uri("/app/ws").version(version);
        for value in upgrade {
            builder = builder.header("upgrade", *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn which_upgrades_are_refused() {
        let cases: &[(http::Version, &[&str], Option<&str>)] = &[
            (http::Version::HTTP_11, &["websocket"], Some("websocket")),
            (http::Version::HTTP_11, &["WebSocket"], Some("WebSocket")),
            (http::Version::HTTP_11, &["h2c"], None),
            (
                http::Version::HTTP_11,
                &["h2c, websocket"],
                Some("h2c, websocket"),
            ),
            (http::Version::HTTP_11, &["TLS/1.2"], Some("TLS/1.2")),
            (http::Version::HTTP_11, &[], None),
            (http::Version::HTTP_11, &[""], None),
            (http::Version::HTTP_10, &["websocket"], Some("websocket")),
        ];
        for (version, upgrade, expected) in cases {
            assert_eq!(
                refused_upgrade(&parts(*version, upgrade)).as_deref(),
                *expected,
                "{version:?} {upgrade:?}"
            );
        }
    }
}
