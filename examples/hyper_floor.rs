//! The least a hyper + tokio front end can cost per request: the floor under jkgate's CPU
//! set by the stack it is built on. Run through `benches/peers.sh --floor`, which measures it
//! beside jkgate, httpd + mod_jk, nginx and HAProxy in front of the same Tomcat nodes.
//!
//! Usage:
//! - `hyper_floor answer ADDR DIR`: answers a request for `.../NAME` with the bytes of the
//!   file DIR/NAME, read into memory at the start (with the headers Tomcat's default servlet
//!   sends for a static file), and 404 for any other. No upstream at all: what hyper's
//!   HTTP/1 server and tokio cost alone.
//! - `hyper_floor proxy ADDR UPSTREAM[,UPSTREAM...]`: relays every request to an UPSTREAM
//!   (`host:port`, an HTTP/1.1 server such as Tomcat's HTTP connector) over kept-alive
//!   connections (hyper-util's pooled client) and streams the answer back: the Nth upstream
//!   for a JSESSIONID ending in `.nodeN` (as the benches' nginx map does), else the next in
//!   turn. No mapping, no limits, no log: the smallest HTTP proxy this stack makes, doing
//!   what nginx and HAProxy do in front of Tomcat.
//!
//! Both serve with jkgate's own hyper settings (`server::limits::http_builder` with the
//! default client limits) on a multi-threaded runtime, as `jkgate run` does.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::uri::{Authority, Scheme, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use jkgate::config::limits::ClientLimits;
use jkgate::server::limits::http_builder;
use tokio::net::TcpListener;

/// What the program is asked to be.
enum Mode {
    /// The files to answer with, by name.
    Answer(HashMap<String, Bytes>),
    /// The upstreams, parsed once, and the turn of the next request without a session.
    Proxy(Vec<Authority>, AtomicUsize),
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: hyper_floor answer ADDR DIR | hyper_floor proxy ADDR HOST:PORT[,HOST:PORT...]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, addr, what] = args.as_slice() else {
        return usage();
    };
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return usage();
    };
    let mode = match mode.as_str() {
        "answer" => match read_files(what) {
            Ok(files) => Mode::Answer(files),
            Err(e) => {
                eprintln!("hyper_floor: cannot read {what}: {e}");
                return ExitCode::FAILURE;
            }
        },
        "proxy" => match what.split(',').map(str::parse).collect() {
            Ok(upstreams) => Mode::Proxy(upstreams, AtomicUsize::new(0)),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hyper_floor: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(addr, mode)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hyper_floor: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every regular file of `dir`, by name.
fn read_files(dir: &str) -> std::io::Result<HashMap<String, Bytes>> {
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.insert(name, Bytes::from(std::fs::read(entry.path())?));
        }
    }
    Ok(files)
}

/// Accepts for ever, one task per connection, as jkgate's listener does.
async fn serve(addr: SocketAddr, mode: Mode) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let builder = http_builder(&ClientLimits::default());
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mode = std::sync::Arc::new(mode);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let builder = builder.clone();
        let client = client.clone();
        let mode = mode.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let client = client.clone();
                let mode = mode.clone();
                async move { Ok::<_, Infallible>(respond(&mode, &client, req).await) }
            });
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

type AnswerBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;
type Answer = Response<AnswerBody>;

async fn respond(
    mode: &Mode,
    client: &Client<HttpConnector, Incoming>,
    req: Request<Incoming>,
) -> Answer {
    match mode {
        Mode::Answer(files) => {
            let name = req.uri().path().rsplit('/').next().unwrap_or_default();
            let Some(body) = files.get(name) else {
                return status_only(http::StatusCode::NOT_FOUND);
            };
            Response::builder()
                .header("accept-ranges", "bytes")
                .header("etag", format!("W/\"{}-1733400000000\"", body.len()))
                .header("last-modified", "Sat, 05 Dec 2026 12:00:00 GMT")
                .header("content-type", "application/octet-stream")
                .body(full(body.clone()))
                .unwrap_or_else(|_| status_only(http::StatusCode::INTERNAL_SERVER_ERROR))
        }
        Mode::Proxy(upstreams, turn) => {
            let upstream = match session_node(&req) {
                Some(n) if (1..=upstreams.len()).contains(&n) => &upstreams[n - 1],
                _ => &upstreams[turn.fetch_add(1, Ordering::Relaxed) % upstreams.len()],
            };
            let (mut parts, body) = req.into_parts();
            // The client's path (origin form) on the upstream, from parts parsed already.
            let mut uri = std::mem::take(&mut parts.uri).into_parts();
            uri.scheme = Some(Scheme::HTTP);
            uri.authority = Some(upstream.clone());
            let Ok(uri) = Uri::from_parts(uri) else {
                return status_only(http::StatusCode::BAD_GATEWAY);
            };
            parts.uri = uri;
            match client.request(Request::from_parts(parts, body)).await {
                Ok(answer) => answer.map(BodyExt::boxed),
                Err(_) => status_only(http::StatusCode::BAD_GATEWAY),
            }
        }
    }
}

/// N of a JSESSIONID cookie ending in `.nodeN`.
fn session_node(req: &Request<Incoming>) -> Option<usize> {
    let cookies = req.headers().get(http::header::COOKIE)?.to_str().ok()?;
    let (_, id) = cookies.split_once("JSESSIONID=")?;
    let id = id.split(';').next()?;
    id.rsplit_once(".node")?.1.parse().ok()
}

/// An answer with no body (the bench counts non-2xx answers as errors): no such file, or
/// the upstream failed (502).
fn status_only(status: http::StatusCode) -> Answer {
    let mut answer = Response::new(full(Bytes::new()));
    *answer.status_mut() = status;
    answer
}

/// `bytes` as a whole body of the boxed type both modes answer with.
fn full(bytes: Bytes) -> AnswerBody {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}
