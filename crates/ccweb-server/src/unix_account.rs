//! Which Unix account a ccweb user's sessions run as with
//! `isolation = "unix"` (`[unix_users]`, else the `unix_user` pattern), and
//! that account's facts from the system's user database (NSS, through
//! `getent`, so LDAP and sssd accounts count too).

use std::io;
use std::path::PathBuf;

use crate::config::Config;

/// A Unix account as the user database gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: String,
    /// Its user id.
    pub uid: u32,
    /// Its primary group id.
    pub gid: u32,
    /// Its home directory.
    pub home: PathBuf,
}

impl Account {
    /// The account's Claude home: `~/.claude` (its sessions get its `HOME`).
    pub fn claude_home(&self) -> PathBuf {
        self.home.join(".claude")
    }
}

/// The Unix account name of ccweb user `user`: its `[unix_users]` entry,
/// else `unix_user` with `{user}` replaced.
pub fn account_name(config: &Config, user: &str) -> String {
    config
        .unix_users
        .get(user)
        .cloned()
        .unwrap_or_else(|| config.unix_user.replace("{user}", user))
}

/// The account `name` from the user database; `NotFound` when there is none.
///
/// Blocking (runs `getent`); call it on a blocking thread.
pub fn lookup(name: &str) -> io::Result<Account> {
    let output = std::process::Command::new("getent")
        .args(["passwd", "--", name])
        .output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<&str> = text.trim_end().split(':').collect();
    let missing = || io::Error::new(io::ErrorKind::NotFound, format!("no Unix account {name}"));
    match fields[..] {
        [n, _, uid, gid, _, home, _] if output.status.success() && n == name => Ok(Account {
            name: name.to_owned(),
            uid: uid.parse().map_err(|_| missing())?,
            gid: gid.parse().map_err(|_| missing())?,
            home: PathBuf::from(home),
        }),
        _ => Err(missing()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_map_else_the_pattern() {
        let mut config = Config::default();
        config.unix_users.insert("alice".into(), "al".into());
        assert_eq!(account_name(&config, "alice"), "al");
        assert_eq!(account_name(&config, "bob"), "ccweb-bob");
    }

    #[test]
    fn accounts_are_looked_up_and_missing_ones_are_not_found() {
        let root = lookup("root").unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(root.claude_home(), root.home.join(".claude"));
        let err = lookup("ccwt-no-such-account").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert_eq!(lookup("-x").unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
