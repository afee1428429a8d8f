//! The command line: `jkgate [run] [--config jkgate.ini] [--workers-file F] ...`,
//! `jkgate check ...` and `jkgate demo`.
//!
//! Settings come from `jkgate.ini` (see [`crate::config::ini`]); command-line flags override
//! it; anything still missing gets a default. [`resolve_settings`] turns the flags into a
//! fully resolved [`RunSettings`] (listeners, TLS, workers, mount table, options) that the
//! server uses; `jkgate check` prints it or the errors and exits 0 or 1.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::balancer::ReplayPolicy;
use crate::config::error::{ConfigError, ConfigWarning, Origin};
use crate::config::ini::{
    self, IniFile, JkOptions, LogLevel, RequestLogFormat, parse_replay, parse_seconds,
    parse_strip_session, resolve_path, split_setting_list,
};
use crate::config::properties::PropertyMap;
use crate::config::uriworkermap::{MountTable, command_line_origin};
use crate::config::workers::{AjpSettings, LbMember, WorkerKind, WorkersConfig};
use crate::config::{load_workers_properties_seeded, properties};

/// `jkgate`: a drop-in replacement for Apache httpd + mod_jk.
#[derive(Debug, Parser)]
#[command(
    name = "jkgate",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do (default: `run`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The flags of `run`, when no subcommand is named.
    #[command(flatten)]
    pub run: SettingsArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve: read the configuration, listen, and relay requests to the workers (the
    /// default when no subcommand is named).
    Run(SettingsArgs),
    /// Start jkgate in front of two embedded AJP13 backends (routes node1 and node2), so
    /// the relay and the balancer can be tried without Tomcat.
    Demo(DemoArgs),
    /// Read jkgate.ini, workers.properties and the mounts; print the resolved workers (each
    /// lb with its members and their effective settings) or the errors. Exit 0 or 1.
    Check(SettingsArgs),
}

/// Flags of `jkgate demo`.
#[derive(Clone, Debug, Args)]
pub struct DemoArgs {
    /// Listen address host:port or port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub listen: String,
}

/// Flags shared by every command that reads the configuration. Each overrides jkgate.ini.
#[derive(Clone, Debug, Default, Args)]
pub struct SettingsArgs {
    /// jkgate's own settings file (INI). Without it, flags and defaults are used.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// mod_jk's workers.properties (JkWorkersFile). Default: workers.properties next to
    /// the config file (or in the current directory).
    #[arg(long, value_name = "FILE")]
    pub workers_file: Option<PathBuf>,
    /// mod_jk's uriworkermap.properties (JkMountFile).
    #[arg(long, value_name = "FILE")]
    pub mount_file: Option<PathBuf>,
    /// A JkMount rule PATTERN=WORKER[;ext=value...] (repeatable; added to the ini's [mounts]).
    #[arg(long = "mount", value_name = "PATTERN=WORKER")]
    pub mounts: Vec<String>,
    /// Plain HTTP listen address host:port or port (repeatable; replaces the ini's Listen).
    #[arg(long = "listen", value_name = "ADDR")]
    pub listen: Vec<String>,
    /// HTTPS listen address (repeatable; replaces the ini's [tls] Listen).
    #[arg(long = "tls-listen", value_name = "ADDR")]
    pub tls_listen: Vec<String>,
    /// PEM certificate chain for HTTPS.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// PEM private key for HTTPS.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// PEM CA bundle; clients must then present a certificate signed by it.
    #[arg(long, value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// JkLogLevel: trace, debug, info, warn, error, emerg.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Access log file (`-` = standard output, the default; `off` = none).
    #[arg(long, value_name = "FILE")]
    pub access_log: Option<PathBuf>,
}

/// Default plain HTTP listener when neither the ini nor the flags name one.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
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
    /// Status worker users and passwords (basic auth), in order.
    pub status_users: Vec<(String, String)>,
    /// Non-fatal findings from every file read.
    pub warnings: Vec<ConfigWarning>,
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
pub fn resolve_settings(args: &SettingsArgs) -> Result<RunSettings, ConfigError> {
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
    for value in &plain {
        match parse_listen("Listen", value) {
            Ok(addr) => listeners.push(Listener { addr, tls: false }),
            Err(e) => errors.push(e),
        }
    }
    for value in &tls_listen {
        match parse_listen("[tls] Listen", value) {
            Ok(addr) => listeners.push(Listener { addr, tls: true }),
            Err(e) => errors.push(e),
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
                errors.push(setting(
                    "[tls]",
                    "HTTPS listeners need both Certificate and Key (or --cert and --key)"
                        .to_owned(),
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
            errors.push(e);
            LogLevel::Info
        }),
        None => LogLevel::Info,
    };
    let (options, option_warnings) = match ini.options.as_deref() {
        Some(value) => JkOptions::parse(value).unwrap_or_else(|e| {
            errors.push(e);
            (JkOptions::default(), Vec::new())
        }),
        None => (JkOptions::default(), Vec::new()),
    };
    warnings.extend(option_warnings.into_iter().map(|message| ConfigWarning {
        origin: None,
        key: "JkOptions".to_owned(),
        message,
    }));
    let replay = match ini.replay.as_deref() {
        Some(value) => parse_replay(value).unwrap_or_else(|e| {
            errors.push(e);
            ReplayPolicy::default()
        }),
        None => ReplayPolicy::default(),
    };
    let request_log_format = match ini.request_log_format.as_deref() {
        Some(value) => RequestLogFormat::parse(value)
            .map(Some)
            .unwrap_or_else(|e| {
                errors.push(e);
                None
            }),
        None => None,
    };
    let strip_session = match ini.strip_session.as_deref() {
        Some(value) => parse_strip_session(value).unwrap_or_else(|e| {
            errors.push(e);
            None
        }),
        None => None,
    };
    let mut seconds = |name: &str, value: Option<&str>, default: Duration| match value {
        Some(value) => parse_seconds(name, value).unwrap_or_else(|e| {
            errors.push(e);
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
            origin: None,
            key: "JkWatchdogInterval".to_owned(),
            message: "jkgate always runs lb maintenance on its own timer (every worker.maintain) \
                      and pool maintenance every second; the setting changes nothing"
                .to_owned(),
        });
    }
    if strip_session.is_some() {
        warnings.push(ConfigWarning {
            origin: None,
            key: "JkStripSession".to_owned(),
            message: "jkgate serves nothing itself: unmapped requests get 404, so there is no \
                      URI to strip session ids from; the setting changes nothing"
                .to_owned(),
        });
    }
    let shutdown_grace = seconds(
        "GracefulShutdownTimeout",
        ini.graceful_shutdown_timeout.as_deref(),
        crate::server::DEFAULT_SHUTDOWN_GRACE,
    );
    let mount_file_reload = seconds(
        "JkMountFileReload",
        ini.mount_file_reload.as_deref(),
        DEFAULT_MOUNT_FILE_RELOAD,
    );
    let access_log = args.access_log.clone().or_else(|| {
        ini.access_log.as_deref().map(|p| {
            if p == "-" {
                PathBuf::from("-")
            } else {
                resolve_path(&base, p)
            }
        })
    });
    let env_vars = ini.env.clone().unwrap_or_default().0;
    let status_users = ini.status_users.clone().unwrap_or_default().0;

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
    let ini_name = args
        .config
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    for (index, (pattern, worker)) in ini.mounts.clone().unwrap_or_default().0.iter().enumerate() {
        let origin = Some(Origin::new(
            format!("{ini_name} [mounts]"),
            (index + 1) as u32,
        ));
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
    let mut warnings_all = workers.warnings.clone();
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
    if let Some(error) = ConfigError::from_list(errors) {
        return Err(error);
    }
    warnings_all.append(&mut mounts.warnings);
    warnings_all.append(&mut warnings);
    Ok(RunSettings {
        listeners,
        tls,
        workers_file,
        workers: workers.config,
        worker_properties: workers.properties,
        mount_file,
        mount_file_reload,
        mounts,
        options,
        replay,
        log_level,
        access_log,
        request_log_format,
        env_vars,
        strip_session,
        watchdog_interval,
        shutdown_grace,
        status_users,
        warnings: warnings_all,
    })
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs())
}

fn describe_ajp(out: &mut String, indent: &str, ajp: &AjpSettings) {
    let _ = writeln!(
        out,
        "{indent}host={} port={} source={} prefer_ipv6={} secret={}",
        ajp.host,
        ajp.port,
        ajp.source.as_deref().unwrap_or("-"),
        ajp.prefer_ipv6,
        if ajp.secret.is_some() { "(set)" } else { "-" },
    );
    let _ = writeln!(
        out,
        "{indent}connection_pool_size={} connection_pool_minsize={} connection_pool_timeout={} connection_acquire_timeout={}",
        ajp.connection_pool_size,
        ajp.connection_pool_minsize,
        secs(ajp.connection_pool_timeout),
        ms(ajp.connection_acquire_timeout),
    );
    let _ = writeln!(
        out,
        "{indent}ping_mode={} ping_timeout={} connect_timeout={} prepost_timeout={} connection_ping_interval={}",
        if ajp.ping_mode.letters().is_empty() {
            "-".to_owned()
        } else {
            ajp.ping_mode.letters()
        },
        ms(ajp.ping_timeout),
        ms(ajp.connect_timeout),
        ms(ajp.prepost_timeout),
        secs(ajp.connection_ping_interval),
    );
    let _ = writeln!(
        out,
        "{indent}reply_timeout={} socket_timeout={} socket_connect_timeout={} socket_keepalive={} socket_buffer={}",
        ms(ajp.reply_timeout),
        secs(ajp.socket_timeout),
        ms(ajp.socket_connect_timeout),
        ajp.socket_keepalive,
        ajp.socket_buffer,
    );
    let _ = writeln!(
        out,
        "{indent}max_packet_size={} retries={} retry_interval={} recovery_options={} fail_on_status={} busy_limit={}",
        ajp.max_packet_size,
        ajp.retries,
        ms(ajp.retry_interval),
        ajp.recovery_options.0,
        if ajp.fail_on_status.is_empty() {
            "-".to_owned()
        } else {
            ajp.fail_on_status.to_list_string()
        },
        ajp.busy_limit,
    );
}

fn describe_member(out: &mut String, member: &LbMember) {
    let m = &member.member;
    let _ = writeln!(
        out,
        "    member {}{}: route={} domain={} redirect={} activation={} lbfactor={} distance={}",
        member.name,
        if member.implicit {
            " (implicit: no properties)"
        } else {
            ""
        },
        m.route,
        if m.domain.is_empty() { "-" } else { &m.domain },
        if m.redirect.is_empty() {
            "-"
        } else {
            &m.redirect
        },
        m.activation.status_name(),
        m.lbfactor,
        m.distance,
    );
    describe_ajp(out, "      ", &member.ajp);
}

/// A human-readable description of the resolved settings (what `jkgate check` prints).
pub fn describe(settings: &RunSettings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "workers file: {}", settings.workers_file.display());
    if let Some(file) = &settings.mount_file {
        let _ = writeln!(out, "mount file: {}", file.display());
    }
    for listener in &settings.listeners {
        let _ = writeln!(
            out,
            "listen: {} ({})",
            listener.addr,
            if listener.tls { "https" } else { "http" }
        );
    }
    let _ = writeln!(out, "worker.list: {}", settings.workers.list.join(","));
    let _ = writeln!(out, "worker.maintain: {}", secs(settings.workers.maintain));
    for worker in &settings.workers.workers {
        let _ = writeln!(
            out,
            "worker {} (type {}){}",
            worker.name,
            worker.type_name(),
            if worker.implicit {
                " (implicit: no properties)"
            } else {
                ""
            }
        );
        match &worker.kind {
            WorkerKind::Ajp13(ajp) => describe_ajp(&mut out, "    ", ajp),
            WorkerKind::Lb(lb) => {
                let s = &lb.settings;
                let _ = writeln!(
                    out,
                    "    method={} lock={} sticky_session={} sticky_session_force={} retries={} lb_retries={} retry_interval={}",
                    s.method.status_name(),
                    s.lock.status_name(),
                    s.sticky_session,
                    s.sticky_session_force,
                    s.retries,
                    s.lb_retries,
                    ms(s.retry_interval),
                );
                let _ = writeln!(
                    out,
                    "    recover_time={} error_escalation_time={} max_reply_timeouts={} session_cookie={} session_path={} set_session_cookie={} session_cookie_path={}",
                    secs(s.recover_time),
                    secs(s.error_escalation_time),
                    s.max_reply_timeouts,
                    s.session_cookie,
                    s.session_path,
                    s.set_session_cookie,
                    s.session_cookie_path,
                );
                for member in &lb.members {
                    describe_member(&mut out, member);
                }
            }
            WorkerKind::Status(st) => {
                let _ = writeln!(
                    out,
                    "    read_only={} users={} prefix={} good={} bad={}",
                    st.read_only,
                    if st.users.is_empty() {
                        "-".to_owned()
                    } else {
                        st.users.join(",")
                    },
                    st.prefix,
                    st.good.join(","),
                    st.bad.join(","),
                );
            }
        }
    }
    for rule in settings.mounts.rules() {
        let _ = writeln!(
            out,
            "mount {}{}{} -> {} ({}, {})",
            if rule.disabled { "-" } else { "" },
            if rule.exclusion { "!" } else { "" },
            rule.pattern,
            rule.worker,
            rule.status_type(),
            rule.source.status_name(),
        );
    }
    out
}

/// `jkgate check`: exit 0 with the description on stdout, or 1 with the errors on stderr.
/// Warnings go to stderr either way.
pub fn check(args: &SettingsArgs) -> ExitCode {
    match resolve_settings(args) {
        Ok(settings) => {
            for warning in &settings.warnings {
                eprintln!("warning: {warning}");
            }
            print!("{}", describe(&settings));
            println!("configuration OK");
            ExitCode::SUCCESS
        }
        Err(error) => {
            for e in error.errors() {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Where the access log goes.
#[derive(Debug)]
enum AccessLogTarget {
    Stdout,
    File(std::fs::File),
    Off,
}

fn access_log_target(setting: Option<&Path>) -> Result<AccessLogTarget, String> {
    match setting {
        None => Ok(AccessLogTarget::Stdout),
        Some(p) if p == Path::new("-") => Ok(AccessLogTarget::Stdout),
        Some(p) if p == Path::new("off") => Ok(AccessLogTarget::Off),
        Some(p) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map(AccessLogTarget::File)
            .map_err(|e| format!("access log {}: {e}", p.display())),
    }
}

/// Installs the log subscriber: the error log on stderr at `level`, and the access log
/// (target `jkgate::access`, one line per request) on its own destination.
fn init_logging(level: LogLevel, access: AccessLogTarget) {
    use std::io::IsTerminal as _;
    use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
    use tracing_subscriber::prelude::*;
    let errors = tracing_subscriber::fmt::layer()
        // Colour codes only on a terminal, never into a file or pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::new(format!(
            "{},{ACCESS_TARGET}=off",
            level.as_filter()
        )));
    let access_filter = Targets::new().with_target(ACCESS_TARGET, LevelFilter::INFO);
    let access_layer = match access {
        AccessLogTarget::Off => None,
        AccessLogTarget::Stdout => Some(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_target(false)
                .with_level(false)
                .with_writer(std::io::stdout)
                .with_filter(access_filter)
                .boxed(),
        ),
        AccessLogTarget::File(file) => Some(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_target(false)
                .with_level(false)
                .with_writer(std::sync::Mutex::new(file))
                .with_filter(access_filter)
                .boxed(),
        ),
    };
    let _ = tracing_subscriber::registry()
        .with(errors)
        .with(access_layer)
        .try_init();
}

pub use crate::server::ACCESS_TARGET;

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Waits for SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `jkgate run`: read the configuration, listen, serve until SIGINT/SIGTERM.
pub fn run(args: &SettingsArgs) -> ExitCode {
    let settings = match resolve_settings(args) {
        Ok(settings) => settings,
        Err(error) => {
            for e in error.errors() {
                eprintln!("error: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let access = match access_log_target(settings.access_log.as_deref()) {
        Ok(access) => access,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(settings.log_level, access);
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let servers = match crate::server::launch::launch(&settings).await {
            Ok(servers) => servers,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        shutdown_signal().await;
        tracing::info!("shutting down: no new connections, open ones finish");
        for server in servers {
            server.shutdown().await;
        }
        ExitCode::SUCCESS
    })
}

/// `jkgate demo`: two embedded AJP13 backends behind jkgate, until SIGINT/SIGTERM.
pub fn demo(args: &DemoArgs) -> ExitCode {
    let listen = match parse_listen("--listen", &args.listen) {
        Ok(addr) => addr,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(LogLevel::Info, AccessLogTarget::Stdout);
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let demo = match crate::demo::start(listen).await {
            Ok(demo) => demo,
            Err(e) => {
                eprintln!("error: demo on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let url = format!("http://{}", demo.server.addr);
        eprintln!("jkgate demo listening on {url}");
        for backend in &demo.backends {
            eprintln!(
                "  embedded AJP13 backend {} on {}",
                backend.route, backend.addr
            );
        }
        eprintln!("try:");
        eprintln!("  curl -i {url}/echo                   # balanced over node1 and node2");
        eprintln!("  curl -i -c jar -b jar {url}/session  # sticky: the session stays on its node");
        eprintln!("  curl -i {url}/node2/echo             # straight to the member node2");
        eprintln!("Ctrl-C stops it.");
        shutdown_signal().await;
        demo.server.shutdown().await;
        ExitCode::SUCCESS
    })
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        None => run(&cli.run),
        Some(Command::Run(args)) => run(args),
        Some(Command::Check(args)) => check(args),
        Some(Command::Demo(args)) => demo(args),
    }
}
