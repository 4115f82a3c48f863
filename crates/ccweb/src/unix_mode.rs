//! `isolation = "unix"` at start: the privileged launcher first, then the
//! server gives up root for good (privilege separation, docs/security.md).
//!
//! Started as root, `serve` starts `ccweb launcher` (its own executable),
//! hands the data dir to `server_user` and becomes that account before
//! the runtime starts a thread or anything listens. Started as another
//! user, it starts the launcher through `launcher_command` (sudo).

use std::ffi::OsString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};

use ccweb_runner::launch::{Launcher, LauncherPolicy};
use ccweb_server::config::IsolationMode;
use ccweb_server::Config;
use nix::unistd::{Gid, Uid, User};

use crate::cli::{Global, ServeFlags};
use crate::settings::{self, SettingsError};

/// Before the runtime: with `isolation = "unix"`, starts the launcher and
/// (as root) becomes `server_user`. Returns the configuration read while
/// still privileged (the file may be readable by root only), or `None`
/// with `isolation = "none"`.
pub(crate) fn before_serve(
    global: &Global,
    flags: &ServeFlags,
) -> Result<Option<Config>, SettingsError> {
    let config = settings::load(global, flags)?;
    if config.isolation != IsolationMode::Unix {
        return Ok(None);
    }
    let fail = |message: String| SettingsError(format!("isolation = \"unix\": {message}"));
    ccweb_server::isolation::account_policy(&config, 0)
        .check()
        .map_err(SettingsError)?;
    if Uid::effective().is_root() {
        let server = server_account(&config).map_err(fail)?;
        let program = std::env::current_exe()
            .map_err(|e| fail(format!("cannot find ccweb's own executable: {e}")))?;
        let command = vec![program.into_os_string(), "launcher".into()];
        let policy = ccweb_server::isolation::launcher_policy(&config, server.uid.as_raw());
        let launcher = start_launcher(&command, Some(&policy)).map_err(fail)?;
        hand_over(&config.data_dir, &server).map_err(fail)?;
        become_user(&server).map_err(fail)?;
        ccweb_server::isolation::set_launcher(launcher);
    } else {
        if config.launcher_command.is_empty() {
            return Err(fail(
                "ccweb runs as a non-root user and launcher_command is not set: start ccweb as \
                 root (it drops to server_user), or set launcher_command (see deploy.md)"
                    .into(),
            ));
        }
        // The launcher reads its policy from the configuration itself:
        // what this unprivileged process says is no policy for root.
        let command: Vec<OsString> = config.launcher_command.iter().map(Into::into).collect();
        let launcher = start_launcher(&command, None).map_err(fail)?;
        ccweb_server::isolation::set_launcher(launcher);
    }
    Ok(Some(config))
}

/// `server_user`, created (a system account without a login) when
/// `create_unix_users`; never root.
fn server_account(config: &Config) -> Result<User, String> {
    let name = &config.server_user;
    if !ccweb_runner::launch::account::valid_account_name(name) {
        return Err(format!("server_user {name:?} is not a valid account name"));
    }
    let lookup = || User::from_name(name).map_err(|e| format!("cannot look up {name}: {e}"));
    let user = match lookup()? {
        Some(user) => user,
        None if config.create_unix_users => {
            let status = Command::new("useradd")
                .args([
                    "--system",
                    "--user-group",
                    "--no-create-home",
                    "--home-dir",
                    "/nonexistent",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--",
                ])
                .arg(name)
                .stdin(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run useradd: {e}"))?;
            if !status.success() {
                return Err(format!("useradd {name} failed ({status})"));
            }
            lookup()?.ok_or_else(|| format!("{name} was created but cannot be found"))?
        }
        None => {
            return Err(format!(
                "server_user {name} does not exist: create it (useradd --system --user-group \
                 {name}) or set create_unix_users = true"
            ))
        }
    };
    if user.uid.is_root() || user.gid.as_raw() == 0 {
        return Err(format!(
            "server_user {name} is root; the server never runs as root"
        ));
    }
    Ok(user)
}

/// Starts the launcher: `command` (plus the policy, as JSON, when given)
/// with the launcher's end of a new socket pair as its stdin.
fn start_launcher(
    command: &[OsString],
    policy: Option<&LauncherPolicy>,
) -> Result<Launcher, String> {
    let (ours, theirs) = ccweb_runner::launch::socket_pair()
        .map_err(|e| format!("cannot create the launcher's socket: {e}"))?;
    let policy = policy
        .map(|p| serde_json::to_string(p).map_err(|e| e.to_string()))
        .transpose()?;
    let Some((program, args)) = command.split_first() else {
        return Err("launcher_command is empty".into());
    };
    // Its log lines (stderr) join the server's. It is never waited for
    // here: it ends when the server's end of the socket closes, and the
    // server's orphan reaper collects it.
    Command::new(program)
        .args(args)
        .args(policy)
        .stdin(Stdio::from(theirs))
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start the launcher {}: {e}",
                Path::new(program).display()
            )
        })?;
    Ok(Launcher::new(ours))
}

/// The data dir (made if missing) and everything in it: owned by the
/// server's account, the dir 0700.
fn hand_over(data_dir: &Path, server: &User) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    settings::create_private_dir(data_dir).map_err(|e| format!("{e:#}"))?;
    let chown = |p: &Path| {
        std::os::unix::fs::lchown(p, Some(server.uid.as_raw()), Some(server.gid.as_raw()))
            .map_err(|e| format!("cannot hand {} to {}: {e}", p.display(), server.name))
    };
    let mut stack = vec![data_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        chown(&dir)?;
        let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                _ => chown(&path)?,
            }
        }
    }
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| format!("cannot make {} private: {e}", data_dir.display()))
}

/// Becomes `user` for good: no supplementary groups, its gid, its uid (the
/// kernel clears every capability with the switch away from uid 0).
fn become_user(user: &User) -> Result<(), String> {
    let fail = |what: &str, e: nix::Error| format!("cannot {what}: {e}");
    nix::unistd::setgroups(&[]).map_err(|e| fail("drop supplementary groups", e))?;
    nix::unistd::setgid(user.gid).map_err(|e| fail("change group", e))?;
    nix::unistd::setuid(user.uid).map_err(|e| fail("change user", e))?;
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok()
        || nix::unistd::setgid(Gid::from_raw(0)).is_ok()
    {
        return Err("root could be regained after dropping it".into());
    }
    Ok(())
}

/// `ccweb launcher [POLICY]`: serves the socket on its standard input
/// until the server closes it.
pub(crate) fn launcher(global: &Global, policy: Option<&str>) -> ExitCode {
    settings::init_tracing(ccweb_server::config::LogFormat::Json);
    // Out of the terminal's process group: Ctrl-C stops the server (which
    // then ends its sessions through this launcher), not the launcher
    // under its sessions. It ends when the server's end of the socket closes.
    let _ = nix::unistd::setsid();
    let policy = match policy {
        Some(json) => serde_json::from_str(json).map_err(|e| format!("bad policy: {e}")),
        None => policy_from_config(global),
    };
    let policy: LauncherPolicy = match policy {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ccweb launcher: {e}");
            return ExitCode::from(2);
        }
    };
    // Safety: descriptor 0 is the socket `serve` gave this process as its
    // standard input; nothing else in this process uses or closes it.
    #[allow(unsafe_code)]
    let socket = unsafe { OwnedFd::from_raw_fd(0) };
    match ccweb_runner::launch::run_launcher(socket, policy) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ccweb launcher: {e}");
            ExitCode::from(1)
        }
    }
}

/// The policy of a launcher started through sudo: from the configuration
/// (the file named in the sudoers rule), the server's uid from `SUDO_UID`
/// (set by sudo, so the server's own account is never a session's).
fn policy_from_config(global: &Global) -> Result<LauncherPolicy, String> {
    let config = settings::load(global, &ServeFlags::default()).map_err(|e| e.to_string())?;
    if config.isolation != IsolationMode::Unix {
        return Err("the configuration does not say isolation = \"unix\"".into());
    }
    let server_uid: u32 = std::env::var("SUDO_UID")
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or("without a policy argument the launcher must be started by sudo (no SUDO_UID)")?;
    Ok(ccweb_server::isolation::launcher_policy(
        &config, server_uid,
    ))
}
