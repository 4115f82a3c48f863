//! `sandbox = "bubblewrap"`: a session sees its own root read-write and
//! nothing of the other allowed roots or the data dir; the real CLI works
//! inside it; a sandbox that cannot work stops the start (fail closed).
#![allow(clippy::unwrap_used)]

mod common;

use common::chat::{chat_session, Chat};
use common::{p, Options, TestServer};
use fake_anthropic::Reply;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

/// Whether a process under the server runs `bwrap` (the sandbox is really used).
fn runs_bwrap(server: &TestServer) -> bool {
    server.children().iter().any(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains("bwrap"))
    })
}

/// Whether bubblewrap can build a sandbox here; tests skip (saying so, and
/// failing under `CI=true`, where scripts/test.sh installs it) when not.
fn bwrap_works() -> bool {
    let ok = std::process::Command::new("/usr/bin/bwrap")
        .args(["--ro-bind", "/", "/", "--unshare-pid", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        fake_anthropic::skip_or_fail(
            "/usr/bin/bwrap cannot build a sandbox here (apt-get install bubblewrap; \
             scripts/test.sh does)",
        );
    }
    ok
}

#[tokio::test]
async fn a_sandboxed_session_uses_its_root_but_cannot_see_another_root_or_the_data_dir() {
    if !bwrap_works() {
        return;
    }
    let dirs = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(dirs.path()).unwrap();
    // Both roots inside the CLI's HOME, which is bound read-write: B must
    // be covered, not just left out.
    let home = base.join("home");
    let (a, b) = (home.join("a"), home.join("b"));
    for d in [&a, &b, &home] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(b.join("secret"), "the-secret-of-b").unwrap();
    std::fs::write(a.join("mine"), "content-of-a").unwrap();
    // An interactive shell, so the commands can name the data dir (known
    // only once the server runs).
    let mut options = Options::interactive_shell().toml("sandbox = \"bubblewrap\"");
    options.env = vec![
        (
            "CCWEB_ALLOWED_ROOTS".into(),
            format!("{},{}", a.display(), b.display()),
        ),
        ("HOME".into(), home.display().to_string()),
    ];
    let server = TestServer::start(options).await;
    let data_dir = std::fs::canonicalize(&server.data_dir).unwrap();
    assert!(data_dir.join("ccweb.db").exists());
    let (status, s) = server
        .create_session_as(
            &server.admin_token,
            json!({"mode": "terminal", "working_dir": p(&a)}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let mut c = server.terminal(s["id"].as_str().unwrap(), "").await;
    let commands = format!(
        "cat {b}/secret; echo read-b=$?; echo written > {a}/new && echo write-a=o''k; cat {a}/mine; echo; \
         ls {data}/ccweb.db; echo data=$?; echo do''ne\r",
        a = a.display(),
        b = b.display(),
        data = data_dir.display(),
    );
    c.send_bytes(commands.as_bytes()).await;
    c.wait_for(T, |s| s.contains("done")).await;
    assert!(runs_bwrap(&server), "the shell runs under bwrap");
    let screen = c.screen();
    assert!(!screen.contains("the-secret-of-b"), "{screen}");
    assert!(screen.contains("read-b=1"), "B is not there: {screen}");
    assert!(screen.contains("write-a=ok"), "{screen}");
    assert!(screen.contains("content-of-a"), "{screen}");
    assert!(
        screen.contains("data=2"),
        "the database is not there: {screen}"
    );
    assert_eq!(std::fs::read_to_string(a.join("new")).unwrap(), "written\n");
}

#[tokio::test]
async fn the_real_cli_answers_in_a_sandboxed_terminal_and_chat_session() {
    if !bwrap_works() {
        return;
    }
    let Some(common::ClaudeSetup {
        server,
        fake,
        _home,
    }) = common::claude_setup("sandbox = \"bubblewrap\"").await
    else {
        return;
    };
    // Chat: stream-json over pipes, in a new session (no controlling terminal).
    fake.push(Reply::text("Hello from inside the sandbox."));
    let id = chat_session(&server, json!({})).await;
    let mut chat = Chat::connect(&server, &id, "").await;
    chat.turn("Say hello").await;
    assert!(
        chat.reply_text().contains("Hello from inside the sandbox."),
        "{}",
        chat.dump()
    );
    // Terminal: the TUI on its PTY.
    fake.push(Reply::text("Terminal reply from the sandbox."));
    let id = server.create_session_id().await;
    let mut c = server.terminal(&id, "").await;
    c.wait_for(T, |s| s.contains("? for shortcuts")).await;
    common::submit(&mut c, "Greet me").await;
    c.wait_for(T, |s| s.contains("Terminal reply from the sandbox."))
        .await;
    assert!(runs_bwrap(&server), "the CLI runs under bwrap");
}

#[test]
fn a_sandbox_that_cannot_work_stops_the_start_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (bwrap, why) in [("/no/such/bwrap", "missing"), ("/bin/false", "probe fails")] {
        let out = common::run_with_input(
            common::ccweb(dir.path(), dir.path(), &["serve"])
                .env("CCWEB_SANDBOX", "bubblewrap")
                .env("CCWEB_SANDBOX_BWRAP", bwrap)
                .env("CCWEB_LISTEN", "127.0.0.1:0"),
            "",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{why}: {stderr}");
        assert!(stderr.contains("sandbox"), "{why}: {stderr}");
        assert!(stderr.contains(bwrap), "{why}: {stderr}");
    }
}
