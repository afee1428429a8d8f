//! The PROXY protocol (HAProxy's, versions 1 and 2) on listeners named by
//! `RemoteIPProxyProtocol`, as httpd's `RemoteIPProxyProtocol On`: every connection must
//! start with a header that says who the client is; one without a valid header is closed.
//!
//! The `ppp` crate parses the header; jkgate owns the framing — how many bytes to read so
//! that not one byte of the HTTP or TLS stream after the header is taken: 12 bytes first
//! (no valid header is shorter: the shortest, `PROXY UNKNOWN\r\n`, has 15), then for v2 the
//! 4 bytes that give the length and that many, for v1 one byte at a time up to the CRLF
//! (107 bytes at most, the protocol's limit). [`framing`] is the sans-I/O step the reader
//! and the fuzz target share.
//!
//! A `LOCAL` (v2) or `UNKNOWN` (v1) header — a proxy's own health check — keeps the TCP
//! peer as the client, as the protocol asks.

use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncReadExt};

/// The v2 signature.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest v1 header, CRLF included.
pub const V1_MAX: usize = 107;
/// What is read before anything can be told.
const FIRST_READ: usize = 12;

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum ProxyHeaderError {
    /// The first bytes are neither a v1 nor a v2 header.
    #[error("the connection did not start with a PROXY protocol header (it began with `{0}`)")]
    NotProxy(String),
    /// A v1 header without its CRLF within 107 bytes.
    #[error("PROXY v1 header without CRLF within {V1_MAX} bytes")]
    TooLong,
    /// The crate refused a v1 header.
    #[error("invalid PROXY v1 header `{text}`: {reason}")]
    V1 {
        /// The header, escaped.
        text: String,
        /// The parser's reason.
        reason: String,
    },
    /// The crate refused a v2 header.
    #[error("invalid PROXY v2 header: {0}")]
    V2(String),
    /// The peer closed before the header was complete.
    #[error("the connection closed after {0} bytes, before the PROXY header was complete")]
    Closed(usize),
    /// Reading failed.
    #[error("reading the PROXY header: {0}")]
    Io(#[from] std::io::Error),
}

/// The next step of reading a header from the bytes read so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Read until this many bytes are there in all.
    Need(usize),
    /// The header is exactly the bytes read.
    Complete,
}

/// Where a header ends, from the bytes read so far (see the module documentation).
pub fn framing(read: &[u8]) -> Result<Framing, ProxyHeaderError> {
    if read.len() < FIRST_READ {
        return Ok(Framing::Need(FIRST_READ));
    }
    if read[..FIRST_READ] == V2_SIGNATURE {
        if read.len() < 16 {
            return Ok(Framing::Need(16));
        }
        let total = 16 + usize::from(u16::from_be_bytes([read[14], read[15]]));
        return Ok(match read.len().cmp(&total) {
            std::cmp::Ordering::Less => Framing::Need(total),
            _ => Framing::Complete,
        });
    }
    if !read.starts_with(b"PROXY ") {
        return Err(ProxyHeaderError::NotProxy(escaped(&read[..FIRST_READ])));
    }
    match read.windows(2).position(|w| w == b"\r\n") {
        // Only a header shorter than the first read can end before the last byte, and none
        // is valid.
        Some(end) if end + 2 != read.len() => Err(ProxyHeaderError::V1 {
            text: escaped(read),
            reason: "too short".to_owned(),
        }),
        Some(_) => Ok(Framing::Complete),
        None if read.len() >= V1_MAX => Err(ProxyHeaderError::TooLong),
        None => Ok(Framing::Need(read.len() + 1)),
    }
}

/// The client a complete header names: `Some(source)`, or `None` for a `LOCAL` / `UNKNOWN`
/// header (the TCP peer stays the client).
pub fn parse(header: &[u8]) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    if header.starts_with(&V2_SIGNATURE) {
        let parsed =
            ppp::v2::Header::try_from(header).map_err(|e| ProxyHeaderError::V2(e.to_string()))?;
        if parsed.command == ppp::v2::Command::Local {
            return Ok(None);
        }
        return Ok(match parsed.addresses {
            ppp::v2::Addresses::IPv4(a) => {
                Some(SocketAddr::from((a.source_address, a.source_port)))
            }
            ppp::v2::Addresses::IPv6(a) => {
                Some(SocketAddr::from((a.source_address, a.source_port)))
            }
            ppp::v2::Addresses::Unspecified | ppp::v2::Addresses::Unix(_) => None,
        });
    }
    let v1_error = |reason: String| ProxyHeaderError::V1 {
        text: escaped(header),
        reason,
    };
    // A v1 header is ASCII. Checked here, not left to the crate: ppp 2.3.0's v1 parser
    // slices its input after the first CR without looking for a character boundary and
    // panics on a CR followed by a multi-byte character (found by the proxy_header fuzz
    // target; the regression input is in fuzz/regressions/proxy_header/).
    if !header.is_ascii() {
        return Err(v1_error("not ASCII".to_owned()));
    }
    let text = std::str::from_utf8(header).map_err(|_| v1_error("not ASCII".to_owned()))?;
    let parsed = ppp::v1::Header::try_from(text).map_err(|e| v1_error(e.to_string()))?;
    Ok(match parsed.addresses {
        ppp::v1::Addresses::Tcp4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        ppp::v1::Addresses::Tcp6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        ppp::v1::Addresses::Unknown => None,
    })
}

/// Reads one header from `stream`, not a byte more, and parses it.
pub async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<SocketAddr>, ProxyHeaderError> {
    let mut read = Vec::with_capacity(V1_MAX + 1);
    loop {
        match framing(&read)? {
            Framing::Complete => return parse(&read),
            Framing::Need(total) => {
                let start = read.len();
                read.resize(total, 0);
                if let Err(error) = stream.read_exact(&mut read[start..]).await {
                    return Err(match error.kind() {
                        std::io::ErrorKind::UnexpectedEof => ProxyHeaderError::Closed(start),
                        _ => ProxyHeaderError::Io(error),
                    });
                }
            }
        }
    }
}

/// `bytes` as printable ASCII for a log line.
fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(command: u8, family: u8, addresses: &[u8]) -> Vec<u8> {
        let mut bytes = V2_SIGNATURE.to_vec();
        bytes.push(command);
        bytes.push(family);
        bytes.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
        bytes.extend_from_slice(addresses);
        bytes
    }

    /// Reads a header off `input` with the async reader; returns the result and the rest.
    fn read(input: &[u8]) -> (Result<Option<SocketAddr>, String>, Vec<u8>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut stream = input;
        let result = runtime.block_on(read_header(&mut stream));
        (result.map_err(|e| e.to_string()), stream.to_vec())
    }

    #[test]
    fn headers_and_what_follows_them() {
        let ipv4 = v2(
            0x21,
            0x11,
            &[192, 0, 2, 1, 127, 0, 0, 1, 0x30, 0x39, 0x1f, 0x90],
        );
        let mut ipv6_addresses = vec![0x20, 0x01, 0x0d, 0xb8];
        ipv6_addresses.extend_from_slice(&[0; 11]);
        ipv6_addresses.push(7);
        ipv6_addresses.extend_from_slice(&[0; 15]);
        ipv6_addresses.push(1);
        ipv6_addresses.extend_from_slice(&[0x01, 0xbb, 0x00, 0x50]);
        let ipv6 = v2(0x21, 0x21, &ipv6_addresses);
        // With a PP2_TYPE_NOOP TLV after the addresses.
        let with_tlv = v2(
            0x21,
            0x11,
            &[
                198, 51, 100, 9, 127, 0, 0, 1, 0, 80, 0, 81, 0x04, 0x00, 0x01, 0x00,
            ],
        );
        let local = v2(0x20, 0x00, &[]);
        /// The bytes and the client they name, or a piece of the error.
        type Case = (Vec<u8>, Result<Option<&'static str>, &'static str>);
        let cases: Vec<Case> = vec![
            (
                b"PROXY TCP4 192.0.2.1 127.0.0.1 12345 8000\r\n".to_vec(),
                Ok(Some("192.0.2.1:12345")),
            ),
            (
                b"PROXY TCP6 2001:db8::7 ::1 443 80\r\n".to_vec(),
                Ok(Some("[2001:db8::7]:443")),
            ),
            (b"PROXY UNKNOWN\r\n".to_vec(), Ok(None)),
            (ipv4, Ok(Some("192.0.2.1:12345"))),
            (ipv6, Ok(Some("[2001:db8::7]:443"))),
            (with_tlv, Ok(Some("198.51.100.9:80"))),
            (local, Ok(None)),
            (
                b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
                Err("did not start with a PROXY protocol header (it began with `GET / HTTP/1`)"),
            ),
            (
                b"PROXY TCP4 192.0.2.1 127.0.0.1 12345\r\n".to_vec(),
                Err("invalid PROXY v1 header"),
            ),
            (
                b"PROXY TCP4 999.0.2.1 127.0.0.1 1 2\r\n".to_vec(),
                Err("invalid PROXY v1 header"),
            ),
            (b"PROXY \r\n\r\nGET / HTTP/1.1".to_vec(), Err("too short")),
            (
                [b"PROXY ".as_slice(), &[b'x'; 120]].concat(),
                Err("without CRLF within 107 bytes"),
            ),
            (b"PROXY TCP4 192.0.2.1".to_vec(), Err("closed after")),
            (v2(0x21, 0x11, &[1, 2, 3]), Err("invalid PROXY v2 header")),
            (
                v2(
                    0x2f,
                    0x11,
                    &[192, 0, 2, 1, 127, 0, 0, 1, 0x30, 0x39, 0x1f, 0x90],
                ),
                Err("invalid PROXY v2 header"),
            ),
            (V2_SIGNATURE[..12].to_vec(), Err("closed after 12 bytes")),
        ];
        for (header, expected) in cases {
            let mut input = header.clone();
            input.extend_from_slice(b"GET /after HTTP/1.1\r\n\r\n");
            let (result, rest) = read(&input);
            match expected {
                Ok(client) => {
                    let got = result.unwrap_or_else(|e| panic!("{}: {e}", header.escape_ascii()));
                    assert_eq!(got.map(|a| a.to_string()).as_deref(), client);
                    assert_eq!(
                        rest, b"GET /after HTTP/1.1\r\n\r\n",
                        "not a byte more is read"
                    );
                }
                Err(text) => {
                    let input = if text.starts_with("closed") {
                        header.clone()
                    } else {
                        input
                    };
                    let (result, _) = read(&input);
                    let error = result.expect_err(&header.escape_ascii().to_string());
                    assert!(error.contains(text), "{}: {error}", header.escape_ascii());
                }
            }
        }
    }

    #[test]
    fn a_cr_before_a_multibyte_character_is_refused_not_a_panic() {
        let error = parse(b"\r\xd0\xa4\x07\x00M\n").expect_err("not a header");
        assert!(error.to_string().contains("not ASCII"), "{error}");
    }

    #[test]
    fn framing_asks_for_what_it_needs() {
        assert_eq!(framing(b"").unwrap(), Framing::Need(12));
        assert_eq!(framing(&V2_SIGNATURE).unwrap(), Framing::Need(16));
        let mut head = V2_SIGNATURE.to_vec();
        head.extend_from_slice(&[0x21, 0x11, 0x01, 0x00]);
        assert_eq!(framing(&head).unwrap(), Framing::Need(16 + 256));
        assert_eq!(framing(b"PROXY TCP4 1").unwrap(), Framing::Need(13));
        assert_eq!(framing(b"PROXY UNKNOWN\r\n").unwrap(), Framing::Complete);
    }
}
