//! The fake's HTTP surface, exercised with a plain HTTP client (no CLI needed).

use std::time::Duration;

use fake_anthropic::{FakeAnthropic, Reply, RequestKind, DEFAULT_REPLY_TEXT};
use serde_json::{json, Value};

fn turn(text: &str, stream: bool) -> Value {
    json!({
        "model": "claude-test-model",
        "max_tokens": 1024,
        "stream": stream,
        "messages": [{"role": "user", "content": text}],
    })
}

/// Splits an SSE body into `(event, data)` pairs, checking the framing.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|frame| !frame.is_empty())
        .map(|frame| {
            let mut lines = frame.lines();
            let event = lines
                .next()
                .and_then(|l| l.strip_prefix("event: "))
                .expect("event line");
            let data = lines
                .next()
                .and_then(|l| l.strip_prefix("data: "))
                .expect("data line");
            assert!(
                lines.next().is_none(),
                "one event and one data line per frame"
            );
            let data: Value = serde_json::from_str(data).expect("data is JSON");
            assert_eq!(data["type"], event, "data.type names the event");
            (event.to_owned(), data)
        })
        .collect()
}

#[tokio::test]
async fn non_streaming_request_gets_a_full_message_echoing_the_model() {
    let fake = FakeAnthropic::start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url()))
        .json(&turn("hello", false))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["id"], "msg_fake_1");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-test-model");
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": DEFAULT_REPLY_TEXT}])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert!(body["usage"]["input_tokens"].as_u64().unwrap() > 0);
    assert_eq!(fake.requests(), vec![turn("hello", false)]);
}

#[tokio::test]
async fn streaming_request_gets_sse_in_the_messages_format() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::tool_use("Bash", json!({"command": "ls"})));
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages?beta=true", fake.base_url()))
        .json(&turn("list files", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let events = sse_events(&response.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    assert_eq!(events[1].1["content_block"]["name"], "Bash");
    assert_eq!(events[1].1["content_block"]["id"], "toolu_fake_1");
    let message_delta = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(message_delta.1["delta"]["stop_reason"], "tool_use");
    assert_eq!(fake.log()[0].path, "/v1/messages?beta=true");
}

#[tokio::test]
async fn error_reply_has_the_api_error_body_and_retry_after() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::overloaded());
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url()))
        .json(&turn("hello", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 529);
    assert_eq!(response.headers()["retry-after"], "0");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    );
}

#[tokio::test]
async fn side_endpoints_and_unknown_paths_are_answered() {
    let fake = FakeAnthropic::start().await;
    let client = reqwest::Client::new();
    let count: Value = client
        .post(format!("{}/v1/messages/count_tokens", fake.base_url()))
        .json(&turn("count me", false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(count["input_tokens"].as_u64().unwrap() > 0);
    let probe = client.head(fake.base_url()).send().await.unwrap();
    assert_eq!(probe.status(), 200);
    let unknown = client
        .get(format!("{}/v1/models", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");

    let kinds: Vec<RequestKind> = fake.log().iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            RequestKind::CountTokens,
            RequestKind::Probe,
            RequestKind::Unknown
        ]
    );
    assert!(fake.requests().is_empty(), "none of these is a turn");
}

#[tokio::test]
async fn title_side_request_does_not_consume_the_queue() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::text("scripted"));
    let title = json!({
        "model": "claude-test-model",
        "max_tokens": 64000,
        "stream": true,
        "tools": [],
        "system": [{"type": "text", "text": "Generate a concise, sentence-case title (3-7 words)"}],
        "output_config": {"format": {"type": "json_schema", "schema": {"properties": {"title": {"type": "string"}}}}},
        "messages": [{"role": "user", "content": "<session>\nsay hi please\n</session>"}],
    });
    let body = reqwest::Client::new()
        .post(format!("{}/v1/messages?beta=true", fake.base_url()))
        .json(&title)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let text: String = sse_events(&body)
        .iter()
        .filter(|(n, _)| n == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    let title: Value = serde_json::from_str(&text).expect("the title reply is JSON");
    assert!(title["title"].is_string());
    assert_eq!(fake.queued(), 1);
    assert!(fake.requests().is_empty());
    assert_eq!(fake.log()[0].kind, RequestKind::SideQuery);
}

#[tokio::test]
async fn wait_for_requests_times_out_and_succeeds() {
    let fake = FakeAnthropic::start().await;
    assert!(!fake.wait_for_requests(1, Duration::from_millis(50)).await);
    let url = format!("{}/v1/messages", fake.base_url());
    let send = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .json(&turn("hi", false))
            .send()
            .await
            .map(|r| r.status())
    });
    assert!(fake.wait_for_requests(1, Duration::from_secs(10)).await);
    assert_eq!(send.await.unwrap().unwrap(), 200);
}

#[tokio::test]
async fn shutdown_ends_a_stream_in_flight_and_frees_the_port() {
    let fake = FakeAnthropic::start().await;
    fake.push(Reply::TextChunks(
        vec!["first".into(), "never".into()],
        Duration::from_secs(3600),
    ));
    let addr = fake.addr();
    let mut response = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url()))
        .json(&turn("slow", true))
        .send()
        .await
        .unwrap();
    // Read until the first delta has arrived.
    let mut seen = String::new();
    while !seen.contains("first") {
        let chunk = response.chunk().await.unwrap().expect("stream open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    tokio::time::timeout(Duration::from_secs(10), fake.shutdown())
        .await
        .expect("shutdown did not finish");
    // The stream ends (cleanly or with an error) instead of hanging for an hour.
    let rest = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = response.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "stream still open after shutdown");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
