//! The AJP13 codec: message model, sans-I/O decoders and encoders, and (with the
//! `tokio-codec` feature) tokio-util `Decoder`/`Encoder` adapters.

#[cfg(feature = "tokio-codec")]
mod codec;
mod decode;
mod encode;
mod error;
mod message;
mod options;
mod packet_size;

#[cfg(feature = "tokio-codec")]
pub use codec::{CodecError, ContainerCodec, ProxyCodec};
pub use decode::{
    ContainerState, DecodeStatus, Decoded, FrameStatus, check_frame, decode_container_message,
    decode_container_message_from, decode_proxy_message, decode_proxy_message_from,
    parse_container_payload, parse_proxy_payload,
};
pub use encode::{
    encode_body, encode_container_message, encode_forward_request, encode_proxy_message,
};
pub use error::{DecodeError, Direction, EncodeError};
pub use message::*;
pub use options::{DecodeOptions, Terminators, TrailingBytes};
pub use packet_size::{HEADER_LEN, InvalidPacketSize, PacketSize};
