//! The response on its way from a member to the client: the head, and the body that
//! hyper writes out while the relay is still reading the member's packets.
//!
//! A streamed body is driven by hyper's connection task itself: the rest of the relay
//! lives inside the body ([`ResponseBody::drive`]), so reading the member's next packet
//! and writing the previous one to the client happen on one task, woken by either
//! socket. A relay spawned apart from the body (with a channel between them) costs a
//! task per response and a cross-task wake per chunk; on a 100 KiB response that was
//! most of the difference in system calls to an HTTP proxy (epoll waits per request).

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::oneshot;

/// How many response chunks may wait between the relay and hyper. Bounds the memory of
/// one response to this many AJP packets; hyper takes them in one go (one `writev`).
const OUTBOX_DEPTH: usize = 4;

/// Content type of jkgate's own error pages.
pub const ERROR_PAGE_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// jkgate's own small HTML error page for `status` (its standard reason as title).
pub fn error_page(status: u16) -> Bytes {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    Bytes::from(format!(
        "<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>\n"
    ))
}

/// Status line and headers of a response on its way to the client.
#[derive(Debug)]
pub struct ResponseHead {
    /// HTTP status.
    pub status: u16,
    /// Reason phrase from the member when it is not just the number.
    pub reason: Option<Bytes>,
    /// Headers, duplicates kept in the member's order.
    pub headers: http::HeaderMap,
    /// The body that follows.
    pub body: ResponseBody,
}

/// The rest of a relay once its head went out: it reads the member's packets into the
/// body's outbox, then accounts and logs the request. Its output (the error status of a
/// relay that answered nothing) no longer matters once a head was sent.
pub use super::relay_rest::RelayRest;

/// The response body handed to hyper.
pub enum ResponseBody {
    /// The whole body is known (possibly empty).
    Complete(Bytes),
    /// The body is still being relayed.
    Streaming {
        /// Chunks from the relay (or an error that aborts the client connection).
        outbox: Arc<Mutex<Outbox>>,
        /// The relay, polled whenever hyper asks for more and the outbox is empty.
        /// `None` while it runs elsewhere (or once it ended).
        relay: Option<RelayRest>,
        /// Content-Length announced by the member, if any.
        length: Option<u64>,
    },
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponseBody::Complete(data) => f.debug_tuple("Complete").field(&data.len()).finish(),
            ResponseBody::Streaming { relay, length, .. } => f
                .debug_struct("Streaming")
                .field("driven", &relay.is_some())
                .field("length", length)
                .finish(),
        }
    }
}

impl ResponseBody {
    /// Lets this body drive `relay`: hyper's polls for more data run it. A complete body
    /// needs no more data, so the relay's rest runs as a task of its own.
    pub fn drive(&mut self, rest: RelayRest) {
        match self {
            ResponseBody::Streaming { relay, .. } if relay.is_none() => *relay = Some(rest),
            _ => {
                tokio::spawn(rest);
            }
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            ResponseBody::Complete(data) => {
                if data.is_empty() {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Ok(Frame::data(std::mem::take(data)))))
                }
            }
            ResponseBody::Streaming { outbox, relay, .. } => poll_streaming(outbox, relay, cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Complete(data) if data.is_empty())
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Complete(data) => SizeHint::with_exact(data.len() as u64),
            ResponseBody::Streaming {
                length: Some(n), ..
            } => SizeHint::with_exact(*n),
            ResponseBody::Streaming { .. } => SizeHint::default(),
        }
    }
}

/// The next chunk of a streamed body: what waits in the outbox, else what the relay
/// produces when polled here.
fn poll_streaming(
    outbox: &Mutex<Outbox>,
    relay: &mut Option<RelayRest>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
    loop {
        let mut out = lock(outbox);
        if let Some(item) = out.chunks.pop_front() {
            if relay.is_none()
                && let Some(producer) = out.producer.take()
            {
                producer.wake();
            }
            return Poll::Ready(Some(item.map(Frame::data)));
        }
        let Some(running) = relay.as_mut() else {
            if out.ended {
                return Poll::Ready(None);
            }
            out.consumer = Some(cx.waker().clone());
            return Poll::Pending;
        };
        drop(out);
        match Pin::new(running).poll(cx) {
            Poll::Ready(_) => *relay = None,
            Poll::Pending => {
                let mut out = lock(outbox);
                // This task polls the relay itself: nobody else needs waking for room.
                out.producer = None;
                return match out.chunks.pop_front() {
                    Some(item) => Poll::Ready(Some(item.map(Frame::data))),
                    None => Poll::Pending,
                };
            }
        }
    }
}

impl Drop for ResponseBody {
    /// hyper drops a body it no longer wants (the client went away, or the connection
    /// ends): a relay still inside finishes as a task of its own, so it gives its member
    /// connection back or closes it, and counts and logs the request.
    fn drop(&mut self) {
        if let ResponseBody::Streaming { outbox, relay, .. } = self {
            {
                let mut out = lock(outbox);
                out.closed = true;
                out.chunks.clear();
            }
            if let Some(rest) = relay.take()
                && let Ok(runtime) = tokio::runtime::Handle::try_current()
            {
                runtime.spawn(rest);
            }
        }
    }
}

/// The chunks between a relay and its body, and who waits on whom when they run on
/// different tasks.
#[derive(Debug, Default)]
pub struct Outbox {
    chunks: VecDeque<Result<Bytes, io::Error>>,
    /// The relay sends nothing more (finished, aborted or dropped).
    ended: bool,
    /// The body was dropped: the client is gone.
    closed: bool,
    /// A relay waiting for room (only when it is not polled by the body).
    producer: Option<Waker>,
    /// A body waiting for chunks (only when it does not poll the relay itself).
    consumer: Option<Waker>,
}

fn lock(outbox: &Mutex<Outbox>) -> MutexGuard<'_, Outbox> {
    outbox.lock().unwrap_or_else(|e| e.into_inner())
}

impl Outbox {
    fn wake_consumer(&mut self) {
        if let Some(consumer) = self.consumer.take() {
            consumer.wake();
        }
    }
}

/// The client went away (its response body was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client closed the connection")]
pub struct ClientGone;

/// Where the relay writes the response.
///
/// The head is held back while the member's next packets are already buffered,
/// so a small response that ends in the same read goes out as one complete body
/// without an outbox. Once the relay would have to wait, [`ResponseSink::commit`]
/// sends the head and switches to streaming.
pub struct ResponseSink {
    head_tx: Option<oneshot::Sender<ResponseHead>>,
    pending: Option<PendingHead>,
    outbox: Option<Arc<Mutex<Outbox>>>,
    bytes: u64,
    suppress_body: bool,
    new_session: Option<Bytes>,
    extra_headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

struct PendingHead {
    status: u16,
    reason: Option<Bytes>,
    headers: http::HeaderMap,
    length: Option<u64>,
    /// The body gathered so far: most held-back responses are one chunk, kept without a
    /// list.
    first: Option<Bytes>,
    more: Vec<Bytes>,
}

impl std::fmt::Debug for ResponseSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseSink")
            .field("reached_client", &self.reached_client())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl ResponseSink {
    /// A sink and the receiver of its head.
    pub fn new() -> (Self, oneshot::Receiver<ResponseHead>) {
        let (head_tx, head_rx) = oneshot::channel();
        (
            ResponseSink {
                head_tx: Some(head_tx),
                pending: None,
                outbox: None,
                bytes: 0,
                suppress_body: false,
                new_session: None,
                extra_headers: Vec::new(),
            },
            head_rx,
        )
    }

    /// True once a response head went to the client: from then on the status
    /// cannot change and no other member may answer.
    pub fn reached_client(&self) -> bool {
        self.head_tx.is_none()
    }

    /// The session id the member created (`Set-Cookie: JSESSIONID=...`), if any.
    pub fn new_session(&self) -> Option<&Bytes> {
        self.new_session.as_ref()
    }

    /// Response body bytes accepted so far.
    pub fn body_bytes(&self) -> u64 {
        self.bytes
    }

    /// Headers jkgate adds to the next response head (the lb's routing cookies),
    /// after the member's own.
    pub fn set_extra_headers(&mut self, headers: Vec<(http::HeaderName, http::HeaderValue)>) {
        self.extra_headers = headers;
    }

    /// Accepts the response head. `suppress_body` drops body bytes (HEAD, 204, 304).
    pub fn start(
        &mut self,
        status: u16,
        reason: Option<Bytes>,
        mut headers: http::HeaderMap,
        length: Option<u64>,
        suppress_body: bool,
    ) {
        self.suppress_body = suppress_body;
        for (name, value) in &self.extra_headers {
            headers.append(name.clone(), value.clone());
        }
        self.new_session = headers
            .get_all(http::header::SET_COOKIE)
            .iter()
            .find_map(|value| {
                let rest = value.as_bytes().strip_prefix(b"JSESSIONID=")?;
                let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
                Some(Bytes::copy_from_slice(&rest[..end]))
            });
        self.pending = Some(PendingHead {
            status,
            reason,
            headers,
            length: if suppress_body { None } else { length },
            first: None,
            more: Vec::new(),
        });
    }

    /// True while a head is held back.
    pub fn has_pending_head(&self) -> bool {
        self.pending.is_some()
    }

    /// Sends a held-back head (and the chunks gathered with it) and switches to
    /// streaming.
    pub fn commit(&mut self) -> Result<(), ClientGone> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let outbox = Arc::new(Mutex::new(Outbox {
            chunks: pending
                .first
                .into_iter()
                .chain(pending.more)
                .map(Ok)
                .collect(),
            ..Outbox::default()
        }));
        let head = ResponseHead {
            status: pending.status,
            reason: pending.reason,
            headers: pending.headers,
            body: ResponseBody::Streaming {
                outbox: outbox.clone(),
                relay: None,
                length: pending.length,
            },
        };
        let head_tx = self.head_tx.take().ok_or(ClientGone)?;
        head_tx.send(head).map_err(|_| ClientGone)?;
        self.outbox = Some(outbox);
        Ok(())
    }

    /// Relays one body chunk; waits while the outbox is full.
    pub async fn send(&mut self, data: Bytes) -> Result<(), ClientGone> {
        if self.suppress_body || data.is_empty() {
            return Ok(());
        }
        self.bytes += data.len() as u64;
        if let Some(pending) = self.pending.as_mut() {
            match pending.first {
                None => pending.first = Some(data),
                Some(_) => pending.more.push(data),
            }
            return Ok(());
        }
        let Some(outbox) = &self.outbox else {
            return Err(ClientGone);
        };
        let mut data = Some(data);
        std::future::poll_fn(|cx| {
            let mut out = lock(outbox);
            if out.closed {
                return Poll::Ready(Err(ClientGone));
            }
            if out.chunks.len() >= OUTBOX_DEPTH {
                out.producer = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if let Some(data) = data.take() {
                out.chunks.push_back(Ok(data));
            }
            out.wake_consumer();
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// Ends the response successfully.
    pub fn finish(&mut self) -> Result<(), ClientGone> {
        if let Some(pending) = self.pending.take() {
            let body = match (pending.first, pending.more.is_empty()) {
                (None, _) => Bytes::new(),
                (Some(only), true) => only,
                (Some(first), false) => {
                    let mut all = bytes::BytesMut::with_capacity(self.bytes as usize);
                    all.extend_from_slice(&first);
                    for chunk in pending.more {
                        all.extend_from_slice(&chunk);
                    }
                    all.freeze()
                }
            };
            let head = ResponseHead {
                status: pending.status,
                reason: pending.reason,
                headers: pending.headers,
                body: ResponseBody::Complete(body),
            };
            let head_tx = self.head_tx.take().ok_or(ClientGone)?;
            head_tx.send(head).map_err(|_| ClientGone)?;
        }
        self.end_stream(None);
        Ok(())
    }

    /// Forgets a held-back head that never reached the client, so another
    /// member (or an error response) can still answer.
    pub fn discard_pending(&mut self) {
        self.pending = None;
        self.bytes = 0;
    }

    /// Aborts a response that reached the client: the client connection is reset
    /// instead of seeing a cleanly terminated body. A held-back head is discarded.
    /// Returns false when nothing reached the client (the caller then answers
    /// with an error status).
    pub fn abort(&mut self, reason: &str) -> bool {
        self.discard_pending();
        if self.outbox.is_some() {
            let error = io::Error::new(io::ErrorKind::ConnectionAborted, reason.to_owned());
            self.end_stream(Some(error));
            return true;
        }
        self.head_tx.is_none()
    }

    /// Tells the body that nothing follows but `error`, if any.
    fn end_stream(&mut self, error: Option<io::Error>) {
        if let Some(outbox) = self.outbox.take() {
            let mut out = lock(&outbox);
            if let Some(error) = error
                && !out.closed
            {
                out.chunks.push_back(Err(error));
            }
            out.ended = true;
            out.wake_consumer();
        }
    }
}

impl Drop for ResponseSink {
    /// A relay that ends without finishing ends the stream, as a dropped channel would.
    fn drop(&mut self) {
        self.end_stream(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn streaming_sink() -> (ResponseSink, ResponseBody) {
        let (mut sink, head_rx) = ResponseSink::new();
        sink.start(200, None, http::HeaderMap::new(), None, false);
        sink.send(Bytes::from_static(b"held")).await.unwrap();
        sink.commit().unwrap();
        (sink, head_rx.await.unwrap().body)
    }

    #[tokio::test]
    async fn a_body_that_drives_its_relay_streams_every_chunk_in_order() {
        let (mut sink, mut body) = streaming_sink().await;
        let relay = async move {
            for i in 0..10u8 {
                tokio::task::yield_now().await;
                sink.send(Bytes::from(vec![b'a' + i; 3])).await.ok()?;
            }
            sink.finish().ok()?;
            None
        };
        body.drive(RelayRest::new(relay));
        let all = body.collect().await.unwrap().to_bytes();
        assert_eq!(&all[..4], b"held");
        assert_eq!(all.len(), 4 + 30);
        assert_eq!(&all[4..7], b"aaa");
        assert_eq!(&all[31..], b"jjj");
    }

    #[tokio::test]
    async fn a_relay_on_another_task_streams_through_a_full_outbox() {
        let (mut sink, body) = streaming_sink().await;
        let relay = tokio::spawn(async move {
            for _ in 0..(OUTBOX_DEPTH * 5) {
                sink.send(Bytes::from_static(b"0123456789")).await.unwrap();
            }
            sink.finish().unwrap();
        });
        let all = body.collect().await.unwrap().to_bytes();
        relay.await.unwrap();
        assert_eq!(all.len(), 4 + OUTBOX_DEPTH * 5 * 10);
    }

    #[tokio::test]
    async fn an_aborted_relay_ends_the_body_with_an_error() {
        let (mut sink, body) = streaming_sink().await;
        assert!(sink.abort("member reset"));
        let err = body.collect().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
    }

    #[tokio::test]
    async fn a_dropped_body_runs_the_rest_of_its_relay_which_sees_the_client_gone() {
        let (mut sink, mut body) = streaming_sink().await;
        let (seen_tx, seen_rx) = oneshot::channel();
        let relay = async move {
            let mut result = Ok(());
            for _ in 0..(OUTBOX_DEPTH + 2) {
                result = sink.send(Bytes::from_static(b"x")).await;
                if result.is_err() {
                    break;
                }
            }
            let _ = seen_tx.send(result);
            None
        };
        body.drive(RelayRest::new(relay));
        drop(body);
        assert_eq!(seen_rx.await.unwrap(), Err(ClientGone));
    }

    #[tokio::test]
    async fn a_complete_response_is_one_frame() {
        let (mut sink, head_rx) = ResponseSink::new();
        sink.start(200, None, http::HeaderMap::new(), Some(6), false);
        sink.send(Bytes::from_static(b"abc")).await.unwrap();
        sink.send(Bytes::from_static(b"def")).await.unwrap();
        sink.finish().unwrap();
        let head = head_rx.await.unwrap();
        assert!(matches!(&head.body, ResponseBody::Complete(b) if b.as_ref() == b"abcdef"));
    }
}
