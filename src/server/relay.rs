//! The relay of one mapped request, from the moment `handle` has decided to forward it:
//! the boxed future that forwards, logs and drains, and the response hyper gets, at once
//! with the member's head or as jkgate's error page.
//!
//! The futures here are made to be small: hyper moves the per-request future once, and the
//! relay is boxed per request, so every byte of their state is copied on each request.

use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use http::{Response, StatusCode};

use super::{AccessLine, Routing, closing, discard_unread, error_response, refusal_response};
use crate::backend::dispatch::Target;
use crate::backend::response::{RelayRest, ResponseBody, ResponseHead};
use crate::backend::{RequestBody, ResponseSink};
use crate::balancer::{RequestFacts, SharedName};

/// What [`super::handle`] made of a request: jkgate's own answer, or a relay under way.
pub enum Handled {
    /// Answered without a member (refused, not mapped, the status worker, metrics).
    Answered(Response<ResponseBody>),
    /// Relayed: the response comes with the member's head, or is jkgate's error page.
    Relaying {
        /// The relay, boxed.
        relay: RelayRest,
        /// Where the relay sends the response head.
        head: tokio::sync::oneshot::Receiver<ResponseHead>,
        /// The request's HTTP version (for the error page's `Connection: close`).
        version: http::Version,
    },
}

impl Handled {
    /// The response to send: at once, or once the relay has a head or has failed.
    /// (Not an `async fn`, for the reason given at `relay` below.)
    ///
    /// The relay sends its head from inside its own poll, on this task, so the channel is
    /// looked at (`try_recv`) after each poll of the relay and never awaited: awaiting it
    /// would leave this task's waker in the channel, and sending the head would wake the
    /// connection's task for one more, idle, poll of the whole connection per request.
    #[allow(clippy::manual_async_fn)]
    pub fn response(self) -> impl Future<Output = Response<ResponseBody>> + Send {
        async move {
            let (mut relay, mut head_rx, version) = match self {
                Handled::Answered(response) => return response,
                Handled::Relaying {
                    relay,
                    head,
                    version,
                } => (relay, head, version),
            };
            // (the head, and whether the relay has ended with it) or the relay's failure
            let outcome = std::future::poll_fn(|cx| {
                let relayed = std::pin::Pin::new(&mut relay).poll(cx);
                match head_rx.try_recv() {
                    Ok(head) => Poll::Ready(Ok((head, relayed.is_ready()))),
                    // No head yet: the relay's own wakers (its member connection, the
                    // client's body) bring this task back.
                    Err(_) => relayed.map(Err),
                }
            })
            .await;
            match outcome {
                Ok((mut head, ended)) => {
                    if !ended {
                        // The body's polls run the rest of the relay on this connection's
                        // task.
                        head.body.drive(relay);
                    }
                    into_response(head)
                }
                Err(failed) => relay_error_response(failed.unwrap_or(502), version),
            }
        }
    }
}

/// Runs the relay to the end; returns the error status when no head reached the client.
/// `prefetch`: read the first piece of a chunked body before anything goes to a member
/// (see [`RequestBody::prefetch`]); broken framing there is answered 400 (413 over
/// `LimitRequestBody`), as httpd answers it.
///
/// A function returning an `async move` block rather than an `async fn`: an `async fn`
/// moves each argument into a local of its own, so every argument held across an await
/// takes its size twice in the future; the block uses what it captured in place.
#[allow(clippy::too_many_arguments, clippy::manual_async_fn)]
pub(super) fn relay(
    target: Target,
    worker: Arc<str>,
    mut ctx: crate::backend::ForwardContext,
    facts: RequestFacts,
    mut body: RequestBody,
    prefetch: bool,
    mut sink: ResponseSink,
    log: AccessLine,
) -> impl Future<Output = Option<u16>> + Send {
    async move {
        if prefetch && let Err(err) = body.prefetch().await {
            let status = if err.is_too_large() { 413 } else { 400 };
            tracing::info!(worker = %worker, %err, "request refused before forwarding");
            log.write(status, 0, &worker, Routing::default());
            return Some(status);
        }
        let result = target.forward(&mut ctx, &mut body, &mut sink, &facts).await;
        // (status for the log, body bytes, jkgate's own answer when nothing reached the
        // client)
        let (logged, bytes, answer) = match result {
            Ok(done) => (done.status, done.body_bytes, None),
            Err(err) => {
                tracing::warn!(
                    worker = %worker,
                    member = %ctx.member.as_deref().unwrap_or("-"),
                    "request failed: {err}"
                );
                let bytes = sink.body_bytes();
                if sink.abort(&err.to_string()) {
                    // The response was cut short: the client connection ends here.
                    (0, bytes, None)
                } else {
                    let status = err.http_status();
                    (status, 0, Some(status))
                }
            }
        };
        log.write(
            logged,
            bytes,
            &worker,
            Routing {
                member: ctx.member.as_deref(),
                route: ctx
                    .used_route
                    .as_ref()
                    .or(ctx.route.as_ref())
                    .map(SharedName::as_bytes),
                first_route: ctx.first_route.as_ref().map(SharedName::as_bytes),
                // Borrowed, not cloned: a clone of a session id made a reference count, and
                // an allocation the first time, for a line that is mostly not written.
                session: sink.new_session().or(ctx.session_id.as_ref()),
            },
        );
        // A complete answer (the member's or jkgate's own page) went out: what the client
        // still sends of its body is read and dropped so the connection stays usable.
        if logged != 0 && body.has_unread_rest() {
            tokio::spawn(discard_unread(body));
        }
        answer
    }
}

/// jkgate's page for a relay that failed before a response head went out: a refusal's
/// (a 400, broken body framing, closes the connection), and a 413 (the body went over
/// `LimitRequestBody`, or the head did not fit an AJP packet) closes it too: what the
/// client still sends is not read.
fn relay_error_response(status: u16, version: http::Version) -> Response<ResponseBody> {
    if status == 413 {
        closing(error_response(status), version)
    } else {
        refusal_response(status, version)
    }
}

fn into_response(head: ResponseHead) -> Response<ResponseBody> {
    let mut response = Response::new(head.body);
    *response.status_mut() = StatusCode::from_u16(head.status).unwrap_or(StatusCode::BAD_GATEWAY);
    // Tomcat sends the number as its "message"; the worker drops that, so most statuses
    // get hyper's standard phrase. A status hyper has no phrase for would go out as
    // `599 <none>`: mod_jk's phrase for unknown codes instead.
    let reason = head
        .reason
        .and_then(|reason| hyper::ext::ReasonPhrase::try_from(reason).ok())
        .or_else(|| {
            response
                .status()
                .canonical_reason()
                .is_none()
                .then(|| hyper::ext::ReasonPhrase::from_static(b"Unknown Reason"))
        });
    if let Some(reason) = reason {
        response.extensions_mut().insert(reason);
    }
    *response.headers_mut() = head.headers;
    response
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Wake, Waker};

    use bytes::Bytes;
    use http_body_util::BodyExt;

    use super::*;

    /// Counts the wakes of the task polling the response.
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Pending once, then ready. `wake`: the task is woken at once, as by a member's reply
    /// (tokio's `yield_now` defers its wake to the runtime, which would hide it from the
    /// counting waker); otherwise nobody is woken, as by a socket with nothing to read yet,
    /// and the next poll (here: the response body's) finds it ready.
    async fn pending_once(wake: bool) {
        let mut polled = false;
        std::future::poll_fn(|cx| {
            if polled {
                return Poll::Ready(());
            }
            polled = true;
            if wake {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        })
        .await;
    }

    /// A relay that waits for one wake (as for its member's reply), then sends a head:
    /// the whole body at once (`streamed` false) or the head and one chunk of a body
    /// still going on.
    fn relay_sending_head(mut sink: ResponseSink, streamed: bool) -> RelayRest {
        RelayRest::new(async move {
            pending_once(true).await;
            sink.start(200, None, http::HeaderMap::new(), None, false);
            let _ = sink.send(Bytes::from_static(b"first")).await;
            if streamed {
                let _ = sink.commit();
                pending_once(false).await;
                let _ = sink.send(Bytes::from_static(b"second")).await;
            }
            let _ = sink.finish();
            None
        })
    }

    #[tokio::test]
    async fn sending_the_head_does_not_wake_the_task_that_polls_the_relay() {
        for streamed in [false, true] {
            let (sink, head) = ResponseSink::new();
            let handled = Handled::Relaying {
                relay: relay_sending_head(sink, streamed),
                head,
                version: http::Version::HTTP_11,
            };
            let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
            let waker = Waker::from(counter.clone());
            let mut cx = Context::from_waker(&waker);
            let mut response = pin!(handled.response());
            assert!(response.as_mut().poll(&mut cx).is_pending());
            // The relay's own wake (standing in for the member's socket).
            assert_eq!(counter.0.load(Ordering::SeqCst), 1, "streamed: {streamed}");
            let Poll::Ready(response) = response.as_mut().poll(&mut cx) else {
                panic!("no head after the relay sent it (streamed: {streamed})");
            };
            assert_eq!(
                counter.0.load(Ordering::SeqCst),
                1,
                "the head woke the task again (streamed: {streamed})"
            );
            assert_eq!(response.status(), 200);
            let body = response.into_body().collect().await.unwrap().to_bytes();
            let expected: &[u8] = if streamed { b"firstsecond" } else { b"first" };
            assert_eq!(body, expected, "streamed: {streamed}");
        }
    }
}
