//! The error log (standard error by default, or the `JkLogFile`) and the access log
//! (standard output by default, a file, or off): the error log as a tracing layer, the access
//! log through its own writer thread (`server::access_log`). A log file is opened in
//! append mode and can be reopened on SIGUSR1, so that rotation by rename (logrotate's
//! default) works: after the rename jkgate still writes to the old file until it reopens
//! the path.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

use crate::config::ini::LogLevel;

use crate::server::access_log::{self, Destination};

/// Why a log could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the {what} {}: {source}", path.display())]
pub struct LogError {
    /// Which log.
    pub what: &'static str,
    /// Its path.
    pub path: PathBuf,
    /// The OS error.
    pub source: io::Error,
}

/// Where the access log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLog {
    /// Standard output (`-`, the default).
    Stdout,
    /// A file, appended to.
    File(PathBuf),
    /// No access log (`off`).
    Off,
}

impl AccessLog {
    /// The destination the `AccessLog` setting names.
    pub fn from_setting(setting: Option<&Path>) -> Self {
        match setting {
            None => AccessLog::Stdout,
            Some(p) if p == Path::new("-") => AccessLog::Stdout,
            Some(p) if p == Path::new("off") => AccessLog::Off,
            Some(p) => AccessLog::File(p.to_owned()),
        }
    }
}

/// Where the error log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorLog {
    /// Standard error (`-` or no `JkLogFile`, the default): what systemd's journal and a
    /// terminal pick up.
    Stderr,
    /// A file, appended to (`JkLogFile`).
    File(PathBuf),
}

impl ErrorLog {
    /// The destination the `JkLogFile` setting names.
    pub fn from_setting(setting: Option<&Path>) -> Self {
        match setting {
            None => ErrorLog::Stderr,
            Some(p) if p == Path::new("-") => ErrorLog::Stderr,
            Some(p) => ErrorLog::File(p.to_owned()),
        }
    }
}

/// Checks, as `jkgate check` must without leaving anything behind, that `path` can be
/// opened for appending: an existing file is opened (and left unchanged), a missing one
/// is created and removed again.
pub fn check_writable(what: &'static str, path: &Path) -> Result<(), LogError> {
    let error = |source| LogError {
        what,
        path: path.to_owned(),
        source,
    };
    match OpenOptions::new().append(true).create_new(true).open(path) {
        Ok(file) => {
            drop(file);
            std::fs::remove_file(path).map_err(error)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => append(what, path).map(drop),
        Err(e) => Err(error(e)),
    }
}

/// A log file that can be reopened at the same path.
#[derive(Debug, Clone)]
pub struct LogFile {
    what: &'static str,
    path: PathBuf,
    file: Arc<Mutex<File>>,
}

impl LogFile {
    /// Opens `path` for appending (created when missing).
    pub fn open(what: &'static str, path: &Path) -> Result<Self, LogError> {
        Ok(LogFile {
            what,
            path: path.to_owned(),
            file: Arc::new(Mutex::new(append(what, path)?)),
        })
    }

    /// Opens the path again: lines written from now on go to the file now at that path.
    /// When it cannot be opened the old file is kept.
    pub fn reopen(&self) -> Result<(), LogError> {
        let file = append(self.what, &self.path)?;
        *self.file.lock().unwrap_or_else(|e| e.into_inner()) = file;
        Ok(())
    }
}

fn append(what: &'static str, path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|source| LogError {
            what,
            path: path.to_owned(),
            source,
        })
}

/// One write of a formatted line to a [`LogFile`].
#[derive(Debug)]
pub struct LogFileWriter(Arc<Mutex<File>>);

impl Write for LogFileWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogFileWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogFileWriter(self.file.clone())
    }
}

/// The log files jkgate has open, for SIGUSR1, and the access log, for the exit.
#[derive(Debug, Default, Clone)]
pub struct Logs {
    files: Vec<LogFile>,
    /// The access log file's path (`None` on standard output or off).
    access_path: Option<PathBuf>,
    access: Option<access_log::AccessLog>,
}

impl Logs {
    /// Reopens every log file (the access log and the `JkLogFile`), then says in the error
    /// log which were reopened and which could not be. Every file is reopened before
    /// anything is logged, so these lines already go to the new error log. The access
    /// lines queued before the reopen still go to the old file.
    pub fn reopen(&self) {
        let outcomes: Vec<_> = self.files.iter().map(|f| (f, f.reopen())).collect();
        let access = match (&self.access, &self.access_path) {
            (Some(log), Some(path)) => Some((
                path,
                append("access log", path).map(|file| {
                    log.reopen(Destination::File(file));
                }),
            )),
            _ => None,
        };
        for (file, outcome) in outcomes {
            match outcome {
                Ok(()) => tracing::info!(file = %file.path.display(), "{} reopened", file.what),
                Err(e) => tracing::error!("{e}; still writing to the old file"),
            }
        }
        match access {
            Some((path, Ok(()))) => tracing::info!(file = %path.display(), "access log reopened"),
            Some((_, Err(e))) => tracing::error!("{e}; still writing to the old file"),
            None => {}
        }
    }

    /// Writes out the access lines still queued and stops the access log's thread; says in
    /// the error log how many lines were lost, if any. For the process's exit.
    pub fn close(&self) {
        if let Some(log) = &self.access {
            let lost = log.close();
            if lost != access_log::LostLines::default() {
                tracing::warn!(
                    "access log closed; {} line(s) were lost in all ({} with the buffer full, {} in failed writes)",
                    lost.full_buffer + lost.write_error,
                    lost.full_buffer,
                    lost.write_error
                );
            }
        }
    }
}

/// Installs the log subscriber (the error log at `level` on its destination) and starts the
/// access log's writer ([`crate::server::access_log`], one line per request). Both files are
/// opened here, before anything listens, so that a log jkgate cannot write stops the start
/// instead of losing lines.
pub fn init(level: LogLevel, error: &ErrorLog, access: &AccessLog) -> Result<Logs, LogError> {
    use std::io::IsTerminal as _;
    use tracing_subscriber::filter::EnvFilter;
    use tracing_subscriber::prelude::*;
    let mut logs = Logs::default();
    let error_filter = || EnvFilter::new(level.as_filter());
    let errors = match error {
        ErrorLog::Stderr => tracing_subscriber::fmt::layer()
            // Colour codes only on a terminal, never into a file or pipe.
            .with_ansi(io::stderr().is_terminal())
            .with_writer(io::stderr)
            .with_filter(error_filter())
            .boxed(),
        ErrorLog::File(path) => {
            let file = LogFile::open("error log", path)?;
            logs.files.push(file.clone());
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(file)
                .with_filter(error_filter())
                .boxed()
        }
    };
    let destination = match access {
        AccessLog::Off => None,
        AccessLog::Stdout => Some(Destination::Stdout),
        AccessLog::File(path) => {
            logs.access_path = Some(path.clone());
            Some(Destination::File(append("access log", path)?))
        }
    };
    if let Some(destination) = destination {
        let log = access_log::AccessLog::start(destination).map_err(|source| LogError {
            what: "access log",
            path: logs
                .access_path
                .clone()
                .unwrap_or_else(|| PathBuf::from("-")),
            source,
        })?;
        // Installed once per process, as the subscriber below; a second init (tests)
        // keeps the first.
        match access_log::install(log.clone()) {
            Ok(()) => logs.access = Some(log),
            Err(unused) => {
                unused.close();
            }
        }
    }
    let _ = tracing_subscriber::registry().with(errors).try_init();
    Ok(logs)
}
