//! Free space on the data dir's filesystem: sessions write events, logs and
//! recordings there, and SQLite fails badly on a full disk, so new sessions
//! are refused (and `/readyz` says so) below `min_free_disk_bytes`.

use std::path::Path;

use crate::config::Config;
use crate::error::ApiError;

/// The `code` of the refusal and of `/readyz` while the disk is nearly full.
pub const DISK_FULL: &str = "disk_full";

/// Bytes available to ccweb (not root's reserve) on `path`'s filesystem.
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let stat = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(stat.blocks_available().saturating_mul(stat.fragment_size()))
}

/// 503 `disk_full` when the data dir's filesystem has less free space than
/// `min_free_disk_bytes` (0: never). A filesystem that cannot be asked does
/// not block sessions; the failure is logged.
pub fn check_free_space(config: &Config) -> Result<(), ApiError> {
    let wanted = config.min_free_disk_bytes;
    if wanted == 0 {
        return Ok(());
    }
    match free_bytes(&config.data_dir) {
        Ok(free) if free < wanted => {
            tracing::warn!(data_dir = %config.data_dir.display(), free, min_free_disk_bytes = wanted, "refusing to start a session: the disk is nearly full");
            Err(ApiError::Unavailable {
                code: DISK_FULL,
                message: format!(
                    "the server's disk is nearly full ({free} bytes free, at least {wanted} needed to start a session); \
                     an administrator must free space on the data directory's filesystem (or lower min_free_disk_bytes)"
                ),
            })
        }
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::warn!(data_dir = %config.data_dir.display(), error = %e, "cannot read the free disk space");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_read_and_a_threshold_above_it_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(dir.path()).unwrap();
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            min_free_disk_bytes: 1,
            ..Config::default()
        };
        assert!(free > 0);
        assert!(check_free_space(&config).is_ok());
        config.min_free_disk_bytes = u64::MAX;
        let err = check_free_space(&config).unwrap_err();
        assert_eq!(err.code(), DISK_FULL);
        config.min_free_disk_bytes = 0;
        assert!(check_free_space(&config).is_ok());
    }
}
