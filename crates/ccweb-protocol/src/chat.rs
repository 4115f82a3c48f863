//! The chat WebSocket and the stored chat transcript: events made from the
//! CLI's stream-json output, and the messages clients send.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::SessionInfo;

/// Which kind of streamed delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeltaType {
    /// Reply text.
    Text,
    /// Extended thinking.
    Thinking,
    /// Partial JSON of a tool call's input.
    InputJson,
}

/// What a permission prompt asks for, so a UI can render it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    /// May this tool run with this input?
    Tool,
    /// `AskUserQuestion`: `input.questions[]`; answer by allowing with
    /// `updated_input.answers` keyed by question text.
    Question,
    /// `ExitPlanMode`: `input.plan`; approve (allow, possibly with an edited
    /// plan) or reject with feedback (deny).
    Plan,
}

/// How a permission request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// A user allowed it.
    Allow,
    /// A user denied it.
    Deny,
    /// Nobody answered in time; denied.
    Timeout,
    /// The CLI withdrew the request (e.g. after an interrupt).
    Cancelled,
}

impl Resolution {
    /// How the audit log words this end of a `kind` prompt: the resolution
    /// (`allow`, `deny`, `timeout`, `cancelled`), except that a question is
    /// `answered` or `dismissed` — nothing was allowed to run.
    pub fn audit_word(self, kind: PromptKind) -> &'static str {
        match (kind, self) {
            (PromptKind::Question, Resolution::Allow) => "answered",
            (PromptKind::Question, Resolution::Deny) => "dismissed",
            (_, Resolution::Allow) => "allow",
            (_, Resolution::Deny) => "deny",
            (_, Resolution::Timeout) => "timeout",
            (_, Resolution::Cancelled) => "cancelled",
        }
    }
}

/// One entry of a chat session's transcript (`event.kind` on the wire).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChatEvent {
    /// A `system` line: `init` (model, tools, cwd, slash commands) at the
    /// start of each turn, status changes, retries; unknown CLI lines too.
    System {
        /// The CLI's subtype (`init`, `status`, `api_retry`, …) or, for an
        /// unknown line, its `type`.
        subtype: String,
        /// Model in use (`init`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// Working directory (`init`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        /// Tool names (`init`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tools: Vec<String>,
        /// Slash commands the CLI offers (`init`), without the `/`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        slash_commands: Vec<String>,
        /// Permission mode (`init`, `status`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        permission_mode: Option<String>,
        /// The Claude conversation id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        claude_session_id: Option<String>,
        /// The whole CLI line, for fields not modelled here.
        #[serde(default, skip_serializing_if = "Value::is_null")]
        data: Value,
    },
    /// A user's message (typed in ccweb, or imported from the CLI's transcript).
    UserMessage {
        /// The text.
        text: String,
        /// Attached images: media types only (the data is sent to the CLI, not stored).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        images: Vec<String>,
        /// Who sent it (ccweb user name), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// Streamed part of the reply being written.
    AssistantDelta {
        /// The API message id the delta belongs to (a new id starts a new bubble).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<String>,
        /// Content block index within the message.
        index: u64,
        /// Text, thinking or tool-input JSON.
        delta_type: DeltaType,
        /// The new piece.
        text: String,
    },
    /// A complete content block of the reply (the CLI prints one per block;
    /// blocks of one message share `message_id`).
    AssistantMessage {
        /// The API message id.
        message_id: String,
        /// Model that wrote it (`<synthetic>` for CLI-made messages).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        /// Content blocks as the API sent them: `text`, `thinking`, `tool_use`.
        content: Vec<Value>,
        /// Set for subagent messages: the Agent tool call they belong to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parent_tool_use_id: Option<String>,
        /// The CLI's error tag for API errors (`authentication_failed`, `rate_limit`, …).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The result of a tool call.
    ToolResult {
        /// The `tool_use` block it answers.
        tool_use_id: String,
        /// The result content (text or blocks).
        content: Value,
        /// Whether the tool failed (or was denied).
        is_error: bool,
        /// The CLI's structured result (per tool: stdout, file diffs, …).
        #[serde(default, skip_serializing_if = "Value::is_null")]
        structured: Value,
    },
    /// The CLI asks whether a tool may run (or asks the user a question).
    PermissionRequest {
        /// Answer with this id.
        request_id: String,
        /// The tool.
        tool_name: String,
        /// Its input.
        input: Value,
        /// Permission updates the CLI suggests for "always allow".
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        suggestions: Vec<Value>,
        /// The `tool_use` block this is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tool_use_id: Option<String>,
        /// The CLI's description of the call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// Why approval is needed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision_reason: Option<String>,
        /// How to render it.
        prompt_kind: PromptKind,
        /// `Edit` / `MultiEdit`: the 1-based line of the file where each
        /// edit's `old_string` starts (`null`: not found, or the file could
        /// not be read), so the prompt's diff has the file's line numbers.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        edit_lines: Vec<Option<u64>>,
    },
    /// A permission request was answered (first answer wins), timed out or withdrawn.
    PermissionResolved {
        /// The request.
        request_id: String,
        /// The outcome.
        resolution: Resolution,
        /// Who answered (ccweb user name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
        /// Deny message, or why it timed out.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Whether the CLI's suggested permission update was applied.
        #[serde(default)]
        remember: bool,
    },
    /// The end of a turn.
    Result {
        /// `success`, `error_during_execution`, `error_max_budget_usd`, …
        subtype: String,
        /// True for API errors, interrupts and budget stops (check this, not `subtype`).
        is_error: bool,
        /// The final text, when there is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<String>,
        /// Cost of this turn in US dollars (the CLI reports a running total; this is the difference).
        cost_usd: f64,
        /// Input tokens of this turn.
        input_tokens: i64,
        /// Output tokens of this turn.
        output_tokens: i64,
        /// Wall time of the turn.
        #[serde(default)]
        duration_ms: u64,
        /// API turns in it.
        #[serde(default)]
        num_turns: u64,
        /// Error texts (`error_*` subtypes).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        errors: Vec<String>,
        /// HTTP status of a failed API call.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_error_status: Option<u16>,
        /// Why the CLI ended the turn: `completed`, or `aborted_streaming` /
        /// `aborted_tools` when it was interrupted (CLI 2.1.197 and later).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminal_reason: Option<String>,
    },
    /// The session's state changed.
    State {
        /// `starting`, `idle`, `running`, `requires_action`, `exited`, `stopped`, `failed`.
        state: String,
        /// A permission request or question waits for an answer.
        #[serde(default)]
        needs_attention: bool,
        /// Exit code once the process ended.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        /// Human detail (why it stopped).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Something went wrong; the session goes on unless a `state` says otherwise.
    Error {
        /// snake_case code (`unparsable_output`, `cli_error`, `control_failed`, `stderr`, …).
        code: String,
        /// Human text.
        message: String,
        /// The offending CLI line, cut to a bounded length, for diagnosis.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<String>,
    },
}

/// The `code` of the notice stored when a session reaches its storage cap.
pub const STORAGE_CAP_REACHED: &str = "storage_cap_reached";

impl ChatEvent {
    /// A `system` event of `subtype` carrying `data`, without the `init` facts.
    pub fn system(subtype: impl Into<String>, data: Value) -> Self {
        ChatEvent::System {
            subtype: subtype.into(),
            model: None,
            cwd: None,
            tools: Vec::new(),
            slash_commands: Vec::new(),
            permission_mode: None,
            claude_session_id: None,
            data,
        }
    }

    /// Text the CLI made itself (an interruption, slash-command output).
    pub fn notice(text: impl Into<String>) -> Self {
        Self::system("notice", serde_json::json!({ "text": text.into() }))
    }

    /// The last event stored for a session that reached its storage cap
    /// (`session_max_events` / `session_max_event_bytes`): a `notice` with
    /// `code` [`STORAGE_CAP_REACHED`] and the caps. Nothing after it is
    /// stored or shown; the session keeps running.
    pub fn storage_cap_reached(max_events: u64, max_bytes: u64) -> Self {
        Self::system(
            "notice",
            serde_json::json!({
                "code": STORAGE_CAP_REACHED,
                "text": format!(
                    "This session reached its storage limit ({max_events} events or {max_bytes} bytes): \
                     nothing more of it is recorded or shown here. The session keeps running; \
                     start a new session to see new messages."
                ),
                "max_events": max_events,
                "max_bytes": max_bytes,
            }),
        )
    }

    /// True for the notice made by [`ChatEvent::storage_cap_reached`].
    pub fn is_storage_cap_reached(&self) -> bool {
        matches!(self, ChatEvent::System { subtype, data, .. }
            if subtype == "notice" && data["code"] == STORAGE_CAP_REACHED)
    }

    /// The conversation's words in this event: a user's text, or the text
    /// blocks of a (main-thread) assistant message joined by newlines;
    /// `None` for every other event. What the session list previews and
    /// searches.
    pub fn conversation_text(&self) -> Option<String> {
        match self {
            ChatEvent::UserMessage { text, .. } => Some(text.clone()),
            ChatEvent::AssistantMessage {
                content,
                parent_tool_use_id: None,
                ..
            } => {
                let texts: Vec<&str> = content
                    .iter()
                    .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect();
                (!texts.is_empty()).then(|| texts.join("\n"))
            }
            _ => None,
        }
    }

    /// How this event moves the assistant's turn, as a transcript shows it:
    /// `Some(true)` while it is open (a prompt, thinking, a tool call or its
    /// result), `Some(false)` once it ended (a reply without a tool call, a
    /// `result`, an interruption), `None` when it says nothing. Slash
    /// commands are `None`: many (`/model`) run no turn.
    pub fn turn_step(&self) -> Option<bool> {
        match self {
            ChatEvent::UserMessage { text, .. } => (!text.starts_with('/')).then_some(true),
            ChatEvent::AssistantMessage {
                content,
                parent_tool_use_id: None,
                ..
            } => {
                let has = |kind: &str| {
                    content
                        .iter()
                        .any(|b| b.get("type").and_then(Value::as_str) == Some(kind))
                };
                Some(has("tool_use") || !has("text"))
            }
            ChatEvent::ToolResult { .. } => Some(true),
            ChatEvent::Result { .. } => Some(false),
            ChatEvent::System { subtype, data, .. } if subtype == "notice" => data
                .get("text")
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("[Request interrupted"))
                .then_some(false),
            _ => None,
        }
    }

    /// The `kind` string of this event.
    pub fn kind(&self) -> &'static str {
        match self {
            ChatEvent::System { .. } => "system",
            ChatEvent::UserMessage { .. } => "user_message",
            ChatEvent::AssistantDelta { .. } => "assistant_delta",
            ChatEvent::AssistantMessage { .. } => "assistant_message",
            ChatEvent::ToolResult { .. } => "tool_result",
            ChatEvent::PermissionRequest { .. } => "permission_request",
            ChatEvent::PermissionResolved { .. } => "permission_resolved",
            ChatEvent::Result { .. } => "result",
            ChatEvent::State { .. } => "state",
            ChatEvent::Error { .. } => "error",
        }
    }
}

/// A stored event with its place in the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredEvent {
    /// 1, 2, 3, … per session; never reused.
    pub seq: i64,
    /// When it was stored (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// The event.
    pub event: ChatEvent,
}

/// An image attached to a user message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageInput {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    pub media_type: String,
    /// Base64 of the image.
    pub data: String,
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Behavior {
    /// Let it run (or: these are my answers / I approve the plan).
    Allow,
    /// Refuse (with a message the model sees).
    Deny,
}

/// A message from a chat client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChatClientMsg {
    /// Send a prompt (or a slash command such as `/compact`).
    UserMessage {
        /// The text.
        text: String,
        /// Attached images.
        #[serde(default)]
        images: Vec<ImageInput>,
    },
    /// Answer a permission request.
    PermissionResponse {
        /// From the `permission_request` event.
        request_id: String,
        /// Allow or deny.
        behavior: Behavior,
        /// Allow: the input to run instead (edited command, question answers, edited plan).
        #[serde(default)]
        updated_input: Option<Value>,
        /// Deny: what the model is told.
        #[serde(default)]
        message: Option<String>,
        /// Allow: also apply the CLI's suggested permission update ("always allow").
        #[serde(default)]
        remember: bool,
    },
    /// Stop the current turn.
    Interrupt,
    /// Switch permission mode: `default`, `acceptEdits`, `plan`, `bypassPermissions`.
    SetPermissionMode {
        /// The mode.
        mode: String,
    },
    /// Switch model (`None` = the default).
    SetModel {
        /// Model name or alias.
        #[serde(default)]
        model: Option<String>,
    },
    /// Liveness check.
    Ping,
}

/// A message to a chat client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChatServerMsg {
    /// First message; stored events after `after_seq` follow, then live ones.
    Connected {
        /// The session.
        session: Box<SessionInfo>,
        /// The newest stored event's seq at connect time.
        last_seq: i64,
    },
    /// One transcript event.
    Event {
        /// Its sequence number.
        seq: i64,
        /// When it was stored.
        #[serde(with = "time::serde::rfc3339")]
        at: time::OffsetDateTime,
        /// The event.
        event: ChatEvent,
    },
    /// A refused client message (only the sender sees it).
    Error {
        /// snake_case code.
        code: String,
        /// Human text.
        message: String,
    },
    /// Answer to `ping`.
    Pong,
}
