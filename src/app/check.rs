//! `jkgate check`: everything `run` would refuse, refused without listening — the files
//! read and validated, the log files writable, then the same assembly `run` and a reload
//! go through (hosts resolved, the certificate and key loaded).

use std::process::ExitCode;

use super::assemble::{AssembleError, assemble, assemble_with_edits};
use super::logging::{self, AccessLog, ErrorLog, LogError};
use super::state::{StateError, read_configured};
use crate::config::describe::describe;
use crate::config::state::Edits;
use crate::config::{RunSettings, Sources, resolve_settings};
use crate::status::Generation;
use crate::status::edits::EditBook;

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

/// The runtime edits in the store `settings` name (`None`: no store configured). An etcd
/// store that does not answer within 5 s is reported through its state file, if any.
fn read_state(settings: &RunSettings) -> Result<Option<Edits>, StateError> {
    if settings.state_file.is_none() && settings.state_store.is_none() {
        return Ok(None);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| StateError::Io {
            path: settings.state_file.clone().unwrap_or_default(),
            source,
        })?;
    runtime.block_on(read_configured(settings)).map(Some)
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
    let edits = match read_state(&settings) {
        Ok(edits) => edits,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", describe(&settings));
    if let Some(edits) = edits {
        let book = EditBook::new(edits.clone(), String::new());
        match assemble_with_edits(&settings, Generation::first(), None, Some(&book)) {
            Ok(prepared) => {
                let stale = prepared.stale_edits();
                println!(
                    "runtime edits: {} in the state store, {} applied over workers.properties, {} not applied",
                    edits.len(),
                    edits.len() - stale.len(),
                    stale.len()
                );
                for (key, value) in &edits {
                    if !stale.iter().any(|s| &s.key == key) {
                        println!("  applied: {key}={}", value.value);
                    }
                }
                for edit in stale {
                    println!("  {edit}");
                }
            }
            Err(e) => {
                eprintln!("error: with the runtime edits applied: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("configuration OK");
    ExitCode::SUCCESS
}
