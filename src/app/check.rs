//! `jkgate check`: everything `run` would refuse, refused without listening — the files
//! read and validated, the log files writable, then the same assembly `run` and a reload
//! go through (hosts resolved, the certificate and key loaded).

use std::process::ExitCode;

use super::assemble::{AssembleError, assemble};
use super::logging::{self, AccessLog, ErrorLog, LogError};
use crate::config::describe::describe;
use crate::config::{RunSettings, Sources, resolve_settings};
use crate::status::Generation;

/// Assembles `settings` as `run` would, without binding or starting anything.
pub fn validate(settings: &RunSettings) -> Result<(), AssembleError> {
    assemble(settings, Generation::first(), None).map(|_| ())
}

/// Checks that `run` could open the error log (`JkLogFile`) and the access log, without
/// writing to them: `run` refuses to start without them.
pub fn check_logs(settings: &RunSettings) -> Result<(), LogError> {
    if let ErrorLog::File(path) = ErrorLog::from_setting(settings.log_file.as_deref()) {
        logging::check_writable("error log", &path)?;
    }
    if let AccessLog::File(path) = AccessLog::from_setting(settings.access_log.as_deref()) {
        logging::check_writable("access log", &path)?;
    }
    Ok(())
}

/// Exit 0 with the description on stdout, or 1 with the errors on stderr. Warnings go to
/// stderr either way.
pub fn check(sources: &Sources) -> ExitCode {
    let settings = match resolve_settings(sources) {
        Ok(settings) => settings,
        Err(error) => {
            for e in error.errors() {
                eprintln!("error: {e}");
            }
            return ExitCode::FAILURE;
        }
    };
    for warning in &settings.warnings {
        eprintln!("warning: {warning}");
    }
    if let Err(e) = check_logs(&settings) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if let Err(e) = validate(&settings) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    print!("{}", describe(&settings));
    println!("configuration OK");
    ExitCode::SUCCESS
}
