//! Wall-clock times as the status worker prints them, and the reset times it keeps.
//!
//! mod_jk passes `localtime()` to `strftime`, so times are in the server's local zone
//! (`TZ`, else `/etc/localtime`) with the offset in force at that instant. jiff reads the
//! zone itself: libc's `localtime` would need `unsafe`, and the `time` crate refuses
//! local offsets once the process has more than one thread.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// Seconds since the Unix epoch of `time` (0 before the epoch).
pub fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// mod_jk's `JK_STATUS_TIME_FMT_TEXT` (txt, prop and XML).
const TEXT: &str = "%Y%m%d%H%M%S";
/// mod_jk's `JK_STATUS_TIME_FMT_HTML`.
const HTML: &str = "%Y-%m-%d %H:%M:%S %z";
/// mod_jk's `JK_STATUS_TIME_FMT_TZ`, printed next to text times.
const TZ: &str = "%z";

/// `%Y%m%d%H%M%S` in local time (text formats).
pub fn text_time(secs: u64) -> String {
    format(secs, &TimeZone::system(), TEXT)
}

/// `%Y-%m-%d %H:%M:%S %z` in local time (HTML).
pub fn html_time(secs: u64) -> String {
    format(secs, &TimeZone::system(), HTML)
}

/// The local zone's offset at `secs`, `%z` (`+0100`).
pub fn tz(secs: u64) -> String {
    format(secs, &TimeZone::system(), TZ)
}

fn format(secs: u64, zone: &TimeZone, pattern: &str) -> String {
    // Beyond jiff's range (year 9999) only for a clock gone wild: print the last second.
    let at = i64::try_from(secs)
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .unwrap_or(Timestamp::MAX);
    // The patterns are fixed and valid for a zoned time, so formatting cannot fail.
    at.to_zoned(zone.clone()).strftime(pattern).to_string()
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
    fn formats_in_utc() {
        let utc = TimeZone::UTC;
        assert_eq!(format(0, &utc, TEXT), "19700101000000");
        assert_eq!(format(1_796_398_766, &utc, TEXT), "20261204153926");
        assert_eq!(format(951_782_400, &utc, HTML), "2000-02-29 00:00:00 +0000");
        assert_eq!(format(4_102_444_799, &utc, TEXT), "20991231235959");
        assert_eq!(format(0, &utc, TZ), "+0000");
    }

    #[test]
    fn formats_in_a_zone_with_its_offset_at_that_instant() {
        let paris = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("valid POSIX TZ");
        // 2026-12-04 15:39:26 UTC, winter; 2026-07-01 12:00:00 UTC, summer.
        assert_eq!(format(1_796_398_766, &paris, TEXT), "20261204163926");
        assert_eq!(format(1_796_398_766, &paris, TZ), "+0100");
        assert_eq!(
            format(1_782_907_200, &paris, HTML),
            "2026-07-01 14:00:00 +0200"
        );
        let kolkata = TimeZone::fixed(jiff::tz::Offset::from_seconds(19_800).expect("+05:30"));
        assert_eq!(format(0, &kolkata, HTML), "1970-01-01 05:30:00 +0530");
    }

    #[test]
    fn far_future_times_stay_printable() {
        assert_eq!(format(u64::MAX, &TimeZone::UTC, TEXT).len(), 14);
    }
}
