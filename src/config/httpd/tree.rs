//! httpd.conf as a tree of directives and sections, read as httpd reads it: `Include` and
//! `IncludeOptional` followed where they stand (a wildcard or a directory reads every
//! match in name order, a relative path starts at `ServerRoot`), `Define` and `${NAME}`
//! (defined names, then the environment), `<IfDefine>` decided by the names defined,
//! `<IfModule>` decided by the `LoadModule` lines read so far (a snippet without any is
//! read as if every module were loaded) and `<IfVersion>` taken as true.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::HttpdError;
use super::lexer::{self, Line};
use crate::config::Origin;

/// One directive, or a section with what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    /// The name as written (`JkMount`, `VirtualHost`).
    pub name: String,
    /// The arguments, unquoted, `${NAME}` replaced.
    pub args: Vec<String>,
    /// Where it was written.
    pub origin: Origin,
    /// For a section (`<Name ...>`): what it holds.
    pub children: Option<Vec<Directive>>,
}

impl Directive {
    /// Whether this is directive `name` (httpd's names are case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Something httpd would have said while reading, which does not stop the import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadNote {
    /// Where.
    pub origin: Origin,
    /// What.
    pub message: String,
}

/// The reader's state: names defined, the server root, notes, include depth.
pub(crate) struct Reader {
    pub server_root: PathBuf,
    defines: HashMap<String, String>,
    /// Modules named by the `LoadModule` lines read so far, as `x_module` and `mod_x.c`.
    loaded: Vec<String>,
    pub notes: Vec<ReadNote>,
    depth: usize,
}

/// Modules compiled into Debian's httpd (`apache2 -l`): always loaded.
const BUILT_IN: &[&str] = &[
    "core.c",
    "mod_so.c",
    "mod_watchdog.c",
    "http_core.c",
    "mod_log_config.c",
    "mod_logio.c",
    "mod_version.c",
    "mod_unixd.c",
    "core_module",
    "so_module",
    "watchdog_module",
    "http_module",
    "log_config_module",
    "logio_module",
    "version_module",
    "unixd_module",
];

/// httpd's own limit on nested includes.
const MAX_INCLUDE_DEPTH: usize = 128;

impl Reader {
    pub(crate) fn new(server_root: PathBuf) -> Self {
        Reader {
            server_root,
            defines: HashMap::new(),
            loaded: Vec::new(),
            notes: Vec::new(),
            depth: 0,
        }
    }

    /// Reads `path` (a file given on the command line or by an Include).
    pub(crate) fn read_file(&mut self, path: &Path) -> Result<Vec<Directive>, HttpdError> {
        let content = std::fs::read_to_string(path).map_err(|source| HttpdError::Io {
            path: path.to_owned(),
            source,
        })?;
        let file: Arc<str> = Arc::from(path.display().to_string());
        let lines = lexer::lines(&content, &file);
        let mut position = 0;
        let body = self.read_block(&lines, &mut position, None)?;
        Ok(body)
    }

    /// Reads lines from `position` up to the end of the section `open` (`None`: the end of
    /// the file).
    fn read_block(
        &mut self,
        lines: &[Line],
        position: &mut usize,
        open: Option<(&str, &Origin)>,
    ) -> Result<Vec<Directive>, HttpdError> {
        let mut out = Vec::new();
        while *position < lines.len() {
            let line = &lines[*position];
            *position += 1;
            if let Some(rest) = line.text.strip_prefix("</") {
                let name = rest.trim_end_matches('>').trim();
                return match open {
                    Some((expected, _)) if expected.eq_ignore_ascii_case(name) => Ok(out),
                    Some((expected, opened)) => Err(HttpdError::Syntax {
                        origin: line.origin.clone(),
                        problem: format!(
                            "`</{name}>` closes nothing: <{expected}> (opened at line {}) is still open",
                            opened.line
                        ),
                    }),
                    None => Err(HttpdError::Syntax {
                        origin: line.origin.clone(),
                        problem: format!("`</{name}>` without a matching <{name}>"),
                    }),
                };
            }
            if let Some(rest) = line.text.strip_prefix('<') {
                let Some(inner) = rest.trim_end().strip_suffix('>') else {
                    return Err(HttpdError::Syntax {
                        origin: line.origin.clone(),
                        problem: format!("`{}`: a section header ends with `>`", line.text),
                    });
                };
                let words = self.words(inner, &line.origin)?;
                let Some((name, args)) = words.split_first() else {
                    return Err(HttpdError::Syntax {
                        origin: line.origin.clone(),
                        problem: "`<>` names no section".to_owned(),
                    });
                };
                let children =
                    self.read_block(lines, position, Some((name.as_str(), &line.origin)))?;
                match self.condition(name, args, &line.origin) {
                    Some(true) => out.extend(children),
                    Some(false) => {}
                    None => out.push(Directive {
                        name: name.clone(),
                        args: args.to_vec(),
                        origin: line.origin.clone(),
                        children: Some(children),
                    }),
                }
                continue;
            }
            let words = self.words(&line.text, &line.origin)?;
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            if name.eq_ignore_ascii_case("Include") || name.eq_ignore_ascii_case("IncludeOptional")
            {
                let optional = name.eq_ignore_ascii_case("IncludeOptional");
                let Some(pattern) = args.first() else {
                    return Err(HttpdError::Syntax {
                        origin: line.origin.clone(),
                        problem: format!("{name} needs a file, directory or wildcard"),
                    });
                };
                out.extend(self.include(pattern, optional, &line.origin)?);
                continue;
            }
            if name.eq_ignore_ascii_case("Define") {
                if let Some(key) = args.first() {
                    self.defines
                        .insert(key.clone(), args.get(1).cloned().unwrap_or_default());
                }
            } else if name.eq_ignore_ascii_case("UnDefine") {
                if let Some(key) = args.first() {
                    self.defines.remove(key);
                }
            } else if name.eq_ignore_ascii_case("LoadModule") {
                if let Some(id) = args.first() {
                    self.loaded.push(id.clone());
                }
                if let Some(file) = args.get(1).and_then(|f| Path::new(f).file_stem()) {
                    self.loaded.push(format!("{}.c", file.to_string_lossy()));
                }
            } else if name.eq_ignore_ascii_case("ServerRoot") && open.is_none() {
                if let Some(root) = args.first() {
                    self.server_root = PathBuf::from(root);
                }
            }
            out.push(Directive {
                name: name.clone(),
                args: args.to_vec(),
                origin: line.origin.clone(),
                children: None,
            });
        }
        match open {
            Some((name, opened)) => Err(HttpdError::Syntax {
                origin: opened.clone(),
                problem: format!(
                    "<{name}> is never closed (no </{name}> before the end of the file)"
                ),
            }),
            None => Ok(out),
        }
    }

    /// `Some(keep)` for a conditional section httpd decides while reading; `None` for a
    /// section kept as one.
    fn condition(&mut self, name: &str, args: &[String], origin: &Origin) -> Option<bool> {
        let arg = args.first().map(String::as_str).unwrap_or("");
        let (negated, what) = match arg.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, arg),
        };
        if name.eq_ignore_ascii_case("IfDefine") {
            Some(self.defines.contains_key(what) != negated)
        } else if name.eq_ignore_ascii_case("IfModule") {
            // With LoadModule lines read, a module is loaded when one named it (or it is
            // compiled into Debian's httpd); a configuration snippet without any is read as
            // if every module it names were loaded.
            let loaded = if self.loaded.is_empty() {
                true
            } else {
                BUILT_IN.contains(&what) || self.loaded.iter().any(|m| m == what)
            };
            let keep = loaded != negated;
            if !keep {
                self.notes.push(ReadNote {
                    origin: origin.clone(),
                    message: if self.loaded.is_empty() {
                        format!(
                            "<IfModule {arg}> left out: without LoadModule lines jkgate reads a configuration as if every module it names were loaded"
                        )
                    } else {
                        format!("<IfModule {arg}> left out, as httpd would with the modules loaded")
                    },
                });
            }
            Some(keep)
        } else if name.eq_ignore_ascii_case("IfVersion") {
            Some(true)
        } else {
            None
        }
    }

    /// The directives of every file `pattern` names.
    fn include(
        &mut self,
        pattern: &str,
        optional: bool,
        origin: &Origin,
    ) -> Result<Vec<Directive>, HttpdError> {
        if self.depth >= MAX_INCLUDE_DEPTH {
            return Err(HttpdError::Syntax {
                origin: origin.clone(),
                problem: format!(
                    "includes nested deeper than {MAX_INCLUDE_DEPTH} (a file including itself?)"
                ),
            });
        }
        let full = if Path::new(pattern).is_absolute() {
            PathBuf::from(pattern)
        } else {
            self.server_root.join(pattern)
        };
        let text = full.display().to_string();
        let mut files = Vec::new();
        if text.contains(['*', '?', '[']) {
            let matches = glob::glob(&text).map_err(|e| HttpdError::Syntax {
                origin: origin.clone(),
                problem: format!("`{pattern}` is not a valid wildcard: {e}"),
            })?;
            for entry in matches {
                match entry {
                    Ok(path) if path.is_file() => files.push(path),
                    Ok(_) => {}
                    Err(e) => {
                        return Err(HttpdError::Io {
                            path: e.path().to_owned(),
                            source: std::io::Error::other(e.to_string()),
                        });
                    }
                }
            }
            files.sort();
            if files.is_empty() && !optional {
                return Err(HttpdError::Syntax {
                    origin: origin.clone(),
                    problem: format!(
                        "Include `{pattern}` matches no file (httpd refuses this too; IncludeOptional allows it)"
                    ),
                });
            }
        } else if full.is_dir() {
            let entries = std::fs::read_dir(&full).map_err(|source| HttpdError::Io {
                path: full.clone(),
                source,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_file() {
                    files.push(path);
                }
            }
            files.sort();
        } else if full.exists() || !optional {
            files.push(full);
        }
        self.depth += 1;
        let mut out = Vec::new();
        for file in files {
            match self.read_file(&file) {
                Ok(directives) => out.extend(directives),
                Err(e) => {
                    self.depth -= 1;
                    return Err(match e {
                        HttpdError::Io { path, source } => HttpdError::Included {
                            origin: origin.clone(),
                            path,
                            source,
                        },
                        other => other,
                    });
                }
            }
        }
        self.depth -= 1;
        Ok(out)
    }

    /// Words with `${NAME}` replaced by a defined name or an environment variable (httpd
    /// keeps an unknown one as written, and says so).
    fn words(&mut self, text: &str, origin: &Origin) -> Result<Vec<String>, HttpdError> {
        let words = lexer::words(text).map_err(|problem| HttpdError::Syntax {
            origin: origin.clone(),
            problem: problem.to_string(),
        })?;
        Ok(words
            .into_iter()
            .map(|w| self.substitute(&w, origin))
            .collect())
    }

    fn substitute(&mut self, word: &str, origin: &Origin) -> String {
        let mut out = String::with_capacity(word.len());
        let mut rest = word;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            match self
                .defines
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
            {
                Some(value) => out.push_str(&value),
                None => {
                    self.notes.push(ReadNote {
                        origin: origin.clone(),
                        message: format!(
                            "${{{name}}} is not defined (no Define, no environment variable); kept as written, as httpd does"
                        ),
                    });
                    out.push_str(&rest[start..start + 3 + end]);
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}
