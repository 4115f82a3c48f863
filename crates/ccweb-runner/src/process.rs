//! The child process in its PTY: spawning (inside its containment scope,
//! optionally sandboxed), the reader, writer and waiter threads.
//!
//! The master is in non-blocking mode: input is written straight from a
//! socket's task (see `pty_input`), and output is read by the actor itself
//! until it streams, then by the reader thread (see `output_pipe`).

use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use portable_pty::{native_pty_system, CommandBuilder, MasterPty, PtySize};
use std::ffi::OsString;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;

use crate::actor::SpawnSpec;
use crate::contain::{self, Scope};
use crate::launch::LaunchAs;
use crate::output_pipe::{self, PipeReceiver};
use crate::pty_input::{pty_input, PtyInput};
use crate::sandbox::resolve_program;
use crate::RunnerError;

/// A running child and the channels to its threads.
pub(crate) struct Child {
    /// PTY master, for resizing. Dropped when the actor ends.
    pub(crate) master: Box<dyn MasterPty + Send>,
    /// Process id, also the process group id (the child is a session leader).
    pub(crate) pid: Pid,
    /// Output, read by the actor or the reader thread; ends at EOF/EIO. When
    /// the actor falls behind, the reader waits, the kernel's PTY buffer fills, and
    /// the program blocks on write: back-pressure from the actor only, never
    /// from a socket.
    pub(crate) output: PipeReceiver,
    /// Keyboard input (directly, or through the writer thread).
    pub(crate) input: Arc<PtyInput>,
    /// Exit code from the waiter thread (128 + signal when signalled).
    pub(crate) exited: oneshot::Receiver<i32>,
    /// Every process of the session (the child and what it starts).
    pub(crate) scope: Scope,
}

pub(crate) fn spawn_error(spec: &SpawnSpec, e: impl std::fmt::Display) -> RunnerError {
    RunnerError::Spawn {
        program: spec.program.display().to_string(),
        message: e.to_string(),
    }
}

/// The session's working directory, opened. The child changes into this
/// very directory ([`WorkingDir::path`]), whatever its path has become
/// since the server checked it against the allowed roots: a directory
/// swapped for a symlink in between cannot send the session (or, under
/// the sandbox, its read-write bind) somewhere else.
pub(crate) struct WorkingDir(OwnedFd);

impl WorkingDir {
    /// Opens `checked` (canonical, checked against the roots) and makes
    /// sure the directory opened is still the one at that path.
    fn open(checked: &Path) -> std::io::Result<Self> {
        use nix::fcntl::{open, OFlag};
        use nix::sys::stat::Mode;
        let fd = open(
            checked,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let dir = Self(fd);
        // What was opened, named by the kernel: a symlink followed on the
        // way, or a rename since the check, shows as another path.
        if std::fs::read_link(dir.path())? != checked {
            return Err(std::io::Error::other(
                "the working directory was moved or replaced while the session was starting",
            ));
        }
        Ok(dir)
    }

    /// The directory, for `chdir` in the child. The descriptor is
    /// close-on-exec, but the child changes directory before it executes
    /// anything, while the descriptor is still open.
    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.0.as_raw_fd()))
    }
}

/// The command line that runs `spec` (inside the sandbox, if any).
fn command_line(
    spec: &SpawnSpec,
    new_session: bool,
) -> Result<(PathBuf, Vec<OsString>), RunnerError> {
    // Resolved here, because behind a wrapper a missing program would be
    // an exit code instead of a spawn error.
    let relative = spec.cwd.join(&spec.program);
    let program = resolve_program(&relative, &spec.env)
        .or_else(|| resolve_program(&spec.program, &spec.env))
        .ok_or_else(|| spawn_error(spec, "no such executable (looked up in the session's PATH)"))?;
    let (program, args) = match &spec.sandbox {
        Some(sandbox) => sandbox.command(spec, &program, new_session),
        None => (program, spec.args.clone()),
    };
    Ok((program, args))
}

/// Starts `spec` through the launcher as its user's account
/// (`isolation = "unix"`), with `stdio` (one PTY slave, or three pipe
/// ends) and exactly `env`, in `spec.cwd`: the one spawn path of both session kinds in
/// that mode. Returns the pid, the exit code to come, and the scope that
/// signals and ends the session through the launcher. Blocks briefly.
pub(crate) fn spawn_launched(
    spec: &SpawnSpec,
    launch: &LaunchAs,
    new_session: bool,
    stdio: Vec<OwnedFd>,
    env: Vec<(OsString, OsString)>,
) -> Result<(Pid, oneshot::Receiver<i32>, Scope), RunnerError> {
    // The launcher opens the working directory itself, as the account:
    // the server may not even see into the user's root.
    let (program, args) = command_line(spec, new_session)?;
    let child = launch
        .launcher
        .spawn(&launch.user, program, args, env, spec.cwd.clone(), stdio)
        .map_err(|e| spawn_error(spec, e))?;
    Ok((
        Pid::from_raw(child.pid),
        child.exited,
        Scope::remote(child.channel),
    ))
}

/// A new containment scope, the session's opened working directory, and
/// the command line that runs `spec` inside it (and inside the sandbox, if
/// any). `new_session`: the sandboxed program gets no controlling terminal
/// (see [`crate::sandbox::Sandbox::command`]). Keep the directory until the
/// child is spawned.
pub(crate) fn prepare(
    spec: &SpawnSpec,
    new_session: bool,
) -> Result<(Scope, WorkingDir, PathBuf, Vec<OsString>), RunnerError> {
    let dir = WorkingDir::open(&spec.cwd)
        .map_err(|e| spawn_error(spec, format!("cannot open the working directory: {e}")))?;
    let (program, args) = command_line(spec, new_session)?;
    let scope = spec
        .containment
        .scope()
        .map_err(|e| spawn_error(spec, format!("cannot create the session's cgroup: {e}")))?;
    let (program, args) = scope.command(program, args);
    Ok((scope, dir, program, args))
}

/// Starts the program in a new PTY, in its own session and process group.
pub(crate) fn spawn(spec: &SpawnSpec) -> Result<Child, RunnerError> {
    let size = PtySize {
        rows: spec.rows,
        cols: spec.cols,
        pixel_width: 0,
        pixel_height: 0,
    };
    let (master, pid, scope, exit_rx) = match &spec.launch {
        Some(launch) => spawn_pty_launched(spec, launch, size)?,
        None => spawn_pty_direct(spec, size)?,
    };
    let raw_pid = pid.as_raw();
    let writer = master.take_writer().map_err(|e| spawn_error(spec, e))?;
    let reading = nonblocking_master(master.as_ref()).map_err(|e| spawn_error(spec, e))?;
    let (input, pty_writer) = pty_input(reading.try_clone().map_err(|e| spawn_error(spec, e))?);
    let (out_tx, out_rx) = output_pipe::pty_pipe(&reading).map_err(|e| spawn_error(spec, e))?;

    let name = format!("pty-{raw_pid}");
    let threads = std::thread::Builder::new()
        .name(format!("{name}-read"))
        .spawn(move || output_pipe::read_loop(&reading, out_tx))
        .and_then(|_| {
            std::thread::Builder::new()
                .name(format!("{name}-write"))
                .spawn(move || {
                    pty_writer.run();
                    // portable-pty's writer sends EOF (a newline and VEOF)
                    // when dropped: the program's input ends with the last
                    // handle, as before.
                    drop(writer);
                })
        });
    if let Err(e) = threads {
        // Without its threads the child cannot be served: take it down.
        scope.signal(Signal::SIGKILL);
        return Err(spawn_error(spec, e));
    }
    Ok(Child {
        master,
        pid,
        output: out_rx,
        input: Arc::new(input),
        exited: exit_rx,
        scope,
    })
}

/// What starting a PTY child yields: the master, the child's pid, its
/// scope and its exit code to come.
type PtyStart = (
    Box<dyn MasterPty + Send>,
    Pid,
    Scope,
    oneshot::Receiver<i32>,
);

/// The PTY child started by ccweb itself (`isolation = "none"`).
fn spawn_pty_direct(spec: &SpawnSpec, size: PtySize) -> Result<PtyStart, RunnerError> {
    let (mut scope, dir, program, args) = prepare(spec, false)?;
    let mut cmd = CommandBuilder::new(&program);
    cmd.args(&args);
    cmd.cwd(dir.path());
    // Only what the server passes on reaches the child (no server secrets).
    cmd.env_clear();
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    cmd.env("TERM", "xterm-256color");
    cmd.env("COLORTERM", "truecolor");
    let (pair, child) = {
        // Held across opening the PTY and the spawn: the orphan reaper must
        // not reap this child, and no other child (a chat session's CLI)
        // may be forked while the new PTY's descriptors are not yet
        // close-on-exec (portable-pty sets it after opening them).
        let mut direct = contain::direct_children();
        let pair = native_pty_system()
            .openpty(size)
            .map_err(|e| spawn_error(spec, e))?;
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| spawn_error(spec, e))?;
        if let Some(pid) = child.process_id().and_then(|p| i32::try_from(p).ok()) {
            direct.push(pid);
        }
        (pair, child)
    };
    // Our copy of the slave must close, or the reader never sees EOF.
    drop(pair.slave);
    let raw_pid = child
        .process_id()
        .ok_or_else(|| spawn_error(spec, "no process id"))?;
    let pid = Pid::from_raw(i32::try_from(raw_pid).map_err(|e| spawn_error(spec, e))?);
    // The waiter thread reaps with waitpid; the std Child handle is not needed
    // (dropping it neither kills nor waits).
    drop(child);
    // On failure the scope's drop kills the child (a waiter thread is not
    // there yet, so the reaper would leave a zombie: reap it here).
    if let Err(e) = scope.adopt(pid) {
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        drop(scope);
        let _ = waitpid(pid, None);
        contain::forget_child(pid);
        return Err(spawn_error(
            spec,
            format!("cannot move the child into its cgroup: {e}"),
        ));
    }

    let (exit_tx, exit_rx) = oneshot::channel();
    let waiter = std::thread::Builder::new()
        .name(format!("pty-{raw_pid}-wait"))
        .spawn(move || {
            let code = wait_for(pid);
            contain::forget_child(pid);
            let _ = exit_tx.send(code);
        });
    if let Err(e) = waiter {
        scope.signal(Signal::SIGKILL);
        drop(scope);
        let _ = waitpid(pid, None);
        contain::forget_child(pid);
        return Err(spawn_error(spec, e));
    }
    Ok((pair.master, pid, scope, exit_rx))
}

/// The PTY child started by the launcher: the server opens the PTY and
/// passes its slave on (the launcher makes it the child's controlling
/// terminal and hands it to the account).
fn spawn_pty_launched(
    spec: &SpawnSpec,
    launch: &LaunchAs,
    size: PtySize,
) -> Result<PtyStart, RunnerError> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    let pair = {
        // No other child may be forked while the new PTY's descriptors are
        // not yet close-on-exec.
        let _direct = contain::direct_children();
        native_pty_system()
            .openpty(size)
            .map_err(|e| spawn_error(spec, e))?
    };
    let name = pair
        .master
        .tty_name()
        .ok_or_else(|| spawn_error(spec, "the PTY has no name"))?;
    let slave = open(
        &name,
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| spawn_error(spec, format!("cannot open {}: {e}", name.display())))?;
    drop(pair.slave);
    let mut env = spec.env.clone();
    env.push(("TERM".into(), "xterm-256color".into()));
    env.push(("COLORTERM".into(), "truecolor".into()));
    let (pid, exited, scope) = spawn_launched(spec, launch, false, vec![slave], env)?;
    Ok((pair.master, pid, scope, exited))
}

/// A close-on-exec, non-blocking descriptor of `master`'s open file: the
/// reader thread reads it, and duplicates serve the actor's own reads and
/// keyboard input.
#[allow(unsafe_code)]
fn nonblocking_master(master: &(dyn MasterPty + Send)) -> std::io::Result<OwnedFd> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let raw = master
        .as_raw_fd()
        .ok_or_else(|| std::io::Error::other("the PTY master has no descriptor"))?;
    // Safety: `raw` is the descriptor `master` owns and keeps open for as
    // long as it lives. `master` is borrowed for this whole call, and the
    // borrowed descriptor is only used to duplicate it before returning.
    let borrowed = unsafe { BorrowedFd::borrow_raw(raw) };
    let fd = borrowed.try_clone_to_owned()?;
    let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
    fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(fd)
}

/// Waits for the child and turns its status into one exit code.
pub(crate) fn wait_for(pid: Pid) -> i32 {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return code,
            Ok(WaitStatus::Signaled(_, sig, _)) => return 128 + sig as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            // ECHILD: already reaped (cannot happen: only this thread waits).
            Err(_) => return -1,
        }
    }
}
