//! WebSocket endpoints. Authentication and authorization happen before the
//! upgrade (real 401/403/404 answers); each socket is then one task with
//! one `select!` loop, tracked so shutdown waits for its close frame.
//!
//! Close codes: 1000 the session ended, 1001 the server is shutting down or
//! the peer stopped answering pings, 1009 a message was too large.

pub mod chat;
pub mod raw_chat;
pub mod terminal;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::auth::{Auth, Via};
use crate::error::ApiError;
use crate::http::sessions::visible_session;
use crate::state::AppState;
use ccweb_protocol::SessionInfo;
use ccweb_runner::TerminalHandle;
use ccweb_store::TokenScope;

/// Normal close: the session ended.
pub const CLOSE_NORMAL: u16 = 1000;
/// Going away: shutdown or ping timeout.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Policy: the login or token was revoked, or the user disabled.
pub const CLOSE_POLICY: u16 = 1008;
/// Message too big.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// How often an open socket re-checks its credential (disabled users,
/// revoked tokens, expired logins); logout is announced at once.
const AUTH_RECHECK: Duration = Duration::from_secs(5);

/// A future that resolves when the caller's access ends.
pub(crate) type Revoked = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Resolves when the caller's access ends: a logout of this cookie (at
/// once), or the credential found invalid on a periodic re-check.
pub(crate) fn revoked(state: &AppState, auth: &Auth) -> Revoked {
    let mut logouts = state.revocations.subscribe();
    let state = state.clone();
    let credential = auth.credential.clone();
    Box::pin(async move {
        let mine = credential.cookie_hash();
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + AUTH_RECHECK, AUTH_RECHECK);
        loop {
            tokio::select! {
                hash = logouts.recv() => match hash {
                    Ok(hash) if Some(hash) == mine => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
                _ = recheck.tick() => {
                    if !credential.still_valid(&state).await {
                        return;
                    }
                }
            }
        }
    })
}

/// Largest binary frame of terminal output sent at once.
pub(crate) const MAX_OUTPUT_FRAME_BYTES: usize = 256 * 1024;
/// A send that takes longer than this means the peer is gone.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Query of both socket endpoints. Other parameters are ignored (clients
/// add cache-busters).
#[derive(Deserialize)]
pub struct SocketQuery {
    /// `1` or `true`: attach without input.
    readonly: Option<String>,
    /// Chat sockets: replay stored events after this seq, then go live.
    after_seq: Option<String>,
}

impl SocketQuery {
    /// `after_seq`, default 0 (the whole transcript).
    pub(crate) fn after_seq(&self) -> Result<i64, ApiError> {
        match self.after_seq.as_deref() {
            None => Ok(0),
            Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_request("invalid_query", "after_seq must be a whole number >= 0")
            }),
        }
    }
}

/// What a socket may do, decided before the upgrade.
pub(crate) struct Attach {
    /// The session as it is now.
    pub(crate) info: SessionInfo,
    /// Its live handle; `None` once it has ended.
    pub(crate) handle: Option<TerminalHandle>,
    /// Output only.
    pub(crate) readonly: bool,
    /// Fires when the caller's access ends (logout, revocation, disabled user).
    pub(crate) revoked: Revoked,
}

/// Checks that `auth` may see session `id` and decides read-only: asked
/// for, a read-only token, or an admin watching someone else's session.
pub(crate) async fn authorize(
    state: &AppState,
    auth: &Auth,
    id: &str,
    q: &SocketQuery,
) -> Result<Attach, ApiError> {
    let asked = match q.readonly.as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "readonly must be 1 or 0",
            ))
        }
    };
    let record = visible_session(state, auth, id).await?;
    let readonly = asked
        || matches!(auth.via, Via::Token(TokenScope::Read))
        || auth.user.id != record.owner_id;
    let handle = state.sessions.handle(record.id);
    Ok(Attach {
        info: state.sessions.info(record),
        handle,
        readonly,
        revoked: revoked(state, auth),
    })
}

/// Completes the upgrade with our message limits and runs `serve` on the
/// server's task tracker (axum does not track upgraded connections).
pub(crate) fn upgrade<F, Fut>(ws: WebSocketUpgrade, state: &AppState, serve: F) -> Response
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let max = state.config.ws_max_message_bytes;
    let tracker = state.tracker.clone();
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| tracker.track_future(serve(socket)))
}

/// Sends a close frame (best effort: the peer may be gone already).
pub(crate) async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}

/// Sends one message; `false` when the peer is gone or too slow.
pub(crate) async fn send(socket: &mut WebSocket, msg: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)).await,
        Ok(Ok(()))
    )
}

/// Sends a JSON control message as a text frame.
pub(crate) async fn send_json<T: serde::Serialize>(socket: &mut WebSocket, msg: &T) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => send(socket, Message::Text(text.into())).await,
        Err(_) => false,
    }
}

/// A client message, with the transport's own cases already handled.
pub(crate) enum Incoming {
    /// A text frame.
    Text(Utf8Bytes),
    /// A binary frame.
    Binary(Bytes),
    /// A ping or pong frame: nothing to do.
    Control,
    /// The peer closed, vanished, or broke a limit (already answered with a
    /// close frame): end the loop.
    End,
}

/// Sorts out what `socket.recv()` returned.
pub(crate) async fn incoming(
    socket: &mut WebSocket,
    msg: Option<Result<Message, axum::Error>>,
) -> Incoming {
    match msg {
        None | Some(Ok(Message::Close(_))) => Incoming::End,
        Some(Err(e)) => {
            // tungstenite reports an oversized message as a capacity error.
            let text = format!("{e:?}");
            if text.contains("Capacity") || text.contains("TooLong") {
                close(socket, CLOSE_TOO_BIG, "message too large").await;
            }
            Incoming::End
        }
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Incoming::Control,
        Some(Ok(Message::Binary(b))) => Incoming::Binary(b),
        Some(Ok(Message::Text(t))) => Incoming::Text(t),
    }
}

/// Server pings, and dropping a peer that stays silent for two intervals.
pub(crate) struct Keepalive {
    every: Duration,
    timer: tokio::time::Interval,
    last_heard: Instant,
}

impl Keepalive {
    /// Pings every `ws_ping_interval_secs`.
    pub(crate) fn new(state: &AppState) -> Self {
        let every = Duration::from_secs(state.config.ws_ping_interval_secs);
        let start = tokio::time::Instant::now() + every;
        Self {
            every,
            timer: tokio::time::interval_at(start, every),
            last_heard: Instant::now(),
        }
    }

    /// The peer said something.
    pub(crate) fn heard(&mut self) {
        self.last_heard = Instant::now();
    }

    /// Waits for the next ping time; `true` when the peer should be pinged,
    /// `false` when it stayed silent too long. Cancel-safe.
    pub(crate) async fn tick(&mut self) -> bool {
        self.timer.tick().await;
        self.last_heard.elapsed() <= self.every * 2
    }

    /// Acts on [`tick`](Self::tick): pings, or closes a silent peer with
    /// 1001. `false` when the loop should end.
    pub(crate) async fn ping(socket: &mut WebSocket, alive: bool) -> bool {
        if !alive {
            close(socket, CLOSE_GOING_AWAY, "ping timeout").await;
            return false;
        }
        send(socket, Message::Ping(Bytes::new())).await
    }
}
