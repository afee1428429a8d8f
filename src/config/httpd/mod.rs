//! An httpd configuration (httpd.conf with mod_jk) read and turned into jkgate.ini:
//! `jkgate import-httpd`.
//!
//! * [`lexer`]: logical lines (`\` continuations, comments) and words (quotes).
//! * [`tree`]: sections, `Include`/`IncludeOptional` with wildcards relative to
//!   `ServerRoot`, `Define` and `${NAME}`, `<IfDefine>`/`<IfModule>`/`<IfVersion>`.
//! * [`translate`]: the directives into jkgate.ini text, and every directive that has no
//!   jkgate equivalent listed with its file, line and why.
//!
//! The import fails only on what cannot be read (a missing file, an unclosed section or
//! quote); everything it can read but not carry over is reported and the rest written.

mod lexer;
pub mod translate;
pub mod tree;

use std::path::{Path, PathBuf};

use crate::config::Origin;
pub use translate::{Imported, Skipped};

/// Why an httpd configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HttpdError {
    /// A file named on the command line cannot be read.
    #[error("cannot read {path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file an `Include` names cannot be read.
    #[error("{origin}: cannot read the included {path}: {source}", path = path.display())]
    Included {
        /// The Include line.
        origin: Origin,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A line httpd would refuse to read (unclosed section or quote, `</X>` without `<X>`).
    #[error("{origin}: {problem}")]
    Syntax {
        /// Where.
        origin: Origin,
        /// What is wrong.
        problem: String,
    },
}

/// Reads `files` in order (as httpd reads its main file, with what they include) and
/// translates them. `server_root` is where relative paths start until a `ServerRoot`
/// directive says otherwise (httpd's compiled-in default on Debian is `/etc/apache2`;
/// the command line passes the first file's directory unless told).
pub fn import(files: &[PathBuf], server_root: &Path) -> Result<Imported, HttpdError> {
    let mut reader = tree::Reader::new(server_root.to_owned());
    let mut directives = Vec::new();
    for file in files {
        directives.extend(reader.read_file(file)?);
    }
    let root = absolute(&reader.server_root);
    Ok(translate::translate(
        &directives,
        &root,
        files,
        reader.notes,
    ))
}

/// `path` made absolute against the current directory (the ini is read from elsewhere).
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_owned())
    }
}
