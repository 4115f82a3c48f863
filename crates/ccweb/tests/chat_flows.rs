//! Chat-session flows end to end: the real Claude Code CLI in stream-json
//! mode against the fake Messages API (or a shell script posing as the CLI),
//! driven over the chat WebSocket and the REST API.
#![allow(clippy::unwrap_used)]

mod common;

use common::chat::{ask_to_write, chat_session, kind, Chat};
use common::{assert_error, call, claude_setup, ClaudeSetup, Options, TestServer, SESSIONS};
use fake_anthropic::Reply;
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

/// Matches `system` events that report this permission mode.
fn mode_is(mode: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["kind"] == "system" && e["permission_mode"] == mode
}

/// Matches the `state` event `state`.
fn state_is(state: &'static str) -> impl Fn(&Value) -> bool {
    move |e: &Value| e["kind"] == "state" && e["state"] == state
}

/// Waits until the CLI has answered `initialize` (it knows its slash
/// commands and takes prompts).
async fn ready(chat: &mut Chat) {
    chat.wait_event(|e| e["kind"] == "system" && e["subtype"] == "initialize")
        .await;
    chat.wait_event(state_is("idle")).await;
}

/// The seqs of the stored transcript (`GET …/events?after=0&limit=1000`) and its `last_seq`.
async fn stored_seqs(server: &TestServer, id: &str) -> (Vec<i64>, i64, Vec<Value>) {
    let page = server
        .get_json(&format!("{SESSIONS}/{id}/events?after=0&limit=1000"))
        .await;
    let events = page["events"].as_array().unwrap().clone();
    let seqs = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    (seqs, page["last_seq"].as_i64().unwrap(), events)
}

#[tokio::test]
async fn remember_applies_the_suggested_accept_edits_mode_so_the_next_write_does_not_ask() {
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
    let first = project.join("first.txt");
    let req = ask_to_write(&mut chat, &fake, first.to_str().unwrap(), "one").await;
    // What the CLI suggests for a Write in the working directory: accept
    // edits for the rest of the session.
    assert_eq!(
        req["suggestions"],
        json!([{"type": "setMode", "mode": "acceptEdits", "destination": "session"}]),
        "{req}"
    );
    let request_id = req["request_id"].as_str().unwrap();
    let mark = chat.events.len();
    chat.send(json!({"type": "permission_response", "request_id": request_id, "behavior": "allow", "remember": true}))
        .await;
    let resolved = chat
        .wait_event_from(mark, kind("permission_resolved"))
        .await;
    assert_eq!(
        (
            resolved["resolution"].as_str(),
            resolved["remember"].as_bool()
        ),
        (Some("allow"), Some(true)),
        "{resolved}"
    );
    // The CLI applied the update: it reports the new mode.
    chat.wait_event_from(mark, mode_is("acceptEdits")).await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    assert_eq!(std::fs::read_to_string(&first).unwrap(), "one");

    // A second Write to another file runs without asking.
    let second = project.join("second.txt");
    fake.push(Reply::tool_use(
        "Write",
        json!({"file_path": second, "content": "two"}),
    ));
    fake.push(Reply::text("Wrote the second file."));
    let mark = chat.prompt("Now write the second file").await;
    let end = chat
        .wait_event_from(mark, |e| {
            e["kind"] == "result" || e["kind"] == "permission_request"
        })
        .await;
    assert_eq!(
        end["kind"],
        "result",
        "no permission request the second time:\n{}",
        chat.dump()
    );
    assert_eq!(end["is_error"], false, "{}", chat.dump());
    assert_eq!(
        std::fs::read_to_string(&second).unwrap(),
        "two",
        "the second write happened"
    );
    let init = chat
        .wait_event_from(mark, |e| e["kind"] == "system" && e["subtype"] == "init")
        .await;
    assert_eq!(init["permission_mode"], "acceptEdits", "{init}");
}

#[tokio::test]
async fn an_interrupt_ends_a_streaming_turn_at_once_and_the_next_prompt_works() {
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
    ready(&mut chat).await;
    let chunks: Vec<String> = (0..20).map(|i| format!("chunk{i} ")).collect();
    let full: String = chunks.concat();
    // The whole reply takes 19 × 200 ms = 3.8 s.
    fake.push(Reply::TextChunks(chunks, Duration::from_millis(200)));
    let mark = chat.prompt("Tell me a long story").await;
    chat.wait_event_from(mark, |e| {
        e["kind"] == "assistant_delta" && e["delta_type"] == "text"
    })
    .await;
    let sent = Instant::now();
    chat.send(json!({"type": "interrupt"})).await;
    let result = chat
        .wait_event_within(mark, Duration::from_secs(3), kind("result"))
        .await;
    let took = sent.elapsed();
    assert_eq!(
        (result["is_error"].as_bool(), result["subtype"].as_str()),
        (Some(true), Some("error_during_execution")),
        "{result}"
    );
    assert_eq!(
        result["terminal_reason"], "aborted_streaming",
        "the UI tells an interrupt from a failure by this: {result}"
    );
    assert!(
        took < Duration::from_millis(2000),
        "the turn ended {took:?} after the interrupt"
    );
    assert_ne!(chat.delta_text_from(mark), full, "the reply was cut short");
    assert!(
        chat.since(mark).any(|e| e["kind"] == "system"
            && e["subtype"] == "notice"
            && e["data"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("interrupted"))),
        "the CLI's interruption notice is shown:\n{}",
        chat.dump()
    );
    assert!(chat.errors.is_empty(), "{:?}", chat.errors);
    assert_eq!(server.session(&id).await["state"], "running");

    fake.push(Reply::text("Picking up again."));
    let mark = chat.prompt("Go on, briefly").await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    assert_eq!(chat.reply_text_from(mark), "Picking up again.");
}

#[tokio::test]
async fn an_interrupt_withdraws_a_pending_permission_request() {
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
    let file = server.root.join("project/withdrawn.txt");
    let req = ask_to_write(&mut chat, &fake, file.to_str().unwrap(), "no").await;
    chat.wait_event(|e| e["kind"] == "state" && e["needs_attention"] == true)
        .await;
    let mark = chat.events.len();
    chat.send(json!({"type": "interrupt"})).await;
    let resolved = chat
        .wait_event_from(mark, kind("permission_resolved"))
        .await;
    assert_eq!(
        (
            resolved["request_id"].as_str(),
            resolved["resolution"].as_str()
        ),
        (req["request_id"].as_str(), Some("cancelled")),
        "{resolved}"
    );
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], true, "{result}");
    assert!(!file.exists(), "the write did not happen");
    assert_eq!(server.session(&id).await["needs_attention"], false);
    // Answering the withdrawn request is refused.
    chat.send(json!({"type": "permission_response", "request_id": req["request_id"], "behavior": "allow"}))
        .await;
    assert_eq!(chat.wait_error().await["code"], "unknown_request");
    assert!(!file.exists());
}

#[tokio::test]
async fn every_finished_turn_is_followed_by_an_idle_state() {
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
    ready(&mut chat).await;
    // A normal turn.
    fake.push(Reply::text("Short answer."));
    let mark = chat.prompt("Say something short").await;
    chat.wait_event_from(mark, kind("result")).await;
    let after = chat.events.len();
    chat.wait_event_within(after, Duration::from_secs(5), |e| {
        e["kind"] == "state" && e["state"] == "idle" && e["needs_attention"] == false
    })
    .await;
    // An interrupted turn.
    fake.push(Reply::TextChunks(
        (0..10).map(|i| format!("part{i} ")).collect(),
        Duration::from_millis(200),
    ));
    let mark = chat.prompt("Say something long").await;
    chat.wait_event_from(mark, kind("assistant_delta")).await;
    chat.send(json!({"type": "interrupt"})).await;
    chat.wait_event_from(mark, kind("result")).await;
    let after = chat.events.len();
    chat.wait_event_within(after, Duration::from_secs(5), state_is("idle"))
        .await;
}

#[tokio::test]
async fn permission_mode_changes_reach_the_cli_and_bypass_is_refused_without_harm() {
    // The server lets clients ask for bypassPermissions here, so the CLI's
    // own refusal is what is tested.
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("allow_bypass_permissions = true").await
    else {
        return;
    };
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    ready(&mut chat).await;
    let mark = chat.events.len();
    chat.send(json!({"type": "set_permission_mode", "mode": "plan"}))
        .await;
    chat.wait_event_from(mark, mode_is("plan")).await;
    let mark = chat.events.len();
    chat.send(json!({"type": "set_permission_mode", "mode": "default"}))
        .await;
    chat.wait_event_from(mark, mode_is("default")).await;
    // The CLI refuses bypassPermissions (not launched with
    // --dangerously-skip-permissions, and the server runs as root).
    let mark = chat.events.len();
    chat.send(json!({"type": "set_permission_mode", "mode": "bypassPermissions"}))
        .await;
    let error = chat.wait_event_from(mark, kind("error")).await;
    assert_eq!(error["code"], "control_failed", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("bypassPermissions"),
        "{error}"
    );
    assert!(chat.errors.is_empty(), "{:?}", chat.errors);
    // The session goes on, still in default mode.
    fake.push(Reply::text("Still in default mode."));
    let mark = chat.prompt("Which mode are we in").await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let init = chat
        .wait_event_from(mark, |e| e["kind"] == "system" && e["subtype"] == "init")
        .await;
    assert_eq!(init["permission_mode"], "default", "{init}");
    assert_eq!(server.session(&id).await["state"], "running");
}

#[tokio::test]
async fn set_model_switches_the_model_of_the_next_api_request() {
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
    ready(&mut chat).await;
    fake.push(Reply::text("On the default model."));
    chat.turn("First question").await;
    let before = fake.requests().last().unwrap()["model"].clone();
    assert_ne!(before, "claude-sonnet-5", "the default model differs");
    let mark = chat.events.len();
    chat.send(json!({"type": "set_model", "model": "sonnet"}))
        .await;
    // The CLI confirms with a local-command notice.
    chat.wait_event_from(mark, |e| {
        e["kind"] == "system"
            && e["data"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("claude-sonnet-5"))
    })
    .await;
    fake.push(Reply::text("On sonnet now."));
    let mark = chat.prompt("Second question").await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    assert_eq!(
        fake.requests().last().unwrap()["model"],
        "claude-sonnet-5",
        "the next API request uses the new model"
    );
    assert!(chat.errors.is_empty(), "{:?}", chat.errors);
}

#[tokio::test]
async fn reconnecting_with_after_seq_mid_turn_misses_nothing_and_repeats_nothing() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    let id = chat_session(&server, json!({})).await;
    let mut first = Chat::connect(&server, &id, "").await;
    ready(&mut first).await;
    let chunks: Vec<String> = (0..12).map(|i| format!("piece{i} ")).collect();
    let full: String = chunks.concat();
    fake.push(Reply::TextChunks(chunks, Duration::from_millis(150)));
    let mark = first.prompt("Stream something slowly").await;
    first
        .wait_count(2, |e| {
            e["kind"] == "assistant_delta" && e["delta_type"] == "text"
        })
        .await;
    let seen = first.events.last().unwrap().0;
    let before = first.delta_text_from(mark);
    drop(first);
    // Events go on while nobody watches: the store gets one past `seen`.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = server
            .get_json(&format!("{SESSIONS}/{id}/events?after={seen}&limit=1"))
            .await;
        if page["last_seq"].as_i64().unwrap() > seen {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no event was stored after {seen} while nobody watched: {page}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut second = Chat::connect(&server, &id, &format!("?after_seq={seen}")).await;
    assert!(
        second.connected["last_seq"].as_i64().unwrap() > seen,
        "events were stored while disconnected: {}",
        second.connected
    );
    second.wait_count(1, |_| true).await;
    assert_eq!(
        second.events[0].0,
        seen + 1,
        "the first event after reconnecting follows the last one seen"
    );
    // `step` checks every further seq is the previous one plus one.
    let result = second.wait_event(kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", second.dump());
    assert_eq!(
        format!("{before}{}", second.delta_text_from(0)),
        full,
        "the deltas before and after the reconnect make the whole reply, once"
    );
    assert_eq!(second.reply_text(), full);

    // The stored transcript is exactly 1..=last, and what the socket sent.
    let last = second.events.last().unwrap().0;
    let (seqs, last_seq, stored) = stored_seqs(&server, &id).await;
    assert!(last_seq >= last);
    assert_eq!(seqs, (1..=last_seq).collect::<Vec<_>>());
    for (seq, event) in &second.events {
        assert_eq!(&stored[(*seq - 1) as usize]["event"], event);
    }

    // Bad values are refused with JSON, on the socket as on the events endpoint.
    for query in ["after_seq=-1", "after_seq=abc"] {
        let path = format!("{SESSIONS}/{id}/chat?{query}");
        let auth = format!("Bearer {}", server.admin_token);
        let refused = server.ws_with(&path, &[("authorization", &auth)]).await;
        assert_eq!(refused.err(), Some(400), "{query}");
    }
    for query in [
        "after=-1",
        "limit=0",
        "limit=5000",
        "limit=-1",
        "after=abc",
        "limit=abc",
        "after=1.5",
    ] {
        let path = format!("{SESSIONS}/{id}/events?{query}");
        let answer = call(server.req(Method::GET, &path)).await;
        assert_error(query, &answer, 400, "invalid_query");
    }
    let ok = call(server.req(
        Method::GET,
        &format!("{SESSIONS}/{id}/events?after=0&limit=1"),
    ))
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert_eq!(ok.1["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn after_a_server_restart_a_chat_session_resumes_its_conversation() {
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
    ready(&mut chat).await;
    fake.push(Reply::text("I will remember it."));
    let result = chat.turn("Remember the word pineapple").await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let sid = server.session(&id).await["claude_session_id"].clone();
    drop(chat);
    // Stopping the CLI before it has written the turn to disk would lose it.
    let home = _home.path().to_owned();
    let saved_sid = sid.as_str().unwrap().to_owned();
    common::eventually(
        Duration::from_secs(30),
        "the CLI saved the conversation",
        || common::claude_saved(&home, &saved_sid, "Remember the word pineapple"),
    )
    .await;

    let server = server.restart().await;
    let s = server.session(&id).await;
    assert_eq!(s["state"], "stopped", "{s}");
    let (seqs, old_last, stored) = stored_seqs(&server, &id).await;
    assert_eq!(seqs, (1..=old_last).collect::<Vec<_>>());
    let last = &stored.last().unwrap()["event"];
    assert_eq!(
        (last["kind"].as_str(), last["state"].as_str()),
        (Some("state"), Some("stopped")),
        "the transcript ends with the stop: {last}"
    );

    let (status, resumed) =
        call(server.req(Method::POST, &format!("{SESSIONS}/{id}/resume"))).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["state"], "running", "{resumed}");
    let again = call(server.req(Method::POST, &format!("{SESSIONS}/{id}/resume"))).await;
    assert_error("resuming a running session", &again, 409, "session_running");
    let mut chat = Chat::connect(&server, &id, &format!("?after_seq={old_last}")).await;
    fake.push(Reply::text("The word was pineapple."));
    ready(&mut chat).await;
    assert_eq!(
        chat.events[0].0,
        old_last + 1,
        "new events continue the old seqs"
    );
    let mark = chat.prompt("Which word did I ask you to remember?").await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let last_request = fake.requests().last().unwrap().to_string();
    assert!(
        last_request.contains("Remember the word pineapple"),
        "the CLI resumed the conversation: {last_request}"
    );
    assert_eq!(
        server.session(&id).await["claude_session_id"],
        sid,
        "the same Claude conversation"
    );
    let (seqs, last_seq, _) = stored_seqs(&server, &id).await;
    assert_eq!(seqs, (1..=last_seq).collect::<Vec<_>>(), "no seq reused");
}

#[tokio::test]
async fn api_errors_end_the_turn_with_an_error_result_and_the_session_goes_on() {
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
    ready(&mut chat).await;
    for (reply, status) in [
        (Reply::unauthorized(), 401),
        (Reply::rate_limited(), 429),
        (Reply::server_error(), 500),
        (Reply::overloaded(), 529),
    ] {
        fake.push(reply);
        let mark = chat.prompt(&format!("Provoke a {status}")).await;
        let result = chat.wait_event_from(mark, kind("result")).await;
        assert_eq!(
            (
                result["is_error"].as_bool(),
                result["api_error_status"].as_i64()
            ),
            (Some(true), Some(status)),
            "{status}: {result}"
        );
        let message = chat.wait_event_from(mark, kind("assistant_message")).await;
        assert!(
            message["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{status}: the error is tagged: {message}"
        );
        assert_eq!(server.session(&id).await["state"], "running", "{status}");

        fake.push(Reply::text(format!("Recovered from {status}.")));
        let mark = chat.prompt("Try again").await;
        let result = chat.wait_event_from(mark, kind("result")).await;
        assert_eq!(result["is_error"], false, "{status}: {}", chat.dump());
        assert_eq!(
            chat.reply_text_from(mark),
            format!("Recovered from {status}.")
        );
    }
    assert!(chat.errors.is_empty(), "{:?}", chat.errors);
}

/// A "CLI" that ignores its arguments: in a directory named `exits` it
/// complains on stderr and exits 3; in `exits-later` it exits 4 after a
/// second; elsewhere it prints garbage around one valid line and waits.
const FAKE_CLI: &str = r#"case "$PWD" in
*/exits) echo 'fatal: nothing works' >&2; exit 3;;
*/exits-later) while [ ! -e go ]; do sleep 0.05; done; exit 4;;
esac
printf '%s\n' 'not json' '{"type":"system","subtype":"init","session_id":"x"}' '{broken'
exec sleep 30
"#;

#[tokio::test]
async fn garbage_from_the_cli_is_reported_and_kept_and_an_early_exit_is_recorded() {
    let server = TestServer::start(Options::shell(FAKE_CLI)).await;
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    chat.wait_count(2, |e| {
        e["kind"] == "error" && e["code"] == "unparsable_output"
    })
    .await;
    let lines: Vec<&str> = chat
        .events
        .iter()
        .filter(|(_, e)| e["code"] == "unparsable_output")
        .map(|(_, e)| e["line"].as_str().unwrap())
        .collect();
    assert_eq!(lines, ["not json", "{broken"], "{}", chat.dump());
    let init = chat
        .wait_event(|e| e["kind"] == "system" && e["subtype"] == "init")
        .await;
    assert_eq!(init["claude_session_id"], "x", "{init}");
    // Still running: the actor takes a prompt after the garbage (a barrier
    // instead of a fixed wait for a crash to show).
    let mark = chat.prompt("Still there?").await;
    chat.wait_event_from(mark, kind("user_message")).await;
    let s = server.session(&id).await;
    assert_eq!(s["state"], "running", "{s}");
    assert!(!chat.kinds().iter().any(|k| k == "result"));
    server.stop_session(&id).await;

    std::fs::create_dir_all(server.root.join("exits")).unwrap();
    let id = chat_session(&server, json!({"working_dir": server.root.join("exits")})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    let end = chat.wait_event(state_is("exited")).await;
    assert_eq!(end["exit_code"], 3, "{end}");
    let error = chat
        .wait_event(|e| e["kind"] == "error" && e["code"] == "cli_exited")
        .await;
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains('3') && message.contains("fatal: nothing works"),
        "{error}"
    );
    assert_eq!(
        chat.events.last().unwrap().1,
        end,
        "the exit is the last event"
    );
    let s = server
        .wait_state(&id, "exited", Duration::from_secs(10))
        .await;
    assert_eq!(s["exit_code"], 3, "{s}");
}

#[tokio::test]
async fn an_unanswered_permission_request_times_out_as_a_denial() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("permission_timeout_secs = 1").await
    else {
        return;
    };
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    let file = server.root.join("project/never.txt");
    let req = ask_to_write(&mut chat, &fake, file.to_str().unwrap(), "never").await;
    let asked = Instant::now();
    let resolved = chat
        .wait_event_within(0, Duration::from_secs(5), kind("permission_resolved"))
        .await;
    let took = asked.elapsed();
    assert_eq!(resolved["request_id"], req["request_id"]);
    assert_eq!(resolved["resolution"], "timeout", "{resolved}");
    assert!(resolved["by"].is_null(), "{resolved}");
    assert!(took < Duration::from_secs(4), "timed out after {took:?}");
    let result = chat.wait_event(kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    assert!(!file.exists(), "the write did not happen");
    let tool_result = chat.wait_event(kind("tool_result")).await;
    assert_eq!(tool_result["is_error"], true, "{tool_result}");
    let last = fake.requests().last().unwrap().to_string();
    assert!(
        last.contains("No one answered"),
        "the model got the denial: {last}"
    );
    assert_eq!(server.session(&id).await["needs_attention"], false);
}

#[tokio::test]
async fn ask_user_question_is_a_question_prompt_answered_by_allowing_with_answers() {
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
    ready(&mut chat).await;
    let input = json!({"questions": [{
        "question": "Which database?",
        "header": "DB",
        "options": [
            {"label": "SQLite", "description": "small"},
            {"label": "Postgres", "description": "big"}
        ],
        "multiSelect": false
    }]});
    fake.push(Reply::tool_use("AskUserQuestion", input.clone()));
    fake.push(Reply::text("SQLite it is."));
    let mark = chat.prompt("Set up a database").await;
    let req = chat.wait_event_from(mark, kind("permission_request")).await;
    assert_eq!(
        (req["tool_name"].as_str(), req["prompt_kind"].as_str()),
        (Some("AskUserQuestion"), Some("question")),
        "{req}"
    );
    assert_eq!(
        req["input"]["questions"][0]["question"], "Which database?",
        "{req}"
    );
    let mut answered = req["input"].clone();
    answered["answers"] = json!({"Which database?": "SQLite"});
    chat.send(json!({
        "type": "permission_response",
        "request_id": req["request_id"],
        "behavior": "allow",
        "updated_input": answered,
    }))
    .await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let tool_result = chat.wait_event_from(mark, kind("tool_result")).await;
    assert_eq!(tool_result["is_error"], false, "{tool_result}");
    assert!(
        tool_result["content"]
            .to_string()
            .contains(r#"\"Which database?\"=\"SQLite\""#),
        "{tool_result}"
    );
    // In the request body the tool result is a JSON string, so its quotes are
    // escaped (unlike the option labels of the tool call).
    let last = fake.requests().last().unwrap().to_string();
    assert!(
        last.contains(r#"\"Which database?\"=\"SQLite\""#),
        "the model got the answer: {last}"
    );
    // The audit log says the question was answered, not that a tool was allowed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let decision = loop {
        let page = server
            .get_json("/api/admin/audit?action=permission.decision")
            .await;
        if let Some(e) = page["entries"].as_array().and_then(|a| a.first()).cloned() {
            break e;
        }
        assert!(Instant::now() < deadline, "no audit entry: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (
            decision["detail"]["tool"].as_str(),
            decision["detail"]["resolution"].as_str()
        ),
        (Some("AskUserQuestion"), Some("answered")),
        "{decision}"
    );
}

#[tokio::test]
async fn an_edit_prompt_says_on_which_line_of_the_file_the_edit_lands() {
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
    ready(&mut chat).await;
    let file = server.root.join("project/lines.txt");
    std::fs::write(&file, "one\ntwo\nthree\nfour\n").unwrap();
    // The CLI edits only files it has read.
    fake.push(Reply::tool_use("Read", json!({"file_path": file})));
    fake.push(Reply::tool_use(
        "Edit",
        json!({"file_path": file, "old_string": "three", "new_string": "3"}),
    ));
    fake.push(Reply::text("Edited."));
    let mark = chat.prompt("Change three to a digit").await;
    let req = chat.wait_event_from(mark, kind("permission_request")).await;
    assert_eq!(
        (req["tool_name"].as_str(), &req["edit_lines"]),
        (Some("Edit"), &json!([3])),
        "{req}"
    );
    chat.send(json!({"type": "permission_response", "request_id": req["request_id"], "behavior": "allow"}))
        .await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "one\ntwo\n3\nfour\n"
    );
}

/// One POST the webhook receiver got: path, `X-Ccweb-Event` header, JSON body.
type Hook = (String, Option<String>, Value);

/// A tiny HTTP/1.1 server on 127.0.0.1:0 that records POSTs and answers 204.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Hook>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let got: Arc<Mutex<Vec<Hook>>> = Arc::default();
    let store = got.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let _ = serve_hooks(socket, store).await;
            });
        }
    });
    (addr, got)
}

async fn serve_hooks(
    socket: tokio::net::TcpStream,
    store: Arc<Mutex<Vec<Hook>>>,
) -> std::io::Result<()> {
    let mut reader = tokio::io::BufReader::new(socket);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        let (mut length, mut event) = (0usize, None);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "x-ccweb-event" => event = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        store.lock().unwrap().push((path, event, body));
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            .await?;
    }
}

/// Waits until a hook of `kind` has arrived; returns it.
async fn wait_hook(got: &Arc<Mutex<Vec<Hook>>>, kind: &str) -> Hook {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(h) = got.lock().unwrap().iter().find(|h| h.2["kind"] == kind) {
            return h.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no {kind} hook; got {:?}",
            got.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_webhook_hears_of_attention_finished_turns_and_ended_sessions() {
    let (addr, got) = webhook_receiver().await;
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup(&format!("webhook_url = \"http://{addr}/hook\"")).await
    else {
        return;
    };
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    let file = server.root.join("project/hooked.txt");
    let req = ask_to_write(&mut chat, &fake, file.to_str().unwrap(), "hooked").await;
    let (path, event, body) = wait_hook(&got, "needs_attention").await;
    assert_eq!(
        (path.as_str(), event.as_deref()),
        ("/hook", Some("needs_attention"))
    );
    assert_eq!(body["session"]["id"], id.as_str(), "{body}");
    assert_eq!(body["detail"]["tool_name"], "Write", "{body}");
    assert_eq!(body["detail"]["request_id"], req["request_id"], "{body}");
    assert!(
        !got.lock()
            .unwrap()
            .iter()
            .any(|h| h.2["kind"] == "turn_finished"),
        "the turn has not finished yet"
    );
    chat.send(json!({"type": "permission_response", "request_id": req["request_id"], "behavior": "allow"}))
        .await;
    chat.wait_event(kind("result")).await;
    let (_, event, body) = wait_hook(&got, "turn_finished").await;
    assert_eq!(event.as_deref(), Some("turn_finished"));
    assert_eq!(body["session"]["id"], id.as_str(), "{body}");
    assert_eq!(body["detail"]["is_error"], false, "{body}");
    server.stop_session(&id).await;
    let (_, event, body) = wait_hook(&got, "session_ended").await;
    assert_eq!(event.as_deref(), Some("session_ended"));
    assert_eq!(body["session"]["id"], id.as_str(), "{body}");
    assert_eq!(body["detail"]["state"], "stopped", "{body}");
    let kinds: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|h| h.2["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["needs_attention", "turn_finished", "session_ended"],
        "one of each, in order"
    );
}

#[tokio::test]
async fn offered_slash_commands_run_and_unknown_ones_are_refused_with_the_list() {
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
    let initialize = chat
        .wait_event(|e| e["kind"] == "system" && e["subtype"] == "initialize")
        .await;
    let offered = initialize["slash_commands"].as_array().unwrap();
    assert!(offered.iter().any(|c| c == "context"), "{offered:?}");
    ready(&mut chat).await;
    let requests = fake.requests().len();
    let result = chat.turn("/context").await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    // The CLI ran it itself: no model turn, its own report.
    assert_eq!(result["num_turns"], 0, "{result}");
    assert!(
        result["result"]
            .as_str()
            .is_some_and(|r| r.contains("Context Usage")),
        "{result}"
    );
    assert_eq!(fake.requests().len(), requests, "the model was not asked");
    assert!(chat.errors.is_empty(), "{:?}", chat.errors);

    chat.send(json!({"type": "user_message", "text": "/definitely-not-a-command now"}))
        .await;
    let error = chat.wait_error().await;
    assert_eq!(error["code"], "invalid_message", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("/definitely-not-a-command") && message.contains("/context"),
        "names the command and the available ones: {message}"
    );
    // It never reached the transcript; the session goes on.
    fake.push(Reply::text("Still here."));
    let result = chat.turn("Are you there").await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let (_, _, stored) = stored_seqs(&server, &id).await;
    assert!(
        !stored.iter().any(|e| e["event"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("definitely"))),
        "the refused command is not in the transcript"
    );
}

/// Reads until the socket closes; panics if it stays open for `timeout`.
async fn expect_close(chat: &mut Chat, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, chat.step(deadline + Duration::from_secs(1))).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(_) => panic!(
                "the socket stayed open {timeout:?} after the session ended; events:\n{}",
                chat.dump()
            ),
        }
    }
}

#[tokio::test]
async fn a_chat_socket_closes_once_its_session_has_ended() {
    let server = TestServer::start(Options::shell(FAKE_CLI)).await;
    // Stopped by a user while a viewer is attached.
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    chat.wait_event(|e| e["kind"] == "system" && e["subtype"] == "init")
        .await;
    server.stop_session(&id).await;
    chat.wait_event(state_is("stopped")).await;
    expect_close(&mut chat, Duration::from_secs(30)).await;
    // The CLI exits on its own while a viewer is attached.
    std::fs::create_dir_all(server.root.join("exits-later")).unwrap();
    let id = chat_session(
        &server,
        json!({"working_dir": server.root.join("exits-later")}),
    )
    .await;
    let mut chat = Chat::connect(&server, &id, "").await;
    assert_eq!(chat.connected["session"]["state"], "running");
    // It exits once told to (a file, not a fixed pause that a slow attach
    // could outlast).
    std::fs::write(server.root.join("exits-later/go"), "").unwrap();
    let end = chat.wait_event(state_is("exited")).await;
    assert_eq!(end["exit_code"], 4, "{end}");
    expect_close(&mut chat, Duration::from_secs(30)).await;
}

#[tokio::test]
async fn a_resumed_chat_session_keeps_the_model_and_permission_mode_it_switched_to() {
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
    ready(&mut chat).await;
    let mark = chat.events.len();
    chat.send(json!({"type": "set_model", "model": "sonnet"}))
        .await;
    chat.send(json!({"type": "set_permission_mode", "mode": "acceptEdits"}))
        .await;
    chat.wait_event_from(mark, mode_is("acceptEdits")).await;
    fake.push(Reply::text("I will remember it."));
    let result = chat.turn("Remember the word pineapple").await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    assert_eq!(fake.requests().last().unwrap()["model"], "claude-sonnet-5");
    let s = server.session(&id).await;
    assert_eq!(
        (s["model"].as_str(), s["permission_mode"].as_str()),
        (Some("sonnet"), Some("acceptEdits")),
        "the session object says what it runs with now: {s}"
    );
    let sid = s["claude_session_id"].as_str().unwrap().to_owned();
    let home = _home.path().to_owned();
    common::eventually(
        Duration::from_secs(30),
        "the CLI saved the conversation",
        || common::claude_saved(&home, &sid, "Remember the word pineapple"),
    )
    .await;
    drop(chat);
    server.stop_session(&id).await;

    let (status, resumed) =
        call(server.req(Method::POST, &format!("{SESSIONS}/{id}/resume"))).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["model"], "sonnet", "{resumed}");
    assert_eq!(resumed["permission_mode"], "acceptEdits", "{resumed}");
    let (_, last_seq, _) = stored_seqs(&server, &id).await;
    let mut chat = Chat::connect(&server, &id, &format!("?after_seq={last_seq}")).await;
    ready(&mut chat).await;
    fake.push(Reply::text("The word was pineapple."));
    let mark = chat.prompt("Which word was it?").await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let init = chat
        .wait_event(|e| e["kind"] == "system" && e["subtype"] == "init")
        .await;
    assert_eq!(
        init["permission_mode"], "acceptEdits",
        "the resumed CLI starts in the mode it was switched to: {init}"
    );
    let request = fake.requests().last().unwrap().clone();
    assert_eq!(
        request["model"], "claude-sonnet-5",
        "the resumed CLI asks for the model it was switched to"
    );
    assert!(
        request.to_string().contains("Remember the word pineapple"),
        "the same conversation: {request}"
    );
}
