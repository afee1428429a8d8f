//! Configuration: mod_jk's `workers.properties` and `uriworkermap.properties`, read exactly
//! as mod_jk reads them, and jkgate's own `jkgate.ini`.
//!
//! * [`properties`]: the line lexer and property map (comments, `$(var)`, duplicates,
//!   `reference`), shared by both mod_jk files.
//! * [`workers`]: the typed, resolved worker settings ([`WorkersConfig`]).
//! * [`uriworkermap`]: mount rules and the [`MountTable`] the relay matches requests with.

pub mod access;
pub mod describe;
pub mod error;
pub mod fuzzing;
pub mod health;
pub mod htpasswd;
pub mod httpd;
pub mod ini;
pub mod iprange;
pub mod limits;
pub mod properties;
pub mod reader;
pub mod remoteip;
pub mod settings;
pub mod state;
pub mod uriworkermap;
pub mod value;
pub mod vhost;
pub mod workers;

pub use error::{ConfigError, ConfigWarning, Origin};
pub use reader::{
    WorkersFile, load_workers_properties, load_workers_properties_seeded, read_workers_properties,
    read_workers_properties_seeded,
};
pub use settings::{
    Listener, MetricsSettings, RunSettings, Sources, StoreUrl, TlsSettings, parse_listen,
    parse_store_url, resolve_settings,
};
pub use uriworkermap::{
    MatchKind, Mount, MountExtensions, MountSource, MountTable, NormalizeError, normalize_path,
};
pub use workers::{
    Activation, AjpSettings, FailOnStatus, LbLock, LbMember, LbMethod, LbSettings, LbWorker,
    MemberSettings, PingMode, RecoveryOptions, StatusFailure, StatusSettings, Worker, WorkerKind,
    WorkerType, WorkersConfig,
};
