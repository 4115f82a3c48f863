//! Prometheus metrics (names prefixed `ccweb_`, every one described in
//! `docs/metrics.md`): the typed families the server updates as things
//! happen, the values computed when scraped (running sessions, the
//! runner's counters), and `GET /metrics` on the main listener (with
//! `metrics_token`) or on a separate one (`metrics_listen`, no auth).
//!
//! Label values come from short fixed sets (modes, reasons, route
//! templates), never from ids or user input, so the number of series
//! stays bounded.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{text, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use ccweb_protocol::SessionMode;

use crate::error::ApiError;
use crate::sessions::Live;
use crate::state::AppState;

/// The exposition format's content type (prometheus-client writes OpenMetrics text).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels `mode`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModeLabels {
    mode: &'static str,
}

/// Labels `mode`, `reason`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabels {
    mode: &'static str,
    reason: &'static str,
}

/// Labels `mode`, `state`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    mode: &'static str,
    state: &'static str,
}

/// Labels `kind` (of a WebSocket).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// Labels `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Labels `method`, `outcome` (of a login).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    method: String,
    outcome: String,
}

/// Labels `action` (what a rate limit or quota refused).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
}

/// Labels `method`, `route`, `status`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

/// Labels `method`, `route`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

/// Labels `direction` (of model tokens).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

/// Fast things (HTTP answers, process spawns): 1 ms to ~16 s.
fn short_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Waits for people (permission answers): 0.5 s to ~9 h.
fn long_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.5, 2.0, 17))
}

/// What kind of WebSocket a connection is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    /// `…/terminal` of a session.
    Terminal,
    /// `…/chat` of a chat session (structured events).
    Chat,
    /// `…/chat` of a terminal session (PTY output as text).
    RawChat,
    /// Either socket through a share link (read-only).
    Shared,
}

impl SocketKind {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            SocketKind::Terminal => "terminal",
            SocketKind::Chat => "chat",
            SocketKind::RawChat => "raw_chat",
            SocketKind::Shared => "shared",
        }
    }

    const ALL: [SocketKind; 4] = [
        SocketKind::Terminal,
        SocketKind::Chat,
        SocketKind::RawChat,
        SocketKind::Shared,
    ];
}

fn mode_str(mode: SessionMode) -> &'static str {
    match mode {
        SessionMode::Terminal => "terminal",
        SessionMode::Chat => "chat",
    }
}

/// The server's metrics. Cheap to clone; every update is an atomic add
/// (plus, for labelled families, a read lock on the family's map).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Families>,
}

struct Families {
    /// Everything updated as it happens (scrape-time values are added per scrape).
    registry: Registry,
    sessions_started: Family<ModeLabels, Counter>,
    sessions_ended: Family<EndLabels, Counter>,
    cli_spawn_seconds: Family<ModeLabels, Histogram, fn() -> Histogram>,
    chat_ready_seconds: Histogram,
    ws_connections: Family<KindLabels, Gauge>,
    ws_sent_bytes: Family<KindLabels, Counter>,
    ws_received_bytes: Family<KindLabels, Counter>,
    permission_requests: Counter,
    permission_decisions: Family<OutcomeLabels, Counter>,
    permission_wait_seconds: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
    logins: Family<LoginLabels, Counter>,
    rate_limited: Family<ActionLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    cost_usd: Counter<f64, AtomicU64>,
    tokens: Family<DirectionLabels, Counter>,
    turns: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every family.
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("ccweb");
        let f = Families {
            sessions_started: Family::default(),
            sessions_ended: Family::default(),
            cli_spawn_seconds: Family::new_with_constructor(short_histogram),
            chat_ready_seconds: short_histogram(),
            ws_connections: Family::default(),
            ws_sent_bytes: Family::default(),
            ws_received_bytes: Family::default(),
            permission_requests: Counter::default(),
            permission_decisions: Family::default(),
            permission_wait_seconds: Family::new_with_constructor(long_histogram),
            logins: Family::default(),
            rate_limited: Family::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(short_histogram),
            cost_usd: Counter::default(),
            tokens: Family::default(),
            turns: Family::default(),
            registry: Registry::default(),
        };
        r.register(
            "build",
            "The running version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        r.register(
            "sessions_started",
            "Session starts attempted (create and resume), by mode",
            f.sessions_started.clone(),
        );
        r.register(
            "sessions_ended",
            "Sessions ended, by mode and reason (exit, stop, idle, shutdown; error: the CLI could not be started)",
            f.sessions_ended.clone(),
        );
        r.register(
            "cli_spawn_seconds",
            "Time from a session start to its CLI process running, by mode",
            f.cli_spawn_seconds.clone(),
        );
        r.register(
            "chat_ready_seconds",
            "Chat sessions: time from the spawn to the CLI's answer to its initialize request",
            f.chat_ready_seconds.clone(),
        );
        r.register(
            "websocket_connections",
            "Open WebSockets, by kind (terminal, chat, raw_chat, shared)",
            f.ws_connections.clone(),
        );
        r.register(
            "websocket_sent_bytes",
            "Payload bytes sent to WebSocket clients, by kind",
            f.ws_sent_bytes.clone(),
        );
        r.register(
            "websocket_received_bytes",
            "Payload bytes received from WebSocket clients, by kind",
            f.ws_received_bytes.clone(),
        );
        r.register(
            "permission_requests",
            "Permission requests of chat sessions' CLIs",
            f.permission_requests.clone(),
        );
        r.register(
            "permission_decisions",
            "Permission requests resolved, by outcome (allow, deny, timeout, cancelled)",
            f.permission_decisions.clone(),
        );
        r.register(
            "permission_wait_seconds",
            "Time from a permission request to its resolution, by outcome",
            f.permission_wait_seconds.clone(),
        );
        r.register(
            "logins",
            "Login attempts, by method and outcome (success, failure, denied, limited)",
            f.logins.clone(),
        );
        r.register(
            "rate_limited",
            "Actions refused by a rate limit, quota or capacity limit, by audited action",
            f.rate_limited.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            f.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request (until the response headers), by method and route template",
            f.http_seconds.clone(),
        );
        r.register(
            "model_cost_usd",
            "Model cost reported by chat sessions' CLIs, in US dollars",
            f.cost_usd.clone(),
        );
        r.register(
            "model_tokens",
            "Model tokens reported by chat sessions' CLIs, by direction (input, output)",
            f.tokens.clone(),
        );
        r.register(
            "chat_turns",
            "Chat turns finished, by outcome (success, error)",
            f.turns.clone(),
        );
        // Zero series for the fixed label sets, so dashboards and rate()
        // see a 0 before the first event rather than nothing.
        for kind in SocketKind::ALL {
            let l = KindLabels {
                kind: kind.as_str(),
            };
            f.ws_connections.get_or_create_owned(&l);
            f.ws_sent_bytes.get_or_create_owned(&l);
            f.ws_received_bytes.get_or_create_owned(&l);
        }
        for mode in ["terminal", "chat"] {
            f.sessions_started.get_or_create_owned(&ModeLabels { mode });
        }
        for direction in ["input", "output"] {
            f.tokens.get_or_create_owned(&DirectionLabels { direction });
        }
        Self {
            inner: Arc::new(Families { registry: r, ..f }),
        }
    }

    /// A session start is attempted.
    pub fn session_started(&self, mode: SessionMode) {
        let mode = mode_str(mode);
        self.inner
            .sessions_started
            .get_or_create(&ModeLabels { mode })
            .inc();
    }

    /// The CLI of a session is running `spawn` after the start began.
    pub fn session_spawned(&self, mode: SessionMode, spawn: Duration) {
        let mode = mode_str(mode);
        self.inner
            .cli_spawn_seconds
            .get_or_create(&ModeLabels { mode })
            .observe(spawn.as_secs_f64());
    }

    /// A session ended (`reason` as stored: exit, stop, idle, shutdown, error).
    pub fn session_ended(&self, mode: SessionMode, reason: &'static str) {
        let mode = mode_str(mode);
        self.inner
            .sessions_ended
            .get_or_create(&EndLabels { mode, reason })
            .inc();
    }

    /// A chat session's CLI answered its `initialize` request, `after` the spawn.
    pub fn chat_ready(&self, after: Duration) {
        self.inner.chat_ready_seconds.observe(after.as_secs_f64());
    }

    /// A permission request arrived.
    pub fn permission_requested(&self) {
        self.inner.permission_requests.inc();
    }

    /// A permission request was resolved with `outcome` after `waited`
    /// (`None` when its start was not seen, e.g. the server restarted).
    pub fn permission_resolved(&self, outcome: &'static str, waited: Option<Duration>) {
        let l = OutcomeLabels { outcome };
        self.inner.permission_decisions.get_or_create(&l).inc();
        if let Some(waited) = waited {
            self.inner
                .permission_wait_seconds
                .get_or_create(&l)
                .observe(waited.as_secs_f64());
        }
    }

    /// A chat turn finished with this usage.
    pub fn turn_finished(&self, is_error: bool, cost_usd: f64, input: i64, output: i64) {
        let outcome = if is_error { "error" } else { "success" };
        self.inner
            .turns
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        // The CLI's numbers are differences of running totals: never count a negative.
        if cost_usd.is_finite() && cost_usd > 0.0 {
            self.inner.cost_usd.inc_by(cost_usd);
        }
        for (direction, n) in [("input", input), ("output", output)] {
            if let Ok(n) = u64::try_from(n) {
                self.inner
                    .tokens
                    .get_or_create(&DirectionLabels { direction })
                    .inc_by(n);
            }
        }
    }

    /// An audit entry was recorded: logins and refusals by a limit are
    /// counted from there (every one of them is audited).
    pub fn audited(&self, entry: &ccweb_store::NewAuditEntry) {
        if entry.action == "login" {
            let method = entry
                .detail
                .get("method")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("unknown");
            self.inner
                .logins
                .get_or_create(&LoginLabels {
                    method: bounded(method),
                    outcome: bounded(&entry.outcome),
                })
                .inc();
        }
        if entry.outcome == crate::audit::LIMITED {
            self.inner
                .rate_limited
                .get_or_create(&ActionLabels {
                    action: bounded(&entry.action),
                })
                .inc();
        }
    }

    /// An HTTP request to `route` (a template, or `fallback`) was answered.
    pub fn http_request(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        self.inner
            .http_requests
            .get_or_create(&HttpLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        self.inner
            .http_seconds
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a WebSocket of `kind` as open until the meter is dropped.
    pub(crate) fn socket(&self, kind: SocketKind) -> SocketMeter {
        let l = KindLabels {
            kind: kind.as_str(),
        };
        let open = self.inner.ws_connections.get_or_create_owned(&l);
        open.inc();
        SocketMeter {
            sent: self.inner.ws_sent_bytes.get_or_create_owned(&l),
            received: self.inner.ws_received_bytes.get_or_create_owned(&l),
            open,
        }
    }

    /// The exposition text: the families above plus values read now.
    pub fn render(&self, live: &[Live]) -> String {
        let mut now = Registry::with_prefix("ccweb");
        let running: Family<StateLabels, Gauge> = Family::default();
        for (mode, state) in [
            ("terminal", "running"),
            ("chat", "running"),
            ("chat", "requires_action"),
        ] {
            running.get_or_create_owned(&StateLabels { mode, state });
        }
        for session in live {
            let labels = match session {
                Live::Terminal(_) => StateLabels {
                    mode: "terminal",
                    state: "running",
                },
                Live::Chat(_) => StateLabels {
                    mode: "chat",
                    state: if session.needs_attention() {
                        "requires_action"
                    } else {
                        "running"
                    },
                },
            };
            running.get_or_create(&labels).inc();
        }
        now.register(
            "sessions_running",
            "Live sessions, by mode and state (chat: requires_action while a permission request waits)",
            running,
        );
        let runner = ccweb_runner::stats().snapshot();
        for (name, help, value) in [
            (
                "terminal_viewer_overflows",
                "Times a terminal viewer fell behind: its queued output was dropped and a re-sync scheduled",
                runner.overflows,
            ),
            (
                "terminal_dropped_bytes",
                "PTY output bytes dropped for terminal viewers that fell behind",
                runner.dropped_bytes,
            ),
            (
                "terminal_viewer_resyncs",
                "Screen snapshots sent to terminal viewers that had fallen behind",
                runner.resyncs,
            ),
        ] {
            let counter: Counter = Counter::default();
            counter.inc_by(value);
            now.register(name, help, counter);
        }
        let mut out = String::new();
        // Writing into a String cannot fail; an error here would be a bug in
        // the encoder, and a partial page is still better than none.
        let encoded = text::encode_registry(&mut out, &self.inner.registry)
            .and_then(|()| text::encode_registry(&mut out, &now))
            .and_then(|()| text::encode_eof(&mut out));
        if let Err(e) = encoded {
            tracing::error!(error = %e, "encoding the metrics failed");
        }
        out
    }
}

/// A label value from text that should come from a short fixed set;
/// anything odd becomes `other` (a bound on the number of series).
fn bounded(value: &str) -> String {
    let ok = !value.is_empty()
        && value.len() <= 40
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        value.to_owned()
    } else {
        "other".to_owned()
    }
}

/// One open WebSocket's counters: held by its task for the socket's life.
pub(crate) struct SocketMeter {
    sent: Counter,
    received: Counter,
    open: Gauge,
}

impl Drop for SocketMeter {
    fn drop(&mut self) {
        self.open.dec();
    }
}

tokio::task_local! {
    // The meter of the socket this task serves: the send and receive
    // helpers of `ws` count through it without every socket loop passing
    // it along. One lookup and one atomic add per message.
    static SOCKET: SocketMeter;
}

/// Runs a socket task with `meter` as its meter.
pub(crate) fn metered<F: Future>(meter: SocketMeter, task: F) -> impl Future<Output = F::Output> {
    SOCKET.scope(meter, task)
}

/// Counts `bytes` sent on this task's socket (nothing outside a socket task).
pub(crate) fn socket_sent(bytes: usize) {
    let _ = SOCKET.try_with(|m| m.sent.inc_by(bytes as u64));
}

/// Counts `bytes` received on this task's socket.
pub(crate) fn socket_received(bytes: usize) {
    let _ = SOCKET.try_with(|m| m.received.inc_by(bytes as u64));
}

/// `GET /metrics` on the main listener: only with `metrics_token`, sent
/// as `Authorization: Bearer …`; without one configured the route does
/// not exist (404), so nothing about the server leaks.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics_token else {
        return ApiError::NotFound("no such endpoint".into()).into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Hashing both first keeps the comparison constant-time in the length too.
    let valid = presented.is_some_and(|p| {
        crate::auth::constant_time_eq(
            &crate::auth::hash_token(p),
            &crate::auth::hash_token(token.expose().trim()),
        )
    });
    if !valid {
        let mut resp = ApiError::Unauthorized.into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    exposition(&state)
}

/// The metrics page of `state`.
fn exposition(state: &AppState) -> Response {
    let body = state.metrics.render(&state.sessions.all_live());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        body,
    )
        .into_response()
}

/// Shortest `metrics_token` accepted.
const MIN_TOKEN_CHARS: usize = 16;

/// Checks the metrics keys.
pub(crate) fn validate_config(config: &crate::Config) -> Result<(), crate::ConfigError> {
    if let Some(token) = &config.metrics_token {
        if token.expose().trim().chars().count() < MIN_TOKEN_CHARS {
            return Err(crate::ConfigError {
                key: "metrics_token",
                message: format!(
                    "must be at least {MIN_TOKEN_CHARS} characters (e.g. `openssl rand -hex 32`)"
                ),
            });
        }
    }
    if config
        .metrics_listen
        .is_some_and(|a| a == config.listen && a.port() != 0)
    {
        return Err(crate::ConfigError {
            key: "metrics_listen",
            message:
                "must differ from listen (to serve metrics on the main listener, set metrics_token)"
                    .into(),
        });
    }
    Ok(())
}

/// Binds `metrics_listen`, if configured.
pub(crate) async fn bind(
    config: &crate::Config,
) -> Result<Option<TcpListener>, crate::ServerError> {
    let Some(addr) = config.metrics_listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| crate::ServerError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() {
        tracing::warn!(addr = %local, "metrics are served without authentication on a non-loopback address; keep it on a private network");
    }
    tracing::info!(addr = %local, "metrics listening");
    Ok(Some(listener))
}

/// Serves `GET /metrics` (no authentication) on the separate listener,
/// on the server's task tracker, until the server shuts down.
pub(crate) fn serve_separate(listener: TcpListener, state: AppState) {
    use axum::routing::get;
    let cancel = state.cancel.clone();
    let tracker = state.tracker.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { exposition(&state) }),
        )
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .with_state(state);
    tracker.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the metrics listener failed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_label_values_become_other() {
        assert_eq!(bounded("password"), "password");
        assert_eq!(bounded("one_time_url"), "one_time_url");
        assert_eq!(bounded(""), "other");
        assert_eq!(bounded("a b"), "other");
        assert_eq!(bounded(&"x".repeat(41)), "other");
    }

    #[test]
    fn the_page_holds_zero_series_and_ends_with_eof() {
        let m = Metrics::new();
        m.session_started(SessionMode::Terminal);
        m.turn_finished(false, 0.25, 10, -3);
        let page = m.render(&[]);
        assert!(
            page.contains("ccweb_sessions_started_total{mode=\"terminal\"} 1"),
            "{page}"
        );
        assert!(
            page.contains("ccweb_sessions_running{mode=\"chat\",state=\"running\"} 0"),
            "{page}"
        );
        assert!(
            page.contains("ccweb_model_tokens_total{direction=\"input\"} 10"),
            "{page}"
        );
        assert!(
            page.contains("ccweb_model_tokens_total{direction=\"output\"} 0"),
            "{page}"
        );
        assert!(page.contains("ccweb_model_cost_usd_total 0.25"), "{page}");
        assert!(
            page.contains("ccweb_websocket_connections{kind=\"shared\"} 0"),
            "{page}"
        );
        assert!(page.trim_end().ends_with("# EOF"), "{page}");
        assert_eq!(page.matches("# EOF").count(), 1);
    }
}
