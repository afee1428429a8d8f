//! Good / degraded / bad rating of lb members (mod_jk.md §5.6).
//!
//! A member's activation selects one byte of a 32-bit mask (active, disabled, stopped),
//! its state one bit in each byte (ok, idle, busy, recovering, error). A rule is one
//! letter, or two letters joined by `.` meaning both; a worker's `good` and `bad` lists
//! OR their rules. A member matching `bad` is bad, else matching `good` is good, else
//! degraded.

use crate::balancer::{Activation, MemberState};

const ACTIVE: u32 = 0x0000_00FF;
const DISABLED: u32 = 0x0000_FF00;
const STOPPED: u32 = 0x00FF_0000;
const OK: u32 = 0x0001_0101;
const IDLE: u32 = 0x0002_0202;
const BUSY: u32 = 0x0004_0404;
const RECOVER: u32 = 0x0008_0808;
const ERROR: u32 = 0x0010_1010;

/// How a member counts in the lb summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rating {
    /// Matches a `good` rule and no `bad` rule.
    Good,
    /// Matches neither.
    Degraded,
    /// Matches a `bad` rule.
    Bad,
}

/// The compiled `good` and `bad` rule lists of a status worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    good: u32,
    bad: u32,
}

impl Rules {
    /// Compiles the rule lists (an empty list means mod_jk's default for it).
    pub fn new(good: &[String], bad: &[String]) -> Rules {
        let compile = |rules: &[String], default: u32| {
            if rules.is_empty() {
                default
            } else {
                rules.iter().fold(0, |mask, rule| mask | rule_mask(rule))
            }
        };
        Rules {
            good: compile(good, 0x0000_000F),
            bad: compile(bad, 0x00FF_1010),
        }
    }

    /// Rates a member.
    pub fn rate(&self, activation: Activation, state: MemberState) -> Rating {
        let by_activation = match activation {
            Activation::Active => ACTIVE,
            Activation::Disabled => DISABLED,
            Activation::Stopped => STOPPED,
        };
        let by_state = match state {
            MemberState::Idle => IDLE,
            MemberState::Ok => OK,
            MemberState::Busy => BUSY,
            MemberState::Error => ERROR,
            MemberState::Recovering | MemberState::ForcedRecovery | MemberState::Probing => RECOVER,
        };
        let mask = by_activation & by_state;
        if mask & self.bad != 0 {
            Rating::Bad
        } else if mask & self.good != 0 {
            Rating::Good
        } else {
            Rating::Degraded
        }
    }
}

fn letter_mask(letter: Option<u8>) -> u32 {
    match letter.map(|b| b.to_ascii_lowercase()) {
        Some(b'a') => ACTIVE,
        Some(b'd') => DISABLED,
        Some(b's') => STOPPED,
        Some(b'o') => OK,
        Some(b'i' | b'n') => IDLE,
        Some(b'b') => BUSY,
        Some(b'r') => RECOVER,
        Some(b'e') => ERROR,
        _ => 0,
    }
}

/// One rule as mod_jk reads it: leading blanks and dots skipped, the first letter, then
/// (after the next `.`) the letter that follows, ANDed.
fn rule_mask(rule: &str) -> u32 {
    let bytes = rule.as_bytes();
    let mut at = 0;
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'.') {
        at += 1;
    }
    let mut mask = letter_mask(bytes.get(at).copied());
    while at < bytes.len() && bytes[at] != b'.' {
        at += 1;
    }
    if at < bytes.len() {
        at += 1;
    }
    if at < bytes.len() {
        mask &= letter_mask(Some(bytes[at]));
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn defaults_match_mod_jk() {
        let rules = Rules::new(&list(&["a.o", "a.i", "a.b", "a.r"]), &list(&["e", "s"]));
        assert_eq!(rules, Rules::new(&[], &[]));
        use Activation::*;
        use MemberState::*;
        assert_eq!(rules.rate(Active, Ok), Rating::Good);
        assert_eq!(rules.rate(Active, Idle), Rating::Good);
        assert_eq!(rules.rate(Active, Recovering), Rating::Good);
        assert_eq!(rules.rate(Disabled, Ok), Rating::Degraded);
        assert_eq!(rules.rate(Stopped, Ok), Rating::Bad);
        assert_eq!(rules.rate(Active, Error), Rating::Bad);
        assert_eq!(rules.rate(Disabled, Error), Rating::Bad);
    }

    #[test]
    fn custom_rules() {
        let rules = Rules::new(&list(&["d"]), &list(&["a.e"]));
        assert_eq!(
            rules.rate(Activation::Disabled, MemberState::Error),
            Rating::Good
        );
        assert_eq!(
            rules.rate(Activation::Active, MemberState::Error),
            Rating::Bad
        );
        assert_eq!(
            rules.rate(Activation::Active, MemberState::Ok),
            Rating::Degraded
        );
        assert_eq!(rule_mask("x"), 0);
        assert_eq!(rule_mask(""), 0);
    }
}
