//! `isolation = "unix"`: a prompt-injected agent of user A (the real CLI,
//! the fake API scripting its `Bash` tool calls) tries what issue 14 found
//! to work when every session ran as ccweb's own account, and fails: each
//! user's sessions run as their own Unix account, and the server, not root,
//! keeps its data to itself. Each attack has a control that shows the
//! agent really ran.
//!
//! Tests run as root here: they create Unix accounts named `ccwt<pid>…`
//! and remove them (and their homes) at the end.
#![allow(clippy::unwrap_used)]

mod common;

use common::chat::{kind, Chat};
use common::{Options, TermClient, TestServer};
use fake_anthropic::{FakeAnthropic, Reply};
use serde_json::{json, Value};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Test-unique prefix of the Unix accounts one test creates.
fn unique_tag() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "ccwt{}x{}",
        std::process::id() % 100_000,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Removes the test's accounts (with their homes) and roots at the end,
/// whatever happened.
struct Accounts {
    names: Vec<String>,
    dirs: Vec<PathBuf>,
}

impl Drop for Accounts {
    fn drop(&mut self) {
        for name in &self.names {
            // Any process left of the account first, or userdel refuses.
            let _ = std::process::Command::new("pkill")
                .args(["-KILL", "-u", name])
                .output();
            let _ = std::process::Command::new("userdel")
                .args(["--remove", name])
                .output();
        }
        for path in &self.dirs {
            if std::fs::remove_dir_all(path).is_err() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A unix-mode server with the real CLI, users `a` and `b` (not admins),
/// each with their own root under `roots/{user}`.
struct Setup {
    server: TestServer,
    fake: FakeAnthropic,
    tag: String,
    roots: PathBuf,
    tokens: [String; 2],
    _home: tempfile::TempDir,
    accounts: Accounts,
}

impl Setup {
    fn account(&self, user: &str) -> String {
        format!("{}-{user}", self.tag)
    }
    fn root(&self, user: &str) -> PathBuf {
        self.roots.join(user)
    }
}

/// `shell`: sessions run `sh -c SHELL` instead of the real CLI.
async fn setup(extra_toml: &str, shell: Option<&str>) -> Option<Setup> {
    let claude = match shell {
        Some(_) => PathBuf::from("/bin/sh"),
        None => fake_anthropic::require_claude_bin()?,
    };
    if !nix::unistd::geteuid().is_root() {
        fake_anthropic::skip_or_fail("isolation tests need root (they create Unix accounts)");
        return None;
    }
    let tag = unique_tag();
    let roots = PathBuf::from(format!("/tmp/{tag}-roots"));
    let second = PathBuf::from(format!("/tmp/{tag}-second"));
    std::fs::create_dir_all(&roots).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let accounts = Accounts {
        names: vec![format!("{tag}-a"), format!("{tag}-b"), format!("{tag}-srv")],
        dirs: vec![roots.clone(), second.clone()],
    };
    let fake = FakeAnthropic::start().await;
    let home = tempfile::tempdir().unwrap();
    let env = fake_anthropic::ClaudeEnv::prepare(home.path(), &fake.base_url(), &[]).unwrap();
    let toml = format!(
        "isolation = \"unix\"\ncreate_unix_users = true\nunix_user = \"{tag}-{{user}}\"\n\
         server_user = \"{tag}-srv\"\nuser_roots = [\"{}/{{user}}\", \"{}/{{user}}\"]\n{extra_toml}",
        roots.display(),
        second.display()
    );
    let options = Options {
        extra_toml: toml,
        env: env.envs(),
        claude_bin: claude,
        claude_args: shell.map_or_else(Vec::new, |script| {
            vec!["-c".into(), script.into(), "sh".into()]
        }),
    };
    let server = TestServer::start(options).await;
    let tokens = [
        server.add_user("a", "password-of-a"),
        server.add_user("b", "password-of-b"),
    ];
    Some(Setup {
        server,
        fake,
        tag,
        roots,
        tokens,
        _home: home,
        accounts,
    })
}

/// Starts a chat session of the user with `token` in their root.
async fn chat_as(s: &Setup, token: &str, root: &Path) -> (String, Chat) {
    let (status, body) = s
        .server
        .create_session_as(token, json!({"mode": "chat", "working_dir": root}))
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let mut chat = Chat::connect_as(&s.server, token, &id, "").await;
    chat.wait_event(|e| e["kind"] == "state" && e["state"] == "idle")
        .await;
    (id, chat)
}

/// Has the agent run `command` with the Bash tool (the user allows it) and
/// returns what the tool printed.
async fn bash(chat: &mut Chat, fake: &FakeAnthropic, command: &str) -> String {
    fake.push(Reply::tool_use("Bash", json!({"command": command})));
    fake.push(Reply::text("Ran it."));
    let mark = chat.events.len();
    chat.send(json!({"type": "user_message", "text": "Please run the command"}))
        .await;
    let req = chat.wait_event_from(mark, kind("permission_request")).await;
    chat.send(json!({"type": "permission_response", "request_id": req["request_id"], "behavior": "allow"}))
        .await;
    let result = chat.wait_event_from(mark, kind("tool_result")).await;
    chat.wait_event_from(mark, kind("result")).await;
    content_text(&result["content"])
}

/// The text of a tool result's content (a string or text blocks).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

/// The uid and effective capabilities of process `pid`.
fn uid_and_caps(pid: u32) -> (u32, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    (field("Uid:").parse().unwrap(), field("CapEff:"))
}

/// The processes (pid, uid) whose command line mentions `needle`.
fn processes_named(needle: &str) -> Vec<(u32, u32)> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
        })
        .filter_map(|pid| {
            let meta = std::fs::metadata(format!("/proc/{pid}")).ok()?;
            Some((pid, meta.uid()))
        })
        .collect()
}

/// The processes running as `uid`.
fn processes_of(uid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == uid))
        .collect()
}

/// Waits (bounded) until `done` holds.
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn uid_of(account: &str) -> u32 {
    nix::unistd::User::from_name(account)
        .unwrap()
        .unwrap_or_else(|| panic!("no account {account}"))
        .uid
        .as_raw()
}

/// What A's agent tries against B's session and the server; each attempt
/// prints `LEAK-…` only if it worked.
fn attacks(s: &Setup, b_home: &Path, b_pid: u32) -> String {
    let data = std::fs::canonicalize(&s.server.data_dir).unwrap();
    let server = s.server.pid();
    format!(
        "cat {b_root}/secret.txt && echo LEAK-B-ROOT; \
         cat {b_home}/.claude/projects/*/*.jsonl && echo LEAK-B-CONVERSATION; \
         cat {b_home}/.claude/settings.json && echo LEAK-B-SETTINGS; \
         echo '{{\"hooks\":{{}}}}' > {b_home}/.claude/settings.json && echo LEAK-B-HOOK-WRITTEN; \
         head -c 16 {data}/ccweb.db && echo LEAK-DATABASE; \
         cat {data}/ccweb.toml && echo LEAK-CONFIG; \
         ls {data} && echo LEAK-DATA-DIR; \
         cat /proc/{server}/environ && echo LEAK-SERVER-ENV; \
         (exec 3</proc/{server}/fd/2) && echo LEAK-SERVER-STDERR; \
         kill -0 {b_pid} && echo LEAK-SIGNAL-B; \
         kill -0 {server} && echo LEAK-SIGNAL-SERVER; \
         echo control > {a_root}/control.txt && echo a-control-ok",
        b_root = s.root("b").display(),
        b_home = b_home.display(),
        data = data.display(),
        a_root = s.root("a").display(),
    )
}

#[tokio::test]
async fn each_users_agent_runs_as_their_own_account_and_cannot_reach_another_user_or_the_server() {
    let Some(s) = setup("", None).await else {
        return;
    };
    let (a, b) = (s.account("a"), s.account("b"));

    // B works first: a secret in B's root, B's own Claude settings, and a
    // conversation file in B's Claude home (this very turn).
    let (_b_id, mut b_chat) = chat_as(&s, &s.tokens[1], &s.root("b")).await;
    let out = bash(
        &mut b_chat,
        &s.fake,
        "id -u; echo \"home=$HOME\"; stat -c '%a %U' \"$HOME\"; echo secret-of-b > secret.txt; \
         echo '{}' > ~/.claude/settings.json && echo b-control-ok",
    )
    .await;
    let uid_b = uid_of(&b);
    assert!(out.contains("b-control-ok"), "B's agent ran: {out}");
    assert!(out.contains(&uid_b.to_string()), "B's uid: {out}");
    let b_home = PathBuf::from(format!("/home/{b}"));
    assert!(out.contains(&format!("home={}", b_home.display())), "{out}");
    assert!(
        out.contains(&format!("700 {b}")),
        "B's home is B's, 0700: {out}"
    );
    let b_cli: Vec<(u32, u32)> = processes_named("stream-json")
        .into_iter()
        .filter(|(_, uid)| *uid == uid_b)
        .collect();
    assert_eq!(b_cli.len(), 1, "B's CLI runs as B: {b_cli:?}");
    let b_pid = b_cli[0].0;

    // A's agent turns attacker.
    let (_a_id, mut a_chat) = chat_as(&s, &s.tokens[0], &s.root("a")).await;
    let out = bash(
        &mut a_chat,
        &s.fake,
        &format!(
            "id -u; echo \"home=$HOME\"; {}",
            attacks(&s, &b_home, b_pid)
        ),
    )
    .await;
    let uid_a = uid_of(&a);
    assert!(out.contains("a-control-ok"), "A's agent ran: {out}");
    assert!(out.contains(&uid_a.to_string()), "A's uid: {out}");
    assert!(out.contains(&format!("home=/home/{a}")), "{out}");
    assert!(!out.contains("LEAK-"), "A's agent got through: {out}");
    assert!(!out.contains("secret-of-b"), "{out}");
    let control = std::fs::metadata(s.root("a").join("control.txt")).unwrap();
    assert_eq!(control.uid(), uid_a, "A's file is A's");
    assert_eq!(
        std::fs::read_to_string(b_home.join(".claude/settings.json")).unwrap(),
        "{}\n",
        "B's settings are untouched"
    );

    // Every process of every session has its user's uid; homes are 0700.
    // (This server's: other tests of this file may run meanwhile.)
    let ours = s.server.children();
    let clis = processes_named("stream-json");
    let clis: Vec<_> = clis.iter().filter(|(pid, _)| ours.contains(pid)).collect();
    assert_eq!(
        clis.len(),
        2,
        "A's and B's CLI run under the server: {clis:?}"
    );
    for &&(pid, uid) in &clis {
        assert!(
            uid == uid_a || uid == uid_b,
            "a CLI (pid {pid}) runs as uid {uid}"
        );
    }
    for account in [&a, &b] {
        let home = std::fs::metadata(format!("/home/{account}")).unwrap();
        assert_eq!(home.mode() & 0o777, 0o700, "{account}'s home");
        assert_eq!(home.uid(), uid_of(account));
    }
    // The server is neither root nor privileged.
    let (uid, caps) = uid_and_caps(s.server.pid());
    assert_eq!(uid, uid_of(&format!("{}-srv", s.tag)), "the server's uid");
    assert_eq!(caps, "0000000000000000", "the server has no capabilities");
}

#[tokio::test]
async fn terminal_sessions_run_as_their_user_and_end_through_the_launcher() {
    // A daemon that left the process group (setsid) too: stopping the
    // session must reach it, although the server may not signal it.
    let script = "id -u > who.txt; echo \"$HOME $USER\" >> who.txt; setsid sleep 600 & sleep 600";
    let Some(s) = setup("", Some(script)).await else {
        return;
    };
    let mut ids = Vec::new();
    for (user, token) in [("a", &s.tokens[0]), ("b", &s.tokens[1])] {
        let (status, body) = s
            .server
            .create_session_as(
                token,
                json!({"mode": "terminal", "working_dir": s.root(user)}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_owned());
        let who = s.root(user).join("who.txt");
        wait_until("the shell wrote who.txt", || {
            std::fs::read_to_string(&who).is_ok_and(|t| t.lines().count() == 2)
        })
        .await;
        let account = s.account(user);
        let uid = uid_of(&account);
        assert_eq!(
            std::fs::read_to_string(&who).unwrap(),
            format!("{uid}\n/home/{account} {account}\n")
        );
        wait_until("both sleeps run", || processes_of(uid).len() >= 3).await;
    }
    // Stopped by its user: every process of A's session goes.
    let uid_a = uid_of(&s.account("a"));
    let (status, body) = common::call(s.server.req_as(
        &s.tokens[0],
        reqwest::Method::DELETE,
        &format!("/api/claude/sessions/{}", ids[0]),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    wait_until("A's processes are gone", || processes_of(uid_a).is_empty()).await;
    // The server's shutdown ends B's.
    let uid_b = uid_of(&s.account("b"));
    assert!(!processes_of(uid_b).is_empty());
    let mut s = s;
    s.server.terminate(std::time::Duration::from_secs(20));
    wait_until("B's processes are gone", || processes_of(uid_b).is_empty()).await;
}

/// Whether bubblewrap can build a sandbox here as an unprivileged user.
fn bwrap_works() -> bool {
    let ok = std::process::Command::new("/usr/bin/bwrap")
        .args(["--ro-bind", "/", "/", "--unshare-pid", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        fake_anthropic::skip_or_fail("/usr/bin/bwrap cannot build a sandbox here");
    }
    ok
}

#[tokio::test]
async fn under_bubblewrap_too_an_agent_sees_only_the_system_an_allow_listed_etc_and_its_own_files()
{
    if !bwrap_works() {
        return;
    }
    let Some(mut s) = setup("sandbox = \"bubblewrap\"", None).await else {
        return;
    };
    // What an admin keeps in /etc next to the system's (ccweb.toml, keys).
    let planted = PathBuf::from(format!("/etc/{}-ccweb.toml", s.tag));
    std::fs::write(&planted, "secret-config-line").unwrap();
    s.accounts.dirs.push(planted.clone());

    let (_b_id, mut b_chat) = chat_as(&s, &s.tokens[1], &s.root("b")).await;
    let out = bash(
        &mut b_chat,
        &s.fake,
        "echo secret-of-b > secret.txt && echo b-control-ok",
    )
    .await;
    assert!(out.contains("b-control-ok"), "B's agent ran: {out}");

    let (_a_id, mut a_chat) = chat_as(&s, &s.tokens[0], &s.root("a")).await;
    let data = std::fs::canonicalize(&s.server.data_dir).unwrap();
    let command = format!(
        "id -u; cat {b_root}/secret.txt && echo LEAK-B-ROOT; \
         head -c 16 {data}/ccweb.db && echo LEAK-DATABASE; \
         cat {data}/ccweb.toml && echo LEAK-CONFIG; \
         cat {planted} && echo LEAK-ETC; ls /etc | grep -q ccwt && echo LEAK-ETC-LISTED; \
         grep -q '^root:' /etc/passwd && echo etc-passwd-ok; \
         echo mine > /tmp/{tag}-second/a/second.txt && echo second-root-ok; \
         echo control > control.txt && echo a-control-ok",
        tag = s.tag,
        b_root = s.root("b").display(),
        data = data.display(),
        planted = planted.display(),
    );
    let out = bash(&mut a_chat, &s.fake, &command).await;
    assert!(out.contains("a-control-ok"), "A's agent ran: {out}");
    assert!(
        out.contains("etc-passwd-ok"),
        "the allow-listed /etc is there: {out}"
    );
    assert!(
        out.contains("second-root-ok"),
        "A's other root is there too: {out}"
    );
    assert!(out.contains(&uid_of(&s.account("a")).to_string()), "{out}");
    assert!(!out.contains("LEAK-"), "A's agent got through: {out}");
    assert!(!out.contains("secret-"), "{out}");
    assert!(
        processes_named("bwrap")
            .iter()
            .any(|(_, uid)| *uid == uid_of(&s.account("a"))),
        "A's CLI runs under bwrap, as A"
    );
}

#[tokio::test]
async fn started_as_a_non_root_user_the_server_starts_the_launcher_through_sudo() {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    if !nix::unistd::geteuid().is_root() || !Path::new("/usr/bin/sudo").exists() {
        fake_anthropic::skip_or_fail("needs root and sudo (apt-get install sudo)");
        return;
    }
    let tag = unique_tag();
    let server_account = format!("{tag}-srv");
    let dir = PathBuf::from(format!("/tmp/{tag}-sudo"));
    let sudoers = PathBuf::from(format!("/etc/sudoers.d/{tag}"));
    let _accounts = Accounts {
        names: vec![format!("{tag}-a"), server_account.clone()],
        dirs: vec![dir.clone(), sudoers.clone()],
    };
    let made = std::process::Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            &server_account,
        ])
        .status()
        .unwrap();
    assert!(made.success());
    let server_user = nix::unistd::User::from_name(&server_account)
        .unwrap()
        .unwrap();
    let (data, roots, config) = (dir.join("data"), dir.join("roots"), dir.join("ccweb.toml"));
    std::fs::create_dir_all(&roots).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    std::os::unix::fs::chown(
        &data,
        Some(server_user.uid.as_raw()),
        Some(server_user.gid.as_raw()),
    )
    .unwrap();
    // Run by the server's own (non-root) account: a copy it may run when
    // the checkout is private (e.g. under /root).
    let ccweb = fake_anthropic::for_every_account(&common::ccweb_bin()).unwrap();
    let toml_list = |items: &[&str]| {
        items
            .iter()
            .map(|i| serde_json::to_string(i).unwrap())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let launcher = [
        "sudo",
        "-n",
        ccweb.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "launcher",
    ];
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nlog_format = \"json\"\nallowed_roots = [{roots}]\n\
             claude_bin = \"/bin/sh\"\nclaude_args = [\"-c\", \"id -u > who.txt; exec sleep 600\", \"sh\"]\n\
             isolation = \"unix\"\ncreate_unix_users = true\nunix_user = \"{tag}-{{user}}\"\n\
             user_roots = [{user_roots}]\nlauncher_command = [{launcher}]\n",
            roots = toml_list(&[roots.to_str().unwrap()]),
            user_roots = toml_list(&[&format!("{}/{{user}}", roots.display())]),
            launcher = toml_list(&launcher),
        ),
    )
    .unwrap();
    // Exactly this command line, as deploy.md says.
    std::fs::write(
        &sudoers,
        format!(
            "{server_account} ALL=(root) NOPASSWD: {}\n",
            launcher[2..].join(" ")
        ),
    )
    .unwrap();
    let as_server = |args: &[&str]| {
        let mut cmd = std::process::Command::new(&ccweb);
        cmd.arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .current_dir(&dir)
            .uid(server_user.uid.as_raw())
            .gid(server_user.gid.as_raw());
        cmd
    };
    let mut server = as_server(&["serve"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::sync_channel::<String>(1024);
    let stderr = server.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the server starts");
        let v: Value = serde_json::from_str(&line).unwrap_or_default();
        if v["fields"]["message"] == "listening" {
            break v["fields"]["addr"].as_str().unwrap().to_owned();
        }
    };
    // The reader thread keeps draining the log (its sends fail from now on).
    drop(rx);
    let cli = |args: &[&str], input: Option<&str>| {
        let out = common::run_with_input(&mut as_server(args), input.unwrap_or(""));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    cli(
        &["user", "add", "a", "--password-stdin"],
        Some("password-of-a\n"),
    );
    let token = cli(&["token", "create", "--user", "a"], None);
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/api/claude/sessions"))
        .bearer_auth(&token)
        .json(&json!({"mode": "terminal", "working_dir": roots.join("a")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let who = roots.join("a/who.txt");
    wait_until("the shell wrote who.txt", || {
        std::fs::read_to_string(&who).is_ok_and(|t| t.ends_with('\n'))
    })
    .await;
    let uid_a = uid_of(&format!("{tag}-a"));
    assert_eq!(std::fs::read_to_string(&who).unwrap(), format!("{uid_a}\n"));
    let (uid, caps) = uid_and_caps(server.id());
    assert_eq!(
        (uid, caps.as_str()),
        (server_user.uid.as_raw(), "0000000000000000")
    );
    let launcher_uids: Vec<u32> = processes_named("launcher")
        .into_iter()
        .filter(|(pid, _)| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|e| e == ccweb))
        .map(|(_, uid)| uid)
        .collect();
    // (Other tests of this file may run their launchers meanwhile.)
    assert!(
        !launcher_uids.is_empty() && launcher_uids.iter().all(|uid| *uid == 0),
        "the launcher runs as root: {launcher_uids:?}"
    );
    // The server's end closes: the launcher ends the session and exits.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(server.wait().unwrap().success());
    wait_until("A's processes are gone", || processes_of(uid_a).is_empty()).await;
}

#[tokio::test]
async fn a_killed_server_leaves_no_session_running() {
    let Some(mut s) = setup(
        "",
        Some("id -u > who.txt; setsid sleep 600 & exec sleep 600"),
    )
    .await
    else {
        return;
    };
    let (status, body) = s
        .server
        .create_session_as(
            &s.tokens[0],
            json!({"mode": "terminal", "working_dir": s.root("a")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let who = s.root("a").join("who.txt");
    wait_until("the shell wrote who.txt", || who.exists()).await;
    let uid_a = uid_of(&s.account("a"));
    wait_until("both sleeps run", || processes_of(uid_a).len() >= 2).await;
    // SIGKILL: the server cannot clean up; the launcher sees its end of
    // the socket close and ends every session.
    let mut child = s.server.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("A's processes are gone", || processes_of(uid_a).is_empty()).await;
}

#[tokio::test]
async fn without_create_unix_users_a_missing_account_is_a_clear_error_and_nothing_is_made() {
    if !nix::unistd::geteuid().is_root() {
        fake_anthropic::skip_or_fail("isolation tests need root (they create Unix accounts)");
        return;
    }
    let tag = unique_tag();
    let server_account = format!("{tag}-srv");
    let roots = PathBuf::from(format!("/tmp/{tag}-roots"));
    std::fs::create_dir_all(&roots).unwrap();
    let _accounts = Accounts {
        names: vec![server_account.clone(), format!("{tag}-a")],
        dirs: vec![roots.clone()],
    };
    // The server's account exists (an admin made it); the users' do not.
    let made = std::process::Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            &server_account,
        ])
        .status()
        .unwrap();
    assert!(made.success());
    let toml = format!(
        "isolation = \"unix\"\nunix_user = \"{tag}-{{user}}\"\nserver_user = \"{server_account}\"\n\
         user_roots = [\"{}/{{user}}\"]",
        roots.display()
    );
    let server = TestServer::start(Options::shell("exit 0").toml(&toml)).await;
    let token = server.add_user("a", "password-of-a");
    let (status, body) = server
        .create_session_as(
            &token,
            json!({"mode": "terminal", "working_dir": roots.join("a")}),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unix_account_unavailable", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("ask an admin to create Unix account {tag}-a"))
            && message.contains("create_unix_users"),
        "{message}"
    );
    assert!(nix::unistd::User::from_name(&format!("{tag}-a"))
        .unwrap()
        .is_none());
    assert!(
        !roots.join("a").exists(),
        "no root made for a user without an account"
    );
}

#[tokio::test]
async fn a_chat_session_resumes_its_conversation_from_its_users_own_claude_home() {
    let Some(s) = setup("", None).await else {
        return;
    };
    let (id, mut chat) = chat_as(&s, &s.tokens[0], &s.root("a")).await;
    s.fake.push(Reply::text("I will remember it."));
    let result = chat.turn("Remember the word pineapple").await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    drop(chat);
    let path = format!("/api/claude/sessions/{id}");
    let (_, session) =
        common::call(s.server.req_as(&s.tokens[0], reqwest::Method::GET, &path)).await;
    let sid = session["claude_session_id"].as_str().unwrap().to_owned();
    // The conversation is in A's own home (which the server cannot read).
    let home = PathBuf::from(format!("/home/{}", s.account("a")));
    wait_until("the CLI saved the conversation", || {
        common::claude_saved(&home, &sid, "Remember the word pineapple")
    })
    .await;
    let (status, body) = common::call(s.server.req_as(
        &s.tokens[0],
        reqwest::Method::DELETE,
        &path,
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = common::call(s.server.req_as(
        &s.tokens[0],
        reqwest::Method::POST,
        &format!("{path}/resume"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let mut chat = Chat::connect_as(&s.server, &s.tokens[0], &id, "").await;
    s.fake.push(Reply::text("The word was pineapple."));
    let mark = chat.events.len();
    chat.wait_event_from(mark, |e| e["kind"] == "state" && e["state"] == "idle")
        .await;
    let mark = chat.prompt("Which word did I ask you to remember?").await;
    let result = chat.wait_event_from(mark, kind("result")).await;
    assert_eq!(result["is_error"], false, "{}", chat.dump());
    let last_request = s.fake.requests().last().unwrap().to_string();
    assert!(
        last_request.contains("Remember the word pineapple"),
        "the CLI resumed the conversation: {last_request}"
    );
}

#[tokio::test]
async fn a_session_can_start_in_a_directory_inside_its_users_own_root() {
    // The user's root is 0700 and theirs: the server cannot see into it,
    // the launcher resolves the directory as the user.
    let script = "mkdir -p deeper/project; id -u > who.txt; exec sleep 600";
    let Some(s) = setup("", Some(script)).await else {
        return;
    };
    let root = s.root("a");
    let start = |dir: PathBuf| {
        let server = &s.server;
        let token = &s.tokens[0];
        async move {
            server
                .create_session_as(token, json!({"mode": "terminal", "working_dir": dir}))
                .await
        }
    };
    let (status, body) = start(root.clone()).await;
    assert_eq!(status, 201, "{body}");
    wait_until("the first shell ran", || root.join("who.txt").exists()).await;
    let deeper = root.join("deeper/project");
    let (status, body) = start(root.join("deeper/../deeper/project")).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["working_dir"], deeper.to_str().unwrap(), "{body}");
    wait_until("the shell ran in the directory", || {
        deeper.join("who.txt").exists()
    })
    .await;
    // B's root (made by B's first session) is not A's to start in.
    let (status, body) = s
        .server
        .create_session_as(
            &s.tokens[1],
            json!({"mode": "terminal", "working_dir": s.root("b")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = start(s.root("b")).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "path_not_allowed", "{body}");
}

#[tokio::test]
async fn an_idle_unix_mode_session_is_culled_with_every_process_of_it() {
    let script = "id -u > who.txt; setsid sleep 600 & exec sleep 600";
    let Some(s) = setup("idle_timeout_secs = 1", Some(script)).await else {
        return;
    };
    let (status, body) = s
        .server
        .create_session_as(
            &s.tokens[0],
            json!({"mode": "terminal", "working_dir": s.root("a")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let who = s.root("a").join("who.txt");
    wait_until("the shell wrote who.txt", || who.exists()).await;
    let uid_a = uid_of(&s.account("a"));
    // No viewer, no output: the idle timeout stops it through the launcher.
    wait_until("A's processes are gone", || processes_of(uid_a).is_empty()).await;
}

/// A `GET` as the user with `token`.
async fn get_as(s: &Setup, token: &str, path: &str) -> (u16, Value) {
    common::call(s.server.req_as(token, reqwest::Method::GET, path)).await
}

#[tokio::test]
async fn a_users_conversations_and_directories_are_read_as_their_own_account_only() {
    // In place of the CLI: a shell that, once told, writes one conversation
    // record where the CLI would (`$2` is the session id after
    // `--session-id`), in its own 0700 home the server cannot read.
    let script = "mkdir -p sub; echo ready; read said; \
        d=\"$HOME/.claude/projects/$(printf %s \"$PWD\" | tr -c 'A-Za-z0-9' '-')\"; \
        mkdir -p \"$d\"; \
        printf '{\"type\":\"user\",\"cwd\":\"%s\",\"sessionId\":\"%s\",\"message\":{\"role\":\"user\",\"content\":\"%s\"}}\\n' \
          \"$PWD\" \"$2\" \"$said\" >> \"$d/$2.jsonl\"; exec sleep 600";
    let Some(s) = setup("", Some(script)).await else {
        return;
    };
    let (a, b) = (&s.tokens[0], &s.tokens[1]);
    let root = s.root("a");
    // Before B's account exists, nothing of B's can be listed: a clear
    // refusal, not a server error.
    for path in [
        format!("/api/fs/dirs?path={}", s.root("b").display()),
        format!("/api/claude/history?working_dir={}", s.root("b").display()),
    ] {
        let (status, body) = get_as(&s, b, &path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "invalid_working_dir", "{body}");
    }
    // B's account and roots exist (made by B's first session).
    let (status, body) = s
        .server
        .create_session_as(b, json!({"mode": "terminal", "working_dir": s.root("b")}))
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = s
        .server
        .create_session_as(a, json!({"mode": "terminal", "working_dir": root}))
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap().to_owned();
    let sid = body["claude_session_id"].as_str().unwrap().to_owned();
    let ws = s
        .server
        .ws_with(
            &format!("/api/claude/sessions/{id}/terminal"),
            &[("authorization", &format!("Bearer {a}"))],
        )
        .await
        .unwrap();
    let mut term = TermClient::connect(ws).await;
    term.wait_for(std::time::Duration::from_secs(30), |screen| {
        screen.contains("ready")
    })
    .await;
    term.send_bytes(b"words about kiwis\r").await;

    // The conversation file, followed through the launcher, is the
    // session's transcript.
    let events_path = format!("/api/claude/sessions/{id}/events");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (status, page) = get_as(&s, a, &events_path).await;
        assert_eq!(status, 200, "{page}");
        let said = page["events"].as_array().unwrap().iter().any(|e| {
            e["event"]["kind"] == "user_message" && e["event"]["text"] == "words about kiwis"
        });
        if said {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the conversation never became the transcript: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // History lists it for A, listed as A; B sees none of it.
    let history = |dir: &Path| format!("/api/claude/history?working_dir={}", dir.display());
    let (status, listed) = get_as(&s, a, &history(&root)).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["conversations"][0]["session_id"],
        sid.as_str(),
        "{listed}"
    );
    let (status, body) = get_as(&s, b, &history(&root)).await;
    assert_eq!(status, 403, "A's root is not B's: {body}");
    let (status, theirs) = get_as(&s, b, &history(&s.root("b"))).await;
    assert_eq!(status, 200, "{theirs}");
    assert_eq!(theirs["conversations"], json!([]), "{theirs}");

    // The picker lists inside A's own 0700 root, as A; not for B.
    let picker = |dir: &Path| format!("/api/fs/dirs?path={}", dir.display());
    let (status, dirs) = get_as(&s, a, &picker(&root)).await;
    assert_eq!(status, 200, "{dirs}");
    assert_eq!(dirs["dirs"][0]["name"], "sub", "{dirs}");
    assert_eq!(dirs["dirs"][0]["path"], root.join("sub").to_str().unwrap());
    let (status, body) = get_as(&s, b, &picker(&root)).await;
    assert_eq!(status, 403, "{body}");

    // Resuming it (a new session) imports it, read as A.
    let (status, body) = common::call(s.server.req_as(
        a,
        reqwest::Method::DELETE,
        &format!("/api/claude/sessions/{id}"),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    let resume = |sid: &str| json!({"mode": "terminal", "working_dir": root, "resume": sid});
    let (status, body) = s.server.create_session_as(a, resume(&sid)).await;
    assert_eq!(status, 201, "{body}");
    let (_, page) = get_as(
        &s,
        a,
        &format!(
            "/api/claude/sessions/{}/events",
            body["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        page["events"][0]["event"]["text"], "words about kiwis",
        "{page}"
    );

    // A FIFO and a symlink planted in A's Claude home (by A's agent) are
    // refused through the launcher too, without hanging anything.
    let home = PathBuf::from(format!("/home/{}", s.account("a")));
    let key: String = root
        .to_str()
        .unwrap()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let dir = home.join(".claude/projects").join(key);
    let uid = uid_of(&s.account("a"));
    let fifo = "33333333-3333-4333-8333-333333333333";
    let link = "44444444-4444-4444-8444-444444444444";
    nix::unistd::mkfifo(
        &dir.join(format!("{fifo}.jsonl")),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        dir.join(format!("{sid}.jsonl")),
        dir.join(format!("{link}.jsonl")),
    )
    .unwrap();
    for name in [fifo, link] {
        let path = dir.join(format!("{name}.jsonl"));
        std::os::unix::fs::lchown(&path, Some(uid), Some(uid)).unwrap();
        let (status, body) = s.server.create_session_as(a, resume(name)).await;
        assert_eq!(status, 404, "{name}: {body}");
    }
    let (status, listed) = get_as(&s, a, &history(&root)).await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<&str> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [sid.as_str()], "{listed}");
}
