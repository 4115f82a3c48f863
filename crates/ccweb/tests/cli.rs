//! The command line: configuration sources and their precedence, exit
//! codes, and the user and token commands.
#![allow(clippy::unwrap_used)]

mod common;

use common::free_port;

use std::io::{BufRead, BufReader};
use std::process::Output;
use std::time::Duration;

struct Dirs {
    _tmp: tempfile::TempDir,
    data: std::path::PathBuf,
    root: std::path::PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    Dirs {
        data,
        root,
        _tmp: tmp,
    }
}

/// Runs `ccweb` to completion (it must not be `serve` unless it fails fast).
fn run(d: &Dirs, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = common::ccweb(&d.data, &d.root, args);
    common::run_with_input(cmd.envs(env.iter().copied()), stdin)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Starts `serve`, waits for its `listening` log line, kills it; returns the address.
fn listening_addr(d: &Dirs, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = common::ccweb(&d.data, &d.root, args);
    cmd.env("RUST_LOG", "info").envs(env.iter().copied());
    let mut child = common::spawn_logging(&mut cmd);
    let reader = BufReader::new(child.stderr.take().unwrap());
    // A watchdog: if the line never comes, killing the server ends the read loop.
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, watchdog) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::spawn(move || {
        if watchdog.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    });
    let mut addr = None;
    for line in reader.lines().map_while(Result::ok) {
        if let Some(rest) = line.split("addr=").nth(1) {
            addr = Some(rest.split_whitespace().next().unwrap().to_owned());
            break;
        }
    }
    let _ = done.send(());
    let _ = child.kill();
    let _ = child.wait();
    addr.expect("the server logged its address")
}

#[test]
fn flags_override_environment_which_overrides_the_config_file() {
    let d = dirs();
    let (file, env, flag) = (free_port(), free_port(), free_port());
    std::fs::write(
        d.data.join("ccweb.toml"),
        format!("listen = \"127.0.0.1:{file}\"\n"),
    )
    .unwrap();
    assert_eq!(
        listening_addr(&d, &["serve"], &[]),
        format!("127.0.0.1:{file}")
    );
    let env_value = format!("127.0.0.1:{env}");
    let with_env = [("CCWEB_LISTEN", env_value.as_str())];
    assert_eq!(listening_addr(&d, &["serve"], &with_env), env_value);
    let flag_value = format!("127.0.0.1:{flag}");
    assert_eq!(
        listening_addr(&d, &["serve", "--listen", &flag_value], &with_env),
        flag_value
    );
}

#[test]
fn list_values_come_from_the_environment_comma_separated() {
    let d = dirs();
    let other = tempfile::tempdir().unwrap();
    let roots = format!("{},{}", d.root.display(), other.path().display());
    let addr = listening_addr(
        &d,
        &["serve", "--listen", "127.0.0.1:0"],
        &[("CCWEB_ALLOWED_ROOTS", &roots)],
    );
    assert!(addr.starts_with("127.0.0.1:"));
}

#[test]
fn invalid_configuration_exits_2_naming_the_key() {
    let d = dirs();
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case<'_>> = vec![
        (
            vec!["serve"],
            vec![("CCWEB_MAX_SESSIONS", "many")],
            "",
            "MAX_SESSIONS",
        ),
        (
            vec!["serve"],
            vec![("CCWEB_ALLOWED_ROOTS", "/no/such/dir")],
            "",
            "allowed_roots",
        ),
        (vec!["serve"], vec![("CCWEB_AUTH", "none")], "", "AUTH"),
        (vec!["serve"], vec![], "max_sessions = 0\n", "max_sessions"),
        (vec!["serve"], vec![], "bogus_key = 1\n", "bogus_key"),
        (
            vec!["serve"],
            vec![],
            "idle_timeout_secs = -1\n",
            "idle_timeout_secs",
        ),
        (
            vec!["serve"],
            vec![],
            "public_url = \"ftp://x\"\n",
            "public_url",
        ),
        (vec!["serve"], vec![], "listen = \"nowhere\"\n", "listen"),
        (
            vec!["serve"],
            vec![],
            "listen = \"0.0.0.0:7878\"\n",
            "public_url",
        ),
        (
            vec!["serve", "--listen", "0.0.0.0:0"],
            vec![],
            "",
            "allow_insecure_listen",
        ),
        (vec!["serve"], vec![], "this is not toml", "ccweb.toml"),
        (vec!["serve", "--auth", "none"], vec![], "", "--auth"),
        (
            vec!["--config", "/no/such/file.toml", "serve"],
            vec![],
            "",
            "/no/such/file.toml",
        ),
        (vec!["frobnicate"], vec![], "", "frobnicate"),
        (vec!["user", "add", "Bad Name"], vec![], "", "name"),
        (
            vec!["token", "create", "--user", "admin", "--expires", "soon"],
            vec![],
            "",
            "duration",
        ),
    ];
    for (args, env, toml, needle) in cases {
        std::fs::write(d.data.join("ccweb.toml"), toml).unwrap();
        let out = run(&d, &args, &env, "");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?} {env:?} {toml:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains(needle),
            "{args:?}: message names {needle}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn users_can_be_added_listed_and_disabled_and_tokens_printed_once() {
    let d = dirs();
    let out = run(
        &d,
        &["user", "add", "alice", "--admin", "--password-stdin"],
        &[],
        "correct horse battery\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&d, &["user", "add", "alice"], &[], "");
    assert_eq!(out.status.code(), Some(1), "duplicate user");
    assert!(stderr(&out).contains("alice"));
    let out = run(
        &d,
        &["user", "add", "bob", "--password-stdin"],
        &[],
        "short\n",
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a too-short password is bad usage: {}",
        stderr(&out)
    );
    let list = String::from_utf8(run(&d, &["user", "list"], &[], "").stdout).unwrap();
    assert!(
        list.lines()
            .any(|l| l.starts_with("alice") && l.contains("true")),
        "{list}"
    );
    let token = run(
        &d,
        &["token", "create", "--user", "alice", "--expires", "30d"],
        &[],
        "",
    );
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap();
    assert!(token.trim().starts_with("ccweb_"), "{token}");
    let out = run(&d, &["token", "create", "--user", "nobody"], &[], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nobody"));
    assert!(run(&d, &["user", "disable", "alice"], &[], "")
        .status
        .success());
    let list = String::from_utf8(run(&d, &["user", "list"], &[], "").stdout).unwrap();
    assert!(
        list.lines()
            .any(|l| l.starts_with("alice") && l.split_whitespace().nth(2) == Some("true")),
        "{list}"
    );
    assert_eq!(
        run(&d, &["user", "disable", "nobody"], &[], "")
            .status
            .code(),
        Some(1)
    );
    // The database never holds the token itself.
    let db = std::fs::read(d.data.join("ccweb.db")).unwrap();
    let secret = token.trim().as_bytes();
    assert!(!db.windows(secret.len()).any(|w| w == secret));
}

#[test]
fn a_non_loopback_listener_starts_only_when_the_operator_says_so() {
    let d = dirs();
    std::fs::write(d.data.join("ccweb.toml"), "allow_insecure_listen = true\n").unwrap();
    let addr = listening_addr(&d, &["serve", "--listen", "0.0.0.0:0"], &[]);
    assert!(addr.starts_with("0.0.0.0:"), "{addr}");
    std::fs::write(
        d.data.join("ccweb.toml"),
        "public_url = \"https://ccweb.example.com\"\n",
    )
    .unwrap();
    let addr = listening_addr(&d, &["serve", "--listen", "0.0.0.0:0"], &[]);
    assert!(
        addr.starts_with("0.0.0.0:"),
        "behind https it starts: {addr}"
    );
}
