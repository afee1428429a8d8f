//! The AJP13 (Apache JServ Protocol 1.3) codec: every packet of both directions as
//! plain data, sans-I/O decoders and encoders, and (feature `tokio-codec`) tokio-util
//! `Decoder`/`Encoder` pairs for both ends of a connection: `ProxyCodec` (encodes
//! requests, decodes container messages) and `ContainerCodec` (the reverse, so tests
//! can play Tomcat).
//!
//! * **Model** — [`ProxyMessage`] (proxy → container: [`ForwardRequest`], body packets,
//!   CPING, SHUTDOWN, PING) and [`ContainerMessage`] (container → proxy: [`SendHeaders`],
//!   body chunks, GET_BODY_CHUNK, END_RESPONSE, CPONG). Values are [`bytes::Bytes`],
//!   never UTF-8-checked; `Option<Bytes>` keeps null (`FF FF`) apart from empty.
//! * **Decoding** — [`check_frame`] confirms a whole packet is buffered (magic, declared
//!   length ≤ P − 4 checked before anything is allocated), then complete nom parsers
//!   read the exact payload. A partial packet is "need more bytes"
//!   ([`DecodeStatus::Incomplete`]); everything else wrong is a [`DecodeError`] naming
//!   the field and its offset. No input panics (fuzzed; see `fuzz/`).
//! * **Borrowed decoding** — [`decode_proxy_message_ref`] and
//!   [`decode_container_message_ref`] give views ([`ForwardRequestRef`],
//!   [`SendHeadersRef`], …) whose strings are `&[u8]` into the input: no allocation, no
//!   reference counting; header and attribute lists are validated up front and parsed
//!   again lazily on iteration. The owned decoders are these plus `into_owned`.
//! * **Policies** ([`DecodeOptions`]) — string terminators are checked strictly by
//!   default ([`Terminators`]); bytes left inside a frame after its message are ignored
//!   by default, as Tomcat and mod_jk do, and counted in [`Decoded::trailing_bytes`]
//!   ([`TrailingBytes::Reject`] makes them an error).
//! * **Encoding** — [`encode_proxy_message`], [`encode_container_message`] and friends
//!   append one frame to a `BytesMut`, computing the length from the validated message;
//!   they refuse (with an [`EncodeError`], writing nothing) what cannot be valid AJP:
//!   too large for the [`PacketSize`], null where a value is required, NUL/CR/LF in
//!   header names or values, a stored method without its name.
//!   [`ForwardRequestHeadBuilder`] writes a FORWARD_REQUEST's member-independent part
//!   once from borrowed fields, and [`encode_forward_request_from_head`] frames it with
//!   each attempt's attributes: the same bytes, without an owned request per attempt.
//! * **Structured generation** (feature `ajp-fuzz`) — `structured` builds arbitrary
//!   typed messages from `arbitrary` input, for the fuzz targets and `jkgate ajp fuzz`.
//! * **Container side** — a body packet has no type byte, so a container decodes with a
//!   [`ContainerState`]; [`ContainerState::after`] gives Tomcat's transitions.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use jkgate::ajp::*;
//!
//! // Proxy side: encode a request.
//! let mut request = ForwardRequest {
//!     req_uri: Some(Bytes::from_static(b"/app/hello")),
//!     remote_addr: Some(Bytes::from_static(b"192.0.2.10")),
//!     server_name: Some(Bytes::from_static(b"www.example.com")),
//!     ..ForwardRequest::default()
//! };
//! request.set_method_name(b"PATCH"); // no AJP code: sent as 0xFF + stored_method
//! request.push_header(Bytes::from_static(b"Host"), Bytes::from_static(b"www.example.com"));
//! request.attributes.push(Attribute::QueryString(Bytes::from_static(b"a=1")));
//! let mut wire = BytesMut::new();
//! encode_forward_request(&request, PacketSize::DEFAULT, &mut wire)?;
//! assert_eq!(&wire[..2], &[0x12, 0x34]);
//!
//! // Decode the response Tomcat sent: SEND_HEADERS then END_RESPONSE, in one read.
//! let response: &[u8] = &[
//!     0x41, 0x42, 0x00, 0x0B, 0x04, 0x01, 0x30, 0x00, 0x03, b'3', b'0', b'4', 0x00, 0x00, 0x00,
//!     0x41, 0x42, 0x00, 0x02, 0x05, 0x01,
//! ];
//! let options = DecodeOptions::default();
//! let DecodeStatus::Complete(first) = decode_container_message(response, &options)? else {
//!     unreachable!("a whole frame is buffered")
//! };
//! let ContainerMessage::SendHeaders(headers) = first.message else { unreachable!() };
//! assert_eq!(headers.status, 304);
//! let rest = &response[first.frame_len..];
//! let DecodeStatus::Complete(last) = decode_container_message(rest, &options)? else {
//!     unreachable!()
//! };
//! assert_eq!(last.message, ContainerMessage::EndResponse { reuse: true });
//!
//! // Half a packet is not an error, just not enough bytes yet.
//! assert_eq!(
//!     decode_container_message(&response[..6], &options)?,
//!     DecodeStatus::Incomplete { needed: 9 }
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[cfg(feature = "tokio-codec")]
mod codec;
mod decode;
mod encode;
mod error;
mod forward_head;
#[doc(hidden)]
pub mod fuzzing;
mod message;
mod options;
mod packet_size;
#[cfg(feature = "ajp-fuzz")]
pub mod structured;
mod view;

#[cfg(feature = "tokio-codec")]
pub use codec::{CodecError, ContainerCodec, ProxyCodec};
pub use decode::{
    ContainerState, DecodeStatus, Decoded, FrameStatus, check_frame, decode_container_message,
    decode_container_message_from, decode_container_message_ref, decode_container_message_with,
    decode_proxy_message, decode_proxy_message_from, decode_proxy_message_ref,
    parse_container_payload, parse_container_payload_ref, parse_proxy_payload,
    parse_proxy_payload_ref,
};
pub use encode::{
    encode_body, encode_container_message, encode_forward_request, encode_proxy_message,
};
pub use error::{DecodeError, Direction, EncodeError};
pub use forward_head::{
    ForwardRequestHead, ForwardRequestHeadBuilder, RequestLine, encode_forward_request_from_head,
};
pub use message::*;
pub use options::{DecodeOptions, Terminators, TrailingBytes};
pub use packet_size::{HEADER_LEN, InvalidPacketSize, PacketSize};
pub use view::{
    AttributeRef, AttributesIter, AttributesRef, ContainerMessageRef, ForwardRequestRef,
    FramePayload, ProxyMessageRef, RequestHeaderNameRef, RequestHeadersIter, RequestHeadersRef,
    ResponseHeaderNameRef, ResponseHeadersIter, ResponseHeadersRef, SendHeadersRef,
};
