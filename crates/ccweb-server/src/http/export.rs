//! `GET /api/claude/sessions/{id}/export?format=markdown|json|asciicast`:
//! the stored transcript as a download.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};
use std::fmt::Write;

use ccweb_protocol::chat::{ChatEvent, StoredEvent};
use ccweb_protocol::SessionInfo;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::http::sessions::visible_session;
use crate::json::ApiQuery;
use crate::state::AppState;

/// Query of the export endpoint.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `markdown` (default), `json` or `asciicast`.
    format: Option<String>,
}

/// Exports a session's transcript.
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let record = visible_session(&state, &auth, &id).await?;
    let format = q.format.as_deref().unwrap_or("markdown");
    if !matches!(format, "markdown" | "json" | "asciicast") {
        return Err(ApiError::bad_request(
            "invalid_query",
            "format must be markdown, json or asciicast",
        ));
    }
    if format == "asciicast" {
        return Err(ApiError::NotImplemented("asciicast export needs the terminal recording of the operations issue; use markdown or json".into()));
    }
    let info = state.sessions.info(record);
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = state
            .store
            .events_after(info.id, after, ccweb_store::MAX_EVENTS_PAGE)
            .await?;
        let Some(last) = page.last().map(|e| e.seq) else {
            break;
        };
        after = last;
        events.extend(page);
    }
    let stem = file_stem(&info);
    let (body, mime, ext) = match format {
        "json" => (
            serde_json::to_string_pretty(&json!({"session": info, "events": events}))
                .map_err(ApiError::internal)?,
            "application/json",
            "json",
        ),
        _ => (
            markdown(&info, &events),
            "text/markdown; charset=utf-8",
            "md",
        ),
    };
    let disposition = format!("attachment; filename=\"{stem}.{ext}\"");
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// A safe file name: `ccweb-<title>-<id prefix>`.
fn file_stem(info: &SessionInfo) -> String {
    let title: String = info
        .title
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    format!(
        "ccweb-{}-{}",
        title.trim_matches('-'),
        &info.id.to_string()[..8]
    )
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// The transcript as Markdown: prompts, replies, tool calls with their
/// results (folded), permission decisions and each turn's cost.
pub fn markdown(info: &SessionInfo, events: &[StoredEvent]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", info.title);
    let _ = writeln!(
        out,
        "- Session: `{}` ({}, {})",
        info.id, info.mode, info.state
    );
    let _ = writeln!(out, "- Directory: `{}`", info.working_dir);
    let _ = writeln!(out, "- Owner: {}", info.owner);
    let _ = writeln!(
        out,
        "- Cost: ${:.4}, tokens in/out: {}/{}\n",
        info.usage.cost_usd, info.usage.input_tokens, info.usage.output_tokens
    );
    let mut last_speaker = "";
    for e in events {
        match &e.event {
            ChatEvent::UserMessage { text, by, .. } => {
                let _ = writeln!(out, "## {}\n\n{}\n", by.as_deref().unwrap_or("User"), text);
                last_speaker = "user";
            }
            ChatEvent::AssistantMessage { content, .. } => {
                if last_speaker != "assistant" {
                    let _ = writeln!(out, "## Claude\n");
                    last_speaker = "assistant";
                }
                for block in content {
                    match block.get("type").and_then(Value::as_str) {
                        Some("text") => {
                            let _ = writeln!(
                                out,
                                "{}\n",
                                block.get("text").and_then(Value::as_str).unwrap_or("")
                            );
                        }
                        Some("thinking") => {
                            let thinking =
                                block.get("thinking").and_then(Value::as_str).unwrap_or("");
                            let _ = writeln!(out, "<details><summary>Thinking</summary>\n\n{thinking}\n\n</details>\n");
                        }
                        Some("tool_use") => {
                            let name = block.get("name").and_then(Value::as_str).unwrap_or("tool");
                            let input = serde_json::to_string_pretty(
                                block.get("input").unwrap_or(&Value::Null),
                            )
                            .unwrap_or_default();
                            let _ = writeln!(out, "**{name}**\n\n```json\n{input}\n```\n");
                        }
                        _ => {}
                    }
                }
            }
            ChatEvent::ToolResult {
                content, is_error, ..
            } => {
                let label = if *is_error {
                    "Result (error)"
                } else {
                    "Result"
                };
                let _ = writeln!(
                    out,
                    "<details><summary>{label}</summary>\n\n```\n{}\n```\n\n</details>\n",
                    text_of(content)
                );
            }
            ChatEvent::PermissionResolved {
                resolution,
                by,
                message,
                ..
            } => {
                let who = by.as_deref().unwrap_or("ccweb");
                let why = message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "> Permission: {resolution:?} by {who}{why}\n");
            }
            ChatEvent::Result {
                cost_usd,
                input_tokens,
                output_tokens,
                is_error,
                ..
            } => {
                let flag = if *is_error { " (error)" } else { "" };
                let _ = writeln!(
                    out,
                    "_Turn{flag}: ${cost_usd:.4}, {input_tokens} in / {output_tokens} out_\n"
                );
            }
            ChatEvent::Error { message, .. } => {
                let _ = writeln!(out, "> **Error:** {message}\n");
            }
            _ => {}
        }
    }
    out
}
