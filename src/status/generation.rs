//! Which configuration the status worker reports on: its generation number, when it was
//! loaded, and whether the last reload failed. Operators reload with SIGHUP and look here
//! to see that the new files took effect, or why they did not.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The configuration a gateway was assembled from.
#[derive(Debug, Clone)]
pub struct Generation {
    /// 1 for the configuration jkgate started with, one more for each successful reload.
    pub number: u64,
    /// When it was read.
    pub loaded: SystemTime,
    /// How the last reload went; shared by every generation, so a failed reload, which
    /// leaves the current generation in place, shows there.
    pub reloads: Arc<ReloadRecord>,
}

impl Generation {
    /// The first configuration, read now.
    pub fn first() -> Self {
        Generation {
            number: 1,
            loaded: SystemTime::now(),
            reloads: Arc::default(),
        }
    }

    /// The one after this, read now.
    pub fn next(&self) -> Self {
        Generation {
            number: self.number + 1,
            loaded: SystemTime::now(),
            reloads: self.reloads.clone(),
        }
    }
}

/// The outcome of the last reload.
#[derive(Debug, Default)]
pub struct ReloadRecord {
    failure: Mutex<Option<String>>,
}

impl ReloadRecord {
    /// The last reload changed nothing: `why` says what was wrong.
    pub fn failed(&self, why: String) {
        *self.lock() = Some(why);
    }

    /// The last reload took effect.
    pub fn succeeded(&self) {
        *self.lock() = None;
    }

    /// Why the last reload failed, if it did.
    pub fn last_failure(&self) -> Option<String> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.failure.lock().unwrap_or_else(|e| e.into_inner())
    }
}
