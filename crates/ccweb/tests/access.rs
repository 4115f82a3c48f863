//! Accounts and abuse limits over HTTP: the audit log, API tokens and
//! users managed over the API, logout everywhere, per-user quotas and
//! rates, connection limits and timeouts against slow clients, per-user
//! roots, and the permission-mode policy. Each test attacks the limit it
//! names against the real server.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    answer, assert_error, call, cookie_of, one_shot_client, status_of, Options, TermClient,
    TestServer, SESSIONS,
};
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

fn project(server: &TestServer) -> Value {
    json!({"mode": "terminal", "working_dir": server.root.join("project")})
}

/// Opens a terminal socket with a bearer token.
async fn terminal_as(server: &TestServer, token: &str, id: &str) -> TermClient {
    let ws = server
        .ws_with(
            &format!("{SESSIONS}/{id}/terminal"),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await
        .expect("the socket opens");
    TermClient::connect(ws).await
}

/// Waits (at most 3 s) for a socket to close; returns its close code.
async fn closed_code(c: &mut TermClient) -> Option<u16> {
    let ended = tokio::time::timeout(Duration::from_secs(3), c.read_to_end()).await;
    assert!(ended.is_ok(), "the socket is still open after 3 s");
    c.closed.as_ref().map(|c| c.0)
}

/// Logs in with a password; the cookie.
async fn password_login(server: &TestServer, user: &str, password: &str) -> String {
    let resp = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    cookie_of(&resp)
}

/// The admin's view of the audit log for `query`.
async fn audit(server: &TestServer, query: &str) -> Value {
    let (status, body) = call(server.req(Method::GET, &format!("/api/admin/audit{query}"))).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn actions(page: &Value) -> Vec<String> {
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn admins_read_an_audit_log_of_logins_sessions_and_tokens_that_holds_no_secret() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let alice = server.add_user("alice", "alice-password-1");
    let wrong = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "alice", "password": "not-her-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    password_login(&server, "alice", "alice-password-1").await;
    let (status, s) = call(
        server
            .req_as(&alice, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let (status, _) =
        call(server.req_as(&alice, Method::DELETE, &format!("{SESSIONS}/{id}"))).await;
    assert_eq!(status, 200);
    let (status, created) = call(
        server
            .req_as(&alice, Method::POST, "/api/tokens")
            .json(&json!({"name": "ci", "scope": "read"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();

    let all = audit(&server, "?user=alice").await;
    let seen = actions(&all);
    for want in [
        "login:failure",
        "login:success",
        "session.create:success",
        "session.stop:success",
        "token.create:success",
    ] {
        assert!(
            seen.iter().any(|a| a == want),
            "{want} missing from {seen:?}"
        );
    }
    let failed = all["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "login" && e["outcome"] == "failure")
        .unwrap();
    assert_eq!(failed["user_name"], "alice");
    assert_eq!(failed["source"], "127.0.0.1");
    assert_eq!(failed["detail"]["method"], "password");
    let text = all.to_string();
    for secret in ["not-her-password", "alice-password-1", &alice, &secret] {
        assert!(!text.contains(secret), "the audit log holds a secret");
    }

    // Filters and pages.
    let sessions = audit(&server, "?user=alice&action=session.*").await;
    assert_eq!(
        actions(&sessions),
        ["session.stop:success", "session.create:success"]
    );
    assert_eq!(sessions["entries"][1]["target"], id.as_str());
    assert_eq!(
        actions(&audit(&server, "?outcome=failure").await),
        ["login:failure"]
    );
    let page1 = audit(&server, "?user=alice&limit=2").await;
    assert_eq!(page1["entries"].as_array().unwrap().len(), 2);
    let next = page1["next_before"].as_i64().expect("a next page");
    let page2 = audit(&server, &format!("?user=alice&before={next}&limit=500")).await;
    assert!(page2["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"].as_i64().unwrap() < next));
    assert_eq!(
        page1["entries"].as_array().unwrap().len() + page2["entries"].as_array().unwrap().len(),
        all["entries"].as_array().unwrap().len()
    );
    assert!(page2["next_before"].is_null(), "the last page says so");

    // Only admins read it; bad queries are 400s that say what to fix.
    let (status, body) = call(server.req_as(&alice, Method::GET, "/api/admin/audit")).await;
    assert_error("non-admin", &(status, body), 403, "admin_only");
    for bad in [
        "?limit=0",
        "?limit=501",
        "?since=yesterday",
        "?outcome=maybe",
        "?color=red",
    ] {
        let r = call(server.req(Method::GET, &format!("/api/admin/audit{bad}"))).await;
        assert_error(bad, &r, 400, "invalid_query");
    }
}

#[tokio::test]
async fn api_tokens_are_managed_over_http_and_a_revoked_one_closes_its_sockets_at_once() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let (status, made) = call(
        server
            .req_as(&alice, Method::POST, "/api/tokens")
            .json(&json!({"name": "laptop", "expires_in_secs": 3600})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let laptop = made["secret"].as_str().unwrap().to_owned();
    assert!(laptop.starts_with("ccweb_"));
    assert_eq!(made["token"]["scope"], "full");
    assert!(made["token"]["expires_at"].is_string());
    let token_id = made["token"]["id"].as_str().unwrap().to_owned();

    let (_, listed) = call(server.req_as(&alice, Method::GET, "/api/tokens")).await;
    let names: Vec<_> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert!(names.contains(&json!("laptop")), "{listed}");
    assert!(
        !listed.to_string().contains(&laptop),
        "a listing never shows a secret"
    );
    assert!(!listed.to_string().contains("secret"));

    // A read token may look but not start anything.
    let (_, ro) = call(
        server
            .req_as(&alice, Method::POST, "/api/tokens")
            .json(&json!({"name": "ro", "scope": "read"})),
    )
    .await;
    let ro = ro["secret"].as_str().unwrap().to_owned();
    let r = call(
        server
            .req_as(&ro, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    assert_error("read token starts a session", &r, 403, "read_only_token");
    let r = call(
        server
            .req_as(&ro, Method::POST, "/api/tokens")
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_error("read token mints a token", &r, 403, "read_only_token");

    let (status, s) = call(
        server
            .req_as(&laptop, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let mut c = terminal_as(&server, &laptop, s["id"].as_str().unwrap()).await;

    // Nobody else can revoke it, and nonsense ids are plain 404s.
    let r = call(server.req_as(&bob, Method::DELETE, &format!("/api/tokens/{token_id}"))).await;
    assert_error("another user's token", &r, 404, "not_found");
    let r = call(server.req_as(&alice, Method::DELETE, "/api/tokens/not-an-id")).await;
    assert_error("garbage id", &r, 404, "not_found");
    let r = call(
        server
            .req_as(&alice, Method::POST, "/api/tokens")
            .json(&json!({"name": "forever", "expires_in_secs": 0})),
    )
    .await;
    assert_error("zero lifetime", &r, 400, "invalid_expiry");

    let status =
        status_of(server.req_as(&alice, Method::DELETE, &format!("/api/tokens/{token_id}"))).await;
    assert_eq!(status, 204);
    assert_eq!(closed_code(&mut c).await, Some(1008));
    assert_eq!(
        status_of(server.req_as(&laptop, Method::GET, "/api/me")).await,
        401
    );
    assert_eq!(
        status_of(server.req_as(&alice, Method::GET, "/api/me")).await,
        200,
        "her other tokens still work"
    );
}

#[tokio::test]
async fn admins_manage_users_and_disabling_one_ends_their_access_and_sessions_at_once() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let (status, made) = call(
        server
            .req(Method::POST, "/api/admin/users")
            .json(&json!({"name": "bob", "password": "bob-password-1"})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["user"]["is_admin"], false);
    assert!(!made.to_string().contains("bob-password-1"));
    password_login(&server, "bob", "bob-password-1").await;
    let r = call(
        server
            .req(Method::POST, "/api/admin/users")
            .json(&json!({"name": "bob"})),
    )
    .await;
    assert_error("duplicate", &r, 409, "conflict");

    let bob = server
        .cli(&["token", "create", "--user", "bob"], None)
        .trim()
        .to_owned();
    for (method, path) in [
        (Method::GET, "/api/admin/users"),
        (Method::POST, "/api/admin/users"),
        (Method::PATCH, "/api/admin/users/admin"),
        (Method::GET, "/api/admin/audit"),
        (Method::GET, "/api/admin/status"),
    ] {
        let r = call(
            server
                .req_as(&bob, method.clone(), path)
                .json(&json!({"name": "eve"})),
        )
        .await;
        assert_error(
            &format!("{method} {path} as non-admin"),
            &r,
            403,
            "admin_only",
        );
    }

    let (_, s) = call(
        server
            .req_as(&bob, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let mut c = terminal_as(&server, &bob, &id).await;
    let (status, changed) = call(
        server
            .req(Method::PATCH, "/api/admin/users/bob")
            .json(&json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["user"]["disabled"], true);
    assert_eq!(
        closed_code(&mut c).await,
        Some(1008),
        "closed at once, not at the next re-check"
    );
    assert_eq!(server.session(&id).await["state"], "stopped");
    assert_eq!(
        status_of(server.req_as(&bob, Method::GET, "/api/me")).await,
        401
    );
    let audit = audit(&server, "?action=admin.*").await;
    let seen = actions(&audit);
    assert!(
        seen.contains(&"admin.user.update:success".to_owned()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"admin.user.create:success".to_owned()),
        "{seen:?}"
    );

    let r = call(
        server
            .req(Method::PATCH, "/api/admin/users/admin")
            .json(&json!({"disabled": true})),
    )
    .await;
    assert_error("disable yourself", &r, 409, "cannot_demote_self");
    let r = call(
        server
            .req(Method::PATCH, "/api/admin/users/nobody")
            .json(&json!({"is_admin": true})),
    )
    .await;
    assert_error("unknown user", &r, 404, "not_found");
    let r = call(
        server
            .req(Method::PATCH, "/api/admin/users/bob")
            .json(&json!({"password": "short"})),
    )
    .await;
    assert_error("weak password", &r, 400, "invalid_input");
    let (status, _) = call(
        server
            .req(Method::PATCH, "/api/admin/users/bob")
            .json(&json!({"disabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        status_of(server.req_as(&bob, Method::GET, "/api/me")).await,
        200,
        "enabled again"
    );
}

#[tokio::test]
async fn logout_everywhere_ends_every_browser_login_of_the_user_but_not_their_tokens() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let alice = server.add_user("alice", "alice-password-1");
    let laptop = password_login(&server, "alice", "alice-password-1").await;
    let phone = password_login(&server, "alice", "alice-password-1").await;
    let (_, s) = call(
        server
            .req_as(&alice, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    let ws = server
        .ws_with(
            &format!("{SESSIONS}/{}/terminal", s["id"].as_str().unwrap()),
            &[("cookie", &phone), ("origin", &server.origin())],
        )
        .await
        .unwrap();
    let mut c = TermClient::connect(ws).await;
    let (status, body) = call(
        server
            .req_cookie(&laptop, Method::POST, "/api/auth/logout-all")
            .header("origin", server.origin()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ended"], 2);
    assert_eq!(closed_code(&mut c).await, Some(1008));
    for cookie in [&laptop, &phone] {
        assert_eq!(
            status_of(server.req_cookie(cookie, Method::GET, "/api/me")).await,
            401
        );
    }
    assert_eq!(
        status_of(server.req_as(&alice, Method::GET, "/api/me")).await,
        200
    );
    // A cross-site page cannot log the victim out everywhere.
    let again = password_login(&server, "alice", "alice-password-1").await;
    let r = call(
        server
            .req_cookie(&again, Method::POST, "/api/auth/logout-all")
            .header("origin", "http://evil.example"),
    )
    .await;
    assert_error("foreign origin", &r, 403, "origin_not_allowed");
}

#[tokio::test]
async fn each_user_has_a_session_quota_and_a_start_rate_and_others_still_start() {
    let server = TestServer::start(
        Options::shell("exec sleep 1000")
            .toml("max_sessions_per_user = 2\nsession_starts_per_user_per_minute = 3"),
    )
    .await;
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let create = |token: &str| {
        call(
            server
                .req_as(token, Method::POST, SESSIONS)
                .json(&project(&server)),
        )
    };
    let (s1, first) = create(&alice).await;
    let (s2, _) = create(&alice).await;
    assert_eq!((s1, s2), (201, 201));
    let msg = assert_error(
        "third running session",
        &create(&alice).await,
        429,
        "session_quota",
    );
    assert!(msg.contains('2'), "the message names the quota: {msg}");
    assert_eq!(create(&bob).await.0, 201, "other users still start");

    let id = first["id"].as_str().unwrap();
    call(server.req_as(&alice, Method::DELETE, &format!("{SESSIONS}/{id}"))).await;
    let (s3, third) = create(&alice).await;
    assert_eq!(s3, 201, "a stop frees a place: {third}");
    let id = third["id"].as_str().unwrap();
    call(server.req_as(&alice, Method::DELETE, &format!("{SESSIONS}/{id}"))).await;
    let resp = server
        .req_as(&alice, Method::POST, SESSIONS)
        .json(&project(&server))
        .send()
        .await
        .unwrap();
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_error(
        "fourth start in a minute",
        &answer(resp).await,
        429,
        "rate_limited",
    );
    let limited = audit(&server, "?user=alice&outcome=limited").await;
    assert_eq!(
        actions(&limited).len(),
        2,
        "both refusals are audited: {limited}"
    );
}

#[tokio::test]
async fn each_user_has_a_socket_quota() {
    let server =
        TestServer::start(Options::interactive_shell().toml("max_sockets_per_user = 2")).await;
    let id = server.create_session_id().await;
    let a = server.terminal(&id, "").await;
    let _b = server.terminal(&id, "").await;
    let path = format!("{SESSIONS}/{id}/terminal");
    let bearer = format!("Bearer {}", server.admin_token);
    let third = server.ws_with(&path, &[("authorization", &bearer)]).await;
    assert_eq!(
        third.err(),
        Some(429),
        "a third socket is refused before the upgrade"
    );
    drop(a);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(ws) = server.ws_with(&path, &[("authorization", &bearer)]).await {
            reopened = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened.is_some(), "closing one frees its place");
}

#[tokio::test]
async fn a_spoofed_x_forwarded_for_from_an_untrusted_peer_changes_no_address() {
    // The test client (127.0.0.1) is not the trusted proxy here.
    let server = TestServer::start(
        Options::shell("exec sleep 1000")
            .toml("trusted_proxies = [\"10.9.9.9\"]\nlogin_failures_per_ip_per_minute = 2"),
    )
    .await;
    let login = |xff: &str| {
        server
            .http
            .post(server.url("/api/auth/login"))
            .header("x-forwarded-for", xff.to_owned())
            .json(&json!({"username": "nobody", "password": "wrong-password"}))
    };
    // A fresh spoofed address for every guess does not escape the per-address limit.
    let mut statuses = Vec::new();
    for i in 0..6 {
        statuses.push(status_of(login(&format!("198.51.100.{i}"))).await);
    }
    assert_eq!(statuses[3..], [429, 429, 429], "{statuses:?}");
    // Nor does it change the address in the audit log.
    let (status, _) = call(
        server
            .req(Method::POST, SESSIONS)
            .header("x-forwarded-for", "198.51.100.99")
            .json(&project(&server)),
    )
    .await;
    assert_eq!(status, 201);
    for query in ["?action=login", "?action=session.create"] {
        let page = audit(&server, query).await;
        let entries = page["entries"].as_array().unwrap();
        assert!(!entries.is_empty(), "{query}: {page}");
        for e in entries {
            assert_eq!(e["source"], "127.0.0.1", "{query}: {e}");
        }
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_real_client_gets_its_own_connection_cap() {
    // Through a proxy every client's sockets are the proxy's connections,
    // which only the total cap limits; one client must not take them all.
    let server = TestServer::start(Options::interactive_shell().toml(
        "trusted_proxies = [\"127.0.0.1\"]\nmax_connections_per_ip = 2\nmax_sockets_per_user = 50",
    ))
    .await;
    let id = server.create_session_id().await;
    let path = format!("{SESSIONS}/{id}/terminal");
    let bearer = format!("Bearer {}", server.admin_token);
    let from = |client: &'static str| {
        let (server, path, bearer) = (&server, &path, &bearer);
        async move {
            server
                .ws_with(
                    path,
                    &[("authorization", bearer), ("x-forwarded-for", client)],
                )
                .await
        }
    };
    let _a = from("203.0.113.1").await.expect("first socket");
    let _b = from("203.0.113.1").await.expect("second socket");
    assert_eq!(
        from("203.0.113.1").await.err(),
        Some(429),
        "a third socket of the same client is refused"
    );
    let _c = from("203.0.113.2")
        .await
        .expect("another client behind the proxy has its own cap");
    let (_, page) = call(server.req(Method::GET, "/api/admin/audit?action=session.attach")).await;
    assert!(
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["outcome"] == "limited" && e["source"] == "203.0.113.1"),
        "{page}"
    );
}

#[tokio::test]
async fn a_socket_flooding_input_is_closed_and_the_session_lives_on() {
    let server =
        TestServer::start(Options::interactive_shell().toml("ws_messages_per_second = 5")).await;
    let id = server.create_session_id().await;
    let mut c = server.terminal(&id, "").await;
    for _ in 0..40 {
        if c.ws
            .send(Message::Binary(b"x".to_vec().into()))
            .await
            .is_err()
        {
            break;
        }
    }
    assert_eq!(closed_code(&mut c).await, Some(1008));
    assert!(
        c.closed.as_ref().unwrap().1.contains("rate"),
        "{:?}",
        c.closed
    );
    // The limit hit is in the audit log, with who and which session.
    let page = audit(&server, "?action=ws.rate_limited").await;
    let entry = &page["entries"][0];
    assert_eq!(entry["outcome"], "limited", "{page}");
    assert_eq!(entry["user_name"], "admin");
    assert_eq!(entry["target"], id.as_str());
    assert_eq!(server.session(&id).await["state"], "running");
    let mut again = server.terminal(&id, "").await;
    again
        .send_text(json!({"type": "input", "data": "echo still-here\r"}))
        .await;
    again
        .wait_for(Duration::from_secs(10), |s| s.contains("still-here"))
        .await;
}

/// A raw TCP connection from `local` (another loopback address is another client).
async fn tcp_from(server: &TestServer, local: &str) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{local}:0").parse().unwrap()).unwrap();
    socket.connect(server.addr.parse().unwrap()).await.unwrap()
}

/// Whether the server closed `conn` (a read sees the end) within `within`.
async fn closed_within(conn: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(within, conn.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn idle_slow_and_numerous_connections_are_bounded_and_other_clients_are_served() {
    let server = TestServer::start(Options::shell("exec sleep 1000").toml(
        // A header timeout long enough that the four idle connections below
        // are still open when the fifth comes, even on a busy machine.
        "max_connections_per_ip = 4\nhttp_header_timeout_secs = 5\nhttp_request_timeout_secs = 2",
    ))
    .await;
    // Four silent connections use up this client's share...
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(tcp_from(&server, "127.0.0.1").await);
    }
    // The accept loop counts connections in the order they came, so the
    // fifth is over the cap: closed unanswered (an admitted one would answer
    // this request).
    let mut fifth = tcp_from(&server, "127.0.0.1").await;
    let _ = fifth
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes())
        .await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), fifth.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "over the per-address cap: never closed");
    assert!(
        answer.is_empty(),
        "over the per-address cap: closed without an answer, got {:?}",
        String::from_utf8_lossy(&answer)
    );
    // ...while another client is served.
    let other = reqwest::Client::builder()
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    let health = other.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Clients that never finish their headers are dropped after the timeout.
    for conn in &mut idle {
        assert!(
            closed_within(conn, Duration::from_secs(30)).await,
            "header timeout"
        );
    }
    drop(idle);
    // A place is freed just after its connection closes: asked until answered.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match one_shot_client()
            .get(server.url("/api/me"))
            .bearer_auth(&server.admin_token)
            .send()
            .await
        {
            Ok(resp) if resp.status() == 200 => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "places are never free again: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A body that never arrives in full: 408 with a JSON error.
    let mut slow = tcp_from(&server, "127.0.0.1").await;
    let head = format!(
        "POST {SESSIONS} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"mode\"",
        server.addr, server.admin_token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 1024];
        loop {
            match slow.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}}") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled body");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"request_timeout\""), "{text}");
    assert!(server.sessions().await.is_empty(), "nothing was created");
}

#[tokio::test]
async fn per_user_roots_keep_users_apart_and_distinct_names_get_distinct_dirs() {
    let homes = tempfile::tempdir().unwrap();
    let homes = std::fs::canonicalize(homes.path()).unwrap();
    let template = format!("{}/{{user}}", homes.display());
    let server = TestServer::start(
        Options::shell("exec sleep 1000").toml(&format!("user_roots = [{template:?}]")),
    )
    .await;
    let alice = server.add_user("alice", "alice-password-1");
    let a_b = server.add_user("a-b", "a-b-password-1");
    let a = server.add_user("a", "a-password-12");
    let create = |token: &str, dir: std::path::PathBuf| {
        call(
            server
                .req_as(token, Method::POST, SESSIONS)
                .json(&json!({"mode": "terminal", "working_dir": dir})),
        )
    };
    // Her own root is made on first use, private to her.
    let (_, listing) = call(server.req_as(&alice, Method::GET, "/api/fs/dirs")).await;
    assert_eq!(listing["roots"], json!([homes.join("alice")]), "{listing}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(homes.join("alice"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o700);
    let (status, s) = create(&alice, homes.join("alice")).await;
    assert_eq!(status, 201, "{s}");
    std::fs::create_dir_all(homes.join("bob")).unwrap();
    for outside in [
        homes.join("bob"),
        server.root.join("project"),
        homes.join("alice/../bob"),
    ] {
        let r = create(&alice, outside.clone()).await;
        assert_error(&format!("{outside:?}"), &r, 403, "path_not_allowed");
    }
    let (_, la) = call(server.req_as(&a, Method::GET, "/api/fs/dirs")).await;
    let (_, lab) = call(server.req_as(&a_b, Method::GET, "/api/fs/dirs")).await;
    assert_ne!(la["roots"], lab["roots"]);
    let r = create(&a, homes.join("a-b")).await;
    assert_error("a into a-b", &r, 403, "path_not_allowed");
    // Admins keep the allowed roots.
    assert_eq!(
        create(&server.admin_token, server.root.join("project"))
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn bypass_permissions_is_only_for_servers_that_allow_it() {
    unattended_mode_is_only_for_servers_that_allow_it("bypassPermissions").await;
}

#[tokio::test]
async fn auto_permission_mode_is_gated_like_bypass_permissions() {
    // `auto` lets a classifier, not a person, approve tool calls: as
    // unattended as bypassPermissions, at start and when switched to.
    unattended_mode_is_only_for_servers_that_allow_it("auto").await;
}

/// `mode` is refused at start and at a runtime switch unless
/// `allow_bypass_permissions` is on.
async fn unattended_mode_is_only_for_servers_that_allow_it(mode: &str) {
    let body = |server: &TestServer| json!({"mode": "chat", "working_dir": server.root.join("project"), "permission_mode": mode});
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    // The UI learns the policy from /api/me, so it does not offer what is refused.
    let (status, me) = call(server.req(Method::GET, "/api/me")).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["server"]["allow_bypass_permissions"], false, "{me}");
    let r = call(server.req(Method::POST, SESSIONS).json(&body(&server))).await;
    assert_error(mode, &r, 403, "permission_mode_not_allowed");
    // Nor can a running chat session be switched to it.
    let (status, s) = call(
        server
            .req(Method::POST, SESSIONS)
            .json(&json!({"mode": "chat", "working_dir": server.root.join("project")})),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let mut ws = server.ws(s["id"].as_str().unwrap(), "chat", "").await;
    ws.send(Message::Text(
        json!({"type": "set_permission_mode", "mode": mode})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let refusal = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = ws.next().await {
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "error" {
                    return v;
                }
            }
        }
        panic!("the socket ended without an error message")
    })
    .await
    .expect("an answer");
    assert_eq!(refusal["code"], "permission_mode_not_allowed", "{refusal}");
    let server = TestServer::start(
        Options::shell("exec sleep 1000").toml("allow_bypass_permissions = true"),
    )
    .await;
    let (_, me) = call(server.req(Method::GET, "/api/me")).await;
    assert_eq!(me["server"]["allow_bypass_permissions"], true, "{me}");
    let (status, s) = call(server.req(Method::POST, SESSIONS).json(&body(&server))).await;
    assert_eq!(status, 201, "{s}");
}

#[tokio::test]
async fn a_bypass_session_resumes_in_default_mode_once_the_server_disallows_bypass() {
    let allowing = Options::shell("exec sleep 1000").toml("allow_bypass_permissions = true");
    let server = TestServer::start(allowing).await;
    let body = json!({"mode": "terminal", "working_dir": server.root.join("project"), "permission_mode": "bypassPermissions"});
    let (status, s) = call(server.req(Method::POST, SESSIONS).json(&body)).await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    server.stop_session(&id).await;
    let server = server.restart_with(Options::shell("exec sleep 1000")).await;
    let (status, s) = call(server.req(Method::POST, &format!("{SESSIONS}/{id}/resume"))).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        s["permission_mode"], "default",
        "the policy of today applies to a resume: {s}"
    );
}

#[tokio::test]
async fn an_expired_login_closes_its_open_socket() {
    let server = TestServer::start(Options::interactive_shell().toml("login_ttl_secs = 2")).await;
    let id = server.create_session_id().await;
    let resp = server
        .http
        .post(server.url("/api/auth/token"))
        .json(&json!({"token": server.admin_token}))
        .send()
        .await
        .unwrap();
    let cookie = cookie_of(&resp);
    let path = format!("{SESSIONS}/{id}/terminal");
    let ws = server
        .ws_with(&path, &[("cookie", &cookie), ("origin", &server.origin())])
        .await
        .unwrap();
    let mut c = TermClient::connect(ws).await;
    // Two seconds of life, then at most one re-check interval (5 s).
    let ended = tokio::time::timeout(Duration::from_secs(10), c.read_to_end()).await;
    assert!(ended.is_ok(), "the socket outlived its login");
    assert_eq!(c.closed.as_ref().map(|c| c.0), Some(1008));
    let again = server
        .ws_with(&path, &[("cookie", &cookie), ("origin", &server.origin())])
        .await;
    assert_eq!(again.err(), Some(401), "reconnecting needs a new login");
}

#[tokio::test]
async fn preflights_get_no_cors_grant() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let preflight = server
        .http
        .request(Method::OPTIONS, server.url(SESSIONS))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-csrf-token",
        )
        .send()
        .await
        .unwrap();
    let cross = server
        .req(Method::GET, "/api/me")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    for resp in [&preflight, &cross] {
        assert!(
            !resp
                .headers()
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")),
            "no CORS grant: {:?}",
            resp.headers()
        );
    }
}

#[tokio::test]
async fn deeply_nested_and_invalid_utf8_input_is_a_clean_error() {
    use tokio_tungstenite::tungstenite::protocol::frame::{coding::Data, coding::OpCode, Frame};
    let server = TestServer::start(Options::interactive_shell()).await;
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    for (what, body) in [
        ("deep nesting", deep.clone().into_bytes()),
        (
            "invalid UTF-8",
            b"{\"mode\": \"terminal\", \"working_dir\": \"\xff\xfe\"}".to_vec(),
        ),
    ] {
        let r = call(
            server
                .req(Method::POST, SESSIONS)
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
        assert_eq!(r.0, 400, "{what}: {}", r.1);
    }
    assert!(server.sessions().await.is_empty());

    let id = server.create_session_id().await;
    let mut c = server.terminal(&id, "").await;
    c.ws.send(Message::Text(deep.into())).await.unwrap();
    let reply = c.wait_control("error").await;
    assert!(reply["code"].is_string(), "{reply}");
    c.send_text(json!({"type": "input", "data": "echo fine\r"}))
        .await;
    c.wait_for(Duration::from_secs(10), |s| s.contains("fine"))
        .await;
    // A text frame that is not UTF-8 closes the socket with 1007.
    let frame = Frame::message(b"\xff\xfe".to_vec(), OpCode::Data(Data::Text), true);
    c.ws.send(Message::Frame(frame)).await.unwrap();
    assert_eq!(closed_code(&mut c).await, Some(1007));
    assert_eq!(server.session(&id).await["state"], "running");
}

#[tokio::test]
async fn concurrent_resumes_start_one_process() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let id = server.create_session_id().await;
    server.stop_session(&id).await;
    let before = server.children().len();
    let path = format!("{SESSIONS}/{id}/resume");
    let answers =
        futures_util::future::join_all((0..6).map(|_| call(server.req(Method::POST, &path)))).await;
    let started = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(started, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_error(
            "a concurrent resume",
            &(*status, body.clone()),
            409,
            "session_running",
        );
    }
    assert_eq!(server.children().len(), before + 1, "one process");
}

#[tokio::test]
async fn disabling_a_user_with_the_cli_stops_their_running_sessions() {
    // `ccweb user disable` writes the database while the server runs; the
    // server must notice and do what the HTTP path does.
    let server = TestServer::start(Options::interactive_shell()).await;
    let bob = server.add_user("bob", "bob-password-1");
    let (status, s) = call(
        server
            .req_as(&bob, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let mut c = terminal_as(&server, &bob, &id).await;
    server.cli(&["user", "disable", "bob"], None);
    let ended = server
        .wait_state(&id, "stopped", Duration::from_secs(20))
        .await;
    assert_eq!(ended["end_reason"], "stop", "{ended}");
    let closed = tokio::time::timeout(Duration::from_secs(10), c.read_to_end()).await;
    assert!(closed.is_ok(), "bob's socket is still open");
    assert_eq!(c.closed.as_ref().map(|c| c.0), Some(1008));
    assert_eq!(
        status_of(server.req_as(&bob, Method::GET, "/api/me")).await,
        401
    );
    server
        .wait_for_log_message("stopped the sessions of a disabled user")
        .await;
}

#[tokio::test]
async fn share_links_die_when_their_owner_is_disabled() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let (_, s) = call(
        server
            .req_as(&alice, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let (status, made) = call(
        server
            .req_as(&alice, Method::POST, &format!("{SESSIONS}/{id}/shares"))
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let shared = format!("/api/shared/{}", made["token"].as_str().unwrap());
    let open = || {
        let (server, path, auth) = (
            &server,
            format!("{shared}/terminal"),
            format!("Bearer {bob}"),
        );
        async move {
            let ws = server
                .ws_with(&path, &[("authorization", &auth)])
                .await
                .expect("the shared socket opens");
            TermClient::connect(ws).await
        }
    };
    // Disabled over HTTP: the viewer's socket closes at once, the link is 404.
    let mut watching = open().await;
    let status = status_of(
        server
            .req(Method::PATCH, "/api/admin/users/alice")
            .json(&json!({"disabled": true})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(closed_code(&mut watching).await, Some(1008));
    let r = call(server.req_as(&bob, Method::GET, &shared)).await;
    assert_error("the link of a disabled owner", &r, 404, "not_found");
    let r = call(server.req_as(&bob, Method::GET, &format!("{shared}/events"))).await;
    assert_error("its events", &r, 404, "not_found");
    assert_eq!(
        server
            .ws_with(
                &format!("{shared}/chat"),
                &[("authorization", &format!("Bearer {bob}"))]
            )
            .await
            .err(),
        Some(404)
    );
    // Disabled by the CLI (the server is not told): the viewer is closed
    // by the next re-check.
    let status = status_of(
        server
            .req(Method::PATCH, "/api/admin/users/alice")
            .json(&json!({"disabled": false})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(call(server.req_as(&bob, Method::GET, &shared)).await.0, 200);
    let mut watching = open().await;
    server.cli(&["user", "disable", "alice"], None);
    let closed = tokio::time::timeout(Duration::from_secs(10), watching.read_to_end()).await;
    assert!(closed.is_ok(), "the viewer's socket is still open");
    // Her session stops too: its end or the re-check closes the viewer.
    let code = watching.closed.as_ref().map(|c| c.0);
    assert!(matches!(code, Some(1000 | 1008)), "{code:?}");
    assert_eq!(call(server.req_as(&bob, Method::GET, &shared)).await.0, 404);
}

#[tokio::test]
async fn share_links_let_logged_in_users_watch_read_only_until_revoked() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let (_, s) = call(
        server
            .req_as(&alice, Method::POST, SESSIONS)
            .json(&project(&server)),
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let shares = format!("{SESSIONS}/{id}/shares");

    // Only the owner makes links; for others the session does not exist.
    for token in [&bob, &server.admin_token] {
        let r = call(server.req_as(token, Method::POST, &shares).json(&json!({}))).await;
        assert_error("someone else's session", &r, 404, "not_found");
    }
    let (status, made) = call(
        server
            .req_as(&alice, Method::POST, &shares)
            .json(&json!({})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let secret = made["token"].as_str().unwrap().to_owned();
    assert_eq!(made["path"], format!("#/share/{secret}"));
    let share_id = made["share"]["id"].as_str().unwrap().to_owned();
    let (_, listed) = call(server.req_as(&alice, Method::GET, &shares)).await;
    assert_eq!(listed["shares"][0]["id"], share_id.as_str());
    assert!(
        !listed.to_string().contains(&secret),
        "a listing never shows a secret"
    );

    // Bob, logged in, watches through the link; without a login nobody does.
    let shared = format!("/api/shared/{secret}");
    let (status, seen) = call(server.req_as(&bob, Method::GET, &shared)).await;
    assert_eq!(
        (status, seen["id"].as_str()),
        (200, Some(id.as_str())),
        "{seen}"
    );
    assert_eq!(
        call(server.req_as(&bob, Method::GET, &format!("{shared}/events")))
            .await
            .0,
        200
    );
    assert_eq!(status_of(server.http.get(server.url(&shared))).await, 401);
    let r = call(server.req_as(&bob, Method::GET, "/api/shared/ccweb_share_guess")).await;
    assert_error("a guessed link", &r, 404, "not_found");
    let ws = server
        .ws_with(
            &format!("{shared}/terminal"),
            &[("authorization", &format!("Bearer {bob}"))],
        )
        .await
        .expect("the shared socket opens");
    let mut viewer = TermClient::connect(ws).await;
    assert_eq!(viewer.controls[0]["readonly"], true);
    viewer
        .send_text(json!({"type": "input", "data": "echo typed-by-bob\r"}))
        .await;
    let refusal = viewer.wait_control("error").await;
    assert_eq!(refusal["code"], "readonly", "{refusal}");
    // Bob still cannot reach the session by its id.
    let r = call(server.req_as(&bob, Method::GET, &format!("{SESSIONS}/{id}"))).await;
    assert_error("by id", &r, 404, "not_found");

    // Revoking closes his socket at once and the link stops working.
    let status =
        status_of(server.req_as(&alice, Method::DELETE, &format!("{shares}/{share_id}"))).await;
    assert_eq!(status, 204);
    assert_eq!(closed_code(&mut viewer).await, Some(1008));
    assert_eq!(call(server.req_as(&bob, Method::GET, &shared)).await.0, 404);

    // Links can expire.
    let (_, brief) = call(
        server
            .req_as(&alice, Method::POST, &shares)
            .json(&json!({"expires_in_secs": 1})),
    )
    .await;
    let brief = format!("/api/shared/{}", brief["token"].as_str().unwrap());
    assert_eq!(call(server.req_as(&bob, Method::GET, &brief)).await.0, 200);
    // Asked until it is gone (a second from now), not after a fixed wait.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = call(server.req_as(&bob, Method::GET, &brief)).await.0;
        if status == 404 {
            break;
        }
        assert_eq!(status, 200, "before it expires the link works");
        assert!(
            std::time::Instant::now() < deadline,
            "the link never expired"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let seen = actions(&audit(&server, "?action=share.*").await);
    for want in [
        "share.create:success",
        "share.attach:success",
        "share.revoke:success",
    ] {
        assert!(
            seen.iter().any(|a| a == want),
            "{want} missing from {seen:?}"
        );
    }
}

#[tokio::test]
async fn share_links_can_be_turned_off() {
    let server =
        TestServer::start(Options::shell("exec sleep 1000").toml("share_links = false")).await;
    let id = server.create_session_id().await;
    let r = call(
        server
            .req(Method::POST, &format!("{SESSIONS}/{id}/shares"))
            .json(&json!({})),
    )
    .await;
    assert_error("turned off", &r, 404, "not_found");
}

#[tokio::test]
async fn the_audit_log_can_also_go_to_a_private_json_lines_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("audit.jsonl");
    let server = TestServer::start(Options::shell("exec sleep 1000").toml(&format!(
        "audit_log_file = {:?}",
        file.display().to_string()
    )))
    .await;
    server.create_session_id().await;
    let text = std::fs::read_to_string(&file).unwrap();
    let entries: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "login" && e["detail"]["method"] == "one_time_url"),
        "{text}"
    );
    assert!(
        entries.iter().any(|e| e["action"] == "session.create"),
        "{text}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&file).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
}
