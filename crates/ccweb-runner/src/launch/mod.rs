//! The privileged launcher of `isolation = "unix"`, and the server's handle to it.
//!
//! The network-facing server runs unprivileged. The one part that needs
//! root is starting a session's program as its user's own Unix account;
//! that is `ccweb launcher`, a small process the server starts first
//! (before it drops root, or through `sudo`) and talks to over a
//! `SOCK_SEQPACKET` socket pair (see [`wire`]). The launcher accepts these
//! requests, each answered on a channel (a socket) sent with it:
//!
//! - **prepare** ccweb user *u*: map *u* to its account by the policy the
//!   launcher was started with (never by what the request says), create it
//!   if allowed, make its home, Claude home and roots its own (0700);
//!   answers with the [`Account`].
//! - **open** a file below a base directory as *u*: a regular file of the
//!   account's (no symlink below the base, no FIFO or device: the server's
//!   own opener, `untrusted::open_beneath`), opened with the account's
//!   filesystem ids, returned as a descriptor:
//!   how the server reads a user's conversation files in their 0700 home.
//! - **list conversations** of a working directory in *u*'s Claude home,
//!   and **list subdirectories** of a directory (the picker), as the
//!   account: the same listing code the server runs with
//!   `isolation = "none"`, answered in parts that each fit in a message.
//! - **resolve** a directory as *u*: its canonical path, seen with the
//!   account's filesystem ids (the server cannot see into 0700 roots).
//! - **spawn** as *u*: program (absolute), arguments, the whole
//!   environment, the working directory (opened by the launcher as the
//!   account, and checked to be the canonical path asked for), and
//!   descriptors: the PTY's slave or three pipes. The launcher forks; the child, still
//!   root, joins the session's cgroups, starts a new session (the PTY its
//!   controlling terminal, handed to the account), drops every group,
//!   sets gid then uid (and checks it cannot get root back), changes into
//!   the working directory and executes. The channel then carries `pid`
//!   (or `error`) and finally `exited`; the server sends `signal` on it.
//!   When the server closes the channel, the launcher kills whatever is
//!   left of the session (fail closed).
//!
//! Containment lives in the launcher too: it creates each session's cgroup
//! (or walks its process tree) as root, so the server needs neither a
//! delegated cgroup nor the right to signal another uid.

pub mod account;
mod client;
mod reads;
mod serve;
mod wire;

pub use account::{Account, AccountPolicy};
pub use client::{Channel, Launcher, RemoteChild};
pub use serve::{run as run_launcher, LauncherPolicy};

/// A connected pair of close-on-exec sockets: the server keeps one end
/// ([`Launcher::new`]), the launcher gets the other as its stdin.
pub fn socket_pair() -> std::io::Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    wire::pair()
}

use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::PathBuf;

/// Where a session's program is started through the launcher.
#[derive(Debug, Clone)]
pub struct LaunchAs {
    /// The launcher.
    pub launcher: Launcher,
    /// The ccweb user whose account runs it (the launcher maps it).
    pub user: String,
}

/// A request on the launcher's main socket. Descriptors travel with it:
/// first the reply channel, then (spawn) the working directory and stdio.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    /// Make ccweb user `user`'s account ready; answers [`Report::Account`].
    Prepare {
        /// The ccweb user.
        user: String,
    },
    /// Open a file below `base` for reading as ccweb user `user`'s account
    /// (their conversation files live in their 0700 home), with
    /// [`open_beneath`](crate::untrusted::open_beneath); answers
    /// [`Report::Opened`] with the descriptor, or [`Report::Failed`].
    Open {
        /// The ccweb user.
        user: String,
        /// The trusted directory (their Claude home).
        base: PathBuf,
        /// Absolute path of the file, below `base`.
        path: PathBuf,
    },
    /// List the conversations saved for `cwd` in the Claude home `home`, as
    /// ccweb user `user`'s account; answers [`Report::Conversations`]
    /// (as many as fit in a message, repeated) then [`Report::Done`], or
    /// [`Report::Failed`].
    ListConversations {
        /// The ccweb user.
        user: String,
        /// Their Claude home.
        home: PathBuf,
        /// The working directory.
        cwd: PathBuf,
    },
    /// List the subdirectories of `dir` as ccweb user `user`'s account (the
    /// directory picker); answers [`Report::Subdirs`] (repeated) then
    /// [`Report::Done`], or [`Report::Failed`].
    ListSubdirs {
        /// The ccweb user.
        user: String,
        /// The directory (canonical, inside their roots: the server checked).
        dir: PathBuf,
        /// Include names starting with a dot.
        show_hidden: bool,
    },
    /// Resolve a path as ccweb user `user`'s account; answers
    /// [`Report::Resolved`] with the canonical path of a directory.
    Resolve {
        /// The ccweb user.
        user: String,
        /// Absolute path.
        path: PathBuf,
    },
    /// Start a program as ccweb user `user`'s account.
    Spawn {
        /// The ccweb user.
        user: String,
        /// Absolute path of the program.
        program: PathBuf,
        /// Arguments after the program.
        args: Vec<OsString>,
        /// The child's whole environment.
        env: Vec<(OsString, OsString)>,
        /// Working directory (canonical), opened by the launcher as the account.
        cwd: PathBuf,
        /// One descriptor (a PTY slave) for stdin, stdout and stderr, made
        /// the controlling terminal; else three pipes.
        pty: bool,
    },
}

/// What the launcher says on a request's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Report {
    /// The prepared account.
    Account(Account),
    /// The child runs, with this pid (its process group and session id).
    Pid(i32),
    /// The file is open; its descriptor comes with this message.
    Opened,
    /// The canonical path of the directory asked about.
    Resolved(PathBuf),
    /// The request was refused or failed; nothing runs.
    Error(String),
    /// Reading failed: the error's OS number (if it has one) or whether it
    /// is an `InvalidInput` refusal, so the server sees the same error as
    /// when it reads itself.
    Failed {
        /// `errno`, when the OS said no.
        errno: Option<i32>,
        /// A refusal of ccweb's own (not a regular file, outside the base).
        invalid_input: bool,
        /// The error's text.
        message: String,
    },
    /// Part of a conversation listing.
    Conversations(Vec<crate::transcript::Conversation>),
    /// Part of a subdirectory listing.
    Subdirs(Vec<crate::dirs::Subdir>),
    /// The listing is complete; `truncated`: entries were left out.
    Done {
        /// Entries were left out (too many, or one too large to send).
        truncated: bool,
    },
    /// The child ended: its exit code, 128 + signal when killed.
    Exited(i32),
}

/// What the server says on a spawned child's channel.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Control {
    /// Send this signal to the session (SIGKILL: every process of it).
    Signal(i32),
}
