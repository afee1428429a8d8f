//! An embedded AJP13 container written with the codec's container side: an echo
//! page and a session counter, each backend with its own jvmRoute. It also has
//! misbehaving modes (query `misbehave=`) for the malicious-backend tests.
//!
//! Pages (any path):
//! * path ending in `/session`: a counter per session; new sessions get
//!   `Set-Cookie: JSESSIONID=<hex>.<route>`.
//! * anything else: echo of the request (method, uri, query, headers, attributes,
//!   body length and FNV-1a hash).
//!
//! Query controls: `status=N`, `header=Name:Value`, `gen=N` (N body bytes),
//! `flush=K` (flush packet every K chunks), `sleep=ms` (before the headers),
//! `misbehave=bad-magic|length-past-payload|second-headers|overrun|close-before-headers|no-reuse`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Decoder, Encoder};

use crate::ajp::{
    Attribute, ContainerCodec, ContainerMessage, ContainerState, DecodeOptions, ForwardRequest,
    PacketSize, ProxyMessage, ResponseHeaderName, SendHeaders,
};

/// FNV-1a 64 over `data`, continuing from `hash` (start with [`FNV_START`]).
pub fn fnv1a(mut hash: u64, data: &[u8]) -> u64 {
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// FNV-1a 64 offset basis.
pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Counters of an embedded backend, for tests.
#[derive(Debug, Default)]
pub struct BackendStats {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Requests answered.
    pub requests: AtomicU64,
    /// CPINGs answered.
    pub cpings: AtomicU64,
}

/// A running embedded backend.
#[derive(Debug)]
pub struct EmbeddedBackend {
    /// Where it listens (loopback, dynamic port).
    pub addr: SocketAddr,
    /// Its jvmRoute.
    pub route: String,
    /// Counters.
    pub stats: Arc<BackendStats>,
    task: tokio::task::JoinHandle<()>,
    connections: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl EmbeddedBackend {
    /// Starts a backend with `route` on a free loopback port.
    pub async fn start(route: &str, packet_size: PacketSize) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stats = Arc::new(BackendStats::default());
        let shared = Arc::new(Shared {
            route: route.to_owned(),
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            stats: stats.clone(),
            packet_size,
        });
        let connections = Arc::new(Mutex::new(Vec::new()));
        let open = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                shared.stats.connections.fetch_add(1, Ordering::Relaxed);
                let handle = tokio::spawn(serve_connection(stream, shared.clone()));
                let mut open = open.lock().unwrap_or_else(|p| p.into_inner());
                open.retain(|h: &tokio::task::AbortHandle| !h.is_finished());
                open.push(handle.abort_handle());
            }
        });
        Ok(EmbeddedBackend {
            addr,
            route: route.to_owned(),
            stats,
            task,
            connections,
        })
    }

    /// Stops accepting connections (open ones are served to their end).
    pub fn stop(&self) {
        self.task.abort();
    }

    /// Stops at once, like a crashed JVM: no new connections, open ones dropped.
    pub fn kill(&self) {
        self.task.abort();
        for handle in self
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            handle.abort();
        }
    }
}

impl Drop for EmbeddedBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug)]
struct Shared {
    route: String,
    sessions: Mutex<HashMap<String, u64>>,
    next_session: AtomicU64,
    stats: Arc<BackendStats>,
    packet_size: PacketSize,
}

struct Conn {
    stream: TcpStream,
    codec: ContainerCodec,
    read: BytesMut,
    write: BytesMut,
}

impl Conn {
    async fn next(&mut self) -> Option<ProxyMessage> {
        loop {
            match self.codec.decode(&mut self.read) {
                Ok(Some(message)) => return Some(message),
                Ok(None) => {}
                Err(_) => return None,
            }
            match self.stream.read_buf(&mut self.read).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    fn queue(&mut self, message: ContainerMessage) -> bool {
        self.codec.encode(message, &mut self.write).is_ok()
    }

    async fn flush(&mut self) -> bool {
        let ok = self.stream.write_all(&self.write).await.is_ok();
        self.write.clear();
        ok
    }
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let mut conn = Conn {
        stream,
        codec: ContainerCodec::new(DecodeOptions::new(shared.packet_size)),
        read: BytesMut::with_capacity(16 * 1024),
        write: BytesMut::with_capacity(16 * 1024),
    };
    while let Some(message) = conn.next().await {
        match message {
            ProxyMessage::CPing => {
                shared.stats.cpings.fetch_add(1, Ordering::Relaxed);
                if !conn.queue(ContainerMessage::CPong) || !conn.flush().await {
                    return;
                }
            }
            ProxyMessage::ForwardRequest(request) => {
                if !serve_request(&mut conn, &shared, request).await {
                    return;
                }
                shared.stats.requests.fetch_add(1, Ordering::Relaxed);
            }
            _ => return,
        }
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Serves one request; false when the connection must close.
async fn serve_request(conn: &mut Conn, shared: &Shared, request: ForwardRequest) -> bool {
    let query = request
        .query_string()
        .map(|q| String::from_utf8_lossy(q).into_owned())
        .unwrap_or_default();
    let uri = String::from_utf8_lossy(request.req_uri.as_deref().unwrap_or_default()).into_owned();

    // Read the whole body, asking as Tomcat does.
    let mut body_len = 0u64;
    let mut body_hash = FNV_START;
    if conn.codec.state() == ContainerState::AwaitingBody {
        let mut first = true;
        let unsolicited = matches!(
            request.content_length(),
            crate::ajp::ContentLength::Length(_)
        );
        loop {
            if !(first && unsolicited) {
                let ask = ContainerMessage::GetBodyChunk {
                    requested_len: shared.packet_size.get_body_chunk_len(),
                };
                if !conn.queue(ask) || !conn.flush().await {
                    return false;
                }
            }
            first = false;
            match conn.next().await {
                Some(ProxyMessage::Body(data)) if data.is_empty() => break,
                Some(ProxyMessage::Body(data)) => {
                    body_len += data.len() as u64;
                    body_hash = fnv1a(body_hash, &data);
                }
                _ => return false,
            }
        }
        conn.codec.set_state(ContainerState::AwaitingRequest);
    }

    if let Some(ms) = query_param(&query, "sleep").and_then(|v| v.parse::<u64>().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let misbehave = query_param(&query, "misbehave").unwrap_or("");
    if misbehave == "close-before-headers" {
        return false;
    }
    if misbehave == "bad-magic" {
        let _ = conn.stream.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await;
        return false;
    }
    if misbehave == "length-past-payload" {
        // SEND_HEADERS whose header count runs past the payload.
        let _ = conn
            .stream
            .write_all(&[
                0x41, 0x42, 0x00, 0x0B, 0x04, 0x00, 0xC8, 0x00, 0x03, b'2', b'0', b'0', 0x00, 0x00,
                0x05,
            ])
            .await;
        return false;
    }

    let mut status: u16 = query_param(&query, "status")
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let mut headers: Vec<(ResponseHeaderName, Option<Bytes>)> = Vec::new();
    let mut body = String::new();
    let path_is_session = uri.ends_with("/session");
    if path_is_session {
        let cookie_session = request
            .header_values(b"cookie")
            .flatten()
            .flat_map(|v| v.split(|&b| b == b';'))
            .find_map(|pair| {
                pair.trim_ascii()
                    .strip_prefix(b"JSESSIONID=")
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            });
        let mut sessions = shared.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let (id, count) = match cookie_session.filter(|id| sessions.contains_key(id)) {
            Some(id) => {
                let count = sessions.entry(id.clone()).or_insert(0);
                *count += 1;
                (id, *count)
            }
            None => {
                let n = shared.next_session.fetch_add(1, Ordering::Relaxed);
                let id = format!(
                    "{:016X}.{}",
                    fnv1a(FNV_START, &n.to_be_bytes()) ^ n,
                    shared.route
                );
                sessions.insert(id.clone(), 1);
                headers.push((
                    ResponseHeaderName::from_name(Bytes::from_static(b"Set-Cookie")),
                    Some(Bytes::from(format!("JSESSIONID={id}; Path=/; HttpOnly"))),
                ));
                (id, 1)
            }
        };
        let _ = writeln!(body, "route={}\nsession={id}\ncount={count}", shared.route);
    } else {
        let method = request
            .method_name()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .unwrap_or_default();
        let s = |v: &Option<Bytes>| {
            String::from_utf8_lossy(v.as_deref().unwrap_or(b"<null>")).into_owned()
        };
        let _ = writeln!(body, "route={}", shared.route);
        let _ = writeln!(body, "method={method}");
        let _ = writeln!(body, "protocol={}", s(&request.protocol));
        let _ = writeln!(body, "uri={uri}");
        let _ = writeln!(body, "query={query}");
        let _ = writeln!(body, "remote_addr={}", s(&request.remote_addr));
        let _ = writeln!(body, "server_name={}", s(&request.server_name));
        let _ = writeln!(body, "server_port={}", request.server_port);
        let _ = writeln!(body, "is_ssl={}", request.is_ssl);
        for (name, value) in &request.headers {
            let _ = writeln!(
                body,
                "header.{}={}",
                String::from_utf8_lossy(name.as_bytes()).to_ascii_lowercase(),
                s(value)
            );
        }
        for attribute in &request.attributes {
            let line = match attribute {
                Attribute::ReqAttribute { name, value } => format!(
                    "attr.{}={}",
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(value)
                ),
                Attribute::SslKeySize(bits) => format!("ssl_key_size={bits}"),
                Attribute::Secret(_) => "secret=present".to_owned(),
                other => {
                    let name = Attribute::code_name(other.code()).unwrap_or("unknown");
                    let value = match other {
                        Attribute::QueryString(v)
                        | Attribute::Route(v)
                        | Attribute::SslCert(v)
                        | Attribute::SslCipher(v)
                        | Attribute::SslSession(v)
                        | Attribute::StoredMethod(v)
                        | Attribute::RemoteUser(v)
                        | Attribute::AuthType(v)
                        | Attribute::Context(v)
                        | Attribute::ServletPath(v) => {
                            String::from_utf8_lossy(v).replace('\n', "\\n")
                        }
                        _ => String::new(),
                    };
                    format!("{name}={value}")
                }
            };
            let _ = writeln!(body, "{line}");
        }
        let _ = writeln!(body, "body_length={body_len}");
        let _ = writeln!(body, "body_fnv={body_hash:016x}");
    }
    if let Some(header) = query_param(&query, "header")
        && let Some((name, value)) = header.split_once(':')
    {
        headers.push((
            ResponseHeaderName::from_name(Bytes::copy_from_slice(name.as_bytes())),
            Some(Bytes::copy_from_slice(value.as_bytes())),
        ));
    }
    if status < 100 {
        status = 200;
    }
    let generate = query_param(&query, "gen").and_then(|v| v.parse::<u64>().ok());
    let flush_every = query_param(&query, "flush").and_then(|v| v.parse::<u64>().ok());
    let body_bytes = Bytes::from(body);
    let declared = match generate {
        Some(n) => n,
        None => body_bytes.len() as u64,
    };
    headers.push((
        ResponseHeaderName::from_name(Bytes::from_static(b"Content-Type")),
        Some(Bytes::from_static(b"text/plain;charset=UTF-8")),
    ));
    if flush_every.is_none() || misbehave == "overrun" {
        headers.push((
            ResponseHeaderName::from_name(Bytes::from_static(b"Content-Length")),
            Some(Bytes::from(declared.to_string())),
        ));
    }
    let send_headers = ContainerMessage::SendHeaders(SendHeaders {
        status,
        status_msg: Some(Bytes::from(status.to_string())),
        headers,
    });
    if !conn.queue(send_headers.clone()) {
        return false;
    }
    if misbehave == "second-headers" {
        conn.queue(ContainerMessage::SendBodyChunk(Bytes::from_static(b"x")));
        conn.queue(send_headers);
        let _ = conn.flush().await;
        return false;
    }
    let no_body = status == 204 || status == 304 || request.method_name() == Some(b"HEAD");
    let max_chunk = shared.packet_size.max_response_body_data();
    if !no_body {
        match generate {
            Some(total) => {
                let pattern: Vec<u8> = (0..max_chunk).map(|i| b'a' + (i % 26) as u8).collect();
                let mut sent = 0u64;
                let mut chunks = 0u64;
                let total = if misbehave == "overrun" {
                    total + 10
                } else {
                    total
                };
                while sent < total {
                    let n = (total - sent).min(max_chunk as u64) as usize;
                    conn.queue(ContainerMessage::SendBodyChunk(Bytes::copy_from_slice(
                        &pattern[..n],
                    )));
                    sent += n as u64;
                    chunks += 1;
                    if let Some(k) = flush_every
                        && k > 0
                        && chunks % k == 0
                    {
                        conn.queue(ContainerMessage::SendBodyChunk(Bytes::new()));
                        if !conn.flush().await {
                            return false;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    if conn.write.len() > 64 * 1024 && !conn.flush().await {
                        return false;
                    }
                }
            }
            None => {
                for piece in body_bytes.chunks(max_chunk) {
                    conn.queue(ContainerMessage::SendBodyChunk(Bytes::copy_from_slice(
                        piece,
                    )));
                }
            }
        }
    }
    let reuse = misbehave != "no-reuse";
    conn.queue(ContainerMessage::EndResponse { reuse });
    conn.flush().await && reuse
}
