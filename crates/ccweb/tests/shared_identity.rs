//! `isolation = "none"` with several users: every session runs as the
//! server's one Unix account with one Claude home and credential, so a
//! second enabled user is refused (at start and at runtime, by every path)
//! unless the operator sets `allow_shared_identity = true`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_error, call, unix_call, Options, TestServer};
use reqwest::Method;
use serde_json::json;

/// The refusal names both ways out.
fn names_the_ways_out(message: &str) {
    assert!(message.contains("isolation = \"unix\""), "{message}");
    assert!(
        message.contains("allow_shared_identity = true"),
        "{message}"
    );
}

#[tokio::test]
async fn a_second_user_is_refused_while_sessions_share_one_identity() {
    let server =
        TestServer::start(Options::shell("exit 0").toml("allow_shared_identity = false")).await;
    let status = server.get_json("/api/admin/status").await;
    assert_eq!(
        status["isolation"],
        json!({"mode": "none", "allow_shared_identity": false})
    );
    // The admin API.
    let created = call(
        server
            .req(Method::POST, "/api/admin/users")
            .json(&json!({"name": "bob"})),
    )
    .await;
    names_the_ways_out(&assert_error("admin API", &created, 409, "shared_identity"));
    // The command line: bad configuration, exit 2.
    let out = server.cli_output(&["user", "add", "bob"], None);
    assert_eq!(out.status.code(), Some(2));
    names_the_ways_out(&String::from_utf8_lossy(&out.stderr));
    // With the admin disabled there is room for one other user, not two
    // (enabling is refused the same way: the store's tests show it).
    server.cli(&["user", "disable", "admin"], None);
    server.cli(&["user", "add", "carol"], None);
    let out = server.cli_output(&["user", "add", "dave"], None);
    assert_eq!(out.status.code(), Some(2), "carol is the one user now");
    server.cli(&["user", "disable", "carol"], None);
    let users = server.cli(&["user", "list"], None);
    assert!(!users.contains("dave"), "{users}");
}

#[tokio::test]
async fn a_proxy_cannot_provision_a_second_user_onto_a_shared_identity() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("ccweb.sock");
    let server = TestServer::start(Options::shell("exit 0").toml(&format!(
        "allow_shared_identity = false\nlisten_unix = {:?}\n\
         proxy_user_header = \"X-Forwarded-User\"\nproxy_auto_provision = true",
        socket.to_str().unwrap()
    )))
    .await;
    let refused = unix_call(
        &socket,
        &server.addr,
        "GET",
        "/api/me",
        &[("X-Forwarded-User", "newcomer")],
        None,
    )
    .await;
    names_the_ways_out(&assert_error(
        "auto-provision",
        &refused,
        409,
        "shared_identity",
    ));
    let users = server.cli(&["user", "list"], None);
    assert!(!users.contains("newcomer"), "{users}");
}

#[tokio::test]
async fn the_server_refuses_to_start_with_several_users_and_a_shared_identity() {
    let dir = tempfile::tempdir().unwrap();
    let (data, root) = (dir.path().join("data"), dir.path().join("root"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    let config = data.join("ccweb.toml");
    let run = |args: &[&str]| common::run_with_input(&mut common::ccweb(&data, &root, args), "");
    std::fs::write(&config, "allow_shared_identity = true\n").unwrap();
    for name in ["alice", "bob"] {
        assert!(run(&["user", "add", name]).status.success());
    }
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nallow_shared_identity = false\n",
    )
    .unwrap();
    // Bounded: a server that does not refuse would serve forever.
    let mut cmd = common::ccweb(&data, &root, &["serve"]);
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("ccweb serve started with two users and a shared identity");
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "refused at start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2 users are enabled"), "{stderr}");
    names_the_ways_out(&stderr);
}

#[tokio::test]
async fn allowing_the_shared_identity_lets_several_users_in() {
    // TestServer sets allow_shared_identity = true: the ordinary case.
    let server = TestServer::start(Options::shell("exit 0")).await;
    let created = call(
        server
            .req(Method::POST, "/api/admin/users")
            .json(&json!({"name": "bob"})),
    )
    .await;
    assert_eq!(created.0, 201, "{}", created.1);
    let status = server.get_json("/api/admin/status").await;
    assert_eq!(status["isolation"]["allow_shared_identity"], true);
}
