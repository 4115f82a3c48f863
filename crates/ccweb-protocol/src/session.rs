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

/// What a session is doing, as the list shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionActivity {
    /// A turn is in flight (or the process is starting).
    Working,
    /// Waiting for the user's next prompt.
    #[default]
    Waiting,
    /// A permission request or question waits for an answer (chat sessions;
    /// terminal sessions do not report it yet).
    NeedsAnswer,
    /// The process has ended.
    Ended,
}

string_enum!(SessionActivity {
    Working => "working",
    Waiting => "waiting",
    NeedsAnswer => "needs_answer",
    Ended => "ended",
});

/// The last message of a conversation, for a one-line preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// Who wrote it: `user` or `assistant`.
    pub role: String,
    /// Its text, newlines made spaces, at most 200 characters.
    pub text: String,
}

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
    /// The project the session belongs to: the git top-level of
    /// `working_dir` when it lies in a repository, else `working_dir`.
    #[serde(default)]
    pub project: String,
    /// The user's title; without one, the first prompt (once there is
    /// one), else the directory's name.
    pub title: String,
    /// The conversation's first prompt (slash commands do not count).
    #[serde(default)]
    pub first_prompt: Option<String>,
    /// The last user or assistant message.
    #[serde(default)]
    pub preview: Option<Preview>,
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
    /// Working, waiting for a prompt, needing an answer, or ended.
    #[serde(default)]
    pub activity: SessionActivity,
    /// Model usage.
    pub usage: Usage,
}
