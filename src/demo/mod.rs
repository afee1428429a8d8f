//! `jkgate demo`: jkgate in front of embedded AJP13 backends, so the relay and
//! the balancer can be tried on a machine without Tomcat.

pub mod backend;

use std::net::SocketAddr;

use crate::ajp::PacketSize;
use crate::backend::registry::{WorkerOptions, build_workers};
use crate::config::read_workers_properties;
use crate::config::uriworkermap::MountTable;
use crate::server::mapping::MappingOptions;
use crate::server::{Gateway, RunningServer};
use crate::status::StatusWorkers;
pub use backend::EmbeddedBackend;

/// A running demo: the backends and the listener.
#[derive(Debug)]
pub struct Demo {
    /// The embedded backends (routes `node1`, `node2`).
    pub backends: Vec<EmbeddedBackend>,
    /// The listener.
    pub server: RunningServer,
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
/// `/jkstatus` shows the status worker (read-only).
pub async fn start(listen: SocketAddr) -> std::io::Result<Demo> {
    let mut backends = Vec::new();
    let mut mounts = MountTable::new();
    for route in ["node1", "node2"] {
        backends.push(EmbeddedBackend::start(route, PacketSize::DEFAULT).await?);
        mounts
            .add_jk_mount_line(&format!("/{route}/*={route}"), None)
            .map_err(std::io::Error::other)?;
    }
    for line in ["/*=balancer", "/jkstatus=jkstatus"] {
        mounts
            .add_jk_mount_line(line, None)
            .map_err(std::io::Error::other)?;
    }
    let ports: Vec<u16> = backends.iter().map(|b| b.addr.port()).collect();
    let text = workers_properties(&ports);
    let file = read_workers_properties(text.as_bytes(), "demo workers.properties", &|_| None)
        .map_err(std::io::Error::other)?;
    let workers =
        build_workers(&file.config, WorkerOptions::default()).map_err(std::io::Error::other)?;
    let status = StatusWorkers::new(&file.config, &file.properties, &[]);
    let gateway = Gateway::with_status(mounts, workers, MappingOptions::default(), status);
    let server = crate::server::spawn(listen, gateway, None).await?;
    Ok(Demo { backends, server })
}
