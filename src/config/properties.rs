//! The property-file lexer and map, as mod_jk's `jk_map.c` reads `workers.properties`
//! and `uriworkermap.properties` (spec §1.1–§1.5).
//!
//! * A physical line is at most 8191 bytes (mod_jk reads with `fgets` into 8192 bytes);
//!   a longer line is split and its tail parsed as a line of its own.
//! * Everything from the first `#` anywhere on the line is dropped. No escapes, no
//!   continuation lines.
//! * The line is trimmed (C `isspace`), split at the first `=`, key and value trimmed again;
//!   lines without `=`, with an empty key or an empty value are ignored.
//! * `worker.` keys must end in `.` + a supported directive (fatal otherwise); deprecated
//!   directives are accepted with a warning.
//! * `$(name)` in a value is replaced by an earlier key's value, else the environment.
//! * Repeated keys are merged by the last dot component: list directives append with `,`,
//!   unique ones are overwritten (warning), `*_path` appends with `:`, `.cmd_line` with a
//!   space, everything else with `*`.
//! * `worker.X.reference=worker.T` copies every `worker.T.*` key that `worker.X` lacks,
//!   resolved after the whole file was read, chains up to depth 20.

use std::sync::Arc;

use super::error::{ConfigError, ConfigWarning, Origin};
use super::value::{is_c_space, trim_c_space};

/// mod_jk's line buffer: `fgets(buf, 8192)` reads at most 8191 bytes per call.
pub const MAX_LINE_BYTES: usize = 8191;
/// Depth limit of `reference` chains.
pub const REFERENCE_DEPTH_LIMIT: u32 = 20;

/// Most properties `reference` copying may produce. Real files have a few thousand at
/// most; a template that contains keys of its own referrer would otherwise grow forever.
pub const REFERENCE_PROPERTY_LIMIT: usize = 20_000;

/// Most references one file may resolve (copied `reference` keys count too); a real file
/// has one per worker.
pub const REFERENCE_COUNT_LIMIT: usize = 1_000;

/// What reference resolution may still do, and the keys already present.
struct ReferenceBudget {
    keys: std::collections::HashSet<String>,
    references_left: usize,
}
/// Longest value a line may end up with after `$(name)` substitution and the joining of
/// repeated keys (mod_jk reads lines of at most 8 KiB, but never bounds what substitution
/// makes of them).
pub const VALUE_LENGTH_LIMIT: usize = 64 * 1024;

fn value_too_long(origin: Origin, key: &str, length: usize) -> ConfigError {
    ConfigError::ValueTooLong {
        origin,
        key: key.to_owned(),
        length,
        limit: VALUE_LENGTH_LIMIT,
    }
}

/// Most `$(...)` substitutions tried in one value.
const SUBSTITUTION_LIMIT: u32 = 21;

/// Every directive name mod_jk accepts as the last component of a `worker.` key (80).
pub const SUPPORTED_DIRECTIVES: &[&str] = &[
    "sysprops",
    "stderr",
    "stdout",
    "secret",
    "mx",
    "ms",
    "class_path",
    "bridge",
    "jvm_lib",
    "ld_path",
    "cmd_line",
    "native_lib",
    "reference",
    "host",
    "source",
    "port",
    "type",
    "cachesize",
    "connection_pool_size",
    "connection_pool_minsize",
    "cache_timeout",
    "connection_pool_timeout",
    "connection_acquire_timeout",
    "recovery_options",
    "connect_timeout",
    "prepost_timeout",
    "ping_timeout",
    "ping_mode",
    "reply_timeout",
    "socket_timeout",
    "socket_connect_timeout",
    "socket_buffer",
    "socket_keepalive",
    "connection_ping_interval",
    "recycle_timeout",
    "lbfactor",
    "distance",
    "balanced_workers",
    "balance_workers",
    "sticky_session",
    "sticky_session_force",
    "session_cookie",
    "session_path",
    "set_session_cookie",
    "session_cookie_path",
    "local_worker",
    "local_worker_only",
    "jvm_route",
    "route",
    "domain",
    "redirect",
    "mount",
    "method",
    "lock",
    "disabled",
    "stopped",
    "activation",
    "recover_time",
    "error_escalation_time",
    "max_reply_timeouts",
    "retry_interval",
    "busy_limit",
    "max_packet_size",
    "css",
    "ns",
    "xmlns",
    "doctype",
    "prefix",
    "read_only",
    "user",
    "user_case_insensitive",
    "good",
    "bad",
    "secretkey",
    "retries",
    "lb_retries",
    "fail_on_status",
    "list",
    "maintain",
    "prefer_ipv6",
];

/// Deprecated directives: accepted with a warning. The value says what replaces them.
pub const DEPRECATED_DIRECTIVES: &[(&str, &str)] = &[
    (
        "balanced_workers",
        "use balance_workers (read only when balance_workers is absent)",
    ),
    (
        "cachesize",
        "use connection_pool_size (read only when that is absent or negative)",
    ),
    (
        "cache_timeout",
        "use connection_pool_timeout (read only when that is absent or negative)",
    ),
    ("jvm_route", "use route (read only when route is absent)"),
    (
        "disabled",
        "use activation=disabled (read only when activation is absent)",
    ),
    (
        "stopped",
        "use activation=stopped (read only when activation is absent)",
    ),
    ("recycle_timeout", "ignored (no effect since mod_jk 1.2.16)"),
    ("local_worker", "ignored (no effect in mod_jk)"),
    ("local_worker_only", "ignored (no effect in mod_jk)"),
    ("sysprops", "ignored (JNI worker remnant)"),
    ("stderr", "ignored (JNI worker remnant)"),
    ("stdout", "ignored (JNI worker remnant)"),
    ("mx", "ignored (JNI worker remnant)"),
    ("ms", "ignored (JNI worker remnant)"),
    ("class_path", "ignored (JNI worker remnant)"),
    ("bridge", "ignored (JNI worker remnant)"),
    ("jvm_lib", "ignored (JNI worker remnant)"),
    ("ld_path", "ignored (JNI worker remnant)"),
    ("cmd_line", "ignored (JNI worker remnant)"),
    ("native_lib", "ignored (JNI worker remnant)"),
];

/// Directives whose repeated occurrences accumulate (joined with `,`).
pub const LIST_DIRECTIVES: &[&str] = &[
    "balance_workers",
    "mount",
    "user",
    "good",
    "bad",
    "fail_on_status",
    "list",
];

/// Directives whose repeated occurrences overwrite (last wins, warning).
pub const UNIQUE_DIRECTIVES: &[&str] = &[
    "secret",
    "reference",
    "host",
    "source",
    "port",
    "type",
    "cachesize",
    "connection_pool_size",
    "connection_pool_minsize",
    "cache_timeout",
    "connection_pool_timeout",
    "connection_acquire_timeout",
    "recovery_options",
    "connect_timeout",
    "prepost_timeout",
    "ping_timeout",
    "ping_mode",
    "reply_timeout",
    "socket_timeout",
    "socket_connect_timeout",
    "socket_buffer",
    "socket_keepalive",
    "connection_ping_interval",
    "recycle_timeout",
    "lbfactor",
    "sticky_session",
    "sticky_session_force",
    "session_cookie",
    "session_path",
    "set_session_cookie",
    "session_cookie_path",
    "local_worker",
    "local_worker_only",
    "jvm_route",
    "route",
    "domain",
    "redirect",
    "method",
    "lock",
    "disabled",
    "stopped",
    "activation",
    "recover_time",
    "error_escalation_time",
    "max_reply_timeouts",
    "retry_interval",
    "busy_limit",
    "max_packet_size",
    "css",
    "read_only",
    "retries",
    "lb_retries",
    "ns",
    "xmlns",
    "doctype",
    "prefix",
    "user_case_insensitive",
    "prefer_ipv6",
];

/// How repeated keys are treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateMode {
    /// `workers.properties`: merge per directive class (spec §1.5).
    Merge,
    /// `uriworkermap.properties`: every repeated key is overwritten, last wins.
    Overwrite,
}

/// One stored property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// The key (case-sensitive).
    pub key: String,
    /// The value after substitution and merging.
    pub value: String,
    /// Where it was (last) written.
    pub origin: Origin,
    /// `Some(prefix)` when copied from a `reference` template (`worker.T`).
    pub inherited_from: Option<String>,
}

/// The ordered property map mod_jk builds (`jk_map_t`): unique keys in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PropertyMap {
    entries: Vec<Property>,
    /// Warnings produced while reading.
    pub warnings: Vec<ConfigWarning>,
}

/// Where `$(name)` looks after the map itself (the process environment by default).
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for [`EnvLookup`].
pub fn process_env(name: &str) -> Option<String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return None;
    }
    std::env::var(name).ok()
}

impl PropertyMap {
    /// An empty map.
    pub fn new() -> Self {
        PropertyMap::default()
    }

    /// All properties in map order.
    pub fn iter(&self) -> impl Iterator<Item = &Property> {
        self.entries.iter()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The property stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Property> {
        self.entries.iter().find(|p| p.key == key)
    }

    /// The value stored under `key`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.get(key).map(|p| p.value.as_str())
    }

    /// Stores a key without any merging (overwrites in place, or appends).
    pub fn put(&mut self, property: Property) {
        match self.entries.iter_mut().find(|p| p.key == property.key) {
            Some(slot) => *slot = property,
            None => self.entries.push(property),
        }
    }

    /// Reads a whole file's content. `file` names it in messages. Stops at the first
    /// fatal error, as mod_jk does.
    pub fn read(
        &mut self,
        content: &[u8],
        file: &str,
        mode: DuplicateMode,
        env: EnvLookup<'_>,
    ) -> Result<(), ConfigError> {
        let file: Arc<str> = Arc::from(file);
        for (line_no, line) in physical_lines(content) {
            let origin = Origin::new(file.clone(), line_no);
            self.read_line(line, origin, mode, env)?;
        }
        Ok(())
    }

    /// Reads one line (comment removal, trimming, `=` split, validation, substitution,
    /// duplicate handling).
    pub fn read_line(
        &mut self,
        line: &[u8],
        origin: Origin,
        mode: DuplicateMode,
        env: EnvLookup<'_>,
    ) -> Result<(), ConfigError> {
        let line = match line.iter().position(|&b| b == b'#') {
            Some(hash) => &line[..hash],
            None => line,
        };
        let Some(eq) = line.iter().position(|&b| b == b'=') else {
            return Ok(());
        };
        let key = trim_bytes(&line[..eq]);
        let value = trim_bytes(&line[eq + 1..]);
        if key.is_empty() || value.is_empty() {
            return Ok(());
        }
        let (Ok(key), Ok(value)) = (std::str::from_utf8(key), std::str::from_utf8(value)) else {
            return Err(ConfigError::NotUtf8 { origin });
        };
        validate_key(key, &origin, &mut self.warnings)?;
        let value = self.substitute(value, env);
        if value.len() > VALUE_LENGTH_LIMIT {
            return Err(value_too_long(origin, key, value.len()));
        }
        self.store(key, value, origin, mode)
    }

    fn store(
        &mut self,
        key: &str,
        value: String,
        origin: Origin,
        mode: DuplicateMode,
    ) -> Result<(), ConfigError> {
        let Some(existing) = self.entries.iter_mut().find(|p| p.key == key) else {
            self.entries.push(Property {
                key: key.to_owned(),
                value,
                origin,
                inherited_from: None,
            });
            return Ok(());
        };
        if mode == DuplicateMode::Merge && !has_suffix_in(key, UNIQUE_DIRECTIVES) {
            let separator = if key.ends_with("_path") {
                ':'
            } else if key.ends_with(".cmd_line") {
                ' '
            } else if has_suffix_in(key, LIST_DIRECTIVES) {
                ','
            } else {
                '*'
            };
            if separator == '*' {
                self.warnings.push(ConfigWarning {
                    origin: Some(origin.clone()),
                    key: key.to_owned(),
                    message: format!(
                        "repeated key (first at line {}) is joined with `*` as mod_jk does: `{}*{}`; \
                         for worker.maintain and numbers this means the first value wins",
                        existing.origin.line, existing.value, value
                    ),
                });
            }
            let length = existing.value.len() + 1 + value.len();
            if length > VALUE_LENGTH_LIMIT {
                return Err(value_too_long(origin, key, length));
            }
            existing.value = format!("{}{}{}", existing.value, separator, value);
            existing.origin = origin;
        } else {
            self.warnings.push(ConfigWarning {
                origin: Some(origin.clone()),
                key: key.to_owned(),
                message: format!(
                    "duplicate key (first at line {}): previous value `{}` is overwritten with `{}`",
                    existing.origin.line, existing.value, value
                ),
            });
            existing.value = value;
            existing.origin = origin;
        }
        Ok(())
    }

    /// mod_jk's `$(name)` replacement: earlier keys, then `env`; unresolved names stay;
    /// substituted text is not rescanned; at most 21 attempts.
    pub fn substitute(&self, value: &str, env: EnvLookup<'_>) -> String {
        let mut result = value.to_owned();
        let mut scan_from = 0;
        let mut attempts = 0;
        while let Some(rel) = result[scan_from..].find("$(") {
            let start = scan_from + rel;
            let Some(end_rel) = result[start..].find(')') else {
                break;
            };
            attempts += 1;
            if attempts > SUBSTITUTION_LIMIT {
                break;
            }
            let end = start + end_rel;
            let name = &result[start + 2..end];
            let replacement = self.value(name).map(str::to_owned).or_else(|| env(name));
            match replacement {
                Some(text) => {
                    result.replace_range(start..=end, &text);
                    scan_from = start + text.len();
                }
                None => scan_from = end,
            }
        }
        result
    }

    /// Resolves every `worker.X.reference` (spec §1.4). Call after all lines were read.
    pub fn resolve_references(&mut self) -> Result<(), ConfigError> {
        let mut budget = ReferenceBudget {
            keys: self.entries.iter().map(|p| p.key.clone()).collect(),
            references_left: REFERENCE_COUNT_LIMIT,
        };
        self.resolve_references_with_prefix("worker.", true, 1, None, &mut budget)
    }

    fn resolve_references_with_prefix(
        &mut self,
        prefix: &str,
        wildcard: bool,
        depth: u32,
        asked_by: Option<&Property>,
        budget: &mut ReferenceBudget,
    ) -> Result<(), ConfigError> {
        const REFERENCE: &str = ".reference";
        if depth > REFERENCE_DEPTH_LIMIT {
            let asked_by = asked_by.expect("depth > 1 always has a referring property");
            return Err(ConfigError::ReferenceTooDeep {
                origin: asked_by.origin.clone(),
                key: asked_by.key.clone(),
                target: asked_by.value.clone(),
                limit: REFERENCE_DEPTH_LIMIT,
            });
        }
        let is_reference = |property: &Property| {
            let Some(rest) = property.key.strip_prefix(prefix) else {
                return false;
            };
            let applies =
                rest.len() == REFERENCE.len() || (wildcard && rest.len() > REFERENCE.len());
            applies && property.key.ends_with(REFERENCE) && !property.value.is_empty()
        };
        let mut index = 0;
        while index < self.entries.len() {
            index += 1;
            // Clone only the references: the scan passes over every property.
            if !is_reference(&self.entries[index - 1]) {
                continue;
            }
            let property = self.entries[index - 1].clone();
            let to = format!("{}.", &property.key[..property.key.len() - REFERENCE.len()]);
            let from = format!("{}.", property.value);
            self.resolve_references_with_prefix(
                &property.value,
                false,
                depth + 1,
                Some(&property),
                budget,
            )?;
            self.inherit(&from, &to, &property, budget)?;
        }
        Ok(())
    }

    fn inherit(
        &mut self,
        from: &str,
        to: &str,
        reference: &Property,
        budget: &mut ReferenceBudget,
    ) -> Result<(), ConfigError> {
        let too_large = || ConfigError::ReferenceExpansion {
            origin: reference.origin.clone(),
            key: reference.key.clone(),
            target: reference.value.clone(),
            limit: REFERENCE_PROPERTY_LIMIT,
        };
        budget.references_left = budget.references_left.checked_sub(1).ok_or_else(|| {
            ConfigError::ReferenceExpansion {
                origin: reference.origin.clone(),
                key: reference.key.clone(),
                target: reference.value.clone(),
                limit: REFERENCE_COUNT_LIMIT,
            }
        })?;
        if to.starts_with(from) {
            return Err(ConfigError::ReferenceIntoItself {
                origin: reference.origin.clone(),
                key: reference.key.clone(),
                target: reference.value.clone(),
                worker: to.trim_end_matches('.').to_owned(),
            });
        }
        let mut found = false;
        // Only the template's keys as they stand now: keys copied by this call may start
        // with `from` again (when `to` does) and must not be copied once more.
        let existing = self.entries.len();
        for index in 0..existing {
            let source = &self.entries[index];
            let Some(rest) = source.key.strip_prefix(from) else {
                continue;
            };
            found = true;
            let target = format!("{to}{rest}");
            if !budget.keys.contains(&target) {
                if self.entries.len() >= REFERENCE_PROPERTY_LIMIT || target.len() > MAX_LINE_BYTES {
                    return Err(too_large());
                }
                let copied = Property {
                    key: target.clone(),
                    value: source.value.clone(),
                    origin: source.origin.clone(),
                    inherited_from: Some(reference.value.clone()),
                };
                budget.keys.insert(target);
                self.entries.push(copied);
            }
        }
        if found {
            return Ok(());
        }
        let hint = if !reference.value.starts_with("worker.") {
            format!(
                " (the value must be the full prefix, e.g. `worker.{}`)",
                reference.value
            )
        } else {
            String::new()
        };
        Err(ConfigError::ReferenceNotFound {
            origin: reference.origin.clone(),
            key: reference.key.clone(),
            target: reference.value.clone(),
            hint,
        })
    }
}

/// Splits content into physical lines as `fgets(buf, 8192)` returns them: each piece ends
/// after a newline or after 8191 bytes. Yields (1-based line number, bytes without the
/// newline). Pieces of one over-long line all carry that line's number.
pub fn physical_lines(content: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let mut rest = content;
    let mut line_no: u32 = 1;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let window = &rest[..rest.len().min(MAX_LINE_BYTES)];
        let (piece, consumed, ends_line) = match window.iter().position(|&b| b == b'\n') {
            Some(nl) => (&window[..nl], nl + 1, true),
            None => (window, window.len(), false),
        };
        rest = &rest[consumed..];
        let this_line = line_no;
        if ends_line {
            line_no = line_no.saturating_add(1);
        }
        Some((this_line, piece))
    })
}

fn trim_bytes(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| !is_c_space(b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// `true` when `key` ends with `.` + one of `names`.
pub fn has_suffix_in(key: &str, names: &[&str]) -> bool {
    names.iter().any(|name| {
        key.len() > name.len()
            && key.ends_with(name)
            && key.as_bytes()[key.len() - name.len() - 1] == b'.'
    })
}

/// The directive of a `worker.` key: its last dot component.
pub fn directive_of(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// mod_jk's key validation: only `worker.` keys are checked, by suffix.
fn validate_key(
    key: &str,
    origin: &Origin,
    warnings: &mut Vec<ConfigWarning>,
) -> Result<(), ConfigError> {
    if !key.starts_with("worker.") {
        return Ok(());
    }
    if !has_suffix_in(key, SUPPORTED_DIRECTIVES) {
        let directive = directive_of(key);
        let hint = closest_directive(directive)
            .map(|d| format!(" (did you mean `{d}`?)"))
            .unwrap_or_default();
        return Err(ConfigError::UnknownDirective {
            origin: origin.clone(),
            key: key.to_owned(),
            hint,
            valid: SUPPORTED_DIRECTIVES.join(" "),
        });
    }
    if let Some((name, successor)) = DEPRECATED_DIRECTIVES
        .iter()
        .find(|(name, _)| has_suffix_in(key, &[name]))
    {
        warnings.push(ConfigWarning {
            origin: Some(origin.clone()),
            key: key.to_owned(),
            message: format!("`{name}` is deprecated: {successor}"),
        });
    }
    Ok(())
}

/// The supported directive closest to `directive` (case-insensitive match or small edit
/// distance), for "did you mean" hints.
pub fn closest_directive(directive: &str) -> Option<&'static str> {
    closest(SUPPORTED_DIRECTIVES, directive)
}

/// The candidate closest to `word` (case-insensitive match, else an edit distance of at
/// most 2), for "did you mean" hints in every configuration file.
pub(crate) fn closest<'a>(candidates: &[&'a str], word: &str) -> Option<&'a str> {
    if let Some(exact) = candidates.iter().find(|d| d.eq_ignore_ascii_case(word)) {
        return Some(exact);
    }
    candidates
        .iter()
        .map(|d| (edit_distance(d, word), *d))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, d)| d)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// Trims a value the way the reader does (exposed for command-line input).
pub fn trim_value(value: &str) -> &str {
    trim_c_space(value)
}
