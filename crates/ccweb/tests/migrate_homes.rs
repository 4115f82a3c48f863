//! `ccweb migrate-homes`: a shared-home install's conversations move to
//! their owners' own Unix accounts (issue 14, point 8). Runs as root: it
//! creates two Unix accounts (`ccwt…`) and removes them at the end.
#![allow(clippy::unwrap_used)]

mod common;

use common::{project_dir, Options, TestServer};
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Unix accounts made for one test, removed when dropped.
struct Accounts(Vec<String>);

impl Accounts {
    fn add(&mut self, name: &str, home: &Path) -> (u32, u32) {
        let status = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", "-d"])
            .arg(home)
            .arg(name)
            .status()
            .unwrap();
        assert!(status.success(), "useradd {name}");
        self.0.push(name.to_owned());
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, name]).output().unwrap();
            String::from_utf8(out.stdout)
                .unwrap()
                .trim()
                .parse()
                .unwrap()
        };
        let (uid, gid) = (id("-u"), id("-g"));
        std::fs::create_dir_all(home).unwrap();
        std::os::unix::fs::chown(home, Some(uid), Some(gid)).unwrap();
        std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700)).unwrap();
        (uid, gid)
    }
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("userdel").arg(name).status();
        }
    }
}

fn line(cwd: &Path, sid: &str, text: &str) -> String {
    let record = json!({"type": "user", "cwd": cwd, "sessionId": sid,
        "message": {"role": "user", "content": text}});
    format!("{record}\n")
}

#[tokio::test]
async fn conversations_move_to_their_owners_accounts_by_ccwebs_records() {
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        fake_anthropic::skip_or_fail("not root: useradd and chown need it");
        return;
    }
    let tag = std::process::id() % 100_000;
    let (alice_account, bob_account) = (format!("ccwtmha{tag}"), format!("ccwtmhb{tag}"));
    let shared = tempfile::tempdir().unwrap();
    let homes = tempfile::tempdir().unwrap();
    let mut accounts = Accounts(Vec::new());
    let alice_home = homes.path().join("alice");
    let bob_home = homes.path().join("bob");
    let (alice_uid, alice_gid) = accounts.add(&alice_account, &alice_home);
    let (bob_uid, _) = accounts.add(&bob_account, &bob_home);
    let toml = format!(
        "[child_env_set]\nCLAUDE_CONFIG_DIR = {}\n[unix_users]\nalice = {:?}\nbob = {:?}\n",
        serde_json::to_string(shared.path().to_str().unwrap()).unwrap(),
        alice_account,
        bob_account
    );
    let mut server = TestServer::start(Options::shell("exec sleep 1000").toml(&toml)).await;
    let cwd = server.root.join("project");
    let body = json!({"mode": "terminal", "working_dir": cwd});
    let sid_of = |token: String| {
        let server = &server;
        let body = body.clone();
        async move {
            let (status, s) = server.create_session_as(&token, body).await;
            assert_eq!(status, 201, "{s}");
            server.stop_session(s["id"].as_str().unwrap()).await;
            s["claude_session_id"].as_str().unwrap().to_owned()
        }
    };
    let alice = server.add_user("alice", "alice-password-1");
    let bob = server.add_user("bob", "bob-password-1");
    let alice_sid = sid_of(alice.clone()).await;
    let alice_linked = sid_of(alice).await;
    let bob_sid = sid_of(bob).await;
    assert_eq!(server.terminate(Duration::from_secs(20)), Some(0));

    let dir = project_dir(shared.path(), &cwd);
    std::fs::create_dir_all(dir.join(&alice_sid).join("subagents")).unwrap();
    std::fs::write(
        dir.join(format!("{alice_sid}.jsonl")),
        line(&cwd, &alice_sid, "alice's"),
    )
    .unwrap();
    std::fs::write(
        dir.join(&alice_sid).join("subagents/agent-1.jsonl"),
        line(&cwd, &alice_sid, "her subagent"),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{bob_sid}.jsonl")),
        line(&cwd, &bob_sid, "bob's"),
    )
    .unwrap();
    // A planted symlink under one of alice's recorded ids, and a conversation no one ran in ccweb.
    std::os::unix::fs::symlink("/etc/shadow", dir.join(format!("{alice_linked}.jsonl"))).unwrap();
    let stray = dir.join("99999999-9999-4999-8999-999999999999.jsonl");
    std::fs::write(&stray, "{}\n").unwrap();

    // A dry run says what it would do and touches nothing.
    let out = server.cli_output(&["migrate-homes", "--dry-run"], None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains(&format!(
            "would move {}",
            dir.join(format!("{alice_sid}.jsonl")).display()
        )),
        "{text}"
    );
    assert!(dir.join(format!("{alice_sid}.jsonl")).exists());
    assert!(!alice_home.join(".claude").exists());

    let out = server.cli_output(&["migrate-homes"], None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "the symlink could not be moved: {text}"
    );
    let moved = project_dir(&alice_home.join(".claude"), &cwd).join(format!("{alice_sid}.jsonl"));
    assert_eq!(
        std::fs::read_to_string(&moved).unwrap(),
        line(&cwd, &alice_sid, "alice's")
    );
    let meta = std::fs::metadata(&moved).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o777),
        (alice_uid, alice_gid, 0o600)
    );
    let sub = moved.with_extension("").join("subagents/agent-1.jsonl");
    assert_eq!(std::fs::metadata(&sub).unwrap().uid(), alice_uid);
    for folder in [
        alice_home.join(".claude"),
        moved.parent().unwrap().to_path_buf(),
        sub.parent().unwrap().to_path_buf(),
    ] {
        let meta = std::fs::metadata(&folder).unwrap();
        assert_eq!(
            (meta.uid(), meta.mode() & 0o777),
            (alice_uid, 0o700),
            "{}",
            folder.display()
        );
    }
    let bobs = project_dir(&bob_home.join(".claude"), &cwd).join(format!("{bob_sid}.jsonl"));
    assert_eq!(std::fs::metadata(&bobs).unwrap().uid(), bob_uid);
    assert!(!dir.join(format!("{alice_sid}.jsonl")).exists() && !dir.join(&alice_sid).exists());
    // Neither followed nor moved: the symlink; listed and left: the stray one.
    assert!(
        std::fs::symlink_metadata(dir.join(format!("{alice_linked}.jsonl")))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(!project_dir(&alice_home.join(".claude"), &cwd)
        .join(format!("{alice_linked}.jsonl"))
        .exists());
    assert!(
        text.contains(&format!("left {} (recorded for no one)", stray.display())),
        "{text}"
    );
    assert!(stray.exists());

    // Run again: nothing left to move, and nothing is overwritten.
    std::fs::write(dir.join(format!("{bob_sid}.jsonl")), "newer\n").unwrap();
    let out = server.cli_output(&["migrate-homes"], None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("exists already"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&bobs).unwrap(),
        line(&cwd, &bob_sid, "bob's")
    );
}

#[tokio::test]
async fn in_unix_mode_history_and_resume_come_from_the_users_own_home_not_the_servers() {
    if std::fs::metadata("/proc/self").unwrap().uid() != 0 {
        fake_anthropic::skip_or_fail("not root: useradd needs it");
        return;
    }
    let account = format!("ccwtuh{}", std::process::id() % 100_000);
    let shared = tempfile::tempdir().unwrap();
    let homes = tempfile::tempdir().unwrap();
    // The account must reach its home: the server reads it as the account.
    std::fs::set_permissions(homes.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let home = homes.path().join("admin");
    let mut accounts = Accounts(Vec::new());
    let (uid, gid) = accounts.add(&account, &home);
    // The server drops root to its own account.
    let server_account = format!("{account}s");
    accounts.add(&server_account, &homes.path().join("srv"));
    let toml = format!(
        "isolation = \"unix\"\nserver_user = {server_account:?}\n[child_env_set]\nCLAUDE_CONFIG_DIR = {}\n[unix_users]\nadmin = {account:?}\n",
        serde_json::to_string(shared.path().to_str().unwrap()).unwrap(),
    );
    let server = TestServer::start(Options::shell("exec sleep 1000").toml(&toml)).await;
    // The account reaches the working directory (the server's test root).
    let test_dir = server.root.parent().unwrap();
    std::fs::set_permissions(test_dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    let cwd = server.root.join("project");
    let own = "11111111-1111-4111-8111-111111111111";
    let servers = "22222222-2222-4222-8222-222222222222";
    let own_dir = project_dir(&home.join(".claude"), &cwd);
    std::fs::create_dir_all(&own_dir).unwrap();
    std::fs::write(
        own_dir.join(format!("{own}.jsonl")),
        line(&cwd, own, "in my own home"),
    )
    .unwrap();
    // As the account's CLI would have written it.
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{uid}:{gid}"))
        .arg(home.join(".claude"))
        .status()
        .unwrap();
    assert!(status.success());
    let shared_dir = project_dir(shared.path(), &cwd);
    std::fs::create_dir_all(&shared_dir).unwrap();
    std::fs::write(
        shared_dir.join(format!("{servers}.jsonl")),
        line(&cwd, servers, "in the server's home"),
    )
    .unwrap();

    let q = format!("/api/claude/history?working_dir={}", cwd.display());
    let listed = server.get_json(&q).await;
    let ids: Vec<&str> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [own], "{listed}");
    let resume = |sid: &str| json!({"mode": "chat", "working_dir": cwd, "resume": sid});
    let (status, body) = server
        .create_session_as(&server.admin_token, resume(servers))
        .await;
    assert_eq!(status, 404, "the server's home is not the user's: {body}");
    let (status, body) = server
        .create_session_as(&server.admin_token, resume(own))
        .await;
    assert_eq!(status, 201, "{body}");
    let page = server
        .get_json(&format!(
            "/api/claude/sessions/{}/events",
            body["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        page["events"][0]["event"]["text"], "in my own home",
        "{page}"
    );
}
