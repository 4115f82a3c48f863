//! Server configuration: a plain struct with defaults that tests build
//! directly; the binary fills it from TOML, `CCWEB_*` and flags.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How people log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// Passwords and API tokens, plus a one-time login URL printed at start
    /// (creates the first admin when there are no users).
    Token,
    /// Passwords and API tokens only.
    Password,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Whether sessions run in a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// The CLI sees what ccweb's user sees.
    #[default]
    None,
    /// The CLI runs under `bwrap` (see docs/security.md).
    Bubblewrap,
}

/// Everything `ccweb serve` can be told. Keys are the TOML keys; the
/// environment variable of a key is `CCWEB_` + the key in upper case.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Where the database and other state live.
    pub data_dir: PathBuf,
    /// Working directories must lie inside one of these (canonicalised at start).
    pub allowed_roots: Vec<PathBuf>,
    /// The Claude Code CLI (a path, or a name looked up in `PATH`).
    pub claude_bin: PathBuf,
    /// Extra arguments put before ccweb's own.
    pub claude_args: Vec<String>,
    /// Authentication mode.
    pub auth: AuthMode,
    /// The URL users reach ccweb at, e.g. `https://ccweb.example.com`
    /// (behind a proxy). Its origin is accepted and its host answered to.
    pub public_url: Option<String>,
    /// More origins accepted on cookie-authenticated state changes and WebSocket upgrades.
    pub allowed_origins: Vec<String>,
    /// More `Host` header values the server answers to.
    pub allowed_hosts: Vec<String>,
    /// Running sessions at most, over all users; past it: 503.
    pub max_sessions: usize,
    /// Stop a session after this long without input, output or viewers; 0 = never.
    pub idle_timeout_secs: u64,
    /// Between SIGTERM and SIGKILL when stopping a session.
    pub stop_grace_secs: u64,
    /// Longest a graceful shutdown may take before the server exits anyway.
    pub shutdown_timeout_secs: u64,
    /// Lines of terminal history kept per session for re-drawing.
    pub scrollback_lines: usize,
    /// Output a terminal viewer may have queued before it is re-synced.
    pub viewer_queue_bytes: usize,
    /// Server WebSocket ping interval; a peer silent for two intervals is dropped.
    pub ws_ping_interval_secs: u64,
    /// Largest WebSocket message accepted from a client.
    pub ws_max_message_bytes: usize,
    /// Largest HTTP request body accepted.
    pub max_body_bytes: usize,
    /// Login (cookie) sessions end this long after login.
    pub login_ttl_secs: u64,
    /// Login sessions end after this long unused.
    pub login_idle_ttl_secs: u64,
    /// Names of environment variables passed on to the CLI (a trailing `*` matches a prefix).
    pub child_env: Vec<String>,
    /// Extra environment for the CLI, set after `child_env`.
    pub child_env_set: std::collections::BTreeMap<String, String>,
    /// Failed logins allowed per client address per minute; past it: 429.
    pub login_failures_per_ip_per_minute: u32,
    /// Failed logins allowed per account name per minute (all clients together).
    pub login_failures_per_account_per_minute: u32,
    /// Log format.
    pub log_format: LogFormat,
    /// Allow listening on a non-loopback address without https in front
    /// (`public_url` starting with `https://`). Off: such a start is refused.
    pub allow_insecure_listen: bool,
    /// Chat sessions: report the CLI as unresponsive (an `error` event) when
    /// it has not answered its first control request in this long.
    pub cli_startup_timeout_secs: u64,
    /// Chat sessions: deny a permission request nobody answered in this long; 0 = wait forever.
    pub permission_timeout_secs: u64,
    /// POST a JSON notification here when a session needs attention, finishes a turn or ends.
    pub webhook_url: Option<String>,
    /// Timeout of one webhook delivery attempt.
    pub webhook_timeout_secs: u64,
    /// Delivery attempts after the first failed one.
    pub webhook_retries: u32,
    /// Run each session's CLI in a sandbox.
    pub sandbox: SandboxMode,
    /// With the sandbox: more directories the CLI may read (e.g. where `node` lives).
    pub sandbox_read_only: Vec<PathBuf>,
    /// The bubblewrap program (a bare name is looked up in `PATH`).
    pub sandbox_bwrap: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            data_dir: PathBuf::from("ccweb-data"),
            allowed_roots: Vec::new(),
            claude_bin: PathBuf::from("claude"),
            claude_args: Vec::new(),
            auth: AuthMode::Token,
            public_url: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_sessions: 32,
            idle_timeout_secs: 0,
            stop_grace_secs: 5,
            shutdown_timeout_secs: 20,
            scrollback_lines: 2000,
            viewer_queue_bytes: 2 * 1024 * 1024,
            ws_ping_interval_secs: 30,
            ws_max_message_bytes: 1024 * 1024,
            max_body_bytes: 1024 * 1024,
            login_ttl_secs: 7 * 24 * 3600,
            login_idle_ttl_secs: 24 * 3600,
            child_env: [
                "PATH",
                "HOME",
                "USER",
                "LOGNAME",
                "SHELL",
                "LANG",
                "LC_*",
                "TZ",
                "TMPDIR",
                "ANTHROPIC_*",
                "CLAUDE_*",
                "DISABLE_*",
                "HTTP_PROXY",
                "HTTPS_PROXY",
                "NO_PROXY",
                "XDG_CONFIG_HOME",
                "AWS_*",
                "GOOGLE_*",
                "VERTEX_*",
            ]
            .map(String::from)
            .to_vec(),
            child_env_set: Default::default(),
            login_failures_per_ip_per_minute: 5,
            login_failures_per_account_per_minute: 30,
            log_format: LogFormat::Text,
            allow_insecure_listen: false,
            permission_timeout_secs: 3600,
            cli_startup_timeout_secs: 60,
            webhook_url: None,
            webhook_timeout_secs: 5,
            webhook_retries: 3,
            sandbox: SandboxMode::None,
            sandbox_read_only: Vec::new(),
            sandbox_bwrap: PathBuf::from("/usr/bin/bwrap"),
        }
    }
}

/// A configuration value that cannot work, named by its key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration value for `{key}`: {message}")]
pub struct ConfigError {
    /// The offending key.
    pub key: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl Config {
    /// Checks values serde cannot, and canonicalises the allowed roots.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let err = |key, message: String| Err(ConfigError { key, message });
        if self.allowed_roots.is_empty() {
            return err("allowed_roots", "at least one directory is needed".into());
        }
        for root in &mut self.allowed_roots {
            match std::fs::canonicalize(&*root) {
                Ok(c) if c.is_dir() => *root = c,
                Ok(_) => {
                    return err(
                        "allowed_roots",
                        format!("{} is not a directory", root.display()),
                    )
                }
                Err(e) => return err("allowed_roots", format!("{}: {e}", root.display())),
            }
        }
        if !self.listen.ip().is_loopback() && !self.behind_https() && !self.allow_insecure_listen {
            return err(
                "listen",
                format!(
                    "{} is reachable from other machines but nothing encrypts the traffic: put a TLS proxy in front and \
                     set public_url = \"https://…\", or set allow_insecure_listen = true if you accept that",
                    self.listen
                ),
            );
        }
        if self.max_sessions == 0 {
            return err("max_sessions", "must be at least 1".into());
        }
        if self.claude_bin.as_os_str().is_empty() {
            return err("claude_bin", "must not be empty".into());
        }
        if self.ws_ping_interval_secs == 0 {
            return err("ws_ping_interval_secs", "must be at least 1".into());
        }
        if self.ws_max_message_bytes < 1024 {
            return err("ws_max_message_bytes", "must be at least 1024".into());
        }
        if self.scrollback_lines > 100_000 {
            return err("scrollback_lines", "at most 100000".into());
        }
        if self.viewer_queue_bytes < 4096 {
            return err("viewer_queue_bytes", "must be at least 4096".into());
        }
        if let Some(url) = &self.public_url {
            if crate::origin::parse_origin(url).is_none() {
                return err(
                    "public_url",
                    format!("{url:?} is not an http(s) URL such as https://ccweb.example.com"),
                );
            }
        }
        if let Some(url) = &self.webhook_url {
            let parsed = reqwest::Url::parse(url)
                .ok()
                .filter(|u| u.host_str().is_some());
            if !(url.starts_with("http://") || url.starts_with("https://")) || parsed.is_none() {
                return err("webhook_url", format!("{url:?} is not an http(s) URL"));
            }
        }
        if self.webhook_timeout_secs == 0 {
            return err("webhook_timeout_secs", "must be at least 1".into());
        }
        for o in &self.allowed_origins {
            if crate::origin::parse_origin(o).is_none() {
                return err(
                    "allowed_origins",
                    format!("{o:?} is not an origin such as https://ccweb.example.com"),
                );
            }
        }
        Ok(())
    }

    /// The idle timeout, if any.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }

    /// Whether users reach the server over https (cookies get `Secure`).
    pub fn behind_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}
