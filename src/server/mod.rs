//! The HTTP(S) listener: hyper 1 (HTTP/1.1 keep-alive and HTTP/2), rustls TLS,
//! request mapping to workers, streaming relay, access log.
//!
//! Listeners read the running configuration from a [`CurrentGateway`]: each connection
//! takes the TLS acceptor of the gateway current when it is accepted, each request the
//! gateway current when it arrives, and keeps it until it is answered. A reload swaps the
//! gateway; what is in flight finishes on the one it started with.

pub mod mapping;
pub(crate) mod status_page;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::backend::body::{
    BodyError, ERROR_PAGE_CONTENT_TYPE, ResponseBody, ResponseHead, error_page,
};
use crate::backend::context::RequestOverrides;
use crate::backend::dispatch::{Target, Workers};
use crate::backend::{RequestBody, ResponseSink};
use crate::balancer::RequestFacts;
use crate::config::ini::{RequestLogFields, RequestLogFormat};
use crate::config::uriworkermap::MountTable;
use crate::status::StatusWorkers;
use mapping::{ConnectionInfo, MappingOptions};

/// Everything a request needs: mounts, workers and mapping options, as one configuration
/// generation assembled them (the application builds it; nothing here reads settings).
pub struct Gateway {
    /// The mount table (swapped on reload).
    pub mounts: ArcSwap<MountTable>,
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
    /// The TLS acceptor of the HTTPS listeners (`None` without TLS settings).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("mounts", &self.mounts)
            .field("workers", &self.workers)
            .field("options", &self.options)
            .field("status", &self.status)
            .field("access_format", &self.access_format)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The gateway requests are served with now; a reload stores the next one.
pub type CurrentGateway = Arc<ArcSwap<Gateway>>;

/// Serves HTTP (and, when `tls`, HTTPS with the current gateway's acceptor) on `listener`
/// until `shutdown` resolves; then stops accepting and lets open connections finish.
pub async fn serve(
    listener: TcpListener,
    current: CurrentGateway,
    tls: bool,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // A client that shuts down its write side after the request (`Connection: close`
    // clients such as `nc -N`) still gets its response, as httpd gives it.
    builder
        .http1()
        .keep_alive(true)
        .half_close(true)
        .timer(hyper_util::rt::TokioTimer::new());
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::warn!(%err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(remote);
        let current = current.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let acceptor = if tls {
            match &current.load().tls {
                Some(acceptor) => Some(acceptor.clone()),
                None => {
                    tracing::error!(%local, "HTTPS listener without a certificate; connection closed");
                    continue;
                }
            }
        } else {
            None
        };
        tokio::spawn(async move {
            match acceptor {
                None => {
                    let info = Arc::new(ConnectionInfo::new(remote, local, None));
                    let service = service(current, info);
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
                Some(acceptor) => {
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
                    let service = service(current, info);
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
            }
        });
    }
    // The port closes now (new clients are refused at once), not after the drain.
    drop(listener);
    // In-flight requests get a bounded grace period; a client that hangs on to its
    // connection does not hold the shutdown up for ever.
    let grace = current.load().shutdown_grace;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "connections still open after the shutdown grace period; closing them"
        );
    }
}

fn service(
    current: CurrentGateway,
    info: Arc<ConnectionInfo>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<ResponseBody>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<ResponseBody>, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |req| handle(current.load_full(), info.clone(), req))
}

/// Handles one request: map, relay, answer.
pub async fn handle(
    gateway: Arc<Gateway>,
    info: Arc<ConnectionInfo>,
    req: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = Instant::now();
    let (parts, incoming) = req.into_parts();
    let log = AccessLine {
        gateway: gateway.clone(),
        info: info.clone(),
        method: parts.method.clone(),
        uri: parts.uri.clone(),
        version: parts.version,
        host: parts.headers.get(http::header::HOST).cloned(),
        started,
    };
    let path = match mapping::matching_path(parts.uri.path()) {
        Ok(path) => path,
        Err(rejected) => {
            log.write(rejected.status, 0, "-", None, None, None);
            discard_request_body(incoming, &parts);
            return Ok(error_response(rejected.status));
        }
    };
    let mounts = gateway.mounts.load();
    let Some(mount) = mounts.find(&path) else {
        log.write(404, 0, "-", None, None, None);
        discard_request_body(incoming, &parts);
        return Ok(error_response(404));
    };
    let worker_name: Arc<str> = Arc::from(mount.worker.as_str());
    if let Some(status) = gateway.status.get(&worker_name) {
        drop(mounts);
        let response = status_page::respond(status, &gateway, &parts, &info);
        let bytes = response.body().size_hint().exact().unwrap_or(0);
        log.write(200, bytes, &worker_name, None, None, None);
        return Ok(response);
    }
    let Some(target) = gateway.workers.get(&worker_name).cloned() else {
        tracing::error!(worker = %worker_name, "mapped worker is not defined");
        log.write(500, 0, &worker_name, None, None, None);
        discard_request_body(incoming, &parts);
        return Ok(error_response(500));
    };
    let (mut ctx, kind) = match mapping::build_context(
        &parts,
        incoming.is_end_stream(),
        &info,
        &gateway.options,
    ) {
        Ok(built) => built,
        Err(rejected) => {
            tracing::info!(worker = %worker_name, reason = %rejected.reason, "request rejected");
            log.write(rejected.status, 0, &worker_name, None, None, None);
            discard_request_body(incoming, &parts);
            return Ok(error_response(rejected.status));
        }
    };
    let ext = &mount.extensions;
    ctx.overrides = RequestOverrides {
        reply_timeout: ext.reply_timeout,
        fail_on_status: ext.fail_on_status.clone(),
        use_server_errors: ext.use_server_errors,
    };
    let facts = match &target {
        Target::Balanced(_) => mapping::request_facts(&parts, &ctx, kind, ext),
        Target::Ajp(_) => RequestFacts::default(),
    };
    drop(mounts);
    let mut body = RequestBody::new(incoming.map_err(BodyError::from_display).boxed(), kind);
    allow_discard(&mut body, &parts);
    let (sink, mut head_rx) = ResponseSink::new();
    let mut relay = Box::pin(relay(target, worker_name, ctx, facts, body, sink, log));
    tokio::select! {
        biased;
        failed = &mut relay => {
            match head_rx.try_recv() {
                Ok(head) => Ok(into_response(head)),
                Err(_) => Ok(error_response(failed.unwrap_or(502))),
            }
        }
        head = &mut head_rx => match head {
            Ok(head) => {
                tokio::spawn(relay);
                Ok(into_response(head))
            }
            Err(_) => {
                let failed = relay.await;
                Ok(error_response(failed.unwrap_or(502)))
            }
        },
    }
}

/// At most this much of a request body nobody read is read and dropped after its response
/// (httpd's default `LimitRequestBody`); beyond it the client connection is closed.
const DISCARD_LIMIT: u64 = 1 << 30;

/// Lets the relay read and drop what the member leaves unread of an HTTP/1.x body, as
/// mod_jk does. Dropping it instead makes hyper close the connection under a client that
/// is still sending: the client gets a broken pipe or a reset that can destroy the response
/// before it reads it, and loses its keep-alive connection. (HTTP/2 needs none of this: h2
/// ends the stream with RST_STREAM(NO_ERROR) once the response is out.)
fn allow_discard(body: &mut RequestBody, parts: &http::request::Parts) {
    if parts.version >= http::Version::HTTP_2 {
        return;
    }
    let expects_continue = parts
        .headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    body.set_discard(DISCARD_LIMIT, expects_continue);
}

/// Reads and drops the unread rest of a request body (see [`allow_discard`]).
async fn discard_unread(mut body: RequestBody) {
    match body.discard_rest().await {
        Ok(true) => {}
        Ok(false) => tracing::debug!("unread request body left; the client connection closes"),
        Err(err) => tracing::debug!(%err, "discarding the unread request body"),
    }
}

/// The body of a request jkgate answers itself goes the same way as a relayed one's.
fn discard_request_body(incoming: Incoming, parts: &http::request::Parts) {
    if incoming.is_end_stream() || parts.version >= http::Version::HTTP_2 {
        return;
    }
    let source = incoming.map_err(BodyError::from_display).boxed();
    let mut body = RequestBody::new(source, crate::backend::BodyKind::Chunked);
    allow_discard(&mut body, parts);
    tokio::spawn(discard_unread(body));
}

/// Runs the relay to the end; returns the error status when no head reached the client.
async fn relay(
    target: Target,
    worker: Arc<str>,
    mut ctx: crate::backend::ForwardContext,
    facts: RequestFacts,
    mut body: RequestBody,
    mut sink: ResponseSink,
    log: AccessLine,
) -> Option<u16> {
    let result = target.forward(&mut ctx, &mut body, &mut sink, &facts).await;
    let session = sink
        .new_session()
        .cloned()
        .or_else(|| ctx.session_id.clone());
    // (status for the log, body bytes, jkgate's own answer when nothing reached the client)
    let (logged, bytes, answer) = match result {
        Ok(done) => (done.status, done.body_bytes, None),
        Err(err) => {
            tracing::warn!(
                worker = %worker,
                member = %ctx.member.as_deref().unwrap_or("-"),
                "request failed: {err}"
            );
            let bytes = sink.body_bytes();
            if sink.abort(&err.to_string()).await {
                // The response was cut short: the client connection ends here.
                (0, bytes, None)
            } else {
                let status = err.http_status();
                (status, 0, Some(status))
            }
        }
    };
    log.write(
        logged,
        bytes,
        &worker,
        ctx.member.as_deref(),
        ctx.route.as_ref(),
        session.as_ref(),
    );
    // A complete answer (the member's or jkgate's own page) went out: what the client still
    // sends of its body is read and dropped so the connection stays usable.
    if logged != 0 && body.has_unread_rest() {
        tokio::spawn(discard_unread(body));
    }
    answer
}

/// What the access log line of one request is made of (jkgate's own fields, or the
/// operator's `JkRequestLogFormat`).
#[derive(Debug)]
struct AccessLine {
    gateway: Arc<Gateway>,
    info: Arc<ConnectionInfo>,
    method: http::Method,
    uri: http::Uri,
    version: http::Version,
    host: Option<http::HeaderValue>,
    started: Instant,
}

impl AccessLine {
    fn write(
        &self,
        status: u16,
        bytes: u64,
        worker: &str,
        member: Option<&str>,
        route: Option<&Bytes>,
        session: Option<&Bytes>,
    ) {
        if !tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) {
            return;
        }
        let session = session.map(|s| String::from_utf8_lossy(s).into_owned());
        // The route sent to the member (lb), else the one the session id names.
        let route = route
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .or_else(|| {
                session
                    .as_deref()
                    .and_then(crate::balancer::route_of_session)
                    .map(str::to_owned)
            });
        let duration = self.started.elapsed();
        if let Some(format) = &self.gateway.access_format {
            let local_ip = String::from_utf8_lossy(&self.info.local_ip);
            let server_name = self
                .host
                .as_ref()
                .and_then(|h| h.to_str().ok())
                .map(|h| match h.rsplit_once(':') {
                    Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
                    _ => h,
                })
                .unwrap_or(&local_ip);
            let protocol = format!("{:?}", self.version);
            let line = format.render(&RequestLogFields {
                bytes,
                protocol: &protocol,
                method: self.method.as_str(),
                port: self.info.local_port,
                query: self.uri.query(),
                path: self.uri.path(),
                status,
                duration,
                server_name,
                worker,
                route: route.as_deref(),
                session: session.as_deref(),
                member,
            });
            tracing::info!(target: ACCESS_TARGET, "{line}");
            return;
        }
        tracing::info!(
            target: ACCESS_TARGET,
            client = %String::from_utf8_lossy(&self.info.remote_ip),
            method = %self.method,
            uri = %self.uri,
            status,
            bytes,
            duration_us = duration.as_micros() as u64,
            worker,
            member = member.unwrap_or("-"),
            route = route.as_deref().unwrap_or("-"),
            session = session.as_deref().unwrap_or("-"),
            "access"
        );
    }
}

/// The tracing target of access log lines.
pub const ACCESS_TARGET: &str = "jkgate::access";

fn into_response(head: ResponseHead) -> Response<ResponseBody> {
    let mut response = Response::new(head.body);
    *response.status_mut() = StatusCode::from_u16(head.status).unwrap_or(StatusCode::BAD_GATEWAY);
    // Tomcat sends the number as its "message"; the worker drops that, so most statuses
    // get hyper's standard phrase. A status hyper has no phrase for would go out as
    // `599 <none>`: mod_jk's phrase for unknown codes instead.
    let reason = head
        .reason
        .and_then(|reason| hyper::ext::ReasonPhrase::try_from(reason).ok())
        .or_else(|| {
            response
                .status()
                .canonical_reason()
                .is_none()
                .then(|| hyper::ext::ReasonPhrase::from_static(b"Unknown Reason"))
        });
    if let Some(reason) = reason {
        response.extensions_mut().insert(reason);
    }
    let headers = response.headers_mut();
    headers.reserve(head.headers.len());
    for (name, value) in head.headers {
        match (
            http::HeaderName::from_bytes(&name),
            http::HeaderValue::from_maybe_shared(value),
        ) {
            (Ok(name), Ok(value)) => {
                headers.append(name, value);
            }
            _ => tracing::warn!(
                header = %String::from_utf8_lossy(&name),
                "dropping invalid response header from the member"
            ),
        }
    }
    response
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
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve(listener, current, tls, async move {
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
