//! How mod_jk interprets property values: integers with `k`/`M` suffixes, booleans,
//! lists, one-letter enums.
//!
//! Integers follow mod_jk 1.2.49+ (`strtol`): leading digits (optionally signed) are the
//! number, a `k`/`K` (×1024) or `m`/`M` (×1048576) directly after them multiplies, anything
//! after that is ignored; no digits or overflow gives `None` (the directive's default).
//! mod_jk 1.2.48 (the Debian oracle) instead did `atoi(value) * mult` with the multiplier
//! taken from the **last** character and 0 for non-numeric values: [`parse_int_1_2_48`]
//! reproduces that for the differential tests and for warnings when the two disagree.

/// Parses an integer as mod_jk 1.2.49+ does; `None` means "use the directive's default".
pub fn parse_int(value: &str) -> Option<i64> {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() && is_c_space(bytes[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        negative = bytes[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut number: i64 = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        number = number
            .checked_mul(10)?
            .checked_add(i64::from(bytes[i] - b'0'))?;
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    if negative {
        number = -number;
    }
    let multiplier = match bytes.get(i) {
        Some(b'k' | b'K') => 1024,
        Some(b'm' | b'M') => 1024 * 1024,
        _ => 1,
    };
    let result = number.checked_mul(multiplier)?;
    // mod_jk stores the result in a C int.
    if result > i64::from(i32::MAX) || result < i64::from(i32::MIN) {
        return None;
    }
    Some(result)
}

/// Parses an integer exactly as mod_jk 1.2.48 did: the multiplier comes from the last
/// character (`k`/`K`, `m`/`M`), the rest goes through C `atoi` (non-numeric → 0), and the
/// product wraps like a C `int`.
pub fn parse_int_1_2_48(value: &str) -> i64 {
    let (body, multiplier) = match value.as_bytes().last() {
        Some(b'm' | b'M') => (&value[..value.len() - 1], 1024 * 1024),
        Some(b'k' | b'K') => (&value[..value.len() - 1], 1024),
        _ => (value, 1),
    };
    let atoi = c_atoi(body);
    i64::from(atoi.wrapping_mul(multiplier))
}

/// C `atoi` on a glibc system: leading whitespace, optional sign, digits; wraps on overflow
/// the way glibc's `strtol` result truncated to `int` does for moderate values.
pub fn c_atoi(value: &str) -> i32 {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() && is_c_space(bytes[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        negative = bytes[i] == b'-';
        i += 1;
    }
    let mut number: i64 = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        number = number
            .saturating_mul(10)
            .saturating_add(i64::from(bytes[i] - b'0'));
        i += 1;
    }
    if negative {
        number = -number;
    }
    // glibc strtol clamps to LONG_MIN/LONG_MAX, then the cast to int truncates.
    number as i32
}

/// C `isspace` in the "C" locale: space, `\t`, `\n`, `\v`, `\f`, `\r`.
pub fn is_c_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Trims C whitespace on both sides.
pub fn trim_c_space(value: &str) -> &str {
    value.trim_matches(|c: char| c.is_ascii() && is_c_space(c as u8))
}

/// mod_jk's boolean: `Some(false)` for `off` (any case), exactly `0`, or a value starting
/// with `f F n N`; `Some(true)` for `on` (any case), exactly `1`, or starting with
/// `t T y Y`; `None` for anything else (the directive's default applies).
pub fn parse_bool(value: &str) -> Option<bool> {
    let first = value.as_bytes().first().copied();
    if value.eq_ignore_ascii_case("off")
        || value == "0"
        || matches!(first, Some(b'f' | b'F' | b'n' | b'N'))
    {
        Some(false)
    } else if value.eq_ignore_ascii_case("on")
        || value == "1"
        || matches!(first, Some(b't' | b'T' | b'y' | b'Y'))
    {
        Some(true)
    } else {
        None
    }
}

/// Splits a list value on space, tab and comma, dropping empty items (duplicates kept).
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split([' ', '\t', ','])
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `fail_on_status` style integer list: list items through C `atoi` (junk → 0).
pub fn parse_int_list(value: &str) -> Vec<i32> {
    split_list(value).iter().map(|item| c_atoi(item)).collect()
}

/// What the boolean spellings are, for messages.
pub const VALID_BOOLEANS: &str =
    "true/false, on/off, yes/no, 1/0 (mod_jk looks at the first letter: t/y = true, f/n = false)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_integer_rules() {
        assert_eq!(parse_int("8k"), Some(8192));
        assert_eq!(parse_int("2M"), Some(2 * 1024 * 1024));
        assert_eq!(parse_int("8 k"), Some(8));
        assert_eq!(parse_int("12abc"), Some(12));
        assert_eq!(parse_int("-5"), Some(-5));
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int(""), None);
        assert_eq!(parse_int("99999999999"), None);
        assert_eq!(parse_int("4096M"), None);
    }

    #[test]
    fn old_integer_rules() {
        assert_eq!(parse_int_1_2_48("8k"), 8192);
        assert_eq!(parse_int_1_2_48("8 k"), 8192);
        assert_eq!(parse_int_1_2_48("abc"), 0);
        assert_eq!(parse_int_1_2_48("60*30"), 60);
    }

    #[test]
    fn booleans() {
        for yes in ["true", "True", "on", "ON", "1", "yes", "y", "tomorrow"] {
            assert_eq!(parse_bool(yes), Some(true), "{yes}");
        }
        for no in ["false", "off", "Off", "0", "no", "N", "nope"] {
            assert_eq!(parse_bool(no), Some(false), "{no}");
        }
        for neither in ["2", "10", "enable", "", "onx", "00"] {
            assert_eq!(parse_bool(neither), None, "{neither}");
        }
    }

    #[test]
    fn lists() {
        assert_eq!(split_list(" a,b\tc,, d "), vec!["a", "b", "c", "d"]);
        assert_eq!(parse_int_list("500, -503 x"), vec![500, -503, 0]);
    }
}
