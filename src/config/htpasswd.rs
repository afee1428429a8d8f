//! Status worker users: an htpasswd file (`AuthUserFile`, as httpd's `htpasswd` writes it)
//! with hashed passwords, and, for compatibility, plain-text `user = password` lines in
//! jkgate.ini's `[status_users]` (warned about).
//!
//! The schemes are the ones `htpasswd` writes: bcrypt (`-B`, `$2y$`), MD5 (`-m`, the
//! default, `$apr1$`), SHA-256 and SHA-512 crypt (`-2`, `-5`: `$5$`, `$6$`), SHA-1 (`-s`,
//! `{SHA}`), and DES crypt (`-d`, 13 characters); glibc's MD5 crypt (`$1$`) is read too. A
//! plain-text password in the file (`-p`) is refused as httpd refuses it on Unix: an entry
//! in no known scheme is reported with its line and never matches.

use super::error::{ConfigError, ConfigWarning, Origin};

/// How a password is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// Plain text from jkgate.ini's `[status_users]`.
    Plain(String),
    /// A hash from the htpasswd file.
    Hashed {
        /// Its scheme.
        scheme: HashScheme,
        /// The whole hash as written (`$2y$05$...`).
        hash: String,
    },
}

/// The password hash schemes an htpasswd file may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashScheme {
    /// `$2y$` / `$2a$` / `$2b$` (`htpasswd -B`).
    Bcrypt,
    /// `$apr1$` (`htpasswd -m`, its default).
    Apr1,
    /// `$1$`: glibc's MD5 crypt.
    Md5Crypt,
    /// `$5$` (`htpasswd -2`).
    Sha256Crypt,
    /// `$6$` (`htpasswd -5`).
    Sha512Crypt,
    /// `{SHA}` + base64 of SHA-1, unsalted (`htpasswd -s`).
    Sha1,
    /// Traditional DES crypt, 13 characters (`htpasswd -d`).
    DesCrypt,
}

impl HashScheme {
    /// The scheme of `hash`, if it is one of them.
    pub fn of(hash: &str) -> Option<HashScheme> {
        let scheme = if ["$2y$", "$2a$", "$2b$"].iter().any(|p| hash.starts_with(p)) {
            HashScheme::Bcrypt
        } else if hash.starts_with("$apr1$") {
            HashScheme::Apr1
        } else if hash.starts_with("$1$") {
            HashScheme::Md5Crypt
        } else if hash.starts_with("$5$") {
            HashScheme::Sha256Crypt
        } else if hash.starts_with("$6$") {
            HashScheme::Sha512Crypt
        } else if hash.starts_with("{SHA}") {
            HashScheme::Sha1
        } else if hash.len() == 13
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
        {
            HashScheme::DesCrypt
        } else {
            return None;
        };
        Some(scheme)
    }

    /// The name `htpasswd` gives it.
    pub fn name(self) -> &'static str {
        match self {
            HashScheme::Bcrypt => "bcrypt",
            HashScheme::Apr1 => "MD5 (apr1)",
            HashScheme::Md5Crypt => "MD5 crypt",
            HashScheme::Sha256Crypt => "SHA-256 crypt",
            HashScheme::Sha512Crypt => "SHA-512 crypt",
            HashScheme::Sha1 => "SHA-1",
            HashScheme::DesCrypt => "DES crypt",
        }
    }
}

/// One status worker user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUser {
    /// The name a worker's `user` list names.
    pub name: String,
    /// The password.
    pub credential: Credential,
    /// Where it was written.
    pub origin: Option<Origin>,
}

/// Reads an htpasswd file's content (`file` names it in messages): `user:hash` lines,
/// blank lines and `#` comments skipped. A line without `:` is an error; a hash in no known
/// scheme is a warning (the user can never log in, as with httpd).
pub fn read_htpasswd(
    content: &str,
    file: &str,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigWarning>,
) -> Vec<StatusUser> {
    let mut users = Vec::new();
    for (index, line) in content.lines().enumerate() {
        let origin = Origin::new(file, index as u32 + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((name, hash)) = line.split_once(':') else {
            errors.push(ConfigError::Setting {
                origin: Some(origin),
                setting: "AuthUserFile".to_owned(),
                problem: "a line without `:`; an htpasswd file holds `user:hash` lines as `htpasswd -B FILE USER` writes them".to_owned(),
            });
            continue;
        };
        match HashScheme::of(hash) {
            Some(scheme) => users.push(StatusUser {
                name: name.to_owned(),
                credential: Credential::Hashed {
                    scheme,
                    hash: hash.to_owned(),
                },
                origin: Some(origin),
            }),
            None => warnings.push(ConfigWarning {
                origin: Some(origin),
                key: "AuthUserFile".to_owned(),
                message: format!(
                    "user `{name}`: the password is in no hash scheme jkgate knows (plain text, as `htpasswd -p` writes it, is refused as httpd refuses it on Unix); this user cannot log in; write it again with `htpasswd -B`"
                ),
            }),
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_told_apart() {
        let cases: &[(&str, Option<HashScheme>)] = &[
            ("$2y$05$abcdefghijklmnopqrstuu", Some(HashScheme::Bcrypt)),
            ("$2b$10$x", Some(HashScheme::Bcrypt)),
            ("$apr1$salt$hash", Some(HashScheme::Apr1)),
            ("$1$salt$hash", Some(HashScheme::Md5Crypt)),
            ("$5$salt$hash", Some(HashScheme::Sha256Crypt)),
            ("$6$rounds=5000$salt$hash", Some(HashScheme::Sha512Crypt)),
            ("{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", Some(HashScheme::Sha1)),
            ("abJnggxhB/yWI", Some(HashScheme::DesCrypt)),
            ("secret", None),
            ("$9$x", None),
        ];
        for (hash, scheme) in cases {
            assert_eq!(HashScheme::of(hash), *scheme, "{hash}");
        }
    }

    #[test]
    fn file_lines_with_their_origins() {
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        let users = read_htpasswd(
            "# users\n\nalice:$2y$05$abc\nbroken line\nbob:plain\ncarol:{SHA}x=\n",
            "htpasswd",
            &mut errors,
            &mut warnings,
        );
        let names: Vec<(&str, u32)> = users
            .iter()
            .map(|u| (u.name.as_str(), u.origin.as_ref().unwrap().line))
            .collect();
        assert_eq!(names, [("alice", 3), ("carol", 6)]);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .to_string()
                .starts_with("htpasswd:4: AuthUserFile: a line without `:`")
        );
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0]
                .to_string()
                .starts_with("htpasswd:5: AuthUserFile: user `bob`")
        );
    }
}
