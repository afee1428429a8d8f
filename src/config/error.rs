//! Errors and warnings of the configuration readers.
//!
//! Every message names the file and line (when the problem comes from a file), the key or
//! worker concerned, and what would have been valid.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a property came from: file name and 1-based line number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// File name as given to the reader (or a pseudo name such as `<command line>`).
    pub file: Arc<str>,
    /// 1-based physical line number (after mod_jk's 8191-byte line splitting).
    pub line: u32,
}

impl Origin {
    /// An origin in `file` at `line`.
    pub fn new(file: impl Into<Arc<str>>, line: u32) -> Self {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Formats an optional origin as `file:line: ` or nothing.
pub(crate) struct At<'a>(pub &'a Option<Origin>);

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(origin) => write!(f, "{origin}: "),
            None => Ok(()),
        }
    }
}

/// A non-fatal finding: mod_jk would accept the input (often silently); jkgate says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// File and line, when the warning is about one property.
    pub origin: Option<Origin>,
    /// The key (or worker name) concerned.
    pub key: String,
    /// What happened and what would be valid.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}: {}", At(&self.origin), self.key, self.message)
    }
}

/// A fatal configuration problem (mod_jk would refuse to start, or jkgate refuses on purpose).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration file could not be read.
    #[error("cannot read {what} {path}: {source}", path = path.display())]
    Io {
        /// Which file this is (`workers file`, `mount file`, `config file`).
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A line (after comment removal) is not valid UTF-8.
    #[error("{origin}: line is not valid UTF-8 (only comments after `#` may hold other bytes)")]
    NotUtf8 {
        /// Where.
        origin: Origin,
    },
    /// A value that `$(name)` substitution or the joining of repeated keys made longer
    /// than any real setting (each `v=$(v)$(v)` line doubles `v`: a file of a few KiB
    /// could otherwise ask for gigabytes).
    #[error(
        "{origin}: `{key}`: the value grows to {length} bytes through `$(...)` substitution or repeated keys, over the limit of {limit} bytes; a value that refers to itself (`{key}=$({key})...`) doubles with every line"
    )]
    ValueTooLong {
        /// Where.
        origin: Origin,
        /// The key.
        key: String,
        /// The length the value would have.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// A `worker.` key that does not end in a directive mod_jk knows (fatal in mod_jk too).
    #[error(
        "{origin}: `{key}` is not a supported worker directive{hint}; valid keys are `worker.<name>.<directive>` with one of: {valid}"
    )]
    UnknownDirective {
        /// Where.
        origin: Origin,
        /// The whole key.
        key: String,
        /// ` (did you mean ...?)` or empty.
        hint: String,
        /// The list of accepted directive names.
        valid: String,
    },
    /// `worker.X.reference` names a prefix that has no keys.
    #[error(
        "{origin}: `{key}={target}`: reference not found: no key starts with `{target}.`{hint}"
    )]
    ReferenceNotFound {
        /// Where the reference was written.
        origin: Origin,
        /// The `...reference` key.
        key: String,
        /// Its value.
        target: String,
        /// A hint such as ` (write the full prefix: worker.tpl)`.
        hint: String,
    },
    /// References nested deeper than mod_jk's limit of 20 (or a loop).
    #[error(
        "{origin}: `{key}={target}`: reference chain deeper than {limit} (a loop?); mod_jk refuses this too"
    )]
    ReferenceTooDeep {
        /// Where.
        origin: Origin,
        /// The `...reference` key.
        key: String,
        /// Its value.
        target: String,
        /// The depth limit.
        limit: u32,
    },
    /// `reference` copying would grow the property list past any real configuration
    /// (a template whose keys name the referring worker again; mod_jk loops here).
    #[error(
        "{origin}: `{key}={target}`: reference copying grows without end (limit {limit} reached); a template must not contain keys of the worker that references it"
    )]
    ReferenceExpansion {
        /// Where.
        origin: Origin,
        /// The `...reference` key.
        key: String,
        /// Its value.
        target: String,
        /// The limit reached (properties or references).
        limit: usize,
    },
    /// A worker that references its own template from inside it
    /// (`worker.t.x.reference=worker.t`): copying would feed itself for ever (mod_jk loops).
    #[error(
        "{origin}: `{key}={target}`: worker `{worker}` lies inside its own template `{target}`; copying `{target}.*` into `{worker}.*` would copy the copies again without end; give the template a name that is not a prefix of the worker"
    )]
    ReferenceIntoItself {
        /// Where.
        origin: Origin,
        /// The `...reference` key.
        key: String,
        /// Its value (the template prefix).
        target: String,
        /// The referring worker's prefix (`worker.t.x`).
        worker: String,
    },
    /// A worker's `type` is not one of `ajp13`, `lb`, `status`.
    #[error("{at}worker `{worker}`: type `{value}` {reason}; valid types: ajp13, lb, status", at = At(origin))]
    BadWorkerType {
        /// Where `type` was set (absent if the type came from nowhere).
        origin: Option<Origin>,
        /// Worker name.
        worker: String,
        /// The type value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An `lb` worker without any `balance_workers`.
    #[error("{at}lb worker `{worker}` has no members; set worker.{worker}.balance_workers=<member>[,<member>...]", at = At(origin))]
    LbWithoutMembers {
        /// Where the lb's `type` was set.
        origin: Option<Origin>,
        /// The lb name.
        worker: String,
    },
    /// An lb member that is not an AJP worker (an lb or status worker inside an lb).
    #[error("{at}lb worker `{lb}`: member `{member}` has type `{member_type}`; members must be ajp13 workers", at = At(origin))]
    MemberNotAjp {
        /// Where `balance_workers` was set.
        origin: Option<Origin>,
        /// The lb name.
        lb: String,
        /// The member name.
        member: String,
        /// Its type.
        member_type: &'static str,
    },
    /// Two members of one lb with the same route.
    #[error("{at}lb worker `{lb}`: members `{first}` and `{second}` share the route `{route}`; every member needs its own route (worker.<member>.route, default: the member name)", at = At(origin))]
    DuplicateRoute {
        /// Where the second member's route was set (or the lb's member list).
        origin: Option<Origin>,
        /// The lb name.
        lb: String,
        /// First member name.
        first: String,
        /// Second member name.
        second: String,
        /// The shared route.
        route: String,
    },
    /// A name-like value longer than mod_jk's 63-byte shared-memory strings.
    #[error("{at}`{key}`: value `{value}` is {len} bytes long; mod_jk allows at most 63 bytes", at = At(origin))]
    TooLong {
        /// Where.
        origin: Option<Origin>,
        /// Key (or `worker name`).
        key: String,
        /// The value.
        value: String,
        /// Its length.
        len: usize,
    },
    /// A value outside the range jkgate can use.
    #[error("{at}`{key}={value}`: {problem}; valid: {valid}", at = At(origin))]
    OutOfRange {
        /// Where.
        origin: Option<Origin>,
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What is wrong with it.
        problem: String,
        /// What would be valid.
        valid: &'static str,
    },
    /// A mount rule that cannot be used.
    #[error("{at}mount `{pattern}`: {problem}", at = At(origin))]
    BadMount {
        /// Where (file line, or a pseudo origin for command-line mounts).
        origin: Option<Origin>,
        /// The pattern as written.
        pattern: String,
        /// What is wrong and what would be valid.
        problem: String,
    },
    /// A mount names a worker that is not in `worker.list`.
    #[error("{at}mount `{pattern}` names worker `{worker}`, which is not in worker.list (listed: {listed})", at = At(origin))]
    MountToUnknownWorker {
        /// Where the mount came from.
        origin: Option<Origin>,
        /// The pattern.
        pattern: String,
        /// The worker named.
        worker: String,
        /// The top-level workers.
        listed: String,
    },
    /// A problem in jkgate.ini or on the command line.
    #[error("{at}{setting}: {problem}", at = At(origin))]
    Setting {
        /// Where (jkgate.ini line when known).
        origin: Option<Origin>,
        /// The setting or flag name.
        setting: String,
        /// What is wrong and what would be valid.
        problem: String,
    },
    /// A line of jkgate.ini that cannot be read (no `=`, unknown or repeated key, unknown
    /// section): serde_ini would report it without a line, so jkgate checks lines first.
    #[error("{origin}: {problem}")]
    Ini {
        /// File and line.
        origin: Origin,
        /// What is wrong and what would be valid.
        problem: String,
    },
    /// A `$(name)` that nothing defined, left in a worker setting. mod_jk keeps such text
    /// literally and starts; jkgate refuses, as the value can never be what was meant.
    #[error(
        "{origin}: `{key}={value}`: `$({name})` is not defined: no earlier line sets `{name}` and jkgate's environment has no variable `{name}`; mod_jk would silently keep the text `$({name})` as the value, which can never be what was meant; define `{name}=...` on a line above or set the environment variable {name} for jkgate"
    )]
    UnexpandedVariable {
        /// Where the value was (last) written.
        origin: Origin,
        /// The worker key (names the worker and directive).
        key: String,
        /// The value as it stands after substitution.
        value: String,
        /// The variable name between `$(` and `)`.
        name: String,
    },
    /// Several independent problems found in one pass.
    #[error("{}", join_errors(.0))]
    Several(Vec<ConfigError>),
}

fn join_errors(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// Turns a list of errors into one error (`None` when the list is empty).
    pub fn from_list(mut errors: Vec<ConfigError>) -> Option<ConfigError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(ConfigError::Several(errors)),
        }
    }

    /// The individual errors (one for a plain error, all of them for [`ConfigError::Several`]).
    pub fn errors(&self) -> Vec<&ConfigError> {
        match self {
            ConfigError::Several(list) => list.iter().flat_map(|e| e.errors()).collect(),
            other => vec![other],
        }
    }
}
