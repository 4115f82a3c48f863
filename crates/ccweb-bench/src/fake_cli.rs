//! A stand-in for the Claude Code CLI in stream-json mode, for the chat
//! workload: it answers `initialize`, and for every user message prints a
//! turn of `stream_event` text deltas as fast as it can (`burst N`) or at a
//! steady rate (`steady N PER_SECOND`). Each delta's text is
//! `"<index> <unix time in ns>"`, so a viewer can tell how long it took.

use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The first argument that makes `ccweb-bench` this fake CLI.
pub(crate) const COMMAND: &str = "fake-cli";

/// Nanoseconds since the Unix epoch (same clock in every process here).
pub(crate) fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Runs the fake CLI on stdin/stdout until stdin closes.
pub(crate) fn run() -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    let mut turn = 0u64;
    for line in stdin.lock().lines() {
        let line = line?;
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        match msg["type"].as_str() {
            Some("control_request") => {
                let id = msg["request_id"].clone();
                let body = if msg["request"]["subtype"] == "initialize" {
                    json!({"commands": [], "models": [], "output_style": "default"})
                } else {
                    json!({})
                };
                let answer = json!({"type": "control_response", "response": {"subtype": "success", "request_id": id, "response": body}});
                writeln!(out, "{answer}")?;
                out.flush()?;
            }
            Some("user") => {
                turn += 1;
                let text = match &msg["message"]["content"] {
                    Value::String(s) => s.clone(),
                    Value::Array(blocks) => blocks
                        .iter()
                        .filter_map(|b| b["text"].as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    _ => String::new(),
                };
                reply(&mut out, turn, &text)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Prints one turn for the command in `text`.
fn reply(out: &mut impl Write, turn: u64, text: &str) -> anyhow::Result<()> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let count: u64 = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(1);
    let per_second: f64 = match words.first() {
        Some(&"steady") => words.get(2).and_then(|w| w.parse().ok()).unwrap_or(100.0),
        _ => 0.0,
    };
    let session = "00000000-0000-4000-8000-000000000000";
    let init = json!({"type": "system", "subtype": "init", "cwd": ".", "session_id": session, "tools": [], "mcp_servers": [], "model": "bench", "permissionMode": "default", "slash_commands": [], "uuid": format!("init-{turn}")});
    writeln!(out, "{init}")?;
    let start = json!({"type": "stream_event", "event": {"type": "message_start", "message": {"id": format!("msg_{turn}")}}, "session_id": session, "parent_tool_use_id": null, "uuid": format!("start-{turn}")});
    writeln!(out, "{start}")?;
    out.flush()?;
    let begun = Instant::now();
    for i in 0..count {
        if per_second > 0.0 {
            let due = begun + Duration::from_secs_f64(i as f64 / per_second);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        // Written line by line, as the CLI does.
        writeln!(
            out,
            "{{\"type\":\"stream_event\",\"event\":{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{i} {}\"}}}},\"session_id\":\"{session}\",\"parent_tool_use_id\":null,\"uuid\":\"d-{turn}-{i}\"}}",
            unix_nanos()
        )?;
        out.flush()?;
    }
    let result = json!({"type": "result", "subtype": "success", "is_error": false, "duration_ms": begun.elapsed().as_millis() as u64, "duration_api_ms": 0, "num_turns": 1, "result": "done", "stop_reason": "end_turn", "session_id": session, "total_cost_usd": 0.0, "usage": {"input_tokens": 1, "output_tokens": count}, "uuid": format!("result-{turn}")});
    writeln!(out, "{result}")?;
    out.flush()?;
    Ok(())
}
