//! A chat-socket client for tests: folds the socket into the transcript it
//! has seen (checking that seqs arrive in order without gaps), plus helpers
//! to create chat sessions and drive common turns.

use super::{TestServer, Ws};
use fake_anthropic::Reply;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// Longest wait for anything on a chat socket.
pub const T: Duration = Duration::from_secs(30);

/// A chat socket folded into the transcript it has seen.
pub struct Chat {
    pub ws: Ws,
    pub connected: Value,
    /// `event` messages: (seq, event).
    pub events: Vec<(i64, Value)>,
    /// `error` replies.
    pub errors: Vec<Value>,
    pub closed: bool,
}

impl Chat {
    /// Connects (`query` e.g. `?after_seq=5`) and reads the `connected` message.
    pub async fn connect(server: &TestServer, id: &str, query: &str) -> Chat {
        Chat::connect_as(server, &server.admin_token, id, query).await
    }

    /// Like [`Chat::connect`], with the API token `token`.
    pub async fn connect_as(server: &TestServer, token: &str, id: &str, query: &str) -> Chat {
        let mut ws = server
            .ws_with(
                &format!("/api/claude/sessions/{id}/chat{query}"),
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await
            .unwrap();
        let first = tokio::time::timeout(T, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let connected: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
        assert_eq!(connected["type"], "connected", "{connected}");
        Chat {
            ws,
            connected,
            events: Vec::new(),
            errors: Vec::new(),
            closed: false,
        }
    }

    pub async fn send(&mut self, msg: Value) {
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
    }

    /// Reads one message; false once closed.
    pub async fn step(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        let msg = match tokio::time::timeout(left, self.ws.next()).await {
            Ok(Some(Ok(m))) => m,
            Ok(_) => {
                self.closed = true;
                return false;
            }
            Err(_) => panic!("timed out; events so far:\n{}", self.dump()),
        };
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str().unwrap() {
                    "event" => {
                        let seq = v["seq"].as_i64().unwrap();
                        if let Some((last, _)) = self.events.last() {
                            assert_eq!(seq, last + 1, "events arrive in order without gaps");
                        }
                        self.events.push((seq, v["event"].clone()));
                    }
                    "error" => self.errors.push(v),
                    "pong" => {}
                    other => panic!("unexpected message {other}: {v}"),
                }
            }
            Message::Close(_) => {
                self.closed = true;
                return false;
            }
            _ => {}
        }
        true
    }

    /// Reads until an event matching `pred` arrives; returns it.
    pub async fn wait_event(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_event_from(0, pred).await
    }

    /// Like `wait_event`, looking only at events from index `from` on.
    pub async fn wait_event_from(&mut self, from: usize, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_event_within(from, T, pred).await
    }

    /// Like `wait_event_from`, giving up (panicking) after `timeout`.
    pub async fn wait_event_within(
        &mut self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some((_, e)) = self.events.iter().skip(from).find(|(_, e)| pred(e)) {
                return e.clone();
            }
            assert!(
                self.step(deadline).await,
                "socket closed; events:\n{}",
                self.dump()
            );
        }
    }

    /// Reads until the `n`th event matching `pred` has arrived.
    pub async fn wait_count(&mut self, n: usize, pred: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + T;
        while self.events.iter().filter(|(_, e)| pred(e)).count() < n {
            assert!(
                self.step(deadline).await,
                "socket closed; events:\n{}",
                self.dump()
            );
        }
    }

    /// Reads until a new `error` reply arrives; returns it.
    pub async fn wait_error(&mut self) -> Value {
        let deadline = Instant::now() + T;
        let before = self.errors.len();
        while self.errors.len() == before {
            assert!(self.step(deadline).await, "socket closed");
        }
        self.errors.last().unwrap().clone()
    }

    /// Reads until the socket closes.
    pub async fn read_to_close(&mut self) {
        let deadline = Instant::now() + T;
        while self.step(deadline).await {}
    }

    /// Waits until the session is idle (from index `from` on).
    pub async fn wait_idle_from(&mut self, from: usize) {
        self.wait_event_from(from, |e| e["kind"] == "state" && e["state"] == "idle")
            .await;
    }

    /// Sends a prompt; returns the index of the first event it may cause.
    pub async fn prompt(&mut self, text: &str) -> usize {
        let mark = self.events.len();
        self.send(json!({"type": "user_message", "text": text}))
            .await;
        mark
    }

    /// Sends a prompt and waits for its turn's `result`; returns it.
    pub async fn turn(&mut self, text: &str) -> Value {
        let mark = self.prompt(text).await;
        self.wait_event_from(mark, kind("result")).await
    }

    /// The events from index `from` on.
    pub fn since(&self, from: usize) -> impl Iterator<Item = &Value> {
        self.events.iter().skip(from).map(|(_, e)| e)
    }

    pub fn kinds(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|(_, e)| e["kind"].as_str().unwrap().to_owned())
            .collect()
    }

    pub fn dump(&self) -> String {
        self.events
            .iter()
            .map(|(s, e)| format!("{s}: {e}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The text of all assistant_message text blocks.
    pub fn reply_text(&self) -> String {
        self.reply_text_from(0)
    }

    /// The text of the assistant_message text blocks from index `from` on.
    pub fn reply_text_from(&self, from: usize) -> String {
        self.since(from)
            .filter(|e| e["kind"] == "assistant_message")
            .flat_map(|e| e["content"].as_array().cloned().unwrap_or_default())
            .filter(|b| b["type"] == "text")
            .map(|b| b["text"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// The joined text deltas from index `from` on.
    pub fn delta_text_from(&self, from: usize) -> String {
        self.since(from)
            .filter(|e| e["kind"] == "assistant_delta" && e["delta_type"] == "text")
            .map(|e| e["text"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Matches events of this `kind`.
pub fn kind(k: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["kind"] == k
}

/// Creates a chat session in `root/project` as the admin (`extra` merged
/// into the body); returns its id.
pub async fn chat_session(server: &TestServer, extra: Value) -> String {
    let mut body = json!({"mode": "chat", "working_dir": server.root.join("project")});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let (status, s) = server.create_session_as(&server.admin_token, body).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["mode"], "chat");
    s["id"].as_str().unwrap().to_owned()
}

/// Waits for the CLI to be ready, sends a prompt that the fake answers with
/// a Write tool call (then "Done with the file."), and returns the
/// permission request.
pub async fn ask_to_write(
    chat: &mut Chat,
    fake: &fake_anthropic::FakeAnthropic,
    file: &str,
    text: &str,
) -> Value {
    fake.push(Reply::tool_use(
        "Write",
        json!({"file_path": file, "content": text}),
    ));
    fake.push(Reply::text("Done with the file."));
    chat.wait_event(|e| e["kind"] == "state" && e["state"] == "idle")
        .await;
    let mark = chat.events.len();
    chat.send(json!({"type": "user_message", "text": format!("Please write {file}")}))
        .await;
    chat.wait_event_from(mark, kind("permission_request")).await
}
