//! Stopping a session ends every process it started, with both
//! containment backends: grandchildren in the background and ones that
//! called `setsid`, children that ignore SIGTERM; and no zombies remain.
#![allow(clippy::unwrap_used)]

use ccweb_runner::chat::{spawn_chat, ChatConfig};
use ccweb_runner::{
    spawn_terminal, Containment, EndReason, LifecycleConfig, SpawnSpec, TerminalConfig,
};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Starts two grandchildren (one in the background, one in a new session)
/// that record their pids, then waits; `trap` makes every shell ignore SIGTERM.
fn script(dir: &Path, ignore_term: bool) -> String {
    let trap = if ignore_term { "trap '' TERM; " } else { "" };
    format!(
        "{trap}cd {dir}; sleep 1000 & echo $! > bg; setsid sh -c '{trap}echo $$ > sid; exec sleep 1000' & \
         while [ ! -s sid ]; do sleep 0.01; done; echo ready > ready; while true; do sleep 1; done",
        dir = dir.display()
    )
}

fn spec(script: String, containment: Containment) -> SpawnSpec {
    SpawnSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: std::env::temp_dir(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        cols: 80,
        rows: 24,
        containment,
        sandbox: None,
        launch: None,
    }
}

fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

async fn wait_for_file(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Both grandchildren are gone: not running, and not left as zombies.
async fn assert_gone(pids: &[i32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    for &pid in pids {
        while let Some(s) = state(pid) {
            assert!(
                Instant::now() < deadline,
                "process {pid} is still there (state {s})"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn stop_terminal_kills_everything(containment: Containment, ignore_term: bool) {
    let dir = tempfile::tempdir().unwrap();
    let tracker = TaskTracker::new();
    let config = TerminalConfig {
        lifecycle: LifecycleConfig {
            stop_grace: Duration::from_millis(500),
            ..Default::default()
        },
        ..TerminalConfig::default()
    };
    let h = spawn_terminal(
        spec(script(dir.path(), ignore_term), containment),
        config,
        CancellationToken::new(),
        &tracker,
    )
    .unwrap();
    let pids = [
        wait_for_file(&dir.path().join("bg")).await,
        wait_for_file(&dir.path().join("sid")).await,
    ];
    wait_for_file(&dir.path().join("sid")).await;
    assert!(
        pids.iter().all(|p| state(*p).is_some_and(|s| s != 'Z')),
        "both run"
    );
    let started = Instant::now();
    h.stop(EndReason::Stop).await;
    let info = tokio::time::timeout(Duration::from_secs(10), h.wait())
        .await
        .unwrap();
    if ignore_term {
        assert_eq!(info.code, 137, "SIGKILL after the grace period");
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
    assert_gone(&pids).await;
    assert_gone(&[h.pid()]).await;
}

#[tokio::test]
async fn stop_kills_background_and_setsid_grandchildren_in_a_cgroup_or_the_fallback() {
    let data = tempfile::tempdir().unwrap();
    let containment = Containment::init(data.path(), Default::default());
    eprintln!("backend: {}", containment.kind());
    stop_terminal_kills_everything(containment, false).await;
}

#[tokio::test]
async fn stop_kills_setsid_grandchildren_with_the_process_tree_backend() {
    // The reaper (a side effect of init) collects the killed orphans.
    let data = tempfile::tempdir().unwrap();
    let _ = Containment::init(data.path(), Default::default());
    stop_terminal_kills_everything(Containment::process_tree(), false).await;
}

#[tokio::test]
async fn children_that_ignore_sigterm_are_killed_after_the_grace_period() {
    let data = tempfile::tempdir().unwrap();
    stop_terminal_kills_everything(Containment::init(data.path(), Default::default()), true).await;
    stop_terminal_kills_everything(Containment::process_tree(), true).await;
}

#[tokio::test]
async fn stopping_a_chat_session_kills_its_setsid_grandchildren() {
    let data = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tracker = TaskTracker::new();
    let config = ChatConfig {
        lifecycle: LifecycleConfig {
            stop_grace: Duration::from_millis(500),
            ..Default::default()
        },
        ..ChatConfig::default()
    };
    let (h, mut events) = spawn_chat(
        spec(
            script(dir.path(), false),
            Containment::init(data.path(), Default::default()),
        ),
        config,
        CancellationToken::new(),
        &tracker,
    )
    .unwrap();
    // Drain events so the actor never waits on a full queue.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let pids = [
        wait_for_file(&dir.path().join("bg")).await,
        wait_for_file(&dir.path().join("sid")).await,
    ];
    h.stop(EndReason::Stop).await;
    tokio::time::timeout(Duration::from_secs(10), h.wait())
        .await
        .unwrap();
    assert_gone(&pids).await;
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let mut s = spec(String::new(), Containment::default());
    s.program = "/no/such/claude".into();
    let err = spawn_terminal(
        s,
        TerminalConfig::default(),
        CancellationToken::new(),
        &TaskTracker::new(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/no/such/claude"), "{err}");
}
