//! A member's SEND_HEADERS made into the head the client gets: the status checked, the
//! reason phrase kept only when it says more than the number, hop-by-hop headers dropped,
//! one valid Content-Length at most, and the headers put straight into the `HeaderMap`
//! hyper writes (no intermediate list, and coded AJP names become hyper's own constants
//! without being parsed again).

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

use crate::ajp::{FramePayload, ResponseHeaderCode, ResponseHeaderNameRef, SendHeadersRef};

/// Response headers that describe the client connection, not the response; the
/// listener frames the response itself (lower case, as `HeaderName::as_str` gives them).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
];

/// A response head mapped for the client.
#[derive(Debug)]
pub(crate) struct MappedHead {
    pub(crate) status: u16,
    pub(crate) reason: Option<Bytes>,
    pub(crate) headers: HeaderMap,
    pub(crate) length: Option<u64>,
    pub(crate) suppress_body: bool,
}

/// The three digits of a status in 200..=999 (Tomcat sends them as the "message").
fn status_digits(status: u16) -> [u8; 3] {
    [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]
}

/// hyper's constant for a coded response header name (`A0 01`..`A0 0B`).
fn coded_name(code: ResponseHeaderCode) -> HeaderName {
    match code {
        ResponseHeaderCode::ContentType => header::CONTENT_TYPE,
        ResponseHeaderCode::ContentLanguage => header::CONTENT_LANGUAGE,
        ResponseHeaderCode::ContentLength => header::CONTENT_LENGTH,
        ResponseHeaderCode::Date => header::DATE,
        ResponseHeaderCode::LastModified => header::LAST_MODIFIED,
        ResponseHeaderCode::Location => header::LOCATION,
        ResponseHeaderCode::SetCookie => header::SET_COOKIE,
        ResponseHeaderCode::SetCookie2 => HeaderName::from_static("set-cookie2"),
        ResponseHeaderCode::ServletEngine => HeaderName::from_static("servlet-engine"),
        ResponseHeaderCode::Status => HeaderName::from_static("status"),
        ResponseHeaderCode::WwwAuthenticate => header::WWW_AUTHENTICATE,
    }
}

/// The names Tomcat sends as strings on most responses, spelled as it spells them, without
/// parsing them again (`HeaderName::from_bytes` lower-cases and looks up every name).
fn known_name(name: &[u8]) -> Option<HeaderName> {
    Some(match name {
        b"Content-Type" => header::CONTENT_TYPE,
        b"Content-Length" => header::CONTENT_LENGTH,
        b"Date" => header::DATE,
        b"Set-Cookie" => header::SET_COOKIE,
        b"Last-Modified" => header::LAST_MODIFIED,
        b"ETag" => header::ETAG,
        b"Accept-Ranges" => header::ACCEPT_RANGES,
        b"Location" => header::LOCATION,
        b"Cache-Control" => header::CACHE_CONTROL,
        b"Content-Language" => header::CONTENT_LANGUAGE,
        b"Content-Encoding" => header::CONTENT_ENCODING,
        b"Vary" => header::VARY,
        b"Expires" => header::EXPIRES,
        b"WWW-Authenticate" => header::WWW_AUTHENTICATE,
        _ => return None,
    })
}

/// Why a member's SEND_HEADERS cannot become a response head; `status` is the one it
/// carried, so `fail_on_status` still sees it.
#[derive(Debug, thiserror::Error)]
#[error("{problem} in SEND_HEADERS")]
pub(crate) struct HeadError {
    pub(crate) status: u16,
    pub(crate) problem: HeadProblem,
}

/// What makes a head unusable. Each is the member's doing (a protocol violation: the
/// relay fails the attempt), never the client's.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HeadProblem {
    #[error("invalid status {0}")]
    Status(u16),
    #[error("invalid Content-Length")]
    InvalidLength,
    #[error("conflicting Content-Length headers")]
    ConflictingLengths,
}

/// Checks and maps SEND_HEADERS, read in place from the frame's `payload` (values are
/// slices of it, names hyper's constants where it has one): status 200..=999 (AJP has no
/// interim responses), hop-by-hop headers dropped, one valid Content-Length at most. A
/// header whose name or value HTTP cannot carry is dropped with a warning.
pub(crate) fn map_response_head(
    head: &SendHeadersRef<'_>,
    payload: FramePayload<'_>,
    is_head: bool,
) -> Result<MappedHead, HeadError> {
    let status = head.status;
    let error = |problem| HeadError { status, problem };
    if !(200..=999).contains(&status) {
        return Err(error(HeadProblem::Status(status)));
    }
    let reason = head
        .status_msg
        .filter(|msg| {
            !msg.is_empty()
                && *msg != status_digits(status)
                && msg
                    .iter()
                    .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
        })
        .map(|msg| payload.share(msg));
    let mut length = None;
    let mut mapped = HeaderMap::with_capacity(head.headers.len());
    for (name, value) in head.headers.iter() {
        // The coded and the known names are none of them hop-by-hop: only a name parsed
        // here is looked for in that list.
        let name = match name {
            ResponseHeaderNameRef::Coded(code) => coded_name(code),
            ResponseHeaderNameRef::Named(bytes) => match known_name(bytes) {
                Some(name) => name,
                None => match HeaderName::from_bytes(bytes) {
                    Ok(name) if HOP_BY_HOP.contains(&name.as_str()) => continue,
                    Ok(name) => name,
                    Err(_) => {
                        tracing::warn!(
                            header = %String::from_utf8_lossy(bytes),
                            "dropping invalid response header from the member"
                        );
                        continue;
                    }
                },
            },
        };
        let value = value.unwrap_or_default();
        if name == header::CONTENT_LENGTH {
            let parsed = std::str::from_utf8(value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| error(HeadProblem::InvalidLength))?;
            if length.is_some_and(|l| l != parsed) {
                return Err(error(HeadProblem::ConflictingLengths));
            }
            if length.is_some() {
                continue;
            }
            length = Some(parsed);
        }
        match HeaderValue::from_maybe_shared(payload.share(value)) {
            Ok(value) => {
                mapped.append(name, value);
            }
            Err(_) => tracing::warn!(
                header = %name,
                "dropping invalid response header from the member"
            ),
        }
    }
    let suppress_body = is_head || status == 204 || status == 304;
    if status == 204 {
        // 204 never has a body nor a Content-Length; a 304 keeps it as metadata.
        mapped.remove(header::CONTENT_LENGTH);
        length = None;
    }
    Ok(MappedHead {
        status,
        reason,
        headers: mapped,
        length: if suppress_body { None } else { length },
        suppress_body,
    })
}

/// The headers of jkgate's own error page replacing a member's (`use_server_errors`):
/// its content type, and for 401 the member's `WWW-Authenticate` challenges.
pub(crate) fn own_error_headers(status: u16, member: HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::response::ERROR_PAGE_CONTENT_TYPE),
    );
    if status == 401 {
        for challenge in member.get_all(header::WWW_AUTHENTICATE) {
            headers.append(header::WWW_AUTHENTICATE, challenge.clone());
        }
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ajp::{
        ContainerMessage, ContainerMessageRef, DecodeOptions, PacketSize, ResponseHeaderName,
        SendHeaders, decode_container_message_with, encode_container_message,
    };
    use bytes::BytesMut;

    /// Maps a SEND_HEADERS as the relay does: encoded as Tomcat sends it, then read in
    /// place from the packet.
    fn map(status: u16, headers: &[(&str, &str)], is_head: bool) -> Result<MappedHead, HeadError> {
        let message = ContainerMessage::SendHeaders(SendHeaders {
            status,
            status_msg: Some(Bytes::from(status.to_string())),
            headers: headers
                .iter()
                .map(|(n, v)| {
                    (
                        ResponseHeaderName::from_name(Bytes::copy_from_slice(n.as_bytes())),
                        Some(Bytes::copy_from_slice(v.as_bytes())),
                    )
                })
                .collect(),
        });
        let mut packet = BytesMut::new();
        encode_container_message(&message, PacketSize::default(), &mut packet).unwrap();
        let decoded = decode_container_message_with(
            &mut packet,
            &DecodeOptions::default(),
            |view, payload| match view {
                ContainerMessageRef::SendHeaders(head) => {
                    Some(map_response_head(&head, payload, is_head))
                }
                _ => None,
            },
        );
        decoded.unwrap().unwrap().message.unwrap()
    }

    #[test]
    fn coded_and_string_names_land_on_the_same_header_and_keep_their_order() {
        let mapped = map(
            200,
            &[
                ("Set-Cookie", "a=1"),
                ("X-Custom", "x"),
                ("set-cookie", "b=2"),
                ("Content-Type", "text/plain"),
                ("Servlet-Engine", "Tomcat"),
            ],
            false,
        )
        .unwrap();
        let cookies: Vec<_> = mapped.headers.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(mapped.headers["x-custom"], "x");
        assert_eq!(mapped.headers[header::CONTENT_TYPE], "text/plain");
        assert_eq!(mapped.headers["servlet-engine"], "Tomcat");
        assert_eq!(mapped.reason, None, "the number alone is no reason phrase");
    }

    #[test]
    fn hop_by_hop_and_invalid_headers_are_dropped() {
        let mapped = map(
            200,
            &[
                ("Connection", "close"),
                ("Transfer-Encoding", "chunked"),
                ("Keep-Alive", "timeout=5"),
                ("proxy-connection", "keep-alive"),
                ("Upgrade", "h2c"),
                ("TE", "trailers"),
                ("Trailer", "X-Sum"),
                ("Bad Name", "x"),
                ("X-Bad-Value", "a\x7fb"),
                ("X-Good", "y"),
            ],
            false,
        )
        .unwrap();
        let names: Vec<_> = mapped.headers.keys().map(|n| n.as_str()).collect();
        assert_eq!(names, ["x-good"]);
    }

    /// Only names parsed from their bytes are looked for among the hop-by-hop headers.
    #[test]
    fn no_coded_or_known_name_is_hop_by_hop() {
        let coded = ResponseHeaderCode::ALL.iter().map(|&code| coded_name(code));
        let known = [
            "Content-Type",
            "Content-Length",
            "Date",
            "Set-Cookie",
            "Last-Modified",
            "ETag",
            "Accept-Ranges",
            "Location",
            "Cache-Control",
            "Content-Language",
            "Content-Encoding",
            "Vary",
            "Expires",
            "WWW-Authenticate",
        ]
        .map(|name| known_name(name.as_bytes()).expect(name));
        for name in coded.chain(known) {
            assert!(!HOP_BY_HOP.contains(&name.as_str()), "{name}");
        }
    }

    #[test]
    fn content_length_rules() {
        // (status, HEAD request, headers, Content-Length kept or the error's words)
        type Case<'a> = (
            u16,
            bool,
            &'a [(&'a str, &'a str)],
            Result<Option<u64>, &'a str>,
        );
        let cases: &[Case] = &[
            (200, false, &[("Content-Length", "12")], Ok(Some(12))),
            (
                200,
                false,
                &[("Content-Length", "12"), ("content-length", "12")],
                Ok(Some(12)),
            ),
            (
                200,
                false,
                &[("Content-Length", "12"), ("Content-Length", "13")],
                Err("conflicting"),
            ),
            (200, false, &[("Content-Length", "-1")], Err("invalid")),
            (200, true, &[("Content-Length", "12")], Ok(None)),
            (204, false, &[("Content-Length", "0")], Ok(None)),
            (304, false, &[("Content-Length", "12")], Ok(None)),
        ];
        for (status, is_head, headers, expected) in cases {
            let got = map(*status, headers, *is_head);
            match (got, expected) {
                (Ok(mapped), Ok(length)) => {
                    assert_eq!(mapped.length, *length, "{status} {headers:?}");
                    let kept = mapped
                        .headers
                        .get_all(header::CONTENT_LENGTH)
                        .iter()
                        .count();
                    assert_eq!(kept, usize::from(*status != 204), "{status} {headers:?}");
                }
                (Err(err), Err(part)) => assert!(err.to_string().contains(part), "{err}"),
                (got, expected) => panic!("{status} {headers:?}: {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn own_error_page_keeps_only_the_challenges_of_a_401() {
        let mut member = HeaderMap::new();
        member.append(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
        member.append(header::SET_COOKIE, HeaderValue::from_static("a=1"));
        let page = own_error_headers(401, member.clone());
        assert_eq!(page.len(), 2);
        assert_eq!(page[header::WWW_AUTHENTICATE], "Basic");
        assert_eq!(own_error_headers(500, member).len(), 1);
    }
}
