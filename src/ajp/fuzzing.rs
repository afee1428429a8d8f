//! Fuzz logic shared by the cargo-fuzz targets in `fuzz/` and by
//! `tests/fuzz_replay.rs`, so a corpus file replayed under `cargo test` runs exactly the
//! code the fuzzer ran. Every function panics (fails the fuzz run) when an invariant
//! breaks; none of them panics on any input otherwise.

use bytes::BytesMut;

use super::decode::{
    ContainerState, DecodeStatus, Decoded, decode_container_message, decode_container_message_from,
    decode_container_message_ref, decode_container_message_with, decode_proxy_message,
    decode_proxy_message_from, decode_proxy_message_ref, parse_proxy_payload,
};
use super::encode::{encode_container_message, encode_proxy_message};
use super::error::DecodeError;
use super::forward_head::encode_forward_request_from_head;
use super::message::{Attribute, ContainerMessage, ProxyMessage};
use super::options::{DecodeOptions, Terminators, TrailingBytes};
use super::packet_size::PacketSize;
use super::view::{ContainerMessageRef, ProxyMessageRef};

/// The decoder configurations every raw-bytes target runs each input through.
fn option_sets() -> [DecodeOptions; 2] {
    [
        DecodeOptions::default(),
        DecodeOptions {
            packet_size: PacketSize::MAX,
            terminators: Terminators::Lenient,
            trailing_bytes: TrailingBytes::Reject,
        },
    ]
}

/// Encodes a container message and, if that succeeds, asserts it decodes back to
/// itself with no trailing bytes and the exact frame length.
pub fn assert_container_round_trip(message: &ContainerMessage, packet_size: PacketSize) {
    let mut encoded = BytesMut::new();
    if encode_container_message(message, packet_size, &mut encoded).is_err() {
        assert!(encoded.is_empty(), "a failed encode wrote bytes");
        return;
    }
    let options = DecodeOptions::new(packet_size);
    match decode_container_message(&encoded, &options) {
        Ok(DecodeStatus::Complete(decoded)) => {
            assert_eq!(&decoded.message, message, "container message round trip");
            assert_eq!(decoded.frame_len, encoded.len());
            assert_eq!(decoded.trailing_bytes, 0);
        }
        other => panic!("re-decoding {message:?} gave {other:?}"),
    }
}

/// Encodes a proxy message and, if that succeeds, asserts it decodes back to itself in
/// the state a container would be in for it.
pub fn assert_proxy_round_trip(message: &ProxyMessage, packet_size: PacketSize) {
    let mut encoded = BytesMut::new();
    let result = encode_proxy_message(message, packet_size, &mut encoded);
    if let ProxyMessage::ForwardRequest(request) = message {
        // The two-part encoder (head once, attributes per attempt) writes the same frame
        // and refuses the same requests (maybe naming another of their faults first).
        let mut two_part = BytesMut::new();
        let two_part_result = request.head().and_then(|head| {
            encode_forward_request_from_head(
                &head,
                request.attributes.iter().map(Attribute::as_borrowed),
                packet_size,
                &mut two_part,
            )
        });
        assert_eq!(
            two_part_result.is_ok(),
            result.is_ok(),
            "two-part {two_part_result:?}, one-part {result:?}"
        );
        assert_eq!(two_part, encoded, "two-part and one-part frames differ");
    }
    if result.is_err() {
        assert!(encoded.is_empty(), "a failed encode wrote bytes");
        return;
    }
    let state = match message {
        ProxyMessage::Body(_) => ContainerState::AwaitingBody,
        _ => ContainerState::AwaitingRequest,
    };
    let options = DecodeOptions::new(packet_size);
    match decode_proxy_message(&encoded, state, &options) {
        Ok(DecodeStatus::Complete(decoded)) => {
            assert_eq!(&decoded.message, message, "proxy message round trip");
            assert_eq!(decoded.frame_len, encoded.len());
            assert_eq!(decoded.trailing_bytes, 0);
        }
        other => panic!("re-decoding {message:?} gave {other:?}"),
    }
}

/// Target `container_messages`: the proxy-side decoder over a raw byte stream. The
/// slice, the zero-copy buffer and the view-on-buffer entry points must agree frame by
/// frame; every decoded message must survive an encode/decode round trip.
pub fn container_messages(data: &[u8]) {
    for options in option_sets() {
        let mut rest = data;
        let mut buffer = BytesMut::from(data);
        let mut viewed_buffer = BytesMut::from(data);
        loop {
            let by_slice = decode_container_message(rest, &options);
            let by_buffer = decode_container_message_from(&mut buffer, &options);
            let by_view = decode_container_message_with(&mut viewed_buffer, &options, |view, _| {
                view.into_owned()
            });
            assert_eq!(
                by_buffer, by_view,
                "buffer and view-on-buffer decoders disagree"
            );
            assert_eq!(buffer, viewed_buffer);
            match (by_slice, by_buffer) {
                (Ok(DecodeStatus::Complete(slice)), Ok(Some(buffered))) => {
                    assert_eq!(slice, buffered);
                    assert!(slice.frame_len >= 4 && slice.frame_len <= rest.len());
                    assert_container_round_trip(&slice.message, options.packet_size);
                    rest = rest.get(slice.frame_len..).unwrap_or_default();
                    assert_eq!(&buffer[..], rest);
                }
                (Ok(DecodeStatus::Incomplete { needed }), Ok(None)) => {
                    assert!(needed > 0);
                    assert_eq!(&buffer[..], rest, "an incomplete decode consumed bytes");
                    break;
                }
                (Err(slice_error), Err(buffer_error)) => {
                    assert_eq!(slice_error, buffer_error);
                    assert_eq!(&buffer[..], rest, "a failed decode consumed bytes");
                    break;
                }
                (by_slice, by_buffer) => {
                    panic!("decoders disagree: {by_slice:?} vs {by_buffer:?}")
                }
            }
        }
    }
}

/// Runs the container-side decoder over a stream starting in `initial`, following
/// [`ContainerState::after`], checking the same invariants as [`container_messages`].
fn proxy_messages(data: &[u8], initial: ContainerState) {
    for options in option_sets() {
        let mut rest = data;
        let mut buffer = BytesMut::from(data);
        let mut state = initial;
        loop {
            let by_slice = decode_proxy_message(rest, state, &options);
            let by_buffer = decode_proxy_message_from(&mut buffer, state, &options);
            match (by_slice, by_buffer) {
                (Ok(DecodeStatus::Complete(slice)), Ok(Some(buffered))) => {
                    assert_eq!(slice, buffered);
                    assert!(slice.frame_len >= 4 && slice.frame_len <= rest.len());
                    assert_proxy_round_trip(&slice.message, options.packet_size);
                    state = state.after(&slice.message);
                    rest = rest.get(slice.frame_len..).unwrap_or_default();
                    assert_eq!(&buffer[..], rest);
                }
                (Ok(DecodeStatus::Incomplete { needed }), Ok(None)) => {
                    assert!(needed > 0);
                    assert_eq!(&buffer[..], rest, "an incomplete decode consumed bytes");
                    break;
                }
                (Err(slice_error), Err(buffer_error)) => {
                    assert_eq!(slice_error, buffer_error);
                    assert_eq!(&buffer[..], rest, "a failed decode consumed bytes");
                    break;
                }
                (by_slice, by_buffer) => {
                    panic!("decoders disagree: {by_slice:?} vs {by_buffer:?}")
                }
            }
        }
    }
}

/// Target `proxy_messages_awaiting_request`: container-side decoder, stream starting
/// between requests.
pub fn proxy_messages_awaiting_request(data: &[u8]) {
    proxy_messages(data, ContainerState::AwaitingRequest);
}

/// Target `proxy_messages_awaiting_body`: container-side decoder, stream starting
/// inside a request body.
pub fn proxy_messages_awaiting_body(data: &[u8]) {
    proxy_messages(data, ContainerState::AwaitingBody);
}

/// Target `body_payload`: `data` is one body-packet payload (no header) under every
/// policy; a decoded body never exceeds the payload and round-trips when it fits.
pub fn body_payload(data: &[u8]) {
    let payload = bytes::Bytes::copy_from_slice(data);
    for options in option_sets() {
        if let Ok((message, trailing)) =
            parse_proxy_payload(&payload, ContainerState::AwaitingBody, &options)
        {
            let ProxyMessage::Body(body) = &message else {
                panic!("a body payload decoded as {message:?}");
            };
            if !data.is_empty() {
                assert_eq!(2 + body.len() + trailing, data.len(), "body accounting");
            }
            assert_proxy_round_trip(&message, options.packet_size);
        }
    }
}

/// Asserts a borrowed decode and an owned decode of the same bytes agree: both the same
/// error, both incomplete by the same count, or both complete with the same frame
/// accounting, the view equal to the owned message field by field and converting to
/// it. Returns the frame length when both decoded a message.
fn assert_agree<R, O>(
    borrowed: Result<DecodeStatus<R>, DecodeError>,
    owned: Result<DecodeStatus<O>, DecodeError>,
    into_owned: impl Fn(R) -> O,
    check_lists: impl Fn(&R),
) -> Option<(usize, R, O)>
where
    R: PartialEq<O> + Copy + std::fmt::Debug,
    O: PartialEq + std::fmt::Debug,
{
    match (borrowed, owned) {
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "borrowed and owned decoders refuse differently");
            None
        }
        (
            Ok(DecodeStatus::Incomplete { needed: a }),
            Ok(DecodeStatus::Incomplete { needed: b }),
        ) => {
            assert_eq!(a, b);
            None
        }
        (Ok(DecodeStatus::Complete(a)), Ok(DecodeStatus::Complete(b))) => {
            let Decoded {
                message,
                frame_len,
                trailing_bytes,
            } = a;
            assert_eq!(message, b.message, "view differs from the owned message");
            assert_eq!((frame_len, trailing_bytes), (b.frame_len, b.trailing_bytes));
            check_lists(&message);
            assert_eq!(into_owned(message), b.message, "conversion differs");
            Some((frame_len, message, b.message))
        }
        (a, b) => panic!("borrowed and owned decoders disagree: {a:?} vs {b:?}"),
    }
}

/// The lazy lists of a view yield exactly as many items as they say.
fn assert_list_lengths_proxy(message: &ProxyMessageRef<'_>) {
    if let ProxyMessageRef::ForwardRequest(request) = message {
        assert_eq!(request.headers.iter().count(), request.headers.len());
        assert_eq!(request.attributes.iter().count(), request.attributes.len());
    }
}

fn assert_list_lengths_container(message: &ContainerMessageRef<'_>) {
    if let ContainerMessageRef::SendHeaders(headers) = message {
        assert_eq!(headers.headers.iter().count(), headers.headers.len());
    }
}

/// Target `borrowed_messages`: the borrowed decoders ([`decode_proxy_message_ref`],
/// [`decode_container_message_ref`]) against the owned ones on the same raw bytes, frame
/// by frame, as a proxy (container → proxy frames) and as a container starting in
/// either state: they must accept and refuse exactly the same input, and agree on
/// every field.
pub fn borrowed_messages(data: &[u8]) {
    for options in option_sets() {
        let mut rest = data;
        while let Some((frame_len, _, _)) = assert_agree(
            decode_container_message_ref(rest, &options),
            decode_container_message(rest, &options),
            ContainerMessageRef::into_owned,
            assert_list_lengths_container,
        ) {
            rest = rest.get(frame_len..).unwrap_or_default();
        }
        for initial in [
            ContainerState::AwaitingRequest,
            ContainerState::AwaitingBody,
        ] {
            let mut rest = data;
            let mut state = initial;
            while let Some((frame_len, view, message)) = assert_agree(
                decode_proxy_message_ref(rest, state, &options),
                decode_proxy_message(rest, state, &options),
                ProxyMessageRef::into_owned,
                assert_list_lengths_proxy,
            ) {
                assert_eq!(state.after_ref(&view), state.after(&message));
                state = state.after(&message);
                rest = rest.get(frame_len..).unwrap_or_default();
            }
        }
    }
}
