//! Exports: Markdown and JSON of stored events, asciicast v2 recordings of
//! terminal sessions, over HTTP and with `ccweb export`, which reads the
//! data directory directly and writes the same bytes.
#![allow(clippy::unwrap_used)]

mod common;

use common::chat::{ask_to_write, chat_session, kind, Chat};
use common::{claude_setup, ClaudeSetup, Options, TestServer, SESSIONS};
use fake_anthropic::Reply;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// A program that draws a known screen, waits for a line, echoes it, exits.
const SCREEN_SCRIPT: &str = r#"printf '\033[2J\033[HWelcome to the recorder\r\nh\303\251llo \342\230\203 done\r\n'; read x; printf 'got %s\r\n' "$x""#;

async fn export(server: &TestServer, id: &str, format: &str) -> (u16, String, String) {
    let resp = server
        .req(
            reqwest::Method::GET,
            &format!("{SESSIONS}/{id}/export?format={format}"),
        )
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let mime = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, mime, resp.text().await.unwrap())
}

/// Parses an asciicast v2 recording, checks its form, and replays it
/// through a terminal emulator: (header, events, final screen).
fn replay(cast: &str) -> (Value, Vec<Value>, String) {
    let mut lines = cast.lines();
    let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["version"], 2, "{header}");
    assert!(header["timestamp"].as_u64().unwrap() > 1_600_000_000);
    assert_eq!(header["env"]["TERM"], "xterm-256color");
    let (mut cols, mut rows) = (
        header["width"].as_u64().unwrap() as u16,
        header["height"].as_u64().unwrap() as u16,
    );
    let mut parser = vt100::Parser::new(rows.try_into().unwrap(), cols.try_into().unwrap(), 0);
    let mut events = Vec::new();
    let mut last = 0.0;
    for line in lines {
        let e: Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}"));
        let t = e[0].as_f64().unwrap();
        assert!(t >= last, "timestamps must not decrease: {last} then {t}");
        last = t;
        match e[1].as_str().unwrap() {
            "o" => parser.process(e[2].as_str().unwrap().as_bytes()),
            "r" => {
                let (c, r) = e[2].as_str().unwrap().split_once('x').unwrap();
                (cols, rows) = (c.parse().unwrap(), r.parse().unwrap());
                parser.set_size(rows.try_into().unwrap(), cols.try_into().unwrap());
            }
            "m" => {}
            other => panic!("unknown event type {other}"),
        }
        events.push(e);
    }
    (header, events, parser.screen().contents())
}

fn mode_of(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn a_terminal_session_is_recorded_and_exports_in_every_format_over_http_and_the_cli() {
    let server = TestServer::start(Options::shell(SCREEN_SCRIPT)).await;
    let body = json!({"mode": "terminal", "working_dir": server.root.join("project"), "cols": 90, "rows": 20, "title": "Recorded"});
    let (status, s) = server.create_session_as(&server.admin_token, body).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let mut term = server.terminal(&id, "").await;
    term.wait_for(T, |s| s.contains("done")).await;
    term.send_text(json!({"type": "resize", "cols": 100, "rows": 30}))
        .await;
    term.wait_control("resize").await;
    term.send_bytes(b"typed\r").await;
    server.wait_state(&id, "exited", T).await;

    let (status, mime, cast) = export(&server, &id, "asciicast").await;
    assert_eq!(status, 200, "{cast}");
    assert_eq!(mime, "application/x-asciicast");
    let (header, events, screen) = replay(&cast);
    assert_eq!(
        (header["width"].as_u64(), header["height"].as_u64()),
        (Some(90), Some(20))
    );
    assert!(
        events.iter().any(|e| e[1] == "r" && e[2] == "100x30"),
        "{events:?}"
    );
    for expected in ["Welcome to the recorder", "héllo ☃ done", "got typed"] {
        assert!(screen.contains(expected), "{expected:?} replays:\n{screen}");
    }
    let file = server.data_dir.join(format!("recordings/{id}.cast"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), cast);
    assert_eq!(mode_of(&file), 0o600);

    // The command line writes the same bytes, to stdout or to a 0600 file.
    let out = server.cli(&["export", &id, "--format", "asciicast"], None);
    assert_eq!(out, cast);
    let target = server.dir.path().join("out.md");
    let out = server.cli(&["export", &id, "-o", target.to_str().unwrap()], None);
    assert!(out.is_empty());
    assert_eq!(mode_of(&target), 0o600);
    let (status, mime, md) = export(&server, &id, "markdown").await;
    assert_eq!(
        (status, mime.as_str()),
        (200, "text/markdown; charset=utf-8")
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), md);
    assert!(md.starts_with("# Recorded\n"), "{md}");
    let (status, _, j) = export(&server, &id, "json").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["session"]["id"], id.as_str());
    assert!(v["events"].is_array());
    assert_eq!(
        serde_json::from_str::<Value>(&server.cli(&["export", &id, "--format", "json"], None))
            .unwrap(),
        v
    );

    // Bad usage and unknown sessions.
    let bad = server.cli_output(&["export", &id, "--format", "pdf"], None);
    assert_eq!(bad.status.code(), Some(2));
    let unknown = uuid::Uuid::new_v4().to_string();
    for missing in [unknown.as_str(), "not-a-uuid"] {
        let out = server.cli_output(&["export", missing], None);
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("no session {missing}")), "{err}");
    }
    let (status, _, body) = export(&server, &id, "pdf").await;
    assert_eq!(status, 400, "{body}");

    // Purging the session removes its recording.
    let resp = server
        .req(
            reqwest::Method::DELETE,
            &format!("{SESSIONS}/{id}?purge=true"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(!file.exists());
}

#[tokio::test]
async fn the_recording_cap_stops_recording_with_a_marker_and_zero_turns_it_off() {
    let script = "i=0; while [ $i -lt 400 ]; do printf '%s\\r\\n' 0123456789012345678901234567890123456789; i=$((i+1)); done; echo END; read x";
    let server = TestServer::start(Options::shell(script).toml("recording_max_bytes = 4096")).await;
    let id = server.create_session_id().await;
    let mut term = server.terminal(&id, "").await;
    // All of it was written (and so offered to the recording) before the stop.
    term.wait_for(T, |s| s.contains("END")).await;
    server.stop_session(&id).await;
    let (status, _, cast) = export(&server, &id, "asciicast").await;
    assert_eq!(status, 200);
    assert!(cast.len() <= 4096, "{} bytes", cast.len());
    let (_, events, _) = replay(&cast);
    let last = events.last().unwrap();
    assert_eq!(last[1], "m");
    assert!(
        last[2]
            .as_str()
            .unwrap()
            .contains("size limit of 4096 bytes"),
        "{last}"
    );
    drop(server);

    let server =
        TestServer::start(Options::shell(SCREEN_SCRIPT).toml("recording_max_bytes = 0")).await;
    let id = server.create_session_id().await;
    let mut term = server.terminal(&id, "").await;
    term.wait_for(T, |s| s.contains("done")).await;
    server.stop_session(&id).await;
    let (status, _, body) = export(&server, &id, "asciicast").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no terminal recording"), "{body}");
    assert!(!server
        .data_dir
        .join(format!("recordings/{id}.cast"))
        .exists());
    let out = server.cli_output(&["export", &id, "--format", "asciicast"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no terminal recording"));
}

#[tokio::test]
async fn recordings_of_sessions_not_run_within_the_retention_are_deleted() {
    let server =
        TestServer::start(Options::shell(SCREEN_SCRIPT).toml("recording_retention_days = 2")).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = server.create_session_id().await;
        let mut term = server.terminal(&id, "").await;
        term.wait_for(T, |s| s.contains("done")).await;
        server.stop_session(&id).await;
        ids.push(id);
    }
    let cast = |id: &str| server.data_dir.join(format!("recordings/{id}.cast"));
    let (old, recent) = (cast(&ids[0]), cast(&ids[1]));
    // The first session last ran three days ago.
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(std::time::SystemTime::now() - Duration::from_secs(3 * 86_400))
        .unwrap();
    // Pruning runs at start (then hourly).
    let server = server.restart().await;
    let deadline = std::time::Instant::now() + T;
    while old.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} is still there",
            old.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(recent.exists(), "a recording within the retention stays");
    let (status, _, body) = export(&server, &ids[0], "asciicast").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no terminal recording"), "{body}");
    assert_eq!(export(&server, &ids[1], "asciicast").await.0, 200);
    // The session itself and its other exports are kept.
    assert_eq!(export(&server, &ids[0], "json").await.0, 200);
}

#[test]
fn export_without_a_database_says_there_is_no_such_session() {
    let tmp = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4().to_string();
    let out = common::ccweb(&tmp.path().join("data"), tmp.path(), &["export", &id])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("no session {id}")), "{err}");
}

#[tokio::test]
async fn a_chat_session_exports_its_conversation_tool_calls_and_decisions() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    fake.push(Reply::text("Hello from the export test."));
    let id = chat_session(&server, json!({"title": "Chat export"})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    chat.turn("Say hello for the export").await;
    let file = server.root.join("project/exported.txt");
    let req = ask_to_write(
        &mut chat,
        &fake,
        file.to_str().unwrap(),
        "line one\nline two",
    )
    .await;
    chat.send(json!({"type": "permission_response", "request_id": req["request_id"], "behavior": "allow"}))
        .await;
    chat.wait_event(kind("tool_result")).await;
    chat.wait_count(2, kind("result")).await;
    server.stop_session(&id).await;

    let (status, _, md) = export(&server, &id, "markdown").await;
    assert_eq!(status, 200);
    for expected in [
        "# Chat export",
        "## admin\n\nSay hello for the export",
        "## Claude\n\nHello from the export test.",
        &format!("**Write** `{}`", file.display()),
        "```diff\n--- /dev/null\n",
        "+line one\n+line two\n```",
        "> Permission for **Write** allowed by admin",
        "<summary>Write result</summary>",
        "_Turn: $",
    ] {
        assert!(md.contains(expected), "{expected:?} in:\n{md}");
    }
    assert_eq!(server.cli(&["export", &id], None), md);

    let (status, _, j) = export(&server, &id, "json").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&j).unwrap();
    let events = v["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["event"]["kind"] == "user_message"
        && e["event"]["text"] == "Say hello for the export"));
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let (status, _, _) = export(&server, &id, "asciicast").await;
    assert_eq!(status, 404, "chat sessions have no recording");
}

#[tokio::test]
async fn the_real_cli_terminal_session_replays_its_welcome_screen() {
    let Some(ClaudeSetup {
        server,
        fake: _fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    let id = server.create_session_id().await;
    let mut term = server.terminal(&id, "").await;
    term.wait_for(T, |s| {
        s.contains("Claude Code v") && s.contains("? for shortcuts")
    })
    .await;
    server.stop_session(&id).await;
    let (status, _, cast) = export(&server, &id, "asciicast").await;
    assert_eq!(status, 200);
    let (_, events, _) = replay(&cast);
    // Replaying up to the welcome screen (the CLI clears parts of it as it exits).
    let header: Value = serde_json::from_str(cast.lines().next().unwrap()).unwrap();
    let mut parser = vt100::Parser::new(
        (header["height"].as_u64().unwrap() as u16)
            .try_into()
            .unwrap(),
        (header["width"].as_u64().unwrap() as u16)
            .try_into()
            .unwrap(),
        0,
    );
    let mut seen = false;
    for e in &events {
        if e[1] == "o" {
            parser.process(e[2].as_str().unwrap().as_bytes());
            let screen = parser.screen().contents();
            if screen.contains("Claude Code v") && screen.contains("? for shortcuts") {
                seen = true;
                break;
            }
        }
    }
    assert!(seen, "the welcome screen replays from the recording");
}
