//! ccweb's HTTP and WebSocket server: the API of `shared/API.md` over the
//! session runner and the store.
//!
//! [`Server::bind`] prepares everything and binds the listener (so tests can
//! use port 0 and read the address); [`Server::run`] serves until the
//! shutdown future resolves, then stops sessions and drains every task.

pub mod app;
pub mod assets;
pub mod audit;
pub mod auth;
pub mod chat;
pub mod client_ip;
pub mod config;
pub mod credentials;
mod disabled_users;
pub mod disk;
pub mod error;
pub mod export;
pub mod health;
pub mod http;
pub mod isolation;
pub mod json;
pub mod limits;
mod login_pages;
pub mod metrics;
pub mod notify;
pub mod oidc;
pub mod origin;
pub mod paths;
mod periodic;
pub mod proxy_auth;
pub mod proxy_socket;
pub mod recording_retention;
pub mod serve;
pub mod sessions;
pub mod state;
pub mod telemetry;
pub mod transcripts;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{AuthMode, Config, ConfigError, LogFormat};
use state::{AppState, Inner};

/// Name of the admin created when token auth starts with no users.
pub const DEFAULT_ADMIN: &str = "admin";

/// Start-up and serving failures.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("could not listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] ccweb_store::StoreError),
    /// Serving failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound, ready server.
pub struct Server {
    listener: TcpListener,
    /// The reverse proxy's Unix socket (`listen_unix`), if configured.
    unix_listener: Option<tokio::net::UnixListener>,
    state: AppState,
    login_url: Option<String>,
    /// The separate metrics listener (`metrics_listen`), if configured.
    metrics_listener: Option<TcpListener>,
}

impl Server {
    /// Prepares state (marks sessions of a previous run as stopped, creates
    /// the first admin and the one-time login token in token mode) and
    /// binds the listener. `config` must be validated.
    pub async fn bind(config: Config, store: ccweb_store::Store) -> Result<Self, ServerError> {
        let now = time::OffsetDateTime::now_utc();
        let orphaned = store.mark_orphaned_sessions(now).await?;
        if orphaned > 0 {
            tracing::info!(
                count = orphaned,
                "sessions of a previous run marked stopped"
            );
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local = listener.local_addr()?;
        let unix_listener = proxy_socket::bind(&config)?;
        let metrics_listener = metrics::bind(&config).await?;
        let mut one_time = None;
        let mut login_url = None;
        if config.auth == AuthMode::Token {
            if store.first_admin().await?.is_none() {
                let user = store.create_user(DEFAULT_ADMIN, None, true).await?;
                tracing::info!(user = %user.name, "created the first admin");
            }
            let token = hex::encode(rand::random::<[u8; 32]>());
            one_time = Some(auth::hash_token(&token));
            let base = match &config.public_url {
                Some(url) => url.trim_end_matches('/').to_owned(),
                None if local.ip().is_unspecified() => format!("http://127.0.0.1:{}", local.port()),
                None => format!("http://{local}"),
            };
            let prefix = config.base_path.as_deref().unwrap_or("");
            login_url = Some(format!("{base}{prefix}/login?token={token}"));
        }
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let notifier = notify::Notifier::new(&config, cancel.clone(), &tracker);
        let metrics = metrics::Metrics::new();
        let audit = audit::Audit::start(
            store.clone(),
            metrics.clone(),
            config.audit_log_file.as_deref(),
            config.audit_retention_days,
            cancel.clone(),
            &tracker,
        )
        .await
        .map_err(|e| {
            std::io::Error::other(format!(
                "cannot open the audit log file {}: {e}",
                config
                    .audit_log_file
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display()
            ))
        })?;
        let vault = credentials::Vault::open(&config.data_dir)
            .map_err(|e| std::io::Error::other(format!("users' credentials: {e}")))?;
        let sessions = sessions::SessionManager::new(
            config.clone(),
            store.clone(),
            notifier,
            audit.clone(),
            metrics.clone(),
            cancel.clone(),
            tracker.clone(),
            vault,
        );
        recording_retention::start(
            export::recordings_dir(&config),
            config.recording_retention_days,
            sessions.clone(),
            cancel.clone(),
            &tracker,
        );
        let config_limits = (
            config.login_failures_per_ip_per_minute,
            config.login_failures_per_account_per_minute,
            config.max_sockets_per_user,
            config.max_connections_per_ip,
        );
        let oidc = oidc::Oidc::from_config(&config)?;
        let proxy_auth = proxy_auth::ProxyAuth::from_config(&config);
        let trusted_proxies = client_ip::TrustedProxies::new(&config.trusted_proxies);
        let state = AppState::new(Inner {
            oidc,
            proxy_auth,
            origins: origin::OriginPolicy::new(&config),
            config,
            store,
            sessions,
            cancel,
            tracker,
            one_time_token: Mutex::new(one_time),
            shutting_down: AtomicBool::new(false),
            revocations: tokio::sync::broadcast::channel(64).0,
            audit,
            trusted_proxies,
            metrics,
            sockets: limits::Counts::new(config_limits.2, usize::MAX),
            client_sockets: limits::Counts::new(config_limits.3, usize::MAX),
            login_limits: limits::LoginLimits::new(config_limits.0, config_limits.1),
        });
        disabled_users::start(&state);
        Ok(Self {
            listener,
            unix_listener,
            state,
            login_url,
            metrics_listener,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The one-time login URL (token auth only). Print it; never log it.
    pub fn login_url(&self) -> Option<&str> {
        self.login_url.as_deref()
    }

    /// Serves until `shutdown` resolves; then stops accepting, closes
    /// sockets with a reason, stops every session (grace, then kill),
    /// waits for all tasks (bounded by `shutdown_timeout_secs`) and closes
    /// the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state;
        if let Some(listener) = self.metrics_listener {
            metrics::serve_separate(listener, state.clone());
        }
        let app = app::router(state.clone());
        let server = serve::serve(self.listener, self.unix_listener, app, state.clone());
        let mut server = std::pin::pin!(server);
        let mut shutdown = std::pin::pin!(shutdown);
        // The accept loop only ends when the cancel token fires.
        let server_done = tokio::select! {
            () = &mut shutdown => false,
            () = &mut server => true,
        };
        tracing::info!("shutting down");
        state.shutting_down.store(true, Ordering::Relaxed);
        state.cancel.cancel();
        state.tracker.close();
        let limit = Duration::from_secs(state.config.shutdown_timeout_secs);
        let drained = tokio::time::timeout(limit, async {
            if !server_done {
                server.await;
            }
            state.tracker.wait().await;
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                tasks = state.tracker.len(),
                "shutdown timeout: exiting with tasks still running"
            );
        }
        state.store.close().await;
        proxy_socket::remove(&state.config);
        tracing::info!("stopped");
        Ok(())
    }
}
