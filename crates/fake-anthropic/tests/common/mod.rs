//! Shared set-up for tests that run the real Claude Code CLI against the fake.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use fake_anthropic::{require_claude_bin, ClaudeEnv, FakeAnthropic};
use tempfile::TempDir;

/// Upper bound for one CLI process in print mode (it normally takes under a second; generous for loaded CI machines).
pub(crate) const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// A fake API, a private HOME and a trusted working directory for one CLI run.
pub(crate) struct CliSetup {
    /// The fake the CLI talks to.
    pub(crate) fake: FakeAnthropic,
    /// The CLI's environment.
    pub(crate) env: ClaudeEnv,
    /// The CLI binary.
    pub(crate) bin: PathBuf,
    /// The trusted working directory (the CLI's cwd).
    pub(crate) work: TempDir,
    /// The private HOME; kept alive for the test's duration.
    pub(crate) home: TempDir,
}

impl CliSetup {
    /// Starts a fake and prepares a HOME, or `None` when CLI tests are skipped.
    pub(crate) async fn new() -> Option<CliSetup> {
        let bin = require_claude_bin()?;
        let fake = FakeAnthropic::start().await;
        let home = tempfile::tempdir().expect("temp HOME");
        let work = tempfile::tempdir().expect("temp work dir");
        let env = ClaudeEnv::prepare(home.path(), &fake.base_url(), &[work.path()])
            .expect("prepare HOME");
        Some(CliSetup {
            fake,
            env,
            bin,
            work,
            home,
        })
    }

    /// `claude ARGS` with cwd, env and a killed-on-drop child.
    pub(crate) fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = std::process::Command::new(&self.bin);
        command.args(args).current_dir(self.work.path());
        self.env.apply(&mut command);
        let mut command = tokio::process::Command::from(command);
        command.kill_on_drop(true);
        command
    }

    /// Runs `claude ARGS` with stdin closed, bounded by [`CLI_TIMEOUT`].
    pub(crate) async fn run(&self, args: &[&str]) -> Output {
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn claude");
        tokio::time::timeout(CLI_TIMEOUT, child.wait_with_output())
            .await
            .expect("claude did not finish in time")
            .expect("wait for claude")
    }
}

/// Parses the single JSON object `--output-format json` prints.
pub(crate) fn parse_result(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|err| {
        panic!(
            "stdout is not one JSON object ({err}); status {:?}\nstdout: {stdout}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
