//! A small async HTTP/1.1 client over raw TCP for tests: exact control over what is
//! sent (chunked bodies, aborts, pipelining) and a plain parse of what comes back.
//!
//! Include with `#[path = "support/client.rs"] mod client;`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// The status line's reason phrase.
    pub reason: String,
    /// Headers in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Reply {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of header `name`, in order.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The value of a `key=value` line of the body (the embedded backend's echo format).
    pub fn line(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}=");
        self.text()
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
    }
}

/// One connection to a server.
pub struct Client {
    stream: TcpStream,
    buffered: Vec<u8>,
}

/// Bound on every wait of this client.
pub const WAIT: Duration = Duration::from_secs(20);

impl Client {
    /// Connects.
    pub async fn connect(addr: SocketAddr) -> Client {
        let stream = tokio::time::timeout(WAIT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Client {
            stream,
            buffered: Vec::new(),
        }
    }

    /// Sends raw bytes.
    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(WAIT, self.stream.write_all(bytes))
            .await
            .expect("write in time")
            .expect("write");
    }

    /// Sends `METHOD target` with `headers` (`Host` added) and `body` (with a
    /// Content-Length when `body` is `Some`).
    pub async fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: test.example\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        if let Some(body) = body {
            bytes.extend_from_slice(body);
        }
        self.send(&bytes).await;
        self.read_reply(method == "HEAD").await
    }

    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        let n = tokio::time::timeout(WAIT, self.stream.read(&mut chunk))
            .await
            .expect("read in time")
            .unwrap_or(0);
        self.buffered.extend_from_slice(&chunk[..n]);
        n
    }

    /// Reads one response (`head_only`: a response to HEAD has no body).
    pub async fn read_reply(&mut self, head_only: bool) -> Reply {
        self.try_read_reply(head_only)
            .await
            .expect("a complete response")
    }

    /// Reads one response; `None` when the connection ended before it was complete.
    pub async fn try_read_reply(&mut self, head_only: bool) -> Option<Reply> {
        let head_end = loop {
            if let Some(at) = find(&self.buffered, b"\r\n\r\n") {
                break at;
            }
            if self.fill().await == 0 {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buffered[..head_end]).into_owned();
        self.buffered.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let mut parts = status_line.splitn(3, ' ');
        let _version = parts.next()?;
        let status: u16 = parts.next()?.parse().ok()?;
        let reason = parts.next().unwrap_or("").to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut reply = Reply {
            status,
            reason,
            headers,
            body: Vec::new(),
        };
        if status == 100 {
            return Some(reply);
        }
        if head_only || status == 204 || status == 304 {
            return Some(reply);
        }
        if reply
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            loop {
                let line_end = loop {
                    if let Some(at) = find(&self.buffered, b"\r\n") {
                        break at;
                    }
                    if self.fill().await == 0 {
                        return None;
                    }
                };
                let size_text = String::from_utf8_lossy(&self.buffered[..line_end]).into_owned();
                let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
                self.buffered.drain(..line_end + 2);
                while self.buffered.len() < size + 2 {
                    if self.fill().await == 0 {
                        return None;
                    }
                }
                reply.body.extend_from_slice(&self.buffered[..size]);
                self.buffered.drain(..size + 2);
                if size == 0 {
                    return Some(reply);
                }
            }
        } else if let Some(length) = reply.header("content-length") {
            let length: usize = length.parse().ok()?;
            while self.buffered.len() < length {
                if self.fill().await == 0 {
                    return None;
                }
            }
            reply.body = self.buffered.drain(..length).collect();
            Some(reply)
        } else {
            while self.fill().await > 0 {}
            reply.body = std::mem::take(&mut self.buffered);
            Some(reply)
        }
    }

    /// True when the server closed the connection (reads EOF or an error) within `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let mut chunk = [0u8; 1024];
        match tokio::time::timeout(wait, self.stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(n)) => {
                self.buffered.extend_from_slice(&chunk[..n]);
                false
            }
            Err(_) => false,
        }
    }

    /// Drops the connection (an aborting client).
    pub fn abort(self) {
        drop(self);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One request on a fresh connection.
pub async fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Reply {
    Client::connect(addr)
        .await
        .request("GET", target, headers, None)
        .await
}
