//! A private `HOME` for a Claude Code CLI child: `~/.claude.json` written so that
//! neither `-p` nor the TUI asks anything, and the environment that points the CLI
//! at a fake API without touching the network.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

/// The pinned CLI version the tests are written against.
pub const CLAUDE_CLI_VERSION: &str = "2.1.197";

/// The API key given to the CLI. Any `sk-ant-…` string works against the fake.
pub const FAKE_API_KEY: &str = "sk-ant-fake-0123456789abcdefghij";

/// Env var naming the CLI binary to test with.
pub const CLAUDE_BIN_ENV: &str = "CCWEB_TEST_CLAUDE_BIN";

/// Env var that, set to `1`, makes [`require_claude_bin`] skip instead of failing.
pub const SKIP_CLI_TESTS_ENV: &str = "CCWEB_SKIP_CLI_TESTS";

/// Environment variables a child CLI must not inherit from the test's environment,
/// because they would change where it sends requests, how it authenticates, or
/// where it keeps state. Remove them (`env_remove`) before adding [`ClaudeEnv::envs`].
pub const INHERITED_ENV_TO_REMOVE: &[&str] = &[
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_MODEL",
    "ANTHROPIC_SMALL_FAST_MODEL",
    "ANTHROPIC_CUSTOM_HEADERS",
    "ANTHROPIC_BETAS",
    "CLAUDE_CONFIG_DIR",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
    "CLAUDE_CODE_USE_FOUNDRY",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SSE_PORT",
    "CLAUDECODE",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A prepared private home for the CLI and the settings that go with it.
#[derive(Debug, Clone)]
pub struct ClaudeEnv {
    /// The directory used as `HOME`; holds `.claude.json` and `.claude/`.
    pub home: PathBuf,
    /// The value of `ANTHROPIC_API_KEY` ([`FAKE_API_KEY`]).
    pub api_key: String,
    /// The value of `ANTHROPIC_BASE_URL`, e.g. the fake's [`base_url`](crate::FakeAnthropic::base_url).
    pub base_url: String,
}

impl ClaudeEnv {
    /// Writes `home/.claude.json` and creates `home/.claude/`.
    ///
    /// The config marks onboarding done, every `trusted_dirs` entry as trusted and
    /// onboarded, and the API key's last 20 characters as approved, so that the TUI
    /// opens straight to its prompt. See [`claude_json`] for the exact content.
    pub fn prepare(home: &Path, base_url: &str, trusted_dirs: &[&Path]) -> io::Result<ClaudeEnv> {
        std::fs::create_dir_all(home.join(".claude"))?;
        let env = ClaudeEnv {
            home: home.to_path_buf(),
            api_key: FAKE_API_KEY.to_owned(),
            base_url: base_url.to_owned(),
        };
        let dirs = trusted_dirs
            .iter()
            .map(|d| project_key(d))
            .collect::<io::Result<Vec<_>>>()?;
        write_json(&env.config_path(), &claude_json(&env.api_key, &dirs))?;
        Ok(env)
    }

    /// Path of `~/.claude.json`.
    pub fn config_path(&self) -> PathBuf {
        self.home.join(".claude.json")
    }

    /// Marks one more directory as trusted. Call it while no CLI runs in this home:
    /// the CLI rewrites `~/.claude.json` itself and may overwrite a concurrent change.
    pub fn trust(&self, dir: &Path) -> io::Result<()> {
        let path = self.config_path();
        let text = std::fs::read_to_string(&path)?;
        let mut config: Value = serde_json::from_str(&text)
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))?;
        let key = project_key(dir)?;
        let Some(root) = config.as_object_mut() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a JSON object", path.display()),
            ));
        };
        let projects = root
            .entry("projects")
            .or_insert_with(|| Value::Object(Map::new()));
        if !projects.is_object() {
            *projects = Value::Object(Map::new());
        }
        if let Some(projects) = projects.as_object_mut() {
            let entry = projects
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if let (Some(entry), Value::Object(flags)) = (entry.as_object_mut(), trusted_project())
            {
                entry.extend(flags);
            }
        }
        write_json(&path, &config)
    }

    /// The environment a child CLI needs, as `(name, value)` pairs:
    ///
    /// | variable | value | why |
    /// |---|---|---|
    /// | `HOME` | [`home`](Self::home) | private config, transcripts and caches |
    /// | `ANTHROPIC_BASE_URL` | [`base_url`](Self::base_url) | talk to the fake |
    /// | `ANTHROPIC_API_KEY` | [`FAKE_API_KEY`] | an API-key login; no OAuth |
    /// | `CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC` | `1` | no telemetry, updates, feature flags |
    /// | `CLAUDE_CODE_MAX_RETRIES` | `0` | an error reply ends the turn at once |
    /// | `DISABLE_AUTOUPDATER` | `1` | never try to update the pinned binary |
    /// | `CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL` | `1` | the TUI otherwise runs `git clone` of the official plugin marketplace from GitHub (and `ssh git@github.com`) at start, despite the variable above |
    /// | `DISABLE_TELEMETRY`, `DISABLE_ERROR_REPORTING` | `1` | belt and braces for the above |
    /// | `CLAUDE_CODE_DISABLE_TERMINAL_TITLE` | `1` | no terminal title, hence no title side request to the API after the first TUI prompt |
    ///
    /// Also remove [`INHERITED_ENV_TO_REMOVE`] from the child's environment.
    pub fn envs(&self) -> Vec<(String, String)> {
        let pairs = [
            ("HOME", self.home.to_string_lossy().into_owned()),
            ("ANTHROPIC_BASE_URL", self.base_url.clone()),
            ("ANTHROPIC_API_KEY", self.api_key.clone()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".to_owned()),
            ("CLAUDE_CODE_MAX_RETRIES", "0".to_owned()),
            ("DISABLE_AUTOUPDATER", "1".to_owned()),
            (
                "CLAUDE_CODE_DISABLE_OFFICIAL_MARKETPLACE_AUTOINSTALL",
                "1".to_owned(),
            ),
            ("DISABLE_TELEMETRY", "1".to_owned()),
            ("DISABLE_ERROR_REPORTING", "1".to_owned()),
            ("CLAUDE_CODE_DISABLE_TERMINAL_TITLE", "1".to_owned()),
        ];
        pairs
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect()
    }

    /// Applies [`INHERITED_ENV_TO_REMOVE`] and [`envs`](Self::envs) to a command.
    pub fn apply(&self, command: &mut std::process::Command) {
        for name in INHERITED_ENV_TO_REMOVE {
            command.env_remove(name);
        }
        command.envs(self.envs());
    }
}

/// The per-project flags: `hasTrustDialogAccepted` skips the trust dialog (and makes
/// `-p` honour `<dir>/.claude/settings.json`); `hasCompletedProjectOnboarding` swaps the
/// boxed "Welcome back!" / "Tips for getting started" header for the compact one.
fn trusted_project() -> Value {
    json!({
        "hasTrustDialogAccepted": true,
        "hasCompletedProjectOnboarding": true,
    })
}

/// The content [`ClaudeEnv::prepare`] writes to `~/.claude.json`, for the given API
/// key and project directories (already in the CLI's key form: canonical absolute
/// paths):
///
/// ```json
/// {
///   "hasCompletedOnboarding": true,
///   "lastOnboardingVersion": "2.1.197",
///   "lastReleaseNotesSeen": "2.1.197",
///   "autoUpdates": false,
///   "customApiKeyResponses": { "approved": ["<last 20 chars of the key>"], "rejected": [] },
///   "projects": {
///     "<dir>": { "hasTrustDialogAccepted": true, "hasCompletedProjectOnboarding": true }
///   }
/// }
/// ```
///
/// Without `hasCompletedOnboarding` the TUI runs its onboarding, which needs
/// api.anthropic.com and exits 1 offline; without the approved key it asks whether to
/// use the key, defaulting to "No". The version fields only keep "what's new" and
/// onboarding notices away; the CLI adds its own fields on first run.
pub fn claude_json(api_key: &str, project_dirs: &[String]) -> Value {
    let key_tail: String = {
        let chars: Vec<char> = api_key.chars().collect();
        chars[chars.len().saturating_sub(20)..].iter().collect()
    };
    let projects: Map<String, Value> = project_dirs
        .iter()
        .map(|dir| (dir.clone(), trusted_project()))
        .collect();
    json!({
        "hasCompletedOnboarding": true,
        "lastOnboardingVersion": CLAUDE_CLI_VERSION,
        "lastReleaseNotesSeen": CLAUDE_CLI_VERSION,
        "autoUpdates": false,
        "customApiKeyResponses": {"approved": [key_tail], "rejected": []},
        "projects": projects,
    })
}

/// The key the CLI files a directory under in `projects`: its absolute, canonical path.
fn project_key(dir: &Path) -> io::Result<String> {
    let canonical = std::fs::canonicalize(dir)?;
    canonical.to_str().map(str::to_owned).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not valid UTF-8", canonical.display()),
        )
    })
}

/// Writes `value` as pretty JSON via a temporary file and a rename, so a reader
/// never sees half a file.
fn write_json(path: &Path, value: &Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The CLI binary to test with: `$CCWEB_TEST_CLAUDE_BIN` if set, else the one
/// `scripts/install-claude-cli.sh` puts in
/// `<workspace>/.cache/claude-cli/node_modules/@anthropic-ai/claude-code-linux-x64/claude`
/// (or `node_modules/.bin/claude` there), if it exists.
pub fn claude_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(CLAUDE_BIN_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let cache = workspace_root().join(".cache/claude-cli/node_modules");
    [
        cache.join("@anthropic-ai/claude-code-linux-x64/claude"),
        cache.join(".bin/claude"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// For tests that need the real CLI: its path, or `None` when
/// `CCWEB_SKIP_CLI_TESTS=1` (the test should then return early; it says
/// that it skipped).
///
/// # Panics
/// When the CLI is missing or does not report [`CLAUDE_CLI_VERSION`] and skipping was
/// not asked for, with a message that says how to install it. A missing CLI must
/// fail the suite, not pass it silently. Under `CI=true` asking to skip fails too
/// ([`crate::skip_or_fail`]).
pub fn require_claude_bin() -> Option<PathBuf> {
    if std::env::var(SKIP_CLI_TESTS_ENV).is_ok_and(|v| v == "1") {
        crate::skip_or_fail(&format!(
            "{SKIP_CLI_TESTS_ENV}=1 asks to skip the tests that need the Claude Code CLI"
        ));
        return None;
    }
    // Checked once per test binary: `--version` takes about 0.1 s.
    static CHECKED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match CHECKED.get_or_init(check_claude_bin) {
        Ok(path) => Some(path.clone()),
        Err(problem) => panic!(
            "{problem}: run scripts/install-claude-cli.sh (or set {CLAUDE_BIN_ENV}=/path/to/claude \
             {CLAUDE_CLI_VERSION}, or {SKIP_CLI_TESTS_ENV}=1 to skip)"
        ),
    }
}

/// Finds the CLI and checks that it reports the pinned version.
fn check_claude_bin() -> Result<PathBuf, String> {
    let path = match claude_bin() {
        Some(path) if path.is_file() => path,
        Some(path) => {
            return Err(format!(
                "the Claude Code CLI {CLAUDE_CLI_VERSION} is not installed ({} does not exist)",
                path.display()
            ))
        }
        None => {
            return Err(format!(
                "the Claude Code CLI {CLAUDE_CLI_VERSION} is not installed"
            ))
        }
    };
    let output = std::process::Command::new(&path)
        .arg("--version")
        .env("DISABLE_AUTOUPDATER", "1")
        .output()
        .map_err(|err| format!("cannot run {} --version: {err}", path.display()))?;
    let version = String::from_utf8_lossy(&output.stdout);
    // It prints e.g. "2.1.197 (Claude Code)".
    if version.split_whitespace().next() == Some(CLAUDE_CLI_VERSION) {
        // Tests with `isolation = "unix"` run it as other accounts.
        for_every_account(&path).map_err(|err| {
            format!(
                "cannot make {} usable by every account: {err}",
                path.display()
            )
        })
    } else {
        Err(format!(
            "{} reports version {:?}, but the tests are pinned to {CLAUDE_CLI_VERSION}",
            path.display(),
            version.trim()
        ))
    }
}

/// The cargo workspace root this crate was built in.
fn workspace_root() -> PathBuf {
    // crates/fake-anthropic → workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_writes_a_config_that_skips_every_dialog() {
        let home = tempfile::tempdir().unwrap();
        let work = tempfile::tempdir().unwrap();
        let env = ClaudeEnv::prepare(home.path(), "http://127.0.0.1:1", &[work.path()]).unwrap();
        assert!(home.path().join(".claude").is_dir());
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(env.config_path()).unwrap()).unwrap();
        assert_eq!(config["hasCompletedOnboarding"], true);
        assert_eq!(
            config["customApiKeyResponses"]["approved"][0],
            "0123456789abcdefghij"
        );
        let key = std::fs::canonicalize(work.path()).unwrap();
        let project = &config["projects"][key.to_str().unwrap()];
        assert_eq!(project["hasTrustDialogAccepted"], true);

        let later = tempfile::tempdir().unwrap();
        env.trust(later.path()).unwrap();
        let config: Value =
            serde_json::from_str(&std::fs::read_to_string(env.config_path()).unwrap()).unwrap();
        let key = std::fs::canonicalize(later.path()).unwrap();
        assert_eq!(
            config["projects"][key.to_str().unwrap()]["hasTrustDialogAccepted"],
            true
        );
        assert_eq!(config["projects"].as_object().unwrap().len(), 2);
    }

    #[test]
    fn envs_point_at_the_fake_and_the_private_home() {
        let env = ClaudeEnv {
            home: PathBuf::from("/h"),
            api_key: FAKE_API_KEY.into(),
            base_url: "http://127.0.0.1:9".into(),
        };
        let envs = env.envs();
        let get = |k: &str| envs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOME"), Some("/h"));
        assert_eq!(get("ANTHROPIC_BASE_URL"), Some("http://127.0.0.1:9"));
        assert_eq!(get("ANTHROPIC_API_KEY"), Some(FAKE_API_KEY));
        assert_eq!(get("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"), Some("1"));
        assert_eq!(get("CLAUDE_CODE_MAX_RETRIES"), Some("0"));
    }
}

/// `path` (an executable), or a copy of it that every account may run: the
/// file itself when it and every directory above it are open to others,
/// else a copy under `/var/tmp/ccweb-test-bin/` (kept per name, size and
/// modification time, so each build is copied once per machine). Tests
/// that run programs as other Unix accounts (`isolation = "unix"`) need
/// it when the checkout lives in a private directory such as `/root`.
pub fn for_every_account(path: &Path) -> io::Result<PathBuf> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let open_to_others =
        |p: &Path, bits: u32| std::fs::metadata(p).is_ok_and(|m| m.mode() & bits == bits);
    let path = path.canonicalize()?;
    if open_to_others(&path, 0o005)
        && path
            .ancestors()
            .skip(1)
            .all(|dir| open_to_others(dir, 0o001))
    {
        return Ok(path);
    }
    let meta = std::fs::metadata(&path)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?
        .to_string_lossy()
        .into_owned();
    let dir = Path::new("/var/tmp/ccweb-test-bin").join(format!(
        "{name}-{}-{}",
        meta.len(),
        meta.mtime()
    ));
    let copy = dir.join(&name);
    if copy.is_file() {
        return Ok(copy);
    }
    std::fs::create_dir_all(&dir)?;
    for d in [dir.parent().unwrap_or(&dir), &dir] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))?;
    }
    // Copied under a name of this process's, then renamed: tests running
    // at the same time never run a half-written copy.
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::copy(&path, &tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, &copy)?;
    Ok(copy)
}

#[cfg(test)]
mod every_account_tests {
    use super::for_every_account;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_program_in_a_private_directory_is_copied_where_every_account_may_run_it() {
        let private = tempfile::tempdir().unwrap();
        std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let program = private.path().join("prog");
        std::fs::write(
            &program,
            format!("#!/bin/sh\necho {}\n", std::process::id()),
        )
        .unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let usable = for_every_account(&program).unwrap();
        assert!(
            usable.starts_with("/var/tmp/ccweb-test-bin"),
            "{}",
            usable.display()
        );
        assert_eq!(
            std::fs::read(&usable).unwrap(),
            std::fs::read(&program).unwrap()
        );
        let mode = std::fs::metadata(&usable).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
        // Asked again: the same copy.
        assert_eq!(for_every_account(&program).unwrap(), usable);
        std::fs::remove_dir_all(usable.parent().unwrap()).unwrap();

        // Open to everyone already: the program itself.
        std::fs::set_permissions(private.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let open = for_every_account(&program).unwrap();
        assert_eq!(open, program.canonicalize().unwrap());
    }
}
