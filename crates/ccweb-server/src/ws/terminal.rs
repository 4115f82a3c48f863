//! `GET /api/claude/sessions/{id}/terminal`: the terminal WebSocket.
//! Binary frames carry raw bytes both ways; text frames carry JSON control.

use axum::extract::ws::{Message, WebSocket};
use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;

use ccweb_protocol::terminal::{TerminalClientMsg, TerminalServerMsg};
use ccweb_protocol::SessionInfo;
use ccweb_runner::{clamp_size, only_reports, TerminalHandle, Viewer, ViewerEvent};

use super::{
    authorize, close, incoming, must_close, send, send_json, upgrade, Incoming, Keepalive, Revoked,
    SocketQuery, Target, CLOSE_NORMAL, MAX_OUTPUT_FRAME_BYTES,
};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{ApiQuery, Upgrade};
use crate::metrics::SocketKind;
use crate::state::AppState;

/// The upgrade handler of `/api/claude/sessions/{id}/terminal`.
pub async fn terminal(
    State(state): State<AppState>,
    auth: Auth,
    Upgrade(ws): Upgrade,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SocketQuery>,
) -> Result<Response, ApiError> {
    let attach = authorize(&state, &auth, Target::Session(&id), &q).await?;
    Ok(serve(state, ws, attach, SocketKind::Terminal))
}

/// The upgrade handler of `/api/shared/{secret}/terminal` (read-only).
pub async fn shared_terminal(
    State(state): State<AppState>,
    auth: Auth,
    Upgrade(ws): Upgrade,
    Path(secret): Path<String>,
    ApiQuery(q): ApiQuery<SocketQuery>,
) -> Result<Response, ApiError> {
    let attach = authorize(&state, &auth, Target::Share(&secret), &q).await?;
    Ok(serve(state, ws, attach, SocketKind::Shared))
}

/// Upgrades and serves an authorized viewer.
fn serve(
    state: AppState,
    ws: axum::extract::ws::WebSocketUpgrade,
    attach: super::Attach,
    kind: SocketKind,
) -> Response {
    upgrade(
        ws,
        &state.clone(),
        attach.slot,
        kind,
        move |mut socket| async move {
            match attach.handle {
                Some(h) => {
                    run(
                        &mut socket,
                        &state,
                        attach.info,
                        h,
                        attach.readonly,
                        attach.revoked,
                        attach.limit,
                    )
                    .await
                }
                None => replay_ended(&mut socket, &state, attach.info).await,
            }
        },
    )
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
        size_owner: false,
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
    mut revoked: Revoked,
    limit: super::InputLimit,
) {
    // A read-only viewer never owns the size: it cannot type or fit.
    let attached = if readonly {
        handle.watch().await
    } else {
        handle.attach().await
    };
    let Ok((mut viewer, cols, rows)) = attached else {
        // Ended between the lookup and now.
        if let Ok(Some(r)) = state.store.get_session(info.id).await {
            info = state.sessions.info(r);
        }
        return replay_ended(socket, state, info).await;
    };
    info.viewers = handle.viewers();
    info.cols = cols;
    info.rows = rows;
    let connected = TerminalServerMsg::Connected {
        session: Box::new(info),
        cols,
        rows,
        readonly,
        size_owner: viewer.owns_size(),
    };
    if !send_json(socket, &connected).await {
        return;
    }
    let mut keepalive = Keepalive::new(state);
    loop {
        tokio::select! {
            (code, reason) = must_close(&mut revoked, &state.cancel) => {
                return close(socket, code, reason).await;
            }
            event = viewer.recv_batch(MAX_OUTPUT_FRAME_BYTES) => {
                let sent = match event {
                    Some(ViewerEvent::Snapshot(b) | ViewerEvent::Output(b)) => send(socket, Message::Binary(b)).await,
                    Some(ViewerEvent::Resize { cols, rows }) => send_json(socket, &TerminalServerMsg::Resize { cols, rows }).await,
                    Some(ViewerEvent::SizeOwner { owner }) => send_json(socket, &TerminalServerMsg::SizeOwner { owner }).await,
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
                if !sent {
                    return;
                }
            }
            msg = socket.recv() => {
                keepalive.heard();
                let reply = match incoming(socket, msg, &limit).await {
                    Incoming::End => return,
                    Incoming::Control => None,
                    Incoming::Binary(data) => input(&handle, &viewer, readonly, data).await,
                    Incoming::Text(text) => on_text(&handle, &viewer, readonly, &text).await,
                };
                if let Some(reply) = reply {
                    if !send_json(socket, &reply).await {
                        return;
                    }
                }
            }
            alive = keepalive.tick() => {
                if !Keepalive::ping(socket, alive).await {
                    return;
                }
            }
        }
    }
}

/// Handles one JSON control message; returns the reply, if any.
async fn on_text(
    handle: &TerminalHandle,
    viewer: &Viewer,
    readonly: bool,
    text: &str,
) -> Option<TerminalServerMsg> {
    match serde_json::from_str::<TerminalClientMsg>(text) {
        Ok(TerminalClientMsg::Ping) => Some(TerminalServerMsg::Pong),
        Ok(TerminalClientMsg::Input { data }) => {
            input(handle, viewer, readonly, Bytes::from(data)).await
        }
        Ok(TerminalClientMsg::Resize { .. } | TerminalClientMsg::Fit) if readonly => {
            Some(error_msg("readonly", "this viewer is read-only"))
        }
        Ok(TerminalClientMsg::Resize { cols, rows }) => {
            let (cols, rows) = clamp_size(cols, rows);
            viewer.resize(cols, rows).await.err().map(|_| ended())
        }
        Ok(TerminalClientMsg::Fit) => viewer.claim_size().await.err().map(|_| ended()),
        Err(e) => Some(error_msg(
            "bad_message",
            format!("could not read that message: {e}"),
        )),
    }
}

fn ended() -> TerminalServerMsg {
    error_msg("session_ended", "the session has ended")
}

/// Types `data`; a typist takes the size over first, so the program has
/// the typist's size before it reads the keystroke. What the viewer's
/// emulator sends by itself (answers, focus and mouse reports) is not
/// typing and leaves the size alone.
async fn input(
    handle: &TerminalHandle,
    viewer: &Viewer,
    readonly: bool,
    data: Bytes,
) -> Option<TerminalServerMsg> {
    if readonly {
        return Some(error_msg("readonly", "this viewer is read-only"));
    }
    if data.is_empty() {
        return None;
    }
    if !only_reports(&data) && viewer.claim_size().await.is_err() {
        return Some(ended());
    }
    handle.input(data).await.err().map(|_| ended())
}
