//! The child process in its PTY: spawning (inside its containment scope,
//! optionally sandboxed), the non-blocking PTY reader and writer tasks,
//! and the waiter thread.

use bytes::Bytes;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use pty_process::blocking::Pty;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::actor::SpawnSpec;
use crate::contain::{self, Scope};
use crate::output_pipe::{self, PipeReceiver, PipeWriter};
use crate::sandbox::resolve_program;
use crate::RunnerError;

/// Most bytes the reader takes per wake-up (the kernel hands out at most
/// 4 KiB per read).
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Input writes in flight to the writer task.
const WRITER_QUEUE_WRITES: usize = 64;

/// A running child and the channels to it.
pub(crate) struct Child {
    /// PTY master: read by the reader task, written by the writer task,
    /// resized by the actor. Closed when the last of them lets go.
    pub(crate) pty: Arc<AsyncFd<Pty>>,
    /// Process id, also the process group id (the child is a session leader).
    pub(crate) pid: Pid,
    /// The program's output from the reader task; ends at EOF/EIO. While
    /// the actor does not take it, the pipe fills, the reader waits, the
    /// kernel's PTY buffer fills and the program blocks on write:
    /// back-pressure from the actor only, never from a socket.
    pub(crate) output: PipeReceiver,
    /// Input to the writer task.
    pub(crate) input: mpsc::Sender<Bytes>,
    /// Ends the reader and writer tasks (the actor does when the session ends).
    pub(crate) stop_io: CancellationToken,
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

/// A new containment scope and the command line that runs `spec` inside
/// it (and inside the sandbox, if any). `new_session`: the sandboxed
/// program gets no controlling terminal (see [`crate::sandbox::Sandbox::command`]).
pub(crate) fn prepare(
    spec: &SpawnSpec,
    new_session: bool,
) -> Result<(Scope, PathBuf, Vec<OsString>), RunnerError> {
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
    let scope = spec
        .containment
        .scope()
        .map_err(|e| spawn_error(spec, format!("cannot create the session's cgroup: {e}")))?;
    let (program, args) = scope.command(program, args);
    Ok((scope, program, args))
}

/// Starts the program in a new PTY, in its own session and process group.
pub(crate) fn spawn(spec: &SpawnSpec, tracker: &TaskTracker) -> Result<Child, RunnerError> {
    let (mut scope, program, args) = prepare(spec, false)?;
    let cmd = pty_process::blocking::Command::new(&program)
        .args(&args)
        .current_dir(&spec.cwd)
        // Only what the server passes on reaches the child (no server secrets).
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env("TERM", "xterm-256color")
        .env("COLORTERM", "truecolor");
    let (pty, child) = {
        // Held across opening the PTY and the spawn: the orphan reaper must
        // not reap this child, and no other session's child may be forked
        // while the new PTY's descriptors are not yet close-on-exec.
        let mut direct = contain::direct_children();
        let (pty, pts) = pty_process::blocking::open().map_err(|e| spawn_error(spec, e))?;
        pty.resize(pty_process::Size::new(spec.rows, spec.cols))
            .map_err(|e| spawn_error(spec, e))?;
        // Our copy of the terminal's slave end is closed when `spawn` returns,
        // or the reader would never see EOF.
        let child = cmd.spawn(pts).map_err(|e| spawn_error(spec, e))?;
        if let Ok(pid) = i32::try_from(child.id()) {
            direct.push(pid);
        }
        (pty, child)
    };
    let pid = Pid::from_raw(i32::try_from(child.id()).map_err(|e| spawn_error(spec, e))?);
    // The waiter thread reaps with waitpid; the std Child handle is not needed
    // (dropping it neither kills nor waits).
    drop(child);
    let fail = |scope: Scope, e: String| {
        // The scope's drop kills the child; a waiter thread is not there
        // yet, so the reaper would leave a zombie: reap it here.
        let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
        drop(scope);
        let _ = waitpid(pid, None);
        contain::forget_child(pid);
        spawn_error(spec, e)
    };
    if let Err(e) = scope.adopt(pid) {
        return Err(fail(
            scope,
            format!("cannot move the child into its cgroup: {e}"),
        ));
    }
    // One descriptor for everything: read and written without blocking on
    // the runtime's reactor (no reader or writer thread), resized in place.
    // `AsyncFd::new` is deprecated because an inner value whose descriptor
    // can change under it would make it unsound (tokio#8587); its
    // replacement is an `unsafe fn` with exactly that precondition. It holds
    // here: `Pty` owns its descriptor (an `OwnedFd`), never replaces it, and
    // the `AsyncFd` owns the `Pty` until both are dropped together.
    #[allow(deprecated)]
    let watched = set_nonblocking(&pty).and_then(|()| AsyncFd::new(pty));
    let pty = match watched {
        Ok(pty) => Arc::new(pty),
        Err(e) => return Err(fail(scope, format!("cannot watch the PTY: {e}"))),
    };
    let (in_tx, in_rx) = mpsc::channel(WRITER_QUEUE_WRITES);
    let (exit_tx, exit_rx) = oneshot::channel();
    let raw_pid = pid.as_raw();
    let waiter = std::thread::Builder::new()
        .name(format!("pty-{raw_pid}-wait"))
        .spawn(move || {
            let code = wait_for(pid);
            contain::forget_child(pid);
            let _ = exit_tx.send(code);
        });
    if let Err(e) = waiter {
        // Without its waiter the child cannot be served: take it down.
        scope.signal(Signal::SIGKILL);
        return Err(spawn_error(spec, e));
    }
    let stop_io = CancellationToken::new();
    let (out_tx, out_rx) = output_pipe::pipe();
    tracker.spawn(read_loop(pty.clone(), out_tx, stop_io.clone()));
    tracker.spawn(write_loop(pty.clone(), in_rx, stop_io.clone()));
    Ok(Child {
        output: out_rx,
        pty,
        pid,
        input: in_tx,
        stop_io,
        exited: exit_rx,
        scope,
    })
}

fn set_nonblocking(fd: &impl AsFd) -> std::io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Reads the PTY into the actor's pipe until EOF or EIO (the last slave
/// descriptor closed: the kernel hands out buffered output before EIO, so
/// nothing written is lost). Each wake-up reads everything the kernel
/// holds (at most 4 KiB per read), up to [`READ_CHUNK_BYTES`], and hands it
/// over in one piece. Dropping the pipe's writer marks the end.
async fn read_loop(pty: Arc<AsyncFd<Pty>>, out: PipeWriter, stop: CancellationToken) {
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    loop {
        let mut ready = tokio::select! {
            () = stop.cancelled() => return,
            ready = pty.readable() => match ready {
                Ok(ready) => ready,
                Err(_) => return,
            },
        };
        let mut filled = 0;
        let mut eof = false;
        while filled < buf.len() {
            match ready.try_io(|pty| Read::read(&mut pty.get_ref(), &mut buf[filled..])) {
                Ok(Ok(0)) => eof = true,
                Ok(Ok(n)) => {
                    filled += n;
                    continue;
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // EIO: the last slave descriptor closed.
                Ok(Err(_)) => eof = true,
                // Drained for now.
                Err(_would_block) => {}
            }
            break;
        }
        if filled > 0 {
            let written = tokio::select! {
                () = stop.cancelled() => return,
                written = out.write(&buf[..filled]) => written,
            };
            if !written {
                return;
            }
        }
        if eof {
            return;
        }
    }
}

/// Writes keyboard input in order. A program that does not read its input
/// makes this task (and the socket that types) wait, nobody else.
async fn write_loop(
    pty: Arc<AsyncFd<Pty>>,
    mut input: mpsc::Receiver<Bytes>,
    stop: CancellationToken,
) {
    loop {
        let data = tokio::select! {
            () = stop.cancelled() => return,
            data = input.recv() => match data {
                Some(data) => data,
                None => return,
            },
        };
        let mut rest = &data[..];
        while !rest.is_empty() {
            let mut ready = tokio::select! {
                () = stop.cancelled() => return,
                ready = pty.writable() => match ready {
                    Ok(ready) => ready,
                    Err(_) => return,
                },
            };
            match ready.try_io(|pty| Write::write(&mut pty.get_ref(), rest)) {
                Ok(Ok(n)) => rest = &rest[n..],
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // EIO: the terminal is gone; the session is ending.
                Ok(Err(_)) => return,
                Err(_would_block) => {}
            }
        }
    }
}

/// Waits for the child and turns its status into one exit code.
fn wait_for(pid: Pid) -> i32 {
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
