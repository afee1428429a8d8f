//! Resolved settings: jkgate.ini, the operator's overrides (command-line flags) and defaults
//! turned into one [`RunSettings`] with every file read (workers.properties, the mount
//! file) and every mount checked against the workers. Nothing here starts anything: the
//! application assembles a running jkgate from a [`RunSettings`], on start and on reload.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::access::AccessRules;
use super::error::{ConfigError, ConfigWarning, Origin};
use super::health::{HealthCheck, resolve_health_checks};
use super::htpasswd::{Credential, StatusUser, read_htpasswd};
use super::ini::{
    self, IniFile, JkOptions, LogLevel, ReplayPolicy, RequestLogFormat, parse_replay,
    parse_seconds, parse_strip_session, resolve_path, split_setting_list,
};
use super::limits::{ClientLimits, LimitValues, resolve_limits};
use super::load_workers_properties_seeded;
use super::properties::{self, PropertyMap};
use super::remoteip::{RemoteIpSettings, RemoteIpValues, resolve_remote_ip};
use super::uriworkermap::{MountTable, command_line_origin};
use super::vhost::{HostMatcher, VhostAddress, VhostSettings, VhostTls};
use super::workers::WorkersConfig;

/// Where settings come from besides jkgate.ini: each field, when set, overrides the ini
/// (the command line fills it; tests and the demo build it directly).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// jkgate's own settings file (INI). Without it, overrides and defaults are used.
    pub config: Option<PathBuf>,
    /// mod_jk's workers.properties (JkWorkersFile).
    pub workers_file: Option<PathBuf>,
    /// mod_jk's uriworkermap.properties (JkMountFile).
    pub mount_file: Option<PathBuf>,
    /// JkMount rules `PATTERN=WORKER[;ext=value...]`, added to the ini's `[mounts]`.
    pub mounts: Vec<String>,
    /// Plain HTTP listen addresses (replace the ini's `Listen`).
    pub listen: Vec<String>,
    /// HTTPS listen addresses (replace the ini's `[tls] Listen`).
    pub tls_listen: Vec<String>,
    /// PEM certificate chain for HTTPS.
    pub cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    pub key: Option<PathBuf>,
    /// PEM CA bundle for client certificates.
    pub client_ca: Option<PathBuf>,
    /// JkLogLevel.
    pub log_level: Option<String>,
    /// JkLogFile: the error log file (`-` standard error).
    pub log_file: Option<PathBuf>,
    /// Access log file (`-` standard output, `off` none).
    pub access_log: Option<PathBuf>,
}

/// Default plain HTTP listener when neither the ini nor the flags name one.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// How long a stopping listener waits for open connections to finish, unless
/// `GracefulShutdownTimeout` says otherwise.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Default `JkMountFileReload`.
pub const DEFAULT_MOUNT_FILE_RELOAD: Duration = Duration::from_secs(60);

/// One listening socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Listener {
    /// Address to bind.
    pub addr: SocketAddr,
    /// Whether it speaks HTTPS.
    pub tls: bool,
}

/// TLS material for the HTTPS listeners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain.
    pub certificate: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA bundle for client certificates (`None`: no client auth).
    pub client_ca: Option<PathBuf>,
}

/// Where the Prometheus metrics are served (`MetricsPath`, `MetricsListen`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The path (`/metrics` when only `MetricsListen` is set).
    pub path: String,
    /// A listener of their own: then they are served only there (e.g. on loopback).
    pub listen: Option<SocketAddr>,
}

/// Everything the server needs, resolved from jkgate.ini, flags and defaults.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// Listening sockets (plain first, then TLS).
    pub listeners: Vec<Listener>,
    /// TLS material (set when there is a TLS listener).
    pub tls: Option<TlsSettings>,
    /// The workers file that was read.
    pub workers_file: PathBuf,
    /// The resolved workers.
    pub workers: WorkersConfig,
    /// The workers.properties map (for the status worker's `cmd=dump`).
    pub worker_properties: PropertyMap,
    /// The mount file, if any (reloaded every `mount_file_reload` when its mtime changes).
    pub mount_file: Option<PathBuf>,
    /// `JkMountFileReload` (zero = never).
    pub mount_file_reload: Duration,
    /// The main server's mount rules (file, JkMount, worker definitions): every request no
    /// vhost answers.
    pub mounts: MountTable,
    /// `ServerName` of the main server (what the status worker shows as its maps' server).
    pub server_name: Option<String>,
    /// `[vhost NAME]` sections, in file order, each with its resolved mount table.
    pub vhosts: Vec<VhostSettings>,
    /// `JkOptions`.
    pub options: JkOptions,
    /// `Replay`: what may be sent to a member again after a failure.
    pub replay: ReplayPolicy,
    /// `JkLogLevel`.
    pub log_level: LogLevel,
    /// `JkLogFile`: the error log file (`None` or `-`: standard error).
    pub log_file: Option<PathBuf>,
    /// Access log destination (`None`: off; `-`: standard output).
    pub access_log: Option<PathBuf>,
    /// Access log format (`None`: jkgate's default line).
    pub request_log_format: Option<RequestLogFormat>,
    /// `JkEnvVar`-like request attributes sent to Tomcat, in order.
    pub env_vars: Vec<(String, String)>,
    /// `JkStripSession`: path parameter stripped from unmapped requests.
    pub strip_session: Option<String>,
    /// `GracefulShutdownTimeout`: how long open connections may finish on SIGTERM.
    pub shutdown_grace: Duration,
    /// `JkWatchdogInterval` (zero: maintenance runs every `worker.maintain`).
    pub watchdog_interval: Duration,
    /// Status worker users (basic auth): jkgate.ini's `[status_users]` (plain text), then
    /// the `AuthUserFile` (hashed), in order; the first of a name wins.
    pub status_users: Vec<StatusUser>,
    /// `AuthUserFile`: the htpasswd file read (re-read on every reload).
    pub auth_user_file: Option<PathBuf>,
    /// mod_remoteip's settings: the client's real address behind proxies.
    pub remote_ip: RemoteIpSettings,
    /// `[access]`: IP rules per location and per worker.
    pub access: AccessRules,
    /// Client limits (`RequestReadTimeout`, `KeepAliveTimeout`, `LimitRequest*`,
    /// `MaxConnections`).
    pub limits: ClientLimits,
    /// Prometheus metrics (`None`: not served).
    pub metrics: Option<MetricsSettings>,
    /// `[healthcheck NAME]` application health checks.
    pub health_checks: Vec<HealthCheck>,
    /// `StateFile`: where runtime edits are kept (`None`: they last until jkgate stops).
    pub state_file: Option<PathBuf>,
    /// `StateStore`: the etcd store a fleet shares its runtime edits through.
    pub state_store: Option<StoreUrl>,
    /// Non-fatal findings from every file read.
    pub warnings: Vec<ConfigWarning>,
}

/// `StateStore = etcd://host:port[,host:port...]/prefix`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreUrl {
    /// `host:port` of each etcd endpoint.
    pub endpoints: Vec<String>,
    /// The key prefix, without a trailing `/` (`/jkgate/prod`).
    pub prefix: String,
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "etcd://{}{}", self.endpoints.join(","), self.prefix)
    }
}

/// Parses a `StateStore` value.
pub fn parse_store_url(value: &str) -> Result<StoreUrl, ConfigError> {
    let bad = |why: &str| setting("StateStore", format!("{value:?}: {why}"));
    let rest = value
        .trim()
        .strip_prefix("etcd://")
        .ok_or_else(|| bad("expected etcd://host:port[,host:port...]/prefix"))?;
    let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
    let endpoints: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    if endpoints.is_empty() {
        return Err(bad("no etcd endpoint"));
    }
    for endpoint in &endpoints {
        match endpoint.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
            _ => return Err(bad("each endpoint is host:port")),
        }
    }
    let prefix = format!("/{}", path.trim_matches('/'));
    if prefix == "/" {
        return Err(bad("a key prefix is needed (etcd://host:port/jkgate/NAME)"));
    }
    if !cfg!(feature = "etcd") {
        return Err(bad("this jkgate was built without the etcd feature"));
    }
    Ok(StoreUrl { endpoints, prefix })
}

/// `error` placed at `origin` (the jkgate.ini line its value came from), unless it already
/// names a place. Value checks are shared with the command line, which has no line.
fn located(error: ConfigError, origin: Option<Origin>) -> ConfigError {
    match error {
        ConfigError::Setting {
            origin: None,
            setting,
            problem,
        } => ConfigError::Setting {
            origin,
            setting,
            problem,
        },
        ConfigError::Several(list) => ConfigError::Several(
            list.into_iter()
                .map(|e| located(e, origin.clone()))
                .collect(),
        ),
        other => other,
    }
}

fn setting(setting: &str, problem: String) -> ConfigError {
    ConfigError::Setting {
        origin: None,
        setting: setting.to_owned(),
        problem,
    }
}

/// Parses a listen address: `host:port`, `[v6]:port`, or a bare port (all interfaces, as
/// httpd's `Listen 80`).
pub fn parse_listen(setting_name: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    let value = value.trim();
    if let Ok(port) = value.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Some((host, port)) = value.rsplit_once(':')
        && host == "localhost"
        && let Ok(port) = port.parse::<u16>()
    {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    Err(setting(
        setting_name,
        format!(
            "`{value}` is not a listen address; use IP:PORT, [IPv6]:PORT, localhost:PORT or PORT"
        ),
    ))
}

/// Resolves every setting: reads jkgate.ini (if given), applies the flags, reads
/// workers.properties and the mount file, builds the mount table and checks that every
/// mount names a listed worker.
pub fn resolve_settings(args: &Sources) -> Result<RunSettings, ConfigError> {
    let ini = match &args.config {
        Some(path) => ini::load_ini(path)?,
        None => IniFile::default(),
    };
    let config_dir = args
        .config
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    let base = match &ini.server_root {
        Some(root) => resolve_path(&config_dir, root),
        None => config_dir,
    };
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    let origins = &ini.origins;
    // The ini line of a top-level setting, when the ini (not a flag) gave the value.
    let ini_line = |key: &str| origins.of(None, key);

    // Listeners.
    let mut listeners = Vec::new();
    let plain: Vec<String> = if !args.listen.is_empty() {
        args.listen.clone()
    } else {
        ini.listen
            .as_deref()
            .map(split_setting_list)
            .unwrap_or_default()
    };
    let tls_section = ini.tls.clone().unwrap_or_default();
    let tls_listen: Vec<String> = if !args.tls_listen.is_empty() {
        args.tls_listen.clone()
    } else {
        tls_section
            .listen
            .as_deref()
            .map(split_setting_list)
            .unwrap_or_default()
    };
    let from_flags = !args.listen.is_empty();
    for value in &plain {
        match parse_listen("Listen", value) {
            Ok(addr) => listeners.push(Listener { addr, tls: false }),
            Err(e) if from_flags => errors.push(e),
            Err(e) => errors.push(located(e, origins.of_item(None, "Listen", value))),
        }
    }
    let tls_from_flags = !args.tls_listen.is_empty();
    for value in &tls_listen {
        match parse_listen("[tls] Listen", value) {
            Ok(addr) => listeners.push(Listener { addr, tls: true }),
            Err(e) if tls_from_flags => errors.push(e),
            Err(e) => errors.push(located(e, origins.of_item(Some("tls"), "Listen", value))),
        }
    }
    if listeners.is_empty() {
        listeners.push(Listener {
            addr: DEFAULT_LISTEN,
            tls: false,
        });
    }
    let certificate = args.cert.clone().or_else(|| {
        tls_section
            .certificate
            .as_deref()
            .map(|p| resolve_path(&base, p))
    });
    let key = args
        .key
        .clone()
        .or_else(|| tls_section.key.as_deref().map(|p| resolve_path(&base, p)));
    let client_ca = args.client_ca.clone().or_else(|| {
        tls_section
            .client_ca
            .as_deref()
            .map(|p| resolve_path(&base, p))
    });
    let vhost_has_certificate = ini
        .vhosts
        .iter()
        .any(|v| v.get("Certificate").is_some() || v.get("Key").is_some());
    let tls = if listeners.iter().any(|l| l.tls) {
        match (certificate, key) {
            (Some(certificate), Some(key)) => Some(TlsSettings {
                certificate,
                key,
                client_ca,
            }),
            (None, None) if vhost_has_certificate => None,
            _ => {
                let origin = if tls_from_flags {
                    None
                } else {
                    origins.of(Some("tls"), "Listen")
                };
                errors.push(located(
                    setting(
                        "[tls]",
                        "HTTPS listeners need both Certificate and Key (or --cert and --key), here or in a [vhost NAME] section"
                            .to_owned(),
                    ),
                    origin,
                ));
                None
            }
        }
    } else {
        if certificate.is_some() || key.is_some() || vhost_has_certificate {
            warnings.push(ConfigWarning {
                origin: None,
                key: "[tls]".to_owned(),
                message: "a certificate or key is configured but no HTTPS listener ([tls] Listen or --tls-listen); it is unused".to_owned(),
            });
        }
        None
    };

    // Plain settings.
    let log_level = match args.log_level.as_deref().or(ini.log_level.as_deref()) {
        Some(value) => LogLevel::parse(value).unwrap_or_else(|e| {
            let origin = if args.log_level.is_some() {
                None
            } else {
                ini_line("JkLogLevel")
            };
            errors.push(located(e, origin));
            LogLevel::Info
        }),
        None => LogLevel::Info,
    };
    let (options, option_warnings) = match ini.options.as_deref() {
        Some(value) => JkOptions::parse(value).unwrap_or_else(|e| {
            errors.push(located(e, ini_line("JkOptions")));
            (JkOptions::default(), Vec::new())
        }),
        None => (JkOptions::default(), Vec::new()),
    };
    warnings.extend(option_warnings.into_iter().map(|message| ConfigWarning {
        origin: ini_line("JkOptions"),
        key: "JkOptions".to_owned(),
        message,
    }));
    let replay = match ini.replay.as_deref() {
        Some(value) => parse_replay(value).unwrap_or_else(|e| {
            errors.push(located(e, ini_line("Replay")));
            ReplayPolicy::default()
        }),
        None => ReplayPolicy::default(),
    };
    let request_log_format = match ini.request_log_format.as_deref() {
        Some(value) => RequestLogFormat::parse(value)
            .map(Some)
            .unwrap_or_else(|e| {
                errors.push(located(e, ini_line("JkRequestLogFormat")));
                None
            }),
        None => None,
    };
    let strip_session = match ini.strip_session.as_deref() {
        Some(value) => parse_strip_session(value).unwrap_or_else(|e| {
            errors.push(located(e, ini_line("JkStripSession")));
            None
        }),
        None => None,
    };
    let mut seconds = |name: &str, value: Option<&str>, default: Duration| match value {
        Some(value) => parse_seconds(name, value).unwrap_or_else(|e| {
            errors.push(located(e, ini_line(name)));
            default
        }),
        None => default,
    };
    let watchdog_interval = seconds(
        "JkWatchdogInterval",
        ini.watchdog_interval.as_deref(),
        Duration::ZERO,
    );
    if !watchdog_interval.is_zero() {
        warnings.push(ConfigWarning {
            origin: ini_line("JkWatchdogInterval"),
            key: "JkWatchdogInterval".to_owned(),
            message: "jkgate always runs lb maintenance on its own timer (every worker.maintain) \
                      and pool maintenance every second; the setting changes nothing"
                .to_owned(),
        });
    }
    if strip_session.is_some() {
        warnings.push(ConfigWarning {
            origin: ini_line("JkStripSession"),
            key: "JkStripSession".to_owned(),
            message: "jkgate serves nothing itself: unmapped requests get 404, so there is no \
                      URI to strip session ids from; the setting changes nothing"
                .to_owned(),
        });
    }
    let shutdown_grace = seconds(
        "GracefulShutdownTimeout",
        ini.graceful_shutdown_timeout.as_deref(),
        DEFAULT_SHUTDOWN_GRACE,
    );
    let mount_file_reload = seconds(
        "JkMountFileReload",
        ini.mount_file_reload.as_deref(),
        DEFAULT_MOUNT_FILE_RELOAD,
    );
    // `-` names a standard stream, not a file in ServerRoot.
    let log_path = |p: &str| {
        if p == "-" {
            PathBuf::from("-")
        } else {
            resolve_path(&base, p)
        }
    };
    let access_log = args
        .access_log
        .clone()
        .or_else(|| ini.access_log.as_deref().map(log_path));
    let log_file = args
        .log_file
        .clone()
        .or_else(|| ini.log_file.as_deref().map(log_path));
    let limits = resolve_limits(
        &LimitValues {
            request_read_timeout: ini.request_read_timeout.as_deref(),
            keep_alive_timeout: ini.keep_alive_timeout.as_deref(),
            request_line: ini.limit_request_line.as_deref(),
            field_size: ini.limit_request_field_size.as_deref(),
            fields: ini.limit_request_fields.as_deref(),
            body: ini.limit_request_body.as_deref(),
            max_connections: ini.max_connections.as_deref(),
        },
        |key| ini.origins.of(None, key),
        &mut errors,
    );
    let metrics = resolve_metrics(&ini, &mut errors);
    let env_vars = ini.env.clone().unwrap_or_default().0;
    let state_file = ini.state_file.as_deref().map(|p| resolve_path(&base, p));
    let state_store = match ini.state_store.as_deref() {
        Some(value) => parse_store_url(value).map(Some).unwrap_or_else(|e| {
            errors.push(located(e, ini_line("StateStore")));
            None
        }),
        None => None,
    };
    let remote_ip = resolve_remote_ip(
        &RemoteIpValues {
            header: ini.remote_ip_header.as_deref(),
            trusted: ini.remote_ip_trusted_proxy.as_deref(),
            internal: ini.remote_ip_internal_proxy.as_deref(),
            proxies_header: ini.remote_ip_proxies_header.as_deref(),
            proxy_protocol: ini.remote_ip_proxy_protocol.as_deref(),
        },
        &|key, item| origins.of_item(None, key, item),
        &listeners,
        &mut errors,
        &mut warnings,
    );
    let access = AccessRules::parse(
        &ini.access.clone().unwrap_or_default().0,
        &origins.in_section("access"),
        &mut errors,
    );
    let auth_user_file = ini
        .auth_user_file
        .as_deref()
        .map(|p| resolve_path(&base, p));
    let status_users = status_users(&ini, auth_user_file.as_deref(), &mut errors, &mut warnings);

    // workers.properties.
    let workers_file = args.workers_file.clone().unwrap_or_else(|| {
        resolve_path(
            &base,
            ini.workers_file.as_deref().unwrap_or("workers.properties"),
        )
    });
    let server_root = base.display().to_string();
    let workers =
        match load_workers_properties_seeded(&workers_file, &[("ServerRoot", &server_root)]) {
            Ok(file) => Some(file),
            Err(e) => {
                errors.push(e);
                None
            }
        };

    // Mounts: file, then JkMount ([mounts] and --mount), then worker definitions.
    let mount_file = args
        .mount_file
        .clone()
        .or_else(|| ini.mount_file.as_deref().map(|p| resolve_path(&base, p)));
    let mut mounts = MountTable::new();
    if let Some(path) = &mount_file {
        read_mount_file(path, &mut mounts, &mut errors);
    }
    let mount_lines = origins.in_section("mounts");
    for (index, (pattern, worker)) in ini.mounts.clone().unwrap_or_default().0.iter().enumerate() {
        let origin = mount_lines.get(index).cloned();
        if let Err(e) = mounts.add_jk_mount(pattern, worker, origin) {
            errors.push(e);
        }
    }
    for (index, line) in args.mounts.iter().enumerate() {
        if let Err(e) = mounts.add_jk_mount_line(line, Some(command_line_origin(index))) {
            errors.push(e);
        }
    }
    let server_name = ini.server_name.clone();
    if server_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        errors.push(located(
            setting(
                "ServerName",
                "is empty; write the host name, e.g. www.example.com".to_owned(),
            ),
            ini_line("ServerName"),
        ));
    }
    let copy_all = match ini.mount_copy.as_deref() {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("all") => true,
        Some(v) if v.eq_ignore_ascii_case("off") => false,
        Some(v) if v.eq_ignore_ascii_case("on") => {
            warnings.push(ConfigWarning {
                origin: ini_line("JkMountCopy"),
                key: "JkMountCopy".to_owned(),
                message: "`On` at the top level changes nothing (as in mod_jk): write `All` to make every vhost copy the top-level mounts, or `JkMountCopy = On` in a [vhost NAME] section".to_owned(),
            });
            false
        }
        Some(v) => {
            errors.push(located(
                setting(
                    "JkMountCopy",
                    format!("`{v}` is not valid at the top level; valid: All (every vhost copies the top-level mounts unless it says Off) or Off"),
                ),
                ini_line("JkMountCopy"),
            ));
            false
        }
    };
    let Some(workers) = workers else {
        return Err(ConfigError::from_list(errors).expect("the workers error was pushed"));
    };
    // The top-level JkMount rules and mount file before the worker definitions join them:
    // what a vhost with mounts of its own copies (mod_jk's `uri_to_context`).
    let copied = mounts.clone();
    let checked = check_mounts(&workers, mounts);
    errors.extend(checked.errors);
    let health_checks = resolve_health_checks(&ini.health_checks, &workers.config, &mut errors);
    let mut vhost_warnings = Vec::new();
    let vhosts = resolve_vhosts(
        &ini,
        &VhostInputs {
            base: &base,
            main_jk: &copied,
            main_all: &checked.mounts,
            main_file: mount_file.as_deref(),
            copy_all,
            has_global_certificate: tls.is_some(),
            tls_listeners: listeners.iter().any(|l| l.tls),
            listen_ports: listeners.iter().map(|l| l.addr.port()).collect(),
        },
        &workers,
        &mut errors,
        &mut vhost_warnings,
    );
    if let Some(error) = ConfigError::from_list(errors) {
        return Err(error);
    }
    let mut all_warnings = checked.warnings;
    if !vhosts.is_empty()
        && let Some(index) = all_warnings.iter().position(|w| w.key == "mounts")
        && vhosts
            .iter()
            .any(|v| v.mounts.rules().iter().any(|r| !r.disabled && !r.exclusion))
    {
        // A vhost maps something: the "nothing is mapped" warning is about the top level only.
        all_warnings.remove(index);
    }
    all_warnings.append(&mut vhost_warnings);
    all_warnings.append(&mut warnings);
    keep_open_status_warnings(&mut all_warnings, &workers.config, &checked.mounts, &access);
    Ok(RunSettings {
        listeners,
        tls,
        workers_file,
        workers: workers.config,
        worker_properties: workers.properties,
        mount_file,
        mount_file_reload,
        mounts: checked.mounts,
        server_name,
        vhosts,
        options,
        replay,
        log_level,
        log_file,
        access_log,
        request_log_format,
        env_vars,
        strip_session,
        watchdog_interval,
        shutdown_grace,
        status_users,
        auth_user_file,
        remote_ip,
        access,
        limits,
        metrics,
        health_checks,
        state_file,
        state_store,
        warnings: all_warnings,
    })
}

/// `MetricsPath` and `MetricsListen`: a path from `/`; a dedicated listener alone serves
/// `/metrics`.
fn resolve_metrics(ini: &IniFile, errors: &mut Vec<ConfigError>) -> Option<MetricsSettings> {
    let origins = &ini.origins;
    let path = match ini.metrics_path.as_deref().map(str::trim) {
        Some(path) if path.starts_with('/') && !path.contains(char::is_whitespace) => {
            Some(path.to_owned())
        }
        Some(path) => {
            errors.push(located(
                setting(
                    "MetricsPath",
                    format!("`{path}` is not a path; write it from `/`, e.g. /metrics"),
                ),
                origins.of(None, "MetricsPath"),
            ));
            return None;
        }
        None => None,
    };
    let listen = match ini.metrics_listen.as_deref() {
        Some(value) => match parse_listen("MetricsListen", value) {
            Ok(addr) => Some(addr),
            Err(e) => {
                errors.push(located(e, origins.of(None, "MetricsListen")));
                return None;
            }
        },
        None => None,
    };
    match (path, listen) {
        (None, None) => None,
        (path, listen) => Some(MetricsSettings {
            path: path.unwrap_or_else(|| "/metrics".to_owned()),
            listen,
        }),
    }
}

/// Reads the mount file at `path` into `table`; a file that cannot be read is an error.
fn read_mount_file(path: &Path, table: &mut MountTable, errors: &mut Vec<ConfigError>) {
    match std::fs::read(path) {
        Ok(content) => {
            if let Err(e) = table.read_uriworkermap(
                &content,
                &path.display().to_string(),
                &properties::process_env,
            ) {
                errors.push(e);
            }
        }
        Err(source) => errors.push(ConfigError::Io {
            what: "mount file",
            path: path.to_owned(),
            source,
        }),
    }
}

/// What the vhosts are resolved against.
struct VhostInputs<'a> {
    /// Where relative paths start.
    base: &'a Path,
    /// The top-level JkMount rules and mount file (without the worker definitions).
    main_jk: &'a MountTable,
    /// The top-level table with the worker definitions.
    main_all: &'a MountTable,
    /// The top-level JkMountFile.
    main_file: Option<&'a Path>,
    /// Top-level `JkMountCopy = All`.
    copy_all: bool,
    /// Whether `[tls]` has a certificate.
    has_global_certificate: bool,
    /// Whether there is an HTTPS listener.
    tls_listeners: bool,
    /// The ports listened on (a vhost address on another port is never reached).
    listen_ports: Vec<u16>,
}

/// Resolves every `[vhost NAME]` section as mod_jk's `merge_jk_config` and `init_jk` do:
///
/// * a vhost with mounts of its own (mount lines or a JkMountFile) uses them; with
///   `JkMountCopy` On (or the top-level `All`) it also copies the top-level JkMount rules
///   it does not write itself, and the top-level JkMountFile when it has none;
/// * a vhost without mounts of its own and with `JkMountCopy` shares the top-level table,
///   worker definitions (`worker.X.mount`) included;
/// * a vhost without mounts and without `JkMountCopy` maps nothing (httpd's default).
fn resolve_vhosts(
    ini: &IniFile,
    inputs: &VhostInputs<'_>,
    workers: &super::WorkersFile,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<VhostSettings> {
    let mut out = Vec::new();
    for section in &ini.vhosts {
        let name = section.section();
        let line = |key: &str| ini.origins.of(Some(&name), key);
        let fail = |key: &str, problem: String| located(setting(key, problem), line(key));
        let server_name = section
            .get("ServerName")
            .unwrap_or(&section.label)
            .to_owned();
        let aliases = section
            .get("ServerAlias")
            .map(split_setting_list)
            .unwrap_or_default();
        let mut addresses = Vec::new();
        for value in section
            .get("VirtualHost")
            .map(split_setting_list)
            .unwrap_or_default()
        {
            match VhostAddress::parse(&value) {
                Ok(address) => addresses.push(address),
                Err(problem) => errors.push(fail("VirtualHost", problem.to_string())),
            }
        }
        for address in &addresses {
            if let Some(port) = address.port
                && !inputs.listen_ports.contains(&port)
                && !inputs.listen_ports.contains(&0)
            {
                warnings.push(ConfigWarning {
                    origin: line("VirtualHost"),
                    key: format!("[{name}] VirtualHost"),
                    message: format!(
                        "nothing listens on port {port} (Listen, [tls] Listen): this vhost is never reached there"
                    ),
                });
            }
        }
        let mount_copy = match section.get("JkMountCopy") {
            None => inputs.copy_all,
            Some(v) if v.eq_ignore_ascii_case("on") => true,
            Some(v) if v.eq_ignore_ascii_case("off") => false,
            Some(v) => {
                errors.push(fail(
                    "JkMountCopy",
                    format!("`{v}` is not valid in a vhost; valid: On (copy the top-level mounts) or Off (the default); `All` belongs at the top level"),
                ));
                false
            }
        };
        let tls = match (section.get("Certificate"), section.get("Key")) {
            (Some(certificate), Some(key)) => Some(VhostTls {
                certificate: resolve_path(inputs.base, certificate),
                key: resolve_path(inputs.base, key),
            }),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                let key = if section.get("Certificate").is_some() {
                    "Certificate"
                } else {
                    "Key"
                };
                errors.push(fail(
                    key,
                    format!("[{name}] needs both Certificate and Key (SSLCertificateFile and SSLCertificateKeyFile)"),
                ));
                None
            }
        };
        if inputs.tls_listeners && tls.is_none() && !inputs.has_global_certificate {
            warnings.push(ConfigWarning {
                origin: Some(section.origin.clone()),
                key: format!("[{name}]"),
                message: "no Certificate here and none in [tls]: an HTTPS client this vhost answers gets no certificate (the handshake fails)".to_owned(),
            });
        }
        let own_file = section
            .get("JkMountFile")
            .map(|p| resolve_path(inputs.base, p));
        let has_own = !section.mounts.is_empty() || own_file.is_some();
        let (mounts, mount_file) = if !has_own {
            if mount_copy {
                (
                    inputs.main_all.clone(),
                    inputs.main_file.map(Path::to_owned),
                )
            } else {
                warnings.push(ConfigWarning {
                    origin: Some(section.origin.clone()),
                    key: format!("[{name}]"),
                    message: "no mounts and JkMountCopy Off: this vhost maps nothing, every request it answers gets 404 (as in httpd + mod_jk); add mount lines or `JkMountCopy = On`".to_owned(),
                });
                (MountTable::new(), None)
            }
        } else {
            let mut table = MountTable::new();
            for (pattern, worker, origin) in &section.mounts {
                if let Err(e) = table.add_jk_mount(pattern, worker, Some(origin.clone())) {
                    errors.push(e);
                }
            }
            if mount_copy {
                table.copy_jk_mounts(inputs.main_jk);
            }
            let file = own_file.or_else(|| {
                mount_copy
                    .then(|| inputs.main_file.map(Path::to_owned))
                    .flatten()
            });
            if let Some(path) = &file {
                read_mount_file(path, &mut table, errors);
            }
            (table, file)
        };
        for rule in mounts.rules() {
            if rule.worker != "*" && workers.config.get(&rule.worker).is_none() {
                errors.push(ConfigError::MountToUnknownWorker {
                    origin: rule.origin.clone(),
                    pattern: rule.pattern.clone(),
                    worker: rule.worker.clone(),
                    listed: workers.config.list.join(", "),
                });
            }
        }
        let mut mounts = mounts;
        warnings.append(&mut mounts.warnings);
        out.push(VhostSettings {
            label: section.label.clone(),
            origin: section.origin.clone(),
            matcher: HostMatcher::new(&server_name, &aliases, addresses),
            tls,
            mount_copy,
            mount_file,
            mounts,
        });
    }
    out
}

/// The status worker users: `[status_users]` (plain text, warned about) then the
/// `AuthUserFile` entries.
fn status_users(
    ini: &IniFile,
    auth_user_file: Option<&Path>,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<StatusUser> {
    let lines = ini.origins.in_section("status_users");
    let mut users: Vec<StatusUser> = ini
        .status_users
        .clone()
        .unwrap_or_default()
        .0
        .into_iter()
        .enumerate()
        .map(|(index, (name, password))| StatusUser {
            name,
            credential: Credential::Plain(password),
            origin: lines.get(index).cloned(),
        })
        .collect();
    if let Some(first) = users.first() {
        warnings.push(ConfigWarning {
            origin: first.origin.clone(),
            key: "[status_users]".to_owned(),
            message: format!(
                "{} status worker password(s) in plain text in jkgate.ini; keep them hashed in an htpasswd file instead (`htpasswd -cB /etc/jkgate/htpasswd NAME`, then AuthUserFile = /etc/jkgate/htpasswd)",
                users.len()
            ),
        });
    }
    if let Some(path) = auth_user_file {
        match std::fs::read_to_string(path) {
            Ok(content) => users.extend(read_htpasswd(
                &content,
                &path.display().to_string(),
                errors,
                warnings,
            )),
            Err(source) => errors.push(ConfigError::Io {
                what: "AuthUserFile",
                path: path.to_owned(),
                source,
            }),
        }
    }
    users
}

/// Drops the warning the workers file gave about a status worker that anyone may change
/// when an `[access]` rule limits who reaches it (a worker rule, or location rules over
/// every path it is mounted on).
fn keep_open_status_warnings(
    warnings: &mut Vec<ConfigWarning>,
    workers: &WorkersConfig,
    mounts: &MountTable,
    access: &AccessRules,
) {
    if access.is_empty() {
        return;
    }
    for worker in &workers.workers {
        if !matches!(worker.kind, super::WorkerKind::Status(_)) {
            continue;
        }
        let paths: Vec<Vec<u8>> = mounts
            .rules()
            .iter()
            .filter(|r| r.worker == worker.name && !r.exclusion && !r.disabled)
            .map(|r| {
                let fixed = r.pattern.split(['*', '?']).next().unwrap_or("");
                fixed.trim_end_matches('|').as_bytes().to_vec()
            })
            .collect();
        if access.restricts(&worker.name, &paths) {
            let key = format!("worker.{}", worker.name);
            warnings
                .retain(|w| !(w.key == key && w.message.contains("lets anyone change workers")));
        }
    }
}

/// The mount table completed with the workers' own `mount` rules and checked against them.
struct CheckedMounts {
    mounts: MountTable,
    errors: Vec<ConfigError>,
    warnings: Vec<ConfigWarning>,
}

/// Adds every `worker.<name>.mount` rule to `mounts`, then refuses a rule that names no
/// listed worker and warns when nothing is mapped at all, as mod_jk does at startup.
fn check_mounts(workers: &super::WorkersFile, mut mounts: MountTable) -> CheckedMounts {
    let mut errors = Vec::new();
    let mut warnings = workers.warnings.clone();
    for worker in &workers.config.workers {
        if !worker.mounts.is_empty() {
            let origin = workers
                .properties
                .get(&format!("worker.{}.mount", worker.name))
                .map(|p| p.origin.clone());
            mounts.add_worker_mounts(&worker.name, &worker.mounts, origin);
        }
    }
    for rule in mounts.rules() {
        if rule.worker != "*" && workers.config.get(&rule.worker).is_none() {
            errors.push(ConfigError::MountToUnknownWorker {
                origin: rule.origin.clone(),
                pattern: rule.pattern.clone(),
                worker: rule.worker.clone(),
                listed: workers.config.list.join(", "),
            });
        }
    }
    if mounts.rules().iter().all(|r| r.disabled || r.exclusion) {
        warnings.push(ConfigWarning {
            origin: None,
            key: "mounts".to_owned(),
            message: "no mount rule maps anything: every request will get 404 (add JkMountFile, [mounts], --mount or worker.<name>.mount)".to_owned(),
        });
    }
    warnings.append(&mut mounts.warnings);
    CheckedMounts {
        mounts,
        errors,
        warnings,
    }
}

impl RunSettings {
    /// Settings from a workers.properties held in memory (`name` says where it came from in
    /// errors) and JkMount lines, every other setting at its default, listening on
    /// `listen`. The demo, the tests and the fuzz targets start jkgate from these through
    /// the same assembly as `jkgate run`.
    pub fn from_workers_text(
        name: &str,
        workers: &str,
        mounts: &[&str],
        listen: SocketAddr,
    ) -> Result<RunSettings, ConfigError> {
        let file = super::read_workers_properties(workers.as_bytes(), name, &|_| None)?;
        let mut table = MountTable::new();
        let mut errors = Vec::new();
        for (index, line) in mounts.iter().enumerate() {
            if let Err(e) = table.add_jk_mount_line(line, Some(command_line_origin(index))) {
                errors.push(e);
            }
        }
        let checked = check_mounts(&file, table);
        errors.extend(checked.errors);
        if let Some(error) = ConfigError::from_list(errors) {
            return Err(error);
        }
        Ok(RunSettings {
            listeners: vec![Listener {
                addr: listen,
                tls: false,
            }],
            tls: None,
            workers_file: PathBuf::from(name),
            workers: file.config,
            worker_properties: file.properties,
            mount_file: None,
            mount_file_reload: DEFAULT_MOUNT_FILE_RELOAD,
            mounts: checked.mounts,
            server_name: None,
            vhosts: Vec::new(),
            options: JkOptions::default(),
            replay: ReplayPolicy::default(),
            log_level: LogLevel::Info,
            log_file: None,
            access_log: None,
            request_log_format: None,
            env_vars: Vec::new(),
            strip_session: None,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            watchdog_interval: Duration::ZERO,
            status_users: Vec::new(),
            auth_user_file: None,
            remote_ip: RemoteIpSettings::default(),
            access: AccessRules::default(),
            limits: ClientLimits::default(),
            metrics: None,
            health_checks: Vec::new(),
            state_file: None,
            state_store: None,
            warnings: checked.warnings,
        })
    }
}
