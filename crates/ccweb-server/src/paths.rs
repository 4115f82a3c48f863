//! Path policy: a working directory must resolve (symlinks, `..`, relative
//! parts) to a directory inside an allowed root, compared component-wise.

use std::path::{Path, PathBuf};

use crate::error::ApiError;

/// Longest path accepted, in bytes.
const MAX_PATH_BYTES: usize = 4096;

/// Resolves `requested` and checks it against `roots` (already canonical).
/// Relative paths are taken from the first root.
pub fn resolve_working_dir(requested: &str, roots: &[PathBuf]) -> Result<PathBuf, ApiError> {
    if requested.is_empty() {
        return Err(ApiError::bad_request(
            "invalid_working_dir",
            "working_dir must not be empty",
        ));
    }
    if requested.len() > MAX_PATH_BYTES {
        return Err(ApiError::bad_request(
            "invalid_working_dir",
            format!("working_dir is longer than {MAX_PATH_BYTES} bytes"),
        ));
    }
    if requested.contains('\0') {
        return Err(ApiError::bad_request(
            "invalid_working_dir",
            "working_dir contains a NUL byte",
        ));
    }
    let path = Path::new(requested);
    let joined = match (path.is_absolute(), roots.first()) {
        (true, _) => path.to_path_buf(),
        (false, Some(root)) => root.join(path),
        (false, None) => {
            return Err(ApiError::forbidden(
                "path_not_allowed",
                "no allowed roots are configured",
            ))
        }
    };
    let canonical = std::fs::canonicalize(&joined).map_err(|e| {
        ApiError::bad_request(
            "invalid_working_dir",
            format!("working_dir {requested:?} cannot be used: {e}"),
        )
    })?;
    if !canonical.is_dir() {
        return Err(ApiError::bad_request(
            "invalid_working_dir",
            format!("working_dir {requested:?} is not a directory"),
        ));
    }
    if !roots.iter().any(|root| canonical.starts_with(root)) {
        return Err(ApiError::forbidden(
            "path_not_allowed",
            format!("working_dir {requested:?} is outside the allowed roots"),
        ));
    }
    Ok(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment_is_component_wise_and_follows_symlinks() {
        let base = std::env::temp_dir().join(format!("ccweb-paths-{}", std::process::id()));
        let root = base.join("alice");
        let evil = base.join("alice-evil");
        std::fs::create_dir_all(root.join("proj")).unwrap();
        std::fs::create_dir_all(&evil).unwrap();
        let _ = std::os::unix::fs::symlink(&evil, root.join("link"));
        let roots = vec![std::fs::canonicalize(&root).unwrap()];
        assert!(resolve_working_dir(root.join("proj").to_str().unwrap(), &roots).is_ok());
        assert!(
            resolve_working_dir("proj", &roots).is_ok(),
            "relative to the first root"
        );
        for bad in [
            evil.to_str().unwrap(),
            root.join("link").to_str().unwrap(),
            "../alice-evil",
            "/etc",
        ] {
            let e = resolve_working_dir(bad, &roots).unwrap_err();
            assert_eq!(e.code(), "path_not_allowed", "{bad}");
        }
        for bad in ["", "/no/such/dir", "a\0b"] {
            assert_eq!(
                resolve_working_dir(bad, &roots).unwrap_err().code(),
                "invalid_working_dir",
                "{bad:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&base);
    }
}
