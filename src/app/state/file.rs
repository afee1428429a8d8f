//! The state file: the runtime edits as one JSON document, replaced atomically (a
//! temporary file beside it, fsync, rename, fsync of the directory) so that a crash
//! leaves either the old document or the new one, never a mix.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{StateError, StateStore};
use crate::config::state::{Edits, StateDocument};
use crate::status::edits::Unsaved;

/// The state file at a path.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// The state file at `path` (it need not exist yet).
    pub fn new(path: PathBuf) -> Self {
        FileStore { path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> StateError {
        StateError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads it now; a missing file holds no edits.
    pub fn read(&self) -> Result<Edits, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Edits::new()),
            Err(e) => return Err(self.io(e)),
        };
        StateDocument::parse(&text).map_err(|source| StateError::Format {
            path: self.path.clone(),
            source,
        })
    }

    /// Replaces it with `edits`, atomically.
    pub fn write(&self, edits: &Edits) -> Result<(), StateError> {
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_owned());
        // One temporary name per write: the driver and a reload may write at once.
        static WRITES: AtomicU64 = AtomicU64::new(0);
        let temporary = dir.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            WRITES.fetch_add(1, Ordering::Relaxed)
        ));
        let text = StateDocument::of(edits).to_json();
        let written = (|| {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temporary, &self.path)?;
            std::fs::File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(|e| self.io(e))
    }
}

impl StateStore for FileStore {
    fn describe(&self) -> String {
        format!("state file {}", self.path.display())
    }

    async fn load(&self) -> Result<Edits, StateError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read())
            .await
            .unwrap_or_else(|e| Err(self.io(std::io::Error::other(e))))
    }

    async fn save(&self, all: &Edits, _changes: &Unsaved) -> Result<(), StateError> {
        let store = self.clone();
        let all = all.clone();
        tokio::task::spawn_blocking(move || store.write(&all))
            .await
            .unwrap_or_else(|e| Err(self.io(std::io::Error::other(e))))
    }

    async fn changed(&mut self) -> Result<Edits, StateError> {
        // Only this jkgate writes its state file; a hand edit is read on reload.
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::state::{EditKey, EditValue};

    #[test]
    fn writes_atomically_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("jkgate-state-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let store = FileStore::new(dir.join("state.json"));
        assert_eq!(store.read().expect("missing file is empty"), Edits::new());
        let mut edits = Edits::new();
        edits.insert(
            EditKey::new("lb", Some("node1"), "activation"),
            EditValue {
                value: "disabled".to_owned(),
                changed: None,
                by: None,
            },
        );
        store.write(&edits).expect("written");
        assert_eq!(store.read().expect("read"), edits);
        let left: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, ["state.json"], "no temporary file left");
        std::fs::write(store.path(), "{broken").expect("write");
        assert!(matches!(store.read(), Err(StateError::Format { .. })));
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
