//! The AJP13 codec: message model, sans-I/O decoders and encoders, and (with the
//! `tokio-codec` feature) tokio-util `Decoder`/`Encoder` adapters.

mod decode;
mod error;
mod message;
mod options;
mod packet_size;

pub use decode::Decoded;
pub use error::{DecodeError, Direction, EncodeError};
pub use message::*;
pub use options::{DecodeOptions, Terminators, TrailingBytes};
pub use packet_size::{HEADER_LEN, InvalidPacketSize, PacketSize};
