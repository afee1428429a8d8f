//! Decoder policies: packet size, string terminators, trailing bytes.

use super::PacketSize;

/// What to do with a string whose 0x00 terminator byte is something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Terminators {
    /// Reject it with [`DecodeError::BadTerminator`](super::DecodeError::BadTerminator)
    /// (default; a missing NUL shifts every later field).
    #[default]
    Strict,
    /// Skip the byte unchecked, as Tomcat and mod_jk do.
    Lenient,
}

/// What to do with bytes left inside a frame after its message ended (after the `FF`
/// of a FORWARD_REQUEST, after a body packet's data, after the NUL of a SEND_BODY_CHUNK,
/// after a CPING, CPONG, END_RESPONSE or GET_BODY_CHUNK).
///
/// Tomcat ignores them, its own test client sends them in body packets
/// (`00 03 61 62 63 00 00 00 FF`), and mod_jk ignores them too, so the default is to
/// ignore them. The sans-I/O functions report how many there were in
/// [`Decoded::trailing_bytes`](super::Decoded::trailing_bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TrailingBytes {
    /// Accept the frame and ignore them (default; what Tomcat and mod_jk do).
    #[default]
    Ignore,
    /// Reject the frame with [`DecodeError::TrailingBytes`](super::DecodeError::TrailingBytes).
    Reject,
}

/// Everything a decoder needs besides the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DecodeOptions {
    /// The packet size P shared with the peer.
    pub packet_size: PacketSize,
    /// String terminator policy.
    pub terminators: Terminators,
    /// Trailing-bytes policy.
    pub trailing_bytes: TrailingBytes,
}

impl DecodeOptions {
    /// Default policies (strict terminators, ignored trailing bytes) for a packet size.
    pub const fn new(packet_size: PacketSize) -> Self {
        DecodeOptions {
            packet_size,
            terminators: Terminators::Strict,
            trailing_bytes: TrailingBytes::Ignore,
        }
    }
}
