//! From the resolved workers.properties to the [`Workers`] the listener maps requests to.
//!
//! Every top-level ajp13 worker becomes a [`Target::Ajp`], every lb worker a
//! [`Target::Balanced`]: the [`Balancer`] core over one [`AjpWorker`] per member. Status
//! workers are served by the listener itself and get no entry here.
//!
//! On a reload the previous registry is handed in: a worker or member whose connection
//! settings did not change is kept as it runs (pool, pooled connections, counters), an lb
//! keeps its balancer (member states and numbers follow the members by name). Building
//! changes nothing that is running; [`PreparedWorkers::commit`] does, once every other part
//! of the reload has been built too.

use std::collections::HashMap;
use std::sync::Arc;

use super::dispatch::{Target, Workers};
use super::lb::LoadBalancer;
use super::settings::MemberSettingsError;
use super::worker::AjpWorker;
use crate::balancer::{
    Balancer, BalancerConfigError, Clock, LbSettings, MemberSettings, ReplayPolicy, SystemClock,
};
use crate::config::{AjpSettings, LbWorker, WorkerKind, WorkersConfig};

/// Options from jkgate's own settings that every worker shares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerOptions {
    /// `JkOptions DisableReuse`: close every backend connection after its request.
    pub disable_reuse: bool,
    /// What may be replayed after a failure.
    pub replay: ReplayPolicy,
}

/// Why the worker registry could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A member's connection settings cannot run.
    #[error(transparent)]
    Member(#[from] MemberSettingsError),
    /// An lb's members contradict each other.
    #[error(transparent)]
    Balancer(#[from] BalancerConfigError),
}

/// A registry built and checked, not yet in effect: kept lbs take their new settings only
/// at [`PreparedWorkers::commit`].
#[derive(Debug)]
pub struct PreparedWorkers {
    workers: Workers,
    reconfigure: Vec<(Balancer, LbSettings, Vec<MemberSettings>)>,
}

impl PreparedWorkers {
    /// Puts the new settings into the kept lbs and returns the registry to serve with.
    pub fn commit(self) -> Workers {
        for (balancer, settings, members) in self.reconfigure {
            let name = settings.name.clone();
            // Checked by `prepare_workers` with the same values; nothing else changes them.
            if let Err(e) = balancer.reconfigure(settings, members) {
                tracing::error!(lb = %name, "lb kept its previous members: {e}");
            }
        }
        self.workers
    }
}

/// The ajp13 workers of a registry by (lb, member) name; "" for top-level workers.
type Running = HashMap<(String, String), Arc<AjpWorker>>;

fn running_workers(previous: Option<&Workers>) -> Running {
    let mut running = Running::new();
    let Some(previous) = previous else {
        return running;
    };
    for (name, target) in previous.iter() {
        match target {
            Target::Ajp(worker) => {
                running.insert((String::new(), name.to_owned()), worker.clone());
            }
            Target::Balanced(lb) => {
                for member in lb.members() {
                    running.insert((name.to_owned(), member.name().to_string()), member.clone());
                }
            }
        }
    }
    running
}

/// The worker `name` (of lb `lb`, "" for a top-level one): the running one when it runs
/// these settings, else a new one.
fn worker(
    running: &Running,
    lb: &str,
    name: &str,
    ajp: &AjpSettings,
    options: WorkerOptions,
) -> Result<Arc<AjpWorker>, MemberSettingsError> {
    if let Some(worker) = running.get(&(lb.to_owned(), name.to_owned()))
        && worker.runs(ajp, options.disable_reuse, options.replay)
    {
        return Ok(worker.clone());
    }
    AjpWorker::new(name, ajp, options.disable_reuse, options.replay)
        .map(Arc::new)
        .map_err(|e| if lb.is_empty() { e } else { e.in_lb(lb) })
}

/// Builds the worker registry for `config`, keeping what runs unchanged in `previous`.
///
/// Fails on the first worker whose settings cannot run (unresolvable host, packet size
/// out of range, an lb whose members contradict each other), naming the worker and, for
/// lb members, the member.
pub fn prepare_workers(
    config: &WorkersConfig,
    options: WorkerOptions,
    previous: Option<&Workers>,
) -> Result<PreparedWorkers, RegistryError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = running_workers(previous);
    let mut workers = Workers::new();
    let mut reconfigure = Vec::new();
    for entry in &config.workers {
        match &entry.kind {
            WorkerKind::Ajp13(ajp) => {
                let worker = worker(&running, "", &entry.name, ajp, options)?;
                workers.insert(entry.name.clone(), Target::Ajp(worker));
            }
            WorkerKind::Lb(lb) => {
                let (settings, member_settings) = lb_settings(&entry.name, lb, config, options);
                let members = lb
                    .members
                    .iter()
                    .map(|m| worker(&running, &entry.name, &m.name, &m.ajp, options))
                    .collect::<Result<Vec<_>, _>>()?;
                let kept = previous.and_then(|p| match p.get(&entry.name) {
                    Some(Target::Balanced(lb)) => Some(lb.clone()),
                    _ => None,
                });
                let lb = match kept {
                    Some(kept) => {
                        Balancer::validate(&settings, &member_settings)?;
                        reconfigure.push((kept.balancer().clone(), settings, member_settings));
                        kept.with_members(members)
                    }
                    None => LoadBalancer::new(
                        Balancer::new(settings, member_settings, clock.clone())?,
                        members,
                    ),
                };
                workers.insert(entry.name.clone(), Target::Balanced(Arc::new(lb)));
            }
            WorkerKind::Status(_) => {}
        }
    }
    Ok(PreparedWorkers {
        workers,
        reconfigure,
    })
}

/// Builds the worker registry for `config` from scratch and puts it in effect.
pub fn build_workers(
    config: &WorkersConfig,
    options: WorkerOptions,
) -> Result<Workers, RegistryError> {
    Ok(prepare_workers(config, options, None)?.commit())
}

/// The balancer's settings of lb worker `name` and of its members, as the file gives them.
fn lb_settings(
    name: &str,
    lb: &LbWorker,
    config: &WorkersConfig,
    options: WorkerOptions,
) -> (LbSettings, Vec<MemberSettings>) {
    let settings = LbSettings::from_config(name, &lb.settings, config.maintain, options.replay);
    let members = lb.members.iter().map(MemberSettings::from_config).collect();
    (settings, members)
}
