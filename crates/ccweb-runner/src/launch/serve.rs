//! The launcher's side: reads requests from the server, validates each one
//! against the policy it was started with, and starts children as the
//! mapped account. Runs as root; everything here trusts the server only as
//! far as the policy allows (any ccweb user name, never any account).

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::account::{Account, AccountPolicy};
use super::reads::{absolute, as_account, failed, open_beneath_as, send_in_parts, with_fs_ids};
use super::{wire, Control, Report, Request};
use crate::contain::{self, Containment, Scope};
use crate::SessionLimits;

/// Everything the launcher is told at start (on its command line, or from
/// the configuration when started through sudo), and nothing later: which
/// accounts it may run, and how sessions are contained.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LauncherPolicy {
    /// Which ccweb user runs as which account.
    pub accounts: AccountPolicy,
    /// The server's data dir (names the containment cgroup).
    pub instance: PathBuf,
    /// `session_max_processes`.
    pub max_processes: u64,
    /// `session_max_memory_bytes`.
    pub max_memory_bytes: u64,
}

/// Serves requests on `socket` until the server closes it (then kills
/// every session left: nothing outlives the server's end). Needs root.
pub fn run(socket: OwnedFd, policy: LauncherPolicy) -> std::io::Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Err(std::io::Error::other("ccweb launcher must run as root"));
    }
    policy.accounts.check().map_err(std::io::Error::other)?;
    let containment = Containment::init(
        &policy.instance,
        SessionLimits {
            max_processes: policy.max_processes,
            max_memory_bytes: policy.max_memory_bytes,
        },
    );
    let policy = Arc::new(policy);
    let mut requests: Vec<std::thread::JoinHandle<()>> = Vec::new();
    loop {
        let (request, mut fds) = match wire::recv::<Request>(&socket, wire::MAX_REQUEST) {
            Ok(Some(received)) => received,
            Ok(None) => break,
            // A bad request is refused alone; the sessions go on.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                tracing::warn!(error = %e, "launcher: a malformed request; ignored");
                continue;
            }
            Err(e) => return Err(e),
        };
        requests.retain(|t| !t.is_finished());
        if fds.is_empty() {
            tracing::warn!("launcher: a request without a reply channel; ignored");
            continue;
        }
        let channel = fds.remove(0);
        let policy = policy.clone();
        let containment = containment.clone();
        // Creating an account or waiting for a child must not hold up
        // other sessions' requests.
        let started = std::thread::Builder::new()
            .name("launcher-request".into())
            .spawn(move || handle(request, channel, fds, &policy, &containment));
        match started {
            Ok(thread) => requests.push(thread),
            Err(e) => tracing::error!(error = %e, "launcher: cannot start a thread"),
        }
    }
    // The server is gone, and with it every channel: each session's
    // thread kills what is left of it. Exiting before they are done would
    // leave those processes running.
    for thread in requests {
        let _ = thread.join();
    }
    // The server is gone: so is everything it started.
    contain::kill_adopted_orphans();
    Ok(())
}

fn handle(
    request: Request,
    channel: OwnedFd,
    fds: Vec<OwnedFd>,
    policy: &LauncherPolicy,
    containment: &Containment,
) {
    match request {
        Request::Prepare { user } => {
            let report = match policy
                .accounts
                .ensure(&user)
                .and_then(|a| policy.accounts.prepare(&user, &a).map(|()| a))
            {
                Ok(account) => Report::Account(account),
                Err(e) => Report::Error(e),
            };
            let _ = wire::send(&channel, &report, &[]);
        }
        Request::Open { user, base, path } => {
            let opened = prepared(policy, &user)
                .map_err(std::io::Error::other)
                .and_then(|a| open_beneath_as(&a, &base, &path));
            let _ = match opened {
                Ok(file) => wire::send(&channel, &Report::Opened, &[file.as_raw_fd()]),
                Err(e) => wire::send(&channel, &failed(&e), &[]),
            };
        }
        Request::ListConversations { user, home, cwd } => {
            let listed = prepared(policy, &user)
                .map_err(std::io::Error::other)
                .and_then(|a| {
                    absolute(&home)?;
                    absolute(&cwd)?;
                    as_account(&a, || crate::transcript::list_conversations(&home, &cwd))
                });
            match listed {
                Ok(list) => send_in_parts(&channel, list, Report::Conversations, false),
                Err(e) => {
                    let _ = wire::send(&channel, &failed(&e), &[]);
                }
            }
        }
        Request::ListSubdirs {
            user,
            dir,
            show_hidden,
        } => {
            let listed = prepared(policy, &user)
                .map_err(std::io::Error::other)
                .and_then(|a| {
                    absolute(&dir)?;
                    as_account(&a, || crate::dirs::list_subdirs(&dir, show_hidden))
                });
            match listed {
                Ok(list) => send_in_parts(&channel, list.dirs, Report::Subdirs, list.truncated),
                Err(e) => {
                    let _ = wire::send(&channel, &failed(&e), &[]);
                }
            }
        }
        Request::Resolve { user, path } => {
            let resolved = prepared(policy, &user).and_then(|a| resolve_as(&a, &path));
            let report = match resolved {
                Ok(dir) => Report::Resolved(dir),
                Err(e) => Report::Error(e),
            };
            let _ = wire::send(&channel, &report, &[]);
        }
        Request::Spawn {
            user,
            program,
            args,
            env,
            cwd,
            pty,
        } => {
            let account = match prepared(policy, &user) {
                Ok(account) => account,
                Err(e) => {
                    let _ = wire::send(&channel, &Report::Error(e), &[]);
                    return;
                }
            };
            let spawn = SpawnRequest {
                account: &account,
                program,
                args,
                env,
                cwd,
                pty,
            };
            match start(&spawn, fds, containment) {
                Ok((pid, scope)) => {
                    let _ = wire::send(&channel, &Report::Pid(pid.as_raw()), &[]);
                    supervise(pid, scope, channel);
                }
                Err(e) => {
                    let _ = wire::send(&channel, &Report::Error(e), &[]);
                }
            }
        }
    }
}

/// The account of ccweb user `user`, which must exist already (prepared):
/// open, resolve and spawn never create one.
fn prepared(policy: &LauncherPolicy, user: &str) -> Result<Account, String> {
    policy
        .accounts
        .lookup(user)?
        .ok_or_else(|| format!("ccweb user {user} has no Unix account (prepare it first)"))
}

struct SpawnRequest<'a> {
    account: &'a Account,
    program: PathBuf,
    args: Vec<std::ffi::OsString>,
    env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
    cwd: PathBuf,
    pty: bool,
}

/// Starts the child: `fds` is the PTY slave, or stdin, stdout and stderr.
fn start(
    req: &SpawnRequest<'_>,
    fds: Vec<OwnedFd>,
    containment: &Containment,
) -> Result<(Pid, Scope), String> {
    if !req.program.is_absolute() {
        return Err(format!("{} is not an absolute path", req.program.display()));
    }
    let expected = if req.pty { 1 } else { 3 };
    if fds.len() != expected {
        return Err(format!(
            "expected {expected} descriptors, got {}",
            fds.len()
        ));
    }
    let cwd = open_dir_as(req.account, &req.cwd)?;
    let mut fds = fds.into_iter();
    let Some(first) = fds.next() else {
        return Err("missing descriptors".into());
    };
    let (stdin, stdout, stderr) = if req.pty {
        let out = first.try_clone().map_err(|e| e.to_string())?;
        let err = first.try_clone().map_err(|e| e.to_string())?;
        (first, out, err)
    } else {
        match (fds.next(), fds.next()) {
            (Some(out), Some(err)) => (first, out, err),
            _ => return Err("missing descriptors".into()),
        }
    };
    let mut scope = containment
        .scope()
        .map_err(|e| format!("cannot create the session's cgroup: {e}"))?;
    // Prepared before the fork: the child may only make async-signal-safe
    // calls, so no allocation after it.
    let procs: Vec<CString> = scope
        .procs_files()
        .iter()
        .map(|p| CString::new(p.as_os_str().as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let uid = nix::unistd::Uid::from_raw(req.account.uid);
    let gid = nix::unistd::Gid::from_raw(req.account.gid);
    let cwd_fd = cwd.as_raw_fd();
    let pty = req.pty;
    let mut cmd = std::process::Command::new(&req.program);
    cmd.args(&req.args)
        .env_clear()
        .envs(req.env.iter().map(|(k, v)| (k, v)))
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr);
    // Safety: the closure runs in the forked child before exec and only
    // makes async-signal-safe system calls (open, write, close, setsid,
    // ioctl, fchown, setgroups, setgid, setuid, fchdir) on data prepared
    // before the fork; it allocates nothing and takes no lock.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || become_account(&procs, pty, uid, gid, cwd_fd));
    }
    let child = {
        // The orphan reaper must not reap this child; its waiter does.
        let mut direct = contain::direct_children();
        let child = cmd.spawn().map_err(|e| {
            format!(
                "cannot start {} as {}: {e}",
                req.program.display(),
                req.account.name
            )
        })?;
        direct.push(i32::try_from(child.id()).unwrap_or(0));
        child
    };
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    drop(child);
    // Already in its cgroups (it joined before exec); this records the leader.
    if let Err(e) = scope.adopt(pid) {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        drop(scope);
        let _ = nix::sys::wait::waitpid(pid, None);
        contain::forget_child(pid);
        return Err(format!("cannot move the child into its cgroup: {e}"));
    }
    Ok((pid, scope))
}

/// In the child, as root: join the cgroups, new session (and controlling
/// terminal), become the account for good, enter the working directory.
fn become_account(
    procs: &[CString],
    pty: bool,
    uid: nix::unistd::Uid,
    gid: nix::unistd::Gid,
    cwd: std::os::fd::RawFd,
) -> std::io::Result<()> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    for file in procs {
        let fd = open(
            file.as_c_str(),
            OFlag::O_WRONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        // "0" is the writing process itself.
        nix::unistd::write(&fd, b"0")?;
    }
    nix::unistd::setsid()?;
    if pty {
        // Safety (of the raw calls): fd 0 is the PTY slave std just put there.
        #[allow(unsafe_code)]
        let made = unsafe { nix::libc::ioctl(0, nix::libc::TIOCSCTTY, 0) };
        if made == -1 {
            return Err(std::io::Error::last_os_error());
        }
        #[allow(unsafe_code)]
        let owned = unsafe { nix::libc::fchown(0, uid.as_raw(), gid.as_raw()) };
        if owned == -1 {
            return Err(std::io::Error::last_os_error());
        }
    }
    nix::unistd::setgroups(&[])?;
    nix::unistd::setgid(gid)?;
    nix::unistd::setuid(uid)?;
    if nix::unistd::setuid(nix::unistd::Uid::from_raw(0)).is_ok() {
        return Err(std::io::Error::other("root could be regained"));
    }
    // Safety (of the raw call): `cwd` is the working directory's
    // descriptor, open until exec (close-on-exec).
    #[allow(unsafe_code)]
    if unsafe { nix::libc::fchdir(cwd) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The canonical path of directory `path`, resolved as `account`.
fn resolve_as(account: &Account, path: &Path) -> Result<PathBuf, String> {
    if !path.is_absolute() {
        return Err(format!("{} is not an absolute path", path.display()));
    }
    with_fs_ids(account, || {
        let canonical = std::fs::canonicalize(path).map_err(|e| e.to_string())?;
        if canonical.is_dir() {
            Ok(canonical)
        } else {
            Err(format!("{} is not a directory", path.display()))
        }
    })
}

/// Opens the working directory `cwd` (`O_PATH`) as `account`, and makes
/// sure it is the directory at that canonical path (no symlink followed,
/// nothing renamed in between): the child changes into exactly this one.
fn open_dir_as(account: &Account, cwd: &Path) -> Result<OwnedFd, String> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    let fail = |e: &dyn std::fmt::Display| {
        format!("cannot open the working directory {}: {e}", cwd.display())
    };
    if !cwd.is_absolute() {
        return Err(fail(&"not an absolute path"));
    }
    let fd = with_fs_ids(account, || {
        open(
            cwd,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| fail(&e))
    })?;
    let opened =
        std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(|e| fail(&e))?;
    if opened != cwd {
        return Err(fail(
            &"it was moved or replaced, or is not a canonical path",
        ));
    }
    Ok(fd)
}

/// Reports the child's end on `channel` and obeys the server's signals;
/// when the server closes the channel, kills what is left of the session.
fn supervise(pid: Pid, scope: Scope, channel: OwnedFd) {
    let scope = Arc::new(Mutex::new(Some(scope)));
    let channel = Arc::new(channel);
    let waiter = {
        let channel = channel.clone();
        std::thread::Builder::new()
            .name(format!("launcher-wait-{pid}"))
            .spawn(move || {
                let code = crate::process::wait_for(pid);
                contain::forget_child(pid);
                let _ = wire::send(&*channel, &Report::Exited(code), &[]);
            })
    };
    if waiter.is_err() {
        // Cannot report its end: do not let it run unreported.
        if let Some(s) = lock(&scope).take() {
            s.kill_all();
        }
        return;
    }
    // Until the channel closes (or breaks): then fail closed, the session ends here.
    while let Ok(Some((Control::Signal(n), _))) = wire::recv::<Control>(&*channel, wire::MAX_REPORT)
    {
        let Ok(signal) = Signal::try_from(n) else {
            continue;
        };
        if let Some(s) = lock(&scope).as_ref() {
            if signal == Signal::SIGKILL {
                s.kill_now();
            } else {
                s.signal(signal);
            }
        }
    }
    let taken = lock(&scope).take();
    // Dropping the scope kills every process left and removes its cgroup.
    drop(taken);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
