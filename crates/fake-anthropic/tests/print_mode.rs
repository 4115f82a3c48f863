//! The real CLI in print mode (`-p`) against the fake: text, streaming, tool use, errors.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{parse_result, CliSetup, CLI_TIMEOUT};
use fake_anthropic::{last_user_text, Reply, DEFAULT_REPLY_TEXT};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test]
async fn print_json_returns_the_fake_reply_as_result() {
    let Some(s) = CliSetup::new().await else {
        return;
    };
    let out = s.run(&["-p", "--output-format", "json", "say hi"]).await;
    let result = parse_result(&out);
    assert!(out.status.success(), "{result}");
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], DEFAULT_REPLY_TEXT);

    let requests = s.fake.requests();
    assert_eq!(requests.len(), 1, "one API call for one prompt");
    assert!(last_user_text(&requests[0]).contains("say hi"));
    assert_eq!(requests[0]["stream"], true);
    // The CLI probes the base URL, then posts to /v1/messages?beta=true; nothing else.
    let paths: Vec<String> = s.fake.log().into_iter().map(|r| r.path).collect();
    assert!(
        paths
            .iter()
            .all(|p| p == "/" || p == "/v1/messages?beta=true"),
        "unexpected endpoints: {paths:?}"
    );
}

#[tokio::test]
async fn stream_json_mode_streams_text_deltas_and_a_result() {
    let Some(s) = CliSetup::new().await else {
        return;
    };
    let chunks = ["Streaming ", "from ", "the ", "fake."];
    s.fake.push(Reply::TextChunks(
        chunks.iter().map(|c| (*c).to_owned()).collect(),
        Duration::from_millis(20),
    ));
    let mut child = s
        .command(&[
            "-p",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn claude");
    let mut stdin = child.stdin.take().expect("stdin");
    let user = json!({"type": "user", "message": {"role": "user", "content": "stream please"}});
    stdin
        .write_all(format!("{user}\n").as_bytes())
        .await
        .expect("write prompt");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();

    let mut deltas = String::new();
    let result = tokio::time::timeout(CLI_TIMEOUT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            let msg: Value = serde_json::from_str(&line).expect("stdout line is JSON");
            match msg["type"].as_str() {
                Some("stream_event") => {
                    let event = &msg["event"];
                    if event["type"] == "content_block_delta"
                        && event["delta"]["type"] == "text_delta"
                    {
                        deltas.push_str(event["delta"]["text"].as_str().unwrap_or_default());
                    }
                }
                Some("result") => return msg,
                _ => {}
            }
        }
        panic!("stdout ended without a result");
    })
    .await
    .expect("no result in time");
    drop(stdin);
    let status = tokio::time::timeout(CLI_TIMEOUT, child.wait())
        .await
        .expect("claude did not exit after stdin EOF")
        .expect("wait");

    assert_eq!(deltas, chunks.concat());
    assert_eq!(result["is_error"], false);
    assert_eq!(result["result"], chunks.concat());
    assert!(status.success());
}

#[tokio::test]
async fn tool_use_reply_runs_the_tool_and_sends_its_result_back() {
    let Some(s) = CliSetup::new().await else {
        return;
    };
    s.fake.push(Reply::tool_use(
        "Bash",
        json!({"command": "echo hi-from-bash", "description": "Print a greeting"}),
    ));
    s.fake.push(Reply::text("The command printed a greeting."));
    let out = s
        .run(&["-p", "--output-format", "json", "run echo for me"])
        .await;
    let result = parse_result(&out);
    assert!(out.status.success(), "{result}");
    assert_eq!(result["result"], "The command printed a greeting.");
    assert_eq!(result["num_turns"], 2);
    assert_eq!(result["permission_denials"], json!([]));

    let requests = s.fake.requests();
    assert_eq!(requests.len(), 2);
    let messages = requests[1]["messages"].as_array().expect("messages");
    let tool_use = messages
        .iter()
        .filter(|m| m["role"] == "assistant")
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .find(|b| b["type"] == "tool_use")
        .expect("the second request repeats the tool_use");
    assert_eq!(tool_use["id"], "toolu_fake_1");
    let tool_result = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .find(|b| b["type"] == "tool_result")
        .expect("the second request carries the tool_result");
    assert_eq!(tool_result["tool_use_id"], "toolu_fake_1");
    assert_eq!(tool_result["is_error"], false);
    assert!(
        tool_result["content"].to_string().contains("hi-from-bash"),
        "{tool_result}"
    );
}

#[tokio::test]
async fn error_replies_end_the_turn_with_is_error() {
    let Some(s) = CliSetup::new().await else {
        return;
    };
    let cases = [
        (Reply::server_error(), 500, "API Error: 500"),
        (Reply::overloaded(), 529, "529"),
        (Reply::rate_limited(), 429, "429"),
        (Reply::unauthorized(), 401, "Invalid API key"),
    ];
    for (reply, status, text) in cases {
        s.fake.push(reply);
        let before = s.fake.requests().len();
        let out = s
            .run(&["-p", "--output-format", "json", "fail please"])
            .await;
        let result = parse_result(&out);
        assert_eq!(result["is_error"], true, "{status}: {result}");
        assert_eq!(result["api_error_status"], status, "{result}");
        assert!(
            result["result"].as_str().unwrap_or_default().contains(text),
            "{status}: {result}"
        );
        assert_eq!(out.status.code(), Some(1));
        // CLAUDE_CODE_MAX_RETRIES=0: exactly one attempt.
        assert_eq!(s.fake.requests().len(), before + 1, "{status} was retried");
    }
}

#[tokio::test]
async fn rules_answer_by_prompt_text_without_consuming_the_queue() {
    let Some(s) = CliSetup::new().await else {
        return;
    };
    s.fake.add_rule("magic word", Reply::text("rule reply"));
    s.fake.push(Reply::text("queued reply"));
    let out = s
        .run(&["-p", "--output-format", "json", "the magic word"])
        .await;
    assert_eq!(parse_result(&out)["result"], "rule reply");
    assert_eq!(s.fake.queued(), 1);
    let out = s.run(&["-p", "--output-format", "json", "plain"]).await;
    assert_eq!(parse_result(&out)["result"], "queued reply");
    let out = s
        .run(&["-p", "--output-format", "json", "plain again"])
        .await;
    assert_eq!(parse_result(&out)["result"], DEFAULT_REPLY_TEXT);
}
