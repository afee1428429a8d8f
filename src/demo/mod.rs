//! `jkgate demo`: jkgate in front of embedded AJP13 backends, so the relay and
//! the balancer can be tried on a machine without Tomcat.

pub mod backend;

use std::net::SocketAddr;

use crate::ajp::PacketSize;
use crate::app::{Jkgate, StartError};
use crate::config::{MetricsSettings, RunSettings};
pub use backend::EmbeddedBackend;

/// Why the demo did not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// An embedded backend could not listen.
    #[error("embedded backend: {0}")]
    Backend(#[from] std::io::Error),
    /// The demo's own configuration was refused (a bug: it is fixed text).
    #[error("demo configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    /// jkgate did not start.
    #[error(transparent)]
    Start(#[from] StartError),
}

/// A running demo: the backends and the listener.
#[derive(Debug)]
pub struct Demo {
    /// The embedded backends (routes `node1`, `node2`).
    pub backends: Vec<EmbeddedBackend>,
    /// jkgate, started as `jkgate run` starts it.
    pub jkgate: Jkgate,
}

/// The workers.properties the demo runs with, for backends at `ports` (routes `node1`,
/// `node2`, ...): an lb `balancer` with sticky sessions over them, each member also
/// usable directly, and a read-only status worker `jkstatus`.
pub fn workers_properties(ports: &[u16]) -> String {
    let mut text = String::from("worker.maintain=60\n");
    let names: Vec<String> = (1..=ports.len()).map(|i| format!("node{i}")).collect();
    for (name, port) in names.iter().zip(ports) {
        text.push_str(&format!(
            "worker.{name}.type=ajp13\nworker.{name}.host=127.0.0.1\nworker.{name}.port={port}\n\
             worker.{name}.route={name}\nworker.{name}.socket_connect_timeout=2000\n"
        ));
    }
    text.push_str(&format!(
        "worker.balancer.type=lb\nworker.balancer.balance_workers={}\nworker.balancer.sticky_session=true\n\
         worker.jkstatus.type=status\nworker.jkstatus.read_only=true\n\
         worker.list=balancer,jkstatus,{}\n",
        names.join(","),
        names.join(",")
    ));
    text
}

/// Starts two embedded backends and jkgate on `listen`: `/*` goes to the lb
/// `balancer` over `node1` and `node2` (the same registry and balancer a real
/// workers.properties gets); `/node1/*` and `/node2/*` go to the members directly;
/// `/jkstatus` shows the status worker (read-only), `/metrics` the Prometheus metrics.
pub async fn start(listen: SocketAddr) -> Result<Demo, DemoError> {
    let mut backends = Vec::new();
    for route in ["node1", "node2"] {
        backends.push(EmbeddedBackend::start(route, PacketSize::DEFAULT).await?);
    }
    let ports: Vec<u16> = backends.iter().map(|b| b.addr.port()).collect();
    let settings = RunSettings::from_workers_text(
        "demo workers.properties",
        &workers_properties(&ports),
        &[
            "/node1/*=node1",
            "/node2/*=node2",
            "/*=balancer",
            "/jkstatus=jkstatus",
        ],
        listen,
    )?;
    let settings = RunSettings {
        metrics: Some(MetricsSettings {
            path: "/metrics".to_owned(),
            listen: None,
        }),
        ..settings
    };
    let jkgate = Jkgate::start_fixed(settings).await?;
    Ok(Demo { backends, jkgate })
}
