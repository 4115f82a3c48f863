//! A user's own account over HTTP: changing their password (the first one
//! without a current password, later ones with it), an admin resetting
//! someone's, who may do either, what a change ends, the audit entries, and
//! the preferences that follow a user across browsers.
#![allow(clippy::unwrap_used)]

mod common;

use common::{answer, assert_error, call, status_of, Options, TermClient, TestServer, SESSIONS};
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use std::time::Duration;

const OLD: &str = "alice-password-1";
const NEW: &str = "alice-password-2";

/// Logs `user` in with a password; the cookie (`ccweb_session=…`).
async fn login(server: &TestServer, user: &str, password: &str) -> String {
    let resp = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{user} logs in with {password:?}");
    common::cookie_of(&resp)
}

/// A password login's status.
async fn login_status(server: &TestServer, user: &str, password: &str) -> u16 {
    status_of(
        server
            .http
            .post(server.url("/api/auth/login"))
            .json(&json!({"username": user, "password": password})),
    )
    .await
}

/// A cookie request with the server's own Origin, as the browser sends it.
fn browser(server: &TestServer, cookie: &str, method: Method, path: &str) -> RequestBuilder {
    server
        .req_cookie(cookie, method, path)
        .header("origin", server.origin())
}

/// `POST /api/me/password` from the browser logged in with `cookie`.
fn change(server: &TestServer, cookie: &str, body: Value) -> RequestBuilder {
    browser(server, cookie, Method::POST, "/api/me/password").json(&body)
}

/// The audit entries of `action`, newest first.
async fn audited(server: &TestServer, action: &str) -> Vec<Value> {
    let (status, body) = call(
        server
            .req(Method::GET, "/api/admin/audit")
            .query(&[("action", action)]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["entries"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_user_changes_their_password_with_the_current_one_and_their_other_logins_end() {
    let server = TestServer::start(Options::interactive_shell()).await;
    let alice_token = server.add_user("alice", OLD);
    let here = login(&server, "alice", OLD).await;
    let elsewhere = login(&server, "alice", OLD).await;
    // A terminal open in the other browser closes when the password changes.
    let (status, session) = server
        .create_session_as(
            &alice_token,
            json!({"mode": "terminal", "working_dir": server.root.join("project")}),
        )
        .await;
    assert_eq!(status, 201, "{session}");
    let id = session["id"].as_str().unwrap();
    let ws = server
        .ws_with(
            &format!("{SESSIONS}/{id}/terminal"),
            &[("cookie", elsewhere.as_str()), ("origin", &server.origin())],
        )
        .await
        .unwrap();
    let mut other_socket = TermClient::connect(ws).await;

    let me = call(browser(&server, &here, Method::GET, "/api/me")).await;
    assert_eq!(me.1["user"]["has_password"], true, "{}", me.1);
    assert_eq!(me.1["can_set_password"], true, "{}", me.1);

    for (what, body, status, code) in [
        (
            "wrong current password",
            json!({"current_password": "not-my-password", "new_password": NEW}),
            403,
            "wrong_password",
        ),
        (
            "no current password",
            json!({"new_password": NEW}),
            400,
            "current_password_required",
        ),
        (
            "too short",
            json!({"current_password": OLD, "new_password": "short"}),
            400,
            "invalid_input",
        ),
        (
            "too long for a login",
            json!({"current_password": OLD, "new_password": "x".repeat(1025)}),
            400,
            "invalid_input",
        ),
        (
            "no new password",
            json!({"current_password": OLD}),
            400,
            "invalid_field",
        ),
        (
            "an unknown field",
            json!({"current_password": OLD, "new_password": NEW, "user": "bob"}),
            400,
            "invalid_field",
        ),
    ] {
        let message = assert_error(
            what,
            &call(change(&server, &here, body)).await,
            status,
            code,
        );
        if what == "too short" {
            assert!(message.contains("at least 8 characters"), "{message}");
        }
    }
    // Nothing changed, and nobody was logged out.
    assert_eq!(login_status(&server, "alice", NEW).await, 401);
    assert_eq!(
        status_of(browser(&server, &elsewhere, Method::GET, "/api/me")).await,
        200
    );

    let (status, body) = call(change(
        &server,
        &here,
        json!({"current_password": OLD, "new_password": NEW}),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "alice");
    assert_eq!(body["user"]["has_password"], true);
    assert_eq!(body["ended"], 1, "the other browser's login ended");

    // This browser stays in; the other one is out, its socket closed at once.
    assert_eq!(
        status_of(browser(&server, &here, Method::GET, "/api/me")).await,
        200
    );
    assert_error(
        "the other browser",
        &call(browser(&server, &elsewhere, Method::GET, "/api/me")).await,
        401,
        "unauthorized",
    );
    let closed = tokio::time::timeout(Duration::from_secs(5), other_socket.read_to_end()).await;
    assert!(closed.is_ok(), "the other login's socket is still open");
    assert_eq!(other_socket.closed.map(|c| c.0), Some(1008));
    // API tokens are separate credentials and keep working.
    assert_eq!(
        status_of(server.req_as(&alice_token, Method::GET, "/api/me")).await,
        200
    );
    assert_eq!(login_status(&server, "alice", OLD).await, 401);
    login(&server, "alice", NEW).await;

    // Audited: the refusal and the change (never a password).
    let entries = audited(&server, "password.change").await;
    let outcomes: Vec<&str> = entries
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["success", "failure"], "{entries:#?}");
    assert_eq!(entries[0]["user_name"], "alice");
    assert_eq!(entries[0]["detail"]["login_sessions"], 1);
    assert_eq!(entries[0]["detail"]["first_password"], false);
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(OLD) && !text.contains(NEW) && !text.contains("not-my-password"));
}

#[tokio::test]
async fn a_password_change_follows_the_csrf_and_token_rules_of_every_post() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    server.add_user("alice", OLD);
    let cookie = login(&server, "alice", OLD).await;
    let body = json!({"current_password": OLD, "new_password": NEW});
    for (what, req) in [
        (
            "no Origin",
            server
                .req_cookie(&cookie, Method::POST, "/api/me/password")
                .json(&body),
        ),
        (
            "a foreign Origin",
            server
                .req_cookie(&cookie, Method::POST, "/api/me/password")
                .header("origin", "http://evil.example")
                .json(&body),
        ),
    ] {
        assert_error(what, &call(req).await, 403, "origin_not_allowed");
    }
    let read = server
        .cli(
            &["token", "create", "--user", "alice", "--scope", "read"],
            None,
        )
        .trim()
        .to_owned();
    assert_error(
        "a read-only token",
        &call(
            server
                .req_as(&read, Method::POST, "/api/me/password")
                .json(&body),
        )
        .await,
        403,
        "read_only_token",
    );
    assert_error(
        "no credentials",
        &call(server.http.post(server.url("/api/me/password")).json(&body)).await,
        401,
        "unauthorized",
    );
    assert_eq!(login_status(&server, "alice", NEW).await, 401, "unchanged");
    // The CSRF header instead of Origin works, as on every POST.
    let login = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&json!({"username": "alice", "password": OLD}))
        .send()
        .await
        .unwrap();
    let cookie = common::cookie_of(&login);
    let csrf = login.json::<Value>().await.unwrap()["csrf_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ok = call(
        server
            .req_cookie(&cookie, Method::POST, "/api/me/password")
            .header("x-csrf-token", csrf)
            .json(&body),
    )
    .await;
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert_eq!(login_status(&server, "alice", NEW).await, 200);
}

#[tokio::test]
async fn wrong_current_passwords_are_rate_limited_like_logins() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let token = server.add_user("erin", OLD);
    let wrong = json!({"current_password": "guess-guess", "new_password": NEW});
    let mut limited = None;
    for _ in 0..10 {
        let resp = server
            .req_as(&token, Method::POST, "/api/me/password")
            .json(&wrong)
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            limited = Some(resp);
            break;
        }
        assert_error("wrong", &answer(resp).await, 403, "wrong_password");
    }
    let resp = limited.expect("10 wrong current passwords in a row were never rate limited");
    assert!(resp.headers().get("retry-after").is_some());
    assert_error("limited", &answer(resp).await, 429, "rate_limited");
    // Even the right one waits, and the budget is the login's.
    assert_error(
        "the right one while limited",
        &call(
            server
                .req_as(&token, Method::POST, "/api/me/password")
                .json(&json!({"current_password": OLD, "new_password": NEW})),
        )
        .await,
        429,
        "rate_limited",
    );
    assert_eq!(login_status(&server, "erin", OLD).await, 429);
    let limited = audited(&server, "password.change").await;
    assert_eq!(limited[0]["outcome"], "limited", "{limited:#?}");
}

#[tokio::test]
async fn the_first_admin_logged_in_by_the_link_sets_a_password_and_logs_in_with_it() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    // The login page learns that a link was printed, to say where it is.
    let config = call(server.http.get(server.url("/api/auth/config"))).await;
    assert_eq!(config.1["login_link"], true, "{}", config.1);
    let admin = server.admin_cookie.clone();
    let me = call(browser(&server, &admin, Method::GET, "/api/me")).await;
    assert_eq!(me.0, 200);
    assert_eq!(me.1["user"]["name"], "admin");
    assert_eq!(me.1["user"]["has_password"], false, "{}", me.1);
    assert_eq!(me.1["can_set_password"], true, "{}", me.1);

    // No password yet: none to give, and a short one is still refused.
    assert_error(
        "too short",
        &call(change(&server, &admin, json!({"new_password": "short"}))).await,
        400,
        "invalid_input",
    );
    let (status, body) = call(change(&server, &admin, json!({"new_password": NEW}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["has_password"], true);
    let me = call(browser(&server, &admin, Method::GET, "/api/me")).await;
    assert_eq!(me.1["user"]["has_password"], true);

    // Logged out, the admin is not locked out: the password works.
    let out = browser(&server, &admin, Method::POST, "/api/auth/logout")
        .send()
        .await
        .unwrap();
    assert!(out.status().is_success());
    let again = login(&server, "admin", NEW).await;
    // From now on the current password is needed.
    assert_error(
        "a second change without the current password",
        &call(change(&server, &again, json!({"new_password": OLD}))).await,
        400,
        "current_password_required",
    );
    let entries = audited(&server, "password.change").await;
    assert_eq!(entries[0]["detail"]["first_password"], true, "{entries:#?}");
}

#[tokio::test]
async fn admins_reset_other_users_passwords_and_nobody_else_can() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    server.add_user("alice", OLD);
    let bob = server.add_user("bob", "bob-password-1");
    let alices = login(&server, "alice", OLD).await;
    let reset = |name: &str, body: Value| {
        server
            .req(Method::POST, &format!("/api/admin/users/{name}/password"))
            .json(&body)
    };

    // A user cannot reset anyone's, their own included, whatever the body.
    for name in ["alice", "bob", "nobody"] {
        assert_error(
            &format!("bob resets {name}"),
            &call(
                server
                    .req_as(
                        &bob,
                        Method::POST,
                        &format!("/api/admin/users/{name}/password"),
                    )
                    .json(&json!({"new_password": NEW})),
            )
            .await,
            403,
            "admin_only",
        );
    }
    assert_error(
        "unknown user",
        &call(reset("nobody", json!({"new_password": NEW}))).await,
        404,
        "not_found",
    );
    assert_error(
        "too short",
        &call(reset("alice", json!({"new_password": "short"}))).await,
        400,
        "invalid_input",
    );
    assert_error(
        "no new password",
        &call(reset("alice", json!({}))).await,
        400,
        "invalid_field",
    );
    assert_error(
        "a current password is not part of a reset",
        &call(reset(
            "alice",
            json!({"current_password": OLD, "new_password": NEW}),
        ))
        .await,
        400,
        "invalid_field",
    );
    // Cookie-authenticated admins follow the Origin rules.
    assert_error(
        "admin cookie without Origin",
        &call(
            server
                .req_cookie(
                    &server.admin_cookie,
                    Method::POST,
                    "/api/admin/users/alice/password",
                )
                .json(&json!({"new_password": NEW})),
        )
        .await,
        403,
        "origin_not_allowed",
    );
    assert_eq!(login_status(&server, "alice", NEW).await, 401, "unchanged");

    let (status, body) = call(reset("alice", json!({"new_password": NEW}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "alice");
    assert_eq!(body["user"]["has_password"], true);
    assert_eq!(body["ended"], 1);
    // Alice's browser is logged out; the new password works, the old does not.
    assert_error(
        "alice's old login",
        &call(browser(&server, &alices, Method::GET, "/api/me")).await,
        401,
        "unauthorized",
    );
    assert_eq!(login_status(&server, "alice", OLD).await, 401);
    login(&server, "alice", NEW).await;

    let entries = audited(&server, "admin.user.password").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0]["user_name"], "admin");
    assert_eq!(entries[0]["target"], "alice");
    assert_eq!(entries[0]["outcome"], "success");
    assert!(!serde_json::to_string(&entries).unwrap().contains(NEW));
}

#[tokio::test]
async fn preferences_follow_the_user_to_every_login_and_bad_values_are_refused() {
    let server = TestServer::start(Options::shell("exec sleep 1000")).await;
    let bob = server.add_user("bob", "bob-password-1");
    let here = server.admin_cookie.clone();
    let prefs = call(browser(&server, &here, Method::GET, "/api/me/preferences")).await;
    assert_eq!(prefs, (200, json!({"theme": "system"})));

    let put = |body: Value| browser(&server, &here, Method::PUT, "/api/me/preferences").json(&body);
    assert_eq!(
        call(put(json!({"theme": "dark"}))).await,
        (200, json!({"theme": "dark"}))
    );
    // Another login of the same user (another device) sees it, in /api/me too.
    let me = call(server.req(Method::GET, "/api/me")).await;
    assert_eq!(me.1["preferences"], json!({"theme": "dark"}), "{}", me.1);
    // An empty change keeps everything.
    assert_eq!(call(put(json!({}))).await, (200, json!({"theme": "dark"})));
    // Other users keep theirs.
    assert_eq!(
        call(server.req_as(&bob, Method::GET, "/api/me/preferences")).await,
        (200, json!({"theme": "system"}))
    );

    for (what, body) in [
        ("an unknown theme", json!({"theme": "pink"})),
        (
            "an unknown preference",
            json!({"theme": "light", "font": "big"}),
        ),
    ] {
        assert_error(what, &call(put(body)).await, 400, "invalid_field");
    }
    assert_error(
        "no Origin",
        &call(
            server
                .req_cookie(&here, Method::PUT, "/api/me/preferences")
                .json(&json!({"theme": "light"})),
        )
        .await,
        403,
        "origin_not_allowed",
    );
    assert_error(
        "no credentials",
        &call(server.http.get(server.url("/api/me/preferences"))).await,
        401,
        "unauthorized",
    );
    let read = server
        .cli(
            &["token", "create", "--user", "bob", "--scope", "read"],
            None,
        )
        .trim()
        .to_owned();
    assert_error(
        "a read-only token",
        &call(
            server
                .req_as(&read, Method::PUT, "/api/me/preferences")
                .json(&json!({"theme": "light"})),
        )
        .await,
        403,
        "read_only_token",
    );
    assert_eq!(
        call(browser(&server, &here, Method::GET, "/api/me/preferences")).await,
        (200, json!({"theme": "dark"})),
        "nothing refused was stored"
    );
}
