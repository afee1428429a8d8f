//! Sans-I/O decoding: frame check, then complete parsers over the exact payload.

/// A message decoded from one whole frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded<M> {
    /// The message.
    pub message: M,
    /// Bytes of the frame, header included, consumed from the input.
    pub frame_len: usize,
    /// Bytes inside the frame after the end of the message (see
    /// [`TrailingBytes`](super::TrailingBytes)).
    pub trailing_bytes: usize,
}
