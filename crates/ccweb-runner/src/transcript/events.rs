//! One transcript record → ccweb chat events, and the CLI's "first prompt"
//! rule used for titles.
//!
//! Pure and total: any JSON value gives a (possibly empty) list of events.

use ccweb_protocol::chat::ChatEvent;
use serde_json::{json, Map, Value};

/// Longest first prompt or last prompt used as a title, in characters (the
/// CLI's limit).
const MAX_PROMPT_TITLE_CHARS: usize = 200;

/// Turns one transcript record into ccweb events (zero or more).
///
/// | record | events |
/// |---|---|
/// | `user`, text | [`ChatEvent::UserMessage`] with the text and the media types of attached images. A slash command (`<command-name>/x</command-name>…<command-args>a</command-args>`) becomes the text `/x a`; bash mode (`<bash-input>ls</bash-input>`) becomes `! ls`. |
/// | `user`, text the CLI made | `system` `notice` with `data.text` (as the live stream-json translator does): slash-command and bash output without their tags, `[Request interrupted by user…]`. Caveats, `<system-reminder>` and `<task-notification>` texts and `isMeta` records give nothing. |
/// | `user`, `isCompactSummary` | `system` `compact_summary` with `data.text` (the summary the model continues from). |
/// | `user`, `tool_result` blocks | one [`ChatEvent::ToolResult`] each; the record's `toolUseResult` becomes `structured` when the record holds one result. |
/// | `assistant` | [`ChatEvent::AssistantMessage`]: content blocks as written, `message.id`, `message.model`, the record's `error` (API errors, `model: "<synthetic>"`). |
/// | `system` `compact_boundary` | `system` `compact_boundary`, `data` shaped like the stream-json line (`compact_metadata.trigger/pre_tokens/post_tokens`). |
/// | `system` `local_command` | the typed command (`/model sonnet`) as a user message, its output as a notice. |
/// | `isSidechain: true` | nothing. Subagent records live in their own files (`<session>/subagents/agent-<id>.jsonl`) and name no tool-use id to attach them to. |
/// | anything else | nothing (`attachment`, `queue-operation`, `last-prompt`, `custom-title`, `mode`, `permission-mode`, `file-history-snapshot`, other `system` subtypes, non-objects). |
pub fn record_to_events(record: &Value) -> Vec<ChatEvent> {
    let Some(obj) = record.as_object() else {
        return Vec::new();
    };
    if obj.get("isSidechain").and_then(Value::as_bool) == Some(true) {
        return Vec::new();
    }
    match obj.get("type").and_then(Value::as_str) {
        Some("user") => user(obj),
        Some("assistant") => assistant(obj).into_iter().collect(),
        Some("system") => system(obj),
        _ => Vec::new(),
    }
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn is_true(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool) == Some(true)
}

fn system_event(subtype: &str, data: Value) -> ChatEvent {
    ChatEvent::system(subtype, data)
}

fn notice(text: String) -> ChatEvent {
    ChatEvent::notice(text)
}

/// What a piece of user-record text is.
#[derive(Debug, PartialEq)]
enum Text {
    /// Something the user typed (possibly rewritten: `/cmd args`, `! cmd`).
    Prompt(String),
    /// Something the CLI made (command output, interruption).
    Notice(String),
    /// Model-facing noise.
    Drop,
}

/// Text between `<tag>` and `</tag>`, if both are there.
pub(super) fn between<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)? + open.len();
    let len = text[start..].find(&close)?;
    Some(&text[start..start + len])
}

/// Tags whose text is output of a local command; shown without the tags.
const OUTPUT_TAGS: [&str; 4] = [
    "local-command-stdout",
    "local-command-stderr",
    "bash-stdout",
    "bash-stderr",
];

/// Tags of text meant for the model only.
const NOISE_TAGS: [&str; 3] = [
    "local-command-caveat",
    "system-reminder",
    "task-notification",
];

fn classify(text: &str) -> Text {
    let trimmed = text.trim_start();
    if trimmed.starts_with("[Request interrupted by user") {
        return Text::Notice(trimmed.trim_end().to_owned());
    }
    if !trimmed.starts_with('<') {
        return Text::Prompt(text.to_owned());
    }
    if let Some(name) = between(trimmed, "command-name") {
        let name = name.trim();
        let slash = if name.starts_with('/') { "" } else { "/" };
        let args = between(trimmed, "command-args").unwrap_or("").trim();
        let command = format!("{slash}{name} {args}");
        return Text::Prompt(command.trim_end().to_owned());
    }
    if let Some(input) = between(trimmed, "bash-input") {
        return Text::Prompt(format!("! {}", input.trim()));
    }
    if OUTPUT_TAGS
        .iter()
        .any(|tag| trimmed.starts_with(&format!("<{tag}>")))
    {
        let parts: Vec<&str> = OUTPUT_TAGS
            .iter()
            .filter_map(|tag| between(trimmed, tag))
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect();
        return if parts.is_empty() {
            Text::Drop
        } else {
            Text::Notice(parts.join("\n"))
        };
    }
    if NOISE_TAGS
        .iter()
        .any(|tag| trimmed.starts_with(&format!("<{tag}>")))
    {
        return Text::Drop;
    }
    // Unknown markup: keep it; it may be what the user typed.
    Text::Prompt(text.to_owned())
}

fn user(obj: &Map<String, Value>) -> Vec<ChatEvent> {
    if is_true(obj, "isMeta") {
        return Vec::new();
    }
    let Some(message) = obj.get("message") else {
        return Vec::new();
    };
    let content = message.get("content").unwrap_or(&Value::Null);
    if is_true(obj, "isCompactSummary") {
        let text = match content {
            Value::String(text) => text.clone(),
            Value::Array(blocks) => texts_of(blocks).join("\n"),
            _ => String::new(),
        };
        return vec![system_event("compact_summary", json!({ "text": text }))];
    }
    match content {
        Value::String(text) => from_texts(vec![text.as_str()], Vec::new()),
        Value::Array(blocks) => {
            let structured = obj
                .get("toolUseResult")
                .or_else(|| obj.get("tool_use_result"))
                .cloned()
                .unwrap_or(Value::Null);
            let results: Vec<&Value> = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
                .collect();
            let single = results.len() == 1;
            let mut events: Vec<ChatEvent> = results
                .into_iter()
                .map(|block| ChatEvent::ToolResult {
                    tool_use_id: str_field(block, "tool_use_id").unwrap_or_default(),
                    content: block.get("content").cloned().unwrap_or(Value::Null),
                    is_error: block
                        .get("is_error")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    structured: if single {
                        structured.clone()
                    } else {
                        Value::Null
                    },
                })
                .collect();
            let images = blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str) == Some("image"))
                .map(|b| {
                    b.get("source")
                        .and_then(|s| str_field(s, "media_type"))
                        .unwrap_or_else(|| "image".to_owned())
                })
                .collect();
            events.extend(from_texts(texts_of(blocks), images));
            events
        }
        _ => Vec::new(),
    }
}

fn texts_of(blocks: &[Value]) -> Vec<&str> {
    blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect()
}

/// The events of a user record's texts: prompts joined into one message
/// (with the images), notices each on their own.
fn from_texts(texts: Vec<&str>, images: Vec<String>) -> Vec<ChatEvent> {
    let mut prompts = Vec::new();
    let mut events = Vec::new();
    for text in texts {
        match classify(text) {
            Text::Prompt(prompt) => prompts.push(prompt),
            Text::Notice(text) => events.push(notice(text)),
            Text::Drop => {}
        }
    }
    if !prompts.is_empty() || !images.is_empty() {
        events.insert(
            0,
            ChatEvent::UserMessage {
                text: prompts.join("\n"),
                images,
                by: None,
            },
        );
    }
    events
}

fn assistant(obj: &Map<String, Value>) -> Option<ChatEvent> {
    let message = obj.get("message")?;
    let content = match message.get("content") {
        Some(Value::Array(blocks)) => blocks.clone(),
        Some(Value::String(text)) => vec![json!({ "type": "text", "text": text })],
        _ => Vec::new(),
    };
    let error = obj.get("error").and_then(Value::as_str).map(str::to_owned);
    if content.is_empty() && error.is_none() {
        return None;
    }
    let message_id = str_field(message, "id")
        .or_else(|| obj.get("uuid").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    Some(ChatEvent::AssistantMessage {
        message_id,
        model: str_field(message, "model"),
        content,
        parent_tool_use_id: obj
            .get("parent_tool_use_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        error,
    })
}

fn system(obj: &Map<String, Value>) -> Vec<ChatEvent> {
    match obj.get("subtype").and_then(Value::as_str) {
        Some("compact_boundary") => {
            let meta = obj.get("compactMetadata").unwrap_or(&Value::Null);
            let data = json!({
                "type": "system",
                "subtype": "compact_boundary",
                "compact_metadata": {
                    "trigger": meta.get("trigger").cloned().unwrap_or(Value::Null),
                    "pre_tokens": meta.get("preTokens").cloned().unwrap_or(Value::Null),
                    "post_tokens": meta.get("postTokens").cloned().unwrap_or(Value::Null),
                },
                "text": obj.get("content").cloned().unwrap_or(Value::Null),
            });
            vec![system_event("compact_boundary", data)]
        }
        Some("local_command") => match obj.get("content").and_then(Value::as_str) {
            Some(text) => from_texts(vec![text], Vec::new()),
            None => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// The CLI's first-prompt rule for one record (its session listing uses the
/// same): the first text of a real user record, newlines made spaces, cut to
/// 200 characters; `<bash-input>x</bash-input>` gives `! x`; other texts that
/// start with markup or an interruption notice are passed over. A slash
/// command's name is remembered in `command_fallback` (the first one wins),
/// used when no prompt is ever found.
pub(crate) fn first_prompt(
    record: &Value,
    command_fallback: &mut Option<String>,
) -> Option<String> {
    let obj = record.as_object()?;
    if obj.get("type").and_then(Value::as_str) != Some("user")
        || is_true(obj, "isMeta")
        || is_true(obj, "isCompactSummary")
    {
        return None;
    }
    let texts: Vec<&str> = match obj.get("message")?.get("content")? {
        Value::String(text) => vec![text.as_str()],
        Value::Array(blocks) => {
            if blocks
                .iter()
                .any(|b| b.get("type").and_then(Value::as_str) == Some("tool_result"))
            {
                return None;
            }
            texts_of(blocks)
        }
        _ => return None,
    };
    for text in texts {
        let text = text.replace('\n', " ");
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if let Some(name) = between(text, "command-name") {
            if command_fallback.is_none() {
                *command_fallback = Some(name.to_owned());
            }
            continue;
        }
        if let Some(input) = between(text, "bash-input") {
            return Some(format!("! {}", input.trim()));
        }
        if starts_with_markup(text) || text.starts_with("[Request interrupted by user") {
            continue;
        }
        return Some(cut_title(text));
    }
    None
}

/// The CLI's `^\s*<[a-z][\w-]*[\s>]`.
fn starts_with_markup(text: &str) -> bool {
    let Some(rest) = text.trim_start().strip_prefix('<') else {
        return false;
    };
    let mut chars = rest.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_lowercase()) {
        return false;
    }
    for c in chars {
        if c.is_whitespace() || c == '>' {
            return true;
        }
        if !(c.is_alphanumeric() || c == '_' || c == '-') {
            return false;
        }
    }
    false
}

/// A prompt as a one-line title: newlines made spaces, trimmed, cut to 200
/// characters with `…`.
pub(crate) fn cut_title(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let text = text.trim();
    match text.char_indices().nth(MAX_PROMPT_TITLE_CHARS) {
        Some((end, _)) => format!("{}…", text[..end].trim_end()),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_text(content: Value) -> Value {
        json!({"type": "user", "isSidechain": false, "message": {"role": "user", "content": content}})
    }

    fn notice_text(event: &ChatEvent) -> Option<&str> {
        match event {
            ChatEvent::System { subtype, data, .. } if subtype == "notice" => data["text"].as_str(),
            _ => None,
        }
    }

    #[test]
    fn user_text_becomes_a_user_message() {
        let events = record_to_events(&user_text(json!("fix the bug")));
        assert_eq!(
            events,
            vec![ChatEvent::UserMessage {
                text: "fix the bug".into(),
                images: vec![],
                by: None
            }]
        );
    }

    #[test]
    fn images_become_media_types_beside_the_text() {
        let record = user_text(json!([
            {"type": "text", "text": "what is this?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
            {"type": "image", "source": {"type": "url", "url": "https://x/y"}},
        ]));
        assert_eq!(
            record_to_events(&record),
            vec![ChatEvent::UserMessage {
                text: "what is this?".into(),
                images: vec!["image/png".into(), "image".into()],
                by: None
            }]
        );
    }

    #[test]
    fn tool_results_keep_error_flag_and_structured_result() {
        let mut record = user_text(json!([
            {"tool_use_id": "toolu_1", "type": "tool_result", "content": "denied", "is_error": true}
        ]));
        record["toolUseResult"] = json!("Error: denied");
        assert_eq!(
            record_to_events(&record),
            vec![ChatEvent::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: json!("denied"),
                is_error: true,
                structured: json!("Error: denied"),
            }]
        );
        // Two results in one record: nobody knows whose structured result it is.
        let mut two = user_text(json!([
            {"tool_use_id": "a", "type": "tool_result", "content": [{"type": "text", "text": "x"}]},
            {"tool_use_id": "b", "type": "tool_result", "content": "y"},
        ]));
        two["toolUseResult"] = json!({"stdout": "x"});
        let events = record_to_events(&two);
        assert_eq!(events.len(), 2);
        for event in events {
            match event {
                ChatEvent::ToolResult {
                    structured,
                    is_error,
                    ..
                } => {
                    assert_eq!(structured, Value::Null);
                    assert!(!is_error);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn assistant_blocks_are_kept_as_written() {
        let blocks = json!([
            {"type": "thinking", "thinking": "hmm", "signature": "sig"},
            {"type": "text", "text": "hello"},
            {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
        ]);
        let record = json!({"type": "assistant", "message": {"id": "msg_1", "model": "claude-x", "role": "assistant", "content": blocks}});
        assert_eq!(
            record_to_events(&record),
            vec![ChatEvent::AssistantMessage {
                message_id: "msg_1".into(),
                model: Some("claude-x".into()),
                content: blocks.as_array().unwrap().clone(),
                parent_tool_use_id: None,
                error: None,
            }]
        );
    }

    #[test]
    fn api_error_messages_carry_the_error_tag() {
        let record = json!({"type": "assistant", "error": "server_error", "isApiErrorMessage": true,
            "message": {"id": "u-1", "model": "<synthetic>", "content": [{"type": "text", "text": "API Error: 500"}]}});
        match &record_to_events(&record)[..] {
            [ChatEvent::AssistantMessage { error, model, .. }] => {
                assert_eq!(error.as_deref(), Some("server_error"));
                assert_eq!(model.as_deref(), Some("<synthetic>"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sidechain_and_meta_records_give_nothing() {
        let mut side = user_text(json!("do the sub task"));
        side["isSidechain"] = json!(true);
        assert!(record_to_events(&side).is_empty());
        let mut meta = user_text(json!("<local-command-caveat>Caveat</local-command-caveat>"));
        meta["isMeta"] = json!(true);
        assert!(record_to_events(&meta).is_empty());
    }

    #[test]
    fn metadata_records_give_nothing() {
        for record in [
            json!({"type": "custom-title", "customTitle": "T", "sessionId": "s"}),
            json!({"type": "last-prompt", "lastPrompt": "p", "sessionId": "s"}),
            json!({"type": "queue-operation", "operation": "enqueue", "content": "p"}),
            json!({"type": "attachment", "attachment": {"type": "skill_listing"}}),
            json!({"type": "mode", "mode": "normal"}),
            json!({"type": "system", "subtype": "turn_duration", "durationMs": 4}),
            json!({"type": "assistant"}),
            json!({"type": "user", "message": 5}),
            json!("a string"),
            json!(null),
            json!([1, 2]),
        ] {
            assert!(record_to_events(&record).is_empty(), "{record}");
        }
    }

    #[test]
    fn slash_commands_and_bash_mode_read_as_typed() {
        let command = user_text(json!("<command-name>/model</command-name>\n            <command-message>model</command-message>\n            <command-args>sonnet</command-args>"));
        assert!(matches!(&record_to_events(&command)[..],
            [ChatEvent::UserMessage { text, .. }] if text == "/model sonnet"));
        let bare = user_text(json!(
            "<command-name>/compact</command-name>\n<command-args></command-args>"
        ));
        assert!(matches!(&record_to_events(&bare)[..],
            [ChatEvent::UserMessage { text, .. }] if text == "/compact"));
        let bash = user_text(json!("<bash-input>echo hi</bash-input>"));
        assert!(matches!(&record_to_events(&bash)[..],
            [ChatEvent::UserMessage { text, .. }] if text == "! echo hi"));
    }

    #[test]
    fn command_output_and_interruptions_become_notices() {
        let out = user_text(json!(
            "<local-command-stdout>Compacted </local-command-stdout>"
        ));
        assert_eq!(notice_text(&record_to_events(&out)[0]), Some("Compacted"));
        let bash = user_text(json!(
            "<bash-stdout>hi</bash-stdout><bash-stderr></bash-stderr>"
        ));
        assert_eq!(notice_text(&record_to_events(&bash)[0]), Some("hi"));
        let empty = user_text(json!(
            "<bash-stdout></bash-stdout><bash-stderr></bash-stderr>"
        ));
        assert!(record_to_events(&empty).is_empty());
        let interrupted = user_text(
            json!([{"type": "text", "text": "[Request interrupted by user for tool use]"}]),
        );
        assert_eq!(
            notice_text(&record_to_events(&interrupted)[0]),
            Some("[Request interrupted by user for tool use]")
        );
        let reminder = user_text(json!("<system-reminder>be nice</system-reminder>"));
        assert!(record_to_events(&reminder).is_empty());
        // Markup the user may well have typed is kept.
        let html = user_text(json!("<div> is broken"));
        assert!(matches!(
            &record_to_events(&html)[..],
            [ChatEvent::UserMessage { .. }]
        ));
    }

    #[test]
    fn compaction_gives_a_boundary_and_the_summary() {
        let boundary = json!({"type": "system", "subtype": "compact_boundary", "content": "Conversation compacted",
            "compactMetadata": {"trigger": "manual", "preTokens": 10, "postTokens": 5}});
        match &record_to_events(&boundary)[..] {
            [ChatEvent::System { subtype, data, .. }] => {
                assert_eq!(subtype, "compact_boundary");
                assert_eq!(data["compact_metadata"]["pre_tokens"], 10);
                assert_eq!(data["compact_metadata"]["trigger"], "manual");
            }
            other => panic!("{other:?}"),
        }
        let mut summary = user_text(json!("This session is being continued…"));
        summary["isCompactSummary"] = json!(true);
        match &record_to_events(&summary)[..] {
            [ChatEvent::System { subtype, data, .. }] => {
                assert_eq!(subtype, "compact_summary");
                assert_eq!(data["text"], "This session is being continued…");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn local_command_system_records_split_into_command_and_output() {
        let typed =
            json!({"type": "system", "subtype": "local_command", "content": "/model sonnet"});
        assert!(matches!(&record_to_events(&typed)[..],
            [ChatEvent::UserMessage { text, .. }] if text == "/model sonnet"));
        let output = json!({"type": "system", "subtype": "local_command",
            "content": "<local-command-stdout>/model isn't available</local-command-stdout>"});
        assert_eq!(
            notice_text(&record_to_events(&output)[0]),
            Some("/model isn't available")
        );
    }

    #[test]
    fn odd_shapes_never_panic() {
        for record in [
            json!({"type": "user", "message": {"content": [null, 1, {"type": "image"}, {"type": "text"}, {"type": "tool_result"}]}}),
            json!({"type": "user", "message": {"content": "<command-name>"}}),
            json!({"type": "user", "message": {"content": "<bash-input>unclosed"}}),
            json!({"type": "assistant", "message": {"content": "plain"}}),
            json!({"type": "system", "subtype": "compact_boundary"}),
            json!({"type": "system", "subtype": "local_command", "content": 3}),
            json!({"type": 7, "isSidechain": "yes"}),
        ] {
            let _ = record_to_events(&record);
        }
        let events =
            record_to_events(&json!({"type": "user", "message": {"content": [{"type": "image"}]}}));
        assert!(
            matches!(&events[..], [ChatEvent::UserMessage { text, images, .. }] if text.is_empty() && images == &["image"])
        );
    }

    #[test]
    fn first_prompt_follows_the_cli_rules() {
        let mut fallback = None;
        let mut meta = user_text(json!("meta"));
        meta["isMeta"] = json!(true);
        assert_eq!(first_prompt(&meta, &mut fallback), None);
        let command = user_text(json!("<command-name>/cost</command-name>"));
        assert_eq!(first_prompt(&command, &mut fallback), None);
        assert_eq!(fallback.as_deref(), Some("/cost"));
        let result =
            user_text(json!([{"type": "tool_result", "tool_use_id": "t", "content": "x"}]));
        assert_eq!(first_prompt(&result, &mut fallback), None);
        let markup = user_text(json!("<ide_opened_file>x</ide_opened_file>"));
        assert_eq!(first_prompt(&markup, &mut fallback), None);
        let bash = user_text(json!("<bash-input> ls </bash-input>"));
        assert_eq!(first_prompt(&bash, &mut fallback).as_deref(), Some("! ls"));
        let long = user_text(json!(format!("line one\nline two {}", "é".repeat(300))));
        let title = first_prompt(&long, &mut fallback).unwrap();
        assert!(title.starts_with("line one line two é"));
        assert_eq!(title.chars().count(), 201);
        assert!(title.ends_with('…'));
        assert_eq!(fallback.as_deref(), Some("/cost"));
    }
}
