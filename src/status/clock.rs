//! Wall-clock times as the status worker prints them, and the reset times it keeps.
//!
//! mod_jk formats with the server's local time zone; jkgate always prints UTC (zone
//! `+0000`), so no time zone database is needed.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch of `time` (0 before the epoch).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The time zone string printed next to every time.
pub const TZ: &str = "+0000";

/// `(year, month, day, hour, minute, second)` in UTC for Unix seconds `secs`.
pub fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        month,
        day,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `%Y%m%d%H%M%S` (text formats).
pub fn text_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
}

/// `%Y-%m-%d %H:%M:%S %z` (HTML).
pub fn html_time(secs: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} {TZ}")
}

/// When the counters of each worker (`lb`, `lb/member`, `ajp`) were last reset; before
/// any reset, the time the status workers were created (server start).
#[derive(Debug)]
pub struct ResetTimes {
    started: u64,
    resets: Mutex<HashMap<String, u64>>,
}

impl ResetTimes {
    /// Reset times that all start now.
    pub fn new(now: SystemTime) -> Self {
        ResetTimes {
            started: unix_seconds(now),
            resets: Mutex::new(HashMap::new()),
        }
    }

    /// Unix seconds of the last reset of `key`.
    pub fn get(&self, key: &str) -> u64 {
        self.resets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .copied()
            .unwrap_or(self.started)
    }

    /// Records a reset of `key` at `at` (Unix seconds).
    pub fn set(&self, key: String, at: u64) {
        self.resets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, at);
    }
}

/// The reset-time key of member `member` of lb `lb`.
pub fn member_key(lb: &str, member: &str) -> String {
    format!("{lb}/{member}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(text_time(0), "19700101000000");
        assert_eq!(text_time(1_796_398_766), "20261204153926");
        assert_eq!(html_time(951_782_400), "2000-02-29 00:00:00 +0000");
        assert_eq!(text_time(4_102_444_799), "20991231235959");
    }
}
