//! Chat sessions: the CLI in stream-json mode, one actor per session.
//!
//! The actor owns the child (its own process group), writes its stdin and
//! reads its stdout and stderr through small tasks, keeps the pending
//! permission requests (the first answer wins), and turns everything into
//! [`ChatEvent`](ccweb_protocol::chat::ChatEvent)s on a bounded channel. Whoever consumes that channel stores
//! each event before showing it to anyone (the server's recorder).

mod actor;
mod edit_lines;
mod lines;
mod translate;

pub use actor::spawn_chat;

use ccweb_protocol::chat::{Behavior, ImageInput};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot, watch};

use crate::actor::{EndReason, ExitInfo};

/// Longest stdout line accepted (the CLI prints multi-megabyte lines for big replies).
const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;
/// Events in flight to the recorder; the actor waits when it is full.
const EVENT_QUEUE: usize = 256;
/// Commands queued to the actor.
const COMMAND_QUEUE: usize = 64;
/// stderr lines reported as events per process, at most.
const MAX_STDERR_EVENTS: usize = 50;
/// Permission modes the CLI knows.
pub const PERMISSION_MODES: [&str; 6] = [
    "default",
    "acceptEdits",
    "plan",
    "bypassPermissions",
    "dontAsk",
    "auto",
];

/// Tunables of a chat session.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Stop grace, idle timeout (idle: no input or output, no turn,
    /// viewer or pending request) and maximum age.
    pub lifecycle: crate::LifecycleConfig,
    /// Deny a permission request nobody answered in this long.
    pub permission_timeout: Option<Duration>,
    /// Report the CLI as unresponsive when it has not answered `initialize`
    /// in this long (it normally takes about 0.4 s).
    pub startup_timeout: Duration,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            lifecycle: crate::LifecycleConfig::default(),
            permission_timeout: Some(Duration::from_secs(3600)),
            startup_timeout: Duration::from_secs(60),
        }
    }
}

/// Why a client request was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChatError {
    /// No pending request has that id (unknown, or already answered).
    #[error("no pending permission request {0:?}: it is unknown or was already answered")]
    UnknownRequest(String),
    /// The message is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The session's process has ended.
    #[error("the session has ended")]
    Gone,
}

/// A user's answer to a permission request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Allow or deny.
    pub behavior: Behavior,
    /// Allow: the input to run instead.
    pub updated_input: Option<Value>,
    /// Deny: what the model is told.
    pub message: Option<String>,
    /// Allow: apply the CLI's suggested permission update too.
    pub remember: bool,
    /// Who answered.
    pub by: String,
}

enum Command {
    UserMessage {
        text: String,
        images: Vec<ImageInput>,
        by: String,
        reply: oneshot::Sender<Result<(), ChatError>>,
    },
    Answer {
        request_id: String,
        answer: Answer,
        reply: oneshot::Sender<Result<(), ChatError>>,
    },
    Control {
        request: Value,
        reply: oneshot::Sender<Result<(), ChatError>>,
    },
    Stop {
        reason: EndReason,
    },
}

#[derive(Debug, Default)]
struct Shared {
    /// Pending permission requests.
    pending: AtomicUsize,
    /// Turns sent and not yet ended (the actor's count, for readers outside it).
    turns: AtomicU32,
    /// Viewers attached (kept by the server; the idle timeout reads it).
    viewers: AtomicU32,
    /// Last input or output.
    activity: Mutex<Option<(Instant, SystemTime)>>,
    /// Process id (= process group id).
    pid: i32,
}

impl Shared {
    fn touch(&self) {
        *self.activity.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), SystemTime::now()));
    }
    fn last_activity(&self) -> (Instant, SystemTime) {
        self.activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or((Instant::now(), SystemTime::now()))
    }
}

/// A cheap, cloneable handle to a running chat session.
#[derive(Clone, Debug)]
pub struct ChatHandle {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    exit: watch::Receiver<Option<ExitInfo>>,
}

impl ChatHandle {
    async fn call(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), ChatError>>) -> Command,
    ) -> Result<(), ChatError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| ChatError::Gone)?;
        rx.await.map_err(|_| ChatError::Gone)?
    }

    /// Sends a prompt (or slash command) from user `by`.
    pub async fn user_message(
        &self,
        text: String,
        images: Vec<ImageInput>,
        by: String,
    ) -> Result<(), ChatError> {
        self.call(|reply| Command::UserMessage {
            text,
            images,
            by,
            reply,
        })
        .await
    }

    /// Answers a pending permission request; the first answer wins.
    pub async fn answer(&self, request_id: String, answer: Answer) -> Result<(), ChatError> {
        self.call(|reply| Command::Answer {
            request_id,
            answer,
            reply,
        })
        .await
    }

    /// Interrupts the current turn.
    pub async fn interrupt(&self) -> Result<(), ChatError> {
        self.call(|reply| Command::Control {
            request: json!({"subtype": "interrupt"}),
            reply,
        })
        .await
    }

    /// Switches permission mode (checked against [`PERMISSION_MODES`]).
    pub async fn set_permission_mode(&self, mode: String) -> Result<(), ChatError> {
        if !PERMISSION_MODES.contains(&mode.as_str()) {
            return Err(ChatError::Invalid(format!(
                "mode must be one of {}",
                PERMISSION_MODES.join(", ")
            )));
        }
        self.call(|reply| Command::Control {
            request: json!({"subtype": "set_permission_mode", "mode": mode}),
            reply,
        })
        .await
    }

    /// Switches model (`None`: the default). The caller validates the name.
    pub async fn set_model(&self, model: Option<String>) -> Result<(), ChatError> {
        let request = match model {
            Some(m) => json!({"subtype": "set_model", "model": m}),
            None => json!({"subtype": "set_model"}),
        };
        self.call(|reply| Command::Control { request, reply }).await
    }

    /// Asks the process to stop (SIGTERM to its group, SIGKILL after the grace period).
    pub async fn stop(&self, reason: EndReason) {
        let _ = self.commands.send(Command::Stop { reason }).await;
    }

    /// Waits until the session has ended and returns how.
    pub async fn wait(&self) -> ExitInfo {
        crate::actor::wait_for_exit(&self.exit).await
    }

    /// Whether the session has ended.
    pub fn is_finished(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Permission requests waiting for an answer.
    pub fn pending_requests(&self) -> usize {
        self.shared.pending.load(Ordering::Relaxed)
    }

    /// A turn is in flight (sent and not yet ended by a `result`).
    pub fn turn_in_flight(&self) -> bool {
        self.shared.turns.load(Ordering::Relaxed) > 0
    }

    /// Records that a viewer attached (`+1`) or left (`-1`).
    pub fn viewer_delta(&self, delta: i32) {
        if delta >= 0 {
            self.shared
                .viewers
                .fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
        } else {
            let _ = self
                .shared
                .viewers
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(delta.unsigned_abs()))
                });
        }
        self.shared.touch();
    }

    /// Viewers attached now.
    pub fn viewers(&self) -> u32 {
        self.shared.viewers.load(Ordering::Relaxed)
    }

    /// Last input or output.
    pub fn last_activity(&self) -> SystemTime {
        self.shared.last_activity().1
    }

    /// The child's process id (also its process group id).
    pub fn pid(&self) -> i32 {
        self.shared.pid
    }
}

/// The stream-json flags of a chat session, before model, mode and resume.
pub fn stream_json_args() -> Vec<std::ffi::OsString> {
    [
        "-p",
        "--input-format",
        "stream-json",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        "--permission-prompt-tool",
        "stdio",
    ]
    .map(Into::into)
    .to_vec()
}
