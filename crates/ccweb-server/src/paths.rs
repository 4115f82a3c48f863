//! Path policy: a working directory must resolve (symlinks, `..`, relative
//! parts) to a directory inside an allowed root, compared component-wise.

use std::path::{Path, PathBuf};

use crate::error::ApiError;

/// Longest path accepted, in bytes.
const MAX_PATH_BYTES: usize = 4096;

/// Resolves `requested` and checks it against `roots` (already canonical).
/// Relative paths are taken from the first root.
pub fn resolve_working_dir(requested: &str, roots: &[PathBuf]) -> Result<PathBuf, ApiError> {
    resolve_working_dir_with(requested, roots, |joined| {
        let canonical = std::fs::canonicalize(joined).map_err(|e| e.to_string())?;
        if canonical.is_dir() {
            Ok(canonical)
        } else {
            Err("it is not a directory".into())
        }
    })
}

/// [`resolve_working_dir`], with `canonical_dir` resolving the joined path
/// to a canonical directory (`isolation = "unix"`: the launcher, as the
/// user's account, which may see into roots the server cannot).
pub fn resolve_working_dir_with(
    requested: &str,
    roots: &[PathBuf],
    canonical_dir: impl FnOnce(&Path) -> Result<PathBuf, String>,
) -> Result<PathBuf, ApiError> {
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
    let canonical = canonical_dir(&joined).map_err(|e| {
        ApiError::bad_request(
            "invalid_working_dir",
            format!("working_dir {requested:?} cannot be used: {e}"),
        )
    })?;
    if !roots.iter().any(|root| canonical.starts_with(root)) {
        return Err(ApiError::forbidden(
            "path_not_allowed",
            format!("working_dir {requested:?} is outside the allowed roots"),
        ));
    }
    Ok(canonical)
}

/// The placeholder of `user_roots` templates.
const USER_PLACEHOLDER: &str = "{user}";

/// Checks a `user_roots` template: an absolute path with `{user}` as one
/// whole component, whose part before it exists.
pub fn check_user_root_template(template: &str) -> Result<(), String> {
    let path = Path::new(template);
    if !path.is_absolute() {
        return Err(format!("{template:?} must be an absolute path"));
    }
    let holders = path
        .components()
        .filter(|c| c.as_os_str() == USER_PLACEHOLDER)
        .count();
    if holders != 1 || template.matches(USER_PLACEHOLDER).count() != 1 {
        return Err(format!(
            "{template:?} must contain {USER_PLACEHOLDER} exactly once, as a whole path component (e.g. /srv/work/{USER_PLACEHOLDER})"
        ));
    }
    let parent = template.split(USER_PLACEHOLDER).next().unwrap_or_default();
    if !Path::new(parent).is_dir() {
        return Err(format!(
            "{parent:?} (the part before {USER_PLACEHOLDER}) is not a directory"
        ));
    }
    Ok(())
}

/// The directories `user_roots` names for user `name` (whether or not
/// they exist yet).
pub fn user_roots_of(config: &crate::Config, name: &str) -> Vec<PathBuf> {
    config
        .user_roots
        .iter()
        .map(|template| PathBuf::from(template.replace(USER_PLACEHOLDER, name)))
        .collect()
}

/// The roots `user` may work in: `allowed_roots` for admins and when no
/// `user_roots` are configured; else the user's own roots, created (0700)
/// on first use (with `isolation = "unix"` by the launcher, as the
/// account's, when it prepares it). User names are `[a-z0-9][a-z0-9_.-]*`, so a name can
/// neither climb out (`..`) nor contain a separator, and distinct names
/// give distinct directories.
pub fn roots_for(
    config: &crate::Config,
    user: &ccweb_store::User,
) -> Result<Vec<PathBuf>, ApiError> {
    if user.is_admin || config.user_roots.is_empty() {
        return Ok(config.allowed_roots.clone());
    }
    let mut roots = Vec::with_capacity(config.user_roots.len());
    let unix = config.isolation == crate::config::IsolationMode::Unix;
    for dir in user_roots_of(config, &user.name) {
        if unix && std::fs::symlink_metadata(&dir).is_err() {
            // The launcher makes them (the account's own) when it prepares
            // the account; until then they are named, not made, here.
            roots.push(dir);
            continue;
        }
        if !dir.exists() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| {
                    ApiError::internal(std::io::Error::other(format!(
                        "cannot create {}: {e}",
                        dir.display()
                    )))
                })?;
        }
        let canonical = std::fs::canonicalize(&dir).map_err(|e| {
            ApiError::internal(std::io::Error::other(format!(
                "cannot resolve {}: {e}",
                dir.display()
            )))
        })?;
        roots.push(canonical);
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_root_templates_need_one_whole_placeholder_under_an_existing_dir() {
        let tmp = std::env::temp_dir();
        let ok = format!("{}/{{user}}", tmp.display());
        assert!(check_user_root_template(&ok).is_ok());
        let nested = format!("{}/{{user}}/work", tmp.display());
        assert!(check_user_root_template(&nested).is_ok());
        for bad in [
            "relative/{user}".to_owned(),
            format!("{}/x-{{user}}", tmp.display()),
            format!("{}/{{user}}/{{user}}", tmp.display()),
            format!("{}", tmp.display()),
            "/no/such/parent/{user}".to_owned(),
        ] {
            assert!(check_user_root_template(&bad).is_err(), "{bad}");
        }
    }

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
