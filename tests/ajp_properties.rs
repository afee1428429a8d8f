//! Property tests: decode(encode(x)) == x for every message type; the same frames come
//! out of the tokio-util decoders for any split of the byte stream into reads; arbitrary
//! bytes never panic any decoder.

use bytes::{Bytes, BytesMut};
use jkgate::ajp::*;
use proptest::prelude::*;

/// Header-safe bytes: no NUL, CR or LF (the encoder refuses those).
fn text(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no NUL/CR/LF", |b| !matches!(b, 0 | b'\r' | b'\n')),
        0..max,
    )
    .prop_map(Bytes::from)
}

fn name() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no NUL/CR/LF", |b| !matches!(b, 0 | b'\r' | b'\n')),
        1..20,
    )
    .prop_map(Bytes::from)
}

fn any_data(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn optional_text() -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::weighted(0.8, text(40))
}

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        text(30).prop_map(Attribute::Context),
        text(30).prop_map(Attribute::ServletPath),
        text(30).prop_map(Attribute::RemoteUser),
        text(30).prop_map(Attribute::AuthType),
        text(30).prop_map(Attribute::QueryString),
        text(30).prop_map(Attribute::Route),
        proptest::collection::vec(1u8..=255, 0..60)
            .prop_map(|v| Attribute::SslCert(Bytes::from(v))),
        text(30).prop_map(Attribute::SslCipher),
        text(30).prop_map(Attribute::SslSession),
        (text(30), text(30)).prop_map(|(name, value)| Attribute::ReqAttribute { name, value }),
        any::<u16>().prop_map(Attribute::SslKeySize),
        text(30).prop_map(Attribute::Secret),
        name().prop_map(Attribute::StoredMethod),
    ]
}

fn request_header_name() -> impl Strategy<Value = RequestHeaderName> {
    prop_oneof![
        proptest::sample::select(RequestHeaderCode::ALL).prop_map(RequestHeaderName::Coded),
        name().prop_map(RequestHeaderName::Named),
    ]
}

fn response_header_name() -> impl Strategy<Value = ResponseHeaderName> {
    prop_oneof![
        proptest::sample::select(ResponseHeaderCode::ALL).prop_map(ResponseHeaderName::Coded),
        name().prop_map(ResponseHeaderName::Named),
    ]
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        proptest::sample::select(KnownMethod::ALL).prop_map(Method::Known),
        Just(Method::Stored),
    ]
}

prop_compose! {
    fn forward_request()(
        method in method(),
        protocol in text(12),
        req_uri in text(60),
        remote_addr in optional_text(),
        remote_host in optional_text(),
        server_name in optional_text(),
        server_port in any::<u16>(),
        is_ssl in any::<bool>(),
        headers in proptest::collection::vec((request_header_name(), text(60).prop_map(Some)), 0..16),
        mut attributes in proptest::collection::vec(attribute(), 0..8),
        stored in name(),
    ) -> ForwardRequest {
        if method == Method::Stored {
            attributes.push(Attribute::StoredMethod(stored));
        }
        ForwardRequest {
            method, protocol: Some(protocol), req_uri: Some(req_uri), remote_addr, remote_host,
            server_name, server_port, is_ssl, headers, attributes,
        }
    }
}

fn proxy_message() -> impl Strategy<Value = ProxyMessage> {
    prop_oneof![
        4 => forward_request().prop_map(ProxyMessage::ForwardRequest),
        2 => any_data(300).prop_map(ProxyMessage::Body),
        1 => Just(ProxyMessage::CPing),
        1 => Just(ProxyMessage::Shutdown),
        1 => Just(ProxyMessage::Ping),
    ]
}

fn container_message() -> impl Strategy<Value = ContainerMessage> {
    prop_oneof![
        (
            any::<u16>(),
            text(12),
            proptest::collection::vec((response_header_name(), text(60).prop_map(Some)), 0..12)
        )
            .prop_map(|(status, msg, headers)| ContainerMessage::SendHeaders(
                SendHeaders {
                    status,
                    status_msg: Some(msg),
                    headers
                }
            )),
        any_data(300).prop_map(ContainerMessage::SendBodyChunk),
        any::<u16>().prop_map(|requested_len| ContainerMessage::GetBodyChunk { requested_len }),
        any::<bool>().prop_map(|reuse| ContainerMessage::EndResponse { reuse }),
        Just(ContainerMessage::CPong),
    ]
}

fn packet_size() -> impl Strategy<Value = PacketSize> {
    (8192u32..=65536).prop_map(|size| PacketSize::new(size).expect("in range"))
}

fn state_for(message: &ProxyMessage) -> ContainerState {
    match message {
        ProxyMessage::Body(_) => ContainerState::AwaitingBody,
        _ => ContainerState::AwaitingRequest,
    }
}

proptest! {
    #[test]
    fn header_names_from_a_slice_equal_those_from_bytes(raw in name(), coded in 0usize..14, upper: bool) {
        // Any name, and every registered name in either case.
        let registered = RequestHeaderCode::ALL[coded].name();
        let registered = if upper { registered.to_ascii_uppercase() } else { registered.to_owned() };
        for name in [raw, Bytes::from(registered)] {
            prop_assert_eq!(
                RequestHeaderName::from_name_slice(&name),
                RequestHeaderName::from_name(name.clone())
            );
        }
    }

    #[test]
    fn proxy_messages_round_trip(message in proxy_message(), size in packet_size()) {
        let mut encoded = BytesMut::new();
        encode_proxy_message(&message, size, &mut encoded).expect("generated messages are valid and small");
        let decoded = decode_proxy_message(&encoded, state_for(&message), &DecodeOptions::new(size)).expect("decodes");
        let DecodeStatus::Complete(decoded) = decoded else { panic!("incomplete") };
        prop_assert_eq!(decoded.message, message);
        prop_assert_eq!(decoded.frame_len, encoded.len());
        prop_assert_eq!(decoded.trailing_bytes, 0);
    }

    /// The two-part encoder (head once, attributes per attempt) writes the owned encoder's
    /// bytes, and refuses what it refuses (here: more than the packet size holds).
    #[test]
    fn a_head_framed_with_attributes_equals_the_owned_encoding(request in forward_request(), size in packet_size()) {
        let mut owned = BytesMut::new();
        let owned_result = encode_forward_request(&request, size, &mut owned);
        let head = request.head().expect("generated heads are valid");
        prop_assert_eq!(head.method(), request.method);
        prop_assert_eq!(head.req_uri(), request.req_uri.as_deref().unwrap_or_default());
        let mut two_part = BytesMut::new();
        let two_part_result = encode_forward_request_from_head(
            &head,
            request.attributes.iter().map(Attribute::as_borrowed),
            size,
            &mut two_part,
        );
        prop_assert_eq!(two_part_result, owned_result);
        prop_assert_eq!(two_part, owned);
    }

    #[test]
    fn container_messages_round_trip(message in container_message(), size in packet_size()) {
        let mut encoded = BytesMut::new();
        encode_container_message(&message, size, &mut encoded).expect("generated messages are valid and small");
        let decoded = decode_container_message(&encoded, &DecodeOptions::new(size)).expect("decodes");
        let DecodeStatus::Complete(decoded) = decoded else { panic!("incomplete") };
        prop_assert_eq!(decoded.message, message);
        prop_assert_eq!(decoded.frame_len, encoded.len());
    }

    #[test]
    fn borrowed_proxy_decode_equals_the_owned_one(message in proxy_message(), size in packet_size()) {
        let mut encoded = BytesMut::new();
        encode_proxy_message(&message, size, &mut encoded).expect("generated messages are valid and small");
        let options = DecodeOptions::new(size);
        let state = state_for(&message);
        let Ok(DecodeStatus::Complete(view)) = decode_proxy_message_ref(&encoded, state, &options) else {
            panic!("borrowed decode failed")
        };
        let Ok(DecodeStatus::Complete(owned)) = decode_proxy_message(&encoded, state, &options) else {
            panic!("owned decode failed")
        };
        // Field by field against what was encoded, and against the owned decode.
        prop_assert_eq!(view.message, message.clone());
        prop_assert_eq!(view.message, owned.message.clone());
        prop_assert_eq!(view.message.into_owned(), owned.message.clone());
        prop_assert_eq!((view.frame_len, view.trailing_bytes), (owned.frame_len, owned.trailing_bytes));
        prop_assert_eq!(state.after_ref(&view.message), state.after(&owned.message));
        if let ProxyMessageRef::ForwardRequest(request) = view.message {
            let ProxyMessage::ForwardRequest(original) = &message else { panic!("{message:?}") };
            prop_assert_eq!(request.headers.iter().count(), original.headers.len());
            prop_assert_eq!(request.attributes.len(), original.attributes.len());
            prop_assert_eq!(request.content_length(), original.content_length());
            prop_assert_eq!(request.method_name(), original.method_name());
            prop_assert_eq!(request.query_string(), original.query_string().map(|q| &q[..]));
        }
    }

    #[test]
    fn borrowed_container_decode_equals_the_owned_one(message in container_message(), size in packet_size()) {
        let mut encoded = BytesMut::new();
        encode_container_message(&message, size, &mut encoded).expect("generated messages are valid and small");
        let options = DecodeOptions::new(size);
        let Ok(DecodeStatus::Complete(view)) = decode_container_message_ref(&encoded, &options) else {
            panic!("borrowed decode failed")
        };
        let Ok(DecodeStatus::Complete(owned)) = decode_container_message(&encoded, &options) else {
            panic!("owned decode failed")
        };
        prop_assert_eq!(view.message, message.clone());
        prop_assert_eq!(view.message, owned.message.clone());
        prop_assert_eq!(view.message.into_owned(), owned.message);
        prop_assert_eq!((view.frame_len, view.trailing_bytes), (owned.frame_len, owned.trailing_bytes));
    }

    #[test]
    fn body_packets_up_to_the_limit_round_trip(len in 0usize..=8186) {
        let data = Bytes::from(vec![0xA5u8; len]);
        let mut encoded = BytesMut::new();
        encode_body(&data, PacketSize::DEFAULT, &mut encoded).expect("fits");
        let decoded = decode_proxy_message(&encoded, ContainerState::AwaitingBody, &DecodeOptions::default()).expect("decodes");
        prop_assert_eq!(decoded, DecodeStatus::Complete(Decoded { message: ProxyMessage::Body(data), frame_len: encoded.len(), trailing_bytes: 0 }));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        jkgate::ajp::fuzzing::container_messages(&data);
        jkgate::ajp::fuzzing::proxy_messages_awaiting_request(&data);
        jkgate::ajp::fuzzing::proxy_messages_awaiting_body(&data);
        jkgate::ajp::fuzzing::body_payload(&data);
        jkgate::ajp::fuzzing::borrowed_messages(&data);
    }

    #[test]
    fn arbitrary_payloads_after_valid_headers_never_panic(
        code in prop_oneof![Just(0x02u8), 0u8..=0x0B], rest in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        // A valid header in front makes the payload parsers do the work.
        for magic in [[0x12u8, 0x34], [0x41, 0x42]] {
            let mut frame = magic.to_vec();
            frame.extend(u16::try_from(rest.len() + 1).expect("small").to_be_bytes());
            frame.push(code);
            frame.extend_from_slice(&rest);
            jkgate::ajp::fuzzing::container_messages(&frame);
            jkgate::ajp::fuzzing::proxy_messages_awaiting_request(&frame);
            jkgate::ajp::fuzzing::proxy_messages_awaiting_body(&frame);
            jkgate::ajp::fuzzing::borrowed_messages(&frame);
        }
    }
}

#[cfg(feature = "tokio-codec")]
mod stream_splits {
    use super::*;
    use tokio_util::codec::{Decoder, Encoder};

    /// Feeds `stream` to `decoder` in pieces cut at `cuts`, collecting every item, then
    /// calls `decode_eof`.
    fn decode_in_pieces<D: Decoder>(decoder: &mut D, stream: &[u8], cuts: &[usize]) -> Vec<D::Item>
    where
        D::Error: std::fmt::Debug,
    {
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut % (stream.len() + 1)).collect();
        points.sort_unstable();
        points.push(stream.len());
        let mut buffer = BytesMut::new();
        let mut items = Vec::new();
        let mut start = 0;
        for point in points {
            buffer.extend_from_slice(&stream[start..point]);
            start = point;
            while let Some(item) = decoder.decode(&mut buffer).expect("valid stream") {
                items.push(item);
            }
        }
        assert!(
            decoder
                .decode_eof(&mut buffer)
                .expect("clean end")
                .is_none()
        );
        items
    }

    /// A request cycle as a container sees it: each request, and body packets after
    /// those with Content-Length (always ended by an empty one).
    fn conversation() -> impl Strategy<Value = Vec<ProxyMessage>> {
        proptest::collection::vec(
            (
                forward_request(),
                proptest::collection::vec(
                    any_data(200).prop_filter("non-empty", |d| !d.is_empty()),
                    0..3,
                ),
                any::<bool>(),
            ),
            1..4,
        )
        .prop_map(|cycles| {
            let mut messages = Vec::new();
            for (mut request, bodies, cping) in cycles {
                if cping {
                    messages.push(ProxyMessage::CPing);
                }
                request
                    .headers
                    .retain(|(name, _)| !name.is(b"content-length"));
                if bodies.is_empty() {
                    request.push_header(
                        Bytes::from_static(b"content-length"),
                        Bytes::from_static(b"0"),
                    );
                    messages.push(request.into());
                } else {
                    let total: usize = bodies.iter().map(Bytes::len).sum();
                    request.push_header(
                        Bytes::from_static(b"Content-Length"),
                        Bytes::from(total.to_string()),
                    );
                    messages.push(request.into());
                    messages.extend(bodies.into_iter().map(ProxyMessage::Body));
                    messages.push(ProxyMessage::end_of_body());
                }
            }
            messages
        })
    }

    proptest! {
        #[test]
        fn container_side_frames_do_not_depend_on_read_splits(
            messages in conversation(), cuts in proptest::collection::vec(any::<usize>(), 0..12)
        ) {
            let mut proxy = ProxyCodec::default();
            let mut stream = BytesMut::new();
            for message in &messages {
                proxy.encode(message, &mut stream).expect("valid");
            }
            let decoded = decode_in_pieces(&mut ContainerCodec::default(), &stream, &cuts);
            prop_assert_eq!(decoded, messages);
        }

        #[test]
        fn proxy_side_frames_do_not_depend_on_read_splits(
            messages in proptest::collection::vec(container_message(), 1..8),
            cuts in proptest::collection::vec(any::<usize>(), 0..12)
        ) {
            let mut container = ContainerCodec::default();
            let mut stream = BytesMut::new();
            for message in &messages {
                container.encode(message, &mut stream).expect("valid");
            }
            let decoded = decode_in_pieces(&mut ProxyCodec::default(), &stream, &cuts);
            prop_assert_eq!(decoded, messages);
        }
    }

    #[test]
    fn eof_inside_a_frame_is_an_error() {
        let mut buffer = BytesMut::from(&[0x41u8, 0x42, 0x00, 0x02, 0x05][..]);
        let error = ProxyCodec::default()
            .decode_eof(&mut buffer)
            .expect_err("partial frame");
        assert!(
            matches!(error, CodecError::ClosedMidFrame { buffered: 5 }),
            "{error:?}"
        );
    }

    #[test]
    fn container_state_is_settable() {
        let mut codec = ContainerCodec::default();
        let mut buffer = BytesMut::new();
        let mut request = ForwardRequest::default();
        request.push_header(
            Bytes::from_static(b"Content-Length"),
            Bytes::from_static(b"3"),
        );
        ProxyCodec::default()
            .encode(&ProxyMessage::from(request), &mut buffer)
            .expect("valid");
        assert!(codec.decode(&mut buffer).expect("ok").is_some());
        assert_eq!(codec.state(), ContainerState::AwaitingBody);
        // The container decided not to read the body: the next packet is a request.
        codec.set_state(ContainerState::AwaitingRequest);
        buffer.extend_from_slice(&[0x12, 0x34, 0x00, 0x01, 0x0A]);
        assert_eq!(
            codec.decode(&mut buffer).expect("ok"),
            Some(ProxyMessage::CPing)
        );
    }

    #[test]
    fn encoder_refusals_write_nothing() {
        let mut codec = ProxyCodec::default();
        let mut buffer = BytesMut::from(&b"kept"[..]);
        let mut request = ForwardRequest::default();
        request.push_header(Bytes::from_static(b"X-Evil"), Bytes::from_static(b"a\r\nb"));
        let error = codec
            .encode(&ProxyMessage::from(request), &mut buffer)
            .expect_err("CRLF refused");
        assert!(matches!(
            error,
            CodecError::Encode(EncodeError::ForbiddenByte {
                field: "request header value",
                byte: b'\r'
            })
        ));
        assert_eq!(&buffer[..], b"kept");
    }
}
