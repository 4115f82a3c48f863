//! Deletes terminal recordings that have not been written to for
//! `recording_retention_days` (at start, then hourly). A recording is
//! written whenever its session runs (a resume appends a marker at once),
//! so its last write is when the session last ran; the recording of a
//! session that is running now is never deleted, however old.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use crate::sessions::SessionManager;

/// How often old recordings are looked for.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the pruning task when a retention is configured.
pub fn start(
    dir: PathBuf,
    retention_days: u64,
    sessions: SessionManager,
    cancel: CancellationToken,
    tracker: &TaskTracker,
) {
    if retention_days == 0 {
        return;
    }
    let keep = Duration::from_secs(retention_days.saturating_mul(86_400));
    crate::periodic::spawn_every(PRUNE_INTERVAL, cancel, tracker, move || {
        let (dir, sessions) = (dir.clone(), sessions.clone());
        async move {
            let Some(cutoff) = SystemTime::now().checked_sub(keep) else {
                return;
            };
            let pruned = tokio::task::spawn_blocking(move || {
                prune(&dir, cutoff, |id| sessions.hold_starts_unless_running(id))
            });
            match pruned.await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(removed = n, "deleted old terminal recordings"),
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning terminal recordings failed"),
                Err(e) => tracing::warn!(error = %e, "pruning terminal recordings failed"),
            }
        }
    });
}

/// Deletes `<id>.cast` files in `dir` last written before `cutoff`;
/// returns how many. `hold(id)` is `None` for a session that runs or is
/// starting (its recording stays), else a guard that keeps it from starting
/// until its file is checked and deleted: a resume cannot open the file
/// just before it goes. A missing directory holds nothing; other files are
/// left alone.
fn prune<G>(
    dir: &Path,
    cutoff: SystemTime,
    hold: impl Fn(Uuid) -> Option<G>,
) -> std::io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".cast"))
            .and_then(|n| Uuid::parse_str(n).ok())
        else {
            continue;
        };
        let Some(_held) = hold(id) else {
            continue;
        };
        // Not through a symlink, and only files: the directory is ccweb's own.
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.is_file() && meta.modified()? < cutoff {
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cast(dir: &Path, id: Uuid, age: Duration) -> PathBuf {
        let path = dir.join(format!("{id}.cast"));
        let file = std::fs::File::create(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    #[test]
    fn only_old_recordings_of_sessions_not_running_are_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let day = Duration::from_secs(86_400);
        let old = cast(dir.path(), Uuid::new_v4(), 3 * day);
        let recent = cast(dir.path(), Uuid::new_v4(), day / 2);
        let running_id = Uuid::new_v4();
        let running = cast(dir.path(), running_id, 3 * day);
        let other = dir.path().join("notes.cast");
        std::fs::write(&other, "not a session's").unwrap();
        other_file_is_old(&other, 3 * day);
        let cutoff = SystemTime::now() - 2 * day;
        let hold = |id| (id != running_id).then_some(());
        assert_eq!(prune(dir.path(), cutoff, hold).unwrap(), 1);
        assert!(!old.exists());
        assert!(recent.exists() && running.exists() && other.exists());
        assert_eq!(prune(&dir.path().join("none"), cutoff, hold).unwrap(), 0);
    }

    #[test]
    fn a_session_is_kept_from_starting_until_its_recording_is_gone() {
        /// Stands for the lock on session starts; checks on release.
        struct Held(PathBuf, std::rc::Rc<std::cell::Cell<usize>>);
        impl Drop for Held {
            fn drop(&mut self) {
                assert!(!self.0.exists(), "released before the removal");
                self.1.set(self.1.get() + 1);
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        let old = cast(dir.path(), id, Duration::from_secs(3 * 86_400));
        let released = std::rc::Rc::new(std::cell::Cell::new(0));
        let hold = |held_id: Uuid| {
            assert_eq!(held_id, id);
            Some(Held(old.clone(), released.clone()))
        };
        assert_eq!(prune(dir.path(), SystemTime::now(), hold).unwrap(), 1);
        assert_eq!(released.get(), 1);
    }

    fn other_file_is_old(path: &Path, age: Duration) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }
}
