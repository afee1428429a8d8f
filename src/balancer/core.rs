//! The sans-I/O decision core of an lb worker: member selection, sticky routing, outcome
//! bookkeeping and maintenance, exactly as mod_jk's `jk_lb_worker.c` does them
//! (mod_jk.md §3). Everything here is synchronous; time comes from a [`Clock`].

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;

use super::clock::Clock;
use super::error::{BalancerConfigError, FailedAttempt, FailureKind, LbError, LbFailure};
use super::name::SharedName;
use super::session::{route_of_session, session_id_list};
use super::settings::{
    Activation, LbMethod, LbSettings, MemberSettings, RecoveryOptions, ReplayPolicy,
};
use super::state::{Health, MemberState};

/// Settings of an lb and its members, with the derived `lb_mult` values. Replaced as a
/// whole (arc-swap) when a setting changes at run time or the configuration is reloaded.
#[derive(Debug, Clone)]
pub struct Topology {
    /// The lb's settings.
    pub settings: LbSettings,
    /// The members, in `balance_workers` order.
    pub members: Vec<MemberSettings>,
    /// `lb_mult` per member: LCM of all factors divided by the member's factor.
    pub lb_mult: Vec<u64>,
    /// Where member i's run-time numbers are kept. A reload may add, remove or reorder
    /// members while requests planned on an older topology are still running; slots never
    /// move, so those requests still count against the right member.
    slots: Vec<usize>,
    /// The lb's name, shared by every attempt's context instead of copied into it.
    lb_name: Arc<str>,
    /// Member i's name, route and domain, shared by the requests that choose it.
    names: Vec<SharedName>,
    routes: Vec<SharedName>,
    domains: Vec<SharedName>,
}

impl Topology {
    fn new(settings: LbSettings, members: Vec<MemberSettings>, slots: Vec<usize>) -> Self {
        let lb_mult = lb_multipliers(members.iter().map(|m| m.lbfactor));
        let shared = |field: fn(&MemberSettings) -> &str| {
            members.iter().map(|m| SharedName::from(field(m))).collect()
        };
        Topology {
            names: shared(|m| &m.name),
            routes: shared(|m| &m.route),
            domains: shared(|m| &m.domain),
            lb_name: Arc::from(settings.name.as_str()),
            settings,
            members,
            lb_mult,
            slots,
        }
    }

    /// The same members with other settings (same slots).
    fn with(&self, settings: LbSettings, members: Vec<MemberSettings>) -> Self {
        Topology::new(settings, members, self.slots.clone())
    }
}

/// mod_jk's load multipliers: `LCM(factors) / factor` (factors below 1 count as 1).
pub fn lb_multipliers(factors: impl Iterator<Item = u64> + Clone) -> Vec<u64> {
    fn gcd(mut a: u64, mut b: u64) -> u64 {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    }
    let lcm = factors.clone().fold(1u64, |acc, f| {
        let f = f.max(1);
        (acc / gcd(acc, f)).saturating_mul(f)
    });
    factors.map(|f| lcm / f.max(1)).collect()
}

/// Run-time numbers of one member (shared by all requests).
#[derive(Debug, Clone)]
struct MemberRuntime {
    state: MemberState,
    lb_value: u64,
    sessions: u64,
    errors: u64,
    client_errors: u64,
    reply_timeouts: u64,
    first_error: Option<Instant>,
    last_error: Option<Instant>,
    elected: u64,
    elected_snapshot: u64,
    busy: u64,
    max_busy: u64,
    transferred: u64,
    /// Failed attempts on this member after which the request went on to another try.
    failovers: u64,
    /// Failed attempts on this member that were not tried again because the request may
    /// not be sent twice (replay policy, `recovery_options`, a started response).
    refused_replays: u64,
    /// The application health check's verdict (not a counter: kept by `reset`).
    health: Health,
}

impl MemberRuntime {
    fn new() -> Self {
        MemberRuntime {
            state: MemberState::Idle,
            lb_value: 0,
            sessions: 0,
            errors: 0,
            client_errors: 0,
            reply_timeouts: 0,
            first_error: None,
            last_error: None,
            elected: 0,
            elected_snapshot: 0,
            busy: 0,
            max_busy: 0,
            transferred: 0,
            failovers: 0,
            refused_replays: 0,
            health: Health::Unchecked,
        }
    }
}

#[derive(Debug)]
struct Runtime {
    /// One entry per member name ever configured (see [`Topology::slots`]).
    members: Vec<MemberRuntime>,
    /// The member name of each slot.
    names: Vec<String>,
    next_offset: usize,
    last_maintenance: Instant,
    busy: u64,
    max_busy: u64,
}

#[derive(Debug)]
struct Inner {
    topology: ArcSwap<Topology>,
    runtime: Mutex<Runtime>,
    clock: Arc<dyn Clock>,
}

impl Runtime {
    /// The slot of member `name`, made when the name is new (a member added by a reload,
    /// or one removed earlier and added back, which then keeps its numbers).
    fn slot_of(&mut self, name: &str) -> usize {
        if let Some(slot) = self.names.iter().position(|n| n == name) {
            return slot;
        }
        self.names.push(name.to_owned());
        self.members.push(MemberRuntime::new());
        self.members.len() - 1
    }

    /// Member i of `topology`.
    fn member(&mut self, topology: &Topology, i: usize) -> &mut MemberRuntime {
        &mut self.members[topology.slots[i]]
    }

    /// Member i of `topology`, read only.
    fn member_ref(&self, topology: &Topology, i: usize) -> &MemberRuntime {
        &self.members[topology.slots[i]]
    }
}

impl Inner {
    fn runtime(&self) -> MutexGuard<'_, Runtime> {
        // A panic while holding the lock cannot leave the numbers inconsistent in a way
        // that matters more than refusing all further requests would.
        self.runtime.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One lb worker: its topology, shared run-time state and clock. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Balancer {
    inner: Arc<Inner>,
}

/// What the balancer needs to know about a request.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// HTTP method (for replay safety); the standard ones need no copy.
    pub method: Cow<'static, str>,
    /// Whether the request has a body (a body makes even an idempotent method unsafe to
    /// send to a second member by default).
    pub has_body: bool,
    /// Forwarded URI path (no query), searched (as bytes) for the session path parameter.
    /// It shares the forwarded request's buffer; a session id found in it is read as UTF-8,
    /// invalid bytes replaced.
    pub uri: Bytes,
    /// Values of every `Cookie` header, in order (slices of the forwarded request's buffer,
    /// searched as bytes like `uri`).
    pub cookies: Vec<Bytes>,
    /// Whether the client connection is TLS (adds `Secure` to the routing cookie).
    pub secure: bool,
    /// A route forced by configuration (mod_jk's `JK_ROUTE`).
    pub route_override: Option<String>,
    /// Ignore the session id for routing (mount `sticky_ignore`).
    pub sticky_ignore: bool,
    /// Ignore load values and rotate (mount `stateless`); requests don't count as sessions.
    pub stateless: bool,
    /// Per-mount activation overrides by member name.
    pub activation_overrides: Vec<(String, Activation)>,
    /// Session cookie name override (mount `session_cookie`).
    pub session_cookie: Option<String>,
    /// Session path parameter override (mount `session_path`).
    pub session_path: Option<String>,
    /// Emit a routing cookie even if the lb does not (mount `set_session_cookie`).
    pub set_session_cookie: bool,
}

impl RequestFacts {
    /// The facts a mount rule's extensions set (`sticky_ignore`, `stateless`, the
    /// `active`/`disabled`/`stopped` overrides, session cookie and path names,
    /// `set_session_cookie`); the request's own facts (method, URI, cookies) are left empty.
    pub fn for_mount(ext: &crate::config::MountExtensions) -> RequestFacts {
        let activation_overrides = ext
            .active
            .iter()
            .chain(&ext.disabled)
            .chain(&ext.stopped)
            .filter_map(|name| Some((name.clone(), ext.activation_override(name)?)))
            .collect();
        RequestFacts {
            sticky_ignore: ext.sticky_ignore,
            stateless: ext.stateless,
            activation_overrides,
            session_cookie: ext.session_cookie.clone(),
            session_path: ext.session_path.clone(),
            set_session_cookie: ext.set_session_cookie,
            ..RequestFacts::default()
        }
    }
}

/// The per-request part of the lb loop: the local copy of member states, the session id
/// candidates, the attempt and round counters, and the failures so far.
#[derive(Debug)]
pub struct RequestPlan {
    topology: Arc<Topology>,
    states: Vec<MemberState>,
    /// Each member's activation for this request when a mount override or an unreachable
    /// member changes one; `None` (most requests): the members' configured activations, and
    /// no vector to allocate.
    activations: Option<Vec<Activation>>,
    session: Option<String>,
    /// mod_jk splits the session id list in place (`;` → NUL) while its first choice
    /// walks it, so every later choice of the same request sees only the first candidate.
    first_session_only: bool,
    route: Option<SharedName>,
    sticky: bool,
    stateless: bool,
    set_cookie: bool,
    secure: bool,
    method: Cow<'static, str>,
    has_body: bool,
    /// Members whose every connection is busy (a request would queue there), by index;
    /// empty when the caller does not know.
    saturated: Vec<bool>,
    forced_recovery_done: bool,
    attempt: u32,
    round: u32,
    attempts_made: u32,
    round_pending: bool,
    failures: Vec<FailedAttempt>,
    last_status: u16,
    response_started: bool,
    /// A dry run ([`Balancer::dry_run`]): nothing shared is changed.
    dry_run: bool,
    /// Why the last choice was made.
    decision: Decision,
    /// The member the session's route named but which could not take the request.
    sticky_miss: Option<usize>,
}

/// Why the balancer chose the member it chose (or none), for `cmd=route` and the CLI.
/// Indexes are members of the plan's topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decision {
    /// Nothing was chosen.
    #[default]
    None,
    /// The lb has one member, used whenever it can be.
    OnlyMember,
    /// The session id's route is this member's route.
    SessionRoute,
    /// The session id's route names no member; it was read as a domain and the best member
    /// of that domain chosen.
    SessionDomain,
    /// The session's member could not take it; its `redirect` member was chosen.
    Redirect {
        /// The session's member.
        owner: usize,
    },
    /// The session's member could not take it; the best member of its `domain` was chosen.
    DomainFailover {
        /// The session's member.
        owner: usize,
    },
    /// Lowest distance, then lowest load value (no session, or the session's member could
    /// not take it and had no replacement).
    Balanced,
    /// No member was usable; the `redirect` of the first member that has one was chosen.
    FailoverWorker,
}

impl RequestPlan {
    /// Which members have no free connection now (by index). The balancer then prefers a
    /// member that can take the request at once over one where it would queue, unless the
    /// session binds it to its member.
    pub fn note_saturation(&mut self, saturated: impl Iterator<Item = bool>) {
        self.saturated.clear();
        // Kept up to the last saturated member only: one past the end counts as free, so a
        // request with no member saturated (most of them) needs no vector.
        for (index, full) in saturated.enumerate() {
            if full {
                self.saturated.resize(index, false);
                self.saturated.push(true);
            }
        }
    }

    /// Member `index`'s activation for this request.
    fn activation(&self, index: usize) -> Activation {
        match &self.activations {
            Some(activations) => activations[index],
            None => self.topology.members[index].activation,
        }
    }

    /// The activations for this request, made a vector of their own to change one.
    fn activations_mut(&mut self) -> &mut Vec<Activation> {
        let topology = &self.topology;
        self.activations
            .get_or_insert_with(|| topology.members.iter().map(|m| m.activation).collect())
    }

    /// The session id candidates joined by `;` (mod_jk's form), if the request has one.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The session id list, moved out of a plan that is done (an answer carries it on;
    /// a copy would allocate per sticky request).
    pub fn take_session_id(&mut self) -> Option<String> {
        self.session.take()
    }

    /// The failed attempts so far.
    pub fn failures(&self) -> &[FailedAttempt] {
        &self.failures
    }

    /// Attempts started so far.
    pub fn attempts_made(&self) -> u32 {
        self.attempts_made
    }

    /// The lb's name.
    pub fn lb_name(&self) -> &str {
        &self.topology.settings.name
    }

    /// The lb's name, shared.
    pub fn lb_name_shared(&self) -> Arc<str> {
        self.topology.lb_name.clone()
    }

    fn error(&self, failure: LbFailure) -> LbError {
        LbError {
            lb: self.topology.settings.name.clone(),
            failure,
            attempts: self.failures.clone(),
            status: self.last_status,
            response_started: self.response_started,
            session_id: self.session.clone(),
        }
    }
}

/// The member chosen for the next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Index of the member in `balance_workers` order.
    pub index: usize,
    /// The member's name.
    pub member: SharedName,
    /// Route sent to Tomcat as the AJP `route` attribute.
    pub route: SharedName,
    /// The chosen member's own `route` (what the access log reports as the route used; the
    /// attribute above stays the first choice's, as mod_jk sends it).
    pub member_route: SharedName,
    /// Effective activation, sent as `JK_LB_ACTIVATION`.
    pub activation: Activation,
    /// Whether the request was routed by its session (no routing cookie then).
    pub sticky: bool,
    /// The routing cookie (`Set-Cookie` value) to add to the response, if any.
    pub set_cookie: Option<String>,
    /// Attempt number within the request, from 1.
    pub attempt: u32,
}

/// What the lb loop does next.
#[derive(Debug)]
pub enum Step {
    /// Try this member (call [`Balancer::start_attempt`]).
    Attempt(Choice),
    /// Sleep `retry_interval` before the next round, then ask again.
    Wait(Duration),
    /// Stop: no response can be produced.
    GiveUp(LbError),
}

/// How far an attempt got before it failed; decides whether another member may get the
/// request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Progress {
    /// Nothing reached the member (connect, CPing or pool failures).
    NothingSent,
    /// The request (headers and possibly the first body packet) may have reached it.
    RequestSent,
    /// Body data beyond the first packet was streamed to it (cannot be replayed).
    BodyStreamed,
    /// The response started towards the client.
    ResponseStarted,
}

/// The outcome of one attempt, as the lb needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    /// `None` on success, else what failed.
    pub failure: Option<FailureKind>,
    /// How far the attempt got.
    pub progress: Progress,
    /// AJP bytes moved in both directions (for the Traffic method).
    pub bytes: u64,
    /// Whether the member's own worker considers the failure recoverable (mod_jk's
    /// `recoverable` flag, e.g. false once a GET_BODY_CHUNK was answered).
    pub recoverable: bool,
    /// HTTP status the client gets if this is the last attempt.
    pub status: u16,
    /// Free text for logs and errors.
    pub detail: String,
}

impl AttemptReport {
    /// A successful attempt.
    pub fn success(bytes: u64) -> Self {
        AttemptReport {
            failure: None,
            progress: Progress::ResponseStarted,
            bytes,
            recoverable: true,
            status: 200,
            detail: String::new(),
        }
    }

    /// A failed attempt with mod_jk's default client status for `kind`.
    pub fn failed(kind: FailureKind, progress: Progress) -> Self {
        AttemptReport {
            failure: Some(kind),
            progress,
            bytes: 0,
            recoverable: true,
            status: kind.client_status(),
            detail: String::new(),
        }
    }

    /// Adds a detail text.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }
}

/// What the lb loop does after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The attempt succeeded.
    Done,
    /// Try another member (call [`Balancer::next_step`]).
    TryAnother,
    /// Stop with this error.
    Stop(LbError),
}

/// An attempt in progress. Holds the member's busy count; dropping it without
/// [`AttemptGuard::finish`] (a cancelled request) releases the count and leaves the member
/// as it was, except that a probe of a recovering member is handed back (ERR/PRB →
/// ERR/REC) so another request probes it.
#[derive(Debug)]
pub struct AttemptGuard {
    inner: Arc<Inner>,
    index: usize,
    slot: usize,
    lb_mult: u64,
    method: LbMethod,
    finished: bool,
}

impl AttemptGuard {
    /// The member's index.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Records the outcome (mod_jk §3.6) and says what the loop does next.
    pub fn finish(mut self, plan: &mut RequestPlan, report: AttemptReport) -> Verdict {
        self.finished = true;
        Balancer::record_outcome(
            &self.inner,
            plan,
            self.index,
            self.lb_mult,
            self.method,
            report,
        )
    }
}

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut rt = self.inner.runtime();
        release_busy(&mut rt, self.slot, self.lb_mult, self.method);
        let member = &mut rt.members[self.slot];
        if member.state == MemberState::Probing {
            member.state = MemberState::Recovering;
        }
    }
}

fn release_busy(rt: &mut Runtime, slot: usize, lb_mult: u64, method: LbMethod) {
    rt.busy = rt.busy.saturating_sub(1);
    let member = &mut rt.members[slot];
    member.busy = member.busy.saturating_sub(1);
    if method == LbMethod::Busyness {
        member.lb_value = member.lb_value.saturating_sub(lb_mult);
    }
}

/// Why [`Balancer::start_attempt`] could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberBusy {
    /// The member's index.
    pub index: usize,
}

/// A member as the status worker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    /// Name.
    pub name: String,
    /// Route.
    pub route: String,
    /// Domain.
    pub domain: String,
    /// Redirect route.
    pub redirect: String,
    /// Distance.
    pub distance: i64,
    /// Factor.
    pub lbfactor: u64,
    /// Multiplier.
    pub lb_mult: u64,
    /// Load value.
    pub lb_value: u64,
    /// Runtime state.
    pub state: MemberState,
    /// Configured activation.
    pub activation: Activation,
    /// Requests without session id.
    pub sessions: u64,
    /// Member errors.
    pub errors: u64,
    /// Client errors.
    pub client_errors: u64,
    /// Decayed reply timeout count.
    pub reply_timeouts: u64,
    /// Attempts started ("elected").
    pub elected: u64,
    /// Requests in flight.
    pub busy: u64,
    /// Most requests in flight at once.
    pub max_busy: u64,
    /// AJP bytes moved.
    pub transferred: u64,
    /// Time since the current error episode started.
    pub error_age: Option<Duration>,
    /// Failed attempts after which the request was tried again (on another member).
    pub failovers: u64,
    /// Failed attempts not tried again because the request may not be sent twice.
    pub refused_replays: u64,
    /// The application health check's verdict.
    pub health: Health,
}

/// An lb as the status worker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbStatus {
    /// The settings in force.
    pub settings: LbSettings,
    /// Requests in flight.
    pub busy: u64,
    /// Most requests in flight at once.
    pub max_busy: u64,
    /// Members in order.
    pub members: Vec<MemberStatus>,
}

/// The answer of [`Balancer::dry_run`].
#[derive(Debug, Clone)]
pub struct DryRun {
    /// The session id candidates the facts carry (`;`-joined).
    pub session_id: Option<String>,
    /// The member a request would be sent to first, with its route; `None`: the request
    /// would get no member now (503 after the retries).
    pub choice: Option<Choice>,
    /// Why.
    pub decision: Decision,
    /// The member the session's route named, when it could not take the request.
    pub sticky_miss: Option<usize>,
    /// Every member was in error, and forced recovery would be used.
    pub forced_recovery: bool,
    /// The topology the indexes refer to.
    pub topology: Arc<Topology>,
}

/// What one maintenance run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintenanceReport {
    /// Whether the interval had passed (otherwise nothing was done).
    pub ran: bool,
    /// The decay exponent applied.
    pub decay_shift: u32,
    /// Members moved ERR → ERR/REC.
    pub recovered: Vec<String>,
    /// Members whose local error became global ERR.
    pub escalated: Vec<String>,
    /// Members moved ERR → ERR/FRC because everything was in error.
    pub forced: Vec<String>,
}

impl Balancer {
    /// Builds an lb from its settings and members, checking what mod_jk checks at startup
    /// (at least one member, unique routes).
    pub fn new(
        settings: LbSettings,
        members: Vec<MemberSettings>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, BalancerConfigError> {
        validate(&settings, &members)?;
        let members_len = members.len();
        let now = clock.now();
        let runtime = Runtime {
            members: members.iter().map(|_| MemberRuntime::new()).collect(),
            names: members.iter().map(|m| m.name.clone()).collect(),
            next_offset: 0,
            last_maintenance: now,
            busy: 0,
            max_busy: 0,
        };
        Ok(Balancer {
            inner: Arc::new(Inner {
                topology: ArcSwap::from_pointee(Topology::new(
                    settings,
                    members,
                    (0..members_len).collect(),
                )),
                runtime: Mutex::new(runtime),
                clock,
            }),
        })
    }

    /// The current topology.
    pub fn topology(&self) -> Arc<Topology> {
        self.inner.topology.load_full()
    }

    /// The lb's name.
    pub fn name(&self) -> String {
        self.inner.topology.load().settings.name.clone()
    }

    /// Changes lb settings at run time (status worker `update`).
    pub fn update_settings(&self, change: impl FnOnce(&mut LbSettings)) {
        let current = self.inner.topology.load_full();
        let mut settings = current.settings.clone();
        change(&mut settings);
        self.inner
            .topology
            .store(Arc::new(current.with(settings, current.members.clone())));
    }

    /// Checks what [`Balancer::new`] checks, without building anything: a reload asks
    /// this of every lb before it changes any.
    pub fn validate(
        settings: &LbSettings,
        members: &[MemberSettings],
    ) -> Result<(), BalancerConfigError> {
        validate(settings, members)
    }

    /// Takes the settings and members of a reloaded configuration. A member whose name
    /// was there before keeps its state and numbers (busy counts, errors, load value,
    /// elected, ...), whatever its position; a new one starts idle; a removed one's requests
    /// still running finish and are counted, and it is chosen no more.
    pub fn reconfigure(
        &self,
        settings: LbSettings,
        members: Vec<MemberSettings>,
    ) -> Result<(), BalancerConfigError> {
        validate(&settings, &members)?;
        let mut rt = self.inner.runtime();
        let slots = members.iter().map(|m| rt.slot_of(&m.name)).collect();
        self.inner
            .topology
            .store(Arc::new(Topology::new(settings, members, slots)));
        Ok(())
    }

    /// Changes one member's settings at run time (status worker `update` with `sw`).
    /// An activation change resets every member's load value (except for Busyness), a
    /// factor change recomputes all multipliers, as mod_jk does.
    pub fn update_member(
        &self,
        name: &str,
        change: impl FnOnce(&mut MemberSettings),
    ) -> Result<(), BalancerConfigError> {
        let current = self.inner.topology.load_full();
        let mut members = current.members.clone();
        let Some(index) = members.iter().position(|m| m.name == name) else {
            return Err(BalancerConfigError::UnknownMember {
                lb: current.settings.name.clone(),
                member: name.to_owned(),
            });
        };
        let before = members[index].activation;
        change(&mut members[index]);
        validate(&current.settings, &members)?;
        let activation_changed = members[index].activation != before;
        let mut rt = self.inner.runtime();
        if activation_changed && current.settings.method != LbMethod::Busyness {
            for &slot in &current.slots {
                rt.members[slot].lb_value = 0;
            }
        }
        self.inner
            .topology
            .store(Arc::new(current.with(current.settings.clone(), members)));
        Ok(())
    }

    /// Starts a request: copies member states, extracts the session id (mod_jk §3.4
    /// steps 1 and 3).
    pub fn begin(&self, facts: &RequestFacts) -> RequestPlan {
        self.plan(facts, false)
    }

    /// [`Balancer::begin`] for a caller that can reach only the members for which
    /// `reachable(name)` is true: the others count as stopped for this request alone. A
    /// reload changes the topology of a kept lb while requests that started with the
    /// previous member list are still being planned; they must never choose a member
    /// they cannot reach (one the reload added).
    pub fn begin_among(
        &self,
        facts: &RequestFacts,
        reachable: impl Fn(&str) -> bool,
    ) -> RequestPlan {
        let mut plan = self.plan(facts, false);
        for index in 0..plan.topology.members.len() {
            if !reachable(&plan.topology.members[index].name) {
                plan.activations_mut()[index] = Activation::Stopped;
            }
        }
        plan
    }

    /// The plan of a request; a `dry_run` plan changes nothing shared (a member leaving
    /// OK/BUSY is seen only in its own copy of the states).
    fn plan(&self, facts: &RequestFacts, dry_run: bool) -> RequestPlan {
        // Under the lock: a reload stores its topology under it too, so the states copied
        // here are the members of exactly this topology.
        let mut rt = self.inner.runtime();
        let topology = self.inner.topology.load_full();
        let settings = &topology.settings;
        let mut states = plan_states(&rt, &topology);
        for (i, settings) in topology.members.iter().enumerate() {
            let limit = settings.busy_limit;
            let member = rt.member(&topology, i);
            if member.state == MemberState::Busy && (limit == 0 || member.busy < limit) {
                if !dry_run {
                    member.state = MemberState::Ok;
                }
                if states[i] == MemberState::Busy {
                    states[i] = MemberState::Ok;
                }
            }
        }
        drop(rt);
        let activations = (!facts.activation_overrides.is_empty()).then(|| {
            topology
                .members
                .iter()
                .map(|m| {
                    facts
                        .activation_overrides
                        .iter()
                        .find(|(name, _)| *name == m.name)
                        .map_or(m.activation, |(_, a)| *a)
                })
                .collect()
        });
        let mut route = None;
        let session = if settings.sticky_session && !facts.sticky_ignore {
            if let Some(forced) = facts.route_override.as_deref().filter(|r| !r.is_empty()) {
                route = Some(SharedName::from(forced));
                Some(format!(".{forced}"))
            } else {
                let path = facts
                    .session_path
                    .as_deref()
                    .unwrap_or(&settings.session_path);
                let cookie = facts
                    .session_cookie
                    .as_deref()
                    .unwrap_or(&settings.session_cookie);
                session_id_list(&facts.uri, &facts.cookies, path, cookie)
            }
        } else {
            None
        };
        RequestPlan {
            states,
            activations,
            session,
            first_session_only: false,
            route,
            sticky: false,
            stateless: facts.stateless,
            set_cookie: settings.set_session_cookie || facts.set_session_cookie,
            secure: facts.secure,
            method: facts.method.clone(),
            has_body: facts.has_body,
            saturated: Vec::new(),
            forced_recovery_done: false,
            attempt: 0,
            round: 0,
            attempts_made: 0,
            round_pending: false,
            failures: Vec::new(),
            last_status: 503,
            response_started: false,
            dry_run,
            decision: Decision::None,
            sticky_miss: None,
            topology,
        }
    }

    /// Decides the next step of the lb loop (mod_jk §3.4 step 4).
    pub fn next_step(&self, plan: &mut RequestPlan) -> Step {
        let members = plan.topology.members.len() as u32;
        let lb_retries = plan.topology.settings.lb_retries.max(1);
        let retries = plan.topology.settings.retries.max(1);
        let retry_interval = plan.topology.settings.retry_interval;
        loop {
            if plan.round_pending {
                plan.round_pending = false;
                let rt = self.inner.runtime();
                plan.states = plan_states(&rt, &plan.topology);
                plan.attempt = 0;
            } else if plan.attempt >= members || plan.attempt >= lb_retries {
                plan.round += 1;
                if plan.round >= retries {
                    let failure = if plan.failures.is_empty() {
                        LbFailure::NoMember
                    } else {
                        LbFailure::Exhausted
                    };
                    return Step::GiveUp(plan.error(failure));
                }
                plan.round_pending = true;
                return Step::Wait(retry_interval);
            }
            plan.last_status = 503;
            match self.choose(plan) {
                Some(index) => return Step::Attempt(self.make_choice(plan, index)),
                None => {
                    if !plan.forced_recovery_done {
                        plan.forced_recovery_done = true;
                        let forced = if plan.dry_run {
                            self.force_recovery_locally(plan)
                        } else {
                            self.force_recovery(&plan.topology, Some(&mut plan.states))
                        };
                        if forced > 0 {
                            continue;
                        }
                    }
                    plan.attempt += 1;
                }
            }
        }
    }

    fn make_choice(&self, plan: &mut RequestPlan, index: usize) -> Choice {
        let member = &plan.topology.members[index];
        if plan.route.is_none() {
            plan.route = Some(plan.topology.routes[index].clone());
        }
        let settings = &plan.topology.settings;
        let set_cookie = (!plan.sticky && plan.set_cookie).then(|| {
            let mut cookie = format!("{}=.{}", settings.session_cookie, member.route);
            if !settings.session_cookie_path.is_empty() {
                cookie.push_str(";PATH=");
                cookie.push_str(&settings.session_cookie_path);
            }
            cookie.push_str(";HttpOnly");
            if plan.secure {
                cookie.push_str(";Secure");
            }
            cookie
        });
        Choice {
            index,
            member: plan.topology.names[index].clone(),
            route: plan.route.clone().unwrap_or_default(),
            member_route: plan.topology.routes[index].clone(),
            activation: plan.activation(index),
            sticky: plan.sticky,
            set_cookie,
            attempt: plan.attempts_made + 1,
        }
    }

    /// Starts an attempt on the chosen member: ERR/REC becomes ERR/PRB, busy counts go up,
    /// load counters move as the method says (mod_jk §3.2, §3.4). Fails when the member's
    /// `busy_limit` is reached; the member is then marked OK/BUSY and the attempt counted.
    pub fn start_attempt(
        &self,
        plan: &mut RequestPlan,
        choice: &Choice,
    ) -> Result<AttemptGuard, MemberBusy> {
        let index = choice.index;
        let slot = plan.topology.slots[index];
        let member_settings = &plan.topology.members[index];
        let lb_mult = plan.topology.lb_mult[index];
        let method = plan.topology.settings.method;
        let mut rt = self.inner.runtime();
        if rt.members[slot].state == MemberState::Recovering {
            rt.members[slot].state = MemberState::Probing;
            plan.states[index] = MemberState::Probing;
        }
        let limit = member_settings.busy_limit;
        if limit > 0 && rt.members[slot].busy >= limit {
            if rt.members[slot].state != MemberState::Error {
                rt.members[slot].state = MemberState::Busy;
                plan.states[index] = MemberState::Busy;
            }
            drop(rt);
            plan.attempt += 1;
            plan.attempts_made += 1;
            plan.failures.push(FailedAttempt {
                attempt: choice.attempt,
                member: choice.member.to_string(),
                kind: FailureKind::Busy,
                retry_safe: true,
                detail: format!("busy_limit {limit} reached"),
            });
            return Err(MemberBusy { index });
        }
        plan.attempts_made += 1;
        rt.busy += 1;
        rt.max_busy = rt.max_busy.max(rt.busy);
        let counts_session = plan.session.is_none() && !plan.stateless;
        let member = &mut rt.members[slot];
        member.busy += 1;
        member.max_busy = member.max_busy.max(member.busy);
        member.elected += 1;
        let add = match method {
            LbMethod::Request | LbMethod::Busyness => true,
            LbMethod::Session | LbMethod::Next => counts_session,
            LbMethod::Traffic => false,
        };
        if add {
            member.lb_value = member.lb_value.saturating_add(lb_mult);
        }
        if counts_session {
            member.sessions += 1;
        }
        Ok(AttemptGuard {
            inner: self.inner.clone(),
            index,
            slot,
            lb_mult,
            method,
            finished: false,
        })
    }

    fn record_outcome(
        inner: &Inner,
        plan: &mut RequestPlan,
        index: usize,
        lb_mult: u64,
        method: LbMethod,
        report: AttemptReport,
    ) -> Verdict {
        let now = inner.clock.now();
        // Borrowed from the plan (its other fields change below, this one does not).
        let topology = &plan.topology;
        let settings = &topology.settings;
        let member_settings = &topology.members[index];
        let slot = topology.slots[index];
        let retry_safe = report.failure.is_some_and(|kind| {
            kind != FailureKind::Client
                && report.recoverable
                && replay_allowed(
                    settings.replay,
                    member_settings.recovery_options,
                    &plan.method,
                    plan.has_body,
                    report.progress,
                )
        });
        let mut rt = inner.runtime();
        release_busy(&mut rt, slot, lb_mult, method);
        let member = &mut rt.members[slot];
        member.transferred = member.transferred.saturating_add(report.bytes);
        if method == LbMethod::Traffic {
            member.lb_value = member
                .lb_value
                .saturating_add(report.bytes.saturating_mul(lb_mult));
        }
        if member.state != MemberState::Error {
            member.state = MemberState::Ok;
            plan.states[index] = MemberState::Ok;
        }
        let Some(kind) = report.failure else {
            member.state = MemberState::Ok;
            plan.states[index] = MemberState::Ok;
            member.first_error = None;
            member.last_error = None;
            return Verdict::Done;
        };
        plan.states[index] = MemberState::Error;
        if retry_safe {
            member.failovers += 1;
        } else if kind != FailureKind::Client {
            member.refused_replays += 1;
        }
        match kind {
            FailureKind::Client => {
                member.state = MemberState::Ok;
                member.client_errors += 1;
                member.first_error = None;
                member.last_error = None;
            }
            FailureKind::SoftStatus(_) => {
                member.state = MemberState::Ok;
                member.first_error = None;
                member.last_error = None;
            }
            FailureKind::Busy => {
                if member.state != MemberState::Error {
                    member.state = MemberState::Busy;
                }
                plan.states[index] = MemberState::Busy;
            }
            FailureKind::HardStatus(_) => {
                member.errors += 1;
                member.state = MemberState::Error;
                member.first_error = Some(now);
                member.last_error = Some(now);
            }
            FailureKind::ReplyTimeout => {
                member.reply_timeouts += 1;
                if member.reply_timeouts > settings.max_reply_timeouts {
                    member.errors += 1;
                    member.state = MemberState::Error;
                    member.first_error = Some(now);
                    member.last_error = Some(now);
                }
            }
            FailureKind::Framing => {}
            FailureKind::Backend => {
                member.errors += 1;
                let episode_old = member.first_error.is_some_and(|first| {
                    now.saturating_duration_since(first) >= settings.error_escalation_time
                });
                if member.busy == 0 || settings.error_escalation_time.is_zero() || episode_old {
                    member.state = MemberState::Error;
                }
                if member.first_error.is_none() {
                    member.first_error = Some(now);
                }
                member.last_error = Some(now);
            }
        }
        drop(rt);

        plan.failures.push(FailedAttempt {
            attempt: plan.attempts_made,
            member: member_settings.name.clone(),
            kind,
            retry_safe,
            detail: report.detail.clone(),
        });
        plan.last_status = report.status;
        plan.response_started |= report.progress == Progress::ResponseStarted;
        if retry_safe {
            plan.attempt += 1;
            Verdict::TryAnother
        } else {
            Verdict::Stop(plan.error(LbFailure::NotRetryable))
        }
    }

    /// Records that an attempt could not get a connection slot from the member's pool
    /// (mod_jk: no endpoint → OK/BUSY, counted as an attempt).
    pub fn record_no_slot(&self, plan: &mut RequestPlan, choice: &Choice) {
        let mut rt = self.inner.runtime();
        let member = rt.member(&plan.topology, choice.index);
        if member.state != MemberState::Error {
            member.state = MemberState::Busy;
            plan.states[choice.index] = MemberState::Busy;
        }
        drop(rt);
        plan.attempt += 1;
    }

    /// mod_jk's `get_most_suitable_worker` (§3.5).
    fn choose(&self, plan: &mut RequestPlan) -> Option<usize> {
        let topology = plan.topology.clone();
        let members = &topology.members;
        plan.sticky = false;
        plan.decision = Decision::None;
        if members.len() == 1 {
            let activation = plan.activation(0);
            if plan.states[0].usable_sticky(activation) {
                if activation != Activation::Disabled {
                    plan.sticky = true;
                    plan.decision = Decision::OnlyMember;
                    return Some(0);
                }
            } else {
                return None;
            }
        }
        let mut rt = self.inner.runtime();
        // A dry run leaves the rotation where it is.
        let offset = rt.next_offset;
        let chosen = self.choose_locked(&mut rt, plan, &topology);
        if plan.dry_run {
            rt.next_offset = offset;
        }
        chosen
    }

    fn choose_locked(
        &self,
        rt: &mut Runtime,
        plan: &mut RequestPlan,
        topology: &Topology,
    ) -> Option<usize> {
        // Taken out of the plan for the walk (which needs the plan mutably) and put back
        // before anything else looks at it: a clone was an allocation per sticky request.
        if let Some(session) = plan.session.take() {
            // After the first walk only the first candidate is left (mod_jk 1.2.48
            // `get_most_suitable_worker` cuts the list it is given; seen in
            // tests/lb_modjk_differential.rs: a fail-over attempt ignores the other cookies).
            let candidates = if plan.first_session_only {
                1
            } else {
                usize::MAX
            };
            plan.first_session_only = true;
            let found = session.split(';').take(candidates).find_map(|candidate| {
                self.find_by_session_route(rt, plan, route_of_session(candidate)?)
            });
            plan.session = Some(session);
            if found.is_some() {
                return found;
            }
            if topology.settings.sticky_session_force {
                return None;
            }
        }
        self.find_best_worker(rt, plan)
    }

    fn find_best_worker(&self, rt: &mut Runtime, plan: &mut RequestPlan) -> Option<usize> {
        if let Some(index) = find_best_by_value(rt, plan) {
            plan.decision = Decision::Balanced;
            return Some(index);
        }
        // Failover worker: the redirect of the first member that has one.
        let redirect = plan
            .topology
            .members
            .iter()
            .find(|m| !m.redirect.is_empty())
            .map(|m| m.redirect.clone())?;
        let found = self.find_by_session_route(rt, plan, &redirect);
        plan.sticky = false;
        if found.is_some() {
            plan.decision = Decision::FailoverWorker;
        }
        found
    }

    /// mod_jk's `find_bysession_route` (§3.5.3).
    fn find_by_session_route(
        &self,
        rt: &Runtime,
        plan: &mut RequestPlan,
        route: &str,
    ) -> Option<usize> {
        let topology = plan.topology.clone();
        let members = &topology.members;
        let mut uses_domain = false;
        let mut candidate = members.iter().position(|m| m.route == route);
        if candidate.is_none() {
            uses_domain = true;
            candidate = find_best_by_domain(rt, plan, route);
        } else {
            plan.sticky = true;
        }
        let mut index = candidate?;
        plan.decision = if uses_domain {
            Decision::SessionDomain
        } else {
            Decision::SessionRoute
        };
        if uses_domain {
            plan.route = Some(topology.domains[index].clone());
        }
        if !plan.states[index].usable_sticky(plan.activation(index)) {
            // The session's member cannot take it: the request is no longer sticky,
            // whatever replaces it (mod_jk 1.2.48 logs it as failover and emits the
            // routing cookie; seen in tests/lb_modjk_differential.rs).
            plan.sticky = false;
            plan.decision = Decision::None;
            plan.sticky_miss.get_or_insert(index);
            let owner_index = index;
            let owner = &members[index];
            let replacement = if topology.settings.sticky_session_force {
                None
            } else if !owner.redirect.is_empty() {
                plan.route = None;
                plan.decision = Decision::Redirect { owner: owner_index };
                members.iter().position(|m| m.route == owner.redirect)
            } else if !owner.domain.is_empty() && !uses_domain {
                let found = find_best_by_domain(rt, plan, &owner.domain);
                plan.route = found.map(|_| topology.domains[owner_index].clone());
                plan.decision = Decision::DomainFailover { owner: owner_index };
                found
            } else {
                None
            };
            index = replacement?;
            if !plan.states[index].usable_sticky(plan.activation(index)) {
                return None;
            }
        }
        Some(index)
    }

    /// mod_jk's `force_recovery`: every global ERR member becomes ERR/FRC (also in the
    /// request's local copy); returns how many.
    fn force_recovery(&self, topology: &Topology, local: Option<&mut Vec<MemberState>>) -> usize {
        let mut rt = self.inner.runtime();
        force_recovery_locked(&mut rt, topology, local)
    }

    /// What [`Balancer::force_recovery`] would do, in the plan's own copy only (dry run).
    fn force_recovery_locally(&self, plan: &mut RequestPlan) -> usize {
        let rt = self.inner.runtime();
        let mut forced = 0;
        for i in 0..plan.topology.members.len() {
            let member = rt.member_ref(&plan.topology, i);
            if member.state == MemberState::Error {
                forced += 1;
                if member.health.allows_traffic() {
                    plan.states[i] = MemberState::ForcedRecovery;
                }
            }
        }
        forced
    }

    /// Where a request with these facts would go now, decided by the code that routes
    /// requests ([`Balancer::next_step`] on a plan), without changing anything shared: no
    /// state moves, no counter, no load value, the rotation offset stays. `saturated` says
    /// which members have no free connection (as the lb loop tells a real plan).
    pub fn dry_run(&self, facts: &RequestFacts, saturated: impl Iterator<Item = bool>) -> DryRun {
        let mut plan = self.plan(facts, true);
        plan.note_saturation(saturated);
        let choice = match self.next_step(&mut plan) {
            Step::Attempt(choice) => Some(choice),
            Step::Wait(_) | Step::GiveUp(_) => None,
        };
        DryRun {
            session_id: plan.session.clone(),
            decision: if choice.is_some() {
                plan.decision
            } else {
                Decision::None
            },
            sticky_miss: plan.sticky_miss,
            forced_recovery: plan.forced_recovery_done
                && plan.states.contains(&MemberState::ForcedRecovery),
            choice,
            topology: plan.topology.clone(),
        }
    }

    /// Runs maintenance if `worker.maintain` has passed since the last run (mod_jk §3.8):
    /// load decay, recovery of rested ERR members, escalation of lingering local errors,
    /// idle marking, and forced recovery when every member is in error.
    pub fn maintain(&self) -> MaintenanceReport {
        let topology = self.inner.topology.load_full();
        let settings = &topology.settings;
        let interval = settings.maintain_interval;
        let mut report = MaintenanceReport::default();
        if interval.is_zero() {
            return report;
        }
        let now = self.inner.clock.now();
        let mut rt = self.inner.runtime();
        let elapsed = now.saturating_duration_since(rt.last_maintenance);
        // mod_jk runs up to 2 s early (its timer is whole seconds); keep a small tolerance
        // so a timer firing every `interval` never skips a run.
        let tolerance = (interval / 20).min(Duration::from_secs(2));
        let elapsed = elapsed + tolerance;
        if elapsed < interval {
            return report;
        }
        rt.last_maintenance = now;
        let shift = (elapsed.as_nanos() / interval.as_nanos()).min(64) as u32;
        report.ran = true;
        report.decay_shift = shift;
        let curmax = decay(&mut rt, &topology, shift);
        let mut non_error = 0usize;
        for (i, name) in topology.members.iter().map(|m| &m.name).enumerate() {
            let member = rt.member(&topology, i);
            if member.state == MemberState::Error {
                let rested = member
                    .last_error
                    .is_none_or(|last| now.saturating_duration_since(last) > settings.recover_time);
                if rested {
                    if settings.method != LbMethod::Busyness {
                        member.lb_value = curmax;
                    }
                    member.reply_timeouts = 0;
                    member.state = MemberState::Recovering;
                    report.recovered.push(name.clone());
                    non_error += 1;
                }
            } else if member.first_error.is_some_and(|first| {
                now.saturating_duration_since(first) >= settings.error_escalation_time
            }) && member.state != MemberState::Recovering
            {
                member.state = MemberState::Error;
                report.escalated.push(name.clone());
            } else {
                non_error += 1;
                if member.state == MemberState::Ok && member.elected == member.elected_snapshot {
                    member.state = MemberState::Idle;
                }
            }
            member.elected_snapshot = member.elected;
        }
        if non_error == 0 {
            let before = states_of(&rt, &topology);
            force_recovery_locked(&mut rt, &topology, None);
            report.forced = before
                .iter()
                .enumerate()
                .filter(|(_, s)| **s == MemberState::Error)
                .map(|(i, _)| topology.members[i].name.clone())
                .collect();
        }
        report
    }

    /// Time since the last maintenance run (or since the lb was built), for the status
    /// worker's `time_to_maintenance_min`/`max`.
    pub fn since_maintenance(&self) -> Duration {
        let now = self.inner.clock.now();
        now.saturating_duration_since(self.inner.runtime().last_maintenance)
    }

    /// Records the application health check's verdict on member `name`; returns the
    /// previous one. The member keeps it across reloads while its name stays (the check's
    /// driver sets [`Health::Unchecked`] when its check is removed).
    pub fn set_health(&self, name: &str, health: Health) -> Result<Health, BalancerConfigError> {
        let topology = self.inner.topology.load_full();
        let index = member_index(&topology, name)?;
        let mut rt = self.inner.runtime();
        let member = rt.member(&topology, index);
        Ok(std::mem::replace(&mut member.health, health))
    }

    /// Status worker `recover`: a member in ERR becomes ERR/REC at once.
    pub fn recover_member(&self, name: &str) -> Result<bool, BalancerConfigError> {
        let topology = self.inner.topology.load_full();
        let index = member_index(&topology, name)?;
        let mut rt = self.inner.runtime();
        if rt.member(&topology, index).state != MemberState::Error {
            return Ok(false);
        }
        let curmax = topology
            .slots
            .iter()
            .map(|&slot| rt.members[slot].lb_value)
            .max()
            .unwrap_or(0);
        let member = rt.member(&topology, index);
        if topology.settings.method != LbMethod::Busyness {
            member.lb_value = curmax;
        }
        member.reply_timeouts = 0;
        member.state = MemberState::Recovering;
        Ok(true)
    }

    /// Status worker `reset` of one member, or of all with `None`.
    pub fn reset(&self, name: Option<&str>) -> Result<(), BalancerConfigError> {
        let topology = self.inner.topology.load_full();
        let only = name.map(|n| member_index(&topology, n)).transpose()?;
        let mut rt = self.inner.runtime();
        if only.is_none() {
            rt.max_busy = 0;
        }
        for i in 0..topology.members.len() {
            if only.is_some_and(|o| o != i) {
                continue;
            }
            let member = rt.member(&topology, i);
            let (busy, health) = (member.busy, member.health);
            *member = MemberRuntime::new();
            member.busy = busy;
            member.health = health;
        }
        Ok(())
    }

    /// A consistent snapshot for the status worker.
    pub fn status(&self) -> LbStatus {
        let topology = self.inner.topology.load_full();
        let now = self.inner.clock.now();
        let rt = self.inner.runtime();
        let members = topology
            .members
            .iter()
            .zip(topology.slots.iter().map(|&slot| &rt.members[slot]))
            .zip(&topology.lb_mult)
            .map(|((m, r), mult)| MemberStatus {
                name: m.name.clone(),
                route: m.route.clone(),
                domain: m.domain.clone(),
                redirect: m.redirect.clone(),
                distance: m.distance,
                lbfactor: m.lbfactor,
                lb_mult: *mult,
                lb_value: r.lb_value,
                state: r.state,
                activation: m.activation,
                sessions: r.sessions,
                errors: r.errors,
                client_errors: r.client_errors,
                reply_timeouts: r.reply_timeouts,
                elected: r.elected,
                busy: r.busy,
                max_busy: r.max_busy,
                transferred: r.transferred,
                error_age: r.first_error.map(|f| now.saturating_duration_since(f)),
                failovers: r.failovers,
                refused_replays: r.refused_replays,
                health: r.health,
            })
            .collect();
        LbStatus {
            settings: topology.settings.clone(),
            busy: rt.busy,
            max_busy: rt.max_busy,
            members,
        }
    }
}

/// The states a request plan starts from: a member whose health check says DOWN is in
/// ERR for the request (not chosen, not even by forced recovery), whatever its mod_jk state.
fn plan_states(rt: &Runtime, topology: &Topology) -> Vec<MemberState> {
    topology
        .slots
        .iter()
        .map(|&slot| {
            let member = &rt.members[slot];
            if member.health.allows_traffic() {
                member.state
            } else {
                MemberState::Error
            }
        })
        .collect()
}

/// The states of `topology`'s members, in its order.
fn states_of(rt: &Runtime, topology: &Topology) -> Vec<MemberState> {
    topology
        .slots
        .iter()
        .map(|&slot| rt.members[slot].state)
        .collect()
}

fn member_index(topology: &Topology, name: &str) -> Result<usize, BalancerConfigError> {
    topology
        .members
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| BalancerConfigError::UnknownMember {
            lb: topology.settings.name.clone(),
            member: name.to_owned(),
        })
}

fn validate(settings: &LbSettings, members: &[MemberSettings]) -> Result<(), BalancerConfigError> {
    if members.is_empty() {
        return Err(BalancerConfigError::NoMembers {
            lb: settings.name.clone(),
        });
    }
    for (i, member) in members.iter().enumerate() {
        for earlier in &members[..i] {
            if earlier.name == member.name {
                return Err(BalancerConfigError::DuplicateMember {
                    lb: settings.name.clone(),
                    member: member.name.clone(),
                });
            }
            if earlier.route == member.route {
                return Err(BalancerConfigError::DuplicateRoute {
                    lb: settings.name.clone(),
                    first: earlier.name.clone(),
                    second: member.name.clone(),
                    route: member.route.clone(),
                });
            }
        }
    }
    Ok(())
}

fn force_recovery_locked(
    rt: &mut Runtime,
    topology: &Topology,
    mut local: Option<&mut Vec<MemberState>>,
) -> usize {
    let mut forced = 0;
    for i in 0..topology.members.len() {
        let member = rt.member(topology, i);
        if member.state == MemberState::Error {
            member.reply_timeouts = 0;
            member.state = MemberState::ForcedRecovery;
            if let Some(states) = local.as_deref_mut()
                && member.health.allows_traffic()
            {
                states[i] = MemberState::ForcedRecovery;
            }
            forced += 1;
        }
    }
    forced
}

/// Load decay at maintenance; returns the largest load value afterwards (0 for
/// Busyness).
fn decay(rt: &mut Runtime, topology: &Topology, shift: u32) -> u64 {
    let method = topology.settings.method;
    let mut curmax = 0;
    for &slot in &topology.slots {
        let member = &mut rt.members[slot];
        if method != LbMethod::Busyness {
            if method != LbMethod::Next {
                member.lb_value = member.lb_value.checked_shr(shift).unwrap_or(0);
            }
            curmax = curmax.max(member.lb_value);
        }
        member.reply_timeouts = member.reply_timeouts.checked_shr(shift).unwrap_or(0);
    }
    if method == LbMethod::Next {
        let curmin = topology
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| (rt.member_ref(topology, i), m))
            .filter(|(r, m)| r.state.usable(m.activation))
            .map(|(r, _)| r.lb_value)
            .min()
            .unwrap_or(0);
        for &slot in &topology.slots {
            let member = &mut rt.members[slot];
            member.lb_value = member.lb_value.saturating_sub(curmin);
        }
    }
    curmax
}

/// mod_jk's `find_best_byvalue` (§3.5.4): lowest distance, then strictly lower load,
/// scanning from a rotating offset.
fn find_best_by_value(rt: &mut Runtime, plan: &RequestPlan) -> Option<usize> {
    let members = &plan.topology.members;
    let n = members.len();
    let offset = rt.next_offset;
    let saturated = |i: usize| plan.saturated.get(i).copied().unwrap_or(false);
    let usable = |i: usize| plan.states[i].usable(plan.activation(i));
    // Queue on a full member only when every usable one is full.
    let skip_saturated = (0..n).any(|i| usable(i) && !saturated(i));
    let mut best: Option<(usize, i64, u64)> = None;
    for j in offset..offset + n {
        let i = j % n;
        if !usable(i) || (skip_saturated && saturated(i)) {
            continue;
        }
        let distance = members[i].distance;
        let value = rt.member_ref(&plan.topology, i).lb_value;
        let better = match best {
            None => true,
            Some((_, d, v)) => distance < d || (!plan.stateless && value < v && distance == d),
        };
        if better {
            best = Some((i, distance, value));
            rt.next_offset = i + 1;
        }
    }
    best.map(|(i, _, _)| i)
}

/// mod_jk's `find_best_bydomain`: among usable members whose domain equals the part of
/// `route_or_domain` before its first `.`, the lowest distance, then the lowest load.
fn find_best_by_domain(rt: &Runtime, plan: &RequestPlan, route_or_domain: &str) -> Option<usize> {
    let domain = route_or_domain
        .find('.')
        .map_or(route_or_domain, |dot| &route_or_domain[..dot]);
    let mut best: Option<(usize, i64, u64)> = None;
    for (i, member) in plan.topology.members.iter().enumerate() {
        if member.domain.is_empty() || member.domain != domain {
            continue;
        }
        if !plan.states[i].usable(plan.activation(i)) {
            continue;
        }
        let value = rt.member_ref(&plan.topology, i).lb_value;
        let better = match best {
            None => true,
            Some((_, d, v)) => member.distance < d || (value < v && member.distance == d),
        };
        if better {
            best = Some((i, member.distance, value));
        }
    }
    best.map(|(i, _, _)| i)
}

/// Whether a request that failed at `progress` may be sent again (to another member, or
/// to the same one).
///
/// `NothingSent` is always safe; `BodyStreamed` never is. With [`ReplayPolicy::Safe`] a
/// request that reached the member is sent again when its method is idempotent (RFC 9110
/// section 9.2.2: sending it twice has the effect of sending it once) and it has no body —
/// what every HTTP proxy re-sends — or when `recovery_options` bit 8 (HEAD) or 16 (GET)
/// says so (bit 16 only when bit 8 is clear, as mod_jk's code reads it); POST, PATCH and
/// unknown methods never are, and a response that started towards the client never is.
/// With [`ReplayPolicy::ModJk`] mod_jk's bits 1 and 2 decide.
pub fn replay_allowed(
    policy: ReplayPolicy,
    options: RecoveryOptions,
    method: &str,
    has_body: bool,
    progress: Progress,
) -> bool {
    match (policy, progress) {
        (_, Progress::NothingSent) => true,
        (_, Progress::BodyStreamed) => false,
        (ReplayPolicy::Safe, Progress::RequestSent) => {
            (is_idempotent(method) && !has_body)
                // jkgate's policy reads bit 1 as always set: only bits 8/16 rescue the rest.
                || RecoveryOptions(options.0 | RecoveryOptions::ABORT_IF_REQUEST_SENT)
                    .recoverable_before_headers(method)
        }
        (ReplayPolicy::Safe, Progress::ResponseStarted) => false,
        (ReplayPolicy::ModJk, Progress::RequestSent) => options.recoverable_before_headers(method),
        (ReplayPolicy::ModJk, Progress::ResponseStarted) => options.recoverable_after_headers(),
    }
}

/// RFC 9110 section 9.2.2: the methods whose effect is the same sent once or several times.
pub fn is_idempotent(method: &str) -> bool {
    matches!(
        method,
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE"
    )
}
