//! Settings into runtime state, once per configuration generation.

use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;

use crate::backend::registry::{PreparedWorkers, RegistryError, WorkerOptions, prepare_workers};
use crate::config::error::At;
use crate::config::{Origin, RunSettings};
use crate::server::Gateway;
use crate::server::limits::{ConnectionCap, http_builder};
use crate::server::mapping::MappingOptions;
use crate::server::remoteip::RemoteIp;
use crate::server::tls::{self, TlsError};
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
    tls: Option<tokio_rustls::TlsAcceptor>,
    connections: Arc<ConnectionCap>,
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
        Gateway {
            mounts: ArcSwap::from_pointee(settings.mounts.clone()),
            workers: self.workers.commit(),
            options: mapping_options(settings),
            status: self.status,
            access_format: settings.request_log_format.clone(),
            shutdown_grace: settings.shutdown_grace,
            tls: self.tls,
            limits: Arc::new(settings.limits.clone()),
            http: Arc::new(http_builder(&settings.limits)),
            connections: self.connections,
            remote_ip: RemoteIp::new(&settings.remote_ip),
            proxy_protocol: settings.remote_ip.proxy_protocol.clone(),
            access: settings.access.clone(),
        }
    }

    /// The generation it reports on.
    pub fn generation(&self) -> &Generation {
        &self.generation
    }
}

/// Builds everything `settings` ask for. `previous` is the gateway serving now (on a
/// reload): its members and lbs are kept where their settings did not change.
pub fn assemble(
    settings: &RunSettings,
    generation: Generation,
    previous: Option<&Gateway>,
) -> Result<PreparedGateway, AssembleError> {
    let options = WorkerOptions {
        disable_reuse: settings.options.disable_reuse,
        replay: settings.replay,
    };
    let workers = prepare_workers(&settings.workers, options, previous.map(|g| &g.workers))
        .map_err(|source| AssembleError::Workers {
            origin: registry_error_origin(settings, &source),
            source: Box::new(source),
        })?;
    let tls = match &settings.tls {
        Some(t) => Some(tls::acceptor(
            &t.certificate,
            &t.key,
            t.client_ca.as_deref(),
        )?),
        None => None,
    };
    let status = StatusWorkers::new(
        &settings.workers,
        &settings.worker_properties,
        &settings.status_users,
        generation.clone(),
        previous.map(|g| &g.status),
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
    })
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
