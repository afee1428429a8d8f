//! Runtime states of lb members, with mod_jk's names (mod_jk §3.3).

use std::fmt;

use super::settings::Activation;

/// Runtime state of one lb member, in mod_jk's numeric order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberState {
    /// Not elected since the previous maintenance (initial state): `OK/IDLE`.
    Idle,
    /// Worked recently: `OK`.
    Ok,
    /// Rested `recover_time` after an error; the next suitable request tries it: `ERR/REC`.
    Recovering,
    /// Every member was in error, so this one is used anyway: `ERR/FRC`.
    ForcedRecovery,
    /// No free connection slot or `busy_limit` reached: `OK/BUSY`.
    Busy,
    /// Global error; not used except by forced recovery: `ERR`.
    Error,
    /// A request is probing this recovering member right now: `ERR/PRB`.
    Probing,
}

impl MemberState {
    /// The name mod_jk's status worker prints.
    pub fn status_name(self) -> &'static str {
        match self {
            MemberState::Idle => "OK/IDLE",
            MemberState::Ok => "OK",
            MemberState::Recovering => "ERR/REC",
            MemberState::ForcedRecovery => "ERR/FRC",
            MemberState::Busy => "OK/BUSY",
            MemberState::Error => "ERR",
            MemberState::Probing => "ERR/PRB",
        }
    }

    /// mod_jk's numeric code.
    pub fn code(self) -> u8 {
        match self {
            MemberState::Idle => 0,
            MemberState::Ok => 1,
            MemberState::Recovering => 2,
            MemberState::ForcedRecovery => 3,
            MemberState::Busy => 4,
            MemberState::Error => 5,
            MemberState::Probing => 6,
        }
    }

    /// States in which a member may be chosen at all (OK/IDLE, OK, ERR/REC, ERR/FRC).
    pub fn is_selectable(self) -> bool {
        matches!(
            self,
            MemberState::Idle
                | MemberState::Ok
                | MemberState::Recovering
                | MemberState::ForcedRecovery
        )
    }

    /// mod_jk's "usable" predicate for normal balancing: selectable and active.
    pub fn usable(self, activation: Activation) -> bool {
        self.is_selectable() && activation == Activation::Active
    }

    /// mod_jk's "usable-sticky" predicate for session routing and redirect targets:
    /// selectable and not stopped (disabled is allowed).
    pub fn usable_sticky(self, activation: Activation) -> bool {
        self.is_selectable() && activation != Activation::Stopped
    }
}

/// What jkgate's application health check (jkgate.ini `[healthcheck NAME]`) last concluded
/// about a member. It is kept apart from the mod_jk [`MemberState`], which traffic drives:
/// a member whose check says [`Health::Down`] takes no request at all, neither balanced nor
/// sticky (as if it were in ERR, and also under forced recovery), whatever its activation;
/// its mod_jk state and counters go on as they are. When the check passes again it takes
/// requests as its activation and state allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Health {
    /// No health check is configured for the member.
    #[default]
    Unchecked,
    /// The check passes (or has not failed `Fall` times in a row since it started).
    Up,
    /// The check failed `Fall` times in a row and has not passed `Rise` times since.
    Down,
}

impl Health {
    /// The name the status worker prints: `N/A`, `UP`, `DOWN`.
    pub fn status_name(self) -> &'static str {
        match self {
            Health::Unchecked => "N/A",
            Health::Up => "UP",
            Health::Down => "DOWN",
        }
    }

    /// Whether the member may take requests as far as its application is concerned.
    pub fn allows_traffic(self) -> bool {
        self != Health::Down
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status_name())
    }
}

impl fmt::Display for MemberState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.status_name())
    }
}
