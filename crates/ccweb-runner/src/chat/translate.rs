//! Turns the CLI's stream-json output lines into ccweb events.
//!
//! Pure: no I/O. The actor feeds it one line at a time and acts on what it
//! returns. Unknown message types and fields are kept (as `system` events
//! carrying the whole line), never a failure.

use ccweb_protocol::chat::{ChatEvent, DeltaType, PromptKind};
use serde_json::Value;

/// Longest piece of an unparsable line kept in its `error` event.
pub(crate) const MAX_KEPT_LINE_BYTES: usize = 4096;

/// What one CLI line means.
#[derive(Debug, PartialEq)]
pub(crate) enum Parsed {
    /// Events to record, in order.
    Events(Vec<ChatEvent>),
    /// The CLI asks whether a tool may run (`can_use_tool`).
    Permission {
        /// The CLI's request id.
        request_id: String,
        /// The event announcing it.
        event: Box<ChatEvent>,
        /// The input as sent (echoed back on "allow as is").
        input: Value,
        /// Suggested permission updates (applied on "remember").
        suggestions: Vec<Value>,
    },
    /// Another request from the CLI ccweb does not serve.
    OtherRequest {
        /// The CLI's request id.
        request_id: String,
        /// Its subtype.
        subtype: String,
    },
    /// The answer to one of our control requests.
    ControlResponse {
        /// Our request id.
        request_id: String,
        /// The error text, when it failed.
        error: Option<String>,
        /// The response body.
        response: Value,
    },
    /// The CLI withdrew one of its requests.
    Cancel {
        /// The withdrawn request.
        request_id: String,
    },
    /// Nothing to record (keep-alives, blank lines, signature deltas).
    Nothing,
}

/// Per-process translation state.
#[derive(Debug, Default)]
pub(crate) struct Translator {
    /// The API message being streamed (from `message_start`).
    current_message: Option<String>,
    /// `total_cost_usd` of the last result: the CLI reports a running total
    /// per process, turns get the difference.
    total_cost_usd: f64,
}

fn str_field(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Cuts a line for keeping in an error event, on a character boundary.
pub(crate) fn cut(line: &str) -> String {
    if line.len() <= MAX_KEPT_LINE_BYTES {
        return line.to_owned();
    }
    let mut end = MAX_KEPT_LINE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &line[..end], line.len())
}

impl Translator {
    /// Translates one line of the CLI's stdout.
    pub(crate) fn line(&mut self, line: &str) -> Parsed {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            return Parsed::Nothing;
        }
        let value: Value = match serde_json::from_str(trimmed) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) | Err(_) => {
                return Parsed::Events(vec![ChatEvent::Error {
                    code: "unparsable_output".into(),
                    message: "the CLI printed a line that is not a JSON object".into(),
                    line: Some(cut(trimmed)),
                }])
            }
        };
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        match kind.as_str() {
            "system" => Parsed::Events(vec![system(&value)]),
            "stream_event" => self.stream_event(&value),
            "assistant" => Parsed::Events(assistant(&value)),
            "user" => Parsed::Events(user(&value)),
            "result" => Parsed::Events(vec![self.result(&value)]),
            "control_request" => control_request(&value),
            "control_response" => {
                let response = value.get("response").cloned().unwrap_or(Value::Null);
                let request_id = str_field(&response, "request_id").unwrap_or_default();
                let error = (response.get("subtype").and_then(Value::as_str) == Some("error"))
                    .then(|| {
                        str_field(&response, "error").unwrap_or_else(|| "unknown error".into())
                    });
                let body = response.get("response").cloned().unwrap_or(Value::Null);
                Parsed::ControlResponse {
                    request_id,
                    error,
                    response: body,
                }
            }
            "control_cancel_request" => match str_field(&value, "request_id") {
                Some(request_id) => Parsed::Cancel { request_id },
                None => Parsed::Nothing,
            },
            "keep_alive" => Parsed::Nothing,
            _ => Parsed::Events(vec![unknown(&kind, value)]),
        }
    }

    fn stream_event(&mut self, value: &Value) -> Parsed {
        let Some(event) = value.get("event") else {
            return Parsed::Nothing;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("message_start") => {
                self.current_message = event.get("message").and_then(|m| str_field(m, "id"));
                Parsed::Nothing
            }
            Some("content_block_delta") => {
                let index = event.get("index").and_then(Value::as_u64).unwrap_or(0);
                let Some(delta) = event.get("delta") else {
                    return Parsed::Nothing;
                };
                let (delta_type, text) = match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => (DeltaType::Text, str_field(delta, "text")),
                    Some("thinking_delta") => (DeltaType::Thinking, str_field(delta, "thinking")),
                    Some("input_json_delta") => {
                        (DeltaType::InputJson, str_field(delta, "partial_json"))
                    }
                    _ => return Parsed::Nothing,
                };
                match text {
                    Some(text) if !text.is_empty() => {
                        Parsed::Events(vec![ChatEvent::AssistantDelta {
                            message_id: self.current_message.clone(),
                            index,
                            delta_type,
                            text,
                        }])
                    }
                    _ => Parsed::Nothing,
                }
            }
            _ => Parsed::Nothing,
        }
    }

    fn result(&mut self, value: &Value) -> ChatEvent {
        let total = value
            .get("total_cost_usd")
            .and_then(Value::as_f64)
            .unwrap_or(self.total_cost_usd);
        // An interrupted turn can report less than before; never count negative cost.
        let cost_usd = (total - self.total_cost_usd).max(0.0);
        self.total_cost_usd = self.total_cost_usd.max(total);
        let usage = value.get("usage").cloned().unwrap_or(Value::Null);
        let tokens = |key: &str| usage.get(key).and_then(Value::as_i64).unwrap_or(0);
        ChatEvent::Result {
            subtype: str_field(value, "subtype").unwrap_or_else(|| "unknown".into()),
            is_error: value
                .get("is_error")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            result: str_field(value, "result"),
            cost_usd,
            input_tokens: tokens("input_tokens")
                + tokens("cache_creation_input_tokens")
                + tokens("cache_read_input_tokens"),
            output_tokens: tokens("output_tokens"),
            duration_ms: value
                .get("duration_ms")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            num_turns: value.get("num_turns").and_then(Value::as_u64).unwrap_or(0),
            errors: strings(value, "errors"),
            api_error_status: value
                .get("api_error_status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok()),
            terminal_reason: str_field(value, "terminal_reason"),
        }
    }
}

fn system(value: &Value) -> ChatEvent {
    let subtype = str_field(value, "subtype").unwrap_or_else(|| "unknown".into());
    let init = subtype == "init";
    ChatEvent::System {
        model: if init {
            str_field(value, "model")
        } else {
            None
        },
        cwd: if init { str_field(value, "cwd") } else { None },
        tools: if init {
            strings(value, "tools")
        } else {
            Vec::new()
        },
        slash_commands: if init {
            strings(value, "slash_commands")
        } else {
            Vec::new()
        },
        permission_mode: str_field(value, "permissionMode"),
        claude_session_id: str_field(value, "session_id"),
        data: if init { Value::Null } else { value.clone() },
        subtype,
    }
}

fn unknown(kind: &str, value: Value) -> ChatEvent {
    ChatEvent::system(if kind.is_empty() { "unknown" } else { kind }, value)
}

fn assistant(value: &Value) -> Vec<ChatEvent> {
    let message = value.get("message").cloned().unwrap_or(Value::Null);
    let content = message
        .get("content")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    vec![ChatEvent::AssistantMessage {
        message_id: str_field(&message, "id").unwrap_or_default(),
        model: str_field(&message, "model"),
        content,
        parent_tool_use_id: str_field(value, "parent_tool_use_id"),
        error: str_field(value, "error"),
    }]
}

/// `user` lines from the CLI: tool results, and text the CLI made itself
/// (interruptions, slash-command output), which become notices.
fn user(value: &Value) -> Vec<ChatEvent> {
    let message = value.get("message").cloned().unwrap_or(Value::Null);
    let structured = value.get("tool_use_result").cloned().unwrap_or(Value::Null);
    let notice = |text: String| ChatEvent::notice(text);
    match message.get("content") {
        Some(Value::String(text)) => vec![notice(text.clone())],
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|block| match block.get("type").and_then(Value::as_str) {
                Some("tool_result") => Some(ChatEvent::ToolResult {
                    tool_use_id: str_field(block, "tool_use_id").unwrap_or_default(),
                    content: block.get("content").cloned().unwrap_or(Value::Null),
                    is_error: block
                        .get("is_error")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    structured: structured.clone(),
                }),
                Some("text") => str_field(block, "text").map(notice),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn control_request(value: &Value) -> Parsed {
    let request_id = str_field(value, "request_id").unwrap_or_default();
    let request = value.get("request").cloned().unwrap_or(Value::Null);
    let subtype = str_field(&request, "subtype").unwrap_or_default();
    if subtype != "can_use_tool" {
        return Parsed::OtherRequest {
            request_id,
            subtype,
        };
    }
    let tool_name = str_field(&request, "tool_name").unwrap_or_default();
    let input = request
        .get("input")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    let suggestions = request
        .get("permission_suggestions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let prompt_kind = match tool_name.as_str() {
        "AskUserQuestion" => PromptKind::Question,
        "ExitPlanMode" => PromptKind::Plan,
        _ => PromptKind::Tool,
    };
    let event = ChatEvent::PermissionRequest {
        request_id: request_id.clone(),
        tool_name,
        input: input.clone(),
        suggestions: suggestions.clone(),
        tool_use_id: str_field(&request, "tool_use_id"),
        description: str_field(&request, "description"),
        decision_reason: str_field(&request, "decision_reason"),
        prompt_kind,
        edit_lines: Vec::new(),
    };
    Parsed::Permission {
        request_id,
        event: Box::new(event),
        input,
        suggestions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ccweb_protocol::chat::ChatEvent as E;

    fn events(t: &mut Translator, line: &str) -> Vec<ChatEvent> {
        match t.line(line) {
            Parsed::Events(e) => e,
            other => panic!("expected events, got {other:?}"),
        }
    }

    #[test]
    fn init_becomes_a_system_event_with_the_session_facts() {
        let mut t = Translator::default();
        let e = events(
            &mut t,
            r#"{"type":"system","subtype":"init","cwd":"/p","session_id":"s1","tools":["Bash"],"model":"claude-opus-4-8[1m]","permissionMode":"default","slash_commands":["compact"],"uuid":"u"}"#,
        );
        let E::System {
            subtype,
            cwd,
            tools,
            slash_commands,
            claude_session_id,
            model,
            ..
        } = &e[0]
        else {
            panic!()
        };
        assert_eq!(
            (subtype.as_str(), cwd.as_deref(), model.as_deref()),
            ("init", Some("/p"), Some("claude-opus-4-8[1m]"))
        );
        assert_eq!(
            (tools.clone(), slash_commands.clone()),
            (vec!["Bash".to_owned()], vec!["compact".to_owned()])
        );
        assert_eq!(claude_session_id.as_deref(), Some("s1"));
    }

    #[test]
    fn deltas_carry_the_message_id_from_message_start() {
        let mut t = Translator::default();
        assert_eq!(t.line(r#"{"type":"stream_event","event":{"type":"message_start","message":{"id":"msg_1"}}}"#), Parsed::Nothing);
        let e = events(
            &mut t,
            r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}}"#,
        );
        assert_eq!(
            e,
            vec![E::AssistantDelta {
                message_id: Some("msg_1".into()),
                index: 0,
                delta_type: DeltaType::Text,
                text: "Hel".into()
            }]
        );
        let e = events(
            &mut t,
            r#"{"type":"stream_event","event":{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}}"#,
        );
        assert!(matches!(
            &e[0],
            E::AssistantDelta {
                delta_type: DeltaType::InputJson,
                index: 1,
                ..
            }
        ));
        assert_eq!(t.line(r#"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"x"}}}"#), Parsed::Nothing);
    }

    #[test]
    fn tool_results_and_cli_notices_come_from_user_lines() {
        let mut t = Translator::default();
        let e = events(
            &mut t,
            r#"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"ok","is_error":false}]},"tool_use_result":{"stdout":"ok"}}"#,
        );
        assert_eq!(
            e,
            vec![E::ToolResult {
                tool_use_id: "toolu_1".into(),
                content: "ok".into(),
                is_error: false,
                structured: serde_json::json!({"stdout":"ok"})
            }]
        );
        let e = events(
            &mut t,
            r#"{"type":"user","message":{"role":"user","content":[{"type":"text","text":"[Request interrupted by user]"}]}}"#,
        );
        assert!(
            matches!(&e[0], E::System { subtype, data, .. } if subtype == "notice" && data["text"] == "[Request interrupted by user]")
        );
    }

    #[test]
    fn results_report_the_cost_of_each_turn_from_the_running_total() {
        let mut t = Translator::default();
        let e = events(
            &mut t,
            r#"{"type":"result","subtype":"success","is_error":false,"result":"hi","total_cost_usd":0.25,"usage":{"input_tokens":10,"cache_read_input_tokens":5,"output_tokens":7},"duration_ms":150,"num_turns":1}"#,
        );
        assert!(
            matches!(&e[0], E::Result { cost_usd, input_tokens: 15, output_tokens: 7, .. } if (*cost_usd - 0.25).abs() < 1e-9)
        );
        let e = events(
            &mut t,
            r#"{"type":"result","subtype":"success","is_error":true,"api_error_status":500,"total_cost_usd":0.75,"usage":{}}"#,
        );
        assert!(
            matches!(&e[0], E::Result { cost_usd, is_error: true, api_error_status: Some(500), .. } if (*cost_usd - 0.5).abs() < 1e-9)
        );
    }

    #[test]
    fn an_interrupted_result_keeps_the_clis_terminal_reason() {
        let mut t = Translator::default();
        let e = events(
            &mut t,
            r#"{"type":"result","subtype":"error_during_execution","is_error":true,"total_cost_usd":0,"usage":{},"terminal_reason":"aborted_streaming","errors":["[ede_diagnostic] result_type=user last_content_type=text stop_reason=null"]}"#,
        );
        assert!(
            matches!(&e[0], E::Result { terminal_reason: Some(r), .. } if r == "aborted_streaming"),
            "{e:?}"
        );
    }

    #[test]
    fn can_use_tool_becomes_a_permission_request_with_its_kind() {
        let mut t = Translator::default();
        let p = t.line(r#"{"type":"control_request","request_id":"r1","request":{"subtype":"can_use_tool","tool_name":"AskUserQuestion","input":{"questions":[]},"permission_suggestions":[{"type":"addRules"}],"tool_use_id":"toolu_2"}}"#);
        let Parsed::Permission {
            request_id,
            event,
            suggestions,
            ..
        } = p
        else {
            panic!("{p:?}")
        };
        assert_eq!(request_id, "r1");
        assert_eq!(suggestions.len(), 1);
        assert!(matches!(
            *event,
            E::PermissionRequest {
                prompt_kind: PromptKind::Question,
                ..
            }
        ));
        assert_eq!(t.line(r#"{"type":"control_request","request_id":"r2","request":{"subtype":"hook_callback"}}"#), Parsed::OtherRequest { request_id: "r2".into(), subtype: "hook_callback".into() });
    }

    #[test]
    fn control_responses_and_cancels_are_matched_by_request_id() {
        let mut t = Translator::default();
        assert_eq!(
            t.line(r#"{"type":"control_response","response":{"subtype":"error","request_id":"c1","error":"Cannot set permission mode"}}"#),
            Parsed::ControlResponse { request_id: "c1".into(), error: Some("Cannot set permission mode".into()), response: Value::Null }
        );
        assert_eq!(
            t.line(r#"{"type":"control_cancel_request","request_id":"r1"}"#),
            Parsed::Cancel {
                request_id: "r1".into()
            }
        );
    }

    #[test]
    fn garbage_and_unknown_lines_are_kept_never_fatal() {
        let mut t = Translator::default();
        let e = events(&mut t, "this is not json");
        assert!(
            matches!(&e[0], E::Error { code, line: Some(l), .. } if code == "unparsable_output" && l == "this is not json")
        );
        let e = events(&mut t, "[1,2]");
        assert!(matches!(&e[0], E::Error { .. }));
        let e = events(&mut t, r#"{"type":"tool_progress","x":1}"#);
        assert!(
            matches!(&e[0], E::System { subtype, data, .. } if subtype == "tool_progress" && data["x"] == 1)
        );
        assert_eq!(t.line("   "), Parsed::Nothing);
        let long = "x".repeat(MAX_KEPT_LINE_BYTES * 3);
        let e = events(&mut t, &long);
        assert!(
            matches!(&e[0], E::Error { line: Some(l), .. } if l.len() < MAX_KEPT_LINE_BYTES + 64)
        );
    }
}
