//! Cryptographic building blocks every domain may use: access-token keys,
//! opaque random tokens and their hashes, and the password hasher.
/// Access tokens: JWTs with pinned algorithm, issuer, audience and type.
pub mod jwt;
/// argon2id hashing on the blocking pool.
pub mod passwords;
/// Opaque random tokens (refresh tokens, email links) and how they are stored.
pub mod secrets;
