//! The Claude home as untrusted input (issue 14, point 4): an agent can
//! plant anything in it — FIFOs, symlinks to other files, huge files — and
//! ccweb must neither wedge nor read outside it.
#![allow(clippy::unwrap_used)]

mod common;

use common::{call, project_dir, Options, TestServer};
use reqwest::Method;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// Longest a request that must not wedge may take.
const PROMPT: Duration = Duration::from_secs(10);

/// A server whose sessions (a shell standing in for the CLI) have the
/// Claude home `home`.
async fn server_with_home(home: &Path, extra: &str) -> TestServer {
    let toml = format!(
        "{extra}\n[child_env_set]\nCLAUDE_CONFIG_DIR = {}\n",
        serde_json::to_string(home.to_str().unwrap()).unwrap()
    );
    TestServer::start(Options::shell("exec sleep 1000").toml(&toml)).await
}

/// One user prompt record of a conversation run in `cwd`.
fn prompt_line(cwd: &Path, sid: &str, text: &str) -> String {
    let record = json!({
        "type": "user", "cwd": cwd, "sessionId": sid, "uuid": uuid::Uuid::new_v4().to_string(),
        "message": {"role": "user", "content": text},
    });
    format!("{record}\n")
}

fn history_path(server: &TestServer) -> String {
    format!(
        "/api/claude/history?working_dir={}",
        server.root.join("project").display()
    )
}

async fn history_ids(server: &TestServer) -> Vec<String> {
    let (status, body) =
        tokio::time::timeout(PROMPT, call(server.req(Method::GET, &history_path(server))))
            .await
            .expect("the history listing answers promptly");
    assert_eq!(status, 200, "{body}");
    body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["session_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn resume_status(server: &TestServer, sid: &str) -> (u16, serde_json::Value) {
    let body =
        json!({"mode": "terminal", "working_dir": server.root.join("project"), "resume": sid});
    tokio::time::timeout(PROMPT, server.create_session_as(&server.admin_token, body))
        .await
        .expect("a resume answers promptly")
}

#[tokio::test]
async fn a_fifo_planted_as_a_conversation_file_wedges_nothing_and_sigterm_still_stops_the_server() {
    let home = tempfile::tempdir().unwrap();
    let mut server = server_with_home(home.path(), "").await;
    let dir = project_dir(home.path(), &server.root.join("project"));
    std::fs::create_dir_all(&dir).unwrap();
    // Control: a real conversation next to the FIFOs is listed.
    let real = "11111111-1111-4111-8111-111111111111";
    let cwd = server.root.join("project");
    std::fs::write(
        dir.join(format!("{real}.jsonl")),
        prompt_line(&cwd, real, "hello"),
    )
    .unwrap();
    let fifo = "22222222-2222-4222-8222-222222222222";
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o600);
    nix::unistd::mkfifo(&dir.join(format!("{fifo}.jsonl")), mode).unwrap();

    assert_eq!(history_ids(&server).await, [real]);
    let (status, body) = resume_status(&server, fifo).await;
    assert_eq!(status, 404, "{body}");

    // A terminal session whose own conversation file is a FIFO: the
    // follower must not block on it.
    let s = server.create_session().await;
    let sid = s["claude_session_id"].as_str().unwrap();
    nix::unistd::mkfifo(&dir.join(format!("{sid}.jsonl")), mode).unwrap();
    server
        .wait_for_log("the follower tried the FIFO", |l| {
            l.contains("refusing to follow a conversation file") && l.contains(sid)
        })
        .await;
    // Nothing is stuck: a second listing answers, and the server stops.
    assert_eq!(history_ids(&server).await, [real]);
    assert_eq!(server.terminate(Duration::from_secs(20)), Some(0));
}

#[tokio::test]
async fn a_symlinked_conversation_file_or_folder_is_neither_listed_nor_imported() {
    let home = tempfile::tempdir().unwrap();
    let server = server_with_home(home.path(), "").await;
    let cwd = server.root.join("project");
    let dir = project_dir(home.path(), &cwd);
    std::fs::create_dir_all(&dir).unwrap();
    // Another user's file (a readable conversation, so that following the
    // link would list and import it) and /etc/shadow, linked in.
    let elsewhere = tempfile::tempdir().unwrap();
    let linked = "33333333-3333-4333-8333-333333333333";
    let theirs = elsewhere.path().join("theirs.jsonl");
    std::fs::write(&theirs, prompt_line(&cwd, linked, "someone else's words")).unwrap();
    std::os::unix::fs::symlink(&theirs, dir.join(format!("{linked}.jsonl"))).unwrap();
    let shadow = "44444444-4444-4444-8444-444444444444";
    std::os::unix::fs::symlink("/etc/shadow", dir.join(format!("{shadow}.jsonl"))).unwrap();
    // Control: a real one is listed and can be continued.
    let real = "11111111-1111-4111-8111-111111111111";
    std::fs::write(
        dir.join(format!("{real}.jsonl")),
        prompt_line(&cwd, real, "mine"),
    )
    .unwrap();

    assert_eq!(history_ids(&server).await, [real]);
    for sid in [linked, shadow] {
        let (status, body) = resume_status(&server, sid).await;
        assert_eq!(status, 404, "{sid}: {body}");
    }
    let (status, body) = resume_status(&server, real).await;
    assert_eq!(status, 201, "{body}");

    // The whole folder a symlink to a folder of conversations: not listed.
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::rename(&theirs, elsewhere.path().join(format!("{linked}.jsonl"))).unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &dir).unwrap();
    assert!(history_ids(&server).await.is_empty());
    let (status, body) = resume_status(&server, linked).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn new_sessions_are_refused_while_the_data_dir_disk_is_nearly_full() {
    // A threshold above any disk's free space: "nearly full".
    let server = TestServer::start(
        Options::shell("exec sleep 1000").toml("min_free_disk_bytes = 9223372036854775807"),
    )
    .await;
    let body = json!({"mode": "terminal", "working_dir": server.root.join("project")});
    let answer = server.create_session_as(&server.admin_token, body).await;
    let message = common::assert_error("create", &answer, 503, "disk_full");
    assert!(message.contains("disk is nearly full"), "{message}");
    let ready = call(server.req(Method::GET, "/readyz")).await;
    common::assert_error("readyz", &ready, 503, "disk_full");
    // Control: with room (the default threshold) the same request starts a session.
    let server = server.restart_with(Options::shell("exec sleep 1000")).await;
    server.create_session().await;
    assert_eq!(call(server.req(Method::GET, "/readyz")).await.0, 200);
}

/// A session's stored events (at most 1000).
async fn stored_events(server: &TestServer, id: &str) -> Vec<serde_json::Value> {
    let page = server
        .get_json(&format!("/api/claude/sessions/{id}/events?limit=1000"))
        .await;
    page["events"].as_array().unwrap().clone()
}

fn is_cap_notice(e: &serde_json::Value) -> bool {
    e["event"]["kind"] == "system"
        && e["event"]["subtype"] == "notice"
        && e["event"]["data"]["code"] == "storage_cap_reached"
}

#[tokio::test]
async fn a_conversation_file_appended_past_the_cap_stops_being_stored_and_the_session_lives_on() {
    let home = tempfile::tempdir().unwrap();
    let server = TestServer::start(Options::interactive_shell().toml(&format!(
        "session_max_events = 5\n[child_env_set]\nCLAUDE_CONFIG_DIR = {}\n",
        serde_json::to_string(home.path().to_str().unwrap()).unwrap()
    )))
    .await;
    let cwd = server.root.join("project");
    let s = server.create_session().await;
    let id = s["id"].as_str().unwrap();
    let sid = s["claude_session_id"].as_str().unwrap();
    let dir = project_dir(home.path(), &cwd);
    std::fs::create_dir_all(&dir).unwrap();
    // The agent appends to its own conversation file, as fast as it likes.
    let file = dir.join(format!("{sid}.jsonl"));
    let lines: String = (0..50)
        .map(|i| prompt_line(&cwd, sid, &format!("forged {i}")))
        .collect();
    std::fs::write(&file, &lines).unwrap();
    server
        .wait_for_log("the cap warning", |l| {
            l.contains("reached its storage cap") && l.contains(id)
        })
        .await;
    let events = stored_events(&server, id).await;
    assert_eq!(events.len(), 6, "5 events and the notice: {events:?}");
    assert!(is_cap_notice(&events[5]), "{:?}", events[5]);
    assert_eq!(events[4]["event"]["text"], "forged 4");
    // More lines: nothing more is stored (following stopped with the warning).
    std::fs::write(&file, format!("{lines}{lines}")).unwrap();
    let mut term = server.terminal(id, "").await;
    term.send_bytes(b"echo still-$((40+2))\n").await;
    term.wait_for(PROMPT, |screen| screen.contains("still-42"))
        .await;
    assert_eq!(stored_events(&server, id).await.len(), 6);
    assert_eq!(server.session(id).await["state"], "running");
    assert_eq!(
        server.log_text().matches("reached its storage cap").count(),
        1,
        "warned once"
    );
}

#[tokio::test]
async fn a_huge_conversation_file_is_imported_only_up_to_the_byte_cap() {
    let home = tempfile::tempdir().unwrap();
    let server = server_with_home(home.path(), "session_max_event_bytes = 20000").await;
    let cwd = server.root.join("project");
    let dir = project_dir(home.path(), &cwd);
    std::fs::create_dir_all(&dir).unwrap();
    let sid = "55555555-5555-4555-8555-555555555555";
    // About 4 MiB: far past the cap.
    let big = "x".repeat(1000);
    let lines: String = (0..4000)
        .map(|i| prompt_line(&cwd, sid, &format!("{i} {big}")))
        .collect();
    std::fs::write(dir.join(format!("{sid}.jsonl")), lines).unwrap();
    let (status, body) = resume_status(&server, sid).await;
    assert_eq!(status, 201, "{body}");
    let events = stored_events(&server, body["id"].as_str().unwrap()).await;
    let bytes: usize = events.iter().map(|e| e["event"].to_string().len()).sum();
    assert!(events.len() < 25, "{} events stored", events.len());
    assert!(bytes < 20000 + 2000, "{bytes} bytes stored");
    // The file was read only as far as the cap; the import says so.
    let last = &events.last().unwrap()["event"];
    assert_eq!(
        (&last["subtype"], &last["data"]["cut"]),
        (&json!("imported"), &json!(true)),
        "{last}"
    );
}

#[tokio::test]
async fn a_user_cannot_list_resume_or_import_a_conversation_ccweb_recorded_as_another_users() {
    let home = tempfile::tempdir().unwrap();
    let server = server_with_home(home.path(), "").await;
    let cwd = server.root.join("project");
    let dir = project_dir(home.path(), &cwd);
    std::fs::create_dir_all(&dir).unwrap();
    // The admin's session: ccweb records its Claude session id as theirs.
    let s = server.create_session().await;
    let theirs = s["claude_session_id"].as_str().unwrap().to_owned();
    server.stop_session(s["id"].as_str().unwrap()).await;
    std::fs::write(
        dir.join(format!("{theirs}.jsonl")),
        prompt_line(&cwd, &theirs, "the admin's secret plan"),
    )
    .unwrap();
    let bob = server.add_user("bob", "bob-password-1");
    let q = history_path(&server);
    let (status, listed) = call(server.req_as(&bob, Method::GET, &q)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["conversations"], json!([]), "not listed for bob");
    let body = json!({"mode": "terminal", "working_dir": cwd, "resume": theirs});
    let (status, refused) = server.create_session_as(&bob, body.clone()).await;
    assert_eq!(status, 404, "{refused}");
    assert_eq!(refused["error"]["code"], "not_found");
    // Control: its owner lists and continues it.
    assert_eq!(history_ids(&server).await, std::slice::from_ref(&theirs));
    let (status, mine) = server.create_session_as(&server.admin_token, body).await;
    assert_eq!(status, 201, "{mine}");
    let events = stored_events(&server, mine["id"].as_str().unwrap()).await;
    assert_eq!(events[0]["event"]["text"], "the admin's secret plan");
}

#[tokio::test]
async fn a_chat_session_past_its_event_cap_tells_its_viewers_once_and_keeps_running() {
    let Some(common::ClaudeSetup {
        server,
        fake,
        _home,
    }) = common::claude_setup("session_max_events = 40").await
    else {
        return;
    };
    let id = common::chat::chat_session(&server, json!({})).await;
    let mut chat = common::chat::Chat::connect(&server, &id, "").await;
    // Turns until the cap: each stores a prompt, deltas, a reply, a result…
    let mut turns = 0;
    while !chat
        .events
        .iter()
        .any(|(_, e)| e["data"]["code"] == "storage_cap_reached")
    {
        turns += 1;
        assert!(turns < 40, "never capped: {}", chat.dump());
        fake.push(fake_anthropic::Reply::text(format!(
            "Reply number {turns}."
        )));
        let mark = chat.prompt(&format!("turn {turns}")).await;
        chat.wait_event_from(mark, |e| {
            e["kind"] == "result" || e["data"]["code"] == "storage_cap_reached"
        })
        .await;
    }
    let stored = stored_events(&server, &id).await;
    assert_eq!(stored.len(), 41, "40 events and the notice");
    assert!(is_cap_notice(stored.last().unwrap()));
    // The CLI still runs and answers; nothing more is stored or shown.
    let asked = fake.requests().len();
    fake.push(fake_anthropic::Reply::text("Unseen reply."));
    chat.prompt("one more").await;
    common::eventually(PROMPT, "the CLI answers past the cap", || {
        fake.requests().len() > asked
    })
    .await;
    server
        .wait_for_log("the cap warning", |l| l.contains("reached its storage cap"))
        .await;
    assert_eq!(server.session(&id).await["state"], "running");
    assert_eq!(stored_events(&server, &id).await.len(), 41);
    let notices = chat
        .events
        .iter()
        .filter(|(_, e)| e["data"]["code"] == "storage_cap_reached")
        .count();
    assert_eq!(notices, 1, "told once");
}
