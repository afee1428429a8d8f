//! A scripted AJP13 container for tests: it records every packet jkgate sends and
//! answers as each test's script says, including with broken or hostile bytes.
//!
//! Include with `#[path = "support/container.rs"] mod container;` (needs no system
//! package; built on jkgate's own codec, container side).
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use jkgate::ajp::{
    ContainerCodec, ContainerMessage, ContainerState, DecodeOptions, ForwardRequest, PacketSize,
    ProxyMessage, ResponseHeaderName, SendHeaders,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Decoder, Encoder};

/// One packet jkgate sent, with the number of the connection it came on.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    /// Connection number, from 0, in accept order.
    pub conn: usize,
    /// The packet.
    pub message: ProxyMessage,
}

/// A connection as a script sees it.
pub struct Conn {
    /// Connection number.
    pub id: usize,
    stream: TcpStream,
    codec: ContainerCodec,
    read: BytesMut,
    write: BytesMut,
    log: Arc<Mutex<Vec<Received>>>,
}

/// What a script does with one connection.
pub type Script =
    Arc<dyn Fn(Conn) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync + 'static>;

impl Conn {
    /// The next packet, or `None` on close, error or after `limit`.
    pub async fn recv(&mut self, limit: Duration) -> Option<ProxyMessage> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match self.codec.decode(&mut self.read) {
                Ok(Some(message)) => {
                    self.log.lock().unwrap().push(Received {
                        conn: self.id,
                        message: message.clone(),
                    });
                    return Some(message);
                }
                Ok(None) => {}
                Err(_) => return None,
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.read)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    /// Expects a FORWARD_REQUEST (answering CPINGs before it).
    pub async fn request(&mut self, limit: Duration) -> Option<ForwardRequest> {
        loop {
            match self.recv(limit).await? {
                ProxyMessage::ForwardRequest(request) => return Some(request),
                ProxyMessage::CPing => {
                    self.send(ContainerMessage::CPong).await;
                }
                _ => return None,
            }
        }
    }

    /// True when nothing arrives within `wait` (the connection stays open and quiet).
    pub async fn quiet_for(&mut self, wait: Duration) -> bool {
        if !self.read.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        tokio::time::timeout(wait, self.stream.peek(&mut probe))
            .await
            .is_err()
    }

    /// Puts the decoder back to "between requests" (after the body ended, or when
    /// the script answered without reading the body).
    pub fn request_done(&mut self) {
        self.codec.set_state(ContainerState::AwaitingRequest);
    }

    /// Sends one message.
    pub async fn send(&mut self, message: ContainerMessage) -> bool {
        if self.codec.encode(message, &mut self.write).is_err() {
            return false;
        }
        let ok = self.stream.write_all(&self.write).await.is_ok();
        self.write.clear();
        ok
    }

    /// Sends raw bytes (for hostile packets).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok()
    }

    /// Sends SEND_HEADERS with `status` and headers, then the body as chunks, then
    /// END_RESPONSE(reuse).
    pub async fn respond(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) -> bool {
        let headers = headers
            .iter()
            .map(|(n, v)| {
                (
                    ResponseHeaderName::from_name(Bytes::copy_from_slice(n.as_bytes())),
                    Some(Bytes::copy_from_slice(v.as_bytes())),
                )
            })
            .collect();
        if !self
            .send(ContainerMessage::SendHeaders(SendHeaders {
                status,
                status_msg: Some(Bytes::from(status.to_string())),
                headers,
            }))
            .await
        {
            return false;
        }
        for piece in body.chunks(8184) {
            if !self
                .send(ContainerMessage::SendBodyChunk(Bytes::copy_from_slice(
                    piece,
                )))
                .await
            {
                return false;
            }
        }
        self.send(ContainerMessage::EndResponse { reuse: true })
            .await
    }

    /// Reads the request body as Tomcat does: the unsolicited first packet when the
    /// request announced a length, then one GET_BODY_CHUNK(`ask`) per packet until the
    /// empty packet. Returns every packet's data, in order.
    pub async fn read_body(&mut self, request: &ForwardRequest, ask: u16) -> Option<Vec<Bytes>> {
        let mut packets = Vec::new();
        if self.codec.state() != ContainerState::AwaitingBody {
            return Some(packets);
        }
        let mut unsolicited = matches!(
            request.content_length(),
            jkgate::ajp::ContentLength::Length(_)
        );
        loop {
            if !unsolicited
                && !self
                    .send(ContainerMessage::GetBodyChunk { requested_len: ask })
                    .await
            {
                return None;
            }
            unsolicited = false;
            match self.recv(Duration::from_secs(10)).await? {
                ProxyMessage::Body(data) if data.is_empty() => {
                    packets.push(data);
                    self.request_done();
                    return Some(packets);
                }
                ProxyMessage::Body(data) => packets.push(data),
                _ => return None,
            }
        }
    }
}

/// A running scripted container.
pub struct Container {
    /// Where it listens.
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Received>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Container {
    /// Starts a container on a free loopback port; every accepted connection runs `script`.
    pub async fn start(script: Script) -> Container {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let task = {
            let log = log.clone();
            let connections = connections.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let _ = stream.set_nodelay(true);
                    let id = connections.fetch_add(1, Ordering::SeqCst);
                    let conn = Conn {
                        id,
                        stream,
                        codec: ContainerCodec::new(DecodeOptions::new(PacketSize::DEFAULT)),
                        read: BytesMut::with_capacity(16 * 1024),
                        write: BytesMut::with_capacity(16 * 1024),
                        log: log.clone(),
                    };
                    tokio::spawn(script(conn));
                }
            })
        };
        Container {
            addr,
            log,
            connections,
            task,
        }
    }

    /// Every packet received so far.
    pub fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    /// The FORWARD_REQUESTs received so far.
    pub fn requests(&self) -> Vec<ForwardRequest> {
        self.received()
            .into_iter()
            .filter_map(|r| match r.message {
                ProxyMessage::ForwardRequest(request) => Some(request),
                _ => None,
            })
            .collect()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Wraps an async closure as a [`Script`].
pub fn script<F, Fut>(f: F) -> Script
where
    F: Fn(Conn) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |conn| Box::pin(f(conn)))
}

/// A well-behaved container: reads each body as Tomcat does and answers
/// `200` with body `<label>:<body bytes>` on the same connection.
pub fn echo_script(label: &'static str) -> Script {
    script(move |mut conn: Conn| async move {
        while let Some(request) = conn.request(Duration::from_secs(30)).await {
            let Some(body) = conn.read_body(&request, 8186).await else {
                return;
            };
            let total: usize = body.iter().map(Bytes::len).sum();
            let text = format!("{label}:{total}");
            if !conn
                .respond(200, &[("Content-Type", "text/plain")], text.as_bytes())
                .await
            {
                return;
            }
        }
    })
}
