//! Entry points for the server's fuzz targets (and their corpus replay): bytes in, never a
//! panic.

use super::proxy_protocol::{Framing, V1_MAX, framing, parse};

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
