//! The server's side: a handle to the launcher's socket, and to each child
//! it started.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;

use super::account::Account;
use super::{wire, Control, Report, Request};
use crate::dirs::Subdirs;
use crate::transcript::Conversation;

/// The launcher, as the server sees it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Launcher {
    socket: Arc<OwnedFd>,
}

/// A child the launcher started.
#[derive(Debug)]
pub struct RemoteChild {
    /// Its pid (also its process group and session id).
    pub pid: i32,
    /// Its exit code, when it ends (128 + signal when killed).
    pub exited: oneshot::Receiver<i32>,
    /// Signals it and, closed, ends it (see [`Channel`]).
    pub channel: Channel,
}

/// A spawned child's channel: [`Channel::signal`] asks the launcher to
/// signal the session; dropping the channel ends whatever is left of it.
#[derive(Debug)]
pub struct Channel(Arc<OwnedFd>);

impl Channel {
    /// Asks the launcher to send `signal` to the session (SIGKILL: all of it).
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let _ = wire::send(&*self.0, &Control::Signal(signal as i32), &[]);
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        // The exit reader holds another handle of the same socket: shut
        // it down, so the launcher sees the end now (and kills the rest).
        let _ = nix::sys::socket::shutdown(self.0.as_raw_fd(), nix::sys::socket::Shutdown::Both);
    }
}

impl Launcher {
    /// The launcher listening on `socket` (the server's end of the pair).
    pub fn new(socket: OwnedFd) -> Launcher {
        Launcher {
            socket: Arc::new(socket),
        }
    }

    /// Sends `request` with a new reply channel (and `fds`); returns the
    /// channel and its first report. Blocks.
    fn ask(&self, request: &Request, fds: &[&OwnedFd]) -> std::io::Result<(OwnedFd, Report)> {
        self.ask_for_fds(request, fds)
            .map(|(channel, report, _)| (channel, report))
    }

    /// [`Self::ask`], also returning the descriptors sent with the answer.
    fn ask_for_fds(
        &self,
        request: &Request,
        fds: &[&OwnedFd],
    ) -> std::io::Result<(OwnedFd, Report, Vec<OwnedFd>)> {
        let (ours, theirs) = wire::pair()?;
        let mut raw = vec![theirs.as_raw_fd()];
        raw.extend(fds.iter().map(|fd| fd.as_raw_fd()));
        wire::send(&*self.socket, request, &raw)?;
        // The launcher has its own copy now; ours must go, or a launcher
        // that dies would leave us waiting forever.
        drop(theirs);
        match wire::recv::<Report>(&ours, wire::MAX_REPORT)? {
            Some((report, fds)) => Ok((ours, report, fds)),
            None => Err(std::io::Error::other(
                "the launcher closed the request without an answer",
            )),
        }
    }

    /// Makes ccweb user `user`'s Unix account ready (created if allowed;
    /// home, Claude home and roots its own, 0700). Blocks.
    pub fn prepare(&self, user: &str) -> Result<Account, String> {
        let request = Request::Prepare { user: user.into() };
        match self.ask(&request, &[]) {
            Ok((_, Report::Account(account))) => Ok(account),
            Ok((_, Report::Error(e))) => Err(e),
            Ok((_, other)) => Err(format!("unexpected answer from the launcher: {other:?}")),
            Err(e) => Err(format!("the launcher cannot be reached: {e}")),
        }
    }

    /// Opens `path`, below `base`, for reading as ccweb user `user`'s
    /// account, with [`open_beneath`](crate::untrusted::open_beneath) (and
    /// only a file the account owns). Errors keep their OS error or
    /// `InvalidInput` kind, as when the server opens the file itself.
    /// Blocks.
    pub fn open_beneath_as(&self, user: &str, base: &Path, path: &Path) -> io::Result<File> {
        let request = Request::Open {
            user: user.into(),
            base: base.to_path_buf(),
            path: path.to_path_buf(),
        };
        match self.ask_for_fds(&request, &[])? {
            (_, Report::Opened, mut fds) if fds.len() == 1 => Ok(fds.remove(0).into()),
            (_, report, _) => Err(refusal(report)),
        }
    }

    /// The conversations saved for `cwd` in the Claude home `home`, listed
    /// as ccweb user `user`'s account
    /// ([`list_conversations`](crate::transcript::list_conversations)).
    /// Blocks.
    pub fn list_conversations_as(
        &self,
        user: &str,
        home: &Path,
        cwd: &Path,
    ) -> io::Result<Vec<Conversation>> {
        let request = Request::ListConversations {
            user: user.into(),
            home: home.to_path_buf(),
            cwd: cwd.to_path_buf(),
        };
        let (list, _) = self.collect(&request, |report| match report {
            Report::Conversations(part) => Ok(part),
            other => Err(other),
        })?;
        Ok(list)
    }

    /// The subdirectories of `dir`, listed as ccweb user `user`'s account
    /// ([`list_subdirs`](crate::dirs::list_subdirs)). Blocks.
    pub fn list_subdirs_as(
        &self,
        user: &str,
        dir: &Path,
        show_hidden: bool,
    ) -> io::Result<Subdirs> {
        let request = Request::ListSubdirs {
            user: user.into(),
            dir: dir.to_path_buf(),
            show_hidden,
        };
        let (dirs, truncated) = self.collect(&request, |report| match report {
            Report::Subdirs(part) => Ok(part),
            other => Err(other),
        })?;
        Ok(Subdirs { dirs, truncated })
    }

    /// Asks `request` and gathers the parts of its answer (`part` takes
    /// them out of their report) until [`Report::Done`].
    fn collect<T>(
        &self,
        request: &Request,
        part: impl Fn(Report) -> Result<Vec<T>, Report>,
    ) -> io::Result<(Vec<T>, bool)> {
        let (channel, mut report) = self.ask(request, &[])?;
        let mut items = Vec::new();
        loop {
            report = match report {
                Report::Done { truncated } => return Ok((items, truncated)),
                other => match part(other) {
                    Ok(more) => {
                        items.extend(more);
                        match wire::recv::<Report>(&channel, wire::MAX_REPORT)? {
                            Some((next, _)) => next,
                            None => {
                                return Err(io::Error::other(
                                    "the launcher ended a listing before its end",
                                ))
                            }
                        }
                    }
                    Err(other) => return Err(refusal(other)),
                },
            };
        }
    }

    /// Resolves `path` (symlinks, `..`) as ccweb user `user`'s account,
    /// which may see into directories the server cannot: the canonical
    /// path of a directory. Blocks.
    pub fn resolve_as(&self, user: &str, path: &std::path::Path) -> Result<PathBuf, String> {
        let request = Request::Resolve {
            user: user.into(),
            path: path.to_path_buf(),
        };
        match self.ask(&request, &[]) {
            Ok((_, Report::Resolved(dir))) => Ok(dir),
            Ok((_, Report::Error(e))) => Err(e),
            Ok((_, other)) => Err(format!("unexpected answer from the launcher: {other:?}")),
            Err(e) => Err(format!("the launcher cannot be reached: {e}")),
        }
    }

    /// Starts `program` as `user`'s account with exactly `env`, in `cwd`
    /// (opened by the launcher as the account), with `stdio`: one PTY
    /// slave, or stdin, stdout and stderr. Blocks until the launcher says
    /// it runs.
    pub fn spawn(
        &self,
        user: &str,
        program: PathBuf,
        args: Vec<OsString>,
        env: Vec<(OsString, OsString)>,
        cwd: PathBuf,
        stdio: Vec<OwnedFd>,
    ) -> Result<RemoteChild, String> {
        let request = Request::Spawn {
            user: user.into(),
            program,
            args,
            env,
            cwd,
            pty: stdio.len() == 1,
        };
        let fds: Vec<&OwnedFd> = stdio.iter().collect();
        let (channel, report) = self
            .ask(&request, &fds)
            .map_err(|e| format!("the launcher cannot be reached: {e}"))?;
        // Our copies of the child's ends go now (EOF on the pipes when it exits).
        drop(stdio);
        let pid = match report {
            Report::Pid(pid) => pid,
            Report::Error(e) => return Err(e),
            other => return Err(format!("unexpected answer from the launcher: {other:?}")),
        };
        let channel = Arc::new(channel);
        let (tx, exited) = oneshot::channel();
        let reader = channel.clone();
        std::thread::Builder::new()
            .name(format!("launched-{pid}"))
            .spawn(move || {
                // The launcher's last word; a launcher that went away
                // took the child with it.
                let code = match wire::recv::<Report>(&*reader, wire::MAX_REPORT) {
                    Ok(Some((Report::Exited(code), _))) => code,
                    _ => -1,
                };
                let _ = tx.send(code);
            })
            .map_err(|e| e.to_string())?;
        Ok(RemoteChild {
            pid,
            exited,
            channel: Channel(channel),
        })
    }
}

/// The error of a read the launcher did not do: its own error, rebuilt
/// (the OS error, or an `InvalidInput` refusal), else as text.
fn refusal(report: Report) -> io::Error {
    match report {
        Report::Failed {
            errno: Some(errno), ..
        } => io::Error::from_raw_os_error(errno),
        Report::Failed {
            invalid_input: true,
            message,
            ..
        } => io::Error::new(io::ErrorKind::InvalidInput, message),
        Report::Failed { message, .. } | Report::Error(message) => io::Error::other(message),
        other => io::Error::other(format!("unexpected answer from the launcher: {other:?}")),
    }
}
