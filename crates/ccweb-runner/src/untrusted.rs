//! Opening files that someone else controls: the Claude home, where a
//! session's agent (running as its own Unix account, or as ccweb's in
//! `isolation = "none"`) can put anything — a symlink to `/etc/shadow` or to
//! another user's conversation, a FIFO that blocks whoever opens it, a
//! device such as `/dev/zero`.
//!
//! [`open_beneath`] is the one way ccweb opens such a file: every directory
//! between the trusted base and the file must be a real directory (no
//! symlink on the way), the file itself is opened without following a
//! symlink and without blocking, and anything but a regular file is refused
//! before a byte is read.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{fcntl, open, openat, FcntlArg, OFlag};
use nix::sys::stat::{fstat, Mode, SFlag};

/// Opens `path`, which lies below the trusted directory `base`, for reading:
/// only a regular file, reached without following any symlink below `base`,
/// and without ever blocking in `open` (a FIFO is refused, not waited on).
/// The returned file does blocking reads.
///
/// `base` itself may be a symlink (the operator's choice, e.g. a dotfiles
/// link for `~/.claude`); nothing below it may. Errors: `NotFound` when a
/// part is missing, `InvalidInput` for a path outside `base` (or with `..`)
/// and for a file that is not regular, the OS error (`ELOOP`, `ENOTDIR`)
/// for a symlink on the way.
pub fn open_beneath(base: &Path, path: &Path) -> io::Result<File> {
    let names = names_below(base, path)?;
    let Some((last, dirs)) = names.split_last() else {
        return Err(invalid(format!(
            "{} is the base directory, not a file",
            path.display()
        )));
    };
    let mut dir = open(base, dir_flags(), Mode::empty()).map_err(io::Error::from)?;
    for name in dirs {
        dir = openat(&dir, *name, dir_flags() | OFlag::O_NOFOLLOW, Mode::empty())
            .map_err(io::Error::from)?;
    }
    let file = openat(
        &dir,
        *last,
        OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(io::Error::from)?;
    let kind = SFlag::from_bits_truncate(fstat(&file).map_err(io::Error::from)?.st_mode);
    if kind & SFlag::S_IFMT != SFlag::S_IFREG {
        return Err(invalid(format!("{} is not a regular file", path.display())));
    }
    blocking(&file)?;
    Ok(File::from(file))
}

/// Checks that `path` is a real directory at or below `base`, reached
/// without following a symlink below `base`: before listing a directory of
/// the Claude home (its files are then opened with [`open_beneath`]).
pub fn check_dir_beneath(base: &Path, path: &Path) -> io::Result<()> {
    let names = names_below(base, path)?;
    let mut dir = open(base, dir_flags(), Mode::empty()).map_err(io::Error::from)?;
    for name in names {
        dir = openat(&dir, name, dir_flags() | OFlag::O_NOFOLLOW, Mode::empty())
            .map_err(io::Error::from)?;
    }
    Ok(())
}

/// The names from `base` down to `path`; only plain names (`.` skipped).
fn names_below<'a>(base: &Path, path: &'a Path) -> io::Result<Vec<&'a std::ffi::OsStr>> {
    let rel = path.strip_prefix(base).map_err(|_| {
        invalid(format!(
            "{} is not below {}",
            path.display(),
            base.display()
        ))
    })?;
    let mut names = Vec::new();
    for component in rel.components() {
        match component {
            Component::Normal(name) => names.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(invalid(format!(
                    "{} leaves {}",
                    path.display(),
                    base.display()
                )));
            }
        }
    }
    Ok(names)
}

/// Flags for a directory on the way: `O_DIRECTORY` makes the kernel refuse a
/// FIFO or device before opening it, so this never blocks either.
fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC
}

/// Clears `O_NONBLOCK` (needed only for the open) so reads block as usual.
fn blocking(fd: &OwnedFd) -> io::Result<()> {
    let flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL).map_err(io::Error::from)?);
    fcntl(fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map_err(io::Error::from)?;
    Ok(())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// True for the error of a symlink met by [`open_beneath`] (`ELOOP`, or
/// `ENOTDIR` for a symlinked directory on the way).
pub fn is_symlink_refusal(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error().map(Errno::from_raw),
        Some(Errno::ELOOP | Errno::ENOTDIR)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};

    fn home() -> (tempfile::TempDir, std::path::PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("projects/-w");
        std::fs::create_dir_all(&dir).unwrap();
        (tmp, dir)
    }

    #[test]
    fn a_regular_file_below_the_base_opens_and_reads() {
        let (tmp, dir) = home();
        std::fs::write(dir.join("a.jsonl"), b"hello").unwrap();
        let mut text = String::new();
        open_beneath(tmp.path(), &dir.join("a.jsonl"))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello");
        check_dir_beneath(tmp.path(), &dir).unwrap();
    }

    #[test]
    fn a_symlinked_file_is_refused_even_to_a_regular_file() {
        let (tmp, dir) = home();
        let secret = tmp.path().join("secret");
        std::fs::write(&secret, b"x").unwrap();
        symlink(&secret, dir.join("s.jsonl")).unwrap();
        symlink("/etc/shadow", dir.join("shadow.jsonl")).unwrap();
        symlink("/dev/zero", dir.join("zero.jsonl")).unwrap();
        for name in ["s.jsonl", "shadow.jsonl", "zero.jsonl"] {
            let err = open_beneath(tmp.path(), &dir.join(name)).unwrap_err();
            assert!(is_symlink_refusal(&err), "{name}: {err}");
        }
    }

    #[test]
    fn a_symlinked_directory_on_the_way_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("a.jsonl"), b"x").unwrap();
        std::fs::create_dir(tmp.path().join("projects")).unwrap();
        symlink(elsewhere.path(), tmp.path().join("projects/-w")).unwrap();
        let file = tmp.path().join("projects/-w/a.jsonl");
        assert!(is_symlink_refusal(
            &open_beneath(tmp.path(), &file).unwrap_err()
        ));
        let dir = tmp.path().join("projects/-w");
        assert!(is_symlink_refusal(
            &check_dir_beneath(tmp.path(), &dir).unwrap_err()
        ));
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let (tmp, dir) = home();
        let fifo = dir.join("f.jsonl");
        nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600)).unwrap();
        let began = Instant::now();
        let err = open_beneath(tmp.path(), &fifo).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(began.elapsed() < Duration::from_secs(5));
        // A FIFO where a directory is expected is refused too.
        let err = open_beneath(tmp.path(), &fifo.join("x.jsonl")).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::ENOTDIR as i32), "{err}");
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let (tmp, dir) = home();
        let err = open_beneath(tmp.path(), &dir).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        let err = open_beneath(Path::new("/dev"), Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    }

    #[test]
    fn paths_outside_the_base_are_refused() {
        let (tmp, _) = home();
        for path in ["/etc/passwd", "projects/../../x"] {
            let err = open_beneath(tmp.path(), &tmp.path().join(path)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{path}: {err}");
        }
        let err = open_beneath(tmp.path(), &tmp.path().join("projects/-w/none")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
