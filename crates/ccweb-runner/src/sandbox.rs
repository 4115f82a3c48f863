//! The optional bubblewrap sandbox: the CLI sees the system read-only, its
//! working directory and its own state directory read-write, a private
//! `/tmp`, and nothing of the other allowed roots or ccweb's data dir.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::actor::SpawnSpec;

/// System directories bound read-only (a symlink, as on merged-/usr
/// systems, is recreated as the same symlink).
const SYSTEM_DIRS: [&str; 9] = [
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
];
/// Files of `/etc` that stay hidden even though `/etc` is visible: password
/// hashes and host keys (readable when ccweb runs as root).
const HIDDEN_SYSTEM_PATHS: [&str; 6] = [
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/ssh",
    "/etc/ssl/private",
];
/// What of `/etc` a sandbox with [`Sandbox::etc_allow_list`] shows: what a
/// shell, git, node, DNS and TLS need, and nothing of ccweb's (its
/// configuration and key files may live in `/etc`).
const ETC_ALLOW_LIST: [&str; 33] = [
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/protocols",
    "/etc/services",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/pki",
    "/etc/crypto-policies",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/os-release",
    "/etc/lsb-release",
    "/etc/debian_version",
    "/etc/profile",
    "/etc/profile.d",
    "/etc/bash.bashrc",
    "/etc/inputrc",
    "/etc/environment",
    "/etc/gitconfig",
    "/etc/mime.types",
    "/etc/locale.alias",
    "/etc/terminfo",
];
/// How long the start-up probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to run a session's CLI under `bwrap`.
#[derive(Debug, Clone)]
pub struct Sandbox {
    /// The `bwrap` program.
    pub bwrap: PathBuf,
    /// The allowed roots: hidden, except the one the session works in.
    pub roots: Vec<PathBuf>,
    /// Always hidden (ccweb's data dir, with the database), even when it
    /// contains the working directory.
    pub private: Vec<PathBuf>,
    /// More directories to bind read-only (e.g. where `node` lives).
    pub read_only: Vec<PathBuf>,
    /// Show only [`ETC_ALLOW_LIST`] of `/etc` instead of all of it
    /// (`isolation = "unix"`).
    pub etc_allow_list: bool,
    /// More directories bound read-write: the session's user's own roots
    /// (`isolation = "unix"`, where they are the user's account's).
    pub own_roots: Vec<PathBuf>,
}

/// Why the sandbox cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// `bwrap` could not be started.
    #[error("cannot run {bwrap}: {source}")]
    Start {
        /// The program.
        bwrap: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `bwrap` ran but could not build a sandbox.
    #[error("{bwrap} cannot create a sandbox here ({status}): {stderr}")]
    Probe {
        /// The program.
        bwrap: String,
        /// Its exit status.
        status: String,
        /// What it said.
        stderr: String,
    },
}

/// One mount of the sandbox, applied in order (later ones cover earlier ones).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Mount {
    ReadOnly(PathBuf),
    ReadWrite(PathBuf),
    /// The working directory, read-write: bound from bwrap's own current
    /// directory (`/proc/self/cwd`), which the runner set to the directory
    /// it opened and checked, not from its path, which could have been
    /// swapped for a symlink since.
    WorkingDir(PathBuf),
    Hide(PathBuf),
}

impl Mount {
    fn path(&self) -> &Path {
        match self {
            Mount::ReadOnly(p) | Mount::ReadWrite(p) | Mount::WorkingDir(p) | Mount::Hide(p) => p,
        }
    }
}

impl Sandbox {
    /// Checks that `bwrap` can build a sandbox here (`bwrap --ro-bind / / true`).
    pub fn probe(&self) -> Result<(), SandboxError> {
        let bwrap = self.bwrap.display().to_string();
        let mut child = std::process::Command::new(&self.bwrap)
            .args(["--ro-bind", "/", "/", "--unshare-pid", "--", "true"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|source| SandboxError::Start {
                bwrap: bwrap.clone(),
                source,
            })?;
        let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.to_string(),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break "timed out".to_owned();
                }
                Err(source) => return Err(SandboxError::Start { bwrap, source }),
            }
        };
        if status == "exit status: 0" {
            return Ok(());
        }
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        Err(SandboxError::Probe {
            bwrap,
            status,
            stderr: stderr.trim().to_owned(),
        })
    }

    /// The `bwrap` command line that runs `program` (already resolved to an
    /// absolute path) with `spec`'s arguments. `new_session`: detach from
    /// the controlling terminal (chat sessions; a terminal session's TUI
    /// needs its PTY as controlling terminal, and that PTY is its own).
    pub(crate) fn command(
        &self,
        spec: &SpawnSpec,
        program: &Path,
        new_session: bool,
    ) -> (PathBuf, Vec<OsString>) {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |a: &[&std::ffi::OsStr]| args.extend(a.iter().map(|s| s.to_os_string()));
        // Network stays shared: the CLI must reach the API.
        push(&[
            "--die-with-parent".as_ref(),
            "--unshare-pid".as_ref(),
            "--unshare-ipc".as_ref(),
        ]);
        if new_session {
            push(&["--new-session".as_ref()]);
        }
        for dir in SYSTEM_DIRS {
            let path = Path::new(dir);
            if self.etc_allow_list && dir == "/etc" {
                for allowed in ETC_ALLOW_LIST {
                    push(&["--ro-bind-try".as_ref(), allowed.as_ref(), allowed.as_ref()]);
                }
                continue;
            }
            match std::fs::read_link(path) {
                Ok(target) => push(&["--symlink".as_ref(), target.as_os_str(), path.as_os_str()]),
                Err(_) if path.is_dir() => {
                    push(&["--ro-bind".as_ref(), path.as_os_str(), path.as_os_str()])
                }
                Err(_) => {}
            }
        }
        for hidden in HIDDEN_SYSTEM_PATHS {
            let path = Path::new(hidden);
            let shown = !self.etc_allow_list
                || ETC_ALLOW_LIST
                    .iter()
                    .any(|allowed| path.starts_with(allowed));
            if !shown {
                continue;
            }
            if path.is_dir() {
                push(&["--tmpfs".as_ref(), path.as_os_str()]);
            } else if path.exists() {
                push(&["--ro-bind".as_ref(), "/dev/null".as_ref(), path.as_os_str()]);
            }
        }
        push(&[
            "--proc".as_ref(),
            "/proc".as_ref(),
            "--dev".as_ref(),
            "/dev".as_ref(),
        ]);
        push(&["--tmpfs".as_ref(), "/tmp".as_ref()]);
        for mount in self.mounts(spec, program) {
            match &mount {
                Mount::ReadOnly(p) => push(&["--ro-bind".as_ref(), p.as_os_str(), p.as_os_str()]),
                Mount::ReadWrite(p) => push(&["--bind".as_ref(), p.as_os_str(), p.as_os_str()]),
                Mount::WorkingDir(p) => {
                    push(&["--bind".as_ref(), "/proc/self/cwd".as_ref(), p.as_os_str()])
                }
                Mount::Hide(p) => push(&["--tmpfs".as_ref(), p.as_os_str()]),
            }
        }
        push(&[
            "--chdir".as_ref(),
            spec.cwd.as_os_str(),
            "--".as_ref(),
            program.as_os_str(),
        ]);
        args.extend(spec.args.iter().cloned());
        (self.bwrap.clone(), args)
    }

    /// The session's own mounts, shallowest first so deeper ones win: the
    /// CLI's installation read-only, its state dirs and the working dir
    /// read-write, and every hidden directory that lies inside one of them
    /// covered by an empty tmpfs (hiding wins over a bind of the same path).
    fn mounts(&self, spec: &SpawnSpec, program: &Path) -> Vec<Mount> {
        let env = |key: &str| {
            spec.env
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| PathBuf::from(v))
        };
        let mut mounts = Vec::new();
        let canonical = |p: &Path| std::fs::canonicalize(p).ok().filter(|c| c.is_dir());
        if let Some(dir) = program.parent().and_then(canonical) {
            mounts.push(Mount::ReadOnly(dir));
        }
        for dir in self.read_only.iter().filter_map(|d| canonical(d)) {
            mounts.push(Mount::ReadOnly(dir));
        }
        // The CLI keeps its state in $CLAUDE_CONFIG_DIR, or ~/.claude and ~/.claude.json.
        for dir in [env("HOME"), env("CLAUDE_CONFIG_DIR")]
            .into_iter()
            .flatten()
            .filter_map(|d| canonical(&d))
        {
            mounts.push(Mount::ReadWrite(dir));
        }
        for dir in self.own_roots.iter().filter_map(|d| canonical(d)) {
            mounts.push(Mount::ReadWrite(dir));
        }
        mounts.push(Mount::WorkingDir(spec.cwd.clone()));
        let bound: Vec<PathBuf> = mounts.iter().map(|m| m.path().to_path_buf()).collect();
        let roots = self.roots.iter().filter_map(|d| canonical(d));
        // The root the session works in stays visible; the other roots and
        // the data dir disappear wherever a bind would show them.
        let others = roots.filter(|r| !spec.cwd.starts_with(r));
        let private = self.private.iter().filter_map(|d| canonical(d));
        for hidden in others.chain(private) {
            if bound.iter().any(|b| hidden.starts_with(b)) {
                mounts.push(Mount::Hide(hidden));
            }
        }
        // Stable sort: at equal depth, binds keep their order and a hide
        // (pushed last) comes after them.
        mounts.sort_by_key(|m| m.path().components().count());
        mounts.dedup();
        mounts
    }
}

/// Resolves `program` the way `exec` in the child would: a path as is, a
/// bare name through the child's `PATH`. `None` when nothing executable is there.
pub(crate) fn resolve_program(program: &Path, env: &[(OsString, OsString)]) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.components().count() > 1 {
        return executable(program).then(|| program.to_path_buf());
    }
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| executable(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_roots_and_the_data_dir_are_hidden_where_a_bind_would_show_them() {
        let base = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(base.path()).unwrap();
        let home = base.join("home");
        let a = base.join("home/a");
        let b = base.join("home/b");
        let data = base.join("home/.local/share/ccweb");
        let elsewhere = base.join("elsewhere");
        for d in [&a, &b, &data, &elsewhere] {
            std::fs::create_dir_all(d).unwrap();
        }
        let sandbox = Sandbox {
            bwrap: "/usr/bin/bwrap".into(),
            roots: vec![a.clone(), b.clone(), elsewhere],
            private: vec![data.clone()],
            read_only: Vec::new(),
            etc_allow_list: false,
            own_roots: Vec::new(),
        };
        let spec = SpawnSpec {
            program: "/bin/sh".into(),
            args: Vec::new(),
            cwd: a.clone(),
            env: vec![("HOME".into(), home.clone().into())],
            cols: 80,
            rows: 24,
            containment: Default::default(),
            sandbox: None,
            launch: None,
        };
        let mounts = sandbox.mounts(&spec, Path::new("/bin/sh"));
        assert!(mounts.contains(&Mount::ReadWrite(home)));
        assert!(mounts.contains(&Mount::WorkingDir(a.clone())));
        assert!(mounts.contains(&Mount::Hide(b)), "{mounts:?}");
        assert!(mounts.contains(&Mount::Hide(data)), "{mounts:?}");
        assert!(!mounts.contains(&Mount::Hide(a)), "its own root stays");
        assert_eq!(
            mounts
                .iter()
                .filter(|m| matches!(m, Mount::Hide(_)))
                .count(),
            2,
            "{mounts:?}"
        );
    }
}
