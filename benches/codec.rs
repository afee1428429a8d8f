//! Codec throughput: decode and encode a typical browser FORWARD_REQUEST (12 headers, a
//! 300-byte cookie, a query string), a SEND_HEADERS with 8 headers, and an 8 KiB body
//! chunk; the owned decode (`decode`) and the borrowed one (`decode_ref`, which also
//! walks every header and attribute, as a reader would), and encode + borrowed decode
//! of the browser request in one iteration (`browser_request/encode_decode_ref`); the
//! two-part encoding a front end uses (`forward_request/head_once` writes the head from
//! borrowed fields, `forward_request/frame_from_head` frames it with an attempt's
//! attributes: what each retry on another member repeats).
//! Run: `cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3`.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, criterion_group, criterion_main};
use jkgate::ajp::*;

fn browser_request() -> ForwardRequest {
    let mut request = ForwardRequest {
        req_uri: Some(Bytes::from_static(b"/shop/catalog/item.jsp")),
        remote_addr: Some(Bytes::from_static(b"203.0.113.77")),
        remote_host: None,
        server_name: Some(Bytes::from_static(b"www.example.com")),
        server_port: 443,
        is_ssl: true,
        ..ForwardRequest::default()
    };
    let cookie = format!(
        "JSESSIONID={}.node1; theme=dark; {}",
        "A".repeat(32),
        "x".repeat(240)
    );
    let headers: [(&str, String); 12] = [
        ("Host", "www.example.com".into()),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
        ),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8".into(),
        ),
        ("Accept-Language", "en-US,en;q=0.5".into()),
        ("Accept-Encoding", "gzip, deflate, br, zstd".into()),
        ("Referer", "https://www.example.com/shop/catalog".into()),
        ("Connection", "keep-alive".into()),
        ("Cookie", cookie[..300].to_string()),
        ("Upgrade-Insecure-Requests", "1".into()),
        ("Sec-Fetch-Dest", "document".into()),
        ("Sec-Fetch-Mode", "navigate".into()),
        ("Content-Length", "0".into()),
    ];
    for (name, value) in headers {
        request.push_header(Bytes::from_static(name.as_bytes()), Bytes::from(value));
    }
    request.attributes = vec![
        Attribute::Secret(Bytes::from_static(b"s3cr3t")),
        Attribute::QueryString(Bytes::from_static(
            b"id=4711&color=blue&size=m&ref=homepage",
        )),
        Attribute::ReqAttribute {
            name: Bytes::from_static(b"AJP_REMOTE_PORT"),
            value: Bytes::from_static(b"51234"),
        },
        Attribute::ReqAttribute {
            name: Bytes::from_static(b"AJP_SSL_PROTOCOL"),
            value: Bytes::from_static(b"TLSv1.3"),
        },
    ];
    request
}

fn response_headers() -> ContainerMessage {
    let named = |name: &'static str, value: &'static str| {
        (
            ResponseHeaderName::from_name(Bytes::from_static(name.as_bytes())),
            Some(Bytes::from_static(value.as_bytes())),
        )
    };
    ContainerMessage::SendHeaders(SendHeaders {
        status: 200,
        status_msg: Some(Bytes::from_static(b"200")),
        headers: vec![
            named("Content-Type", "text/html;charset=UTF-8"),
            named("Content-Length", "18342"),
            named(
                "Set-Cookie",
                "JSESSIONID=0123456789ABCDEF0123456789ABCDEF.node1; Path=/; Secure; HttpOnly",
            ),
            named("Cache-Control", "no-cache, no-store, must-revalidate"),
            named("X-Frame-Options", "SAMEORIGIN"),
            named("Content-Language", "en-US"),
            named("Date", "Sun, 22 Nov 2026 01:00:00 GMT"),
            named("Vary", "Accept-Encoding"),
        ],
    })
}

/// Everything a reader of a borrowed FORWARD_REQUEST looks at: every field, header and
/// attribute (the lists are lazy, so a decode that skipped them would flatter itself).
fn read_request(wire: &[u8], options: &DecodeOptions) -> usize {
    let decoded = decode_proxy_message_ref(wire, ContainerState::AwaitingRequest, options);
    let Ok(DecodeStatus::Complete(Decoded {
        message: ProxyMessageRef::ForwardRequest(request),
        ..
    })) = decoded
    else {
        panic!("not a whole FORWARD_REQUEST: {decoded:?}")
    };
    black_box(&request);
    let mut seen = 0;
    for header in request.headers {
        black_box(header);
        seen += 1;
    }
    for attribute in request.attributes {
        black_box(attribute);
        seen += 1;
    }
    seen
}

/// Everything a reader of a borrowed SEND_HEADERS looks at.
fn read_response_headers(wire: &[u8], options: &DecodeOptions) -> usize {
    let decoded = decode_container_message_ref(wire, options);
    let Ok(DecodeStatus::Complete(Decoded {
        message: ContainerMessageRef::SendHeaders(headers),
        ..
    })) = decoded
    else {
        panic!("not a whole SEND_HEADERS: {decoded:?}")
    };
    black_box(&headers);
    headers.headers.iter().map(black_box).count()
}

/// A borrowed decode that reads the whole message and returns how many items it saw.
type ReadRef<'r> = &'r dyn Fn(&[u8]) -> usize;

fn bench_message<M: PartialEq + std::fmt::Debug>(
    c: &mut Criterion,
    name: &str,
    encode: impl Fn(&mut BytesMut),
    decode: impl Fn(&[u8]) -> M,
    decode_ref: Option<ReadRef<'_>>,
) {
    let mut wire = BytesMut::new();
    encode(&mut wire);
    let wire = wire.freeze();
    let mut group = c.benchmark_group(name);
    group.throughput(criterion::Throughput::Elements(1));
    group.bench_function("encode", |b| {
        let mut buffer = BytesMut::with_capacity(wire.len());
        b.iter(|| {
            buffer.clear();
            encode(black_box(&mut buffer));
            black_box(&buffer);
        })
    });
    group.bench_function("decode", |b| b.iter(|| black_box(decode(black_box(&wire)))));
    if let Some(decode_ref) = decode_ref {
        group.bench_function("decode_ref", |b| {
            b.iter(|| black_box(decode_ref(black_box(&wire))))
        });
    }
    group.finish();
}

fn codec(c: &mut Criterion) {
    let size = PacketSize::DEFAULT;
    let options = DecodeOptions::default();

    let request = browser_request();
    bench_message(
        c,
        "forward_request",
        |dst| encode_forward_request(&request, size, dst).expect("valid"),
        |wire| {
            decode_proxy_message(wire, ContainerState::AwaitingRequest, &options).expect("valid")
        },
        Some(&|wire| read_request(wire, &options)),
    );

    // The FORWARD_REQUEST's life in one iteration: the proxy encodes it, the container
    // reads it with the borrowed decoder (the path that allocates nothing).
    c.bench_function("browser_request/encode_decode_ref", |b| {
        let mut buffer = BytesMut::with_capacity(2048);
        b.iter(|| {
            buffer.clear();
            encode_forward_request(black_box(&request), size, &mut buffer).expect("valid");
            black_box(read_request(black_box(&buffer), &options))
        })
    });

    let write_head = || request.head().expect("valid");
    c.bench_function("forward_request/head_once", |b| {
        b.iter(|| black_box(write_head()))
    });
    let head = write_head();
    c.bench_function("forward_request/frame_from_head", |b| {
        let mut buffer = BytesMut::with_capacity(2048);
        b.iter(|| {
            buffer.clear();
            encode_forward_request_from_head(
                black_box(&head),
                request.attributes.iter().map(Attribute::as_borrowed),
                size,
                &mut buffer,
            )
            .expect("valid");
            black_box(buffer.len())
        })
    });

    let headers = response_headers();
    bench_message(
        c,
        "send_headers",
        |dst| encode_container_message(&headers, size, dst).expect("valid"),
        |wire| decode_container_message(wire, &options).expect("valid"),
        Some(&|wire| read_response_headers(wire, &options)),
    );

    // A full 8 KiB packet: the largest body chunk P = 8192 allows (8186 data bytes).
    let body = Bytes::from(vec![b'x'; size.max_request_body_data()]);
    bench_message(
        c,
        "body_chunk_8k",
        |dst| encode_body(&body, size, dst).expect("valid"),
        |wire| decode_proxy_message(wire, ContainerState::AwaitingBody, &options).expect("valid"),
        None,
    );

    // Zero-copy path the tokio decoder uses: split the frame off a buffer.
    let mut wire = BytesMut::new();
    encode_body(&body, size, &mut wire).expect("valid");
    let wire = wire.freeze();
    c.bench_function("body_chunk_8k/decode_zero_copy", |b| {
        b.iter(|| {
            let mut buffer = BytesMut::from(&wire[..]);
            black_box(
                decode_proxy_message_from(&mut buffer, ContainerState::AwaitingBody, &options)
                    .expect("valid"),
            )
        })
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
