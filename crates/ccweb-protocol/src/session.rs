//! The session object of the REST API and of `connected` messages.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;
use uuid::Uuid;

/// How the CLI is run and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    /// The interactive CLI in a PTY.
    Terminal,
    /// The CLI in stream-json mode, shown as a chat.
    Chat,
}

/// Lifecycle of a session's process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// The process is being spawned.
    Starting,
    /// The process runs.
    Running,
    /// The process ended by itself.
    Exited,
    /// The process was stopped (by a user, the idle timeout, the maximum age, the memory limit or shutdown).
    Stopped,
    /// The process could not be started.
    Failed,
}

impl SessionState {
    /// Whether a process may be alive in this state.
    pub fn is_live(self) -> bool {
        matches!(self, SessionState::Starting | SessionState::Running)
    }
}

/// Error for a string that names no known variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownVariant(pub String);

impl fmt::Display for UnknownVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown value {:?}", self.0)
    }
}

impl std::error::Error for UnknownVariant {}

macro_rules! string_enum {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
        }
        impl FromStr for $ty {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($text => Ok(Self::$variant),)* other => Err(UnknownVariant(other.to_owned())) }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}
pub(crate) use string_enum;

string_enum!(SessionMode { Terminal => "terminal", Chat => "chat" });
string_enum!(SessionState {
    Starting => "starting",
    Running => "running",
    Exited => "exited",
    Stopped => "stopped",
    Failed => "failed",
});

/// Model usage summed over a session's turns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Cost reported by the CLI, in US dollars.
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: i64,
    /// Output tokens.
    pub output_tokens: i64,
}

/// The session object (`shared/API.md`, "Session object").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Random UUID (v4, 122 random bits).
    pub id: Uuid,
    /// Name of the owning user.
    pub owner: String,
    /// Terminal or chat.
    pub mode: SessionMode,
    /// Lifecycle state.
    pub state: SessionState,
    /// Canonical working directory of the CLI.
    pub working_dir: String,
    /// User-chosen title.
    pub title: String,
    /// Creation time.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last input, output or attach.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// When the process ended, if it did.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ended_at: Option<OffsetDateTime>,
    /// Exit code of the process (128 + signal number when killed by a signal).
    pub exit_code: Option<i32>,
    /// Why the process ended: `exit`, `stop`, `idle`, `max_age`, `memory_limit`, `error`, `shutdown`, `server_restart`.
    pub end_reason: Option<String>,
    /// The Claude Code conversation id, once known.
    pub claude_session_id: Option<String>,
    /// Model asked for at start, if any.
    pub model: Option<String>,
    /// Permission mode asked for at start.
    pub permission_mode: String,
    /// Terminal width in cells.
    pub cols: u16,
    /// Terminal height in cells.
    pub rows: u16,
    /// Number of attached viewers right now.
    pub viewers: u32,
    /// A permission request or question waits for an answer (chat sessions).
    #[serde(default)]
    pub needs_attention: bool,
    /// Model usage.
    pub usage: Usage,
}
