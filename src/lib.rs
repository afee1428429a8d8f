//! jkgate: a drop-in replacement for Apache mod_jk, and a reusable AJP13 codec.
#![forbid(unsafe_code)]

pub mod ajp;

#[cfg(feature = "proxy")]
pub mod backend;
#[cfg(feature = "proxy")]
pub mod balancer;
#[cfg(feature = "proxy")]
pub mod cli;
#[cfg(feature = "proxy")]
pub mod config;
#[cfg(feature = "proxy")]
pub mod server;
#[cfg(feature = "proxy")]
pub mod status;
