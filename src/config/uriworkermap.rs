//! Request mapping: `uriworkermap.properties`, `JkMount`-style lines and
//! `worker.X.mount`, matched as mod_jk's `jk_uri_worker_map.c` does (spec §6).
//!
//! * Exact rules match the whole (normalised) path; `*` matches any sequence including `/`,
//!   `?` exactly one byte. Matching is byte-wise and case-sensitive.
//! * `X|Y` stands for the two rules `X` and `XY` (file and JkMount only).
//! * A leading `-` disables a rule, a leading `!` makes it an exclusion (`-!` both).
//! * Rules are ordered by number of `/` (more first), then pattern length (longer first),
//!   then source (file, JkMount, `worker.X.mount`); the first positive match wins, then
//!   **every** exclusion for that worker (or `*`) vetoes it, whatever its specificity.
//! * Patterns must start with `/` (mod_jk rejects the rule otherwise).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::{ConfigError, ConfigWarning, Origin};
use super::properties::{DuplicateMode, EnvLookup, PropertyMap};
use super::value::{c_atoi, parse_int_list, split_list};
use super::workers::{Activation, FailOnStatus};

/// Paths longer than this are never mapped (mod_jk's `JK_MAX_URI_LEN`).
pub const MAX_MAPPED_PATH_LEN: usize = 4095;

/// Where a rule came from; also the last precedence key (earlier variant first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MountSource {
    /// `uriworkermap.properties` (`JkMountFile`).
    UriWorkerMap,
    /// `JkMount` lines (jkgate.ini, `--mount`).
    JkMount,
    /// `worker.<name>.mount` in workers.properties.
    WorkerDefinition,
}

impl MountSource {
    /// The name mod_jk's status worker prints for the source.
    pub fn status_name(self) -> &'static str {
        match self {
            MountSource::UriWorkerMap => "uriworkermap",
            MountSource::JkMount => "JkMount",
            MountSource::WorkerDefinition => "worker definition",
        }
    }
}

/// Exact or wildcard rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MatchKind {
    /// No `*`/`?`: the whole path must be equal.
    Exact,
    /// Contains `*` or `?`.
    Wildcard,
}

/// Per-rule overrides written after the worker name (`worker;name=value;...`), spec §6.5.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountExtensions {
    /// `reply_timeout=` (ms): `None` = use the worker's; `Some(ZERO)` = no timeout.
    pub reply_timeout: Option<Duration>,
    /// `sticky_ignore=` non-zero: don't extract session ids.
    pub sticky_ignore: bool,
    /// `stateless=` non-zero: never counts as a new session; pure rotation.
    pub stateless: bool,
    /// `active=`: lb member names forced active for these requests.
    pub active: Vec<String>,
    /// `disabled=`: lb member names forced disabled.
    pub disabled: Vec<String>,
    /// `stopped=`: lb member names forced stopped.
    pub stopped: Vec<String>,
    /// `fail_on_status=`: replaces the worker's list for these requests.
    pub fail_on_status: Option<FailOnStatus>,
    /// `use_server_errors=`: statuses ≥ this get jkgate's own error page (0 = off).
    pub use_server_errors: u16,
    /// `session_cookie=`: overrides the lb's cookie name for extraction.
    pub session_cookie: Option<String>,
    /// `session_path=`: overrides the lb's path parameter name for extraction.
    pub session_path: Option<String>,
    /// `set_session_cookie=` non-zero: emit the routing cookie.
    pub set_session_cookie: bool,
    /// `session_cookie_path=`: parsed (mod_jk's routing cookie still uses the lb's path).
    pub session_cookie_path: Option<String>,
}

impl MountExtensions {
    /// The activation override for lb member `member` (by name): stopped beats disabled
    /// beats active; `None` when the rule does not mention it.
    pub fn activation_override(&self, member: &str) -> Option<Activation> {
        let named = |list: &Vec<String>| list.iter().any(|m| m == member);
        if named(&self.stopped) {
            Some(Activation::Stopped)
        } else if named(&self.disabled) {
            Some(Activation::Disabled)
        } else if named(&self.active) {
            Some(Activation::Active)
        } else {
            None
        }
    }
}

/// One mapping rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mount {
    /// The pattern without the `-`/`!` prefixes (starts with `/`).
    pub pattern: String,
    /// Worker name (`*` only on exclusions).
    pub worker: String,
    /// Exact or wildcard.
    pub kind: MatchKind,
    /// `!` prefix: an exclusion ("unmount") rule.
    pub exclusion: bool,
    /// `-` prefix: the rule is kept (and shown) but never used.
    pub disabled: bool,
    /// Where the rule came from.
    pub source: MountSource,
    /// File and line, when known.
    #[serde(skip)]
    pub origin: Option<Origin>,
    /// Per-rule overrides.
    pub extensions: MountExtensions,
}

impl Mount {
    /// Number of `/` in the pattern (first precedence key).
    pub fn slash_count(&self) -> usize {
        self.pattern.bytes().filter(|&b| b == b'/').count()
    }

    /// Whether this rule's pattern matches `path` (ignores `disabled`/`exclusion`).
    pub fn matches(&self, path: &[u8]) -> bool {
        match self.kind {
            MatchKind::Exact => self.pattern.as_bytes() == path,
            MatchKind::Wildcard => wildcard_match(self.pattern.as_bytes(), path),
        }
    }

    /// The status worker's `type` text: `Exact`/`Wildchar`, prefixed `Disabled ` and/or
    /// `Unmount `.
    pub fn status_type(&self) -> String {
        let mut out = String::new();
        if self.disabled {
            out.push_str("Disabled ");
        }
        if self.exclusion {
            out.push_str("Unmount ");
        }
        out.push_str(match self.kind {
            MatchKind::Exact => "Exact",
            MatchKind::Wildcard => "Wildchar",
        });
        out
    }
}

/// `*`/`?` matching over bytes (`*` crosses `/`), case-sensitive.
pub fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    wildcard_match_folded(pattern, text, |b| b)
}

/// `*` any run of bytes, `?` one byte, each text byte passed through `fold` before it is
/// compared (the vhost names fold it to lower case, as httpd's `ap_strcasecmp_match`).
pub(crate) fn wildcard_match_folded(pattern: &[u8], text: &[u8], fold: impl Fn(u8) -> u8) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        let c = fold(text[t]);
        if p < pattern.len() && pattern[p] != b'*' && (pattern[p] == b'?' || pattern[p] == c) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Why a request path cannot be normalised (mod_jk answers 400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    /// The path does not start with `/`.
    #[error("request path does not start with `/`")]
    NotAbsolute,
    /// `..` segments climb above the root.
    #[error("request path climbs above the root with `..`")]
    AboveRoot,
}

/// The normalisation mod_jk applies to the (already percent-decoded) path before matching,
/// spec §6.4: strip every `;param` from every segment, collapse runs of `/`, drop `.`
/// segments, resolve `..` (climbing above the root is an error).
/// Borrows `decoded` when it is already normal (the common case: nothing allocated).
pub fn normalize_path(decoded: &[u8]) -> Result<Cow<'_, [u8]>, NormalizeError> {
    if decoded.first() != Some(&b'/') {
        return Err(NormalizeError::NotAbsolute);
    }
    if !decoded.contains(&b';') {
        return resolve_dot_segments(decoded);
    }
    // 1. strip path parameters: from each `;` up to the next `/`.
    let mut stripped = Vec::with_capacity(decoded.len());
    let mut in_param = false;
    for &b in decoded {
        match b {
            b';' => in_param = true,
            b'/' => {
                in_param = false;
                stripped.push(b);
            }
            _ if !in_param => stripped.push(b),
            _ => {}
        }
    }
    resolve_dot_segments(&stripped).map(|resolved| Cow::Owned(resolved.into_owned()))
}

/// Collapses runs of `/`, drops `.` segments and resolves `..` in an absolute path (a
/// trailing `/`, `/.` or `/..` leaves a trailing `/`); climbing above the root is an
/// error. Path parameters are left as they are. Borrows `path` when nothing changes.
pub fn resolve_dot_segments(path: &[u8]) -> Result<Cow<'_, [u8]>, NormalizeError> {
    if path.first() != Some(&b'/') {
        return Err(NormalizeError::NotAbsolute);
    }
    if already_resolved(path) {
        return Ok(Cow::Borrowed(path));
    }
    resolve_segments(path).map(Cow::Owned)
}

/// The general case of [`resolve_dot_segments`], for an absolute path.
fn resolve_segments(path: &[u8]) -> Result<Vec<u8>, NormalizeError> {
    let segments: Vec<&[u8]> = path[1..].split(|&b| b == b'/').collect();
    let count = segments.len();
    let mut kept: Vec<&[u8]> = Vec::with_capacity(count);
    let mut trailing_slash = false;
    for (index, segment) in segments.into_iter().enumerate() {
        let is_last = index + 1 == count;
        match segment {
            b"" | b"." => trailing_slash |= is_last,
            b".." => {
                if kept.pop().is_none() {
                    return Err(NormalizeError::AboveRoot);
                }
                trailing_slash |= is_last;
            }
            other => kept.push(other),
        }
    }
    let mut out = Vec::with_capacity(path.len());
    for segment in &kept {
        out.push(b'/');
        out.extend_from_slice(segment);
    }
    if out.is_empty() || trailing_slash {
        out.push(b'/');
    }
    Ok(out)
}

/// True when [`resolve_dot_segments`] would give `path` back unchanged (the common case,
/// checked without allocating): no `.` or `..` segment, and no empty segment but the last
/// (a trailing `/`).
fn already_resolved(path: &[u8]) -> bool {
    // Every segment starts after a `/`: only a `/` followed by `/` or `.` needs a look.
    // (A plain loop: paths are short, shorter than what a vectorised search pays off on.)
    let mut at = 0;
    while at < path.len() {
        if path[at] == b'/' {
            let segment = &path[at + 1..];
            match segment.first() {
                Some(b'/') => return false,
                Some(b'.') => {
                    let end = segment
                        .iter()
                        .position(|&c| c == b'/')
                        .unwrap_or(segment.len());
                    if matches!(&segment[..end], b"." | b"..") {
                        return false;
                    }
                }
                _ => {}
            }
        }
        at += 1;
    }
    true
}

/// `JkOptions +RejectUnsafeURI`: a decoded, normalised path containing `%` or `\` is not
/// mapped.
pub fn is_unsafe_path(path: &[u8]) -> bool {
    path.iter().any(|&b| b == b'%' || b == b'\\')
}

/// The rule set, kept in mod_jk's precedence order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountTable {
    rules: Vec<Mount>,
    /// Warnings from reading the rules (skipped lines, unknown extensions, ...).
    #[serde(skip)]
    pub warnings: Vec<ConfigWarning>,
}

impl MountTable {
    /// An empty table (nothing is mapped).
    pub fn new() -> Self {
        MountTable::default()
    }

    /// All rules, in precedence order.
    pub fn rules(&self) -> &[Mount] {
        &self.rules
    }

    /// Adds a rule and restores the precedence order.
    pub fn push(&mut self, rule: Mount) {
        self.rules.push(rule);
        self.sort();
    }

    fn sort(&mut self) {
        // Stable: equal keys keep insertion order.
        self.rules.sort_by_key(|rule| {
            (
                Reverse(rule.slash_count()),
                Reverse(rule.pattern.len()),
                rule.source,
            )
        });
    }

    /// The rule mapping `path` (decoded and normalised, see [`normalize_path`]): the first
    /// positive rule in precedence order that matches, unless an exclusion for its worker
    /// (or `*`) matches too. Paths longer than 4095 bytes are never mapped.
    pub fn find(&self, path: &[u8]) -> Option<&Mount> {
        if path.len() > MAX_MAPPED_PATH_LEN {
            return None;
        }
        let hit = self
            .rules
            .iter()
            .find(|rule| !rule.disabled && !rule.exclusion && rule.matches(path))?;
        let vetoed = self.rules.iter().any(|rule| {
            rule.exclusion
                && !rule.disabled
                && (rule.worker == hit.worker || rule.worker == "*")
                && rule.matches(path)
        });
        if vetoed { None } else { Some(hit) }
    }

    /// [`MountTable::find`] on a `&str` path.
    pub fn find_str(&self, path: &str) -> Option<&Mount> {
        self.find(path.as_bytes())
    }

    /// Every rule naming `worker` (or `*`), as the status worker lists them.
    pub fn rules_for<'a>(&'a self, worker: &'a str) -> impl Iterator<Item = &'a Mount> + 'a {
        self.rules
            .iter()
            .filter(move |rule| rule.worker == worker || rule.worker == "*")
    }

    /// Reads `uriworkermap.properties` content: same line grammar as workers.properties,
    /// a repeated pattern overwrites (last wins, warning), invalid rules are skipped with a
    /// warning as mod_jk does. Errors only for what stops mod_jk reading the file.
    pub fn read_uriworkermap(
        &mut self,
        content: &[u8],
        file: &str,
        env: EnvLookup<'_>,
    ) -> Result<(), ConfigError> {
        let mut map = PropertyMap::new();
        map.read(content, file, DuplicateMode::Overwrite, env)?;
        self.warnings.append(&mut map.warnings);
        for property in map.iter() {
            for (pattern, worker) in expand_optional_suffix(&property.key, &property.value) {
                match parse_rule(
                    &pattern,
                    &worker,
                    MountSource::UriWorkerMap,
                    Some(property.origin.clone()),
                ) {
                    Ok((rule, mut warnings)) => {
                        self.warnings.append(&mut warnings);
                        self.rules.push(rule);
                    }
                    Err(error) => self.warnings.push(ConfigWarning {
                        origin: Some(property.origin.clone()),
                        key: property.key.clone(),
                        message: format!("rule skipped as mod_jk does: {}", problem_of(&error)),
                    }),
                }
            }
        }
        self.sort();
        Ok(())
    }

    /// Adds a `JkMount`-style rule: `pattern` (with optional `-`/`!` prefixes and `|`
    /// shortcut) mapped to `worker[;ext=value...]`. Invalid rules are errors here (they
    /// were typed by the operator, not read from a legacy file).
    pub fn add_jk_mount(
        &mut self,
        pattern: &str,
        worker: &str,
        origin: Option<Origin>,
    ) -> Result<(), ConfigError> {
        // JkMount with the same pattern twice: last wins.
        for (pattern, worker) in expand_optional_suffix(pattern, worker) {
            let (rule, mut warnings) =
                parse_rule(&pattern, &worker, MountSource::JkMount, origin.clone())?;
            self.warnings.append(&mut warnings);
            self.rules.retain(|existing| {
                !(existing.source == MountSource::JkMount
                    && existing.pattern == rule.pattern
                    && existing.exclusion == rule.exclusion
                    && existing.disabled == rule.disabled)
            });
            self.rules.push(rule);
        }
        self.sort();
        Ok(())
    }

    /// Adds a `JkMount`-style line `PATTERN=WORKER[;ext...]` (as `--mount` takes it).
    pub fn add_jk_mount_line(
        &mut self,
        line: &str,
        origin: Option<Origin>,
    ) -> Result<(), ConfigError> {
        let Some((pattern, worker)) = line.split_once('=') else {
            return Err(ConfigError::BadMount {
                origin,
                pattern: line.to_owned(),
                problem: "expected PATTERN=WORKER, e.g. /app/*=lb".to_owned(),
            });
        };
        let (pattern, worker) = (pattern.trim(), worker.trim());
        if pattern.is_empty() || worker.is_empty() {
            return Err(ConfigError::BadMount {
                origin,
                pattern: line.to_owned(),
                problem: "expected PATTERN=WORKER with both sides non-empty, e.g. /app/*=lb"
                    .to_owned(),
            });
        }
        self.add_jk_mount(pattern, worker, origin)
    }

    /// Adds the `worker.<name>.mount` patterns of a listed worker: no `|` shortcut (mod_jk
    /// keeps it literally), invalid patterns skipped with a warning.
    pub fn add_worker_mounts(&mut self, worker: &str, patterns: &[String], origin: Option<Origin>) {
        for pattern in patterns {
            match parse_rule(
                pattern,
                worker,
                MountSource::WorkerDefinition,
                origin.clone(),
            ) {
                Ok((rule, mut warnings)) => {
                    self.warnings.append(&mut warnings);
                    self.rules.push(rule);
                }
                Err(error) => self.warnings.push(ConfigWarning {
                    origin: origin.clone(),
                    key: format!("worker.{worker}.mount"),
                    message: format!("rule skipped as mod_jk does: {}", problem_of(&error)),
                }),
            }
        }
        self.sort();
    }

    /// Copies the `JkMount` rules of `base` that this table does not write itself (same
    /// pattern and prefixes), as mod_jk's `JkMountCopy` does for a vhost with mounts of its
    /// own (`jk_map_copy` keeps the vhost's entries).
    pub fn copy_jk_mounts(&mut self, base: &MountTable) {
        for rule in base
            .rules
            .iter()
            .filter(|r| r.source == MountSource::JkMount)
        {
            let written = self.rules.iter().any(|own| {
                own.source == MountSource::JkMount
                    && own.pattern == rule.pattern
                    && own.exclusion == rule.exclusion
                    && own.disabled == rule.disabled
            });
            if !written {
                self.rules.push(rule.clone());
            }
        }
        self.sort();
    }

    /// Removes every rule that came from `source` (a mount-file reload replaces them).
    pub fn remove_source(&mut self, source: MountSource) {
        self.rules.retain(|rule| rule.source != source);
    }
}

fn problem_of(error: &ConfigError) -> String {
    match error {
        ConfigError::BadMount { problem, .. } => problem.clone(),
        other => other.to_string(),
    }
}

/// `X|Y` → `X` and `XY` (first `|` only); anything else unchanged.
fn expand_optional_suffix(pattern: &str, worker: &str) -> Vec<(String, String)> {
    match pattern.split_once('|') {
        Some((base, suffix)) => vec![
            (base.to_owned(), worker.to_owned()),
            (format!("{base}{suffix}"), worker.to_owned()),
        ],
        None => vec![(pattern.to_owned(), worker.to_owned())],
    }
}

/// Parses one rule: prefixes, pattern check, worker and extensions.
pub fn parse_rule(
    raw_pattern: &str,
    raw_worker: &str,
    source: MountSource,
    origin: Option<Origin>,
) -> Result<(Mount, Vec<ConfigWarning>), ConfigError> {
    let mut pattern = raw_pattern;
    let mut disabled = false;
    let mut exclusion = false;
    if let Some(rest) = pattern.strip_prefix('-') {
        disabled = true;
        pattern = rest;
    }
    if let Some(rest) = pattern.strip_prefix('!') {
        exclusion = true;
        pattern = rest;
    }
    if !pattern.starts_with('/') {
        return Err(ConfigError::BadMount {
            origin,
            pattern: raw_pattern.to_owned(),
            problem: "the pattern must begin with `/` (after the optional `-` and `!` prefixes), \
                      e.g. /*.jsp instead of *.jsp"
                .to_owned(),
        });
    }
    let mut tokens = raw_worker.split(';');
    let worker = tokens.next().unwrap_or("").trim().to_owned();
    if worker.is_empty() {
        return Err(ConfigError::BadMount {
            origin,
            pattern: raw_pattern.to_owned(),
            problem: "no worker name before the first `;`".to_owned(),
        });
    }
    if worker == "*" && !exclusion {
        return Err(ConfigError::BadMount {
            origin,
            pattern: raw_pattern.to_owned(),
            problem: "worker `*` is only allowed on exclusion rules (`!/pattern=*`)".to_owned(),
        });
    }
    let mut warnings = Vec::new();
    let extensions = parse_extensions(&mut tokens, raw_pattern, &origin, &mut warnings);
    let kind = if pattern.contains(['*', '?']) {
        MatchKind::Wildcard
    } else {
        MatchKind::Exact
    };
    let rule = Mount {
        pattern: pattern.to_owned(),
        worker,
        kind,
        exclusion,
        disabled,
        source,
        origin,
        extensions,
    };
    Ok((rule, warnings))
}

fn parse_extensions<'a>(
    tokens: &mut impl Iterator<Item = &'a str>,
    pattern: &str,
    origin: &Option<Origin>,
    warnings: &mut Vec<ConfigWarning>,
) -> MountExtensions {
    let mut ext = MountExtensions::default();
    let mut seen: Vec<&'static str> = Vec::new();
    let mut warn = |message: String| {
        warnings.push(ConfigWarning {
            origin: origin.clone(),
            key: pattern.to_owned(),
            message,
        })
    };
    const ONCE: &[&str] = &[
        "active",
        "disabled",
        "stopped",
        "fail_on_status",
        "session_cookie",
        "session_path",
        "session_cookie_path",
    ];
    while let Some(token) = tokens.next() {
        if token.is_empty() {
            continue;
        }
        let Some((name, value)) = token.split_once('=') else {
            warn(format!(
                "unknown rule extension `{token}` ignored (as mod_jk does); extensions are name=value: \
                 reply_timeout, sticky_ignore, stateless, active, disabled, stopped, fail_on_status, \
                 use_server_errors, session_cookie, session_path, set_session_cookie, session_cookie_path"
            ));
            continue;
        };
        let Some(name) = EXTENSION_NAMES.iter().copied().find(|n| *n == name) else {
            warn(format!(
                "unknown rule extension `{name}` ignored (as mod_jk does); known: {}",
                EXTENSION_NAMES.join(", ")
            ));
            continue;
        };
        if ONCE.contains(&name) {
            if seen.contains(&name) {
                warn(format!(
                    "extension `{name}` given twice; the first one is used, as in mod_jk"
                ));
                continue;
            }
            seen.push(name);
        }
        match name {
            "reply_timeout" => {
                let ms = c_atoi(value);
                ext.reply_timeout = (ms >= 0).then(|| Duration::from_millis(ms as u64));
            }
            "sticky_ignore" => ext.sticky_ignore = c_atoi(value) != 0,
            "stateless" => ext.stateless = c_atoi(value) != 0,
            "set_session_cookie" => ext.set_session_cookie = c_atoi(value) != 0,
            "use_server_errors" => {
                ext.use_server_errors = u16::try_from(c_atoi(value).max(0)).unwrap_or(u16::MAX)
            }
            "active" => ext.active = split_list(value),
            "disabled" => ext.disabled = split_list(value),
            "stopped" => ext.stopped = split_list(value),
            "fail_on_status" => ext.fail_on_status = Some(FailOnStatus(parse_int_list(value))),
            "session_cookie" => ext.session_cookie = Some(value.to_owned()),
            "session_path" => {
                // `session_path=;x`: the empty value takes the next token (mod_jk quirk).
                let value = if value.is_empty() {
                    tokens.next().unwrap_or("")
                } else {
                    value
                };
                ext.session_path = Some(value.to_owned());
            }
            "session_cookie_path" => ext.session_cookie_path = Some(value.to_owned()),
            _ => unreachable!("all EXTENSION_NAMES are handled"),
        }
    }
    for (list, label) in [(&ext.active, "active"), (&ext.disabled, "disabled")] {
        for member in list {
            let stronger = match label {
                "active" => ext.disabled.contains(member) || ext.stopped.contains(member),
                _ => ext.stopped.contains(member),
            };
            if stronger {
                warn(format!(
                    "member `{member}` is listed under several activations; stopped > disabled > active"
                ));
            }
        }
    }
    ext
}

/// Names of the rule extensions mod_jk knows.
pub const EXTENSION_NAMES: &[&str] = &[
    "reply_timeout",
    "sticky_ignore",
    "stateless",
    "active",
    "disabled",
    "stopped",
    "fail_on_status",
    "use_server_errors",
    "session_cookie",
    "session_path",
    "set_session_cookie",
    "session_cookie_path",
];

/// A pseudo file name for rules given on the command line.
pub fn command_line_origin(index: usize) -> Origin {
    Origin::new(
        Arc::<str>::from("<command line --mount>"),
        (index + 1) as u32,
    )
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The shortcut never changes an answer: a path it passes through unchanged is one
        /// the general algorithm gives back unchanged too.
        #[test]
        fn already_resolved_paths_are_those_resolution_keeps(tail in "[/.a;]{0,12}") {
            let path = format!("/{tail}");
            if already_resolved(path.as_bytes()) {
                prop_assert_eq!(resolve_segments(path.as_bytes()).ok(), Some(path.clone().into_bytes()));
            }
            prop_assert_eq!(
                resolve_dot_segments(path.as_bytes()).map(Cow::into_owned),
                resolve_segments(path.as_bytes())
            );
            let stripped: Vec<u8> = {
                let mut out = Vec::new();
                let mut in_param = false;
                for b in path.bytes() {
                    match b {
                        b';' => in_param = true,
                        b'/' => { in_param = false; out.push(b) }
                        _ if !in_param => out.push(b),
                        _ => {}
                    }
                }
                out
            };
            prop_assert_eq!(
                normalize_path(path.as_bytes()).map(Cow::into_owned),
                resolve_segments(&stripped)
            );
        }
    }

    #[test]
    fn common_paths_take_the_shortcut_and_dot_segments_do_not() {
        for (path, shortcut) in [
            ("/", true),
            ("/app/static/1k.bin", true),
            ("/app/", true),
            ("/app//x", false),
            ("/app/./x", false),
            ("/app/../x", false),
            ("/app/.", false),
            ("/app/..", false),
            ("//", false),
            ("/.hidden/x", true),
        ] {
            assert_eq!(already_resolved(path.as_bytes()), shortcut, "{path}");
        }
    }
}
