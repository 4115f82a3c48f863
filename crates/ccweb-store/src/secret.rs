//! Secrets: random tokens, their SHA-256 digests, and argon2id password hashes.

use crate::error::{Result, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes behind every token, session secret and CSRF token (256 bits).
const TOKEN_BYTES: usize = 32;

/// Bytes of argon2 salt (the PHC recommendation).
const SALT_BYTES: usize = 16;

/// A hash of a password nobody knows, with `Argon2::default()`'s parameters, verified against
/// when a user is unknown or has no password so such a login takes as long as a real one.
const DUMMY_PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$i2C0zNAhADEESD+zgteWDg$Nd9fhHQqWjHCnSP8xCdprxyBtzevZ6BA8wNaCZQrSrg";

/// Fills an array from the thread-local CSPRNG (ChaCha, seeded from the OS).
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// 32 random bytes as 43 characters of unpadded URL-safe base64.
pub(crate) fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<TOKEN_BYTES>())
}

/// Lower-case hex SHA-256 of a secret, the form secrets are stored and looked up in.
///
/// A fast hash is right here, unlike for passwords: the secrets hashed are 256 random bits,
/// so there is nothing to guess and slowing an attacker down buys nothing, while every
/// request pays the cost. Storing only the digest means a leaked database grants no access.
pub(crate) fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a password with argon2id (`Argon2::default()`, random salt) into a PHC string.
///
/// Runs on the blocking pool: a hash takes tens of milliseconds of CPU.
pub(crate) async fn hash_password(password: &str) -> Result<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&random_bytes::<SALT_BYTES>())
            .map_err(|e| StoreError::Hash(e.to_string()))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| StoreError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Hash(format!("hashing task failed: {e}")))?
}

/// Checks a password against a PHC string, or against the dummy hash when there is none
/// (and then always answers `false`), so both cases cost the same.
pub(crate) async fn verify_password(password: &str, phc: Option<String>) -> Result<bool> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.as_deref().unwrap_or(DUMMY_PASSWORD_HASH);
        let parsed = PasswordHash::new(phc).map_err(|e| StoreError::Hash(e.to_string()))?;
        match Argon2::default().verify_password(password.as_bytes(), &parsed) {
            Ok(()) => Ok(known),
            Err(argon2::password_hash::Error::Password) => Ok(false),
            Err(e) => Err(StoreError::Hash(e.to_string())),
        }
    })
    .await
    .map_err(|e| StoreError::Hash(format!("verification task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dummy_hash_has_the_same_shape_and_cost_as_real_hashes() {
        let real_phc = hash_password("a real password").await.unwrap();
        let real = PasswordHash::new(&real_phc).unwrap();
        let dummy = PasswordHash::new(DUMMY_PASSWORD_HASH).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert_eq!(dummy.salt.map(|s| s.len()), real.salt.map(|s| s.len()));
        assert_eq!(dummy.hash.map(|h| h.len()), real.hash.map(|h| h.len()));
    }

    #[test]
    fn random_tokens_are_43_url_safe_characters_and_differ() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(a, random_token());
    }

    #[test]
    fn sha256_hex_is_lower_case_hex_of_the_whole_secret() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn a_missing_hash_never_verifies() {
        assert!(!verify_password("anything", None).await.unwrap());
    }
}
