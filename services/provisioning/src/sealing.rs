//! Secrets at rest: AES-256-GCM with the service's key (a key file of 32 random bytes, hex),
//! a random nonce per value, and the secret's owner and key as associated data so that a sealed
//! value copied onto another row does not open. Clear values travel as `Secret`, whose `Debug`
//! and `Display` never show them.

use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use weft_runtime::ApiError;

/// A clear secret value (a URL with credentials, a password). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The clear value, for the one place that needs it (a connection, a credentials answer).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Seals and opens secrets with the service's key.
pub struct Sealer {
    key: LessSafeKey,
    random: SystemRandom,
}

impl Sealer {
    /// A sealer with the 32-byte `key`.
    pub fn new(key: &[u8]) -> anyhow::Result<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, key)
            .map_err(|_| anyhow::anyhow!("the provisioning key must be 32 bytes"))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    /// Reads the key file (64 hex digits); when it does not exist, writes a new random key
    /// there first (readable by its owner only).
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            let mut key = [0u8; 32];
            SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| anyhow::anyhow!("no system randomness for the provisioning key"))?;
            weft_runtime::tls::write_private(path, hex::encode(key).as_bytes()).with_context(
                || format!("provisioning.key_file: cannot write {}", path.display()),
            )?;
            tracing::warn!(
                file = %path.display(),
                "generated a new provisioning key; every replica must use the same key file"
            );
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("provisioning.key_file: cannot read {}", path.display()))?;
        let key = hex::decode(text.trim()).ok().filter(|key| key.len() == 32);
        match key {
            Some(key) => Self::new(&key),
            None => bail!(
                "provisioning.key_file: {} must hold 32 bytes as 64 hex digits",
                path.display()
            ),
        }
    }

    /// `secret` sealed for the row (`owner`, `key`): nonce followed by ciphertext and tag.
    pub fn seal(&self, owner: &str, key: &str, secret: &Secret) -> Result<Vec<u8>, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| ApiError::internal("no system randomness for a nonce"))?;
        let mut sealed = secret.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data(owner, key)),
                &mut sealed,
            )
            .map_err(|_| ApiError::internal("a secret could not be sealed"))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(out)
    }

    /// Opens what `seal` made for the same row; INTERNAL (without detail) when it does not open
    /// (another key, another row, a changed byte).
    pub fn open(&self, owner: &str, key: &str, sealed: &[u8]) -> Result<Secret, ApiError> {
        let refused = || {
            ApiError::internal(format!(
                "the secret {key} of {owner} does not open with this service's key"
            ))
        };
        if sealed.len() < NONCE_LEN {
            return Err(refused());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| refused())?;
        let mut buffer = ciphertext.to_vec();
        let clear = self
            .key
            .open_in_place(nonce, Aad::from(associated_data(owner, key)), &mut buffer)
            .map_err(|_| refused())?;
        String::from_utf8(clear.to_vec())
            .map(Secret)
            .map_err(|_| refused())
    }

    /// A new random password: 32 bytes, base64url (43 characters, no quoting needed anywhere).
    pub fn new_password(&self) -> Result<Secret, ApiError> {
        let mut bytes = [0u8; 32];
        self.random
            .fill(&mut bytes)
            .map_err(|_| ApiError::internal("no system randomness for a password"))?;
        Ok(Secret(URL_SAFE_NO_PAD.encode(bytes)))
    }
}

fn associated_data(owner: &str, key: &str) -> Vec<u8> {
    format!("{owner}\n{key}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_row_and_key() {
        let sealer = Sealer::new(&[7u8; 32]).unwrap();
        let secret = Secret::new("postgres://admin:s3cret@db/x");
        let sealed = sealer.seal("environments/a", "admin_url", &secret).unwrap();
        assert!(
            !sealed
                .windows(6)
                .any(|window| window == b"s3cret".as_slice())
        );
        assert_eq!(
            sealer.open("environments/a", "admin_url", &sealed).unwrap(),
            secret
        );
        assert!(sealer.open("environments/b", "admin_url", &sealed).is_err());
        assert!(sealer.open("environments/a", "password", &sealed).is_err());
        let other = Sealer::new(&[8u8; 32]).unwrap();
        assert!(other.open("environments/a", "admin_url", &sealed).is_err());
        let mut changed = sealed.clone();
        *changed.last_mut().unwrap() ^= 1;
        assert!(
            sealer
                .open("environments/a", "admin_url", &changed)
                .is_err()
        );
        assert!(sealer.open("environments/a", "admin_url", &[1, 2]).is_err());
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
    }

    #[test]
    fn the_key_file_is_created_once_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("provisioning.key");
        let first = Sealer::load_or_create(&path).unwrap();
        let sealed = first.seal("o", "k", &Secret::new("v")).unwrap();
        let again = Sealer::load_or_create(&path).unwrap();
        assert_eq!(again.open("o", "k", &sealed).unwrap().expose(), "v");
        std::fs::write(&path, "abcd").unwrap();
        let error = Sealer::load_or_create(&path).err().unwrap().to_string();
        assert!(error.starts_with("provisioning.key_file:"), "{error}");
        let password = first.new_password().unwrap();
        assert_eq!(password.expose().len(), 43);
        assert_ne!(password, first.new_password().unwrap());
    }
}
