//! Attacks on authentication: missing and forged credentials, the one-time
//! login URL, password and token login, logout, CSRF, cross-site WebSocket
//! hijacking, DNS rebinding, form posts, read-only tokens, and secrets in logs.
#![allow(clippy::unwrap_used)]

mod common;

use common::{
    answer, assert_error, call, one_shot_client, status_of, Options, TermClient, TestServer,
    SESSIONS,
};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(15);

/// The session body every create in this file sends.
fn create_body(server: &TestServer) -> Value {
    json!({"mode": "terminal", "working_dir": server.root.join("project")})
}

/// The one-time token in the printed login URL.
fn one_time_token(server: &TestServer) -> String {
    server.login_url.split_once("token=").unwrap().1.to_owned()
}

/// The value part of a `ccweb_session=VALUE` cookie.
fn cookie_secret(cookie: &str) -> &str {
    cookie.split_once('=').unwrap().1
}

/// A password login request.
fn login_request(server: &TestServer, user: &str, password: &str) -> RequestBuilder {
    server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": user, "password": password}))
}

/// A request to exchange an API token for a cookie.
fn token_request(server: &TestServer, token: &str) -> RequestBuilder {
    server
        .http
        .post(server.url("/api/auth/token"))
        .json(&json!({"token": token}))
}

/// Sends a login request that must succeed; returns (cookie, csrf token).
async fn logged_in(req: RequestBuilder) -> (String, String) {
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let cookie = common::cookie_of(&resp);
    let body: Value = resp.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

/// Logs in with a password; returns (cookie, csrf token).
async fn password_login(server: &TestServer, user: &str, password: &str) -> (String, String) {
    logged_in(login_request(server, user, password)).await
}

/// Exchanges an API token for a cookie; returns (cookie, csrf token).
async fn token_login(server: &TestServer, token: &str) -> (String, String) {
    logged_in(token_request(server, token)).await
}

/// `GET /api/me` with a login cookie.
fn me_by_cookie(server: &TestServer, cookie: &str) -> RequestBuilder {
    server.req_cookie(cookie, Method::GET, "/api/me")
}

/// Attaches a terminal viewer the way a browser does: with a login cookie
/// and the server's own Origin.
async fn cookie_terminal(server: &TestServer, id: &str, cookie: &str) -> TermClient {
    let ws = server
        .ws_with(
            &format!("{SESSIONS}/{id}/terminal"),
            &[("cookie", cookie), ("origin", &server.origin())],
        )
        .await
        .unwrap();
    TermClient::connect(ws).await
}

/// A read-only API token of `user`.
fn read_token(server: &TestServer, user: &str) -> String {
    server
        .cli(
            &["token", "create", "--user", user, "--scope", "read"],
            None,
        )
        .trim()
        .to_owned()
}

/// Asserts none of `secrets`, nor the one-time login token, appears in the
/// server's log (its stderr).
fn assert_not_logged(server: &TestServer, secrets: &[&str]) {
    let logs = server.log_text();
    assert!(
        logs.lines().any(|l| l.contains("\"listening\"")),
        "these are the server's logs"
    );
    let token = one_time_token(server);
    assert!(
        !logs.contains(&token),
        "the one-time login token appears in the log:\n{logs}"
    );
    for s in secrets {
        assert!(s.len() >= 8, "a secret worth looking for: {s:?}");
        assert!(
            !logs.contains(s),
            "secret {s:?} appears in the log:\n{logs}"
        );
    }
}

#[tokio::test]
async fn every_api_route_without_credentials_is_401_json_and_no_socket_spawns_anything() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let id = server.create_session_id().await;
    let before = server.children().len();
    let one = format!("{SESSIONS}/{id}");
    let resume = format!("{one}/resume");
    let events = format!("{one}/events");
    let export = format!("{one}/export?format=json");
    let shares = format!("{one}/shares");
    let share_one = format!("{shares}/00000000-0000-4000-8000-000000000000");
    let routes: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, SESSIONS, None),
        (Method::GET, "/api/claude/sessions?all=true", None),
        (Method::POST, SESSIONS, Some(create_body(&server))),
        (Method::GET, &one, None),
        (Method::PATCH, &one, Some(json!({"title": "x"}))),
        (Method::DELETE, &one, None),
        (
            Method::DELETE,
            "/api/claude/sessions/00000000-0000-4000-8000-000000000000",
            None,
        ),
        (Method::POST, &resume, None),
        (Method::GET, "/api/me", None),
        (Method::GET, &events, None),
        (Method::GET, &export, None),
        (Method::GET, &shares, None),
        (Method::POST, &shares, Some(json!({}))),
        (Method::DELETE, &share_one, None),
        (Method::GET, "/api/shared/ccweb_share_x", None),
        (Method::GET, "/api/shared/ccweb_share_x/events", None),
        (Method::GET, "/api/claude/history?working_dir=project", None),
        (Method::GET, "/api/fs/dirs", None),
        (Method::GET, "/api/tokens", None),
        (Method::POST, "/api/tokens", Some(json!({"name": "x"}))),
        (
            Method::DELETE,
            "/api/tokens/00000000-0000-4000-8000-000000000000",
            None,
        ),
        (Method::POST, "/api/auth/logout-all", None),
        (Method::GET, "/api/admin/status", None),
        (Method::GET, "/api/admin/audit", None),
        (Method::GET, "/api/admin/users", None),
        (Method::POST, "/api/admin/users", Some(json!({"name": "x"}))),
        (
            Method::PATCH,
            "/api/admin/users/admin",
            Some(json!({"disabled": true})),
        ),
        (
            Method::POST,
            "/api/admin/users/admin/password",
            Some(json!({"new_password": "x-password-1"})),
        ),
        (
            Method::POST,
            "/api/me/password",
            Some(json!({"new_password": "x-password-1"})),
        ),
        (Method::GET, "/api/me/preferences", None),
        (
            Method::PUT,
            "/api/me/preferences",
            Some(json!({"theme": "dark"})),
        ),
    ];
    for (method, path, body) in &routes {
        // No credentials, an empty bearer, and a cookie of the wrong name.
        for headers in [
            vec![],
            vec![("authorization", "Bearer ")],
            vec![("cookie", "session=abc; other=def")],
            vec![("origin", server.base.as_str())],
        ] {
            let mut req = server.http.request(method.clone(), server.url(path));
            for (k, v) in &headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let a = call(req).await;
            assert_error(
                &format!("{method} {path} with {headers:?}"),
                &a,
                401,
                "unauthorized",
            );
        }
    }
    let origin = server.origin();
    let sockets = ["terminal", "chat"].into_iter().flat_map(|kind| {
        [
            format!("{one}/{kind}"),
            format!("/api/shared/ccweb_share_x/{kind}"),
        ]
    });
    for path in sockets {
        let kind = path.clone();
        for (headers, what) in [
            (vec![], "without credentials"),
            (vec![("origin", origin.as_str())], "with only an Origin"),
            (
                vec![("cookie", "ccweb_session=0123456789abcdef")],
                "with a made-up cookie",
            ),
            (
                vec![("authorization", "Bearer ccweb_nope")],
                "with a made-up token",
            ),
        ] {
            assert_eq!(
                server.ws_with(&path, &headers).await.err(),
                Some(401),
                "{kind} socket {what}"
            );
        }
    }
    // Nothing was stopped, renamed, created or spawned.
    let s = server.session(&id).await;
    assert_eq!(s["state"], "running");
    assert_eq!(s["title"], "project");
    assert_eq!(s["viewers"], 0);
    assert_eq!(server.sessions().await.len(), 1);
    assert_eq!(server.children().len(), before);
}

#[tokio::test]
async fn a_plain_get_on_a_socket_route_without_credentials_is_401_json() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let id = server.create_session_id().await;
    for kind in ["terminal", "chat"] {
        let a = call(
            server
                .http
                .get(server.url(&format!("{SESSIONS}/{id}/{kind}"))),
        )
        .await;
        assert_error(&format!("plain GET {kind}"), &a, 401, "unauthorized");
    }
}

#[tokio::test]
async fn forged_tampered_and_disabled_users_credentials_are_401() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let bob = server.add_user("bob", "bob-password-123");
    let me = |token: &str| call(server.req_as(token, Method::GET, "/api/me"));
    let ok = me(&bob).await;
    assert_eq!(ok.0, 200);
    assert_eq!(ok.1["user"]["name"], "bob");
    assert_eq!(ok.1["user"]["is_admin"], false);

    // Tampered: each position class of the real token, flipped.
    let flip = |s: &str, i: usize| {
        let mut b = s.as_bytes().to_vec();
        b[i] = if b[i] == b'a' { b'b' } else { b'a' };
        String::from_utf8(b).unwrap()
    };
    let n = bob.len();
    let mut forged = vec![
        "garbage".to_owned(),
        "ccweb_".to_owned(),
        "ccweb_0000000000000000000000000000000000000000000".to_owned(),
        flip(&bob, n - 1),
        flip(&bob, n / 2),
        flip(&bob, 6),
        format!("{bob}x"),
        bob[..n - 1].to_owned(),
        bob.to_uppercase(),
        format!("{bob} {bob}"),
    ];
    forged.push("x".repeat(100_000));
    for token in forged {
        let what = format!("token {:?}", &token[..token.len().min(40)]);
        assert_error(&what, &me(&token).await, 401, "unauthorized");
    }
    // Wrong schemes carrying the real token.
    for header in [format!("Basic {bob}"), bob.clone(), format!("Token {bob}")] {
        let req = server
            .http
            .get(server.url("/api/me"))
            .header("authorization", header.clone());
        assert_error(&header, &call(req).await, 401, "unauthorized");
    }

    // Disabling bob ends his token and his cookie session at once.
    let (cookie, _) = password_login(&server, "bob", "bob-password-123").await;
    assert_eq!(status_of(me_by_cookie(&server, &cookie)).await, 200);
    server.cli(&["user", "disable", "bob"], None);
    for (what, req) in [
        (
            "disabled user's token",
            server.req_as(&bob, Method::GET, "/api/me"),
        ),
        ("disabled user's cookie", me_by_cookie(&server, &cookie)),
        (
            "disabled user's password login",
            login_request(&server, "bob", "bob-password-123"),
        ),
        ("disabled user's token login", token_request(&server, &bob)),
    ] {
        assert_error(what, &call(req).await, 401, "unauthorized");
    }
    // The admin is unaffected.
    assert_eq!(me(&server.admin_token).await.0, 200);
    assert_not_logged(&server, &[&bob, "bob-password-123", cookie_secret(&cookie)]);
}

#[tokio::test]
async fn the_one_time_login_url_is_printed_on_stdout_and_never_in_the_log() {
    // Attack: a session's process reads the server's stderr (through
    // `/proc/<pid>/fd/2`, or a journal) and logs in as the first admin.
    let server = TestServer::start_keeping_login_link(Options::shell("exec sleep 1000")).await;
    let token = one_time_token(&server);
    assert!(token.len() >= 16, "{token}");
    let stdout = server.stdout.lock().unwrap().join("\n");
    assert!(
        stdout.contains(&format!("/login?token={token}")),
        "{stdout}"
    );
    assert_not_logged(&server, &[]);
}

#[tokio::test]
async fn the_one_time_login_url_works_once_and_only_with_its_token() {
    // Each bad link below is tried twice (as a script, as a browser); the rate
    // limit has its own test.
    let server = TestServer::start(
        Options::shell("exec sleep 1000").toml("login_failures_per_ip_per_minute = 1000"),
    )
    .await;
    // The harness used it already.
    for (what, url) in [
        ("reused one-time URL", server.login_url.clone()),
        (
            "wrong one-time token",
            server.url("/login?token=0123456789abcdef0123456789abcdef"),
        ),
        ("empty one-time token", server.url("/login?token=")),
    ] {
        // Scripts that ask for JSON get the error as JSON...
        let a = call(server.http.get(&url).header("accept", "application/json")).await;
        assert_error(what, &a, 403, "invalid_login_token");
        // ... a browser gets a page that says what to do next.
        let page = server
            .http
            .get(&url)
            .header(
                "accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 403, "{what}");
        assert!(page.headers().get("set-cookie").is_none());
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{what}: {:?}",
            page.headers()
        );
        let text = page.text().await.unwrap();
        for needle in [
            "already used",
            "log in with your password",
            "ccweb token create --user NAME",
            "href=\"./\"",
        ] {
            assert!(text.contains(needle), "{what}: {needle:?} in {text}");
        }
    }
    // Nor can the used token be exchanged at the API.
    let used = one_time_token(&server);
    assert_error(
        "used one-time token at /api/auth/token",
        &call(token_request(&server, &used)).await,
        401,
        "unauthorized",
    );
    // Without a token: a help page, no cookie.
    let help = server.http.get(server.url("/login")).send().await.unwrap();
    assert_eq!(help.status(), 200);
    assert!(help.headers().get("set-cookie").is_none());
    assert!(help.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let help = help.text().await.unwrap();
    assert!(help.contains("/api/auth/login"));
    assert!(help.contains("prints a one-time login link"), "{help}");
    // The cookie the harness got from it works.
    assert_eq!(
        status_of(me_by_cookie(&server, &server.admin_cookie)).await,
        200
    );
    assert_not_logged(
        &server,
        &[
            &used,
            cookie_secret(&server.admin_cookie),
            &server.admin_token,
        ],
    );
}

#[tokio::test]
async fn password_login_sets_a_safe_fresh_cookie_and_fails_alike_for_wrong_password_and_unknown_user(
) {
    // Many failures on purpose: the rate limit has its own test.
    let server = TestServer::start(Options::shell("exec sleep 1000").toml(
        "login_failures_per_ip_per_minute = 1000\nlogin_failures_per_account_per_minute = 1000",
    ))
    .await;
    let password = "correct horse battery staple";
    let carol = server.add_user("carol", password);
    let login = |body: Value, cookie: Option<String>| {
        let mut req = server.http.post(server.url("/api/auth/login")).json(&body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req
    };
    let resp = login(json!({"username": "carol", "password": password}), None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let raw = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let attrs: Vec<String> = raw
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(attrs[0].starts_with("ccweb_session="), "{raw}");
    assert!(attrs.contains(&"httponly".to_owned()), "HttpOnly: {raw}");
    assert!(
        attrs.contains(&"samesite=lax".to_owned()) || attrs.contains(&"samesite=strict".to_owned()),
        "SameSite: {raw}"
    );
    assert!(attrs.contains(&"path=/".to_owned()), "Path=/: {raw}");
    assert!(
        !attrs.iter().any(|a| a.starts_with("domain")),
        "no Domain: {raw}"
    );
    assert!(
        !attrs.iter().any(|a| a == "secure"),
        "plain http: no Secure, or the browser drops it: {raw}"
    );
    let first = common::cookie_of(&resp);
    assert!(
        cookie_secret(&first).len() >= 32,
        "a long random secret: {first}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"]["name"], "carol");
    assert_eq!(body["user"]["is_admin"], false);
    assert!(body["csrf_token"].as_str().unwrap().len() >= 16);

    // Wrong password and unknown user look the same.
    let wrong = call(login_request(&server, "carol", "wrong-password-canary")).await;
    let unknown = call(login_request(&server, "nobody", password)).await;
    let passwordless = call(login_request(&server, "admin", "")).await;
    assert_error("wrong password", &wrong, 401, "unauthorized");
    assert_eq!(wrong, unknown, "no user-existence oracle");
    assert_eq!(
        wrong, passwordless,
        "a user without a password cannot log in with an empty one"
    );

    // Malformed bodies.
    for bad in [
        json!({"username": "carol"}),
        json!({"username": "carol", "password": 5}),
        json!({"username": "carol", "password": password, "admin": true}),
    ] {
        let (status, b) = call(login(bad.clone(), None)).await;
        assert_eq!(status, 400, "{bad}: {b}");
    }

    // A 1 MiB username or password fails fast and cleanly. (Each on a
    // connection of its own: the server may close one whose body it did not read.)
    let started = Instant::now();
    for (what, body) in [
        (
            "1 MiB username",
            json!({"username": "u".repeat(1 << 20), "password": "x"}),
        ),
        (
            "1 MiB password",
            json!({"username": "carol", "password": "p".repeat(1 << 20)}),
        ),
        (
            "2 kB password",
            json!({"username": "carol", "password": "p".repeat(2000)}),
        ),
    ] {
        let req = one_shot_client()
            .post(server.url("/api/auth/login"))
            .json(&body);
        let (status, b) = call(req).await;
        assert!(status == 400 || status == 413, "{what}: {status} {b}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "rejected without hashing: {:?}",
        started.elapsed()
    );
    assert!(
        !server.log_text().contains(&"u".repeat(1000)),
        "the huge username is not logged in full"
    );

    // A new login (even one presenting the old cookie) gets a new secret.
    let resp = login(
        json!({"username": "carol", "password": password}),
        Some(first.clone()),
    )
    .send()
    .await
    .unwrap();
    let second = common::cookie_of(&resp);
    assert_ne!(first, second, "no session fixation");
    let resp = login(
        json!({"username": "carol", "password": password}),
        Some("ccweb_session=attacker-chosen-value-0123456789".into()),
    )
    .send()
    .await
    .unwrap();
    let third = common::cookie_of(&resp);
    assert!(
        !third.contains("attacker-chosen"),
        "a planted cookie is not adopted"
    );
    let name_by_cookie = |cookie: &str| {
        let req = me_by_cookie(&server, cookie);
        async move {
            let me: Value = req.send().await.unwrap().json().await.unwrap();
            me["user"]["name"].clone()
        }
    };
    for c in [&first, &second, &third] {
        assert_eq!(name_by_cookie(c).await, "carol");
    }

    // Token login: a full API token gives a cookie; garbage and read tokens do not.
    let (tcookie, csrf) = token_login(&server, &carol).await;
    assert!(!csrf.is_empty());
    assert_eq!(name_by_cookie(&tcookie).await, "carol");
    let read = read_token(&server, "carol");
    for bad in ["garbage", &read, &format!("{carol}x"), ""] {
        let resp = token_request(&server, bad).send().await.unwrap();
        assert!(resp.headers().get("set-cookie").is_none());
        assert_error(
            &format!("token login with {bad:?}"),
            &answer(resp).await,
            401,
            "unauthorized",
        );
    }
    assert_not_logged(
        &server,
        &[
            password,
            &carol,
            &read,
            cookie_secret(&first),
            cookie_secret(&second),
            cookie_secret(&third),
            cookie_secret(&tcookie),
            &csrf,
            "wrong-password-canary",
        ],
    );
}

#[tokio::test]
async fn after_logout_the_old_cookie_is_refused() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let (cookie, csrf) = token_login(&server, &server.admin_token).await;
    assert_eq!(status_of(me_by_cookie(&server, &cookie)).await, 200);
    let out = server
        .req_cookie(&cookie, Method::POST, "/api/auth/logout")
        .header("origin", server.origin())
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success(), "{}", out.status());
    let cleared = out.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cleared.starts_with("ccweb_session=;") || cleared.contains("Max-Age=0"),
        "the cookie is cleared: {cleared}"
    );
    assert_error(
        "replayed cookie",
        &call(me_by_cookie(&server, &cookie)).await,
        401,
        "unauthorized",
    );
    let create = server
        .req_cookie(&cookie, Method::POST, SESSIONS)
        .header("x-csrf-token", csrf.clone())
        .json(&create_body(&server));
    assert_error(
        "replayed cookie with its CSRF token",
        &call(create).await,
        401,
        "unauthorized",
    );
    // Other login sessions of the same user are not affected.
    assert_eq!(
        status_of(me_by_cookie(&server, &server.admin_cookie)).await,
        200
    );
    assert_not_logged(&server, &[cookie_secret(&cookie), &csrf]);
}

#[tokio::test]
async fn logout_closes_the_sockets_of_that_login_session() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let (cookie, _) = token_login(&server, &server.admin_token).await;
    let mut c = cookie_terminal(&server, &id, &cookie).await;
    let out = server
        .req_cookie(&cookie, Method::POST, "/api/auth/logout")
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success());
    let closed = tokio::time::timeout(Duration::from_secs(2), c.read_to_end()).await;
    assert!(closed.is_ok(), "the socket is still open 2 s after logout");
    assert_eq!(c.closed.map(|c| c.0), Some(1008));
}

#[tokio::test]
async fn cookie_state_changes_need_the_exact_own_origin_or_the_csrf_token() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let (cookie, csrf) = token_login(&server, &server.admin_token).await;
    let (_, other_csrf) = token_login(&server, &server.admin_token).await;
    let port = server.addr.rsplit_once(':').unwrap().1.to_owned();
    let other_port = if port == "1" {
        "2".to_owned()
    } else {
        (port.parse::<u32>().unwrap() - 1).to_string()
    };
    let create = |headers: Vec<(&'static str, String)>| {
        let mut req = server
            .req_cookie(&cookie, Method::POST, SESSIONS)
            .json(&create_body(&server));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        call(req)
    };

    assert_error(
        "no Origin",
        &create(vec![]).await,
        403,
        "origin_not_allowed",
    );
    let bad_origins = [
        "http://evil.example".to_owned(),
        "null".to_owned(),
        String::new(),
        format!("http://127.0.0.1:{other_port}"),
        format!("https://127.0.0.1:{port}"),
        format!("ws://127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}.evil.com"),
        format!("http://127.0.0.1.evil.com:{port}"),
        format!("http://evil.com#@127.0.0.1:{port}"),
        format!("http://127.0.0.1:{port}@evil.com"),
        format!("http://127.0.0.1.:{port}"),
        format!("http://localhost:{port}"),
        format!("http://127.0.0.1:{port}/path"),
        format!("http://127.0.0.1:{port}, http://evil.example"),
        "file://".to_owned(),
    ];
    for origin in &bad_origins {
        assert_error(
            &format!("Origin {origin:?}"),
            &create(vec![("origin", origin.clone())]).await,
            403,
            "origin_not_allowed",
        );
    }
    for (what, headers) in [
        // Forwarding headers from the client do not make a foreign origin ours.
        (
            "X-Forwarded-Host",
            vec![
                ("origin", "http://evil.example".into()),
                ("x-forwarded-host", "evil.example".into()),
                ("forwarded", "host=evil.example;proto=http".into()),
            ],
        ),
        (
            "wrong CSRF token",
            vec![("x-csrf-token", "0123456789abcdef0123456789abcdef".into())],
        ),
        ("empty CSRF token", vec![("x-csrf-token", String::new())]),
        (
            "another login's CSRF token",
            vec![("x-csrf-token", other_csrf.clone())],
        ),
        (
            "a wrong CSRF token with a foreign Origin",
            vec![
                ("x-csrf-token", "nope".into()),
                ("origin", "http://evil.example".into()),
            ],
        ),
    ] {
        assert_error(what, &create(headers).await, 403, "origin_not_allowed");
    }
    assert_eq!(server.sessions().await.len(), 0, "nothing was created");

    let own = create(vec![("origin", server.origin())]).await;
    assert_eq!(own.0, 201, "own origin: {}", own.1);
    let with_csrf = create(vec![("x-csrf-token", csrf.clone())]).await;
    assert_eq!(with_csrf.0, 201, "CSRF header: {}", with_csrf.1);
    let bearer = server
        .req(Method::POST, SESSIONS)
        .json(&create_body(&server))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 201, "bearer tokens need no Origin");
    assert_eq!(server.sessions().await.len(), 3);

    // The same holds for rename and stop.
    let id = own.1["id"].as_str().unwrap().to_owned();
    let path = format!("{SESSIONS}/{id}");
    for (what, req) in [
        (
            "cross-site rename",
            server
                .req_cookie(&cookie, Method::PATCH, &path)
                .header("origin", "http://evil.example")
                .json(&json!({"title": "pwned"})),
        ),
        (
            "stop without Origin",
            server.req_cookie(&cookie, Method::DELETE, &path),
        ),
        (
            "resume from Origin null",
            server
                .req_cookie(&cookie, Method::POST, &format!("{path}/resume"))
                .header("origin", "null"),
        ),
    ] {
        assert_error(what, &call(req).await, 403, "origin_not_allowed");
    }
    let s = server.session(&id).await;
    assert_eq!(
        (s["state"].as_str(), s["title"].as_str()),
        (Some("running"), Some("project"))
    );
    // Reading needs no Origin.
    assert_eq!(
        status_of(server.req_cookie(&cookie, Method::GET, &path)).await,
        200
    );
    // A cross-site login is refused too (login CSRF).
    let login = token_request(&server, &server.admin_token).header("origin", "http://evil.example");
    assert_error(
        "cross-site login",
        &call(login).await,
        403,
        "origin_not_allowed",
    );
    // No CORS grant for a foreign origin, on a preflight or a real request.
    let preflight = server
        .http
        .request(Method::OPTIONS, server.url(SESSIONS))
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, x-csrf-token",
        )
        .send()
        .await
        .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "{:?}",
        preflight.headers()
    );
    assert!(preflight
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    let get = server
        .req_cookie(&cookie, Method::GET, SESSIONS)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        get.headers().get("access-control-allow-origin").is_none(),
        "{:?}",
        get.headers()
    );
    assert_not_logged(&server, &[&csrf, &other_csrf, cookie_secret(&cookie)]);
}

#[tokio::test]
async fn repeated_wrong_passwords_are_rate_limited() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    server.add_user("erin", "erin-password-123");
    let mut limited = None;
    for _ in 0..10 {
        let resp = login_request(&server, "erin", "guess-guess")
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
        assert_eq!(resp.status(), 401);
    }
    let resp = limited.expect("10 wrong passwords in a row were never rate limited");
    assert!(resp.headers().get("retry-after").is_some());
    assert_error("rate limited", &answer(resp).await, 429, "rate_limited");
    // While limited, even the right password is refused from this client...
    let right = login_request(&server, "erin", "erin-password-123")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 429);
    // ... but the account is not locked for everyone: an API token still works.
    let token = server.cli(&["token", "create", "--user", "erin"], None);
    let me = server
        .req_as(token.trim(), Method::GET, "/api/me")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
}

#[tokio::test]
async fn wrong_guesses_from_other_addresses_do_not_lock_out_a_correct_password() {
    // Attack: anyone who knows alice's name guesses wrong passwords for her
    // until the per-account budget runs out, to lock her out. Behind a
    // trusted proxy (the test's loopback) each X-Forwarded-For is a client.
    let server = TestServer::start(Options::shell("exec sleep 1000").toml(
        "trusted_proxies = [\"127.0.0.1\"]\nlogin_failures_per_account_per_minute = 3\nlogin_failures_per_ip_per_minute = 100",
    ))
    .await;
    server.add_user("alice", "alice-password-123");
    let from = |ip: &str, password: &str| {
        login_request(&server, "alice", password).header("x-forwarded-for", ip.to_owned())
    };
    for i in 0..10 {
        let r = from(&format!("198.51.100.{i}"), "guess-guess").send().await;
        assert_eq!(
            r.unwrap().status(),
            401,
            "guess {i}: a first try is checked"
        );
    }
    // The guessers that failed are slowed down on alice...
    let again = from("198.51.100.9", "guess-guess").send().await.unwrap();
    assert_eq!(
        again.status(),
        429,
        "the account's limit slows its guessers"
    );
    // ... and so is the right password from a guesser's address.
    let r = from("198.51.100.9", "alice-password-123").send().await;
    assert_eq!(r.unwrap().status(), 429);
    // Alice, from her own address, is not.
    logged_in(from("203.0.113.5", "alice-password-123")).await;
}

#[tokio::test]
async fn a_login_link_loaded_as_an_image_counts_no_failure_and_uses_nothing_up() {
    // Attack: the model writes `![x](/login?token=wrong)` in a chat answer;
    // the viewer's browser loads it as an image, again and again, to rate
    // limit (or use up) the viewer's logins.
    let server = TestServer::start_keeping_login_link(
        Options::shell("exec sleep 1000").toml("login_failures_per_ip_per_minute = 2"),
    )
    .await;
    let image = |url: String| {
        server
            .http
            .get(url)
            .header("sec-fetch-dest", "image")
            .header("sec-fetch-mode", "no-cors")
            .header("accept", "image/avif,image/webp,*/*")
    };
    let wrong = server.url("/login?token=wrong-wrong-wrong");
    for _ in 0..5 {
        let r = answer(image(wrong.clone()).send().await.unwrap()).await;
        assert_error("an image of a wrong link", &r, 403, "navigation_required");
    }
    // The password login is POST only: an image of it changes nothing.
    let login = server.url("/api/auth/login?username=admin&password=wrong-wrong");
    for _ in 0..5 {
        assert_eq!(image(login.clone()).send().await.unwrap().status(), 405);
    }
    // Not even the right token is used up by an image.
    let r = answer(image(server.login_url.clone()).send().await.unwrap()).await;
    assert_error("an image of the link", &r, 403, "navigation_required");
    // The viewer opening the link is neither rate limited nor too late.
    let resp = server
        .http
        .get(&server.login_url)
        .header("sec-fetch-dest", "document")
        .header("sec-fetch-mode", "navigate")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
}

#[tokio::test]
async fn cookie_websocket_upgrades_need_the_own_origin_and_tokens_do_not() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let (cookie, csrf) = token_login(&server, &server.admin_token).await;
    let before = server.children().len();
    for kind in ["terminal", "chat"] {
        let path = format!("{SESSIONS}/{id}/{kind}");
        for origin in [
            "http://evil.example",
            "null",
            &format!("https://{}", server.addr),
            &format!("http://{}.evil.com", server.addr),
        ] {
            let r = server
                .ws_with(&path, &[("cookie", &cookie), ("origin", origin)])
                .await;
            assert_eq!(r.err(), Some(403), "{kind} with Origin {origin}");
        }
        assert_eq!(
            server.ws_with(&path, &[("cookie", &cookie)]).await.err(),
            Some(403),
            "{kind} with a cookie and no Origin"
        );
        assert_eq!(
            server
                .ws_with(&path, &[("cookie", &cookie), ("x-csrf-token", &csrf)])
                .await
                .err(),
            Some(403),
            "{kind}: the CSRF header does not replace Origin on sockets"
        );
    }
    assert_eq!(server.children().len(), before, "nothing was spawned");
    assert_eq!(
        server.session(&id).await["viewers"],
        0,
        "nobody got attached"
    );
    // Own origin with the cookie: works.
    let mut c = cookie_terminal(&server, &id, &cookie).await;
    assert_eq!(c.controls[0]["session"]["id"], id.as_str());
    c.send_bytes(b"echo via-co''okie\r").await;
    c.wait_for(T, |s| s.contains("via-cookie")).await;
    // A bearer token needs no Origin.
    let ws = server
        .ws_with(
            &format!("{SESSIONS}/{id}/terminal"),
            &[("authorization", &format!("Bearer {}", server.admin_token))],
        )
        .await
        .unwrap();
    let c2 = TermClient::connect(ws).await;
    assert_eq!(c2.controls[0]["readonly"], false);
}

#[tokio::test]
async fn a_foreign_host_header_is_refused_even_with_valid_credentials() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let port = server.addr.rsplit_once(':').unwrap().1.to_owned();
    let evil = format!("attacker.example:{port}");
    for host in [
        evil.as_str(),
        "attacker.example",
        &format!("127.0.0.1.attacker.example:{port}"),
        "",
    ] {
        let get = server.req(Method::GET, SESSIONS).header("host", host);
        assert_error(
            &format!("GET with Host {host:?}"),
            &call(get).await,
            403,
            "host_not_allowed",
        );
        let post = server
            .req(Method::POST, SESSIONS)
            .header("host", host)
            .json(&create_body(&server));
        assert_error(
            &format!("POST with Host {host:?}"),
            &call(post).await,
            403,
            "host_not_allowed",
        );
    }
    for (what, req) in [
        // With the cookie and a matching (rebound) Origin too.
        (
            "rebound origin and host",
            server
                .req_cookie(&server.admin_cookie, Method::POST, SESSIONS)
                .header("host", evil.as_str())
                .header("origin", format!("http://{evil}"))
                .json(&create_body(&server)),
        ),
        (
            "login through a rebound name",
            token_request(&server, &server.admin_token).header("host", evil.as_str()),
        ),
    ] {
        assert_error(what, &call(req).await, 403, "host_not_allowed");
    }
    let ws = server
        .ws_with(
            "/api/claude/sessions/00000000-0000-4000-8000-000000000000/terminal",
            &[
                ("host", &evil),
                ("authorization", &format!("Bearer {}", server.admin_token)),
            ],
        )
        .await;
    assert_eq!(ws.err(), Some(403), "socket through a rebound name");
    assert_eq!(server.sessions().await.len(), 0);
    // Loopback names on any port are fine (SSH tunnels).
    let ok = server
        .req(Method::GET, "/api/me")
        .header("host", format!("localhost:{port}"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn form_posts_with_a_cookie_are_415_and_create_nothing() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let body = create_body(&server).to_string();
    let multipart =
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n{body}\r\n--XyZ--\r\n");
    let cases = [
        ("text/plain", body.clone()),
        ("text/plain;charset=UTF-8", body.clone()),
        ("application/x-www-form-urlencoded", format!("{body}=")),
        ("multipart/form-data; boundary=XyZ", multipart),
    ];
    // The admin's cookie POST from `origin`.
    let form_post = |origin: String| {
        server
            .req_cookie(&server.admin_cookie, Method::POST, SESSIONS)
            .header("origin", origin)
    };
    for (ct, payload) in cases {
        let post = form_post(server.origin())
            .header("content-type", ct)
            .body(payload);
        assert_error(
            &format!("cookie POST as {ct}"),
            &call(post).await,
            415,
            "unsupported_media_type",
        );
    }
    // Without a content type too.
    assert_error(
        "no content type",
        &call(form_post(server.origin()).body(body.clone())).await,
        415,
        "unsupported_media_type",
    );
    // Cross-site form posts are refused whatever the type.
    let post = form_post("http://evil.example".into())
        .header("content-type", "text/plain")
        .body(body);
    let (status, b) = call(post).await;
    assert!(status == 403 || status == 415, "{status} {b}");
    assert_eq!(server.sessions().await.len(), 0);
    assert_eq!(server.children().len(), 0);
}

#[tokio::test]
async fn a_read_only_token_can_look_but_not_change_anything() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let id = server.create_session_id().await;
    let read = read_token(&server, "admin");
    let path = format!("{SESSIONS}/{id}");
    for p in [
        SESSIONS,
        path.as_str(),
        "/api/me",
        "/api/claude/sessions?all=true",
    ] {
        assert_eq!(
            status_of(server.req_as(&read, Method::GET, p)).await,
            200,
            "GET {p}"
        );
    }
    let refused = [
        server
            .req_as(&read, Method::POST, SESSIONS)
            .json(&create_body(&server)),
        server.req_as(&read, Method::DELETE, &path),
        server.req_as(&read, Method::DELETE, &format!("{path}?purge=true")),
        server
            .req_as(&read, Method::PATCH, &path)
            .json(&json!({"title": "x"})),
        server.req_as(&read, Method::POST, &format!("{path}/resume")),
    ];
    for req in refused {
        let req = req.build().unwrap();
        let what = format!("{} {}", req.method(), req.url().path());
        assert_error(
            &what,
            &answer(server.http.execute(req).await.unwrap()).await,
            403,
            "read_only_token",
        );
    }
    // Sockets: only read-only ones.
    let auth = format!("Bearer {read}");
    for query in ["", "?readonly=0"] {
        assert_eq!(
            server
                .ws_with(
                    &format!("{path}/terminal{query}"),
                    &[("authorization", &auth)]
                )
                .await
                .err(),
            Some(403),
            "terminal{query}"
        );
    }
    // A query that merely contains `readonly=1` is refused or attached read-only.
    if let Ok(ws) = server
        .ws_with(
            &format!("{path}/terminal?x=readonly=1"),
            &[("authorization", &auth)],
        )
        .await
    {
        assert_eq!(TermClient::connect(ws).await.controls[0]["readonly"], true);
    }
    let ws = server
        .ws_with(
            &format!("{path}/terminal?readonly=1"),
            &[("authorization", &auth)],
        )
        .await
        .unwrap();
    let mut c = TermClient::connect(ws).await;
    assert_eq!(c.controls[0]["readonly"], true);
    c.send_bytes(b"echo typed-by-a-read-token\r").await;
    assert_eq!(c.wait_control("error").await["code"], "readonly");
    let s = server.session(&id).await;
    assert_eq!(
        (s["state"].as_str(), s["title"].as_str()),
        (Some("running"), Some("project"))
    );
    assert_eq!(server.sessions().await.len(), 1);
    assert_not_logged(&server, &[&read]);
}

#[tokio::test]
async fn secrets_never_reach_the_log() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let password = "canary-password-7f3a9c";
    let dave = server.add_user("dave", password);
    let (cookie, csrf) = password_login(&server, "dave", password).await;
    let (tcookie, _) = token_login(&server, &dave).await;
    // Failures that a careless server would log with what was sent.
    let canaries = [
        "canary-wrong-password-51d2",
        "ccweb_canary-forged-token-88e1",
        "canary-cookie-value-0c4f",
    ];
    let refused = [
        (
            "wrong password",
            login_request(&server, "dave", canaries[0]),
            401,
        ),
        (
            "forged token login",
            token_request(&server, canaries[1]),
            401,
        ),
        (
            "forged bearer token",
            server.req_as(canaries[1], Method::GET, SESSIONS),
            401,
        ),
        (
            "made-up cookie",
            me_by_cookie(&server, &format!("ccweb_session={}", canaries[2])),
            401,
        ),
        (
            "forged one-time token",
            server
                .http
                .get(server.url(&format!("/login?token={}", canaries[1]))),
            403,
        ),
    ];
    for (what, req, status) in refused {
        assert_eq!(status_of(req).await, status, "{what}");
    }
    // Work done with each credential.
    let by_token = server
        .req_as(&dave, Method::POST, SESSIONS)
        .json(&create_body(&server));
    assert_eq!(status_of(by_token).await, 201);
    let by_cookie = server
        .req_cookie(&cookie, Method::POST, SESSIONS)
        .header("x-csrf-token", csrf.clone())
        .json(&create_body(&server));
    assert_eq!(status_of(by_cookie).await, 201);
    // A stored Claude credential, and one refused for a stray space.
    let credential = "sk-ant-canary-credential-3e9d";
    let bad_credential = "sk-ant-canary bad-credential-6a0b";
    for (value, status) in [(credential, 200), (bad_credential, 400)] {
        let put = server
            .req_as(&dave, Method::PUT, "/api/me/credentials")
            .json(&json!({ "anthropic_api_key": value }));
        assert_eq!(status_of(put).await, status, "{value}");
    }
    let logout = server.req_cookie(&tcookie, Method::POST, "/api/auth/logout");
    assert!(logout.send().await.unwrap().status().is_success());
    assert_eq!(status_of(server.http.get(&server.login_url)).await, 403);
    assert_not_logged(
        &server,
        &[
            &one_time_token(&server),
            &server.admin_token,
            cookie_secret(&server.admin_cookie),
            password,
            &dave,
            cookie_secret(&cookie),
            cookie_secret(&tcookie),
            &csrf,
            canaries[0],
            canaries[1],
            canaries[2],
            credential,
            bad_credential,
        ],
    );
}

#[tokio::test]
async fn disabling_a_user_closes_their_open_sockets() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let bob = server.add_user("bob", "bob-password-1");
    let (status, s) = server
        .create_session_as(
            &bob,
            json!({"mode": "terminal", "working_dir": server.root.join("project")}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap();
    let ws = server
        .ws_with(
            &format!("{SESSIONS}/{id}/terminal"),
            &[("authorization", &format!("Bearer {bob}"))],
        )
        .await
        .unwrap();
    let mut c = TermClient::connect(ws).await;
    server.cli(&["user", "disable", "bob"], None);
    let closed = tokio::time::timeout(Duration::from_secs(10), c.read_to_end()).await;
    assert!(closed.is_ok(), "the disabled user's socket is still open");
    assert_eq!(c.closed.map(|c| c.0), Some(1008));
}

#[tokio::test]
async fn behind_https_the_cookie_is_a_secure_host_only_cookie_and_hsts_is_sent() {
    let server = TestServer::start(
        Options::shell("exec sleep 1000").toml("public_url = \"https://ccweb.example\""),
    )
    .await;
    let resp = token_request(&server, &server.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age="),
        "HSTS behind https"
    );
    let raw = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    let attrs: Vec<String> = raw
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    // __Host-: browsers insist on Secure, Path=/ and no Domain.
    assert!(attrs[0].starts_with("__host-ccweb_session="), "{raw}");
    for want in ["secure", "httponly", "path=/", "samesite=lax"] {
        assert!(attrs.contains(&want.to_owned()), "{want}: {raw}");
    }
    assert!(!attrs.iter().any(|a| a.starts_with("domain")), "{raw}");
    let cookie = common::cookie_of(&resp);
    assert_eq!(status_of(me_by_cookie(&server, &cookie)).await, 200);
    // The plain name means nothing on this server (no downgrade to a cookie
    // a sibling http site could have set).
    let plain = format!("ccweb_session={}", cookie_secret(&cookie));
    assert_eq!(status_of(me_by_cookie(&server, &plain)).await, 401);
}
