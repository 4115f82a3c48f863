//! `ccweb doctor`: healthy on a good setup, and a FAIL line (exit 1, or 2
//! for configuration that does not load) for each broken setup it claims
//! to detect.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

/// A data dir, an allowed root, a private HOME and a fake `claude`.
struct Setup {
    tmp: tempfile::TempDir,
    data: PathBuf,
    root: PathBuf,
    home: PathBuf,
    claude: PathBuf,
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let root = tmp.path().join("root");
    let home = tmp.path().join("home");
    for d in [&root, &home, &tmp.path().join("bin")] {
        std::fs::create_dir_all(d).unwrap();
    }
    let claude = tmp.path().join("bin/claude");
    script(&claude, "echo '2.1.197 (Claude Code)'");
    Setup {
        tmp,
        data,
        root,
        home,
        claude,
    }
}

impl Setup {
    /// A config file with these lines (plus `claude_bin` and a free port
    /// unless given).
    fn config(&self, lines: &str) -> PathBuf {
        let mut text = String::new();
        if !lines.contains("claude_bin") {
            text.push_str(&format!(
                "claude_bin = {:?}\n",
                self.claude.to_str().unwrap()
            ));
        }
        if !lines.contains("listen") {
            text.push_str("listen = \"127.0.0.1:0\"\n");
        }
        text.push_str(lines);
        let path = self.tmp.path().join("ccweb.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `ccweb --config CONFIG doctor ARGS` with a private HOME and `env`.
    fn doctor(&self, config_lines: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let config = self.config(config_lines);
        let mut cmd = common::ccweb(
            &self.data,
            &self.root,
            &["--config", config.to_str().unwrap(), "doctor"],
        );
        cmd.args(args).env("HOME", &self.home);
        for name in fake_anthropic::INHERITED_ENV_TO_REMOVE {
            cmd.env_remove(name);
        }
        for name in [
            "ANTHROPIC_API_KEY",
            "ANTHROPIC_AUTH_TOKEN",
            "CLAUDE_CONFIG_DIR",
            "CLAUDE_CODE_USE_BEDROCK",
            "CLAUDE_CODE_USE_VERTEX",
        ] {
            cmd.env_remove(name);
        }
        cmd.envs(env.iter().copied());
        cmd.output().unwrap()
    }
}

const KEY: &[(&str, &str)] = &[("ANTHROPIC_API_KEY", "sk-ant-test")];

/// The report's line for `what`.
fn line<'a>(out: &'a Output, what: &str) -> &'a str {
    let stdout = std::str::from_utf8(&out.stdout).unwrap();
    stdout
        .lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(what)))
        .unwrap_or_else(|| panic!("no {what:?} line in:\n{stdout}"))
}

fn assert_fails(out: &Output, code: i32, what: &str, needle: &str) {
    let l = line(out, what);
    assert!(l.starts_with("FAIL"), "{what} should fail: {l}");
    assert!(l.contains(needle), "{needle:?} in {l}");
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_good_setup_is_healthy() {
    let s = setup();
    let out = s.doctor("", &[], KEY);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(line(&out, "claude").contains("2.1.197"), "{stdout}");
    assert!(line(&out, "auth").contains("ANTHROPIC_API_KEY"), "{stdout}");
    for what in [
        "config", "data dir", "database", "listen", "roots", "sandbox",
    ] {
        assert!(line(&out, what).starts_with("ok"), "{stdout}");
    }
    // After serve has made the database, it is checked too (and nothing was created by doctor).
    assert!(!s.data.exists(), "doctor creates nothing");
    std::fs::create_dir_all(&s.data).unwrap();
    std::fs::set_permissions(&s.data, std::fs::Permissions::from_mode(0o700)).unwrap();
    common::ccweb(&s.data, &s.root, &["user", "list"])
        .output()
        .unwrap();
    let out = s.doctor("", &[], KEY);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        line(&out, "database").contains("current"),
        "{}",
        line(&out, "database")
    );
    // A login instead of a key is fine too.
    std::fs::create_dir_all(s.home.join(".claude")).unwrap();
    std::fs::write(s.home.join(".claude/.credentials.json"), "{}").unwrap();
    let out = s.doctor("", &[], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(line(&out, "auth").contains("logged in"));
}

#[test]
fn a_missing_failing_or_foreign_cli_fails() {
    let s = setup();
    let out = s.doctor("claude_bin = \"/nonexistent/claude\"\n", &[], KEY);
    assert_fails(&out, 1, "claude", "not found");
    let out = s.doctor("", &["--claude-bin", "no-such-claude-here"], KEY);
    assert_fails(&out, 1, "claude", "not found on PATH");
    script(&s.claude, "echo 'boom: broken install' >&2; exit 3");
    let out = s.doctor("", &[], KEY);
    assert_fails(&out, 1, "claude", "boom: broken install");
    script(&s.claude, "echo hello");
    let out = s.doctor("", &[], KEY);
    assert_fails(&out, 1, "claude", "not a version");
}

/// A CLI that answers `auth status` as Claude Code does (JSON, exit 1
/// when not logged in) is believed over the files doctor could look at.
#[test]
fn the_clis_own_auth_status_decides() {
    let s = setup();
    script(
        &s.claude,
        r#"if [ "$1" = auth ]; then
  echo '{"loggedIn": false, "authMethod": "none", "apiProvider": "firstParty"}'; exit 1
fi
echo '2.1.197 (Claude Code)'"#,
    );
    // A credentials file the CLI does not accept (expired, another
    // account's): the CLI's answer wins.
    std::fs::create_dir_all(s.home.join(".claude")).unwrap();
    std::fs::write(s.home.join(".claude/.credentials.json"), "{}").unwrap();
    let out = s.doctor("", &[], &[]);
    assert_fails(&out, 1, "auth", "`claude auth status`: not logged in");
    script(
        &s.claude,
        r#"if [ "$1" = auth ]; then
  echo '{"loggedIn": true, "authMethod": "claude.ai", "apiProvider": "firstParty"}'; exit 0
fi
echo '2.1.197 (Claude Code)'"#,
    );
    let out = s.doctor("", &[], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(line(&out, "auth").contains("logged in (claude.ai, firstParty)"));
}

/// The pinned CLI itself: no key is a failure, a key in the environment
/// sessions get is found by the CLI.
#[test]
fn the_real_cli_reports_its_credentials() {
    let Some(cli) = fake_anthropic::require_claude_bin() else {
        return;
    };
    let s = setup();
    let bin = format!("claude_bin = {:?}\n", cli.to_str().unwrap());
    let out = s.doctor(
        &bin,
        &[],
        &[("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")],
    );
    assert_fails(&out, 1, "auth", "`claude auth status`: not logged in");
    let out = s.doctor(
        &bin,
        &[],
        &[
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ],
    );
    let auth = line(&out, "auth");
    assert!(auth.starts_with("ok"), "{auth}");
    assert!(auth.contains("ANTHROPIC_API_KEY"), "{auth}");
}

#[test]
fn no_credentials_fail() {
    let s = setup();
    let out = s.doctor("", &[], &[]);
    assert_fails(&out, 1, "auth", "ANTHROPIC_API_KEY");
}

#[test]
fn users_bringing_their_own_credentials_need_none_of_the_servers() {
    let s = setup();
    let out = s.doctor("user_credentials = \"required\"\n", &[], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        line(&out, "auth").contains("required"),
        "{}",
        line(&out, "auth")
    );
}

#[test]
fn a_credentials_key_others_can_read_fails() {
    let s = setup();
    std::fs::create_dir_all(&s.data).unwrap();
    std::fs::set_permissions(&s.data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let key = s.data.join("credentials.key");
    std::fs::write(&key, [1u8; 32]).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    assert_fails(&s.doctor("", &[], KEY), 1, "credentials key", "chmod 600");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = s.doctor("", &[], KEY);
    assert!(
        line(&out, "credentials key").starts_with("ok"),
        "{}",
        line(&out, "credentials key")
    );
}

#[test]
fn an_unusable_data_dir_or_database_fails() {
    let s = setup();
    // A file where the directory should be.
    std::fs::write(&s.data, "not a dir").unwrap();
    let out = s.doctor("", &[], KEY);
    assert_fails(&out, 1, "data dir", "not a directory");
    std::fs::remove_file(&s.data).unwrap();
    // A database that is not one.
    std::fs::create_dir_all(&s.data).unwrap();
    std::fs::set_permissions(&s.data, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(s.data.join("ccweb.db"), vec![0x42; 8192]).unwrap();
    let out = s.doctor("", &[], KEY);
    assert_fails(&out, 1, "database", "ccweb.db");
    // Cannot be created (even root cannot make directories in /proc).
    let s = Setup {
        data: PathBuf::from("/proc/ccweb-doctor-test/data"),
        ..s
    };
    let out = s.doctor("", &[], KEY);
    assert_fails(&out, 1, "data dir", "cannot be created");
}

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let s = setup();
    let out = s.doctor("bogus_key = 1\n", &[], KEY);
    assert_fails(&out, 2, "config", "bogus_key");
    let out = s.doctor("allowed_roots = [\"/nonexistent/root\"]\n", &[], KEY);
    assert_fails(&out, 2, "config", "allowed_roots");
    let out = s.doctor("listen = \"not an address\"\n", &[], KEY);
    assert_fails(&out, 2, "config", "listen");
}

#[test]
fn an_occupied_or_foreign_listen_address_fails() {
    let s = setup();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = s.doctor(&format!("listen = {addr:?}\n"), &[], KEY);
    assert_fails(&out, 1, "listen", "in use");
    // An address of no interface here (TEST-NET-1).
    let out = s.doctor(
        "listen = \"192.0.2.1:7878\"\nallow_insecure_listen = true\n",
        &[],
        KEY,
    );
    assert_fails(&out, 1, "listen", "cannot listen on 192.0.2.1:7878");
}

#[test]
fn unix_isolation_with_an_account_pattern_that_makes_bad_names_fails() {
    let s = setup();
    let out = s.doctor(
        "isolation = \"unix\"\nunix_user = \"Team.{user}\"\n",
        &[],
        KEY,
    );
    assert_fails(&out, 1, "isolation", "not allowed");
}

#[test]
fn a_configured_sandbox_that_cannot_work_fails() {
    let s = setup();
    let out = s.doctor(
        "sandbox = \"bubblewrap\"\nsandbox_bwrap = \"/nonexistent/bwrap\"\n",
        &[],
        KEY,
    );
    assert_fails(&out, 1, "sandbox", "bubblewrap");
}
