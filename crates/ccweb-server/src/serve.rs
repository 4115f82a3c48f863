//! The accept loops (TCP, and the proxy's Unix socket `listen_unix`). axum's own `serve` sets no header-read timeout and no
//! connection limits, so a slow or numerous client could hold sockets
//! and file descriptors forever. Here every connection:
//! - counts against `max_connections` and `max_connections_per_ip`
//!   (over either, it is closed at once, before any byte is read);
//! - must send its request headers within `http_header_timeout_secs`;
//! - runs on the server's task tracker and shuts down gracefully when the
//!   server does (idle keep-alive connections close, requests in flight
//!   finish).

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tower::ServiceExt;

use crate::limits::{CountGuard, Counts};
use crate::proxy_socket::ViaProxySocket;
use crate::state::AppState;

/// Pause after an accept error (e.g. out of file descriptors), so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Open connections keyed by client address; trusted proxies (and the
/// proxy's Unix socket) share the key `None`, which only the total cap limits.
type Connections = Arc<Counts<Option<IpAddr>>>;

/// Serves `app` on `listener` (and on the proxy's Unix socket `unix`, if
/// configured) until the server's cancel token fires.
pub(crate) async fn serve(
    listener: TcpListener,
    unix: Option<UnixListener>,
    app: Router,
    state: AppState,
) {
    let config = &state.config;
    let connections: Connections =
        Counts::new(config.max_connections_per_ip, config.max_connections);
    let tcp = serve_tcp(listener, app.clone(), state.clone(), connections.clone());
    match unix {
        Some(unix) => {
            tokio::join!(tcp, serve_unix(unix, app, state, connections));
        }
        None => tcp.await,
    }
}

async fn serve_tcp(listener: TcpListener, app: Router, state: AppState, connections: Connections) {
    loop {
        let (stream, peer) = tokio::select! {
            () = state.cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // A trusted proxy carries many clients: only the total cap applies to it.
        let slot = if state.trusted_proxies.trusts(peer.ip()) {
            connections.acquire_within_total(None)
        } else {
            connections.acquire(Some(peer.ip()))
        };
        let Some(slot) = slot else {
            tracing::debug!(client = %peer.ip(), "connection limit reached: closing");
            drop(stream);
            continue;
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        spawn_connection(stream, peer, false, slot, &app, &state);
    }
}

/// The proxy's Unix socket: like TCP, but every connection is the proxy's
/// (only the total cap applies) and its requests are marked as such.
async fn serve_unix(
    listener: UnixListener,
    app: Router,
    state: AppState,
    connections: Connections,
) {
    let peer = crate::client_ip::UNNAMED_PROXY_CLIENT;
    loop {
        let stream = tokio::select! {
            () = state.cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed on listen_unix");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Some(slot) = connections.acquire_within_total(None) else {
            tracing::debug!("connection limit reached on listen_unix: closing");
            drop(stream);
            continue;
        };
        spawn_connection(stream, peer, true, slot, &app, &state);
    }
}

/// Serves one connection on the server's task tracker.
fn spawn_connection<S>(
    stream: S,
    peer: SocketAddr,
    via_proxy_socket: bool,
    slot: CountGuard<Option<IpAddr>>,
    app: &Router,
    state: &AppState,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = Duration::from_secs(state.config.http_header_timeout_secs);
    let service = app
        .clone()
        .map_request(move |req: axum::http::Request<Incoming>| {
            let mut req = req.map(axum::body::Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            if via_proxy_socket {
                req.extensions_mut().insert(ViaProxySocket);
            }
            req
        });
    let cancel = state.cancel.clone();
    state.tracker.spawn(async move {
        let _slot = slot;
        // HTTP/1 only: hyper-util's auto-detecting builder waits for the
        // first bytes without any timeout (browsers reach ccweb over
        // HTTP/1, or over a proxy that speaks HTTP/1 to it).
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let mut conn = std::pin::pin!(conn);
        tokio::select! {
            result = conn.as_mut() => log_end(peer, result),
            () = cancel.cancelled() => {
                conn.as_mut().graceful_shutdown();
                log_end(peer, conn.await);
            }
        }
    });
}

fn log_end(peer: SocketAddr, result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts and resets of clients are routine; not worth more than debug.
        tracing::debug!(client = %peer.ip(), error = %e, "connection ended with an error");
    }
}
