//! `jkgate demo`: jkgate in front of embedded AJP13 backends, so the relay and
//! the balancer can be tried on a machine without Tomcat.

pub mod backend;

use std::net::SocketAddr;
use std::sync::Arc;

use crate::ajp::PacketSize;
use crate::backend::dispatch::{InOrderFailover, Target, Workers};
use crate::backend::{AjpWorker, MemberConfig};
use crate::config::uriworkermap::MountTable;
use crate::server::mapping::MappingOptions;
use crate::server::{Gateway, RunningServer};
pub use backend::EmbeddedBackend;

/// A running demo: the backends and the listener.
#[derive(Debug)]
pub struct Demo {
    /// The embedded backends (routes `node1`, `node2`).
    pub backends: Vec<EmbeddedBackend>,
    /// The listener.
    pub server: RunningServer,
}

/// Starts two embedded backends and jkgate on `listen`: `/*` goes to the lb
/// `balancer` over `node1` and `node2`; `/node1/*` and `/node2/*` go to the
/// members directly.
pub async fn start(listen: SocketAddr) -> std::io::Result<Demo> {
    let mut backends = Vec::new();
    let mut workers = Workers::new();
    let mut members = Vec::new();
    let mut mounts = MountTable::new();
    for route in ["node1", "node2"] {
        let backend = EmbeddedBackend::start(route, PacketSize::DEFAULT).await?;
        let worker = Arc::new(AjpWorker::new(MemberConfig::new(route, backend.addr)));
        workers.insert(route, Target::Ajp(worker.clone()));
        members.push((worker, Arc::<str>::from(route)));
        mounts
            .add_jk_mount_line(&format!("/{route}/*={route}"), None)
            .map_err(std::io::Error::other)?;
        backends.push(backend);
    }
    workers.insert(
        "balancer",
        Target::Balanced(Arc::new(InOrderFailover::new("balancer", members))),
    );
    mounts
        .add_jk_mount_line("/*=balancer", None)
        .map_err(std::io::Error::other)?;
    let gateway = Gateway::new(mounts, workers, MappingOptions::default());
    let server = crate::server::spawn(listen, gateway, None).await?;
    Ok(Demo { backends, server })
}
