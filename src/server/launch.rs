//! From resolved [`RunSettings`] to listening sockets: the worker registry, the TLS
//! acceptor and one server task per listener.

use std::sync::Arc;

use bytes::Bytes;

use crate::backend::registry::{RegistryError, WorkerOptions, build_workers};
use crate::cli::RunSettings;

use super::mapping::MappingOptions;
use super::tls::{self, TlsError};
use super::{Gateway, RunningServer};

/// Why jkgate could not start serving.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// A worker's settings cannot run.
    #[error("workers: {0}")]
    Worker(#[from] RegistryError),
    /// The TLS certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// A listen address cannot be bound.
    #[error("listen {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The mapping options `settings` ask for (`JkOptions`, `JkEnvVar`).
pub fn mapping_options(settings: &RunSettings) -> MappingOptions {
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

/// Builds the gateway from `settings` and binds every listener. Must run inside a tokio
/// runtime (the members' pools start their idle watchers).
pub async fn launch(settings: &RunSettings) -> Result<Vec<RunningServer>, LaunchError> {
    let workers = build_workers(
        &settings.workers,
        WorkerOptions {
            disable_reuse: settings.options.disable_reuse,
            replay: settings.replay,
        },
    )?;
    let gateway = Gateway::with_status(
        settings.mounts.clone(),
        workers,
        mapping_options(settings),
        crate::status::StatusWorkers::from_settings(settings),
    );
    let acceptor = match &settings.tls {
        Some(t) => Some(tls::acceptor(
            &t.certificate,
            &t.key,
            t.client_ca.as_deref(),
        )?),
        None => None,
    };
    let mut servers = Vec::with_capacity(settings.listeners.len());
    for listener in &settings.listeners {
        let tls = if listener.tls { acceptor.clone() } else { None };
        let server = super::spawn(listener.addr, Arc::clone(&gateway), tls)
            .await
            .map_err(|source| LaunchError::Bind {
                addr: listener.addr,
                source,
            })?;
        tracing::info!(listen = %server.addr, tls = listener.tls, "listening");
        servers.push(server);
    }
    Ok(servers)
}
