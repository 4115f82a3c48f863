//! Users' own Claude credentials: checked, sealed at rest with AES-256-GCM
//! under a key file in the data dir (never in the database), and put into
//! the environment of that user's sessions only.
//!
//! The user id and the kind are the AEAD's associated data: a sealed row
//! copied to another user, or from one kind to the other, does not open.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ccweb_store::{CredentialKind, SealedCredential};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The key file's name in the data dir.
pub const KEY_FILE: &str = "credentials.key";

/// Bytes of an AES-256 key.
const KEY_LEN: usize = 32;

/// Shortest credential accepted (real ones are ~100 characters).
pub const MIN_CREDENTIAL_CHARS: usize = 8;

/// Longest credential accepted.
pub const MAX_CREDENTIAL_CHARS: usize = 1024;

/// Characters of the value the API shows back.
const HINT_CHARS: usize = 4;

/// The operator's variables that a user's own credential replaces in that
/// user's sessions: whichever of them the allow-listed environment carries,
/// the CLI must use the user's credential and no other. The cloud-provider
/// switches go too: with them the CLI would ignore an Anthropic credential.
const OPERATOR_CREDENTIAL_VARS: [&str; 5] = [
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "CLAUDE_CODE_USE_BEDROCK",
    "CLAUDE_CODE_USE_VERTEX",
];

/// Whose Claude credential sessions use (`user_credentials`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialPolicy {
    /// A user's own credential when they stored one, else the operator's.
    #[default]
    Optional,
    /// Every user must store their own; a session without one is refused.
    Required,
    /// Only the operator's; users cannot store one and stored ones are unused.
    Disabled,
}

impl CredentialPolicy {
    /// The name in the config and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialPolicy::Optional => "optional",
            CredentialPolicy::Required => "required",
            CredentialPolicy::Disabled => "disabled",
        }
    }
}

/// The environment variable the CLI reads a credential of `kind` from.
pub fn env_var(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::AnthropicApiKey => "ANTHROPIC_API_KEY",
        CredentialKind::ClaudeOauthToken => "CLAUDE_CODE_OAUTH_TOKEN",
    }
}

/// Why a credential value is refused (the message says what to send).
pub fn check_value(value: &str) -> Result<(), String> {
    let chars = value.chars().count();
    if !(MIN_CREDENTIAL_CHARS..=MAX_CREDENTIAL_CHARS).contains(&chars) {
        return Err(format!(
            "a credential is {MIN_CREDENTIAL_CHARS} to {MAX_CREDENTIAL_CHARS} characters long; \
             paste the whole key or token"
        ));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "a credential is printable ASCII without spaces or line breaks; paste the key or \
             token alone"
                .into(),
        );
    }
    Ok(())
}

/// What the API shows of a value: its last characters.
pub fn hint(value: &str) -> String {
    let tail: String = value
        .chars()
        .rev()
        .take(HINT_CHARS)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// The sealing key, read from (or created in) the data dir.
pub struct Vault {
    key: LessSafeKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

/// A key file that cannot be used, or a value that does not open.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The key file could not be read or created.
    #[error("{path}: {source}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The key file is readable or writable by others, or malformed.
    #[error("{path}: {message}")]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// A stored value does not open with this key for this user and kind
    /// (another key, a row moved between users, a changed byte).
    #[error("a stored credential does not decrypt for its user")]
    Undecryptable,
    /// Sealing failed (only past AES-GCM's length limit, far above ours).
    #[error("the credential could not be sealed")]
    Unsealable,
}

impl Vault {
    /// Reads the key file in `data_dir`, or creates it (0600, random) when
    /// there is none. A key file that other users could read or change is
    /// refused, as the data dir's other secrets are.
    pub fn open(data_dir: &Path) -> Result<Vault, VaultError> {
        let path = data_dir.join(KEY_FILE);
        let io = |source| VaultError::Io {
            path: path.clone(),
            source,
        };
        let bytes = match read_key_file(&path) {
            Ok(bytes) => bytes,
            Err(VaultError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                match create_key_file(&path) {
                    Ok(bytes) => bytes,
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        read_key_file(&path)?
                    }
                    Err(e) => return Err(io(e)),
                }
            }
            Err(e) => return Err(e),
        };
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| VaultError::BadKeyFile {
            path: path.clone(),
            message: "not an AES-256 key".into(),
        })?;
        Ok(Vault {
            key: LessSafeKey::new(key),
        })
    }

    /// Seals `value` as `user_id`'s credential of `kind`.
    pub fn seal(
        &self,
        user_id: Uuid,
        kind: CredentialKind,
        value: &str,
    ) -> Result<SealedCredential, VaultError> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut sealed = value.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(user_id, kind)),
                &mut sealed,
            )
            .map_err(|_| VaultError::Unsealable)?;
        Ok(SealedCredential {
            kind,
            nonce: nonce.to_vec(),
            sealed,
            hint: hint(value),
            updated_at: time::OffsetDateTime::now_utc(),
        })
    }

    /// The value of `user_id`'s sealed credential.
    pub fn open_value(&self, user_id: Uuid, c: &SealedCredential) -> Result<String, VaultError> {
        let nonce =
            Nonce::try_assume_unique_for_key(&c.nonce).map_err(|_| VaultError::Undecryptable)?;
        let mut buf = c.sealed.clone();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(associated_data(user_id, c.kind)), &mut buf)
            .map_err(|_| VaultError::Undecryptable)?;
        String::from_utf8(plain.to_vec()).map_err(|_| VaultError::Undecryptable)
    }
}

/// What a sealed value is bound to: its owner and kind (and the format).
fn associated_data(user_id: Uuid, kind: CredentialKind) -> Vec<u8> {
    format!("ccweb-credential-v1\0{user_id}\0{}", kind.as_str()).into_bytes()
}

/// The key in `path`, refused if others may read or write it.
fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN], VaultError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |source| VaultError::Io {
        path: path.to_owned(),
        source,
    };
    let bad = |message: String| VaultError::BadKeyFile {
        path: path.to_owned(),
        message,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(bad(format!(
            "the key to users' stored credentials is open to other users (mode {mode:o}); \
             chmod 600 it"
        )));
    }
    let mut bytes = Vec::with_capacity(KEY_LEN);
    file.take(KEY_LEN as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    bytes.try_into().map_err(|_| {
        bad(format!(
            "expected {KEY_LEN} bytes; restore the file from a backup (without it stored \
             credentials cannot be read: users must set them again)"
        ))
    })
}

/// Creates `path` (0600, never over an existing file) holding a new key.
fn create_key_file(path: &Path) -> std::io::Result<[u8; KEY_LEN]> {
    use std::os::unix::fs::OpenOptionsExt;
    let key: [u8; KEY_LEN] = rand::random();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&key)?;
    file.sync_all()?;
    Ok(key)
}

/// Puts a user's own credential into a session's environment: the
/// operator's credential variables go, the user's one comes. `None`: the
/// environment stays as configured (the operator's credential, if any).
pub fn credential_env(env: &mut Vec<(OsString, OsString)>, own: Option<&UserCredential>) {
    let Some(own) = own else {
        return;
    };
    env.retain(|(name, _)| !OPERATOR_CREDENTIAL_VARS.iter().any(|v| name == v));
    env.push((env_var(own.kind).into(), own.value.clone().into()));
}

/// A user's credential, opened, on its way into their session's environment.
#[derive(Clone)]
pub struct UserCredential {
    /// Which kind (names the variable).
    pub kind: CredentialKind,
    /// The secret.
    pub value: String,
}

impl std::fmt::Debug for UserCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserCredential({}, ..)", self.kind.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> (tempfile::TempDir, Vault) {
        let dir = tempfile::tempdir().unwrap();
        let vault = Vault::open(dir.path()).unwrap();
        (dir, vault)
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_user_and_kind() {
        let (_dir, v) = vault();
        let (alice, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let sealed = v
            .seal(alice, CredentialKind::AnthropicApiKey, "sk-ant-secret-1234")
            .unwrap();
        assert_eq!(sealed.hint, "…1234");
        assert!(!sealed.sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(v.open_value(alice, &sealed).unwrap(), "sk-ant-secret-1234");
        assert!(matches!(
            v.open_value(bob, &sealed),
            Err(VaultError::Undecryptable)
        ));
        let other_kind = SealedCredential {
            kind: CredentialKind::ClaudeOauthToken,
            ..sealed.clone()
        };
        assert!(v.open_value(alice, &other_kind).is_err());
        let mut flipped = sealed;
        flipped.sealed[0] ^= 1;
        assert!(v.open_value(alice, &flipped).is_err());
    }

    #[test]
    fn the_key_file_is_created_private_kept_and_refused_when_open_to_others() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, v) = vault();
        let path = dir.path().join(KEY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let user = Uuid::new_v4();
        let sealed = v
            .seal(user, CredentialKind::ClaudeOauthToken, "oauth-token-abcd")
            .unwrap();
        let again = Vault::open(dir.path()).unwrap();
        assert_eq!(again.open_value(user, &sealed).unwrap(), "oauth-token-abcd");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = Vault::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, b"short").unwrap();
        assert!(Vault::open(dir.path()).is_err());
    }

    #[test]
    fn values_are_checked() {
        assert!(check_value("sk-ant-api03-abcdefgh").is_ok());
        for bad in [
            "",
            "short",
            "has space inside",
            "line\nbreak-abcdef",
            "tab\tabcdefgh",
            "ünïcødé-abc",
        ] {
            assert!(check_value(bad).is_err(), "{bad:?}");
        }
        assert!(check_value(&"x".repeat(MAX_CREDENTIAL_CHARS + 1)).is_err());
    }

    #[test]
    fn the_users_credential_replaces_the_operators() {
        let mut env: Vec<(OsString, OsString)> = vec![
            ("PATH".into(), "/bin".into()),
            ("ANTHROPIC_API_KEY".into(), "operator".into()),
            ("ANTHROPIC_AUTH_TOKEN".into(), "operator".into()),
            ("CLAUDE_CODE_OAUTH_TOKEN".into(), "operator".into()),
            ("CLAUDE_CODE_USE_BEDROCK".into(), "1".into()),
        ];
        let untouched = env.clone();
        credential_env(&mut env, None);
        assert_eq!(env, untouched);
        let own = UserCredential {
            kind: CredentialKind::ClaudeOauthToken,
            value: "mine".into(),
        };
        credential_env(&mut env, Some(&own));
        assert_eq!(
            env,
            vec![
                ("PATH".into(), "/bin".into()),
                ("CLAUDE_CODE_OAUTH_TOKEN".into(), "mine".into())
            ]
        );
    }
}
