//! Application health checks over AJP (jkgate.ini `[healthcheck NAME]`): beyond CPING,
//! which proves only that the connector answers, a GET of an application URI on a
//! connection of its own, with an expected status and body.
//!
//! One driver task per gateway runs every configured check ([`spawn`]); each member's
//! verdict goes to its balancer ([`Balancer::set_health`]), which keeps a DOWN member out
//! of the rotation (balanced and sticky requests alike) until the check passes `Rise`
//! times in a row. The checks never use the member's pool: they count in none of its
//! numbers and never wait behind requests for a slot.

use std::sync::Arc;

use bytes::Bytes;
use tokio::task::JoinHandle;

use super::conn::AjpConnection;
use super::settings::MemberConfig;
use super::worker::AjpWorker;
use crate::ajp::{Attribute, ContainerMessage, ForwardRequest, ProxyMessage, RequestHeaderName};
use crate::balancer::{Balancer, Health};
use crate::config::health::{BODY_LIMIT, HealthCheck};

/// Why a check failed (logged, and shown by the tests).
#[derive(Debug, thiserror::Error)]
pub enum CheckFailure {
    /// No connection, or the connection broke.
    #[error("{0}")]
    Connection(String),
    /// The member answered something that is not an AJP response.
    #[error("protocol: {0}")]
    Protocol(String),
    /// Nothing complete within `Timeout`.
    #[error("no complete answer within {0:?}")]
    Timeout(std::time::Duration),
    /// A status `ExpectStatus` does not list.
    #[error("status {status} (expected {expected})")]
    Status {
        /// The status.
        status: u16,
        /// `ExpectStatus`.
        expected: String,
    },
    /// The body lacks `ExpectBody`.
    #[error("body does not contain `{0}`")]
    Body(String),
}

/// The FORWARD_REQUEST of a check: `GET uri` with the member's `secret`, as a client on
/// loopback asking for `host`.
fn check_request(cfg: &MemberConfig, uri: &str) -> ForwardRequest {
    let (path, query) = match uri.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (uri, None),
    };
    let host = Bytes::from(cfg.address.ip().to_string());
    let mut request = ForwardRequest {
        req_uri: Some(Bytes::copy_from_slice(path.as_bytes())),
        remote_addr: Some(Bytes::from_static(b"127.0.0.1")),
        server_name: Some(host.clone()),
        server_port: cfg.address.port(),
        headers: vec![
            (RequestHeaderName::from_name_slice(b"host"), Some(host)),
            (
                RequestHeaderName::from_name_slice(b"user-agent"),
                Some(Bytes::from_static(b"jkgate-healthcheck")),
            ),
        ],
        ..ForwardRequest::default()
    };
    if let Some(secret) = &cfg.secret {
        request.attributes.push(Attribute::Secret(secret.clone()));
    }
    if let Some(query) = query {
        request
            .attributes
            .push(Attribute::QueryString(Bytes::copy_from_slice(
                query.as_bytes(),
            )));
    }
    request
}

/// Runs one check against the member `cfg` describes.
pub async fn probe(cfg: &MemberConfig, check: &HealthCheck) -> Result<u16, CheckFailure> {
    match tokio::time::timeout(check.timeout, exchange(cfg, check)).await {
        Ok(result) => result,
        Err(_) => Err(CheckFailure::Timeout(check.timeout)),
    }
}

async fn exchange(cfg: &MemberConfig, check: &HealthCheck) -> Result<u16, CheckFailure> {
    let mut conn = AjpConnection::connect(cfg)
        .await
        .map_err(|e| CheckFailure::Connection(e.to_string()))?;
    let request = ProxyMessage::ForwardRequest(check_request(cfg, &check.uri));
    conn.queue(&request)
        .map_err(|e| CheckFailure::Protocol(e.to_string()))?;
    conn.flush(None)
        .await
        .map_err(|e| CheckFailure::Connection(e.to_string()))?;
    let mut status = None;
    let mut body = Vec::new();
    loop {
        let message = conn.read_message(None).await.map_err(|e| match e {
            super::conn::ReadError::Protocol(p) => CheckFailure::Protocol(p.to_string()),
            other => CheckFailure::Connection(other.to_string()),
        })?;
        match message {
            ContainerMessage::SendHeaders(headers) => status = Some(headers.status),
            ContainerMessage::SendBodyChunk(data) => {
                let room = BODY_LIMIT.saturating_sub(body.len());
                body.extend_from_slice(&data[..data.len().min(room)]);
            }
            ContainerMessage::GetBodyChunk { .. } => {
                // The check has no body: the empty packet says so.
                conn.queue_body(&[]);
                conn.flush(None)
                    .await
                    .map_err(|e| CheckFailure::Connection(e.to_string()))?;
            }
            ContainerMessage::EndResponse { .. } => break,
            ContainerMessage::CPong => {
                return Err(CheckFailure::Protocol("CPONG instead of a response".into()));
            }
        }
    }
    let status =
        status.ok_or_else(|| CheckFailure::Protocol("END_RESPONSE without headers".into()))?;
    if !check.expect_status.matches(status) {
        return Err(CheckFailure::Status {
            status,
            expected: check.expect_status.to_string(),
        });
    }
    if let Some(expected) = &check.expect_body {
        let text = String::from_utf8_lossy(&body);
        if !text.contains(expected.as_str()) {
            return Err(CheckFailure::Body(expected.clone()));
        }
    }
    Ok(status)
}

/// One member under a check.
#[derive(Debug, Clone)]
pub struct CheckTarget {
    /// The lb.
    pub lb: String,
    /// The member.
    pub member: String,
    /// The lb's balancer (where the verdict goes).
    pub balancer: Balancer,
    /// The member's worker (its current connection settings).
    pub worker: Arc<AjpWorker>,
    /// The check.
    pub check: HealthCheck,
}

/// Starts the driver of `targets` (inside a tokio runtime): every member is checked at
/// once, then every `Interval`. Aborting the returned task stops every check. `None`
/// without targets.
pub fn spawn(targets: Vec<CheckTarget>) -> Option<JoinHandle<()>> {
    if targets.is_empty() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut checks = tokio::task::JoinSet::new();
        for target in targets {
            checks.spawn(run(target));
        }
        // The checks run until the driver is aborted; dropping the set aborts them too.
        while checks.join_next().await.is_some() {}
    }))
}

/// The loop of one member: `Fall` failures in a row make it DOWN, `Rise` passes in a row
/// bring it back. A member starts UP (or DOWN, when a reload finds it DOWN).
async fn run(target: CheckTarget) {
    let CheckTarget {
        lb,
        member,
        balancer,
        worker,
        check,
    } = target;
    let mut health = match balancer.set_health(&member, Health::Up) {
        Ok(Health::Down) => {
            let _ = balancer.set_health(&member, Health::Down);
            Health::Down
        }
        Ok(_) => Health::Up,
        Err(e) => {
            tracing::error!(%lb, %member, "health check not started: {e}");
            return;
        }
    };
    let (mut passes, mut failures) = (0u32, 0u32);
    let mut tick = tokio::time::interval(check.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let cfg = worker.config();
        match probe(&cfg, &check).await {
            Ok(status) => {
                failures = 0;
                passes = passes.saturating_add(1);
                tracing::debug!(%lb, %member, uri = %check.uri, status, "health check passed");
                if health == Health::Down && passes >= check.rise {
                    health = Health::Up;
                    let _ = balancer.set_health(&member, health);
                    tracing::info!(%lb, %member, uri = %check.uri, passes,
                        "health check: member UP again, back in the rotation");
                }
            }
            Err(why) => {
                passes = 0;
                failures = failures.saturating_add(1);
                if health == Health::Up && failures >= check.fall {
                    health = Health::Down;
                    let _ = balancer.set_health(&member, health);
                    tracing::warn!(%lb, %member, uri = %check.uri, failures, %why,
                        "health check: member DOWN, out of the rotation");
                } else {
                    tracing::info!(%lb, %member, uri = %check.uri, failures, %why,
                        "health check failed");
                }
            }
        }
    }
}
