//! The sessions REST API against a real server: creating (and every way to
//! get it wrong), ownership, rename, stop, purge, resume, limits, idle
//! timeout, programs that exit or fail to start, and the open endpoints.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    answer, assert_error, call, one_shot_client, status_of, Options, TermClient, TestServer,
    SESSIONS,
};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

/// POSTs a raw JSON text as the admin.
async fn create_raw(server: &TestServer, body: &str) -> (u16, Value) {
    call(
        server
            .req(Method::POST, SESSIONS)
            .header("content-type", "application/json")
            .body(body.to_owned()),
    )
    .await
}

async fn create_json(server: &TestServer, body: Value) -> (u16, Value) {
    create_raw(server, &body.to_string()).await
}

/// The caller's session list.
async fn list_as(server: &TestServer, token: &str, query: &str) -> (u16, Value) {
    call(server.req_as(token, Method::GET, &format!("{SESSIONS}{query}"))).await
}

fn ids(list: &Value) -> Vec<String> {
    list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() >= 20
            && s.as_bytes()[4] == b'-'
            && s.as_bytes()[10] == b'T'
            && (s.ends_with('Z') || s[19..].contains(['+', '-']))
    })
}

#[tokio::test]
async fn create_answers_201_with_the_whole_session_object_and_defaults() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    // A non-canonical spelling of root/project, through a symlink inside the root.
    std::os::unix::fs::symlink(server.root.join("project"), server.root.join("link")).unwrap();
    let asked = format!("{}/link/../project/.", server.root.display());
    let (status, s) = create_json(&server, json!({"mode": "terminal", "working_dir": asked})).await;
    assert_eq!(status, 201, "{s}");
    let fields = [
        "id",
        "owner",
        "mode",
        "state",
        "working_dir",
        "title",
        "created_at",
        "last_activity_at",
        "ended_at",
        "exit_code",
        "claude_session_id",
        "model",
        "permission_mode",
        "cols",
        "rows",
        "viewers",
        "usage",
    ];
    for f in fields {
        assert!(s.get(f).is_some(), "field {f} missing: {s}");
    }
    let id = s["id"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    assert_eq!(uuid.get_version_num(), 4, "random ids");
    assert_eq!(s["owner"], "admin");
    assert_eq!(s["mode"], "terminal");
    assert_eq!(s["state"], "running");
    assert_eq!(
        s["working_dir"],
        server.root.join("project").to_str().unwrap(),
        "canonical"
    );
    assert_eq!(s["title"], "project", "default title: the directory's name");
    assert!(is_rfc3339(&s["created_at"]), "{}", s["created_at"]);
    assert!(
        is_rfc3339(&s["last_activity_at"]),
        "{}",
        s["last_activity_at"]
    );
    assert_eq!(s["ended_at"], Value::Null);
    assert_eq!(s["exit_code"], Value::Null);
    assert!(
        s["claude_session_id"]
            .as_str()
            .is_some_and(|c| uuid::Uuid::parse_str(c).is_ok()),
        "{}",
        s["claude_session_id"]
    );
    assert_eq!(s["model"], Value::Null);
    assert_eq!(s["permission_mode"], "default");
    assert_eq!(
        (s["cols"].as_u64(), s["rows"].as_u64()),
        (Some(120), Some(35))
    );
    assert_eq!(s["viewers"], 0);
    assert_eq!(
        s["usage"],
        json!({"cost_usd": 0.0, "input_tokens": 0, "output_tokens": 0})
    );
    // GET and the list agree.
    assert_eq!(server.session(id).await["working_dir"], s["working_dir"]);
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert_eq!(ids(&list), vec![id.to_owned()]);

    // Sizes are clamped; optional fields are kept.
    let (status, s) = create_json(&server, json!({"mode": "terminal", "working_dir": "project", "cols": 0, "rows": -3, "title": "  My title  ", "model": "claude-sonnet-4-5", "permission_mode": "plan"})).await;
    assert_eq!(status, 201, "relative working_dir: {s}");
    assert_eq!(
        s["working_dir"],
        server.root.join("project").to_str().unwrap(),
        "relative paths resolve inside the root"
    );
    assert_eq!((s["cols"].as_u64(), s["rows"].as_u64()), (Some(2), Some(2)));
    assert_eq!(s["title"], "My title");
    assert_eq!(s["model"], "claude-sonnet-4-5");
    assert_eq!(s["permission_mode"], "plan");
    let (status, s) = create_json(
        &server,
        json!({"mode": "terminal", "working_dir": server.root, "cols": 99999, "rows": 99999}),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(
        (s["cols"].as_u64(), s["rows"].as_u64()),
        (Some(1000), Some(500))
    );
    assert_eq!(s["title"], "root");
    // A conversation the CLI does not have on disk for that directory cannot
    // be continued (claude_cli.rs proves the positive case with real transcripts).
    let cid = "0b7a3c1e-52a6-4f5e-9d1c-2e8f7a6b5c4d";
    let (status, s) = create_json(
        &server,
        json!({"mode": "terminal", "working_dir": "project", "resume": cid.to_uppercase()}),
    )
    .await;
    assert_eq!(status, 404, "{s}");
    assert!(s["error"]["message"].as_str().unwrap().contains(cid), "{s}");
    // A literal `%2e%2e` directory is just a name: nothing is percent-decoded.
    std::fs::create_dir(server.root.join("%2e%2e")).unwrap();
    let (status, s) = create_json(
        &server,
        json!({"mode": "terminal", "working_dir": "%2e%2e"}),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(
        s["working_dir"],
        server.root.join("%2e%2e").to_str().unwrap()
    );
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert_eq!(ids(&list).len(), 4);
}

#[tokio::test]
async fn invalid_create_requests_are_refused_with_a_code_and_a_helpful_message() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let root = server.root.to_str().unwrap().to_owned();
    let outside = server.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, server.root.join("escape")).unwrap();
    std::os::unix::fs::symlink("/etc", server.root.join("etc-link")).unwrap();
    let sibling = format!("{root}-evil");
    std::fs::create_dir(&sibling).unwrap();
    std::fs::write(server.root.join("a-file"), "x").unwrap();
    let dir = |d: &str| json!({"mode": "terminal", "working_dir": d});

    let forbidden = [
        dir("/etc"),
        dir("/"),
        dir("../.."),
        dir(".."),
        dir("project/../../outside"),
        dir(&format!("{root}/../outside")),
        dir(&format!("{root}/escape")),
        dir("escape"),
        dir("escape/."),
        dir("etc-link"),
        dir(&sibling),
        dir("../root-evil"),
    ];
    for body in forbidden {
        let m = assert_error(
            &body.to_string(),
            &create_json(&server, body.clone()).await,
            403,
            "path_not_allowed",
        );
        assert!(m.contains("outside the allowed roots"), "{m}");
        assert!(
            m.contains(body["working_dir"].as_str().unwrap()),
            "names the path: {m}"
        );
    }

    let long = format!("{root}/{}", "a/".repeat(2100));
    let invalid_dir = [
        (dir(&format!("{root}/no-such-dir")), "no-such-dir"),
        (dir("%2e%2e%2f%2e%2e%2fetc"), "%2e%2e%2f%2e%2e%2fetc"),
        (
            dir(&format!("{root}/project/%2e%2e/%2e%2e/%2e%2e/etc")),
            "%2e%2e",
        ),
        (dir("a-file"), "not a directory"),
        (dir(""), "empty"),
        (dir("project\u{0}/../../etc"), "NUL"),
        (dir(&long), "4096"),
    ];
    for (body, hint) in invalid_dir {
        let what = body.to_string().chars().take(100).collect::<String>();
        let m = assert_error(
            &what,
            &create_json(&server, body).await,
            400,
            "invalid_working_dir",
        );
        assert!(m.contains(hint), "{what}: {m:?} should mention {hint:?}");
        assert!(
            m.len() < 600,
            "{what}: the message stays short: {} bytes",
            m.len()
        );
    }

    // Both modes are accepted (chat flows are proven in chat_cli.rs / chat_flows.rs).
    let (status, b) = create_json(&server, json!({"mode": "chat", "working_dir": "project"})).await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(b["mode"], "chat");

    let p = "project";
    let invalid = [
        (json!({"mode": "bogus", "working_dir": p}).to_string(), "invalid_field", "mode"),
        (json!({"mode": "Terminal", "working_dir": p}).to_string(), "invalid_field", "mode"),
        (json!({"working_dir": p}).to_string(), "invalid_field", "mode"),
        (json!({"mode": "terminal"}).to_string(), "invalid_field", "working_dir"),
        (json!({"mode": "terminal", "working_dir": p, "env": {"LD_PRELOAD": "/tmp/x.so"}}).to_string(), "invalid_field", "env"),
        (json!({"mode": "terminal", "working_dir": 5}).to_string(), "invalid_field", "working_dir"),
        (json!({"mode": "terminal", "working_dir": p, "cols": "wide"}).to_string(), "invalid_field", "cols"),
        (json!({"mode": "terminal", "working_dir": p, "rows": 1.5}).to_string(), "invalid_field", "rows"),
        (json!({"mode": "terminal", "working_dir": p, "title": ["a"]}).to_string(), "invalid_field", "title"),
        (json!(["terminal", p]).to_string(), "invalid_field", ""),
        ("{\"mode\": \"terminal\",".to_owned(), "invalid_json", ""),
        ("not json".to_owned(), "invalid_json", ""),
        ("".to_owned(), "invalid_json", ""),
        ("{\"mode\":\"terminal\",\"working_dir\":\"project\"} trailing".to_owned(), "invalid_json", ""),
        (json!({"mode": "terminal", "working_dir": p, "model": "--settings=x"}).to_string(), "invalid_model", "model"),
        (json!({"mode": "terminal", "working_dir": p, "model": "; id"}).to_string(), "invalid_model", "model"),
        (json!({"mode": "terminal", "working_dir": p, "model": "$(id)"}).to_string(), "invalid_model", "model"),
        (json!({"mode": "terminal", "working_dir": p, "model": "sonnet\n--dangerously-skip-permissions"}).to_string(), "invalid_model", "model"),
        (json!({"mode": "terminal", "working_dir": p, "model": ""}).to_string(), "invalid_model", "model"),
        (json!({"mode": "terminal", "working_dir": p, "permission_mode": "bogus"}).to_string(), "invalid_permission_mode", "permission_mode"),
        (json!({"mode": "terminal", "working_dir": p, "permission_mode": "--dangerously-skip-permissions"}).to_string(), "invalid_permission_mode", "acceptEdits"),
        (json!({"mode": "terminal", "working_dir": p, "resume": "not-a-uuid"}).to_string(), "invalid_resume", "UUID"),
        (json!({"mode": "terminal", "working_dir": p, "resume": "--settings=x"}).to_string(), "invalid_resume", "UUID"),
        (json!({"mode": "terminal", "working_dir": p, "title": "two\nlines"}).to_string(), "invalid_title", "control"),
        (json!({"mode": "terminal", "working_dir": p, "title": "bell\u{7}"}).to_string(), "invalid_title", "control"),
        (json!({"mode": "terminal", "working_dir": p, "title": "t".repeat(201)}).to_string(), "invalid_title", "200"),
    ];
    for (body, code, hint) in invalid {
        let m = assert_error(&body, &create_raw(&server, &body).await, 400, code);
        assert!(m.contains(hint), "{body}: {m:?} should mention {hint:?}");
    }
    // Invalid UTF-8 is a 400, not a 500.
    let not_utf8 = server
        .req(Method::POST, SESSIONS)
        .header("content-type", "application/json")
        .body(b"{\"mode\":\"terminal\",\"working_dir\":\"\xff\xfe\"}".to_vec());
    let (status, b) = call(not_utf8).await;
    assert_eq!(status, 400, "{b}");
    // 200 characters is fine (multi-byte ones too).
    let (status, s) = create_json(
        &server,
        json!({"mode": "terminal", "working_dir": p, "title": "é".repeat(200)}),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert_eq!(
        ids(&list).len(),
        2,
        "none of the refused requests left a session behind (the two are the chat session and the valid terminal one)"
    );
    assert_eq!(
        server.children().len(),
        2,
        "nor a process (the two are those sessions' CLIs)"
    );
}

#[tokio::test]
async fn a_body_over_max_body_bytes_is_413_json() {
    let server =
        TestServer::start(Options::shell("exec sleep 1000").toml("max_body_bytes = 4096")).await;
    // Each on a connection of its own: the server may close one whose body it did not read.
    let big = json!({"mode": "terminal", "working_dir": "project", "title": "x".repeat(10_000)});
    let create = one_shot_client()
        .post(server.url(SESSIONS))
        .bearer_auth(&server.admin_token)
        .json(&big);
    assert_error("10 KB create", &call(create).await, 413, "too_large");
    let login = one_shot_client()
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "u".repeat(10_000), "password": "x"}));
    assert_error("10 KB login", &call(login).await, 413, "too_large");
    // Streamed without a Content-Length too.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..10).map(|_| Ok(vec![b' '; 1024])).collect();
    let stream = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let chunked = one_shot_client()
        .post(server.url(SESSIONS))
        .bearer_auth(&server.admin_token)
        .header("content-type", "application/json")
        .body(stream);
    assert_error("10 KB chunked", &call(chunked).await, 413, "too_large");
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert_eq!(ids(&list).len(), 0);
    // A body under the limit still works.
    assert_eq!(
        create_json(
            &server,
            json!({"mode": "terminal", "working_dir": "project"})
        )
        .await
        .0,
        201
    );
}

#[tokio::test]
async fn the_413_message_names_the_real_limit() {
    let server =
        TestServer::start(Options::shell("exec sleep 1000").toml("max_body_bytes = 4096")).await;
    let big = json!({"mode": "terminal", "working_dir": "project", "title": "x".repeat(10_000)});
    let m = assert_error(
        "10 KB create",
        &create_json(&server, big).await,
        413,
        "too_large",
    );
    assert!(m.contains("4096"), "{m}");
}

#[tokio::test]
async fn unknown_sessions_paths_and_methods_are_json_404_and_405() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let random = uuid::Uuid::new_v4().to_string();
    let mut bodies = Vec::new();
    for id in [
        random.as_str(),
        "not-a-uuid",
        "..",
        "%2e%2e",
        "00000000-0000-0000-0000-000000000000",
    ] {
        let one = format!("{SESSIONS}/{id}");
        let reqs = [
            server.req(Method::GET, &one),
            server.req(Method::PATCH, &one).json(&json!({"title": "x"})),
            server.req(Method::DELETE, &one),
            server.req(Method::DELETE, &format!("{one}?purge=true")),
            server.req(Method::POST, &format!("{one}/resume")),
        ];
        for req in reqs {
            let req = req.build().unwrap();
            let what = format!("{} {}", req.method(), req.url());
            let a = answer(server.http.execute(req).await.unwrap()).await;
            assert_error(&what, &a, 404, "not_found");
            if id != ".." && id != "%2e%2e" {
                bodies.push(a.1);
            }
        }
        for kind in ["terminal", "chat"] {
            let r = server
                .ws_with(
                    &format!("{one}/{kind}"),
                    &[("authorization", &format!("Bearer {}", server.admin_token))],
                )
                .await;
            assert_eq!(r.err(), Some(404), "{kind} socket of {id}");
        }
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "one body for every unknown session: {bodies:?}"
    );
    for path in [
        "/api/nope",
        "/api/claude",
        "/api/claude/sessions/x/y/z",
        "/api/auth/oidc/nope",
        "/assets/missing-file.js",
    ] {
        let a = call(server.req(Method::GET, path)).await;
        assert_error(path, &a, 404, "not_found");
    }
    // Other page paths belong to the web UI (it routes itself).
    let page = server.req(Method::GET, "/nope").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let post = call(server.req(Method::POST, "/nope")).await;
    assert_error("POST /nope", &post, 404, "not_found");
    for (method, path) in [
        (Method::PUT, SESSIONS),
        (Method::DELETE, SESSIONS),
        (
            Method::PUT,
            "/api/claude/sessions/00000000-0000-4000-8000-000000000000",
        ),
        (Method::GET, "/api/auth/login"),
        (Method::POST, "/api/me"),
    ] {
        let a = call(server.req(method.clone(), path)).await;
        assert_error(&format!("{method} {path}"), &a, 405, "method_not_allowed");
    }
}

#[tokio::test]
async fn bad_query_strings_are_400_json() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let id = server.create_session_id().await;
    for (method, path) in [
        (Method::GET, "/api/claude/sessions?all=maybe".to_owned()),
        (Method::GET, "/api/claude/sessions?bogus=1".to_owned()),
        (Method::DELETE, format!("{SESSIONS}/{id}?purge=yes")),
        (Method::DELETE, format!("{SESSIONS}/{id}?bogus=1")),
    ] {
        let (status, b) = call(server.req(method.clone(), &path)).await;
        assert_eq!(status, 400, "{method} {path}: {b}");
        assert!(b["error"]["code"].is_string(), "{method} {path}: {b}");
    }
    assert_eq!(
        server.session(&id).await["state"],
        "running",
        "a refused stop stops nothing"
    );
}

#[tokio::test]
async fn other_users_sessions_do_not_exist_for_them_and_admins_watch_read_only() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let bob = server.add_user("bob", "bob-password-123");
    let admins = server.create_session_id().await;
    let (status, b) = server
        .create_session_as(&bob, json!({"mode": "terminal", "working_dir": "project"}))
        .await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(b["owner"], "bob");
    let bobs = b["id"].as_str().unwrap().to_owned();
    let unknown = uuid::Uuid::new_v4().to_string();

    // Bob: admin's session answers exactly like an unknown one.
    for (method, suffix, body) in [
        (Method::GET, "", None),
        (Method::PATCH, "", Some(json!({"title": "mine now"}))),
        (Method::DELETE, "", None),
        (Method::DELETE, "?purge=true", None),
        (Method::POST, "/resume", None),
    ] {
        let send = |id: &str| {
            let mut req = server.req_as(&bob, method.clone(), &format!("{SESSIONS}/{id}{suffix}"));
            if let Some(b) = &body {
                req = req.json(b);
            }
            call(req)
        };
        let theirs = send(&admins).await;
        assert_error(
            &format!("bob {method} admin's session{suffix}"),
            &theirs,
            404,
            "not_found",
        );
        assert_eq!(theirs, send(&unknown).await, "no existence oracle");
    }
    for kind in ["terminal", "chat"] {
        let auth = format!("Bearer {bob}");
        for q in ["", "?readonly=1"] {
            let r = server
                .ws_with(
                    &format!("{SESSIONS}/{admins}/{kind}{q}"),
                    &[("authorization", &auth)],
                )
                .await;
            assert_eq!(r.err(), Some(404), "bob attaching admin's {kind}{q}");
        }
    }
    let s = server.session(&admins).await;
    assert_eq!(
        (
            s["state"].as_str(),
            s["title"].as_str(),
            s["viewers"].as_u64()
        ),
        (Some("running"), Some("project"), Some(0)),
        "untouched"
    );

    // Lists.
    let (_, list) = list_as(&server, &bob, "").await;
    assert_eq!(ids(&list), vec![bobs.clone()]);
    assert_error(
        "bob ?all=true",
        &list_as(&server, &bob, "?all=true").await,
        403,
        "admin_only",
    );
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert_eq!(
        ids(&list),
        vec![admins.clone()],
        "without ?all an admin sees their own"
    );
    let (_, all) = list_as(&server, &server.admin_token, "?all=true").await;
    let mut all_ids = ids(&all);
    all_ids.sort();
    let mut want = vec![admins.clone(), bobs.clone()];
    want.sort();
    assert_eq!(all_ids, want);

    // The admin may look at bob's session, and only watch it.
    assert_eq!(server.session(&bobs).await["owner"], "bob");
    let mut c = server.terminal(&bobs, "").await;
    assert_eq!(c.controls[0]["readonly"], true);
    c.send_bytes(b"echo admin-was-here\r").await;
    assert_eq!(c.wait_control("error").await["code"], "readonly");
    // Bob himself types freely.
    let ws = server
        .ws_with(
            &format!("{SESSIONS}/{bobs}/terminal"),
            &[("authorization", &format!("Bearer {bob}"))],
        )
        .await
        .unwrap();
    let mut mine = TermClient::connect(ws).await;
    assert_eq!(mine.controls[0]["readonly"], false);
    mine.send_bytes(b"echo bob-was-h''ere\r").await;
    mine.wait_for(T, |s| s.contains("bob-was-here")).await;
    c.wait_for(T, |s| s.contains("bob-was-here")).await;
    assert!(!c.screen().contains("admin-was-here"));
}

#[tokio::test]
async fn rename_changes_the_title_and_refuses_bad_ones() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let id = server.create_session_id().await;
    let path = format!("{SESSIONS}/{id}");
    let patch = |body: Value| call(server.req(Method::PATCH, &path).json(&body));
    let (status, s) = patch(json!({"title": "Refactor the parser ✨"})).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["title"], "Refactor the parser ✨");
    assert_eq!(s["state"], "running");
    assert_eq!(server.session(&id).await["title"], "Refactor the parser ✨");
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert_eq!(list["sessions"][0]["title"], "Refactor the parser ✨");
    for (body, code) in [
        (json!({"title": ""}), "invalid_title"),
        (json!({"title": "   "}), "invalid_title"),
        (json!({"title": "a\nb"}), "invalid_title"),
        (json!({"title": "\u{1b}[31mred"}), "invalid_title"),
        (json!({"title": "t".repeat(201)}), "invalid_title"),
        (json!({"title": 5}), "invalid_field"),
        (json!({}), "invalid_field"),
        (json!({"title": "x", "state": "stopped"}), "invalid_field"),
    ] {
        assert_error(&body.to_string(), &patch(body.clone()).await, 400, code);
    }
    assert_eq!(
        server.session(&id).await["title"],
        "Refactor the parser ✨",
        "unchanged by the refused ones"
    );
}

#[tokio::test]
async fn stop_ends_the_process_records_why_and_purge_deletes_the_record() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let id = server.create_session_id().await;
    let pids = server.children();
    assert_eq!(pids.len(), 1, "one program: {pids:?}");
    let path = format!("{SESSIONS}/{id}");
    let s = server.stop_session(&id).await;
    assert_eq!(s["id"], id.as_str());
    assert_eq!(s["state"], "stopped");
    assert_eq!(s["end_reason"], "stop");
    assert_eq!(s["exit_code"], 128 + 15, "killed by SIGTERM");
    assert!(is_rfc3339(&s["ended_at"]), "{s}");
    assert!(!common::alive(pids[0]), "the program is gone");
    assert!(server.children().is_empty());
    common::eventually(T, "the program is reaped", || {
        common::descendants(server.pid()).1.is_empty()
    })
    .await;
    // Stopping again is harmless and changes nothing.
    let again = server.stop_session(&id).await;
    assert_eq!(
        (again["state"].clone(), again["ended_at"].clone()),
        (s["state"].clone(), s["ended_at"].clone())
    );
    assert_eq!(
        server.session(&id).await["state"],
        "stopped",
        "the record stays"
    );
    // Purge.
    let purge = server.req(Method::DELETE, &format!("{path}?purge=true"));
    assert_eq!(status_of(purge).await, 204);
    assert_error(
        "GET after purge",
        &call(server.req(Method::GET, &path)).await,
        404,
        "not_found",
    );
    assert_error(
        "DELETE after purge",
        &call(server.req(Method::DELETE, &path)).await,
        404,
        "not_found",
    );
    assert_eq!(
        server
            .ws_with(
                &format!("{path}/terminal"),
                &[("authorization", &format!("Bearer {}", server.admin_token))]
            )
            .await
            .err(),
        Some(404)
    );
    // Purging a running session stops it too.
    let id2 = server.create_session_id().await;
    let pid2 = server.children();
    assert_eq!(pid2.len(), 1);
    let purge = server.req(Method::DELETE, &format!("{SESSIONS}/{id2}?purge=true"));
    assert_eq!(status_of(purge).await, 204);
    assert!(!common::alive(pid2[0]));
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert!(ids(&list).is_empty());
}

#[tokio::test]
async fn resume_restarts_an_ended_session_and_refuses_a_running_one() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let s = server.create_session().await;
    let id = s["id"].as_str().unwrap().to_owned();
    let cid = s["claude_session_id"].clone();
    let resume = format!("{SESSIONS}/{id}/resume");
    let m = assert_error(
        "resume running",
        &call(server.req(Method::POST, &resume)).await,
        409,
        "session_running",
    );
    assert!(m.contains("running"), "{m}");
    let first = server.children();
    server.stop_session(&id).await;
    let (status, s) = call(server.req(Method::POST, &resume)).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["id"], id.as_str(), "the same session");
    assert_eq!(s["state"], "running");
    assert_eq!(
        s["claude_session_id"], cid,
        "continuing the same conversation"
    );
    assert_eq!(
        (
            s["ended_at"].clone(),
            s["exit_code"].clone(),
            s["end_reason"].clone()
        ),
        (Value::Null, Value::Null, Value::Null),
        "no stale end: {s}"
    );
    let second = server.children();
    assert!(
        !second.is_empty() && second.iter().all(|p| !first.contains(p)),
        "a new process: {first:?} then {second:?}"
    );
    let mut c = server.terminal(&id, "").await;
    c.send_bytes(b"echo back-ag''ain\r").await;
    c.wait_for(T, |s| s.contains("back-again")).await;
    assert_error(
        "resume again",
        &call(server.req(Method::POST, &resume)).await,
        409,
        "session_running",
    );
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    assert_eq!(ids(&list), vec![id.clone()], "no second record");
}

#[tokio::test]
async fn the_global_session_limit_answers_503_until_one_stops() {
    let server =
        TestServer::start(Options::shell("exec sleep 1000").toml("max_sessions = 2")).await;
    let a = server.create_session_id().await;
    let _b = server.create_session().await;
    let body = json!({"mode": "terminal", "working_dir": "project"});
    let m = assert_error(
        "third",
        &create_json(&server, body.clone()).await,
        503,
        "at_capacity",
    );
    assert!(m.contains('2'), "names the limit: {m}");
    let retry = server
        .req(Method::POST, SESSIONS)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 503);
    assert!(
        retry.headers().contains_key("retry-after"),
        "at capacity says when to retry"
    );
    let bob = server.add_user("bob", "bob-password-123");
    let (status, b) = server.create_session_as(&bob, body.clone()).await;
    assert_error("third, another user", &(status, b), 503, "at_capacity");
    let (_, all) = list_as(&server, &server.admin_token, "?all=true").await;
    assert_eq!(ids(&all).len(), 2, "refused creates leave no record");
    assert_eq!(server.children().len(), 2);
    // Stopping one frees a slot; resuming it then is refused instead.
    server.stop_session(&a).await;
    let (status, c) = create_json(&server, body.clone()).await;
    assert_eq!(status, 201, "{c}");
    let resumed = call(server.req(Method::POST, &format!("{SESSIONS}/{a}/resume"))).await;
    assert_error("resume past the limit", &resumed, 503, "at_capacity");
    assert_eq!(
        server.session(&a).await["state"],
        "stopped",
        "a refused resume leaves the session as it was"
    );
}

#[tokio::test]
async fn idle_sessions_are_stopped_but_watched_ones_are_not() {
    let server =
        TestServer::start(Options::shell("exec sleep 1000").toml("idle_timeout_secs = 1")).await;
    let idle = server.create_session_id().await;
    let watched = server.create_session_id().await;
    let viewer = server.terminal(&watched, "").await;
    // Started after the viewer attached: once it has gone idle, the watched
    // one's timeout has passed too (a barrier, not a fixed wait).
    let later = server.create_session_id().await;
    let s = server
        .wait_state(&idle, "stopped", Duration::from_secs(30))
        .await;
    assert_eq!(s["end_reason"], "idle");
    assert!(is_rfc3339(&s["ended_at"]));
    let l = server
        .wait_state(&later, "stopped", Duration::from_secs(30))
        .await;
    assert_eq!(l["end_reason"], "idle");
    // Past the timeout, the watched one still runs.
    let w = server.session(&watched).await;
    assert_eq!(w["state"], "running", "{w}");
    assert_eq!(w["viewers"], 1);
    // Once nobody watches, it is idle too.
    drop(viewer);
    let w = server
        .wait_state(&watched, "stopped", Duration::from_secs(30))
        .await;
    assert_eq!(w["end_reason"], "idle");
    assert!(server.children().is_empty());
}

#[tokio::test]
async fn sessions_that_ran_for_the_maximum_age_are_stopped_even_when_busy_and_watched() {
    let server = TestServer::start(
        Options::shell("while true; do echo busy; sleep 0.1; done")
            .toml("session_max_age_secs = 1"),
    )
    .await;
    let terminal = server.create_session_id().await;
    let _viewer = server.terminal(&terminal, "").await;
    let body = serde_json::json!({"mode": "chat", "working_dir": server.root.join("project")});
    let (status, chat) = server.create_session_as(&server.admin_token, body).await;
    assert_eq!(status, 201, "{chat}");
    let chat = chat["id"].as_str().unwrap().to_owned();
    for id in [&terminal, &chat] {
        let s = server
            .wait_state(id, "stopped", Duration::from_secs(10))
            .await;
        assert_eq!(s["end_reason"], "max_age", "{s}");
    }
    // A resume runs for the maximum age again, from its own start.
    let resumed = call(server.req(Method::POST, &format!("{SESSIONS}/{terminal}/resume"))).await;
    assert_eq!(resumed.0, 200, "{}", resumed.1);
    assert_eq!(server.session(&terminal).await["state"], "running");
    let s = server
        .wait_state(&terminal, "stopped", Duration::from_secs(10))
        .await;
    assert_eq!(s["end_reason"], "max_age", "{s}");
    assert!(server.children().is_empty());
}

#[tokio::test]
async fn a_program_that_exits_by_itself_is_exited_with_its_code() {
    let server = TestServer::start(Options::shell("exit 7")).await;
    let id = server.create_session_id().await;
    let s = server.wait_state(&id, "exited", T).await;
    assert_eq!(s["exit_code"], 7);
    assert_eq!(s["end_reason"], "exit");
    assert!(is_rfc3339(&s["ended_at"]), "{s}");
    common::eventually(T, "no process and no zombie left", || {
        let (live, zombies) = common::descendants(server.pid());
        live.is_empty() && zombies.is_empty()
    })
    .await;
    // Stopping an exited session changes nothing.
    let again = server.stop_session(&id).await;
    assert_eq!(
        (
            again["state"].as_str(),
            again["exit_code"].as_i64(),
            again["end_reason"].as_str()
        ),
        (Some("exited"), Some(7), Some("exit"))
    );
}

#[tokio::test]
async fn a_program_that_cannot_start_fails_cleanly_and_the_server_stays_healthy() {
    let options = Options {
        extra_toml: "max_sessions = 1\n".into(),
        env: Vec::new(),
        claude_bin: "/nonexistent/claude".into(),
        claude_args: Vec::new(),
    };
    let server = TestServer::start(options).await;
    // Twice: a failure must not keep the only slot.
    for _ in 0..2 {
        let (status, b) = create_json(
            &server,
            json!({"mode": "terminal", "working_dir": "project"}),
        )
        .await;
        let m = assert_error("missing program", &(status, b), 500, "spawn_failed");
        assert!(m.contains("/nonexistent/claude"), "names the program: {m}");
    }
    let (_, list) = list_as(&server, &server.admin_token, "").await;
    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for s in sessions {
        assert_eq!(s["state"], "failed", "{s}");
        assert_eq!(s["end_reason"], "error", "{s}");
        assert!(is_rfc3339(&s["ended_at"]), "{s}");
    }
    assert!(server.children().is_empty());
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    // Up, but not ready: readiness names the missing CLI.
    let ready = server.http.get(server.url("/readyz")).send().await.unwrap();
    assert_error("readiness", &answer(ready).await, 503, "claude_not_found");
    // The failed record stays readable.
    let id = sessions[0]["id"].as_str().unwrap();
    assert_eq!(server.session(id).await["state"], "failed");
}

#[tokio::test]
async fn health_and_readiness_are_open_without_credentials() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let (status, b) = call(server.http.get(server.url("/healthz"))).await;
    assert_eq!(status, 200, "{b}");
    let (status, b) = call(server.http.get(server.url("/readyz"))).await;
    assert_eq!(status, 200, "{b}");
    // Garbage credentials do not turn them into 401s.
    let r = server
        .http
        .get(server.url("/healthz"))
        .bearer_auth("garbage")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // But nothing under /api/ is open.
    assert_eq!(
        server
            .http
            .get(server.url("/api/me"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn resume_refuses_a_directory_that_is_gone_and_leaves_the_session_as_it_was() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let dir = server.root.join("project/gone-later");
    std::fs::create_dir(&dir).unwrap();
    let (status, s) = create_json(
        &server,
        json!({"mode": "terminal", "working_dir": dir.to_str().unwrap()}),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    server.stop_session(&id).await;
    std::fs::remove_dir(&dir).unwrap();
    let resume = format!("{SESSIONS}/{id}/resume");
    let m = assert_error(
        "resume in a removed directory",
        &call(server.req(Method::POST, &resume)).await,
        400,
        "invalid_working_dir",
    );
    assert!(m.contains("gone-later"), "names the directory: {m}");
    assert_eq!(
        server.session(&id).await["state"],
        "stopped",
        "not started, not failed"
    );
    std::fs::create_dir(&dir).unwrap();
    let (status, s) = call(server.req(Method::POST, &resume)).await;
    assert_eq!(status, 200, "{s}");
}
