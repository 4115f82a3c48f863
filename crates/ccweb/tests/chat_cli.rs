//! Chat sessions end to end: the real Claude Code CLI in stream-json mode
//! against the fake Messages API, driven over the chat WebSocket.
#![allow(clippy::unwrap_used)]

mod common;

use common::chat::{ask_to_write, chat_session, kind, Chat};
use common::{claude_setup, ClaudeSetup};
use fake_anthropic::Reply;
use futures_util::SinkExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_prompt_gets_a_streamed_reply_stored_and_counted() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    fake.push(Reply::TextChunks(
        vec![
            "Hello ".into(),
            "from the ".into(),
            "streaming fake.".into(),
        ],
        Duration::from_millis(50),
    ));
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    chat.wait_event(|e| e["kind"] == "state" && e["state"] == "idle")
        .await;
    chat.send(json!({"type": "user_message", "text": "Say hello"}))
        .await;
    let result = chat.wait_event(kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let deltas: String = chat
        .events
        .iter()
        .filter(|(_, e)| e["kind"] == "assistant_delta" && e["delta_type"] == "text")
        .map(|(_, e)| e["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deltas, "Hello from the streaming fake.");
    assert_eq!(chat.reply_text(), "Hello from the streaming fake.");
    let user = chat.wait_event(kind("user_message")).await;
    assert_eq!(
        (user["text"].as_str(), user["by"].as_str()),
        (Some("Say hello"), Some("admin"))
    );
    let init = chat
        .wait_event(|e| e["kind"] == "system" && e["subtype"] == "init")
        .await;
    assert!(init["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "Bash"));
    chat.wait_event(|e| {
        e["kind"] == "state" && e["state"] == "idle" && e["needs_attention"] == false
    })
    .await;
    // Stored before sent: the events endpoint has exactly what the socket saw.
    let page = server
        .get_json(&format!(
            "/api/claude/sessions/{id}/events?after=0&limit=1000"
        ))
        .await;
    let stored: Vec<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    let seen: Vec<i64> = chat.events.iter().map(|(s, _)| *s).collect();
    assert_eq!(&stored[..seen.len()], &seen[..]);
    // Usage is summed on the session.
    let s = server.session(&id).await;
    assert!(s["usage"]["output_tokens"].as_i64().unwrap() > 0, "{s}");
    assert!(s["usage"]["cost_usd"].as_f64().unwrap() > 0.0, "{s}");
    let sid = init["claude_session_id"].as_str().unwrap();
    assert_eq!(s["claude_session_id"], sid);
}

#[tokio::test]
async fn an_allowed_tool_call_runs_and_a_denied_one_does_not() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    let project = server.root.join("project");
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    let allowed = project.join("allowed.txt");
    let req = ask_to_write(&mut chat, &fake, allowed.to_str().unwrap(), "yes").await;
    assert_eq!(
        (req["tool_name"].as_str(), req["prompt_kind"].as_str()),
        (Some("Write"), Some("tool"))
    );
    chat.wait_event(|e| {
        e["kind"] == "state" && e["state"] == "requires_action" && e["needs_attention"] == true
    })
    .await;
    assert_eq!(
        server.session(&id).await["needs_attention"],
        true,
        "the listing shows it needs attention"
    );
    let request_id = req["request_id"].as_str().unwrap().to_owned();
    chat.send(
        json!({"type": "permission_response", "request_id": request_id, "behavior": "allow"}),
    )
    .await;
    let resolved = chat.wait_event(kind("permission_resolved")).await;
    assert_eq!(
        (resolved["resolution"].as_str(), resolved["by"].as_str()),
        (Some("allow"), Some("admin"))
    );
    chat.wait_event(kind("result")).await;
    assert_eq!(
        std::fs::read_to_string(&allowed).unwrap(),
        "yes",
        "the file appears"
    );
    let result = chat.wait_event(kind("tool_result")).await;
    assert_eq!(result["is_error"], false);
    // Answering again is an error for this client only, not a crash.
    chat.send(json!({"type": "permission_response", "request_id": request_id, "behavior": "deny"}))
        .await;
    assert_eq!(chat.wait_error().await["code"], "unknown_request");

    let denied = project.join("denied.txt");
    let mark = chat.events.len();
    let req = ask_to_write(&mut chat, &fake, denied.to_str().unwrap(), "no").await;
    let request_id = req["request_id"].as_str().unwrap();
    chat.send(json!({"type": "permission_response", "request_id": request_id, "behavior": "deny", "message": "Not this file"})).await;
    let resolved = chat
        .wait_event_from(mark, kind("permission_resolved"))
        .await;
    assert_eq!(resolved["resolution"], "deny");
    chat.wait_event_from(mark, kind("result")).await;
    assert!(!denied.exists(), "a denied write does not happen");
    let result = chat.wait_event_from(mark, kind("tool_result")).await;
    assert_eq!(result["is_error"], true);
    assert!(
        result["content"].to_string().contains("Not this file"),
        "the model got the denial: {result}"
    );
    let last = fake.requests().last().unwrap().to_string();
    assert!(
        last.contains("Not this file"),
        "the API saw the denial message"
    );
    assert_eq!(server.session(&id).await["needs_attention"], false);
}

#[tokio::test]
async fn the_first_answer_wins_when_two_viewers_race() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    let id = chat_session(&server, json!({})).await;
    let mut a = Chat::connect(&server, &id, "").await;
    let mut b = Chat::connect(&server, &id, "").await;
    assert_eq!(server.session(&id).await["viewers"], 2);
    let file = server.root.join("project/raced.txt");
    let req = ask_to_write(&mut a, &fake, file.to_str().unwrap(), "raced").await;
    let request_id = req["request_id"].as_str().unwrap().to_owned();
    b.wait_event(kind("permission_request")).await;
    // Both answer at once; whichever the server takes first wins.
    a.send(json!({"type": "permission_response", "request_id": request_id, "behavior": "allow"}))
        .await;
    b.send(json!({"type": "permission_response", "request_id": request_id, "behavior": "deny", "message": "late"})).await;
    let mut outcomes = Vec::new();
    for chat in [&mut a, &mut b] {
        let resolved = chat.wait_event(kind("permission_resolved")).await;
        outcomes.push(resolved["resolution"].as_str().unwrap().to_owned());
        chat.wait_event(kind("result")).await;
    }
    assert_eq!(outcomes[0], outcomes[1], "everyone sees the same outcome");
    let loser = if outcomes[0] == "allow" {
        &mut b
    } else {
        &mut a
    };
    if loser.errors.is_empty() {
        loser.wait_error().await;
    }
    assert_eq!(
        loser.errors[0]["code"], "unknown_request",
        "the second answer is refused"
    );
    assert_eq!(
        file.exists(),
        outcomes[0] == "allow",
        "the winner's answer is what happened"
    );
    let resolutions = a
        .kinds()
        .iter()
        .filter(|k| *k == "permission_resolved")
        .count();
    assert_eq!(resolutions, 1);
}

#[tokio::test]
async fn bad_client_messages_get_json_errors_and_the_session_goes_on() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    assert!(chat.connected["last_seq"].as_i64().is_some());
    let cases = [
        (json!("not an object"), "bad_message"),
        (json!({"type": "bogus"}), "bad_message"),
        (json!({"type": "user_message"}), "bad_message"),
        (
            json!({"type": "user_message", "text": "hi", "extra": 1}),
            "bad_message",
        ),
        (
            json!({"type": "user_message", "text": "   "}),
            "invalid_message",
        ),
        (
            json!({"type": "user_message", "text": "look", "images": [{"media_type": "image/tiff", "data": "AAAA"}]}),
            "invalid_message",
        ),
        (
            json!({"type": "user_message", "text": "look", "images": [{"media_type": "image/png", "data": "%%%"}]}),
            "invalid_message",
        ),
        (
            json!({"type": "permission_response", "request_id": "nope", "behavior": "allow"}),
            "unknown_request",
        ),
        (
            json!({"type": "permission_response", "request_id": "nope", "behavior": "maybe"}),
            "bad_message",
        ),
        (
            json!({"type": "permission_response", "request_id": "nope", "behavior": "allow", "updated_input": [1]}),
            "invalid_message",
        ),
        (
            json!({"type": "set_permission_mode", "mode": "bogus"}),
            "invalid_message",
        ),
        (
            json!({"type": "set_model", "model": "--settings=evil"}),
            "invalid_message",
        ),
        (
            json!({"type": "user_message", "text": "/vim"}),
            "invalid_message",
        ),
    ];
    chat.wait_event(|e| e["kind"] == "system" && e["subtype"] == "initialize")
        .await;
    for (msg, code) in cases {
        chat.send(msg.clone()).await;
        let e = chat.wait_error().await;
        assert_eq!(e["code"], code, "{msg}: {e}");
    }
    chat.ws
        .send(Message::Binary(b"bytes".to_vec().into()))
        .await
        .unwrap();
    assert_eq!(chat.wait_error().await["code"], "bad_message");
    // Still fine.
    fake.push(Reply::text("Still here."));
    chat.send(json!({"type": "user_message", "text": "Are you there"}))
        .await;
    chat.wait_event(kind("result")).await;
    assert!(chat.reply_text().contains("Still here."));
    // A read-only viewer may not drive the session.
    let mut ro = Chat::connect(&server, &id, "?readonly=1").await;
    ro.send(json!({"type": "user_message", "text": "hi"})).await;
    assert_eq!(ro.wait_error().await["code"], "readonly");
    ro.send(json!({"type": "ping"})).await;
    ro.wait_count(0, kind("never")).await;
}

#[tokio::test]
async fn a_cli_that_never_answers_is_reported_and_can_be_stopped() {
    let options = common::Options::shell("exec sleep 1000").toml("cli_startup_timeout_secs = 1");
    let server = common::TestServer::start(options).await;
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    let e = chat.wait_event(kind("error")).await;
    assert_eq!(e["code"], "cli_unresponsive", "{e}");
    let stopped = server.stop_session(&id).await;
    assert_eq!(stopped["state"], "stopped");
    chat.wait_event(|e| e["kind"] == "state" && e["state"] == "stopped")
        .await;
}

#[tokio::test]
async fn a_chat_viewer_that_stops_reading_catches_up_from_the_store_without_gaps() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    // Far more events than the live feed keeps (1024), and more bytes than
    // the sockets buffer (about 6 MB), as fast as possible.
    let pad = "x".repeat(2000);
    let chunks: Vec<String> = (0..3000).map(|i| format!("{pad} w{i} ")).collect();
    fake.push(Reply::TextChunks(chunks, Duration::ZERO));
    let id = chat_session(&server, json!({})).await;
    let mut stalled = Chat::connect(&server, &id, "").await;
    let mut active = Chat::connect(&server, &id, "").await;
    let result = active.turn("Count for me").await;
    assert_eq!(result["is_error"], false);
    assert!(active.delta_text_from(0).ends_with("w2999 "));
    // Only now does the stalled viewer read: it gets every event, in order
    // (Chat asserts no gaps), the same as the one that kept up.
    stalled.wait_event(|e| e["kind"] == "result").await;
    let seqs = |c: &Chat| c.events.iter().map(|(s, _)| *s).collect::<Vec<_>>();
    let n = seqs(&active).len();
    assert!(n > 3000, "{n} events");
    assert_eq!(seqs(&stalled)[..n], seqs(&active)[..]);
    // Search finds the turn's text in the stored transcript.
    let found = server
        .get_json(&format!(
            "/api/claude/sessions/{id}/events?q=COUNT%20FOR&limit=10"
        ))
        .await;
    let hits = found["events"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{found}");
    assert_eq!(hits[0]["event"]["kind"], "user_message");
}

#[tokio::test]
async fn a_session_exports_as_markdown_and_json() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    fake.push(Reply::text("An exported answer."));
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    chat.turn("Export this please").await;
    let resp = server
        .req(
            reqwest::Method::GET,
            &format!("/api/claude/sessions/{id}/export?format=markdown"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"ccweb-Export-this-please-"),
        "named by the first prompt"
    );
    let md = resp.text().await.unwrap();
    assert!(md.contains("## admin\n\nExport this please"), "{md}");
    assert!(md.contains("## Claude\n\nAn exported answer."), "{md}");
    let json = server
        .get_json(&format!("/api/claude/sessions/{id}/export?format=json"))
        .await;
    assert_eq!(json["session"]["id"], id.as_str());
    assert!(json["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"]["kind"] == "result"));
    for (query, status, code) in [
        ("format=pdf", 400, "invalid_query"),
        ("format=asciicast", 404, "not_found"),
    ] {
        let a = common::call(server.req(
            reqwest::Method::GET,
            &format!("/api/claude/sessions/{id}/export?{query}"),
        ))
        .await;
        common::assert_error(query, &a, status, code);
    }
    // Compressed, as browsers ask for it, the streamed body still ends cleanly.
    for encoding in ["gzip", "br"] {
        let resp = server
            .req(
                reqwest::Method::GET,
                &format!("/api/claude/sessions/{id}/export?format=markdown"),
            )
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-encoding"], encoding);
        assert!(!resp.bytes().await.expect("the whole body").is_empty());
    }
    let bob = server.add_user("bob", "bob-password-1");
    let theirs = server
        .req_as(
            &bob,
            reqwest::Method::GET,
            &format!("/api/claude/sessions/{id}/export"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), 404);
}

/// A session of `owner` as the list shows it: `(activity, needs_attention, title)`.
async fn listed(server: &common::TestServer, token: &str, id: &str) -> (String, bool, String) {
    let (status, list) =
        common::call(server.req_as(token, reqwest::Method::GET, "/api/claude/sessions")).await;
    assert_eq!(status, 200, "{list}");
    let s = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not listed: {list}"))
        .clone();
    (
        s["activity"].as_str().unwrap().to_owned(),
        s["needs_attention"].as_bool().unwrap(),
        s["title"].as_str().unwrap().to_owned(),
    )
}

/// Ids of the sessions `GET /api/claude/sessions{query}` returns to `token`.
async fn found_ids(server: &common::TestServer, token: &str, query: &str) -> Vec<String> {
    let (status, list) = common::call(server.req_as(
        token,
        reqwest::Method::GET,
        &format!("/api/claude/sessions{query}"),
    ))
    .await;
    assert_eq!(status, 200, "{query}: {list}");
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_names_a_chat_by_its_first_prompt_shows_what_it_does_and_finds_its_words() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    let bob = server.add_user("bob", "bob-password-1");
    let (status, s) = server
        .create_session_as(
            &bob,
            json!({"mode": "chat", "working_dir": server.root.join("project")}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let mut chat = Chat::connect_as(&server, &bob, &id, "").await;
    chat.wait_event(|e| e["kind"] == "state" && e["state"] == "idle")
        .await;
    assert_eq!(
        listed(&server, &bob, &id).await,
        ("waiting".into(), false, "project".into()),
        "before the first prompt: the directory names it, it waits"
    );

    // A long streamed reply: the session works until its result.
    let chunks: Vec<String> = (0..40)
        .map(|i| {
            if i == 20 {
                "the quetzalcoatlite crystals ".into()
            } else {
                format!("part {i} ")
            }
        })
        .collect();
    fake.push(Reply::TextChunks(chunks, Duration::from_millis(100)));
    let mark = chat.prompt("Tell me about rare minerals\nplease").await;
    chat.wait_event_from(mark, kind("assistant_delta")).await;
    assert_eq!(listed(&server, &bob, &id).await.0, "working");
    chat.wait_event_from(mark, kind("result")).await;
    let s = server.session(&id).await;
    assert_eq!(
        (
            s["activity"].as_str(),
            s["title"].as_str(),
            s["first_prompt"].as_str(),
            s["preview"]["role"].as_str()
        ),
        (
            Some("waiting"),
            Some("Tell me about rare minerals please"),
            Some("Tell me about rare minerals please"),
            Some("assistant")
        ),
        "{s}"
    );
    assert!(
        s["preview"]["text"]
            .as_str()
            .unwrap()
            .starts_with("part 0 part 1"),
        "{s}"
    );

    // A permission prompt: it needs an answer, and only its owner may give it.
    let file = server.root.join("project/answered.txt");
    let req = ask_to_write(&mut chat, &fake, file.to_str().unwrap(), "ok").await;
    let request_id = req["request_id"].as_str().unwrap().to_owned();
    assert_eq!(
        listed(&server, &bob, &id).await,
        (
            "needs_answer".into(),
            true,
            "Tell me about rare minerals please".into()
        )
    );
    let mut admin = Chat::connect(&server, &id, "").await;
    admin
        .send(json!({"type": "permission_response", "request_id": request_id, "behavior": "allow"}))
        .await;
    assert_eq!(admin.wait_error().await["code"], "readonly");
    admin
        .send(json!({"type": "user_message", "text": "admin typing"}))
        .await;
    assert_eq!(admin.wait_error().await["code"], "readonly");
    assert_eq!(
        listed(&server, &bob, &id).await.0,
        "needs_answer",
        "the admin's answer was refused"
    );
    let mark = chat.events.len();
    chat.send(
        json!({"type": "permission_response", "request_id": request_id, "behavior": "allow"}),
    )
    .await;
    chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "ok");
    let s = server.session(&id).await;
    assert_eq!(
        (s["activity"].as_str(), s["preview"]["text"].as_str()),
        (Some("waiting"), Some("Done with the file.")),
        "{s}"
    );

    // Search: a word only the assistant wrote, any case; `%` is literal.
    assert_eq!(
        found_ids(&server, &bob, "?q=QuetzalcoatLITE").await,
        vec![id.clone()]
    );
    assert_eq!(
        found_ids(&server, &bob, "?q=rare%20minerals").await,
        vec![id.clone()]
    );
    assert!(found_ids(&server, &bob, "?q=%25").await.is_empty());
    assert!(found_ids(&server, &bob, "?q=q_etzal").await.is_empty());
    assert!(found_ids(&server, &bob, "?q=nowhere-said").await.is_empty());
    assert!(
        found_ids(&server, &server.admin_token, "?q=quetzalcoatlite")
            .await
            .is_empty(),
        "an admin searches their own sessions unless they ask for all"
    );
    assert_eq!(
        found_ids(&server, &server.admin_token, "?all=true&q=quetzalcoatlite").await,
        vec![id.clone()]
    );
    let long = "x".repeat(201);
    common::assert_error(
        "a long q",
        &common::call(server.req_as(
            &bob,
            reqwest::Method::GET,
            &format!("/api/claude/sessions?q={long}"),
        ))
        .await,
        400,
        "invalid_query",
    );
    common::assert_error(
        "bob ?all=true&q=",
        &common::call(server.req_as(
            &bob,
            reqwest::Method::GET,
            "/api/claude/sessions?all=true&q=quetzalcoatlite",
        ))
        .await,
        403,
        "admin_only",
    );

    // A user's own title wins over the first prompt.
    let (status, renamed) = common::call(
        server
            .req_as(
                &bob,
                reqwest::Method::PATCH,
                &format!("/api/claude/sessions/{id}"),
            )
            .json(&json!({"title": "Minerals"})),
    )
    .await;
    assert_eq!(status, 200, "{renamed}");
    fake.push(Reply::text("Sure."));
    chat.turn("Another prompt").await;
    assert_eq!(listed(&server, &bob, &id).await.2, "Minerals");

    // The Users page counts bob's running session; the admin ends it, audited.
    let users = server.get_json("/api/admin/users").await;
    let count = |users: &serde_json::Value| {
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == "bob")
            .unwrap()["running_sessions"]
            .clone()
    };
    assert_eq!(count(&users), 1, "{users}");
    let ended = server.stop_session(&id).await;
    assert_eq!(
        (ended["state"].as_str(), ended["activity"].as_str()),
        (Some("stopped"), Some("ended")),
        "{ended}"
    );
    assert_eq!(count(&server.get_json("/api/admin/users").await), 0);
    let audit = server
        .get_json("/api/admin/audit?action=admin.session.stop")
        .await;
    assert_eq!(
        audit["entries"][0]["target"].as_str(),
        Some(id.as_str()),
        "{audit}"
    );
}
