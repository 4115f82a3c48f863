//! How sessions' processes are contained (cgroup or process tree, see
//! `ccweb_runner::contain`) and, if configured, sandboxed with bubblewrap.

use std::path::PathBuf;
use std::sync::OnceLock;

use ccweb_runner::launch::{Account, AccountPolicy, LaunchAs, Launcher, LauncherPolicy};
use ccweb_runner::user_files::UserFiles;
use ccweb_runner::{Containment, Sandbox, SessionLimits};

use crate::config::{Config, ConfigError, IsolationMode, SandboxMode};
use crate::error::ApiError;

/// The launcher `ccweb serve` started (`isolation = "unix"`), set once
/// before the server is built.
static LAUNCHER: OnceLock<Launcher> = OnceLock::new();

/// Hands the running launcher to the sessions (`isolation = "unix"`).
pub fn set_launcher(launcher: Launcher) {
    let _ = LAUNCHER.set(launcher);
}

/// The containment and sandbox every session of this server gets.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// Keeps each session's processes together.
    pub containment: Containment,
    /// `Some` when `sandbox = "bubblewrap"`.
    pub sandbox: Option<Sandbox>,
    /// `isolation = "unix"`: `Some` once the launcher runs (else every
    /// session start is refused: nothing runs as ccweb's own account).
    unix: Option<Option<Launcher>>,
}

impl Isolation {
    /// Sets up containment for this data dir (killing what a killed
    /// earlier run left behind) with the sessions' limits, and the sandbox
    /// policy.
    pub fn new(config: &Config) -> Isolation {
        let limits = SessionLimits {
            max_processes: config.session_max_processes,
            max_memory_bytes: config.session_max_memory_bytes,
        };
        Isolation {
            containment: Containment::init(&config.data_dir, limits),
            sandbox: sandbox(config),
            unix: (config.isolation == IsolationMode::Unix).then(|| LAUNCHER.get().cloned()),
        }
    }

    /// `isolation = "unix"`: makes ccweb user `user`'s Unix account ready
    /// (created if allowed; home, Claude home and roots its own) and says
    /// how to start programs as it. `None` with `isolation = "none"`.
    pub async fn launch_as(&self, user: &str) -> Result<Option<(LaunchAs, Account)>, ApiError> {
        let Some(unix) = &self.unix else {
            return Ok(None);
        };
        let Some(launcher) = unix.clone() else {
            return Err(launcher_unavailable());
        };
        let name = user.to_owned();
        let asked = launcher.clone();
        let account = tokio::task::spawn_blocking(move || asked.prepare(&name))
            .await
            .map_err(ApiError::internal)?
            .map_err(|message| ApiError::Unavailable {
                code: "unix_account_unavailable",
                message,
            })?;
        Ok(Some((
            LaunchAs {
                launcher,
                user: user.to_owned(),
            },
            account,
        )))
    }
}

impl Isolation {
    /// Resolves and checks a working directory for `user`: as the server
    /// with `isolation = "none"`, as the user's account through the
    /// launcher with `isolation = "unix"` (their roots are 0700, theirs).
    pub async fn resolve_working_dir(
        &self,
        user: &str,
        requested: &str,
        roots: &[PathBuf],
    ) -> Result<PathBuf, ApiError> {
        let Some(unix) = &self.unix else {
            return crate::paths::resolve_working_dir(requested, roots);
        };
        let Some(launcher) = unix.clone() else {
            return Err(launcher_unavailable());
        };
        let (user, requested, roots) = (user.to_owned(), requested.to_owned(), roots.to_vec());
        tokio::task::spawn_blocking(move || {
            crate::paths::resolve_working_dir_with(&requested, &roots, |joined| {
                launcher.resolve_as(&user, joined)
            })
        })
        .await
        .map_err(ApiError::internal)?
    }

    /// Who reads ccweb user `user`'s files (their Claude home, their
    /// roots): the server itself with `isolation = "none"`, the launcher as
    /// their account with `"unix"` (`None` while the launcher is not
    /// running: nothing of theirs can be read).
    pub fn user_files(&self, user: &str) -> Option<UserFiles> {
        match &self.unix {
            None => Some(UserFiles::Direct),
            Some(launcher) => launcher.clone().map(|launcher| {
                UserFiles::As(LaunchAs {
                    launcher,
                    user: user.to_owned(),
                })
            }),
        }
    }
}

/// The refusal while `isolation = "unix"` has no launcher running.
pub fn launcher_unavailable() -> ApiError {
    ApiError::Unavailable {
        code: "launcher_unavailable",
        message: "isolation = \"unix\" but the launcher is not running".into(),
    }
}

/// The account policy of `config` (`unix_user`, `unix_users`,
/// `create_unix_users`, `user_roots`), never mapping to `server_uid`.
pub fn account_policy(config: &Config, server_uid: u32) -> AccountPolicy {
    AccountPolicy {
        pattern: config.unix_user.clone(),
        map: config.unix_users.clone(),
        create: config.create_unix_users,
        user_roots: config.user_roots.clone(),
        server_uid,
        uid_min: ccweb_runner::launch::account::uid_min(),
    }
}

/// What the launcher of `config` is told at start.
pub fn launcher_policy(config: &Config, server_uid: u32) -> LauncherPolicy {
    LauncherPolicy {
        accounts: account_policy(config, server_uid),
        instance: config.data_dir.clone(),
        max_processes: config.session_max_processes,
        max_memory_bytes: config.session_max_memory_bytes,
    }
}

/// The sandbox policy of `config`: the allowed roots and the data dir are
/// hidden (except the root a session works in), `sandbox_read_only` added.
fn sandbox(config: &Config) -> Option<Sandbox> {
    (config.sandbox == SandboxMode::Bubblewrap).then(|| Sandbox {
        bwrap: bwrap(config),
        roots: config.allowed_roots.clone(),
        private: vec![config.data_dir.clone()],
        read_only: config.sandbox_read_only.clone(),
        // Each user's own account: ccweb's files in /etc are not theirs.
        etc_allow_list: config.isolation == IsolationMode::Unix,
        // Filled in per session (`with_own_roots`).
        own_roots: Vec::new(),
    })
}

/// `sandbox_bwrap`; a bare name through the server's `PATH`.
fn bwrap(config: &Config) -> PathBuf {
    let configured = &config.sandbox_bwrap;
    if configured.components().count() > 1 {
        return configured.clone();
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(configured))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| configured.clone())
}

/// Fails closed at start: with `sandbox = "bubblewrap"`, `bwrap` must exist
/// and be able to build a sandbox here.
pub fn check(config: &Config) -> Result<(), ConfigError> {
    let Some(sandbox) = sandbox(config) else {
        return Ok(());
    };
    sandbox.probe().map_err(|e| ConfigError {
        key: "sandbox",
        message: format!(
            "sandbox = \"bubblewrap\" but {e}; install bubblewrap (apt-get install bubblewrap) \
             and make sure unprivileged user namespaces are allowed, or set sandbox = \"none\""
        ),
    })
}

/// Whether this server allows only one enabled user: its sessions share
/// one Unix account, Claude home and credential (`isolation = "none"`) and
/// the operator has not accepted that (`allow_shared_identity`).
pub fn single_enabled_user(config: &Config) -> bool {
    config.isolation == IsolationMode::None && !config.allow_shared_identity
}

/// Refuses the start when more than one user is enabled although
/// [`single_enabled_user`] holds: every user's agent could read and change
/// everyone's work. The store refuses a second one at runtime.
pub fn check_shared_identity(config: &Config, enabled_users: i64) -> Result<(), ConfigError> {
    if !single_enabled_user(config) || enabled_users <= 1 {
        return Ok(());
    }
    Err(ConfigError {
        key: "isolation",
        message: format!(
            "{enabled_users} users are enabled, but with isolation = \"none\" every session \
             runs as this server's own Unix account with one Claude home and credential, so \
             each user's agent can read and change the others' work; set isolation = \"unix\" \
             to run each user as their own account, or allow_shared_identity = true to accept \
             the shared identity (or disable all users but one)"
        ),
    })
}

/// At shutdown, after the sessions stopped: kills the orphans ccweb adopted
/// that no session's containment accounted for (process-tree backend).
pub fn kill_adopted_orphans() {
    ccweb_runner::contain::kill_adopted_orphans();
}
