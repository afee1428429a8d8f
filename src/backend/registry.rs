//! From the resolved workers.properties to the [`Workers`] the listener maps requests to.
//!
//! Every top-level ajp13 worker becomes a [`Target::Ajp`], every lb worker a
//! [`Target::Balanced`] over one [`AjpWorker`] per member. Status workers are served by the
//! listener itself and get no entry here.

use std::sync::Arc;

use super::dispatch::{InOrderFailover, Target, Workers};
use super::settings::{MemberConfig, MemberSettingsError};
use super::worker::AjpWorker;
use crate::config::{WorkerKind, WorkersConfig};

/// Builds the worker registry. `disable_reuse` is `JkOptions DisableReuse`.
///
/// Fails on the first worker whose settings cannot run (unresolvable host, packet size
/// out of range), naming the worker and, for lb members, the member.
pub fn build_workers(
    config: &WorkersConfig,
    disable_reuse: bool,
) -> Result<Workers, MemberSettingsError> {
    let mut workers = Workers::new();
    for worker in &config.workers {
        match &worker.kind {
            WorkerKind::Ajp13(ajp) => {
                let member = MemberConfig::from_ajp_settings(&worker.name, ajp, disable_reuse)?;
                workers.insert(
                    worker.name.clone(),
                    Target::Ajp(Arc::new(AjpWorker::new(member))),
                );
            }
            WorkerKind::Lb(lb) => {
                let mut members = Vec::with_capacity(lb.members.len());
                for member in &lb.members {
                    let cfg =
                        MemberConfig::from_ajp_settings(&member.name, &member.ajp, disable_reuse)?;
                    members.push((
                        Arc::new(AjpWorker::new(cfg)),
                        Arc::<str>::from(member.member.route.as_str()),
                    ));
                }
                workers.insert(
                    worker.name.clone(),
                    Target::Balanced(Arc::new(InOrderFailover::new(worker.name.clone(), members))),
                );
            }
            WorkerKind::Status(_) => {}
        }
    }
    Ok(workers)
}
