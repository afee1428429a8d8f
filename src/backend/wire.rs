//! The proxy side of the AJP13 wire as the relay uses it: the codec's encoders
//! and its zero-copy container decoder, straight on a connection's buffers.

use bytes::BytesMut;

use crate::ajp::{
    ContainerMessage, DecodeError, DecodeOptions, EncodeError, ForwardRequest, PacketSize,
    ProxyMessage, decode_container_message_from, encode_body as encode_body_packet,
    encode_forward_request, encode_proxy_message,
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

/// Encodes a FORWARD_REQUEST by reference: the request of a context is sent once per
/// attempt and must not be copied for it.
pub fn encode_forward(
    request: &ForwardRequest,
    dst: &mut BytesMut,
    packet_size: PacketSize,
) -> Result<(), EncodeError> {
    encode_forward_request(request, packet_size, dst)
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
