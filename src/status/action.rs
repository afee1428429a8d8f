//! Finding the worker a command is about, and the commands that change something:
//! `update`, `reset`, `recover` (mod_jk.md §5.2–§5.4).
//!
//! lb and member settings change through the balancer's update API. The connection
//! settings of an ajp13 worker or member (`vahst`, `vaprt`, `vacpt`, …) live in the
//! worker's immutable configuration: jkgate refuses to pretend and reports them as not
//! changeable at run time in the result message (the other parameters of the same request
//! are still applied).

use std::sync::Arc;
use std::time::Duration;

use crate::backend::AjpWorker;
use crate::backend::dispatch::{Target, Workers};
use crate::backend::lb::LoadBalancer;
use crate::balancer::{Activation, LbMethod, LockMode, MemberSettings, domain_of_route};
use crate::config::uriworkermap::wildcard_match;
use crate::config::value::{c_atoi, parse_bool};
use crate::config::{AjpSettings, LbWorker, WorkerKind, WorkersConfig};

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
        /// Its configuration.
        config: &'a LbWorker,
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
        /// Its configuration.
        config: &'a AjpSettings,
        /// The running worker.
        worker: &'a Arc<AjpWorker>,
    },
    /// A status worker (found, but nothing to show or change).
    Status,
}

/// mod_jk's `check_worker`: `w` must name a worker of `worker.list`; `sw`, if given,
/// must name (or, for `update`, match with `*`/`?`) members of that lb.
pub fn select<'a>(
    cmd: Command,
    params: &Params,
    config: &'a WorkersConfig,
    workers: &'a Workers,
) -> Result<Selected<'a>, String> {
    let name = params.get("w").unwrap_or_default();
    if name.is_empty() {
        return Err("NULL or EMPTY worker param".to_owned());
    }
    let sub = params.get("sw");
    if sub == Some("") {
        return Err("EMPTY sub worker param".to_owned());
    }
    let not_found = || "Could not find given worker".to_owned();
    let worker = config.get(name).ok_or_else(not_found)?;
    let wildcard = sub.is_some_and(|s| s.contains(['*', '?']));
    if wildcard && !cmd.allows_wildcard() {
        return Err("wildcard not allowed in sub worker for this command".to_owned());
    }
    match (&worker.kind, workers.get(name)) {
        (WorkerKind::Lb(lb_config), Some(Target::Balanced(lb))) => {
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
                    return Err("could not find sub worker".to_owned());
                }
            }
            Ok(Selected::Lb {
                name: &worker.name,
                config: lb_config,
                lb,
                sub_worker: sub.is_some(),
                wildcard,
                members,
            })
        }
        _ if sub.is_some() => Err("worker type has no sub workers".to_owned()),
        (WorkerKind::Ajp13(ajp), Some(Target::Ajp(w))) => Ok(Selected::Ajp {
            name: &worker.name,
            config: ajp,
            worker: w,
        }),
        (WorkerKind::Status(_), _) => Ok(Selected::Status),
        _ => Err(not_found()),
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

/// Whether connection parameter `param` with `value` would change `conf` (a value out of
/// mod_jk's range changes nothing and is ignored, as in mod_jk).
pub fn ajp_setting_changes(param: &str, value: &str, conf: &AjpSettings) -> bool {
    let differs =
        |min: i64, current: i64| int_in(value, min, INT_MAX).is_some_and(|n| n != current);
    match param {
        "vahst" => value.len() <= MAX_STRING && value != conf.host,
        "vaprt" => differs(0, i64::from(conf.port)),
        "vacpt" => differs(0, conf.connection_pool_timeout.as_secs() as i64),
        "vapng" => differs(0, millis(conf.ping_timeout)),
        "vact" => differs(0, millis(conf.connect_timeout)),
        "vapt" => differs(0, millis(conf.prepost_timeout)),
        "vart" => differs(0, millis(conf.reply_timeout)),
        "var" => differs(1, i64::from(conf.retries)),
        "vari" => differs(1, millis(conf.retry_interval)),
        "vacpi" => differs(1, conf.connection_ping_interval.as_secs() as i64),
        "varo" => differs(0, i64::from(conf.recovery_options.0)),
        "vabl" => differs(0, i64::from(conf.busy_limit)),
        "vamps" => {
            let size = i64::from(c_atoi(value));
            let rounded = (size + 1023) / 1024 * 1024;
            (8192..=65536).contains(&rounded) && rounded != i64::from(conf.max_packet_size)
        }
        _ => false,
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

fn unsupported(worker: &str, member: bool, params: &[&str]) -> String {
    format!(
        "Update failed (at least partially): jkgate cannot change connection settings ({}) \
         of {} '{worker}' at run time; change workers.properties and restart",
        params.join(", "),
        if member { "sub worker" } else { "worker" }
    )
}

fn ajp_changes<'p>(params: &Params, conf: &AjpSettings) -> Vec<&'p str> {
    AJP_PARAMS
        .iter()
        .copied()
        .filter(|p| {
            params
                .get(p)
                .is_some_and(|v| ajp_setting_changes(p, v, conf))
        })
        .collect()
}

/// Writes `new` as member `index`'s settings if it differs from the current ones.
fn store_member(lb: &LoadBalancer, index: usize, new: MemberSettings) -> Result<(), String> {
    let balancer = lb.balancer();
    let current = balancer.topology().members[index].clone();
    if new == current {
        return Ok(());
    }
    balancer
        .update_member(&current.name, |m| *m = new)
        .map_err(|e| {
            format!(
                "Update failed (at least partially) for sub worker '{}': {e}",
                current.name
            )
        })
}

fn commit_member(
    lb: &LoadBalancer,
    config: &LbWorker,
    index: usize,
    params: &Params,
) -> Result<(), String> {
    let mut new = lb.balancer().topology().members[index].clone();
    for param in MEMBER_PARAMS {
        if let Some(value) = params.get(param) {
            apply_member_param(param, value, &mut new);
        }
    }
    let name = new.name.clone();
    store_member(lb, index, new)?;
    let conf = config
        .members
        .get(index)
        .map(|m| m.ajp.clone())
        .unwrap_or_default();
    let refused = ajp_changes(params, &conf);
    if refused.is_empty() {
        Ok(())
    } else {
        Err(unsupported(&name, true, &refused))
    }
}

fn commit_lb(lb: &LoadBalancer, params: &Params) -> Result<(), String> {
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
    config: &LbWorker,
    attribute: &str,
    params: &Params,
) -> Result<(), String> {
    let is_member = MEMBER_PARAMS.contains(&attribute);
    let is_ajp = AJP_PARAMS.contains(&attribute) && !matches!(attribute, "vahst" | "vaprt");
    if !is_member && !is_ajp {
        // mod_jk ignores an unknown attribute (and reports success).
        return Ok(());
    }
    let members = lb.balancer().topology().members.clone();
    let mut refused = Vec::new();
    for (index, member) in members.into_iter().enumerate() {
        let Some(value) = params.get(&format!("val{index}")) else {
            continue;
        };
        if is_member {
            let mut new = member;
            if apply_member_param(attribute, value, &mut new) {
                store_member(lb, index, new)?;
            }
        } else {
            let conf = config
                .members
                .get(index)
                .map(|m| m.ajp.clone())
                .unwrap_or_default();
            if ajp_setting_changes(attribute, value, &conf) {
                refused.push(member.name);
            }
        }
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(unsupported(&refused.join(", "), true, &[attribute]))
    }
}

/// `cmd=update`.
pub fn update(selected: &Selected<'_>, params: &Params) -> Result<(), String> {
    match selected {
        Selected::Lb {
            config,
            lb,
            sub_worker: true,
            wildcard,
            members,
            ..
        } => {
            for &index in members {
                if let Err(mut message) = commit_member(lb, config, index, params) {
                    if *wildcard {
                        message.push_str(" Aborting further wildcard updates.");
                    }
                    return Err(message);
                }
            }
            Ok(())
        }
        Selected::Lb { config, lb, .. } => match params.get("att") {
            Some(attribute) => commit_all_members(lb, config, attribute, params),
            None => commit_lb(lb, params),
        },
        Selected::Ajp { name, config, .. } => {
            let refused = ajp_changes(params, config);
            if refused.is_empty() {
                Ok(())
            } else {
                Err(unsupported(name, false, &refused))
            }
        }
        Selected::Status => Err("Update failed".to_owned()),
    }
}

/// `cmd=reset` at `now` (Unix seconds).
pub fn reset(selected: &Selected<'_>, resets: &ResetTimes, now: u64) -> Result<(), String> {
    let failed = || "Reset failed".to_owned();
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
                        .map_err(|_| failed())?;
                }
            } else {
                lb.balancer().reset(None).map_err(|_| failed())?;
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
        Selected::Status => Err(failed()),
    }
}

/// `cmd=recover`: an lb member in `ERR` becomes `ERR/REC`.
pub fn recover(selected: &Selected<'_>) -> Result<(), String> {
    let failed = || "Marking worker for recovery failed".to_owned();
    match selected {
        Selected::Lb {
            lb,
            sub_worker: true,
            members,
            ..
        } => {
            let index = *members.first().ok_or_else(failed)?;
            let name = lb.balancer().topology().members[index].name.clone();
            match lb.balancer().recover_member(&name) {
                Ok(true) => Ok(()),
                _ => Err(failed()),
            }
        }
        _ => Err(failed()),
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
    fn ajp_params_detect_real_changes_only() {
        let conf = AjpSettings::default();
        assert!(!ajp_setting_changes("vart", "0", &conf));
        assert!(!ajp_setting_changes("vart", "-5", &conf));
        assert!(ajp_setting_changes("vart", "5", &conf));
        assert!(!ajp_setting_changes("var", "0", &conf));
        assert!(!ajp_setting_changes("vamps", "8000", &conf));
        assert!(ajp_setting_changes("vamps", "9000", &conf));
        assert!(!ajp_setting_changes("vamps", "70000", &conf));
        assert!(!ajp_setting_changes("vahst", "localhost", &conf));
        assert!(ajp_setting_changes("vahst", "example.test", &conf));
        assert!(!ajp_setting_changes("vbogus", "1", &conf));
    }
}
