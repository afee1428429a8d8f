//! The HTTP(S) listener: hyper 1 (HTTP/1.1 keep-alive and HTTP/2), rustls TLS,
//! request mapping to workers, streaming relay, access log.
//!
//! Listeners read the running configuration from a [`CurrentGateway`]: each connection
//! takes the TLS acceptor of the gateway current when it is accepted, each request the
//! gateway current when it arrives, and keeps it until it is answered. A reload swaps the
//! gateway; what is in flight finishes on the one it started with.

pub mod access_log;
pub mod conn_clock;
pub mod drain;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod mapping;
pub(crate) mod metrics_page;
pub mod proxy_protocol;
pub mod read_tap;
pub mod relay;
pub mod remoteip;
pub(crate) mod status_page;
pub mod strict_lines;
pub mod tls;
pub mod upgrade;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Body as _;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::backend::body::BodyError;
use crate::backend::context::RequestOverrides;
use crate::backend::dispatch::{Target, Workers};
use crate::backend::response::{ERROR_PAGE_CONTENT_TYPE, RelayRest, ResponseBody, error_page};
use crate::backend::{RequestBody, ResponseSink};
use crate::balancer::RequestFacts;
use crate::config::access::AccessRules;
use crate::config::ini::{RequestLogFields, RequestLogFormat};
use crate::config::limits::ClientLimits;
use crate::config::uriworkermap::MountTable;
use crate::config::vhost::VirtualHosts;
use crate::status::StatusWorkers;
use conn_clock::{ConnClock, Metered};
use limits::{ClientBody, ConnectionCap, HttpBuilder, ServedBody};
use mapping::{ConnectionInfo, MappingOptions};
pub use relay::Handled;

/// Everything a request needs: mounts, workers and mapping options, as one configuration
/// generation assembled them (the application builds it; nothing here reads settings).
pub struct Gateway {
    /// The main server's mount table: requests no vhost answers (swapped when its mount
    /// file changes).
    pub mounts: ArcSwap<MountTable>,
    /// `ServerName` of the main server, as the status worker shows it.
    pub server_name: Option<String>,
    /// Which vhost answers a request.
    pub hosts: VirtualHosts,
    /// Each vhost's mounts, in the order of `hosts`.
    pub vhosts: Vec<VhostMounts>,
    /// Workers by name.
    pub workers: Workers,
    /// Mapping options.
    pub options: MappingOptions,
    /// Status workers, served by jkgate itself.
    pub status: StatusWorkers,
    /// `JkRequestLogFormat`: the access log line's format (jkgate's own fields when unset).
    pub access_format: Option<RequestLogFormat>,
    /// `GracefulShutdownTimeout`: how long a stopping listener lets open connections finish.
    pub shutdown_grace: std::time::Duration,
    /// The certificates of the HTTPS listeners (`None` without any).
    pub tls: Option<tls::TlsSetup>,
    /// Client limits: connections accepted under this gateway keep its timeouts, hyper
    /// settings and size checks until they close.
    pub limits: Arc<ClientLimits>,
    /// The hyper builder made from `limits` (see [`limits::http_builder`]).
    pub http: Arc<HttpBuilder>,
    /// `MaxConnections`, shared by every listener and by every gateway of a reload chain
    /// (a reload resizes it).
    pub connections: Arc<ConnectionCap>,
    /// `RemoteIPHeader` and its proxies (`None`: the peer is the client).
    pub remote_ip: Option<remoteip::RemoteIp>,
    /// `RemoteIPProxyProtocol`: the listen addresses whose connections start with a PROXY
    /// header (checked per connection, so a reload turns it on or off without rebinding).
    pub proxy_protocol: Vec<SocketAddr>,
    /// `[access]`: IP rules per location and worker.
    pub access: AccessRules,
    /// Where the Prometheus metrics are served (`None`: nowhere).
    pub metrics: Option<MetricsRoute>,
}

/// Where the Prometheus metrics are served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsRoute {
    /// The path (exact match).
    pub path: String,
    /// Served on every listener; otherwise only on the dedicated metrics listener.
    pub on_every_listener: bool,
}

/// What a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Plain HTTP: everything.
    Http,
    /// HTTPS: everything.
    Https,
    /// The dedicated metrics listener (`MetricsListen`): the metrics path only.
    Metrics,
}

/// One vhost's mount table and the names the status worker and the access log show for it.
#[derive(Debug)]
pub struct VhostMounts {
    /// Its ServerName without the port (the access log's `%v`).
    pub server_name: String,
    /// mod_jk's text for the vhost: `ServerName [address:port]`.
    pub status_name: String,
    /// Its mount table (swapped when its mount file changes).
    pub mounts: ArcSwap<MountTable>,
}

impl Gateway {
    /// The mount table of the server that answers a request for `host` (a Host header
    /// value or an HTTP/2 authority) on a connection to `local`: a vhost's, else the main
    /// server's.
    pub fn mounts_for(
        &self,
        local: SocketAddr,
        host: Option<&str>,
    ) -> arc_swap::Guard<Arc<MountTable>> {
        self.mounts_of(self.hosts.select(local, host))
    }

    /// The mount table of vhost `server` (`None`: the main server).
    fn mounts_of(&self, server: Option<usize>) -> arc_swap::Guard<Arc<MountTable>> {
        match server.and_then(|index| self.vhosts.get(index)) {
            Some(vhost) => vhost.mounts.load(),
            None => self.mounts.load(),
        }
    }

    /// The ServerName (without port) of vhost `server`, else of the main server.
    fn server_hostname(&self, server: Option<usize>) -> Option<&str> {
        match server.and_then(|index| self.vhosts.get(index)) {
            Some(vhost) => Some(&vhost.server_name),
            None => self
                .server_name
                .as_deref()
                .map(|name| crate::config::vhost::split_server_name(name).0),
        }
    }
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("mounts", &self.mounts)
            .field("hosts", &self.hosts)
            .field("vhosts", &self.vhosts)
            .field("workers", &self.workers)
            .field("options", &self.options)
            .field("status", &self.status)
            .field("access_format", &self.access_format)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("tls", &self.tls.is_some())
            .field("limits", &self.limits)
            .field("connections", &self.connections)
            .field("metrics", &self.metrics)
            .field("remote_ip", &self.remote_ip)
            .field("proxy_protocol", &self.proxy_protocol)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// The gateway requests are served with now; a reload stores the next one.
pub type CurrentGateway = Arc<ArcSwap<Gateway>>;

/// Serves HTTP (and, when `tls`, HTTPS with the current gateway's acceptor) on `listener`
/// until `shutdown` resolves; then stops accepting and lets open connections finish.
///
/// Each connection is served with the hyper builder and limits of the gateway current when
/// it was accepted, under a [`ConnClock`] that closes it when it is too slow to send a
/// request head or body, or idle longer than `KeepAliveTimeout`. At `MaxConnections` open
/// connections the loop waits before `accept`, leaving new clients in the listen backlog.
pub async fn serve(
    listener: TcpListener,
    current: CurrentGateway,
    tls: bool,
    shutdown: impl Future<Output = ()>,
) {
    let role = if tls { Role::Https } else { Role::Http };
    serve_as(listener, current, role, shutdown).await;
}

/// [`serve`] for a listener of any [`Role`].
pub async fn serve_as(
    listener: TcpListener,
    current: CurrentGateway,
    role: Role,
    shutdown: impl Future<Output = ()>,
) {
    let tls = role == Role::Https;
    let metrics_only = role == Role::Metrics;
    let drain = drain::Drain::new();
    tokio::pin!(shutdown);
    // The address `RemoteIPProxyProtocol` names this listener by.
    let bound = listener.local_addr().ok();
    loop {
        let cap = current.load().connections.clone();
        let next = async {
            let permit = cap.acquire().await;
            loop {
                match listener.accept().await {
                    Ok(pair) => return (pair, permit),
                    Err(err) => {
                        tracing::warn!(%err, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
            }
        };
        let ((stream, remote), permit) = tokio::select! {
            next = next => next,
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(remote);
        let gateway = current.load_full();
        let current = current.clone();
        let builder = gateway.http.clone();
        let limits = gateway.limits.clone();
        let proxy_protocol = bound.is_some_and(|b| gateway.proxy_protocol.contains(&b));
        let proxy_timeout = proxy_header_timeout(&limits);
        let clock = ConnClock::new(&limits);
        let watcher = drain.watcher();
        let acceptor = if tls {
            match gateway.tls.as_ref().and_then(|t| t.acceptor(local)) {
                Some(acceptor) => Some(acceptor),
                None => {
                    tracing::error!(%local, "HTTPS listener without a certificate; connection closed");
                    continue;
                }
            }
        } else {
            None
        };
        drop(gateway);
        tokio::spawn(async move {
            // Room for another connection once this one is gone.
            let _permit = permit;
            let mut stream = Metered::new(stream, clock.clone());
            let serving = async {
                let remote = if proxy_protocol {
                    match tokio::time::timeout(
                        proxy_timeout,
                        proxy_protocol::read_header(&mut stream),
                    )
                    .await
                    {
                        Ok(Ok(Some(source))) => source,
                        Ok(Ok(None)) => remote,
                        // A peer that connects and closes without a byte is a TCP health
                        // check, not worth a warning.
                        Ok(Err(err @ proxy_protocol::ProxyHeaderError::Closed(0))) => {
                            tracing::debug!(peer = %remote, %local, "PROXY protocol listener: {err}");
                            return;
                        }
                        Ok(Err(err)) => {
                            tracing::warn!(peer = %remote, %local, "PROXY protocol listener: {err}; connection closed");
                            return;
                        }
                        Err(_) => {
                            tracing::warn!(peer = %remote, %local, timeout_ms = proxy_timeout.as_millis() as u64, "PROXY protocol listener: no header in time; connection closed");
                            return;
                        }
                    }
                } else {
                    remote
                };
                match acceptor {
                    None => {
                        let info = Arc::new(ConnectionInfo::new(remote, local, None));
                        let service = service(current, info, limits, clock.clone(), metrics_only);
                        let stream = strict_lines::strict_lines(stream);
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        let _ = watcher.watch(conn.into_owned()).await;
                    }
                    Some(acceptor) => {
                        // The handshake runs under the header timeout, as in httpd before
                        // mod_reqtimeout had `handshake=`.
                        let stream = match acceptor.accept(stream).await {
                            Ok(stream) => stream,
                            Err(err) => {
                                tracing::debug!(%remote, %err, "TLS handshake failed");
                                return;
                            }
                        };
                        let info = Arc::new(ConnectionInfo::new(
                            remote,
                            local,
                            Some(tls::tls_info(stream.get_ref().1)),
                        ));
                        let service = service(current, info, limits, clock.clone(), metrics_only);
                        let stream = strict_lines::strict_lines(stream);
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        let _ = watcher.watch(conn.into_owned()).await;
                    }
                }
            };
            tokio::select! {
                () = serving => {}
                why = clock.expired() => {
                    // Dropping the connection closes the socket.
                    tracing::debug!(%remote, "connection closed: {why}");
                }
            }
        });
    }
    // The port closes now (new clients are refused at once), not after the drain.
    drop(listener);
    // In-flight requests get a bounded grace period; a client that hangs on to its
    // connection does not hold the shutdown up for ever.
    let grace = current.load().shutdown_grace;
    if tokio::time::timeout(grace, drain.shutdown()).await.is_err() {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "connections still open after the shutdown grace period; closing them"
        );
    }
}

/// How long a PROXY protocol listener waits for the header: the `RequestReadTimeout`
/// header stage's first limit (it is the start of the request, as mod_reqtimeout sees it),
/// or 20 s when that stage is off.
fn proxy_header_timeout(limits: &ClientLimits) -> std::time::Duration {
    limits
        .read_timeout
        .header
        .as_ref()
        .map_or(std::time::Duration::from_secs(20), |h| h.initial)
}

fn service(
    current: CurrentGateway,
    info: Arc<ConnectionInfo>,
    limits: Arc<ClientLimits>,
    clock: Arc<ConnClock>,
    metrics_only: bool,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = Response<ServedBody>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<ServedBody>, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
        let request = clock.request_started();
        let req = req.map(|incoming| ClientBody::new(incoming, &clock));
        // Everything up to the start of the relay happens here, at once: the future
        // hyper keeps (and moves) per request holds only what waits for the answer.
        // Borrowed: a reference count taken per request on what every connection shares
        // is a cache line the worker threads pass back and forth.
        let handled = handle(&current.load(), &info, &limits, req, metrics_only);
        async move {
            let response = handled.response().await;
            Ok(response.map(|body| ServedBody::new(body, Some(request))))
        }
    })
}

/// Handles one request: check the client limits, map, start the relay. `limits` are the
/// connection's (those of the gateway current when it was accepted), so a reload never
/// changes the rules half way through a keep-alive connection. `metrics_only`: the
/// dedicated metrics listener, which answers nothing but the metrics path.
///
/// Not async: all of it runs before the first await, and a future holding this function's
/// locals (the request head, the forward context) would carry them to the end of the
/// request.
pub fn handle(
    gateway: &Arc<Gateway>,
    info: &Arc<ConnectionInfo>,
    limits: &ClientLimits,
    req: Request<ClientBody>,
    metrics_only: bool,
) -> Handled {
    let (mut parts, incoming) = req.into_parts();
    // The real client behind trusted proxies (mod_remoteip); the header is rewritten as
    // mod_remoteip rewrites it before anything reads it.
    let walked_info;
    let info = match gateway
        .remote_ip
        .as_ref()
        .and_then(|walker| walker.apply(info.client, &mut parts.headers))
    {
        Some(walked) => {
            tracing::trace!(peer = %info.client, client = %walked.client, proxies = walked.proxies.as_deref().unwrap_or("-"), "RemoteIP: client address from the header");
            walked_info = Arc::new(info.with_client(walked.client));
            &walked_info
        }
        None => info,
    };
    let mut log = AccessLine {
        // Nothing is copied for a line that is never written.
        request: access_log::enabled().then(|| LoggedRequest {
            server: None,
            gateway: gateway.clone(),
            info: info.clone(),
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            version: parts.version,
            host: parts.headers.get(http::header::HOST).cloned(),
            started: Instant::now(),
        }),
    };
    if let Some(refused) = over_limits(limits, &parts, &incoming) {
        tracing::info!(
            client = %String::from_utf8_lossy(&info.remote_ip),
            status = refused.status,
            "request refused: {}",
            refused.reason
        );
        log.write(refused.status, 0, "-", Routing::default());
        // The body (if any) stays unread: the connection closes after the answer.
        return Handled::Answered(closing(error_response(refused.status), parts.version));
    }
    if parts.method == http::Method::CONNECT && !parts.uri.path().starts_with('/') {
        // jkgate is no forward proxy: httpd's answer to a tunnel request it has no proxy
        // module for. The connection stays open, as httpd keeps it.
        log.write(405, 0, "-", Routing::default());
        let mut response = error_response(405);
        response.headers_mut().insert(
            http::header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH"),
        );
        return Handled::Answered(response);
    }
    if let Some(route) = &gateway.metrics
        && (metrics_only || route.on_every_listener)
        && parts.uri.path() == route.path
    {
        let response = metrics_page::respond(gateway, &parts);
        let bytes = response.body().size_hint().exact().unwrap_or(0);
        log.write(200, bytes, "-", Routing::default());
        discard_request_body(incoming, &parts, limits);
        return Handled::Answered(response);
    }
    if metrics_only {
        log.write(404, 0, "-", Routing::default());
        discard_request_body(incoming, &parts, limits);
        return Handled::Answered(error_response(404));
    }
    let path = match mapping::matching_path(parts.uri.path()) {
        Ok(path) => path,
        Err(rejected) => {
            log.write(rejected.status, 0, "-", Routing::default());
            discard_request_body(incoming, &parts, limits);
            return Handled::Answered(refusal_response(rejected.status, parts.version));
        }
    };
    let host = parts
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    let server = gateway.hosts.select(info.local, host);
    if let Some(request) = &mut log.request {
        request.server = server;
    }
    let mounts = gateway.mounts_of(server);
    let mount = mounts.find(&path);
    if let Some(rule) = gateway.access.refusing(
        &path,
        mount.map(|m| m.worker.as_str()),
        info.client,
        info.local.ip(),
    ) {
        // httpd's AH01630 "client denied by server configuration", with the rule's line.
        tracing::warn!(
            client = %info.client,
            path = %parts.uri.path(),
            rule = %rule.origin.as_ref().map_or_else(|| "[access]".to_owned(), ToString::to_string),
            "client denied by server configuration"
        );
        let worker = mount.map_or("-", |m| m.worker.as_str());
        log.write(403, 0, worker, Routing::default());
        discard_request_body(incoming, &parts, limits);
        return Handled::Answered(error_response(403));
    }
    let Some(mount) = mount else {
        log.write(404, 0, "-", Routing::default());
        discard_request_body(incoming, &parts, limits);
        return Handled::Answered(error_response(404));
    };
    let worker_name = mount.worker.as_str();
    if let Some(protocol) = upgrade::refused_upgrade(&parts) {
        tracing::info!(
            client = %info.client,
            path = %parts.uri.path(),
            worker = %worker_name,
            upgrade = %protocol,
            "Upgrade request answered 501 Not Implemented: AJP13 cannot carry a switched protocol (WebSocket); serve it from another proxy"
        );
        log.write(501, 0, worker_name, Routing::default());
        discard_request_body(incoming, &parts, limits);
        return Handled::Answered(error_response(501));
    }
    if let Some(status) = gateway.status.get(worker_name) {
        let worker_name = worker_name.to_owned();
        drop(mounts);
        let response = status_page::respond(status, gateway, &parts, info);
        let bytes = response.body().size_hint().exact().unwrap_or(0);
        log.write(200, bytes, &worker_name, Routing::default());
        return Handled::Answered(response);
    }
    let Some((worker_name, target)) = gateway
        .workers
        .get_named(worker_name)
        .map(|(name, target)| (name.clone(), target.clone()))
    else {
        tracing::error!(worker = %worker_name, "mapped worker is not defined");
        log.write(500, 0, worker_name, Routing::default());
        discard_request_body(incoming, &parts, limits);
        return Handled::Answered(error_response(500));
    };
    let (mut ctx, kind) = match mapping::build_context(
        &parts,
        incoming.is_end_stream(),
        info,
        &gateway.options,
    ) {
        Ok(built) => built,
        Err(rejected) => {
            tracing::info!(worker = %worker_name, reason = %rejected.reason, "request rejected");
            log.write(rejected.status, 0, &worker_name, Routing::default());
            discard_request_body(incoming, &parts, limits);
            return Handled::Answered(refusal_response(rejected.status, parts.version));
        }
    };
    let ext = &mount.extensions;
    ctx.overrides = RequestOverrides {
        reply_timeout: ext.reply_timeout,
        fail_on_status: ext.fail_on_status.clone(),
        use_server_errors: ext.use_server_errors,
    };
    let facts = match &target {
        Target::Balanced(_) => mapping::request_facts(&mut ctx, kind, ext),
        Target::Ajp(_) => RequestFacts::default(),
    };
    drop(mounts);
    // A body that has ended before it began (a GET's) is not boxed: nothing will be read of
    // it, and the box was an allocation per request.
    let mut body = if kind == crate::backend::BodyKind::Empty && incoming.is_end_stream() {
        RequestBody::empty()
    } else {
        RequestBody::new(incoming.map_err(BodyError::from_display).boxed(), kind)
    };
    apply_body_limits(&mut body, &parts, limits);
    let version = parts.version;
    let prefetch = kind == crate::backend::BodyKind::Chunked && version < http::Version::HTTP_2;
    let (sink, head) = ResponseSink::new();
    let mut relay = Some(relay::relay(
        target,
        worker_name,
        ctx,
        facts,
        body,
        prefetch,
        sink,
        log,
    ));
    Handled::Relaying {
        relay: RelayRest::take(&mut relay),
        head,
        version,
    }
}

/// A request refused by the client limits before anything else looks at it.
struct Refusal {
    status: u16,
    reason: String,
}

/// Checks the request head against `LimitRequestLine`, `LimitRequestFieldSize`,
/// `LimitRequestFields` and a declared body length against `LimitRequestBody`, with the
/// statuses httpd answers: 414, 400, 431 (hyper's answer for HTTP/1, which refuses a head
/// over the count before jkgate sees it; this catches HTTP/2) and 413. A body without a
/// length is held to `LimitRequestBody` while it is read (see [`apply_body_limits`]).
fn over_limits(
    limits: &ClientLimits,
    parts: &http::request::Parts,
    body: &ClientBody,
) -> Option<Refusal> {
    // `METHOD SP target SP HTTP/x.y`, the target as the client wrote it.
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len())
        + parts.uri.authority().map_or(0, |a| {
            a.as_str().len() + parts.uri.scheme_str().map_or(0, str::len) + 3
        });
    let line = parts.method.as_str().len() + 1 + target + 1 + "HTTP/1.1".len();
    if line > limits.request_line {
        return Some(Refusal {
            status: 414,
            reason: format!(
                "request line of {line} bytes is over LimitRequestLine {}",
                limits.request_line
            ),
        });
    }
    if parts.headers.len() > limits.fields {
        return Some(Refusal {
            status: 431,
            reason: format!(
                "{} header fields are over LimitRequestFields {}",
                parts.headers.len(),
                limits.fields
            ),
        });
    }
    for (name, value) in &parts.headers {
        let size = name.as_str().len() + 2 + value.len();
        if size > limits.field_size {
            return Some(Refusal {
                status: 400,
                reason: format!(
                    "header field `{name}` of {size} bytes is over LimitRequestFieldSize {}",
                    limits.field_size
                ),
            });
        }
    }
    if let (Some(limit), Some(length)) = (limits.body, body.size_hint().exact())
        && length > limit
    {
        return Some(Refusal {
            status: 413,
            reason: format!("Content-Length {length} is over LimitRequestBody {limit}"),
        });
    }
    None
}

/// `response` with `Connection: close` on HTTP/1.x (HTTP/2 has no such header; hyper ends
/// the stream there).
fn closing(mut response: Response<ResponseBody>, version: http::Version) -> Response<ResponseBody> {
    if version < http::Version::HTTP_2 {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// jkgate's page for a request it refuses itself (a malformed target, a forbidden byte):
/// after a 400 the connection closes, as httpd closes it (`ap_status_drops_connection`),
/// so nothing the client pipelined behind a malformed request is read as a request.
fn refusal_response(status: u16, version: http::Version) -> Response<ResponseBody> {
    let response = error_response(status);
    if status == 400 {
        closing(response, version)
    } else {
        response
    }
}

/// Holds the body to `LimitRequestBody` while it is read, and lets the relay read and drop
/// what the member leaves unread of an HTTP/1.x body (up to the same limit), as mod_jk does.
/// Dropping it instead makes hyper close the connection under a client that is still
/// sending: the client gets a broken pipe or a reset that can destroy the response before it
/// reads it, and loses its keep-alive connection. (HTTP/2 needs no discard: h2 ends the
/// stream with RST_STREAM(NO_ERROR) once the response is out.)
fn apply_body_limits(body: &mut RequestBody, parts: &http::request::Parts, limits: &ClientLimits) {
    body.set_limit(limits.body);
    if parts.version >= http::Version::HTTP_2 {
        return;
    }
    let expects_continue = parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    body.set_discard(limits.body.unwrap_or(u64::MAX), expects_continue);
}

/// Reads and drops the unread rest of a request body (see [`apply_body_limits`]).
async fn discard_unread(mut body: RequestBody) {
    match body.discard_rest().await {
        Ok(true) => {}
        Ok(false) => tracing::debug!("unread request body left; the client connection closes"),
        Err(err) => tracing::debug!(%err, "discarding the unread request body"),
    }
}

/// The body of a request jkgate answers itself goes the same way as a relayed one's.
fn discard_request_body(incoming: ClientBody, parts: &http::request::Parts, limits: &ClientLimits) {
    if incoming.is_end_stream() || parts.version >= http::Version::HTTP_2 {
        return;
    }
    let source = incoming.map_err(BodyError::from_display).boxed();
    let mut body = RequestBody::new(source, crate::backend::BodyKind::Chunked);
    apply_body_limits(&mut body, parts, limits);
    tokio::spawn(discard_unread(body));
}

/// Who answered a request, for its access log line.
#[derive(Debug, Default, Clone, Copy)]
struct Routing<'a> {
    /// The member of the last attempt.
    member: Option<&'a str>,
    /// The route of that member (lb), or the one sent.
    route: Option<&'a [u8]>,
    /// The route of the first member tried (lb).
    first_route: Option<&'a [u8]>,
    /// The session id.
    session: Option<&'a Bytes>,
}

/// What the access log line of one request is made of (jkgate's own fields, or the
/// operator's `JkRequestLogFormat`).
#[derive(Debug)]
struct AccessLine {
    /// What the line is made of: `None` when jkgate writes no access log.
    request: Option<LoggedRequest>,
}

/// The request's side of its access line, copied from the request head as it came in.
#[derive(Debug)]
struct LoggedRequest {
    /// The vhost that answered (`None`: the main server, or not chosen yet).
    server: Option<usize>,
    gateway: Arc<Gateway>,
    info: Arc<ConnectionInfo>,
    method: http::Method,
    uri: http::Uri,
    version: http::Version,
    host: Option<http::HeaderValue>,
    started: Instant,
}

impl AccessLine {
    fn write(&self, status: u16, bytes: u64, worker: &str, routing: Routing<'_>) {
        let Routing {
            member,
            route,
            first_route,
            session,
        } = routing;
        let (Some(access_log), Some(request)) = (access_log::current(), &self.request) else {
            return;
        };
        let session = session.map(|s| String::from_utf8_lossy(s).into_owned());
        // The route of the member that answered or failed last (lb), else the one the
        // session id names; and, for an lb, the route of the first member tried.
        let first_route = first_route.map(|r| String::from_utf8_lossy(r).into_owned());
        let route = route
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .or_else(|| {
                session
                    .as_deref()
                    .and_then(crate::balancer::route_of_session)
                    .map(str::to_owned)
            });
        let duration = request.started.elapsed();
        if let Some(format) = &request.gateway.access_format {
            let local_ip = String::from_utf8_lossy(&request.info.local_ip);
            let server_name = request
                .host
                .as_ref()
                .and_then(|h| h.to_str().ok())
                .map(|h| match h.rsplit_once(':') {
                    Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
                    _ => h,
                })
                .unwrap_or(&local_ip);
            let protocol = format!("{:?}", request.version);
            let line = format.render(&RequestLogFields {
                bytes,
                protocol: &protocol,
                method: request.method.as_str(),
                port: request.info.local_port,
                query: request.uri.query(),
                path: request.uri.path(),
                status,
                duration,
                server_name,
                virtual_host: request.gateway.server_hostname(request.server),
                worker,
                route: route.as_deref(),
                first_route: first_route.as_deref(),
                session: session.as_deref(),
                member,
                client: &String::from_utf8_lossy(&request.info.remote_ip),
            });
            access_log.write_line(&format!("{} {line}", access_log::timestamp()));
            return;
        }
        // jkgate's own line: key=value fields, text values quoted as Rust's Debug quotes
        // them (the layout of the tracing line it replaced, so parsers keep working).
        access_log.write_line(&format!(
            "{} access client={} method={} uri={} status={status} bytes={bytes} \
             duration_us={} worker={worker:?} member={:?} route={:?} first_route={:?} session={:?}",
            access_log::timestamp(),
            String::from_utf8_lossy(&request.info.remote_ip),
            request.method,
            request.uri,
            duration.as_micros() as u64,
            member.unwrap_or("-"),
            route.as_deref().unwrap_or("-"),
            first_route.as_deref().unwrap_or("-"),
            session.as_deref().unwrap_or("-"),
        ));
    }
}

/// A small HTML error page with the status and its standard reason.
pub fn error_response(status: u16) -> Response<ResponseBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(ResponseBody::Complete(error_page(status.as_u16())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(ERROR_PAGE_CONTENT_TYPE),
    );
    response
}

/// Binds `addr` (use port 0 for a free port) without serving yet, so that a reload can
/// bind every new address before it changes anything.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `listener` in a background task. Returns the bound address and a handle that
/// stops the server when triggered.
pub fn spawn(
    listener: TcpListener,
    current: CurrentGateway,
    tls: bool,
) -> std::io::Result<RunningServer> {
    spawn_as(
        listener,
        current,
        if tls { Role::Https } else { Role::Http },
    )
}

/// [`spawn`] for a listener of any [`Role`].
pub fn spawn_as(
    listener: TcpListener,
    current: CurrentGateway,
    role: Role,
) -> std::io::Result<RunningServer> {
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_as(listener, current, role, async move {
        let _ = stop_rx.await;
    }));
    Ok(RunningServer {
        addr: local,
        stop: Some(stop_tx),
        task,
    })
}

/// A server started by [`spawn`].
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting at once (the listening socket closes); open connections go on.
    pub fn stop_accepting(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops accepting and waits for open connections to finish (at most the gateway's
    /// `shutdown_grace`).
    pub async fn shutdown(mut self) {
        self.stop_accepting();
        let _ = (&mut self.task).await;
    }
}
