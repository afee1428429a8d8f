//! IP access rules: httpd's `Require ip`, `Require not ip`, `Require all granted|denied`
//! and `Require local`, per location (as in a `<Location>` block) or per worker, written in
//! jkgate.ini's `[access]` section:
//!
//! ```ini
//! [access]
//! /jkstatus = Require ip 10.0.0.0/8 192.168.1
//! /jkstatus = Require not ip 10.0.0.66
//! /app/admin* = Require all denied
//! worker:jkstatus = Require local
//! ```
//!
//! * The key is a location, matched as httpd matches `<Location>`: a plain path is a prefix
//!   that ends at a `/` or at the end (`/jkstatus` covers `/jkstatus` and `/jkstatus/x`,
//!   not `/jkstatusx`); a path with `*`, `?` or `[...]` is a wildcard over the whole path in
//!   which they never match `/`. Or `worker:NAME`: every request mapped to that worker,
//!   whatever its path.
//! * Lines with the same key form one rule, as the `Require` lines of one block do. A rule
//!   grants when no `not` line matches the client and, if it has positive lines (`ip`,
//!   `local`, `all granted`; `all denied` never matches), one of them matches — httpd's
//!   `<RequireAll>` of a `<RequireAny>` of the positive lines and the negated ones. A rule
//!   of `not` lines alone grants everyone else.
//! * When several locations match a path, the last one in the file decides (httpd merges
//!   `<Location>` blocks in order and, with `AuthMerging Off`, the later block's `Require`
//!   lines replace the earlier). A worker rule is checked as well: both must grant.
//! * The path is the one mounts are matched against (decoded, `//`, `.` and `..` resolved,
//!   `;parameters` removed), so `/jk%73tatus` or `/jkstatus;x` cannot step around a rule.
//! * The client is the real client (after `RemoteIPHeader` or the PROXY protocol).

use std::fmt;
use std::net::IpAddr;

use super::error::{ConfigError, Origin};
use super::iprange::{IpRange, IpRangeError};

/// The lines `[access]` takes, offered when a line is none of them.
const VALID: &str = "valid: Require ip RANGE..., Require not ip RANGE..., Require all granted, Require all denied, Require local, Require not local";

/// Why an `[access]` value is not a `Require` line jkgate checks (each message quotes the
/// value, except a bad range's, which quotes the range).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequireError {
    /// `Require all` followed by something else than one `granted` or `denied`.
    #[error("`{value}`: `Require all` takes `granted` or `denied`")]
    AllTakes {
        /// The value as written.
        value: String,
    },
    /// `Require not all ...`, which httpd refuses.
    #[error(
        "`{value}`: httpd has no `Require not all`; write `Require all denied` or `Require all granted`"
    )]
    NotAll {
        /// The value as written.
        value: String,
    },
    /// `Require ip` without a range.
    #[error("`{value}`: `Require ip` needs at least one address or range")]
    NoRange {
        /// The value as written.
        value: String,
    },
    /// One range of `Require ip` is not one.
    #[error(transparent)]
    Range(#[from] IpRangeError),
    /// Words after `Require local`.
    #[error("`{value}`: `Require local` takes nothing after it")]
    LocalTakesNothing {
        /// The value as written.
        value: String,
    },
    /// No provider after `Require` (or `Require not`).
    #[error("`{value}`: nothing to require; {VALID}")]
    Nothing {
        /// The value as written.
        value: String,
    },
    /// A provider other than `all`, `ip` and `local` (`valid-user`, `group`, ...): jkgate
    /// authorizes by address only.
    #[error(
        "`{value}`: jkgate checks addresses only, not `Require {provider}` (status worker users come from worker.NAME.user and AuthUserFile); {VALID}"
    )]
    NotAnAddressCheck {
        /// The value as written.
        value: String,
        /// The provider, lowercased.
        provider: String,
    },
}

/// A `[access]` location whose wildcard class is never closed (httpd's `fnmatch` would
/// match it literally, never as the class that was meant).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{pattern}`: `[` without a closing `]`")]
pub(crate) struct UnclosedClass {
    /// The location as written.
    pattern: String,
}

/// One `Require` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Require {
    /// `Require all granted`.
    AllGranted,
    /// `Require all denied`.
    AllDenied,
    /// `Require ip RANGE...`.
    Ip(Vec<IpRange>),
    /// `Require not ip RANGE...`.
    NotIp(Vec<IpRange>),
    /// `Require local`: a loopback client, or one connecting from the server's own address.
    Local,
    /// `Require not local`.
    NotLocal,
}

impl Require {
    /// Parses the value of an `[access]` line: `Require ...`, the word `Require` optional.
    pub fn parse(value: &str) -> Result<Require, RequireError> {
        let value_owned = || value.to_owned();
        let mut words = value.split_whitespace().peekable();
        if words
            .peek()
            .is_some_and(|w| w.eq_ignore_ascii_case("require"))
        {
            words.next();
        }
        let mut negated = false;
        if words.peek().is_some_and(|w| w.eq_ignore_ascii_case("not")) {
            negated = true;
            words.next();
        }
        let kind = words.next().unwrap_or("").to_ascii_lowercase();
        let rest: Vec<&str> = words.collect();
        match (kind.as_str(), negated) {
            ("all", false) => match rest.as_slice() {
                [w] if w.eq_ignore_ascii_case("granted") => Ok(Require::AllGranted),
                [w] if w.eq_ignore_ascii_case("denied") => Ok(Require::AllDenied),
                _ => Err(RequireError::AllTakes {
                    value: value_owned(),
                }),
            },
            ("all", true) => Err(RequireError::NotAll {
                value: value_owned(),
            }),
            ("ip", _) => {
                if rest.is_empty() {
                    return Err(RequireError::NoRange {
                        value: value_owned(),
                    });
                }
                let ranges = rest
                    .iter()
                    .flat_map(|w| w.split(',').filter(|s| !s.is_empty()))
                    .map(IpRange::parse)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if negated {
                    Require::NotIp(ranges)
                } else {
                    Require::Ip(ranges)
                })
            }
            ("local", _) if rest.is_empty() => Ok(if negated {
                Require::NotLocal
            } else {
                Require::Local
            }),
            ("local", _) => Err(RequireError::LocalTakesNothing {
                value: value_owned(),
            }),
            ("", _) => Err(RequireError::Nothing {
                value: value_owned(),
            }),
            (other, _) => Err(RequireError::NotAnAddressCheck {
                value: value_owned(),
                provider: other.to_owned(),
            }),
        }
    }

    fn negated(&self) -> bool {
        matches!(self, Require::NotIp(_) | Require::NotLocal)
    }

    /// Whether the line's condition holds for `client` (the negation left aside).
    fn holds(&self, client: IpAddr, local: IpAddr) -> bool {
        match self {
            Require::AllGranted => true,
            Require::AllDenied => false,
            Require::Ip(ranges) | Require::NotIp(ranges) => {
                ranges.iter().any(|r| r.contains(client))
            }
            Require::Local | Require::NotLocal => {
                let client = client.to_canonical();
                client.is_loopback() || client == local.to_canonical()
            }
        }
    }
}

impl fmt::Display for Require {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ranges = |ranges: &[IpRange]| {
            ranges
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Require::AllGranted => write!(f, "Require all granted"),
            Require::AllDenied => write!(f, "Require all denied"),
            Require::Ip(r) => write!(f, "Require ip {}", ranges(r)),
            Require::NotIp(r) => write!(f, "Require not ip {}", ranges(r)),
            Require::Local => write!(f, "Require local"),
            Require::NotLocal => write!(f, "Require not local"),
        }
    }
}

/// What a rule covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A `<Location>`-like path pattern.
    Location(String),
    /// Every request mapped to this worker (`worker:NAME`).
    Worker(String),
}

/// The `Require` lines written under one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRule {
    /// What it covers.
    pub scope: Scope,
    /// Its lines, in order.
    pub requires: Vec<Require>,
    /// The line that started it.
    pub origin: Option<Origin>,
}

impl AccessRule {
    /// Whether `client` (which reached the server at `local`) is let through.
    pub fn grants(&self, client: IpAddr, local: IpAddr) -> bool {
        let (negative, positive): (Vec<&Require>, Vec<&Require>) =
            self.requires.iter().partition(|r| r.negated());
        if negative.iter().any(|r| r.holds(client, local)) {
            return false;
        }
        positive.is_empty() || positive.iter().any(|r| r.holds(client, local))
    }

    /// Whether the rule grants every client (nothing to check: `Require all granted` and
    /// no `not` line).
    pub fn grants_everyone(&self) -> bool {
        self.requires.iter().all(|r| !r.negated()) && self.requires.contains(&Require::AllGranted)
    }

    /// Whether the rule covers `path` (a location rule; a worker rule covers none).
    pub fn covers_path(&self, path: &[u8]) -> bool {
        match &self.scope {
            Scope::Location(pattern) => location_matches(pattern.as_bytes(), path),
            Scope::Worker(_) => false,
        }
    }
}

/// The `[access]` section, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessRules {
    /// One rule per key, in the order the keys first appear.
    pub rules: Vec<AccessRule>,
}

impl AccessRules {
    /// Reads the `[access]` pairs (`origins[n]` is where the n-th was written).
    pub fn parse(
        pairs: &[(String, String)],
        origins: &[Origin],
        errors: &mut Vec<ConfigError>,
    ) -> AccessRules {
        let mut rules: Vec<AccessRule> = Vec::new();
        for (index, (key, value)) in pairs.iter().enumerate() {
            let origin = origins.get(index).cloned();
            let error = |problem: String| ConfigError::Setting {
                origin: origin.clone(),
                setting: format!("[access] {key}"),
                problem,
            };
            let scope = match key.strip_prefix("worker:") {
                Some(name) if !name.trim().is_empty() => Scope::Worker(name.trim().to_owned()),
                Some(_) => {
                    errors.push(error(
                        "`worker:` needs a worker name, e.g. worker:jkstatus".to_owned(),
                    ));
                    continue;
                }
                None if key.starts_with('~') => {
                    errors.push(error(
                        "regular expressions (<LocationMatch>, <Location ~>) are not supported; write a path prefix (/app/admin) or a wildcard (/app/*/admin)".to_owned(),
                    ));
                    continue;
                }
                None if key.starts_with('/') => match check_pattern(key) {
                    Ok(()) => Scope::Location(key.clone()),
                    Err(problem) => {
                        errors.push(error(problem.to_string()));
                        continue;
                    }
                },
                None => {
                    errors.push(error(format!(
                        "`{key}` is neither a location (a path starting with /) nor worker:NAME"
                    )));
                    continue;
                }
            };
            let require = match Require::parse(value) {
                Ok(require) => require,
                Err(problem) => {
                    errors.push(error(problem.to_string()));
                    continue;
                }
            };
            match rules.iter_mut().find(|r| r.scope == scope) {
                Some(rule) => rule.requires.push(require),
                None => rules.push(AccessRule {
                    scope,
                    requires: vec![require],
                    origin,
                }),
            }
        }
        AccessRules { rules }
    }

    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule that refuses `client` for `path` mapped to `worker` (`None`: let through).
    /// `path` is the normalised matching path; `worker` is `None` for an unmapped path.
    pub fn refusing(
        &self,
        path: &[u8],
        worker: Option<&str>,
        client: IpAddr,
        local: IpAddr,
    ) -> Option<&AccessRule> {
        let location = self.rules.iter().rev().find(|r| r.covers_path(path));
        let by_worker = worker.and_then(|w| {
            self.rules
                .iter()
                .find(|r| matches!(&r.scope, Scope::Worker(name) if name == w))
        });
        [location, by_worker]
            .into_iter()
            .flatten()
            .find(|rule| !rule.grants(client, local))
    }

    /// The rules that restrict `worker`: its worker rule and the location rules that cover
    /// `path` (a mount's fixed prefix), when they do not grant everyone.
    pub fn restricts(&self, worker: &str, paths: &[Vec<u8>]) -> bool {
        let by_worker = self.rules.iter().any(|r| {
            matches!(&r.scope, Scope::Worker(name) if name == worker) && !r.grants_everyone()
        });
        by_worker
            || (!paths.is_empty()
                && paths.iter().all(|path| {
                    self.rules
                        .iter()
                        .rev()
                        .find(|r| r.covers_path(path))
                        .is_some_and(|r| !r.grants_everyone())
                }))
    }
}

/// Refuses a wildcard pattern with an unclosed `[`.
fn check_pattern(pattern: &str) -> Result<(), UnclosedClass> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            match bytes[i + 1..].iter().skip(1).position(|&b| b == b']') {
                Some(end) => i += end + 2,
                None => {
                    return Err(UnclosedClass {
                        pattern: pattern.to_owned(),
                    });
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// httpd's `<Location>` test: a wildcard pattern (`*`, `?`, `[...]`) against the whole path
/// with `fnmatch(FNM_PATHNAME)`, else a prefix that ends at a `/` of the pattern, a `/` of
/// the path or the path's end.
pub fn location_matches(pattern: &[u8], path: &[u8]) -> bool {
    if pattern.iter().any(|b| b"*?[".contains(b)) {
        return fnmatch_pathname(pattern, path);
    }
    path.starts_with(pattern)
        && (pattern.last() == Some(&b'/') || matches!(path.get(pattern.len()), None | Some(b'/')))
}

/// `fnmatch(pattern, text, FNM_PATHNAME)`: `*` and `?` never match `/`, nor does a class.
fn fnmatch_pathname(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            let mut at = 0;
            loop {
                if fnmatch_pathname(rest, &text[at..]) {
                    return true;
                }
                match text.get(at) {
                    Some(b'/') | None => return false,
                    Some(_) => at += 1,
                }
            }
        }
        Some((b'?', rest)) => match text.split_first() {
            Some((c, tail)) if *c != b'/' => fnmatch_pathname(rest, tail),
            _ => false,
        },
        Some((b'[', rest)) => {
            let Some((c, tail)) = text.split_first() else {
                return false;
            };
            let (negated, class) = match rest.first() {
                Some(b'!' | b'^') => (true, &rest[1..]),
                _ => (false, rest),
            };
            // A `]` first in the class is literal.
            let Some(end) = class.iter().skip(1).position(|&b| b == b']').map(|p| p + 1) else {
                return false;
            };
            let set = &class[..end];
            let mut found = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    found |= (set[i]..=set[i + 2]).contains(c);
                    i += 3;
                } else {
                    found |= set[i] == *c;
                    i += 1;
                }
            }
            *c != b'/' && found != negated && fnmatch_pathname(&class[end + 1..], tail)
        }
        Some((p, rest)) => text
            .split_first()
            .is_some_and(|(c, tail)| c == p && fnmatch_pathname(rest, tail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_match_as_httpd_matches_them() {
        let cases: &[(&str, &str, bool)] = &[
            ("/jkstatus", "/jkstatus", true),
            ("/jkstatus", "/jkstatus/", true),
            ("/jkstatus", "/jkstatus/x", true),
            ("/jkstatus", "/jkstatusx", false),
            ("/jkstatus", "/jk", false),
            ("/app/", "/app/x", true),
            ("/app/", "/app", false),
            ("/", "/anything", true),
            ("/app/*", "/app/x", true),
            ("/app/*", "/app/x/y", false),
            ("/app/*/admin", "/app/x/admin", true),
            ("/jkstatus*", "/jkstatus", true),
            ("/jkstatus*", "/jkstatus2", true),
            ("/jkstatus*", "/jkstatus/x", false),
            ("/a?c", "/abc", true),
            ("/a?c", "/a/c", false),
            ("/[ab]x", "/bx", true),
            ("/[!ab]x", "/bx", false),
            ("/[a-c]x", "/cx", true),
            ("/[a-c]x", "/dx", false),
        ];
        for (pattern, path, expected) in cases {
            assert_eq!(
                location_matches(pattern.as_bytes(), path.as_bytes()),
                *expected,
                "{pattern} vs {path}"
            );
        }
    }

    fn rules(text: &[(&str, &str)]) -> AccessRules {
        let pairs: Vec<(String, String)> = text
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let origins: Vec<Origin> = (1..=pairs.len() as u32)
            .map(|line| Origin::new("j.ini", line))
            .collect();
        let mut errors = Vec::new();
        let rules = AccessRules::parse(&pairs, &origins, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        rules
    }

    #[test]
    fn a_rule_is_require_all_of_any_positive_and_no_negative() {
        let local: IpAddr = "192.0.2.1".parse().unwrap();
        let access = rules(&[
            ("/jkstatus", "Require ip 10.0.0.0/8 192.168.1"),
            ("/jkstatus", "Require not ip 10.0.0.66"),
            ("/app", "Require not ip 203.0.113.0/24"),
            ("/app/admin", "Require all denied"),
            ("/app/admin/open", "require all granted"),
            ("worker:solo", "Require local"),
        ]);
        let cases: &[(&str, Option<&str>, &str, Option<u32>)] = &[
            // (path, worker, client, refusing rule's line)
            ("/jkstatus", Some("jkstatus"), "10.1.2.3", None),
            ("/jkstatus/x", Some("jkstatus"), "192.168.1.9", None),
            ("/jkstatus", Some("jkstatus"), "10.0.0.66", Some(1)),
            ("/jkstatus", Some("jkstatus"), "::ffff:10.0.0.66", Some(1)),
            ("/jkstatus", Some("jkstatus"), "8.8.8.8", Some(1)),
            ("/app/x", Some("lb"), "8.8.8.8", None),
            ("/app/x", Some("lb"), "203.0.113.9", Some(3)),
            ("/app/admin", Some("lb"), "10.1.1.1", Some(4)),
            ("/app/admin/open/x", Some("lb"), "203.0.113.9", None),
            ("/other", Some("solo"), "127.0.0.1", None),
            ("/other", Some("solo"), "192.0.2.1", None),
            ("/other", Some("solo"), "8.8.8.8", Some(6)),
            ("/app/x", Some("solo"), "203.0.113.9", Some(3)),
            ("/unmapped", None, "8.8.8.8", None),
        ];
        for (path, worker, client, refused) in cases {
            let found = access
                .refusing(path.as_bytes(), *worker, client.parse().unwrap(), local)
                .map(|r| r.origin.as_ref().unwrap().line);
            assert_eq!(found, *refused, "{path} {worker:?} {client}");
        }
    }

    #[test]
    fn require_lines_parse_and_print_back() {
        for (written, shown) in [
            (
                "Require ip 10.1 192.168.0.0/16",
                "Require ip 10.1.0.0/16 192.168.0.0/16",
            ),
            ("ip 10.0.0.1,10.0.0.2", "Require ip 10.0.0.1 10.0.0.2"),
            (
                "Require not ip 2001:db8::/32",
                "Require not ip 2001:db8::/32",
            ),
            ("REQUIRE all Granted", "Require all granted"),
            ("Require all denied", "Require all denied"),
            ("Require local", "Require local"),
            ("Require not local", "Require not local"),
        ] {
            assert_eq!(Require::parse(written).unwrap().to_string(), shown);
        }
        for (written, expected) in [
            ("Require valid-user", "not `Require valid-user`"),
            ("Require ip", "at least one address"),
            ("Require ip 10.1.x", "not an address or range"),
            ("Require not all granted", "no `Require not all`"),
            ("Require all maybe", "takes `granted` or `denied`"),
            ("", "nothing to require"),
        ] {
            let error = Require::parse(written).unwrap_err();
            assert!(error.to_string().contains(expected), "{written}: {error}");
        }
    }

    #[test]
    fn keys_that_are_not_locations_or_workers_are_refused_with_their_line() {
        let pairs = vec![
            ("jkstatus".to_owned(), "Require local".to_owned()),
            ("~ ^/x".to_owned(), "Require local".to_owned()),
            ("/a[b".to_owned(), "Require local".to_owned()),
            ("worker:".to_owned(), "Require local".to_owned()),
            ("/ok".to_owned(), "Require user bob".to_owned()),
        ];
        let origins: Vec<Origin> = (10..15).map(|l| Origin::new("j.ini", l)).collect();
        let mut errors = Vec::new();
        AccessRules::parse(&pairs, &origins, &mut errors);
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 5, "{messages:?}");
        for (message, (line, text)) in messages.iter().zip([
            (10, "neither a location"),
            (11, "regular expressions"),
            (12, "without a closing"),
            (13, "needs a worker name"),
            (14, "jkgate checks addresses only"),
        ]) {
            assert!(
                message.starts_with(&format!("j.ini:{line}: [access] ")),
                "{message}"
            );
            assert!(message.contains(text), "{message}");
        }
    }

    #[test]
    fn restriction_of_a_status_worker() {
        let access = rules(&[
            ("/jkstatus", "Require ip 10.0.0.0/8"),
            ("/open", "Require all granted"),
        ]);
        assert!(access.restricts("jkstatus", &[b"/jkstatus".to_vec()]));
        assert!(!access.restricts("jkstatus", &[b"/jkstatus".to_vec(), b"/status".to_vec()]));
        assert!(!access.restricts("jkstatus", &[b"/open".to_vec()]));
        let access = rules(&[("worker:jkstatus", "Require local")]);
        assert!(access.restricts("jkstatus", &[]));
        assert!(!access.restricts("other", &[b"/x".to_vec()]));
    }
}
