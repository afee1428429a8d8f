//! tokio-util [`Decoder`]/[`Encoder`] adapters over the sans-I/O functions (feature
//! `tokio-codec`). One decoded item per frame; frames are split off the read buffer
//! without copying, and a partial frame simply waits for more bytes.

use std::io;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use super::decode::{ContainerState, decode_container_message_from, decode_proxy_message_from};
use super::encode::{encode_container_message, encode_forward_request, encode_proxy_message};
use super::error::{DecodeError, EncodeError};
use super::message::{ContainerMessage, ForwardRequest, ProxyMessage};
use super::options::DecodeOptions;

/// Failure of an AJP codec on a stream. After any of these the connection must be
/// closed; it cannot be resynchronised.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// Reading or writing the underlying stream failed.
    #[error("AJP connection I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The peer sent a packet that does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message given to the encoder is not valid AJP13; nothing was written.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The stream ended inside a frame.
    #[error(
        "AJP connection closed by the peer in the middle of a packet ({buffered} bytes buffered)"
    )]
    ClosedMidFrame {
        /// Bytes of the partial frame.
        buffered: usize,
    },
}

fn decode_eof_with<T>(
    buffer: &mut BytesMut,
    decode: impl FnOnce(&mut BytesMut) -> Result<Option<T>, CodecError>,
) -> Result<Option<T>, CodecError> {
    match decode(buffer)? {
        Some(item) => Ok(Some(item)),
        None if buffer.is_empty() => Ok(None),
        None => Err(CodecError::ClosedMidFrame {
            buffered: buffer.len(),
        }),
    }
}

/// The proxy (web server) side: encodes [`ProxyMessage`]s (`12 34`), decodes
/// [`ContainerMessage`]s (`41 42`). Stateless: every container packet has a type.
#[derive(Debug, Clone, Default)]
pub struct ProxyCodec {
    options: DecodeOptions,
}

impl ProxyCodec {
    /// A codec with these options (packet size and decoder policies).
    pub const fn new(options: DecodeOptions) -> Self {
        ProxyCodec { options }
    }

    /// The options in use.
    pub const fn options(&self) -> &DecodeOptions {
        &self.options
    }
}

impl Decoder for ProxyCodec {
    type Item = ContainerMessage;
    type Error = CodecError;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        Ok(decode_container_message_from(buffer, &self.options)?.map(|decoded| decoded.message))
    }

    fn decode_eof(&mut self, buffer: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        decode_eof_with(buffer, |buffer| self.decode(buffer))
    }
}

impl Encoder<&ProxyMessage> for ProxyCodec {
    type Error = CodecError;

    fn encode(&mut self, message: &ProxyMessage, dst: &mut BytesMut) -> Result<(), Self::Error> {
        Ok(encode_proxy_message(
            message,
            self.options.packet_size,
            dst,
        )?)
    }
}

impl Encoder<ProxyMessage> for ProxyCodec {
    type Error = CodecError;

    fn encode(&mut self, message: ProxyMessage, dst: &mut BytesMut) -> Result<(), Self::Error> {
        Encoder::<&ProxyMessage>::encode(self, &message, dst)
    }
}

impl Encoder<&ForwardRequest> for ProxyCodec {
    type Error = CodecError;

    fn encode(&mut self, request: &ForwardRequest, dst: &mut BytesMut) -> Result<(), Self::Error> {
        Ok(encode_forward_request(
            request,
            self.options.packet_size,
            dst,
        )?)
    }
}

/// The container (Tomcat) side: decodes [`ProxyMessage`]s (`12 34`), encodes
/// [`ContainerMessage`]s (`41 42`). Lets tests play Tomcat.
///
/// It tracks [`ContainerState`] with [`ContainerState::after`]: after a FORWARD_REQUEST
/// whose Content-Length is not exactly 0 every packet is a body packet until an empty
/// one. A container that does not read a body must say so with
/// [`ContainerCodec::set_state`].
#[derive(Debug, Clone, Default)]
pub struct ContainerCodec {
    options: DecodeOptions,
    state: ContainerState,
}

impl ContainerCodec {
    /// A codec awaiting a request, with these options.
    pub const fn new(options: DecodeOptions) -> Self {
        ContainerCodec {
            options,
            state: ContainerState::AwaitingRequest,
        }
    }

    /// The options in use.
    pub const fn options(&self) -> &DecodeOptions {
        &self.options
    }

    /// What the next packet is decoded as.
    pub const fn state(&self) -> ContainerState {
        self.state
    }

    /// Overrides what the next packet is decoded as.
    pub fn set_state(&mut self, state: ContainerState) {
        self.state = state;
    }
}

impl Decoder for ContainerCodec {
    type Item = ProxyMessage;
    type Error = CodecError;

    fn decode(&mut self, buffer: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        let Some(decoded) = decode_proxy_message_from(buffer, self.state, &self.options)? else {
            return Ok(None);
        };
        self.state = self.state.after(&decoded.message);
        Ok(Some(decoded.message))
    }

    fn decode_eof(&mut self, buffer: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        decode_eof_with(buffer, |buffer| self.decode(buffer))
    }
}

impl Encoder<&ContainerMessage> for ContainerCodec {
    type Error = CodecError;

    fn encode(
        &mut self,
        message: &ContainerMessage,
        dst: &mut BytesMut,
    ) -> Result<(), Self::Error> {
        Ok(encode_container_message(
            message,
            self.options.packet_size,
            dst,
        )?)
    }
}

impl Encoder<ContainerMessage> for ContainerCodec {
    type Error = CodecError;

    fn encode(&mut self, message: ContainerMessage, dst: &mut BytesMut) -> Result<(), Self::Error> {
        Encoder::<&ContainerMessage>::encode(self, &message, dst)
    }
}
