//! How sessions' processes are contained (cgroup or process tree, see
//! `ccweb_runner::contain`) and, if configured, sandboxed with bubblewrap.

use std::path::PathBuf;

use ccweb_runner::{Containment, Sandbox, SessionLimits};

use crate::config::{Config, ConfigError, IsolationMode, SandboxMode};

/// The containment and sandbox every session of this server gets.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// Keeps each session's processes together.
    pub containment: Containment,
    /// `Some` when `sandbox = "bubblewrap"`.
    pub sandbox: Option<Sandbox>,
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
        }
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
