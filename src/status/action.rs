//! Finding the worker a command is about, and the commands that change something:
//! `update`, `reset`, `recover` (mod_jk.md §5.2–§5.4).
//!
//! lb and member settings change through the balancer's update API; the connection
//! settings of an ajp13 worker or member (`vahst`, `vaprt`, `vacpt`, …) through the
//! worker's own (`AjpWorker::update_settings`), for the next request on.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::dispatch::{Target, Workers};
use crate::backend::lb::LoadBalancer;
use crate::backend::{AjpWorker, MemberSettingsError};
use crate::balancer::{
    Activation, BalancerConfigError, LbMethod, LockMode, MemberSettings, domain_of_route,
};
use crate::config::uriworkermap::wildcard_match;
use crate::config::value::{c_atoi, parse_bool};
use crate::config::{AjpSettings, RecoveryOptions, WorkerKind, WorkersConfig};

use super::clock::{ResetTimes, member_key};
use super::query::{Command, Params};

/// Longest route, redirect or domain mod_jk stores (`JK_SHM_STR_SIZ`).
pub const MAX_STRING: usize = 63;

/// Member parameters of `update`, in the order mod_jk applies them.
pub const MEMBER_PARAMS: [&str; 6] = ["vwa", "vwf", "vwn", "vwr", "vwc", "vwd"];

/// Connection parameters of `update` (ajp13 worker or member).
pub const AJP_PARAMS: [&str; 13] = [
    "vahst", "vaprt", "vacpt", "vapng", "vact", "vapt", "vart", "var", "vari", "vacpi", "varo",
    "vabl", "vamps",
];

/// The worker a command is about.
#[derive(Debug, Clone)]
pub enum Selected<'a> {
    /// An lb worker; `members` are the indexes `sw` selects (empty without `sw`).
    Lb {
        /// Its name.
        name: &'a str,
        /// The running lb.
        lb: &'a Arc<LoadBalancer>,
        /// Whether `sw` was given.
        sub_worker: bool,
        /// Whether `sw` had wildcards.
        wildcard: bool,
        /// Member indexes `sw` matched, in order.
        members: Vec<usize>,
    },
    /// A plain ajp13 worker.
    Ajp {
        /// Its name.
        name: &'a str,
        /// The running worker (its settings included).
        worker: &'a Arc<AjpWorker>,
    },
    /// A status worker (found, but nothing to show or change).
    Status,
}

/// Why a status worker command failed. The texts are mod_jk's own (its status page shows
/// them as the result message, and scripts compare them), so they must not change.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// `w` is missing or empty.
    #[error("NULL or EMPTY worker param")]
    EmptyWorker,
    /// `sw` is given but empty.
    #[error("EMPTY sub worker param")]
    EmptySubWorker,
    /// `w` names no worker of `worker.list` that runs.
    #[error("Could not find given worker")]
    WorkerNotFound,
    /// `sw` has `*` or `?` for a command that takes one member only.
    #[error("wildcard not allowed in sub worker for this command")]
    WildcardNotAllowed,
    /// `sw` names (or matches) no member of the lb.
    #[error("could not find sub worker")]
    SubWorkerNotFound,
    /// `sw` is given for a worker that is not an lb.
    #[error("worker type has no sub workers")]
    NoSubWorkers,
    /// The worker (or member) cannot run with the new connection settings, so none of
    /// them were applied.
    #[error(
        "Update failed (at least partially) for {} '{worker}': {cause}; nothing of its \
         connection settings changed",
        if *member { "sub worker" } else { "worker" }
    )]
    Connection {
        /// The worker or member.
        worker: String,
        /// Whether it is an lb member.
        member: bool,
        /// Why it cannot run (part of the message, so not a `source` as well; boxed: the
        /// error is rare and would make every `Result` of this module large).
        cause: Box<MemberSettingsError>,
    },
    /// The balancer refused the member's new settings.
    #[error("Update failed (at least partially) for sub worker '{member}': {cause}")]
    Member {
        /// The member.
        member: String,
        /// Why (part of the message, so not a `source` as well).
        cause: BalancerConfigError,
    },
    /// A wildcard `update` stopped at the member that failed (those before it changed).
    #[error("{0} Aborting further wildcard updates.")]
    WildcardAborted(Box<ActionError>),
    /// `update` of a status worker.
    #[error("Update failed")]
    UpdateFailed,
    /// `reset` of a status worker, or the balancer refused the reset.
    #[error("Reset failed")]
    ResetFailed,
    /// `recover` of anything but one lb member, or of a member not in error.
    #[error("Marking worker for recovery failed")]
    RecoverFailed,
    /// `revert` where this jkgate keeps no runtime edits (`jkgate check`).
    #[error("Runtime edits are not kept by this jkgate")]
    EditsNotKept,
    /// `revert` of a status worker.
    #[error("Revert failed")]
    RevertFailed,
}

/// mod_jk's `check_worker`: `w` must name a worker of `worker.list`; `sw`, if given,
/// must name (or, for `update`, match with `*`/`?`) members of that lb.
pub fn select<'a>(
    cmd: Command,
    params: &Params,
    config: &'a WorkersConfig,
    workers: &'a Workers,
) -> Result<Selected<'a>, ActionError> {
    let name = params.get("w").unwrap_or_default();
    if name.is_empty() {
        return Err(ActionError::EmptyWorker);
    }
    let sub = params.get("sw");
    if sub == Some("") {
        return Err(ActionError::EmptySubWorker);
    }
    let worker = config.get(name).ok_or(ActionError::WorkerNotFound)?;
    let wildcard = sub.is_some_and(|s| s.contains(['*', '?']));
    if wildcard && !cmd.allows_wildcard() {
        return Err(ActionError::WildcardNotAllowed);
    }
    match (&worker.kind, workers.get(name)) {
        (WorkerKind::Lb(_), Some(Target::Balanced(lb))) => {
            let mut members = Vec::new();
            if let Some(sub) = sub {
                let topology = lb.balancer().topology();
                members = topology
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| {
                        if wildcard {
                            wildcard_match(sub.as_bytes(), m.name.as_bytes())
                        } else {
                            m.name == sub
                        }
                    })
                    .map(|(i, _)| i)
                    .collect();
                if !wildcard {
                    members.truncate(1);
                }
                if members.is_empty() {
                    return Err(ActionError::SubWorkerNotFound);
                }
            }
            Ok(Selected::Lb {
                name: &worker.name,
                lb,
                sub_worker: sub.is_some(),
                wildcard,
                members,
            })
        }
        _ if sub.is_some() => Err(ActionError::NoSubWorkers),
        (WorkerKind::Ajp13(_), Some(Target::Ajp(w))) => Ok(Selected::Ajp {
            name: &worker.name,
            worker: w,
        }),
        (WorkerKind::Status(_), _) => Ok(Selected::Status),
        _ => Err(ActionError::WorkerNotFound),
    }
}

fn int_in(value: &str, min: i64, max: i64) -> Option<i64> {
    let n = i64::from(c_atoi(value));
    (min..=max).contains(&n).then_some(n)
}

const INT_MAX: i64 = i32::MAX as i64;

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Applies connection parameter `param` = `value` to `conf` with mod_jk's ranges (a value
/// out of range changes nothing, as in mod_jk). Returns whether it changed.
pub fn apply_ajp_param(param: &str, value: &str, conf: &mut AjpSettings) -> bool {
    let int = |min: i64| int_in(value, min, INT_MAX);
    fn set<T: PartialEq>(field: &mut T, new: Option<T>) -> bool {
        match new {
            Some(new) if new != *field => {
                *field = new;
                true
            }
            _ => false,
        }
    }
    let secs = |n: i64| Duration::from_secs(n as u64);
    let ms = |n: i64| Duration::from_millis(n as u64);
    match param {
        "vahst" => set(
            &mut conf.host,
            (value.len() <= MAX_STRING).then(|| value.to_owned()),
        ),
        "vaprt" => set(
            &mut conf.port,
            int_in(value, 0, i64::from(u16::MAX)).map(|n| n as u16),
        ),
        "vacpt" => set(&mut conf.connection_pool_timeout, int(0).map(secs)),
        "vapng" => set(&mut conf.ping_timeout, int(0).map(ms)),
        "vact" => set(&mut conf.connect_timeout, int(0).map(ms)),
        "vapt" => set(&mut conf.prepost_timeout, int(0).map(ms)),
        "vart" => set(&mut conf.reply_timeout, int(0).map(ms)),
        "var" => set(&mut conf.retries, int(1).map(|n| n as u32)),
        "vari" => set(&mut conf.retry_interval, int(1).map(ms)),
        "vacpi" => set(&mut conf.connection_ping_interval, int(1).map(secs)),
        "varo" => set(
            &mut conf.recovery_options,
            int(0).map(|n| RecoveryOptions(n as u32)),
        ),
        "vabl" => set(&mut conf.busy_limit, int(0).map(|n| n as u32)),
        "vamps" => {
            let size = i64::from(c_atoi(value));
            let rounded = (size + 1023) / 1024 * 1024;
            set(
                &mut conf.max_packet_size,
                (8192..=65536).contains(&rounded).then_some(rounded as u32),
            )
        }
        _ => false,
    }
}

/// Applies every connection parameter of `params` to ajp13 `worker` (or member).
fn commit_ajp(worker: &AjpWorker, member: bool, params: &Params) -> Result<(), ActionError> {
    worker
        .update_settings(|conf| {
            let mut changed = false;
            for param in AJP_PARAMS {
                if let Some(value) = params.get(param) {
                    changed |= apply_ajp_param(param, value, conf);
                }
            }
            changed
        })
        .map(drop)
        .map_err(|cause| update_failed(worker.name(), member, cause))
}

fn update_failed(worker: &str, member: bool, cause: MemberSettingsError) -> ActionError {
    ActionError::Connection {
        worker: worker.to_owned(),
        member,
        cause: Box::new(cause),
    }
}

/// Applies member parameter `param` = `value` to `member` (mod_jk's ranges; a route
/// change derives the domain when the member has none). Returns whether it changed.
pub fn apply_member_param(param: &str, value: &str, member: &mut MemberSettings) -> bool {
    let fits = value.len() <= MAX_STRING;
    match param {
        "vwa" => {
            // mod_jk reads an unrecognised letter as the default, active.
            let activation = Activation::from_modjk(value).unwrap_or_default();
            let changed = activation != member.activation;
            member.activation = activation;
            changed
        }
        "vwf" => match int_in(value, 1, INT_MAX) {
            Some(n) if n as u64 != member.lbfactor => {
                member.lbfactor = n as u64;
                true
            }
            _ => false,
        },
        "vwn" if fits && value != member.route => {
            member.route = value.to_owned();
            if member.domain.is_empty() {
                member.domain = domain_of_route(value).to_owned();
            }
            true
        }
        "vwr" if fits && value != member.redirect => {
            member.redirect = value.to_owned();
            true
        }
        "vwc" if fits && value != member.domain => {
            member.domain = value.to_owned();
            true
        }
        "vwd" => match int_in(value, 0, INT_MAX) {
            Some(n) if n != member.distance => {
                member.distance = n;
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// Writes `new` as member `index`'s settings if it differs from the current ones.
fn store_member(lb: &LoadBalancer, index: usize, new: MemberSettings) -> Result<(), ActionError> {
    let balancer = lb.balancer();
    let current = balancer.topology().members[index].clone();
    if new == current {
        return Ok(());
    }
    balancer
        .update_member(&current.name, |m| *m = new)
        .map_err(|cause| ActionError::Member {
            member: current.name.clone(),
            cause,
        })
}

fn commit_member(lb: &LoadBalancer, index: usize, params: &Params) -> Result<(), ActionError> {
    let mut new = lb.balancer().topology().members[index].clone();
    for param in MEMBER_PARAMS {
        if let Some(value) = params.get(param) {
            apply_member_param(param, value, &mut new);
        }
    }
    store_member(lb, index, new)?;
    match lb.members().get(index) {
        Some(worker) => {
            commit_ajp(worker, true, params)?;
            sync_balancer_member(lb, index)
        }
        None => Ok(()),
    }
}

/// The balancer keeps its own copy of a member's `busy_limit` and `recovery_options`
/// (it decides with them): after a connection update it takes the worker's values.
fn sync_balancer_member(lb: &LoadBalancer, index: usize) -> Result<(), ActionError> {
    let Some(worker) = lb.members().get(index) else {
        return Ok(());
    };
    let conf = worker.settings();
    let mut new = lb.balancer().topology().members[index].clone();
    new.busy_limit = u64::from(conf.busy_limit);
    new.recovery_options = conf.recovery_options;
    store_member(lb, index, new)
}

fn commit_lb(lb: &LoadBalancer, params: &Params) -> Result<(), ActionError> {
    let current = lb.balancer().topology().settings.clone();
    let mut new = current.clone();
    let positive = |key: &str, current: i64| {
        let n = params.int(key, current);
        (n > 0 && n != current).then_some(n)
    };
    if let Some(n) = positive("vlr", i64::from(current.retries)) {
        new.retries = n as u32;
    }
    if let Some(n) = positive("vlri", millis(current.retry_interval)) {
        new.retry_interval = Duration::from_millis(n as u64);
    }
    if let Some(n) = positive("vlt", current.recover_time.as_secs() as i64) {
        new.recover_time = Duration::from_secs(n as u64);
    }
    if let Some(n) = positive("vlee", current.error_escalation_time.as_secs() as i64) {
        new.error_escalation_time = Duration::from_secs(n as u64);
    }
    let timeouts = params.int("vlx", current.max_reply_timeouts as i64);
    if timeouts >= 0 {
        new.max_reply_timeouts = timeouts as u64;
    }
    if let Some(v) = params.get("vls").and_then(parse_bool) {
        new.sticky_session = v;
    }
    if let Some(v) = params.get("vlf").and_then(parse_bool) {
        new.sticky_session_force = v;
    }
    // An unrecognised method or lock is mod_jk's default (Request, Optimistic).
    if let Some(method) = params.get("vlm") {
        new.method = LbMethod::from_modjk(method).unwrap_or_default();
    }
    if let Some(lock) = params.get("vll") {
        new.lock = LockMode::from_modjk(lock).unwrap_or_default();
    }
    if new != current {
        lb.balancer().update_settings(|s| *s = new);
    }
    Ok(())
}

fn commit_all_members(
    lb: &LoadBalancer,
    attribute: &str,
    params: &Params,
) -> Result<(), ActionError> {
    let is_member = MEMBER_PARAMS.contains(&attribute);
    // mod_jk offers neither host nor port for all members at once.
    let is_ajp = AJP_PARAMS.contains(&attribute) && !matches!(attribute, "vahst" | "vaprt");
    if !is_member && !is_ajp {
        // mod_jk ignores an unknown attribute (and reports success).
        return Ok(());
    }
    let members = lb.balancer().topology().members.clone();
    for (index, member) in members.into_iter().enumerate() {
        let Some(value) = params.get(&format!("val{index}")) else {
            continue;
        };
        if is_member {
            let mut new = member;
            if apply_member_param(attribute, value, &mut new) {
                store_member(lb, index, new)?;
            }
        } else if let Some(worker) = lb.members().get(index) {
            worker
                .update_settings(|conf| apply_ajp_param(attribute, value, conf))
                .map_err(|cause| update_failed(&member.name, true, cause))?;
            sync_balancer_member(lb, index)?;
        }
    }
    Ok(())
}

/// `cmd=update`.
pub fn update(selected: &Selected<'_>, params: &Params) -> Result<(), ActionError> {
    match selected {
        Selected::Lb {
            lb,
            sub_worker: true,
            wildcard,
            members,
            ..
        } => {
            for &index in members {
                if let Err(error) = commit_member(lb, index, params) {
                    return Err(if *wildcard {
                        ActionError::WildcardAborted(Box::new(error))
                    } else {
                        error
                    });
                }
            }
            Ok(())
        }
        Selected::Lb { lb, .. } => match params.get("att") {
            Some(attribute) => commit_all_members(lb, attribute, params),
            None => commit_lb(lb, params),
        },
        Selected::Ajp { worker, .. } => commit_ajp(worker, false, params),
        Selected::Status => Err(ActionError::UpdateFailed),
    }
}

/// `cmd=reset` at `now` (Unix seconds).
pub fn reset(selected: &Selected<'_>, resets: &ResetTimes, now: u64) -> Result<(), ActionError> {
    match selected {
        Selected::Lb {
            name,
            lb,
            sub_worker,
            members,
            ..
        } => {
            let topology = lb.balancer().topology();
            let indexes: Vec<usize> = if *sub_worker {
                members.clone()
            } else {
                (0..topology.members.len()).collect()
            };
            if *sub_worker {
                for &index in &indexes {
                    lb.balancer()
                        .reset(Some(&topology.members[index].name))
                        .map_err(|_| ActionError::ResetFailed)?;
                }
            } else {
                lb.balancer()
                    .reset(None)
                    .map_err(|_| ActionError::ResetFailed)?;
                resets.set((*name).to_owned(), now);
            }
            for index in indexes {
                let member = &topology.members[index].name;
                if let Some(worker) = lb.members().get(index) {
                    worker.pool().stats.reset(false);
                }
                resets.set(member_key(name, member), now);
            }
            Ok(())
        }
        Selected::Ajp { name, worker, .. } => {
            worker.pool().stats.reset(true);
            resets.set((*name).to_owned(), now);
            Ok(())
        }
        Selected::Status => Err(ActionError::ResetFailed),
    }
}

/// `cmd=recover`: an lb member in `ERR` becomes `ERR/REC`.
pub fn recover(selected: &Selected<'_>) -> Result<(), ActionError> {
    match selected {
        Selected::Lb {
            lb,
            sub_worker: true,
            members,
            ..
        } => {
            let index = *members.first().ok_or(ActionError::RecoverFailed)?;
            let name = lb.balancer().topology().members[index].name.clone();
            match lb.balancer().recover_member(&name) {
                Ok(true) => Ok(()),
                _ => Err(ActionError::RecoverFailed),
            }
        }
        _ => Err(ActionError::RecoverFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_params_follow_mod_jk_ranges() {
        let mut m = MemberSettings::new("node1");
        assert!(!apply_member_param("vwf", "0", &mut m));
        assert!(!apply_member_param("vwf", "x", &mut m));
        assert!(apply_member_param("vwf", "3", &mut m));
        assert_eq!(m.lbfactor, 3);
        assert!(!apply_member_param("vwd", "-1", &mut m));
        assert!(apply_member_param("vwd", "7", &mut m));
        assert!(apply_member_param("vwa", "S", &mut m));
        assert_eq!(m.activation, Activation::Stopped);
        assert!(apply_member_param("vwa", "1", &mut m));
        assert_eq!(m.activation, Activation::Disabled);
        assert!(apply_member_param("vwa", "x", &mut m));
        assert_eq!(m.activation, Activation::Active);
        assert!(apply_member_param("vwa", "D", &mut m));
        assert!(apply_member_param("vwn", "n1.east", &mut m));
        assert_eq!((m.route.as_str(), m.domain.as_str()), ("n1.east", "n1"));
        assert!(!apply_member_param("vwr", &"r".repeat(64), &mut m));
        assert!(apply_member_param("vwr", &"r".repeat(63), &mut m));
    }

    #[test]
    fn ajp_params_apply_mod_jk_ranges_and_report_real_changes_only() {
        let mut conf = AjpSettings::default();
        assert!(!apply_ajp_param("vart", "0", &mut conf));
        assert!(!apply_ajp_param("vart", "-5", &mut conf));
        assert!(apply_ajp_param("vart", "5", &mut conf));
        assert_eq!(conf.reply_timeout, Duration::from_millis(5));
        assert!(!apply_ajp_param("vart", "5", &mut conf));
        assert!(!apply_ajp_param("var", "0", &mut conf));
        assert!(apply_ajp_param("var", "4", &mut conf));
        assert_eq!(conf.retries, 4);
        assert!(!apply_ajp_param("vamps", "8000", &mut conf));
        assert!(apply_ajp_param("vamps", "9000", &mut conf));
        assert_eq!(conf.max_packet_size, 9216);
        assert!(!apply_ajp_param("vamps", "70000", &mut conf));
        assert!(!apply_ajp_param("vahst", "localhost", &mut conf));
        assert!(!apply_ajp_param("vahst", &"h".repeat(64), &mut conf));
        assert!(apply_ajp_param("vahst", "example.test", &mut conf));
        assert!(!apply_ajp_param("vaprt", "70000", &mut conf));
        assert!(apply_ajp_param("vaprt", "8109", &mut conf));
        assert_eq!((conf.host.as_str(), conf.port), ("example.test", 8109));
        assert!(apply_ajp_param("vacpt", "60", &mut conf));
        assert_eq!(conf.connection_pool_timeout, Duration::from_secs(60));
        assert!(apply_ajp_param("varo", "3", &mut conf));
        assert_eq!(conf.recovery_options.0, 3);
        assert!(!apply_ajp_param("vbogus", "1", &mut conf));
    }
}
