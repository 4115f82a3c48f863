//! `ccweb doctor`: checks that `serve` would work here, one line per check
//! (ok, warn, FAIL and what to do). Exit 0 when nothing failed (warnings
//! allowed), 1 when something did, 2 when the configuration does not load.
//! Nothing needs the network, and nothing is created or migrated.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{Global, ServeFlags};
use crate::settings;
use ccweb_server::config::SandboxMode;
use ccweb_server::credentials::CredentialPolicy;
use ccweb_server::Config;

/// Longest `claude --version` may take.
const VERSION_TIMEOUT_SECS: u64 = 15;
/// The CLI version ccweb's protocol handling was verified with (major, minor).
const VERIFIED_CLI: (u64, u64) = (2, 1);

/// How a check went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug)]
struct Check {
    level: Level,
    /// What was checked (a short name).
    what: &'static str,
    /// What was found and, when not ok, what to do.
    message: String,
}

#[derive(Debug, Default)]
struct Report(Vec<Check>);

impl Report {
    fn add(&mut self, level: Level, what: &'static str, message: impl Into<String>) {
        self.0.push(Check {
            level,
            what,
            message: message.into(),
        });
    }
    fn ok(&mut self, what: &'static str, message: impl Into<String>) {
        self.add(Level::Ok, what, message);
    }
    fn warn(&mut self, what: &'static str, message: impl Into<String>) {
        self.add(Level::Warn, what, message);
    }
    fn fail(&mut self, what: &'static str, message: impl Into<String>) {
        self.add(Level::Fail, what, message);
    }
    fn failures(&self) -> usize {
        self.0.iter().filter(|c| c.level == Level::Fail).count()
    }
    fn print(&self) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        for c in &self.0 {
            let level = match c.level {
                Level::Ok => "ok",
                Level::Warn => "warn",
                Level::Fail => "FAIL",
            };
            writeln!(out, "{level:<4}  {:<9} {}", c.what, c.message)?;
        }
        out.flush()
    }
}

/// Runs every check and prints the report.
pub(crate) async fn run(global: &Global, flags: &ServeFlags) -> anyhow::Result<()> {
    let mut report = Report::default();
    let config = match settings::load(global, flags) {
        Ok(config) => config,
        Err(e) => {
            report.fail(
                "config",
                format!("{e} (fix the key named here in the file, its CCWEB_* variable or flag)"),
            );
            report.print()?;
            return Err(e.into());
        }
    };
    report.ok("config", config_source(global, &config));
    check_cli(&mut report, &config).await;
    check_data_dir(&mut report, &config.data_dir);
    check_database(&mut report, &config.data_dir).await;
    check_credentials_key(&mut report, &config.data_dir);
    check_listen(&mut report, &config);
    check_roots(&mut report, &config);
    check_sandbox(&mut report, &config);
    check_isolation(&mut report, &config);
    report.print()?;
    match report.failures() {
        0 => Ok(()),
        n => Err(anyhow::anyhow!(
            "{n} check{} failed",
            if n == 1 { "" } else { "s" }
        )),
    }
}

fn config_source(global: &Global, config: &Config) -> String {
    let file = global
        .config
        .clone()
        .unwrap_or_else(|| config.data_dir.join("ccweb.toml"));
    if file.is_file() {
        format!("loaded {} (plus CCWEB_* and flags)", file.display())
    } else {
        "defaults (plus CCWEB_* and flags); no configuration file".to_owned()
    }
}

/// The CLI: found, runs, reports a version, and has credentials.
async fn check_cli(report: &mut Report, config: &Config) {
    let Some(path) = ccweb_server::health::find_program(&config.claude_bin) else {
        report.fail(
            "claude",
            format!(
                "{} not found{}: install Claude Code (npm install -g @anthropic-ai/claude-code) \
                 or set claude_bin / --claude-bin to its path",
                config.claude_bin.display(),
                if config.claude_bin.components().count() > 1 {
                    ""
                } else {
                    " on PATH"
                }
            ),
        );
        return;
    };
    let env = ccweb_server::sessions::child_env(config);
    let ran = run_cli(&path, &["--version"], &env).await;
    let output = match ran {
        Err(_) => {
            report.fail(
                "claude",
                format!(
                    "{} --version did not answer within {VERSION_TIMEOUT_SECS} s",
                    path.display()
                ),
            );
            return;
        }
        Ok(Err(e)) => {
            report.fail(
                "claude",
                format!("{} cannot be run: {e} (is it executable?)", path.display()),
            );
            return;
        }
        Ok(Ok(output)) => output,
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let why = stderr
            .lines()
            .chain(stdout.lines())
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        report.fail(
            "claude",
            format!(
                "{} --version failed ({}): {why}; reinstall the CLI or fix claude_bin",
                path.display(),
                output.status
            ),
        );
        return;
    }
    match parse_version(&stdout) {
        Some((major, minor, patch)) if (major, minor) >= VERIFIED_CLI => report.ok(
            "claude",
            format!("{major}.{minor}.{patch} at {}", path.display()),
        ),
        Some((major, minor, patch)) => report.warn(
            "claude",
            format!(
                "{major}.{minor}.{patch} at {} is older than the {}.{} ccweb was verified with; update it \
                 (npm install -g @anthropic-ai/claude-code)",
                path.display(),
                VERIFIED_CLI.0,
                VERIFIED_CLI.1
            ),
        ),
        None => report.fail(
            "claude",
            format!(
                "{} --version printed {:?}, not a version: is claude_bin the Claude Code CLI?",
                path.display(),
                stdout.trim()
            ),
        ),
    }
    if config.user_credentials == CredentialPolicy::Required {
        // Sessions never get the operator's credential: none is needed.
        report.ok(
            "auth",
            "user_credentials = \"required\": every user's sessions use that user's own \
             credential (Account page); the server's is not used",
        );
        return;
    }
    check_auth(report, &path, &env).await;
}

/// Runs the CLI with `args` in the environment sessions get, for at most
/// `VERSION_TIMEOUT_SECS` (`Err` when it did not answer in time).
async fn run_cli(
    cli: &Path,
    args: &[&str],
    env: &[(OsString, OsString)],
) -> Result<std::io::Result<std::process::Output>, tokio::time::error::Elapsed> {
    let mut cmd = tokio::process::Command::new(cli);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(VERSION_TIMEOUT_SECS), cmd.output()).await
}

/// `x.y.z` from the start of `claude --version`'s output ("2.1.197 (Claude Code)").
fn parse_version(output: &str) -> Option<(u64, u64, u64)> {
    let word = output.split_whitespace().next()?;
    let mut parts = word.trim_start_matches('v').splitn(3, '.');
    let mut num = || -> Option<u64> {
        let part = parts.next()?;
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    Some((num()?, num()?, num()?))
}

/// Whether the CLI will authenticate: its own answer (`claude auth status`,
/// which knows every source — keys, logins, helpers, cloud providers —
/// and works offline), else a judgment from the environment.
async fn check_auth(report: &mut Report, cli: &Path, env: &[(OsString, OsString)]) {
    let ran = run_cli(cli, &["auth", "status"], env).await;
    // It exits 1 when not logged in: the JSON on stdout is the answer.
    let status = ran
        .ok()
        .and_then(Result::ok)
        .and_then(|out| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
        .filter(|v| v["loggedIn"].is_boolean());
    let Some(status) = status else {
        // An older CLI without the command: judge from what it will see.
        return check_auth_offline(report, env);
    };
    let field = |k: &str| status[k].as_str().unwrap_or("unknown").to_owned();
    if status["loggedIn"] == true {
        let source = status["apiKeySource"]
            .as_str()
            .map_or_else(|| field("apiProvider"), str::to_owned);
        report.ok(
            "auth",
            format!(
                "`claude auth status`: logged in ({}, {source})",
                field("authMethod")
            ),
        );
    } else {
        report.fail(
            "auth",
            format!("`claude auth status`: not logged in: {NO_CREDENTIALS_HINT}"),
        );
    }
}

/// What to do when the CLI has no credentials.
const NO_CREDENTIALS_HINT: &str = "export ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN where ccweb \
     runs (child_env passes ANTHROPIC_*), or run `claude` as this user and log in with /login";

fn check_auth_offline(report: &mut Report, env: &[(OsString, OsString)]) {
    let set = |key: &str| env.iter().any(|(k, v)| k == key && !v.is_empty());
    for key in ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"] {
        if set(key) {
            report.ok("auth", format!("{key} is passed to the CLI"));
            return;
        }
    }
    for key in ["CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX"] {
        if set(key) {
            report.ok(
                "auth",
                format!("{key} is set: the cloud provider's credentials are used (not checked)"),
            );
            return;
        }
    }
    let home = ccweb_server::sessions::claude_home(env);
    if let Some(creds) = home
        .as_ref()
        .map(|h| h.join(".credentials.json"))
        .filter(|p| p.is_file())
    {
        report.ok("auth", format!("logged in ({})", creds.display()));
        return;
    }
    report.fail(
        "auth",
        format!(
            "no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN reaches the CLI and no login in {}: \
             {NO_CREDENTIALS_HINT}",
            home.map_or_else(|| "$HOME/.claude".to_owned(), |h| h.display().to_string())
        ),
    );
}

/// The data directory: a writable directory only its owner can read.
fn check_data_dir(report: &mut Report, dir: &Path) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            report.fail(
                "data dir",
                format!(
                    "{} is not a directory: move it away or set data_dir / --data-dir",
                    dir.display()
                ),
            );
        }
        Ok(m) => {
            if let Err(e) = probe_write(dir) {
                report.fail(
                    "data dir",
                    format!(
                        "{} is not writable ({e}): chown it to this user or set data_dir / --data-dir",
                        dir.display()
                    ),
                );
            } else if m.permissions().mode() & 0o077 != 0 {
                report.warn(
                    "data dir",
                    format!(
                        "{} is open to other users (mode {:o}); it holds sessions and secrets: chmod 700 it",
                        dir.display(),
                        m.permissions().mode() & 0o777
                    ),
                );
            } else if m.uid() != own_uid() {
                report.warn(
                    "data dir",
                    format!(
                        "{} belongs to another user (uid {})",
                        dir.display(),
                        m.uid()
                    ),
                );
            } else {
                report.ok("data dir", format!("{} (writable, 0700)", dir.display()));
            }
        }
        Err(_) => {
            let parent = dir.ancestors().skip(1).find(|a| a.is_dir());
            match parent.map(|p| (p, probe_write(p))) {
                Some((_, Ok(()))) => report.ok(
                    "data dir",
                    format!(
                        "{} does not exist yet; serve creates it (0700)",
                        dir.display()
                    ),
                ),
                Some((p, Err(e))) => report.fail(
                    "data dir",
                    format!(
                        "{} does not exist and cannot be created ({} is not writable: {e}); \
                         set data_dir / --data-dir",
                        dir.display(),
                        p.display()
                    ),
                ),
                None => report.fail("data dir", format!("{} cannot be created", dir.display())),
            }
        }
    }
}

/// This process's user id (the data directory's owner should be it).
fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's own (effective) user.
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

/// Creates and removes a file in `dir`: the only sure test of writability
/// (mode bits lie for root, ACLs and read-only mounts).
fn probe_write(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".ccweb-doctor-{}", std::process::id()));
    std::fs::File::create(&probe)?;
    std::fs::remove_file(&probe)
}

/// The database opens read-only, is intact and carries this build's migrations.
async fn check_database(report: &mut Report, dir: &Path) {
    let path = dir.join("ccweb.db");
    if !path.exists() {
        report.ok(
            "database",
            format!("{} does not exist yet; serve creates it", path.display()),
        );
        return;
    }
    match ccweb_store::health::inspect(&path).await {
        Err(e) => report.fail(
            "database",
            format!(
                "{} does not open: {e}; restore it from a backup or move it away",
                path.display()
            ),
        ),
        Ok(h) if h.quick_check != "ok" => report.fail(
            "database",
            format!(
                "{} is damaged ({}); restore it from a backup",
                path.display(),
                h.quick_check
            ),
        ),
        Ok(h) if !h.unknown.is_empty() => report.fail(
            "database",
            format!(
                "{} was written by a newer ccweb (migrations {:?} unknown here); run that version",
                path.display(),
                h.unknown
            ),
        ),
        Ok(h) if !h.broken.is_empty() => report.fail(
            "database",
            format!(
                "{}: migrations {:?} failed or were changed; restore it from a backup",
                path.display(),
                h.broken
            ),
        ),
        Ok(h) if !h.pending.is_empty() => report.warn(
            "database",
            format!(
                "{}: {} migration(s) pending; serve applies them at start (back the file up first)",
                path.display(),
                h.pending.len()
            ),
        ),
        Ok(h) => report.ok(
            "database",
            format!("{} ({} migrations, current)", path.display(), h.applied),
        ),
    }
}

/// The key of users' stored credentials, when there is one: private and whole.
fn check_credentials_key(report: &mut Report, dir: &Path) {
    let path = dir.join(ccweb_server::credentials::KEY_FILE);
    if !path.exists() {
        report.ok(
            "credentials key",
            format!(
                "{} does not exist yet; serve creates it (0600)",
                path.display()
            ),
        );
        return;
    }
    match ccweb_server::credentials::Vault::open(dir) {
        Ok(_) => report.ok("credentials key", format!("{} (private)", path.display())),
        Err(e) => report.fail("credentials key", e.to_string()),
    }
}

/// The listen address can be bound, and the non-loopback policy.
fn check_listen(report: &mut Report, config: &Config) {
    let addr = config.listen;
    match std::net::TcpListener::bind(addr) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            report.fail(
                "listen",
                format!("{addr} is in use (is ccweb already running?): stop it or choose another listen / --listen"),
            );
            return;
        }
        Err(e) => {
            report.fail(
                "listen",
                format!("cannot listen on {addr}: {e}; choose another listen / --listen"),
            );
            return;
        }
        Ok(listener) => drop(listener),
    }
    if addr.ip().is_loopback() {
        report.ok("listen", format!("{addr} (this machine only)"));
    } else if config.behind_https() || config.behind_trusted_proxy() {
        report.ok(
            "listen",
            format!(
                "{addr}, behind {}",
                config.public_url.as_deref().unwrap_or("a proxy")
            ),
        );
    } else {
        report.warn(
            "listen",
            format!("{addr} is reachable from other machines unencrypted (allow_insecure_listen); put a TLS proxy in front"),
        );
    }
}

/// Allowed roots (the loader canonicalised them, so they exist): usable?
fn check_roots(report: &mut Report, config: &Config) {
    let roots: Vec<String> = config
        .allowed_roots
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    let unreadable: Vec<&PathBuf> = config
        .allowed_roots
        .iter()
        .filter(|r| std::fs::read_dir(r).is_err())
        .collect();
    if unreadable.is_empty() {
        report.ok("roots", roots.join(", "));
    } else {
        report.fail(
            "roots",
            format!(
                "cannot list {}: fix their permissions or change allowed_roots",
                unreadable
                    .iter()
                    .map(|r| r.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

/// With `sandbox = "bubblewrap"`: can `bwrap` build a sandbox here?
fn check_sandbox(report: &mut Report, config: &Config) {
    if config.sandbox == SandboxMode::None {
        report.ok("sandbox", "off (sandbox = \"none\")");
        return;
    }
    match ccweb_server::isolation::check(config) {
        Ok(()) => report.ok(
            "sandbox",
            format!("bubblewrap works ({})", config.sandbox_bwrap.display()),
        ),
        Err(e) => report.fail("sandbox", e.to_string()),
    }
}

/// With `isolation = "unix"`: can ccweb start its launcher, and would
/// the account names it makes be valid?
fn check_isolation(report: &mut Report, config: &Config) {
    use ccweb_server::config::IsolationMode;
    if config.isolation == IsolationMode::None {
        report.ok(
            "isolation",
            "none: every session runs as ccweb's own Unix account (one person)",
        );
        return;
    }
    if let Err(e) = ccweb_server::isolation::account_policy(config, 0).check() {
        return report.fail("isolation", e);
    }
    let sample = config.unix_user.replace("{user}", "alice");
    let root = nix::unistd::Uid::effective().is_root();
    if !root && config.launcher_command.is_empty() {
        return report.fail(
            "isolation",
            "isolation = \"unix\" needs ccweb started as root, or launcher_command (sudo; see deploy.md)",
        );
    }
    if config.create_unix_users
        && ccweb_server::health::find_program(Path::new("useradd")).is_none()
    {
        return report.fail(
            "isolation",
            "create_unix_users = true but useradd is not installed",
        );
    }
    let how = if root {
        format!(
            "the launcher runs as root, the server as {}",
            config.server_user
        )
    } else {
        "the launcher starts through launcher_command".to_owned()
    };
    report.ok(
        "isolation",
        format!("unix: each user's sessions run as {sample}-like accounts; {how}"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_from_the_cli_output() {
        assert_eq!(parse_version("2.1.197 (Claude Code)\n"), Some((2, 1, 197)));
        assert_eq!(parse_version("v1.0.3"), Some((1, 0, 3)));
        assert_eq!(parse_version("Claude Code"), None);
        assert_eq!(parse_version(""), None);
    }
}
