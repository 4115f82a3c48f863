//! `GET /api/claude/sessions/{id}/chat` for chat sessions: stored events
//! after `?after_seq=N`, then live ones, with no gap and no duplicate at the
//! seam; client messages drive the CLI.

use axum::extract::ws::WebSocket;
use base64::Engine;
use tokio::sync::broadcast::error::RecvError;

use ccweb_protocol::chat::{ChatClientMsg, ChatServerMsg, ImageInput, StoredEvent};
use ccweb_protocol::SessionInfo;
use ccweb_runner::chat::{Answer, ChatError};

use super::{close, incoming, must_close, send_json, Incoming, Keepalive, CLOSE_NORMAL};
use crate::chat::LiveChat;
use crate::state::AppState;
use ccweb_store::MAX_EVENTS_PAGE;

/// Image types the API accepts.
const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];
/// Longest prompt accepted, in bytes (the socket's message limit applies too).
const MAX_PROMPT_BYTES: usize = 1024 * 1024;

/// One chat socket.
pub(crate) struct ChatSocket<'a> {
    pub(crate) socket: &'a mut WebSocket,
    pub(crate) state: &'a AppState,
    pub(crate) info: SessionInfo,
    pub(crate) live: Option<LiveChat>,
    pub(crate) readonly: bool,
    pub(crate) after_seq: i64,
    /// Name of the user on the other end.
    pub(crate) user: String,
    /// Fires when the caller's access ends.
    pub(crate) revoked: super::Revoked,
    /// Input rate limits.
    pub(crate) limit: super::InputLimit,
}

/// Unregisters a viewer when the socket ends, however it ends.
struct ViewerGuard(LiveChat);

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.0.handle.viewer_delta(-1);
    }
}

fn error(code: &str, message: impl Into<String>) -> ChatServerMsg {
    ChatServerMsg::Error {
        code: code.into(),
        message: message.into(),
    }
}

fn event_msg(e: &StoredEvent) -> ChatServerMsg {
    ChatServerMsg::Event {
        seq: e.seq,
        at: e.at,
        event: e.event.clone(),
    }
}

impl ChatSocket<'_> {
    /// Serves the socket until it closes, the session ends or the server stops.
    pub(crate) async fn run(mut self) {
        // Subscribe before reading the store: an event stored in between is
        // then in both, and the seq filter drops the second copy.
        let mut feed = self.live.as_ref().map(LiveChat::subscribe);
        let _guard = self.live.clone().map(|l| {
            l.handle.viewer_delta(1);
            ViewerGuard(l)
        });
        let id = self.info.id;
        let last_seq = self.state.store.last_seq(id).await.unwrap_or(0);
        if let Some(live) = &self.live {
            self.info.viewers = live.handle.viewers();
            self.info.needs_attention = live.handle.pending_requests() > 0;
        }
        let connected = ChatServerMsg::Connected {
            session: Box::new(self.info.clone()),
            last_seq,
        };
        if !send_json(self.socket, &connected).await {
            return;
        }
        let mut sent = self.after_seq;
        if !self.catch_up(&mut sent).await {
            return;
        }
        let Some(feed) = feed.as_mut() else {
            // An ended session: its transcript is all there is.
            return close(self.socket, CLOSE_NORMAL, "session ended").await;
        };
        let mut keepalive = Keepalive::new(self.state);
        // Every handle to the session keeps the live feed open, this one's
        // included, so the feed never reports the end: the recorder does.
        let live = self.live.clone();
        let mut ended = std::pin::pin!(async move {
            match live {
                Some(live) => live.recorded().await,
                None => std::future::pending().await,
            }
        });
        loop {
            tokio::select! {
                (code, reason) = must_close(&mut self.revoked, &self.state.cancel) => {
                    return close(self.socket, code, reason).await;
                }
                () = &mut ended => {
                    // Every event of the process is stored: send the rest, then close.
                    if self.catch_up(&mut sent).await {
                        close(self.socket, CLOSE_NORMAL, "session ended").await;
                    }
                    return;
                }
                received = feed.recv() => match received {
                    Ok(event) => {
                        if event.seq > sent {
                            if !send_json(self.socket, &event_msg(&event)).await {
                                return;
                            }
                            sent = event.seq;
                        }
                    }
                    // Fell behind the live feed: everything is stored, read it from there.
                    Err(RecvError::Lagged(_)) => {
                        if !self.catch_up(&mut sent).await {
                            return;
                        }
                    }
                    // The recorder finished: the process ended and every event is stored.
                    Err(RecvError::Closed) => {
                        if self.catch_up(&mut sent).await {
                            close(self.socket, CLOSE_NORMAL, "session ended").await;
                        }
                        return;
                    }
                },
                msg = self.socket.recv() => {
                    keepalive.heard();
                    let reply = match incoming(self.socket, msg, &self.limit).await {
                        Incoming::End => return,
                        Incoming::Control => None,
                        Incoming::Binary(_) => Some(error("bad_message", "send JSON text messages on the chat socket")),
                        Incoming::Text(text) => self.on_text(&text).await,
                    };
                    if let Some(reply) = reply {
                        if !send_json(self.socket, &reply).await {
                            return;
                        }
                    }
                }
                alive = keepalive.tick() => {
                    if !Keepalive::ping(self.socket, alive).await {
                        return;
                    }
                }
            }
        }
    }

    /// Sends stored events after `sent`, page by page; false when the peer is gone.
    async fn catch_up(&mut self, sent: &mut i64) -> bool {
        loop {
            let page = match self
                .state
                .store
                .events_after(self.info.id, *sent, MAX_EVENTS_PAGE)
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(session = %self.info.id, error = %e, "could not read chat events");
                    return send_json(
                        self.socket,
                        &error("internal", "could not read the transcript"),
                    )
                    .await;
                }
            };
            let Some(last) = page.last().map(|e| e.seq) else {
                return true;
            };
            for event in &page {
                if !send_json(self.socket, &event_msg(event)).await {
                    return false;
                }
            }
            *sent = last;
        }
    }

    async fn on_text(&mut self, text: &str) -> Option<ChatServerMsg> {
        let msg = match serde_json::from_str::<ChatClientMsg>(text) {
            Ok(msg) => msg,
            Err(e) => {
                return Some(error(
                    "bad_message",
                    format!("could not read that message: {e}"),
                ))
            }
        };
        if matches!(msg, ChatClientMsg::Ping) {
            return Some(ChatServerMsg::Pong);
        }
        if self.readonly {
            return Some(error("readonly", "this viewer is read-only"));
        }
        let Some(live) = &self.live else {
            return Some(error(
                "session_ended",
                "the session has ended; resume it first",
            ));
        };
        let handle = &live.handle;
        let result = match msg {
            ChatClientMsg::Ping => Ok(()),
            ChatClientMsg::UserMessage { text, images } => match check_prompt(&text, &images) {
                Ok(()) => handle.user_message(text, images, self.user.clone()).await,
                Err(message) => return Some(error("invalid_message", message)),
            },
            ChatClientMsg::PermissionResponse {
                request_id,
                behavior,
                updated_input,
                message,
                remember,
            } => {
                if updated_input.as_ref().is_some_and(|v| !v.is_object()) {
                    return Some(error(
                        "invalid_message",
                        "updated_input must be a JSON object",
                    ));
                }
                let answer = Answer {
                    behavior,
                    updated_input,
                    message,
                    remember,
                    by: self.user.clone(),
                };
                handle.answer(request_id, answer).await
            }
            ChatClientMsg::Interrupt => handle.interrupt().await,
            ChatClientMsg::SetPermissionMode { mode } => {
                if let Err(e) = crate::sessions::check_permission_mode(&self.state.config, &mode) {
                    // An unknown mode is an invalid message like any other field.
                    let code = match e.code() {
                        "invalid_permission_mode" => "invalid_message",
                        code => code,
                    };
                    return Some(error(code, e.to_string()));
                }
                handle.set_permission_mode(mode).await
            }
            ChatClientMsg::SetModel { model } => {
                if let Some(Err(e)) = model.as_deref().map(crate::sessions::validate_model) {
                    return Some(error("invalid_message", e.to_string()));
                }
                let result = handle.set_model(model.clone()).await;
                if result.is_ok() {
                    // The CLI confirms no model change on its output; the
                    // accepted request is the record (a resume starts with it).
                    self.state
                        .sessions
                        .remember_model(self.info.id, model.as_deref())
                        .await;
                }
                result
            }
        };
        match result {
            Ok(()) => None,
            Err(ChatError::UnknownRequest(id)) => Some(error(
                "unknown_request",
                format!(
                    "no pending permission request {id:?}: it is unknown or was already answered"
                ),
            )),
            Err(ChatError::Invalid(message)) => Some(error("invalid_message", message)),
            Err(ChatError::Gone) => Some(error("session_ended", "the session has ended")),
        }
    }
}

/// Checks a prompt before it reaches the CLI.
fn check_prompt(text: &str, images: &[ImageInput]) -> Result<(), String> {
    if text.trim().is_empty() && images.is_empty() {
        return Err("the message is empty".into());
    }
    if text.len() > MAX_PROMPT_BYTES {
        return Err(format!(
            "the message is longer than {MAX_PROMPT_BYTES} bytes"
        ));
    }
    for image in images {
        if !IMAGE_TYPES.contains(&image.media_type.as_str()) {
            return Err(format!("images must be one of {}", IMAGE_TYPES.join(", ")));
        }
        if base64::engine::general_purpose::STANDARD
            .decode(&image.data)
            .is_err()
        {
            return Err("image data must be base64".into());
        }
    }
    Ok(())
}
