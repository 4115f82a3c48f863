//! `ccweb migrate-homes`: moving a shared-home install's conversations into
//! each user's own Claude home, by the ownership ccweb recorded (for the
//! switch from `isolation = "none"` to `"unix"`).
//!
//! For every session ccweb recorded (owner, Claude session id, working
//! directory), the conversation file `<sid>.jsonl` and its sidecar folder
//! `<sid>/` (subagents, tool results) move from the shared Claude home to
//! `~<account>/.claude/projects/<encoded dir>/` of the owner's Unix account
//! (`unix_users` / `unix_user`), owned by that account, files 0600 and
//! folders 0700. Nothing is overwritten; symlinks and non-regular files are
//! refused (read with [`open_beneath`]); a conversation recorded for no one,
//! or for several users, stays where it is and is listed.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ccweb_runner::transcript::project_dir;
use ccweb_runner::untrusted::open_beneath;
use ccweb_store::Store;

use ccweb_runner::launch::Account;
use ccweb_server::config::Config;

/// One conversation to move.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Conversation {
    sid: String,
    working_dir: String,
}

/// Moves every recorded conversation found in `shared_home` (a Claude home:
/// `…/.claude` or `$CLAUDE_CONFIG_DIR`) to its owner's account; with
/// `dry_run`, only says what it would do. Writes one line per action to
/// `out`; returns how many conversations could not be moved (refused,
/// already there, no account).
pub(crate) async fn run(
    config: &Config,
    store: &Store,
    shared_home: &Path,
    dry_run: bool,
    out: &mut impl Write,
) -> anyhow::Result<usize> {
    let mut owners: BTreeMap<Conversation, BTreeSet<String>> = BTreeMap::new();
    for record in store.list_sessions(None).await? {
        if let Some(sid) = record.claude_session_id {
            owners
                .entry(Conversation {
                    sid,
                    working_dir: record.working_dir,
                })
                .or_default()
                .insert(record.owner_name);
        }
    }
    let verb = if dry_run { "would move" } else { "moved" };
    let mut problems = 0;
    let mut handled = BTreeSet::new();
    // The mapping and checks sessions get (no server account to spare here).
    let policy = ccweb_server::isolation::account_policy(config, 0);
    for (conversation, users) in &owners {
        let cwd = Path::new(&conversation.working_dir);
        let src_dir = project_dir(shared_home, cwd);
        let src = src_dir.join(format!("{}.jsonl", conversation.sid));
        if fs::symlink_metadata(&src).is_err() {
            continue; // Never written (no prompt), or moved already.
        }
        handled.insert(src.clone());
        let [user] = users.iter().collect::<Vec<_>>()[..] else {
            writeln!(
                out,
                "left {} (recorded for several users: {users:?})",
                src.display()
            )?;
            problems += 1;
            continue;
        };
        let found = policy.lookup(user).and_then(|account| {
            account.ok_or_else(|| {
                let name = policy.account_name(user).unwrap_or_default();
                format!("no Unix account {name}")
            })
        });
        let account = match found {
            Ok(account) => account,
            Err(e) => {
                writeln!(out, "left {} (user {user}: {e})", src.display())?;
                problems += 1;
                continue;
            }
        };
        let dst_dir = project_dir(&account.claude_home(), cwd);
        let dst = dst_dir.join(format!("{}.jsonl", conversation.sid));
        let sidecar = src_dir.join(&conversation.sid);
        let result = if dry_run {
            check_movable(shared_home, &src, &sidecar, &dst)
        } else {
            move_conversation(shared_home, &src, &sidecar, &account, &dst)
        };
        match result {
            Ok(()) => writeln!(
                out,
                "{verb} {} -> {} (user {user}, account {})",
                src.display(),
                dst.display(),
                account.name
            )?,
            Err(e) => {
                writeln!(out, "left {} (user {user}: {e})", src.display())?;
                problems += 1;
            }
        }
    }
    for path in unrecorded(shared_home, &handled)? {
        writeln!(out, "left {} (recorded for no one)", path.display())?;
    }
    Ok(problems)
}

/// The checks of a move, without moving: the source is a regular file (and
/// its sidecar, if any, only real folders and regular files), the target
/// does not exist.
fn check_movable(base: &Path, src: &Path, sidecar: &Path, dst: &Path) -> anyhow::Result<()> {
    open_beneath(base, src).map_err(|e| anyhow::anyhow!("refused: {e}"))?;
    if fs::symlink_metadata(sidecar).is_ok() {
        walk(base, sidecar, &mut |_, _| Ok(()))?;
    }
    if fs::symlink_metadata(dst).is_ok() {
        anyhow::bail!("{} exists already; not overwritten", dst.display());
    }
    Ok(())
}

/// Copies the file (then the sidecar) to the account's home, owned by it,
/// and removes the originals once every copy is complete.
fn move_conversation(
    base: &Path,
    src: &Path,
    sidecar: &Path,
    account: &Account,
    dst: &Path,
) -> anyhow::Result<()> {
    check_movable(base, src, sidecar, dst)?;
    let dst_dir = dst.parent().unwrap_or(dst);
    make_dirs(&account.home, dst_dir, account)?;
    copy_file(base, src, dst, account)?;
    if fs::symlink_metadata(sidecar).is_ok() {
        let name = sidecar.file_name().unwrap_or_default();
        let target = dst_dir.join(name);
        walk(base, sidecar, &mut |rel, is_dir| {
            let to = target.join(rel);
            if is_dir {
                make_dir(&to, account)
            } else {
                copy_file(base, &sidecar.join(rel), &to, account)
            }
        })?;
        fs::remove_dir_all(sidecar)?;
    }
    fs::remove_file(src)?;
    Ok(())
}

/// Visits `dir` (below `base`) depth first, folders before their
/// contents, with paths relative to `dir` (the empty path: `dir` itself);
/// a symlink or any non-regular file stops the walk with an error.
fn walk(
    base: &Path,
    dir: &Path,
    each: &mut impl FnMut(&Path, bool) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    fn visit(
        base: &Path,
        root: &Path,
        rel: &Path,
        each: &mut impl FnMut(&Path, bool) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let path = root.join(rel);
        let meta = fs::symlink_metadata(&path)?;
        if meta.is_dir() {
            ccweb_runner::untrusted::check_dir_beneath(base, &path)
                .map_err(|e| anyhow::anyhow!("refused {}: {e}", path.display()))?;
            each(rel, true)?;
            let mut names: Vec<_> = fs::read_dir(&path)?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<_>>()?;
            names.sort();
            for name in names {
                visit(base, root, &rel.join(name), each)?;
            }
            Ok(())
        } else if meta.is_file() {
            each(rel, false)
        } else {
            anyhow::bail!("refused {}: not a regular file or folder", path.display())
        }
    }
    visit(base, dir, Path::new(""), each)
}

/// Creates the folders from `home` down to `dir` that are missing (0700,
/// owned by the account); existing ones must be real folders.
fn make_dirs(home: &Path, dir: &Path, account: &Account) -> anyhow::Result<()> {
    let rel = dir.strip_prefix(home)?;
    let mut path = home.to_path_buf();
    for part in rel.components() {
        path.push(part);
        make_dir(&path, account)?;
    }
    Ok(())
}

/// One folder, 0700 and owned by the account, unless it is a real folder already.
fn make_dir(path: &Path, account: &Account) -> anyhow::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => anyhow::bail!("{} is not a folder", path.display()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new().mode(0o700).create(path)?;
            std::os::unix::fs::chown(path, Some(account.uid), Some(account.gid))?;
            fs::set_permissions(path, fs::Permissions::from_mode(0o700))?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Copies the regular file `src` (below `base`) to the new file `dst`
/// (never an existing one, never through a symlink), 0600, owned by the
/// account, synced.
fn copy_file(base: &Path, src: &Path, dst: &Path, account: &Account) -> anyhow::Result<()> {
    let mut from =
        open_beneath(base, src).map_err(|e| anyhow::anyhow!("refused {}: {e}", src.display()))?;
    let mut to: File = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(dst)?;
    io::copy(&mut from, &mut to)?;
    std::os::unix::fs::fchown(&to, Some(account.uid), Some(account.gid))?;
    to.set_permissions(fs::Permissions::from_mode(0o600))?;
    to.sync_all()?;
    Ok(())
}

/// Conversation files of the shared home not in `handled`.
fn unrecorded(home: &Path, handled: &BTreeSet<PathBuf>) -> anyhow::Result<Vec<PathBuf>> {
    let mut left = Vec::new();
    let Ok(dirs) = fs::read_dir(home.join("projects")) else {
        return Ok(left);
    };
    for dir in dirs {
        let dir = dir?;
        if !dir.file_type()?.is_dir() {
            continue;
        }
        for entry in fs::read_dir(dir.path())? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "jsonl") && !handled.contains(&path) {
                left.push(path);
            }
        }
    }
    left.sort();
    Ok(left)
}
