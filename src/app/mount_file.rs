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

/// Starts watching the mount file of `settings` (when there is one and
/// `JkMountFileReload` is not zero); the task ends when `current` is dropped.
pub(super) fn watch(
    settings: &RunSettings,
    current: &Arc<ArcSwap<Gateway>>,
) -> Option<JoinHandle<()>> {
    let path = settings.mount_file.clone()?;
    if settings.mount_file_reload.is_zero() {
        return None;
    }
    Some(tokio::spawn(reload_mount_file(
        Arc::downgrade(current),
        path,
        settings.mount_file_reload,
    )))
}

/// Every `interval`, when the mount file's modification time changed, reads it again and
/// replaces the rules that came from it (JkMount and `worker.X.mount` rules stay), as
/// mod_jk does. A file that cannot be read, or that maps to an unknown worker, leaves the
/// rules as they are and says why in the error log.
async fn reload_mount_file(current: Weak<ArcSwap<Gateway>>, path: PathBuf, interval: Duration) {
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
        match read_rules(&path, &gateway) {
            Ok(table) => {
                tracing::info!(file = %path.display(), rules = table.rules().len(), "mount file reloaded");
                gateway.mounts.store(Arc::new(table));
            }
            Err(why) => tracing::error!(file = %path.display(), "mount file not reloaded: {why}"),
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

/// The gateway's mount table with the rules of the file at `path` in place of the old ones.
fn read_rules(path: &Path, gateway: &Gateway) -> Result<MountTable, MountFileError> {
    let content = std::fs::read(path)?;
    let mut table = MountTable::clone(&gateway.mounts.load());
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
