//! How the server reads a user's files — their Claude home (conversation
//! files) and their roots (the directory picker): itself, with
//! `isolation = "none"` (every session runs as the server's own account),
//! or through the launcher as the user's own Unix account with
//! `isolation = "unix"` (their home and roots are 0700 and theirs; the
//! server cannot see into them, and must not read with more than the
//! user's rights).
//!
//! Both ways share the one opener of untrusted files
//! ([`open_beneath`](crate::untrusted::open_beneath)), the one listing of
//! conversations ([`list_conversations`](crate::transcript::list_conversations))
//! and of subdirectories ([`list_subdirs`](crate::dirs::list_subdirs)):
//! the launcher runs the very same functions with the account's
//! filesystem ids.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::dirs::Subdirs;
use crate::launch::LaunchAs;
use crate::transcript::Conversation;

/// Who reads a user's files. Blocking methods: call them on a blocking
/// thread.
#[derive(Debug, Clone)]
pub enum UserFiles {
    /// The server itself (`isolation = "none"`).
    Direct,
    /// The launcher, as the user's account (`isolation = "unix"`).
    As(LaunchAs),
}

impl UserFiles {
    /// Opens `path`, below the trusted directory `base`, as
    /// [`open_beneath`](crate::untrusted::open_beneath) does (a regular
    /// file, no symlink below `base`, never a blocking open); through the
    /// launcher, also only a file the account owns. The errors keep their
    /// kind and OS error across the launcher.
    pub fn open_beneath(&self, base: &Path, path: &Path) -> io::Result<File> {
        match self {
            UserFiles::Direct => crate::untrusted::open_beneath(base, path),
            UserFiles::As(who) => who.launcher.open_beneath_as(&who.user, base, path),
        }
    }

    /// Whether `path` below `base` is a conversation file that opens
    /// safely (see [`Self::open_beneath`]).
    pub fn opens_beneath(&self, base: &Path, path: &Path) -> bool {
        self.open_beneath(base, path).is_ok()
    }

    /// The length of the file at `path` below `base`, 0 when there is none
    /// (or it is refused). Directly, without opening it (`lstat`: a FIFO
    /// is not opened); through the launcher, of the file it opens safely.
    pub fn len_beneath(&self, base: &Path, path: &Path) -> u64 {
        match self {
            UserFiles::Direct => std::fs::symlink_metadata(path).map_or(0, |m| m.len()),
            UserFiles::As(_) => self
                .open_beneath(base, path)
                .and_then(|f| f.metadata())
                .map_or(0, |m| m.len()),
        }
    }

    /// The conversations saved for `cwd` under the Claude home `home`
    /// ([`list_conversations`](crate::transcript::list_conversations)).
    pub fn list_conversations(&self, home: &Path, cwd: &Path) -> io::Result<Vec<Conversation>> {
        match self {
            UserFiles::Direct => crate::transcript::list_conversations(home, cwd),
            UserFiles::As(who) => who.launcher.list_conversations_as(&who.user, home, cwd),
        }
    }

    /// The subdirectories of `dir` ([`list_subdirs`](crate::dirs::list_subdirs)).
    pub fn list_subdirs(&self, dir: &Path, show_hidden: bool) -> io::Result<Subdirs> {
        match self {
            UserFiles::Direct => crate::dirs::list_subdirs(dir, show_hidden),
            UserFiles::As(who) => who.launcher.list_subdirs_as(&who.user, dir, show_hidden),
        }
    }
}
