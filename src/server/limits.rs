//! Client limits on the wire: the connection cap, the hyper settings for header size and
//! count, and the request and response bodies that keep the connection's clock
//! ([`super::conn_clock`]) told of what is being read and answered. The values come from
//! the gateway ([`crate::config::limits::ClientLimits`]); a connection keeps the ones
//! current when it was accepted.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::conn_clock::{BodyGuard, ConnClock, RequestGuard};
use crate::backend::response::ResponseBody;
use crate::config::limits::ClientLimits;

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
            tokio::time::timeout(std::time::Duration::from_millis(50), cap.acquire())
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
