//! argon2id hashing. A hash costs ~20 MB and tens of milliseconds on
//! purpose, so it always runs on the blocking pool, never on the async
//! runtime, and at most one per core at a time.
use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

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
        let dummy_hash = argon.hash_password(b"tessera-dummy-password", &salt).expect("hashing a constant succeeds").to_string();
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        PasswordHasher { argon, permits: Arc::new(tokio::sync::Semaphore::new(cores)), dummy_hash: Arc::new(dummy_hash) }
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::internal("password hashing", e))?;
        let argon = self.argon.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon.hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| AppError::internal("hashing a password", e))
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
