//! The composition root: the one place where resolved settings become a running jkgate.
//!
//! * [`assemble`] turns a [`RunSettings`] into a [`Gateway`] (workers, status workers,
//!   mapping options, TLS acceptor), keeping what runs unchanged from a previous one.
//! * [`Jkgate`] is a running instance: the current gateway and the listeners. It starts
//!   from settings and reloads from its [`SettingsSource`]; `run`, `demo`, the tests and
//!   the fuzz targets all start jkgate through it or through [`assemble`].
//! * [`lifecycle`] is what a process does with it: signals (HUP reload, USR1 reopen logs,
//!   TERM/INT stop), systemd notifications, exit codes; [`logging`] the error and access
//!   logs; [`notify`] sd_notify; [`check`] `jkgate check`; [`import`] `jkgate import-httpd`;
//!   [`ajp_tool`] the `jkgate ajp` toolkit (request, ping, probe, fuzz, replay a live container).
//!
//! [`RunSettings`]: crate::config::RunSettings
//! [`Gateway`]: crate::server::Gateway

pub mod ajp_tool;
mod assemble;
pub mod check;
pub mod fuzzing;
mod health_checks;
pub mod import;
mod instance;
pub mod lifecycle;
pub mod logging;
mod mount_file;
pub mod notify;
pub mod route_query;
pub mod state;

pub use assemble::{AssembleError, PreparedGateway, assemble, assemble_with_edits};
pub use instance::{BindError, Jkgate, ReloadError, SettingsSource, StartError};
