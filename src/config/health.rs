//! jkgate.ini's `[healthcheck NAME]` sections: a periodic request of an application URI on
//! each lb member over AJP, beyond mod_jk's CPING (which only proves the connector answers).
//! They live in jkgate.ini so that workers.properties stays mod_jk's.
//!
//! ```ini
//! [healthcheck lb]          ; every member of lb `lb`
//! Uri = /app/health         ; required: path (and query) requested with GET
//! Interval = 10             ; seconds between checks (default 10)
//! Timeout = 5               ; seconds (or `Nms`) for the whole answer (default 5)
//! ExpectStatus = 2xx,3xx    ; statuses that pass: codes or classes (default 2xx,3xx)
//! ExpectBody = OK           ; text the body must contain (default: anything)
//! Rise = 2                  ; passes in a row that bring a DOWN member back (default 2)
//! Fall = 3                  ; failures in a row that take a member out (default 3)
//!
//! [healthcheck node2]       ; a member of its own: replaces the lb's section for it
//! Uri = /other/health
//! ```

use std::time::Duration;

use super::error::{ConfigError, Origin};
use super::ini::IniHealthCheck;
use super::value::parse_int;
use super::workers::{WorkerKind, WorkersConfig};

/// Default `Interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(10);
/// Default `Timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `Rise`.
pub const DEFAULT_RISE: u32 = 2;
/// Default `Fall`.
pub const DEFAULT_FALL: u32 = 3;
/// Longest body prefix searched for `ExpectBody` (the rest is read and dropped).
pub const BODY_LIMIT: usize = 64 * 1024;

/// Which statuses pass: exact codes and `Nxx` classes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectStatus {
    codes: Vec<u16>,
    classes: Vec<u16>,
}

impl Default for ExpectStatus {
    fn default() -> Self {
        ExpectStatus {
            codes: Vec::new(),
            classes: vec![2, 3],
        }
    }
}

impl ExpectStatus {
    /// Whether `status` passes.
    pub fn matches(&self, status: u16) -> bool {
        self.codes.contains(&status) || self.classes.contains(&(status / 100))
    }

    /// Reads `200`, `2xx`, `200,204,3xx` (commas or spaces).
    pub fn parse(value: &str) -> Option<ExpectStatus> {
        let mut expect = ExpectStatus {
            codes: Vec::new(),
            classes: Vec::new(),
        };
        for item in value.split([',', ' ', '\t']).filter(|s| !s.is_empty()) {
            let lower = item.to_ascii_lowercase();
            if let Some(class) = lower.strip_suffix("xx") {
                match class.parse::<u16>() {
                    Ok(c) if (1..=9).contains(&c) && class.len() == 1 => expect.classes.push(c),
                    _ => return None,
                }
            } else {
                match item.parse::<u16>() {
                    Ok(code) if (100..=999).contains(&code) => expect.codes.push(code),
                    _ => return None,
                }
            }
        }
        (!expect.codes.is_empty() || !expect.classes.is_empty()).then_some(expect)
    }
}

impl std::fmt::Display for ExpectStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items: Vec<String> = self
            .codes
            .iter()
            .map(u16::to_string)
            .chain(self.classes.iter().map(|c| format!("{c}xx")))
            .collect();
        f.write_str(&items.join(","))
    }
}

/// One resolved `[healthcheck NAME]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    /// The lb (every member) or member worker it is about.
    pub target: String,
    /// Path and query requested.
    pub uri: String,
    /// Time between two checks of a member.
    pub interval: Duration,
    /// Time for the whole check (connect, CPING-less request, answer).
    pub timeout: Duration,
    /// Statuses that pass.
    pub expect_status: ExpectStatus,
    /// Text the body must contain.
    pub expect_body: Option<String>,
    /// Passes in a row that make a DOWN member UP.
    pub rise: u32,
    /// Failures in a row that make an UP member DOWN.
    pub fall: u32,
    /// Where the section starts.
    pub origin: Option<Origin>,
}

impl HealthCheck {
    /// The check of member `member` of lb `lb`: the member's own section, else the lb's.
    pub fn for_member<'a>(
        checks: &'a [HealthCheck],
        lb: &str,
        member: &str,
    ) -> Option<&'a HealthCheck> {
        checks
            .iter()
            .find(|c| c.target == member)
            .or_else(|| checks.iter().find(|c| c.target == lb))
    }
}

fn problem(origin: &Option<Origin>, setting: String, problem: String) -> ConfigError {
    ConfigError::Setting {
        origin: origin.clone(),
        setting,
        problem,
    }
}

/// Resolves the sections against the workers: NAME must be an lb or a member of one; every
/// value is checked, each error naming its line. Returns the checks in file order.
pub fn resolve_health_checks(
    sections: &[IniHealthCheck],
    workers: &WorkersConfig,
    errors: &mut Vec<ConfigError>,
) -> Vec<HealthCheck> {
    let mut checks = Vec::new();
    for section in sections {
        let name = format!("[healthcheck {}]", section.target);
        let is_lb = matches!(
            workers.get(&section.target).map(|w| &w.kind),
            Some(WorkerKind::Lb(_))
        );
        let is_member = workers.workers.iter().any(|w| match &w.kind {
            WorkerKind::Lb(lb) => lb.members.iter().any(|m| m.name == section.target),
            _ => false,
        });
        if !is_lb && !is_member {
            errors.push(problem(
                &section.origin,
                name.clone(),
                format!(
                    "`{}` is neither an lb worker of worker.list nor a member of one; health checks take members out of an lb's rotation",
                    section.target
                ),
            ));
            continue;
        }
        let mut check = HealthCheck {
            target: section.target.clone(),
            uri: String::new(),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            expect_status: ExpectStatus::default(),
            expect_body: None,
            rise: DEFAULT_RISE,
            fall: DEFAULT_FALL,
            origin: section.origin.clone(),
        };
        let before = errors.len();
        for line in &section.lines {
            let origin = Some(line.origin.clone());
            let setting = format!("{name} {}", line.key);
            let value = line.value.trim();
            match line.key.as_str() {
                "Uri" => {
                    if value.starts_with('/') && !value.contains(char::is_whitespace) {
                        check.uri = value.to_owned();
                    } else {
                        errors.push(problem(
                            &origin,
                            setting,
                            format!("`{value}` is not a path; write it from `/`, e.g. /app/health"),
                        ));
                    }
                }
                "Interval" => match parse_int(value) {
                    Some(n) if n > 0 && value.bytes().all(|b| b.is_ascii_digit()) => {
                        check.interval = Duration::from_secs(n as u64);
                    }
                    _ => errors.push(problem(
                        &origin,
                        setting,
                        format!("`{value}` is not a whole number of seconds above 0"),
                    )),
                },
                "Timeout" => match parse_timeout(value) {
                    Some(limit) => check.timeout = limit,
                    None => errors.push(problem(
                        &origin,
                        setting,
                        format!("`{value}` is not a timeout; write seconds (5) or milliseconds (500ms), above 0"),
                    )),
                },
                "ExpectStatus" => match ExpectStatus::parse(value) {
                    Some(expect) => check.expect_status = expect,
                    None => errors.push(problem(
                        &origin,
                        setting,
                        format!("`{value}` is not a status list; write codes or classes, e.g. 200,204 or 2xx,3xx"),
                    )),
                },
                "ExpectBody" => {
                    check.expect_body = (!value.is_empty()).then(|| value.to_owned());
                }
                "Rise" | "Fall" => match parse_int(value) {
                    Some(n) if (1..=100).contains(&n) && value.bytes().all(|b| b.is_ascii_digit()) => {
                        if line.key == "Rise" {
                            check.rise = n as u32;
                        } else {
                            check.fall = n as u32;
                        }
                    }
                    _ => errors.push(problem(
                        &origin,
                        setting,
                        format!("`{value}` is not a count from 1 to 100"),
                    )),
                },
                // parse_ini lets no other key through.
                _ => {}
            }
        }
        if check.uri.is_empty() && errors.len() == before {
            errors.push(problem(
                &section.origin,
                name.clone(),
                "a health check needs `Uri = /path` (the application URI to request)".to_owned(),
            ));
        }
        if check.timeout > check.interval && errors.len() == before {
            errors.push(problem(
                &section.origin,
                name,
                format!(
                    "Timeout {:?} is longer than Interval {:?}: checks would overlap",
                    check.timeout, check.interval
                ),
            ));
        }
        if errors.len() == before {
            checks.push(check);
        }
    }
    checks
}

/// `5` (seconds) or `500ms`, above zero.
fn parse_timeout(value: &str) -> Option<Duration> {
    let (digits, millis) = match value.strip_suffix("ms") {
        Some(digits) => (digits, true),
        None => (value, false),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let limit = if millis {
        Duration::from_millis(n)
    } else {
        Duration::from_secs(n)
    };
    (!limit.is_zero()).then_some(limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ini::parse_ini;

    fn workers() -> WorkersConfig {
        crate::config::read_workers_properties(
            b"worker.list=lb,solo\nworker.n1.type=ajp13\nworker.n1.port=8009\nworker.n2.type=ajp13\nworker.n2.port=8010\n\
              worker.lb.type=lb\nworker.lb.balance_workers=n1,n2\nworker.solo.type=ajp13\nworker.solo.port=8011\n",
            "w.properties",
            &|_| None,
        )
        .expect("valid workers")
        .config
    }

    fn resolve(ini: &str) -> (Vec<HealthCheck>, Vec<String>) {
        let ini = parse_ini(ini, "j.ini").expect("valid ini");
        let mut errors = Vec::new();
        let checks = resolve_health_checks(&ini.health_checks, &workers(), &mut errors);
        (checks, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn defaults_and_values() {
        let (checks, errors) = resolve(
            "[healthcheck lb]\nUri = /app/health\n[healthcheck n2]\nUri = /h?x=1\nInterval = 2\nTimeout = 500ms\nExpectStatus = 204, 3xx\nExpectBody = UP\nRise = 1\nFall = 5\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let lb = &checks[0];
        assert_eq!(
            (
                lb.interval,
                lb.timeout,
                lb.rise,
                lb.fall,
                lb.expect_status.to_string()
            ),
            (
                DEFAULT_INTERVAL,
                DEFAULT_TIMEOUT,
                2,
                3,
                "2xx,3xx".to_owned()
            )
        );
        let n2 = &checks[1];
        assert_eq!(n2.uri, "/h?x=1");
        assert_eq!(n2.timeout, Duration::from_millis(500));
        assert!(n2.expect_status.matches(204) && n2.expect_status.matches(302));
        assert!(!n2.expect_status.matches(200));
        assert_eq!(n2.expect_body.as_deref(), Some("UP"));
        assert_eq!((n2.rise, n2.fall), (1, 5));
        assert_eq!(
            HealthCheck::for_member(&checks, "lb", "n2").map(|c| c.uri.as_str()),
            Some("/h?x=1")
        );
        assert_eq!(
            HealthCheck::for_member(&checks, "lb", "n1").map(|c| c.uri.as_str()),
            Some("/app/health")
        );
        assert!(HealthCheck::for_member(&checks, "other", "x").is_none());
    }

    #[test]
    fn bad_values_name_their_line() {
        let cases = [
            (
                "[healthcheck solo]\nUri = /h\n",
                "j.ini:1: [healthcheck solo]: `solo` is neither",
            ),
            (
                "[healthcheck lb]\nUri = h\n",
                "j.ini:2: [healthcheck lb] Uri: `h` is not a path",
            ),
            (
                "[healthcheck lb]\nUri = /h\nInterval = 0\n",
                "j.ini:3: [healthcheck lb] Interval",
            ),
            (
                "[healthcheck lb]\nUri = /h\nTimeout = 0\n",
                "j.ini:3: [healthcheck lb] Timeout",
            ),
            (
                "[healthcheck lb]\nUri = /h\nExpectStatus = 2x\n",
                "j.ini:3: [healthcheck lb] ExpectStatus",
            ),
            (
                "[healthcheck lb]\nUri = /h\nFall = 0\n",
                "j.ini:3: [healthcheck lb] Fall",
            ),
            (
                "[healthcheck lb]\nFall = 2\n",
                "j.ini:1: [healthcheck lb]: a health check needs `Uri",
            ),
            (
                "[healthcheck lb]\nUri = /h\nInterval = 1\nTimeout = 2\n",
                "j.ini:1: [healthcheck lb]: Timeout 2s is longer",
            ),
        ];
        for (ini, expected) in cases {
            let (checks, errors) = resolve(ini);
            assert!(checks.is_empty(), "{ini}");
            assert_eq!(errors.len(), 1, "{ini}: {errors:?}");
            assert!(errors[0].starts_with(expected), "{ini}: {}", errors[0]);
        }
    }
}
