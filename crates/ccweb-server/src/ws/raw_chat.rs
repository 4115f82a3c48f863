//! `GET /api/claude/sessions/{id}/chat`: chat sessions go to
//! [`super::chat`]; for terminal sessions it keeps the seed's behaviour. PTY output goes out as `text_delta` (`raw: true`) and a
//! `user_message` is typed into the PTY followed by Enter.

use axum::extract::ws::WebSocket;
use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;

use ccweb_protocol::terminal::{RawChatClientMsg, RawChatServerMsg};
use ccweb_protocol::{SessionInfo, SessionMode};
use ccweb_runner::{TerminalHandle, ViewerEvent};

use super::{
    authorize, close, incoming, must_close, send_json, upgrade, Incoming, Keepalive, Revoked,
    SocketQuery, Target, CLOSE_NORMAL, MAX_OUTPUT_FRAME_BYTES,
};
use crate::auth::Auth;
use crate::error::ApiError;
use crate::json::{ApiQuery, Upgrade};
use crate::metrics::SocketKind;
use crate::state::AppState;

/// Pause between typing a message and pressing Enter: the TUI takes a
/// longer burst as a paste, where Enter would become a newline (about 50 ms
/// of quiet is needed; the CLI fact sheet and fake-anthropic's README).
const ENTER_DELAY: std::time::Duration = std::time::Duration::from_millis(150);

/// The upgrade handler of `/api/claude/sessions/{id}/chat`.
pub async fn chat(
    State(state): State<AppState>,
    auth: Auth,
    Upgrade(ws): Upgrade,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<SocketQuery>,
) -> Result<Response, ApiError> {
    let attach = authorize(&state, &auth, Target::Session(&id), &q).await?;
    serve(state, &auth, ws, attach, &q, false)
}

/// The upgrade handler of `/api/shared/{secret}/chat` (read-only).
pub async fn shared_chat(
    State(state): State<AppState>,
    auth: Auth,
    Upgrade(ws): Upgrade,
    Path(secret): Path<String>,
    ApiQuery(q): ApiQuery<SocketQuery>,
) -> Result<Response, ApiError> {
    let attach = authorize(&state, &auth, Target::Share(&secret), &q).await?;
    serve(state, &auth, ws, attach, &q, true)
}

/// Upgrades and serves an authorized viewer: the structured chat socket of
/// a chat session, the raw text one of a terminal session.
fn serve(
    state: AppState,
    auth: &Auth,
    ws: axum::extract::ws::WebSocketUpgrade,
    attach: super::Attach,
    q: &SocketQuery,
    shared: bool,
) -> Result<Response, ApiError> {
    let kind = |own| if shared { SocketKind::Shared } else { own };
    if attach.info.mode == SessionMode::Chat {
        let after_seq = q.after_seq()?;
        let live = state.sessions.chat(attach.info.id);
        let user = auth.user.name.clone();
        return Ok(upgrade(
            ws,
            &state.clone(),
            attach.slot,
            kind(SocketKind::Chat),
            move |mut socket| async move {
                let chat = super::chat::ChatSocket {
                    socket: &mut socket,
                    state: &state,
                    info: attach.info,
                    live,
                    readonly: attach.readonly,
                    after_seq,
                    user,
                    revoked: attach.revoked,
                    limit: attach.limit,
                };
                chat.run().await;
            },
        ));
    }
    Ok(upgrade(
        ws,
        &state.clone(),
        attach.slot,
        kind(SocketKind::RawChat),
        move |mut socket| async move {
            run(
                &mut socket,
                &state,
                attach.info,
                attach.handle,
                attach.readonly,
                attach.revoked,
                attach.limit,
            )
            .await;
        },
    ))
}

/// Turns PTY bytes into text without splitting a UTF-8 sequence across
/// messages: an incomplete tail waits for the next chunk.
#[derive(Default)]
struct Utf8Carry {
    pending: Vec<u8>,
}

impl Utf8Carry {
    fn decode(&mut self, chunk: &[u8]) -> String {
        self.pending.extend_from_slice(chunk);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            out.push('\u{FFFD}');
                            rest = &bad[n..];
                        }
                        None => {
                            rest = bad;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }
}

fn delta(data: String) -> RawChatServerMsg {
    RawChatServerMsg::TextDelta { raw: true, data }
}

async fn run(
    socket: &mut WebSocket,
    state: &AppState,
    info: SessionInfo,
    handle: Option<TerminalHandle>,
    readonly: bool,
    mut revoked: Revoked,
    limit: super::InputLimit,
) {
    let attached = match &handle {
        // It types whole messages but draws no terminal: it never owns the size.
        Some(h) => h.watch().await.ok(),
        None => None,
    };
    let exit_code = info.exit_code;
    let id = info.id;
    if !send_json(
        socket,
        &RawChatServerMsg::Connected {
            session: Box::new(info),
            last_seq: 0,
        },
    )
    .await
    {
        return;
    }
    let (Some(handle), Some((mut viewer, _, _))) = (handle, attached) else {
        let screen = state
            .store
            .final_screen(id)
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
        let code = exit_code.unwrap_or(-1);
        if send_json(
            socket,
            &delta(String::from_utf8_lossy(&screen).into_owned()),
        )
        .await
            && send_json(socket, &RawChatServerMsg::Exit { code }).await
        {
            close(socket, CLOSE_NORMAL, "session ended").await;
        }
        return;
    };
    let mut utf8 = Utf8Carry::default();
    let mut keepalive = Keepalive::new(state);
    loop {
        tokio::select! {
            (code, reason) = must_close(&mut revoked, &state.cancel) => {
                return close(socket, code, reason).await;
            }
            event = viewer.recv_batch(MAX_OUTPUT_FRAME_BYTES) => {
                let msg = match event {
                    Some(ViewerEvent::Snapshot(b) | ViewerEvent::Output(b)) => delta(utf8.decode(&b)),
                    Some(ViewerEvent::Resize { .. } | ViewerEvent::SizeOwner { .. }) => continue,
                    Some(ViewerEvent::Exit { code }) => {
                        if send_json(socket, &RawChatServerMsg::Exit { code }).await {
                            close(socket, CLOSE_NORMAL, "session ended").await;
                        }
                        return;
                    }
                    None => return close(socket, CLOSE_NORMAL, "session ended").await,
                };
                if !send_json(socket, &msg).await {
                    return;
                }
            }
            msg = socket.recv() => {
                keepalive.heard();
                let reply = match incoming(socket, msg, &limit).await {
                    Incoming::End => return,
                    Incoming::Control => None,
                    Incoming::Binary(_) => Some(("bad_message", "send JSON text messages on the chat socket".to_owned())),
                    Incoming::Text(text) => match serde_json::from_str::<RawChatClientMsg>(&text) {
                        Ok(RawChatClientMsg::Ping) => {
                            if !send_json(socket, &RawChatServerMsg::Pong).await {
                                return;
                            }
                            None
                        }
                        Ok(RawChatClientMsg::UserMessage { .. }) if readonly => Some(("readonly", "this viewer is read-only".to_owned())),
                        Ok(RawChatClientMsg::UserMessage { text }) => type_message(&handle, text).await,
                        Err(e) => Some(("bad_message", format!("could not read that message: {e}"))),
                    },
                };
                if let Some((code, message)) = reply {
                    if !send_json(socket, &RawChatServerMsg::Error { code: code.into(), message }).await {
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

/// Types `text` into the PTY, then Enter after a pause; an error reply
/// when the session has ended.
async fn type_message(handle: &TerminalHandle, text: String) -> Option<(&'static str, String)> {
    let typed = handle.input(Bytes::from(text)).await;
    tokio::time::sleep(ENTER_DELAY).await;
    match typed.and(handle.input(Bytes::from_static(b"\r")).await) {
        Ok(()) => None,
        Err(_) => Some(("session_ended", "the session has ended".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_chunks_is_joined_and_garbage_replaced() {
        let mut c = Utf8Carry::default();
        let bytes = "héllo ✳".as_bytes();
        let (a, b) = bytes.split_at(bytes.len() - 2);
        let first = c.decode(a);
        let second = c.decode(b);
        assert_eq!(first + &second, "héllo ✳");
        assert_eq!(c.decode(b"a\xffb"), "a\u{FFFD}b");
    }
}
