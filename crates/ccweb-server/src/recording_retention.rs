//! Deletes terminal recordings that have not been written to for
//! `recording_retention_days` (at start, then hourly). A recording is
//! written whenever its session runs (a resume appends a marker at once),
//! so its last write is when the session last ran; the recording of a
//! session that is running now is never deleted, however old.

use std::collections::HashSet;
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
            let live: HashSet<Uuid> = sessions.live_ids().into_iter().collect();
            match tokio::task::spawn_blocking(move || prune(&dir, cutoff, &live)).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(removed = n, "deleted old terminal recordings"),
                Ok(Err(e)) => tracing::warn!(error = %e, "pruning terminal recordings failed"),
                Err(e) => tracing::warn!(error = %e, "pruning terminal recordings failed"),
            }
        }
    });
}

/// Deletes `<id>.cast` files in `dir` last written before `cutoff`, except
/// those of `live` sessions; returns how many. A missing directory holds
/// nothing; other files are left alone.
fn prune(dir: &Path, cutoff: SystemTime, live: &HashSet<Uuid>) -> std::io::Result<usize> {
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
        // A session resumed between the listing of live ones and the
        // check below wrote its recording just now, so it is too recent
        // to go; only a resume within the microseconds between that check
        // and the removal could lose its recording.
        if live.contains(&id) {
            continue;
        }
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
        let live = HashSet::from([running_id]);
        assert_eq!(prune(dir.path(), cutoff, &live).unwrap(), 1);
        assert!(!old.exists());
        assert!(recent.exists() && running.exists() && other.exists());
        assert_eq!(prune(&dir.path().join("none"), cutoff, &live).unwrap(), 0);
    }

    fn other_file_is_old(path: &Path, age: Duration) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
    }
}
