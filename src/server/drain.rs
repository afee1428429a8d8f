//! Graceful shutdown of a listener's client connections: on shutdown every connection is
//! told to finish the requests it has and close, and the listener waits until all are gone.
//!
//! hyper-util's `GracefulShutdown` does the same through a `watch` channel whose change
//! future every connection polls on each of its wake-ups: a lock on one waiter list shared
//! by every connection, per poll (about 1 % of a small proxied request's instructions, in
//! callgrind). Here each connection waits on a oneshot of its own, whose poll is an atomic
//! load; the bookkeeping (a map entry) happens once per connection, not per request.

use std::collections::HashMap;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use hyper_util::server::graceful::GracefulConnection;
use tokio::sync::{Notify, oneshot};

/// The connections of one listener, and the means to drain them.
#[derive(Debug, Default)]
pub struct Drain {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<DrainState>,
    /// Told when the last connection ends while draining.
    all_gone: Notify,
}

#[derive(Debug, Default)]
struct DrainState {
    next_id: u64,
    /// Open connections, with the sender that tells each to shut down (taken once told).
    open: HashMap<u64, Option<oneshot::Sender<()>>>,
    draining: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, DrainState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection in the map; its end takes it out.
struct Registered {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.open.remove(&self.id);
        if state.draining && state.open.is_empty() {
            drop(state);
            self.shared.all_gone.notify_waiters();
        }
    }
}

impl Drain {
    /// No connections yet.
    pub fn new() -> Self {
        Drain::default()
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.shared.state().open.len()
    }

    /// A watch for one connection, taken when it is accepted (so that a shutdown right
    /// after the accept still counts it).
    pub fn watcher(&self) -> Watcher {
        let (tx, rx) = oneshot::channel();
        let mut state = self.shared.state();
        let id = state.next_id;
        state.next_id += 1;
        // During the drain the sender is dropped at once: the connection is told on its
        // first poll.
        let sender = (!state.draining).then_some(tx);
        state.open.insert(id, sender);
        drop(state);
        Watcher {
            registered: Registered {
                shared: self.shared.clone(),
                id,
            },
            shutdown: rx,
        }
    }

    /// Tells every connection to finish what it is answering and close, and waits until
    /// all have ended (connections watched later are told at once).
    pub async fn shutdown(&self) {
        let senders: Vec<_> = {
            let mut state = self.shared.state();
            state.draining = true;
            state.open.values_mut().filter_map(Option::take).collect()
        };
        for sender in senders {
            let _ = sender.send(());
        }
        loop {
            let mut gone = pin!(self.shared.all_gone.notified());
            gone.as_mut().enable();
            if self.shared.state().open.is_empty() {
                return;
            }
            gone.await;
        }
    }
}

/// One connection's part of a [`Drain`].
pub struct Watcher {
    registered: Registered,
    /// Ready (sent, or its sender dropped) once the drain has begun.
    shutdown: oneshot::Receiver<()>,
}

impl Watcher {
    /// Runs `conn` to its end, shutting it down gracefully when the drain begins.
    pub async fn watch<C: GracefulConnection>(self, conn: C) -> C::Output {
        let Watcher {
            registered: _registered,
            mut shutdown,
        } = self;
        let mut conn = pin!(conn);
        let mut told = false;
        poll_fn(|cx| {
            if !told && Pin::new(&mut shutdown).poll(cx).is_ready() {
                told = true;
                conn.as_mut().graceful_shutdown();
            }
            conn.as_mut().poll(cx)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Poll;
    use std::time::Duration;

    use http_body_util::Empty;
    use hyper::body::Bytes;
    use hyper_util::rt::TokioIo;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A keep-alive HTTP/1.1 connection served by hyper under `watcher`; the service
    /// answers after `delay`.
    async fn serve_one(watcher: Watcher, delay: Duration) -> tokio::net::TcpStream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (stream, _) = accepted.unwrap();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_req| async move {
                tokio::time::sleep(delay).await;
                Ok::<_, std::convert::Infallible>(hyper::Response::new(Empty::<Bytes>::new()))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            let _ = watcher.watch(conn).await;
        });
        client.unwrap()
    }

    #[tokio::test]
    async fn shutdown_lets_a_request_in_flight_finish_then_closes_its_connection() {
        let drain = Drain::new();
        let mut busy = serve_one(drain.watcher(), Duration::from_millis(200)).await;
        let mut idle = serve_one(drain.watcher(), Duration::ZERO).await;
        assert_eq!(drain.open(), 2);
        busy.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(5), drain.shutdown())
            .await
            .expect("the drain ends once both connections are gone");
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "did not wait"
        );
        assert_eq!(drain.open(), 0);
        let mut answer = Vec::new();
        busy.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert_eq!(
            idle.read(&mut [0u8; 16]).await.unwrap(),
            0,
            "idle one closed"
        );
    }

    #[tokio::test]
    async fn a_connection_accepted_during_the_drain_is_told_at_once() {
        let drain = Drain::new();
        let first = serve_one(drain.watcher(), Duration::ZERO).await;
        let watcher = {
            let shutdown = drain.shutdown();
            let mut shutdown = pin!(shutdown);
            // Start draining (the first poll tells the open ones), then take a watcher.
            assert!(futures_poll_once(shutdown.as_mut()).await.is_pending());
            drain.watcher()
        };
        let mut late = serve_one(watcher, Duration::ZERO).await;
        assert_eq!(late.read(&mut [0u8; 16]).await.unwrap(), 0);
        drop(first);
    }

    async fn futures_poll_once<F: Future + Unpin>(mut fut: F) -> Poll<F::Output> {
        poll_fn(|cx| Poll::Ready(Pin::new(&mut fut).poll(cx))).await
    }
}
