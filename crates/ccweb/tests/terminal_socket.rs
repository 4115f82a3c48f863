//! The terminal WebSocket against a real server, with a shell as the program.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Options, TermClient, TestServer};
use serde_json::{json, Value};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[tokio::test]
async fn connected_comes_first_then_the_screen_then_live_output_and_input() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut c = server.terminal(&id, "").await;
    assert_eq!(c.controls[0]["session"]["id"], id.as_str());
    assert_eq!(c.controls[0]["cols"], 120);
    c.wait_for(T, |s| s.contains("$ ")).await;
    c.send_bytes(b"echo hel''lo-binary\r").await;
    c.wait_for(T, |s| s.contains("hello-binary")).await;
    c.send_text(json!({"type": "input", "data": "echo te''xt-input\r"}))
        .await;
    c.wait_for(T, |s| s.contains("text-input")).await;
    c.send_text(json!({"type": "ping"})).await;
    c.wait_control("pong").await;
}

#[tokio::test]
async fn a_reconnecting_viewer_sees_exactly_the_current_screen() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut first = server.terminal(&id, "").await;
    first.wait_for(T, |s| s.contains("$ ")).await;
    first
        .send_bytes(b"printf '\\033[1;31mred\\033[0m plain\\n'; echo mark''er-1\r")
        .await;
    // The prompt after the output: the shell is done and waits, so the
    // screen no longer changes while the two viewers below attach.
    first
        .wait_for(T, |s| {
            s.lines()
                .skip_while(|l| *l != "marker-1")
                .nth(1)
                .is_some_and(|l| l.starts_with('$'))
        })
        .await;
    drop(first);
    let mut again = server.terminal(&id, "").await;
    again.step().await; // the restore frame
    let mut reference = server.terminal(&id, "").await;
    reference.step().await;
    assert!(again.screen().contains("marker-1"));
    assert_eq!(
        again.parser.screen().contents_formatted(),
        reference.parser.screen().contents_formatted()
    );
    assert_eq!(
        again.parser.screen().cursor_position(),
        reference.parser.screen().cursor_position()
    );
    let cell = again
        .parser
        .screen()
        .cell(
            again
                .screen()
                .lines()
                .position(|l| l.starts_with("red"))
                .unwrap() as u16,
            0,
        )
        .unwrap();
    assert!(cell.bold(), "attributes are restored too");
}

#[tokio::test]
async fn resize_is_clamped_reaches_the_pty_and_is_announced_to_other_viewers() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut a = server.terminal(&id, "").await;
    let mut b = server.terminal(&id, "").await;
    a.wait_for(T, |s| s.contains("$ ")).await;
    a.send_text(json!({"type": "resize", "cols": 100, "rows": 30}))
        .await;
    let r = b.wait_control("resize").await;
    assert_eq!(
        (r["cols"].as_u64(), r["rows"].as_u64()),
        (Some(100), Some(30))
    );
    a.send_bytes(b"stty size\r").await;
    a.wait_for(T, |s| s.contains("30 100")).await;
    b.wait_for(T, |s| s.contains("30 100")).await;
    for (cols, rows) in [(0, 0), (-4, -4), (65535, 65535)] {
        a.send_text(json!({"type": "resize", "cols": cols, "rows": rows}))
            .await;
    }
    a.send_bytes(b"clear; stty size\r").await;
    a.wait_for(T, |s| s.contains("500 1000")).await;
    assert_eq!(server.session(&id).await["cols"], 1000);
}

/// Reads until a control message after the first `from` ones matches
/// `want`, and returns it.
async fn control_after(c: &mut TermClient, from: usize, want: impl Fn(&Value) -> bool) -> Value {
    loop {
        if let Some(v) = c.controls.iter().skip(from).find(|v| want(v)) {
            return v.clone();
        }
        assert!(c.step().await, "socket ended; controls: {:?}", c.controls);
    }
}

/// Reads until `c` was told it owns the size (`true`) or not, after the
/// first `from` control messages.
async fn told_owner(c: &mut TermClient, from: usize, owner: bool) {
    control_after(c, from, |v| {
        v["type"] == "size_owner" && v["owner"] == owner
    })
    .await;
}

/// Reads until the size `cols`×`rows` was announced after the first `from`
/// control messages.
async fn told_size(c: &mut TermClient, from: usize, cols: u64, rows: u64) {
    control_after(c, from, |v| {
        v["type"] == "resize" && v["cols"] == cols && v["rows"] == rows
    })
    .await;
}

/// Sends a ping and reads until its pong: everything sent before it on
/// this socket has been handled.
async fn handled(c: &mut TermClient) {
    let from = c.controls.len();
    c.send_text(json!({"type": "ping"})).await;
    control_after(c, from, |v| v["type"] == "pong").await;
}

#[tokio::test]
async fn a_second_viewer_does_not_resize_the_pty_while_the_first_owns_the_size() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut desk = server.terminal(&id, "").await;
    assert_eq!(
        desk.controls[0]["size_owner"], true,
        "the first viewer owns the size"
    );
    desk.wait_for(T, |s| s.contains("$ ")).await;
    desk.send_text(json!({"type": "resize", "cols": 150, "rows": 40}))
        .await;
    told_size(&mut desk, 0, 150, 40).await;

    let mut phone = server.terminal(&id, "").await;
    assert_eq!(phone.controls[0]["size_owner"], false);
    assert_eq!(
        phone.controls[0]["cols"], 150,
        "it is shown the owner's size"
    );
    phone
        .send_text(json!({"type": "resize", "cols": 45, "rows": 30}))
        .await;
    // What its emulator sends by itself (here: focus lost) is not typing.
    phone.send_bytes(b"\x1b[O").await;
    handled(&mut phone).await;
    let mut watcher = server.terminal(&id, "?readonly=1").await;
    assert_eq!(watcher.controls[0]["size_owner"], false);
    watcher.send_text(json!({"type": "fit"})).await;
    assert_eq!(watcher.wait_control("error").await["code"], "readonly");

    let session = server.session(&id).await;
    assert_eq!(
        (session["cols"].clone(), session["rows"].clone()),
        (json!(150), json!(40))
    );
    // Ctrl-U first: the focus report is on the shell's line.
    desk.send_bytes(b"\x15stty size\r").await;
    desk.wait_for(T, |s| s.contains("40 150")).await;
    assert!(
        !desk
            .controls
            .iter()
            .chain(&phone.controls)
            .any(|v| v["type"] == "size_owner"),
        "nobody's ownership changed: {:?} {:?}",
        desk.controls,
        phone.controls
    );
}

#[tokio::test]
async fn typing_or_fit_moves_the_size_to_that_viewer_and_each_viewer_is_told() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut desk = server.terminal(&id, "").await;
    desk.wait_for(T, |s| s.contains("$ ")).await;
    desk.send_text(json!({"type": "resize", "cols": 150, "rows": 40}))
        .await;
    told_size(&mut desk, 0, 150, 40).await;
    let mut phone = server.terminal(&id, "").await;
    phone
        .send_text(json!({"type": "resize", "cols": 45, "rows": 30}))
        .await;

    // "Fit to mine" on the phone.
    let (d, p) = (desk.controls.len(), phone.controls.len());
    phone.send_text(json!({"type": "fit"})).await;
    told_owner(&mut phone, p, true).await;
    told_size(&mut phone, p, 45, 30).await;
    told_owner(&mut desk, d, false).await;
    told_size(&mut desk, d, 45, 30).await;
    assert_eq!(server.session(&id).await["cols"], 45);
    phone.send_bytes(b"clear; stty size\r").await;
    phone.wait_for(T, |s| s.contains("30 45")).await;

    // Typing on the desktop takes the size back before the keystroke
    // reaches the program.
    let (d, p) = (desk.controls.len(), phone.controls.len());
    desk.send_bytes(b"clear; stty size\r").await;
    desk.wait_for(T, |s| s.contains("40 150")).await;
    told_owner(&mut desk, d, true).await;
    told_owner(&mut phone, p, false).await;
    told_size(&mut phone, p, 150, 40).await;

    // The owner leaves: the phone, the only viewer left, gets the size.
    let p = phone.controls.len();
    drop(desk);
    told_owner(&mut phone, p, true).await;
    told_size(&mut phone, p, 45, 30).await;
}

#[tokio::test]
async fn bad_messages_get_error_replies_and_the_socket_stays_usable() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut c = server.terminal(&id, "").await;
    for bad in [
        "not json",
        "{\"type\":\"bogus\"}",
        "{\"type\":\"resize\",\"cols\":\"x\",\"rows\":1}",
        "{\"type\":\"resize\",\"cols\":1,\"rows\":1,\"extra\":1}",
        "[]",
        &"[".repeat(10_000),
    ] {
        c.ws.send(tokio_tungstenite::tungstenite::Message::Text(bad.into()))
            .await
            .unwrap();
        let before = c.controls.len();
        while c.controls.len() == before {
            assert!(c.step().await);
        }
        let last = c.controls.last().unwrap();
        assert_eq!(last["type"], "error", "{bad}: {last}");
        assert_eq!(last["code"], "bad_message");
    }
    c.send_text(json!({"type": "ping"})).await;
    c.wait_control("pong").await;
}

use futures_util::SinkExt;

#[tokio::test]
async fn readonly_viewers_see_output_but_cannot_type_or_resize() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut ro = server.terminal(&id, "?readonly=1").await;
    assert_eq!(ro.controls[0]["readonly"], true);
    ro.send_bytes(b"echo should-not-run\r").await;
    assert_eq!(ro.wait_control("error").await["code"], "readonly");
    ro.send_text(json!({"type": "resize", "cols": 50, "rows": 10}))
        .await;
    let mut rw = server.terminal(&id, "").await;
    rw.send_bytes(b"echo from-wr''iter\r").await;
    ro.wait_for(T, |s| s.contains("from-writer")).await;
    assert!(!ro.screen().contains("should-not-run"));
    assert_eq!(
        server.session(&id).await["cols"],
        120,
        "read-only resize ignored"
    );
}

#[tokio::test]
async fn every_viewer_gets_all_output_before_exit_even_when_the_program_exits_at_once() {
    // 3 MB then exit 3: ttyd drops the tail here.
    let server = TestServer::start(Options::shell(
        "read -r _; head -c 2250000 /dev/zero | base64 -w 76; echo the-end; exit 3",
    ))
    .await;
    let id = server.create_session_id().await;
    let mut viewers = Vec::new();
    for _ in 0..3 {
        viewers.push(server.terminal(&id, "").await);
    }
    // The output starts once all three are attached (a typed line, not a
    // fixed pause in the program that a busy machine could outrun).
    viewers[0].send_bytes(b"\r").await;
    for v in &mut viewers {
        v.read_to_end().await;
        assert_eq!(v.exit, Some(3));
        let text = String::from_utf8_lossy(&v.bytes);
        assert_eq!(text.matches('A').count(), 3_000_000, "no byte lost");
        let exit_at = v.controls.iter().position(|c| c["type"] == "exit").unwrap();
        assert_eq!(exit_at, v.controls.len() - 1, "exit is the last message");
        assert!(
            text.trim_end().ends_with("the-end"),
            "output ends with the last line"
        );
        assert_eq!(v.closed.as_ref().map(|c| c.0), Some(1000));
    }
    let s = server.wait_state(&id, "exited", T).await;
    assert_eq!(s["exit_code"], 3);
    assert_eq!(s["end_reason"], "exit");
}

#[tokio::test]
async fn a_viewer_that_stops_reading_does_not_slow_the_others() {
    let server = TestServer::start(
        Options::shell(
            "read -r _; head -c 12000000 /dev/zero | base64 -w 100; echo the-end; sleep 30",
        )
        .toml("viewer_queue_bytes = 8388608"),
    )
    .await;
    let id = server.create_session_id().await;
    // Connected, then never read again: its socket buffer and queue fill up.
    let stalled = server.ws(&id, "terminal", "").await;
    let mut fast = server.terminal(&id, "").await;
    // The output starts once both are attached.
    fast.send_bytes(b"\r").await;
    let start = std::time::Instant::now();
    // Count raw bytes (no screen parsing) so this client is as fast as it can be.
    let mut count = 0usize;
    let mut tail = Vec::new();
    while !String::from_utf8_lossy(&tail).contains("the-end") {
        use futures_util::StreamExt;
        let msg = tokio::time::timeout(Duration::from_secs(60), fast.ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Binary(b) = msg {
            count += b.iter().filter(|&&c| c == b'A').count();
            tail.extend_from_slice(&b);
            let keep = tail.len().saturating_sub(64);
            tail.drain(..keep);
        }
    }
    assert_eq!(count, 16_000_000, "the fast viewer got every byte");
    eprintln!(
        "fast viewer got 16 MB in {:?} next to a stalled one",
        start.elapsed()
    );
    // The stalled viewer, once it reads, catches up from a snapshot.
    let mut late = TermClient {
        ws: stalled,
        parser: vt100::Parser::new(35.try_into().unwrap(), 120.try_into().unwrap(), 0),
        controls: vec![],
        bytes: vec![],
        exit: None,
        closed: None,
    };
    late.wait_for(Duration::from_secs(60), |s| s.contains("the-end"))
        .await;
    assert!(
        late.bytes.len() < 16_000_000,
        "the stalled viewer was re-synced, not sent everything"
    );
}

#[tokio::test]
async fn an_ended_session_replays_its_last_screen_and_exit_code() {
    let server = TestServer::start(Options::shell("echo last-words; exit 5")).await;
    let id = server.create_session_id().await;
    server.wait_state(&id, "exited", T).await;
    let mut c = server.terminal(&id, "").await;
    c.read_to_end().await;
    assert!(c.screen().contains("last-words"));
    assert_eq!(c.exit, Some(5));
}

#[tokio::test]
async fn oversized_messages_close_the_socket_with_1009() {
    let server =
        TestServer::start(Options::interactive_shell().toml("ws_max_message_bytes = 65536")).await;
    let id = server.create_session_id().await;
    let mut c = server.terminal(&id, "").await;
    let _ =
        c.ws.send(tokio_tungstenite::tungstenite::Message::Binary(
            vec![b'a'; 200_000].into(),
        ))
        .await;
    c.read_to_end().await;
    assert_eq!(c.closed.map(|c| c.0), Some(1009));
    assert_eq!(
        server.session(&id).await["state"],
        "running",
        "the session is unharmed"
    );
}

#[tokio::test]
async fn the_chat_socket_of_a_terminal_session_streams_raw_text_and_types_messages() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut ws = server.ws(&id, "chat", "").await;
    use futures_util::StreamExt;
    let mut text = String::new();
    let mut connected = false;
    let mut sent = false;
    while !text.contains("typed-via-chat") || !text.contains("42") {
        let msg = tokio::time::timeout(T, ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
        match v["type"].as_str().unwrap() {
            "connected" => connected = true,
            "text_delta" => {
                assert_eq!(v["raw"], true);
                text.push_str(v["data"].as_str().unwrap());
            }
            other => panic!("unexpected {other}: {v}"),
        }
        if connected && !sent && text.contains("$ ") {
            ws.send(tokio_tungstenite::tungstenite::Message::Text(
                json!({"type": "user_message", "text": "echo typed-via-chat $((40+2))"})
                    .to_string()
                    .into(),
            ))
            .await
            .unwrap();
            sent = true;
        }
    }
}

#[tokio::test]
async fn the_raw_chat_socket_answers_bad_and_readonly_messages_with_errors() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let mut ws = server.ws(&id, "chat", "?readonly=1").await;
    let mut errors = Vec::new();
    let cases = [
        Message::Binary(b"raw bytes".to_vec().into()),
        Message::Text("not json".into()),
        Message::Text(json!({"type": "bogus"}).to_string().into()),
        Message::Text(json!({"type": "user_message"}).to_string().into()),
        Message::Text(
            json!({"type": "user_message", "text": "echo nope"})
                .to_string()
                .into(),
        ),
    ];
    for case in cases {
        ws.send(case).await.unwrap();
        loop {
            let msg = tokio::time::timeout(T, ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
            if v["type"] == "error" {
                errors.push(v["code"].as_str().unwrap().to_owned());
                break;
            }
        }
    }
    assert_eq!(
        errors,
        [
            "bad_message",
            "bad_message",
            "bad_message",
            "bad_message",
            "readonly"
        ]
    );
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped() {
    let server =
        TestServer::start(Options::interactive_shell().toml("ws_ping_interval_secs = 1")).await;
    let id = server.create_session_id().await;
    use futures_util::StreamExt;
    let mut silent = server.ws(&id, "terminal", "").await;
    // The first message comes once the viewer is attached (and counted);
    // then it is never polled again: tungstenite answers pings only while
    // reading.
    let first = tokio::time::timeout(T, silent.next()).await.unwrap();
    assert!(
        first.is_some_and(|m| m.is_ok()),
        "the socket's first message"
    );
    assert_eq!(server.session(&id).await["viewers"], 1);
    let deadline = std::time::Instant::now() + T;
    loop {
        let viewers = server.session(&id).await["viewers"].as_u64().unwrap();
        if viewers == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the silent peer was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        server.session(&id).await["state"],
        "running",
        "the session survives for reattach"
    );
}

#[tokio::test]
async fn a_program_that_never_stops_printing_can_still_be_watched_and_stopped() {
    // Output arrives faster than anyone reads it: viewers must still get
    // in, and a stop must still take effect.
    let server = TestServer::start(Options::shell("exec yes flood-flood-flood-flood")).await;
    let id = server.create_session_id().await;
    for _ in 0..3 {
        let mut c = tokio::time::timeout(Duration::from_secs(10), server.terminal(&id, ""))
            .await
            .expect("attached while the program floods the terminal");
        c.wait_for(Duration::from_secs(10), |s| s.contains("flood-flood"))
            .await;
    }
    let stopped = tokio::time::timeout(Duration::from_secs(15), server.stop_session(&id))
        .await
        .expect("the stop answered");
    assert_eq!(stopped["state"], "stopped", "{stopped}");
}
