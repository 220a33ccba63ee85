//! argon2id hashing. A hash costs ~20 MB and tens of milliseconds on
//! purpose, so it always runs on the blocking pool, never on the async
//! runtime, and at most one per core at a time.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::AppError;

/// The parameters new hashes get: OWASP's (19 MiB, 2 passes, 1 lane).
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid")
}

/// Memory for one hash, and when it was last used.
type Arena = (Vec<Block>, Instant);

/// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane).
#[derive(Clone)]
pub struct PasswordHasher {
    /// One hash per core at a time: more would only queue on the CPU while
    /// holding 19 MiB each.
    permits: Arc<tokio::sync::Semaphore>,
    /// The 19 MiB each hash works in, kept between hashes (at most one per
    /// permit). Fresh memory for every hash costs ~4,900 page faults, since
    /// the allocator hands large blocks back to the system at once (main.rs):
    /// a third of a verification's time on this machine. Memory unused for a
    /// while is handed back (`release_idle`).
    arenas: Arc<Mutex<Vec<Arena>>>,
    /// Verified against when a login matches no account, so that timing does
    /// not tell which accounts exist.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let mut hasher =
            PasswordHasher { permits: Arc::new(tokio::sync::Semaphore::new(cores)), arenas: Arc::default(), dummy_hash: Arc::default() };
        hasher.dummy_hash = Arc::new(hasher.hash_now("tessera-dummy-password").expect("hashing a constant succeeds"));
        hasher.release_idle(Duration::ZERO);
        hasher
    }

    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::internal("password hashing", e))?;
        let (hasher, password) = (self.clone(), password.to_owned());
        tokio::task::spawn_blocking(move || hasher.hash_now(&password)).await.map_err(|e| AppError::internal("password hashing task", e))?
    }

    /// Verifies `password` against `hash`, or against the dummy hash when
    /// there is no account, taking the same time either way.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let _permit = self.permits.acquire().await.map_err(|e| AppError::internal("password verification", e))?;
        let real = hash.is_some();
        let hash = hash.map(str::to_owned).unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let (hasher, password) = (self.clone(), password.to_owned());
        let matches = tokio::task::spawn_blocking(move || hasher.verify_now(&password, &hash))
            .await
            .map_err(|e| AppError::internal("password verification task", e))??;
        Ok(real && matches)
    }

    /// Hands back the memory of arenas unused for `idle` or longer.
    pub fn release_idle(&self, idle: Duration) {
        let mut arenas = self.arenas.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        arenas.retain(|(_, last_used)| last_used.elapsed() < idle);
    }

    /// Runs `work` in an arena of at least `blocks` blocks, then keeps it.
    fn with_arena<T>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
        let taken = self.arenas.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let mut arena = match taken {
            Some((arena, _)) if arena.len() >= blocks => arena,
            _ => vec![Block::default(); blocks],
        };
        let result = work(&mut arena[..blocks]);
        self.arenas.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((arena, Instant::now()));
        result
    }

    fn hash_now(&self, password: &str) -> Result<String, AppError> {
        let params = params();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| AppError::internal("password salt", e))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.with_arena(params.block_count(), |arena| argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, arena))
            .map_err(|e| AppError::internal("hashing a password", e))?;
        let phc = PasswordHash {
            algorithm: argon2::ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: (&params).try_into().map_err(|e| AppError::internal("password parameters", e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| AppError::internal("password output", e))?),
        };
        Ok(phc.to_string())
    }

    /// Recomputes the stored hash's output with its own parameters (older
    /// hashes keep verifying) and compares in constant time.
    fn verify_now(&self, password: &str, stored: &str) -> Result<bool, AppError> {
        fn broken(e: impl std::fmt::Display) -> AppError {
            AppError::internal("stored password hash", e)
        }
        let parsed = PasswordHash::new(stored).map_err(broken)?;
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(broken)?;
        let version = parsed.version.map(Version::try_from).transpose().map_err(broken)?.unwrap_or_default();
        let params = Params::try_from(&parsed).map_err(broken)?;
        let expected = parsed.hash.ok_or_else(|| AppError::internal("stored password hash", "no output"))?;
        let salt = parsed.salt.ok_or_else(|| AppError::internal("stored password hash", "no salt"))?;
        let mut salt_bytes = [0u8; 64];
        let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(broken)?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        self.with_arena(params.block_count(), |arena| argon.hash_password_into_with_memory(password.as_bytes(), salt_raw, &mut out, arena))
            .map_err(|e| AppError::internal("verifying a password", e))?;
        // Output's equality is constant-time.
        Ok(Output::new(&out).map_err(broken)? == expected)
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
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

    #[tokio::test]
    async fn hashes_verify_and_the_dummy_never_matches() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify("correct horse battery", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("wrong horse battery", Some(&hash)).await.unwrap());
        assert!(!hasher.verify("tessera-dummy-password", None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_agree_with_the_argon2_crate_both_ways_and_older_parameters_verify() {
        let hasher = PasswordHasher::new();
        let ours = hasher.hash("correct horse battery").await.unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        assert!(reference.verify_password(b"correct horse battery", &PasswordHash::new(&ours).unwrap()).is_ok());
        // A hash made elsewhere, with other parameters, still verifies.
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(8 * 1024, 3, 1, None).unwrap())
            .hash_password(b"an older password", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(hasher.verify("an older password", Some(&older)).await.unwrap());
        assert!(!hasher.verify("an older passworD", Some(&older)).await.unwrap());
    }

    #[tokio::test]
    async fn arenas_are_reused_then_handed_back() {
        let hasher = PasswordHasher::new();
        assert_eq!(hasher.arenas.lock().unwrap().len(), 0);
        let hash = hasher.hash("correct horse battery").await.unwrap();
        hasher.verify("correct horse battery", Some(&hash)).await.unwrap();
        assert_eq!(hasher.arenas.lock().unwrap().len(), 1, "one hash at a time needs one arena");
        hasher.release_idle(Duration::from_secs(60));
        assert_eq!(hasher.arenas.lock().unwrap().len(), 1);
        hasher.release_idle(Duration::ZERO);
        assert_eq!(hasher.arenas.lock().unwrap().len(), 0);
    }
}
