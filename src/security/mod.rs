//! Cryptographic building blocks every domain may use: access-token keys,
//! opaque random tokens and their hashes, the password hasher, encryption
//! at rest and the WebAuthn relying party.
/// DATA_ENCRYPTION_KEY: AES-256-GCM for secrets at rest, and its key check at start.
pub mod encryption;
/// Access tokens: JWTs with pinned algorithm, issuer, audience and type.
pub mod jwt;
/// OpenID Connect providers: discovery, JWKS, ID-token checks, the code exchange.
pub mod oidc;
/// argon2id hashing on the blocking pool.
pub mod passwords;
/// Opaque random tokens (refresh tokens, email links) and how they are stored.
pub mod secrets;
/// The WebAuthn relying party (id, origins) passkeys are checked against.
pub mod webauthn;
