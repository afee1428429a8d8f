//! The two streams of one exchange: the client's request body (pulled on demand,
//! with a bounded replay window) and the response towards the client.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use tokio::sync::{mpsc, oneshot};

/// Request bodies are kept for replay on another member while they stay this small.
/// mod_jk replays exactly the first body packet (≤ `max_packet_size − 6`); jkgate
/// keeps at most this many bytes, whatever the packet size.
pub const REPLAY_WINDOW: u64 = 64 * 1024;

/// How many response chunks may wait between the AJP side and the client. Bounds
/// the memory of one response to this many AJP packets.
const RESPONSE_CHANNEL_DEPTH: usize = 4;

/// A boxed, sendable HTTP body as the relay consumes it.
pub type BoxedBody = http_body_util::combinators::BoxBody<Bytes, BodyError>;

/// An error reading the client's body.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The client's body could not be read (it broke off, or was cut short).
    #[error("client body: {0}")]
    Read(String),
    /// The body went over `LimitRequestBody`: jkgate stops reading it (httpd answers 413).
    #[error("client body: more than LimitRequestBody ({limit} bytes)")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
}

impl BodyError {
    /// Wraps any displayable error.
    pub fn from_display(err: impl std::fmt::Display) -> Self {
        BodyError::Read(err.to_string())
    }

    /// True when the body went over `LimitRequestBody`.
    pub fn is_too_large(&self) -> bool {
        matches!(self, BodyError::TooLarge { .. })
    }
}

/// How the request announces its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body: `content-length: 0` is forwarded, Tomcat never asks.
    Empty,
    /// `Content-Length: n` with n > 0: the first packet goes unsolicited.
    Length(u64),
    /// Chunked (or unknown length): Tomcat pulls every packet with GET_BODY_CHUNK.
    Chunked,
}

/// The client's request body, read lazily in AJP-packet-sized pieces.
///
/// Everything handed to a member stays replayable while the total is within
/// [`REPLAY_WINDOW`]; [`RequestBody::rewind`] then lets the next attempt start over.
pub struct RequestBody {
    source: Option<BoxedBody>,
    kind: BodyKind,
    /// Data pulled from the source; chunks before `cursor` were handed out.
    chunks: VecDeque<Bytes>,
    /// Index into `chunks` and offset inside it of the next byte to hand out.
    cursor: (usize, usize),
    handed_out: u64,
    received: u64,
    replayable: bool,
    source_done: bool,
    /// Data was asked of the client (a `100 Continue` went out if it expected one).
    started: bool,
    /// How much of an unread rest [`RequestBody::discard_rest`] reads (0: none).
    discard_limit: u64,
    /// Discard only a body that was already started (the client expects `100 Continue`).
    discard_only_started: bool,
    /// `LimitRequestBody`: reading more than this fails (`None`: unlimited).
    limit: Option<u64>,
}

impl std::fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestBody")
            .field("kind", &self.kind)
            .field("handed_out", &self.handed_out)
            .field("received", &self.received)
            .field("replayable", &self.replayable)
            .finish()
    }
}

impl RequestBody {
    /// A body read from `source` and announced as `kind`.
    pub fn new(source: BoxedBody, kind: BodyKind) -> Self {
        RequestBody {
            source: Some(source),
            kind,
            chunks: VecDeque::new(),
            cursor: (0, 0),
            handed_out: 0,
            received: 0,
            replayable: true,
            source_done: kind == BodyKind::Empty,
            started: false,
            discard_limit: 0,
            discard_only_started: false,
            limit: None,
        }
    }

    /// A request without a body.
    pub fn empty() -> Self {
        RequestBody {
            source: None,
            kind: BodyKind::Empty,
            chunks: VecDeque::new(),
            cursor: (0, 0),
            handed_out: 0,
            received: 0,
            replayable: true,
            source_done: true,
            started: false,
            discard_limit: 0,
            discard_only_started: false,
            limit: None,
        }
    }

    /// How the body was announced.
    pub fn kind(&self) -> BodyKind {
        self.kind
    }

    /// True when every byte handed out so far can be handed out again.
    pub fn is_replayable(&self) -> bool {
        self.replayable
    }

    /// Bytes handed out since the last rewind.
    pub fn handed_out(&self) -> u64 {
        self.handed_out
    }

    /// Starts the body over for another attempt. Returns false when bytes that
    /// are no longer kept were already handed out.
    pub fn rewind(&mut self) -> bool {
        if !self.replayable {
            return false;
        }
        self.cursor = (0, 0);
        self.handed_out = 0;
        true
    }

    /// The next piece of body data, at most `max` bytes; an empty result means
    /// the body is complete. Never returns an empty piece before the end.
    pub async fn next_data(&mut self, max: usize) -> Result<Bytes, BodyError> {
        if max == 0 {
            return Ok(Bytes::new());
        }
        loop {
            let (index, offset) = self.cursor;
            if let Some(chunk) = self.chunks.get(index) {
                let available = chunk.len() - offset;
                if available == 0 {
                    self.cursor = (index + 1, 0);
                    continue;
                }
                let take = available.min(max);
                let piece = chunk.slice(offset..offset + take);
                self.cursor = (index, offset + take);
                self.handed_out += take as u64;
                self.trim_replay_window();
                return Ok(piece);
            }
            if self.source_done {
                return self.finish_check();
            }
            self.pull().await?;
        }
    }

    /// Reads the first piece of the body (if any) before the request goes to a member,
    /// as mod_jk reads its first body packet before it sends the request: a client whose
    /// chunked framing is broken from its first chunk is refused before anything reaches
    /// the member. The piece stays here for the member.
    pub async fn prefetch(&mut self) -> Result<(), BodyError> {
        while self.chunks.is_empty() && !self.source_done {
            self.pull().await?;
        }
        Ok(())
    }

    /// True while the client may still send body bytes nobody read.
    pub fn has_unread_rest(&self) -> bool {
        !self.source_done
    }

    /// Holds the body to `limit` bytes (`LimitRequestBody`): once more arrived, every read
    /// fails with [`BodyError::TooLarge`] and the rest is never read.
    pub fn set_limit(&mut self, limit: Option<u64>) {
        self.limit = limit;
    }

    /// Allows [`RequestBody::discard_rest`] to read up to `limit` bytes of an unread rest.
    /// With `only_if_started` (the client sent `Expect: 100-continue`), a body nobody asked
    /// for stays unread: the client was never told to send it.
    pub fn set_discard(&mut self, limit: u64, only_if_started: bool) {
        self.discard_limit = limit;
        self.discard_only_started = only_if_started;
    }

    /// Reads the rest of the body from the client and throws it away (after the
    /// member answered without consuming it all, as mod_jk does), so the client finishes
    /// sending and its connection stays usable. Returns false when the rest is left
    /// unread (not allowed by [`RequestBody::set_discard`], or longer than its limit):
    /// the listener then closes the connection.
    pub async fn discard_rest(&mut self) -> Result<bool, BodyError> {
        self.replayable = false;
        self.chunks.clear();
        self.cursor = (0, 0);
        if self.source_done {
            return Ok(true);
        }
        if self.discard_limit == 0 || (self.discard_only_started && !self.started) {
            return Ok(false);
        }
        let start = self.received;
        while !self.source_done {
            if self.received - start > self.discard_limit {
                return Ok(false);
            }
            self.pull().await?;
            self.chunks.clear();
        }
        Ok(true)
    }

    fn finish_check(&self) -> Result<Bytes, BodyError> {
        if let BodyKind::Length(expected) = self.kind
            && self.received < expected
        {
            return Err(BodyError::Read(format!(
                "client sent {} of {expected} body bytes",
                self.received
            )));
        }
        Ok(Bytes::new())
    }

    /// Drops chunks before the cursor once the replay window is exceeded.
    fn trim_replay_window(&mut self) {
        if self.handed_out > REPLAY_WINDOW || !self.replayable {
            self.replayable = false;
            let (index, offset) = self.cursor;
            self.chunks.drain(..index);
            if offset > 0
                && let Some(front) = self.chunks.front_mut()
            {
                let _ = front.split_to(offset);
            }
            self.cursor = (0, 0);
        }
    }

    async fn pull(&mut self) -> Result<(), BodyError> {
        if let Some(limit) = self.limit
            && self.received > limit
        {
            return Err(BodyError::TooLarge { limit });
        }
        self.started = true;
        let Some(source) = self.source.as_mut() else {
            self.source_done = true;
            return Ok(());
        };
        match source.frame().await {
            None => {
                self.source_done = true;
                self.source = None;
            }
            Some(Err(err)) => {
                self.source_done = true;
                self.source = None;
                return Err(err);
            }
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data()
                    && !data.is_empty()
                {
                    self.received += data.len() as u64;
                    if let Some(limit) = self.limit
                        && self.received > limit
                    {
                        // Nothing of it goes on: the member sees at most `limit` bytes.
                        return Err(BodyError::TooLarge { limit });
                    }
                    self.chunks.push_back(data);
                }
            }
        }
        Ok(())
    }
}

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
    /// Headers in the member's order, duplicates kept.
    pub headers: Vec<(Bytes, Bytes)>,
    /// The body that follows.
    pub body: ResponseBody,
}

/// What the server tells the client after a failed relay (no head was sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorStatus(pub u16);

/// The response body handed to hyper.
#[derive(Debug)]
pub enum ResponseBody {
    /// The whole body is known (possibly empty).
    Complete(Bytes),
    /// The body is still being relayed; chunks arrive on the channel.
    Streaming {
        /// Chunks (or an error that aborts the client connection).
        chunks: mpsc::Receiver<Result<Bytes, io::Error>>,
        /// Content-Length announced by the member, if any.
        length: Option<u64>,
    },
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
            ResponseBody::Streaming { chunks, .. } => match chunks.poll_recv(cx) {
                Poll::Ready(Some(Ok(data))) => Poll::Ready(Some(Ok(Frame::data(data)))),
                Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
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

/// The client went away (its response body was dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("client closed the connection")]
pub struct ClientGone;

/// Where the relay writes the response.
///
/// The head is held back while the member's next packets are already buffered,
/// so a small response that ends in the same read goes out as one complete body
/// without a channel. Once the relay would have to wait, [`ResponseSink::commit`]
/// sends the head and switches to streaming.
pub struct ResponseSink {
    head_tx: Option<oneshot::Sender<ResponseHead>>,
    pending: Option<PendingHead>,
    body_tx: Option<mpsc::Sender<Result<Bytes, io::Error>>>,
    bytes: u64,
    suppress_body: bool,
    new_session: Option<Bytes>,
    extra_headers: Vec<(Bytes, Bytes)>,
}

struct PendingHead {
    status: u16,
    reason: Option<Bytes>,
    headers: Vec<(Bytes, Bytes)>,
    length: Option<u64>,
    body: Vec<Bytes>,
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
                body_tx: None,
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
    pub fn set_extra_headers(&mut self, headers: Vec<(Bytes, Bytes)>) {
        self.extra_headers = headers;
    }

    /// Accepts the response head. `suppress_body` drops body bytes (HEAD, 204, 304).
    pub fn start(
        &mut self,
        status: u16,
        reason: Option<Bytes>,
        mut headers: Vec<(Bytes, Bytes)>,
        length: Option<u64>,
        suppress_body: bool,
    ) {
        self.suppress_body = suppress_body;
        headers.extend(self.extra_headers.iter().cloned());
        self.new_session = headers.iter().find_map(|(name, value)| {
            if !name.eq_ignore_ascii_case(b"set-cookie") {
                return None;
            }
            let rest = value.strip_prefix(b"JSESSIONID=")?;
            let end = rest.iter().position(|&b| b == b';').unwrap_or(rest.len());
            Some(value.slice_ref(&rest[..end]))
        });
        self.pending = Some(PendingHead {
            status,
            reason,
            headers,
            length: if suppress_body { None } else { length },
            body: Vec::new(),
        });
    }

    /// True while a head is held back.
    pub fn has_pending_head(&self) -> bool {
        self.pending.is_some()
    }

    /// Sends a held-back head (and the chunks gathered with it) and switches to
    /// streaming.
    pub async fn commit(&mut self) -> Result<(), ClientGone> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let (tx, rx) = mpsc::channel(RESPONSE_CHANNEL_DEPTH);
        let head = ResponseHead {
            status: pending.status,
            reason: pending.reason,
            headers: pending.headers,
            body: ResponseBody::Streaming {
                chunks: rx,
                length: pending.length,
            },
        };
        let head_tx = self.head_tx.take().ok_or(ClientGone)?;
        head_tx.send(head).map_err(|_| ClientGone)?;
        for chunk in pending.body {
            tx.send(Ok(chunk)).await.map_err(|_| ClientGone)?;
        }
        self.body_tx = Some(tx);
        Ok(())
    }

    /// Relays one body chunk.
    pub async fn send(&mut self, data: Bytes) -> Result<(), ClientGone> {
        if self.suppress_body || data.is_empty() {
            return Ok(());
        }
        self.bytes += data.len() as u64;
        if let Some(pending) = self.pending.as_mut() {
            pending.body.push(data);
            return Ok(());
        }
        match &self.body_tx {
            Some(tx) => tx.send(Ok(data)).await.map_err(|_| ClientGone),
            None => Err(ClientGone),
        }
    }

    /// Ends the response successfully.
    pub fn finish(&mut self) -> Result<(), ClientGone> {
        if let Some(pending) = self.pending.take() {
            let body = match pending.body.len() {
                0 => Bytes::new(),
                1 => pending.body.into_iter().next().unwrap_or_default(),
                _ => {
                    let mut all = bytes::BytesMut::with_capacity(self.bytes as usize);
                    for chunk in pending.body {
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
        self.body_tx = None;
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
    pub async fn abort(&mut self, reason: &str) -> bool {
        self.discard_pending();
        match self.body_tx.take() {
            Some(tx) => {
                let _ = tx
                    .send(Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        reason.to_owned(),
                    )))
                    .await;
                true
            }
            None => self.head_tx.is_none(),
        }
    }
}
