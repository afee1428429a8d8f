//! The application health checks of a gateway (jkgate.ini `[healthcheck NAME]`): which lb
//! member gets which check, and the one driver task that runs them.

use tokio::task::JoinHandle;

use crate::backend::dispatch::Target;
use crate::backend::health::{self, CheckTarget};
use crate::balancer::Health;
use crate::config::RunSettings;
use crate::config::health::HealthCheck;
use crate::server::Gateway;

/// Starts the checks `settings` ask for on the members of `gateway` (a member's own section
/// wins over its lb's). Every other member is marked unchecked, so that a check removed by
/// a reload no longer holds its member out. The caller aborts the previous driver first,
/// and this one on the next reload or at shutdown.
pub(super) fn start(settings: &RunSettings, gateway: &Gateway) -> Option<JoinHandle<()>> {
    let mut targets = Vec::new();
    for worker in &settings.workers.workers {
        let Some(Target::Balanced(lb)) = gateway.workers.get(&worker.name) else {
            continue;
        };
        let balancer = lb.balancer();
        for member in lb.members() {
            let name = member.name().to_string();
            match HealthCheck::for_member(&settings.health_checks, &worker.name, &name) {
                Some(check) => targets.push(CheckTarget {
                    lb: worker.name.clone(),
                    member: name,
                    balancer: balancer.clone(),
                    worker: member.clone(),
                    check: check.clone(),
                }),
                None => {
                    if let Ok(Health::Down) = balancer.set_health(&name, Health::Unchecked) {
                        tracing::info!(lb = %worker.name, member = %name,
                            "health check removed: member back in the rotation");
                    }
                }
            }
        }
    }
    if !targets.is_empty() {
        tracing::info!(members = targets.len(), "application health checks started");
    }
    health::spawn(targets)
}
