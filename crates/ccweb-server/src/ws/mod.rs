//! WebSocket endpoints. Authentication and authorization happen before the
//! upgrade (real 401/403/404 answers); each socket is then one task with
//! one `select!` loop, tracked so shutdown waits for its close frame.
//!
//! Close codes: 1000 the session ended, 1001 the server is shutting down or
//! the peer stopped answering pings, 1007 a text frame was not UTF-8, 1008
//! access ended or input over the rate limit, 1009 a message was too large.

pub mod chat;
pub mod raw_chat;
pub mod terminal;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use std::future::Future;
use std::time::{Duration, Instant};
use tracing::Instrument;

use crate::auth::{Auth, Revocation, Via};
use crate::error::ApiError;
use crate::http::sessions::{record_on_session, visible_session};
use crate::state::AppState;
use ccweb_protocol::SessionInfo;
use ccweb_runner::TerminalHandle;
use ccweb_store::TokenScope;
use uuid::Uuid;

/// Normal close: the session ended.
pub const CLOSE_NORMAL: u16 = 1000;
/// Going away: shutdown or ping timeout.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Policy: the login or token was revoked, or the user disabled.
pub const CLOSE_POLICY: u16 = 1008;
/// Invalid data: a text frame that is not UTF-8.
pub const CLOSE_INVALID_DATA: u16 = 1007;
/// Message too big.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// How often an open socket re-checks its credential (disabled users,
/// revoked tokens, expired logins); logout is announced at once.
const AUTH_RECHECK: Duration = Duration::from_secs(5);

/// A future that resolves when the caller's access ends.
pub(crate) type Revoked = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Resolves when the caller's access ends: a logout of this cookie (at
/// once), or the credential found invalid on a periodic re-check; for a
/// viewer through a share link, also when the link is revoked or its
/// owner disabled (both at once), or it expires.
pub(crate) fn revoked(
    state: &AppState,
    auth: &Auth,
    share: Option<(Uuid, String, Uuid)>,
) -> Revoked {
    let mut logouts = state.revocations.subscribe();
    let state = state.clone();
    let credential = auth.credential.clone();
    let user = auth.user.id;
    Box::pin(async move {
        let share_ended = |r: &Revocation| match (r, &share) {
            (Revocation::Share(id), Some((mine, _, _))) => id == mine,
            // The owner disabled: their links die with their account.
            (Revocation::User(user), Some((_, _, owner))) => user == owner,
            _ => false,
        };
        let mut recheck =
            tokio::time::interval_at(tokio::time::Instant::now() + AUTH_RECHECK, AUTH_RECHECK);
        loop {
            tokio::select! {
                ended = logouts.recv() => match ended {
                    Ok(r) if credential.ended_by(&r, user) || share_ended(&r) => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
                _ = recheck.tick() => {
                    if !credential.still_valid(&state).await {
                        return;
                    }
                    if let Some((_, secret, _)) = &share {
                        // Revoked, expired, or its owner disabled (also by
                        // the CLI, which the broadcast does not reach); a
                        // database hiccup keeps the viewer, like for
                        // credentials.
                        if matches!(
                            crate::http::shares::shared_session(&state, secret).await,
                            Err(ApiError::NotFound(_))
                        ) {
                            return;
                        }
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

/// A socket's places in the quotas: per user (`max_sockets_per_user`) and
/// per client address (`max_connections_per_ip`). The second is what caps
/// one client behind a trusted proxy: its sockets reach ccweb as the
/// proxy's connections, which only the total connection cap limits.
pub(crate) struct SocketSlots {
    _user: crate::limits::CountGuard<Uuid>,
    _client: Option<crate::limits::CountGuard<std::net::IpAddr>>,
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
    /// This socket's places in the user's and the client address's socket
    /// quotas; [`upgrade`] keeps them for the socket's life.
    pub(crate) slot: SocketSlots,
    /// The socket's input rate limits (a hit is audited for this caller).
    pub(crate) limit: InputLimit,
}

/// What a socket asks to watch.
pub(crate) enum Target<'a> {
    /// A session by id: its owner, or an admin (read-only).
    Session(&'a str),
    /// A session through a share link's secret: any logged-in user, read-only.
    Share(&'a str),
}

/// Checks that `auth` may see the target and decides read-only: asked for,
/// a read-only token, an admin watching someone else's session, or a share
/// link. Takes a place in the user's socket quota and audits the attach.
pub(crate) async fn authorize(
    state: &AppState,
    auth: &Auth,
    target: Target<'_>,
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
    let (record, share) = match target {
        Target::Session(id) => (visible_session(state, auth, id).await?, None),
        Target::Share(secret) => {
            let (share, record) = crate::http::shares::shared_session(state, secret).await?;
            let owner = record.owner_id;
            (record, Some((share.id, secret.to_owned(), owner)))
        }
    };
    let readonly = asked
        || share.is_some()
        || matches!(auth.via, Via::Token(TokenScope::Read))
        || auth.user.id != record.owner_id;
    // A proxy that names no client (its own address, or 0.0.0.0 on the Unix
    // socket) carries many: only the total cap applies, as to its connections.
    let client = auth
        .source
        .filter(|ip| !ip.is_unspecified() && !state.trusted_proxies.trusts(*ip));
    let client_slot = match client {
        Some(ip) => match state.client_sockets.acquire(ip) {
            Some(slot) => Some(slot),
            None => {
                let mut entry = crate::audit::by(auth, "session.attach", crate::audit::LIMITED);
                entry.target = Some(record.id.to_string());
                state.audit.record(entry).await;
                return Err(ApiError::QuotaExceeded {
                    code: "connection_quota",
                    message: format!(
                        "your address has the maximum of {} connections open; close some tabs and try again",
                        state.config.max_connections_per_ip
                    ),
                });
            }
        },
        None => None,
    };
    let slot = state.sockets.acquire(auth.user.id);
    let outcome = if slot.is_some() {
        crate::audit::SUCCESS
    } else {
        crate::audit::LIMITED
    };
    match &share {
        Some((share_id, _, _)) => {
            let mut entry = crate::audit::by(auth, "share.attach", outcome);
            entry.target = Some(record.id.to_string());
            entry.detail = serde_json::json!({"share_id": share_id, "owner_id": record.owner_id});
            state.audit.record(entry).await;
        }
        None => record_on_session(state, auth, "session.attach", &record, outcome).await,
    }
    let Some(slot) = slot else {
        return Err(ApiError::QuotaExceeded {
            code: "socket_quota",
            message: format!(
                "you have the maximum of {} sockets open; close some tabs and try again",
                state.config.max_sockets_per_user
            ),
        });
    };
    let handle = state.sessions.handle(record.id);
    let mut limited = crate::audit::by(auth, "ws.rate_limited", crate::audit::LIMITED);
    limited.target = Some(record.id.to_string());
    Ok(Attach {
        limit: InputLimit::new(state, limited),
        info: state.sessions.info(record),
        handle,
        readonly,
        revoked: revoked(state, auth, share),
        slot: SocketSlots {
            _user: slot,
            _client: client_slot,
        },
    })
}

/// What one read of a socket asks the kernel for. tungstenite zeroes this
/// much before every read, the one that finds nothing included, and keeps
/// it allocated per socket: its default of 128 KiB cost every keystroke
/// two 128 KiB `memset`s (6 % of the server's time when typing) and every
/// viewer 128 KiB of memory. What a browser sends is keystrokes, resizes
/// and pastes; a paste of up to `ws_max_message_bytes` takes more reads.
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// Completes the upgrade with our message limits and runs `serve` on the
/// server's task tracker (axum does not track upgraded connections).
/// `slot` (the socket's place in its user's quota) is held until `serve` ends.
/// The task stays in the request's span (its log lines carry the request
/// id) and counts as an open socket of `kind` in the metrics.
pub(crate) fn upgrade<F, Fut>(
    ws: WebSocketUpgrade,
    state: &AppState,
    slot: SocketSlots,
    kind: crate::metrics::SocketKind,
    serve: F,
) -> Response
where
    F: FnOnce(WebSocket) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let max = state.config.ws_max_message_bytes;
    let tracker = state.tracker.clone();
    let metrics = state.metrics.clone();
    let span = tracing::Span::current();
    ws.max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let task = async move {
                let _slot = slot;
                serve(socket).await;
            };
            tracker
                .track_future(crate::metrics::metered(metrics.socket(kind), task).instrument(span))
        })
}

/// Resolves when a socket must close for a reason from outside it, with
/// the close code and reason: its access was revoked (1008), or the server
/// is shutting down (1001).
pub(crate) async fn must_close(
    revoked: &mut Revoked,
    cancel: &tokio_util::sync::CancellationToken,
) -> (u16, &'static str) {
    tokio::select! {
        () = revoked => (CLOSE_POLICY, "access revoked"),
        () = cancel.cancelled() => (CLOSE_GOING_AWAY, "server shutting down"),
    }
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
    let len = match &msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        _ => 0,
    };
    let sent = matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)).await,
        Ok(Ok(()))
    );
    if sent {
        crate::metrics::socket_sent(len);
    }
    sent
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

/// Per-socket input limits: messages and bytes per second (GCRA, by
/// `governor`). A client past them is closed with 1008: a person typing
/// or pasting never gets near the defaults, a flood does.
pub(crate) struct InputLimit {
    messages: governor::DefaultDirectRateLimiter,
    bytes: governor::DefaultDirectRateLimiter,
    audit: crate::audit::Audit,
    /// Recorded when the socket is closed for going over a limit.
    limited: ccweb_store::NewAuditEntry,
}

impl InputLimit {
    /// The limits of `ws_messages_per_second` and `ws_bytes_per_second`;
    /// `limited` is audited when a socket goes over them.
    pub(crate) fn new(state: &AppState, limited: ccweb_store::NewAuditEntry) -> Self {
        use governor::{Quota, RateLimiter};
        use std::num::NonZeroU32;
        let nz = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        let c = &state.config;
        let messages = Quota::per_second(nz(c.ws_messages_per_second))
            .allow_burst(nz(c.ws_messages_per_second.saturating_mul(2)));
        // One message of the largest allowed size always fits in a burst.
        let max_message = u32::try_from(c.ws_max_message_bytes).unwrap_or(u32::MAX);
        let bytes = Quota::per_second(nz(c.ws_bytes_per_second))
            .allow_burst(nz(c.ws_bytes_per_second.max(max_message)));
        Self {
            messages: RateLimiter::direct(messages),
            bytes: RateLimiter::direct(bytes),
            audit: state.audit.clone(),
            limited,
        }
    }

    /// Counts one message of `len` bytes; `false` when it is over the limit.
    fn allow(&self, len: usize) -> bool {
        let len = u32::try_from(len.max(1)).unwrap_or(u32::MAX);
        let bytes_ok = std::num::NonZeroU32::new(len)
            .is_some_and(|n| matches!(self.bytes.check_n(n), Ok(Ok(()))));
        self.messages.check().is_ok() && bytes_ok
    }
}

/// Sorts out what `socket.recv()` returned, enforcing the input limits.
pub(crate) async fn incoming(
    socket: &mut WebSocket,
    msg: Option<Result<Message, axum::Error>>,
    limit: &InputLimit,
) -> Incoming {
    let len = match &msg {
        Some(Ok(Message::Text(t))) => Some(t.len()),
        Some(Ok(Message::Binary(b))) => Some(b.len()),
        _ => None,
    };
    if let Some(len) = len {
        crate::metrics::socket_received(len);
        if !limit.allow(len) {
            tracing::warn!("WebSocket input over the rate limit: closing");
            limit.audit.record(limit.limited.clone()).await;
            close(socket, CLOSE_POLICY, "input rate limit exceeded").await;
            return Incoming::End;
        }
    }
    match msg {
        None | Some(Ok(Message::Close(_))) => Incoming::End,
        Some(Err(e)) => {
            // tungstenite reports an oversized message as a capacity error.
            let text = format!("{e:?}");
            if text.contains("Capacity") || text.contains("TooLong") {
                close(socket, CLOSE_TOO_BIG, "message too large").await;
            } else if text.contains("Utf8") {
                close(socket, CLOSE_INVALID_DATA, "text frame is not UTF-8").await;
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
