//! Structure-aware AJP13 messages (feature `ajp-fuzz`): `arbitrary::Unstructured` drives
//! the construction of typed messages of both directions. They are valid-ish on purpose:
//! random strings may still contain bytes the encoder refuses, and sizes may exceed the
//! packet. One generator serves two users, so they explore the same message space:
//!
//! * the `round_trip` fuzz target (`fuzz/`, replayed by `tests/fuzz_replay.rs`), which
//!   checks each message survives encode → decode ([`round_trip`]);
//! * `jkgate ajp fuzz`, which mutates fields of a live container's requests with them.

use arbitrary::{Result, Unstructured};
use bytes::Bytes;

use super::fuzzing;
use super::message::{
    Attribute, ContainerMessage, ForwardRequest, KnownMethod, Method, ProxyMessage,
    RequestHeaderCode, RequestHeaderName, ResponseHeaderCode, ResponseHeaderName, SendHeaders,
};
use super::packet_size::PacketSize;

/// Bytes for a string field: mostly short, printable, sometimes anything.
pub fn field_bytes(u: &mut Unstructured<'_>) -> Result<Bytes> {
    let len = if u.ratio(1, 16)? {
        u.int_in_range(0..=9000)?
    } else {
        u.int_in_range(0..=24)?
    };
    let raw = u.bytes(len.min(u.len()))?;
    if u.ratio(1, 8)? {
        return Ok(Bytes::copy_from_slice(raw));
    }
    Ok(raw.iter().map(|b| b'!' + b % 94).collect())
}

/// A nullable string field: null one time in eight.
pub fn optional_bytes(u: &mut Unstructured<'_>) -> Result<Option<Bytes>> {
    Ok(if u.ratio(1, 8)? {
        None
    } else {
        Some(field_bytes(u)?)
    })
}

/// One of `all`.
pub fn pick<T: Copy>(u: &mut Unstructured<'_>, all: &[T]) -> Result<T> {
    Ok(*u.choose(all)?)
}

/// Any FORWARD_REQUEST attribute, with arbitrary values.
pub fn attribute(u: &mut Unstructured<'_>) -> Result<Attribute> {
    Ok(match u.int_in_range(1u8..=13)? {
        1 => Attribute::Context(field_bytes(u)?),
        2 => Attribute::ServletPath(field_bytes(u)?),
        3 => Attribute::RemoteUser(field_bytes(u)?),
        4 => Attribute::AuthType(field_bytes(u)?),
        5 => Attribute::QueryString(field_bytes(u)?),
        6 => Attribute::Route(field_bytes(u)?),
        7 => Attribute::SslCert(field_bytes(u)?),
        8 => Attribute::SslCipher(field_bytes(u)?),
        9 => Attribute::SslSession(field_bytes(u)?),
        10 => Attribute::ReqAttribute {
            name: field_bytes(u)?,
            value: field_bytes(u)?,
        },
        11 => Attribute::SslKeySize(u.arbitrary()?),
        12 => Attribute::Secret(field_bytes(u)?),
        _ => Attribute::StoredMethod(field_bytes(u)?),
    })
}

/// A request header: a coded or string name, an arbitrary value.
pub fn request_header(u: &mut Unstructured<'_>) -> Result<(RequestHeaderName, Option<Bytes>)> {
    let name = if u.arbitrary()? {
        RequestHeaderName::Coded(pick(u, RequestHeaderCode::ALL)?)
    } else {
        RequestHeaderName::Named(field_bytes(u)?)
    };
    Ok((name, Some(field_bytes(u)?)))
}

/// A FORWARD_REQUEST with arbitrary method, strings, headers and attributes.
pub fn forward_request(u: &mut Unstructured<'_>) -> Result<ForwardRequest> {
    let method = if u.ratio(1, 8)? {
        Method::Stored
    } else {
        Method::Known(pick(u, KnownMethod::ALL)?)
    };
    let header_count = u.int_in_range(0..=20)?;
    let mut headers = Vec::with_capacity(header_count);
    for _ in 0..header_count {
        headers.push(request_header(u)?);
    }
    let attribute_count = u.int_in_range(0..=8)?;
    let mut attributes = Vec::with_capacity(attribute_count);
    for _ in 0..attribute_count {
        attributes.push(attribute(u)?);
    }
    Ok(ForwardRequest {
        method,
        protocol: Some(field_bytes(u)?),
        req_uri: Some(field_bytes(u)?),
        remote_addr: optional_bytes(u)?,
        remote_host: optional_bytes(u)?,
        server_name: optional_bytes(u)?,
        server_port: u.arbitrary()?,
        is_ssl: u.arbitrary()?,
        headers,
        attributes,
    })
}

/// Any proxy → container message.
pub fn proxy_message(u: &mut Unstructured<'_>) -> Result<ProxyMessage> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 | 1 => ProxyMessage::ForwardRequest(forward_request(u)?),
        2 => ProxyMessage::Body(field_bytes(u)?),
        3 => ProxyMessage::CPing,
        _ => {
            if u.arbitrary()? {
                ProxyMessage::Shutdown
            } else {
                ProxyMessage::Ping
            }
        }
    })
}

/// Any container → proxy message.
pub fn container_message(u: &mut Unstructured<'_>) -> Result<ContainerMessage> {
    Ok(match u.int_in_range(0u8..=4)? {
        0 | 1 => {
            let header_count = u.int_in_range(0..=16)?;
            let mut headers = Vec::with_capacity(header_count);
            for _ in 0..header_count {
                let name = if u.arbitrary()? {
                    ResponseHeaderName::Coded(pick(u, ResponseHeaderCode::ALL)?)
                } else {
                    ResponseHeaderName::Named(field_bytes(u)?)
                };
                headers.push((name, Some(field_bytes(u)?)));
            }
            ContainerMessage::SendHeaders(SendHeaders {
                status: u.arbitrary()?,
                status_msg: Some(field_bytes(u)?),
                headers,
            })
        }
        2 => ContainerMessage::SendBodyChunk(field_bytes(u)?),
        3 => ContainerMessage::GetBodyChunk {
            requested_len: u.arbitrary()?,
        },
        _ => {
            if u.arbitrary()? {
                ContainerMessage::EndResponse {
                    reuse: u.arbitrary()?,
                }
            } else {
                ContainerMessage::CPong
            }
        }
    })
}

/// Target `round_trip`: builds a packet size and a few messages of each direction from
/// `data` and asserts each one that encodes decodes back to itself.
pub fn round_trip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(size) = u.int_in_range(8192u32..=65536) else {
        return;
    };
    let Ok(packet_size) = PacketSize::new(size) else {
        return;
    };
    while !u.is_empty() {
        let Ok(outbound) = u.arbitrary::<bool>() else {
            return;
        };
        if outbound {
            let Ok(message) = proxy_message(&mut u) else {
                return;
            };
            fuzzing::assert_proxy_round_trip(&message, packet_size);
        } else {
            let Ok(message) = container_message(&mut u) else {
                return;
            };
            fuzzing::assert_container_round_trip(&message, packet_size);
        }
    }
}
