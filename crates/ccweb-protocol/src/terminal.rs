//! The terminal WebSocket's JSON control messages (text frames).
//! Terminal bytes travel in binary frames and never appear here.

use crate::SessionInfo;
use serde::{Deserialize, Serialize};

/// A control message from a terminal client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TerminalClientMsg {
    /// This viewer's own size, clamped to sane bounds by the server. The
    /// PTY takes it when this viewer owns the size (or nobody does).
    Resize {
        /// Columns.
        cols: i64,
        /// Rows.
        rows: i64,
    },
    /// Keyboard input as text (alternative to a binary frame).
    Input {
        /// The text to type.
        data: String,
    },
    /// Take the size over: the PTY takes this viewer's last `resize`
    /// ("fit to my screen"). Typing does the same.
    Fit,
    /// Liveness check; answered with `pong`.
    Ping,
}

/// A control message to a terminal client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TerminalServerMsg {
    /// First message after the upgrade; a binary screen-restore frame follows.
    Connected {
        /// The session.
        session: Box<SessionInfo>,
        /// Current width.
        cols: u16,
        /// Current height.
        rows: u16,
        /// Whether this viewer may type.
        readonly: bool,
        /// Whether the terminal has this viewer's size (it types or fits
        /// into it); otherwise it shows another viewer's size, scaled.
        size_owner: bool,
    },
    /// This viewer became, or stopped being, the size owner.
    SizeOwner {
        /// Whether it owns the size now.
        owner: bool,
    },
    /// The PTY size changed.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// The process ended; all of its output was sent before this.
    Exit {
        /// Exit code (128 + signal when killed by a signal).
        code: i32,
    },
    /// Something the client sent was refused, or the server has a problem.
    Error {
        /// snake_case error code.
        code: String,
        /// Human text.
        message: String,
    },
    /// Answer to `ping`.
    Pong,
}

/// Messages of the chat socket in a terminal session (the seed's behaviour).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawChatClientMsg {
    /// Text typed into the PTY, followed by Enter.
    UserMessage {
        /// The text.
        text: String,
    },
    /// Liveness check.
    Ping,
}

/// Server messages of the chat socket in a terminal session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RawChatServerMsg {
    /// First message.
    Connected {
        /// The session.
        session: Box<SessionInfo>,
        /// Always 0: terminal output is not a stored event stream.
        last_seq: i64,
    },
    /// PTY output as (lossily decoded) UTF-8 text.
    TextDelta {
        /// Always true: the text is raw terminal output with escape sequences.
        raw: bool,
        /// The text.
        data: String,
    },
    /// The process ended.
    Exit {
        /// Exit code.
        code: i32,
    },
    /// A refused message.
    Error {
        /// snake_case error code.
        code: String,
        /// Human text.
        message: String,
    },
    /// Answer to `ping`.
    Pong,
}
