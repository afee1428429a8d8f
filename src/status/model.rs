//! A consistent snapshot of what the status worker shows: the header, lb workers with
//! their members, plain ajp13 workers, and the mount rules of each (mod_jk.md §5.5).
//!
//! Configuration columns come from the resolved workers.properties (what mod_jk shows
//! is what it was configured with); run-time numbers come from the balancer core
//! (states, load values, lb-level counters) and from each worker's pool (AJP bytes,
//! connections, ajp-level counters).

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use crate::backend::AjpWorker;
use crate::backend::lb::LoadBalancer;
use serde::{Deserialize, Serialize};

use crate::balancer::{
    Activation, Decision, Health, LbMethod, LockMode, MemberState, RequestFacts,
};
use crate::config::AjpSettings;
use crate::config::uriworkermap::{Mount, MountTable};

use super::clock::{ResetTimes, member_key};
use super::rating::{Rating, Rules};

/// The header block (server, time, software).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Server name (the request's host name, as httpd's `UseCanonicalName Off`).
    pub server_name: String,
    /// Port the request came in on.
    pub server_port: u16,
    /// Now, Unix seconds.
    pub now: u64,
    /// `web_server`: jkgate's product string.
    pub web_server: String,
    /// `jk_version`.
    pub jk_version: String,
    /// The running configuration's generation (1 at start, +1 per successful reload).
    pub config_generation: u64,
    /// When it was loaded, Unix seconds.
    pub config_loaded: u64,
    /// Why the last reload failed (`None`: it succeeded, or there was none).
    pub reload_error: Option<String>,
}

/// The configuration columns of an ajp13 worker or lb member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AjpConf {
    /// `host` as configured.
    pub host: String,
    /// `port`.
    pub port: u16,
    /// The resolved `ip:port`, or `invalid` for port 0.
    pub address: String,
    /// `source`, or `undefined`.
    pub source: String,
    /// `connection_pool_timeout` (s).
    pub connection_pool_timeout: u64,
    /// `ping_timeout` (ms).
    pub ping_timeout: u64,
    /// `connect_timeout` (ms).
    pub connect_timeout: u64,
    /// `prepost_timeout` (ms).
    pub prepost_timeout: u64,
    /// `reply_timeout` (ms).
    pub reply_timeout: u64,
    /// `retries`.
    pub retries: u32,
    /// `retry_interval` (ms, edit form only).
    pub retry_interval: u64,
    /// `connection_ping_interval` (s).
    pub connection_ping_interval: u64,
    /// `recovery_options`.
    pub recovery_options: u32,
    /// `busy_limit`.
    pub busy_limit: u32,
    /// `max_packet_size`.
    pub max_packet_size: u32,
}

impl AjpConf {
    fn new(settings: &AjpSettings, worker: &AjpWorker) -> Self {
        let address = if settings.port == 0 {
            "invalid".to_owned()
        } else {
            worker.config().address.to_string()
        };
        AjpConf {
            host: settings.host.clone(),
            port: settings.port,
            address,
            source: settings
                .source
                .clone()
                .unwrap_or_else(|| "undefined".to_owned()),
            connection_pool_timeout: settings.connection_pool_timeout.as_secs(),
            ping_timeout: millis(settings.ping_timeout),
            connect_timeout: millis(settings.connect_timeout),
            prepost_timeout: millis(settings.prepost_timeout),
            reply_timeout: millis(settings.reply_timeout),
            retries: settings.retries,
            retry_interval: millis(settings.retry_interval),
            connection_ping_interval: settings.connection_ping_interval.as_secs(),
            recovery_options: settings.recovery_options.0,
            busy_limit: settings.busy_limit,
            max_packet_size: settings.max_packet_size,
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The time of the current (member) or last (ajp) error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorTime {
    /// Unix seconds.
    pub at: u64,
    /// Seconds ago.
    pub ago: u64,
}

/// Counters shared by members and ajp workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Traffic {
    /// Client errors.
    pub client_errors: u64,
    /// Reply timeouts.
    pub reply_timeouts: u64,
    /// AJP bytes sent to the backend.
    pub transferred: u64,
    /// AJP bytes read from the backend.
    pub read: u64,
    /// Requests in flight.
    pub busy: u64,
    /// Most requests in flight.
    pub max_busy: u64,
    /// Open connections.
    pub connected: u64,
    /// Most open connections.
    pub max_connected: u64,
}

/// One lb member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView {
    /// Member worker name.
    pub name: String,
    /// Its index in `balance_workers` (the `valN` of `att` forms).
    pub index: usize,
    /// Connection settings.
    pub conf: AjpConf,
    /// Activation.
    pub activation: Activation,
    /// `lbfactor`.
    pub lbfactor: u64,
    /// `route`.
    pub route: String,
    /// `redirect`.
    pub redirect: String,
    /// `domain`.
    pub domain: String,
    /// `distance`.
    pub distance: i64,
    /// Run-time state.
    pub state: MemberState,
    /// The application health check's verdict (jkgate's own).
    pub health: Health,
    /// `lb_mult`.
    pub lb_mult: u64,
    /// `lb_value`.
    pub lb_value: u64,
    /// Attempts started.
    pub elected: u64,
    /// Requests without session id.
    pub sessions: u64,
    /// lb-level errors.
    pub errors: u64,
    /// Traffic counters.
    pub traffic: Traffic,
    /// Seconds until recovery may be tried (only in ERR).
    pub time_to_recover_min: u64,
    /// Upper bound of that.
    pub time_to_recover_max: u64,
    /// Last reset, Unix seconds.
    pub last_reset_at: u64,
    /// Seconds since the last reset.
    pub last_reset_ago: u64,
    /// Start of the current error episode.
    pub error: Option<ErrorTime>,
}

/// One mount rule, as listed under a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapView {
    /// 1-based number under its worker.
    pub id: usize,
    /// Server (jkgate has one, named like the header's server).
    pub server: String,
    /// Pattern without `-`/`!`.
    pub uri: String,
    /// `Exact`/`Wildchar` with `Disabled `/`Unmount ` prefixes.
    pub kind: String,
    /// `worker definition`, `JkMount` or `uriworkermap`.
    pub source: String,
    /// Per-mount `reply_timeout` (ms), -1 when unset.
    pub reply_timeout: i64,
    /// `sticky_ignore`.
    pub sticky_ignore: bool,
    /// `stateless`.
    pub stateless: bool,
    /// `fail_on_status`, comma-separated.
    pub fail_on_status: String,
    /// `active` member names.
    pub active: String,
    /// `disabled` member names.
    pub disabled: String,
    /// `stopped` member names.
    pub stopped: String,
    /// `use_server_errors`.
    pub use_server_errors: u16,
}

/// An lb worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbView {
    /// Name.
    pub name: String,
    /// `sticky_session`.
    pub sticky_session: bool,
    /// `sticky_session_force`.
    pub sticky_session_force: bool,
    /// `retries`.
    pub retries: u32,
    /// `retry_interval` (ms).
    pub retry_interval: u64,
    /// `recover_time` (s).
    pub recover_time: u64,
    /// `error_escalation_time` (s).
    pub error_escalation_time: u64,
    /// `max_reply_timeouts`.
    pub max_reply_timeouts: u64,
    /// `method`.
    pub method: LbMethod,
    /// `lock`.
    pub lock: LockMode,
    /// Number of members.
    pub member_count: usize,
    /// Members rated good.
    pub good: usize,
    /// Members rated degraded.
    pub degraded: usize,
    /// Members rated bad.
    pub bad: usize,
    /// Requests in flight.
    pub busy: u64,
    /// Most requests in flight.
    pub max_busy: u64,
    /// Mount rules naming it.
    pub map_count: usize,
    /// Seconds until the next maintenance, at least.
    pub time_to_maintenance_min: u64,
    /// At most.
    pub time_to_maintenance_max: u64,
    /// Last reset, Unix seconds.
    pub last_reset_at: u64,
    /// Seconds since.
    pub last_reset_ago: u64,
    /// The members shown (all, or the one `sw` names).
    pub members: Vec<MemberView>,
    /// Its mount rules.
    pub maps: Vec<MapView>,
}

/// A plain ajp13 worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AjpView {
    /// Name.
    pub name: String,
    /// Connection settings.
    pub conf: AjpConf,
    /// `OK/IDLE`, `OK` or `ERR`.
    pub state: &'static str,
    /// Requests served or tried.
    pub used: u64,
    /// Failed requests.
    pub errors: u64,
    /// Traffic counters.
    pub traffic: Traffic,
    /// Mount rules naming it.
    pub map_count: usize,
    /// Last reset, Unix seconds.
    pub last_reset_at: u64,
    /// Seconds since.
    pub last_reset_ago: u64,
    /// Last error.
    pub error: Option<ErrorTime>,
    /// Its mount rules.
    pub maps: Vec<MapView>,
}

/// One server's mount table, as the status worker lists it (mod_jk walks the main server,
/// then every vhost, and numbers the maps of a worker across all of them).
#[derive(Debug, Clone, Copy)]
pub struct ServerMap<'a> {
    /// mod_jk's name for the server (`ServerName[:port]` for the main server,
    /// `ServerName [address:port]` for a vhost); `None`: the request's host, for a main
    /// server without `ServerName`.
    pub server: Option<&'a str>,
    /// Its mount table.
    pub mounts: &'a MountTable,
}

impl<'a> ServerMap<'a> {
    /// The main server's table, named after the request's host.
    pub fn main(mounts: &'a MountTable) -> [ServerMap<'a>; 1] {
        [ServerMap {
            server: None,
            mounts,
        }]
    }
}

/// What one status request sees of the gateway.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The mount tables in force, main server first.
    pub maps: &'a [ServerMap<'a>],
    /// Reset times.
    pub resets: &'a ResetTimes,
    /// Rating rules of the status worker.
    pub rules: Rules,
    /// The header (for the time and the map server name).
    pub header: &'a Header,
}

impl Sources<'_> {
    fn maps(&self, worker: &str) -> Vec<MapView> {
        self.maps
            .iter()
            .flat_map(|map| {
                let server = map.server.unwrap_or(&self.header.server_name);
                map.mounts.rules_for(worker).map(move |rule| (server, rule))
            })
            .enumerate()
            .map(|(i, (server, rule))| map_view(i + 1, server, rule))
            .collect()
    }

    fn ago(&self, at: u64) -> u64 {
        self.header.now.saturating_sub(at)
    }
}

fn map_view(id: usize, server: &str, rule: &Mount) -> MapView {
    let ext = &rule.extensions;
    MapView {
        id,
        server: server.to_owned(),
        uri: rule.pattern.clone(),
        kind: rule.status_type(),
        source: rule.source.status_name().to_owned(),
        reply_timeout: ext
            .reply_timeout
            .map_or(-1, |t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX)),
        sticky_ignore: ext.sticky_ignore,
        stateless: ext.stateless,
        fail_on_status: ext
            .fail_on_status
            .as_ref()
            .map(|f| f.to_list_string())
            .unwrap_or_default(),
        active: ext.active.join(","),
        disabled: ext.disabled.join(","),
        stopped: ext.stopped.join(","),
        use_server_errors: ext.use_server_errors,
    }
}

fn pool_traffic(worker: &AjpWorker) -> Traffic {
    let pool = worker.pool();
    let stats = &pool.stats;
    Traffic {
        client_errors: stats.client_errors.load(Ordering::Relaxed),
        reply_timeouts: stats.reply_timeouts.load(Ordering::Relaxed),
        transferred: stats.bytes_sent.load(Ordering::Relaxed),
        read: stats.bytes_received.load(Ordering::Relaxed),
        busy: pool.busy() as u64,
        max_busy: stats.max_busy.load(Ordering::Relaxed) as u64,
        connected: pool.connected() as u64,
        max_connected: stats.max_connected.load(Ordering::Relaxed) as u64,
    }
}

/// Builds the view of lb `name`; `only` limits the members shown to that index.
pub fn lb_view(src: &Sources<'_>, name: &str, lb: &LoadBalancer, only: Option<usize>) -> LbView {
    let status = lb.balancer().status();
    let settings = &status.settings;
    let maintain = settings.maintain_interval.as_secs();
    let since = lb.balancer().since_maintenance().as_secs();
    let ttm_min = maintain.saturating_sub(since);
    let ttm_max = ttm_min + maintain;
    let (mut good, mut degraded, mut bad) = (0, 0, 0);
    for member in &status.members {
        // A member whose application check fails takes no request: bad, whatever the rules.
        let rating = if member.health.allows_traffic() {
            src.rules.rate(member.activation, member.state)
        } else {
            Rating::Bad
        };
        match rating {
            Rating::Good => good += 1,
            Rating::Degraded => degraded += 1,
            Rating::Bad => bad += 1,
        }
    }
    let last_reset_at = src.resets.get(name);
    let members = status
        .members
        .iter()
        .enumerate()
        .filter(|(i, _)| only.is_none_or(|o| o == *i))
        .filter_map(|(i, m)| {
            let worker = lb.members().get(i)?;
            let ajp = worker.settings();
            let traffic = pool_traffic(worker);
            let (ttr_min, ttr_max) = if m.state == MemberState::Error {
                let age = m.error_age.unwrap_or_default().as_secs();
                let rest = settings.recover_time.as_secs().saturating_sub(age);
                (rest.max(ttm_min), rest + maintain)
            } else {
                (0, 0)
            };
            let reset_at = src.resets.get(&member_key(name, &m.name));
            Some(MemberView {
                name: m.name.clone(),
                index: i,
                conf: AjpConf::new(&ajp, worker),
                activation: m.activation,
                lbfactor: m.lbfactor,
                route: m.route.clone(),
                redirect: m.redirect.clone(),
                domain: m.domain.clone(),
                distance: m.distance,
                state: m.state,
                health: m.health,
                lb_mult: m.lb_mult,
                lb_value: m.lb_value,
                elected: m.elected,
                sessions: m.sessions,
                errors: m.errors,
                traffic: Traffic {
                    client_errors: m.client_errors,
                    reply_timeouts: m.reply_timeouts,
                    busy: m.busy,
                    max_busy: m.max_busy,
                    ..traffic
                },
                time_to_recover_min: ttr_min,
                time_to_recover_max: ttr_max,
                last_reset_at: reset_at,
                last_reset_ago: src.ago(reset_at),
                error: m.error_age.map(|age| ErrorTime {
                    at: src.header.now.saturating_sub(age.as_secs()),
                    ago: age.as_secs(),
                }),
            })
        })
        .collect();
    let maps = src.maps(name);
    LbView {
        name: name.to_owned(),
        sticky_session: settings.sticky_session,
        sticky_session_force: settings.sticky_session_force,
        retries: settings.retries,
        retry_interval: millis(settings.retry_interval),
        recover_time: settings.recover_time.as_secs(),
        error_escalation_time: settings.error_escalation_time.as_secs(),
        max_reply_timeouts: settings.max_reply_timeouts,
        method: settings.method,
        lock: settings.lock,
        member_count: status.members.len(),
        good,
        degraded,
        bad,
        busy: status.busy,
        max_busy: status.max_busy,
        map_count: maps.len(),
        time_to_maintenance_min: ttm_min,
        time_to_maintenance_max: ttm_max,
        last_reset_at,
        last_reset_ago: src.ago(last_reset_at),
        members,
        maps,
    }
}

/// Builds the view of plain ajp13 worker `name`.
pub fn ajp_view(src: &Sources<'_>, name: &str, worker: &AjpWorker) -> AjpView {
    let stats = &worker.pool().stats;
    let state = match stats.last_outcome.load(Ordering::Relaxed) {
        0 => MemberState::Idle.status_name(),
        1 => MemberState::Ok.status_name(),
        _ => MemberState::Error.status_name(),
    };
    let last_error = stats.last_error_at.load(Ordering::Relaxed);
    let last_reset_at = src.resets.get(name);
    let maps = src.maps(name);
    AjpView {
        name: name.to_owned(),
        conf: AjpConf::new(&worker.settings(), worker),
        state,
        used: stats.used.load(Ordering::Relaxed),
        errors: stats.errors.load(Ordering::Relaxed),
        traffic: pool_traffic(worker),
        map_count: maps.len(),
        last_reset_at,
        last_reset_ago: src.ago(last_reset_at),
        error: (last_error > 0).then(|| ErrorTime {
            at: last_error,
            ago: src.ago(last_error),
        }),
        maps,
    }
}

/// A worker as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerView {
    /// An lb worker.
    Lb(LbView),
    /// A plain ajp13 worker.
    Ajp(AjpView),
}

/// Where a session id would go now on one lb (`cmd=route`), as the balancer's dry run
/// decides it. Strings are empty when there is nothing to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteView {
    /// The lb worker.
    pub lb: String,
    /// The session id asked about, as the lb reads it (`;`-joined candidates).
    pub session_id: String,
    /// The route the session id names (after its first `.`), empty without one.
    pub session_route: String,
    /// The member a request with this session id would be sent to first; empty: none (the
    /// request would get 503 now).
    pub member: String,
    /// That member's route.
    pub route: String,
    /// The AJP route attribute sent (mod_jk sends the domain when it routed by domain).
    pub sent_route: String,
    /// The member's mod_jk state.
    pub state: String,
    /// Its activation.
    pub activation: String,
    /// Its health check verdict.
    pub health: String,
    /// Whether the request would be sticky (routed by its session, no routing cookie).
    pub sticky: bool,
    /// The kind of decision: `only_member`, `session_route`, `session_domain`,
    /// `redirect`, `domain_failover`, `balanced`, `failover_worker`, `none`.
    pub reason: String,
    /// The decision in words, with the state of the session's member when it was passed over.
    pub why: String,
}

/// The dry run of lb `name` for session id `sid` (several candidates `;`-separated, as
/// several cookies), with the members' current saturation, as `service` asks it. `mount`:
/// a request for `uri` mapped by that rule (its extensions apply, as for a real request).
pub fn route_view(
    name: &str,
    lb: &LoadBalancer,
    sid: &str,
    mount: Option<(&str, &Mount)>,
) -> RouteView {
    let balancer = lb.balancer();
    let base = mount.map_or_else(RequestFacts::default, |(_, rule)| {
        RequestFacts::for_mount(&rule.extensions)
    });
    let cookie_name = base
        .session_cookie
        .clone()
        .unwrap_or_else(|| balancer.topology().settings.session_cookie.clone());
    let facts = RequestFacts {
        method: "GET".into(),
        uri: Bytes::copy_from_slice(mount.map_or("/", |(uri, _)| uri).as_bytes()),
        cookies: vec![Bytes::from(
            sid.split(';')
                .filter(|id| !id.is_empty())
                .map(|id| format!("{cookie_name}={id}"))
                .collect::<Vec<_>>()
                .join("; "),
        )],
        ..base
    };
    let run = balancer.dry_run(&facts, lb.members().iter().map(|m| m.pool().saturated()));
    let status = balancer.status();
    let member_status = |i: usize| {
        status
            .members
            .iter()
            .find(|m| m.name == run.topology.members[i].name)
    };
    let session_id = run.session_id.clone().unwrap_or_default();
    let session_route = session_id
        .split(';')
        .next()
        .and_then(crate::balancer::route_of_session)
        .unwrap_or_default()
        .to_owned();
    let describe = |i: usize| match member_status(i) {
        Some(m) => format!(
            "{} (route {}, {} {}, health {})",
            m.name,
            m.route,
            m.activation.status_name(),
            m.state.status_name(),
            m.health.status_name()
        ),
        None => run.topology.members[i].name.clone(),
    };
    let missed = run
        .sticky_miss
        .map(|i| format!("the session's member {} cannot take it; ", describe(i)))
        .unwrap_or_default();
    let (reason, why) = match run.decision {
        Decision::None => (
            "none",
            if session_id.is_empty() {
                "no member can take a request now".to_owned()
            } else if run.topology.settings.sticky_session_force {
                format!("{missed}sticky_session_force forbids another member")
            } else {
                format!("{missed}no member can take a request now")
            },
        ),
        Decision::OnlyMember => ("only_member", "the lb has one member".to_owned()),
        Decision::SessionRoute => (
            "session_route",
            format!("the session's route {session_route} is this member's route"),
        ),
        Decision::SessionDomain => (
            "session_domain",
            format!(
                "the session's route {session_route} names no member; best member of domain {}",
                run.choice
                    .as_ref()
                    .map(|c| run.topology.members[c.index].domain.as_str())
                    .unwrap_or_default()
            ),
        ),
        Decision::Redirect { owner } => (
            "redirect",
            format!(
                "the session's member {} cannot take it; its redirect",
                describe(owner)
            ),
        ),
        Decision::DomainFailover { owner } => (
            "domain_failover",
            format!(
                "the session's member {} cannot take it; best member of its domain",
                describe(owner)
            ),
        ),
        Decision::Balanced => (
            "balanced",
            if session_id.is_empty() {
                "no session id: lowest distance, then lowest load".to_owned()
            } else if run.sticky_miss.is_some() {
                format!("{missed}lowest distance, then lowest load")
            } else {
                format!(
                    "no member has the session's route {session_route}: lowest distance, then lowest load"
                )
            },
        ),
        Decision::FailoverWorker => (
            "failover_worker",
            "no member is usable; the first member's redirect".to_owned(),
        ),
    };
    let why = if run.forced_recovery {
        format!("{why} (every member was in error: forced recovery)")
    } else {
        why
    };
    let chosen = run.choice.as_ref().and_then(|c| member_status(c.index));
    RouteView {
        lb: name.to_owned(),
        session_id,
        session_route,
        member: chosen.map(|m| m.name.clone()).unwrap_or_default(),
        route: chosen.map(|m| m.route.clone()).unwrap_or_default(),
        sent_route: run
            .choice
            .as_ref()
            .map(|c| c.route.to_string())
            .unwrap_or_default(),
        state: chosen
            .map(|m| m.state.status_name().to_owned())
            .unwrap_or_default(),
        activation: run
            .choice
            .as_ref()
            .map(|c| c.activation.status_name().to_owned())
            .unwrap_or_default(),
        health: chosen
            .map(|m| m.health.status_name().to_owned())
            .unwrap_or_default(),
        sticky: run.choice.as_ref().is_some_and(|c| c.sticky),
        reason: reason.to_owned(),
        why,
    }
}
