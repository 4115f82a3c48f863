//! WebSocket endpoints. Authentication and authorization happen before the
//! upgrade (real 401/403/404 answers); each socket is then one task with
//! one `select!` loop, tracked so shutdown waits for its close frame.
//!
//! Close codes: 1000 the session ended, 1001 the server is shutting down or
//! the peer stopped answering pings, 1009 a message was too large, 1011 an
//! internal error.

pub mod raw_chat;
pub mod terminal;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use std::time::Duration;

/// Normal close: the session ended.
pub const CLOSE_NORMAL: u16 = 1000;
/// Going away: shutdown or ping timeout.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Message too big.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// Largest binary frame of terminal output sent at once.
pub(crate) const MAX_OUTPUT_FRAME_BYTES: usize = 256 * 1024;
/// A send that takes longer than this means the peer is gone.
pub(crate) const SEND_TIMEOUT: Duration = Duration::from_secs(30);

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

/// Whether a receive error means the client sent something too large.
pub(crate) fn is_too_large(e: &axum::Error) -> bool {
    let text = format!("{e:?}");
    text.contains("Capacity") || text.contains("too long") || text.contains("TooLong")
}
