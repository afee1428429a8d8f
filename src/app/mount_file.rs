//! `JkMountFileReload`: the mount file read again when it changes, between full reloads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::task::JoinHandle;

use crate::config::RunSettings;
use crate::config::properties::process_env;
use crate::config::uriworkermap::{MountSource, MountTable};
use crate::server::Gateway;

/// The mount table a mount file feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// The main server's.
    Main,
    /// The vhost's at this index.
    Vhost(usize),
}

impl Slot {
    fn table(self, gateway: &Gateway) -> Option<&ArcSwap<MountTable>> {
        match self {
            Slot::Main => Some(&gateway.mounts),
            Slot::Vhost(index) => gateway.vhosts.get(index).map(|v| &v.mounts),
        }
    }
}

/// Starts watching every mount file of `settings` (the top-level one and each vhost's, when
/// `JkMountFileReload` is not zero): one task per file, feeding every table read from it;
/// the tasks end when `current` is dropped.
pub(super) fn watch(
    settings: &RunSettings,
    current: &Arc<ArcSwap<Gateway>>,
) -> Vec<JoinHandle<()>> {
    if settings.mount_file_reload.is_zero() {
        return Vec::new();
    }
    let mut files: Vec<(PathBuf, Vec<Slot>)> = Vec::new();
    let used = settings
        .mount_file
        .iter()
        .map(|p| (p.clone(), Slot::Main))
        .chain(
            settings
                .vhosts
                .iter()
                .enumerate()
                .filter_map(|(i, v)| Some((v.mount_file.clone()?, Slot::Vhost(i)))),
        );
    for (path, slot) in used {
        match files.iter_mut().find(|(p, _)| *p == path) {
            Some((_, slots)) => slots.push(slot),
            None => files.push((path, vec![slot])),
        }
    }
    files
        .into_iter()
        .map(|(path, slots)| {
            tokio::spawn(reload_mount_file(
                Arc::downgrade(current),
                path,
                slots,
                settings.mount_file_reload,
            ))
        })
        .collect()
}

/// Every `interval`, when the mount file's modification time changed, reads it again and
/// replaces the rules that came from it (JkMount and `worker.X.mount` rules stay), as
/// mod_jk does. A file that cannot be read, or that maps to an unknown worker, leaves the
/// rules as they are and says why in the error log.
async fn reload_mount_file(
    current: Weak<ArcSwap<Gateway>>,
    path: PathBuf,
    slots: Vec<Slot>,
    interval: Duration,
) {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut seen = modified(&path);
    loop {
        tokio::time::sleep(interval).await;
        let Some(current) = current.upgrade() else {
            return;
        };
        let now = modified(&path);
        if now == seen {
            continue;
        }
        seen = now;
        let gateway = current.load_full();
        for slot in &slots {
            let Some(target) = slot.table(&gateway) else {
                continue;
            };
            match read_rules(&path, target, &gateway) {
                Ok(table) => {
                    tracing::info!(file = %path.display(), rules = table.rules().len(), "mount file reloaded");
                    target.store(Arc::new(table));
                }
                Err(why) => {
                    tracing::error!(file = %path.display(), "mount file not reloaded: {why}")
                }
            }
        }
    }
}

/// Why the mount file was not taken (the rules stay as they were).
#[derive(Debug, thiserror::Error)]
enum MountFileError {
    #[error("{0}")]
    Read(#[from] std::io::Error),
    #[error("{0}")]
    Invalid(#[from] crate::config::ConfigError),
    #[error("unknown worker in {0}")]
    UnknownWorker(String),
}

/// The `target` mount table with the rules of the file at `path` in place of the old ones.
fn read_rules(
    path: &Path,
    target: &ArcSwap<MountTable>,
    gateway: &Gateway,
) -> Result<MountTable, MountFileError> {
    let content = std::fs::read(path)?;
    let mut table = MountTable::clone(&target.load());
    table.remove_source(MountSource::UriWorkerMap);
    table.warnings.clear();
    table.read_uriworkermap(&content, &path.display().to_string(), &process_env)?;
    let unknown: Vec<String> = table
        .rules()
        .iter()
        .filter(|r| {
            r.worker != "*"
                && gateway.workers.get(&r.worker).is_none()
                && gateway.status.get(&r.worker).is_none()
        })
        .map(|r| format!("{}={}", r.pattern, r.worker))
        .collect();
    if !unknown.is_empty() {
        return Err(MountFileError::UnknownWorker(unknown.join(", ")));
    }
    for warning in std::mem::take(&mut table.warnings) {
        tracing::warn!("{warning}");
    }
    Ok(table)
}
