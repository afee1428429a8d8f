//! The settings one lb worker and its members run with.
//!
//! These are the balancer's own small structs (run-time settings the status worker can
//! change); the value types (method, lock, activation, recovery options) are the ones the
//! workers.properties reader in `crate::config` produces. Defaults are mod_jk's
//! (`mod_jk.md` §2.3, §2.4).

use std::time::Duration;

pub use crate::config::ini::ReplayPolicy;
pub use crate::config::workers::{Activation, LbLock as LockMode, LbMethod, RecoveryOptions};

/// Settings of one lb worker (mod_jk §2.3 plus the global `worker.maintain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbSettings {
    /// The lb worker's name.
    pub name: String,
    /// Load measure.
    pub method: LbMethod,
    /// Lock mode (shown only).
    pub lock: LockMode,
    /// Rounds over the members, first included (≥ 1).
    pub retries: u32,
    /// Members tried per round (≥ 1).
    pub lb_retries: u32,
    /// Sleep between rounds.
    pub retry_interval: Duration,
    /// Minimum rest of an ERR member before it is tried again.
    pub recover_time: Duration,
    /// How long a local error may last before it becomes a global ERR.
    pub error_escalation_time: Duration,
    /// Reply timeouts tolerated before the member goes ERR.
    pub max_reply_timeouts: u64,
    /// Route requests with a session id to the session's member.
    pub sticky_session: bool,
    /// Fail rather than move a session to another member.
    pub sticky_session_force: bool,
    /// Cookie carrying the session id (case-sensitive).
    pub session_cookie: String,
    /// Path parameter carrying the session id, with its leading `;`.
    pub session_path: String,
    /// Emit a routing cookie for requests not routed by their session.
    pub set_session_cookie: bool,
    /// `PATH` of that cookie.
    pub session_cookie_path: String,
    /// `worker.maintain`: interval of decay and recovery; zero disables maintenance.
    pub maintain_interval: Duration,
    /// What may be replayed to another member.
    pub replay: ReplayPolicy,
}

impl LbSettings {
    /// The settings workers.properties gives lb `name` (values below 1 read as mod_jk
    /// reads them), with the global `worker.maintain` and jkgate.ini's `Replay`.
    pub fn from_config(
        name: &str,
        file: &crate::config::LbSettings,
        maintain_interval: Duration,
        replay: ReplayPolicy,
    ) -> Self {
        LbSettings {
            name: name.to_owned(),
            method: file.method,
            lock: file.lock,
            retries: file.retries.max(1),
            lb_retries: file.lb_retries.max(1),
            retry_interval: file.retry_interval,
            recover_time: file.recover_time,
            error_escalation_time: file.error_escalation_time,
            max_reply_timeouts: u64::from(file.max_reply_timeouts),
            sticky_session: file.sticky_session,
            sticky_session_force: file.sticky_session_force,
            session_cookie: file.session_cookie.clone(),
            session_path: file.session_path.clone(),
            set_session_cookie: file.set_session_cookie,
            session_cookie_path: file.session_cookie_path.clone(),
            maintain_interval,
            replay,
        }
    }

    /// mod_jk's defaults for an lb worker called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        LbSettings {
            name: name.into(),
            method: LbMethod::Request,
            lock: LockMode::Optimistic,
            retries: 2,
            lb_retries: 2,
            retry_interval: Duration::from_millis(100),
            recover_time: Duration::from_secs(60),
            error_escalation_time: Duration::from_secs(30),
            max_reply_timeouts: 0,
            sticky_session: true,
            sticky_session_force: false,
            session_cookie: "JSESSIONID".to_owned(),
            session_path: ";jsessionid".to_owned(),
            set_session_cookie: false,
            session_cookie_path: "/".to_owned(),
            maintain_interval: Duration::from_secs(60),
            replay: ReplayPolicy::Safe,
        }
    }
}

/// Settings of one lb member (mod_jk §2.4 plus the ajp13 settings the lb consults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSettings {
    /// The member worker's name.
    pub name: String,
    /// Route compared with session routes (Tomcat's `jvmRoute`).
    pub route: String,
    /// Replication domain; empty = none.
    pub domain: String,
    /// Route of the preferred failover member; empty = none.
    pub redirect: String,
    /// Preference tier; lower is preferred.
    pub distance: i64,
    /// Weight (≥ 1).
    pub lbfactor: u64,
    /// Configured activation.
    pub activation: Activation,
    /// Maximum concurrent requests; 0 = no limit.
    pub busy_limit: u64,
    /// The member's `recovery_options`.
    pub recovery_options: RecoveryOptions,
}

impl MemberSettings {
    /// The settings workers.properties gives an lb member (factor below 1 reads as 1).
    pub fn from_config(member: &crate::config::LbMember) -> Self {
        let file = &member.member;
        MemberSettings {
            name: member.name.clone(),
            route: file.route.clone(),
            domain: file.domain.clone(),
            redirect: file.redirect.clone(),
            distance: i64::from(file.distance),
            lbfactor: u64::from(file.lbfactor.max(1)),
            activation: file.activation,
            busy_limit: u64::from(member.ajp.busy_limit),
            recovery_options: member.ajp.recovery_options,
        }
    }

    /// mod_jk's defaults for a member called `name`: route = name, domain derived from the
    /// route, factor 1, active.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let route = name.clone();
        MemberSettings {
            domain: domain_of_route(&route).to_owned(),
            name,
            route,
            redirect: String::new(),
            distance: 0,
            lbfactor: 1,
            activation: Activation::Active,
            busy_limit: 0,
            recovery_options: RecoveryOptions::default(),
        }
    }

    /// Sets the route and, as mod_jk does when no domain was configured, derives the domain
    /// from it.
    pub fn with_route(mut self, route: impl Into<String>) -> Self {
        self.route = route.into();
        self.domain = domain_of_route(&self.route).to_owned();
        self
    }
}

/// mod_jk's default domain for a route: the part before its first `.`, or empty when the
/// route has no `.`.
pub fn domain_of_route(route: &str) -> &str {
    match route.find('.') {
        Some(dot) => &route[..dot],
        None => "",
    }
}
