//! Which Unix account a ccweb user's sessions run as, and making that
//! account ready (created if allowed, its home and roots its own, 0700).
//!
//! The same rules run in the server (to build the session's environment)
//! and again in the launcher, which trusts nothing the server says: a
//! request naming an account the policy does not map a ccweb user to, or
//! one below `uid_min`, root, or the server's own, is refused.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// The placeholder of the `unix_user` pattern and of `user_roots`.
const USER_PLACEHOLDER: &str = "{user}";

/// How ccweb users map to Unix accounts (`unix_user`, `unix_users`,
/// `create_unix_users`, `user_roots`), and which accounts are off limits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountPolicy {
    /// `unix_user`: `{user}` is replaced by the ccweb user name.
    pub pattern: String,
    /// `unix_users`: explicit ccweb user → account entries (win over the pattern).
    pub map: BTreeMap<String, String>,
    /// `create_unix_users`: create a missing account on first use.
    pub create: bool,
    /// `user_roots` templates: made the account's own (0700) when prepared.
    pub user_roots: Vec<String>,
    /// The server's own uid: never a session's.
    pub server_uid: u32,
    /// Lowest uid a session may run as (`UID_MIN` of `/etc/login.defs`).
    pub uid_min: u32,
}

/// A Unix account sessions run as, from the passwd database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory (`HOME`); its `.claude` is the CLI's Claude home.
    pub home: PathBuf,
    /// Login shell (`SHELL`).
    pub shell: PathBuf,
}

impl Account {
    /// The account's Claude home: `~/.claude` (its sessions get its `HOME`).
    pub fn claude_home(&self) -> PathBuf {
        self.home.join(".claude")
    }
}

/// Whether `name` is a safe Unix login name: `^[a-z_][a-z0-9_-]{0,31}$`.
pub fn valid_account_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.len() <= 32
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl AccountPolicy {
    /// Refuses a policy that would put two ccweb users in one account: a
    /// pattern without `{user}`, one that makes invalid names, or two
    /// `unix_users` entries naming the same account.
    pub fn check(&self) -> Result<(), String> {
        if !self.pattern.contains(USER_PLACEHOLDER) {
            return Err(format!(
                "unix_user = {:?} has no {USER_PLACEHOLDER}: every user would share one account",
                self.pattern
            ));
        }
        let sample = self.pattern.replace(USER_PLACEHOLDER, "alice");
        if !valid_account_name(&sample) {
            return Err(format!(
                "unix_user = {:?} makes account names like {sample:?}, which are not allowed \
                 (^[a-z_][a-z0-9_-]{{0,31}}$)",
                self.pattern
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if let Some(twice) = self.map.values().find(|a| !seen.insert(a.as_str())) {
            return Err(format!(
                "unix_users maps more than one ccweb user to {twice:?}; each needs its own account"
            ));
        }
        Ok(())
    }

    /// The account name of ccweb user `user`, checked to be a safe name.
    pub fn account_name(&self, user: &str) -> Result<String, String> {
        let name = self
            .map
            .get(user)
            .cloned()
            .unwrap_or_else(|| self.pattern.replace(USER_PLACEHOLDER, user));
        if valid_account_name(&name) {
            Ok(name)
        } else {
            Err(format!(
                "the Unix account name {name:?} for ccweb user {user:?} is not allowed \
                 (it must match ^[a-z_][a-z0-9_-]{{0,31}}$); set unix_users.{user:?}"
            ))
        }
    }

    /// The account of ccweb user `user`, if it exists and may run sessions.
    /// `Ok(None)`: no such account.
    pub fn lookup(&self, user: &str) -> Result<Option<Account>, String> {
        let name = self.account_name(user)?;
        let found = nix::unistd::User::from_name(&name)
            .map_err(|e| format!("cannot look up Unix account {name}: {e}"))?;
        let Some(u) = found else {
            return Ok(None);
        };
        let uid = u.uid.as_raw();
        if uid == 0 || uid == self.server_uid || uid < self.uid_min {
            return Err(format!(
                "Unix account {name} (uid {uid}) may not run sessions: root, ccweb's own account \
                 and system accounts (uid below {}) are refused",
                self.uid_min
            ));
        }
        if u.gid.as_raw() == 0 {
            return Err(format!("Unix account {name} has group root; refused"));
        }
        Ok(Some(Account {
            name,
            uid,
            gid: u.gid.as_raw(),
            home: u.dir,
            shell: u.shell,
        }))
    }

    /// The account of `user`, created first when missing and allowed.
    /// Needs root.
    pub fn ensure(&self, user: &str) -> Result<Account, String> {
        if let Some(account) = self.lookup(user)? {
            return Ok(account);
        }
        let name = self.account_name(user)?;
        if !self.create {
            return Err(format!(
                "there is no Unix account {name} for ccweb user {user}: ask an admin to create \
                 Unix account {name}, or set create_unix_users = true"
            ));
        }
        // Two sessions starting at once may both get here: the second
        // useradd fails, and the account is there all the same.
        let created = create_account(&name);
        if let Some(account) = self.lookup(user)? {
            return Ok(account);
        }
        created?;
        self.lookup(user)?
            .ok_or_else(|| format!("Unix account {name} was created but cannot be found"))
    }

    /// Makes `account`'s home and Claude home, and `user`'s roots, the
    /// account's own, mode 0700 (creating what is missing). Needs root.
    pub fn prepare(&self, user: &str, account: &Account) -> Result<(), String> {
        own_dir(&account.home, account, false)?;
        own_dir(&account.home.join(".claude"), account, true)?;
        for template in &self.user_roots {
            let dir = PathBuf::from(template.replace(USER_PLACEHOLDER, user));
            own_dir(&dir, account, true)?;
        }
        Ok(())
    }
}

/// `useradd --create-home --user-group --shell /bin/bash NAME`, home 0700.
fn create_account(name: &str) -> Result<(), String> {
    let out = std::process::Command::new("useradd")
        .args([
            "--create-home",
            "--user-group",
            "--shell",
            "/bin/bash",
            "--",
        ])
        .arg(name)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run useradd: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "useradd {name} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    tracing::info!(account = name, "created Unix account");
    Ok(())
}

/// Makes `dir` a 0700 directory owned by `account`, created when missing.
/// An existing one that belongs to someone else is taken over only if
/// `adopt` (a root made by an earlier ccweb, as the server's user). The
/// directory is opened without following a symlink and changed through
/// that descriptor: a session's process cannot swap in a link between a
/// check and the change to make root chown or chmod something else.
fn own_dir(dir: &Path, account: &Account, adopt: bool) -> Result<(), String> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::{fchmod, fstat, Mode};
    let fail =
        |what: &str, e: &dyn std::fmt::Display| format!("cannot {what} {}: {e}", dir.display());
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(fail("create", &e)),
    }
    let fd = open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| fail("open (a directory, not a symlink)", &e))?;
    let stat = fstat(&fd).map_err(|e| fail("inspect", &e))?;
    if stat.st_uid != account.uid && !adopt {
        return Err(format!(
            "{} belongs to uid {}, not to {}",
            dir.display(),
            stat.st_uid,
            account.name
        ));
    }
    nix::unistd::fchown(
        &fd,
        Some(nix::unistd::Uid::from_raw(account.uid)),
        Some(nix::unistd::Gid::from_raw(account.gid)),
    )
    .map_err(|e| fail("change the owner of", &e))?;
    fchmod(&fd, Mode::from_bits_truncate(0o700)).map_err(|e| fail("change the mode of", &e))
}

/// `UID_MIN` from `/etc/login.defs`, else 1000.
pub fn uid_min() -> u32 {
    std::fs::read_to_string("/etc/login.defs")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some("UID_MIN"))
                    .then(|| words.next()?.parse().ok())
                    .flatten()
            })
        })
        .unwrap_or(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> AccountPolicy {
        AccountPolicy {
            pattern: "ccweb-{user}".into(),
            map: BTreeMap::from([("boss".into(), "root".into())]),
            create: false,
            user_roots: Vec::new(),
            server_uid: 999,
            uid_min: 1000,
        }
    }

    #[test]
    fn account_names_follow_the_pattern_or_the_map_and_must_be_safe() {
        let p = policy();
        assert_eq!(p.account_name("alice").unwrap(), "ccweb-alice");
        assert_eq!(p.account_name("boss").unwrap(), "root");
        // ccweb names may contain '.', Unix names here may not.
        assert!(p.account_name("a.b").is_err());
        assert!(p.account_name(&"x".repeat(40)).is_err());
        assert!(!valid_account_name("9lives"));
        assert!(!valid_account_name("-rf"));
        assert!(!valid_account_name(""));
        assert!(valid_account_name("_svc-1"));
    }

    #[test]
    fn a_policy_that_would_share_an_account_is_refused() {
        assert!(policy().check().is_ok());
        let shared = AccountPolicy {
            pattern: "team".into(),
            ..policy()
        };
        assert!(shared.check().unwrap_err().contains("share one account"));
        let bad = AccountPolicy {
            pattern: "Team.{user}".into(),
            ..policy()
        };
        assert!(bad.check().unwrap_err().contains("not allowed"));
        let mut twice = policy();
        twice.map.insert("boss2".into(), "root".into());
        assert!(twice.check().unwrap_err().contains("more than one"));
    }

    #[test]
    fn root_and_system_accounts_are_refused() {
        let p = policy();
        // "boss" maps to root.
        let err = p.lookup("boss").unwrap_err();
        assert!(err.contains("refused"), "{err}");
        let mut p = policy();
        p.map.insert("d".into(), "daemon".into());
        assert!(p.lookup("d").unwrap_err().contains("uid below 1000"));
        // A missing account, creation off: a clear message, nothing created.
        let err = p.ensure("nosuchccwebuser").unwrap_err();
        assert!(
            err.contains("ask an admin to create Unix account ccweb-nosuchccwebuser"),
            "{err}"
        );
    }
}
