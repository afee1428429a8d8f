//! jkgate started in the test's own process, through the same assembly as `jkgate run`
//! (`jkgate::app::Jkgate`), on a free loopback port.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use jkgate::app::Jkgate;
use jkgate::config::RunSettings;
use jkgate::server::Gateway;

/// A running in-process jkgate.
#[derive(Debug)]
pub struct Running {
    /// The address its (first) listener is bound to.
    pub addr: SocketAddr,
    /// The instance itself (reload, gateway, shutdown).
    pub jkgate: Jkgate,
}

impl Running {
    /// The gateway requests are served with now (workers and their run-time state).
    pub fn gateway(&self) -> Arc<Gateway> {
        self.jkgate.gateway()
    }

    /// Stops accepting and waits for open connections to finish.
    pub async fn shutdown(self) {
        self.jkgate.shutdown().await;
    }
}

/// Settings from `properties` (a workers.properties) and JkMount `mounts`, listening on a
/// free loopback port; everything else at its default, for the test to change.
pub fn settings(properties: &str, mounts: &[&str]) -> RunSettings {
    RunSettings::from_workers_text(
        "test.properties",
        properties,
        mounts,
        "127.0.0.1:0".parse().expect("loopback address"),
    )
    .expect("valid workers.properties and mounts")
}

/// Starts jkgate with `settings`.
pub async fn start(settings: RunSettings) -> Running {
    let jkgate = Jkgate::start_fixed(settings).await.expect("jkgate starts");
    Running {
        addr: jkgate.addr(),
        jkgate,
    }
}
