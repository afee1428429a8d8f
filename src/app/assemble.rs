//! Settings into runtime state, once per configuration generation.

use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;

use crate::backend::registry::{PreparedWorkers, RegistryError, WorkerOptions, prepare_workers};
use crate::backend::settings::MemberSettingsError;
use crate::config::error::At;
use crate::config::state::{EditKey, Edits, StaleEdit, StaleReason, apply_edits};
use crate::config::vhost::VirtualHosts;
use crate::config::{Origin, RunSettings};
use crate::server::limits::{ConnectionCap, http_builder};
use crate::server::mapping::MappingOptions;
use crate::server::remoteip::RemoteIp;
use crate::server::tls::{TlsError, TlsSetup, VhostCertificate};
use crate::server::{Gateway, MetricsRoute, VhostMounts};
use crate::status::edits::EditBook;
use crate::status::{Generation, StatusWorkers};

/// Why settings could not become a running configuration. Nothing was changed; the same
/// settings fail the same way until a file is fixed or a member resolves.
#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    /// A worker's settings cannot run (host does not resolve, lb members contradict).
    /// `origin` is the workers.properties line of the key to change, when there is one.
    #[error("{at}{source}", at = At(origin))]
    Workers {
        /// Where the offending key was written.
        origin: Option<Origin>,
        /// What cannot run (boxed: the error travels through every start and reload).
        #[source]
        source: Box<RegistryError>,
    },
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
}

/// A gateway built and checked, not yet serving: [`PreparedGateway::commit`] puts the lbs
/// kept from the previous gateway on their new settings and returns the gateway.
pub struct PreparedGateway {
    workers: PreparedWorkers,
    settings: Arc<RunSettings>,
    generation: Generation,
    status: StatusWorkers,
    tls: Option<TlsSetup>,
    connections: Arc<ConnectionCap>,
    edits: Option<Arc<EditBook>>,
    stale: Vec<StaleEdit>,
}

impl std::fmt::Debug for PreparedGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedGateway")
            .field("generation", &self.generation.number)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl PreparedGateway {
    /// The gateway to serve with. The connection cap is the previous gateway's, resized
    /// now (connections open under it stay counted).
    pub fn commit(self) -> Gateway {
        let settings = &self.settings;
        self.connections.resize(settings.limits.max_connections);
        if let Some(book) = &self.edits {
            book.set_base(&settings.workers);
        }
        Gateway {
            mounts: ArcSwap::from_pointee(settings.mounts.clone()),
            server_name: settings.server_name.clone(),
            hosts: virtual_hosts(settings),
            vhosts: settings
                .vhosts
                .iter()
                .map(|v| VhostMounts {
                    server_name: crate::config::vhost::split_server_name(
                        &v.matcher.server_name_written,
                    )
                    .0
                    .to_owned(),
                    status_name: v.matcher.status_text(),
                    mounts: ArcSwap::from_pointee(v.mounts.clone()),
                })
                .collect(),
            workers: self.workers.commit(),
            options: mapping_options(settings),
            status: self.status,
            access_format: settings.request_log_format.clone(),
            shutdown_grace: settings.shutdown_grace,
            tls: self.tls,
            limits: Arc::new(settings.limits.clone()),
            http: Arc::new(http_builder(&settings.limits)),
            connections: self.connections,
            metrics: settings.metrics.as_ref().map(|m| MetricsRoute {
                path: m.path.clone(),
                on_every_listener: m.listen.is_none(),
            }),
            remote_ip: RemoteIp::new(&settings.remote_ip),
            proxy_protocol: settings.remote_ip.proxy_protocol.clone(),
            access: settings.access.clone(),
        }
    }

    /// The generation it reports on.
    pub fn generation(&self) -> &Generation {
        &self.generation
    }

    /// The runtime edits that no longer fit workers.properties and were not applied.
    pub fn stale_edits(&self) -> &[StaleEdit] {
        &self.stale
    }
}

/// Builds everything `settings` ask for. `previous` is the gateway serving now (on a
/// reload): its members and lbs are kept where their settings did not change.
pub fn assemble(
    settings: &RunSettings,
    generation: Generation,
    previous: Option<&Gateway>,
) -> Result<PreparedGateway, AssembleError> {
    assemble_with_edits(settings, generation, previous, None)
}

/// [`assemble`] with the runtime edits of `edits` laid over workers.properties (an edit
/// wins over the file until it is reverted). Edits that no longer fit are left out and
/// listed by [`PreparedGateway::stale_edits`]; the status workers record new edits there.
pub fn assemble_with_edits(
    settings: &RunSettings,
    generation: Generation,
    previous: Option<&Gateway>,
    edits: Option<&Arc<EditBook>>,
) -> Result<PreparedGateway, AssembleError> {
    let mut pending = edits.map(|book| book.edits()).unwrap_or_default();
    let mut unusable = Vec::new();
    let options = WorkerOptions {
        disable_reuse: settings.options.disable_reuse,
        replay: settings.replay,
    };
    // An edited host that no longer resolves (or an edited packet size) must not keep
    // jkgate from starting: that edit is left out as stale and the workers built again.
    let (workers_config, mut stale, workers) = loop {
        let (config, stale) = apply_edits(&settings.workers, &pending);
        let source = match prepare_workers(&config, options, previous.map(|g| &g.workers)) {
            Ok(workers) => break (config, stale, workers),
            Err(RegistryError::Member(e)) => {
                match take_edits_behind(e, &mut pending, &mut unusable) {
                    Ok(()) => continue,
                    Err(e) => RegistryError::Member(e),
                }
            }
            Err(source) => source,
        };
        return Err(AssembleError::Workers {
            origin: registry_error_origin(settings, &source),
            source: Box::new(source),
        });
    };
    stale.append(&mut unusable);
    let vhost_certificates: Vec<Option<VhostCertificate<'_>>> = settings
        .vhosts
        .iter()
        .map(|v| {
            v.tls.as_ref().map(|t| VhostCertificate {
                section: format!("vhost {}", v.label),
                cert: &t.certificate,
                key: &t.key,
            })
        })
        .collect();
    let tls = if settings.listeners.iter().any(|l| l.tls) {
        Some(TlsSetup::build(
            settings
                .tls
                .as_ref()
                .map(|t| (t.certificate.as_path(), t.key.as_path())),
            settings.tls.as_ref().and_then(|t| t.client_ca.as_deref()),
            &vhost_certificates,
            virtual_hosts(settings),
        )?)
    } else {
        None
    };
    let status = StatusWorkers::new(
        &workers_config,
        &settings.worker_properties,
        &settings.status_users,
        generation.clone(),
        previous.map(|g| &g.status),
        edits.cloned(),
    );
    // One cap for the process: a reload keeps the count of open connections.
    let connections = match previous {
        Some(previous) => previous.connections.clone(),
        None => ConnectionCap::new(settings.limits.max_connections),
    };
    Ok(PreparedGateway {
        connections,
        workers,
        settings: Arc::new(settings.clone()),
        generation,
        status,
        tls,
        edits: edits.cloned(),
        stale,
    })
}

/// Moves the edits that made member `error` unable to run (its edited `host` or `port`, or
/// `max_packet_size`) from `pending` to `stale`; `Err(error)` back when no edit is behind it.
fn take_edits_behind(
    error: MemberSettingsError,
    pending: &mut Edits,
    stale: &mut Vec<StaleEdit>,
) -> Result<(), MemberSettingsError> {
    let (worker, member) = match error.lb() {
        Some(lb) => (lb, Some(error.worker())),
        None => (error.worker(), None),
    };
    let directive = error.directive();
    let keys: Vec<EditKey> = pending
        .keys()
        .filter(|k| {
            k.worker == worker
                && k.member.as_deref() == member
                && (k.setting == directive || (directive == "host" && k.setting == "port"))
        })
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(error);
    }
    let reason = StaleReason::Unrunnable(Arc::new(error));
    for key in &keys {
        if let Some(value) = pending.remove(key) {
            stale.push(StaleEdit {
                key: key.clone(),
                value: value.value,
                reason: reason.clone(),
            });
        }
    }
    Ok(())
}

/// The workers.properties line to fix for `error`: the member's offending key, else the
/// first line that configures the worker (a default `host` has no line of its own).
fn registry_error_origin(settings: &RunSettings, error: &RegistryError) -> Option<Origin> {
    let RegistryError::Member(member) = error else {
        return None;
    };
    let worker = member.worker();
    let properties = &settings.worker_properties;
    properties
        .get(&format!("worker.{worker}.{}", member.directive()))
        .or_else(|| {
            let prefix = format!("worker.{worker}.");
            properties.iter().find(|p| p.key.starts_with(&prefix))
        })
        .map(|p| p.origin.clone())
}

/// Which vhost answers a request, from the vhosts' names and addresses.
fn virtual_hosts(settings: &RunSettings) -> VirtualHosts {
    VirtualHosts::new(settings.vhosts.iter().map(|v| v.matcher.clone()).collect())
}

/// The mapping options `settings` ask for (`JkOptions`, `JkEnvVar`).
fn mapping_options(settings: &RunSettings) -> MappingOptions {
    MappingOptions {
        jk: settings.options.clone(),
        env_vars: settings
            .env_vars
            .iter()
            .map(|(name, value)| (Bytes::from(name.clone()), Bytes::from(value.clone())))
            .collect::<Vec<_>>()
            .into(),
    }
}
