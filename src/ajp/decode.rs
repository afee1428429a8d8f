//! Sans-I/O decoding in two layers, as tokio-util's `LengthDelimitedCodec` and
//! tls-parser do it:
//!
//! 1. **Frame layer** ([`check_frame`]): streaming nom parsers read the 4-byte header,
//!    check the magic and reject a declared length above P − 4 *before* anything is
//!    allocated. A partial frame is [`FrameStatus::Incomplete`], never an error.
//! 2. **Payload layer** (`parse_*_payload`): *complete* nom parsers run over the exact
//!    payload slice, so a field that runs past the payload is a typed
//!    [`DecodeError::Truncated`], never "need more bytes".
//!
//! Both layers return borrowed views ([`ProxyMessageRef`], [`ContainerMessageRef`]);
//! the owned messages are conversions of those views, so there is one grammar and the
//! two paths accept and reject exactly the same bytes.
//!
//! Decoding never panics and never allocates more than the frame it was given; the
//! borrowed decode allocates nothing.

use bytes::{Buf, Bytes, BytesMut};
use nom::{IResult, Parser};

use super::error::{DecodeError, Direction};
use super::message::*;
use super::options::{DecodeOptions, Terminators, TrailingBytes};
use super::packet_size::{HEADER_LEN, PacketSize};
use super::view::*;

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

/// The result of a decode attempt on a byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeStatus<M> {
    /// Not a whole frame yet: read at least `needed` more bytes. Nothing was consumed.
    Incomplete {
        /// Bytes missing from the frame (or from its header, if that is still short).
        needed: usize,
    },
    /// One whole frame was decoded; `frame_len` bytes were used.
    Complete(Decoded<M>),
}

/// What the frame layer found at the start of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStatus {
    /// Not a whole frame yet: at least `needed` more bytes are required.
    Incomplete {
        /// Bytes missing.
        needed: usize,
    },
    /// A whole frame is buffered.
    Complete {
        /// Payload length declared in the header.
        payload_len: usize,
    },
}

impl FrameStatus {
    /// Header plus payload length of a complete frame.
    pub const fn frame_len(self) -> Option<usize> {
        match self {
            FrameStatus::Complete { payload_len } => Some(HEADER_LEN + payload_len),
            FrameStatus::Incomplete { .. } => None,
        }
    }
}

/// What a container-side decoder expects next; the only way to tell a request-body
/// packet (no prefix code) from a new message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ContainerState {
    /// Between requests: FORWARD_REQUEST, CPING, SHUTDOWN or PING may come.
    #[default]
    AwaitingRequest,
    /// Inside a request whose body is not finished: every packet is a body packet,
    /// until an empty one.
    AwaitingBody,
}

impl ContainerState {
    /// The state after receiving `message` in this state, following Tomcat: a
    /// FORWARD_REQUEST is followed by body packets unless its Content-Length is
    /// exactly 0 (absent means unknown length, so the container will ask); an empty
    /// body packet ends the body. A container that decides not to read a body (or has
    /// swallowed the one unsolicited packet) sets the state itself.
    pub fn after(self, message: &ProxyMessage) -> ContainerState {
        match message {
            ProxyMessage::ForwardRequest(request) => match request.content_length() {
                ContentLength::Length(0) => ContainerState::AwaitingRequest,
                _ => ContainerState::AwaitingBody,
            },
            ProxyMessage::Body(data) if data.is_empty() => ContainerState::AwaitingRequest,
            ProxyMessage::Body(_) => ContainerState::AwaitingBody,
            ProxyMessage::CPing | ProxyMessage::Shutdown | ProxyMessage::Ping => self,
        }
    }

    /// [`ContainerState::after`] for a borrowed message, with the same transitions.
    pub fn after_ref(self, message: &ProxyMessageRef<'_>) -> ContainerState {
        match message {
            ProxyMessageRef::ForwardRequest(request) => match request.content_length() {
                ContentLength::Length(0) => ContainerState::AwaitingRequest,
                _ => ContainerState::AwaitingBody,
            },
            ProxyMessageRef::Body([]) => ContainerState::AwaitingRequest,
            ProxyMessageRef::Body(_) => ContainerState::AwaitingBody,
            ProxyMessageRef::CPing | ProxyMessageRef::Shutdown | ProxyMessageRef::Ping => self,
        }
    }
}

// === frame layer ===

/// Checks whether `input` starts with a whole frame of `direction`: magic, then a
/// declared payload length no larger than P − 4 (checked before the payload is read),
/// then the payload. Only the first frame is looked at.
pub fn check_frame(
    input: &[u8],
    direction: Direction,
    packet_size: PacketSize,
) -> Result<FrameStatus, DecodeError> {
    // Slice patterns rather than nom's streaming parsers: this runs before every packet
    // is decoded, and on a relay's read loop once more per packet.
    let header_missing = || {
        Ok(FrameStatus::Incomplete {
            needed: HEADER_LEN - input.len(),
        })
    };
    let expected = direction.magic();
    let [m0, m1, rest @ ..] = input else {
        return header_missing();
    };
    let magic = u16::from_be_bytes([*m0, *m1]);
    if magic != expected {
        return Err(DecodeError::BadMagic {
            found: magic,
            expected,
        });
    }
    let [l0, l1, payload @ ..] = rest else {
        return header_missing();
    };
    let payload_len = usize::from(u16::from_be_bytes([*l0, *l1]));
    let max = packet_size.max_payload();
    if payload_len > max {
        return Err(DecodeError::FrameTooLarge {
            direction,
            declared: payload_len,
            max,
        });
    }
    Ok(match payload_len.checked_sub(payload.len()) {
        Some(needed) if needed > 0 => FrameStatus::Incomplete { needed },
        _ => FrameStatus::Complete { payload_len },
    })
}

/// Runs the frame check, then `parse` over the payload in place (nothing is copied).
fn decode_in_place<'a, M>(
    input: &'a [u8],
    direction: Direction,
    packet_size: PacketSize,
    parse: impl FnOnce(&'a [u8]) -> Result<(M, usize), DecodeError>,
) -> Result<DecodeStatus<M>, DecodeError> {
    match check_frame(input, direction, packet_size)? {
        FrameStatus::Incomplete { needed } => Ok(DecodeStatus::Incomplete { needed }),
        FrameStatus::Complete { payload_len } => {
            let frame_len = HEADER_LEN + payload_len;
            let payload = input.get(HEADER_LEN..frame_len).unwrap_or_default();
            let (message, trailing_bytes) = parse(payload)?;
            Ok(DecodeStatus::Complete(Decoded {
                message,
                frame_len,
                trailing_bytes,
            }))
        }
    }
}

impl<M> DecodeStatus<M> {
    /// Converts the message of a complete decode, keeping the frame accounting.
    fn map_message<N>(self, convert: impl FnOnce(M) -> N) -> DecodeStatus<N> {
        match self {
            DecodeStatus::Incomplete { needed } => DecodeStatus::Incomplete { needed },
            DecodeStatus::Complete(decoded) => DecodeStatus::Complete(Decoded {
                message: convert(decoded.message),
                frame_len: decoded.frame_len,
                trailing_bytes: decoded.trailing_bytes,
            }),
        }
    }
}

/// Runs the frame check, then splits the frame off `buffer` (zero-copy) and parses it.
/// On `Ok(None)` nothing was consumed and room for the rest of the frame is reserved;
/// on an error nothing was consumed either.
fn decode_from_buffer<M>(
    buffer: &mut BytesMut,
    direction: Direction,
    packet_size: PacketSize,
    parse: impl FnOnce(&Bytes) -> Result<(M, usize), DecodeError>,
) -> Result<Option<Decoded<M>>, DecodeError> {
    match check_frame(buffer, direction, packet_size)? {
        FrameStatus::Incomplete { needed } => {
            buffer.reserve(needed);
            Ok(None)
        }
        FrameStatus::Complete { payload_len } => {
            let frame_len = HEADER_LEN + payload_len;
            // The header is stepped over, not split off: one shared handle (one reference
            // count) per frame, its payload's.
            let mut header = [0u8; HEADER_LEN];
            header.copy_from_slice(&buffer[..HEADER_LEN]);
            buffer.advance(HEADER_LEN);
            let payload = buffer.split_to(payload_len).freeze();
            match parse(&payload) {
                Ok((message, trailing_bytes)) => Ok(Some(Decoded {
                    message,
                    frame_len,
                    trailing_bytes,
                })),
                Err(error) => {
                    // A bad frame leaves the buffer as it was: the frame back in front of
                    // whatever followed it.
                    let mut restored = BytesMut::with_capacity(frame_len + buffer.len());
                    restored.extend_from_slice(&header);
                    restored.extend_from_slice(&payload);
                    restored.extend_from_slice(buffer);
                    *buffer = restored;
                    Err(error)
                }
            }
        }
    }
}

// === public entry points ===

/// Proxy side: decodes the first container → proxy frame (`41 42`) of `input`,
/// copying its payload once (the message's fields share that copy).
///
/// The borrowed decode ([`decode_container_message_ref`]) does the parsing; this only
/// converts a message that parsed, so both accept and reject exactly the same bytes.
pub fn decode_container_message(
    input: &[u8],
    options: &DecodeOptions,
) -> Result<DecodeStatus<ContainerMessage>, DecodeError> {
    Ok(decode_container_message_ref(input, options)?.map_message(ContainerMessageRef::into_owned))
}

/// Proxy side: decodes the first container → proxy frame (`41 42`) of `input` as a
/// view borrowing from `input`: no allocation, no reference counting.
pub fn decode_container_message_ref<'a>(
    input: &'a [u8],
    options: &DecodeOptions,
) -> Result<DecodeStatus<ContainerMessageRef<'a>>, DecodeError> {
    decode_in_place(
        input,
        Direction::FromContainer,
        options.packet_size,
        |payload| parse_container_payload_ref(payload, options),
    )
}

/// Proxy side: splits the first container → proxy frame off `buffer` (zero-copy) and
/// decodes it; `Ok(None)` when the frame is not complete yet.
pub fn decode_container_message_from(
    buffer: &mut BytesMut,
    options: &DecodeOptions,
) -> Result<Option<Decoded<ContainerMessage>>, DecodeError> {
    decode_from_buffer(
        buffer,
        Direction::FromContainer,
        options.packet_size,
        |payload| parse_container_payload(payload, options),
    )
}

/// Proxy side: splits the first container → proxy frame off `buffer` (zero-copy) and
/// hands its borrowed view, with the payload the view lies in, to `use_view`; `Ok(None)`
/// when the frame is not complete yet. For a caller that turns a message straight into
/// its own types: a field it keeps is shared off the payload ([`FramePayload::share`], no
/// copy), and the owned message with its list of headers is never built.
pub fn decode_container_message_with<T>(
    buffer: &mut BytesMut,
    options: &DecodeOptions,
    use_view: impl FnOnce(ContainerMessageRef<'_>, FramePayload<'_>) -> T,
) -> Result<Option<Decoded<T>>, DecodeError> {
    decode_from_buffer(
        buffer,
        Direction::FromContainer,
        options.packet_size,
        |payload| {
            let (message, trailing) = parse_container_payload_ref(payload, options)?;
            Ok((use_view(message, FramePayload::new(payload)), trailing))
        },
    )
}

/// Container side: decodes the first proxy → container frame (`12 34`) of `input` as
/// `state` dictates, copying its payload once (the message's fields share that copy).
/// The caller moves its state on with [`ContainerState::after`].
///
/// The borrowed decode ([`decode_proxy_message_ref`]) does the parsing; this only
/// converts a message that parsed, so both accept and reject exactly the same bytes.
pub fn decode_proxy_message(
    input: &[u8],
    state: ContainerState,
    options: &DecodeOptions,
) -> Result<DecodeStatus<ProxyMessage>, DecodeError> {
    Ok(decode_proxy_message_ref(input, state, options)?.map_message(ProxyMessageRef::into_owned))
}

/// Container side: decodes the first proxy → container frame (`12 34`) of `input` as
/// `state` dictates, as a view borrowing from `input`: no allocation, no reference
/// counting. The caller moves its state on with [`ContainerState::after_ref`].
pub fn decode_proxy_message_ref<'a>(
    input: &'a [u8],
    state: ContainerState,
    options: &DecodeOptions,
) -> Result<DecodeStatus<ProxyMessageRef<'a>>, DecodeError> {
    decode_in_place(
        input,
        Direction::ToContainer,
        options.packet_size,
        |payload| parse_proxy_payload_ref(payload, state, options),
    )
}

/// Container side: splits the first proxy → container frame off `buffer` (zero-copy)
/// and decodes it as `state` dictates; `Ok(None)` when it is not complete yet.
pub fn decode_proxy_message_from(
    buffer: &mut BytesMut,
    state: ContainerState,
    options: &DecodeOptions,
) -> Result<Option<Decoded<ProxyMessage>>, DecodeError> {
    decode_from_buffer(
        buffer,
        Direction::ToContainer,
        options.packet_size,
        |payload| parse_proxy_payload(payload, state, options),
    )
}

/// Parses one container → proxy payload (the bytes after the 4-byte header). Returns
/// the message, its fields slices of `payload`, and the number of trailing bytes
/// ignored after it.
pub fn parse_container_payload(
    payload: &Bytes,
    options: &DecodeOptions,
) -> Result<(ContainerMessage, usize), DecodeError> {
    let (message, trailing) = parse_container_payload_ref(payload, options)?;
    Ok((
        message.into_owned_in(&Backing::new(payload, payload)),
        trailing,
    ))
}

/// Parses one container → proxy payload as a borrowed view. Returns the message and the
/// number of trailing bytes ignored after it.
pub fn parse_container_payload_ref<'a>(
    payload: &'a [u8],
    options: &DecodeOptions,
) -> Result<(ContainerMessageRef<'a>, usize), DecodeError> {
    let mut parser = PayloadParser::new(payload, options);
    let Some((&code, _)) = payload.split_first() else {
        return Err(DecodeError::EmptyFrame {
            direction: Direction::FromContainer,
        });
    };
    parser.byte("prefix code")?;
    let (message, name) = match code {
        CODE_SEND_HEADERS => (
            ContainerMessageRef::SendHeaders(parser.send_headers()?),
            "SEND_HEADERS",
        ),
        CODE_SEND_BODY_CHUNK => (
            ContainerMessageRef::SendBodyChunk(parser.send_body_chunk()?),
            "SEND_BODY_CHUNK",
        ),
        CODE_GET_BODY_CHUNK => {
            let requested_len = parser.u16("requested_length")?;
            (
                ContainerMessageRef::GetBodyChunk { requested_len },
                "GET_BODY_CHUNK",
            )
        }
        CODE_END_RESPONSE => {
            let offset = parser.offset();
            let reuse = match parser.byte("reuse")? {
                0 => false,
                0xFF => {
                    return Err(DecodeError::InvalidReuse {
                        found: 0xFF,
                        offset,
                    });
                }
                _ => true,
            };
            (ContainerMessageRef::EndResponse { reuse }, "END_RESPONSE")
        }
        CODE_CPONG => (ContainerMessageRef::CPong, "CPONG"),
        _ => {
            return Err(DecodeError::UnexpectedMessageType {
                direction: Direction::FromContainer,
                code,
            });
        }
    };
    let trailing = parser.finish(name)?;
    Ok((message, trailing))
}

/// Parses one proxy → container payload as `state` dictates: in
/// [`ContainerState::AwaitingBody`] every payload is a body packet (an empty payload or
/// a chunk length of 0 is the end of the body); otherwise it must start with a prefix
/// code. Returns the message, its fields slices of `payload`, and the number of
/// trailing bytes ignored after it.
pub fn parse_proxy_payload(
    payload: &Bytes,
    state: ContainerState,
    options: &DecodeOptions,
) -> Result<(ProxyMessage, usize), DecodeError> {
    let (message, trailing) = parse_proxy_payload_ref(payload, state, options)?;
    Ok((
        message.into_owned_in(&Backing::new(payload, payload)),
        trailing,
    ))
}

/// Parses one proxy → container payload as `state` dictates, as a borrowed view; see
/// [`parse_proxy_payload`].
pub fn parse_proxy_payload_ref<'a>(
    payload: &'a [u8],
    state: ContainerState,
    options: &DecodeOptions,
) -> Result<(ProxyMessageRef<'a>, usize), DecodeError> {
    let mut parser = PayloadParser::new(payload, options);
    if state == ContainerState::AwaitingBody {
        if payload.is_empty() {
            return Ok((ProxyMessageRef::Body(&[]), 0));
        }
        let data = parser.request_body()?;
        let trailing = parser.finish("body packet")?;
        return Ok((ProxyMessageRef::Body(data), trailing));
    }
    let Some((&code, _)) = payload.split_first() else {
        return Err(DecodeError::EmptyFrame {
            direction: Direction::ToContainer,
        });
    };
    parser.byte("prefix code")?;
    let (message, name) = match code {
        CODE_FORWARD_REQUEST => (
            ProxyMessageRef::ForwardRequest(parser.forward_request()?),
            "FORWARD_REQUEST",
        ),
        CODE_CPING => (ProxyMessageRef::CPing, "CPING"),
        CODE_SHUTDOWN => (ProxyMessageRef::Shutdown, "SHUTDOWN"),
        CODE_PING => (ProxyMessageRef::Ping, "PING"),
        _ => {
            return Err(DecodeError::UnexpectedMessageType {
                direction: Direction::ToContainer,
                code,
            });
        }
    };
    let trailing = parser.finish(name)?;
    Ok((message, trailing))
}

// === payload layer: complete nom parsers with field-named errors ===
//
// One grammar for both decode paths: these parsers return borrowed views, and the owned
// messages are conversions of those views.

/// The payload parsers' error: only "not enough input" can happen with the parsers
/// used; [`PayloadParser::run`] names the field and offset.
type PayloadError<'a> = nom::error::Error<&'a [u8]>;

type PResult<'a, T> = IResult<&'a [u8], T, PayloadError<'a>>;

fn be_u8(input: &[u8]) -> PResult<'_, u8> {
    nom::number::complete::be_u8(input)
}

fn be_u16(input: &[u8]) -> PResult<'_, u16> {
    nom::number::complete::be_u16(input)
}

fn take(count: usize) -> impl Fn(&[u8]) -> PResult<'_, &[u8]> {
    move |input| nom::bytes::complete::take(count).parse(input)
}

/// nom's error for input that ends too early.
fn eof(input: &[u8]) -> nom::Err<PayloadError<'_>> {
    nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Eof))
}

/// What follows a string's length: `len` bytes and the terminator byte (returned, not
/// judged: the policy is the caller's).
///
/// Every string field goes through this parser, so it splits the slice directly rather
/// than composing nom's generic `take` and `be_u8`, whose complete forms compute a
/// `Needed` size that is then thrown away; the signature is nom's all the same.
#[inline(always)]
fn ajp_string_body(len: u16) -> impl Fn(&[u8]) -> PResult<'_, (&[u8], u8)> {
    move |input| {
        let Some((value, rest)) = input.split_at_checked(usize::from(len)) else {
            return Err(eof(input));
        };
        match rest.split_first() {
            Some((&terminator, rest)) => Ok((rest, (value, terminator))),
            None => Err(eof(rest)),
        }
    }
}

/// A big-endian u16 by slice split (see [`ajp_string_body`] for why not `be_u16`).
#[inline(always)]
fn wire_u16(input: &[u8]) -> PResult<'_, u16> {
    match input.split_first_chunk::<2>() {
        Some((bytes, rest)) => Ok((rest, u16::from_be_bytes(*bytes))),
        None => Err(eof(input)),
    }
}

/// An AJP string: u16 length, then its bytes and a terminator byte; `None` for the
/// null string (length 0xFFFF, nothing after it). One parser per field, so the cursor
/// moves once per string (see [`PayloadParser::string`]).
#[inline(always)]
fn ajp_string(input: &[u8]) -> PResult<'_, Option<(&[u8], u8)>> {
    let (rest, len) = wire_u16(input)?;
    if len == NULL_STRING {
        return Ok((rest, None));
    }
    let (rest, body) = ajp_string_body(len)(rest)?;
    Ok((rest, Some(body)))
}

/// A cursor over one payload: runs the complete nom parsers field by field and turns
/// their failures into [`DecodeError`]s that name the field and its offset. Also the
/// iterator state of the lazy header and attribute lists of the views.
#[derive(Clone)]
pub(crate) struct PayloadParser<'p> {
    payload: &'p [u8],
    remaining: &'p [u8],
    terminators: Terminators,
    trailing_policy: TrailingBytes,
}

/// The null string length.
const NULL_STRING: u16 = 0xFFFF;

/// A header name as the wire has it, before the direction's code table is applied.
enum WireHeaderName<'p> {
    /// `A0 nn`, read at `offset`.
    Code { code: u16, offset: usize },
    /// A string name.
    Named(&'p [u8]),
}

impl<'p> PayloadParser<'p> {
    fn new(payload: &'p [u8], options: &DecodeOptions) -> Self {
        PayloadParser {
            payload,
            remaining: payload,
            terminators: options.terminators,
            trailing_policy: options.trailing_bytes,
        }
    }

    /// A parser for a region that was already validated under the caller's policies:
    /// terminators are not checked again (offsets in errors, which cannot happen, would
    /// count from the region).
    pub(crate) fn revisit(region: &'p [u8]) -> Self {
        PayloadParser {
            payload: region,
            remaining: region,
            terminators: Terminators::Lenient,
            trailing_policy: TrailingBytes::Ignore,
        }
    }

    /// Offset of the next byte, counted from the first magic byte of the frame.
    #[inline(always)]
    fn offset(&self) -> usize {
        HEADER_LEN + (self.payload.len() - self.remaining.len())
    }

    /// The bytes consumed since `start` (an earlier value of `remaining`).
    #[inline(always)]
    fn consumed_since(&self, start: &'p [u8]) -> &'p [u8] {
        start
            .get(..start.len() - self.remaining.len())
            .unwrap_or_default()
    }

    /// The error for a field that runs past the payload; out of line so the inlined
    /// success paths stay small.
    #[cold]
    #[inline(never)]
    fn truncated(&self, field: &'static str, needed: usize) -> DecodeError {
        DecodeError::Truncated {
            field,
            offset: self.offset(),
            needed,
            available: self.remaining.len(),
        }
    }

    /// Runs one nom parser; on failure reports `field` as truncated, needing `needed`.
    #[inline(always)]
    fn run<T>(
        &mut self,
        field: &'static str,
        needed: usize,
        parser: impl FnOnce(&'p [u8]) -> PResult<'p, T>,
    ) -> Result<T, DecodeError> {
        match parser(self.remaining) {
            Ok((rest, value)) => {
                self.remaining = rest;
                Ok(value)
            }
            Err(_) => Err(self.truncated(field, needed)),
        }
    }

    #[inline(always)]
    fn byte(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.run(field, 1, be_u8)
    }

    #[inline(always)]
    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.run(field, 2, be_u16)
    }

    #[inline(always)]
    fn bytes(&mut self, field: &'static str, count: usize) -> Result<&'p [u8], DecodeError> {
        self.run(field, count, take(count))
    }

    /// The 0x00 after a string (or after SEND_BODY_CHUNK data), checked per policy.
    #[inline(always)]
    fn terminator(&mut self, field: &'static str) -> Result<(), DecodeError> {
        let offset = self.offset();
        let found = self.run(field, 1, be_u8)?;
        if found != 0 && self.terminators == Terminators::Strict {
            return Err(DecodeError::BadTerminator {
                field,
                offset,
                found,
            });
        }
        Ok(())
    }

    /// An AJP string: u16 length (0xFFFF = null), bytes, 0x00 terminator.
    #[inline(always)]
    fn string(&mut self, field: &'static str) -> Result<Option<&'p [u8]>, DecodeError> {
        match ajp_string(self.remaining) {
            Ok((rest, None)) => {
                self.remaining = rest;
                Ok(None)
            }
            Ok((rest, Some((value, terminator)))) => {
                self.accept_string(field, rest, value, terminator)
            }
            Err(_) => Err(self.string_error(field)),
        }
    }

    /// Moves past a string whose terminator is `terminator`, or rejects it per policy.
    #[inline(always)]
    fn accept_string(
        &mut self,
        field: &'static str,
        rest: &'p [u8],
        value: &'p [u8],
        terminator: u8,
    ) -> Result<Option<&'p [u8]>, DecodeError> {
        if terminator != 0 && self.terminators == Terminators::Strict {
            return Err(DecodeError::BadTerminator {
                field,
                // The terminator is the byte just before `rest`.
                offset: HEADER_LEN + (self.payload.len() - rest.len()) - 1,
                found: terminator,
            });
        }
        self.remaining = rest;
        Ok(Some(value))
    }

    /// The error for a string at the cursor that [`ajp_string`] could not read: which
    /// of length, bytes and terminator runs past the payload, found by reading them one
    /// at a time. Out of line: only broken packets get here.
    #[cold]
    #[inline(never)]
    fn string_error(&self, field: &'static str) -> DecodeError {
        let mut parser = self.clone();
        let error = (|| {
            let len = parser.u16(field)?;
            parser.bytes(field, usize::from(len))?;
            parser.terminator(field)
        })();
        error.err().unwrap_or(DecodeError::Truncated {
            field,
            offset: self.offset(),
            needed: 2,
            available: self.remaining.len(),
        })
    }

    /// An AJP string that must not be null.
    #[inline(always)]
    fn required_string(&mut self, field: &'static str) -> Result<&'p [u8], DecodeError> {
        let offset = self.offset();
        self.string(field)?
            .ok_or(DecodeError::NullString { field, offset })
    }

    /// Ends the message: returns the count of trailing bytes, or rejects them per policy.
    fn finish(self, message: &'static str) -> Result<usize, DecodeError> {
        let count = self.remaining.len();
        if count > 0 && self.trailing_policy == TrailingBytes::Reject {
            return Err(DecodeError::TrailingBytes {
                message,
                offset: self.offset(),
                count,
            });
        }
        Ok(count)
    }

    /// A header name: a length with high byte 0xA0 is a code, anything else a string
    /// (which must not be null).
    #[inline(always)]
    fn header_name(&mut self, field: &'static str) -> Result<WireHeaderName<'p>, DecodeError> {
        let offset = self.offset();
        let (rest, len) = match wire_u16(self.remaining) {
            Ok(parsed) => parsed,
            Err(_) => return Err(self.truncated(field, 2)),
        };
        if len >> 8 == 0xA0 {
            self.remaining = rest;
            return Ok(WireHeaderName::Code { code: len, offset });
        }
        if len == NULL_STRING {
            return Err(DecodeError::NullString { field, offset });
        }
        match ajp_string_body(len)(rest) {
            Ok((rest, (name, terminator))) => {
                self.accept_string(field, rest, name, terminator)?;
                Ok(WireHeaderName::Named(name))
            }
            Err(_) => Err(self.string_error(field)),
        }
    }

    /// One request header (name, value). Always `Some`: the `Option` only lets the lazy
    /// lists share one iterator shape with attributes.
    #[allow(clippy::type_complexity)]
    #[inline(always)]
    pub(crate) fn next_request_header(
        &mut self,
    ) -> Result<Option<(RequestHeaderNameRef<'p>, Option<&'p [u8]>)>, DecodeError> {
        let name = match self.header_name("request header name")? {
            WireHeaderName::Code { code, offset } => RequestHeaderNameRef::Coded(
                RequestHeaderCode::from_code(code)
                    .ok_or(DecodeError::InvalidRequestHeaderCode { code, offset })?,
            ),
            WireHeaderName::Named(name) => RequestHeaderNameRef::Named(name),
        };
        let value = self.string("request header value")?;
        Ok(Some((name, value)))
    }

    /// One response header (name, value); always `Some`, see `next_request_header`.
    #[allow(clippy::type_complexity)]
    #[inline(always)]
    pub(crate) fn next_response_header(
        &mut self,
    ) -> Result<Option<(ResponseHeaderNameRef<'p>, Option<&'p [u8]>)>, DecodeError> {
        let name = match self.header_name("response header name")? {
            WireHeaderName::Code { code, offset } => ResponseHeaderNameRef::Coded(
                ResponseHeaderCode::from_code(code)
                    .ok_or(DecodeError::InvalidResponseHeaderCode { code, offset })?,
            ),
            WireHeaderName::Named(name) => ResponseHeaderNameRef::Named(name),
        };
        let value = self.string("response header value")?;
        Ok(Some((name, value)))
    }

    /// One attribute, or `None` at the `FF` terminator (consumed). The single-string
    /// attributes share one string read (field named by [`Attribute::code_name`]), which
    /// keeps this small enough to inline into the list loops.
    #[inline]
    pub(crate) fn next_attribute(&mut self) -> Result<Option<AttributeRef<'p>>, DecodeError> {
        let offset = self.offset();
        let code = self.byte("attribute code or 0xFF terminator")?;
        let unknown = || DecodeError::UnknownAttribute { code, offset };
        Ok(Some(match code {
            ATTRIBUTE_TERMINATOR => return Ok(None),
            Attribute::SSL_KEY_SIZE => AttributeRef::SslKeySize(self.u16("ssl_key_size")?),
            Attribute::REQ_ATTRIBUTE => AttributeRef::ReqAttribute {
                name: self.required_string("req_attribute name")?,
                value: self.required_string("req_attribute value")?,
            },
            _ => {
                let field = Attribute::code_name(code).ok_or_else(unknown)?;
                let value = self.required_string(field)?;
                match code {
                    Attribute::CONTEXT => AttributeRef::Context(value),
                    Attribute::SERVLET_PATH => AttributeRef::ServletPath(value),
                    Attribute::REMOTE_USER => AttributeRef::RemoteUser(value),
                    Attribute::AUTH_TYPE => AttributeRef::AuthType(value),
                    Attribute::QUERY_STRING => AttributeRef::QueryString(value),
                    Attribute::ROUTE => AttributeRef::Route(value),
                    Attribute::SSL_CERT => AttributeRef::SslCert(value),
                    Attribute::SSL_CIPHER => AttributeRef::SslCipher(value),
                    Attribute::SSL_SESSION => AttributeRef::SslSession(value),
                    Attribute::SECRET => AttributeRef::Secret(value),
                    Attribute::STORED_METHOD => AttributeRef::StoredMethod(value),
                    // `code_name` knows exactly the codes handled here and above.
                    _ => return Err(unknown()),
                }
            }
        }))
    }

    /// SEND_HEADERS after its prefix. Every header is validated here; the view keeps
    /// their region for lazy iteration.
    fn send_headers(&mut self) -> Result<SendHeadersRef<'p>, DecodeError> {
        let status = self.u16("http_status_code")?;
        let status_msg = self.string("http_status_msg")?;
        let count = self.u16("num_headers")?;
        let start = self.remaining;
        for _ in 0..count {
            self.next_response_header()?;
        }
        Ok(SendHeadersRef {
            status,
            status_msg,
            headers: ResponseHeadersRef::new(self.consumed_since(start), count),
            payload: self.payload,
        })
    }

    /// SEND_BODY_CHUNK after its prefix: length, data, then Tomcat's 0x00 (optional:
    /// the NUL-less form `03 len data` is accepted too, as mod_jk does).
    #[inline]
    fn send_body_chunk(&mut self) -> Result<&'p [u8], DecodeError> {
        let len = self.u16("chunk_length")?;
        let data = self.bytes("chunk data", usize::from(len))?;
        if !self.remaining.is_empty() {
            self.terminator("chunk terminator")?;
        }
        Ok(data)
    }

    /// A request-body packet: length then data (length 0 = end of body).
    #[inline]
    fn request_body(&mut self) -> Result<&'p [u8], DecodeError> {
        let len = self.u16("body chunk_length")?;
        self.bytes("body data", usize::from(len))
    }

    /// FORWARD_REQUEST after its prefix. Every header and attribute is validated here;
    /// the view keeps their regions for lazy iteration.
    fn forward_request(&mut self) -> Result<ForwardRequestRef<'p>, DecodeError> {
        let offset = self.offset();
        let method_code = self.byte("method")?;
        let method = Method::from_code(method_code).ok_or(DecodeError::InvalidMethod {
            code: method_code,
            offset,
        })?;
        let protocol = self.string("protocol")?;
        let req_uri = self.string("req_uri")?;
        let remote_addr = self.string("remote_addr")?;
        let remote_host = self.string("remote_host")?;
        let server_name = self.string("server_name")?;
        let server_port = self.u16("server_port")?;
        let is_ssl = self.byte("is_ssl")? != 0;
        let count = self.u16("num_headers")?;
        let start = self.remaining;
        for _ in 0..count {
            self.next_request_header()?;
        }
        let headers = RequestHeadersRef::new(self.consumed_since(start), count);
        let start = self.remaining;
        // At least 3 bytes each in a payload of at most 65 532: the count fits a u16.
        let mut attributes: u16 = 0;
        while self.next_attribute()?.is_some() {
            attributes = attributes.saturating_add(1);
        }
        Ok(ForwardRequestRef {
            method,
            protocol,
            req_uri,
            remote_addr,
            remote_host,
            server_name,
            server_port,
            is_ssl,
            headers,
            attributes: AttributesRef::new(self.consumed_since(start), attributes),
            payload: self.payload,
        })
    }
}
