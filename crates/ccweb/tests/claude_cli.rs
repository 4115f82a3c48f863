//! End to end with the real Claude Code CLI (pinned, from npm) in a PTY,
//! talking to the project's fake Messages API.
#![allow(clippy::unwrap_used)]

mod common;

use common::{eventually, submit, ClaudeSetup as Setup, TermClient, TestServer, SESSIONS};
use fake_anthropic::Reply;
use serde_json::{json, Value};
use std::time::Duration;

const T: Duration = Duration::from_secs(30);
/// The TUI's welcome header and the footer of its empty input box.
const WELCOME: &str = "Claude Code v2.1.197";
const READY: &str = "? for shortcuts";

async fn setup() -> Option<Setup> {
    common::claude_setup("").await
}

/// Creates a session and attaches a viewer once the CLI shows its empty
/// input box; returns the session and the viewer.
async fn ready_session(server: &TestServer) -> (Value, TermClient) {
    let s = server.create_session().await;
    let mut c = server.terminal(s["id"].as_str().unwrap(), "").await;
    c.wait_for(T, |s| s.contains(READY)).await;
    (s, c)
}

#[tokio::test]
async fn the_cli_shows_its_welcome_screen_and_the_fake_models_reply_reaches_every_viewer() {
    let Some(Setup {
        server,
        fake,
        _home,
    }) = setup().await
    else {
        return;
    };
    fake.push(Reply::text("Bonjour from the fake model."));
    let id = server.create_session_id().await;
    let mut a = server.terminal(&id, "").await;
    a.wait_for(T, |s| s.contains(WELCOME) && s.contains(READY))
        .await;
    let mut b = server.terminal(&id, "?readonly=1").await;
    b.step().await;
    assert!(
        b.screen().contains(WELCOME),
        "a late viewer sees the welcome screen:\n{}",
        b.screen()
    );
    submit(&mut a, "Please greet me").await;
    a.wait_for(T, |s| s.contains("Bonjour from the fake model."))
        .await;
    b.wait_for(T, |s| s.contains("Bonjour from the fake model."))
        .await;
    let asked = fake
        .requests()
        .iter()
        .any(|r| r.to_string().contains("Please greet me"));
    assert!(asked, "the prompt reached the API");
    let s = server.session(&id).await;
    assert_eq!(s["viewers"], 2);
}

#[tokio::test]
async fn resize_reaches_the_cli_and_a_reconnect_redraws_its_screen() {
    let Some(Setup {
        server,
        fake: _fake,
        _home,
    }) = setup().await
    else {
        return;
    };
    let (s, mut a) = ready_session(&server).await;
    let id = s["id"].as_str().unwrap();
    submit(&mut a, "Say something").await;
    a.wait_for(T, |s| s.contains(fake_anthropic::DEFAULT_REPLY_TEXT))
        .await;
    // The input box's rule spans the terminal; after a resize the CLI redraws it at the new width.
    let widest_rule = |screen: &str| {
        screen
            .lines()
            .map(|l| l.trim_end().chars().filter(|&c| c == '─').count())
            .max()
            .unwrap_or(0)
    };
    assert!(
        widest_rule(&a.screen()) > 100,
        "rule at 120 columns:\n{}",
        a.screen()
    );
    a.send_text(json!({"type": "resize", "cols": 90, "rows": 30}))
        .await;
    a.wait_control("resize").await;
    a.wait_for(T, |s| {
        let w = widest_rule(s);
        (80..=90).contains(&w)
    })
    .await;
    // The reconnect shows exactly the same screen, once the redraw is over
    // (the CLI may still be drawing: compared until they match).
    let again = a.new_viewer_showing_the_same(&server, id, T).await;
    let (rows, cols) = again.parser.screen().size();
    assert_eq!((rows.get(), cols.get()), (30, 90));
    assert!(again.screen().contains(fake_anthropic::DEFAULT_REPLY_TEXT));
}

#[tokio::test]
async fn stop_leaves_no_process_and_resume_continues_the_conversation() {
    let Some(Setup {
        server,
        fake,
        _home,
    }) = setup().await
    else {
        return;
    };
    let (s, mut a) = ready_session(&server).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let claude_id = s["claude_session_id"].as_str().unwrap().to_owned();
    submit(&mut a, "Remember the word pineapple").await;
    a.wait_for(T, |s| s.contains(fake_anthropic::DEFAULT_REPLY_TEXT))
        .await;
    // The CLI writes its conversation file a little after the screen shows
    // the reply; a stop before that loses the turn on disk (the CLI's doing).
    eventually(T, "the CLI saved the conversation", || {
        common::claude_saved(_home.path(), &claude_id, "Remember the word pineapple")
    })
    .await;
    let children = server.children();
    assert!(!children.is_empty());
    let stopped = server.stop_session(&id).await;
    assert_eq!(stopped["state"], "stopped");
    assert_eq!(stopped["exit_code"], 143, "the CLI exits 143 on SIGTERM");
    a.read_to_end().await;
    assert_eq!(a.exit, Some(143));
    eventually(T, "no CLI process left", || server.children().is_empty()).await;
    for pid in children {
        assert!(!common::alive(pid));
    }
    // Resume: the same Claude conversation, shown again by the CLI.
    let resp = server
        .req(reqwest::Method::POST, &format!("{SESSIONS}/{id}/resume"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resumed: Value = resp.json().await.unwrap();
    assert_eq!(resumed["claude_session_id"], claude_id.as_str());
    let mut b = server.terminal(&id, "").await;
    // The CLI redraws the resumed conversation in its own way (sometimes
    // folded); what matters is below: the API gets the earlier messages.
    b.wait_for(T, |s| s.contains(READY)).await;
    fake.push(Reply::text("Yes, pineapple."));
    submit(&mut b, "What was the word").await;
    b.wait_for(T, |s| s.contains("Yes, pineapple.")).await;
    let last = fake.requests().last().unwrap().to_string();
    assert!(
        last.contains("Remember the word pineapple"),
        "the API got the earlier conversation"
    );

    // A new session can continue the same conversation; another user cannot.
    let project = server.root.join("project");
    let body = json!({"mode": "terminal", "working_dir": project, "resume": claude_id});
    let bob = server.add_user("bob", "bob-password-1");
    let (status, refused) = server.create_session_as(&bob, body.clone()).await;
    assert_eq!(status, 404, "{refused}");
    let unknown =
        json!({"mode": "terminal", "working_dir": project, "resume": uuid::Uuid::new_v4()});
    let (status, same) = server.create_session_as(&bob, unknown).await;
    assert_eq!(status, 404);
    assert_eq!(
        same["error"]["code"], refused["error"]["code"],
        "no existence oracle"
    );
    server.stop_session(&id).await;
    let (status, s) = server.create_session_as(&server.admin_token, body).await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["claude_session_id"], claude_id.as_str());
    let mut c = server.terminal(s["id"].as_str().unwrap(), "").await;
    c.wait_for(T, |s| s.contains(READY)).await;
    fake.push(Reply::text("Pineapple again."));
    submit(&mut c, "Say the word once more").await;
    c.wait_for(T, |s| s.contains("Pineapple again.")).await;
    let last = fake.requests().last().unwrap().to_string();
    assert!(
        last.contains("Remember the word pineapple"),
        "the new session continued the conversation"
    );
}

#[tokio::test]
async fn sigterm_with_a_live_cli_shuts_down_cleanly() {
    let Some(Setup {
        mut server,
        fake: _fake,
        _home,
    }) = setup().await
    else {
        return;
    };
    let (_, mut a) = ready_session(&server).await;
    let children = server.children();
    assert_eq!(server.terminate(Duration::from_secs(20)), Some(0));
    a.read_to_end().await;
    assert_eq!(a.closed.as_ref().map(|c| c.0), Some(1001));
    for pid in children {
        assert!(!common::alive(pid), "CLI process {pid} outlived the server");
    }
}

#[tokio::test]
async fn a_terminal_conversation_is_recorded_as_events_listed_in_history_and_continued_as_a_chat() {
    let Some(Setup {
        server,
        fake,
        _home,
    }) = setup().await
    else {
        return;
    };
    fake.push(Reply::text("Terminal answer about pineapples."));
    let (s, mut c) = ready_session(&server).await;
    let id = s["id"].as_str().unwrap().to_owned();
    let claude_id = s["claude_session_id"].as_str().unwrap().to_owned();
    submit(&mut c, "Tell me about pineapples").await;
    c.wait_for(T, |s| s.contains("Terminal answer about pineapples."))
        .await;
    // The CLI's conversation file became this session's transcript.
    let deadline = std::time::Instant::now() + T;
    let events = loop {
        let page = server
            .get_json(&format!("{SESSIONS}/{id}/events?limit=1000"))
            .await;
        let events = page["events"].as_array().unwrap().clone();
        let text = serde_json::to_string(&events).unwrap();
        if text.contains("Terminal answer about pineapples.") {
            break events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no transcript events: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(events.iter().any(|e| e["event"]["kind"] == "user_message"
        && e["event"]["text"] == "Tell me about pineapples"));
    // The list names it by its first prompt; the reply ended the turn.
    let listed = server.session(&id).await;
    assert_eq!(
        (
            listed["title"].as_str(),
            listed["first_prompt"].as_str(),
            listed["activity"].as_str(),
            listed["preview"]["role"].as_str(),
            listed["preview"]["text"].as_str()
        ),
        (
            Some("Tell me about pineapples"),
            Some("Tell me about pineapples"),
            Some("waiting"),
            Some("assistant"),
            Some("Terminal answer about pineapples.")
        ),
        "{listed}\n{}",
        server
            .get_json(&format!("{SESSIONS}/{id}/events?limit=1000"))
            .await
    );
    let found = server
        .get_json(&format!("{SESSIONS}?q=ANSWER%20about"))
        .await;
    assert_eq!(found["sessions"][0]["id"], id.as_str(), "{found}");
    let ended = server.stop_session(&id).await;
    assert_eq!(ended["activity"], "ended");

    // The conversation is listed for its directory, for its owner only.
    let project = server.root.join("project");
    let q = format!("/api/claude/history?working_dir={}", project.display());
    let history = server.get_json(&q).await;
    let listed = history["conversations"].as_array().unwrap();
    let entry = listed
        .iter()
        .find(|c| c["session_id"] == claude_id.as_str())
        .expect("listed");
    assert!(
        entry["title"].as_str().unwrap().contains("pineapples"),
        "{entry}"
    );
    let bob = server.add_user("bob", "bob-password-1");
    let theirs: Value = server
        .req_as(&bob, reqwest::Method::GET, &q)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(theirs["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["session_id"] != claude_id.as_str()));
    let bad: Value = server
        .req(reqwest::Method::GET, "/api/claude/history?working_dir=/etc")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["error"]["code"], "path_not_allowed");

    // A chat session continues it: the earlier messages are imported first.
    let body = json!({"mode": "chat", "working_dir": project, "resume": claude_id});
    let (status, chat_s) = server.create_session_as(&server.admin_token, body).await;
    assert_eq!(status, 201, "{chat_s}");
    let chat_id = chat_s["id"].as_str().unwrap();
    let mut chat = common::chat::Chat::connect(&server, chat_id, "").await;
    let first = chat.wait_event(|e| e["kind"] == "user_message").await;
    assert_eq!(first["text"], "Tell me about pineapples");
    chat.wait_event(|e| e["kind"] == "system" && e["subtype"] == "imported")
        .await;
    fake.push(Reply::text("Continued in chat."));
    chat.turn("And what about mangoes").await;
    assert!(chat.reply_text().contains("Continued in chat."));
    let last = fake.requests().last().unwrap().to_string();
    assert!(
        last.contains("Tell me about pineapples"),
        "the CLI resumed the terminal conversation"
    );
}

#[tokio::test]
async fn a_resumed_terminal_session_keeps_the_model_and_permission_mode_it_switched_to() {
    let Some(Setup {
        server,
        fake,
        _home,
    }) = setup().await
    else {
        return;
    };
    // Started on opus; switched to sonnet and to accept-edits in the TUI.
    let project = server.root.join("project");
    let body = json!({"mode": "terminal", "working_dir": project, "model": "opus"});
    let (status, s) = common::call(server.req(reqwest::Method::POST, SESSIONS).json(&body)).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let claude_id = s["claude_session_id"].as_str().unwrap().to_owned();
    let mut c = server.terminal(&id, "").await;
    c.wait_for(T, |s| s.contains(READY)).await;
    submit(&mut c, "/model sonnet").await;
    c.wait_for(T, |s| s.contains("Set model to")).await;
    // Shift+Tab: the TUI's next permission mode (default → accept edits).
    c.send_bytes(b"\x1b[Z").await;
    c.wait_for(T, |s| s.contains("accept edits on")).await;
    fake.push(Reply::text("Noted the pineapple."));
    submit(&mut c, "Remember the word pineapple").await;
    c.wait_for(T, |s| s.contains("Noted the pineapple.")).await;
    assert_eq!(fake.requests().last().unwrap()["model"], "claude-sonnet-5");
    eventually(T, "the CLI saved the conversation", || {
        common::claude_saved(_home.path(), &claude_id, "Noted the pineapple.")
    })
    .await;
    server.stop_session(&id).await;
    c.read_to_end().await;

    let (status, resumed) =
        common::call(server.req(reqwest::Method::POST, &format!("{SESSIONS}/{id}/resume"))).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(
        (
            resumed["model"].as_str(),
            resumed["permission_mode"].as_str()
        ),
        (Some("sonnet"), Some("acceptEdits")),
        "{resumed}"
    );
    let mut b = server.terminal(&id, "").await;
    // The resumed TUI shows the mode in its footer.
    b.wait_for(T, |s| s.contains("accept edits on")).await;
    fake.push(Reply::text("Yes, pineapple."));
    submit(&mut b, "What was the word").await;
    b.wait_for(T, |s| s.contains("Yes, pineapple.")).await;
    let last = fake.requests().last().unwrap().clone();
    assert_eq!(
        last["model"], "claude-sonnet-5",
        "the resumed CLI asks for the model it was switched to"
    );
    assert!(last.to_string().contains("Remember the word pineapple"));
}
