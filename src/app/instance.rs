//! A running jkgate: the gateway requests are served with, and one listener per configured
//! address. Started from settings; reloaded from the [`SettingsSource`] it was given.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::task::JoinHandle;

use super::assemble::{AssembleError, PreparedGateway, assemble_with_edits};
use super::state::{StateError, StateService};
use super::{health_checks, mount_file};
use crate::config::{ConfigError, Listener, RunSettings};
use crate::server::{self, CurrentGateway, Gateway, Role, RunningServer};
use crate::status::Generation;

/// Reads the configuration again (jkgate.ini, workers.properties, the mount file), as on
/// start: what a reload asks for.
pub type SettingsSource = Box<dyn FnMut() -> Result<RunSettings, ConfigError> + Send>;

/// A listen address that cannot be bound (in use, not local, a privileged port).
#[derive(Debug, thiserror::Error)]
#[error("listen {addr}: {source}")]
pub struct BindError {
    /// The address.
    pub addr: SocketAddr,
    /// The OS error.
    pub source: std::io::Error,
}

/// Why jkgate could not start serving.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The settings cannot run.
    #[error(transparent)]
    Assemble(#[from] AssembleError),
    /// A listen address cannot be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The state file cannot be read.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Why a reload changed nothing. jkgate goes on serving with the configuration it had.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// A file could not be read or is invalid.
    #[error("{0}")]
    Settings(#[from] ConfigError),
    /// The new settings cannot run.
    #[error(transparent)]
    Assemble(#[from] AssembleError),
    /// A new listen address cannot be bound.
    #[error(transparent)]
    Bind(#[from] BindError),
    /// The state file cannot be read.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Binds `addr` without serving yet.
async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, BindError> {
    server::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

/// Binds and serves the dedicated metrics listener.
async fn spawn_metrics(
    addr: SocketAddr,
    current: &CurrentGateway,
) -> Result<RunningServer, BindError> {
    let bound = bind(addr).await?;
    let running = server::spawn_as(bound, current.clone(), Role::Metrics)
        .map_err(|source| BindError { addr, source })?;
    tracing::info!(listen = %running.addr, "metrics listening");
    Ok(running)
}

/// A running jkgate.
pub struct Jkgate {
    current: CurrentGateway,
    generation: Generation,
    settings: RunSettings,
    source: SettingsSource,
    /// Each configured listener (as configured: port 0 stays 0) with its server.
    listeners: Vec<(Listener, RunningServer)>,
    /// The dedicated metrics listener (`MetricsListen`), as configured, with its server.
    metrics_listener: Option<(SocketAddr, RunningServer)>,
    mount_file: Vec<JoinHandle<()>>,
    /// The application health checks' driver.
    health_checks: Option<JoinHandle<()>>,
    state: StateService,
}

/// Logs each runtime edit that was left out because it no longer fits workers.properties.
fn report_stale(prepared: &PreparedGateway) {
    for edit in prepared.stale_edits() {
        tracing::warn!("{edit}");
    }
}

impl std::fmt::Debug for Jkgate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jkgate")
            .field("generation", &self.generation.number)
            .field("listeners", &self.addrs())
            .finish_non_exhaustive()
    }
}

impl Jkgate {
    /// Assembles `settings` and binds every listener. `source` reads the configuration
    /// again on [`Jkgate::reload`]. Must run inside a tokio runtime.
    pub async fn start(
        settings: RunSettings,
        source: SettingsSource,
    ) -> Result<Jkgate, StartError> {
        let generation = Generation::first();
        let mut state = StateService::open(&settings).await?;
        let prepared =
            assemble_with_edits(&settings, generation.clone(), None, Some(state.book()))?;
        report_stale(&prepared);
        let gateway = prepared.commit();
        let current: CurrentGateway = Arc::new(ArcSwap::from_pointee(gateway));
        let mut listeners = Vec::with_capacity(settings.listeners.len());
        for listener in &settings.listeners {
            let bound = bind(listener.addr).await?;
            let running =
                server::spawn(bound, current.clone(), listener.tls).map_err(|source| {
                    BindError {
                        addr: listener.addr,
                        source,
                    }
                })?;
            tracing::info!(listen = %running.addr, tls = listener.tls, "listening");
            listeners.push((*listener, running));
        }
        let metrics_listener = match settings.metrics.as_ref().and_then(|m| m.listen) {
            Some(addr) => Some((addr, spawn_metrics(addr, &current).await?)),
            None => None,
        };
        let mount_file = mount_file::watch(&settings, &current);
        let health_checks = health_checks::start(&settings, &current.load());
        state.start_driver(current.clone());
        Ok(Jkgate {
            current,
            generation,
            settings,
            source,
            listeners,
            metrics_listener,
            mount_file,
            health_checks,
            state,
        })
    }

    /// Starts jkgate with `settings` that never change: a reload applies them again.
    pub async fn start_fixed(settings: RunSettings) -> Result<Jkgate, StartError> {
        let again = settings.clone();
        Jkgate::start(settings, Box::new(move || Ok(again.clone()))).await
    }

    /// The gateway requests are served with now.
    pub fn gateway(&self) -> Arc<Gateway> {
        self.current.load_full()
    }

    /// The settings running now.
    pub fn settings(&self) -> &RunSettings {
        &self.settings
    }

    /// The runtime edits in force (what the status worker changed, kept by the state store).
    pub fn edits(&self) -> &std::sync::Arc<crate::status::edits::EditBook> {
        self.state.book()
    }

    /// The configuration generation running now.
    pub fn generation(&self) -> &Generation {
        &self.generation
    }

    /// The bound addresses (a configured port 0 is the port the system chose), with
    /// whether each speaks HTTPS.
    pub fn addrs(&self) -> Vec<(SocketAddr, bool)> {
        self.listeners
            .iter()
            .map(|(listener, server)| (server.addr, listener.tls))
            .collect()
    }

    /// The bound address of the dedicated metrics listener (`MetricsListen`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .map(|(_, server)| server.addr)
    }

    /// The first listener's bound address.
    pub fn addr(&self) -> SocketAddr {
        self.listeners[0].1.addr
    }

    /// Reads the configuration again and puts it in effect atomically: requests already
    /// running finish on the gateway they started with, new ones get the new one; members
    /// whose settings did not change keep their pools and counters; listeners that are no
    /// longer configured stop accepting and drain, new ones open. On any error nothing
    /// changes, the status worker shows the failure, and the error is returned.
    pub async fn reload(&mut self) -> Result<u64, ReloadError> {
        let result = self.try_reload().await;
        let reloads = &self.generation.reloads;
        match &result {
            Ok(generation) => {
                reloads.succeeded();
                tracing::info!(generation, "configuration reloaded");
            }
            Err(e) => {
                reloads.failed(e.to_string());
                for line in e.to_string().lines() {
                    tracing::error!("reload failed, the previous configuration stays: {line}");
                }
            }
        }
        result
    }

    async fn try_reload(&mut self) -> Result<u64, ReloadError> {
        let settings = (self.source)()?;
        let generation = self.generation.next();
        let previous = self.current.load_full();
        self.state.reread(&settings).await?;
        let prepared = assemble_with_edits(
            &settings,
            generation.clone(),
            Some(&previous),
            Some(self.state.book()),
        )?;
        let mut opened = Vec::new();
        for listener in &settings.listeners {
            if self.listeners.iter().any(|(l, _)| l == listener) {
                continue;
            }
            opened.push((*listener, bind(listener.addr).await?));
        }
        let wanted_metrics = settings.metrics.as_ref().and_then(|m| m.listen);
        let kept_metrics = self.metrics_listener.as_ref().map(|(addr, _)| *addr);
        let new_metrics = match wanted_metrics {
            Some(addr) if Some(addr) != kept_metrics => Some((addr, bind(addr).await?)),
            _ => None,
        };
        // Everything that can fail has been built: from here on the reload takes effect.
        for warning in &settings.warnings {
            tracing::warn!("{warning}");
        }
        report_stale(&prepared);
        self.current.store(Arc::new(prepared.commit()));
        let (kept, closed): (Vec<_>, Vec<_>) = std::mem::take(&mut self.listeners)
            .into_iter()
            .partition(|(l, _)| settings.listeners.contains(l));
        self.listeners = kept;
        for (listener, mut running) in closed {
            tracing::info!(listen = %running.addr, tls = listener.tls, "listener closed by reload");
            running.stop_accepting();
            tokio::spawn(running.shutdown());
        }
        for (listener, bound) in opened {
            match server::spawn(bound, self.current.clone(), listener.tls) {
                Ok(running) => {
                    tracing::info!(listen = %running.addr, tls = listener.tls, "listening");
                    self.listeners.push((listener, running));
                }
                Err(e) => tracing::error!(listen = %listener.addr, "listener not started: {e}"),
            }
        }
        if wanted_metrics != kept_metrics
            && let Some((_, mut running)) = self.metrics_listener.take()
        {
            tracing::info!(listen = %running.addr, "metrics listener closed by reload");
            running.stop_accepting();
            tokio::spawn(running.shutdown());
        }
        if let Some((addr, bound)) = new_metrics {
            match server::spawn_as(bound, self.current.clone(), Role::Metrics) {
                Ok(running) => {
                    tracing::info!(listen = %running.addr, "metrics listening");
                    self.metrics_listener = Some((addr, running));
                }
                Err(e) => tracing::error!(listen = %addr, "metrics listener not started: {e}"),
            }
        }
        for task in self.mount_file.drain(..) {
            task.abort();
        }
        self.mount_file = mount_file::watch(&settings, &self.current);
        if let Some(task) = self.health_checks.take() {
            task.abort();
        }
        self.health_checks = health_checks::start(&settings, &self.current.load());
        self.settings = settings;
        self.generation = generation;
        Ok(self.generation.number)
    }

    /// Stops accepting on every listener at once, then waits for open connections to
    /// finish (at most `GracefulShutdownTimeout`), then saves the runtime edits not saved
    /// yet.
    pub async fn shutdown(mut self) {
        for task in self.mount_file.drain(..) {
            task.abort();
        }
        if let Some(task) = self.health_checks.take() {
            task.abort();
        }
        if let Some((_, running)) = self.metrics_listener.take() {
            self.listeners.push((
                Listener {
                    addr: running.addr,
                    tls: false,
                },
                running,
            ));
        }
        for (_, server) in &mut self.listeners {
            server.stop_accepting();
        }
        let draining: Vec<_> = self
            .listeners
            .drain(..)
            .map(|(_, server)| tokio::spawn(server.shutdown()))
            .collect();
        for task in draining {
            let _ = task.await;
        }
        // Last: a status request still draining may have made an edit.
        self.state.shutdown().await;
    }
}
