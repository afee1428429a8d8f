//! `jkgate.ini`: what httpd.conf held for mod_jk (listeners, TLS, `JkWorkersFile`,
//! `JkMountFile`, `JkMount`, `JkOptions`, ...), read with `serde_ini` into serde structs.
//!
//! serde_ini only understands a plain INI dialect: comment lines must start with `;` or
//! `#` (jkgate also accepts them indented), a value runs to the end of the line (no inline
//! comments). It reports problems without a line number, and serde refuses a repeated
//! key without naming it. So jkgate reads the lines itself first ([`parse_ini`]): every
//! line is checked against the sections and keys below, and an error names file, line and
//! what would be valid; `Listen` may repeat, as in httpd.conf, and its lines accumulate;
//! another repeated setting is an error naming both lines; a section written twice is
//! read as one. Lists are written comma-separated on one line (or, for `Listen`, on
//! several lines); mounts, environment attributes and status users are one key per line
//! in their own sections. Example:
//!
//! ```ini
//! Listen = 127.0.0.1:8080, [::1]:8080
//! Listen = 127.0.0.1:8081
//! JkWorkersFile = workers.properties
//! JkMountFile = uriworkermap.properties
//! JkLogFile = logs/jkgate.log
//! JkLogLevel = info
//! JkOptions = +ForwardURIProxy +RejectUnsafeURI
//!
//! [tls]
//! Listen = 127.0.0.1:8443
//! Certificate = server.pem
//! Key = server.key
//!
//! [mounts]
//! /app|/* = lb
//! !/app/static/* = lb
//!
//! [vhost shop.example.com]
//! ServerAlias = *.shop.example.com
//! VirtualHost = *:443
//! Certificate = shop.pem
//! Key = shop.key
//! /shop/* = shop_lb
//! ```
//!
//! A `[vhost NAME]` section is httpd's `<VirtualHost>` (see [`IniVhost`]); jkgate reads
//! those itself, since serde_ini knows only fixed section names.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::error::{ConfigError, Origin};
use super::properties::closest;
use super::value::{parse_bool, parse_int};

/// The file as serde_ini sees it (all values are strings; jkgate checks them itself so it
/// can name the setting and what would be valid).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IniFile {
    /// Plain-HTTP listen addresses, comma-separated (`host:port`).
    #[serde(rename = "Listen")]
    pub listen: Option<String>,
    /// Base directory for relative paths (default: the ini file's directory). Also
    /// pre-seeds `$(ServerRoot)` in workers.properties, as httpd does.
    #[serde(rename = "ServerRoot")]
    pub server_root: Option<String>,
    /// `JkWorkersFile`.
    #[serde(rename = "JkWorkersFile")]
    pub workers_file: Option<String>,
    /// `JkMountFile`.
    #[serde(rename = "JkMountFile")]
    pub mount_file: Option<String>,
    /// `JkMountFileReload` (seconds, default 60, 0 = never).
    #[serde(rename = "JkMountFileReload")]
    pub mount_file_reload: Option<String>,
    /// `JkLogLevel`: trace, debug, info, warn, error, emerg.
    #[serde(rename = "JkLogLevel")]
    pub log_level: Option<String>,
    /// `JkLogFile`: the error log file (`-` = standard error, the default). Relative to
    /// `ServerRoot` as in httpd.
    #[serde(rename = "JkLogFile")]
    pub log_file: Option<String>,
    /// Access log path (`-` = standard output).
    #[serde(rename = "AccessLog")]
    pub access_log: Option<String>,
    /// `JkRequestLogFormat`-like access log format.
    #[serde(rename = "JkRequestLogFormat")]
    pub request_log_format: Option<String>,
    /// `JkOptions`: words, optionally prefixed `+`/`-`.
    #[serde(rename = "JkOptions")]
    pub options: Option<String>,
    /// `JkStripSession`: `On [name]` or `Off`.
    #[serde(rename = "JkStripSession")]
    pub strip_session: Option<String>,
    /// `JkWatchdogInterval` (seconds).
    #[serde(rename = "JkWatchdogInterval")]
    pub watchdog_interval: Option<String>,
    /// `GracefulShutdownTimeout` (httpd's, seconds, default 10): on SIGTERM/SIGINT, how
    /// long open connections may finish before they are closed.
    #[serde(rename = "GracefulShutdownTimeout")]
    pub graceful_shutdown_timeout: Option<String>,
    /// `Replay`: what may be sent again after a failure: `safe` (default: only requests
    /// that provably never reached a member, unless `recovery_options` bits 8/16 rescue a
    /// HEAD/GET) or `mod_jk` (mod_jk's own `recovery_options` rules, replays included).
    #[serde(rename = "Replay")]
    pub replay: Option<String>,
    /// `RequestReadTimeout` (mod_reqtimeout): `header=20-40,MinRate=500 body=20,MinRate=500`.
    #[serde(rename = "RequestReadTimeout")]
    pub request_read_timeout: Option<String>,
    /// `KeepAliveTimeout` (seconds or `Nms`, default 5; 0 turns keep-alive off).
    #[serde(rename = "KeepAliveTimeout")]
    pub keep_alive_timeout: Option<String>,
    /// `LimitRequestLine` (bytes, default 8190).
    #[serde(rename = "LimitRequestLine")]
    pub limit_request_line: Option<String>,
    /// `LimitRequestFieldSize` (bytes, default 8190).
    #[serde(rename = "LimitRequestFieldSize")]
    pub limit_request_field_size: Option<String>,
    /// `LimitRequestFields` (default 100).
    #[serde(rename = "LimitRequestFields")]
    pub limit_request_fields: Option<String>,
    /// `LimitRequestBody` (bytes, default 1 GiB; 0 = unlimited).
    #[serde(rename = "LimitRequestBody")]
    pub limit_request_body: Option<String>,
    /// `MaxConnections` (jkgate's): open client connections at once (default 10000).
    #[serde(rename = "MaxConnections")]
    pub max_connections: Option<String>,
    /// `MetricsPath` (jkgate's): the path Prometheus metrics are served at (e.g. `/metrics`).
    #[serde(rename = "MetricsPath")]
    pub metrics_path: Option<String>,
    /// `MetricsListen` (jkgate's): a plain-HTTP address serving only the metrics (then not
    /// served on the other listeners), e.g. `127.0.0.1:9100` to keep them on loopback.
    #[serde(rename = "MetricsListen")]
    pub metrics_listen: Option<String>,
    /// `StateFile`: where runtime edits (status worker changes) are kept across restarts
    /// and reloads (default: none, edits last until jkgate stops). Relative to `ServerRoot`.
    #[serde(rename = "StateFile")]
    pub state_file: Option<String>,
    /// `StateStore`: `etcd://host:port[,host:port...]/prefix`: runtime edits shared by a
    /// fleet of jkgate instances through etcd (needs the `etcd` build feature).
    #[serde(rename = "StateStore")]
    pub state_store: Option<String>,
    /// `ServerName` (httpd's, of the main server): what the status worker shows as the
    /// server of the main server's mounts (`host[:port]`). Unset: the request's host.
    #[serde(rename = "ServerName")]
    pub server_name: Option<String>,
    /// `JkMountCopy` at the top level: `All` makes every vhost copy the top-level mounts
    /// unless it says `JkMountCopy = Off` (mod_jk's global form); `Off` is the default.
    #[serde(rename = "JkMountCopy")]
    pub mount_copy: Option<String>,
    /// `RemoteIPHeader` (mod_remoteip): the header that carries the client's address.
    #[serde(rename = "RemoteIPHeader")]
    pub remote_ip_header: Option<String>,
    /// `RemoteIPTrustedProxy`: proxies trusted to present it (lines add up).
    #[serde(rename = "RemoteIPTrustedProxy")]
    pub remote_ip_trusted_proxy: Option<String>,
    /// `RemoteIPInternalProxy`: internal proxies, which may present private addresses
    /// (lines add up).
    #[serde(rename = "RemoteIPInternalProxy")]
    pub remote_ip_internal_proxy: Option<String>,
    /// `RemoteIPProxiesHeader`: the header that lists the trusted proxies for Tomcat.
    #[serde(rename = "RemoteIPProxiesHeader")]
    pub remote_ip_proxies_header: Option<String>,
    /// `RemoteIPProxyProtocol`: listen addresses that read a PROXY protocol header first
    /// (lines add up).
    #[serde(rename = "RemoteIPProxyProtocol")]
    pub remote_ip_proxy_protocol: Option<String>,
    /// `AuthUserFile`: the htpasswd file of the status worker users.
    #[serde(rename = "AuthUserFile")]
    pub auth_user_file: Option<String>,
    /// `[tls]` section.
    pub tls: Option<IniTls>,
    /// `[mounts]` section: `pattern = worker[;ext...]`, one per line (`JkMount`).
    pub mounts: Option<OrderedPairs>,
    /// `[env]` section: `NAME = value` request attributes sent to Tomcat (`JkEnvVar`).
    pub env: Option<OrderedPairs>,
    /// `[status_users]` section: `user = password` for the status worker's basic auth.
    pub status_users: Option<OrderedPairs>,
    /// `[healthcheck NAME]` sections (jkgate's application health checks), in file order.
    #[serde(skip)]
    pub health_checks: Vec<IniHealthCheck>,
    /// `[vhost NAME]` sections, in file order (read by jkgate itself: serde_ini knows only
    /// fixed section names).
    #[serde(skip)]
    pub vhosts: Vec<IniVhost>,
    /// `[access]` section: `LOCATION = Require ...` or `worker:NAME = Require ...`.
    pub access: Option<OrderedPairs>,
    /// The line every setting was read from, so that a bad value can be reported at its
    /// place in the file (serde_ini does not keep positions).
    #[serde(skip)]
    pub origins: IniOrigins,
}

/// One `[vhost NAME]` section: httpd's `<VirtualHost>` block.
///
/// ```ini
/// [vhost shop.example.com]
/// ServerAlias = *.shop.example.com shop.example.org
/// VirtualHost = *:80 *:443
/// Certificate = shop.pem
/// Key = shop.key
/// JkMountCopy = Off
/// /shop/* = shop_lb
/// !/shop/static/* = shop_lb
/// ```
///
/// A line whose key starts with `/` (after the optional `-` and `!` prefixes) is a
/// `JkMount` of this vhost; the other keys are [`VHOST_KEYS`]. `ServerName` defaults to the
/// section's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniVhost {
    /// The name in the section header.
    pub label: String,
    /// The header's line (the first one, for a section written twice).
    pub origin: Origin,
    /// Fixed keys: (key, value, line); `ServerAlias` and `VirtualHost` lines are joined.
    pub settings: Vec<(String, String, u32)>,
    /// Mount lines (`pattern = worker[;ext...]`), in file order, with their lines.
    pub mounts: Vec<(String, String, Origin)>,
}

impl IniVhost {
    /// The value of a fixed key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, _)| v.as_str())
    }

    /// The `IniOrigins` section name of its lines: `vhost NAME`.
    pub fn section(&self) -> String {
        format!("vhost {}", self.label)
    }
}

/// Top-level keys of jkgate.ini (before any `[section]`); the fields of [`IniFile`].
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "Listen",
    "ServerRoot",
    "JkWorkersFile",
    "JkMountFile",
    "JkMountFileReload",
    "JkLogFile",
    "JkLogLevel",
    "AccessLog",
    "JkRequestLogFormat",
    "JkOptions",
    "JkStripSession",
    "JkWatchdogInterval",
    "GracefulShutdownTimeout",
    "Replay",
    "RequestReadTimeout",
    "KeepAliveTimeout",
    "LimitRequestLine",
    "LimitRequestFieldSize",
    "LimitRequestFields",
    "LimitRequestBody",
    "MaxConnections",
    "MetricsPath",
    "MetricsListen",
    "StateFile",
    "StateStore",
    "ServerName",
    "JkMountCopy",
    "RemoteIPHeader",
    "RemoteIPTrustedProxy",
    "RemoteIPInternalProxy",
    "RemoteIPProxiesHeader",
    "RemoteIPProxyProtocol",
    "AuthUserFile",
];

/// The section prefix of an application health check: `[healthcheck NAME]`, NAME an lb
/// worker (every member) or a member worker.
pub const HEALTH_CHECK_SECTION: &str = "healthcheck";

/// Keys of a `[healthcheck NAME]` section.
pub const HEALTH_CHECK_KEYS: &[&str] = &[
    "Uri",
    "Interval",
    "Timeout",
    "ExpectStatus",
    "ExpectBody",
    "Rise",
    "Fall",
];

/// One `[healthcheck NAME]` section as read (values checked by the settings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniHealthCheck {
    /// The worker it is about.
    pub target: String,
    /// Where its header is.
    pub origin: Option<Origin>,
    /// Its `key = value` lines, each key once, in file order.
    pub lines: Vec<IniLine>,
}

/// Keys of a `[vhost NAME]` section (besides its mount lines).
pub const VHOST_KEYS: &[&str] = &[
    "ServerName",
    "ServerAlias",
    "VirtualHost",
    "Certificate",
    "Key",
    "JkMountCopy",
    "JkMountFile",
];

/// Keys of a `[vhost NAME]` section whose lines add up, as httpd's directives of the same
/// name do.
const VHOST_REPEATABLE_KEYS: &[&str] = &["ServerAlias", "VirtualHost"];

/// Whether a key of a `[vhost NAME]` section is a mount pattern (`/...`, `!/...`, `-/...`,
/// `-!/...`) rather than a setting.
pub fn is_mount_key(key: &str) -> bool {
    let key = key.strip_prefix('-').unwrap_or(key);
    let key = key.strip_prefix('!').unwrap_or(key);
    key.starts_with('/')
}

/// The name of a `[vhost NAME]` header (`Some("")` for `[vhost]` without one).
fn vhost_label(header: &str) -> Option<&str> {
    let rest = header.strip_prefix("vhost")?;
    if rest.is_empty() {
        return Some("");
    }
    rest.starts_with([' ', '\t']).then(|| rest.trim())
}

/// Keys of the `[tls]` section; the fields of [`IniTls`].
pub const TLS_KEYS: &[&str] = &["Listen", "Certificate", "Key", "ClientCA"];

/// The sections jkgate.ini may have, with their keys (`None`: free `key = value` pairs,
/// one per line, repeats kept in order).
pub const SECTIONS: &[(&str, Option<&[&str]>)] = &[
    ("tls", Some(TLS_KEYS)),
    ("mounts", None),
    ("env", None),
    ("status_users", None),
    ("access", None),
];

/// The keys that may be written more than once in a section with fixed keys: as httpd's
/// `Listen` and mod_remoteip's proxy lists, every line adds to the list.
const REPEATABLE_KEYS: &[&str] = &[
    "Listen",
    "RemoteIPTrustedProxy",
    "RemoteIPInternalProxy",
    "RemoteIPProxyProtocol",
];

/// One `key = value` line of jkgate.ini as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniLine {
    /// The section it is in (`None`: top level).
    pub section: Option<String>,
    /// The key.
    pub key: String,
    /// The value, trimmed.
    pub value: String,
    /// File and line.
    pub origin: Origin,
}

/// Where each setting of a jkgate.ini was written, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniOrigins(pub Vec<IniLine>);

impl IniOrigins {
    /// The line that set `key` in `section` (`None`: top level); the last one for a key
    /// that accumulates.
    pub fn of(&self, section: Option<&str>, key: &str) -> Option<Origin> {
        self.0
            .iter()
            .rev()
            .find(|l| l.section.as_deref() == section && l.key == key)
            .map(|l| l.origin.clone())
    }

    /// The line of `key` in `section` whose (comma/space separated) value holds `item`:
    /// for a list written over several lines, the line of one of its items.
    pub fn of_item(&self, section: Option<&str>, key: &str, item: &str) -> Option<Origin> {
        self.0
            .iter()
            .find(|l| {
                l.section.as_deref() == section
                    && l.key == key
                    && split_setting_list(&l.value).iter().any(|v| v == item)
            })
            .map(|l| l.origin.clone())
            .or_else(|| self.of(section, key))
    }

    /// The lines of a free section (`[mounts]`, `[env]`, `[status_users]`), in order: the
    /// n-th pair of its [`OrderedPairs`] was read from the n-th origin.
    pub fn in_section(&self, section: &str) -> Vec<Origin> {
        self.0
            .iter()
            .filter(|l| l.section.as_deref() == Some(section))
            .map(|l| l.origin.clone())
            .collect()
    }
}

/// The `[tls]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IniTls {
    /// HTTPS listen addresses, comma-separated.
    #[serde(rename = "Listen")]
    pub listen: Option<String>,
    /// PEM certificate chain.
    #[serde(rename = "Certificate")]
    pub certificate: Option<String>,
    /// PEM private key.
    #[serde(rename = "Key")]
    pub key: Option<String>,
    /// PEM CA bundle: when set, clients must present a certificate signed by it.
    #[serde(rename = "ClientCA")]
    pub client_ca: Option<String>,
}

/// A section read as ordered `key = value` pairs (serde_ini's maps would keep only the last
/// duplicate and lose the order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderedPairs(pub Vec<(String, String)>);

impl<'de> Deserialize<'de> for OrderedPairs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = OrderedPairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a section of key = value lines")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    pairs.push((key, value));
                }
                Ok(OrderedPairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor)
    }
}

/// Reads `jkgate.ini` content. `file` names it in messages.
///
/// The lines are checked here, before serde_ini sees them, because serde_ini's own errors
/// carry no line number (and serde's name neither section nor line): a line without `=`,
/// an unclosed or unknown section, an unknown or repeated key are reported as
/// `FILE:LINE: ...` with what would be valid. Repeated `Listen` lines are joined into one
/// list, repeated sections into one section; then serde_ini fills [`IniFile`].
pub fn parse_ini(content: &str, file: &str) -> Result<IniFile, ConfigError> {
    let file_name: std::sync::Arc<str> = std::sync::Arc::from(file);
    let error = |line: usize, problem: String| ConfigError::Ini {
        origin: Origin::new(file_name.clone(), line as u32),
        problem,
    };
    let section_list = SECTIONS
        .iter()
        .map(|(name, _)| format!("[{name}]"))
        .chain(std::iter::once("[vhost NAME]".to_owned()))
        .collect::<Vec<_>>()
        .join(", ");
    // Lines per section in file order (top level first), each key once for the fixed
    // sections: (key, value, first line).
    type Lines = Vec<(String, String, usize)>;
    let mut top: Lines = Vec::new();
    let mut sections: Vec<(&'static str, Lines)> = Vec::new();
    let mut current: Option<&'static str> = None;
    // The `[vhost NAME]` section the lines belong to (`current` is then `None`).
    let mut vhosts: Vec<IniVhost> = Vec::new();
    let mut in_vhost: Option<usize> = None;
    // Inside a section whose header was refused: its lines are not checked (the header
    // error says it all).
    let mut skipping = false;
    // Inside a `[healthcheck NAME]` section: the index of its entry.
    let mut health: Option<usize> = None;
    let mut health_checks: Vec<IniHealthCheck> = Vec::new();
    let mut origins = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in content.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            let Some(name) = header.strip_suffix(']').filter(|n| !n.contains(']')) else {
                errors.push(error(
                    line_no,
                    format!(
                        "`{line}` is not a section header; write the name in brackets on a line of its own: {section_list}"
                    ),
                ));
                skipping = true;
                continue;
            };
            let name = name.trim();
            health = None;
            if let Some(target) = name
                .strip_prefix(HEALTH_CHECK_SECTION)
                .filter(|rest| rest.starts_with([' ', '\t']) || rest.is_empty())
            {
                let target = target.trim();
                skipping = false;
                if target.is_empty() || target.contains(char::is_whitespace) {
                    errors.push(error(
                        line_no,
                        format!(
                            "`[{name}]`: write one worker name after `{HEALTH_CHECK_SECTION}`, e.g. `[{HEALTH_CHECK_SECTION} lb]` (every member of lb) or `[{HEALTH_CHECK_SECTION} node1]`"
                        ),
                    ));
                    skipping = true;
                    continue;
                }
                if health_checks.iter().any(|h| h.target == target) {
                    errors.push(error(
                        line_no,
                        format!("`[{HEALTH_CHECK_SECTION} {target}]` is written twice; keep one section per worker"),
                    ));
                    skipping = true;
                    continue;
                }
                health_checks.push(IniHealthCheck {
                    target: target.to_owned(),
                    origin: Some(Origin::new(file_name.clone(), line_no as u32)),
                    lines: Vec::new(),
                });
                health = Some(health_checks.len() - 1);
                in_vhost = None;
                current = None;
                continue;
            }
            if let Some(label) = vhost_label(name) {
                current = None;
                if label.is_empty() {
                    errors.push(error(
                        line_no,
                        "`[vhost]` needs the vhost's name: `[vhost www.example.com]` (its ServerName unless the section sets one)".to_owned(),
                    ));
                    in_vhost = None;
                    skipping = true;
                    continue;
                }
                skipping = false;
                in_vhost = Some(match vhosts.iter().position(|v| v.label == label) {
                    Some(index) => index,
                    None => {
                        vhosts.push(IniVhost {
                            label: label.to_owned(),
                            origin: Origin::new(file_name.clone(), line_no as u32),
                            settings: Vec::new(),
                            mounts: Vec::new(),
                        });
                        vhosts.len() - 1
                    }
                });
                continue;
            }
            in_vhost = None;
            match SECTIONS.iter().find(|(known, _)| *known == name) {
                Some((known, _)) => {
                    skipping = false;
                    current = Some(known);
                    if !sections.iter().any(|(s, _)| s == known) {
                        sections.push((known, Vec::new()));
                    }
                }
                None => {
                    let names: Vec<&str> = SECTIONS.iter().map(|(n, _)| *n).collect();
                    let first_word = name.split_whitespace().next().unwrap_or(name);
                    let hint = if ["virtualhost", "vhost", "<virtualhost"]
                        .contains(&first_word.to_ascii_lowercase().as_str())
                    {
                        let rest = name[first_word.len()..].trim().trim_end_matches('>');
                        let label = if rest.is_empty() { "NAME" } else { rest };
                        format!(" (did you mean [vhost {label}]?)")
                    } else {
                        closest(&names, name)
                            .map(|n| format!(" (did you mean [{n}]?)"))
                            .unwrap_or_default()
                    };
                    errors.push(error(
                        line_no,
                        format!("unknown section [{name}]{hint}; valid sections: {section_list}"),
                    ));
                    skipping = true;
                }
            }
            continue;
        }
        let section_label = match (current, in_vhost) {
            (Some(name), _) => format!("in section [{name}]"),
            (None, Some(index)) => format!("in section [vhost {}]", vhosts[index].label),
            (None, None) => "at the top level (before any [section])".to_owned(),
        };
        let Some((key, value)) = line.split_once('=') else {
            let word = line.split_whitespace().next().unwrap_or(line);
            let rest = line[word.len()..].trim();
            let example = if rest.is_empty() {
                format!("`{word} = VALUE`")
            } else {
                format!("`{word} = {rest}`")
            };
            errors.push(error(
                line_no,
                format!(
                    "line `{line}` {section_label} has no `=`; jkgate.ini writes every setting as KEY = VALUE, e.g. {example}"
                ),
            ));
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            errors.push(error(
                line_no,
                format!("line `{line}` has no key before `=`; write KEY = VALUE"),
            ));
            continue;
        }
        if skipping {
            continue;
        }
        if let Some(at) = health {
            let check = &mut health_checks[at];
            let label = format!("in section [{HEALTH_CHECK_SECTION} {}]", check.target);
            if !HEALTH_CHECK_KEYS.contains(&key) {
                errors.push(error(
                    line_no,
                    unknown_key_problem(key, Some(HEALTH_CHECK_SECTION), HEALTH_CHECK_KEYS, &label),
                ));
            } else if let Some(first) = check.lines.iter().find(|l| l.key == key) {
                errors.push(error(
                    line_no,
                    format!(
                        "`{key}` is set again {label} (first at line {}); keep one line",
                        first.origin.line
                    ),
                ));
            } else {
                check.lines.push(IniLine {
                    section: Some(format!("{HEALTH_CHECK_SECTION} {}", check.target)),
                    key: key.to_owned(),
                    value: value.to_owned(),
                    origin: Origin::new(file_name.clone(), line_no as u32),
                });
            }
            continue;
        }
        if let Some(index) = in_vhost {
            let vhost = &mut vhosts[index];
            let origin = Origin::new(file_name.clone(), line_no as u32);
            origins.push(IniLine {
                section: Some(vhost.section()),
                key: key.to_owned(),
                value: value.to_owned(),
                origin: origin.clone(),
            });
            if is_mount_key(key) {
                vhost
                    .mounts
                    .push((key.to_owned(), value.to_owned(), origin));
                continue;
            }
            if !VHOST_KEYS.contains(&key) {
                errors.push(error(
                    line_no,
                    unknown_vhost_key_problem(key, &section_label),
                ));
                continue;
            }
            match vhost.settings.iter_mut().find(|(k, _, _)| k == key) {
                Some((_, list, _)) if VHOST_REPEATABLE_KEYS.contains(&key) => {
                    list.push_str(", ");
                    list.push_str(value);
                }
                Some((_, _, first)) => errors.push(error(
                    line_no,
                    format!(
                        "`{key}` is set again {section_label} (first at line {first}); keep one line (only ServerAlias and VirtualHost may be repeated: their lines add up)"
                    ),
                )),
                None => vhost
                    .settings
                    .push((key.to_owned(), value.to_owned(), line_no as u32)),
            }
            continue;
        }
        let fixed_keys: Option<&[&str]> = match current {
            None => Some(TOP_LEVEL_KEYS),
            Some(name) => SECTIONS
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, keys)| *keys),
        };
        origins.push(IniLine {
            section: current.map(str::to_owned),
            key: key.to_owned(),
            value: value.to_owned(),
            origin: Origin::new(file_name.clone(), line_no as u32),
        });
        let lines = match current {
            None => &mut top,
            Some(name) => {
                &mut sections
                    .iter_mut()
                    .find(|(n, _)| *n == name)
                    .expect("pushed at its header")
                    .1
            }
        };
        let Some(keys) = fixed_keys else {
            lines.push((key.to_owned(), value.to_owned(), line_no));
            continue;
        };
        if !keys.contains(&key) {
            errors.push(error(
                line_no,
                unknown_key_problem(key, current, keys, &section_label),
            ));
            continue;
        }
        match lines.iter_mut().find(|(k, _, _)| k == key) {
            Some((_, list, _)) if REPEATABLE_KEYS.contains(&key) => {
                list.push_str(", ");
                list.push_str(value);
            }
            Some((_, _, first)) => errors.push(error(
                line_no,
                format!(
                    "`{key}` is set again {section_label} (first at line {first}); keep one line (only {} may be repeated: their lines add up)",
                    REPEATABLE_KEYS.join(", ")
                ),
            )),
            None => lines.push((key.to_owned(), value.to_owned(), line_no)),
        }
    }
    if let Some(error) = ConfigError::from_list(errors) {
        return Err(error);
    }
    let mut normalized = String::with_capacity(content.len());
    let push = |normalized: &mut String, lines: &Lines| {
        for (key, value, _) in lines {
            normalized.push_str(key);
            normalized.push('=');
            normalized.push_str(value);
            normalized.push('\n');
        }
    };
    push(&mut normalized, &top);
    for (name, lines) in &sections {
        normalized.push('[');
        normalized.push_str(name);
        normalized.push_str("]\n");
        push(&mut normalized, lines);
    }
    let mut ini = serde_ini::from_str::<IniFile>(&normalized).map_err(|error| {
        // Not reached for anything the checks above let through; named all the same.
        let problem = match error {
            serde_ini::de::Error::Custom(message) => message,
            serde_ini::de::Error::UnexpectedEof => "unexpected end of the file".to_owned(),
            serde_ini::de::Error::InvalidState => "a section where a value belongs".to_owned(),
        };
        ConfigError::Setting {
            origin: None,
            setting: file.to_owned(),
            problem: format!(
                "{problem}; valid: top-level settings {}, sections {section_list}",
                TOP_LEVEL_KEYS.join(", ")
            ),
        }
    })?;
    ini.origins = IniOrigins(origins);
    ini.health_checks = health_checks;
    ini.vhosts = vhosts;
    Ok(ini)
}

/// What is wrong with `key` in a `[vhost NAME]` section, and what would be valid.
fn unknown_vhost_key_problem(key: &str, section_label: &str) -> String {
    let valid = VHOST_KEYS.join(", ");
    let hint = if TOP_LEVEL_KEYS.contains(&key) || TLS_KEYS.contains(&key) {
        format!(
            " (`{key}` is not a per-vhost setting in jkgate: write it at the top level or in [tls])"
        )
    } else if key.contains('*') || key.starts_with('!') || key.starts_with('-') {
        " (a mount pattern begins with `/`, after the optional `-` and `!`: e.g. `/app/* = lb`)"
            .to_owned()
    } else if key.eq_ignore_ascii_case("JkMount") || key.eq_ignore_ascii_case("JkUnMount") {
        " (write a mount as `/path/* = worker`, an unmount as `!/path/* = worker`)".to_owned()
    } else {
        closest(VHOST_KEYS, key)
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default()
    };
    format!(
        "unknown setting `{key}` {section_label}{hint}; valid: {valid}, and mount lines `/pattern = worker`"
    )
}

/// What is wrong with `key` in a section with fixed keys, and what would be valid.
fn unknown_key_problem(
    key: &str,
    section: Option<&str>,
    keys: &[&str],
    section_label: &str,
) -> String {
    let valid = keys.join(", ");
    if section.is_none() && SECTIONS.iter().any(|(name, _)| *name == key) {
        return format!(
            "`{key}` is a section, not a setting: write `[{key}]` on a line of its own and its settings below it"
        );
    }
    // A key of another place (e.g. Certificate at the top level).
    let elsewhere = SECTIONS
        .iter()
        .filter(|(name, _)| Some(*name) != section)
        .find(|(_, fixed)| fixed.is_some_and(|f| f.contains(&key)))
        .map(|(name, _)| format!(" (`{key}` belongs in section [{name}])"))
        .or_else(|| {
            (section.is_some() && TOP_LEVEL_KEYS.contains(&key))
                .then(|| format!(" (`{key}` belongs at the top level, before any [section])"))
        })
        .or_else(|| {
            (VHOST_KEYS.contains(&key) && !keys.contains(&key))
                .then(|| format!(" (`{key}` belongs in a [vhost NAME] section)"))
        });
    let hint = elsewhere.unwrap_or_else(|| {
        closest(keys, key)
            .map(|k| format!(" (did you mean `{k}`?)"))
            .unwrap_or_default()
    });
    format!("unknown setting `{key}` {section_label}{hint}; valid: {valid}")
}

/// Reads `jkgate.ini` from disk.
pub fn load_ini(path: &Path) -> Result<IniFile, ConfigError> {
    let content = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        what: "config file",
        path: path.to_owned(),
        source,
    })?;
    parse_ini(&content, &path.display().to_string())
}

fn setting_error(setting: &str, problem: String) -> ConfigError {
    ConfigError::Setting {
        origin: None,
        setting: setting.to_owned(),
        problem,
    }
}

/// Splits a comma/space separated setting.
pub fn split_setting_list(value: &str) -> Vec<String> {
    value
        .split([',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses a whole number of seconds.
pub fn parse_seconds(setting: &str, value: &str) -> Result<Duration, ConfigError> {
    match parse_int(value.trim()) {
        Some(n) if n >= 0 && value.trim().bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Duration::from_secs(n as u64))
        }
        _ => Err(setting_error(
            setting,
            format!("`{value}` is not a whole number of seconds (e.g. 60; 0 turns it off)"),
        )),
    }
}

/// `JkLogLevel`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation (default).
    #[default]
    Info,
    /// Warnings.
    Warn,
    /// Errors.
    Error,
    /// Only emergencies.
    Emerg,
}

/// What the lb may replay to a second member after a failure (jkgate.ini's `Replay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplayPolicy {
    /// jkgate's default: a request that reached a member, or whose response started, is
    /// never sent to another member unless `recovery_options` explicitly allows it
    /// (bit 8 for HEAD, bit 16 for GET, before the response started). Bits 1 and 2 are
    /// treated as always set.
    #[default]
    Safe,
    /// mod_jk's exact rules: recover unless `recovery_options` bit 1 / bit 2 forbid it.
    ModJk,
}

/// Reads the `Replay` setting: `safe` or `mod_jk` (also `modjk`), any case.
pub fn parse_replay(value: &str) -> Result<ReplayPolicy, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "safe" => Ok(ReplayPolicy::Safe),
        "mod_jk" | "modjk" => Ok(ReplayPolicy::ModJk),
        _ => Err(setting_error(
            "Replay",
            format!("`{value}` is not a replay policy; valid: safe, mod_jk"),
        )),
    }
}

impl LogLevel {
    /// Parses mod_jk's spellings, case-insensitive.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        Ok(match value.trim().to_ascii_lowercase().as_str() {
            "trace" => LogLevel::Trace,
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            "emerg" => LogLevel::Emerg,
            _ => {
                return Err(setting_error(
                    "JkLogLevel",
                    format!(
                        "`{value}` is not a log level; valid: trace, debug, info, warn, error, emerg"
                    ),
                ));
            }
        })
    }

    /// The matching `tracing` filter directive.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error | LogLevel::Emerg => "error",
        }
    }
}

/// Which form of the request path is forwarded to Tomcat (the four `ForwardURI*` options).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForwardUri {
    /// `ForwardURIProxy` (default): decoded path re-encoded with mod_jk's safe set.
    #[default]
    Proxy,
    /// `ForwardURICompatUnparsed`: the path exactly as received.
    CompatUnparsed,
    /// `ForwardURICompat`: the decoded path as is (unsafe).
    Compat,
    /// `ForwardURIEscaped`: the decoded path re-escaped with httpd's path escaping.
    Escaped,
}

/// `JkOptions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JkOptions {
    /// ForwardURI* choice.
    pub forward_uri: ForwardUri,
    /// `RejectUnsafeURI`: don't map paths containing `%` or `\`.
    pub reject_unsafe_uri: bool,
    /// `ForwardLocalAddress`: remote_addr := our local IP, remote port 0.
    pub forward_local_address: bool,
    /// `ForwardPhysicalAddress`: remote_addr := the connection's peer (the TCP peer, or the
    /// PROXY header's source) instead of the client `RemoteIPHeader` named.
    pub forward_physical_address: bool,
    /// `ForwardKeySize` (default on): send the TLS key size attribute.
    pub forward_key_size: bool,
    /// `ForwardSSLCertChain`: append the client chain to the certificate attribute.
    pub forward_ssl_cert_chain: bool,
    /// `FlushPackets`: flush after every body chunk. jkgate always behaves so: the relay
    /// hands every chunk on as soon as it would otherwise wait for the member.
    pub flush_packets: bool,
    /// `FlushHeader`: flush right after the response headers (always so in jkgate, as
    /// for `FlushPackets`).
    pub flush_header: bool,
    /// `DisableReuse`: close the backend connection after every request.
    pub disable_reuse: bool,
    /// `ForwardDirectories`: httpd-only, accepted and kept for display.
    pub forward_directories: bool,
}

impl Default for JkOptions {
    fn default() -> Self {
        JkOptions {
            forward_uri: ForwardUri::Proxy,
            reject_unsafe_uri: false,
            forward_local_address: false,
            forward_physical_address: false,
            forward_key_size: true,
            forward_ssl_cert_chain: false,
            flush_packets: false,
            flush_header: false,
            disable_reuse: false,
            forward_directories: false,
        }
    }
}

impl JkOptions {
    /// Applies `JkOptions` words to the defaults. Returns the options and warnings.
    pub fn parse(value: &str) -> Result<(Self, Vec<String>), ConfigError> {
        let mut options = JkOptions::default();
        let mut warnings = Vec::new();
        for word in value.split_whitespace() {
            let (on, name) = match word.as_bytes()[0] {
                b'+' => (true, &word[1..]),
                b'-' => (false, &word[1..]),
                _ => (true, word),
            };
            let forward = match name {
                "ForwardURIProxy" => Some(ForwardUri::Proxy),
                "ForwardURICompatUnparsed" => Some(ForwardUri::CompatUnparsed),
                "ForwardURICompat" => Some(ForwardUri::Compat),
                "ForwardURIEscaped" => Some(ForwardUri::Escaped),
                _ => None,
            };
            if let Some(forward) = forward {
                if !on {
                    return Err(setting_error(
                        "JkOptions",
                        format!(
                            "`{word}`: the ForwardURI options cannot be negated; pick one of +ForwardURIProxy, +ForwardURICompatUnparsed, +ForwardURICompat, +ForwardURIEscaped"
                        ),
                    ));
                }
                options.forward_uri = forward;
                continue;
            }
            let flag = match name {
                "RejectUnsafeURI" => &mut options.reject_unsafe_uri,
                "ForwardLocalAddress" => &mut options.forward_local_address,
                "ForwardPhysicalAddress" => &mut options.forward_physical_address,
                "ForwardKeySize" => &mut options.forward_key_size,
                "ForwardSSLCertChain" => &mut options.forward_ssl_cert_chain,
                "FlushPackets" => &mut options.flush_packets,
                "FlushHeader" => &mut options.flush_header,
                "DisableReuse" => &mut options.disable_reuse,
                "ForwardDirectories" => &mut options.forward_directories,
                "CollapseSlashesAll" | "CollapseSlashesNone" | "CollapseSlashesUnmount" => {
                    warnings.push(format!(
                        "JkOptions {word}: ignored (mod_jk always collapses slashes for matching since 1.2.44)"
                    ));
                    continue;
                }
                _ => {
                    return Err(setting_error(
                        "JkOptions",
                        format!(
                            "unknown option `{word}`; valid: ForwardURIProxy, ForwardURICompatUnparsed, ForwardURICompat, ForwardURIEscaped, RejectUnsafeURI, ForwardLocalAddress, ForwardPhysicalAddress, ForwardKeySize, ForwardSSLCertChain, FlushPackets, FlushHeader, DisableReuse, ForwardDirectories (each optionally prefixed + or -)"
                        ),
                    ));
                }
            };
            *flag = on;
        }
        if options.forward_local_address && options.forward_physical_address {
            return Err(setting_error(
                "JkOptions",
                "ForwardLocalAddress and ForwardPhysicalAddress exclude each other; choose one"
                    .to_owned(),
            ));
        }
        Ok((options, warnings))
    }
}

/// One piece of a `JkRequestLogFormat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogItem {
    /// Literal text.
    Text(String),
    /// `%b`: bytes sent, `-` when 0.
    BytesClf,
    /// `%B`: bytes sent.
    Bytes,
    /// `%H`: protocol.
    Protocol,
    /// `%m`: method.
    Method,
    /// `%p`: server port.
    Port,
    /// `%q`: `?query` or empty.
    Query,
    /// `%r`: request line.
    RequestLine,
    /// `%s`: status.
    Status,
    /// `%T`: duration `seconds.micros`.
    Duration,
    /// `%U`: path.
    Path,
    /// `%v`: canonical server name.
    CanonicalServerName,
    /// `%V`: server name.
    ServerName,
    /// `%w`: worker name.
    Worker,
    /// `%R`: route of the member actually used (the one that answered, or failed last).
    Route,
    /// `%F` (jkgate): route of the first member tried (the session's sticky route, or the
    /// first member balanced to); differs from `%R` after a failover. `-` for direct workers.
    FirstRoute,
    /// `%S` (jkgate): the session id the request carried or was given, `-` when none.
    SessionId,
    /// `%N` (jkgate): the member (node) that answered or failed last, `-` when none.
    Member,
    /// `%a` (httpd's): the client's address, the real client's behind trusted proxies.
    ClientAddress,
}

/// What one request's log line can show (the values `%` items stand for).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestLogFields<'a> {
    /// Response body bytes sent.
    pub bytes: u64,
    /// Request protocol (`HTTP/1.1`).
    pub protocol: &'a str,
    /// Request method.
    pub method: &'a str,
    /// Server port the client connected to.
    pub port: u16,
    /// Raw query string, without `?`.
    pub query: Option<&'a str>,
    /// Raw request path.
    pub path: &'a str,
    /// Response status (0 when the response was cut short).
    pub status: u16,
    /// Time from request to the end of the relay.
    pub duration: Duration,
    /// Server name (Host without port, else the local address): `%V`.
    pub server_name: &'a str,
    /// The ServerName of the server that answered (the vhost's, else the main server's):
    /// `%v`, httpd's `r->server->server_hostname`. `None`: as `%V`.
    pub virtual_host: Option<&'a str>,
    /// Worker name, `-` when unmapped.
    pub worker: &'a str,
    /// Route of the member used.
    pub route: Option<&'a str>,
    /// Route of the first member tried.
    pub first_route: Option<&'a str>,
    /// Session id.
    pub session: Option<&'a str>,
    /// Member (node) name.
    pub member: Option<&'a str>,
    /// The client's address (`%a`).
    pub client: &'a str,
}

/// A parsed `JkRequestLogFormat`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLogFormat(pub Vec<LogItem>);

impl RequestLogFormat {
    /// Parses mod_jk's format letters and `\n`, `\t`, `\\` escapes; unknown `%x` is an error.
    pub fn parse(format: &str) -> Result<Self, ConfigError> {
        let mut items = Vec::new();
        let mut text = String::new();
        let mut chars = format.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => text.push('\n'),
                    Some('t') => text.push('\t'),
                    Some('\\') => text.push('\\'),
                    Some(other) => {
                        text.push('\\');
                        text.push(other);
                    }
                    None => text.push('\\'),
                },
                '%' => {
                    let item = match chars.next() {
                        Some('b') => LogItem::BytesClf,
                        Some('B') => LogItem::Bytes,
                        Some('H') => LogItem::Protocol,
                        Some('m') => LogItem::Method,
                        Some('p') => LogItem::Port,
                        Some('q') => LogItem::Query,
                        Some('r') => LogItem::RequestLine,
                        Some('s') => LogItem::Status,
                        Some('T') => LogItem::Duration,
                        Some('U') => LogItem::Path,
                        Some('v') => LogItem::CanonicalServerName,
                        Some('V') => LogItem::ServerName,
                        Some('w') => LogItem::Worker,
                        Some('R') => LogItem::Route,
                        Some('F') => LogItem::FirstRoute,
                        Some('S') => LogItem::SessionId,
                        Some('N') => LogItem::Member,
                        Some('a') => LogItem::ClientAddress,
                        other => {
                            return Err(setting_error(
                                "JkRequestLogFormat",
                                format!(
                                    "unknown format item `%{}`; valid: %b %B %H %m %p %q %r %s %T %U %v %V %w %R, httpd's %a (client address), and jkgate's %S (session id) %N (member) %F (first route tried)",
                                    other.map(String::from).unwrap_or_default()
                                ),
                            ));
                        }
                    };
                    if !text.is_empty() {
                        items.push(LogItem::Text(std::mem::take(&mut text)));
                    }
                    items.push(item);
                }
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            items.push(LogItem::Text(text));
        }
        Ok(RequestLogFormat(items))
    }

    /// One log line for `fields`, as mod_jk writes it (without the trailing newline).
    pub fn render(&self, fields: &RequestLogFields<'_>) -> String {
        fn dash(value: Option<&str>) -> &str {
            value.filter(|v| !v.is_empty()).unwrap_or("-")
        }
        use std::fmt::Write as _;
        let mut line = String::new();
        for item in &self.0 {
            let _ = match item {
                LogItem::Text(text) => write!(line, "{text}"),
                LogItem::BytesClf if fields.bytes == 0 => write!(line, "-"),
                LogItem::BytesClf | LogItem::Bytes => write!(line, "{}", fields.bytes),
                LogItem::Protocol => write!(line, "{}", fields.protocol),
                LogItem::Method => write!(line, "{}", fields.method),
                LogItem::Port => write!(line, "{}", fields.port),
                LogItem::Query => match fields.query {
                    Some(query) => write!(line, "?{query}"),
                    None => Ok(()),
                },
                LogItem::RequestLine => {
                    let query = fields.query.map(|q| format!("?{q}")).unwrap_or_default();
                    write!(
                        line,
                        "{} {}{query} {}",
                        fields.method, fields.path, fields.protocol
                    )
                }
                LogItem::Status => write!(line, "{}", fields.status),
                LogItem::Duration => write!(
                    line,
                    "{}.{:06}",
                    fields.duration.as_secs(),
                    fields.duration.subsec_micros()
                ),
                LogItem::Path => write!(line, "{}", fields.path),
                LogItem::CanonicalServerName => {
                    write!(
                        line,
                        "{}",
                        fields.virtual_host.unwrap_or(fields.server_name)
                    )
                }
                LogItem::ServerName => write!(line, "{}", fields.server_name),
                LogItem::Worker => write!(line, "{}", fields.worker),
                LogItem::Route => write!(line, "{}", dash(fields.route)),
                LogItem::FirstRoute => write!(line, "{}", dash(fields.first_route)),
                LogItem::SessionId => write!(line, "{}", dash(fields.session)),
                LogItem::Member => write!(line, "{}", dash(fields.member)),
                LogItem::ClientAddress => write!(line, "{}", dash(Some(fields.client))),
            };
        }
        line
    }
}

/// `JkStripSession On [name]`: the path parameter to strip from unmapped requests
/// (`None` = Off). The default name is `;jsessionid`.
pub fn parse_strip_session(value: &str) -> Result<Option<String>, ConfigError> {
    let mut words = value.split_whitespace();
    let switch = words.next().unwrap_or("");
    let name = words.next();
    if words.next().is_some() {
        return Err(setting_error(
            "JkStripSession",
            format!("`{value}`: expected `On`, `On <name>` or `Off`"),
        ));
    }
    match parse_bool(switch) {
        Some(true) => Ok(Some(match name {
            Some(name) if name.starts_with(';') => name.to_owned(),
            Some(name) => format!(";{name}"),
            None => ";jsessionid".to_owned(),
        })),
        Some(false) if name.is_none() => Ok(None),
        _ => Err(setting_error(
            "JkStripSession",
            format!("`{value}`: expected `On`, `On <name>` or `Off`"),
        )),
    }
}

/// Resolves `path` against `base` unless it is absolute.
pub fn resolve_path(base: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_owned()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn request_log_format_renders_every_item() {
        let format =
            super::RequestLogFormat::parse("%a %m %U%q %H %s %b/%B %T %v:%p %w %R %F %S %N %r\\t|")
                .expect("valid format");
        let fields = super::RequestLogFields {
            bytes: 0,
            protocol: "HTTP/1.1",
            method: "GET",
            port: 8000,
            query: Some("a=1"),
            path: "/app/x",
            status: 200,
            duration: std::time::Duration::from_micros(1_234_567),
            server_name: "www.example.com",
            virtual_host: Some("shop.example.com"),
            worker: "lb",
            route: Some("node2"),
            first_route: Some("node1"),
            session: Some("ABC.node2"),
            member: None,
            client: "203.0.113.9",
        };
        assert_eq!(
            format.render(&fields),
            "203.0.113.9 GET /app/x?a=1 HTTP/1.1 200 -/0 1.234567 shop.example.com:8000 lb node2 node1 ABC.node2 - GET /app/x?a=1 HTTP/1.1\t|"
        );
    }

    use super::*;

    /// The message of the one error `text` gives as jkgate.ini.
    fn ini_error(text: &str) -> String {
        let error = parse_ini(text, "jkgate.ini").expect_err("refused");
        let message = error.to_string();
        assert!(
            !message.contains("Custom("),
            "serde's wrapper leaked: {message}"
        );
        message
    }

    #[test]
    fn unknown_key_names_file_line_section_and_valid_keys() {
        let message = ini_error("Listen = 8080\n\nJkWorkerFile = w.properties\n");
        assert!(
            message.starts_with("jkgate.ini:3: unknown setting `JkWorkerFile` at the top level"),
            "{message}"
        );
        assert!(
            message.contains("did you mean `JkWorkersFile`?"),
            "{message}"
        );
        assert!(message.contains(&TOP_LEVEL_KEYS.join(", ")), "{message}");
        let message = ini_error("[tls]\nCert = c.pem\n");
        assert_eq!(
            message,
            "jkgate.ini:2: unknown setting `Cert` in section [tls]; valid: Listen, Certificate, Key, ClientCA"
        );
        let message = ini_error("Key = k.pem\n");
        assert!(
            message.contains("`Key` belongs in section [tls]"),
            "{message}"
        );
        let message = ini_error("[tls]\nJkLogLevel = info\n");
        assert!(
            message.contains("`JkLogLevel` belongs at the top level"),
            "{message}"
        );
        let message = ini_error("tls = on\n");
        assert!(
            message.starts_with("jkgate.ini:1: `tls` is a section"),
            "{message}"
        );
    }

    #[test]
    fn unknown_section_names_line_and_valid_sections() {
        let message = ini_error("; c\n[mount]\n/a = w\nBogus = 1\n");
        // The section's own lines are not reported again.
        assert_eq!(
            message,
            "jkgate.ini:2: unknown section [mount] (did you mean [mounts]?); valid sections: [tls], [mounts], [env], [status_users], [access], [vhost NAME]"
        );
        let message = ini_error("[tls\nListen = 8443\n");
        assert!(
            message.starts_with("jkgate.ini:1: `[tls` is not a section header"),
            "{message}"
        );
        assert!(message.contains("[status_users]"), "{message}");
    }

    #[test]
    fn line_without_equals_shows_how_to_write_it() {
        let message = ini_error("Listen = 8080\n  JkLogLevel info\n");
        assert_eq!(
            message,
            "jkgate.ini:2: line `JkLogLevel info` at the top level (before any [section]) has no `=`; \
             jkgate.ini writes every setting as KEY = VALUE, e.g. `JkLogLevel = info`"
        );
        let message = ini_error("[mounts]\n/app/*\n");
        assert!(
            message.starts_with("jkgate.ini:2: line `/app/*` in section [mounts] has no `=`"),
            "{message}"
        );
        let message = ini_error("= 1\n");
        assert!(
            message.starts_with("jkgate.ini:1: line `= 1` has no key"),
            "{message}"
        );
    }

    #[test]
    fn every_broken_line_is_reported_at_once() {
        let error = parse_ini("A = 1\nB\n[x]\n", "j.ini").expect_err("refused");
        let lines: Vec<String> = error.errors().iter().map(|e| e.to_string()).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        for (line, prefix) in lines.iter().zip(["j.ini:1:", "j.ini:2:", "j.ini:3:"]) {
            assert!(line.starts_with(prefix), "{line}");
        }
    }

    #[test]
    fn repeated_listen_lines_add_up_in_both_places() {
        let ini = parse_ini(
            "Listen = 127.0.0.1:8080\nListen = 127.0.0.1:8081, 8082\n[tls]\nListen = 8443\nListen = 8444\n",
            "j.ini",
        )
        .expect("valid");
        assert_eq!(
            ini.listen.as_deref(),
            Some("127.0.0.1:8080, 127.0.0.1:8081, 8082")
        );
        assert_eq!(ini.tls.unwrap().listen.as_deref(), Some("8443, 8444"));
        assert_eq!(
            ini.origins.of_item(None, "Listen", "8082"),
            Some(Origin::new("j.ini", 2))
        );
        assert_eq!(
            ini.origins.of_item(Some("tls"), "Listen", "8444"),
            Some(Origin::new("j.ini", 5))
        );
    }

    #[test]
    fn another_repeated_setting_names_both_lines() {
        let message = ini_error("JkLogLevel = info\n# x\nJkLogLevel = debug\n");
        assert_eq!(
            message,
            "jkgate.ini:3: `JkLogLevel` is set again at the top level (before any [section]) (first at line 1); \
             keep one line (only Listen, RemoteIPTrustedProxy, RemoteIPInternalProxy, RemoteIPProxyProtocol may be repeated: their lines add up)"
        );
        let message = ini_error("[tls]\nKey = a\n[mounts]\n/a = w\n[tls]\nKey = b\n");
        assert!(
            message
                .starts_with("jkgate.ini:6: `Key` is set again in section [tls] (first at line 2)"),
            "{message}"
        );
    }

    #[test]
    fn a_section_written_twice_is_one_section_in_file_order() {
        let ini = parse_ini(
            "[mounts]\n/a = w\n[env]\nX = 1\n[mounts]\n/b = w\n/a = v\n",
            "j.ini",
        )
        .expect("valid");
        let pairs = |p: &[(&str, &str)]| {
            OrderedPairs(
                p.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(
            ini.mounts,
            Some(pairs(&[("/a", "w"), ("/b", "w"), ("/a", "v")]))
        );
        assert_eq!(ini.env, Some(pairs(&[("X", "1")])));
        let lines: Vec<u32> = ini
            .origins
            .in_section("mounts")
            .iter()
            .map(|o| o.line)
            .collect();
        assert_eq!(lines, vec![2, 6, 7]);
    }

    #[test]
    fn every_listed_key_is_a_field_and_every_field_is_listed() {
        let mut text: String = TOP_LEVEL_KEYS
            .iter()
            .map(|k| format!("{k} = v\n"))
            .collect();
        text.push_str("[tls]\n");
        text.extend(TLS_KEYS.iter().map(|k| format!("{k} = v\n")));
        for (name, keys) in SECTIONS {
            if keys.is_none() {
                text.push_str(&format!("[{name}]\nk = v\n"));
            }
        }
        let ini = parse_ini(&text, "j.ini").expect("every listed key is accepted");
        // Destructured without `..`: a field added to IniFile must be added here and to
        // the lists above.
        let IniFile {
            listen,
            server_root,
            workers_file,
            mount_file,
            mount_file_reload,
            log_file,
            log_level,
            access_log,
            request_log_format,
            options,
            strip_session,
            watchdog_interval,
            graceful_shutdown_timeout,
            replay,
            request_read_timeout,
            keep_alive_timeout,
            limit_request_line,
            limit_request_field_size,
            limit_request_fields,
            limit_request_body,
            max_connections,
            metrics_path,
            metrics_listen,
            state_file,
            state_store,
            server_name,
            mount_copy,
            remote_ip_header,
            remote_ip_trusted_proxy,
            remote_ip_internal_proxy,
            remote_ip_proxies_header,
            remote_ip_proxy_protocol,
            auth_user_file,
            tls,
            mounts,
            env,
            status_users,
            health_checks,
            vhosts,
            access,
            origins,
        } = ini;
        assert!(health_checks.is_empty());
        assert!(vhosts.is_empty());
        let top = [
            listen,
            server_root,
            workers_file,
            mount_file,
            mount_file_reload,
            log_file,
            log_level,
            access_log,
            request_log_format,
            options,
            strip_session,
            watchdog_interval,
            graceful_shutdown_timeout,
            replay,
            request_read_timeout,
            keep_alive_timeout,
            limit_request_line,
            limit_request_field_size,
            limit_request_fields,
            limit_request_body,
            max_connections,
            metrics_path,
            metrics_listen,
            state_file,
            state_store,
            server_name,
            mount_copy,
            remote_ip_header,
            remote_ip_trusted_proxy,
            remote_ip_internal_proxy,
            remote_ip_proxies_header,
            remote_ip_proxy_protocol,
            auth_user_file,
        ];
        assert_eq!(top.len(), TOP_LEVEL_KEYS.len());
        assert!(top.iter().all(|v| v.as_deref() == Some("v")));
        let IniTls {
            listen,
            certificate,
            key,
            client_ca,
        } = tls.expect("[tls]");
        let tls = [listen, certificate, key, client_ca];
        assert_eq!(tls.len(), TLS_KEYS.len());
        assert!(tls.iter().all(|v| v.as_deref() == Some("v")));
        assert!(mounts.is_some() && env.is_some() && status_users.is_some() && access.is_some());
        assert_eq!(origins.0.len(), TOP_LEVEL_KEYS.len() + TLS_KEYS.len() + 4);
    }

    #[test]
    fn health_check_sections_are_read_per_worker_and_checked() {
        let ini = parse_ini(
            "Listen = 8080\n[healthcheck lb]\nUri = /app/health\nFall = 3\n[mounts]\n/a = lb\n[healthcheck node2]\nUri = /x\n",
            "j.ini",
        )
        .expect("valid");
        let targets: Vec<&str> = ini
            .health_checks
            .iter()
            .map(|h| h.target.as_str())
            .collect();
        assert_eq!(targets, ["lb", "node2"]);
        let lb = &ini.health_checks[0];
        assert_eq!(lb.origin, Some(Origin::new("j.ini", 2)));
        let keys: Vec<(&str, &str, u32)> = lb
            .lines
            .iter()
            .map(|l| (l.key.as_str(), l.value.as_str(), l.origin.line))
            .collect();
        assert_eq!(keys, [("Uri", "/app/health", 3), ("Fall", "3", 4)]);
        assert_eq!(ini.mounts.expect("[mounts]").0.len(), 1);
        let message = ini_error("[healthcheck lb]\nUrl = /x\n");
        assert!(
            message.starts_with("jkgate.ini:2: unknown setting `Url` in section [healthcheck lb] (did you mean `Uri`?)"),
            "{message}"
        );
        let message = ini_error("[healthcheck]\nUri = /x\n");
        assert!(
            message.starts_with("jkgate.ini:1: `[healthcheck]`"),
            "{message}"
        );
        let message = ini_error("[healthcheck a]\nUri = /x\nUri = /y\n");
        assert!(
            message.starts_with("jkgate.ini:3: `Uri` is set again"),
            "{message}"
        );
        let message = ini_error("[healthcheck a]\n[healthcheck a]\n");
        assert!(message.contains("written twice"), "{message}");
    }

    #[test]
    fn vhost_sections_hold_settings_and_mounts() {
        let ini = parse_ini(
            "JkMountCopy = All\n[vhost www.example.com]\nServerAlias = example.com\nServerAlias = *.example.com\n\
             VirtualHost = *:80\n/app/* = lb\n!/app/static/* = lb\n-/old = lb\n[mounts]\n/x = w\n\
             [vhost shop]\nServerName = shop.example.com:443\nJkMountCopy = Off\n[vhost www.example.com]\nKey = k.pem\n",
            "j.ini",
        )
        .expect("valid");
        assert_eq!(ini.mount_copy.as_deref(), Some("All"));
        assert_eq!(ini.vhosts.len(), 2);
        let www = &ini.vhosts[0];
        assert_eq!(www.label, "www.example.com");
        assert_eq!(www.origin, Origin::new("j.ini", 2));
        assert_eq!(www.get("ServerAlias"), Some("example.com, *.example.com"));
        assert_eq!(www.get("VirtualHost"), Some("*:80"));
        assert_eq!(www.get("Key"), Some("k.pem"));
        let mounts: Vec<(&str, &str, u32)> = www
            .mounts
            .iter()
            .map(|(p, w, o)| (p.as_str(), w.as_str(), o.line))
            .collect();
        assert_eq!(
            mounts,
            vec![
                ("/app/*", "lb", 6),
                ("!/app/static/*", "lb", 7),
                ("-/old", "lb", 8)
            ]
        );
        assert_eq!(
            ini.vhosts[1].get("ServerName"),
            Some("shop.example.com:443")
        );
        assert_eq!(ini.mounts.expect("[mounts]").0.len(), 1);
        assert_eq!(
            ini.origins.of(Some("vhost shop"), "JkMountCopy"),
            Some(Origin::new("j.ini", 13))
        );
    }

    #[test]
    fn vhost_mistakes_name_line_and_what_is_valid() {
        let message = ini_error("[vhost]\nServerAlias = a\n");
        assert!(
            message.starts_with("jkgate.ini:1: `[vhost]` needs the vhost's name"),
            "{message}"
        );
        let message = ini_error("[vhost a]\nServerAlais = b\n");
        assert!(
            message.starts_with("jkgate.ini:2: unknown setting `ServerAlais` in section [vhost a] (did you mean `ServerAlias`?)"),
            "{message}"
        );
        let message = ini_error("[vhost a]\napp/* = lb\n");
        assert!(
            message.contains("a mount pattern begins with `/`") || message.contains("did you mean"),
            "{message}"
        );
        let message = ini_error("[vhost a]\nJkMount = /app/* lb\n");
        assert!(
            message.contains("write a mount as `/path/* = worker`"),
            "{message}"
        );
        let message = ini_error("[vhost a]\nKey = a\nKey = b\n");
        assert!(
            message.starts_with(
                "jkgate.ini:3: `Key` is set again in section [vhost a] (first at line 2)"
            ),
            "{message}"
        );
        let message = ini_error("[VirtualHost *:80]\n");
        assert!(
            message.contains("(did you mean [vhost *:80]?)"),
            "{message}"
        );
        let message = ini_error("ServerAlias = x\n");
        assert!(
            message.contains("belongs in a [vhost NAME] section"),
            "{message}"
        );
        let message = ini_error("[vhost a]\nJkLogLevel = debug\n");
        assert!(message.contains("not a per-vhost setting"), "{message}");
    }

    #[test]
    fn options_words() {
        let (options, warnings) = JkOptions::parse(
            "+ForwardURICompatUnparsed RejectUnsafeURI -ForwardKeySize +CollapseSlashesAll",
        )
        .unwrap();
        assert_eq!(options.forward_uri, ForwardUri::CompatUnparsed);
        assert!(options.reject_unsafe_uri);
        assert!(!options.forward_key_size);
        assert_eq!(warnings.len(), 1);
        assert!(JkOptions::parse("-ForwardURIProxy").is_err());
        assert!(JkOptions::parse("+Bogus").is_err());
        assert!(JkOptions::parse("ForwardLocalAddress ForwardPhysicalAddress").is_err());
    }

    #[test]
    fn request_log_format() {
        let format = RequestLogFormat::parse("%w %V %T\\n").unwrap();
        assert_eq!(
            format.0,
            vec![
                LogItem::Worker,
                LogItem::Text(" ".into()),
                LogItem::ServerName,
                LogItem::Text(" ".into()),
                LogItem::Duration,
                LogItem::Text("\n".into())
            ]
        );
        assert!(RequestLogFormat::parse("%x").is_err());
    }

    #[test]
    fn strip_session() {
        assert_eq!(
            parse_strip_session("On").unwrap().as_deref(),
            Some(";jsessionid")
        );
        assert_eq!(
            parse_strip_session("on SESSION").unwrap().as_deref(),
            Some(";SESSION")
        );
        assert_eq!(parse_strip_session("Off").unwrap(), None);
        assert!(parse_strip_session("maybe").is_err());
    }
}
