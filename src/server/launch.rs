//! From resolved [`RunSettings`] to listening sockets: the worker registry, the TLS
//! acceptor and one server task per listener.

use std::sync::Arc;

use bytes::Bytes;

use crate::backend::registry::{RegistryError, WorkerOptions, build_workers};
use crate::cli::RunSettings;

use super::mapping::MappingOptions;
use super::tls::{self, TlsError};
use super::{Gateway, RunningServer};
use crate::config::properties::process_env;
use crate::config::uriworkermap::{MountSource, MountTable};

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
    let mut gateway = Gateway::build(
        settings.mounts.clone(),
        workers,
        mapping_options(settings),
        crate::status::StatusWorkers::from_settings(settings),
    );
    gateway.access_format = settings.request_log_format.clone();
    gateway.shutdown_grace = settings.shutdown_grace;
    let gateway = Arc::new(gateway);
    if let Some(path) = &settings.mount_file
        && !settings.mount_file_reload.is_zero()
    {
        tokio::spawn(reload_mount_file(
            Arc::downgrade(&gateway),
            path.clone(),
            settings.mount_file_reload,
            settings.workers.clone(),
        ));
    }
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

/// `JkMountFileReload`: every `interval`, when the mount file's modification time changed,
/// reads it again and replaces the rules that came from it (JkMount and `worker.X.mount`
/// rules stay), as mod_jk does (mod_jk.md §6.6). A file that cannot be read, or that maps
/// to an unknown worker, leaves the rules as they are and says why in the error log. Ends
/// when the gateway is gone.
async fn reload_mount_file(
    gateway: std::sync::Weak<Gateway>,
    path: std::path::PathBuf,
    interval: std::time::Duration,
    workers: crate::config::WorkersConfig,
) {
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut seen = modified(&path);
    loop {
        tokio::time::sleep(interval).await;
        let Some(gateway) = gateway.upgrade() else {
            return;
        };
        let now = modified(&path);
        if now == seen {
            continue;
        }
        seen = now;
        let content = match std::fs::read(&path) {
            Ok(content) => content,
            Err(e) => {
                tracing::error!(file = %path.display(), "mount file not reloaded: {e}");
                continue;
            }
        };
        let mut table = MountTable::clone(&gateway.mounts.load());
        table.remove_source(MountSource::UriWorkerMap);
        table.warnings.clear();
        let name = path.display().to_string();
        if let Err(e) = table.read_uriworkermap(&content, &name, &process_env) {
            tracing::error!(file = %name, "mount file not reloaded: {e}");
            continue;
        }
        let unknown: Vec<String> = table
            .rules()
            .iter()
            .filter(|r| r.worker != "*" && workers.get(&r.worker).is_none())
            .map(|r| format!("{}={}", r.pattern, r.worker))
            .collect();
        if !unknown.is_empty() {
            tracing::error!(file = %name, "mount file not reloaded: unknown worker in {}", unknown.join(", "));
            continue;
        }
        for warning in std::mem::take(&mut table.warnings) {
            tracing::warn!("{warning}");
        }
        tracing::info!(file = %name, rules = table.rules().len(), "mount file reloaded");
        gateway.mounts.store(Arc::new(table));
    }
}
