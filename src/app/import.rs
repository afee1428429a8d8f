//! `jkgate import-httpd FILE...`: an httpd configuration read ([`crate::config::httpd`])
//! and written as jkgate.ini, to standard output or a file; what was not carried over is
//! listed on standard error (and at the end of the ini, as comments).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::httpd;

/// Exit 0 when every file was read (whatever could not be carried over is listed), 1
/// when one could not be read or the output not written.
pub fn import_httpd(
    files: &[PathBuf],
    server_root: Option<&Path>,
    output: Option<&Path>,
) -> ExitCode {
    let default_root = files
        .first()
        .and_then(|f| f.parent())
        .map(Path::to_owned)
        .unwrap_or_else(|| PathBuf::from("."));
    let root = server_root.map(Path::to_owned).unwrap_or(default_root);
    let imported = match httpd::import(files, &root) {
        Ok(imported) => imported,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    for note in &imported.notes {
        eprintln!("note: {}: {}", note.origin, note.message);
    }
    for skipped in &imported.skipped {
        eprintln!("not carried over: {skipped}");
    }
    match output {
        Some(path) => {
            if let Err(error) = std::fs::write(path, &imported.ini) {
                eprintln!("error: cannot write {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!(
                "wrote {} ({} directives not carried over); check it with `jkgate check --config {}`",
                path.display(),
                imported.skipped.len(),
                path.display()
            );
        }
        None => print!("{}", imported.ini),
    }
    ExitCode::SUCCESS
}
