//! `GET /api/claude/sessions/{id}/terminal`: the terminal WebSocket.
//! Binary frames carry raw bytes both ways; text frames carry JSON control.

use axum::extract::ws::{Message, WebSocket};
use axum::extract::{Path, State};

use crate::json::{ApiQuery, Upgrade};
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use std::time::{Duration, Instant};

use ccweb_protocol::terminal::{TerminalClientMsg, TerminalServerMsg};
use ccweb_protocol::SessionInfo;
use ccweb_runner::{clamp_size, TerminalHandle, ViewerEvent};

use super::{
    close, is_too_large, send, send_json, CLOSE_GOING_AWAY, CLOSE_NORMAL, CLOSE_TOO_BIG,
    MAX_OUTPUT_FRAME_BYTES,
};
use crate::auth::{Auth, Via};
use crate::error::ApiError;
use crate::http::sessions::visible_session;
use crate::state::AppState;
use ccweb_store::TokenScope;

/// Query of both socket endpoints.
#[derive(Deserialize)]
pub struct SocketQuery {
    /// `1` or `true`: attach without input.
    readonly: Option<String>,
}

impl SocketQuery {
    /// Whether the viewer asked for read-only.
    pub fn readonly(&self) -> Result<bool, ApiError> {
        match self.readonly.as_deref() {
            None | Some("0") | Some("false") => Ok(false),
            Some("1") | Some("true") => Ok(true),
            Some(_) => Err(ApiError::bad_request(
                "invalid_query",
                "readonly must be 1 or 0",
            )),
        }
    }
}

/// Whether `auth` may only watch this session: asked for, a read-only
/// token, or an admin looking at someone else's session.
pub fn forced_readonly(auth: &Auth, owner: uuid::Uuid) -> bool {
    matches!(auth.via, Via::Token(TokenScope::Read)) || auth.user.id != owner
}

/// The upgrade handler.
pub async fn terminal(
    State(state): State<AppState>,
    auth: Auth,
    Upgrade(ws): Upgrade,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SocketQuery>,
) -> Result<Response, ApiError> {
    let record = visible_session(&state, &auth, &id).await?;
    let readonly = q.readonly()? || forced_readonly(&auth, record.owner_id);
    let handle = state.sessions.handle(record.id);
    let info = state.sessions.info(record);
    let max = state.config.ws_max_message_bytes;
    let tracker = state.tracker.clone();
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| {
            tracker.track_future(async move {
                let mut socket = socket;
                match handle {
                    Some(h) => run(&mut socket, &state, info, h, readonly).await,
                    None => replay_ended(&mut socket, &state, info).await,
                }
            })
        }))
}

/// An ended session: its last screen, then `exit`.
async fn replay_ended(socket: &mut WebSocket, state: &AppState, info: SessionInfo) {
    let (cols, rows) = (info.cols, info.rows);
    let code = info.exit_code.unwrap_or(-1);
    let screen = state
        .store
        .final_screen(info.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let connected = TerminalServerMsg::Connected {
        session: Box::new(info),
        cols,
        rows,
        readonly: true,
    };
    if send_json(socket, &connected).await
        && send(socket, Message::Binary(Bytes::from(screen))).await
        && send_json(socket, &TerminalServerMsg::Exit { code }).await
    {
        close(socket, CLOSE_NORMAL, "session ended").await;
    }
}

fn error_msg(code: &str, message: impl Into<String>) -> TerminalServerMsg {
    TerminalServerMsg::Error {
        code: code.into(),
        message: message.into(),
    }
}

async fn run(
    socket: &mut WebSocket,
    state: &AppState,
    mut info: SessionInfo,
    handle: TerminalHandle,
    readonly: bool,
) {
    let Ok((mut viewer, cols, rows)) = handle.attach().await else {
        // Ended between the lookup and now.
        if let Ok(Some(r)) = state.store.get_session(info.id).await {
            info = state.sessions.info(r);
        }
        return replay_ended(socket, state, info).await;
    };
    info.viewers = handle.viewers();
    info.cols = cols;
    info.rows = rows;
    if !send_json(
        socket,
        &TerminalServerMsg::Connected {
            session: Box::new(info),
            cols,
            rows,
            readonly,
        },
    )
    .await
    {
        return;
    }
    let ping_every = Duration::from_secs(state.config.ws_ping_interval_secs);
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            () = state.cancel.cancelled() => {
                close(socket, CLOSE_GOING_AWAY, "server shutting down").await;
                return;
            }
            event = viewer.recv_batch(MAX_OUTPUT_FRAME_BYTES) => {
                let ok = match event {
                    Some(ViewerEvent::Snapshot(b) | ViewerEvent::Output(b)) => send(socket, Message::Binary(b)).await,
                    Some(ViewerEvent::Resize { cols, rows }) => send_json(socket, &TerminalServerMsg::Resize { cols, rows }).await,
                    Some(ViewerEvent::Exit { code }) => {
                        if send_json(socket, &TerminalServerMsg::Exit { code }).await {
                            close(socket, CLOSE_NORMAL, "session ended").await;
                        }
                        return;
                    }
                    None => {
                        close(socket, CLOSE_NORMAL, "session ended").await;
                        return;
                    }
                };
                if !ok {
                    return;
                }
            }
            msg = socket.recv() => {
                last_heard = Instant::now();
                let reply = match msg {
                    None | Some(Ok(Message::Close(_))) => return,
                    Some(Err(e)) => {
                        if is_too_large(&e) {
                            close(socket, CLOSE_TOO_BIG, "message too large").await;
                        }
                        return;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => None,
                    Some(Ok(Message::Binary(data))) => input(&handle, readonly, data).await,
                    Some(Ok(Message::Text(text))) => match serde_json::from_str::<TerminalClientMsg>(&text) {
                        Ok(TerminalClientMsg::Ping) => Some(TerminalServerMsg::Pong),
                        Ok(TerminalClientMsg::Input { data }) => input(&handle, readonly, Bytes::from(data)).await,
                        Ok(TerminalClientMsg::Resize { cols, rows }) => {
                            if readonly {
                                Some(error_msg("readonly", "this viewer is read-only"))
                            } else {
                                let (cols, rows) = clamp_size(cols, rows);
                                handle.resize(cols, rows).await.err().map(|_| error_msg("session_ended", "the session has ended"))
                            }
                        }
                        Err(e) => Some(error_msg("bad_message", format!("could not read that message: {e}"))),
                    },
                };
                if let Some(reply) = reply {
                    if !send_json(socket, &reply).await {
                        return;
                    }
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_every * 2 {
                    close(socket, CLOSE_GOING_AWAY, "ping timeout").await;
                    return;
                }
                if !send(socket, Message::Ping(Bytes::new())).await {
                    return;
                }
            }
        }
    }
}

async fn input(handle: &TerminalHandle, readonly: bool, data: Bytes) -> Option<TerminalServerMsg> {
    if readonly {
        return Some(error_msg("readonly", "this viewer is read-only"));
    }
    if data.is_empty() {
        return None;
    }
    handle
        .input(data)
        .await
        .err()
        .map(|_| error_msg("session_ended", "the session has ended"))
}
