//! Every test vector of spec §8 (docs: /work/shared/spec/ajp13.md), golden bytes both
//! ways: decoding gives the stated message or error class, encoding the message gives
//! the same bytes.

use bytes::{Bytes, BytesMut};
use jkgate::ajp::*;

/// Parses "12 34 00 01 0A" style hex.
fn hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|pair| u8::from_str_radix(pair, 16).expect("test hex"))
        .collect()
}

fn b(text: &'static str) -> Bytes {
    Bytes::from_static(text.as_bytes())
}

fn options() -> DecodeOptions {
    DecodeOptions::default()
}

fn decode_to_container(
    input: &[u8],
    state: ContainerState,
) -> Result<DecodeStatus<ProxyMessage>, DecodeError> {
    decode_proxy_message(input, state, &options())
}

fn complete_proxy(input: &[u8], state: ContainerState) -> Decoded<ProxyMessage> {
    match decode_to_container(input, state) {
        Ok(DecodeStatus::Complete(decoded)) => decoded,
        other => panic!("expected a complete frame, got {other:?}"),
    }
}

fn complete_container(input: &[u8]) -> Decoded<ContainerMessage> {
    match decode_container_message(input, &options()) {
        Ok(DecodeStatus::Complete(decoded)) => decoded,
        other => panic!("expected a complete frame, got {other:?}"),
    }
}

fn encode_proxy(message: &ProxyMessage) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_proxy_message(message, PacketSize::DEFAULT, &mut out).expect("encodes");
    out.to_vec()
}

fn encode_container(message: &ContainerMessage, packet_size: PacketSize) -> Vec<u8> {
    let mut out = BytesMut::new();
    encode_container_message(message, packet_size, &mut out).expect("encodes");
    out.to_vec()
}

const VECTOR_3: &str = "12 34 00 3F 02 02 00 08 48 54 54 50 2F 31 2E 31 00 00 01 2F 00 00 09 31 32 37 2E 30 2E 30 2E 31 00 FF FF 00 09 6C 6F 63 61 6C 68 6F 73 74 00 00 50 00 00 01 A0 0B 00 09 6C 6F 63 61 6C 68 6F 73 74 00 FF";

fn vector_3_request() -> ForwardRequest {
    ForwardRequest {
        method: Method::Known(KnownMethod::Get),
        protocol: Some(b("HTTP/1.1")),
        req_uri: Some(b("/")),
        remote_addr: Some(b("127.0.0.1")),
        remote_host: None,
        server_name: Some(b("localhost")),
        server_port: 80,
        is_ssl: false,
        headers: vec![(RequestHeaderCode::Host.into(), Some(b("localhost")))],
        attributes: vec![],
    }
}

#[test]
fn vector_01_cping() {
    let bytes = hex("12 34 00 01 0A");
    let decoded = complete_proxy(&bytes, ContainerState::AwaitingRequest);
    assert_eq!(decoded.message, ProxyMessage::CPing);
    assert_eq!(decoded.frame_len, 5);
    assert_eq!(
        check_frame(&bytes, Direction::ToContainer, PacketSize::DEFAULT),
        Ok(FrameStatus::Complete { payload_len: 1 })
    );
    assert_eq!(encode_proxy(&ProxyMessage::CPing), bytes);
}

#[test]
fn vector_02_cpong() {
    let bytes = hex("41 42 00 01 09");
    assert_eq!(complete_container(&bytes).message, ContainerMessage::CPong);
    assert_eq!(
        encode_container(&ContainerMessage::CPong, PacketSize::DEFAULT),
        bytes
    );
}

#[test]
fn vector_03_minimal_get() {
    let bytes = hex(VECTOR_3);
    assert_eq!(bytes.len(), 67);
    let decoded = complete_proxy(&bytes, ContainerState::AwaitingRequest);
    assert_eq!(
        decoded.message,
        ProxyMessage::ForwardRequest(vector_3_request())
    );
    assert_eq!(decoded.frame_len, 67);
    assert_eq!(decoded.trailing_bytes, 0);
    assert_eq!(encode_proxy(&vector_3_request().into()), bytes);
}

#[test]
fn vector_04_fuller_forward_request() {
    let bytes = hex(
        "12 34 00 91 02 02 00 08 48 54 54 50 2F 31 2E 31 00 00 06 2F 61 70 70 2F 78 00 00 08 31 30 2E 30 2E 30 2E 35 00 00 08 31 30 2E 30 2E 30 2E 35 00 00 0B 65 78 61 6D 70 6C 65 2E 63 6F 6D 00 01 BB 01 00 02 A0 0B 00 0B 65 78 61 6D 70 6C 65 2E 63 6F 6D 00 00 08 58 2D 52 65 71 2D 49 64 00 00 03 61 62 63 00 0C 00 06 73 33 63 72 33 74 00 05 00 07 61 3D 31 26 62 3D 32 00 0A 00 0F 41 4A 50 5F 52 45 4D 4F 54 45 5F 50 4F 52 54 00 00 05 35 31 32 33 34 00 FF",
    );
    assert_eq!(bytes.len(), 149);
    let expected = ForwardRequest {
        method: Method::Known(KnownMethod::Get),
        protocol: Some(b("HTTP/1.1")),
        req_uri: Some(b("/app/x")),
        remote_addr: Some(b("10.0.0.5")),
        remote_host: Some(b("10.0.0.5")),
        server_name: Some(b("example.com")),
        server_port: 443,
        is_ssl: true,
        headers: vec![
            (RequestHeaderCode::Host.into(), Some(b("example.com"))),
            (RequestHeaderName::Named(b("X-Req-Id")), Some(b("abc"))),
        ],
        attributes: vec![
            Attribute::Secret(b("s3cr3t")),
            Attribute::QueryString(b("a=1&b=2")),
            Attribute::ReqAttribute {
                name: b("AJP_REMOTE_PORT"),
                value: b("51234"),
            },
        ],
    };
    let decoded = complete_proxy(&bytes, ContainerState::AwaitingRequest);
    assert_eq!(
        decoded.message,
        ProxyMessage::ForwardRequest(expected.clone())
    );
    assert_eq!(encode_proxy(&expected.into()), bytes);
}

#[test]
fn vector_05_patch_via_stored_method() {
    let bytes = hex(
        "12 34 00 37 02 FF 00 08 48 54 54 50 2F 31 2E 31 00 00 02 2F 72 00 00 03 3A 3A 31 00 00 03 3A 3A 31 00 00 01 68 00 1F 90 00 00 01 A0 08 00 01 32 00 0D 00 05 50 41 54 43 48 00 FF",
    );
    assert_eq!(bytes.len(), 59);
    let ProxyMessage::ForwardRequest(request) =
        complete_proxy(&bytes, ContainerState::AwaitingRequest).message
    else {
        panic!("not a forward request");
    };
    assert_eq!(request.method, Method::Stored);
    assert_eq!(request.method_name(), Some(&b"PATCH"[..]));
    assert_eq!(request.content_length(), ContentLength::Length(2));
    assert_eq!(request.server_port, 8080);
    // The helper a proxy uses builds the same request.
    let mut built = ForwardRequest {
        req_uri: Some(b("/r")),
        remote_addr: Some(b("::1")),
        remote_host: Some(b("::1")),
        server_name: Some(b("h")),
        server_port: 8080,
        ..ForwardRequest::default()
    };
    built.push_header(b("Content-Length"), b("2"));
    built.set_method_name(b"PATCH");
    assert_eq!(built, request);
    assert_eq!(encode_proxy(&built.into()), bytes);
    // Content-Length 2 means body packets follow.
    assert_eq!(
        ContainerState::AwaitingRequest.after(&request.into()),
        ContainerState::AwaitingBody
    );
}

/// Wraps an attribute fragment into vector 3 (before its `FF`) and decodes it.
fn with_attribute_fragment(fragment: &str) -> (Vec<u8>, ForwardRequest) {
    let mut bytes = hex(VECTOR_3);
    let fragment = hex(fragment);
    bytes.pop(); // FF
    bytes.extend_from_slice(&fragment);
    bytes.push(0xFF);
    let len = u16::try_from(bytes.len() - 4).expect("small");
    bytes[2..4].copy_from_slice(&len.to_be_bytes());
    let ProxyMessage::ForwardRequest(request) =
        complete_proxy(&bytes, ContainerState::AwaitingRequest).message
    else {
        panic!("not a forward request");
    };
    (bytes, request)
}

#[test]
fn vector_06_ssl_key_size_is_a_u16() {
    let (bytes, request) = with_attribute_fragment("0B 01 00");
    assert_eq!(request.attributes, vec![Attribute::SslKeySize(256)]);
    assert_eq!(encode_proxy(&request.into()), bytes);
}

#[test]
fn vector_07_ghostcat_attribute_decodes_as_a_req_attribute() {
    let (bytes, request) = with_attribute_fragment(
        "0A 00 21 6A 61 76 61 78 2E 73 65 72 76 6C 65 74 2E 69 6E 63 6C 75 64 65 2E 72 65 71 75 65 73 74 5F 75 72 69 00 00 10 2F 57 45 42 2D 49 4E 46 2F 77 65 62 2E 78 6D 6C 00",
    );
    assert_eq!(
        request.attributes,
        vec![Attribute::ReqAttribute {
            name: b("javax.servlet.include.request_uri"),
            value: b("/WEB-INF/web.xml"),
        }]
    );
    // The codec can express it (a fake Tomcat must see it); keeping the proxy from
    // producing it is the relay's job.
    assert_eq!(encode_proxy(&request.into()), bytes);
}

#[test]
fn vector_08_body_hello() {
    let bytes = hex("12 34 00 07 00 05 68 65 6C 6C 6F");
    let decoded = complete_proxy(&bytes, ContainerState::AwaitingBody);
    assert_eq!(decoded.message, ProxyMessage::Body(b("hello")));
    assert_eq!(encode_proxy(&ProxyMessage::Body(b("hello"))), bytes);
}

#[test]
fn vector_09_end_of_body_mod_jk_form() {
    let bytes = hex("12 34 00 00");
    assert!(
        complete_proxy(&bytes, ContainerState::AwaitingBody)
            .message
            .is_end_of_body()
    );
    assert_eq!(encode_proxy(&ProxyMessage::end_of_body()), bytes);
}

#[test]
fn vector_10_end_of_body_explicit_form() {
    let decoded = complete_proxy(&hex("12 34 00 02 00 00"), ContainerState::AwaitingBody);
    assert!(decoded.message.is_end_of_body());
    assert_eq!(decoded.trailing_bytes, 0);
}

#[test]
fn vector_11_tomcat_test_client_body_with_trailing_bytes() {
    let decoded = complete_proxy(
        &hex("12 34 00 09 00 03 61 62 63 00 00 00 FF"),
        ContainerState::AwaitingBody,
    );
    assert_eq!(decoded.message, ProxyMessage::Body(b("abc")));
    assert_eq!(decoded.trailing_bytes, 4);
    let decoded = complete_proxy(
        &hex("12 34 00 06 00 00 00 00 00 FF"),
        ContainerState::AwaitingBody,
    );
    assert!(decoded.message.is_end_of_body());
    assert_eq!(decoded.trailing_bytes, 4);
    // The explicit strict policy reports them instead.
    let strict = DecodeOptions {
        trailing_bytes: TrailingBytes::Reject,
        ..options()
    };
    assert_eq!(
        decode_proxy_message(
            &hex("12 34 00 09 00 03 61 62 63 00 00 00 FF"),
            ContainerState::AwaitingBody,
            &strict
        ),
        Err(DecodeError::TrailingBytes {
            message: "body packet",
            offset: 9,
            count: 4
        })
    );
}

#[test]
fn vector_12_get_body_chunk_for_three_packet_sizes() {
    for (size, text) in [
        (8192, "41 42 00 03 06 1F FA"),
        (16000, "41 42 00 03 06 3E 7A"),
        (65536, "41 42 00 03 06 FF FA"),
    ] {
        let packet_size = PacketSize::new(size).expect("valid");
        let message = ContainerMessage::GetBodyChunk {
            requested_len: packet_size.get_body_chunk_len(),
        };
        let bytes = hex(text);
        let decoded = decode_container_message(&bytes, &DecodeOptions::new(packet_size));
        assert!(
            matches!(decoded, Ok(DecodeStatus::Complete(Decoded { ref message, .. })) if *message == ContainerMessage::GetBodyChunk { requested_len: packet_size.get_body_chunk_len() })
        );
        assert_eq!(encode_container(&message, packet_size), bytes);
    }
}

#[test]
fn vector_13_send_headers_200() {
    let bytes = hex(
        "41 42 00 2E 04 00 C8 00 03 32 30 30 00 00 02 A0 01 00 18 74 65 78 74 2F 70 6C 61 69 6E 3B 63 68 61 72 73 65 74 3D 55 54 46 2D 38 00 A0 03 00 01 35 00",
    );
    assert_eq!(bytes.len(), 50);
    let expected = ContainerMessage::SendHeaders(SendHeaders {
        status: 200,
        status_msg: Some(b("200")),
        headers: vec![
            (
                ResponseHeaderCode::ContentType.into(),
                Some(b("text/plain;charset=UTF-8")),
            ),
            (ResponseHeaderCode::ContentLength.into(), Some(b("5"))),
        ],
    });
    assert_eq!(complete_container(&bytes).message, expected);
    assert_eq!(encode_container(&expected, PacketSize::DEFAULT), bytes);
}

#[test]
fn vector_14_send_headers_302() {
    let bytes = hex(
        "41 42 00 2F 04 01 2E 00 03 33 30 32 00 00 02 A0 06 00 06 2F 6C 6F 67 69 6E 00 00 0F 58 2D 46 72 61 6D 65 2D 4F 70 74 69 6F 6E 73 00 00 04 44 45 4E 59 00",
    );
    assert_eq!(bytes.len(), 51);
    let expected = ContainerMessage::SendHeaders(SendHeaders {
        status: 302,
        status_msg: Some(b("302")),
        headers: vec![
            (ResponseHeaderCode::Location.into(), Some(b("/login"))),
            (
                ResponseHeaderName::Named(b("X-Frame-Options")),
                Some(b("DENY")),
            ),
        ],
    });
    let decoded = complete_container(&bytes).message;
    assert_eq!(decoded, expected);
    let ContainerMessage::SendHeaders(headers) = &decoded else {
        unreachable!()
    };
    assert_eq!(
        headers.header_values(b"location").collect::<Vec<_>>(),
        vec![Some(&b("/login"))]
    );
    assert_eq!(encode_container(&expected, PacketSize::DEFAULT), bytes);
}

#[test]
fn vector_15_send_headers_304_without_headers() {
    let bytes = hex("41 42 00 0B 04 01 30 00 03 33 30 34 00 00 00");
    let expected = ContainerMessage::SendHeaders(SendHeaders {
        status: 304,
        status_msg: Some(b("304")),
        headers: vec![],
    });
    assert_eq!(complete_container(&bytes).message, expected);
    assert_eq!(encode_container(&expected, PacketSize::DEFAULT), bytes);
}

#[test]
fn vector_16_send_body_chunk_with_and_without_nul() {
    let bytes = hex("41 42 00 09 03 00 05 48 65 6C 6C 6F 00");
    let decoded = complete_container(&bytes);
    assert_eq!(decoded.message, ContainerMessage::SendBodyChunk(b("Hello")));
    assert_eq!(decoded.trailing_bytes, 0);
    assert_eq!(
        encode_container(&decoded.message, PacketSize::DEFAULT),
        bytes
    );
    let nul_less = complete_container(&hex("41 42 00 08 03 00 05 48 65 6C 6C 6F"));
    assert_eq!(
        nul_less.message,
        ContainerMessage::SendBodyChunk(b("Hello"))
    );
}

#[test]
fn vector_17_flush() {
    let bytes = hex("41 42 00 04 03 00 00 00");
    let flush = ContainerMessage::SendBodyChunk(Bytes::new());
    assert_eq!(complete_container(&bytes).message, flush);
    assert_eq!(encode_container(&flush, PacketSize::DEFAULT), bytes);
}

#[test]
fn vector_18_end_response() {
    for (text, reuse) in [("41 42 00 02 05 01", true), ("41 42 00 02 05 00", false)] {
        let message = ContainerMessage::EndResponse { reuse };
        assert_eq!(complete_container(&hex(text)).message, message);
        assert_eq!(encode_container(&message, PacketSize::DEFAULT), hex(text));
    }
}

/// Decodes a FORWARD_REQUEST whose protocol field is `string` (vector 19 fragments).
fn protocol_field(string: &str, terminators: Terminators) -> Result<Option<Bytes>, DecodeError> {
    // 02 GET <protocol> then five null strings' worth of fields, port, ssl, 0 headers, FF.
    let mut payload = vec![0x02, 0x02];
    payload.extend(hex(string));
    payload.extend(hex("00 01 2F 00 FF FF FF FF FF FF 00 50 00 00 00 FF"));
    let mut frame = vec![0x12, 0x34];
    frame.extend(u16::try_from(payload.len()).expect("small").to_be_bytes());
    frame.extend(payload);
    let options = DecodeOptions {
        terminators,
        ..options()
    };
    match decode_proxy_message(&frame, ContainerState::AwaitingRequest, &options)? {
        DecodeStatus::Complete(Decoded {
            message: ProxyMessage::ForwardRequest(request),
            ..
        }) => Ok(request.protocol),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn vector_19_strings_null_empty_value_and_bad_terminator() {
    assert_eq!(protocol_field("FF FF", Terminators::Strict), Ok(None));
    assert_eq!(
        protocol_field("00 00 00", Terminators::Strict),
        Ok(Some(Bytes::new()))
    );
    assert_eq!(
        protocol_field("00 02 41 42 00", Terminators::Strict),
        Ok(Some(b("AB")))
    );
    assert_eq!(
        protocol_field("00 02 41 42 58", Terminators::Strict),
        Err(DecodeError::BadTerminator {
            field: "protocol",
            offset: 10,
            found: 0x58
        })
    );
    assert_eq!(
        protocol_field("00 02 41 42 58", Terminators::Lenient),
        Ok(Some(b("AB")))
    );
}

#[test]
fn vector_20_bad_magic() {
    for (text, found) in [
        ("47 45 54 20 2F 20 48 54", 0x4745),
        ("12 35 00 01 0A", 0x1235),
    ] {
        assert_eq!(
            decode_to_container(&hex(text), ContainerState::AwaitingRequest),
            Err(DecodeError::BadMagic {
                found,
                expected: 0x1234
            })
        );
    }
    // The proxy side wants "AB".
    assert_eq!(
        decode_container_message(&hex("12 34 00 01 0A"), &options()),
        Err(DecodeError::BadMagic {
            found: 0x1234,
            expected: 0x4142
        })
    );
}

#[test]
fn vector_21_oversize_frames_rejected_from_the_header_alone() {
    assert_eq!(
        decode_to_container(&hex("12 34 1F FD"), ContainerState::AwaitingRequest),
        Err(DecodeError::FrameTooLarge {
            direction: Direction::ToContainer,
            declared: 8189,
            max: 8188
        })
    );
    assert_eq!(
        decode_container_message(&hex("41 42 20 01"), &options()),
        Err(DecodeError::FrameTooLarge {
            direction: Direction::FromContainer,
            declared: 8193,
            max: 8188
        })
    );
    // The same length is fine with a larger packet size (and then merely incomplete).
    let big = DecodeOptions::new(PacketSize::new(16384).expect("valid"));
    assert_eq!(
        decode_container_message(&hex("41 42 20 01"), &big),
        Ok(DecodeStatus::Incomplete { needed: 8193 })
    );
}

#[test]
fn vector_22_truncated_frame_is_incomplete() {
    let bytes = hex(VECTOR_3);
    assert_eq!(
        decode_to_container(&bytes[..10], ContainerState::AwaitingRequest),
        Ok(DecodeStatus::Incomplete { needed: 57 })
    );
    let mut buffer = BytesMut::from(&bytes[..10]);
    assert_eq!(
        decode_proxy_message_from(&mut buffer, ContainerState::AwaitingRequest, &options()),
        Ok(None)
    );
    assert_eq!(&buffer[..], &bytes[..10], "nothing consumed");
}

#[test]
fn vector_23_field_overrunning_the_frame_is_an_error() {
    let mut bytes = hex(VECTOR_3);
    bytes[3] = 0x30;
    bytes.truncate(4 + 0x30);
    let error =
        decode_to_container(&bytes, ContainerState::AwaitingRequest).expect_err("truncated field");
    // The cut lands right after num_headers = 1: the header name is missing.
    assert_eq!(
        error,
        DecodeError::Truncated {
            field: "request header name",
            offset: 52,
            needed: 2,
            available: 0
        }
    );
}

#[test]
fn vector_24_split_across_reads() {
    let mut buffer = BytesMut::from(&hex("12 34")[..]);
    assert_eq!(
        decode_proxy_message_from(&mut buffer, ContainerState::AwaitingRequest, &options()),
        Ok(None)
    );
    buffer.extend_from_slice(&hex("00 01 0A"));
    let decoded =
        decode_proxy_message_from(&mut buffer, ContainerState::AwaitingRequest, &options())
            .expect("decodes")
            .expect("complete");
    assert_eq!(decoded.message, ProxyMessage::CPing);
    assert!(buffer.is_empty());
}

#[test]
fn vector_25_two_frames_in_one_read() {
    let bytes = hex("12 34 00 01 0A 12 34 00 01 0A");
    let first = complete_proxy(&bytes, ContainerState::AwaitingRequest);
    assert_eq!((first.message, first.frame_len), (ProxyMessage::CPing, 5));
    let mut buffer = BytesMut::from(&bytes[..]);
    for _ in 0..2 {
        let decoded =
            decode_proxy_message_from(&mut buffer, ContainerState::AwaitingRequest, &options())
                .expect("decodes")
                .expect("complete");
        assert_eq!(decoded.message, ProxyMessage::CPing);
    }
    assert!(buffer.is_empty());
}

#[test]
fn vector_26_response_sequence_in_one_read() {
    let mut bytes = hex("41 42 00 0B 04 01 30 00 03 33 30 34 00 00 00");
    bytes.extend(hex("41 42 00 02 05 01"));
    let mut buffer = BytesMut::from(&bytes[..]);
    let first = decode_container_message_from(&mut buffer, &options())
        .expect("ok")
        .expect("complete");
    assert!(matches!(
        first.message,
        ContainerMessage::SendHeaders(SendHeaders { status: 304, .. })
    ));
    let second = decode_container_message_from(&mut buffer, &options())
        .expect("ok")
        .expect("complete");
    assert_eq!(
        second.message,
        ContainerMessage::EndResponse { reuse: true }
    );
    assert!(buffer.is_empty());
}

#[test]
fn vector_27_invalid_request_header_code() {
    let text = VECTOR_3.replace("A0 0B", "A0 0F");
    assert_eq!(
        decode_to_container(&hex(&text), ContainerState::AwaitingRequest),
        Err(DecodeError::InvalidRequestHeaderCode {
            code: 0xA00F,
            offset: 52
        })
    );
}

#[test]
fn vector_28_invalid_method() {
    for code in [0x1C, 0x00] {
        let mut bytes = hex(VECTOR_3);
        bytes[5] = code;
        assert_eq!(
            decode_to_container(&bytes, ContainerState::AwaitingRequest),
            Err(DecodeError::InvalidMethod { code, offset: 5 })
        );
    }
}

#[test]
fn vector_29_chunk_length_larger_than_payload() {
    assert_eq!(
        decode_container_message(&hex("41 42 00 04 03 00 05 41"), &options()),
        Err(DecodeError::Truncated {
            field: "chunk data",
            offset: 7,
            needed: 5,
            available: 1
        })
    );
}

#[test]
fn vector_30_short_end_response() {
    assert_eq!(
        decode_container_message(&hex("41 42 00 01 05"), &options()),
        Err(DecodeError::Truncated {
            field: "reuse",
            offset: 5,
            needed: 1,
            available: 0
        })
    );
}

#[test]
fn vector_31_response_header_code_out_of_range() {
    let bytes = hex("41 42 00 10 04 00 C8 00 03 32 30 30 00 00 01 A0 0C 00 00 00");
    assert_eq!(
        decode_container_message(&bytes, &options()),
        Err(DecodeError::InvalidResponseHeaderCode {
            code: 0xA00C,
            offset: 15
        })
    );
}

#[test]
fn vector_32_empty_frame_from_container() {
    assert_eq!(
        decode_container_message(&hex("41 42 00 00"), &options()),
        Err(DecodeError::EmptyFrame {
            direction: Direction::FromContainer
        })
    );
    // An empty first packet is an error for a container awaiting a request, too.
    assert_eq!(
        decode_to_container(&hex("12 34 00 00"), ContainerState::AwaitingRequest),
        Err(DecodeError::EmptyFrame {
            direction: Direction::ToContainer
        })
    );
}
