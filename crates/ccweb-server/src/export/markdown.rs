//! A transcript as Markdown that reads well: prompts and replies, tool calls
//! (edits as diffs, commands as shell blocks), folded results, permission
//! decisions and each turn's cost. Rendered page by page, so the export
//! streams.

use serde_json::Value;
use std::collections::HashMap;

use ccweb_protocol::chat::{ChatEvent, PromptKind, Resolution, StoredEvent};
use ccweb_protocol::SessionInfo;

/// Longest tool result shown in full; the rest is cut (the JSON export has it).
const MAX_RESULT_CHARS: usize = 20_000;

/// The document's title and facts about the session.
pub fn header(info: &SessionInfo) -> String {
    let mut out = format!("# {}\n\n", info.title);
    out.push_str(&format!(
        "- Session: `{}` ({}, {})\n",
        info.id, info.mode, info.state
    ));
    out.push_str(&format!("- Directory: `{}`\n", info.working_dir));
    out.push_str(&format!("- Owner: {}\n", info.owner));
    if let Some(model) = &info.model {
        out.push_str(&format!("- Model: {model}\n"));
    }
    out.push_str(&format!(
        "- Cost: ${:.4}, tokens in/out: {}/{}\n\n",
        info.usage.cost_usd, info.usage.input_tokens, info.usage.output_tokens
    ));
    out
}

/// Renders events in order; keeps what later events refer back to.
#[derive(Debug, Default)]
pub struct Renderer {
    /// Who spoke last, so consecutive reply blocks share one heading.
    last_speaker: Option<&'static str>,
    /// Tool names by `tool_use` id, to label results.
    tools: HashMap<String, String>,
    /// Tool names and prompt kinds by permission request id, to label decisions.
    requests: HashMap<String, (String, PromptKind)>,
}

impl Renderer {
    /// The Markdown of `events` (the next page of the transcript).
    pub fn page(&mut self, events: &[StoredEvent]) -> String {
        let mut out = String::new();
        for e in events {
            self.event(&mut out, &e.event);
        }
        out
    }

    fn event(&mut self, out: &mut String, event: &ChatEvent) {
        match event {
            ChatEvent::UserMessage { text, by, images } => {
                out.push_str(&format!(
                    "## {}\n\n{text}\n\n",
                    by.as_deref().unwrap_or("User")
                ));
                for media in images {
                    out.push_str(&format!("_(image: {media})_\n\n"));
                }
                self.last_speaker = Some("user");
            }
            ChatEvent::AssistantMessage { content, .. } => {
                if self.last_speaker != Some("assistant") {
                    out.push_str("## Claude\n\n");
                    self.last_speaker = Some("assistant");
                }
                for block in content {
                    self.block(out, block);
                }
            }
            ChatEvent::ToolResult {
                tool_use_id,
                content,
                is_error,
                ..
            } => {
                let tool = self.tools.get(tool_use_id).map_or("tool", String::as_str);
                let label = if *is_error { "error" } else { "result" };
                let mut text = text_of(content);
                if text.chars().count() > MAX_RESULT_CHARS {
                    text = text.chars().take(MAX_RESULT_CHARS).collect();
                    text.push_str("\n… (cut; the JSON export has all of it)");
                }
                out.push_str(&format!(
                    "<details><summary>{tool} {label}</summary>\n\n{}\n</details>\n\n",
                    fenced(&text, "")
                ));
            }
            ChatEvent::PermissionRequest {
                request_id,
                tool_name,
                prompt_kind,
                ..
            } => {
                self.requests
                    .insert(request_id.clone(), (tool_name.clone(), *prompt_kind));
            }
            ChatEvent::PermissionResolved {
                request_id,
                resolution,
                by,
                message,
                remember,
            } => {
                let (tool, kind) = self
                    .requests
                    .get(request_id)
                    .map_or(("a tool", PromptKind::Tool), |(t, k)| (t.as_str(), *k));
                let who = by.as_deref().unwrap_or("ccweb");
                let question = kind == PromptKind::Question;
                let what = match resolution {
                    Resolution::Allow if question => format!("answered by {who}"),
                    Resolution::Deny if question => format!("dismissed by {who}"),
                    Resolution::Allow => format!("allowed by {who}"),
                    Resolution::Deny => format!("denied by {who}"),
                    Resolution::Timeout if question => "not answered in time".to_owned(),
                    Resolution::Timeout => "denied: nobody answered in time".to_owned(),
                    Resolution::Cancelled => "withdrawn".to_owned(),
                };
                let always = if *remember { " (and remembered)" } else { "" };
                let why = message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let subject = if question {
                    "Question".to_owned()
                } else {
                    format!("Permission for **{tool}**")
                };
                out.push_str(&format!("> {subject} {what}{always}{why}\n\n"));
            }
            ChatEvent::Result {
                cost_usd,
                input_tokens,
                output_tokens,
                is_error,
                duration_ms,
                ..
            } => {
                let flag = if *is_error { " (error)" } else { "" };
                out.push_str(&format!(
                    "_Turn{flag}: ${cost_usd:.4}, {input_tokens} in / {output_tokens} out, {:.1} s_\n\n",
                    *duration_ms as f64 / 1000.0
                ));
            }
            ChatEvent::Error { message, .. } => {
                out.push_str(&format!("> **Error:** {message}\n\n"));
            }
            ChatEvent::System { subtype, data, .. } if subtype == "notice" => {
                if let Some(text) = data.get("text").and_then(Value::as_str) {
                    out.push_str(&format!("> {text}\n\n"));
                }
            }
            ChatEvent::System { .. }
            | ChatEvent::AssistantDelta { .. }
            | ChatEvent::State { .. } => {}
        }
    }

    fn block(&mut self, out: &mut String, block: &Value) {
        let str_of = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or("");
        match block.get("type").and_then(Value::as_str) {
            Some("text") => out.push_str(&format!("{}\n\n", str_of("text"))),
            Some("thinking") => out.push_str(&format!(
                "<details><summary>Thinking</summary>\n\n{}\n\n</details>\n\n",
                str_of("thinking")
            )),
            Some("tool_use") => {
                let name = block.get("name").and_then(Value::as_str).unwrap_or("tool");
                if let Some(id) = block.get("id").and_then(Value::as_str) {
                    self.tools.insert(id.to_owned(), name.to_owned());
                }
                out.push_str(&tool_call(name, block.get("input").unwrap_or(&Value::Null)));
            }
            _ => {}
        }
    }
}

/// A tool call: file edits as diffs, shell commands as `sh`, the rest as JSON.
fn tool_call(name: &str, input: &Value) -> String {
    let s = |key: &str| input.get(key).and_then(Value::as_str);
    let path = s("file_path").unwrap_or("");
    match name {
        "Edit" => {
            let diff = format!(
                "--- {path}\n+++ {path}\n{}",
                hunk(s("old_string").unwrap_or(""), s("new_string").unwrap_or(""))
            );
            format!("**Edit** `{path}`\n\n{}\n\n", fenced(&diff, "diff"))
        }
        "MultiEdit" => {
            let mut diff = format!("--- {path}\n+++ {path}\n");
            for edit in input
                .get("edits")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let get = |k: &str| edit.get(k).and_then(Value::as_str).unwrap_or("");
                diff.push_str(&hunk(get("old_string"), get("new_string")));
            }
            format!("**MultiEdit** `{path}`\n\n{}\n\n", fenced(&diff, "diff"))
        }
        "Write" => {
            let mut diff = format!("--- /dev/null\n+++ {path}\n@@\n");
            for line in s("content").unwrap_or("").lines() {
                diff.push_str(&format!("+{line}\n"));
            }
            format!("**Write** `{path}`\n\n{}\n\n", fenced(&diff, "diff"))
        }
        "Bash" => {
            let about = s("description")
                .map(|d| format!(" — {d}"))
                .unwrap_or_default();
            format!(
                "**Bash**{about}\n\n{}\n\n",
                fenced(s("command").unwrap_or(""), "sh")
            )
        }
        _ => {
            let json = serde_json::to_string_pretty(input).unwrap_or_default();
            format!("**{name}**\n\n{}\n\n", fenced(&json, "json"))
        }
    }
}

/// One diff hunk replacing `old` by `new`.
fn hunk(old: &str, new: &str) -> String {
    let mut out = String::from("@@\n");
    for line in old.lines() {
        out.push_str(&format!("-{line}\n"));
    }
    for line in new.lines() {
        out.push_str(&format!("+{line}\n"));
    }
    out
}

/// `text` in a code fence longer than any run of backticks inside it, so
/// the content cannot close it.
fn fenced(text: &str, lang: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest.max(2) + 1);
    let text = text.strip_suffix('\n').unwrap_or(text);
    format!("{fence}{lang}\n{text}\n{fence}")
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn edits_render_as_diffs_and_fences_cannot_be_closed_by_content() {
        let edit = tool_call(
            "Edit",
            &json!({"file_path": "/p/a.rs", "old_string": "let a = 1;", "new_string": "let a = 2;\nlet b = 3;"}),
        );
        assert!(
            edit.contains(
                "```diff\n--- /p/a.rs\n+++ /p/a.rs\n@@\n-let a = 1;\n+let a = 2;\n+let b = 3;\n```"
            ),
            "{edit}"
        );
        let write = tool_call(
            "Write",
            &json!({"file_path": "/p/n.md", "content": "```\nx\n"}),
        );
        assert!(
            write.contains("````diff\n--- /dev/null\n+++ /p/n.md\n@@\n+```\n+x\n````"),
            "{write}"
        );
        let multi = tool_call(
            "MultiEdit",
            &json!({"file_path": "f", "edits": [{"old_string": "a", "new_string": "b"}, {"old_string": "c", "new_string": "d"}]}),
        );
        assert!(multi.contains("@@\n-a\n+b\n@@\n-c\n+d\n"), "{multi}");
        let bash = tool_call("Bash", &json!({"command": "ls -l", "description": "List"}));
        assert!(
            bash.contains("**Bash** — List\n\n```sh\nls -l\n```"),
            "{bash}"
        );
    }

    #[test]
    fn results_and_permission_decisions_name_their_tool() {
        let ev = |event: ChatEvent| StoredEvent {
            seq: 1,
            at: time::OffsetDateTime::UNIX_EPOCH,
            event,
        };
        let mut r = Renderer::default();
        let page = r.page(&[
            ev(ChatEvent::AssistantMessage {
                message_id: "m".into(),
                model: None,
                content: vec![json!({"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "rm x"}})],
                parent_tool_use_id: None,
                error: None,
            }),
            ev(ChatEvent::PermissionRequest {
                request_id: "r1".into(),
                tool_name: "Bash".into(),
                input: json!({}),
                suggestions: vec![],
                tool_use_id: Some("t1".into()),
                description: None,
                decision_reason: None,
                prompt_kind: ccweb_protocol::chat::PromptKind::Tool,
                edit_lines: vec![],
            }),
            ev(ChatEvent::PermissionResolved {
                request_id: "r1".into(),
                resolution: Resolution::Deny,
                by: Some("alice".into()),
                message: Some("not that".into()),
                remember: false,
            }),
            ev(ChatEvent::ToolResult {
                tool_use_id: "t1".into(),
                content: json!("denied"),
                is_error: true,
                structured: Value::Null,
            }),
        ]);
        assert!(
            page.contains("> Permission for **Bash** denied by alice: not that"),
            "{page}"
        );
        assert!(page.contains("<summary>Bash error</summary>"), "{page}");
    }

    #[test]
    fn an_answered_question_reads_as_answered_not_allowed() {
        let ev = |event: ChatEvent| StoredEvent {
            seq: 1,
            at: time::OffsetDateTime::UNIX_EPOCH,
            event,
        };
        let question = |id: &str| {
            ev(ChatEvent::PermissionRequest {
                request_id: id.into(),
                tool_name: "AskUserQuestion".into(),
                input: json!({"questions": []}),
                suggestions: vec![],
                tool_use_id: None,
                description: None,
                decision_reason: None,
                prompt_kind: PromptKind::Question,
                edit_lines: vec![],
            })
        };
        let resolved = |id: &str, resolution| {
            ev(ChatEvent::PermissionResolved {
                request_id: id.into(),
                resolution,
                by: Some("alice".into()),
                message: None,
                remember: false,
            })
        };
        let page = Renderer::default().page(&[
            question("q1"),
            resolved("q1", Resolution::Allow),
            question("q2"),
            resolved("q2", Resolution::Deny),
        ]);
        assert!(page.contains("> Question answered by alice\n"), "{page}");
        assert!(page.contains("> Question dismissed by alice\n"), "{page}");
        assert!(!page.contains("allowed"), "{page}");
        assert_eq!(
            Resolution::Allow.audit_word(PromptKind::Question),
            "answered"
        );
        assert_eq!(Resolution::Allow.audit_word(PromptKind::Tool), "allow");
    }
}
