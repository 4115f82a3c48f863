//! The accept loop. axum's own `serve` sets no header-read timeout and no
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
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::limits::Counts;
use crate::state::AppState;

/// Pause after an accept error (e.g. out of file descriptors), so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until the server's cancel token fires.
pub(crate) async fn serve(listener: TcpListener, app: Router, state: AppState) {
    let config = &state.config;
    // Keyed by client address; trusted proxies share the key `None`, which
    // only the total cap limits.
    let connections: std::sync::Arc<Counts<Option<IpAddr>>> =
        Counts::new(config.max_connections_per_ip, config.max_connections);
    let header_timeout = Duration::from_secs(config.http_header_timeout_secs);
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
        let service = app
            .clone()
            .map_request(move |req: axum::http::Request<Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
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
}

fn log_end(peer: SocketAddr, result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        // Timeouts and resets of clients are routine; not worth more than debug.
        tracing::debug!(client = %peer.ip(), error = %e, "connection ended with an error");
    }
}
