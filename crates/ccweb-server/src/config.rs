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

/// Whose Unix account a session's processes run as (docs/security.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IsolationMode {
    /// Every session runs as ccweb's own account, with its `HOME` and
    /// Claude home: for one person on their own machine.
    #[default]
    None,
    /// Each ccweb user's sessions run as that user's own Unix account
    /// (`unix_user`), started by a privileged launcher; the server itself
    /// does not run as root.
    Unix,
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
    /// Stop a session once it has run this long (each start or resume
    /// counts from its own start), busy or not; 0 = never.
    pub session_max_age_secs: u64,
    /// Between SIGTERM and SIGKILL when stopping a session.
    pub stop_grace_secs: u64,
    /// Processes and threads one session may have at once, all of its
    /// processes together (cgroup `pids.max`); 0 = no limit.
    pub session_max_processes: u64,
    /// Memory one session's processes may use together, in bytes (cgroup
    /// `memory.max`); past it the kernel's OOM killer ends one of them; 0 = no limit.
    pub session_max_memory_bytes: u64,
    /// Longest a graceful shutdown may take before the server exits anyway.
    pub shutdown_timeout_secs: u64,
    /// Lines of terminal history kept per session for re-drawing.
    pub scrollback_lines: usize,
    /// Output a terminal viewer may have queued before it is re-synced.
    pub viewer_queue_bytes: usize,
    /// Size cap of a terminal session's asciicast recording
    /// (`DATA_DIR/recordings/<id>.cast`); past it recording stops; 0 = no recordings.
    pub recording_max_bytes: u64,
    /// Delete the recordings of sessions that have not run for this many
    /// days (by the file's last write); 0 = keep them as long as their session.
    pub recording_retention_days: u64,
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
    /// Serve `GET /metrics` without authentication on this separate
    /// address (e.g. `127.0.0.1:9101`; meant for a private network).
    pub metrics_listen: Option<SocketAddr>,
    /// Serve `GET /metrics` on the main listener to requests bearing this
    /// token (`Authorization: Bearer …`; at least 16 characters).
    pub metrics_token: Option<Secret>,
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
    /// Also append every audit entry to this file as a JSON line (created 0600).
    pub audit_log_file: Option<PathBuf>,
    /// Delete audit entries older than this many days; 0 = keep them forever.
    pub audit_retention_days: u64,
    /// Running sessions at most per user; past it: 429.
    pub max_sessions_per_user: usize,
    /// Session starts (create and resume) allowed per user per minute; past it: 429.
    pub session_starts_per_user_per_minute: u32,
    /// Session starts (create and resume) are refused (503 `disk_full`) while
    /// the data dir's filesystem has less free space than this; 0: never.
    pub min_free_disk_bytes: u64,
    /// Events stored at most per session (its own and an imported
    /// conversation's); past it storing stops and viewers are told once.
    pub session_max_events: u64,
    /// Bytes of stored events at most per session (their JSON); also the
    /// most of a conversation file read for an import.
    pub session_max_event_bytes: u64,
    /// Open TCP connections at most, over all clients; past it new ones are closed at once.
    pub max_connections: usize,
    /// Open TCP connections at most per client address.
    pub max_connections_per_ip: usize,
    /// Open WebSockets at most per user; past it: 429.
    pub max_sockets_per_user: usize,
    /// WebSocket messages a client may send per second on one socket (bursts of twice that);
    /// past it the socket is closed with 1008.
    pub ws_messages_per_second: u32,
    /// WebSocket input bytes a client may send per second on one socket (bursts of
    /// `ws_max_message_bytes` at least); past it the socket is closed with 1008.
    pub ws_bytes_per_second: u32,
    /// A client must send a request's headers within this long; it is also how long an
    /// idle keep-alive connection stays open.
    pub http_header_timeout_secs: u64,
    /// A request (body included) must be answered within this long; past it: 408.
    pub http_request_timeout_secs: u64,
    /// Per-user working roots, e.g. `/srv/work/{user}`: when set, a non-admin user's
    /// sessions must lie inside these (created 0700 on first use) instead of `allowed_roots`.
    pub user_roots: Vec<String>,
    /// Let clients choose the permission mode `bypassPermissions` (no prompts at all).
    pub allow_bypass_permissions: bool,
    /// Owners may make read-only share links of their sessions (viewers must log in).
    pub share_links: bool,
    /// Serve everything under this path prefix (e.g. `/ccweb`), for a reverse
    /// proxy that forwards `/ccweb/…` unchanged; unset = at `/`.
    pub base_path: Option<String>,
    /// OpenID Connect: the provider's issuer URL (https, or http on a
    /// loopback address); unset = no OIDC login.
    pub oidc_issuer: Option<String>,
    /// OpenID Connect: this server's client id at the provider.
    pub oidc_client_id: Option<String>,
    /// OpenID Connect: the client secret (never logged; prefer the file).
    pub oidc_client_secret: Option<Secret>,
    /// OpenID Connect: a file holding the client secret (not world-readable).
    pub oidc_client_secret_file: Option<PathBuf>,
    /// OpenID Connect: the callback URL registered at the provider; default
    /// `public_url` + `/api/auth/oidc/callback`.
    pub oidc_redirect_url: Option<String>,
    /// OpenID Connect: scopes requested (`openid` is always requested).
    pub oidc_scopes: Vec<String>,
    /// OpenID Connect: the claim that names the user (falls back to the
    /// local part of `email`).
    pub oidc_username_claim: String,
    /// OpenID Connect: the claim listing the user's groups.
    pub oidc_groups_claim: String,
    /// OpenID Connect: if not empty, only these e-mail addresses may log in.
    pub oidc_allowed_emails: Vec<String>,
    /// OpenID Connect: if not empty, only e-mail addresses in these domains may log in.
    pub oidc_allowed_domains: Vec<String>,
    /// OpenID Connect: e-mail checks need `email_verified = true` from the provider.
    pub oidc_require_verified_email: bool,
    /// OpenID Connect: if not empty, only members of one of these groups may log in.
    pub oidc_allowed_groups: Vec<String>,
    /// OpenID Connect: if not empty, members of one of these groups are admins
    /// and everyone else logging in by OIDC is not (checked at each login).
    pub oidc_admin_groups: Vec<String>,
    /// OpenID Connect: create a user at the first login. Off: only users
    /// already linked, or created beforehand without a password, may log in.
    pub oidc_auto_provision: bool,
    /// OpenID Connect: the login page's button text.
    pub oidc_label: String,
    /// Reverse proxies (IP addresses or CIDRs) whose `proxy_user_header` is believed.
    pub trusted_proxies: Vec<String>,
    /// Header naming the user, set by a trusted proxy (e.g. `X-Forwarded-User`);
    /// unset = proxy header login off.
    pub proxy_user_header: Option<String>,
    /// Create users named by the proxy header that do not exist yet.
    pub proxy_auto_provision: bool,
    /// A Unix socket to listen on as well, for a reverse proxy on this host
    /// (`proxy_pass http://unix:/run/ccweb/ccweb.sock;`): the only place
    /// where `proxy_user_header` is believed.
    pub listen_unix: Option<PathBuf>,
    /// Permission bits of `listen_unix` (octal, e.g. `"0660"`).
    pub listen_unix_mode: String,
    /// Group of `listen_unix` (the proxy's, e.g. `www-data`); unset: ccweb's.
    pub listen_unix_group: Option<String>,
    /// Run each session's CLI in a sandbox.
    pub sandbox: SandboxMode,
    /// With the sandbox: more directories the CLI may read (e.g. where `node` lives).
    pub sandbox_read_only: Vec<PathBuf>,
    /// The bubblewrap program (a bare name is looked up in `PATH`).
    pub sandbox_bwrap: PathBuf,
    /// Whose Unix account sessions run as: `none` (ccweb's own) or `unix`
    /// (each user's own).
    pub isolation: IsolationMode,
    /// With `isolation = "unix"`: the Unix account of a ccweb user, a pattern
    /// where `{user}` is the ccweb user name. `unix_users` entries win.
    pub unix_user: String,
    /// With `isolation = "unix"`: explicit ccweb user → Unix account entries.
    pub unix_users: std::collections::BTreeMap<String, String>,
    /// With `isolation = "unix"`: create a user's Unix account (and its
    /// home) the first time one of their sessions starts.
    pub create_unix_users: bool,
    /// With `isolation = "none"`: allow more than one enabled user although
    /// their sessions share one Unix account, Claude home and credential.
    pub allow_shared_identity: bool,
    /// Whose Claude credential sessions use: `optional` (a user's own when
    /// they stored one, else the operator's), `required` (every user brings
    /// their own) or `disabled` (the operator's only).
    pub user_credentials: crate::credentials::CredentialPolicy,
    /// With `isolation = "unix"`, started as root: the Unix account the
    /// server drops to after starting the launcher (created when
    /// `create_unix_users`). Never root.
    pub server_user: String,
    /// With `isolation = "unix"`, started as a non-root user: the command
    /// that starts `ccweb launcher` as root through sudo (e.g. `["sudo",
    /// "-n", "/usr/local/bin/ccweb", "--config", FILE, "launcher"]`); its
    /// standard input is the launcher's socket, and the launcher reads its
    /// policy from that configuration itself.
    pub launcher_command: Vec<String>,
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
            session_max_age_secs: 0,
            stop_grace_secs: 5,
            session_max_processes: 2048,
            session_max_memory_bytes: 0,
            shutdown_timeout_secs: 20,
            scrollback_lines: 2000,
            viewer_queue_bytes: 2 * 1024 * 1024,
            recording_max_bytes: 64 * 1024 * 1024,
            recording_retention_days: 0,
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
            metrics_listen: None,
            metrics_token: None,
            allow_insecure_listen: false,
            permission_timeout_secs: 3600,
            cli_startup_timeout_secs: 60,
            webhook_url: None,
            webhook_timeout_secs: 5,
            webhook_retries: 3,
            audit_log_file: None,
            audit_retention_days: 90,
            max_sessions_per_user: 8,
            session_starts_per_user_per_minute: 20,
            min_free_disk_bytes: 1024 * 1024 * 1024,
            session_max_events: 200_000,
            session_max_event_bytes: 256 * 1024 * 1024,
            max_connections: 1024,
            max_connections_per_ip: 128,
            max_sockets_per_user: 64,
            ws_messages_per_second: 500,
            ws_bytes_per_second: 4 * 1024 * 1024,
            http_header_timeout_secs: 30,
            http_request_timeout_secs: 60,
            user_roots: Vec::new(),
            allow_bypass_permissions: false,
            share_links: true,
            base_path: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_client_secret_file: None,
            oidc_redirect_url: None,
            oidc_scopes: ["openid", "email", "profile"].map(String::from).to_vec(),
            oidc_username_claim: "preferred_username".into(),
            oidc_groups_claim: "groups".into(),
            oidc_allowed_emails: Vec::new(),
            oidc_allowed_domains: Vec::new(),
            oidc_require_verified_email: true,
            oidc_allowed_groups: Vec::new(),
            oidc_admin_groups: Vec::new(),
            oidc_auto_provision: true,
            oidc_label: "Sign in with SSO".into(),
            trusted_proxies: Vec::new(),
            proxy_user_header: None,
            proxy_auto_provision: false,
            listen_unix: None,
            listen_unix_mode: "0660".into(),
            listen_unix_group: None,
            sandbox: SandboxMode::None,
            sandbox_read_only: Vec::new(),
            sandbox_bwrap: PathBuf::from("/usr/bin/bwrap"),
            isolation: IsolationMode::None,
            unix_user: "ccweb-{user}".into(),
            unix_users: Default::default(),
            create_unix_users: false,
            allow_shared_identity: false,
            user_credentials: Default::default(),
            server_user: "ccweb".into(),
            launcher_command: Vec::new(),
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
        if !self.listen.ip().is_loopback()
            && !self.behind_https()
            && !self.behind_trusted_proxy()
            && !self.allow_insecure_listen
        {
            return err(
                "listen",
                format!(
                    "{} is reachable from other machines but nothing encrypts the traffic: put a TLS proxy in front and \
                     set public_url = \"https://…\" (or trusted_proxies and public_url), or set \
                     allow_insecure_listen = true if you accept that",
                    self.listen
                ),
            );
        }
        let at_least_one = [
            ("max_sessions", self.max_sessions),
            ("max_sessions_per_user", self.max_sessions_per_user),
            ("max_connections", self.max_connections),
            ("max_connections_per_ip", self.max_connections_per_ip),
            ("max_sockets_per_user", self.max_sockets_per_user),
            (
                "session_starts_per_user_per_minute",
                self.session_starts_per_user_per_minute as usize,
            ),
            ("session_max_events", self.session_max_events as usize),
            (
                "session_max_event_bytes",
                self.session_max_event_bytes as usize,
            ),
            (
                "ws_messages_per_second",
                self.ws_messages_per_second as usize,
            ),
            ("ws_bytes_per_second", self.ws_bytes_per_second as usize),
            (
                "http_header_timeout_secs",
                self.http_header_timeout_secs as usize,
            ),
            (
                "http_request_timeout_secs",
                self.http_request_timeout_secs as usize,
            ),
        ];
        for (key, value) in at_least_one {
            if value == 0 {
                return err(key, "must be at least 1".into());
            }
        }
        if let Some(base) = &mut self.base_path {
            let trimmed = base.trim_end_matches('/').to_owned();
            let ok_segment = |seg: &str| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
            };
            if trimmed.is_empty() {
                // "/" is the same as no prefix.
                self.base_path = None;
            } else if !trimmed.starts_with('/') || !trimmed[1..].split('/').all(ok_segment) {
                return err(
                    "base_path",
                    format!(
                        "{base:?} must be a path such as /ccweb (letters, digits, - . _ ~ and /)"
                    ),
                );
            } else {
                *base = trimmed;
            }
        }
        for template in &self.user_roots {
            crate::paths::check_user_root_template(template).map_err(|message| ConfigError {
                key: "user_roots",
                message,
            })?;
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
        crate::metrics::validate_config(self)?;
        crate::proxy_auth::validate_config(self)?;
        crate::proxy_socket::validate_config(self)?;
        crate::oidc::validate_config(self)?;
        Ok(())
    }

    /// The idle timeout, if any.
    pub fn idle_timeout(&self) -> Option<Duration> {
        (self.idle_timeout_secs > 0).then(|| Duration::from_secs(self.idle_timeout_secs))
    }

    /// `session_max_age_secs` as a duration; `None` = never.
    pub fn session_max_age(&self) -> Option<Duration> {
        (self.session_max_age_secs > 0).then(|| Duration::from_secs(self.session_max_age_secs))
    }

    /// Whether a reverse proxy is declared in front (`trusted_proxies` and
    /// `public_url` both set): then a non-loopback listener is expected.
    pub fn behind_trusted_proxy(&self) -> bool {
        !self.trusted_proxies.is_empty() && self.public_url.is_some()
    }

    /// Whether users reach the server over https (cookies get `Secure`).
    pub fn behind_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

/// A secret configuration value: `Debug` and `Serialize` never show it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    // Serialised configuration is for defaults and key lists, never for
    // showing or storing a secret.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}
