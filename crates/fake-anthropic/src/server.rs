//! The fake Messages API server: routing, the reply script, and the request log.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::reply::{self, estimate_tokens, render, RenderCtx, Rendered, Reply, DEFAULT_REPLY_TEXT};

/// What kind of request the fake recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A conversation turn (`POST /v1/messages`): answered from the script
    /// (rules, then the queue, then the fallback).
    Messages,
    /// A `POST /v1/messages` request the CLI makes on the side rather than for a
    /// conversation turn, such as the TUI's terminal-title request (see
    /// [`is_side_request`]). Answered with [`SIDE_QUERY_REPLY_TEXT`]; it does not
    /// consume the script and is not counted by [`FakeAnthropic::requests`].
    SideQuery,
    /// `HEAD /` (or `GET /`): the CLI's connectivity probe at start-up; answered 200.
    Probe,
    /// `POST /v1/messages/count_tokens`.
    CountTokens,
    /// Anything else; answered 404.
    Unknown,
}

/// One request the fake received, for assertions and debugging.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method, e.g. `POST`.
    pub method: String,
    /// Path with query, e.g. `/v1/messages?beta=true`.
    pub path: String,
    /// How the fake classified it.
    pub kind: RequestKind,
    /// The request headers, lower-cased names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The JSON body, or `Value::Null` if it was empty or not JSON.
    pub body: Value,
}

/// Text of the reply to side queries. It is JSON because the title request asks
/// for structured output `{"title": string}`.
pub const SIDE_QUERY_REPLY_TEXT: &str = r#"{"title":"Fake session title"}"#;

/// A running fake Anthropic Messages API on `127.0.0.1` at a free port.
///
/// Replies are scripted per test: [`push`](Self::push) queues replies that are used
/// in order, [`add_rule`](Self::add_rule) answers requests by their last user text,
/// and once both give nothing the fallback reply is used (by default
/// [`Reply::Text`] with [`DEFAULT_REPLY_TEXT`]). The server stops when this value is
/// dropped; [`shutdown`](Self::shutdown) also waits for it.
#[derive(Debug)]
pub struct FakeAnthropic {
    /// The bound address.
    addr: SocketAddr,
    /// Script and log shared with the handlers.
    shared: Arc<Shared>,
    /// Stops the server task and every reply stream in flight.
    cancel: CancellationToken,
    /// The server task; `None` once [`shutdown`](Self::shutdown) took it.
    task: Option<JoinHandle<io::Result<()>>>,
}

/// State shared between the handle and the handlers.
#[derive(Debug)]
struct Shared {
    /// The script and the log. A std mutex: it is never held across an `.await`.
    state: Mutex<ScriptState>,
    /// Number of [`RequestKind::Messages`] requests received so far.
    turn_requests: watch::Sender<usize>,
    /// Cancelled when the server stops, ending reply streams in flight.
    cancel: CancellationToken,
}

/// The mutable part of [`Shared`].
#[derive(Debug)]
struct ScriptState {
    /// Replies used in order by conversation requests.
    queue: VecDeque<Reply>,
    /// `(needle, reply)`: used, first match wins, when the last user text contains needle.
    rules: Vec<(String, Reply)>,
    /// Used when no rule matches and the queue is empty.
    fallback: Reply,
    /// Every request received.
    log: Vec<RecordedRequest>,
    /// Last `msg_fake_N` / `req_fake_N` number handed out.
    message_seq: u64,
    /// Last `toolu_fake_N` number handed out.
    tool_seq: u64,
}

impl FakeAnthropic {
    /// Starts the server on `127.0.0.1:0`.
    ///
    /// # Panics
    /// If no loopback port can be bound. This is test support: a machine that cannot
    /// bind loopback cannot run these tests, and a panic says so plainly.
    pub async fn start() -> FakeAnthropic {
        match Self::try_start().await {
            Ok(fake) => fake,
            Err(err) => panic!("fake-anthropic: cannot bind 127.0.0.1:0: {err}"),
        }
    }

    /// Starts the server on `127.0.0.1:0`, returning bind errors.
    pub async fn try_start() -> io::Result<FakeAnthropic> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let (turn_requests, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(ScriptState {
                queue: VecDeque::new(),
                rules: Vec::new(),
                fallback: Reply::text(DEFAULT_REPLY_TEXT),
                log: Vec::new(),
                message_seq: 0,
                tool_seq: 0,
            }),
            turn_requests,
            cancel: cancel.clone(),
        });
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            .route("/", axum::routing::get(probe).head(probe))
            .fallback(unknown)
            .with_state(Arc::clone(&shared));
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        tracing::debug!(%addr, "fake-anthropic listening");
        Ok(FakeAnthropic {
            addr,
            shared,
            cancel,
            task: Some(task),
        })
    }

    /// The URL to put in `ANTHROPIC_BASE_URL`, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a reply for the next conversation request that no rule answers.
    pub fn push(&self, reply: Reply) {
        self.shared.lock().queue.push_back(reply);
    }

    /// Replaces the reply used when no rule matches and the queue is empty.
    pub fn set_fallback(&self, reply: Reply) {
        self.shared.lock().fallback = reply;
    }

    /// Answers every conversation request whose last user message contains
    /// `needle` in one of its text blocks with `reply`. Rules are not consumed,
    /// are checked in the order added, and take precedence over the queue.
    pub fn add_rule(&self, needle: impl Into<String>, reply: Reply) {
        self.shared.lock().rules.push((needle.into(), reply));
    }

    /// Number of queued replies not yet used.
    pub fn queued(&self) -> usize {
        self.shared.lock().queue.len()
    }

    /// Bodies of the conversation requests ([`RequestKind::Messages`]) in arrival order.
    pub fn requests(&self) -> Vec<Value> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.kind == RequestKind::Messages)
            .map(|r| r.body.clone())
            .collect()
    }

    /// Every request received, of every kind, in arrival order.
    pub fn log(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    /// Waits until at least `n` conversation requests have arrived; `false` on timeout.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) -> bool {
        let mut rx = self.shared.turn_requests.subscribe();
        // `wait_for` checks the current value first, so nothing is missed between
        // subscribing and waiting.
        tokio::time::timeout(timeout, rx.wait_for(|count| *count >= n))
            .await
            .is_ok_and(|res| res.is_ok())
    }

    /// Stops the server and waits for its task to end.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::warn!(%err, "fake-anthropic server failed"),
                Err(err) => tracing::warn!(%err, "fake-anthropic server task panicked"),
            }
        }
    }
}

impl Drop for FakeAnthropic {
    fn drop(&mut self) {
        // The task ends by itself once cancelled: graceful shutdown closes idle
        // connections and every reply stream stops at the token.
        self.cancel.cancel();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ScriptState> {
        // A panic while holding the lock cannot leave the script half-updated in a
        // way that matters to a test; keep serving.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, request: RecordedRequest) {
        tracing::info!(method = %request.method, path = %request.path, kind = ?request.kind, "fake-anthropic request");
        let is_turn = request.kind == RequestKind::Messages;
        let count = {
            let mut state = self.lock();
            state.log.push(request);
            state
                .log
                .iter()
                .filter(|r| r.kind == RequestKind::Messages)
                .count()
        };
        if is_turn {
            self.turn_requests.send_replace(count);
        }
    }
}

/// Whether a `/v1/messages` body is a side query of the CLI rather than a
/// conversation turn.
///
/// Recognised: the TUI's session-title request (CLI 2.1.197 sends it, concurrently
/// with the turn's own request, after the first prompt of three or more words unless
/// `CLAUDE_CODE_DISABLE_TERMINAL_TITLE=1`): no tools, structured output with a `title`
/// property, and a system prompt asking for a title. Also any request with
/// `max_tokens` 1 (a quota probe; not seen from 2.1.197 but cheap to recognise).
pub fn is_side_request(body: &Value) -> bool {
    if body.get("max_tokens").and_then(Value::as_u64) == Some(1) {
        return true;
    }
    let has_tools = body
        .get("tools")
        .and_then(Value::as_array)
        .is_some_and(|tools| !tools.is_empty());
    if has_tools {
        return false;
    }
    let format = &body["output_config"]["format"];
    let wants_title_json =
        format["type"] == "json_schema" && format["schema"]["properties"].get("title").is_some();
    let system = system_text(body);
    let asks_for_title = system.contains("Generate a concise") && system.contains("title");
    wants_title_json || asks_for_title
}

/// The text of the request's `system` field (a string or an array of text blocks).
fn system_text(body: &Value) -> String {
    match body.get("system") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// The text blocks of the last `user` message, joined with newlines.
pub fn last_user_text(body: &Value) -> String {
    let Some(message) = body
        .get("messages")
        .and_then(Value::as_array)
        .and_then(|msgs| msgs.iter().rev().find(|m| m["role"] == "user"))
    else {
        return String::new();
    };
    match &message["content"] {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn recorded(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    kind: RequestKind,
) -> RecordedRequest {
    RecordedRequest {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), ToString::to_string),
        kind,
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    }
}

/// `POST /v1/messages` (with or without `?beta=true`).
async fn messages(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut request = recorded(&method, &uri, &headers, &body, RequestKind::Messages);
    if !request.body.is_object() {
        shared.record(request);
        return into_response(
            reply::error_response(
                400,
                "invalid_request_error",
                "request body is not a JSON object",
            ),
            &shared.cancel,
            "req_fake_invalid",
        );
    }
    if is_side_request(&request.body) {
        request.kind = RequestKind::SideQuery;
    }
    let kind = request.kind;
    let (chosen, ctx, request_id) = {
        let mut state = shared.lock();
        let chosen = match kind {
            RequestKind::SideQuery => Reply::text(SIDE_QUERY_REPLY_TEXT),
            _ => {
                let text = last_user_text(&request.body);
                let rule = state
                    .rules
                    .iter()
                    .find(|(needle, _)| text.contains(needle.as_str()))
                    .map(|(_, reply)| reply.clone());
                match rule {
                    Some(reply) => reply,
                    None => match state.queue.pop_front() {
                        Some(reply) => reply,
                        None => state.fallback.clone(),
                    },
                }
            }
        };
        state.message_seq += 1;
        if matches!(chosen, Reply::ToolUse { .. }) {
            state.tool_seq += 1;
        }
        let ctx = RenderCtx {
            message_id: format!("msg_fake_{}", state.message_seq),
            model: request.body["model"]
                .as_str()
                .unwrap_or("claude-fake")
                .to_owned(),
            input_tokens: estimate_tokens(body.len()),
            stream: request.body["stream"] == true,
            next_tool_id: state.tool_seq,
        };
        (chosen, ctx, format!("req_fake_{}", state.message_seq))
    };
    shared.record(request);
    into_response(render(&chosen, &ctx), &shared.cancel, &request_id)
}

/// `POST /v1/messages/count_tokens`: a rough count of the body.
async fn count_tokens(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.record(recorded(
        &method,
        &uri,
        &headers,
        &body,
        RequestKind::CountTokens,
    ));
    let tokens = estimate_tokens(body.len());
    (StatusCode::OK, axum::Json(json!({"input_tokens": tokens}))).into_response()
}

/// `HEAD /` and `GET /`: the CLI checks that the base URL answers before its first request.
async fn probe(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    shared.record(recorded(&method, &uri, &headers, &body, RequestKind::Probe));
    StatusCode::OK
}

/// Anything else: logged and answered 404 with the API's error body.
async fn unknown(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    tracing::warn!(%method, %uri, "fake-anthropic: unknown endpoint");
    shared.record(recorded(
        &method,
        &uri,
        &headers,
        &body,
        RequestKind::Unknown,
    ));
    let message = format!("{method} {} is not implemented by the fake", uri.path());
    (
        StatusCode::NOT_FOUND,
        axum::Json(reply::error_body("not_found_error", &message)),
    )
        .into_response()
}

fn into_response(rendered: Rendered, cancel: &CancellationToken, request_id: &str) -> Response {
    match rendered {
        Rendered::Json {
            status,
            headers,
            body,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, axum::Json(body)).into_response();
            let map = response.headers_mut();
            for (name, value) in headers {
                if let Ok(value) = value.parse() {
                    map.insert(name, value);
                }
            }
            if let Ok(value) = request_id.parse() {
                map.insert("request-id", value);
            }
            response
        }
        Rendered::Sse(frames) => {
            let stream = futures_util::stream::iter(frames)
                .then(|(delay, bytes)| async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    Ok::<_, Infallible>(bytes)
                })
                .take_until(cancel.clone().cancelled_owned());
            let mut response = Body::from_stream(stream).into_response();
            let map = response.headers_mut();
            map.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/event-stream; charset=utf-8"),
            );
            map.insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-cache"),
            );
            if let Ok(value) = request_id.parse() {
                map.insert("request-id", value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_user_text_reads_strings_and_text_blocks() {
        let body = json!({"messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "x"},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t", "content": "no"},
                {"type": "text", "text": "second"}
            ]}
        ]});
        assert_eq!(last_user_text(&body), "second");
        assert_eq!(last_user_text(&json!({})), "");
    }

    #[test]
    fn side_requests_are_recognised() {
        assert!(is_side_request(&json!({"max_tokens": 1, "messages": []})));
        assert!(is_side_request(&json!({
            "tools": [],
            "system": [{"type": "text", "text": "Generate a concise, sentence-case title (3-7 words)"}],
        })));
        assert!(is_side_request(&json!({
            "output_config": {"format": {"type": "json_schema", "schema": {"properties": {"title": {"type": "string"}}}}},
        })));
        assert!(!is_side_request(&json!({
            "tools": [{"name": "Bash"}],
            "system": "Generate a concise title",
        })));
        assert!(!is_side_request(
            &json!({"max_tokens": 32000, "system": "You are Claude Code"})
        ));
    }
}
