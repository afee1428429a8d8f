//! Typed decode and encode errors. Every decode error says what was wrong and where:
//! offsets count bytes from the first magic byte of the frame, so they match a hex dump.

/// Which way a packet travels; decides the magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Proxy (web server) → container, magic `12 34`.
    ToContainer,
    /// Container → proxy, magic `41 42` ("AB").
    FromContainer,
}

impl Direction {
    /// The two magic bytes of this direction as a big-endian u16.
    pub const fn magic(self) -> u16 {
        match self {
            Direction::ToContainer => 0x1234,
            Direction::FromContainer => 0x4142,
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::ToContainer => "proxy-to-container",
            Direction::FromContainer => "container-to-proxy",
        })
    }
}

/// A packet that cannot be decoded. The connection it came from is out of sync and must
/// be closed; nothing about it may be retried on the same connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The first two bytes are not the magic of the expected direction.
    #[error("bad AJP magic 0x{found:04X} at offset 0 (expected 0x{expected:04X})")]
    BadMagic {
        /// The two bytes found, big-endian.
        found: u16,
        /// The magic this decoder expects.
        expected: u16,
    },
    /// The declared payload length exceeds P − 4; detected before reading the payload.
    #[error(
        "AJP {direction} packet declares a {declared}-byte payload, more than the {max} bytes the packet size allows"
    )]
    FrameTooLarge {
        /// Direction of the packet.
        direction: Direction,
        /// Declared payload length.
        declared: usize,
        /// Largest payload allowed (P − 4).
        max: usize,
    },
    /// A frame with a zero-length payload where a message with a prefix code is required.
    #[error("empty AJP {direction} packet where a message was expected")]
    EmptyFrame {
        /// Direction of the packet.
        direction: Direction,
    },
    /// The prefix code is not a message this side may receive.
    #[error("unexpected AJP {direction} message type 0x{code:02X} at offset 4")]
    UnexpectedMessageType {
        /// Direction of the packet.
        direction: Direction,
        /// The prefix code found.
        code: u8,
    },
    /// A field runs past the end of the frame's payload.
    #[error(
        "AJP field `{field}` at offset {offset} needs {needed} bytes but only {available} remain in the packet"
    )]
    Truncated {
        /// Name of the field being read.
        field: &'static str,
        /// Offset of the field.
        offset: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the payload.
        available: usize,
    },
    /// A string is not followed by its 0x00 terminator (strict terminator policy).
    #[error(
        "AJP string `{field}` ends at offset {offset} with 0x{found:02X} instead of its 0x00 terminator"
    )]
    BadTerminator {
        /// Name of the string field.
        field: &'static str,
        /// Offset of the terminator byte.
        offset: usize,
        /// The byte found instead of 0x00.
        found: u8,
    },
    /// A null string (`FF FF`) where a value is required.
    #[error("AJP string `{field}` at offset {offset} is null where a value is required")]
    NullString {
        /// Name of the string field.
        field: &'static str,
        /// Offset of the length bytes.
        offset: usize,
    },
    /// A method byte outside 1..=27 and 0xFF.
    #[error("invalid AJP method code {code} at offset {offset}")]
    InvalidMethod {
        /// The method byte.
        code: u8,
        /// Offset of the method byte.
        offset: usize,
    },
    /// A request header code `A0 nn` outside `A0 01`..`A0 0E`.
    #[error("invalid AJP request header code 0x{code:04X} at offset {offset}")]
    InvalidRequestHeaderCode {
        /// The code found.
        code: u16,
        /// Offset of the code.
        offset: usize,
    },
    /// A response header code `A0 nn` outside `A0 01`..`A0 0B`.
    #[error("invalid AJP response header code 0x{code:04X} at offset {offset}")]
    InvalidResponseHeaderCode {
        /// The code found.
        code: u16,
        /// Offset of the code.
        offset: usize,
    },
    /// An attribute code other than 0x01..=0x0D and the 0xFF terminator.
    #[error("unknown AJP attribute code 0x{code:02X} at offset {offset}")]
    UnknownAttribute {
        /// The attribute code.
        code: u8,
        /// Offset of the code.
        offset: usize,
    },
    /// END_RESPONSE's reuse byte is 0xFF, which mod_jk treats as an error.
    #[error("invalid AJP END_RESPONSE reuse byte 0x{found:02X} at offset {offset}")]
    InvalidReuse {
        /// The byte found.
        found: u8,
        /// Offset of the byte.
        offset: usize,
    },
    /// Bytes after the end of the message inside the frame (only with
    /// [`TrailingBytes::Reject`](crate::ajp::TrailingBytes::Reject)).
    #[error("{count} unexpected bytes after the end of an AJP {message} at offset {offset}")]
    TrailingBytes {
        /// The message that ended early.
        message: &'static str,
        /// Offset of the first trailing byte.
        offset: usize,
        /// How many bytes trail.
        count: usize,
    },
}

/// A message that cannot be encoded as valid AJP13. Nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The encoded message would exceed the packet size (payload above P − 4, or a body
    /// chunk above its per-packet limit).
    #[error("AJP {message} needs {len} bytes but at most {max} fit ({what})")]
    TooLarge {
        /// The message being encoded.
        message: &'static str,
        /// What was measured (payload, body data, requested length).
        what: &'static str,
        /// The size it would have.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field holds a byte AJP peers misread (NUL truncates in mod_jk; CR/LF split
    /// headers).
    #[error("AJP field `{field}` contains forbidden byte 0x{byte:02X}")]
    ForbiddenByte {
        /// The field.
        field: &'static str,
        /// The forbidden byte.
        byte: u8,
    },
    /// A null value where AJP requires a value.
    #[error("AJP field `{field}` is null but requires a value")]
    NullNotAllowed {
        /// The field.
        field: &'static str,
    },
    /// A string longer than an AJP string length can express here (0xFFFF means null;
    /// header names whose length has high byte 0xA0 would read as codes).
    #[error("AJP string `{field}` is {len} bytes long, which its length field cannot express")]
    StringTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// An empty string header name.
    #[error("AJP `{field}` is empty")]
    EmptyHeaderName {
        /// The field.
        field: &'static str,
    },
    /// Method byte 0xFF (stored) without a stored-method attribute: Tomcat would leave
    /// the method unset.
    #[error("AJP FORWARD_REQUEST has the stored method byte 0xFF but no stored_method attribute")]
    MissingStoredMethod,
}
