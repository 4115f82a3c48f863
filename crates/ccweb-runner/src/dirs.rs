//! Listing a directory's subdirectories for the directory picker: the one
//! listing, run by the server itself (`isolation = "none"`) or by the
//! launcher as the user's account (`"unix"`, their roots are 0700).

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Entries listed at most.
pub const MAX_ENTRIES: usize = 1000;

/// One subdirectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subdir {
    /// Its name (lossy UTF-8).
    pub name: String,
    /// Its path (the listed directory joined with the name).
    pub path: PathBuf,
}

/// The subdirectories of a directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subdirs {
    /// Sorted by name, case-insensitively.
    pub dirs: Vec<Subdir>,
    /// More than [`MAX_ENTRIES`] were there; the rest is left out.
    pub truncated: bool,
}

/// Subdirectories of `dir` (following symlinks only when they stay a
/// directory), without names starting with a dot unless `show_hidden`.
/// Blocking.
pub fn list_subdirs(dir: &Path, show_hidden: bool) -> std::io::Result<Subdirs> {
    let mut out = Subdirs::default();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if !show_hidden && name.starts_with('.') {
            continue;
        }
        if !entry.path().is_dir() {
            continue;
        }
        if out.dirs.len() == MAX_ENTRIES {
            out.truncated = true;
            break;
        }
        out.dirs.push(Subdir {
            name,
            path: entry.path(),
        });
    }
    out.dirs.sort_by_key(|d| d.name.to_lowercase());
    Ok(out)
}
