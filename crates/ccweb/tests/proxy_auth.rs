//! Trusted reverse-proxy header login: the header counts only on the
//! proxy's Unix socket (`listen_unix`), never over TCP — not even from a
//! `trusted_proxies` address, which a session's process on the same host
//! shares. It names only existing enabled users, and proxy-logged browser
//! requests obey the same Origin rules as cookies.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_error, call, unix_call, Options, TestServer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const HEADER: &str = "X-Forwarded-User";

/// A directory for the proxy's socket, and the config lines for it.
fn proxy_socket(extra: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ccweb.sock");
    let toml = format!(
        "listen_unix = {:?}\nproxy_user_header = \"X-Forwarded-User\"\n{extra}",
        socket.to_str().unwrap()
    );
    (dir, socket, toml)
}

/// `GET path` through the proxy's socket as `user` (and headers).
async fn via_proxy(
    server: &TestServer,
    socket: &Path,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, Value) {
    unix_call(socket, &server.addr, method, path, headers, body).await
}

#[tokio::test]
async fn proxy_header_counts_only_on_the_proxy_socket_for_enabled_users() {
    // 127.0.0.1 is listed as a trusted proxy (for X-Forwarded-For): that
    // must not make its user header believed over TCP.
    let (_dir, socket, toml) = proxy_socket("trusted_proxies = [\"127.0.0.1\"]");
    let server = TestServer::start(Options::shell("exit 0").toml(&toml)).await;
    server.add_user("pat", "pat-password");
    server.add_user("dis", "dis-password");
    server.cli(&["user", "disable", "dis"], None);
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o660, "listen_unix_mode's default");
    let me = |user: &'static str| {
        let (server, socket) = (&server, &socket);
        async move { via_proxy(server, socket, "GET", "/api/me", &[(HEADER, user)], None).await }
    };

    let (status, body) = me("pat").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "pat");
    // Names are matched in lower case, as the store keeps them.
    assert_eq!(me("Pat").await.0, 200);

    // Attack: the same header over TCP from the trusted proxy's address
    // (as a session's process on this host can send it): ignored.
    for user in ["pat", "admin"] {
        assert_error(
            "the header over TCP from a trusted_proxies address",
            &call(
                server
                    .http
                    .get(server.url("/api/me"))
                    .header(HEADER, user)
                    .header("x-forwarded-for", "203.0.113.9"),
            )
            .await,
            401,
            "unauthorized",
        );
    }
    // Unknown and disabled users.
    assert_eq!(me("nobody").await.0, 401);
    assert_eq!(me("dis").await.0, 401);
    // Through the proxy without the header: the other methods as usual.
    let (status, _) = via_proxy(&server, &socket, "GET", "/api/me", &[], None).await;
    assert_eq!(status, 401);

    // State changes need an allowed Origin, as with cookies.
    let empty = json!({});
    let post = |origin: Option<&'static str>| {
        let (server, socket, empty) = (&server, &socket, &empty);
        async move {
            let own = server.origin();
            let mut headers = vec![(HEADER, "pat")];
            match origin {
                Some("own") => headers.push(("origin", own.as_str())),
                Some(o) => headers.push(("origin", o)),
                None => {}
            }
            via_proxy(
                server,
                socket,
                "POST",
                common::SESSIONS,
                &headers,
                Some(empty),
            )
            .await
        }
    };
    assert_error("no origin", &post(None).await, 403, "origin_not_allowed");
    assert_error(
        "foreign origin",
        &post(Some("https://evil.example")).await,
        403,
        "origin_not_allowed",
    );
    let (status, body) = post(Some("own")).await;
    assert_eq!(
        status, 400,
        "authenticated, then the empty body is refused: {body}"
    );

    // Forwarded host headers never stand in for Host.
    assert_error(
        "forwarded host",
        &call(
            server
                .http
                .get(server.url("/api/me"))
                .bearer_auth(&server.admin_token)
                .header("host", "attacker.example")
                .header("x-forwarded-host", server.addr.as_str())
                .header("forwarded", format!("host={}", server.addr)),
        )
        .await,
        403,
        "host_not_allowed",
    );
    // The proxy names the client: the audit log has its address.
    let (status, _) = via_proxy(
        &server,
        &socket,
        "POST",
        "/api/auth/login",
        &[("x-forwarded-for", "203.0.113.44")],
        Some(&json!({"username": "pat", "password": "pat-password"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, audit) = call(server.req(
        reqwest::Method::GET,
        "/api/admin/audit?user=pat&action=login",
    ))
    .await;
    assert_eq!(audit["entries"][0]["source"], "203.0.113.44", "{audit}");
}

#[tokio::test]
async fn a_session_process_claiming_the_proxy_header_on_loopback_gets_401() {
    // Attack: a prompt-injected agent of bob (a session's process on the
    // proxy's host) sends `X-Forwarded-User: admin` from 127.0.0.1, the
    // trusted proxy's address, to become admin.
    let (_dir, socket, toml) = proxy_socket("trusted_proxies = [\"127.0.0.1\"]");
    let agent = "while [ ! -s addr ]; do sleep 0.05; done; \
        curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-User: admin' \
          -H 'X-Forwarded-For: 203.0.113.9' \"http://$(cat addr)/api/me\" > as-admin; \
        curl -s -o /dev/null -w '%{http_code}' \"http://$(cat addr)/api/me\" > plain; \
        mv as-admin as-admin.done; exec sleep 1000";
    let server = TestServer::start(Options::shell(agent).toml(&toml)).await;
    let bob = server.add_user("bob", "bob-password-1");
    let project = server.root.join("project");
    let (status, s) = server
        .create_session_as(&bob, json!({"mode": "terminal", "working_dir": project}))
        .await;
    assert_eq!(status, 201, "{s}");
    std::fs::write(project.join("addr"), &server.addr).unwrap();
    let done = project.join("as-admin.done");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done.exists() {
        assert!(Instant::now() < deadline, "the agent never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(std::fs::read_to_string(&done).unwrap(), "401", "as admin");
    assert_eq!(
        std::fs::read_to_string(project.join("plain")).unwrap(),
        "401",
        "without a credential"
    );
    // The proxy, on its socket, still logs users in.
    let (status, me) = via_proxy(
        &server,
        &socket,
        "GET",
        "/api/me",
        &[(HEADER, "admin")],
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["name"], "admin");
}

#[tokio::test]
async fn proxy_auto_provisioning_creates_users_named_by_the_proxy() {
    let (_dir, socket, toml) = proxy_socket("proxy_auto_provision = true");
    let server = TestServer::start(Options::shell("exit 0").toml(&toml)).await;
    let me = |user: &'static str| {
        let (server, socket) = (&server, &socket);
        async move { via_proxy(server, socket, "GET", "/api/me", &[(HEADER, user)], None).await }
    };
    let (status, body) = me("quinn").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["name"], "quinn");
    assert_eq!(body["user"]["is_admin"], false);
    // Names the store does not allow are refused, not mangled.
    assert_eq!(me("../root").await.0, 401);
}

#[test]
fn proxy_configuration_mistakes_exit_2_naming_the_key() {
    for (toml, key) in [
        // The header is believed only on the proxy's socket: it must exist.
        (
            "proxy_user_header = \"X-Forwarded-User\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
            "listen_unix",
        ),
        (
            "listen_unix = \"/tmp/ccweb-test.sock\"\nlisten_unix_mode = \"0666\"\n",
            "listen_unix_mode",
        ),
        (
            "listen_unix = \"/tmp/ccweb-test.sock\"\nlisten_unix_group = \"no-such-group-ccwt\"\n",
            "listen_unix_group",
        ),
        ("trusted_proxies = [\"0.0.0.0/0\"]\n", "trusted_proxies"),
        ("trusted_proxies = [\"proxy.example\"]\n", "trusted_proxies"),
        // A proxy on another machine needs public_url (or https) to listen widely.
        (
            "listen = \"0.0.0.0:0\"\ntrusted_proxies = [\"10.0.0.5\"]\n",
            "listen",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let toml = if toml.starts_with("listen") {
            toml.to_owned()
        } else {
            format!("listen = \"127.0.0.1:0\"\n{toml}")
        };
        std::fs::write(data.join("ccweb.toml"), toml).unwrap();
        let out = common::ccweb(&data, dir.path(), &["serve"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(err.contains(key), "{key}: {err}");
    }
}

#[tokio::test]
async fn a_user_logged_in_by_the_proxy_cannot_give_themselves_a_password() {
    let (_dir, socket, toml) = proxy_socket("");
    let server = TestServer::start(Options::shell("exit 0").toml(&toml)).await;
    // Made without a password: the proxy is how they log in.
    server.cli(&["user", "add", "quinn"], None);
    let (status, me) = via_proxy(
        &server,
        &socket,
        "GET",
        "/api/me",
        &[(HEADER, "quinn")],
        None,
    )
    .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["has_password"], false);
    assert_eq!(me["can_set_password"], false);
    // A password would be a way in that outlives their removal at the proxy.
    let origin = server.origin();
    assert_error(
        "a first password through the proxy",
        &via_proxy(
            &server,
            &socket,
            "POST",
            "/api/me/password",
            &[(HEADER, "quinn"), ("origin", &origin)],
            Some(&json!({"new_password": "quinn-password-1"})),
        )
        .await,
        403,
        "password_not_allowed",
    );
    let login = server
        .http
        .post(server.url("/api/auth/login"))
        .json(&serde_json::json!({"username": "quinn", "password": "quinn-password-1"}));
    assert_eq!(call(login).await.0, 401, "no password was set");
    // An admin still can.
    let reset = server
        .req(reqwest::Method::POST, "/api/admin/users/quinn/password")
        .json(&serde_json::json!({"new_password": "quinn-password-1"}));
    assert_eq!(call(reset).await.0, 200);
}

#[tokio::test]
async fn the_proxy_socket_replaces_a_stale_one_refuses_a_live_one_and_goes_at_shutdown() {
    let (_dir, socket, toml) = proxy_socket("");
    // Left by a run that was killed: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let server = TestServer::start(Options::shell("exit 0").toml(&toml)).await;
    async fn health(socket: &Path, server: &TestServer) -> u16 {
        unix_call(socket, &server.addr, "GET", "/healthz", &[], None)
            .await
            .0
    }
    assert_eq!(health(&socket, &server).await, 200);
    // A second server cannot take over the live socket.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("ccweb.toml"),
        format!("listen = \"127.0.0.1:0\"\n{toml}"),
    )
    .unwrap();
    let out = common::ccweb(other.path(), &server.root, &["serve"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("in use"), "{err}");
    assert_eq!(
        health(&socket, &server).await,
        200,
        "the first server keeps it"
    );
    // A clean stop removes it; the next start makes it again.
    let server = server.restart().await;
    assert_eq!(health(&socket, &server).await, 200);
    let mut server = server;
    server.terminate(Duration::from_secs(20));
    assert!(!socket.exists(), "removed at shutdown");
}
