//! The fleet's store: runtime edits kept in etcd, one key per edit
//! (`PREFIX/WORKER/SETTING`, `PREFIX/WORKER/MEMBER/SETTING`, the value the edit as JSON),
//! watched so that an edit made on one jkgate is in effect on the others within a second.
//!
//! etcd being away never stops requests: the edits in force stay, local edits are in effect
//! at once and pushed when etcd answers again (the driver retries with backoff), and a
//! jkgate that starts while etcd is away starts from its state file (`StateFile`, kept as
//! a local copy of what etcd held) or with none.

use std::time::Duration;

use etcd_client::{Client, ConnectOptions, GetOptions, WatchOptions, WatchStream};
use tokio::sync::Mutex;

use super::file::FileStore;
use super::{StateError, StateStore};
use crate::config::StoreUrl;
use crate::config::state::{Edit, EditKey, Edits};
use crate::status::edits::Unsaved;

/// How long one etcd request may take before etcd counts as away.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Runtime edits in etcd, with an optional local copy.
pub struct EtcdStore {
    url: StoreUrl,
    cache: Option<FileStore>,
    client: Mutex<Option<Client>>,
    watch: Option<WatchStream>,
}

impl EtcdStore {
    /// The store at `url`; `cache` (the state file) gets a copy of every state seen.
    pub fn new(url: StoreUrl, cache: Option<FileStore>) -> Self {
        EtcdStore {
            url,
            cache,
            client: Mutex::new(None),
            watch: None,
        }
    }

    fn error(&self, problem: impl std::fmt::Display) -> StateError {
        StateError::Etcd {
            url: self.url.to_string(),
            problem: problem.to_string(),
        }
    }

    /// The key prefix every edit is under, with its trailing `/`.
    fn dir(&self) -> String {
        format!("{}/", self.url.prefix)
    }

    fn key_of(&self, key: &EditKey) -> String {
        match &key.member {
            Some(member) => format!("{}{}/{}/{}", self.dir(), key.worker, member, key.setting),
            None => format!("{}{}/{}", self.dir(), key.worker, key.setting),
        }
    }

    /// A second store on the same etcd and prefix, with a client of its own.
    pub fn another(&self) -> EtcdStore {
        EtcdStore::new(self.url.clone(), self.cache.clone())
    }

    /// Drops the connection after a failure: the next request connects again.
    async fn forget_client(&self) {
        *self.client.lock().await = None;
    }

    async fn client(&self) -> Result<Client, StateError> {
        let mut slot = self.client.lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT);
        let client = tokio::time::timeout(
            CONNECT_TIMEOUT + REQUEST_TIMEOUT,
            Client::connect(self.url.endpoints.clone(), Some(options)),
        )
        .await
        .map_err(|_| self.error("connect timed out"))?
        .map_err(|e| self.error(e))?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Every edit etcd holds under the prefix. A value that is not an edit is reported and
    /// left out.
    async fn fetch(&self) -> Result<Edits, StateError> {
        let result = self.try_fetch().await;
        if result.is_err() {
            self.forget_client().await;
        }
        result
    }

    async fn try_fetch(&self) -> Result<Edits, StateError> {
        let mut client = self.client().await?;
        let reply = tokio::time::timeout(
            REQUEST_TIMEOUT,
            client.get(self.dir(), Some(GetOptions::new().with_prefix())),
        )
        .await
        .map_err(|_| self.error("read timed out"))?
        .map_err(|e| self.error(e))?;
        let mut edits = Edits::new();
        for kv in reply.kvs() {
            match serde_json::from_slice::<Edit>(kv.value()) {
                Ok(edit) => {
                    edits.insert(edit.key, edit.value);
                }
                Err(e) => tracing::warn!(
                    key = %String::from_utf8_lossy(kv.key()),
                    "state store entry is not a runtime edit, left out: {e}"
                ),
            }
        }
        Ok(edits)
    }

    fn keep_copy(&self, edits: &Edits) {
        if let Some(cache) = &self.cache
            && let Err(e) = cache.write(edits)
        {
            tracing::warn!("local copy of the state store not written: {e}");
        }
    }

    /// What etcd holds or, when it cannot be reached, the local copy (or nothing).
    pub async fn load_or_cached(&self) -> Result<Edits, StateError> {
        match self.load().await {
            Ok(edits) => Ok(edits),
            Err(e) => {
                let copy = match &self.cache {
                    Some(cache) => cache.read()?,
                    None => Edits::new(),
                };
                tracing::warn!(
                    edits = copy.len(),
                    "{e}; starting from the local copy of the runtime edits, etcd is tried again in the background"
                );
                Ok(copy)
            }
        }
    }
}

impl StateStore for EtcdStore {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn load(&self) -> Result<Edits, StateError> {
        let edits = self.fetch().await?;
        self.keep_copy(&edits);
        Ok(edits)
    }

    async fn save(&self, all: &Edits, changes: &Unsaved) -> Result<(), StateError> {
        let result = self.push(changes).await;
        if result.is_err() {
            self.forget_client().await;
            return result;
        }
        self.keep_copy(all);
        Ok(())
    }

    async fn changed(&mut self) -> Result<Edits, StateError> {
        let result = self.watch_next().await;
        if result.is_err() {
            self.watch = None;
            self.forget_client().await;
        }
        result
    }
}

impl EtcdStore {
    async fn push(&self, changes: &Unsaved) -> Result<(), StateError> {
        let mut client = self.client().await?;
        for (key, value) in changes {
            let etcd_key = self.key_of(key);
            let request = async {
                match value {
                    Some(value) => {
                        let edit = Edit {
                            key: key.clone(),
                            value: value.clone(),
                        };
                        let json = serde_json::to_string(&edit).map_err(|e| self.error(e))?;
                        client
                            .put(etcd_key, json, None)
                            .await
                            .map(drop)
                            .map_err(|e| self.error(e))
                    }
                    None => client
                        .delete(etcd_key, None)
                        .await
                        .map(drop)
                        .map_err(|e| self.error(e)),
                }
            };
            tokio::time::timeout(REQUEST_TIMEOUT, request)
                .await
                .map_err(|_| self.error("write timed out"))??;
        }
        Ok(())
    }

    async fn watch_next(&mut self) -> Result<Edits, StateError> {
        if self.watch.is_none() {
            let mut client = self.client().await?;
            let watch = tokio::time::timeout(
                REQUEST_TIMEOUT,
                client.watch(self.dir(), Some(WatchOptions::new().with_prefix())),
            )
            .await
            .map_err(|_| self.error("watch timed out"))?
            .map_err(|e| self.error(e))?;
            self.watch = Some(watch);
            // Whatever changed before the watch started is read now.
            return self.load().await;
        }
        let message = match &mut self.watch {
            Some(stream) => stream.message().await,
            None => Ok(None),
        };
        match message {
            Ok(Some(reply)) if !reply.canceled() => self.load().await,
            Ok(_) => {
                self.watch = None;
                Err(self.error("watch ended"))
            }
            Err(e) => {
                self.watch = None;
                Err(self.error(e))
            }
        }
    }
}
