//! Test support for running the real Claude Code CLI offline.
//!
//! - [`FakeAnthropic`]: a scripted fake of the Anthropic Messages API on
//!   `127.0.0.1:0`, for the CLI to reach through `ANTHROPIC_BASE_URL`.
//! - [`ClaudeEnv`]: a private `HOME` whose `~/.claude.json` lets the CLI (print mode
//!   and the TUI) start without onboarding, trust or API-key dialogs, plus the env
//!   vars that keep it off the network.
//! - [`claude_bin`] / [`require_claude_bin`]: the pinned CLI that
//!   `scripts/install-claude-cli.sh` installs.
//! - [`skip_or_fail`]: how a test whose tools are missing skips (loudly;
//!   under `CI=true` it fails instead).
//!
//! The crate's README.md records what the pinned CLI (2.1.197) sends and how its
//! TUI behaves in a PTY.

mod claude_home;
mod reply;
mod server;
mod skip;

pub use claude_home::{
    claude_bin, claude_json, for_every_account, require_claude_bin, ClaudeEnv, CLAUDE_BIN_ENV,
    CLAUDE_CLI_VERSION, FAKE_API_KEY, INHERITED_ENV_TO_REMOVE, SKIP_CLI_TESTS_ENV,
};
pub use reply::{Reply, DEFAULT_REPLY_TEXT};
pub use server::{
    is_side_request, last_user_text, FakeAnthropic, RecordedRequest, RequestKind,
    SIDE_QUERY_REPLY_TEXT,
};
pub use skip::{skip_or_fail, under_ci, CI_ENV};
