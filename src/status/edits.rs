//! The runtime edits of a running jkgate ([`EditBook`]): what the status worker changed,
//! recorded setting by setting so that the application can keep them in its state store
//! and lay them over workers.properties again at the next start or reload.
//!
//! The status worker applies a change to the running balancer and workers first (as mod_jk
//! does), then records what differs from before ([`snapshot`] before and after). Edits that
//! arrive from elsewhere (the fleet's store) or are reverted are put in effect by
//! [`converge`]: the running workers are brought to workers.properties with the edits
//! laid over it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::backend::AjpWorker;
use crate::backend::dispatch::{Target, Workers};
use crate::backend::lb::LoadBalancer;
use crate::balancer;
use crate::config::state::{
    EditKey, EditValue, Edits, StaleEdit, activation_text, ajp_values, apply_edits, millis_text,
    seconds_text,
};
use crate::config::{WorkerKind, WorkersConfig};

/// Changes not yet in the store: `Some` pins a value, `None` removes the pin.
pub type Unsaved = BTreeMap<EditKey, Option<EditValue>>;

#[derive(Debug, Default)]
struct Book {
    edits: Edits,
    unsaved: Unsaved,
    /// workers.properties as the running configuration read it.
    base: Option<Arc<WorkersConfig>>,
}

/// The edits in force, shared by the status workers (which record), the application's
/// store driver (which saves and receives) and every configuration generation.
#[derive(Debug)]
pub struct EditBook {
    book: Mutex<Book>,
    changed: Notify,
    origin: String,
}

impl EditBook {
    /// A book holding `edits` (read from the store); `origin` names this jkgate in the
    /// edits it records (`host pid N`).
    pub fn new(edits: Edits, origin: String) -> Arc<Self> {
        Arc::new(EditBook {
            book: Mutex::new(Book {
                edits,
                ..Book::default()
            }),
            changed: Notify::new(),
            origin,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The edits in force.
    pub fn edits(&self) -> Edits {
        self.lock().edits.clone()
    }

    /// Records changes made here: each key pinned to its new value (`Some`) or released
    /// (`None`); wakes the store driver.
    pub fn record(&self, changes: Vec<(EditKey, Option<String>)>) {
        if changes.is_empty() {
            return;
        }
        let changed = jiff::Timestamp::now().to_string();
        {
            let mut book = self.lock();
            for (key, value) in changes {
                let value = value.map(|value| EditValue {
                    value,
                    changed: Some(changed.clone()),
                    by: Some(self.origin.clone()),
                });
                match &value {
                    Some(v) => book.edits.insert(key.clone(), v.clone()),
                    None => book.edits.remove(&key),
                };
                book.unsaved.insert(key, value);
            }
        }
        self.changed.notify_one();
    }

    /// Releases every pin about `worker` (and, with `member`, only that member's).
    pub fn revert(&self, worker: &str, member: Option<&str>) -> usize {
        let keys: Vec<EditKey> = self
            .lock()
            .edits
            .keys()
            .filter(|k| k.is_about(worker, member))
            .cloned()
            .collect();
        let count = keys.len();
        self.record(keys.into_iter().map(|k| (k, None)).collect());
        count
    }

    /// Waits until something is recorded (a change recorded before the wait started
    /// wakes it at once).
    pub async fn wait_recorded(&self) {
        self.changed.notified().await;
    }

    /// What to save: every edit in force and the changes not yet in the store.
    pub fn to_save(&self) -> (Edits, Unsaved) {
        let book = self.lock();
        (book.edits.clone(), book.unsaved.clone())
    }

    /// `saved` reached the store: forgets those changes (unless changed again since).
    pub fn saved(&self, saved: &Unsaved) {
        let mut book = self.lock();
        for (key, value) in saved {
            if book.unsaved.get(key) == Some(value) {
                book.unsaved.remove(key);
            }
        }
    }

    /// Whether changes wait for the store.
    pub fn has_unsaved(&self) -> bool {
        !self.lock().unsaved.is_empty()
    }

    /// Takes what the store holds now (read at start or reload, or after a change made
    /// elsewhere), with the changes not yet saved here laid over it. Returns whether the
    /// edits in force changed.
    pub fn take_stored(&self, stored: Edits) -> bool {
        let mut book = self.lock();
        let mut edits = stored;
        for (key, value) in &book.unsaved {
            match value {
                Some(value) => edits.insert(key.clone(), value.clone()),
                None => edits.remove(key),
            };
        }
        let changed = edits != book.edits;
        book.edits = edits;
        changed
    }

    /// Sets workers.properties as the configuration now running read it.
    pub fn set_base(&self, base: &WorkersConfig) {
        self.lock().base = Some(Arc::new(base.clone()));
    }

    /// workers.properties with the edits laid over it, and the edits that do not fit
    /// (`None` before the first configuration was set).
    pub fn effective(&self) -> Option<(WorkersConfig, Vec<StaleEdit>)> {
        let book = self.lock();
        let base = book.base.clone()?;
        Some(apply_edits(&base, &book.edits))
    }
}

fn key(worker: &str, member: Option<&str>, setting: &str) -> EditKey {
    EditKey::new(worker, member, setting)
}

fn lb_values(name: &str, lb: &LoadBalancer, out: &mut BTreeMap<EditKey, String>) {
    let topology = lb.balancer().topology();
    let s = &topology.settings;
    for (setting, value) in [
        ("retries", s.retries.to_string()),
        ("retry_interval", millis_text(s.retry_interval)),
        ("recover_time", seconds_text(s.recover_time)),
        (
            "error_escalation_time",
            seconds_text(s.error_escalation_time),
        ),
        ("max_reply_timeouts", s.max_reply_timeouts.to_string()),
        ("sticky_session", s.sticky_session.to_string()),
        ("sticky_session_force", s.sticky_session_force.to_string()),
        ("method", s.method.status_name().to_owned()),
        ("lock", s.lock.status_name().to_owned()),
    ] {
        out.insert(key(name, None, setting), value);
    }
    for (index, m) in topology.members.iter().enumerate() {
        let member = Some(m.name.as_str());
        for (setting, value) in [
            ("activation", activation_text(m.activation).to_owned()),
            ("lbfactor", m.lbfactor.to_string()),
            ("route", m.route.clone()),
            ("redirect", m.redirect.clone()),
            ("domain", m.domain.clone()),
            ("distance", m.distance.to_string()),
        ] {
            out.insert(key(name, member, setting), value);
        }
        if let Some(worker) = lb.members().get(index) {
            for (setting, value) in ajp_values(&worker.settings()) {
                out.insert(key(name, member, setting), value);
            }
        }
    }
}

/// Every editable setting of `name` (an lb with its members, or an ajp13 worker) as it
/// runs now, in the state store's vocabulary.
pub fn snapshot(name: &str, target: &Target) -> BTreeMap<EditKey, String> {
    let mut out = BTreeMap::new();
    match target {
        Target::Balanced(lb) => lb_values(name, lb, &mut out),
        Target::Ajp(worker) => {
            for (setting, value) in ajp_values(&worker.settings()) {
                out.insert(key(name, None, setting), value);
            }
        }
    }
    out
}

/// The settings that differ between two snapshots, with their new values.
pub fn changes(
    before: &BTreeMap<EditKey, String>,
    after: &BTreeMap<EditKey, String>,
) -> Vec<(EditKey, Option<String>)> {
    after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), Some(v.clone())))
        .collect()
}

/// Why [`converge`] could not put one setting in effect.
#[derive(Debug, thiserror::Error)]
#[error("{worker}{}: {problem}", member.as_ref().map(|m| format!("/{m}")).unwrap_or_default())]
pub struct ConvergeError {
    /// The worker.
    pub worker: String,
    /// The lb member, if it is about one.
    pub member: Option<String>,
    /// What failed.
    pub problem: String,
}

fn set_ajp(
    worker: &AjpWorker,
    want: &crate::config::AjpSettings,
    lb: &str,
    member: Option<&str>,
) -> Result<(), ConvergeError> {
    if *worker.settings() == *want {
        return Ok(());
    }
    worker
        .update_settings(|conf| {
            *conf = want.clone();
            true
        })
        .map(drop)
        .map_err(|e| ConvergeError {
            worker: lb.to_owned(),
            member: member.map(str::to_owned),
            problem: e.to_string(),
        })
}

/// Brings the running `workers` to `config` (workers.properties with the edits laid over
/// it): lb settings, member settings and connection settings that differ are changed for
/// the next request, as a status worker `update` would change them. Returns what could not
/// be changed; everything else is.
pub fn converge(workers: &Workers, config: &WorkersConfig) -> Vec<ConvergeError> {
    let mut errors = Vec::new();
    for entry in &config.workers {
        match (&entry.kind, workers.get(&entry.name)) {
            (WorkerKind::Ajp13(want), Some(Target::Ajp(worker))) => {
                if let Err(e) = set_ajp(worker, want, &entry.name, None) {
                    errors.push(e);
                }
            }
            (WorkerKind::Lb(want), Some(Target::Balanced(lb))) => {
                let current = lb.balancer().topology().settings.clone();
                let mut settings = balancer::LbSettings::from_config(
                    &entry.name,
                    &want.settings,
                    current.maintain_interval,
                    current.replay,
                );
                settings.name = current.name.clone();
                if settings != current {
                    lb.balancer().update_settings(|s| *s = settings);
                }
                for (member, worker) in want.members.iter().zip(lb.members()) {
                    if member.name != **worker.name() {
                        continue;
                    }
                    if let Err(e) = set_ajp(worker, &member.ajp, &entry.name, Some(&member.name)) {
                        errors.push(e);
                    }
                    let desired = balancer::MemberSettings::from_config(member);
                    let topology = lb.balancer().topology();
                    let running = topology.members.iter().find(|m| m.name == member.name);
                    if running.is_some_and(|m| *m != desired)
                        && let Err(e) = lb.balancer().update_member(&member.name, |m| *m = desired)
                    {
                        errors.push(ConvergeError {
                            worker: entry.name.clone(),
                            member: Some(member.name.clone()),
                            problem: e.to_string(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(v: &str) -> EditValue {
        EditValue {
            value: v.to_owned(),
            changed: None,
            by: None,
        }
    }

    fn stored(list: &[(&str, &str)]) -> Edits {
        list.iter()
            .map(|(m, v)| (EditKey::new("lb", Some(m), "activation"), value(v)))
            .collect()
    }

    fn activation_of(book: &EditBook, member: &str) -> Option<String> {
        book.edits()
            .get(&EditKey::new("lb", Some(member), "activation"))
            .map(|v| v.value.clone())
    }

    #[test]
    fn what_the_store_says_never_hides_a_local_change_not_saved_yet() {
        let book = EditBook::new(stored(&[("node1", "disabled")]), "here".to_owned());
        book.record(vec![
            (
                EditKey::new("lb", Some("node2"), "activation"),
                Some("stopped".to_owned()),
            ),
            (EditKey::new("lb", Some("node1"), "activation"), None),
        ]);
        assert!(book.has_unsaved());
        // The store still holds the old state and someone else's edit of node3.
        let changed = book.take_stored(stored(&[("node1", "disabled"), ("node3", "stopped")]));
        assert!(changed);
        assert_eq!(
            activation_of(&book, "node1"),
            None,
            "the local release stays"
        );
        assert_eq!(activation_of(&book, "node2").as_deref(), Some("stopped"));
        assert_eq!(activation_of(&book, "node3").as_deref(), Some("stopped"));
        // Once saved, the store is the truth again.
        let (_, unsaved) = book.to_save();
        book.saved(&unsaved);
        assert!(!book.has_unsaved());
        book.take_stored(stored(&[("node3", "stopped")]));
        assert_eq!(activation_of(&book, "node2"), None);
    }

    #[test]
    fn a_change_made_while_saving_stays_unsaved() {
        let book = EditBook::new(Edits::new(), "here".to_owned());
        let key = EditKey::new("lb", Some("node1"), "lbfactor");
        book.record(vec![(key.clone(), Some("2".to_owned()))]);
        let (_, saving) = book.to_save();
        book.record(vec![(key.clone(), Some("3".to_owned()))]);
        book.saved(&saving);
        assert!(book.has_unsaved(), "the second value still has to be saved");
        let (all, unsaved) = book.to_save();
        assert_eq!(all[&key].value, "3");
        assert_eq!(unsaved[&key].as_ref().map(|v| v.value.as_str()), Some("3"));
        assert_eq!(all[&key].by.as_deref(), Some("here"));
    }

    #[test]
    fn revert_releases_a_member_or_a_whole_worker() {
        let mut edits = stored(&[("node1", "disabled"), ("node2", "stopped")]);
        edits.insert(EditKey::new("lb", None, "retries"), value("3"));
        edits.insert(EditKey::new("other", None, "retries"), value("4"));
        let book = EditBook::new(edits, "here".to_owned());
        assert_eq!(book.revert("lb", Some("node1")), 1);
        assert_eq!(activation_of(&book, "node1"), None);
        assert_eq!(book.revert("lb", None), 2);
        let left: Vec<String> = book.edits().keys().map(ToString::to_string).collect();
        assert_eq!(left, ["other retries"]);
    }
}
