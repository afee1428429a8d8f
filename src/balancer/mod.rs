//! The lb worker: mod_jk's load balancing, sticky sessions, member states, recovery and
//! maintenance (mod_jk.md §3).
//!
//! The decision core ([`Balancer`]) is synchronous and sans-I/O: it reads time from a
//! [`Clock`], keeps its shared numbers under one small mutex per lb and its settings in
//! an arc-swapped [`Topology`]. The async [`service`] loop drives it against members
//! reached through the [`LbMember`] trait.

mod clock;
mod core;
mod error;
mod name;
mod service;
mod session;
mod settings;
mod state;

pub use self::clock::{Clock, ManualClock, SystemClock};
pub use self::core::{
    AttemptGuard, AttemptReport, Balancer, Choice, Decision, DryRun, LbStatus, MaintenanceReport,
    MemberBusy, MemberStatus, Progress, RequestFacts, RequestPlan, Step, Topology, Verdict,
    is_idempotent, lb_multipliers, replay_allowed,
};
pub use self::error::{BalancerConfigError, FailedAttempt, FailureKind, LbError, LbFailure};
pub use self::name::SharedName;
pub use self::service::{AttemptContext, LbMember, LbResponse, service, spawn_maintenance};
pub use self::session::{route_of_session, session_candidates, session_id_list};
pub use self::settings::{
    Activation, LbMethod, LbSettings, LockMode, MemberSettings, RecoveryOptions, ReplayPolicy,
    domain_of_route,
};
pub use self::state::{Health, MemberState};
