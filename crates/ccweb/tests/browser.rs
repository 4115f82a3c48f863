//! End to end in a real browser: Debian's chromium driven by playwright-core
//! (web/e2e/*.mjs) against the real ccweb, the real Claude Code CLI and the
//! fake Messages API, at a desktop size and at 390×844.
#![allow(clippy::unwrap_used)]

mod common;

use common::{claude_setup, ClaudeSetup, Options, TestServer};
use fake_anthropic::Reply;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

const VIEWPORTS: [&str; 2] = ["desktop", "mobile"];
const PASSWORD: &str = "browser-password-1";

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

/// `false` when browser tests are skipped on purpose (saying so; under
/// `CI=true` that fails); panics when something they need is missing, so a
/// green run always means they ran.
fn browser_ready() -> bool {
    if std::env::var("CCWEB_SKIP_BROWSER_TESTS").is_ok_and(|v| v == "1") {
        fake_anthropic::skip_or_fail("CCWEB_SKIP_BROWSER_TESTS=1 asks to skip the browser tests");
        return false;
    }
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is missing: apt-get install -y chromium (scripts/test.sh does)"
    );
    let web = web_dir();
    assert!(
        web.join("node_modules/playwright-core").is_dir(),
        "web/node_modules is missing: run scripts/build-web.sh"
    );
    assert!(
        web.join("dist/index.html").is_file(),
        "the web UI is not built: run scripts/build-web.sh"
    );
    true
}

/// A server running the real CLI against the fake Messages API, for a
/// browser flow; `None` when browser tests are skipped (see `browser_ready`).
async fn browser_setup() -> Option<ClaudeSetup> {
    if !browser_ready() {
        return None;
    }
    claude_setup("").await
}

/// Runs `web/e2e/<name>.mjs` against `server`; panics with its output on failure.
async fn flow(server: &TestServer, name: &str, viewport: &str, user: &str) {
    flow_with(server, name, viewport, user, &[]).await;
}

/// `flow` with extra environment for the script.
async fn flow_with(
    server: &TestServer,
    name: &str,
    viewport: &str,
    user: &str,
    vars: &[(&str, &str)],
) {
    let artifacts = std::env::temp_dir().join("ccweb-e2e");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(format!("e2e/{name}.mjs"))
        .current_dir(web_dir())
        .env("CCWEB_URL", format!("{}/", server.base))
        .env("CCWEB_USER", user)
        .env("CCWEB_PASSWORD", PASSWORD)
        .env("CCWEB_PROJECT", server.root.join("project"))
        .env("CCWEB_VIEWPORT", viewport)
        .env("CCWEB_ARTIFACTS", &artifacts)
        .envs(vars.iter().copied())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("the browser flow took over 3 minutes")
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "browser flow {name} ({viewport}) failed:\n{text}\nserver log tail:\n{}",
        tail(&server.log_text())
    );
    eprint!("{text}");
}

fn tail(s: &str) -> String {
    s.lines()
        .rev()
        .take(30)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn login_then_a_terminal_session_answers_and_survives_a_reload() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.add_user("alice", PASSWORD);
    for viewport in VIEWPORTS {
        fake.push(Reply::text("Hello from the browser test."));
        flow(&server, "terminal", viewport, "alice").await;
    }
}

#[tokio::test]
async fn a_terminal_sessions_transcript_is_drawn_like_a_chat() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.add_user("alice", PASSWORD);
    let notes = server.root.join("project/notes.md");
    std::fs::write(&notes, "the notes\n").unwrap();
    for viewport in VIEWPORTS {
        fake.push(Reply::tool_use("Read", json!({"file_path": notes})));
        fake.push(Reply::text("**Bold** words from the notes, with `code`."));
        flow(&server, "transcript", viewport, "alice").await;
    }
}

#[tokio::test]
async fn a_chat_session_streams_asks_permission_and_can_be_interrupted() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.add_user("alice", PASSWORD);
    let project = server.root.join("project");
    for viewport in VIEWPORTS {
        let allowed = project.join(format!("allowed-{viewport}.txt"));
        let denied = project.join(format!("denied-{viewport}.txt"));
        fake.push(Reply::TextChunks(
            vec!["Streamed ".into(), "chat ".into(), "reply.".into()],
            Duration::from_millis(100),
        ));
        fake.push(Reply::tool_use(
            "Write",
            json!({"file_path": allowed, "content": "yes"}),
        ));
        fake.push(Reply::text("Wrote it."));
        fake.push(Reply::tool_use(
            "Write",
            json!({"file_path": denied, "content": "no"}),
        ));
        fake.push(Reply::text("Understood, not writing."));
        let edited = project.join(format!("edit-{viewport}.txt"));
        std::fs::write(&edited, "one\ntwo\nthree\n").unwrap();
        fake.push(Reply::tool_use("Read", json!({"file_path": edited})));
        fake.push(Reply::tool_use(
            "Edit",
            json!({"file_path": edited, "old_string": "three", "new_string": "3"}),
        ));
        fake.push(Reply::text("Edited line three."));
        fake.push(Reply::tool_use(
            "AskUserQuestion",
            json!({"questions": [{
                "question": "Which colour should the button be?",
                "header": "Colour",
                "multiSelect": false,
                "options": [
                    {"label": "Blue", "description": "Calm, and matches the logo"},
                    {"label": "Orange", "description": "Stands out"}
                ]
            }]}),
        ));
        fake.push(Reply::text("Blue it is."));
        let slow: Vec<String> = (0..60).map(|i| format!("slow{i} ")).collect();
        fake.push(Reply::TextChunks(slow, Duration::from_millis(200)));
        fake.push(Reply::text("After the interrupt."));
        flow(&server, "chat", viewport, "alice").await;
        assert_eq!(
            std::fs::read_to_string(&allowed).unwrap(),
            "yes",
            "the allowed write happened"
        );
        assert!(!denied.exists(), "the denied write did not happen");
        assert_eq!(std::fs::read_to_string(&edited).unwrap(), "one\ntwo\n3\n");
    }
}

#[tokio::test]
async fn a_new_session_starts_in_the_typed_directory_and_offers_only_allowed_modes() {
    let Some(ClaudeSetup {
        server,
        fake: _fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.add_user("alice", PASSWORD);
    for viewport in VIEWPORTS {
        let other = server
            .root
            .join("project")
            .join(format!("other-{viewport}"));
        std::fs::create_dir(&other).unwrap();
        let other = other.to_str().unwrap();
        flow_with(
            &server,
            "newsession",
            viewport,
            "alice",
            &[("CCWEB_OTHER_DIR", other)],
        )
        .await;
    }
}

#[tokio::test]
async fn the_app_works_behind_a_proxy_at_a_sub_path() {
    let Some(ClaudeSetup {
        server,
        fake: _fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.add_user("alice", PASSWORD);
    flow(&server, "subpath", "desktop", "alice").await;
}

#[tokio::test]
async fn an_admin_manages_tokens_users_and_reads_the_audit_log() {
    let Some(ClaudeSetup {
        server,
        fake: _fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.cli(
        &["user", "add", "root", "--admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    for viewport in VIEWPORTS {
        flow(&server, "account", viewport, "root").await;
    }
}

#[tokio::test]
async fn the_list_names_sessions_by_first_prompt_searches_conversations_and_admins_see_all() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.cli(
        &["user", "add", "root", "--admin", "--password-stdin"],
        Some(&format!("{PASSWORD}\n")),
    );
    let bob = server.add_user("bob", PASSWORD);
    for viewport in VIEWPORTS {
        let (status, s) = server
            .create_session_as(
                &bob,
                json!({"mode": "chat", "working_dir": server.root.join("project")}),
            )
            .await;
        assert_eq!(status, 201, "{s}");
        let other = s["id"].as_str().unwrap().to_owned();
        fake.push(Reply::text("Pelicans fish in the quetzal river."));
        // Slow: the list shows it working, then waiting, without a reload.
        let mut chunks = vec!["You are welcome.".to_owned()];
        chunks.extend((0..40).map(|_| " .".to_owned()));
        fake.push(Reply::TextChunks(chunks, Duration::from_millis(150)));
        flow_with(
            &server,
            "sessionlist",
            viewport,
            "root",
            &[("CCWEB_OTHER_SESSION", &other)],
        )
        .await;
    }
}

#[tokio::test]
async fn a_share_link_shows_the_session_read_only_until_revoked() {
    let Some(ClaudeSetup {
        server,
        fake: _fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.add_user("alice", PASSWORD);
    server.add_user("bob", PASSWORD);
    for viewport in VIEWPORTS {
        flow_with(
            &server,
            "share",
            viewport,
            "alice",
            &[("CCWEB_VIEWER", "bob")],
        )
        .await;
    }
}

#[tokio::test]
async fn a_terminal_on_two_screens_has_one_size_owner_and_the_other_screen_scales_and_can_fit() {
    let Some(ClaudeSetup {
        server,
        fake: _fake,
        _home,
    }) = browser_setup().await
    else {
        return;
    };
    server.add_user("alice", PASSWORD);
    for viewport in VIEWPORTS {
        flow(&server, "two_screens", viewport, "alice").await;
    }
}

#[tokio::test]
async fn the_first_admin_logs_in_by_the_link_sets_a_password_and_a_theme_and_is_not_locked_out() {
    if !browser_ready() {
        return;
    }
    // The link works once: a server of its own per size.
    for viewport in VIEWPORTS {
        let server = TestServer::start_keeping_login_link(Options::shell("exec sleep 1000")).await;
        flow_with(
            &server,
            "first_login",
            viewport,
            "admin",
            &[("CCWEB_LOGIN_URL", &server.login_url)],
        )
        .await;
    }
}
