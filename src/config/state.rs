//! Runtime edits: what the status worker changed, kept apart from workers.properties so that
//! it survives a restart and a reload, and laid over the file's workers when jkgate
//! assembles them.
//!
//! One [`Edit`] pins one setting of one worker, lb member or lb, in workers.properties'
//! own vocabulary (`activation`, `lbfactor`, `reply_timeout`, ...; values in the file's
//! units, so an edit reads as the `worker.NAME.SETTING=VALUE` line it overrides). An edit
//! wins over workers.properties until it is reverted (status `cmd=revert`, or removed from
//! the store). [`apply_edits`] lays a set of edits over the resolved workers; an edit that
//! no longer fits them (worker or member gone, value out of range, a route another member
//! now has) is returned as a [`StaleEdit`] and changes nothing.
//!
//! [`StateDocument`] is the state file (JSON): a format tag and the edits.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::workers::{
    Activation, AjpSettings, DEFAULT_MAX_PACKET_SIZE, LbLock, LbMethod, LbWorker,
    MAX_MAX_PACKET_SIZE, MAX_NAME_LEN, MemberSettings, RecoveryOptions, WorkerKind, WorkersConfig,
};

/// The `format` tag of a state document this version writes and reads.
pub const STATE_FORMAT: &str = "jkgate-state/1";

/// Settings of an lb member (besides its connection settings) an edit may pin.
pub const MEMBER_SETTINGS: &[&str] = &[
    "activation",
    "lbfactor",
    "route",
    "redirect",
    "domain",
    "distance",
];

/// Connection settings of an ajp13 worker or lb member an edit may pin.
pub const AJP_SETTINGS: &[&str] = &[
    "host",
    "port",
    "connection_pool_timeout",
    "ping_timeout",
    "connect_timeout",
    "prepost_timeout",
    "reply_timeout",
    "retries",
    "retry_interval",
    "connection_ping_interval",
    "recovery_options",
    "busy_limit",
    "max_packet_size",
];

/// Settings of an lb worker itself an edit may pin.
pub const LB_SETTINGS: &[&str] = &[
    "retries",
    "retry_interval",
    "recover_time",
    "error_escalation_time",
    "max_reply_timeouts",
    "sticky_session",
    "sticky_session_force",
    "method",
    "lock",
];

/// Which setting an edit pins: of worker `worker` (an ajp13 worker or an lb), or of its
/// member `member`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EditKey {
    /// A worker of `worker.list`.
    pub worker: String,
    /// An lb member (a `balance_workers` name), or `None` for the worker itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The workers.properties directive (`activation`, `reply_timeout`, ...).
    pub setting: String,
}

impl EditKey {
    /// The key of `setting` of `worker` (`member`: of that lb member).
    pub fn new(worker: &str, member: Option<&str>, setting: &str) -> Self {
        EditKey {
            worker: worker.to_owned(),
            member: member.map(str::to_owned),
            setting: setting.to_owned(),
        }
    }

    /// Whether the key is about `worker` and, when `member` is given, that member.
    pub fn is_about(&self, worker: &str, member: Option<&str>) -> bool {
        self.worker == worker && (member.is_none() || self.member.as_deref() == member)
    }
}

impl fmt::Display for EditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.member {
            Some(member) => write!(f, "{}/{} {}", self.worker, member, self.setting),
            None => write!(f, "{} {}", self.worker, self.setting),
        }
    }
}

/// The value an edit pins, with when and where it was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditValue {
    /// The value, as workers.properties would write it (file units).
    pub value: String,
    /// When it was made (RFC 3339), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<String>,
    /// Which jkgate made it (`host pid N`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// One edit: a key and its value (one entry of the state file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    /// What it pins.
    #[serde(flatten)]
    pub key: EditKey,
    /// To what.
    #[serde(flatten)]
    pub value: EditValue,
}

/// A set of edits, one value per key.
pub type Edits = BTreeMap<EditKey, EditValue>;

/// The state file: `{"format": "jkgate-state/1", "edits": [...]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDocument {
    /// [`STATE_FORMAT`].
    pub format: String,
    /// The edits, in key order.
    pub edits: Vec<Edit>,
}

/// Why a state document cannot be read at all (a single bad entry is not this: it is
/// reported as a [`StaleEdit`]).
#[derive(Debug, thiserror::Error)]
pub enum StateFormatError {
    /// Not JSON, or not a state document.
    #[error("not a jkgate state document: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format version.
    #[error("format {found:?} is not {STATE_FORMAT:?}")]
    Format {
        /// What the document says.
        found: String,
    },
}

impl StateDocument {
    /// The document holding `edits`.
    pub fn of(edits: &Edits) -> Self {
        StateDocument {
            format: STATE_FORMAT.to_owned(),
            edits: edits
                .iter()
                .map(|(key, value)| Edit {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }

    /// Pretty JSON with a final newline (people read and diff this file).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Reads a document; a later entry for the same key replaces an earlier one.
    pub fn parse(text: &str) -> Result<Edits, StateFormatError> {
        let doc: StateDocument = serde_json::from_str(text)?;
        if doc.format != STATE_FORMAT {
            return Err(StateFormatError::Format { found: doc.format });
        }
        Ok(doc.edits.into_iter().map(|e| (e.key, e.value)).collect())
    }
}

/// An edit that was not applied, and why.
#[derive(Clone, Debug)]
pub struct StaleEdit {
    /// Its key.
    pub key: EditKey,
    /// Its value.
    pub value: String,
    /// Why it no longer fits workers.properties.
    pub reason: StaleReason,
}

/// Why a value of the state file cannot be a setting: the state file is written by jkgate,
/// so a value it would not write is damage (or an older jkgate's), not mod_jk leniency.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// Not an integer.
    #[error("{value:?} is not a whole number")]
    NotANumber {
        /// The value as written.
        value: String,
    },
    /// An integer the setting does not take.
    #[error("{value} is out of range {min}..={max}")]
    OutOfRange {
        /// The value read.
        value: i64,
        /// The least the setting takes.
        min: i64,
        /// The most the setting takes.
        max: i64,
    },
    /// A name longer than mod_jk stores.
    #[error("longer than {MAX_NAME_LEN} bytes")]
    TooLong,
    /// An empty name where the setting needs one.
    #[error("empty")]
    Empty,
    /// Not a word workers.properties reads as true or false.
    #[error("{value:?} is not a boolean")]
    NotABoolean {
        /// The value as written.
        value: String,
    },
    /// A `max_packet_size` AJP cannot use (packets are whole KiB).
    #[error("{value} is not a multiple of 1024")]
    NotWholeKib {
        /// The value read.
        value: i64,
    },
    /// None of the words the setting takes.
    #[error("{value:?} is not {accepted}")]
    NotAccepted {
        /// The value as written.
        value: String,
        /// The words it takes (`active, disabled or stopped`, `an lb method`, ...).
        accepted: &'static str,
    },
    /// A setting the status worker never edits for this kind of worker, so never written.
    #[error("not {kind} setting the status worker edits")]
    NotEditable {
        /// `a connection`, `a member` or `an lb`.
        kind: &'static str,
    },
}

/// Why an edit no longer fits the workers it is laid over.
#[derive(Clone, Debug, thiserror::Error)]
pub enum StaleReason {
    /// The value is no setting (see [`SettingError`]).
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The edited worker was removed from workers.properties.
    #[error("worker {worker} is no longer in worker.list")]
    WorkerGone {
        /// The worker of the edit.
        worker: String,
    },
    /// The edited member was removed from its lb.
    #[error("{member} is no longer a member of {worker}")]
    MemberGone {
        /// The lb of the edit.
        worker: String,
        /// The member of the edit.
        member: String,
    },
    /// The edited route is another member's in workers.properties now.
    #[error("route {route} is member {member}'s now")]
    RouteTaken {
        /// The route of the edit.
        route: String,
        /// The member that has it.
        member: String,
    },
    /// An edit of a member, while the worker is an ajp13 worker now.
    #[error("worker {worker} is an ajp13 worker now, without members")]
    NoMembers {
        /// The worker of the edit.
        worker: String,
    },
    /// The worker is a status worker now, which has nothing to edit.
    #[error("worker {worker} is a status worker now")]
    NowStatus {
        /// The worker of the edit.
        worker: String,
    },
    /// The value fits, but the worker cannot run with it (an edited host that no longer
    /// resolves). Shared: one failure can make several edits stale (`host` and `port`).
    #[error(transparent)]
    Unrunnable(Arc<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for StaleEdit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runtime edit {}={} not applied: {}",
            self.key, self.value, self.reason
        )
    }
}

/// A strict integer in `min..=max` (the state file is written by jkgate, so anything else
/// is damage, not mod_jk leniency).
fn int(value: &str, min: i64, max: i64) -> Result<i64, SettingError> {
    let n: i64 = value.trim().parse().map_err(|_| SettingError::NotANumber {
        value: value.to_owned(),
    })?;
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(SettingError::OutOfRange { value: n, min, max })
    }
}

const INT_MAX: i64 = i32::MAX as i64;

fn name_like(value: &str, may_be_empty: bool) -> Result<String, SettingError> {
    if value.len() > MAX_NAME_LEN {
        Err(SettingError::TooLong)
    } else if value.is_empty() && !may_be_empty {
        Err(SettingError::Empty)
    } else {
        Ok(value.to_owned())
    }
}

fn boolean(value: &str) -> Result<bool, SettingError> {
    super::value::parse_bool(value).ok_or_else(|| SettingError::NotABoolean {
        value: value.to_owned(),
    })
}

/// The error for `value`, which is none of the words `accepted` describes.
fn not_accepted(value: &str, accepted: &'static str) -> SettingError {
    SettingError::NotAccepted {
        value: value.to_owned(),
        accepted,
    }
}

fn ms(n: i64) -> Duration {
    Duration::from_millis(n as u64)
}

fn secs(n: i64) -> Duration {
    Duration::from_secs(n as u64)
}

/// Sets connection setting `setting` of `ajp` (ranges of the status worker's edit form).
pub fn apply_ajp_setting(
    setting: &str,
    value: &str,
    ajp: &mut AjpSettings,
) -> Result<(), SettingError> {
    match setting {
        "host" => ajp.host = name_like(value, false)?,
        "port" => ajp.port = int(value, 0, i64::from(u16::MAX))? as u16,
        "connection_pool_timeout" => ajp.connection_pool_timeout = secs(int(value, 0, INT_MAX)?),
        "ping_timeout" => ajp.ping_timeout = ms(int(value, 0, INT_MAX)?),
        "connect_timeout" => ajp.connect_timeout = ms(int(value, 0, INT_MAX)?),
        "prepost_timeout" => ajp.prepost_timeout = ms(int(value, 0, INT_MAX)?),
        "reply_timeout" => ajp.reply_timeout = ms(int(value, 0, INT_MAX)?),
        "retries" => ajp.retries = int(value, 1, INT_MAX)? as u32,
        "retry_interval" => ajp.retry_interval = ms(int(value, 1, INT_MAX)?),
        "connection_ping_interval" => {
            ajp.connection_ping_interval = secs(int(value, 0, INT_MAX)?);
        }
        "recovery_options" => {
            ajp.recovery_options = RecoveryOptions(int(value, 0, INT_MAX)? as u32);
        }
        "busy_limit" => ajp.busy_limit = int(value, 0, INT_MAX)? as u32,
        "max_packet_size" => {
            let size = int(
                value,
                i64::from(DEFAULT_MAX_PACKET_SIZE),
                i64::from(MAX_MAX_PACKET_SIZE),
            )?;
            if size % 1024 != 0 {
                return Err(SettingError::NotWholeKib { value: size });
            }
            ajp.max_packet_size = size as u32;
        }
        _ => {
            return Err(SettingError::NotEditable {
                kind: "a connection",
            });
        }
    }
    Ok(())
}

/// Sets member setting `setting` of `member` (a route is checked against the other
/// members' by the caller).
pub fn apply_member_setting(
    setting: &str,
    value: &str,
    member: &mut MemberSettings,
) -> Result<(), SettingError> {
    match setting {
        "activation" => {
            member.activation = Activation::from_modjk(value)
                .ok_or_else(|| not_accepted(value, "active, disabled or stopped"))?;
        }
        "lbfactor" => member.lbfactor = int(value, 1, INT_MAX)? as u32,
        "route" => member.route = name_like(value, false)?,
        "redirect" => member.redirect = name_like(value, true)?,
        "domain" => member.domain = name_like(value, true)?,
        "distance" => member.distance = int(value, 0, INT_MAX)? as i32,
        _ => return Err(SettingError::NotEditable { kind: "a member" }),
    }
    Ok(())
}

/// Sets lb setting `setting` of `lb`.
pub fn apply_lb_setting(setting: &str, value: &str, lb: &mut LbWorker) -> Result<(), SettingError> {
    let s = &mut lb.settings;
    match setting {
        "retries" => s.retries = int(value, 1, INT_MAX)? as u32,
        "retry_interval" => s.retry_interval = ms(int(value, 1, INT_MAX)?),
        "recover_time" => s.recover_time = secs(int(value, 1, INT_MAX)?),
        "error_escalation_time" => s.error_escalation_time = secs(int(value, 1, INT_MAX)?),
        "max_reply_timeouts" => s.max_reply_timeouts = int(value, 0, INT_MAX)? as u32,
        "sticky_session" => s.sticky_session = boolean(value)?,
        "sticky_session_force" => s.sticky_session_force = boolean(value)?,
        "method" => {
            s.method =
                LbMethod::from_modjk(value).ok_or_else(|| not_accepted(value, "an lb method"))?;
        }
        "lock" => {
            s.lock = LbLock::from_modjk(value)
                .ok_or_else(|| not_accepted(value, "Optimistic or Pessimistic"))?;
        }
        _ => return Err(SettingError::NotEditable { kind: "an lb" }),
    }
    Ok(())
}

/// One edit applied to `config`.
fn apply_one(config: &mut WorkersConfig, key: &EditKey, value: &str) -> Result<(), StaleReason> {
    let Some(worker) = config.workers.iter_mut().find(|w| w.name == key.worker) else {
        return Err(StaleReason::WorkerGone {
            worker: key.worker.clone(),
        });
    };
    match (&mut worker.kind, &key.member) {
        (WorkerKind::Lb(lb), Some(member_name)) => {
            let Some(index) = lb.members.iter().position(|m| &m.name == member_name) else {
                return Err(StaleReason::MemberGone {
                    worker: key.worker.clone(),
                    member: member_name.clone(),
                });
            };
            let member = &mut lb.members[index];
            if MEMBER_SETTINGS.contains(&key.setting.as_str()) {
                let mut changed = member.member.clone();
                apply_member_setting(&key.setting, value, &mut changed)?;
                if key.setting == "route"
                    && let Some(other) = lb
                        .members
                        .iter()
                        .enumerate()
                        .find(|(i, m)| *i != index && m.member.route == changed.route)
                {
                    return Err(StaleReason::RouteTaken {
                        route: changed.route,
                        member: other.1.name.clone(),
                    });
                }
                lb.members[index].member = changed;
                Ok(())
            } else {
                Ok(apply_ajp_setting(&key.setting, value, &mut member.ajp)?)
            }
        }
        (WorkerKind::Lb(lb), None) => Ok(apply_lb_setting(&key.setting, value, lb)?),
        (WorkerKind::Ajp13(ajp), None) => Ok(apply_ajp_setting(&key.setting, value, ajp)?),
        (WorkerKind::Ajp13(_), Some(_)) => Err(StaleReason::NoMembers {
            worker: key.worker.clone(),
        }),
        (WorkerKind::Status(_), _) => Err(StaleReason::NowStatus {
            worker: key.worker.clone(),
        }),
    }
}

/// `config` with every edit that fits laid over it, and the edits that do not.
pub fn apply_edits(config: &WorkersConfig, edits: &Edits) -> (WorkersConfig, Vec<StaleEdit>) {
    let mut patched = config.clone();
    let mut stale = Vec::new();
    // Routes last: a route edit is checked against the other members' routes with every
    // other edit in place.
    let (routes, others): (Vec<_>, Vec<_>) = edits
        .iter()
        .partition(|(key, _)| key.member.is_some() && key.setting == "route");
    for (key, value) in others.into_iter().chain(routes) {
        if let Err(reason) = apply_one(&mut patched, key, &value.value) {
            stale.push(StaleEdit {
                key: key.clone(),
                value: value.value.clone(),
                reason,
            });
        }
    }
    (patched, stale)
}

/// The value workers.properties would write for a duration in milliseconds.
pub fn millis_text(d: Duration) -> String {
    d.as_millis().to_string()
}

/// The value workers.properties would write for a duration in seconds.
pub fn seconds_text(d: Duration) -> String {
    d.as_secs().to_string()
}

/// The edit values of the connection settings of `ajp`, in [`AJP_SETTINGS`] order.
pub fn ajp_values(ajp: &AjpSettings) -> Vec<(&'static str, String)> {
    vec![
        ("host", ajp.host.clone()),
        ("port", ajp.port.to_string()),
        (
            "connection_pool_timeout",
            seconds_text(ajp.connection_pool_timeout),
        ),
        ("ping_timeout", millis_text(ajp.ping_timeout)),
        ("connect_timeout", millis_text(ajp.connect_timeout)),
        ("prepost_timeout", millis_text(ajp.prepost_timeout)),
        ("reply_timeout", millis_text(ajp.reply_timeout)),
        ("retries", ajp.retries.to_string()),
        ("retry_interval", millis_text(ajp.retry_interval)),
        (
            "connection_ping_interval",
            seconds_text(ajp.connection_ping_interval),
        ),
        ("recovery_options", ajp.recovery_options.0.to_string()),
        ("busy_limit", ajp.busy_limit.to_string()),
        ("max_packet_size", ajp.max_packet_size.to_string()),
    ]
}

/// The name an edit writes for an activation (read back by its first letter).
pub fn activation_text(activation: Activation) -> &'static str {
    match activation {
        Activation::Active => "active",
        Activation::Disabled => "disabled",
        Activation::Stopped => "stopped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::settings::RunSettings;

    fn config() -> WorkersConfig {
        let text = "worker.list=lb,solo\n\
                    worker.lb.type=lb\nworker.lb.balance_workers=node1,node2\n\
                    worker.node1.port=8109\nworker.node2.port=8209\n\
                    worker.solo.port=8309\n";
        let listen = "127.0.0.1:0".parse().expect("address");
        RunSettings::from_workers_text("workers.properties", text, &[], listen)
            .expect("valid")
            .workers
    }

    fn edits(list: &[(&str, Option<&str>, &str, &str)]) -> Edits {
        list.iter()
            .map(|(w, m, s, v)| {
                (
                    EditKey::new(w, *m, s),
                    EditValue {
                        value: (*v).to_owned(),
                        changed: None,
                        by: None,
                    },
                )
            })
            .collect()
    }

    fn lb(config: &WorkersConfig) -> &LbWorker {
        match &config.get("lb").expect("lb").kind {
            WorkerKind::Lb(lb) => lb,
            _ => panic!("lb is an lb"),
        }
    }

    #[test]
    fn edits_that_fit_are_applied() {
        let set = edits(&[
            ("lb", Some("node2"), "activation", "disabled"),
            ("lb", Some("node2"), "lbfactor", "5"),
            ("lb", Some("node1"), "route", "n1"),
            ("lb", Some("node1"), "domain", "east"),
            ("lb", Some("node1"), "reply_timeout", "2500"),
            ("lb", None, "sticky_session", "false"),
            ("lb", None, "recover_time", "7"),
            ("solo", None, "port", "8400"),
        ]);
        let (patched, stale) = apply_edits(&config(), &set);
        assert!(stale.is_empty(), "{stale:?}");
        let lb = lb(&patched);
        let node1 = lb.member("node1").expect("node1");
        let node2 = lb.member("node2").expect("node2");
        assert_eq!(node2.member.activation, Activation::Disabled);
        assert_eq!(node2.member.lbfactor, 5);
        assert_eq!(
            (node1.member.route.as_str(), node1.member.domain.as_str()),
            ("n1", "east")
        );
        assert_eq!(node1.ajp.reply_timeout, Duration::from_millis(2500));
        assert!(!lb.settings.sticky_session);
        assert_eq!(lb.settings.recover_time, Duration::from_secs(7));
        match &patched.get("solo").expect("solo").kind {
            WorkerKind::Ajp13(ajp) => assert_eq!(ajp.port, 8400),
            _ => panic!("solo is ajp13"),
        }
    }

    #[test]
    fn each_edit_that_does_not_fit_is_reported_and_skipped() {
        let cases: &[(&str, Option<&str>, &str, &str, &str)] = &[
            ("gone", None, "retries", "3", "no longer in worker.list"),
            (
                "lb",
                Some("node9"),
                "activation",
                "stopped",
                "no longer a member",
            ),
            ("lb", Some("node1"), "lbfactor", "0", "out of range"),
            ("lb", Some("node1"), "activation", "x", "not active"),
            (
                "lb",
                Some("node1"),
                "max_packet_size",
                "9000",
                "multiple of 1024",
            ),
            ("lb", Some("node1"), "route", "node2", "member node2's now"),
            ("lb", None, "method", "?", "not an lb method"),
            ("solo", Some("x"), "port", "1", "without members"),
            ("solo", None, "lbfactor", "2", "not a connection setting"),
            ("lb", Some("node1"), "port", "65536", "out of range"),
        ];
        let base = config();
        for (w, m, s, v, why) in cases {
            let set = edits(&[(w, *m, s, v), ("lb", Some("node2"), "distance", "3")]);
            let (patched, stale) = apply_edits(&base, &set);
            assert_eq!(stale.len(), 1, "{w} {m:?} {s}={v}: {stale:?}");
            assert_eq!(stale[0].key, EditKey::new(w, *m, s));
            assert!(stale[0].reason.to_string().contains(why), "{}", stale[0]);
            // The edit that fits is applied all the same; the stale one changed nothing.
            let mut expected = base.clone();
            match &mut expected.workers[0].kind {
                WorkerKind::Lb(lb) => lb.members[1].member.distance = 3,
                _ => unreachable!(),
            }
            assert_eq!(patched, expected, "{w} {m:?} {s}={v}");
        }
    }

    #[test]
    fn the_document_round_trips_and_refuses_other_formats() {
        let set = edits(&[
            ("lb", Some("node2"), "activation", "disabled"),
            ("lb", None, "retries", "3"),
        ]);
        let text = StateDocument::of(&set).to_json();
        assert!(text.contains("\"member\": \"node2\""), "{text}");
        assert_eq!(StateDocument::parse(&text).expect("reads"), set);
        assert!(matches!(
            StateDocument::parse(r#"{"format":"jkgate-state/9","edits":[]}"#),
            Err(StateFormatError::Format { .. })
        ));
        assert!(StateDocument::parse("not json").is_err());
    }
}
