//! The conversations `jkgate ajp fuzz` sends: a valid request of the target, built
//! with the codec's typed messages, then changed in one of a few ways: fields replaced
//! by the structured generator's values (`crate::ajp::structured`), whole arbitrary
//! message sequences, wrong declared lengths, body packets out of order, flipped bytes,
//! and the byte stream cut into writes at arbitrary points. Conversation `n` of seed
//! `s` is always the same bytes.

use std::time::Duration;

use arbitrary::{Result, Unstructured};
use bytes::{Bytes, BytesMut};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};

use super::reproducer::Step;
use crate::ajp::{
    ContentLength, ForwardRequest, KnownMethod, PacketSize, ProxyMessage, RequestHeaderName,
    encode_proxy_message, structured,
};

/// Random bytes behind one conversation's choices.
const ENTROPY: usize = 16 * 1024;

/// One conversation: what to send and how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Conversation {
    /// The mutation, e.g. `body-order+split`.
    pub mutation: String,
    /// The writes and pauses.
    pub steps: Vec<Step>,
}

/// Makes conversations for one target.
#[derive(Debug, Clone)]
pub(crate) struct Generator {
    /// The target's valid request (its URL, the secret when given).
    base: ForwardRequest,
    /// The packet size messages are encoded for.
    packet_size: PacketSize,
}

/// How a conversation's messages are changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    Fields,
    Structured,
    WrongLength,
    BodyOrder,
    ByteFlip,
    Garbage,
}

impl Mutation {
    const ALL: [Mutation; 6] = [
        Mutation::Fields,
        Mutation::Structured,
        Mutation::WrongLength,
        Mutation::BodyOrder,
        Mutation::ByteFlip,
        Mutation::Garbage,
    ];

    fn name(self) -> &'static str {
        match self {
            Mutation::Fields => "fields",
            Mutation::Structured => "structured",
            Mutation::WrongLength => "wrong-length",
            Mutation::BodyOrder => "body-order",
            Mutation::ByteFlip => "byte-flip",
            Mutation::Garbage => "garbage",
        }
    }
}

impl Generator {
    /// A generator around the target's valid request.
    pub(crate) fn new(base: ForwardRequest, packet_size: PacketSize) -> Generator {
        Generator { base, packet_size }
    }

    /// Conversation `index` of `seed`: a ChaCha8 stream per conversation, so any one can
    /// be made again without the others.
    pub(crate) fn conversation(&self, seed: u64, index: u64) -> Conversation {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(index);
        let mut entropy = vec![0u8; ENTROPY];
        rng.fill_bytes(&mut entropy);
        let mut u = Unstructured::new(&entropy);
        match self.build(&mut u) {
            Ok(conversation) => conversation,
            // Out of entropy half way: the unchanged request (never in practice with
            // 16 KiB, but a conversation must always come out).
            Err(_) => Conversation {
                mutation: "valid".to_owned(),
                steps: vec![Step::Write(
                    self.encode(&ProxyMessage::ForwardRequest(self.base.clone())),
                )],
            },
        }
    }

    fn build(&self, u: &mut Unstructured<'_>) -> Result<Conversation> {
        let mutation = *u.choose(&Mutation::ALL)?;
        let frames = match mutation {
            Mutation::Fields => self.request_frames(u, true)?,
            Mutation::Structured => {
                let count = u.int_in_range(1..=4)?;
                let mut frames = Vec::with_capacity(count);
                for _ in 0..count {
                    let message = structured::proxy_message(u)?;
                    let mut frame = BytesMut::new();
                    if encode_proxy_message(&message, self.packet_size, &mut frame).is_ok() {
                        frames.push(frame.to_vec());
                    }
                }
                if frames.is_empty() {
                    frames = self.request_frames(u, false)?;
                }
                frames
            }
            Mutation::WrongLength => {
                let mutate = u.arbitrary()?;
                let mut frames = self.request_frames(u, mutate)?;
                let at = u.choose_index(frames.len())?;
                wrong_length(u, &mut frames[at], self.packet_size)?;
                frames
            }
            Mutation::BodyOrder => self.body_out_of_order(u)?,
            Mutation::ByteFlip => {
                let mutate = u.arbitrary()?;
                let mut frames = self.request_frames(u, mutate)?;
                let flips = u.int_in_range(1..=8)?;
                for _ in 0..flips {
                    let at = u.choose_index(frames.len())?;
                    let frame = &mut frames[at];
                    let byte = u.choose_index(frame.len())?;
                    frame[byte] = u.arbitrary()?;
                }
                frames
            }
            Mutation::Garbage => {
                let mut frames = self.request_frames(u, false)?;
                match u.int_in_range(0u8..=2)? {
                    // The container's magic ("AB") on a request.
                    0 => frames[0][..2].copy_from_slice(&[0x41, 0x42]),
                    // Noise before a valid request.
                    1 => {
                        let len = u.int_in_range(1..=64)?;
                        let noise = u.bytes(len)?.to_vec();
                        frames.insert(0, noise);
                    }
                    // An HTTP request on the AJP port.
                    _ => frames.insert(0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
                }
                frames
            }
        };
        let mut name = mutation.name().to_owned();
        let steps = if u.ratio(1, 2)? {
            name += "+split";
            split(u, &frames)?
        } else {
            frames.into_iter().map(Step::Write).collect()
        };
        Ok(Conversation {
            mutation: name,
            steps,
        })
    }

    fn encode(&self, message: &ProxyMessage) -> Vec<u8> {
        let mut frame = BytesMut::new();
        // The base request always encodes: it was sent once before fuzzing started.
        let _ = encode_proxy_message(message, self.packet_size, &mut frame);
        frame.to_vec()
    }

    /// The base request (or, with `mutate`, one with 1 to 4 fields changed) and its
    /// body, as a proxy sends them: the first body packet unsolicited.
    fn request_frames(&self, u: &mut Unstructured<'_>, mutate: bool) -> Result<Vec<Vec<u8>>> {
        let mut request = self.base.clone();
        let body_len = if u.ratio(1, 3)? {
            u.int_in_range(1..=self.packet_size.max_request_body_data() * 2)?
        } else {
            0
        };
        if body_len > 0 {
            request.set_method_name(b"POST");
            request.push_header(
                Bytes::from_static(b"Content-Length"),
                Bytes::from(body_len.to_string()),
            );
        }
        if mutate {
            let changes = u.int_in_range(1..=4)?;
            for _ in 0..changes {
                mutate_field(u, &mut request)?;
            }
        }
        let mut frame = BytesMut::new();
        if encode_proxy_message(
            &ProxyMessage::ForwardRequest(request.clone()),
            self.packet_size,
            &mut frame,
        )
        .is_err()
        {
            // The change made it unencodable (a NUL in a header name, too large):
            // send the base request instead; the conversation is still a valid one.
            request = self.base.clone();
            frame.clear();
            let _ = encode_proxy_message(
                &ProxyMessage::ForwardRequest(request.clone()),
                self.packet_size,
                &mut frame,
            );
        }
        let mut frames = vec![frame.to_vec()];
        if let ContentLength::Length(length) = request.content_length() {
            let length = usize::try_from(length)
                .unwrap_or(usize::MAX)
                .min(body_len.max(1) * 2);
            frames.extend(self.body_frames(u, length)?);
        }
        Ok(frames)
    }

    /// `length` body bytes in full packets, then the end-of-body packet.
    fn body_frames(&self, u: &mut Unstructured<'_>, length: usize) -> Result<Vec<Vec<u8>>> {
        let max = self.packet_size.max_request_body_data();
        let mut frames = Vec::new();
        let mut left = length;
        let fill: u8 = u.arbitrary()?;
        while left > 0 {
            let n = left.min(max);
            frames.push(self.encode(&ProxyMessage::Body(Bytes::from(vec![fill; n]))));
            left -= n;
        }
        frames.push(self.encode(&ProxyMessage::end_of_body()));
        Ok(frames)
    }

    /// A request with a body whose packets come out of order, twice, too early or
    /// mixed with CPING.
    fn body_out_of_order(&self, u: &mut Unstructured<'_>) -> Result<Vec<Vec<u8>>> {
        let mut request = self.base.clone();
        request.set_method_name(b"POST");
        let max = self.packet_size.max_request_body_data();
        let length = u.int_in_range(1..=max * 3)?;
        request.push_header(
            Bytes::from_static(b"Content-Length"),
            Bytes::from(length.to_string()),
        );
        let head = self.encode(&ProxyMessage::ForwardRequest(request));
        let mut body = self.body_frames(u, length)?;
        match u.int_in_range(0u8..=5)? {
            0 => {
                // Shuffle.
                for i in (1..body.len()).rev() {
                    let j = u.int_in_range(0..=i)?;
                    body.swap(i, j);
                }
            }
            1 => {
                let at = u.choose_index(body.len())?;
                body.remove(at);
            }
            2 => {
                let at = u.choose_index(body.len())?;
                let copy = body[at].clone();
                body.insert(at, copy);
            }
            3 => {
                // The end-of-body packet before the data.
                let end = self.encode(&ProxyMessage::end_of_body());
                body.insert(0, end);
            }
            4 => {
                let at = u.int_in_range(0..=body.len())?;
                body.insert(at, self.encode(&ProxyMessage::CPing));
            }
            _ => {
                // Body before the request.
                let mut frames = body;
                frames.push(head);
                return Ok(frames);
            }
        }
        let mut frames = vec![head];
        frames.extend(body);
        Ok(frames)
    }
}

/// Changes one field of `request` to a value of the structured generator.
fn mutate_field(u: &mut Unstructured<'_>, request: &mut ForwardRequest) -> Result<()> {
    match u.int_in_range(0u8..=11)? {
        0 => request.method = crate::ajp::Method::Known(structured::pick(u, KnownMethod::ALL)?),
        1 => request.set_method_name(&structured::field_bytes(u)?),
        2 => {
            let mut uri = request.req_uri.clone().unwrap_or_default().to_vec();
            uri.extend_from_slice(&structured::field_bytes(u)?);
            request.req_uri = Some(Bytes::from(uri));
        }
        3 => request.req_uri = Some(structured::field_bytes(u)?),
        4 => request.protocol = Some(structured::field_bytes(u)?),
        5 => request.remote_addr = structured::optional_bytes(u)?,
        6 => request.server_name = structured::optional_bytes(u)?,
        7 => {
            request.server_port = u.arbitrary()?;
            request.is_ssl = u.arbitrary()?;
        }
        8 => {
            let header = structured::request_header(u)?;
            request.headers.push(header);
        }
        9 => {
            let attribute = structured::attribute(u)?;
            request.attributes.push(attribute);
        }
        10 => {
            // A Content-Length that lies or is not a number.
            let value = match u.int_in_range(0u8..=3)? {
                0 => Bytes::from(u.int_in_range(0u64..=100_000)?.to_string()),
                1 => Bytes::from_static(b"-1"),
                2 => Bytes::from_static(b"99999999999999999999"),
                _ => structured::field_bytes(u)?,
            };
            request
                .headers
                .retain(|(name, _)| !name.is(b"content-length"));
            request.headers.push((
                RequestHeaderName::from_name(Bytes::from_static(b"Content-Length")),
                Some(value),
            ));
        }
        _ => {
            if !request.headers.is_empty() {
                let at = u.choose_index(request.headers.len())?;
                request.headers[at].1 = Some(structured::field_bytes(u)?);
            }
        }
    }
    Ok(())
}

/// Changes a frame's declared length, or cuts its payload short.
fn wrong_length(
    u: &mut Unstructured<'_>,
    frame: &mut Vec<u8>,
    packet_size: PacketSize,
) -> Result<()> {
    if frame.len() < 4 {
        return Ok(());
    }
    let declared = u16::from_be_bytes([frame[2], frame[3]]);
    let new = match u.int_in_range(0u8..=5)? {
        0 => declared.saturating_add(u.int_in_range(1..=16)?),
        1 => declared.saturating_sub(u.int_in_range(1..=16)?),
        2 => 0,
        3 => u16::MAX,
        4 => u16::try_from(packet_size.max_payload() + 1).unwrap_or(u16::MAX),
        _ => {
            // The declared length stays; the payload is cut.
            let keep = u.int_in_range(4..=frame.len())?;
            frame.truncate(keep);
            return Ok(());
        }
    };
    frame[2..4].copy_from_slice(&new.to_be_bytes());
    Ok(())
}

/// The frames' bytes cut into 2 to 9 writes at arbitrary points, with pauses of up to
/// 20 ms between some of them.
fn split(u: &mut Unstructured<'_>, frames: &[Vec<u8>]) -> Result<Vec<Step>> {
    let all: Vec<u8> = frames.concat();
    if all.len() < 2 {
        return Ok(vec![Step::Write(all)]);
    }
    let cuts = u.int_in_range(1..=8)?;
    let mut points: Vec<usize> = Vec::with_capacity(cuts);
    for _ in 0..cuts {
        points.push(u.int_in_range(1..=all.len() - 1)?);
    }
    points.sort_unstable();
    points.dedup();
    let mut steps = Vec::new();
    let mut from = 0;
    for point in points {
        steps.push(Step::Write(all[from..point].to_vec()));
        let pause = u.int_in_range(0u64..=20)?;
        if pause > 0 {
            steps.push(Step::Pause(Duration::from_millis(pause)));
        }
        from = point;
    }
    steps.push(Step::Write(all[from..].to_vec()));
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::ajp_tool::build::{RequestSpec, forward_request};
    use crate::app::ajp_tool::reproducer::steps_bytes;
    use crate::app::ajp_tool::target::AjpUrl;

    fn generator() -> Generator {
        let url = AjpUrl::parse("ajp://127.0.0.1:8009/app/echo").unwrap();
        let base = forward_request(
            &url,
            &RequestSpec {
                method: "GET".into(),
                ..RequestSpec::default()
            },
        );
        Generator::new(base, PacketSize::DEFAULT)
    }

    #[test]
    fn same_seed_same_conversation_and_every_mutation_occurs() {
        let generator = generator();
        let mut seen = std::collections::BTreeSet::new();
        for index in 0..300 {
            let a = generator.conversation(7, index);
            assert_eq!(a, generator.conversation(7, index));
            assert!(!steps_bytes(&a.steps).is_empty());
            seen.insert(a.mutation.trim_end_matches("+split").to_owned());
        }
        let all: std::collections::BTreeSet<String> =
            Mutation::ALL.iter().map(|m| m.name().to_owned()).collect();
        assert_eq!(seen, all);
        assert_ne!(generator.conversation(7, 1), generator.conversation(8, 1));
    }

    #[test]
    fn splitting_keeps_every_byte_in_order() {
        let frames = vec![vec![1, 2, 3], vec![4, 5], vec![6]];
        let data: Vec<u8> = (0..=255).collect();
        let mut u = Unstructured::new(&data);
        let steps = split(&mut u, &frames).unwrap();
        assert_eq!(steps_bytes(&steps), vec![1, 2, 3, 4, 5, 6]);
        assert!(steps.iter().filter(|s| matches!(s, Step::Write(_))).count() >= 2);
    }
}
