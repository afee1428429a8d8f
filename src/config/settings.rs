//! Resolved settings: jkgate.ini, the operator's overrides (command-line flags) and defaults
//! turned into one [`RunSettings`] with every file read (workers.properties, the mount
//! file) and every mount checked against the workers. Nothing here starts anything: the
//! application assembles a running jkgate from a [`RunSettings`], on start and on reload.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::access::AccessRules;
use super::error::{ConfigError, ConfigWarning, Origin};
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
    /// All mount rules (file, JkMount, worker definitions).
    pub mounts: MountTable,
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
    /// Non-fatal findings from every file read.
    pub warnings: Vec<ConfigWarning>,
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
    let tls = if listeners.iter().any(|l| l.tls) {
        match (certificate, key) {
            (Some(certificate), Some(key)) => Some(TlsSettings {
                certificate,
                key,
                client_ca,
            }),
            _ => {
                let origin = if tls_from_flags {
                    None
                } else {
                    origins.of(Some("tls"), "Listen")
                };
                errors.push(located(
                    setting(
                        "[tls]",
                        "HTTPS listeners need both Certificate and Key (or --cert and --key)"
                            .to_owned(),
                    ),
                    origin,
                ));
                None
            }
        }
    } else {
        if certificate.is_some() || key.is_some() {
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
    let env_vars = ini.env.clone().unwrap_or_default().0;
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
        match std::fs::read(path) {
            Ok(content) => {
                if let Err(e) = mounts.read_uriworkermap(
                    &content,
                    &path.display().to_string(),
                    &properties::process_env,
                ) {
                    errors.push(e);
                }
            }
            Err(source) => errors.push(ConfigError::Io {
                what: "mount file",
                path: path.clone(),
                source,
            }),
        }
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
    let Some(workers) = workers else {
        return Err(ConfigError::from_list(errors).expect("the workers error was pushed"));
    };
    let checked = check_mounts(&workers, mounts);
    errors.extend(checked.errors);
    if let Some(error) = ConfigError::from_list(errors) {
        return Err(error);
    }
    let mut all_warnings = checked.warnings;
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
        warnings: all_warnings,
    })
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
            warnings: checked.warnings,
        })
    }
}
