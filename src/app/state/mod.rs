//! Keeping runtime edits (status worker changes) across restarts and reloads, and sharing
//! them with a fleet.
//!
//! The edits in force live in the [`EditBook`] the status workers record into. A
//! [`StateStore`] keeps them outside the process: the state file ([`FileStore`], jkgate.ini
//! `StateFile`) by default, or etcd (`StateStore = etcd://...`, the `etcd` build feature),
//! which several jkgate instances share. One background task, the driver ([`run_driver`]),
//! saves what the status workers record and puts in effect what the store says changed
//! elsewhere; when the store cannot be reached, requests go on with the edits in force,
//! local edits wait (and are saved when it returns), and the driver retries with backoff.
//!
//! Precedence: an edit overrides workers.properties until it is released (status
//! `cmd=revert`, or removed from the store and jkgate reloaded); an edit that no longer
//! fits workers.properties is reported entry by entry and not applied.

#[cfg(feature = "etcd")]
mod etcd;
mod file;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

pub use self::file::FileStore;
use crate::config::RunSettings;
use crate::config::state::{Edits, StateFormatError};
use crate::server::CurrentGateway;
use crate::status::edits::{EditBook, Unsaved, converge};

/// Why the state store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The state file cannot be read or written.
    #[error("state file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The state file is not a state document.
    #[error("state file {path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: StateFormatError,
    },
    /// etcd cannot be reached or refused a request.
    #[error("state store {url}: {problem}")]
    Etcd {
        /// The store URL.
        url: String,
        /// What failed.
        problem: String,
    },
}

/// Where runtime edits are kept.
pub trait StateStore: Send + Sync + 'static {
    /// The store, for log lines (`state file PATH`, `etcd://...`).
    fn describe(&self) -> String;

    /// Everything the store holds.
    fn load(&self) -> impl Future<Output = Result<Edits, StateError>> + Send;

    /// Makes the store hold `all`; `changes` are what changed since the last successful
    /// save (a store of single entries writes only those).
    fn save(
        &self,
        all: &Edits,
        changes: &Unsaved,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Waits until the store was changed from elsewhere, and returns what it holds then.
    /// A store only this jkgate writes never returns.
    fn changed(&mut self) -> impl Future<Output = Result<Edits, StateError>> + Send;
}

/// `host pid N`: who made an edit.
fn origin() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    format!("{host} pid {}", std::process::id())
}

/// The store `settings` ask for, unopened.
enum Configured {
    None,
    File(FileStore),
    #[cfg(feature = "etcd")]
    Etcd(Box<etcd::EtcdStore>),
}

impl Configured {
    fn of(settings: &RunSettings) -> Self {
        #[cfg(feature = "etcd")]
        if let Some(url) = &settings.state_store {
            return Configured::Etcd(Box::new(etcd::EtcdStore::new(
                url.clone(),
                settings.state_file.clone().map(FileStore::new),
            )));
        }
        match &settings.state_file {
            Some(path) => Configured::File(FileStore::new(path.clone())),
            None => Configured::None,
        }
    }

    async fn load(&self) -> Result<Edits, StateError> {
        match self {
            Configured::None => Ok(Edits::new()),
            Configured::File(store) => store.load().await,
            #[cfg(feature = "etcd")]
            Configured::Etcd(store) => store.load_or_cached().await,
        }
    }
}

/// Reads the state file (or the etcd store) `settings` name, as `jkgate check` reports it.
pub async fn read_configured(settings: &RunSettings) -> Result<Edits, StateError> {
    Configured::of(settings).load().await
}

/// The state of a running jkgate: the edit book, and the driver keeping it in the store.
pub struct StateService {
    book: Arc<EditBook>,
    store: Option<Configured>,
    /// The settings the store was opened with (`StateFile`, `StateStore`).
    opened: (Option<PathBuf>, Option<String>),
    driver: Option<(Arc<Notify>, JoinHandle<()>)>,
}

impl std::fmt::Debug for StateService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateService")
            .field("opened", &self.opened)
            .finish_non_exhaustive()
    }
}

fn store_settings(settings: &RunSettings) -> (Option<PathBuf>, Option<String>) {
    (
        settings.state_file.clone(),
        settings.state_store.as_ref().map(ToString::to_string),
    )
}

impl StateService {
    /// Reads the store `settings` name. A state file that cannot be read stops the start
    /// (as a broken configuration file does); an etcd that cannot be reached does not: the
    /// state file (if any) stands in until etcd answers.
    pub async fn open(settings: &RunSettings) -> Result<StateService, StateError> {
        let store = Configured::of(settings);
        let edits = store.load().await?;
        if !edits.is_empty() {
            tracing::info!(
                edits = edits.len(),
                "runtime edits read from the state store"
            );
        }
        Ok(StateService {
            book: EditBook::new(edits, origin()),
            store: Some(store),
            opened: store_settings(settings),
            driver: None,
        })
    }

    /// The edit book.
    pub fn book(&self) -> &Arc<EditBook> {
        &self.book
    }

    /// Reads the store again (a reload): the edits it holds, with the local ones not yet
    /// saved laid over them. A changed `StateFile`/`StateStore` waits for a restart.
    pub async fn reread(&self, settings: &RunSettings) -> Result<(), StateError> {
        if store_settings(settings) != self.opened {
            tracing::warn!(
                "StateFile or StateStore changed: it takes effect when jkgate is restarted"
            );
        }
        let stored = match &self.store {
            Some(Configured::File(store)) => store.load().await?,
            #[cfg(feature = "etcd")]
            Some(Configured::Etcd(store)) => match store.load().await {
                Ok(edits) => edits,
                Err(e) => {
                    tracing::warn!("reload keeps the runtime edits in force: {e}");
                    return Ok(());
                }
            },
            // No store: the book is all there is.
            _ => return Ok(()),
        };
        self.book.take_stored(stored);
        Ok(())
    }

    /// Starts the driver: from now on edits are saved as they are made, and edits made
    /// elsewhere are put in effect on the gateway current at that moment.
    pub fn start_driver(&mut self, current: CurrentGateway) {
        let stop = Arc::new(Notify::new());
        let book = self.book.clone();
        let task = match self.store.take() {
            Some(Configured::File(store)) => {
                // The driver saves; a reload reads the file through a second handle.
                self.store = Some(Configured::File(store.clone()));
                tokio::spawn(run_driver(store, book, current, stop.clone()))
            }
            #[cfg(feature = "etcd")]
            Some(Configured::Etcd(store)) => {
                // The driver watches and saves; a reload reads through a second client.
                self.store = Some(Configured::Etcd(Box::new(store.another())));
                tokio::spawn(run_driver(*store, book, current, stop.clone()))
            }
            _ => return,
        };
        self.driver = Some((stop, task));
    }

    /// Stops the driver after it saved what is still unsaved (bounded: a store that does
    /// not answer within 5 s is left).
    pub async fn shutdown(&mut self) {
        if let Some((stop, mut task)) = self.driver.take() {
            stop.notify_one();
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

/// Shortest and longest wait before the store is tried again.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(BACKOFF.0, BACKOFF.1)
}

/// Saves what is unsaved; `true` when it reached the store (or nothing was unsaved).
async fn save<S: StateStore>(store: &S, book: &EditBook) -> Result<(), StateError> {
    let (all, changes) = book.to_save();
    if changes.is_empty() {
        return Ok(());
    }
    store.save(&all, &changes).await?;
    book.saved(&changes);
    Ok(())
}

/// Puts the book's edits in effect on the running workers.
fn apply_to_running(book: &EditBook, current: &CurrentGateway) {
    let Some((config, stale)) = book.effective() else {
        return;
    };
    for edit in stale {
        tracing::warn!("{edit}");
    }
    let gateway = current.load_full();
    for e in converge(&gateway.workers, &config) {
        tracing::error!("runtime edit from the state store not put in effect: {e}");
    }
}

/// The driver: one task per jkgate, saving local edits and applying the store's.
pub async fn run_driver<S: StateStore>(
    mut store: S,
    book: Arc<EditBook>,
    current: CurrentGateway,
    stop: Arc<Notify>,
) {
    let what = store.describe();
    let mut save_backoff = Duration::ZERO;
    let mut save_failing = false;
    let mut watch_backoff = Duration::ZERO;
    let mut watch_failing = false;
    let mut watch_again = tokio::time::Instant::now();
    let mut save_again = tokio::time::Instant::now();
    loop {
        let retry_save = save_failing && book.has_unsaved();
        tokio::select! {
            biased;
            _ = stop.notified() => {
                if let Err(e) = save(&store, &book).await {
                    tracing::error!("runtime edits not saved at shutdown: {e}");
                }
                return;
            }
            _ = book.wait_recorded() => {}
            _ = tokio::time::sleep_until(save_again), if retry_save => {}
            result = async {
                tokio::time::sleep_until(watch_again).await;
                store.changed().await
            } => match result {
                Ok(stored) => {
                    if watch_failing {
                        tracing::info!(store = %what, "state store reachable again");
                        watch_failing = false;
                        // Edits made while it was away go now.
                        save_again = tokio::time::Instant::now();
                    }
                    watch_backoff = Duration::ZERO;
                    if book.take_stored(stored) {
                        tracing::info!(store = %what, "runtime edits changed in the state store: applied");
                        apply_to_running(&book, &current);
                    }
                }
                Err(e) => {
                    watch_backoff = next_backoff(watch_backoff);
                    if !watch_failing {
                        tracing::warn!("{e}; requests go on with the runtime edits in force, retrying");
                        watch_failing = true;
                    }
                    watch_again = tokio::time::Instant::now() + watch_backoff;
                }
            },
        }
        if !book.has_unsaved() || (save_failing && tokio::time::Instant::now() < save_again) {
            continue;
        }
        match save(&store, &book).await {
            Ok(()) => {
                if save_failing {
                    tracing::info!(store = %what, "runtime edits saved again");
                }
                save_failing = false;
                save_backoff = Duration::ZERO;
            }
            Err(e) => {
                save_backoff = next_backoff(save_backoff);
                if !save_failing {
                    tracing::warn!(
                        "{e}; the edits are in effect here and are saved when the store answers"
                    );
                }
                save_failing = true;
                save_again = tokio::time::Instant::now() + save_backoff;
            }
        }
    }
}
