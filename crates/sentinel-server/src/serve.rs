//! The accept loop, with the limits a server on the open internet needs (all
//! configurable, see [`Limits`]):
//!
//! - a **global connection cap** and a **per-address cap** (trusted proxies are
//!   exempt: every client behind them shares their address); a connection over a
//!   cap is closed at once, so 1,000 sockets held by one address cannot starve
//!   another;
//! - a **header-read timeout**: a request's headers must arrive whole within it
//!   (slowloris);
//! - a **body timeout**: a request body that sends nothing for this long is cut off
//!   with 408 (a minimum rate: at least one chunk per interval);
//! - an **idle timeout**: a connection with no bytes either way for this long is
//!   closed once no request is in flight (event streams send a comment every 15 s
//!   and stay open);
//! - a **lingering close**, as nginx does: a request refused before its body was
//!   read (a 413 for a photo too big) would otherwise be closed with the body still
//!   arriving, and the reset the kernel sends for unread bytes can destroy the
//!   answer before the client reads it (a browser shows a network error instead of
//!   our sentence). The server stops writing, then reads and discards for a
//!   moment, still holding the connection's place under the caps.

use crate::AppState;
use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Connection limits and timeouts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most connections open at once (at least 1).
    pub max_connections: usize,
    /// Most connections open at once from one address (0: no cap); trusted proxies
    /// are exempt.
    pub max_connections_per_address: usize,
    /// Time for a request's headers to arrive whole.
    pub header_timeout: Duration,
    /// Longest silence inside a request body.
    pub body_timeout: Duration,
    /// Longest silence on a connection before it is closed.
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            max_connections_per_address: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
        }
    }
}

/// Counts connections per address; a slot is given back when dropped.
#[derive(Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

struct Slot {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    fn take(self: &Arc<Self>, ip: IpAddr, cap: usize) -> Option<Slot> {
        let mut m = self.0.lock().ok()?;
        let n = m.entry(ip).or_default();
        if cap > 0 && *n >= cap {
            return None;
        }
        *n += 1;
        Some(Slot {
            table: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut m) = self.table.0.lock()
            && let Some(n) = m.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// After the server's last byte: how long, how long silent, and how many bytes
/// a closing connection may still be read and discarded.
const LINGER_FOR: Duration = Duration::from_secs(10);
const LINGER_SILENCE: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 256 << 20;

/// A socket that notes when bytes last moved. When the connection is done with it,
/// it goes back to the connection's task for the lingering close.
struct Watched {
    inner: Option<TcpStream>,
    back: Option<tokio::sync::oneshot::Sender<TcpStream>>,
    last: Arc<AtomicU64>,
    epoch: Instant,
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let (Some(stream), Some(back)) = (self.inner.take(), self.back.take()) {
            let _ = back.send(stream);
        }
    }
}

/// Stops writing, then reads and discards what the client still sends, so that
/// closing does not reset an answer the client has not read yet.
async fn linger(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Usually hyper has shut the writing side already; a second time is harmless.
    let _ = stream.shutdown().await;
    let until = tokio::time::Instant::now() + LINGER_FOR;
    let mut buf = vec![0u8; 64 << 10];
    let mut left = LINGER_BYTES;
    while left > 0 {
        let silence = tokio::time::Instant::now() + LINGER_SILENCE;
        match tokio::time::timeout_at(until.min(silence), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
            _ => break,
        }
    }
}

/// The socket, or the error a use after close gets (never expected).
fn open(s: &mut Option<TcpStream>) -> std::io::Result<&mut TcpStream> {
    s.as_mut()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotConnected, "closed"))
}

impl Watched {
    fn touch(&self) {
        let ms = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(open(&mut self.inner)?).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(open(&mut self.inner)?).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(open(&mut self.inner)?).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(open(&mut self.inner)?).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` under `limits` until `shutdown` resolves, then
/// lets open requests finish.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    state: AppState,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_timeout,
    ));
    let total = limits.max_connections.clamp(1, 1_000_000);
    let global = Arc::new(Semaphore::new(total));
    let per_address = Arc::new(PerAddress::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of descriptors and the like: wait a moment, keep serving.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = global.clone().try_acquire_owned() else {
            state
                .metrics
                .security_event("connection_refused_global_cap");
            drop(stream);
            continue;
        };
        let proxy = state
            .config
            .trusted_proxies
            .iter()
            .any(|n| n.contains(&peer.ip()));
        let cap = if proxy {
            0
        } else {
            limits.max_connections_per_address
        };
        let Some(slot) = per_address.take(peer.ip(), cap) else {
            state
                .metrics
                .security_event("connection_refused_address_cap");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            let _held = (permit, slot);
            let last = Arc::new(AtomicU64::new(0));
            let epoch = Instant::now();
            let (back, returned) = tokio::sync::oneshot::channel();
            let io = TokioIo::new(Watched {
                inner: Some(stream),
                back: Some(back),
                last: last.clone(),
                epoch,
            });
            let service = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(io, service)
                .with_upgrades();
            let mut conn = Box::pin(conn);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            let mut closing = false;
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(error = %e, %peer, "connection ended");
                        }
                        break;
                    }
                    _ = stop.changed(), if !closing => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                    _ = tick.tick(), if !closing => {
                        let idle = epoch.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                        if idle >= limits.idle_timeout {
                            closing = true;
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
            drop(conn);
            if let Ok(stream) = returned.await {
                linger(stream).await;
            }
        });
    }
    let _ = stop_tx.send(true);
    // Open requests finish; event streams and stragglers get ten seconds.
    let all = u32::try_from(total).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(10), global.acquire_many(all)).await;
    Ok(())
}
