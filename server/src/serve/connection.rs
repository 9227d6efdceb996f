//! One accepted connection, served by hyper's HTTP/1 connection (with
//! upgrades, for WebSockets) over a socket that notes when bytes last moved
//! and holds the connection's places in the [`Gate`] for as long as it is
//! open, WebSocket included.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::gate::{Gate, Permit};
use crate::http::client_ip::{ClientIp, TrustedProxies};

/// What every connection shares.
#[derive(Clone)]
pub struct Serving {
    /// The routes.
    pub router: Router,
    /// The caps.
    pub gate: Gate,
    /// Peers whose `X-Forwarded-For` is believed.
    pub proxies: TrustedProxies,
    /// hyper's HTTP/1 settings, the header-read timeout among them.
    pub http: http1::Builder,
    /// No byte moved for this long: the connection is closed.
    pub idle: Duration,
    /// Cancelled at shutdown: finish the request in flight, then close.
    pub stop: CancellationToken,
}

/// Serves `tcp` from `peer`, which holds `permit`, until it closes.
pub async fn serve(serving: Serving, tcp: TcpStream, peer: SocketAddr, permit: Permit) {
    let peer_ip = peer.ip().to_canonical();
    let proxied = serving.proxies.contains(peer_ip);
    let socket = Socket::new(tcp, permit);
    let activity = socket.activity.clone();
    let held = socket.held.clone();
    let Serving {
        router,
        gate,
        proxies,
        http,
        idle,
        stop,
    } = serving;
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let mut request = request.map(Body::new);
        let client = if proxied {
            proxies.client_of(peer_ip, request.headers())
        } else {
            peer_ip
        };
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(ClientIp(client));
        // Behind a proxy, the per-address cap holds per request and
        // WebSocket of the forwarded client.
        let place = proxied.then(|| gate.client(client));
        let (router, held) = (router.clone(), held.clone());
        async move {
            let place = match place.transpose() {
                Ok(place) => place,
                Err(why) => {
                    return Ok::<_, Infallible>(
                        (StatusCode::TOO_MANY_REQUESTS, format!("{why}\n")).into_response(),
                    );
                }
            };
            let response: Response = router.oneshot(request).await?;
            if let Some(place) = place
                && response.status() == StatusCode::SWITCHING_PROTOCOLS
            {
                // The socket is the WebSocket's from now on: the place lives
                // as long as it does.
                held.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(place);
            }
            Ok(response)
        }
    });
    let conn = http
        .serve_connection(TokioIo::new(socket), service)
        .with_upgrades();
    let mut conn = pin!(conn);
    let mut stopping = false;
    loop {
        let quiet = activity.quiet_for();
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, "connection ended: {e}");
                }
                return;
            }
            () = stop.cancelled(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep(idle.saturating_sub(quiet)) => {
                if activity.quiet_for() >= idle {
                    tracing::debug!(%peer, "connection idle for {idle:?}: closed");
                    return;
                }
            }
        }
    }
}

/// When bytes last moved on a socket.
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Milliseconds after `start`.
    last: AtomicU64,
}

impl Activity {
    fn touch(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// The client's socket, as hyper (and after an upgrade, the WebSocket)
/// reads and writes it.
struct Socket {
    tcp: TcpStream,
    activity: Arc<Activity>,
    /// The connection's place in the gate.
    _permit: Permit,
    /// Places of proxied clients whose WebSocket this socket carries.
    held: Arc<Mutex<Vec<Permit>>>,
}

impl Socket {
    fn new(tcp: TcpStream, permit: Permit) -> Self {
        Self {
            tcp,
            activity: Arc::new(Activity {
                start: Instant::now(),
                last: AtomicU64::new(0),
            }),
            _permit: permit,
            held: Arc::default(),
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.tcp).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// The address a peer is counted under at accept time: `None` for a
/// trusted proxy, whose clients are counted per request instead.
#[must_use]
pub fn counted_address(proxies: &TrustedProxies, peer: IpAddr) -> Option<IpAddr> {
    let peer = peer.to_canonical();
    (!proxies.contains(peer)).then_some(peer)
}
