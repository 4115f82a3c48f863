//! Users' own Claude credentials (`/api/me/credentials`): write-only,
//! sealed at rest, per user, and put into that user's sessions only in
//! place of the operator's; the `user_credentials` policy.
#![allow(clippy::unwrap_used)]

mod common;

use common::chat::Chat;
use common::{assert_error, call, claude_setup, eventually, ClaudeSetup, Options, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

const CREDENTIALS: &str = "/api/me/credentials";

/// Sessions write the credential variables they got to `$PWD/env.out`.
const ENV_SCRIPT: &str = "printf '%s\\n%s\\n%s\\n' \"${ANTHROPIC_API_KEY-unset}\" \
     \"${CLAUDE_CODE_OAUTH_TOKEN-unset}\" \"${ANTHROPIC_AUTH_TOKEN-unset}\" > env.out.tmp \
     && mv env.out.tmp env.out; exec sleep 1000";

const OPERATOR_KEY: &str = "operator-api-key-0000";
const OPERATOR_AUTH: &str = "operator-auth-token-0000";

fn put(server: &TestServer, token: &str, body: Value) -> reqwest::RequestBuilder {
    server.req_as(token, Method::PUT, CREDENTIALS).json(&body)
}

/// Starts a session of `token`'s user in `root/<dir>` and returns the
/// credential variables it got: API key, OAuth token, auth token.
async fn session_env(server: &TestServer, token: &str, dir: &str) -> Vec<String> {
    let cwd = server.root.join(dir);
    std::fs::create_dir_all(&cwd).unwrap();
    let out = cwd.join("env.out");
    let _ = std::fs::remove_file(&out);
    let (status, s) = server
        .create_session_as(token, json!({"mode": "terminal", "working_dir": cwd}))
        .await;
    assert_eq!(status, 201, "{s}");
    eventually(Duration::from_secs(20), "the session wrote its env", || {
        out.is_file()
    })
    .await;
    let lines = std::fs::read_to_string(&out).unwrap();
    lines.lines().map(str::to_owned).collect()
}

/// Whether `needle` occurs in the database files (main file and WAL).
fn in_database(data_dir: &Path, needle: &str) -> bool {
    ["ccweb.db", "ccweb.db-wal"].iter().any(|f| {
        std::fs::read(data_dir.join(f))
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

#[tokio::test]
async fn credentials_are_write_only_sealed_per_user_and_replace_the_operators_in_sessions() {
    let mut options = Options::shell(ENV_SCRIPT);
    options.env = vec![
        ("ANTHROPIC_API_KEY".into(), OPERATOR_KEY.into()),
        ("ANTHROPIC_AUTH_TOKEN".into(), OPERATOR_AUTH.into()),
    ];
    let server = TestServer::start(options).await;
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let alice_key = "sk-ant-alice-SECRET-value-7c41";
    let unset = json!({
        "anthropic_api_key": {"set": false},
        "claude_oauth_token": {"set": false}
    });
    let (status, got) = call(server.req_as(&alice, Method::GET, CREDENTIALS)).await;
    assert_eq!((status, &got), (200, &unset));

    // Bad input: one clear 400 each, nothing stored.
    let long = "k".repeat(1025);
    let bad = [
        ("nothing", json!({}), "invalid_credential"),
        (
            "both kinds",
            json!({"anthropic_api_key": alice_key, "claude_oauth_token": alice_key}),
            "invalid_credential",
        ),
        (
            "unknown field",
            json!({"api_key": alice_key}),
            "invalid_field",
        ),
        (
            "not a string",
            json!({"anthropic_api_key": 12345678}),
            "invalid_field",
        ),
        (
            "empty",
            json!({"anthropic_api_key": ""}),
            "invalid_credential",
        ),
        (
            "too short",
            json!({"anthropic_api_key": "abc"}),
            "invalid_credential",
        ),
        (
            "too long",
            json!({"anthropic_api_key": long}),
            "invalid_credential",
        ),
        (
            "a space",
            json!({"anthropic_api_key": "sk-ant two"}),
            "invalid_credential",
        ),
        (
            "a newline",
            json!({"claude_oauth_token": "sk-ant-oat\nX=1"}),
            "invalid_credential",
        ),
        (
            "non-ASCII",
            json!({"claude_oauth_token": "sk-ant-ößüäö"}),
            "invalid_credential",
        ),
    ];
    for (what, body, code) in bad {
        let message = assert_error(what, &call(put(&server, &alice, body)).await, 400, code);
        if matches!(what, "nothing" | "both kinds") {
            assert!(
                message.contains("claude_oauth_token"),
                "says what to send: {message}"
            );
        }
    }
    let (_, got) = call(server.req_as(&alice, Method::GET, CREDENTIALS)).await;
    assert_eq!(got, unset, "nothing stored by bad requests");

    // Set: the answer and every later read show the hint, never the value.
    let (status, got) = call(put(
        &server,
        &alice,
        json!({"anthropic_api_key": alice_key}),
    ))
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["anthropic_api_key"]["set"], true);
    assert_eq!(got["anthropic_api_key"]["hint"], "…7c41");
    assert_eq!(got["claude_oauth_token"], json!({"set": false}));
    let (_, again) = call(server.req_as(&alice, Method::GET, CREDENTIALS)).await;
    assert_eq!(again, got);
    assert!(!again.to_string().contains("SECRET"), "{again}");
    assert!(!in_database(&server.data_dir, alice_key), "sealed at rest");
    assert!(
        !in_database(&server.data_dir, "SECRET-value"),
        "sealed at rest"
    );

    // Another user sees nothing of it and cannot remove it.
    let (_, theirs) = call(server.req_as(&bob, Method::GET, CREDENTIALS)).await;
    assert_eq!(theirs, unset);
    let gone = server.req_as(
        &bob,
        Method::DELETE,
        &format!("{CREDENTIALS}/anthropic_api_key"),
    );
    assert_eq!(gone.send().await.unwrap().status(), 204);
    let (_, still) = call(server.req_as(&alice, Method::GET, CREDENTIALS)).await;
    assert_eq!(still["anthropic_api_key"]["set"], true);
    assert_error(
        "unknown kind",
        &call(server.req_as(&alice, Method::DELETE, &format!("{CREDENTIALS}/password"))).await,
        404,
        "not_found",
    );

    // Each user's session gets their own credential, or the operator's.
    assert_eq!(
        session_env(&server, &alice, "alice-1").await,
        [alice_key, "unset", "unset"],
        "alice's key, and none of the operator's"
    );
    assert_eq!(
        session_env(&server, &bob, "bob-1").await,
        [OPERATOR_KEY, "unset", OPERATOR_AUTH],
        "bob has none: the operator's"
    );
    let bob_token = "sk-ant-oat01-bob-token-92fe";
    let (status, got) = call(put(&server, &bob, json!({"claude_oauth_token": bob_token}))).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["claude_oauth_token"]["hint"], "…92fe");
    assert_eq!(
        session_env(&server, &bob, "bob-2").await,
        ["unset", bob_token, "unset"],
        "bob's subscription token alone"
    );
    let gone = server.req_as(
        &alice,
        Method::DELETE,
        &format!("{CREDENTIALS}/anthropic_api_key"),
    );
    assert_eq!(gone.send().await.unwrap().status(), 204);
    let (_, got) = call(server.req_as(&alice, Method::GET, CREDENTIALS)).await;
    assert_eq!(got, unset);
    assert_eq!(
        session_env(&server, &alice, "alice-2").await,
        [OPERATOR_KEY, "unset", OPERATOR_AUTH],
        "deleted: the operator's again"
    );

    // Audited without the value; never logged.
    let audit = server
        .get_json("/api/admin/audit?limit=200")
        .await
        .to_string();
    for action in ["credential.set", "credential.delete"] {
        assert!(audit.contains(action), "{action}: {audit}");
    }
    let logs = server.log_text();
    for secret in [alice_key, bob_token] {
        assert!(!audit.contains(secret), "audit has {secret}");
        assert!(!logs.contains(secret), "log has {secret}");
    }
}

#[tokio::test]
async fn a_sealed_credential_copied_to_another_user_does_not_open() {
    let server = TestServer::start(Options::shell(ENV_SCRIPT)).await;
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let (status, _) = call(put(
        &server,
        &alice,
        json!({"anthropic_api_key": "sk-ant-alice-copied-5d3a"}),
    ))
    .await;
    assert_eq!(status, 200);
    // What someone with write access to the database could do: give bob
    // alice's sealed row.
    let store = ccweb_store::Store::open(&server.data_dir.join("ccweb.db"))
        .await
        .unwrap();
    let id = |name: &'static str| {
        let store = store.clone();
        async move { store.user_by_name(name).await.unwrap().unwrap().id }
    };
    let (alice_id, bob_id) = (id("alice").await, id("bob").await);
    let sealed = store.credentials(alice_id).await.unwrap().remove(0);
    store.set_credential(bob_id, &sealed).await.unwrap();
    store.close().await;
    let (_, shown) = call(server.req_as(&bob, Method::GET, CREDENTIALS)).await;
    assert_eq!(
        shown["anthropic_api_key"]["hint"], "…5d3a",
        "the row is there"
    );
    let cwd = server.root.join("project");
    let refused = server
        .create_session_as(&bob, json!({"mode": "terminal", "working_dir": cwd}))
        .await;
    let message = assert_error("bob starts", &refused, 409, "credential_unreadable");
    assert!(message.contains("Account page"), "{message}");
    assert!(!cwd.join("env.out").exists(), "no session ran");
    // Alice's own still works.
    assert_eq!(
        session_env(&server, &alice, "alice").await[0],
        "sk-ant-alice-copied-5d3a"
    );
}

#[tokio::test]
async fn the_policy_can_require_a_users_own_credential_or_forbid_one() {
    let server =
        TestServer::start(Options::shell(ENV_SCRIPT).toml("user_credentials = \"required\"")).await;
    let alice = server.add_user("alice", "alice-password-1");
    let (_, me) = call(server.req_as(&alice, Method::GET, "/api/me")).await;
    assert_eq!(me["server"]["user_credentials"], "required");
    let cwd = server.root.join("project");
    let refused = server
        .create_session_as(&alice, json!({"mode": "chat", "working_dir": cwd}))
        .await;
    let message = assert_error("no credential", &refused, 403, "credential_required");
    assert!(message.contains("Account page"), "{message}");
    let (status, _) = call(put(
        &server,
        &alice,
        json!({"anthropic_api_key": "sk-ant-required-1111"}),
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        session_env(&server, &alice, "a").await[0],
        "sk-ant-required-1111"
    );
    drop(server);

    let server =
        TestServer::start(Options::shell(ENV_SCRIPT).toml("user_credentials = \"disabled\"")).await;
    let alice = server.add_user("alice", "alice-password-1");
    assert_error(
        "disabled",
        &call(put(
            &server,
            &alice,
            json!({"anthropic_api_key": "sk-ant-disabled-2222"}),
        ))
        .await,
        403,
        "credentials_disabled",
    );
    let status = server.get_json("/api/admin/status").await;
    assert_eq!(status["user_credentials"], "disabled");
}

#[tokio::test]
async fn a_real_cli_session_talks_to_the_api_with_its_users_credential() {
    let Some(ClaudeSetup {
        server,
        fake,
        _home,
    }) = claude_setup("").await
    else {
        return;
    };
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let alice_key = "sk-ant-api03-alice-real-cli-e5b7";
    let (status, _) = call(put(
        &server,
        &alice,
        json!({"anthropic_api_key": alice_key}),
    ))
    .await;
    assert_eq!(status, 200);
    // Each user's chat turn; what reached the API says whose key it used.
    let mut keys = Vec::new();
    for token in [&alice, &bob] {
        let (status, s) = server
            .create_session_as(
                token,
                json!({"mode": "chat", "working_dir": server.root.join("project")}),
            )
            .await;
        assert_eq!(status, 201, "{s}");
        let id = s["id"].as_str().unwrap();
        let mut chat = Chat::connect_as(&server, token, id, "").await;
        let before = fake.log().len();
        fake.push(fake_anthropic::Reply::text("hello"));
        chat.turn("say hello").await;
        let sent: Vec<String> = fake.log()[before..]
            .iter()
            .filter_map(|r| {
                r.headers
                    .iter()
                    .find(|(k, _)| k == "x-api-key")
                    .map(|(_, v)| v.clone())
            })
            .collect();
        assert!(!sent.is_empty(), "the CLI called the API");
        keys.push(sent);
    }
    assert!(
        keys[0].iter().all(|k| k == alice_key),
        "alice's: {:?}",
        keys[0]
    );
    assert!(
        keys[1].iter().all(|k| k == fake_anthropic::FAKE_API_KEY),
        "bob's are the operator's: {:?}",
        keys[1]
    );
}

#[tokio::test]
async fn the_server_refuses_a_credentials_key_that_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (data, root) = (dir.path().join("data"), dir.path().join("root"));
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(data.join("ccweb.toml"), "listen = \"127.0.0.1:0\"\n").unwrap();
    let key = data.join("credentials.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    // Bounded: a server that accepts the key would serve forever.
    let mut child = common::ccweb(&data, &root, &["serve"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("ccweb serve started with a world-readable credentials key");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("credentials.key") && stderr.contains("chmod 600"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_resumed_session_gets_the_users_credential_of_today() {
    let server = TestServer::start(Options::shell(ENV_SCRIPT)).await;
    let alice = server.add_user("alice", "alice-password-1");
    let first = "sk-ant-first-key-1111";
    let (status, _) = call(put(&server, &alice, json!({"anthropic_api_key": first}))).await;
    assert_eq!(status, 200);
    let cwd = server.root.join("resumed");
    std::fs::create_dir_all(&cwd).unwrap();
    let (status, s) = server
        .create_session_as(&alice, json!({"mode": "terminal", "working_dir": cwd}))
        .await;
    assert_eq!(status, 201, "{s}");
    let id = s["id"].as_str().unwrap().to_owned();
    let out = cwd.join("env.out");
    eventually(Duration::from_secs(20), "the first env", || out.is_file()).await;
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().next(),
        Some(first)
    );
    let path = format!("{}/{id}", common::SESSIONS);
    let (status, _) = call(server.req_as(&alice, Method::DELETE, &path)).await;
    assert_eq!(status, 200);
    std::fs::remove_file(&out).unwrap();
    let second = "sk-ant-second-key-2222";
    let (status, _) = call(put(&server, &alice, json!({"anthropic_api_key": second}))).await;
    assert_eq!(status, 200);
    let (status, s) = call(server.req_as(&alice, Method::POST, &format!("{path}/resume"))).await;
    assert_eq!(status, 200, "{s}");
    eventually(Duration::from_secs(20), "the resumed env", || out.is_file()).await;
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().lines().next(),
        Some(second)
    );
}
