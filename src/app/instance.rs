//! A running jkgate: the gateway requests are served with, and one listener per configured
//! address. Started from settings; reloaded from the [`SettingsSource`] it was given.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::task::JoinHandle;

use super::assemble::{AssembleError, assemble};
use super::mount_file;
use crate::config::{ConfigError, Listener, RunSettings};
use crate::server::{self, CurrentGateway, Gateway, RunningServer};
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
}

/// Binds `addr` without serving yet.
async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, BindError> {
    server::bind(addr)
        .await
        .map_err(|source| BindError { addr, source })
}

/// A running jkgate.
pub struct Jkgate {
    current: CurrentGateway,
    generation: Generation,
    settings: RunSettings,
    source: SettingsSource,
    /// Each configured listener (as configured: port 0 stays 0) with its server.
    listeners: Vec<(Listener, RunningServer)>,
    mount_file: Vec<JoinHandle<()>>,
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
        let gateway = assemble(&settings, generation.clone(), None)?.commit();
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
        let mount_file = mount_file::watch(&settings, &current);
        Ok(Jkgate {
            current,
            generation,
            settings,
            source,
            listeners,
            mount_file,
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
        let prepared = assemble(&settings, generation.clone(), Some(&previous))?;
        let mut opened = Vec::new();
        for listener in &settings.listeners {
            if self.listeners.iter().any(|(l, _)| l == listener) {
                continue;
            }
            opened.push((*listener, bind(listener.addr).await?));
        }
        // Everything that can fail has been built: from here on the reload takes effect.
        for warning in &settings.warnings {
            tracing::warn!("{warning}");
        }
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
        for task in self.mount_file.drain(..) {
            task.abort();
        }
        self.mount_file = mount_file::watch(&settings, &self.current);
        self.settings = settings;
        self.generation = generation;
        Ok(self.generation.number)
    }

    /// Stops accepting on every listener at once, then waits for open connections to
    /// finish (at most `GracefulShutdownTimeout`).
    pub async fn shutdown(mut self) {
        for task in self.mount_file.drain(..) {
            task.abort();
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
    }
}
