//! From the resolved workers.properties to the [`Workers`] the listener maps requests to.
//!
//! Every top-level ajp13 worker becomes a [`Target::Ajp`], every lb worker a
//! [`Target::Balanced`]: the [`Balancer`] core over one [`AjpWorker`] per member. Status
//! workers are served by the listener itself and get no entry here.

use std::sync::Arc;

use super::dispatch::{Target, Workers};
use super::lb::LoadBalancer;
use super::settings::{MemberConfig, MemberSettingsError};
use super::worker::AjpWorker;
use crate::balancer::{
    self, Balancer, BalancerConfigError, Clock, LbSettings, MemberSettings, ReplayPolicy,
    SystemClock,
};
use crate::config::{LbWorker, WorkerKind, WorkersConfig};

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

/// Builds the worker registry.
///
/// Fails on the first worker whose settings cannot run (unresolvable host, packet size
/// out of range), naming the worker and, for lb members, the member.
pub fn build_workers(
    config: &WorkersConfig,
    options: WorkerOptions,
) -> Result<Workers, RegistryError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut workers = Workers::new();
    for worker in &config.workers {
        match &worker.kind {
            WorkerKind::Ajp13(ajp) => {
                let mut member =
                    MemberConfig::from_ajp_settings(&worker.name, ajp, options.disable_reuse)?;
                member.replay = options.replay;
                workers.insert(
                    worker.name.clone(),
                    Target::Ajp(Arc::new(AjpWorker::with_settings(member, ajp.clone()))),
                );
            }
            WorkerKind::Lb(lb) => {
                let balancer = lb_balancer(&worker.name, lb, config, options, clock.clone())?;
                let mut members = Vec::with_capacity(lb.members.len());
                for member in &lb.members {
                    let mut cfg = MemberConfig::from_ajp_settings(
                        &member.name,
                        &member.ajp,
                        options.disable_reuse,
                    )?;
                    cfg.replay = options.replay;
                    members.push(Arc::new(AjpWorker::with_settings(cfg, member.ajp.clone())));
                }
                workers.insert(
                    worker.name.clone(),
                    Target::Balanced(Arc::new(LoadBalancer::new(balancer, members))),
                );
            }
            WorkerKind::Status(_) => {}
        }
    }
    Ok(workers)
}

/// The balancer core of lb worker `name` with mod_jk's settings from the file.
pub fn lb_balancer(
    name: &str,
    lb: &LbWorker,
    config: &WorkersConfig,
    options: WorkerOptions,
    clock: Arc<dyn Clock>,
) -> Result<Balancer, BalancerConfigError> {
    let file = &lb.settings;
    let settings = LbSettings {
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
        maintain_interval: config.maintain,
        replay: options.replay,
    };
    let members = lb
        .members
        .iter()
        .map(|member| MemberSettings {
            name: member.name.clone(),
            route: member.member.route.clone(),
            domain: member.member.domain.clone(),
            redirect: member.member.redirect.clone(),
            distance: i64::from(member.member.distance),
            lbfactor: u64::from(member.member.lbfactor.max(1)),
            activation: member.member.activation,
            busy_limit: u64::from(member.ajp.busy_limit),
            recovery_options: member.ajp.recovery_options,
        })
        .collect();
    balancer::Balancer::new(settings, members, clock)
}
