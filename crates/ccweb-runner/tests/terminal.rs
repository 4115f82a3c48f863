//! PTY mechanics of the session actor, with plain shell programs.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use ccweb_runner::{
    spawn_terminal, EndReason, LifecycleConfig, SpawnSpec, TerminalConfig, TerminalHandle,
    ViewerEvent,
};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

fn sh(script: &str) -> SpawnSpec {
    SpawnSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        cwd: std::env::temp_dir(),
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        cols: 80,
        rows: 24,
        containment: Default::default(),
        sandbox: None,
        launch: None,
    }
}

fn start(script: &str, config: TerminalConfig) -> (TerminalHandle, TaskTracker, CancellationToken) {
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let h = spawn_terminal(sh(script), config, cancel.clone(), &tracker).unwrap();
    (h, tracker, cancel)
}

/// Collects output until Exit; returns (bytes, exit code).
async fn drain(viewer: &mut ccweb_runner::Viewer) -> (Vec<u8>, i32) {
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), viewer.recv())
            .await
            .expect("viewer stalled")
        {
            Some(ViewerEvent::Output(b)) | Some(ViewerEvent::Snapshot(b)) => {
                out.extend_from_slice(&b)
            }
            Some(ViewerEvent::Resize { .. } | ViewerEvent::SizeOwner { .. }) => {}
            Some(ViewerEvent::Exit { code }) => return (out, code),
            None => panic!("ended without exit"),
        }
    }
}

/// Reads until Exit, sleeping `pause` after every event: (bytes, code,
/// re-syncs).
async fn read_slowly(mut v: ccweb_runner::Viewer, pause: Duration) -> (Vec<u8>, i32, u64) {
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(20), v.recv())
            .await
            .expect("viewer stalled")
        {
            Some(ViewerEvent::Output(b)) | Some(ViewerEvent::Snapshot(b)) => {
                out.extend_from_slice(&b);
                tokio::time::sleep(pause).await;
            }
            Some(ViewerEvent::Resize { .. } | ViewerEvent::SizeOwner { .. }) => {}
            Some(ViewerEvent::Exit { code }) => return (out, code, v.resyncs()),
            None => panic!("ended without exit"),
        }
    }
}

/// A 64 KiB viewer queue: a few ms of a fast stream.
fn small_queue() -> TerminalConfig {
    TerminalConfig {
        viewer_queue_bytes: 64 * 1024,
        ..Default::default()
    }
}

/// Once a line is typed ([`go`], after the viewers attached), `raw` zero
/// bytes as base64 in 100 columns, then `DONE-MARKER`; `exact`: no `\r`
/// added (`stty -onlcr`), for [`assert_every_base64_byte`].
fn base64_stream(raw: usize, exact: bool) -> String {
    let onlcr = if exact { "stty -onlcr; " } else { "" };
    format!("{onlcr}read -r _; head -c {raw} /dev/zero | base64 -w 100; echo DONE-MARKER")
}

/// Types the line a program waits for before its output (`read -r _`): a
/// barrier that every viewer attached before, where a fixed pause in the
/// program would race with a busy machine.
async fn go(h: &TerminalHandle) {
    h.input(Bytes::from_static(b"\r")).await.unwrap();
}

/// The 80×24 screen that `out` leaves, as text.
fn final_screen(out: &[u8]) -> String {
    let mut p = vt100::Parser::new(24.try_into().unwrap(), 80.try_into().unwrap(), 0);
    p.process(out);
    p.screen().contents()
}

/// `out` ends with exactly the `raw` zero bytes as base64 (100 columns,
/// `stty -onlcr`) and `DONE-MARKER`: every byte, once, in order.
fn assert_every_base64_byte(out: &[u8], raw: usize) {
    let b64 = raw.div_ceil(3) * 4;
    let want = b64 + b64.div_ceil(100) + "DONE-MARKER\n".len();
    let text = String::from_utf8_lossy(out);
    let from = text.find("AAAA").expect("output arrived");
    assert_eq!(text.len() - from, want, "every byte, once, in order");
    assert!(text.ends_with("DONE-MARKER\n"));
}

fn pid_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// How long a test waits for something that must happen: generous, as the
/// suite runs on busy two-core machines.
const WAIT: Duration = Duration::from_secs(30);

/// Polls `f` until it holds; panics naming `what` after [`WAIT`].
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + WAIT;
    while !f() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn all_output_written_before_exit_reaches_the_viewer_before_the_exit_event() {
    // 4 MB of output, then exit 7 immediately: the ttyd failure case.
    let (h, _t, _c) = start(
        "read -r _; head -c 3000000 /dev/zero | base64 -w 100; echo end-of-output; exit 7",
        TerminalConfig {
            viewer_queue_bytes: 64 << 20,
            ..Default::default()
        },
    );
    let (mut v, _, _) = h.attach().await.unwrap();
    go(&h).await;
    let (out, code) = drain(&mut v).await;
    assert_eq!(code, 7);
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("end-of-output"), "last line arrived");
    let a_count = out.iter().filter(|&&b| b == b'A').count();
    assert_eq!(
        a_count, 4_000_000,
        "every byte of the base64 output arrived"
    );
    let info = h.wait().await;
    assert_eq!(info.reason, EndReason::Exit);
}

#[tokio::test]
async fn a_late_viewer_gets_the_current_screen_then_live_output() {
    let (h, _t, _c) = start(
        "printf 'first screen line\\r\\n'; read x; printf 'after %s\\r\\n' \"$x\"; sleep 5",
        TerminalConfig::default(),
    );
    // Wait for the first line to be processed.
    let deadline = std::time::Instant::now() + WAIT;
    while !h.contents().await.unwrap().contains("first screen line") {
        assert!(
            std::time::Instant::now() < deadline,
            "the first line never reached the screen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (mut v, cols, rows) = h.attach().await.unwrap();
    assert_eq!((cols, rows), (80, 24));
    let Some(ViewerEvent::Snapshot(frame)) = v.recv().await else {
        panic!("snapshot first")
    };
    assert!(final_screen(&frame).contains("first screen line"));
    h.input(Bytes::from_static(b"typed\r")).await.unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("after typed") {
        match tokio::time::timeout(Duration::from_secs(5), v.recv())
            .await
            .unwrap()
        {
            Some(ViewerEvent::Output(b)) => seen.extend_from_slice(&b),
            other => panic!("unexpected {other:?}"),
        }
    }
    h.stop(EndReason::Stop).await;
    assert_eq!(h.wait().await.reason, EndReason::Stop);
}

#[tokio::test]
async fn resize_reaches_the_program_and_every_viewer() {
    let (h, _t, _c) = start("read x; stty size; sleep 5", TerminalConfig::default());
    let (mut v1, _, _) = h.attach().await.unwrap();
    let (mut v2, _, _) = h.attach().await.unwrap();
    v1.resize(132, 43).await.unwrap();
    h.input(Bytes::from_static(b"\r")).await.unwrap();
    for v in [&mut v1, &mut v2] {
        let mut saw_resize = false;
        let mut text = Vec::new();
        while !String::from_utf8_lossy(&text).contains("43 132") {
            match tokio::time::timeout(Duration::from_secs(5), v.recv())
                .await
                .unwrap()
            {
                Some(ViewerEvent::Resize {
                    cols: 132,
                    rows: 43,
                }) => saw_resize = true,
                Some(ViewerEvent::Output(b)) | Some(ViewerEvent::Snapshot(b)) => {
                    text.extend_from_slice(&b)
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(saw_resize);
    }
    assert_eq!(h.size(), (132, 43));
    h.stop(EndReason::Stop).await;
    h.wait().await;
}

/// Takes events until `want` arrives; panics on the exit or a stall.
async fn wait_event(v: &mut ccweb_runner::Viewer, want: ViewerEvent) {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), v.recv())
            .await
            .expect("the event never came")
        {
            Some(e) if e == want => return,
            Some(ViewerEvent::Exit { .. }) | None => panic!("ended before {want:?}"),
            Some(_) => {}
        }
    }
}

#[tokio::test]
async fn only_the_size_owner_resizes_the_pty_and_claiming_or_leaving_moves_it() {
    let (h, _t, _c) = start("sleep 30", TerminalConfig::default());
    let (mut desk, _, _) = h.attach().await.unwrap();
    let (mut phone, _, _) = h.attach().await.unwrap();
    let (watcher, _, _) = h.watch().await.unwrap();
    assert!(desk.owns_size(), "the first viewer owns the size");
    assert!(!phone.owns_size() && !watcher.owns_size());

    desk.resize(150, 40).await.unwrap();
    phone.resize(45, 30).await.unwrap();
    watcher.resize(20, 10).await.unwrap();
    assert_eq!(h.size(), (150, 40), "only the owner's size counts");

    phone.claim_size().await.unwrap();
    assert_eq!(
        h.size(),
        (45, 30),
        "claiming gives the PTY the claimant's size"
    );
    assert!(phone.owns_size() && !desk.owns_size());
    wait_event(&mut desk, ViewerEvent::SizeOwner { owner: false }).await;
    wait_event(&mut desk, ViewerEvent::Resize { cols: 45, rows: 30 }).await;
    wait_event(&mut phone, ViewerEvent::SizeOwner { owner: true }).await;

    watcher.claim_size().await.unwrap();
    assert!(!watcher.owns_size(), "a watcher never owns the size");
    assert_eq!(h.size(), (45, 30));

    // The owner leaves: the only viewer left that may own takes over.
    drop(phone);
    wait_event(&mut desk, ViewerEvent::SizeOwner { owner: true }).await;
    wait_event(
        &mut desk,
        ViewerEvent::Resize {
            cols: 150,
            rows: 40,
        },
    )
    .await;
    assert_eq!(h.size(), (150, 40));
    h.stop(EndReason::Stop).await;
    h.wait().await;
}

/// A paste far larger than the PTY holds, typed while the program is not
/// reading: part goes straight in, the rest through the writer thread, and
/// the program gets every byte in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_paste_into_a_busy_program_arrives_whole_and_in_order() {
    let size = 200_000;
    let (h, _t, _c) = start(
        &format!(
            "stty raw -echo; printf 'raw-mode\\r\\n'; sleep 0.5; head -c {size} | cksum; sleep 5"
        ),
        TerminalConfig::default(),
    );
    let (mut v, _, _) = h.attach().await.unwrap();
    // Typed only once the terminal is raw: before that, the line discipline
    // would echo the paste and cut its lines (it happened on a busy machine).
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("raw-mode") {
        match tokio::time::timeout(WAIT, v.recv()).await {
            Ok(Some(ViewerEvent::Output(b) | ViewerEvent::Snapshot(b))) => {
                seen.extend_from_slice(&b)
            }
            Ok(Some(_)) => {}
            other => panic!(
                "the terminal never went raw ({other:?}); saw {:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
    }
    let data: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    for piece in data.chunks(1000) {
        tokio::time::timeout(
            Duration::from_secs(10),
            h.input(Bytes::copy_from_slice(piece)),
        )
        .await
        .expect("input stalled")
        .unwrap();
    }
    let mut expected = std::process::Command::new("cksum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut expected.stdin.take().unwrap(), &data).unwrap();
    let expected = String::from_utf8(expected.wait_with_output().unwrap().stdout).unwrap();
    let want = expected.split_whitespace().next().unwrap().to_owned();
    let mut text = Vec::new();
    while !String::from_utf8_lossy(&text).contains(&format!("{want} {size}")) {
        match tokio::time::timeout(Duration::from_secs(10), v.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no checksum {want}; saw {:?}",
                    String::from_utf8_lossy(&text)
                )
            }) {
            Some(ViewerEvent::Output(b)) | Some(ViewerEvent::Snapshot(b)) => {
                text.extend_from_slice(&b)
            }
            Some(_) => {}
            None => panic!("ended; saw {:?}", String::from_utf8_lossy(&text)),
        }
    }
    h.stop(EndReason::Stop).await;
    h.wait().await;
}

/// Input takes its own path to the PTY; a resize that has returned must
/// still come before the next keystroke, or `stty size` prints a stale size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_sent_after_a_resize_sees_the_new_size() {
    let (h, _t, _c) = start(
        "while read x; do stty size; done",
        TerminalConfig::default(),
    );
    let (mut v, _, _) = h.attach().await.unwrap();
    let mut text = Vec::new();
    for i in 0..20u16 {
        let (cols, rows) = (60 + i, 20 + i);
        v.resize(cols, rows).await.unwrap();
        h.input(Bytes::from_static(b"\r")).await.unwrap();
        let want = format!("{rows} {cols}");
        while !String::from_utf8_lossy(&text).contains(&want) {
            match tokio::time::timeout(Duration::from_secs(5), v.recv())
                .await
                .unwrap_or_else(|_| panic!("no {want:?}; saw {:?}", String::from_utf8_lossy(&text)))
            {
                Some(ViewerEvent::Output(b)) | Some(ViewerEvent::Snapshot(b)) => {
                    text.extend_from_slice(&b)
                }
                Some(ViewerEvent::Resize { .. } | ViewerEvent::SizeOwner { .. }) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        // Every line printed so far names a size already asked for: none is
        // from before the latest resize.
        let printed = String::from_utf8_lossy(&text).into_owned();
        let last = printed
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap();
        assert_eq!(last.trim(), want, "all output: {printed:?}");
        text.clear();
    }
    h.stop(EndReason::Stop).await;
    h.wait().await;
}

#[tokio::test]
async fn a_viewer_that_stops_reading_is_resynced_and_slows_nobody() {
    let config = small_queue();
    let (h, _t, _c) = start(&base64_stream(6000000, false), config);
    let (mut fast, _, _) = h.attach().await.unwrap();
    let (mut slow, _, _) = h.attach().await.unwrap();
    go(&h).await;
    // The fast viewer reads everything; the slow one reads nothing meanwhile.
    let (out, code) = drain(&mut fast).await;
    assert_eq!(code, 0);
    assert!(String::from_utf8_lossy(&out).contains("DONE-MARKER"));
    // Far more than the slow viewer's budget was printed; it kept at most that
    // much, and catches up from a snapshot showing the final screen.
    let (slow_out, slow_code) = drain(&mut slow).await;
    assert_eq!(slow_code, 0);
    assert!(
        slow_out.len() < 8_000_000 / 4,
        "slow viewer got a resync, not the whole stream"
    );
    assert!(slow.resyncs() >= 1);
    assert!(final_screen(&slow_out).contains("DONE-MARKER"));
}

#[tokio::test]
async fn a_lone_viewer_slower_than_the_program_gets_every_byte() {
    // Flow control: with every viewer behind, the program waits for them
    // (as in a real terminal) instead of the viewer losing output.
    let config = small_queue();
    let (h, _t, _c) = start(&base64_stream(3000000, true), config);
    let (v, _, _) = h.attach().await.unwrap();
    go(&h).await;
    // Slower than the program: ~16 KiB per millisecond at most.
    let (out, code, resyncs) = read_slowly(v, Duration::from_millis(1)).await;
    assert_eq!(code, 0);
    assert_eq!(resyncs, 0, "the viewer never fell behind for good");
    assert_every_base64_byte(&out, 3_000_000);
}

#[tokio::test]
async fn viewers_a_little_behind_get_every_byte_while_a_stuck_one_is_left_behind() {
    let config = TerminalConfig {
        viewer_queue_bytes: 64 * 1024,
        // Longer than the default 50 ms: a busy test machine may leave the
        // jittery reader unscheduled that long.
        hold_with_others: Duration::from_millis(500),
        ..Default::default()
    };
    let (h, _t, _c) = start(&base64_stream(1500000, true), config);
    let (fast, _, _) = h.attach().await.unwrap();
    let (jittery, _, _) = h.attach().await.unwrap();
    let (mut stuck, _, _) = h.attach().await.unwrap();
    go(&h).await;
    let (fast, jittery) = tokio::join!(
        read_slowly(fast, Duration::ZERO),
        read_slowly(jittery, Duration::from_millis(1)),
    );
    for (name, (out, code, resyncs)) in [("fast", fast), ("jittery", jittery)] {
        assert_eq!(code, 0);
        assert_eq!(resyncs, 0, "{name} never fell behind for good");
        assert_every_base64_byte(&out, 1_500_000);
    }
    // The stuck viewer held the others only for a moment, then was left
    // to re-sync: it ends on the same final screen.
    let (out, code) = drain(&mut stuck).await;
    assert_eq!(code, 0);
    assert!(stuck.resyncs() >= 1);
    assert!(final_screen(&out).contains("DONE-MARKER"));
}

#[tokio::test]
async fn a_lone_viewer_that_stops_reading_holds_the_program_only_briefly() {
    let config = small_queue();
    let (h, _t, _c) = start(&base64_stream(6000000, false), config);
    let (mut stuck, _, _) = h.attach().await.unwrap();
    go(&h).await;
    // The viewer reads nothing, yet the program runs to its end: the
    // output was held for it only for a moment, then it was left behind.
    let info = tokio::time::timeout(Duration::from_secs(20), h.wait())
        .await
        .expect("a viewer that reads nothing must not stop the program for long");
    assert_eq!(info.code, 0);
    let (out, code) = drain(&mut stuck).await;
    assert_eq!(code, 0);
    assert!(stuck.resyncs() >= 1);
    assert!(out.len() < 1_000_000, "a re-sync, not the whole stream");
    assert!(final_screen(&out).contains("DONE-MARKER"));
}

#[tokio::test]
async fn stop_kills_the_whole_process_group_including_background_children() {
    let (h, _t, _c) = start(
        "trap '' TERM; sleep 1000 & echo child=$!; while true; do sleep 1; done",
        TerminalConfig {
            lifecycle: LifecycleConfig {
                stop_grace: Duration::from_millis(500),
                ..Default::default()
            },
            ..Default::default()
        },
    );
    let (mut v, _, _) = h.attach().await.unwrap();
    let mut text = String::new();
    let bg_pid: i32 = loop {
        if let Some(ViewerEvent::Output(b)) | Some(ViewerEvent::Snapshot(b)) = v.recv().await {
            text.push_str(&String::from_utf8_lossy(&b));
            if let Some(rest) = text.split("child=").nth(1) {
                if let Some(num) = rest.split_whitespace().next() {
                    if rest.contains('\n') {
                        break num.trim().parse().unwrap();
                    }
                }
            }
        }
    };
    let pid = h.pid();
    assert!(pid_alive(pid) && pid_alive(bg_pid));
    h.stop(EndReason::Stop).await;
    let info = h.wait().await;
    assert_eq!(info.reason, EndReason::Stop);
    assert_eq!(
        info.code,
        128 + 9,
        "SIGTERM was ignored, so SIGKILL ended it"
    );
    eventually("the shell gone and reaped", || !pid_alive(pid)).await;
    eventually("the background child gone", || !pid_alive(bg_pid)).await;
}

#[tokio::test]
async fn idle_session_without_viewers_is_stopped_with_reason_idle() {
    let config = TerminalConfig {
        lifecycle: LifecycleConfig {
            idle_timeout: Some(Duration::from_millis(400)),
            ..Default::default()
        },
        ..Default::default()
    };
    let (h, _t, _c) = start("sleep 1000", config);
    let info = tokio::time::timeout(Duration::from_secs(10), h.wait())
        .await
        .unwrap();
    assert_eq!(info.reason, EndReason::Idle);
}

#[tokio::test]
async fn a_session_with_a_viewer_is_not_idle() {
    let config = TerminalConfig {
        lifecycle: LifecycleConfig {
            idle_timeout: Some(Duration::from_millis(300)),
            ..Default::default()
        },
        ..Default::default()
    };
    let (h, _t, _c) = start("sleep 1000", config.clone());
    let (v, _, _) = h.attach().await.unwrap();
    // Started after the viewer attached: once it has gone idle, the first
    // one's timeout has passed too (a barrier, not a fixed wait).
    let (later, _t2, _c2) = start("sleep 1000", config);
    let info = tokio::time::timeout(WAIT, later.wait()).await.unwrap();
    assert_eq!(info.reason, EndReason::Idle);
    assert!(!h.is_finished());
    drop(v);
    let info = tokio::time::timeout(Duration::from_secs(10), h.wait())
        .await
        .unwrap();
    assert_eq!(info.reason, EndReason::Idle);
}

#[tokio::test]
async fn cancellation_stops_sessions_with_reason_shutdown_and_the_tracker_drains() {
    let (h, tracker, cancel) = start("sleep 1000", TerminalConfig::default());
    cancel.cancel();
    tracker.close();
    tokio::time::timeout(Duration::from_secs(10), tracker.wait())
        .await
        .unwrap();
    let info = h.wait().await;
    assert_eq!(info.reason, EndReason::Shutdown);
    assert_eq!(info.code, 128 + 15);
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let tracker = TaskTracker::new();
    let mut spec = sh("true");
    spec.program = "/nonexistent/claude".into();
    let err = spawn_terminal(
        spec,
        TerminalConfig::default(),
        CancellationToken::new(),
        &tracker,
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/claude"), "{err}");
}

#[tokio::test]
async fn a_working_dir_replaced_by_a_symlink_after_the_check_is_a_spawn_error() {
    // The server checked `dir` (canonical, inside a root); by the spawn a
    // symlink to somewhere else stands at that path.
    let base = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(base.path()).unwrap();
    let (dir, elsewhere) = (base.join("project"), base.join("elsewhere"));
    std::fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &dir).unwrap();
    let tracker = TaskTracker::new();
    let spawn_in = |cwd: &std::path::Path| {
        let mut spec = sh("pwd -P");
        spec.cwd = cwd.to_path_buf();
        spawn_terminal(
            spec,
            TerminalConfig::default(),
            CancellationToken::new(),
            &tracker,
        )
    };
    let err = spawn_in(&dir).unwrap_err();
    assert!(err.to_string().contains("moved or replaced"), "{err}");
    // The directory itself, checked, is where the program starts.
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let h = spawn_in(&dir).unwrap();
    let (mut viewer, _, _) = h.attach().await.unwrap();
    let (out, code) = drain(&mut viewer).await;
    assert_eq!(code, 0);
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains(&format!("{}\r\n", dir.display())), "{out:?}");
}

#[test]
fn a_program_that_floods_its_terminal_leaves_room_for_other_tasks() {
    // On a one-thread runtime: the actor must yield now and then even when
    // output is always waiting, or nothing else (sockets, HTTP) ever runs.
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let config = TerminalConfig {
                lifecycle: LifecycleConfig {
                    stop_grace: Duration::from_millis(200),
                    ..Default::default()
                },
                ..Default::default()
            };
            let (h, _t, _c) = start("exec yes flood-flood-flood", config);
            // Reads nothing: held for a moment, then left behind.
            let (_viewer, _, _) = h.attach().await.unwrap();
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let other = tokio::spawn(async { 42 });
            let _ = tx.send(other.await.unwrap());
            h.stop(EndReason::Stop).await;
            h.wait().await;
        });
    });
    let answer = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the session's actor starved every other task");
    assert_eq!(answer, 42);
}
