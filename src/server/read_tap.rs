//! A client stream that shows every byte read to an observer on its way to hyper, and
//! passes writes through untouched. The connection's clock (`conn_clock::Metered`, bytes
//! received) and the bare-LF guard (`strict_lines::StrictLines`) are two observers of the
//! same wrapper.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a [`ReadTap`] shows the bytes it read to.
pub trait ReadObserver {
    /// Sees (and may rewrite in place) the bytes one read returned; never called empty.
    fn observe(&mut self, bytes: &mut [u8]);
}

/// `inner` with every read shown to `observer`.
#[derive(Debug)]
pub struct ReadTap<S, O> {
    inner: S,
    observer: O,
}

impl<S, O> ReadTap<S, O> {
    /// Wraps `inner`.
    pub fn new(inner: S, observer: O) -> Self {
        ReadTap { inner, observer }
    }
}

impl<S: AsyncRead + Unpin, O: ReadObserver + Unpin> AsyncRead for ReadTap<S, O> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.observer.observe(&mut buf.filled_mut()[before..]);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin, O: Unpin> AsyncWrite for ReadTap<S, O> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
