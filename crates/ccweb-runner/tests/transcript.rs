//! The real Claude Code CLI writes transcripts; `ccweb_runner::transcript`
//! finds, lists, imports and follows them. Runs against `fake-anthropic`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ccweb_protocol::chat::ChatEvent;
use ccweb_runner::transcript::{
    follow, list_conversations, project_dir, read_transcript, transcript_path,
};
use ccweb_runner::user_files::UserFiles;
use fake_anthropic::{require_claude_bin, ClaudeEnv, FakeAnthropic, Reply};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Upper bound for one CLI run or one awaited event.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A fake API and a private HOME for the CLI.
struct Cli {
    fake: FakeAnthropic,
    env: ClaudeEnv,
    bin: PathBuf,
    home: tempfile::TempDir,
}

impl Cli {
    /// `None` when CLI tests are skipped (`CCWEB_SKIP_CLI_TESTS=1`); panics
    /// when the CLI is missing.
    async fn new(trusted: &[&Path]) -> Option<Cli> {
        let bin = require_claude_bin()?;
        let fake = FakeAnthropic::start().await;
        let home = tempfile::tempdir().expect("temp HOME");
        let env = ClaudeEnv::prepare(home.path(), &fake.base_url(), trusted).expect("prepare HOME");
        Some(Cli {
            fake,
            env,
            bin,
            home,
        })
    }

    /// What the CLI uses as its config dir: `$HOME/.claude`.
    fn claude_home(&self) -> PathBuf {
        self.home.path().join(".claude")
    }

    fn command(&self, cwd: &Path, args: &[&str]) -> tokio::process::Command {
        let mut command = std::process::Command::new(&self.bin);
        command.args(args).current_dir(cwd);
        self.env.apply(&mut command);
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);
        command
    }

    /// `claude -p --output-format json ARGS… PROMPT` in `cwd`; the session id.
    async fn print(&self, cwd: &Path, args: &[&str], prompt: &str) -> String {
        let mut all = vec!["-p", "--output-format", "json"];
        all.extend_from_slice(args);
        all.push(prompt);
        let output = tokio::time::timeout(
            TIMEOUT,
            self.command(cwd, &all)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output(),
        )
        .await
        .expect("claude finishes in time")
        .expect("run claude");
        let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
            panic!(
                "no JSON result ({err}): {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
        assert!(output.status.success(), "{result}");
        result["session_id"]
            .as_str()
            .expect("session_id")
            .to_owned()
    }
}

/// A new directory under `parent`, canonical (the CLI resolves symlinks).
fn make_dir(parent: &Path, name: &str) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).expect("create dir");
    dir.canonicalize().expect("canonicalize")
}

fn user_texts(events: &[ChatEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::UserMessage { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn assistant_texts(events: &[ChatEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::AssistantMessage { content, .. } => Some(content),
            _ => None,
        })
        .flatten()
        .filter_map(|block| block["text"].as_str())
        .collect()
}

#[tokio::test]
async fn print_mode_conversations_are_listed_and_imported() {
    let dirs = tempfile::tempdir().expect("temp dir");
    // Both map to the same project folder: `…-proj-x`.
    let work = make_dir(dirs.path(), "proj.x");
    let other = make_dir(dirs.path(), "proj-x");
    let Some(cli) = Cli::new(&[&work, &other]).await else {
        return;
    };
    assert_eq!(
        project_dir(&cli.claude_home(), &work),
        project_dir(&cli.claude_home(), &other)
    );

    cli.fake.push(Reply::text("First reply from the fake."));
    let sid = cli.print(&work, &[], "say hello there").await;
    cli.fake
        .push(Reply::tool_use("Bash", json!({"command": "echo hi"})));
    cli.fake.push(Reply::text("Done after the tool."));
    assert_eq!(
        cli.print(&work, &["--resume", &sid], "run echo please")
            .await,
        sid
    );
    cli.fake.push(Reply::text("Named reply."));
    let named = cli
        .print(&work, &["--name", "My Named One"], "named prompt")
        .await;
    cli.fake.push(Reply::text("Elsewhere."));
    let elsewhere = cli.print(&other, &[], "prompt in the other dir").await;

    let path = transcript_path(&cli.claude_home(), &work, &sid);
    assert!(path.is_file(), "the CLI wrote {}", path.display());

    let list = list_conversations(&cli.claude_home(), &work).expect("list");
    let ids: Vec<&str> = list.iter().map(|c| c.session_id.as_str()).collect();
    assert_eq!(
        ids,
        [named.as_str(), sid.as_str()],
        "newest first, the other dir's left out"
    );
    let first = &list[1];
    assert_eq!(first.title, "run echo please", "the last prompt");
    assert_eq!(first.first_prompt.as_deref(), Some("say hello there"));
    assert_eq!(first.cwd, work.to_str().expect("utf-8 path"));
    assert_eq!(first.entrypoint.as_deref(), Some("sdk-cli"));
    assert!(first.git_branch.is_some());
    assert!(first.created_at.is_some());
    assert_eq!(
        first.file_size,
        std::fs::metadata(&path).expect("stat").len()
    );
    assert_eq!(first.messages, 6, "2 prompts, 3 replies, 1 tool result");
    assert_eq!(list[0].title, "My Named One");
    assert_eq!(list[0].first_prompt.as_deref(), Some("named prompt"));

    let others = list_conversations(&cli.claude_home(), &other).expect("list other");
    assert_eq!(others.len(), 1);
    assert_eq!(others[0].session_id, elsewhere);
    assert_eq!(others[0].title, "prompt in the other dir");

    let transcript =
        read_transcript(&UserFiles::Direct, &cli.claude_home(), &path, u64::MAX).expect("read");
    assert_eq!(transcript.skipped_lines, 0);
    assert!(!transcript.torn_tail);
    assert_eq!(transcript.session_id.as_deref(), Some(sid.as_str()));
    let kinds: Vec<&str> = transcript.events.iter().map(ChatEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "user_message",
            "assistant_message",
            "user_message",
            "assistant_message",
            "tool_result",
            "assistant_message"
        ]
    );
    assert_eq!(
        user_texts(&transcript.events),
        ["say hello there", "run echo please"]
    );
    assert_eq!(
        assistant_texts(&transcript.events),
        ["First reply from the fake.", "Done after the tool."]
    );
    let ChatEvent::AssistantMessage {
        message_id,
        model,
        content,
        ..
    } = &transcript.events[3]
    else {
        panic!("{:?}", transcript.events[3]);
    };
    assert!(!message_id.is_empty());
    assert!(model.is_some());
    assert_eq!(content[0]["type"], "tool_use");
    assert_eq!(content[0]["name"], "Bash");
    let tool_use_id = content[0]["id"].as_str().expect("tool_use id");
    match &transcript.events[4] {
        ChatEvent::ToolResult {
            tool_use_id: answered,
            content,
            is_error,
            structured,
        } => {
            assert_eq!(answered, tool_use_id);
            assert_eq!(content, "hi");
            assert!(!is_error);
            assert_eq!(structured["stdout"], "hi");
        }
        other => panic!("expected the tool result, got {other:?}"),
    }
}

#[tokio::test]
async fn long_non_ascii_cwd_maps_to_the_folder_the_cli_writes() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let mut name = String::from("Ünïcode dir ✓ 🚀");
    while name.len() < 220 {
        name.push_str("/a-rather-long-segment.0123456789");
    }
    let work = make_dir(dirs.path(), &name);
    let Some(cli) = Cli::new(&[&work]).await else {
        return;
    };
    cli.fake.push(Reply::text("ok"));
    let sid = cli.print(&work, &[], "hello from deep down").await;
    let path = transcript_path(&cli.claude_home(), &work, &sid);
    let written: Vec<String> = std::fs::read_dir(cli.claude_home().join("projects"))
        .expect("projects")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        path.is_file(),
        "expected {}, the CLI wrote {written:?}",
        path.display()
    );
    let list = list_conversations(&cli.claude_home(), &work).expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].title, "hello from deep down");
}

#[tokio::test]
async fn follow_sends_events_while_the_cli_writes() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let work = make_dir(dirs.path(), "work");
    let Some(cli) = Cli::new(&[&work]).await else {
        return;
    };
    let sid = "3f0c9a57-8d7e-4c1b-9a4e-2b7d5e6f8a90";
    let path = transcript_path(&cli.claude_home(), &work, sid);
    assert!(!path.exists());
    let (tx, mut rx) = mpsc::channel(2);
    let cancel = CancellationToken::new();
    let base = path.parent().unwrap().to_path_buf();
    let task = tokio::spawn(follow(
        UserFiles::Direct,
        base,
        path.clone(),
        0,
        tx,
        cancel.clone(),
    ));

    cli.fake
        .push(Reply::tool_use("Bash", json!({"command": "echo hi"})));
    cli.fake.push(Reply::text("Done after the tool."));
    let mut child = cli
        .command(&work, &["-p", "--session-id", sid, "run echo please"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn claude");

    // Read while the CLI runs: the channel holds only 2 events.
    let mut events = Vec::new();
    tokio::time::timeout(TIMEOUT, async {
        while let Some(event) = rx.recv().await {
            let done = assistant_texts(std::slice::from_ref(&event)) == ["Done after the tool."];
            events.push(event);
            if done {
                break;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no final reply from follow; got {events:?}"));
    let status = tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("claude exits")
        .expect("wait");
    assert!(status.success());

    let kinds: Vec<&str> = events.iter().map(ChatEvent::kind).collect();
    assert_eq!(
        kinds,
        [
            "user_message",
            "assistant_message",
            "tool_result",
            "assistant_message"
        ]
    );
    assert_eq!(user_texts(&events), ["run echo please"]);
    assert!(matches!(&events[2], ChatEvent::ToolResult { content, .. } if content == "hi"));

    // Everything the CLI wrote has been read once a line appended after it
    // has come through (a barrier: after a fixed wait, a busy machine may
    // not have run the next poll yet).
    let barrier = json!({
        "type": "user",
        "uuid": "0b7c4f4e-5d0a-4c55-9f5e-8d1b2a3c4d5e",
        "message": {"role": "user", "content": "end-of-test barrier"},
    });
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open the transcript");
    std::io::Write::write_all(&mut file, format!("{barrier}\n").as_bytes())
        .expect("append the barrier");
    drop(file);
    let last = tokio::time::timeout(TIMEOUT, rx.recv())
        .await
        .expect("the barrier line is followed")
        .expect("follow runs");
    assert_eq!(
        user_texts(std::slice::from_ref(&last)),
        ["end-of-test barrier"]
    );
    cancel.cancel();
    let offset = tokio::time::timeout(TIMEOUT, task)
        .await
        .expect("follow stops")
        .expect("follow task");
    assert_eq!(offset, std::fs::metadata(&path).expect("stat").len());
    assert!(
        rx.recv().await.is_none(),
        "no more events, and the sender is gone"
    );
}

/// Sends stream-json prompts one at a time, each after the previous result.
#[tokio::test]
async fn compaction_subagents_and_api_errors_read_back() {
    let dirs = tempfile::tempdir().expect("temp dir");
    let work = make_dir(dirs.path(), "work");
    let Some(cli) = Cli::new(&[&work]).await else {
        return;
    };
    let mut child = cli
        .command(
            &work,
            &[
                "-p",
                "--input-format",
                "stream-json",
                "--output-format",
                "stream-json",
                "--verbose",
            ],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn claude");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let steps: Vec<(&str, Vec<Reply>)> = vec![
        ("first turn", vec![Reply::text("one")]),
        ("second turn", vec![Reply::text("two")]),
        (
            "/compact",
            vec![Reply::text("<summary>Summary of the talk.</summary>")],
        ),
        (
            "spawn an agent",
            vec![
                Reply::tool_use(
                    "Agent",
                    json!({"description": "sub task", "prompt": "do the sub task", "subagent_type": "general-purpose"}),
                ),
                Reply::text("sub agent answer"),
                Reply::text("main after agent"),
            ],
        ),
        ("fail please", vec![Reply::server_error()]),
    ];
    let mut sid = String::new();
    for (prompt, replies) in steps {
        for reply in replies {
            cli.fake.push(reply);
        }
        let line = json!({"type": "user", "message": {"role": "user", "content": prompt}});
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write prompt");
        tokio::time::timeout(TIMEOUT, async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                let message: Value = serde_json::from_str(&line).expect("JSON line");
                if message["type"] == "result" {
                    sid = message["session_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    break;
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no result for {prompt:?}"));
    }
    drop(stdin);
    tokio::time::timeout(TIMEOUT, child.wait())
        .await
        .expect("claude exits")
        .expect("wait");

    let path = transcript_path(&cli.claude_home(), &work, &sid);
    let transcript =
        read_transcript(&UserFiles::Direct, &cli.claude_home(), &path, u64::MAX).expect("read");
    assert_eq!(transcript.skipped_lines, 0);
    let events = &transcript.events;
    // The CLI may write the turns before `/compact` twice (same uuids); they
    // are read once.
    assert_eq!(
        user_texts(events),
        [
            "first turn",
            "second turn",
            "/compact",
            "spawn an agent",
            "fail please"
        ]
    );
    let subtypes: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            ChatEvent::System { subtype, .. } => Some(subtype.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(subtypes, ["compact_boundary", "compact_summary", "notice"]);
    // The subagent's own messages are in another file; its answer comes back
    // as the Agent tool's result.
    assert!(!assistant_texts(events).contains(&"sub agent answer"));
    let agent_result = events
        .iter()
        .find_map(|e| match e {
            ChatEvent::ToolResult { structured, .. } => Some(structured),
            _ => None,
        })
        .expect("the Agent tool result");
    assert_eq!(agent_result["status"], "completed");
    let agent_id = agent_result["agentId"].as_str().expect("agentId");
    let subagent = path
        .with_extension("")
        .join("subagents")
        .join(format!("agent-{agent_id}.jsonl"));
    let sub = read_transcript(&UserFiles::Direct, &cli.claude_home(), &subagent, u64::MAX)
        .expect("the subagent's transcript");
    assert!(sub.events.is_empty(), "sidechain records give no events");
    match events.last() {
        Some(ChatEvent::AssistantMessage { model, error, .. }) => {
            assert_eq!(model.as_deref(), Some("<synthetic>"));
            assert_eq!(error.as_deref(), Some("server_error"));
        }
        other => panic!("expected the API error message last, got {other:?}"),
    }
}
