//! Resolved settings of one ajp13 worker (a direct worker or an lb member).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::ajp::PacketSize;

/// Everything the ajp13 worker needs, already resolved (address looked up once,
/// `ping_mode` folded into the effective timeouts, units converted). Zero durations
/// mean "off", as in mod_jk.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// Worker name, used in log lines.
    pub name: Arc<str>,
    /// Resolved address of the AJP connector.
    pub address: SocketAddr,
    /// `secret`, sent as attribute 0x0C on every request.
    pub secret: Option<Bytes>,
    /// `connection_pool_size`: concurrent connections (and requests) to this member.
    pub pool_size: usize,
    /// `connection_pool_minsize`: idle closing never goes below this.
    pub pool_minsize: usize,
    /// `connection_pool_timeout`: close connections idle longer than this.
    pub pool_timeout: Duration,
    /// `connection_acquire_timeout`: wait this long for a free pool slot.
    pub acquire_timeout: Duration,
    /// `ping_timeout`: CPONG wait for interval pings.
    pub ping_timeout: Duration,
    /// `connect_timeout`: CPING right after connecting, with this timeout.
    pub connect_timeout: Duration,
    /// `prepost_timeout`: CPING before each request on a reused connection.
    pub prepost_timeout: Duration,
    /// `connection_ping_interval`: CPING idle connections this often.
    pub ping_interval: Duration,
    /// `reply_timeout`: bound on each packet read from the member.
    pub reply_timeout: Duration,
    /// `socket_timeout`: bound on every read and write.
    pub socket_timeout: Duration,
    /// `socket_connect_timeout`: bound on the TCP connect.
    pub socket_connect_timeout: Duration,
    /// `socket_keepalive`: SO_KEEPALIVE on backend sockets.
    pub socket_keepalive: bool,
    /// `socket_buffer`: SO_SNDBUF/SO_RCVBUF when non-zero.
    pub socket_buffer: u32,
    /// `max_packet_size`: must equal Tomcat's `packetSize`.
    pub packet_size: PacketSize,
    /// `JkOptions DisableReuse`: close the connection after every request.
    pub disable_reuse: bool,
}

impl MemberConfig {
    /// A member at `address` with mod_jk's defaults.
    pub fn new(name: impl Into<Arc<str>>, address: SocketAddr) -> Self {
        MemberConfig {
            name: name.into(),
            address,
            secret: None,
            pool_size: 128,
            pool_minsize: 64,
            pool_timeout: Duration::ZERO,
            acquire_timeout: Duration::from_millis(200),
            ping_timeout: Duration::from_secs(10),
            connect_timeout: Duration::ZERO,
            prepost_timeout: Duration::ZERO,
            ping_interval: Duration::ZERO,
            reply_timeout: Duration::ZERO,
            socket_timeout: Duration::ZERO,
            socket_connect_timeout: Duration::ZERO,
            socket_keepalive: false,
            socket_buffer: 0,
            packet_size: PacketSize::DEFAULT,
            disable_reuse: false,
        }
    }

    /// The timeout for one packet read: `reply_timeout`, else `socket_timeout`.
    pub fn read_timeout(&self) -> Option<Duration> {
        nonzero(self.reply_timeout).or_else(|| nonzero(self.socket_timeout))
    }
}

/// `Some(d)` unless `d` is zero.
pub fn nonzero(d: Duration) -> Option<Duration> {
    (!d.is_zero()).then_some(d)
}
