//! Webhook notifications against a real HTTP receiver on `127.0.0.1:0`.
// Test helpers are not `#[test]` functions, so `allow-unwrap-in-tests` does not cover them.
#![allow(clippy::unwrap_used)]

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use ccweb_protocol::SessionInfo;
use ccweb_server::notify::{Notifier, NotifyKind};
use ccweb_server::Config;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

/// Backoff base used by the tests, so retries take milliseconds.
const TEST_BACKOFF: Duration = Duration::from_millis(20);
/// How long a test waits for something that should happen.
const WAIT: Duration = Duration::from_secs(5);
/// How long a test waits to be sure something does not happen.
const QUIET: Duration = Duration::from_millis(300);

/// How the receiver answers one request.
#[derive(Clone, Copy)]
enum Answer {
    /// Answer with this status at once.
    Status(u16),
    /// Answer 200 after this long.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Debug)]
struct Attempt {
    /// Its headers.
    headers: HeaderMap,
    /// Its body, parsed.
    body: Value,
}

#[derive(Clone)]
struct ReceiverState {
    /// Answers for the next requests, in order; 200 once used up.
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// Every request, as it arrives.
    attempts: mpsc::Sender<Attempt>,
}

/// A webhook receiver that stops serving when dropped.
struct Receiver {
    /// Where it listens.
    addr: SocketAddr,
    /// Requests as they arrive.
    attempts: mpsc::Receiver<Attempt>,
    /// Stops the server on drop.
    _stop: DropGuard,
}

impl Receiver {
    async fn start(script: &[Answer]) -> Receiver {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), script).await
    }

    async fn start_on(addr: SocketAddr, script: &[Answer]) -> Receiver {
        let (tx, rx) = mpsc::channel(64);
        let state = ReceiverState {
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            attempts: tx,
        };
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await
                .unwrap();
        });
        Receiver {
            addr,
            attempts: rx,
            _stop: stop.drop_guard(),
        }
    }

    /// The webhook URL, with a secret in its query as real ones have.
    fn url(&self) -> String {
        format!("http://{}/hook?token=s3cret", self.addr)
    }

    /// The next request; fails the test if none comes in time.
    async fn next(&mut self) -> Attempt {
        tokio::time::timeout(WAIT, self.attempts.recv())
            .await
            .expect("no request in time")
            .expect("receiver stopped")
    }

    /// Fails the test if another request comes within [`QUIET`].
    async fn assert_quiet(&mut self) {
        if let Ok(Some(a)) = tokio::time::timeout(QUIET, self.attempts.recv()).await {
            panic!("unexpected request: {a:?}");
        }
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let answer = state.script.lock().unwrap().pop_front();
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    state
        .attempts
        .send(Attempt { headers, body })
        .await
        .unwrap();
    match answer {
        None => StatusCode::OK,
        Some(Answer::Status(s)) => StatusCode::from_u16(s).unwrap(),
        Some(Answer::Hang(d)) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}

/// A session object. Built from JSON so that fields added later with a
/// serde default do not break this test.
fn session() -> SessionInfo {
    let now = OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    serde_json::from_value(json!({
        "id": uuid::Uuid::new_v4(),
        "owner": "alice",
        "mode": "chat",
        "state": "running",
        "working_dir": "/tmp/project",
        "title": "fix the tests",
        "created_at": now,
        "last_activity_at": now,
        "ended_at": null,
        "exit_code": null,
        "end_reason": null,
        "claude_session_id": null,
        "model": null,
        "permission_mode": "default",
        "cols": 80,
        "rows": 24,
        "viewers": 0,
        "usage": {"cost_usd": 0.0, "input_tokens": 0, "output_tokens": 0},
    }))
    .unwrap()
}

/// A started notifier for `url` with fast backoff, and what stops it.
struct Harness {
    notifier: Notifier,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Harness {
    fn new(url: String, timeout_secs: u64, retries: u32) -> Harness {
        let config = Config {
            webhook_url: Some(url),
            webhook_timeout_secs: timeout_secs,
            webhook_retries: retries,
            ..Config::default()
        };
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let notifier = Notifier::with_backoff(&config, TEST_BACKOFF, cancel.clone(), &tracker);
        Harness {
            notifier,
            cancel,
            tracker,
        }
    }

    /// Cancels and asserts the worker finishes within `bound`.
    async fn shut_down(self, bound: Duration) {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout(bound, self.tracker.wait())
            .await
            .expect("worker did not stop in time");
    }
}

#[tokio::test]
async fn notification_arrives_with_json_body_and_headers() {
    let mut rx = Receiver::start(&[]).await;
    let h = Harness::new(rx.url(), 5, 3);
    assert!(h.notifier.is_enabled());
    let s = session();
    h.notifier.notify(
        NotifyKind::NeedsAttention,
        &s,
        json!({"tool": "Bash", "request_id": "r1"}),
    );
    let a = rx.next().await;
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(
        a.headers["user-agent"],
        format!("ccweb/{}", env!("CARGO_PKG_VERSION")).as_str()
    );
    assert_eq!(a.headers["x-ccweb-event"], "needs_attention");
    assert_eq!(a.body["kind"], "needs_attention");
    assert_eq!(a.body["session"], serde_json::to_value(&s).unwrap());
    assert_eq!(
        a.body["detail"],
        json!({"tool": "Bash", "request_id": "r1"})
    );
    let at = a.body["at"].as_str().expect("`at` is a string");
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .expect("`at` is RFC 3339");
    assert_eq!(a.body.as_object().unwrap().len(), 4, "{}", a.body);
    rx.assert_quiet().await;
    h.shut_down(WAIT).await;
}

#[tokio::test]
async fn notifications_are_delivered_in_order() {
    let mut rx = Receiver::start(&[Answer::Status(503)]).await;
    let h = Harness::new(rx.url(), 5, 3);
    let s = session();
    let kinds = [
        NotifyKind::TurnFinished,
        NotifyKind::NeedsAttention,
        NotifyKind::SessionEnded,
    ];
    for (i, kind) in kinds.iter().enumerate() {
        h.notifier.notify(*kind, &s, json!({ "n": i }));
    }
    // The first is answered 503 and retried before the others are sent.
    let mut seen = Vec::new();
    for _ in 0..4 {
        let a = rx.next().await;
        seen.push((a.body["kind"].clone(), a.body["detail"]["n"].clone()));
    }
    assert_eq!(
        seen,
        [
            (json!("turn_finished"), json!(0)),
            (json!("turn_finished"), json!(0)),
            (json!("needs_attention"), json!(1)),
            (json!("session_ended"), json!(2)),
        ]
    );
    h.shut_down(WAIT).await;
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let mut rx = Receiver::start(&[Answer::Status(500), Answer::Status(500)]).await;
    let h = Harness::new(rx.url(), 5, 3);
    h.notifier
        .notify(NotifyKind::TurnFinished, &session(), json!({}));
    for _ in 0..3 {
        let a = rx.next().await;
        assert_eq!(a.body["kind"], "turn_finished");
    }
    rx.assert_quiet().await;
    h.shut_down(WAIT).await;
}

#[tokio::test]
async fn too_many_requests_is_retried() {
    let mut rx = Receiver::start(&[Answer::Status(429)]).await;
    let h = Harness::new(rx.url(), 5, 3);
    h.notifier
        .notify(NotifyKind::TurnFinished, &session(), json!({}));
    rx.next().await;
    rx.next().await;
    rx.assert_quiet().await;
    h.shut_down(WAIT).await;
}

#[tokio::test]
async fn retries_stop_after_webhook_retries() {
    let mut rx = Receiver::start(&[Answer::Status(500); 10]).await;
    let h = Harness::new(rx.url(), 5, 2);
    h.notifier
        .notify(NotifyKind::SessionEnded, &session(), json!({}));
    for _ in 0..3 {
        rx.next().await;
    }
    rx.assert_quiet().await;
    h.shut_down(WAIT).await;
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let mut rx = Receiver::start(&[Answer::Status(400)]).await;
    let h = Harness::new(rx.url(), 5, 3);
    h.notifier
        .notify(NotifyKind::SessionEnded, &session(), json!({}));
    rx.next().await;
    rx.assert_quiet().await;
    // The worker moved on: the next notification is delivered.
    h.notifier
        .notify(NotifyKind::TurnFinished, &session(), json!({}));
    assert_eq!(rx.next().await.body["kind"], "turn_finished");
    h.shut_down(WAIT).await;
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_retried() {
    let mut rx = Receiver::start(&[Answer::Hang(Duration::from_secs(10))]).await;
    let h = Harness::new(rx.url(), 1, 1);
    h.notifier
        .notify(NotifyKind::NeedsAttention, &session(), json!({}));
    let started = tokio::time::Instant::now();
    rx.next().await;
    let a = rx.next().await;
    let waited = started.elapsed();
    assert_eq!(a.body["kind"], "needs_attention");
    assert!(
        waited >= Duration::from_millis(900),
        "retried after {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "retried after {waited:?}");
    rx.assert_quiet().await;
    h.shut_down(WAIT).await;
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    // Bind, learn the port, close: connections are refused until the
    // receiver binds the same port again.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = Config {
        webhook_url: Some(format!("http://{addr}/hook")),
        webhook_retries: 3,
        ..Config::default()
    };
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    let notifier = Notifier::with_backoff(
        &config,
        Duration::from_millis(300),
        cancel.clone(),
        &tracker,
    );
    notifier.notify(NotifyKind::TurnFinished, &session(), json!({}));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut rx = Receiver::start_on(addr, &[]).await;
    assert_eq!(rx.next().await.body["kind"], "turn_finished");
    rx.assert_quiet().await;
    cancel.cancel();
    tracker.close();
    tokio::time::timeout(WAIT, tracker.wait()).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_webhook_does_not_hold_up_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let h = Harness::new(format!("http://{addr}/hook"), 1, 2);
    h.notifier
        .notify(NotifyKind::TurnFinished, &session(), json!({}));
    // 20 ms + 40 ms of backoff; then the worker idles and stops at once.
    tokio::time::sleep(QUIET).await;
    h.shut_down(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn without_a_webhook_nothing_is_started_or_sent() {
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let notifier = Notifier::new(&Config::default(), cancel.clone(), &tracker);
    assert!(!notifier.is_enabled());
    assert!(tracker.is_empty(), "a worker was spawned");
    notifier.notify(NotifyKind::SessionEnded, &session(), json!({}));

    let disabled = Notifier::disabled();
    assert!(!disabled.is_enabled());
    disabled.notify(NotifyKind::SessionEnded, &session(), json!({}));

    tracker.close();
    tokio::time::timeout(Duration::from_millis(100), tracker.wait())
        .await
        .unwrap();
}

#[tokio::test]
async fn cancel_delivers_what_is_queued_then_stops() {
    let mut rx = Receiver::start(&[]).await;
    let h = Harness::new(rx.url(), 5, 3);
    let s = session();
    for i in 0..5 {
        h.notifier
            .notify(NotifyKind::TurnFinished, &s, json!({ "n": i }));
    }
    let notifier = h.notifier.clone();
    h.shut_down(Duration::from_secs(2)).await;
    for i in 0..5 {
        assert_eq!(rx.next().await.body["detail"]["n"], i);
    }
    // After the worker stopped, notifications are dropped quietly.
    notifier.notify(NotifyKind::TurnFinished, &s, json!({}));
    rx.assert_quiet().await;
}

#[tokio::test]
async fn cancel_stops_a_worker_stuck_on_a_hanging_receiver() {
    let mut rx = Receiver::start(&[Answer::Hang(Duration::from_secs(30)); 10]).await;
    let h = Harness::new(rx.url(), 30, 3);
    for _ in 0..10 {
        h.notifier
            .notify(NotifyKind::NeedsAttention, &session(), json!({}));
    }
    rx.next().await;
    // About one second of grace for the queue, then the worker gives up.
    let started = tokio::time::Instant::now();
    h.shut_down(Duration::from_secs(3)).await;
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn cancel_interrupts_backoff() {
    let mut rx = Receiver::start(&[Answer::Status(500); 10]).await;
    let config = Config {
        webhook_url: Some(rx.url()),
        webhook_retries: 5,
        ..Config::default()
    };
    let cancel = CancellationToken::new();
    let tracker = TaskTracker::new();
    // A backoff far longer than the test: only cancellation ends the wait.
    let notifier =
        Notifier::with_backoff(&config, Duration::from_secs(60), cancel.clone(), &tracker);
    notifier.notify(NotifyKind::SessionEnded, &session(), json!({}));
    rx.next().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    cancel.cancel();
    tracker.close();
    tokio::time::timeout(Duration::from_millis(500), tracker.wait())
        .await
        .expect("backoff was not interrupted");
    rx.assert_quiet().await;
}
