//! Client limits, with httpd's directive names and defaults: `RequestReadTimeout`
//! (mod_reqtimeout), `KeepAliveTimeout`, `LimitRequestLine`, `LimitRequestFieldSize`,
//! `LimitRequestFields`, `LimitRequestBody`, and jkgate's own `MaxConnections`.
//!
//! They live in the configuration layer because they are read from jkgate.ini like every
//! other setting; the server enforces them as the application hands them over (see
//! `server::limits`). A reload applies new values to connections accepted after it.

use std::time::Duration;

use super::error::{ConfigError, Origin};

/// httpd's `KeepAliveTimeout` default.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// httpd's `LimitRequestLine` default.
pub const DEFAULT_LIMIT_REQUEST_LINE: usize = 8190;
/// httpd's `LimitRequestFieldSize` default.
pub const DEFAULT_LIMIT_REQUEST_FIELD_SIZE: usize = 8190;
/// httpd's `LimitRequestFields` default.
pub const DEFAULT_LIMIT_REQUEST_FIELDS: usize = 100;
/// httpd's `LimitRequestBody` default since 2.4.54 (1 GiB).
pub const DEFAULT_LIMIT_REQUEST_BODY: u64 = 1 << 30;
/// jkgate's `MaxConnections` default: open client connections at once. An idle keep-alive
/// connection costs some kilobytes (see the README's performance notes), so this bounds the
/// memory idle clients can take; the process needs an open-file limit above it.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// httpd's largest `LimitRequestLine` / `LimitRequestFieldSize` is not bounded; jkgate keeps
/// the whole request head in one buffer, so each is capped here (1 MiB).
const MAX_FIELD_OR_LINE: usize = 1 << 20;
/// Upper bound of `LimitRequestFields` (httpd: unbounded; 0 there means unlimited).
const MAX_FIELDS: usize = 10_000;

/// One phase of `RequestReadTimeout`: `timeout[-maxtimeout][,MinRate=rate]`.
///
/// The phase may take `initial`; every `min_rate` bytes received add one second, up to
/// `max` after the phase started (no bound when `max` is `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateTimeout {
    /// Time allowed before any extension.
    pub initial: Duration,
    /// Total time the extensions may reach (`timeout-maxtimeout`).
    pub max: Option<Duration>,
    /// Bytes per second that earn one more second each (`MinRate=`).
    pub min_rate: Option<u32>,
}

impl RateTimeout {
    /// How much later the deadline moves for `bytes` received.
    pub fn extension(&self, bytes: usize) -> Duration {
        match self.min_rate {
            Some(rate) => Duration::from_secs_f64(bytes as f64 / f64::from(rate)),
            None => Duration::ZERO,
        }
    }
}

/// `RequestReadTimeout`: how long a client may take to send the request head and the
/// request body. `None` turns a phase off (`header=0`, `body=0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestReadTimeout {
    /// `header=`: from the connection's start (or the first byte after an idle keep-alive
    /// wait) until the request head is complete. Includes the TLS handshake.
    pub header: Option<RateTimeout>,
    /// `body=`: from the request head until the request body is complete.
    pub body: Option<RateTimeout>,
}

impl Default for RequestReadTimeout {
    /// mod_reqtimeout's default: `header=20-40,MinRate=500 body=20,MinRate=500`.
    fn default() -> Self {
        RequestReadTimeout {
            header: Some(RateTimeout {
                initial: Duration::from_secs(20),
                max: Some(Duration::from_secs(40)),
                min_rate: Some(500),
            }),
            body: Some(RateTimeout {
                initial: Duration::from_secs(20),
                max: None,
                min_rate: Some(500),
            }),
        }
    }
}

/// Every client limit, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// `RequestReadTimeout`.
    pub read_timeout: RequestReadTimeout,
    /// `KeepAliveTimeout`: how long an idle connection waits for its next request; zero
    /// turns keep-alive off (one request per connection).
    pub keep_alive_timeout: Duration,
    /// `LimitRequestLine`: bytes of the request line (method, target, protocol).
    pub request_line: usize,
    /// `LimitRequestFieldSize`: bytes of one header line (`Name: value`).
    pub field_size: usize,
    /// `LimitRequestFields`: header lines per request.
    pub fields: usize,
    /// `LimitRequestBody`: request body bytes (`None`: unlimited, httpd's `0`).
    pub body: Option<u64>,
    /// `MaxConnections`: open client connections; beyond it jkgate stops accepting and new
    /// clients wait in the listen backlog.
    pub max_connections: usize,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            read_timeout: RequestReadTimeout::default(),
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            request_line: DEFAULT_LIMIT_REQUEST_LINE,
            field_size: DEFAULT_LIMIT_REQUEST_FIELD_SIZE,
            fields: DEFAULT_LIMIT_REQUEST_FIELDS,
            body: Some(DEFAULT_LIMIT_REQUEST_BODY),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ClientLimits {
    /// The largest request head these limits allow: the request line and every header line
    /// at their limits, with their CRLFs and the blank line.
    pub fn max_head_bytes(&self) -> usize {
        self.request_line
            .saturating_add(2)
            .saturating_add(
                self.fields
                    .saturating_mul(self.field_size.saturating_add(2)),
            )
            .saturating_add(2)
    }
}

fn invalid(origin: &Option<Origin>, setting: &str, problem: String) -> ConfigError {
    ConfigError::Setting {
        origin: origin.clone(),
        setting: setting.to_owned(),
        problem,
    }
}

/// Parses `RequestReadTimeout`: space-separated `header=...` and `body=...` items, each
/// `timeout[-maxtimeout][,MinRate=rate]` in seconds (`0` turns the phase off). A phase not
/// named keeps mod_reqtimeout's default.
pub fn parse_request_read_timeout(
    value: &str,
    origin: &Option<Origin>,
) -> Result<RequestReadTimeout, ConfigError> {
    const NAME: &str = "RequestReadTimeout";
    const VALID: &str = "valid: `header=T[-MAX][,MinRate=R]` and/or `body=T[-MAX][,MinRate=R]` \
                         with whole seconds T < MAX and bytes per second R > 0, e.g. \
                         `header=20-40,MinRate=500 body=20,MinRate=500`; T = 0 turns a phase off";
    let mut result = RequestReadTimeout::default();
    let mut seen = Vec::new();
    let items: Vec<&str> = value.split_whitespace().collect();
    if items.is_empty() {
        return Err(invalid(origin, NAME, format!("empty value; {VALID}")));
    }
    for item in items {
        let bad = || invalid(origin, NAME, format!("`{item}` is not understood; {VALID}"));
        let (phase, spec) = item.split_once('=').ok_or_else(bad)?;
        let phase = phase.to_ascii_lowercase();
        if phase != "header" && phase != "body" {
            return Err(invalid(
                origin,
                NAME,
                format!(
                    "`{item}`: jkgate knows the phases header and body (the TLS handshake counts \
                     towards header=); {VALID}"
                ),
            ));
        }
        if seen.contains(&phase) {
            return Err(invalid(origin, NAME, format!("`{phase}=` given twice")));
        }
        let (times, rate) = match spec.split_once(',') {
            Some((times, rate)) => (times, Some(rate)),
            None => (spec, None),
        };
        let seconds = |text: &str| -> Result<u64, ConfigError> {
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            text.parse::<u64>().map_err(|_| bad())
        };
        let (initial, max) = match times.split_once('-') {
            Some((initial, max)) => (seconds(initial)?, Some(seconds(max)?)),
            None => (seconds(times)?, None),
        };
        let min_rate = match rate {
            None => None,
            Some(rate) => {
                let (key, number) = rate.split_once('=').ok_or_else(bad)?;
                if !key.eq_ignore_ascii_case("minrate") {
                    return Err(bad());
                }
                match number.parse::<u32>() {
                    Ok(n) if n > 0 => Some(n),
                    _ => return Err(bad()),
                }
            }
        };
        if let Some(max) = max
            && max <= initial
        {
            return Err(invalid(
                origin,
                NAME,
                format!("`{item}`: the maximum must be larger than the timeout; {VALID}"),
            ));
        }
        if max.is_some() && min_rate.is_none() {
            return Err(invalid(
                origin,
                NAME,
                format!("`{item}`: a maximum needs MinRate= (it bounds the extension); {VALID}"),
            ));
        }
        let parsed = (initial > 0).then(|| RateTimeout {
            initial: Duration::from_secs(initial),
            max: max.map(Duration::from_secs),
            min_rate,
        });
        if phase == "header" {
            result.header = parsed;
        } else {
            result.body = parsed;
        }
        seen.push(phase);
    }
    Ok(result)
}

/// Parses `KeepAliveTimeout`: whole seconds, or milliseconds with `ms` as httpd allows
/// (`5`, `300ms`); `0` turns keep-alive off.
pub fn parse_keep_alive_timeout(
    value: &str,
    origin: &Option<Origin>,
) -> Result<Duration, ConfigError> {
    let text = value.trim();
    let (digits, millis) = match text.strip_suffix("ms") {
        Some(digits) => (digits, true),
        None => (text, false),
    };
    match digits.parse::<u64>() {
        Ok(n) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(if millis {
                Duration::from_millis(n)
            } else {
                Duration::from_secs(n)
            })
        }
        _ => Err(invalid(
            origin,
            "KeepAliveTimeout",
            format!(
                "`{value}` is not a time; valid: whole seconds (5) or milliseconds (300ms); 0 turns keep-alive off"
            ),
        )),
    }
}

/// Parses a whole number within `range` for `setting` (the LimitRequest* sizes and counts,
/// `MaxConnections`).
pub fn parse_count(
    setting: &str,
    value: &str,
    range: std::ops::RangeInclusive<u64>,
    origin: &Option<Origin>,
) -> Result<u64, ConfigError> {
    let text = value.trim();
    match text.parse::<u64>() {
        Ok(n) if text.bytes().all(|b| b.is_ascii_digit()) && range.contains(&n) => Ok(n),
        _ => Err(invalid(
            origin,
            setting,
            format!(
                "`{value}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

/// The top-level jkgate.ini values of the limits, as written (`None`: not set).
#[derive(Clone, Copy, Debug, Default)]
pub struct LimitValues<'a> {
    /// `RequestReadTimeout`.
    pub request_read_timeout: Option<&'a str>,
    /// `KeepAliveTimeout`.
    pub keep_alive_timeout: Option<&'a str>,
    /// `LimitRequestLine`.
    pub request_line: Option<&'a str>,
    /// `LimitRequestFieldSize`.
    pub field_size: Option<&'a str>,
    /// `LimitRequestFields`.
    pub fields: Option<&'a str>,
    /// `LimitRequestBody`.
    pub body: Option<&'a str>,
    /// `MaxConnections`.
    pub max_connections: Option<&'a str>,
}

/// Resolves the limits: every value given is checked, every other one keeps httpd's
/// default. `origin` says where a key was written (file and line) for the error message.
pub fn resolve_limits(
    values: &LimitValues<'_>,
    origin: impl Fn(&str) -> Option<Origin>,
    errors: &mut Vec<ConfigError>,
) -> ClientLimits {
    let mut limits = ClientLimits::default();
    let mut check = |result: Result<(), ConfigError>| {
        if let Err(e) = result {
            errors.push(e);
        }
    };
    if let Some(value) = values.request_read_timeout {
        check(
            parse_request_read_timeout(value, &origin("RequestReadTimeout"))
                .map(|v| limits.read_timeout = v),
        );
    }
    if let Some(value) = values.keep_alive_timeout {
        check(
            parse_keep_alive_timeout(value, &origin("KeepAliveTimeout"))
                .map(|v| limits.keep_alive_timeout = v),
        );
    }
    let sizes = 1..=MAX_FIELD_OR_LINE as u64;
    if let Some(value) = values.request_line {
        check(
            parse_count(
                "LimitRequestLine",
                value,
                sizes.clone(),
                &origin("LimitRequestLine"),
            )
            .map(|v| limits.request_line = v as usize),
        );
    }
    if let Some(value) = values.field_size {
        check(
            parse_count(
                "LimitRequestFieldSize",
                value,
                sizes,
                &origin("LimitRequestFieldSize"),
            )
            .map(|v| limits.field_size = v as usize),
        );
    }
    if let Some(value) = values.fields {
        check(
            parse_count(
                "LimitRequestFields",
                value,
                1..=MAX_FIELDS as u64,
                &origin("LimitRequestFields"),
            )
            .map(|v| limits.fields = v as usize),
        );
    }
    if let Some(value) = values.body {
        check(
            parse_count(
                "LimitRequestBody",
                value,
                0..=u64::MAX,
                &origin("LimitRequestBody"),
            )
            .map(|v| limits.body = (v > 0).then_some(v)),
        );
    }
    if let Some(value) = values.max_connections {
        check(
            parse_count(
                "MaxConnections",
                value,
                1..=10_000_000,
                &origin("MaxConnections"),
            )
            .map(|v| limits.max_connections = v as usize),
        );
    }
    limits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Option<Origin> {
        Some(Origin::new("jkgate.ini", 7))
    }

    #[test]
    fn request_read_timeout_forms() {
        let parsed =
            parse_request_read_timeout("header=10-30,MinRate=500 body=0", &None).expect("valid");
        assert_eq!(
            parsed.header,
            Some(RateTimeout {
                initial: Duration::from_secs(10),
                max: Some(Duration::from_secs(30)),
                min_rate: Some(500)
            })
        );
        assert_eq!(parsed.body, None);
        let only_header = parse_request_read_timeout("header=5", &None).expect("valid");
        assert_eq!(only_header.body, RequestReadTimeout::default().body);
        assert_eq!(
            only_header.header.map(|h| (h.initial, h.max, h.min_rate)),
            Some((Duration::from_secs(5), None, None))
        );
        for bad in [
            "",
            "header",
            "handshake=5",
            "header=x",
            "header=10-5,MinRate=1",
            "header=10-20",
            "header=10,MinRate=0",
            "header=10,Rate=5",
            "header=1 header=2",
        ] {
            let err = parse_request_read_timeout(bad, &at()).expect_err(bad);
            let text = err.to_string();
            assert!(
                text.starts_with("jkgate.ini:7: RequestReadTimeout: "),
                "{bad}: {text}"
            );
        }
    }

    #[test]
    fn rate_extension() {
        let spec = RequestReadTimeout::default().header.unwrap();
        assert_eq!(spec.extension(500), Duration::from_secs(1));
        assert_eq!(spec.extension(250), Duration::from_millis(500));
    }

    #[test]
    fn keep_alive_forms() {
        assert_eq!(
            parse_keep_alive_timeout("15", &None).unwrap(),
            Duration::from_secs(15)
        );
        assert_eq!(
            parse_keep_alive_timeout("300ms", &None).unwrap(),
            Duration::from_millis(300)
        );
        assert!(parse_keep_alive_timeout("5s", &None).is_err());
        assert!(parse_keep_alive_timeout("-1", &None).is_err());
    }

    #[test]
    fn resolve_keeps_defaults_and_reports_each_error() {
        let mut errors = Vec::new();
        let values = LimitValues {
            fields: Some("0"),
            body: Some("0"),
            max_connections: Some("many"),
            field_size: Some("4096"),
            ..LimitValues::default()
        };
        let limits = resolve_limits(&values, |_| at(), &mut errors);
        assert_eq!(limits.body, None, "0 is unlimited, as in httpd");
        assert_eq!(limits.field_size, 4096);
        assert_eq!(limits.fields, DEFAULT_LIMIT_REQUEST_FIELDS);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].to_string().contains("LimitRequestFields"));
        assert!(errors[1].to_string().contains("from 1 to 10000000"));
        assert_eq!(
            ClientLimits::default().max_head_bytes(),
            8192 + 100 * 8192 + 2
        );
    }
}
