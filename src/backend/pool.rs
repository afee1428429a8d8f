//! The connection pool of one member: `connection_pool_size` slots, idle
//! connections kept after END_RESPONSE(reuse), an idle watcher that drops sockets
//! the member closed, idle timeouts and interval CPINGs.

use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::time::Instant;

use super::conn::{AjpConnection, OpenConnection};
use super::outcome::{AttemptError, FailureKind, Phase};
use super::settings::{MemberConfig, nonzero};

/// How often the idle watcher looks at idle connections.
const WATCH_PERIOD: Duration = Duration::from_secs(1);

/// Counters of one pool, for the status worker and tests.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Connections opened.
    pub opened: AtomicU64,
    /// Idle connections dropped because the member closed them or they misbehaved.
    pub dropped_dead: AtomicU64,
    /// Idle connections closed by `connection_pool_timeout`.
    pub closed_idle: AtomicU64,
    /// Requests in flight (mod_jk "busy").
    pub busy: AtomicUsize,
    /// Requests served or tried since the last reset, same-worker retries included in
    /// one (mod_jk "used").
    pub used: AtomicU64,
    /// Most requests in flight at once since the last reset.
    pub max_busy: AtomicUsize,
    /// Connections open now (idle and in use), counted by a guard each connection
    /// carries, so the figure is exact even while a connection moves to the idle list.
    pub open: Arc<AtomicUsize>,
    /// Most connections (idle + in use) at once since the last reset.
    pub max_connected: AtomicUsize,
    /// AJP bytes written to the member since the last reset (mod_jk "transferred").
    pub bytes_sent: AtomicU64,
    /// AJP bytes read from the member since the last reset (mod_jk "read").
    pub bytes_received: AtomicU64,
    /// Requests that failed on this worker, not by the client's fault.
    pub errors: AtomicU64,
    /// Requests that failed because of the client.
    pub client_errors: AtomicU64,
    /// Requests that ended in a reply timeout.
    pub reply_timeouts: AtomicU64,
    /// Unix seconds of the last failure (0: none since the last reset).
    pub last_error_at: AtomicU64,
    /// How the last request ended: 0 none since the last reset, 1 success, 2 failure.
    pub last_outcome: AtomicU8,
    /// Requests that found every connection slot taken and waited for one (never reset:
    /// read by the metrics, which want counters that only grow).
    pub waits: AtomicU64,
    /// Total time those requests waited, microseconds.
    pub wait_micros: AtomicU64,
    /// Waits that ended without a slot (`connection_acquire_timeout`).
    pub wait_timeouts: AtomicU64,
    /// Requests waiting for a slot now.
    pub waiting: AtomicUsize,
    /// Response times of the requests this worker served (after its own retries).
    pub latency: super::latency::LatencyHistogram,
}

/// A request waiting for a pool slot: counted while it waits, its wait added when it stops
/// waiting (also when it is cancelled).
struct Waiting<'a> {
    stats: &'a PoolStats,
    since: Instant,
}

impl<'a> Waiting<'a> {
    fn new(stats: &'a PoolStats) -> Self {
        stats.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting {
            stats,
            since: Instant::now(),
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let stats = self.stats;
        stats.waiting.fetch_sub(1, Ordering::Relaxed);
        stats.waits.fetch_add(1, Ordering::Relaxed);
        let waited = u64::try_from(self.since.elapsed().as_micros()).unwrap_or(u64::MAX);
        stats.wait_micros.fetch_add(waited, Ordering::Relaxed);
    }
}

impl PoolStats {
    /// Adds the AJP bytes of one exchange.
    pub fn record_bytes(&self, sent: u64, received: u64) {
        self.bytes_sent.fetch_add(sent, Ordering::Relaxed);
        self.bytes_received.fetch_add(received, Ordering::Relaxed);
    }

    /// Records how a request on this worker ended (after its same-worker retries).
    pub fn record_outcome(&self, outcome: Result<(), &AttemptError>) {
        self.used.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Ok(()) => self.last_outcome.store(1, Ordering::Relaxed),
            Err(err) if err.blame() == super::outcome::Blame::Client => {
                self.client_errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                if err.kind == FailureKind::ReplyTimeout {
                    self.reply_timeouts.fetch_add(1, Ordering::Relaxed);
                }
                self.errors.fetch_add(1, Ordering::Relaxed);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                self.last_error_at.store(now, Ordering::Relaxed);
                self.last_outcome.store(2, Ordering::Relaxed);
            }
        }
    }

    /// Status worker `reset`: zeroes the counters (`errors` and the last outcome only
    /// with `errors_too`, as mod_jk keeps them for lb members).
    pub fn reset(&self, errors_too: bool) {
        for counter in [
            &self.used,
            &self.bytes_sent,
            &self.bytes_received,
            &self.client_errors,
            &self.reply_timeouts,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        self.max_busy.store(0, Ordering::Relaxed);
        self.max_connected.store(0, Ordering::Relaxed);
        if errors_too {
            self.errors.store(0, Ordering::Relaxed);
            self.last_error_at.store(0, Ordering::Relaxed);
            self.last_outcome.store(0, Ordering::Relaxed);
        }
    }
}

/// A member's pool.
#[derive(Debug)]
pub struct Pool {
    name: Arc<str>,
    /// The settings; the status worker may replace them at run time.
    cfg: ArcSwap<MemberConfig>,
    /// Bumped when the member's address changes: connections of an older generation are
    /// not pooled again.
    generation: AtomicU64,
    slots: Arc<Semaphore>,
    idle: Mutex<Vec<AjpConnection>>,
    /// Counters.
    pub stats: PoolStats,
}

/// A held pool slot: one request in flight on this member. Dropping it frees the
/// slot and the busy count, also when the request is cancelled.
/// Borrows the pool: the pool and its semaphore are shared by every request to the
/// member, and a reference count taken on them per request is a cache line the worker
/// threads pass back and forth.
#[derive(Debug)]
pub struct Slot<'p> {
    pool: &'p Pool,
    _permit: SemaphorePermit<'p>,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.pool.stats.busy.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection handed out by the pool.
#[derive(Debug)]
pub struct Checkout {
    /// The connection.
    pub conn: AjpConnection,
    /// True when it came from the idle list (it served earlier requests).
    pub reused: bool,
}

impl Pool {
    /// Creates the pool and, inside a tokio runtime, starts its idle watcher.
    pub fn new(cfg: Arc<MemberConfig>) -> Arc<Self> {
        let pool = Arc::new(Pool {
            name: cfg.name.clone(),
            slots: Arc::new(Semaphore::new(cfg.pool_size.max(1))),
            idle: Mutex::new(Vec::new()),
            stats: PoolStats::default(),
            cfg: ArcSwap::new(cfg),
            generation: AtomicU64::new(0),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(watch_idle(Arc::downgrade(&pool)));
        }
        pool
    }

    /// The member's name.
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// The member's settings now.
    pub fn config(&self) -> Arc<MemberConfig> {
        self.cfg.load_full()
    }

    /// Replaces the member's settings (status worker `update`). The pool size and the
    /// name stay. When the address changes, idle connections to the old one are closed
    /// and those in use are closed when their request ends.
    pub fn reconfigure(&self, mut new: MemberConfig) {
        let old = self.cfg.load_full();
        new.name = old.name.clone();
        new.pool_size = old.pool_size;
        let moved = new.address != old.address;
        // Settings first, generation second: a checkout that read the old settings also
        // read the old generation (it reads them in the other order), so its connection
        // is never pooled under the new one.
        self.cfg.store(Arc::new(new));
        if moved {
            self.generation.fetch_add(1, Ordering::SeqCst);
            let closed = self
                .idle
                .lock()
                .map(|mut idle| idle.drain(..).count())
                .unwrap_or(0);
            tracing::info!(worker = %self.name, from = %old.address, to = %self.cfg.load().address, closed, "member address changed; idle connections closed");
        }
    }

    /// Requests in flight on this member.
    pub fn busy(&self) -> usize {
        self.stats.busy.load(Ordering::Relaxed)
    }

    /// Whether every slot is taken: a request for this member would queue.
    pub fn saturated(&self) -> bool {
        self.slots.available_permits() == 0
    }

    /// Number of idle connections.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|idle| idle.len()).unwrap_or(0)
    }

    /// Connections open now, idle and in use.
    pub fn connected(&self) -> usize {
        self.stats.open.load(Ordering::Relaxed)
    }

    /// Takes a slot, waiting at most `connection_acquire_timeout`.
    pub async fn acquire(&self) -> Result<Slot<'_>, AttemptError> {
        let permit = match self.slots.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                let limit = self.cfg.load().acquire_timeout;
                let waiting = Waiting::new(&self.stats);
                let acquired = tokio::time::timeout(limit, self.slots.acquire()).await;
                drop(waiting);
                match acquired {
                    Ok(Ok(permit)) => permit,
                    _ => {
                        self.stats.wait_timeouts.fetch_add(1, Ordering::Relaxed);
                        return Err(AttemptError::new(
                            FailureKind::PoolExhausted,
                            Phase::Acquire,
                            format!(
                                "all {} connections busy for {limit:?}",
                                self.cfg.load().pool_size
                            ),
                        ));
                    }
                }
            }
        };
        let busy = self.stats.busy.fetch_add(1, Ordering::Relaxed) + 1;
        self.stats.max_busy.fetch_max(busy, Ordering::Relaxed);
        Ok(Slot {
            pool: self,
            _permit: permit,
        })
    }

    /// A connection for the holder of `slot`: a healthy idle one (checked for a
    /// peer close and, with `prepost_timeout`, by CPING), else a new one (checked
    /// by CPING with `connect_timeout` when set). `fresh` skips the idle list. `cfg`: the
    /// member's settings the attempt loaded (one load per attempt: each load of the shared
    /// settings is a reference count both worker threads write).
    pub async fn checkout(
        &self,
        _slot: &Slot<'_>,
        fresh: bool,
        cfg: &MemberConfig,
    ) -> Result<Checkout, AttemptError> {
        let generation = self.generation.load(Ordering::SeqCst);
        if !fresh {
            while let Some(mut conn) = self.pop_idle() {
                if !conn.is_idle_healthy() {
                    self.stats.dropped_dead.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(worker = %self.name, "dropping pooled connection the member closed");
                    continue;
                }
                if let Some(limit) = nonzero(cfg.prepost_timeout)
                    && let Err(cause) = conn.cping(limit).await
                {
                    self.stats.dropped_dead.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(worker = %self.name, phase = "cping", %cause, "pooled connection failed prepost CPING; dropped");
                    continue;
                }
                return Ok(Checkout { conn, reused: true });
            }
        }
        let mut conn = AjpConnection::connect(cfg).await?;
        conn.generation = generation;
        let (counted, open) = OpenConnection::count_in(&self.stats.open);
        conn.counted = Some(counted);
        self.stats.max_connected.fetch_max(open, Ordering::Relaxed);
        self.stats.opened.fetch_add(1, Ordering::Relaxed);
        let ping = nonzero(cfg.connect_timeout).or(nonzero(cfg.prepost_timeout));
        if let Some(limit) = ping {
            conn.cping(limit).await.map_err(|cause| {
                AttemptError::new(FailureKind::PingFailed, Phase::Ping, cause.to_string())
            })?;
        }
        Ok(Checkout {
            conn,
            reused: false,
        })
    }

    /// Returns a connection whose exchange ended with END_RESPONSE(reuse) at `now` (the
    /// time the attempt already read for its own figures).
    pub fn checkin(&self, mut conn: AjpConnection, now: Instant) {
        let cfg = self.cfg.load();
        if cfg.disable_reuse || conn.generation != self.generation.load(Ordering::SeqCst) {
            return;
        }
        conn.served += 1;
        conn.idle_since = now;
        conn.shed_read_ahead();
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < cfg.pool_size
        {
            idle.push(conn);
        }
    }

    fn pop_idle(&self) -> Option<AjpConnection> {
        self.idle.lock().ok()?.pop()
    }

    /// One pass of the idle watcher: drop dead connections, close those idle past
    /// `connection_pool_timeout` (keeping `connection_pool_minsize`), and CPING those
    /// idle past `connection_ping_interval`.
    pub async fn maintain(&self) {
        let cfg = self.cfg.load_full();
        let now = Instant::now();
        let mut to_ping = Vec::new();
        {
            let Ok(mut idle) = self.idle.lock() else {
                return;
            };
            let before = idle.len();
            idle.retain_mut(|conn| conn.is_idle_healthy());
            let dead = before - idle.len();
            if dead > 0 {
                self.stats
                    .dropped_dead
                    .fetch_add(dead as u64, Ordering::Relaxed);
                tracing::debug!(worker = %self.name, dead, "idle watcher dropped connections the member closed");
            }
            if let Some(timeout) = nonzero(cfg.pool_timeout) {
                // Oldest first: the list is used LIFO, so the front idled longest.
                while idle.len() > cfg.pool_minsize
                    && idle
                        .first()
                        .is_some_and(|c| now.duration_since(c.idle_since) > timeout)
                {
                    idle.remove(0);
                    self.stats.closed_idle.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Some(interval) = nonzero(cfg.ping_interval) {
                let mut keep = Vec::with_capacity(idle.len());
                for conn in idle.drain(..) {
                    let quiet_since = conn
                        .pinged_at
                        .map_or(conn.idle_since, |pinged| pinged.max(conn.idle_since));
                    if now.duration_since(quiet_since) >= interval {
                        to_ping.push(conn);
                    } else {
                        keep.push(conn);
                    }
                }
                *idle = keep;
            }
        }
        let mut alive = Vec::with_capacity(to_ping.len());
        for mut conn in to_ping {
            match conn.cping(cfg.ping_timeout).await {
                Ok(()) => {
                    conn.pinged_at = Some(Instant::now());
                    alive.push(conn);
                }
                Err(cause) => {
                    self.stats.dropped_dead.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(worker = %self.name, phase = "cping", %cause, "idle connection failed interval CPING; dropped");
                }
            }
        }
        // They idled longest: back at the front, in their order.
        if !alive.is_empty()
            && let Ok(mut idle) = self.idle.lock()
        {
            idle.splice(0..0, alive);
        }
    }
}

async fn watch_idle(pool: Weak<Pool>) {
    let mut tick = tokio::time::interval(WATCH_PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        pool.maintain().await;
    }
}
