//! `jkgate check`: everything `run` would refuse, refused without listening — the files
//! read and validated, then the same assembly `run` and a reload go through (hosts
//! resolved, the certificate and key loaded).

use std::process::ExitCode;

use super::assemble::{AssembleError, assemble};
use crate::config::describe::describe;
use crate::config::{RunSettings, Sources, resolve_settings};
use crate::status::Generation;

/// Assembles `settings` as `run` would, without binding or starting anything.
pub fn validate(settings: &RunSettings) -> Result<(), AssembleError> {
    assemble(settings, Generation::first(), None).map(|_| ())
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
    if let Err(e) = validate(&settings) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    print!("{}", describe(&settings));
    println!("configuration OK");
    ExitCode::SUCCESS
}
