//! Opaque tokens: 256 random bits, URL-safe, stored only as their SHA-256.
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new opaque token with 256 bits of randomness, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// How opaque tokens are stored: SHA-256, hex. They are random, so a fast
/// hash is enough.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a).len(), 64);
    }
}
