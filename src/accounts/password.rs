//! Password rules and argon2id hashing.
//!
//! Hashing costs ~20 MB and tens of milliseconds on purpose, so it always
//! runs on the blocking pool, never on the async runtime.
use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{AppError, UserErrorCode};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// The 30,000 most common passwords (zxcvbn's frequency list, MIT licence).
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().filter(|l| !l.is_empty()).collect());

/// Checks a new password against the rules shared by signup, password change,
/// reset and `create-admin`. `email` and `username` are the account's own.
pub fn check_rules(password: &str, email: Option<&str>, username: Option<&str>) -> Result<(), (UserErrorCode, String)> {
    let length = password.chars().count();
    if password.is_empty() {
        return Err((UserErrorCode::Required, "Enter a password.".into()));
    }
    if length < MIN_LENGTH {
        return Err((UserErrorCode::TooShort, format!("Use at least {MIN_LENGTH} characters.")));
    }
    if length > MAX_LENGTH {
        return Err((UserErrorCode::TooLong, format!("Use at most {MAX_LENGTH} characters.")));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err((UserErrorCode::TooWeak, "This password is too common.".into()));
    }
    let distinct: HashSet<char> = lower.chars().collect();
    if distinct.len() < 4 {
        return Err((UserErrorCode::TooWeak, "This password is too simple: use more different characters.".into()));
    }
    let mut personal: Vec<String> = Vec::new();
    if let Some(email) = email {
        let email = email.to_lowercase();
        if let Some((local, _)) = email.split_once('@') {
            personal.push(local.to_owned());
        }
        personal.push(email);
    }
    if let Some(username) = username {
        personal.push(username.to_lowercase());
    }
    for value in personal.iter().filter(|v| v.chars().count() >= 3) {
        if lower.contains(value.as_str()) || value.contains(lower.as_str()) {
            return Err((UserErrorCode::TooWeak, "This password is too close to your email or username.".into()));
        }
    }
    Ok(())
}

/// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    /// One hash per core at a time: more would only queue on the CPU while
    /// holding 19 MiB each.
    permits: Arc<tokio::sync::Semaphore>,
    /// Verified against when a login matches no account, so that timing does
    /// not tell which accounts exist.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new() -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
        let argon = Arc::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon
            .hash_password(b"tessera-dummy-password", &salt)
            .expect("hashing a constant succeeds")
            .to_string();
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        PasswordHasher { argon, permits: Arc::new(tokio::sync::Semaphore::new(cores)), dummy_hash: Arc::new(dummy_hash) }
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::internal("password hashing", e))?;
        let argon = self.argon.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AppError::internal("hashing a password", e))
        })
        .await
        .map_err(|e| AppError::internal("password hashing task", e))?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when
    /// there is no account, taking the same time either way.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::internal("password verification", e))?;
        let argon = self.argon.clone();
        let real = hash.is_some();
        let hash = hash.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).map_err(|e| AppError::internal("stored password hash", e))?;
            Ok::<_, AppError>(argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(|e| AppError::internal("password verification task", e))??;
        Ok(real && matches)
    }
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_real() {
        assert!(COMMON.len() >= 10_000);
        assert!(COMMON.contains("password"));
    }

    #[test]
    fn rules() {
        let code = |p: &str| check_rules(p, Some("alice.smith@example.com"), Some("alice_s")).err().map(|e| e.0);
        assert_eq!(code(""), Some(UserErrorCode::Required));
        assert_eq!(code("short1!"), Some(UserErrorCode::TooShort));
        assert_eq!(code(&"x".repeat(129)), Some(UserErrorCode::TooLong));
        assert_eq!(code("password123"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("Password"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("aaaabbbb"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("alice.smith99"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("xxalice_sxx"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("correct horse battery"), None);
    }

    #[tokio::test]
    async fn hashes_verify_and_the_dummy_never_matches() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong horse battery", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("tessera-dummy-password", None).await.unwrap());
    }
}
