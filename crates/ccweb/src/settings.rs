//! Turns the TOML file, `CCWEB_*` variables and flags into a validated
//! [`Config`] (later sources win), plus the process-level set-up `serve`
//! needs: logging, the database, and the shutdown signal.

use anyhow::Context;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use std::path::{Path, PathBuf};

use crate::cli::{Global, ServeFlags};
use ccweb_server::{Config, LogFormat};

/// A configuration problem: exit code 2, and the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SettingsError(pub(crate) String);

/// `$XDG_DATA_HOME/ccweb`, else `~/.local/share/ccweb`.
fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("ccweb");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".local/share/ccweb")
}

/// Every key `Config` has, for picking our variables out of the environment
/// (other `CCWEB_*` variables, e.g. of the test suite, are not config).
fn config_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Loads the configuration: defaults < TOML file < `CCWEB_*` < flags.
pub(crate) fn load(global: &Global, flags: &ServeFlags) -> Result<Config, SettingsError> {
    let start_dir = std::env::current_dir()
        .map_err(|e| SettingsError(format!("cannot read the current directory: {e}")))?;
    let defaults = Config {
        data_dir: default_data_dir(),
        allowed_roots: vec![start_dir],
        ..Config::default()
    };
    let scalar_keys: Vec<String> = config_keys()
        .into_iter()
        .filter(|k| !LIST_KEYS.contains(&k.as_str()))
        .collect();
    let env = Figment::new()
        .merge(
            Env::prefixed("CCWEB_")
                .map(|k| k.as_str().to_ascii_lowercase().into())
                .filter(move |k| scalar_keys.iter().any(|key| k.as_str() == key)),
        )
        .merge(Serialized::defaults(env_lists()));
    // Where the file is depends on the data dir, which the file cannot move.
    let data_dir = Figment::from(Serialized::defaults(&defaults))
        .merge(env.clone())
        .merge(Serialized::defaults(DataDirFlag {
            data_dir: global.data_dir.clone(),
        }))
        .extract_inner::<PathBuf>("data_dir")
        .map_err(|e| SettingsError(format!("invalid configuration: {e}")))?;
    let mut figment = Figment::from(Serialized::defaults(&defaults));
    match &global.config {
        Some(path) if !path.is_file() => {
            return Err(SettingsError(format!(
                "configuration file {} does not exist",
                path.display()
            )));
        }
        Some(path) => figment = figment.merge(Toml::file_exact(path)),
        None => {
            let path = data_dir.join("ccweb.toml");
            if path.is_file() {
                figment = figment.merge(Toml::file_exact(path));
            }
        }
    }
    figment = figment
        .merge(env)
        .merge(Serialized::defaults(flags))
        .merge(Serialized::defaults(DataDirFlag {
            data_dir: global.data_dir.clone(),
        }));
    let mut config: Config = figment
        .extract()
        .map_err(|e| SettingsError(format!("invalid configuration: {e}")))?;
    config
        .validate()
        .map_err(|e| SettingsError(e.to_string()))?;
    Ok(config)
}

/// Keys whose value is a list. In the environment they are written
/// comma-separated (`CCWEB_ALLOWED_ROOTS=/srv/a,/srv/b`) or as a TOML array
/// (`CCWEB_CLAUDE_ARGS='["--verbose"]'`).
const LIST_KEYS: &[&str] = &[
    "allowed_roots",
    "user_roots",
    "claude_args",
    "allowed_origins",
    "allowed_hosts",
    "child_env",
    "oidc_scopes",
    "oidc_allowed_emails",
    "oidc_allowed_domains",
    "oidc_allowed_groups",
    "oidc_admin_groups",
    "trusted_proxies",
    "sandbox_read_only",
    "launcher_command",
];

/// The list-valued `CCWEB_*` variables, split.
fn env_lists() -> std::collections::BTreeMap<&'static str, Vec<String>> {
    let mut lists = std::collections::BTreeMap::new();
    for &key in LIST_KEYS {
        let Ok(value) = std::env::var(format!("CCWEB_{}", key.to_ascii_uppercase())) else {
            continue;
        };
        let trimmed = value.trim();
        let items: Vec<String> = match toml::from_str::<toml::Table>(&format!("v = {trimmed}")) {
            Ok(t) if trimmed.starts_with('[') => match t.get("v") {
                Some(toml::Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect(),
                _ => Vec::new(),
            },
            _ => trimmed
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        lists.insert(key, items);
    }
    lists
}

#[derive(serde::Serialize)]
struct DataDirFlag {
    #[serde(skip_serializing_if = "Option::is_none")]
    data_dir: Option<PathBuf>,
}

/// Creates the data directory (owner-only) and opens the database in it,
/// with the configured per-session event caps.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<ccweb_store::Store> {
    create_private_dir(&config.data_dir)?;
    let path = config.data_dir.join("ccweb.db");
    let store = ccweb_store::Store::open(&path)
        .await
        .with_context(|| format!("opening the database {}", path.display()))?;
    // Every path that creates or enables a user goes through the store, so
    // the rule holds for the command line as for the server.
    Ok(store
        .with_event_caps(ccweb_store::EventCaps {
            max_events: config.session_max_events,
            max_bytes: config.session_max_event_bytes,
        })
        .single_enabled_user(ccweb_server::isolation::single_enabled_user(config)))
}

pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    Ok(())
}

/// Logs to stderr, human or JSON; `RUST_LOG` filters (default `info`).
pub(crate) fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot install signal handlers; stop ccweb with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM"),
        _ = int.recv() => tracing::info!("SIGINT"),
    }
}

/// Parses `30d`, `12h`, `90m`, `45s`, `2w`.
pub(crate) fn parse_duration(s: &str) -> Result<time::Duration, SettingsError> {
    let bad = || {
        SettingsError(format!(
            "invalid duration {s:?}: use a number and a unit, e.g. 30d, 12h, 90m"
        ))
    };
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    if n <= 0 || n > 100 * 365 * 86_400 / secs {
        return Err(bad());
    }
    Ok(time::Duration::seconds(n * secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_reject_garbage() {
        assert_eq!(parse_duration("30d").unwrap(), time::Duration::days(30));
        assert_eq!(parse_duration("90m").unwrap(), time::Duration::minutes(90));
        for bad in ["", "d", "30", "30y", "-1d", "0h", "99999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
