//! Encryption of secrets at rest (TOTP secrets) with DATA_ENCRYPTION_KEY:
//! AES-256-GCM, a fresh 96-bit nonce per value, and associated data that
//! binds each value to its row (the user id), so a value copied to another
//! row does not decrypt.
//!
//! A wrong key cannot be told from tampered data, so the database keeps a
//! key check value: a known text sealed with the key when it was first
//! configured. `check_database_key` opens it at start and refuses to run
//! with another key, or with none, instead of answering garbage later.
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sea_orm::{DatabaseConnection, EntityTrait, Set};

use crate::entities::key_check;

/// The version prefix of sealed values; a later key rotation can add `v2:`.
const SEALED_PREFIX: &str = "v1:";
const NONCE_BYTES: usize = 12;
const TAG_BYTES: usize = 16;

/// The key check value's row and what it seals.
const KEY_CHECK_NAME: &str = "data-encryption-key";
const KEY_CHECK_TEXT: &[u8] = b"tessera-data-encryption-key-check";
const KEY_CHECK_AAD: &[u8] = b"key-check";

/// DATA_ENCRYPTION_KEY, ready to seal and open.
#[derive(Clone)]
pub struct DataKey {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl DataKey {
    pub fn new(key: &[u8; 32]) -> Self {
        DataKey { cipher: Aes256Gcm::new_from_slice(key).expect("a 32-byte key is a valid AES-256 key") }
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plaintext: &[u8], associated: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: associated })
            .expect("AES-GCM encryption of a short value cannot fail");
        format!("{SEALED_PREFIX}{}", B64.encode([&nonce[..], &sealed].concat()))
    }

    /// The plaintext, or None when the value is not ours, was altered, or
    /// was sealed with another key or for another row.
    pub fn open(&self, sealed: &str, associated: &[u8]) -> Option<Vec<u8>> {
        let raw = B64.decode(sealed.strip_prefix(SEALED_PREFIX)?).ok()?;
        if raw.len() < NONCE_BYTES + TAG_BYTES {
            return None;
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        self.cipher.decrypt(&Nonce::from(nonce), Payload { msg: ciphertext, aad: associated }).ok()
    }

    /// Whether a stored value is sealed (rather than kept in plain).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }
}

/// At start: the configured key must be the one the database knows. The
/// first start with a key records its check value (another instance
/// starting at the same moment may record it first: then theirs is checked).
pub async fn check_database_key(db: &DatabaseConnection, key: Option<&DataKey>) -> anyhow::Result<()> {
    let stored = key_check::Entity::find_by_id(KEY_CHECK_NAME).one(db).await.context("reading the key check value")?;
    match (key, stored) {
        (Some(key), Some(row)) => {
            if key.open(&row.check_value, KEY_CHECK_AAD).as_deref() != Some(KEY_CHECK_TEXT) {
                bail!(
                    "DATA_ENCRYPTION_KEY is not the key this database's secrets were encrypted with \
                     (its key check value does not open): set the key it was set up with"
                );
            }
            Ok(())
        }
        (Some(key), None) => {
            let row = key_check::ActiveModel {
                name: Set(KEY_CHECK_NAME.to_owned()),
                check_value: Set(key.seal(KEY_CHECK_TEXT, KEY_CHECK_AAD)),
                created_at: Set(Utc::now()),
            };
            let inserted = key_check::Entity::insert(row)
                .on_conflict(sea_orm::sea_query::OnConflict::column(key_check::Column::Name).do_nothing().to_owned())
                .exec_without_returning(db)
                .await
                .context("storing the key check value")?;
            if inserted == 0 {
                return Box::pin(check_database_key(db, Some(key))).await;
            }
            tracing::info!("DATA_ENCRYPTION_KEY recorded: secrets are stored encrypted from now on");
            Ok(())
        }
        (None, Some(_)) => {
            bail!("this database's secrets are encrypted, but DATA_ENCRYPTION_KEY is not set: set the key it was set up with")
        }
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_row() {
        let key = DataKey::new(&[7u8; 32]);
        let sealed = key.seal(b"JBSWY3DPEHPK3PXP", b"user-1");
        assert!(DataKey::is_sealed(&sealed));
        assert_ne!(sealed, key.seal(b"JBSWY3DPEHPK3PXP", b"user-1"), "a fresh nonce each time");
        assert_eq!(key.open(&sealed, b"user-1").as_deref(), Some(&b"JBSWY3DPEHPK3PXP"[..]));
        assert_eq!(key.open(&sealed, b"user-2"), None, "another row's associated data");
        assert_eq!(DataKey::new(&[8u8; 32]).open(&sealed, b"user-1"), None, "another key");
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 3;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(key.open(&String::from_utf8(tampered).unwrap(), b"user-1"), None);
        assert_eq!(key.open("v1:short", b"user-1"), None);
        assert_eq!(key.open("plain:JBSWY3DP", b"user-1"), None);
        assert!(!format!("{key:?}").contains('7'));
    }
}
