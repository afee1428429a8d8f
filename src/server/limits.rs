//! Client limits on the wire: the connection cap, the per-connection read clock
//! (`RequestReadTimeout`, `KeepAliveTimeout`) and the hyper settings for header size and
//! count. The values come from the gateway ([`crate::config::limits::ClientLimits`]); a
//! connection keeps the ones current when it was accepted.
//!
//! hyper's own `header_read_timeout` is turned off: it starts when hyper waits for a head,
//! idle keep-alive waits included, so it cannot tell httpd's `KeepAliveTimeout` from
//! mod_reqtimeout's `header=`, and it has no `MinRate` extension. Instead every connection
//! has a [`ConnClock`]: the socket wrapper [`Metered`] reports the bytes read, the service
//! reports requests starting and ending and bodies being read, and [`ConnClock::expired`]
//! resolves when the phase the connection is in has run out of time; the connection task
//! then drops the connection (closing the socket, as mod_reqtimeout does).

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::backend::response::ResponseBody;
use crate::config::limits::{ClientLimits, RateTimeout};

/// The hyper connection builder every listener serves with.
pub type HttpBuilder = hyper_util::server::conn::auto::Builder<TokioExecutor>;

/// hyper refuses a `max_buf_size` below its own minimum (8 KiB).
const HYPER_MIN_BUF: usize = 8192;

/// The hyper builder for `limits`: keep-alive on unless `KeepAliveTimeout` is zero, the
/// header count (`LimitRequestFields`) and the largest request head the limits allow (the
/// request line and every field at its limit) as hyper's buffer bound. hyper answers a
/// head beyond either with `431 Request Header Fields Too Large` (httpd answers 400); a
/// single field or the request line beyond its own limit is refused in `handle`.
pub fn http_builder(limits: &ClientLimits) -> HttpBuilder {
    let mut builder = HttpBuilder::new(TokioExecutor::new());
    let head = limits.max_head_bytes().max(HYPER_MIN_BUF);
    // A client that shuts down its write side after the request (`Connection: close`
    // clients such as `nc -N`) still gets its response, as httpd gives it.
    builder
        .http1()
        .keep_alive(!limits.keep_alive_timeout.is_zero())
        .half_close(true)
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_headers(limits.fields)
        .max_buf_size(head);
    // HTTP/2: the same bound on the decoded header list (SETTINGS_MAX_HEADER_LIST_SIZE).
    builder
        .http2()
        .max_header_list_size(u32::try_from(head).unwrap_or(u32::MAX));
    builder
}

/// `MaxConnections`: one permit per open client connection, shared by every listener and
/// kept across reloads. A listener takes a permit *before* it accepts, so at the cap it
/// stops accepting and new clients wait in the kernel's listen backlog, as with httpd's
/// MaxRequestWorkers, instead of being accepted and closed.
#[derive(Debug)]
pub struct ConnectionCap {
    semaphore: Arc<Semaphore>,
    state: Mutex<CapState>,
}

#[derive(Debug)]
struct CapState {
    limit: usize,
    /// Permits to retire as connections end, after the cap was lowered below the number of
    /// connections open at the time.
    debt: usize,
}

impl ConnectionCap {
    /// A cap of `limit` connections.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(ConnectionCap {
            semaphore: Arc::new(Semaphore::new(limit)),
            state: Mutex::new(CapState { limit, debt: 0 }),
        })
    }

    fn state(&self) -> MutexGuard<'_, CapState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cap now.
    pub fn limit(&self) -> usize {
        self.state().limit
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        let state = self.state();
        (state.limit + state.debt).saturating_sub(self.semaphore.available_permits())
    }

    /// Changes the cap (a reload). Open connections stay; a lower cap admits new ones only
    /// once enough have ended.
    pub fn resize(&self, limit: usize) {
        let mut state = self.state();
        if limit > state.limit {
            let more = limit - state.limit;
            let repaid = more.min(state.debt);
            state.debt -= repaid;
            self.semaphore.add_permits(more - repaid);
        } else if limit < state.limit {
            let fewer = state.limit - limit;
            let retired = self.semaphore.forget_permits(fewer);
            state.debt += fewer - retired;
        }
        state.limit = limit;
    }

    /// Waits for room for one more connection.
    pub async fn acquire(self: &Arc<Self>) -> CapPermit {
        let permit = self
            .semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed");
        CapPermit {
            permit: Some(permit),
            cap: self.clone(),
        }
    }
}

/// Room for one connection, given back when the connection ends.
#[derive(Debug)]
pub struct CapPermit {
    permit: Option<OwnedSemaphorePermit>,
    cap: Arc<ConnectionCap>,
}

impl Drop for CapPermit {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let mut state = self.cap.state();
        if state.debt > 0 {
            state.debt -= 1;
            permit.forget();
        }
    }
}

/// A phase's time window: opened at `start`, closing at `deadline`, which bytes received
/// may move later (mod_reqtimeout's `MinRate`) up to `start + max`.
#[derive(Clone, Copy, Debug)]
struct Window {
    spec: RateTimeout,
    start: Instant,
    deadline: Instant,
}

impl Window {
    fn open(spec: RateTimeout, now: Instant) -> Window {
        Window {
            spec,
            start: now,
            deadline: now + spec.initial,
        }
    }

    fn extend(&mut self, bytes: usize) {
        let later = self.deadline + self.spec.extension(bytes);
        self.deadline = match self.spec.max {
            Some(max) => later.min(self.start + max),
            None => later,
        };
    }
}

/// Where a connection is, for its clock.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Reading a request head (from the connection's start, or from the first byte after
    /// an idle wait); `None` when `header=0`.
    Head(Option<Window>),
    /// Between requests, until this deadline (`None`: keep-alive off, hyper closes).
    Idle(Option<Instant>),
    /// At least one request is being answered.
    Busy,
}

#[derive(Debug)]
struct ClockState {
    phase: Phase,
    /// Requests whose response is not finished.
    active: usize,
    /// Request bodies still being read.
    bodies: usize,
    /// The body phase's window while `bodies > 0` (`None` when `body=0`).
    body: Option<Window>,
}

/// Why a connection's clock ran out (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// `RequestReadTimeout header=`.
    Header,
    /// `RequestReadTimeout body=`.
    Body,
    /// `KeepAliveTimeout`.
    KeepAlive,
}

impl std::fmt::Display for Expiry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Expiry::Header => "request head not received in time (RequestReadTimeout header=)",
            Expiry::Body => "request body not received in time (RequestReadTimeout body=)",
            Expiry::KeepAlive => "idle keep-alive connection (KeepAliveTimeout)",
        })
    }
}

/// One connection's read deadlines (see the module documentation).
#[derive(Debug)]
pub struct ConnClock {
    header: Option<RateTimeout>,
    body: Option<RateTimeout>,
    keep_alive: Option<Duration>,
    state: Mutex<ClockState>,
    changed: Notify,
}

impl ConnClock {
    /// A clock for a connection accepted now: the header phase starts at once (a client
    /// that connects and sends nothing is a slow client too).
    pub fn new(limits: &ClientLimits) -> Arc<Self> {
        let header = limits.read_timeout.header;
        Arc::new(ConnClock {
            header,
            body: limits.read_timeout.body,
            keep_alive: (!limits.keep_alive_timeout.is_zero()).then_some(limits.keep_alive_timeout),
            state: Mutex::new(ClockState {
                phase: Phase::Head(header.map(|spec| Window::open(spec, Instant::now()))),
                active: 0,
                bodies: 0,
                body: None,
            }),
            changed: Notify::new(),
        })
    }

    fn state(&self) -> MutexGuard<'_, ClockState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `bytes` arrived from the client.
    fn received(&self, bytes: usize) {
        let mut state = self.state();
        if state.bodies > 0 {
            if let Some(window) = state.body.as_mut() {
                window.extend(bytes);
            }
            return;
        }
        match &mut state.phase {
            Phase::Idle(_) => {
                // The next request starts arriving: from now on it is a head being read.
                let mut window = self.header.map(|spec| Window::open(spec, Instant::now()));
                if let Some(window) = window.as_mut() {
                    window.extend(bytes);
                }
                state.phase = Phase::Head(window);
                drop(state);
                self.changed.notify_waiters();
            }
            Phase::Head(Some(window)) => window.extend(bytes),
            Phase::Head(None) | Phase::Busy => {}
        }
    }

    /// A request head was read; the guard marks its response finished when dropped.
    pub fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut state = self.state();
        state.active += 1;
        state.phase = Phase::Busy;
        RequestGuard {
            clock: self.clone(),
        }
    }

    fn request_finished(&self) {
        let mut state = self.state();
        state.active -= 1;
        if state.active == 0 && state.bodies == 0 {
            state.phase = Phase::Idle(self.keep_alive.map(|d| Instant::now() + d));
        }
        drop(state);
        self.changed.notify_waiters();
    }

    fn body_opened(self: &Arc<Self>) -> BodyGuard {
        let mut state = self.state();
        state.bodies += 1;
        if state.bodies == 1 {
            state.body = self.body.map(|spec| Window::open(spec, Instant::now()));
        }
        drop(state);
        self.changed.notify_waiters();
        BodyGuard {
            clock: self.clone(),
        }
    }

    fn body_closed(&self) {
        let mut state = self.state();
        state.bodies -= 1;
        if state.bodies == 0 {
            state.body = None;
            if state.active == 0 {
                // The response went out before the body was read to its end (the
                // discard): the idle wait starts now.
                state.phase = Phase::Idle(self.keep_alive.map(|d| Instant::now() + d));
            }
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// The deadline the connection is under now, and what it is for.
    fn deadline(&self) -> Option<(Instant, Expiry)> {
        let state = self.state();
        if state.bodies > 0 {
            return state.body.map(|w| (w.deadline, Expiry::Body));
        }
        match state.phase {
            Phase::Head(window) => window.map(|w| (w.deadline, Expiry::Header)),
            Phase::Idle(deadline) => deadline.map(|d| (d, Expiry::KeepAlive)),
            Phase::Busy => None,
        }
    }

    /// Resolves when the connection has run out of time in its current phase. Never
    /// resolves while a response is on its way and no request body is being read.
    pub async fn expired(&self) -> Expiry {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.deadline() {
                None => notified.await,
                Some((at, why)) if at <= Instant::now() => return why,
                Some((at, _)) => {
                    // A deadline only moves later while it runs (bytes received); a
                    // phase change can move it earlier and notifies.
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = notified => {}
                    }
                }
            }
        }
    }
}

/// A request being answered (see [`ConnClock::request_started`]).
#[derive(Debug)]
pub struct RequestGuard {
    clock: Arc<ConnClock>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.clock.request_finished();
    }
}

/// A request body being read.
#[derive(Debug)]
struct BodyGuard {
    clock: Arc<ConnClock>,
}

impl Drop for BodyGuard {
    fn drop(&mut self) {
        self.clock.body_closed();
    }
}

/// The client socket (or the TCP stream under TLS), reporting every byte read to the
/// connection's clock.
pub type Metered<S> = super::read_tap::ReadTap<S, Arc<ConnClock>>;

impl super::read_tap::ReadObserver for Arc<ConnClock> {
    fn observe(&mut self, bytes: &mut [u8]) {
        self.received(bytes.len());
    }
}

/// A request body as the handlers see it: hyper's body, with the body phase of the
/// connection's clock running until it ends or is dropped.
#[derive(Debug)]
pub struct ClientBody {
    inner: Incoming,
    guard: Option<BodyGuard>,
}

impl ClientBody {
    /// Wraps `inner`; the body phase starts unless the body is empty.
    pub fn new(inner: Incoming, clock: &Arc<ConnClock>) -> Self {
        let guard = (!inner.is_end_stream()).then(|| clock.body_opened());
        ClientBody { inner, guard }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            self.guard = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that marks its request finished on the connection's clock when hyper
/// is done with it (written out or abandoned).
#[derive(Debug)]
pub struct ServedBody {
    inner: ResponseBody,
    _request: Option<RequestGuard>,
}

impl ServedBody {
    /// `inner`, finishing `request` when dropped.
    pub fn new(inner: ResponseBody, request: Option<RequestGuard>) -> Self {
        ServedBody {
            inner,
            _request: request,
        }
    }
}

impl Body for ServedBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::RequestReadTimeout;

    fn limits() -> ClientLimits {
        ClientLimits {
            read_timeout: RequestReadTimeout {
                header: Some(RateTimeout {
                    initial: Duration::from_secs(20),
                    max: Some(Duration::from_secs(40)),
                    min_rate: Some(500),
                }),
                body: Some(RateTimeout {
                    initial: Duration::from_secs(20),
                    max: None,
                    min_rate: Some(500),
                }),
            },
            keep_alive_timeout: Duration::from_secs(5),
            ..ClientLimits::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn phases_follow_requests_and_bytes() {
        let clock = ConnClock::new(&limits());
        let start = Instant::now();
        assert_eq!(
            clock.deadline(),
            Some((start + Duration::from_secs(20), Expiry::Header))
        );
        // 500 bytes earn a second; the extension stops at 40 s after the start.
        clock.received(500);
        assert_eq!(clock.deadline().unwrap().0, start + Duration::from_secs(21));
        clock.received(500 * 100);
        assert_eq!(clock.deadline().unwrap().0, start + Duration::from_secs(40));
        let request = clock.request_started();
        assert_eq!(clock.deadline(), None, "no deadline while answering");
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(request);
        let idle = Instant::now();
        assert_eq!(
            clock.deadline(),
            Some((idle + Duration::from_secs(5), Expiry::KeepAlive))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        clock.received(10);
        let (at, why) = clock.deadline().unwrap();
        assert_eq!(why, Expiry::Header);
        assert_eq!(
            at,
            idle + Duration::from_secs(21) + Duration::from_millis(20)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn body_phase_outlasts_the_response() {
        let clock = ConnClock::new(&limits());
        let request = clock.request_started();
        let body = clock.body_opened();
        let opened = Instant::now();
        assert_eq!(
            clock.deadline(),
            Some((opened + Duration::from_secs(20), Expiry::Body))
        );
        drop(request);
        // The response is out, the body is still being read (discarded): still the body's.
        assert_eq!(clock.deadline().unwrap().1, Expiry::Body);
        clock.received(1000);
        assert_eq!(
            clock.deadline().unwrap().0,
            opened + Duration::from_secs(22)
        );
        drop(body);
        assert_eq!(clock.deadline().unwrap().1, Expiry::KeepAlive);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_waits_for_the_running_deadline() {
        let clock = ConnClock::new(&limits());
        let started = Instant::now();
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.expired().await })
        };
        tokio::time::sleep(Duration::from_secs(10)).await;
        clock.received(5000); // ten seconds more
        let why = waiter.await.unwrap();
        assert_eq!(why, Expiry::Header);
        assert_eq!(Instant::now() - started, Duration::from_secs(30));
    }

    #[tokio::test]
    async fn cap_resizes_with_connections_open() {
        let cap = ConnectionCap::new(2);
        let a = cap.acquire().await;
        let b = cap.acquire().await;
        assert_eq!(cap.open(), 2);
        cap.resize(1);
        drop(a);
        // Still one open: the cap of 1 is full.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), cap.acquire())
                .await
                .is_err()
        );
        drop(b);
        let c = cap.acquire().await;
        assert_eq!(cap.open(), 1);
        cap.resize(3);
        let _d = cap.acquire().await;
        let _e = cap.acquire().await;
        assert_eq!(cap.open(), 3);
        drop(c);
        assert_eq!(cap.open(), 2);
    }
}
