//! jkgate: a drop-in replacement for Apache mod_jk, and a reusable AJP13 codec.
//!
//! The binary is an HTTP(S) front end that relays requests to Tomcat (or any AJP13
//! container) over AJP13, reading mod_jk's `workers.properties` and
//! `uriworkermap.properties` unchanged.
//!
//! The library's [`ajp`] module is a fuzzed, sans-I/O AJP13 codec that other programs
//! can use without the proxy: depend on jkgate with `default-features = false` (only
//! `nom`, `bytes` and `thiserror`), and add the `tokio-codec` feature for tokio-util
//! `Decoder`/`Encoder` adapters.
//!
//! ```
//! use bytes::BytesMut;
//! use jkgate::ajp::{PacketSize, ProxyMessage, encode_proxy_message};
//!
//! let mut wire = BytesMut::new();
//! encode_proxy_message(&ProxyMessage::CPing, PacketSize::DEFAULT, &mut wire)?;
//! assert_eq!(&wire[..], &[0x12, 0x34, 0x00, 0x01, 0x0A]);
//! # Ok::<(), jkgate::ajp::EncodeError>(())
//! ```
#![forbid(unsafe_code)]

pub mod ajp;

#[cfg(feature = "proxy")]
pub mod app;
#[cfg(feature = "proxy")]
pub mod backend;
#[cfg(feature = "proxy")]
pub mod balancer;
#[cfg(feature = "proxy")]
pub mod cli;
#[cfg(feature = "proxy")]
pub mod config;
#[cfg(feature = "proxy")]
pub mod demo;
#[cfg(feature = "proxy")]
pub mod metrics;
#[cfg(feature = "proxy")]
pub mod server;
#[cfg(feature = "proxy")]
pub mod status;
