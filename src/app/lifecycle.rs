//! What the jkgate process does: read the settings, open the logs, start, then answer
//! signals as httpd does — SIGHUP reloads the configuration, SIGUSR1 reopens the log files,
//! SIGTERM and SIGINT stop accepting at once and drain for `GracefulShutdownTimeout` — and
//! tell systemd about each step.

use std::process::ExitCode;

use tokio::signal::unix::{SignalKind, signal};

use super::instance::{Jkgate, SettingsSource};
use super::logging::{self, AccessLog, ErrorLog, Logs};
use super::notify;
use crate::config::ini::LogLevel;
use crate::config::{RunSettings, Sources, resolve_settings};

/// `error: …` on standard error (the log may not be open yet), and the failure exit code.
fn fail(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

/// Runs `main` on a multi-threaded runtime of its own.
fn block_on(main: impl Future<Output = ExitCode>) -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(main),
        Err(e) => fail(format_args!("cannot start the runtime: {e}")),
    }
}

/// `jkgate run`: read the configuration, listen, serve until SIGINT/SIGTERM, reload on
/// SIGHUP.
pub fn run(sources: Sources) -> ExitCode {
    let settings = match resolve_settings(&sources) {
        Ok(settings) => settings,
        Err(error) => {
            for e in error.errors() {
                eprintln!("error: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let logs = match logging::init(
        settings.log_level,
        &ErrorLog::from_setting(settings.log_file.as_deref()),
        &AccessLog::from_setting(settings.access_log.as_deref()),
    ) {
        Ok(logs) => logs,
        Err(e) => return fail(e),
    };
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let source: SettingsSource = Box::new(move || resolve_settings(&sources));
    block_on(async {
        match Jkgate::start(settings, source).await {
            Ok(jkgate) => until_stopped(jkgate, &logs).await,
            Err(e) => {
                tracing::error!("{e}");
                fail(e)
            }
        }
    })
}

/// A one-line state for `systemctl status`.
fn status_line(jkgate: &Jkgate) -> String {
    let addrs: Vec<String> = jkgate
        .addrs()
        .iter()
        .map(|(addr, tls)| format!("{}{addr}", if *tls { "https://" } else { "http://" }))
        .collect();
    format!(
        "serving on {} (configuration generation {})",
        addrs.join(" "),
        jkgate.generation().number
    )
}

/// The log settings the logs were opened with at start. A reload does not reopen the logs
/// elsewhere or change the level (the subscriber is installed once per process), so an
/// operator who changed them is told they wait for a restart instead of finding them
/// silently ignored.
#[derive(Debug, PartialEq, Eq)]
struct LogSettings {
    level: LogLevel,
    error_log: ErrorLog,
    access_log: AccessLog,
}

impl LogSettings {
    fn of(settings: &RunSettings) -> Self {
        LogSettings {
            level: settings.log_level,
            error_log: ErrorLog::from_setting(settings.log_file.as_deref()),
            access_log: AccessLog::from_setting(settings.access_log.as_deref()),
        }
    }

    fn warn_changed(&self, settings: &RunSettings) {
        let now = LogSettings::of(settings);
        for (changed, name) in [
            (now.level != self.level, "JkLogLevel"),
            (now.error_log != self.error_log, "JkLogFile"),
            (now.access_log != self.access_log, "AccessLog"),
        ] {
            if changed {
                tracing::warn!("{name} changed: it takes effect when jkgate is restarted");
            }
        }
    }
}

/// Answers signals until SIGTERM or SIGINT, then shuts down; the process's exit code.
async fn until_stopped(jkgate: Jkgate, logs: &Logs) -> ExitCode {
    match answer_signals(jkgate, logs).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format_args!("cannot handle signals: {e}")),
    }
}

async fn answer_signals(mut jkgate: Jkgate, logs: &Logs) -> std::io::Result<()> {
    let mut hangup = signal(SignalKind::hangup())?;
    let mut user1 = signal(SignalKind::user_defined1())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    notify::ready(&status_line(&jkgate));
    let opened = LogSettings::of(jkgate.settings());
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: reloading the configuration");
                notify::reloading();
                // The outcome is logged and shown by the status worker; either way the
                // service is ready again.
                if jkgate.reload().await.is_ok() {
                    opened.warn_changed(jkgate.settings());
                }
                notify::ready(&status_line(&jkgate));
            }
            _ = user1.recv() => {
                tracing::info!("SIGUSR1: reopening the log files");
                logs.reopen();
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    tracing::info!("shutting down: no new connections, open ones finish");
    notify::stopping();
    jkgate.shutdown().await;
    logs.close();
    Ok(())
}

/// `jkgate demo`: two embedded AJP13 backends behind jkgate, until SIGINT/SIGTERM.
pub fn demo(listen: &str) -> ExitCode {
    let listen = match crate::config::parse_listen("--listen", listen) {
        Ok(addr) => addr,
        Err(e) => return fail(e),
    };
    let logs = match logging::init(LogLevel::Info, &ErrorLog::Stderr, &AccessLog::Stdout) {
        Ok(logs) => logs,
        Err(e) => return fail(e),
    };
    block_on(async {
        let demo = match crate::demo::start(listen).await {
            Ok(demo) => demo,
            Err(e) => return fail(format_args!("demo on {listen}: {e}")),
        };
        let url = format!("http://{}", demo.jkgate.addr());
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
        eprintln!("  curl {url}/jkstatus                  # the status worker");
        eprintln!("  curl {url}/metrics                   # Prometheus metrics");
        eprintln!("Ctrl-C stops it.");
        // The backends live until jkgate has drained.
        let _backends = demo.backends;
        until_stopped(demo.jkgate, &logs).await
    })
}
