//! The proxy side of the AJP13 wire as the relay uses it: the codec's encoders
//! and its zero-copy container decoder, straight on a connection's buffers.

use bytes::{Bytes, BytesMut};

use super::response_head::{HeadError, MappedHead, map_response_head};
use crate::ajp::{
    ContainerMessage, ContainerMessageRef, DecodeError, DecodeOptions, Direction, EncodeError,
    FrameStatus, PacketSize, ProxyMessage, check_frame, decode_container_message_from,
    decode_container_message_with, encode_body as encode_body_packet,
    encode_forward_request_from_head, encode_proxy_message,
};

/// Encodes `message` into `dst` (after whatever is already there); nothing is
/// written on error.
pub fn encode_proxy(
    message: &ProxyMessage,
    dst: &mut BytesMut,
    packet_size: PacketSize,
) -> Result<(), EncodeError> {
    encode_proxy_message(message, packet_size, dst)
}

/// Encodes the FORWARD_REQUEST of a context for one attempt: its head, encoded once per
/// client request, framed with the attempt's attributes (`secret`: the member's).
pub fn encode_forward(
    ctx: &super::ForwardContext,
    secret: Option<&[u8]>,
    dst: &mut BytesMut,
    packet_size: PacketSize,
) -> Result<(), EncodeError> {
    encode_forward_request_from_head(&ctx.head, ctx.attributes(secret), packet_size, dst)
}

/// Encodes one request-body packet; empty `data` gives the end-of-body packet
/// `12 34 00 00`. The relay never hands more than P − 6 bytes.
pub fn encode_body(data: &[u8], dst: &mut BytesMut, packet_size: PacketSize) {
    if encode_body_packet(data, packet_size, dst).is_err() {
        // Unreachable by construction (data ≤ P − 6); end the body rather than
        // sending something Tomcat did not ask for.
        let _ = encode_body_packet(&[], packet_size, dst);
    }
}

/// True when `buf` starts with a whole packet (header and declared payload).
pub fn whole_packet_buffered(buf: &[u8]) -> bool {
    buf.len() >= 4 && buf.len() >= 4 + usize::from(u16::from_be_bytes([buf[2], buf[3]]))
}

/// Decodes one container packet from the front of `buf`, consuming it; `None`
/// when more bytes are needed.
pub fn decode_container(
    buf: &mut BytesMut,
    options: &DecodeOptions,
) -> Result<Option<ContainerMessage>, DecodeError> {
    Ok(decode_container_message_from(buf, options)?.map(|decoded| decoded.message))
}

/// One container packet as the relay takes it: SEND_HEADERS already mapped to the head
/// the client gets (straight from the packet, see [`map_response_head`]), a body chunk
/// sharing the packet's buffer.
#[derive(Debug)]
pub(crate) enum Reply {
    /// SEND_HEADERS, mapped (or why it cannot be).
    Head(Result<MappedHead, HeadError>),
    /// SEND_BODY_CHUNK's data; empty is Tomcat's flush.
    BodyChunk(Bytes),
    /// GET_BODY_CHUNK: the member asks for up to this many request body bytes.
    GetBodyChunk { requested_len: u16 },
    /// END_RESPONSE: whether the member keeps the connection open.
    EndResponse { reuse: bool },
    /// CPONG.
    CPong,
}

/// How many bytes the container packet at the front of `buf` still lacks (at least its
/// 4-byte header); 0 when it is whole. The header is checked as soon as it is there: a
/// member that answers something else than AJP (an HTTP connector on the AJP port answers
/// `HTTP/1.1 …`, whose first bytes read as a length) is an error at once, not a wait for
/// the bytes that length promises.
pub(crate) fn reply_bytes_missing(
    buf: &[u8],
    options: &DecodeOptions,
) -> Result<usize, DecodeError> {
    Ok(
        match check_frame(buf, Direction::FromContainer, options.packet_size)? {
            FrameStatus::Complete { .. } => 0,
            FrameStatus::Incomplete { needed } => needed,
        },
    )
}

/// Decodes one container packet from the front of `buf` as a [`Reply`], consuming it;
/// `None` when more bytes are needed. `is_head`: the request was a HEAD.
pub(crate) fn decode_reply(
    buf: &mut BytesMut,
    options: &DecodeOptions,
    is_head: bool,
) -> Result<Option<Reply>, DecodeError> {
    let decoded = decode_container_message_with(buf, options, |message, payload| match message {
        ContainerMessageRef::SendHeaders(head) => {
            Reply::Head(map_response_head(&head, payload, is_head))
        }
        ContainerMessageRef::SendBodyChunk(data) => Reply::BodyChunk(payload.share(data)),
        ContainerMessageRef::GetBodyChunk { requested_len } => {
            Reply::GetBodyChunk { requested_len }
        }
        ContainerMessageRef::EndResponse { reuse } => Reply::EndResponse { reuse },
        ContainerMessageRef::CPong => Reply::CPong,
    })?;
    Ok(decoded.map(|decoded| decoded.message))
}
