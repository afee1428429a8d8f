//! Resolved settings of one ajp13 worker (a direct worker or an lb member).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::ajp::PacketSize;
use crate::balancer::ReplayPolicy;
use crate::config::{FailOnStatus, RecoveryOptions};

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
    /// `retries`: attempts on this member per request (first included, ≥ 1).
    pub retries: u32,
    /// `retry_interval`: sleep before each retry on this member.
    pub retry_interval: Duration,
    /// `recovery_options`: which failures may be retried after the request was sent.
    pub recovery_options: RecoveryOptions,
    /// `fail_on_status`: response statuses that count as a failure of this member.
    pub fail_on_status: FailOnStatus,
    /// `busy_limit`: requests in flight above which the member refuses (0 = off).
    pub busy_limit: usize,
    /// What may be replayed after a failure (jkgate's safe default, or mod_jk's rules).
    pub replay: ReplayPolicy,
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
            retries: 2,
            retry_interval: Duration::from_millis(100),
            recovery_options: RecoveryOptions::default(),
            fail_on_status: FailOnStatus::default(),
            busy_limit: 0,
            replay: ReplayPolicy::default(),
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

/// An ajp13 worker whose settings cannot be turned into a running member. The message
/// names the worker (and its lb), the key to change and what would be valid.
#[derive(Debug, thiserror::Error)]
pub enum MemberSettingsError {
    /// `host` did not resolve to an address (mod_jk refuses to start such a worker).
    #[error(
        "worker `{worker}`{member_of}: cannot resolve host `{host}` (worker.{worker}.host, port {port}): {cause}; valid: a host name this machine resolves (DNS or /etc/hosts) or an IP address (mod_jk does not start with it either)",
        member_of = MemberOf(lb)
    )]
    Unresolved {
        /// The worker name.
        worker: String,
        /// The lb it is a member of (`None`: a top-level worker).
        lb: Option<String>,
        /// The configured host.
        host: String,
        /// The configured port.
        port: u16,
        /// What the resolver said.
        cause: String,
    },
    /// `max_packet_size` outside AJP's 8192..=65536.
    #[error(
        "worker `{worker}`{member_of}: max_packet_size {size} is outside 8192..=65536; valid: worker.{worker}.max_packet_size from 8192 to 65536",
        member_of = MemberOf(lb)
    )]
    PacketSize {
        /// The worker name.
        worker: String,
        /// The lb it is a member of (`None`: a top-level worker).
        lb: Option<String>,
        /// The configured size.
        size: u32,
    },
}

/// ` (member of lb `X`)` or nothing.
struct MemberOf<'a>(&'a Option<String>);

impl std::fmt::Display for MemberOf<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(lb) => write!(f, " (member of lb `{lb}`)"),
            None => Ok(()),
        }
    }
}

impl MemberSettingsError {
    /// The same error for a member of lb `name` (the member itself does not know its lb).
    pub fn in_lb(mut self, name: &str) -> Self {
        match &mut self {
            MemberSettingsError::Unresolved { lb, .. }
            | MemberSettingsError::PacketSize { lb, .. } => *lb = Some(name.to_owned()),
        }
        self
    }

    /// The lb the worker is a member of (`None`: a top-level worker).
    pub fn lb(&self) -> Option<&str> {
        match self {
            MemberSettingsError::Unresolved { lb, .. }
            | MemberSettingsError::PacketSize { lb, .. } => lb.as_deref(),
        }
    }

    /// The worker (or lb member) whose settings cannot run.
    pub fn worker(&self) -> &str {
        match self {
            MemberSettingsError::Unresolved { worker, .. }
            | MemberSettingsError::PacketSize { worker, .. } => worker,
        }
    }

    /// The directive to change (`host`, `max_packet_size`).
    pub fn directive(&self) -> &'static str {
        match self {
            MemberSettingsError::Unresolved { .. } => "host",
            MemberSettingsError::PacketSize { .. } => "max_packet_size",
        }
    }
}

impl MemberConfig {
    /// The member `name` as workers.properties configured it: `host` resolved once (IPv4
    /// first unless `prefer_ipv6`), timeouts with `ping_mode` already folded in by the
    /// reader, `DisableReuse` from `JkOptions`.
    pub fn from_ajp_settings(
        name: &str,
        ajp: &crate::config::AjpSettings,
        disable_reuse: bool,
    ) -> Result<Self, MemberSettingsError> {
        use std::net::ToSocketAddrs as _;
        let unresolved = |cause: String| MemberSettingsError::Unresolved {
            worker: name.to_owned(),
            lb: None,
            host: ajp.host.clone(),
            port: ajp.port,
            cause,
        };
        let candidates: Vec<SocketAddr> = (ajp.host.as_str(), ajp.port)
            .to_socket_addrs()
            .map_err(|e| unresolved(e.to_string()))?
            .collect();
        let address = candidates
            .iter()
            .find(|a| a.is_ipv6() == ajp.prefer_ipv6)
            .or_else(|| candidates.first())
            .copied()
            .ok_or_else(|| unresolved("no address".to_owned()))?;
        let packet_size =
            PacketSize::new(ajp.max_packet_size).map_err(|_| MemberSettingsError::PacketSize {
                worker: name.to_owned(),
                lb: None,
                size: ajp.max_packet_size,
            })?;
        Ok(MemberConfig {
            name: Arc::from(name),
            address,
            secret: ajp.secret.as_ref().map(|s| Bytes::from(s.clone())),
            pool_size: ajp.connection_pool_size.max(1) as usize,
            pool_minsize: ajp.connection_pool_minsize as usize,
            pool_timeout: ajp.connection_pool_timeout,
            acquire_timeout: ajp.connection_acquire_timeout,
            ping_timeout: ajp.ping_timeout,
            connect_timeout: ajp.connect_timeout,
            prepost_timeout: ajp.prepost_timeout,
            ping_interval: ajp.connection_ping_interval,
            reply_timeout: ajp.reply_timeout,
            socket_timeout: ajp.socket_timeout,
            socket_connect_timeout: ajp.socket_connect_timeout,
            socket_keepalive: ajp.socket_keepalive,
            socket_buffer: ajp.socket_buffer,
            packet_size,
            disable_reuse,
            retries: ajp.retries.max(1),
            retry_interval: ajp.retry_interval,
            recovery_options: ajp.recovery_options,
            fail_on_status: ajp.fail_on_status.clone(),
            busy_limit: ajp.busy_limit as usize,
            replay: ReplayPolicy::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AjpSettings;

    #[test]
    fn every_ajp_setting_reaches_the_member() {
        let ajp = AjpSettings {
            host: "127.0.0.1".to_owned(),
            port: 8109,
            secret: Some("s3cr3t".to_owned()),
            connection_pool_size: 7,
            connection_pool_minsize: 3,
            connection_pool_timeout: Duration::from_secs(60),
            connection_acquire_timeout: Duration::from_millis(300),
            ping_timeout: Duration::from_millis(4000),
            connect_timeout: Duration::from_millis(1000),
            prepost_timeout: Duration::from_millis(2000),
            connection_ping_interval: Duration::from_secs(40),
            reply_timeout: Duration::from_millis(5000),
            socket_timeout: Duration::from_secs(9),
            socket_connect_timeout: Duration::from_millis(1500),
            socket_keepalive: true,
            socket_buffer: 16384,
            max_packet_size: 16384,
            ..AjpSettings::default()
        };
        let m = MemberConfig::from_ajp_settings("node2", &ajp, true).expect("valid settings");
        assert_eq!(&*m.name, "node2");
        assert_eq!(m.address, "127.0.0.1:8109".parse().unwrap());
        assert_eq!(m.secret.as_deref(), Some(&b"s3cr3t"[..]));
        assert_eq!((m.pool_size, m.pool_minsize), (7, 3));
        assert_eq!(m.pool_timeout, Duration::from_secs(60));
        assert_eq!(m.acquire_timeout, Duration::from_millis(300));
        assert_eq!(m.ping_timeout, Duration::from_millis(4000));
        assert_eq!(m.connect_timeout, Duration::from_millis(1000));
        assert_eq!(m.prepost_timeout, Duration::from_millis(2000));
        assert_eq!(m.ping_interval, Duration::from_secs(40));
        assert_eq!(m.reply_timeout, Duration::from_millis(5000));
        assert_eq!(m.socket_timeout, Duration::from_secs(9));
        assert_eq!(m.socket_connect_timeout, Duration::from_millis(1500));
        assert!(m.socket_keepalive);
        assert_eq!(m.socket_buffer, 16384);
        assert_eq!(m.packet_size.get(), 16384);
        assert!(m.disable_reuse);
        assert_eq!(
            (m.retries, m.retry_interval),
            (2, Duration::from_millis(100))
        );
    }

    #[test]
    fn an_unresolvable_host_names_the_worker() {
        let ajp = AjpSettings {
            host: "no-such-host.invalid".to_owned(),
            ..AjpSettings::default()
        };
        let err = MemberConfig::from_ajp_settings("node9", &ajp, false).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("node9") && text.contains("no-such-host.invalid"),
            "{text}"
        );
    }
}
