//! One TCP connection to an AJP13 connector, with its read and write buffers.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::outcome::{AttemptError, FailureKind, Phase};
use super::settings::{MemberConfig, nonzero};
use super::wire::{self, Reply};
use crate::ajp::{
    ContainerMessage, DecodeError, DecodeOptions, EncodeError, PacketSize, ProxyMessage,
};

/// Why reading a packet from the member failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing arrived in time.
    #[error("no packet within {0:?}")]
    Timeout(Duration),
    /// The member closed the connection.
    #[error("connection closed by the member")]
    Closed,
    /// An I/O error.
    #[error("read error: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not valid AJP13 from a container.
    #[error("invalid AJP13 from the member: {0}")]
    Protocol(#[from] DecodeError),
}

impl ReadError {
    /// The failure kind this read error stands for.
    pub fn kind(&self) -> FailureKind {
        match self {
            ReadError::Timeout(_) => FailureKind::ReplyTimeout,
            ReadError::Closed | ReadError::Io(_) => FailureKind::ConnectionLost,
            ReadError::Protocol(
                DecodeError::BadMagic { .. } | DecodeError::FrameTooLarge { .. },
            ) => FailureKind::BadFraming,
            ReadError::Protocol(_) => FailureKind::ProtocolViolation,
        }
    }
}

/// Why a CPING did not get its CPONG.
#[derive(Debug, thiserror::Error)]
pub enum CpingError {
    /// The CPING itself could not be written.
    #[error("sending CPING: {0}")]
    Send(io::Error),
    /// Reading the answer failed (timeout, close, reset, invalid AJP).
    #[error("waiting for CPONG: {0}")]
    Read(#[from] ReadError),
    /// The member answered with another packet type.
    #[error("expected CPONG, got packet type {0:#04x}")]
    Unexpected(u8),
    /// Two leftover packets of an earlier response in a row, no CPONG.
    #[error("expected CPONG, got two other packets")]
    NoCpong,
}

/// Below this much free room, the read buffer is grown before a read.
const MIN_READ_ROOM: usize = 1024;

/// What a read buffer grows by (see [`AjpConnection::fill`]); a connection back in the
/// pool keeps at most one packet's worth (see [`AjpConnection::shed_read_ahead`]).
const READ_AHEAD: usize = 64 * 1024;

/// An open connection to a member.
#[derive(Debug)]
pub struct AjpConnection {
    stream: TcpStream,
    read_buf: BytesMut,
    write_buf: BytesMut,
    packet_size: PacketSize,
    options: DecodeOptions,
    /// Requests completed on this connection.
    pub served: u64,
    /// When the connection was last returned to the pool (its last use by a request).
    pub idle_since: Instant,
    /// When an interval CPING last found it alive (pings are not use: they do not keep a
    /// connection from `connection_pool_timeout`).
    pub pinged_at: Option<Instant>,
    /// AJP bytes written to the member over the connection's life.
    pub bytes_written: u64,
    /// AJP bytes read from the member over the connection's life.
    pub bytes_read: u64,
    /// Read calls over the connection's life (what [`READ_AHEAD`] saves).
    pub(crate) reads: u64,
    /// The pool's address generation when it was opened (see `Pool::reconfigure`).
    pub generation: u64,
    /// Keeps the owning pool's count of open connections right: decremented when the
    /// connection is dropped, wherever that happens (idle list, a failed exchange, a reload).
    pub(crate) counted: Option<OpenConnection>,
}

/// One connection in a pool's count of open connections (mod_jk's `connected`): the count
/// goes down when this guard is dropped with its connection.
#[derive(Debug)]
pub(crate) struct OpenConnection(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl OpenConnection {
    /// Counts one more open connection in `open`; returns the guard and the count now.
    pub(crate) fn count_in(open: &std::sync::Arc<std::sync::atomic::AtomicUsize>) -> (Self, usize) {
        let now = open.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        (OpenConnection(open.clone()), now)
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl AjpConnection {
    /// Opens a connection (TCP_NODELAY, optional SO_KEEPALIVE and buffer sizes),
    /// bounded by `socket_connect_timeout`.
    pub async fn connect(cfg: &MemberConfig) -> Result<Self, AttemptError> {
        let socket = match cfg.address {
            std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .map_err(|e| {
            AttemptError::new(FailureKind::ConnectFailed, Phase::Connect, e.to_string())
        })?;
        if cfg.socket_keepalive {
            let _ = socket.set_keepalive(true);
        }
        if cfg.socket_buffer > 0 {
            let size = cfg.socket_buffer.max(cfg.packet_size.get() as u32);
            let _ = socket.set_send_buffer_size(size);
            let _ = socket.set_recv_buffer_size(size);
        }
        let connecting = socket.connect(cfg.address);
        let stream = match nonzero(cfg.socket_connect_timeout) {
            Some(limit) => match tokio::time::timeout(limit, connecting).await {
                Ok(result) => result,
                Err(_) => {
                    return Err(AttemptError::new(
                        FailureKind::ConnectTimeout,
                        Phase::Connect,
                        format!("no connection to {} within {limit:?}", cfg.address),
                    ));
                }
            },
            None => connecting.await,
        }
        .map_err(|e| {
            AttemptError::new(
                FailureKind::ConnectFailed,
                Phase::Connect,
                format!("connect to {}: {e}", cfg.address),
            )
        })?;
        let _ = stream.set_nodelay(true);
        Ok(AjpConnection {
            stream,
            read_buf: BytesMut::with_capacity(cfg.packet_size.get()),
            write_buf: BytesMut::with_capacity(cfg.packet_size.get()),
            packet_size: cfg.packet_size,
            options: DecodeOptions::new(cfg.packet_size),
            served: 0,
            idle_since: Instant::now(),
            pinged_at: None,
            bytes_written: 0,
            bytes_read: 0,
            reads: 0,
            generation: 0,
            counted: None,
        })
    }

    /// The packet size this connection speaks.
    pub fn packet_size(&self) -> PacketSize {
        self.packet_size
    }

    /// Encodes a message into the write buffer (sent by [`AjpConnection::flush`]).
    pub fn queue(&mut self, message: &ProxyMessage) -> Result<(), EncodeError> {
        wire::encode_proxy(message, &mut self.write_buf, self.packet_size)
    }

    /// Encodes the FORWARD_REQUEST of `ctx` for a member with `secret` into the write
    /// buffer.
    pub fn queue_forward(
        &mut self,
        ctx: &super::ForwardContext,
        secret: Option<&[u8]>,
    ) -> Result<(), EncodeError> {
        wire::encode_forward(ctx, secret, &mut self.write_buf, self.packet_size)
    }

    /// Encodes a request-body packet carrying `data` into the write buffer.
    pub fn queue_body(&mut self, data: &[u8]) {
        wire::encode_body(data, &mut self.write_buf, self.packet_size);
    }

    /// Writes everything queued, bounded by `limit` when given.
    pub async fn flush(&mut self, limit: Option<Duration>) -> io::Result<()> {
        if self.write_buf.is_empty() {
            return Ok(());
        }
        let write = self.stream.write_all(&self.write_buf);
        let result = match limit {
            Some(limit) => match tokio::time::timeout(limit, write).await {
                Ok(result) => result,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("write not finished within {limit:?}"),
                )),
            },
            None => write.await,
        };
        if result.is_ok() {
            self.bytes_written += self.write_buf.len() as u64;
        }
        self.write_buf.clear();
        result
    }

    /// True when a whole packet is already buffered (the next read will not wait).
    pub fn has_buffered_packet(&self) -> bool {
        wire::whole_packet_buffered(&self.read_buf)
    }

    /// Reads one packet from the member, waiting at most `limit` when given.
    pub async fn read_message(
        &mut self,
        limit: Option<Duration>,
    ) -> Result<ContainerMessage, ReadError> {
        match limit {
            Some(limit) => match tokio::time::timeout(limit, self.read_inner()).await {
                Ok(result) => result,
                Err(_) => Err(ReadError::Timeout(limit)),
            },
            None => self.read_inner().await,
        }
    }

    async fn read_inner(&mut self) -> Result<ContainerMessage, ReadError> {
        loop {
            if let Some(message) = wire::decode_container(&mut self.read_buf, &self.options)? {
                return Ok(message);
            }
            self.fill().await?;
        }
    }

    /// Reads the next packet of a response as the relay takes it: SEND_HEADERS mapped
    /// straight from the packet to the client's head. `is_head`: the request was a HEAD.
    pub(crate) async fn read_reply(
        &mut self,
        limit: Option<Duration>,
        is_head: bool,
    ) -> Result<Reply, ReadError> {
        // A packet already read (most of them: Tomcat's packets of one response come
        // together) is decoded without a future, a timer or a poll.
        if let Some(reply) = self.buffered_reply(is_head)? {
            return Ok(reply);
        }
        let read = async {
            loop {
                self.fill().await?;
                if let Some(reply) = self.buffered_reply(is_head)? {
                    return Ok(reply);
                }
            }
        };
        match limit {
            Some(limit) => tokio::time::timeout(limit, read)
                .await
                .unwrap_or(Err(ReadError::Timeout(limit))),
            None => read.await,
        }
    }

    /// The next packet if the buffer holds all of it. Only a whole packet is decoded: the
    /// decoder would otherwise grow the buffer by just the missing bytes, a new allocation
    /// and a copy of the partial packet whenever earlier packets are still on their way to
    /// the client (see `fill`). A bad header is an error at once.
    fn buffered_reply(&mut self, is_head: bool) -> Result<Option<Reply>, ReadError> {
        if wire::reply_bytes_missing(&self.read_buf, &self.options)? > 0 {
            return Ok(None);
        }
        Ok(wire::decode_reply(
            &mut self.read_buf,
            &self.options,
            is_head,
        )?)
    }

    /// One read from the member into the buffer, with room made first for the rest of
    /// the packet being read.
    ///
    /// The packets read are handed on as slices of this buffer, so while they are on
    /// their way to the client the buffer cannot be reused in place, and growing it means
    /// a new one. That new one is [`READ_AHEAD`] large: a large response (Tomcat writes
    /// its body in 8 KiB packets, each a little over 8 KiB on the wire) is read several
    /// packets per call, with one allocation for all of them, instead of one allocation,
    /// one copy of the partial packet and one more read per packet.
    async fn fill(&mut self) -> Result<(), ReadError> {
        let missing = wire::reply_bytes_missing(&self.read_buf, &self.options)?;
        if self.read_buf.capacity() - self.read_buf.len() < missing.max(MIN_READ_ROOM) {
            self.read_buf.reserve(missing.max(READ_AHEAD));
        }
        let n = self.stream.read_buf(&mut self.read_buf).await?;
        if n == 0 {
            return Err(ReadError::Closed);
        }
        self.bytes_read += n as u64;
        self.reads += 1;
        Ok(())
    }

    /// Sends CPING and waits for CPONG. A stray body chunk or END_RESPONSE left over
    /// from an earlier response is skipped once, as mod_jk does.
    pub async fn cping(&mut self, limit: Duration) -> Result<(), CpingError> {
        // A CPING always fits a packet.
        let _ = self.queue(&ProxyMessage::CPing);
        self.flush(Some(limit)).await.map_err(CpingError::Send)?;
        let deadline = Instant::now() + limit;
        for _ in 0..2 {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_message(Some(left)).await {
                Ok(ContainerMessage::CPong) => return Ok(()),
                Ok(other) => {
                    if !matches!(
                        other,
                        ContainerMessage::SendBodyChunk(_) | ContainerMessage::EndResponse { .. }
                    ) {
                        return Err(CpingError::Unexpected(other.code()));
                    }
                }
                Err(e) => return Err(CpingError::Read(e)),
            }
        }
        Err(CpingError::NoCpong)
    }

    /// Writes `bytes` as they are, outside the codec, bounded by `limit` when given: for
    /// tools that send hostile or hand-split packets (`jkgate ajp fuzz` and `replay`).
    /// Anything queued goes first.
    pub async fn write_raw(&mut self, bytes: &[u8], limit: Option<Duration>) -> io::Result<()> {
        self.flush(limit).await?;
        self.write_buf.extend_from_slice(bytes);
        self.flush(limit).await
    }

    /// Gives back the room a large response left in the read buffer, for a connection
    /// going back to the pool: an idle connection holds one packet's worth, not
    /// [`READ_AHEAD`]. (A buffer with bytes in it is left alone: that connection fails its
    /// next health check anyway.)
    pub fn shed_read_ahead(&mut self) {
        let packet = self.packet_size.get();
        if self.read_buf.is_empty() && self.read_buf.capacity() > packet {
            self.read_buf = BytesMut::with_capacity(packet);
        }
    }

    /// Checks an idle connection without waiting: false when the member closed it,
    /// reset it, or sent unexpected bytes while it was idle.
    pub fn is_idle_healthy(&mut self) -> bool {
        if !self.read_buf.is_empty() || !self.write_buf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::io::AsyncWriteExt;

    use super::*;
    use crate::ajp::{ContainerMessage, SendHeaders, encode_container_message};

    /// Tomcat's large response: SEND_HEADERS, `chunks` SEND_BODY_CHUNKs of 8 KiB of body
    /// each (8,200 bytes on the wire, a little over the packet size), END_RESPONSE.
    fn large_response(chunks: usize) -> Vec<u8> {
        let size = PacketSize::default();
        let mut wire = BytesMut::new();
        let head = ContainerMessage::SendHeaders(SendHeaders {
            status: 200,
            status_msg: Some(Bytes::from_static(b"200")),
            headers: Vec::new(),
        });
        encode_container_message(&head, size, &mut wire).unwrap();
        for i in 0..chunks {
            let chunk = ContainerMessage::SendBodyChunk(Bytes::from(vec![i as u8; 8184]));
            encode_container_message(&chunk, size, &mut wire).unwrap();
        }
        encode_container_message(
            &ContainerMessage::EndResponse { reuse: true },
            size,
            &mut wire,
        )
        .unwrap();
        wire.to_vec()
    }

    #[tokio::test]
    async fn a_large_response_is_read_several_packets_per_call_and_the_pool_gets_a_small_buffer() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cfg = MemberConfig::new("node1", listener.local_addr().unwrap());
        let wire = large_response(13);
        let member = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.write_all(&wire).await.unwrap();
            socket
        });
        let mut conn = AjpConnection::connect(&cfg).await.unwrap();
        let socket = member.await.unwrap();
        // Held as hyper holds them until written: the buffer cannot be reused in place.
        let mut chunks = Vec::new();
        loop {
            match conn.read_reply(None, false).await.unwrap() {
                Reply::Head(head) => assert_eq!(head.unwrap().status, 200),
                Reply::BodyChunk(data) => chunks.push(data),
                Reply::EndResponse { reuse } => {
                    assert!(reuse);
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(chunks.len(), 13);
        for (i, chunk) in chunks.iter().enumerate() {
            assert!(chunk.len() == 8184 && chunk.iter().all(|&b| b == i as u8));
        }
        // 106,700 bytes: two reads of 64 KiB at most, where one read per 8 KiB packet
        // (and an allocation and a copy of the partial packet each) took 14.
        assert!(conn.reads <= 4, "{} reads for 13 packets", conn.reads);
        assert!(conn.read_buf.capacity() > cfg.packet_size.get());
        conn.shed_read_ahead();
        assert!(conn.read_buf.capacity() <= cfg.packet_size.get());
        drop(socket);
    }

    #[tokio::test]
    async fn an_http_answer_on_the_ajp_port_is_an_error_at_once_not_a_wait() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cfg = MemberConfig::new("node1", listener.local_addr().unwrap());
        let member = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            // "HT" is no AJP magic; "TP" would read as a length of 21,584 bytes.
            socket.write_all(b"HTTP/1.1 400 \r\n\r\n").await.unwrap();
            socket // kept open: the answer must not wait for more bytes
        });
        let mut conn = AjpConnection::connect(&cfg).await.unwrap();
        let _socket = member.await.unwrap();
        let read = conn.read_reply(Some(Duration::from_secs(5)), false).await;
        match read {
            Err(ReadError::Protocol(DecodeError::BadMagic { .. })) => {}
            other => panic!("expected a bad magic at once, got {other:?}"),
        }
    }

    #[test]
    fn missing_bytes_of_the_packet_at_the_front() {
        // (buffered bytes, bytes the first packet still lacks; None: a bad header)
        let cases: &[(&[u8], Option<usize>)] = &[
            (b"", Some(4)),
            (b"AB", Some(2)),
            (b"AB\x00", Some(1)),
            (b"AB\x00\x00", Some(0)),
            (b"AB\x00\x02", Some(2)),
            (b"AB\x00\x02\x05", Some(1)),
            (b"AB\x00\x02\x05\x00", Some(0)),
            (b"AB\x00\x02\x05\x00\x41\x42", Some(0)),
            (b"AB\x1f\xfc", Some(8188)),
            (b"AB\xff\xff", None),
            (b"HT", None),
        ];
        let options = DecodeOptions::default();
        for &(buffered, missing) in cases {
            assert_eq!(
                wire::reply_bytes_missing(buffered, &options).ok(),
                missing,
                "{buffered:?}"
            );
            if let Some(missing) = missing {
                assert_eq!(wire::whole_packet_buffered(buffered), missing == 0);
            }
        }
    }
}
