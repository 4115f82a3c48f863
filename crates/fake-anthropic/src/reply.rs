//! Scripted replies and their rendering into Messages API responses (SSE or JSON).

use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

/// Text of the reply given when nothing else was scripted.
pub const DEFAULT_REPLY_TEXT: &str = "Hello from the fake model.";

/// Largest text delta the fake sends when it splits a [`Reply::Text`] itself, in bytes.
const TEXT_DELTA_MAX_BYTES: usize = 64;

/// Largest `input_json_delta` fragment of a tool call, in bytes.
const JSON_DELTA_MAX_BYTES: usize = 32;

/// One scripted answer to a `POST /v1/messages` request.
///
/// Every reply is rendered as a Server-Sent-Events stream when the request has
/// `"stream": true` and as one JSON message otherwise, in the real API's formats.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An assistant message with one text block; `stop_reason` is `end_turn`.
    /// Streamed in deltas of at most 64 bytes, with no delay between them.
    Text(String),
    /// An assistant message with one text block streamed as exactly these deltas,
    /// sleeping the given time before each delta after the first (for streaming and
    /// interrupt tests). A non-streaming request gets the joined text at once.
    TextChunks(Vec<String>, Duration),
    /// An assistant message with one `tool_use` block (id `toolu_fake_N`) and
    /// `stop_reason` `tool_use`. The input is streamed as `input_json_delta` fragments.
    ToolUse {
        /// Tool name as the CLI offers it, e.g. `Bash`.
        name: String,
        /// The tool's input object, e.g. `{"command": "echo hi"}`.
        input: Value,
    },
    /// An HTTP error with the API's error body
    /// `{"type":"error","error":{"type":..,"message":..}}` and, for 429 and 529,
    /// a `retry-after: 0` header.
    Error {
        /// HTTP status, e.g. 401, 429, 500 or 529.
        status: u16,
        /// The API's error type, e.g. `authentication_error`, `rate_limit_error`,
        /// `api_error` or `overloaded_error`.
        error_type: String,
        /// Human-readable message.
        message: String,
    },
    /// A stream that starts a text block, sends these deltas, then an SSE `error`
    /// event and ends without `message_stop` (how the real API reports mid-stream
    /// overloads). A non-streaming request gets the error as an HTTP error instead
    /// (status 529 for `overloaded_error`, else 500).
    StreamError {
        /// Text deltas sent before the error.
        partial_text: Vec<String>,
        /// The API's error type, e.g. `overloaded_error`.
        error_type: String,
        /// Human-readable message.
        message: String,
    },
}

impl Reply {
    /// A text reply.
    pub fn text(text: impl Into<String>) -> Reply {
        Reply::Text(text.into())
    }

    /// A reply that calls one tool.
    pub fn tool_use(name: impl Into<String>, input: Value) -> Reply {
        Reply::ToolUse {
            name: name.into(),
            input,
        }
    }

    /// An HTTP error reply.
    pub fn error(status: u16, error_type: impl Into<String>, message: impl Into<String>) -> Reply {
        Reply::Error {
            status,
            error_type: error_type.into(),
            message: message.into(),
        }
    }

    /// `401 authentication_error`, as the API answers an invalid key.
    pub fn unauthorized() -> Reply {
        Reply::error(401, "authentication_error", "invalid x-api-key")
    }

    /// `429 rate_limit_error`.
    pub fn rate_limited() -> Reply {
        Reply::error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
        )
    }

    /// `500 api_error`.
    pub fn server_error() -> Reply {
        Reply::error(500, "api_error", "Internal server error")
    }

    /// `529 overloaded_error`.
    pub fn overloaded() -> Reply {
        Reply::error(529, "overloaded_error", "Overloaded")
    }
}

/// What the server sends for one request, before it is turned into an HTTP response.
#[derive(Debug)]
pub(crate) enum Rendered {
    /// A complete JSON response.
    Json {
        /// HTTP status.
        status: u16,
        /// Extra headers (besides content type).
        headers: Vec<(&'static str, String)>,
        /// Response body.
        body: Value,
    },
    /// An SSE stream; each frame is sent after sleeping its delay.
    Sse(Vec<(Duration, Bytes)>),
}

/// Per-request values the rendering needs.
#[derive(Debug)]
pub(crate) struct RenderCtx {
    /// `msg_fake_N`.
    pub(crate) message_id: String,
    /// The request's `model`, echoed back.
    pub(crate) model: String,
    /// A rough input token count for `usage`.
    pub(crate) input_tokens: u64,
    /// Whether the request asked for `"stream": true`.
    pub(crate) stream: bool,
    /// Source of `toolu_fake_N` ids.
    pub(crate) next_tool_id: u64,
}

/// One content block of a planned assistant message.
enum Block {
    /// A text block sent as these deltas.
    Text(Vec<String>),
    /// A tool call.
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
}

impl Block {
    fn full(&self) -> Value {
        match self {
            Block::Text(parts) => json!({"type": "text", "text": parts.concat()}),
            Block::ToolUse { id, name, input } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": input})
            }
        }
    }
}

/// Renders `reply` for one request.
pub(crate) fn render(reply: &Reply, ctx: &RenderCtx) -> Rendered {
    let (block, delay, stop_reason, error) = match reply {
        Reply::Error {
            status,
            error_type,
            message,
        } => return error_response(*status, error_type, message),
        Reply::Text(text) => (
            Block::Text(split_at_char_boundaries(text, TEXT_DELTA_MAX_BYTES)),
            Duration::ZERO,
            "end_turn",
            None,
        ),
        Reply::TextChunks(parts, delay) => (Block::Text(parts.clone()), *delay, "end_turn", None),
        Reply::ToolUse { name, input } => (
            Block::ToolUse {
                id: format!("toolu_fake_{}", ctx.next_tool_id),
                name: name.clone(),
                input: input.clone(),
            },
            Duration::ZERO,
            "tool_use",
            None,
        ),
        Reply::StreamError {
            partial_text,
            error_type,
            message,
        } => {
            if !ctx.stream {
                let status = if error_type == "overloaded_error" {
                    529
                } else {
                    500
                };
                return error_response(status, error_type, message);
            }
            (
                Block::Text(partial_text.clone()),
                Duration::ZERO,
                "end_turn",
                Some((error_type.as_str(), message.as_str())),
            )
        }
    };
    let output_tokens = output_tokens(&block);
    if ctx.stream {
        Rendered::Sse(sse_frames(
            ctx,
            &block,
            delay,
            stop_reason,
            output_tokens,
            error,
        ))
    } else {
        Rendered::Json {
            status: 200,
            headers: Vec::new(),
            body: json!({
                "id": ctx.message_id,
                "type": "message",
                "role": "assistant",
                "model": ctx.model,
                "content": [block.full()],
                "stop_reason": stop_reason,
                "stop_sequence": null,
                "usage": usage(ctx.input_tokens, output_tokens),
            }),
        }
    }
}

/// The API's error body, with `retry-after` where the API sends it.
pub(crate) fn error_response(status: u16, error_type: &str, message: &str) -> Rendered {
    let mut headers = Vec::new();
    if status == 429 || status == 529 {
        headers.push(("retry-after", "0".to_owned()));
    }
    Rendered::Json {
        status,
        headers,
        body: error_body(error_type, message),
    }
}

/// `{"type":"error","error":{"type":..,"message":..}}`.
pub(crate) fn error_body(error_type: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": error_type, "message": message}})
}

fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
        "service_tier": "standard",
    })
}

/// A rough token count: about four bytes per token, at least one.
pub(crate) fn estimate_tokens(bytes: usize) -> u64 {
    u64::try_from(bytes / 4).unwrap_or(u64::MAX).max(1)
}

fn output_tokens(block: &Block) -> u64 {
    match block {
        Block::Text(parts) => estimate_tokens(parts.iter().map(String::len).sum()),
        Block::ToolUse { input, .. } => estimate_tokens(input.to_string().len()),
    }
}

/// Builds the SSE frames of a one-block assistant message, in the order the real
/// API sends them: `message_start`, `content_block_start`, `ping`, deltas,
/// `content_block_stop`, `message_delta`, `message_stop` (or an `error` event
/// after the deltas).
fn sse_frames(
    ctx: &RenderCtx,
    block: &Block,
    delay: Duration,
    stop_reason: &str,
    output_tokens: u64,
    error: Option<(&str, &str)>,
) -> Vec<(Duration, Bytes)> {
    let mut frames = Vec::new();
    let mut push = |delay: Duration, data: Value| {
        // Every event's `data` carries its own name in `type`.
        let name = data["type"].as_str().unwrap_or("unknown").to_owned();
        frames.push((
            delay,
            Bytes::from(format!("event: {name}\ndata: {data}\n\n")),
        ));
    };
    push(
        Duration::ZERO,
        json!({
            "type": "message_start",
            "message": {
                "id": ctx.message_id,
                "type": "message",
                "role": "assistant",
                "model": ctx.model,
                "content": [],
                "stop_reason": null,
                "stop_sequence": null,
                "usage": {
                    "input_tokens": ctx.input_tokens,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 0,
                    "output_tokens": 1,
                    "service_tier": "standard",
                },
            },
        }),
    );
    let start_block = match block {
        Block::Text(_) => json!({"type": "text", "text": ""}),
        Block::ToolUse { id, name, .. } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": {}})
        }
    };
    push(
        Duration::ZERO,
        json!({"type": "content_block_start", "index": 0, "content_block": start_block}),
    );
    push(Duration::ZERO, json!({"type": "ping"}));
    let deltas: Vec<Value> = match block {
        Block::Text(parts) => parts
            .iter()
            .map(|text| json!({"type": "text_delta", "text": text}))
            .collect(),
        Block::ToolUse { input, .. } => {
            split_at_char_boundaries(&input.to_string(), JSON_DELTA_MAX_BYTES)
                .into_iter()
                .map(|partial| json!({"type": "input_json_delta", "partial_json": partial}))
                .collect()
        }
    };
    for (i, delta) in deltas.into_iter().enumerate() {
        let wait = if i == 0 { Duration::ZERO } else { delay };
        push(
            wait,
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        );
    }
    if let Some((error_type, message)) = error {
        push(Duration::ZERO, error_body(error_type, message));
        return frames;
    }
    push(
        Duration::ZERO,
        json!({"type": "content_block_stop", "index": 0}),
    );
    push(
        Duration::ZERO,
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": output_tokens},
        }),
    );
    push(Duration::ZERO, json!({"type": "message_stop"}));
    frames
}

/// Splits `text` into pieces of at most `max` bytes (more for a single wide
/// character), never inside a UTF-8 character. An empty text gives no pieces.
fn split_at_char_boundaries(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = max.min(rest.len());
        while !rest.is_char_boundary(end) {
            end += 1;
        }
        let (head, tail) = rest.split_at(end);
        pieces.push(head.to_owned());
        rest = tail;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(stream: bool) -> RenderCtx {
        RenderCtx {
            message_id: "msg_fake_1".into(),
            model: "claude-test".into(),
            input_tokens: 7,
            stream,
            next_tool_id: 3,
        }
    }

    fn events(rendered: Rendered) -> Vec<(String, Value)> {
        let Rendered::Sse(frames) = rendered else {
            panic!("expected SSE")
        };
        frames
            .into_iter()
            .map(|(_, bytes)| {
                let text = String::from_utf8(bytes.to_vec()).unwrap();
                let mut lines = text.lines();
                let name = lines.next().unwrap().strip_prefix("event: ").unwrap();
                let data = lines.next().unwrap().strip_prefix("data: ").unwrap();
                assert!(text.ends_with("\n\n"));
                (name.to_owned(), serde_json::from_str(data).unwrap())
            })
            .collect()
    }

    #[test]
    fn split_keeps_utf8_characters_whole() {
        let pieces = split_at_char_boundaries("aé✳b", 2);
        assert_eq!(pieces.concat(), "aé✳b");
        assert!(pieces.iter().all(|p| !p.is_empty()));
        assert!(split_at_char_boundaries("", 4).is_empty());
    }

    #[test]
    fn streamed_text_follows_the_messages_event_order() {
        let evs = events(render(&Reply::text("Hello there"), &ctx(true)));
        let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "ping",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(evs[0].1["message"]["model"], "claude-test");
        assert_eq!(evs[0].1["message"]["usage"]["input_tokens"], 7);
        assert_eq!(evs[3].1["delta"]["text"], "Hello there");
        assert_eq!(evs[5].1["delta"]["stop_reason"], "end_turn");
    }

    #[test]
    fn streamed_tool_use_sends_input_json_deltas() {
        let input = json!({"command": "echo hi", "description": "say hi to the world"});
        let evs = events(render(&Reply::tool_use("Bash", input.clone()), &ctx(true)));
        assert_eq!(evs[1].1["content_block"]["id"], "toolu_fake_3");
        assert_eq!(evs[1].1["content_block"]["input"], json!({}));
        let json: String = evs
            .iter()
            .filter(|(n, _)| n == "content_block_delta")
            .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), input);
        let last_delta = evs.iter().find(|(n, _)| n == "message_delta").unwrap();
        assert_eq!(last_delta.1["delta"]["stop_reason"], "tool_use");
    }

    #[test]
    fn chunks_are_sent_as_given_with_delays_between() {
        let reply = Reply::TextChunks(vec!["a".into(), "b".into()], Duration::from_millis(5));
        let Rendered::Sse(frames) = render(&reply, &ctx(true)) else {
            panic!("expected SSE")
        };
        let delays: Vec<u128> = frames.iter().map(|(d, _)| d.as_millis()).collect();
        assert_eq!(delays, [0, 0, 0, 0, 5, 0, 0, 0]);
    }

    #[test]
    fn stream_error_ends_with_an_error_event() {
        let reply = Reply::StreamError {
            partial_text: vec!["par".into()],
            error_type: "overloaded_error".into(),
            message: "Overloaded".into(),
        };
        let evs = events(render(&reply, &ctx(true)));
        let (name, data) = evs.last().unwrap();
        assert_eq!(name, "error");
        assert_eq!(data["error"]["type"], "overloaded_error");
        assert!(!evs.iter().any(|(n, _)| n == "message_stop"));
        let Rendered::Json { status, .. } = render(&reply, &ctx(false)) else {
            panic!("expected JSON")
        };
        assert_eq!(status, 529);
    }

    #[test]
    fn non_streaming_reply_is_a_full_message() {
        let Rendered::Json { status, body, .. } = render(&Reply::text("hi"), &ctx(false)) else {
            panic!("expected JSON")
        };
        assert_eq!(status, 200);
        assert_eq!(body["type"], "message");
        assert_eq!(body["role"], "assistant");
        assert_eq!(body["model"], "claude-test");
        assert_eq!(body["content"][0]["text"], "hi");
        assert_eq!(body["stop_reason"], "end_turn");
        assert_eq!(body["usage"]["input_tokens"], 7);
    }

    #[test]
    fn rate_limit_errors_carry_retry_after() {
        let Rendered::Json {
            status,
            headers,
            body,
        } = render(&Reply::rate_limited(), &ctx(true))
        else {
            panic!("expected JSON")
        };
        assert_eq!(status, 429);
        assert_eq!(headers, vec![("retry-after", "0".to_owned())]);
        assert_eq!(body["error"]["type"], "rate_limit_error");
    }
}
