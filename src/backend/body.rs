//! The client's request body as a relay reads it: pulled on demand, in AJP-packet-sized
//! pieces, with a bounded replay window for another attempt.

use std::collections::VecDeque;

use bytes::Bytes;
use http_body_util::BodyExt;

/// Request bodies are kept for replay on another member while they stay this small.
/// mod_jk replays exactly the first body packet (≤ `max_packet_size − 6`); jkgate
/// keeps at most this many bytes, whatever the packet size.
pub const REPLAY_WINDOW: u64 = 64 * 1024;

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
