//! The reverse proxy's own door: a Unix socket (`listen_unix`) that only the
//! proxy can open (its mode and group), beside the TCP listener. A request
//! that arrives on it came through the proxy, so it alone may name the user
//! (`proxy_user_header`) and the client (`X-Forwarded-For`). Over TCP, an
//! address says nothing of the sort: every session's process shares the
//! host's loopback with a proxy on the same machine.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::UnixListener;

use crate::config::{Config, ConfigError};

/// Marks a request that arrived on the proxy's Unix socket.
#[derive(Debug, Clone, Copy)]
pub struct ViaProxySocket;

/// `listen_unix_mode` as permission bits.
fn parse_mode(text: &str) -> Option<u32> {
    let digits = text.trim().trim_start_matches("0o");
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777 && !digits.is_empty())
}

/// Checks `listen_unix`, its mode and group, and that `proxy_user_header`
/// has the socket it needs.
pub(crate) fn validate_config(config: &Config) -> Result<(), ConfigError> {
    let err = |key, message: String| Err(ConfigError { key, message });
    let Some(mode) = parse_mode(&config.listen_unix_mode) else {
        return err(
            "listen_unix_mode",
            format!(
                "{:?} is not octal permission bits such as \"0660\"",
                config.listen_unix_mode
            ),
        );
    };
    if mode & 0o007 != 0 {
        return err(
            "listen_unix_mode",
            format!(
                "{:?} lets every local user (and every session's process) connect as the proxy; \
                 give the proxy's group access instead, e.g. \"0660\" with listen_unix_group",
                config.listen_unix_mode
            ),
        );
    }
    if let Some(group) = &config.listen_unix_group {
        match nix::unistd::Group::from_name(group) {
            Ok(Some(_)) => {}
            _ => return err("listen_unix_group", format!("there is no group {group:?}")),
        }
    }
    match &config.listen_unix {
        Some(path) if !path.is_absolute() => err(
            "listen_unix",
            format!("{} is not an absolute path", path.display()),
        ),
        None if config.proxy_user_header.is_some() => err(
            "listen_unix",
            "proxy_user_header is believed only on a Unix socket that only the proxy can open \
             (over TCP, a session's process could send it too): set listen_unix = \
             \"/run/ccweb/ccweb.sock\" and point the proxy at it \
             (nginx: proxy_pass http://unix:/run/ccweb/ccweb.sock;)"
                .into(),
        ),
        _ => Ok(()),
    }
}

/// Binds `listen_unix` with its mode and group. The socket is made under a
/// temporary name and renamed into place once its mode and group are set,
/// so it is never reachable with the umask's looser bits. A stale socket
/// of an earlier run is replaced; anything else at the path is an error.
pub(crate) fn bind(config: &Config) -> std::io::Result<Option<UnixListener>> {
    let Some(path) = &config.listen_unix else {
        return Ok(None);
    };
    let mode = parse_mode(&config.listen_unix_mode)
        .ok_or_else(|| std::io::Error::other("listen_unix_mode is not octal"))?;
    let gid = match &config.listen_unix_group {
        Some(name) => Some(
            nix::unistd::Group::from_name(name)
                .map_err(std::io::Error::from)?
                .ok_or_else(|| std::io::Error::other(format!("there is no group {name:?}")))?
                .gid,
        ),
        None => None,
    };
    check_stale(path)?;
    let temp = temp_path(path);
    let _ = std::fs::remove_file(&temp);
    let listener = UnixListener::bind(&temp)?;
    if let Err(e) = place(&temp, path, mode, gid) {
        let _ = std::fs::remove_file(&temp);
        return Err(std::io::Error::new(
            e.kind(),
            format!("listen_unix {}: {e}", path.display()),
        ));
    }
    Ok(Some(listener))
}

/// Gives the socket at `temp` its mode and group, then moves it to `path`.
fn place(
    temp: &Path,
    path: &Path,
    mode: u32,
    gid: Option<nix::unistd::Gid>,
) -> std::io::Result<()> {
    std::fs::set_permissions(temp, std::fs::Permissions::from_mode(mode))?;
    if let Some(gid) = gid {
        std::os::unix::fs::chown(temp, None, Some(gid.as_raw()))?;
    }
    std::fs::rename(temp, path)
}

/// `path` is free, or holds a socket nobody answers on (left by a run that
/// did not end cleanly).
fn check_stale(path: &Path) -> std::io::Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("listen_unix {} exists and is not a socket", path.display()),
        ));
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!("listen_unix {} is in use by another server", path.display()),
        ));
    }
    Ok(())
}

/// Where the socket is made before it is renamed into place.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

/// Removes the socket at shutdown (best effort), so the proxy fails fast
/// rather than connecting to nothing.
pub(crate) fn remove(config: &Config) {
    if let Some(path) = &config.listen_unix {
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket()) {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn modes_are_octal_bits_that_keep_others_out() {
        assert_eq!(parse_mode("0660"), Some(0o660));
        assert_eq!(parse_mode("600"), Some(0o600));
        assert_eq!(parse_mode("0o660"), Some(0o660));
        for bad in ["", "rw", "0888", "01777"] {
            assert_eq!(parse_mode(bad), None, "{bad}");
        }
        let config = |mode: &str, header: Option<&str>, path: Option<&str>| Config {
            listen_unix_mode: mode.into(),
            proxy_user_header: header.map(String::from),
            listen_unix: path.map(PathBuf::from),
            ..Config::default()
        };
        assert_eq!(
            validate_config(&config("0666", None, Some("/run/x.sock")))
                .unwrap_err()
                .key,
            "listen_unix_mode"
        );
        assert_eq!(
            validate_config(&config("0660", Some("X-Forwarded-User"), None))
                .unwrap_err()
                .key,
            "listen_unix"
        );
        assert_eq!(
            validate_config(&config("0660", None, Some("relative.sock")))
                .unwrap_err()
                .key,
            "listen_unix"
        );
        assert!(validate_config(&config("0660", Some("X-User"), Some("/run/x.sock"))).is_ok());
    }
}
