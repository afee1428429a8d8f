//! The ajp13 worker: one member, its pool, and the request/response relay.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use tokio::time::Instant;

use super::body::{BodyKind, RequestBody};
use super::conn::{AjpConnection, ReadError};
use super::context::ForwardContext;
use super::outcome::{AttemptError, Completed, FailureKind, Phase};
use super::pool::Pool;
use super::response::{ResponseSink, error_page};
use super::response_head::own_error_headers;
use super::settings::{MemberConfig, MemberSettingsError, nonzero};
use super::wire::Reply;
use crate::config::ini::ReplayPolicy;
use crate::config::{AjpSettings, StatusFailure};

/// An ajp13 worker: a named AJP13 connector and its connection pool.
#[derive(Debug)]
pub struct AjpWorker {
    pool: Arc<Pool>,
    /// The connection settings as workers.properties (and later the status worker) put
    /// them; the status worker shows and edits these.
    settings: ArcSwap<AjpSettings>,
    /// Serialises status worker updates (each reads, changes and stores the settings).
    updating: Mutex<()>,
}

impl AjpWorker {
    /// The worker `name` with the connection settings workers.properties gave it, and its
    /// pool (the idle watcher starts when called inside a tokio runtime). Fails when the
    /// host does not resolve or a value cannot run.
    pub fn new(
        name: &str,
        settings: &AjpSettings,
        disable_reuse: bool,
        replay: ReplayPolicy,
    ) -> Result<Self, MemberSettingsError> {
        let mut cfg = MemberConfig::from_ajp_settings(name, settings, disable_reuse)?;
        cfg.replay = replay;
        Ok(AjpWorker::with_settings(cfg, settings.clone()))
    }

    /// Whether this worker already runs exactly what `new` would build from these
    /// arguments, so that a reload can keep it (with its pool and counters).
    pub fn runs(&self, settings: &AjpSettings, disable_reuse: bool, replay: ReplayPolicy) -> bool {
        let cfg = self.pool.config();
        cfg.disable_reuse == disable_reuse && cfg.replay == replay && *self.settings() == *settings
    }

    fn with_settings(cfg: MemberConfig, settings: AjpSettings) -> Self {
        AjpWorker {
            pool: Pool::new(Arc::new(cfg)),
            settings: ArcSwap::from_pointee(settings),
            updating: Mutex::new(()),
        }
    }

    /// The connection settings now (what the status worker shows).
    pub fn settings(&self) -> Arc<AjpSettings> {
        self.settings.load_full()
    }

    /// Status worker `update` of the connection settings: `change` edits a copy and
    /// says whether it changed anything; a changed copy is resolved (a new `host` is
    /// looked up now) and takes effect for the next request. New connections use the new
    /// settings; when the address changes, pooled connections to the old one are closed.
    /// On an error nothing changes.
    pub fn update_settings(
        &self,
        change: impl FnOnce(&mut AjpSettings) -> bool,
    ) -> Result<bool, MemberSettingsError> {
        let _one_at_a_time = self.updating.lock().unwrap_or_else(|e| e.into_inner());
        let mut settings = AjpSettings::clone(&self.settings.load());
        if !change(&mut settings) {
            return Ok(false);
        }
        let old = self.pool.config();
        let mut cfg = MemberConfig::from_ajp_settings(self.name(), &settings, old.disable_reuse)?;
        cfg.replay = old.replay;
        self.pool.reconfigure(cfg);
        tracing::info!(worker = %self.name(), "connection settings changed by the status worker");
        self.settings.store(Arc::new(settings));
        Ok(true)
    }

    /// The worker's name.
    pub fn name(&self) -> &Arc<str> {
        self.pool.name()
    }

    /// The worker's settings now.
    pub fn config(&self) -> Arc<MemberConfig> {
        self.pool.config()
    }

    /// The worker's pool (counters, idle connections).
    pub fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    /// Relays one request to this worker on its own (a direct ajp13 worker): up to
    /// `retries` attempts (first included), `retry_interval` apart, as long as a retry
    /// cannot replay anything the member may already have acted on (the same rule that
    /// governs failover to another member, [`crate::balancer::replay_allowed`]).
    pub async fn forward(
        &self,
        ctx: &mut ForwardContext,
        body: &mut RequestBody,
        sink: &mut ResponseSink,
    ) -> Result<Completed, AttemptError> {
        self.forward_with(ctx, body, sink, Alternatives::None).await
    }

    /// Relays one request to this worker as a member of an lb: as [`AjpWorker::forward`],
    /// except that a member that refuses or resets the connection is left at once — no
    /// `retry_interval` sleep and no second try on it — since the lb has other members to
    /// go to (failover in milliseconds rather than after the retry pause).
    pub async fn forward_as_member(
        &self,
        ctx: &mut ForwardContext,
        body: &mut RequestBody,
        sink: &mut ResponseSink,
    ) -> Result<Completed, AttemptError> {
        self.forward_with(ctx, body, sink, Alternatives::OtherMembers)
            .await
    }

    async fn forward_with(
        &self,
        ctx: &mut ForwardContext,
        body: &mut RequestBody,
        sink: &mut ResponseSink,
        alternatives: Alternatives,
    ) -> Result<Completed, AttemptError> {
        let cfg = self.pool.config();
        let mut attempt = 1;
        loop {
            let err = match self.attempt(ctx, body, sink).await {
                Ok(done) => {
                    self.pool.stats.record_outcome(Ok(()));
                    self.pool.stats.latency.observe(done.elapsed);
                    return Ok(done);
                }
                Err(err) => err,
            };
            let unreachable = matches!(
                err.kind,
                FailureKind::ConnectFailed | FailureKind::ConnectionLost
            );
            let again = attempt < cfg.retries
                && !matches!(err.kind, FailureKind::PoolExhausted)
                && !(unreachable && alternatives == Alternatives::OtherMembers)
                && err.blame() != super::outcome::Blame::Client
                && crate::balancer::replay_allowed(
                    cfg.replay,
                    cfg.recovery_options,
                    ctx.method_name(),
                    body.kind() != BodyKind::Empty,
                    err.progress(),
                )
                && body.rewind();
            if !again {
                self.pool.stats.record_outcome(Err(&err));
                return Err(err);
            }
            tracing::info!(worker = %self.name(), attempt, phase = %err.phase, kind = %err.kind,
                cause = %err.cause, "attempt failed; retrying on the same worker");
            sink.discard_pending();
            tokio::time::sleep(cfg.retry_interval).await;
            attempt += 1;
        }
    }

    /// One attempt on this member: takes a pool slot and a connection, sends the
    /// request and its body, relays the response into `sink`.
    ///
    /// A connection from the pool that turns out dead before any byte of the
    /// request was accepted by the member (write failure), or that the member closed
    /// without a word after the request went out while the request may be sent again
    /// ([`crate::balancer::replay_allowed`] at `RequestSent`: with `Replay = safe` an
    /// idempotent method without a body), is replaced by a fresh connection once; every
    /// other failure is returned. A failure after such a retry still says the request
    /// may have reached the member, so the lb does not take it for a request never sent.
    pub async fn attempt(
        &self,
        ctx: &mut ForwardContext,
        body: &mut RequestBody,
        sink: &mut ResponseSink,
    ) -> Result<Completed, AttemptError> {
        let started = Instant::now();
        ctx.member = Some(self.name().clone());
        let cfg = self.pool.config();
        let slot = self.pool.acquire().await?;
        if cfg.busy_limit > 0 && self.pool.busy() > cfg.busy_limit {
            return Err(AttemptError::new(
                FailureKind::PoolExhausted,
                Phase::Acquire,
                format!("busy_limit {} reached", cfg.busy_limit),
            ));
        }
        let mut fresh = false;
        // The stale connection the fresh one replaces may have delivered the request.
        let mut maybe_received = false;
        loop {
            let checkout = match self.pool.checkout(&slot, fresh, &cfg).await {
                Ok(checkout) => checkout,
                Err(mut err) => {
                    err.request_reached_member |= maybe_received;
                    return Err(err);
                }
            };
            let reused = checkout.reused;
            let mut conn = checkout.conn;
            let mut progress = Progress::default();
            let (read_before, written_before) = (conn.bytes_read, conn.bytes_written);
            let result = exchange(&mut conn, &cfg, ctx, body, sink, &mut progress).await;
            let (read, written) = (
                conn.bytes_read - read_before,
                conn.bytes_written - written_before,
            );
            self.pool.stats.record_bytes(written, read);
            match result {
                Ok(reuse) => {
                    let ended = Instant::now();
                    let completed = Completed {
                        status: progress.status,
                        body_bytes: sink.body_bytes(),
                        reuse,
                        elapsed: ended - started,
                        ajp_bytes: read + written,
                    };
                    if reuse {
                        self.pool.checkin(conn, ended);
                    }
                    return Ok(completed);
                }
                Err(mut err) => {
                    drop(conn);
                    err.reused_connection = reused;
                    err.request_reached_member |= maybe_received;
                    let resendable = || {
                        err.kind == FailureKind::ConnectionLost
                            && crate::balancer::replay_allowed(
                                cfg.replay,
                                cfg.recovery_options,
                                ctx.method_name(),
                                body.kind() != BodyKind::Empty,
                                crate::balancer::Progress::RequestSent,
                            )
                    };
                    let stale = reused
                        && !fresh
                        && !progress.response_seen
                        && !sink.reached_client()
                        && (progress.write_failed || resendable())
                        && body.rewind();
                    if stale {
                        maybe_received |= !progress.write_failed;
                        tracing::debug!(worker = %self.name(), phase = %err.phase, cause = %err.cause,
                            "pooled connection was stale; retrying on a fresh connection");
                        sink.discard_pending();
                        fresh = true;
                        continue;
                    }
                    if !sink.reached_client() {
                        sink.discard_pending();
                    }
                    err.response_started = sink.reached_client();
                    err.body_consumed = !body.is_replayable() || progress.body_asked;
                    return Err(err);
                }
            }
        }
    }
}

/// Whether a failed request has somewhere else to go than this worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alternatives {
    /// A direct ajp13 worker: its own retries are all there is.
    None,
    /// An lb member: the lb tries the other members.
    OtherMembers,
}

/// How far one exchange got.
#[derive(Debug, Default)]
struct Progress {
    status: u16,
    /// Any packet arrived from the member.
    response_seen: bool,
    /// Writing the request failed (the member accepted none of it as a request).
    write_failed: bool,
    /// A GET_BODY_CHUNK was answered: the member is consuming the body, and mod_jk
    /// no longer considers the attempt recoverable.
    body_asked: bool,
}

fn fail(kind: FailureKind, phase: Phase, cause: impl Into<String>, reached: bool) -> AttemptError {
    let mut err = AttemptError::new(kind, phase, cause);
    err.request_reached_member = reached;
    err
}

/// What a failed read of the client's body counts as: over `LimitRequestBody` is a request
/// refused (413, as httpd answers), anything else a client that went away (400).
fn body_failure(err: &super::body::BodyError) -> FailureKind {
    if err.is_too_large() {
        FailureKind::RequestRejected
    } else {
        FailureKind::ClientAborted
    }
}

/// The request/response cycle on one connection (ajp13.md §3). Returns the
/// END_RESPONSE reuse flag.
async fn exchange(
    conn: &mut AjpConnection,
    cfg: &MemberConfig,
    ctx: &ForwardContext,
    body: &mut RequestBody,
    sink: &mut ResponseSink,
    progress: &mut Progress,
) -> Result<bool, AttemptError> {
    let write_limit = nonzero(cfg.socket_timeout);
    let max_body = conn.packet_size().max_request_body_data();
    conn.queue_forward(ctx, cfg.secret.as_deref())
        .map_err(|e| {
            fail(
                FailureKind::RequestRejected,
                Phase::SendRequest,
                format!("request does not fit one AJP packet: {e}"),
                false,
            )
        })?;
    if let Err(e) = conn.flush(write_limit).await {
        progress.write_failed = true;
        return Err(fail(
            FailureKind::ConnectionLost,
            Phase::SendRequest,
            e.to_string(),
            false,
        ));
    }
    // Content-Length > 0: the first body packet goes without being asked for.
    if let super::body::BodyKind::Length(_) = body.kind() {
        let data = body.next_data(max_body).await.map_err(|e| {
            // The member waits for this packet: tell it the body ended, then fail.
            conn.queue_body(&[]);
            fail(body_failure(&e), Phase::SendBody, e.to_string(), true)
        });
        let data = match data {
            Ok(data) => data,
            Err(err) => {
                let _ = conn.flush(write_limit).await;
                return Err(err);
            }
        };
        conn.queue_body(&data);
        conn.flush(write_limit).await.map_err(|e| {
            fail(
                FailureKind::ConnectionLost,
                Phase::SendBody,
                e.to_string(),
                true,
            )
        })?;
    }

    let read_limit = match ctx.overrides.reply_timeout {
        Some(limit) => nonzero(limit).or_else(|| nonzero(cfg.socket_timeout)),
        None => cfg.read_timeout(),
    };
    let fail_on_status = ctx
        .overrides
        .fail_on_status
        .as_ref()
        .unwrap_or(&cfg.fail_on_status);
    // `use_server_errors`: the member's body is dropped and this page sent instead.
    let mut own_page: Option<Bytes> = None;
    let mut headers_seen = false;
    let mut declared_length: Option<u64> = None;
    let mut relayed: u64 = 0;
    loop {
        if sink.has_pending_head() && !conn.has_buffered_packet() {
            sink.commit().map_err(|e| {
                fail(
                    FailureKind::ClientAborted,
                    Phase::RelayBody,
                    e.to_string(),
                    true,
                )
            })?;
        }
        let phase = if headers_seen {
            Phase::RelayBody
        } else {
            Phase::AwaitHeaders
        };
        let reply = match conn.read_reply(read_limit, ctx.is_head).await {
            Ok(reply) => reply,
            Err(err) => {
                let cause = match &err {
                    ReadError::Timeout(_) => format!("{err} (reply_timeout)"),
                    _ => err.to_string(),
                };
                return Err(fail(err.kind(), phase, cause, true));
            }
        };
        progress.response_seen = true;
        match reply {
            Reply::Head(mapped) => {
                if headers_seen {
                    return Err(fail(
                        FailureKind::ProtocolViolation,
                        phase,
                        "second SEND_HEADERS in one response",
                        true,
                    ));
                }
                headers_seen = true;
                let status = match &mapped {
                    Ok(head) => head.status,
                    Err(err) => err.status,
                };
                if let Some(how) = fail_on_status.classify(status) {
                    let hard = how == StatusFailure::Hard;
                    return Err(fail(
                        FailureKind::StatusFailed { status, hard },
                        phase,
                        format!(
                            "status {status} is listed in fail_on_status ({})",
                            if hard { "hard" } else { "soft" }
                        ),
                        true,
                    ));
                }
                let threshold = ctx.overrides.use_server_errors;
                let mut head = mapped.map_err(|err| {
                    fail(FailureKind::ProtocolViolation, phase, err.to_string(), true)
                })?;
                if threshold > 0 && head.status >= threshold {
                    let page = error_page(head.status);
                    head.headers = own_error_headers(head.status, head.headers);
                    head.reason = None;
                    head.length = (!head.suppress_body).then_some(page.len() as u64);
                    own_page = Some(page);
                }
                progress.status = head.status;
                declared_length = head.length;
                sink.start(
                    head.status,
                    head.reason,
                    head.headers,
                    head.length,
                    head.suppress_body,
                );
            }
            Reply::BodyChunk(data) => {
                if !headers_seen {
                    if data.is_empty() {
                        continue; // a stray flush left over from an earlier response
                    }
                    return Err(fail(
                        FailureKind::ProtocolViolation,
                        phase,
                        "SEND_BODY_CHUNK before SEND_HEADERS",
                        true,
                    ));
                }
                if data.is_empty() {
                    // Flush: hyper writes out whatever it has as soon as the body
                    // channel runs dry, so handing over the head is all it takes.
                    if sink.has_pending_head() {
                        sink.commit().map_err(|e| {
                            fail(FailureKind::ClientAborted, phase, e.to_string(), true)
                        })?;
                    }
                    continue;
                }
                if own_page.is_some() {
                    continue;
                }
                relayed += data.len() as u64;
                if let Some(limit) = declared_length
                    && relayed > limit
                {
                    return Err(fail(
                        FailureKind::ProtocolViolation,
                        phase,
                        format!("response body exceeds its Content-Length {limit}"),
                        true,
                    ));
                }
                sink.send(data)
                    .await
                    .map_err(|e| fail(FailureKind::ClientAborted, phase, e.to_string(), true))?;
            }
            Reply::GetBodyChunk { requested_len } => {
                progress.body_asked = true;
                let max = usize::from(requested_len).min(max_body);
                let data = match body.next_data(max).await {
                    Ok(data) => data,
                    Err(e) => {
                        conn.queue_body(&[]);
                        let _ = conn.flush(write_limit).await;
                        return Err(fail(body_failure(&e), Phase::SendBody, e.to_string(), true));
                    }
                };
                conn.queue_body(&data);
                conn.flush(write_limit).await.map_err(|e| {
                    fail(
                        FailureKind::ConnectionLost,
                        Phase::SendBody,
                        e.to_string(),
                        true,
                    )
                })?;
            }
            Reply::EndResponse { reuse } => {
                if !headers_seen {
                    return Err(fail(
                        FailureKind::ProtocolViolation,
                        phase,
                        "END_RESPONSE without SEND_HEADERS",
                        true,
                    ));
                }
                if let Some(page) = own_page.take() {
                    relayed = page.len() as u64;
                    sink.send(page).await.map_err(|e| {
                        fail(FailureKind::ClientAborted, phase, e.to_string(), true)
                    })?;
                }
                if let Some(limit) = declared_length
                    && relayed < limit
                {
                    return Err(fail(
                        FailureKind::ProtocolViolation,
                        phase,
                        format!("response ended after {relayed} of {limit} Content-Length bytes"),
                        true,
                    ));
                }
                // Body bytes Tomcat did not ask for are never sent to it; the
                // listener drains or closes the client connection.
                sink.finish()
                    .map_err(|e| fail(FailureKind::ClientAborted, phase, e.to_string(), true))?;
                return Ok(reuse);
            }
            Reply::CPong => {
                return Err(fail(
                    FailureKind::ProtocolViolation,
                    phase,
                    "CPONG during a request",
                    true,
                ));
            }
        }
    }
}
