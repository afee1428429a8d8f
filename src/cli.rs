//! The command line: `jkgate [run] [--config jkgate.ini] [--workers-file F] ...`,
//! `jkgate check ...`, `jkgate demo` and `jkgate ajp request|ping|probe|fuzz|replay`.
//! Flags become [`Sources`] for the configuration or the typed options of
//! [`crate::app::ajp_tool`], and the [`crate::app`] does the rest; nothing below this
//! file sees a flag.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::app::ajp_tool::{
    AjpCommand, BodyArg, FuzzOptions, PingOptions, ProbeOptions, ReplayOptions, RequestOptions,
};
use crate::config::Sources;

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
    /// Ask a running jkgate where a session id would go now (member, route, state, why),
    /// without sending a request: its status worker answers from the live state with the
    /// balancer's own routing code (`cmd=route`). Exit 0, or 1 with the error.
    Route(RouteArgs),
    /// AJP toolkit for testers: talk to a Tomcat (or any AJP13) connector directly.
    ///
    /// Exit codes follow curl's: 0 ok, 1 unsupported scheme, 2 bad option or refused
    /// target, 3 malformed URL, 6 unresolved host, 7 connection failed, 8 protocol error,
    /// 18 closed mid-response, 23 write error, 26 body read error, 28 timeout, 52 closed
    /// without answer, 55/56 send/receive error. `fuzz` exits 1 when it found
    /// something, `replay` 1 when the recorded finding did not come back.
    Ajp(AjpArgs),
    /// Read an httpd configuration (httpd.conf with mod_jk: Include, VirtualHost, Location,
    /// JkMount, SSL certificates...) and write the equivalent jkgate.ini; every directive
    /// that is not carried over is listed with its file:line and why. Exit 1 only when a
    /// file cannot be read.
    ImportHttpd(ImportArgs),
}

/// Flags of `jkgate route`.
#[derive(Clone, Debug, Args)]
pub struct RouteArgs {
    /// The status worker's URL (a plain-HTTP listener), e.g. http://127.0.0.1:8080/jkstatus.
    #[arg(long, value_name = "URL")]
    pub status_url: String,
    /// Only this lb worker (default: every lb).
    #[arg(long, value_name = "LB")]
    pub worker: Option<String>,
    /// A request path: the lb its mount rule maps it to answers, with the rule's extensions.
    #[arg(long, value_name = "PATH")]
    pub uri: Option<String>,
    /// USER:PASSWORD for a status worker with a `user` list.
    #[arg(long, value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// Print the status worker's JSON answer as it came.
    #[arg(long)]
    pub json: bool,
    /// The session id (e.g. the JSESSIONID cookie's value, `ABC123.node1`).
    #[arg(value_name = "SESSIONID")]
    pub session_id: String,
}

/// `jkgate ajp`.
#[derive(Debug, Args)]
pub struct AjpArgs {
    /// The AJP command.
    #[command(subcommand)]
    pub command: AjpSubcommand,
}

/// The `jkgate ajp` commands.
#[derive(Debug, Subcommand)]
pub enum AjpSubcommand {
    /// curl for AJP: one request, the response body on standard output.
    Request(AjpRequestArgs),
    /// CPING/CPONG with timing, repeated like ping.
    Ping(AjpPingArgs),
    /// Read-only report: secret, request attributes, Ghostcat include attributes,
    /// packet size, methods.
    Probe(AjpProbeArgs),
    /// Mutated AJP conversations against a live container (loopback only unless
    /// --allow-remote); findings written as reproducer files.
    Fuzz(AjpFuzzArgs),
    /// Send a reproducer file's conversation again and judge the outcome.
    Replay(AjpReplayArgs),
}

/// Flags of `jkgate ajp request`.
#[derive(Debug, Args)]
pub struct AjpRequestArgs {
    /// `ajp://host[:port][/path][?query]` (port 8009 by default).
    pub url: String,
    /// The method (default GET, POST with -d); methods without an AJP code are sent as
    /// stored methods.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,
    /// A request header "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// A request attribute NAME=VALUE (AJP req_attribute, repeatable).
    #[arg(short = 'a', long = "attribute", value_name = "NAME=VALUE")]
    pub attributes: Vec<String>,
    /// The connector's secret.
    #[arg(
        long,
        value_name = "SECRET",
        env = "JKGATE_AJP_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// The request body: DATA, @FILE or @- (standard input, streamed).
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Option<String>,
    /// The connector's packetSize.
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub packet_size: u32,
    /// Print the status line and headers before the body.
    #[arg(short = 'i', long = "include")]
    pub include: bool,
    /// Show every AJP packet both ways, decoded, on standard error.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Seconds allowed for connecting and for each packet.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
}

/// Flags of `jkgate ajp ping`.
#[derive(Debug, Args)]
pub struct AjpPingArgs {
    /// `ajp://host[:port]`.
    pub url: String,
    /// Stop after COUNT CPINGs (default: until interrupted).
    #[arg(short = 'c', long, value_name = "COUNT")]
    pub count: Option<u64>,
    /// Seconds between CPINGs.
    #[arg(short = 'i', long, value_name = "SECS", default_value_t = 1.0)]
    pub interval: f64,
    /// The connector's packetSize.
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub packet_size: u32,
    /// Seconds allowed for connecting and for each CPONG.
    #[arg(short = 'W', long, value_name = "SECS", default_value_t = 5.0)]
    pub timeout: f64,
    /// Show every AJP packet.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Flags of `jkgate ajp probe`.
#[derive(Debug, Args)]
pub struct AjpProbeArgs {
    /// `ajp://host[:port]/context/` (a context root: / for ROOT, /app/ for /app).
    pub url: String,
    /// The connector's secret to test (a wrong one is tested too).
    #[arg(
        long,
        value_name = "SECRET",
        env = "JKGATE_AJP_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// Seconds allowed for connecting and for each answer.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub timeout: f64,
    /// Show every AJP packet.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Flags of `jkgate ajp fuzz`.
#[derive(Debug, Args)]
pub struct AjpFuzzArgs {
    /// `ajp://host[:port]/path`: the valid request the conversations start from.
    pub url: String,
    /// Stop after N conversations (default 1000 when --duration is not given either).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop after SECS seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<u64>,
    /// The seed: the same seed sends the same conversations (default: from the clock,
    /// printed).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Directory for reproducer files.
    #[arg(long, value_name = "DIR", default_value = "ajp-fuzz-findings")]
    pub out: PathBuf,
    /// Reproducer files kept per kind of finding and mutation.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub keep: usize,
    /// Seconds of silence after a whole request before it counts as a hang.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub timeout: f64,
    /// The connector's secret, put into the valid request.
    #[arg(
        long,
        value_name = "SECRET",
        env = "JKGATE_AJP_SECRET",
        hide_env_values = true
    )]
    pub secret: Option<String>,
    /// The connector's packetSize.
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub packet_size: u32,
    /// Conversations in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrency: usize,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
    /// Show every AJP packet.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Flags of `jkgate ajp replay`.
#[derive(Debug, Args)]
pub struct AjpReplayArgs {
    /// The reproducer file.
    pub file: PathBuf,
    /// `ajp://host[:port]`: the target, instead of the file's `target` line.
    pub url: Option<String>,
    /// Seconds of silence before it counts as a hang (default: the file's, else 5).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// The connector's packetSize.
    #[arg(long, value_name = "BYTES", default_value_t = 8192)]
    pub packet_size: u32,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    pub allow_remote: bool,
}

/// Seconds from a flag; negative and non-finite values count as zero.
fn secs(value: f64) -> Duration {
    Duration::try_from_secs_f64(value).unwrap_or(Duration::ZERO)
}

impl From<AjpSubcommand> for AjpCommand {
    fn from(command: AjpSubcommand) -> Self {
        match command {
            AjpSubcommand::Request(a) => AjpCommand::Request(RequestOptions {
                url: a.url,
                method: a.method,
                headers: a.headers,
                attributes: a.attributes,
                secret: a.secret,
                data: a.data.as_deref().map(BodyArg::parse),
                packet_size: a.packet_size,
                include: a.include,
                verbose: a.verbose,
                timeout: secs(a.timeout),
            }),
            AjpSubcommand::Ping(a) => AjpCommand::Ping(PingOptions {
                url: a.url,
                count: a.count,
                interval: secs(a.interval),
                packet_size: a.packet_size,
                timeout: secs(a.timeout),
                verbose: a.verbose,
            }),
            AjpSubcommand::Probe(a) => AjpCommand::Probe(ProbeOptions {
                url: a.url,
                secret: a.secret,
                timeout: secs(a.timeout),
                verbose: a.verbose,
            }),
            AjpSubcommand::Fuzz(a) => AjpCommand::Fuzz(FuzzOptions {
                url: a.url,
                count: a.count,
                duration: a.duration.map(Duration::from_secs),
                seed: a.seed,
                out: a.out,
                keep: a.keep,
                timeout: secs(a.timeout),
                secret: a.secret,
                packet_size: a.packet_size,
                concurrency: a.concurrency,
                allow_remote: a.allow_remote,
                verbose: a.verbose,
            }),
            AjpSubcommand::Replay(a) => AjpCommand::Replay(ReplayOptions {
                file: a.file,
                url: a.url,
                timeout: a.timeout.map(secs),
                packet_size: a.packet_size,
                allow_remote: a.allow_remote,
            }),
        }
    }
}

/// Flags of `jkgate import-httpd`.
#[derive(Clone, Debug, Args)]
pub struct ImportArgs {
    /// The httpd configuration files, read in order (what they Include is followed).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Where relative Include and file paths start until a ServerRoot directive says
    /// otherwise (httpd's -d). Default: the first file's directory.
    #[arg(long, short = 'd', value_name = "DIR")]
    pub server_root: Option<PathBuf>,
    /// Write jkgate.ini here instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    /// JkLogFile: the error log file (`-` = standard error, the default).
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Access log file (`-` = standard output, the default; `off` = none).
    #[arg(long, value_name = "FILE")]
    pub access_log: Option<PathBuf>,
}

impl From<&SettingsArgs> for Sources {
    fn from(args: &SettingsArgs) -> Self {
        Sources {
            config: args.config.clone(),
            workers_file: args.workers_file.clone(),
            mount_file: args.mount_file.clone(),
            mounts: args.mounts.clone(),
            listen: args.listen.clone(),
            tls_listen: args.tls_listen.clone(),
            cert: args.cert.clone(),
            key: args.key.clone(),
            client_ca: args.client_ca.clone(),
            log_level: args.log_level.clone(),
            log_file: args.log_file.clone(),
            access_log: args.access_log.clone(),
        }
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => crate::app::lifecycle::run(Sources::from(&cli.run)),
        Some(Command::Run(args)) => crate::app::lifecycle::run(Sources::from(&args)),
        Some(Command::Check(args)) => crate::app::check::check(&Sources::from(&args)),
        Some(Command::Demo(args)) => crate::app::lifecycle::demo(&args.listen),
        Some(Command::Route(args)) => {
            crate::app::route_query::route(&crate::app::route_query::RouteQuery {
                status_url: args.status_url.clone(),
                session_id: args.session_id.clone(),
                worker: args.worker.clone(),
                uri: args.uri.clone(),
                user: args.user.clone(),
                json: args.json,
            })
        }
        Some(Command::Ajp(args)) => crate::app::ajp_tool::run(AjpCommand::from(args.command)),
        Some(Command::ImportHttpd(args)) => crate::app::import::import_httpd(
            &args.files,
            args.server_root.as_deref(),
            args.output.as_deref(),
        ),
    }
}
