//! Webhook notifications: a bounded queue in front of one background worker
//! that POSTs each notification to `webhook_url`, in order, with retries.
//!
//! The webhook URL may carry a secret (a token in its query), so it is never
//! logged: log lines name only `scheme://host[:port]`, and `reqwest` errors
//! are stripped of their URL before they are formatted.

use crate::config::Config;
use bytes::Bytes;
use ccweb_protocol::SessionInfo;
use reqwest::{StatusCode, Url};
use serde::Serialize;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Notifications waiting for delivery at most; past it new ones are dropped.
const QUEUE_CAPACITY: usize = 256;
/// Wait before the first retry; doubled for each further one.
const BACKOFF_BASE_MS: u64 = 500;
/// Longest wait between two attempts.
const BACKOFF_MAX_MS: u64 = 30_000;
/// After cancellation, how long the worker keeps delivering what is queued.
const DRAIN_GRACE_MS: u64 = 1_000;

/// What happened.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NotifyKind {
    /// The session waits for its user (e.g. a permission request).
    NeedsAttention,
    /// The CLI finished a turn.
    TurnFinished,
    /// The session's process ended.
    SessionEnded,
}

impl NotifyKind {
    /// The wire spelling, also sent as the `X-Ccweb-Event` header.
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::NeedsAttention => "needs_attention",
            NotifyKind::TurnFinished => "turn_finished",
            NotifyKind::SessionEnded => "session_ended",
        }
    }
}

/// The JSON body POSTed to the webhook.
#[derive(Serialize)]
struct Body<'a> {
    /// What happened.
    kind: NotifyKind,
    /// When `notify` was called.
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    /// The session as it was then.
    session: &'a SessionInfo,
    /// Kind-specific details.
    detail: &'a serde_json::Value,
}

/// One queued notification, serialised when it was queued.
struct Notification {
    /// What happened (for the header and for logs).
    kind: NotifyKind,
    /// The session's id (for logs).
    session: uuid::Uuid,
    /// The JSON body; cheap to clone for each attempt.
    body: Bytes,
}

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
enum AttemptError {
    /// Connecting, sending or the per-attempt timeout failed.
    #[error("request failed: {}", chain(.0))]
    Request(#[source] reqwest::Error),
    /// The webhook answered with a status that is not 2xx.
    #[error("webhook answered {0}")]
    Status(StatusCode),
}

impl AttemptError {
    /// Whether another attempt may succeed: network errors, timeouts, 5xx
    /// and 429 are worth retrying; other answers will not change.
    fn is_retryable(&self) -> bool {
        match self {
            AttemptError::Request(_) => true,
            AttemptError::Status(s) => s.is_server_error() || *s == StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// Why the notifier could not be set up.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    /// `webhook_url` does not parse as a URL.
    #[error("webhook_url is not a valid URL: {0}")]
    Url(#[source] UrlParseError),
    /// The HTTP client could not be built (TLS set-up).
    #[error("could not build the HTTP client: {}", chain(.0))]
    Client(#[source] reqwest::Error),
}

/// The error of [`Url::parse`] (`reqwest` re-exports `url::Url` but not its
/// error type).
type UrlParseError = <Url as std::str::FromStr>::Err;

/// Sends notifications to the configured webhook in the background.
///
/// Cheap to clone; all clones feed the same worker.
#[derive(Clone)]
pub struct Notifier {
    /// The worker's queue; `None` when no webhook is configured.
    tx: Option<mpsc::Sender<Notification>>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl Notifier {
    /// Starts the delivery worker on `tracker` when `config.webhook_url` is
    /// set (otherwise returns [`Notifier::disabled`]). The worker stops when
    /// `cancel` fires, after trying to deliver what is queued for at most
    /// about a second. A URL that does not parse is logged as an error and
    /// disables notifications.
    pub fn new(config: &Config, cancel: CancellationToken, tracker: &TaskTracker) -> Notifier {
        Self::with_backoff(
            config,
            Duration::from_millis(BACKOFF_BASE_MS),
            cancel,
            tracker,
        )
    }

    /// [`Notifier::new`] with another wait before the first retry (doubled
    /// for each further one, capped at 30 s); for tests.
    pub fn with_backoff(
        config: &Config,
        backoff_base: Duration,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) -> Notifier {
        let Some(url) = config.webhook_url.as_deref() else {
            return Notifier::disabled();
        };
        let worker = match Worker::new(config, url, backoff_base, cancel) {
            Ok(worker) => worker,
            Err(e) => {
                tracing::error!(error = %e, "webhook notifications disabled");
                return Notifier::disabled();
            }
        };
        tracing::info!(webhook = %worker.target, "webhook notifications enabled");
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        tracker.spawn(worker.run(rx));
        Notifier { tx: Some(tx) }
    }

    /// A notifier that drops everything (no webhook).
    pub fn disabled() -> Notifier {
        Notifier { tx: None }
    }

    /// Whether notifications go anywhere.
    pub fn is_enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues one notification; never waits. When the queue is full the
    /// notification is dropped with a warning.
    pub fn notify(&self, kind: NotifyKind, session: &SessionInfo, detail: serde_json::Value) {
        let Some(tx) = &self.tx else { return };
        let body = Body {
            kind,
            at: OffsetDateTime::now_utc(),
            session,
            detail: &detail,
        };
        let body = match serde_json::to_vec(&body) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                tracing::warn!(kind = kind.as_str(), session = %session.id, error = %e,
                    "notification not serialisable; dropped");
                return;
            }
        };
        let notification = Notification {
            kind,
            session: session.id,
            body,
        };
        match tx.try_send(notification) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(n)) => {
                tracing::warn!(kind = n.kind.as_str(), session = %n.session,
                    "webhook queue full; notification dropped");
            }
            Err(mpsc::error::TrySendError::Closed(n)) => {
                tracing::debug!(kind = n.kind.as_str(), session = %n.session,
                    "webhook worker stopped; notification dropped");
            }
        }
    }
}

/// The delivery worker's state.
struct Worker {
    /// The HTTP client (user agent and per-attempt timeout set).
    client: reqwest::Client,
    /// The full webhook URL. Secret: never log it.
    url: Url,
    /// `scheme://host[:port]` of the webhook: what logs may show.
    target: String,
    /// Attempts after the first failed one.
    retries: u32,
    /// Wait before the first retry.
    backoff_base: Duration,
    /// Stops the worker.
    cancel: CancellationToken,
}

impl Worker {
    /// Parses the URL and builds the client.
    fn new(
        config: &Config,
        url: &str,
        backoff_base: Duration,
        cancel: CancellationToken,
    ) -> Result<Worker, SetupError> {
        let url = Url::parse(url).map_err(SetupError::Url)?;
        let client = reqwest::Client::builder()
            .user_agent(concat!("ccweb/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(config.webhook_timeout_secs))
            // A redirect would be followed with the body to a place nobody
            // configured; the webhook must answer itself.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(SetupError::Client)?;
        Ok(Worker {
            client,
            target: redacted_target(&url),
            url,
            retries: config.webhook_retries,
            backoff_base,
            cancel,
        })
    }

    /// Delivers queued notifications one after another until `cancel` fires
    /// (then what is queued gets one attempt each, for at most
    /// [`DRAIN_GRACE_MS`]) or every [`Notifier`] is dropped.
    async fn run(self, mut rx: mpsc::Receiver<Notification>) {
        let deadline = async {
            self.cancel.cancelled().await;
            tokio::time::sleep(Duration::from_millis(DRAIN_GRACE_MS)).await;
        };
        let work = async {
            loop {
                let next = tokio::select! {
                    biased;
                    () = self.cancel.cancelled() => {
                        // Refuse new notifications; `recv` still yields what
                        // is queued, then `None`.
                        rx.close();
                        rx.recv().await
                    }
                    next = rx.recv() => next,
                };
                let Some(notification) = next else { break };
                self.deliver(&notification).await;
            }
        };
        let timed_out = tokio::select! {
            () = work => false,
            () = deadline => true,
        };
        if timed_out {
            tracing::warn!(webhook = %self.target, queued = rx.len(),
                "shutdown: undelivered notifications dropped");
        }
        tracing::debug!("webhook worker stopped");
    }

    /// Tries once, then up to `retries` more times with exponential backoff
    /// while the failure is retryable. After cancellation no more retries.
    async fn deliver(&self, n: &Notification) {
        let kind = n.kind.as_str();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let err = match self.attempt(n).await {
                Ok(()) => {
                    tracing::debug!(webhook = %self.target, kind, session = %n.session, attempt,
                        "notification delivered");
                    return;
                }
                Err(e) => e,
            };
            let retry = err.is_retryable() && attempt <= self.retries;
            if !retry {
                tracing::warn!(webhook = %self.target, kind, session = %n.session, attempt,
                    error = %err, "notification not delivered; giving up");
                return;
            }
            let wait = backoff(self.backoff_base, attempt - 1);
            tracing::debug!(webhook = %self.target, kind, session = %n.session, attempt,
                error = %err, retry_in_ms = wait.as_millis(), "notification attempt failed");
            tokio::select! {
                () = self.cancel.cancelled() => {
                    tracing::warn!(webhook = %self.target, kind, session = %n.session, attempt,
                        error = %err, "shutting down: notification not delivered");
                    return;
                }
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// One POST.
    async fn attempt(&self, n: &Notification) -> Result<(), AttemptError> {
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Ccweb-Event", n.kind.as_str())
            .body(n.body.clone())
            .send()
            .await
            .map_err(|e| AttemptError::Request(e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(AttemptError::Status(status))
        }
    }
}

/// The wait before retry number `retry` (0-based): base × 2^retry, capped.
fn backoff(base: Duration, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    base.saturating_mul(factor)
        .min(Duration::from_millis(BACKOFF_MAX_MS))
}

/// `scheme://host[:port]` of a URL: no user info, path or query, which may
/// hold secrets.
fn redacted_target(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// An error and its sources, joined with `: ` (`reqwest`'s own message
/// alone says little, e.g. "error sending request").
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_target_drops_credentials_path_and_query() {
        let url = Url::parse("https://user:pw@hooks.example.com/a/b?token=secret").unwrap();
        assert_eq!(redacted_target(&url), "https://hooks.example.com");
        let url = Url::parse("http://127.0.0.1:8080/hook?token=secret#x").unwrap();
        assert_eq!(redacted_target(&url), "http://127.0.0.1:8080");
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(500);
        assert_eq!(backoff(base, 0), Duration::from_millis(500));
        assert_eq!(backoff(base, 1), Duration::from_secs(1));
        assert_eq!(backoff(base, 2), Duration::from_secs(2));
        assert_eq!(backoff(base, 10), Duration::from_millis(BACKOFF_MAX_MS));
        assert_eq!(backoff(base, 40), Duration::from_millis(BACKOFF_MAX_MS));
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let retryable =
            |s: u16| AttemptError::Status(StatusCode::from_u16(s).unwrap()).is_retryable();
        assert!(retryable(500));
        assert!(retryable(503));
        assert!(retryable(429));
        assert!(!retryable(400));
        assert!(!retryable(404));
        assert!(!retryable(301));
    }

    #[test]
    fn kind_spelling_matches_serde() {
        for kind in [
            NotifyKind::NeedsAttention,
            NotifyKind::TurnFinished,
            NotifyKind::SessionEnded,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
    }

    #[test]
    fn request_errors_do_not_show_the_url() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Port 1 on localhost refuses connections.
        let err = rt.block_on(async {
            reqwest::Client::new()
                .post("http://127.0.0.1:1/hook?token=secret")
                .send()
                .await
                .unwrap_err()
        });
        let shown = AttemptError::Request(err.without_url()).to_string();
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!shown.contains("/hook"), "{shown}");
    }
}
