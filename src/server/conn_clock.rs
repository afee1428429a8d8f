//! The per-connection read clock (`RequestReadTimeout`, `KeepAliveTimeout`).
//!
//! hyper's own `header_read_timeout` is turned off: it starts when hyper waits for a head,
//! idle keep-alive waits included, so it cannot tell httpd's `KeepAliveTimeout` from
//! mod_reqtimeout's `header=`, and it has no `MinRate` extension. Instead every connection
//! has a [`ConnClock`]: the socket wrapper [`Metered`] reports the bytes read, the service
//! reports requests starting and ending and bodies being read, and [`ConnClock::expired`]
//! resolves when the phase the connection is in has run out of time; the connection task
//! then drops the connection (closing the socket, as mod_reqtimeout does).
//!
//! The clock costs next to nothing per request: its timer is set once and set again only
//! when it fires or a change brings the deadline before it. A keep-alive connection moves
//! from idle to head to busy and back on every request, and with the usual settings
//! (`header=` longer than `KeepAliveTimeout`) each move only pushes the deadline later or
//! removes it, so no move wakes the connection's task; the timer fires once per
//! `KeepAliveTimeout`, finds the deadline later, and is set again.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::limits::{ClientLimits, RateTimeout};

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
    /// The instant the expiry timer is set to (`None`: no timer; a new deadline wakes).
    armed: Option<Instant>,
    /// The task waiting in [`ConnClock::expired`].
    waiter: Option<Waker>,
}

impl ClockState {
    /// The deadline the connection is under now, and what it is for.
    fn deadline(&self) -> Option<(Instant, Expiry)> {
        if self.bodies > 0 {
            return self.body.map(|w| (w.deadline, Expiry::Body));
        }
        match self.phase {
            Phase::Head(window) => window.map(|w| (w.deadline, Expiry::Header)),
            Phase::Idle(deadline) => deadline.map(|d| (d, Expiry::KeepAlive)),
            Phase::Busy => None,
        }
    }
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
    /// A change brought the deadline before the timer: [`ConnClock::expired`] looks again.
    look_again: AtomicBool,
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
                armed: None,
                waiter: None,
            }),
            look_again: AtomicBool::new(true),
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
                self.changed(&mut state);
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
        self.changed(&mut state);
    }

    pub(super) fn body_opened(self: &Arc<Self>) -> BodyGuard {
        let mut state = self.state();
        state.bodies += 1;
        if state.bodies == 1 {
            state.body = self.body.map(|spec| Window::open(spec, Instant::now()));
        }
        self.changed(&mut state);
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
        self.changed(&mut state);
    }

    /// The deadline the connection is under now, and what it is for.
    #[cfg(test)]
    fn deadline(&self) -> Option<(Instant, Expiry)> {
        self.state().deadline()
    }

    /// After a change of phase: wakes the task in [`ConnClock::expired`] when the deadline
    /// now comes before its timer (or it has none). A later deadline waits for the timer.
    fn changed(&self, state: &mut ClockState) {
        let Some((at, _)) = state.deadline() else {
            return;
        };
        if state.armed.is_none_or(|armed| at < armed) {
            self.look_again.store(true, Ordering::Release);
            if let Some(waiter) = state.waiter.take() {
                waiter.wake();
            }
        }
    }

    /// Resolves when the connection has run out of time in its current phase. Never
    /// resolves while a response is on its way and no request body is being read.
    pub async fn expired(&self) -> Expiry {
        let timer = tokio::time::sleep_until(Instant::now());
        tokio::pin!(timer);
        let mut timer_set = false;
        poll_fn(|cx| {
            let fired = timer_set && timer.as_mut().poll(cx).is_ready();
            if !fired && !self.look_again.swap(false, Ordering::AcqRel) {
                return Poll::Pending;
            }
            let mut state = self.state();
            if !state
                .waiter
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                state.waiter = Some(cx.waker().clone());
            }
            loop {
                match state.deadline() {
                    Some((at, why)) if at <= Instant::now() => return Poll::Ready(why),
                    Some((at, _)) => {
                        state.armed = Some(at);
                        timer.as_mut().reset(at);
                        timer_set = true;
                        if timer.as_mut().poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                    }
                    None => {
                        state.armed = None;
                        timer_set = false;
                        return Poll::Pending;
                    }
                }
            }
        })
        .await
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
pub(super) struct BodyGuard {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::limits::RequestReadTimeout;

    /// httpd's defaults, which the tests' times follow: `RequestReadTimeout
    /// header=20-40,MinRate=500 body=20,MinRate=500`, `KeepAliveTimeout 5`.
    fn limits() -> ClientLimits {
        ClientLimits {
            read_timeout: RequestReadTimeout::default(),
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

    /// What happens on a connection: a request starts or finishes, bytes arrive.
    type Step = fn(&Arc<ConnClock>, &mut Vec<RequestGuard>);

    /// Runs `steps` (seconds to wait, then what happens) beside a task waiting in
    /// `expired`; returns why and when (from the start) the clock ran out.
    async fn expiry_after(limits: ClientLimits, steps: Vec<(u64, Step)>) -> (Expiry, Duration) {
        let clock = ConnClock::new(&limits);
        let started = Instant::now();
        let waiter = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.expired().await })
        };
        let mut requests = Vec::new();
        for (wait, step) in steps {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            assert!(!waiter.is_finished(), "expired before the step at {wait} s");
            step(&clock, &mut requests);
        }
        let why = waiter.await.unwrap();
        (why, Instant::now() - started)
    }

    fn start(clock: &Arc<ConnClock>, requests: &mut Vec<RequestGuard>) {
        clock.received(100);
        requests.push(clock.request_started());
    }

    fn finish(_: &Arc<ConnClock>, requests: &mut Vec<RequestGuard>) {
        requests.pop();
    }

    fn bytes(clock: &Arc<ConnClock>, _: &mut Vec<RequestGuard>) {
        clock.received(10);
    }

    #[tokio::test(start_paused = true)]
    async fn every_phase_runs_out_at_its_own_deadline_whatever_the_timer_was_set_to() {
        let short_header = ClientLimits {
            read_timeout: RequestReadTimeout {
                header: Some(RateTimeout {
                    initial: Duration::from_secs(1),
                    max: Some(Duration::from_secs(1)),
                    min_rate: None,
                }),
                body: None,
            },
            ..limits()
        };
        type Case = (&'static str, ClientLimits, Vec<(u64, Step)>, Expiry, u64);
        let cases: Vec<Case> = vec![
            // Idle at 1 s (timer at 6 s); the next request's first bytes at 3 s: a header
            // deadline (4 s) before the timer wakes the wait.
            (
                "header= shorter than KeepAliveTimeout",
                short_header,
                vec![(0, start), (1, finish), (2, bytes)],
                Expiry::Header,
                4,
            ),
            // The timer set for the keep-alive of 1 s (6 s) fires while the second request
            // is answered; the idle wait after it (from 8 s) still runs out at 13 s.
            (
                "the timer fires while busy",
                limits(),
                vec![(0, start), (1, finish), (1, start), (6, finish)],
                Expiry::KeepAlive,
                13,
            ),
            // Requests every second keep pushing the keep-alive deadline later than the
            // timer; it runs out 5 s after the last.
            (
                "keep-alive requests",
                limits(),
                vec![
                    (0, start),
                    (1, finish),
                    (1, start),
                    (1, finish),
                    (1, start),
                    (1, finish),
                ],
                Expiry::KeepAlive,
                10,
            ),
        ];
        for (case, limits, steps, why, at) in cases {
            let (got, when) = expiry_after(limits, steps).await;
            assert_eq!((got, when), (why, Duration::from_secs(at)), "{case}");
        }
    }
}
