//! The launcher's reads as an account: the server's own readers of a
//! user's files (`untrusted::open_beneath`, the conversation listing, the
//! subdirectory listing) run with the account's filesystem ids, and their
//! answers sent back in parts that fit in a message.

use serde::Serialize;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::account::Account;
use super::{wire, Report};

/// Runs `f` with `account`'s filesystem ids on this thread: what it opens
/// or resolves, it does as the account would.
pub(super) fn with_fs_ids<T>(
    account: &Account,
    f: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    // Safety (of the raw calls): setfsuid and setfsgid change the
    // filesystem ids of this thread only (Linux keeps credentials per
    // thread and the C library does not broadcast these two); leaving uid
    // 0 also clears the thread's filesystem capabilities (DAC override).
    // Both are restored below before anything else runs on this thread.
    #[allow(unsafe_code)]
    let now = unsafe {
        nix::libc::setfsgid(account.gid);
        nix::libc::setfsuid(account.uid);
        // An invalid id changes nothing and returns the current one.
        nix::libc::setfsuid(u32::MAX)
    };
    let result = if u32::try_from(now).ok() == Some(account.uid) {
        f()
    } else {
        Err("cannot take the account's filesystem ids".into())
    };
    #[allow(unsafe_code)]
    unsafe {
        nix::libc::setfsuid(0);
        nix::libc::setfsgid(0);
    }
    result
}

/// Opens `path`, below `base`, for reading as `account`, with the
/// server's own opener of untrusted files (no symlink below `base`, never
/// blocking, only a regular file), run with the account's filesystem ids:
/// only what the account itself may open; and only a file it owns.
pub(super) fn open_beneath_as(
    account: &Account,
    base: &Path,
    path: &Path,
) -> std::io::Result<std::fs::File> {
    absolute(base)?;
    let file = as_account(account, || crate::untrusted::open_beneath(base, path))?;
    if file.metadata()?.uid() != account.uid {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a file of the account's", path.display()),
        ));
    }
    Ok(file)
}

/// Runs the reader `f` with `account`'s filesystem ids ([`with_fs_ids`]),
/// keeping its `io::Error`.
pub(super) fn as_account<T>(
    account: &Account,
    f: impl FnOnce() -> std::io::Result<T>,
) -> std::io::Result<T> {
    with_fs_ids(account, || Ok(f())).map_err(std::io::Error::other)?
}

/// Refuses a relative path (the launcher's working directory is not the
/// server's).
pub(super) fn absolute(path: &Path) -> std::io::Result<()> {
    if path.is_absolute() {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not an absolute path", path.display()),
        ))
    }
}

/// The report of a failed read, keeping what the server needs to tell a
/// planted file (symlink, FIFO) from a missing one.
pub(super) fn failed(e: &std::io::Error) -> Report {
    Report::Failed {
        errno: e.raw_os_error(),
        invalid_input: e.kind() == std::io::ErrorKind::InvalidInput,
        message: e.to_string(),
    }
}

/// Room left in a message for a part's JSON framing.
const PART_BUDGET: usize = wire::MAX_REPORT - 1024;

/// Sends `items` as parts (`wrap`), each message within
/// [`wire::MAX_REPORT`], then [`Report::Done`]. An item too large for a
/// message on its own is left out (and the listing marked truncated).
pub(super) fn send_in_parts<T: Serialize>(
    channel: &OwnedFd,
    items: Vec<T>,
    wrap: impl Fn(Vec<T>) -> Report,
    mut truncated: bool,
) {
    let mut part = Vec::new();
    let mut size = 0;
    for item in items {
        let len = serde_json::to_vec(&item).map_or(usize::MAX, |b| b.len() + 1);
        if len > PART_BUDGET {
            truncated = true;
            continue;
        }
        if size + len > PART_BUDGET {
            if wire::send(channel, &wrap(std::mem::take(&mut part)), &[]).is_err() {
                return;
            }
            size = 0;
        }
        part.push(item);
        size += len;
    }
    if !part.is_empty() && wire::send(channel, &wrap(part), &[]).is_err() {
        return;
    }
    let _ = wire::send(channel, &Report::Done { truncated }, &[]);
}
