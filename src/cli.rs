//! The command line: `jkgate [run] [--config jkgate.ini] [--workers-file F] ...`,
//! `jkgate check ...` and `jkgate demo`. Flags become [`Sources`] for the configuration
//! and the [`crate::app`] does the rest; nothing below this file sees a flag.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

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
    /// Read an httpd configuration (httpd.conf with mod_jk: Include, VirtualHost, Location,
    /// JkMount, SSL certificates...) and write the equivalent jkgate.ini; every directive
    /// that is not carried over is listed with its file:line and why. Exit 1 only when a
    /// file cannot be read.
    ImportHttpd(ImportArgs),
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
    match &cli.command {
        None => crate::app::lifecycle::run(Sources::from(&cli.run)),
        Some(Command::Run(args)) => crate::app::lifecycle::run(Sources::from(args)),
        Some(Command::Check(args)) => crate::app::check::check(&Sources::from(args)),
        Some(Command::Demo(args)) => crate::app::lifecycle::demo(&args.listen),
        Some(Command::ImportHttpd(args)) => crate::app::import::import_httpd(
            &args.files,
            args.server_root.as_deref(),
            args.output.as_deref(),
        ),
    }
}
