//! `AppState`: what every handler shares, cheap to clone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::origin::OriginPolicy;
use crate::sessions::SessionManager;
use ccweb_store::Store;

/// Shared server state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

/// The shared parts.
pub struct Inner {
    /// Validated configuration.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// Live sessions.
    pub sessions: SessionManager,
    /// Origin and Host policy.
    pub origins: OriginPolicy,
    /// Fires when the server shuts down.
    pub cancel: CancellationToken,
    /// Owns every task the server spawns (sessions, sockets).
    pub tracker: TaskTracker,
    /// sha256 of the one-time login token, until it is used.
    pub one_time_token: Mutex<Option<[u8; 32]>>,
    /// Set when shutdown starts (readiness goes 503).
    pub shutting_down: AtomicBool,
    /// Failed-login limits.
    pub login_limits: crate::limits::LoginLimits,
    /// Ended credentials (logout, revoked token, disabled user), so their sockets close.
    pub revocations: tokio::sync::broadcast::Sender<crate::auth::Revocation>,
    /// The audit log.
    pub audit: crate::audit::Audit,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// Open WebSockets per user.
    pub sockets: Arc<crate::limits::Counts<uuid::Uuid>>,
    /// Open WebSockets per client address (behind a trusted proxy, the
    /// address it names), capped at `max_connections_per_ip`.
    pub client_sockets: Arc<crate::limits::Counts<std::net::IpAddr>>,
    /// OpenID Connect login, if configured.
    pub oidc: Option<crate::oidc::Oidc>,
    /// Trusted reverse-proxy header login, if configured.
    pub proxy_auth: Option<crate::proxy_auth::ProxyAuth>,
}

impl AppState {
    /// Bundles the parts.
    pub fn new(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }
    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Relaxed)
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}
