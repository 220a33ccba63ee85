//! Access tokens. By default they are signed with Ed25519 (`alg: EdDSA`,
//! `kid` = the key's RFC 7638 thumbprint) and the public keys are published
//! as a JWKS, so other services verify them without sharing a secret. With
//! JWT_SECRET set they are HS256, as in the first releases. Every request
//! checks the algorithm (pinned), the key, issuer, audience, type, expiry,
//! not-before and issued-at.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, KeypairBytes};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cache::BoundedCache;
use crate::config::Config;

/// The `aud` of every access token. Stable: services verifying tokens check it.
pub const AUDIENCE: &str = "tessera-api";
const ACCESS_TYPE: &str = "access";
/// The JOSE header `typ` of access tokens (RFC 9068).
const HEADER_TYPE: &str = "at+jwt";
/// Clock skew tolerated between instances for `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 5;
const _: () = assert!(LEEWAY_SECS <= 60, "the clock leeway must stay small");
/// The key generated into DATA_DIR when JWT_SIGNING_KEYS is unset.
pub const GENERATED_KEY_FILE: &str = "jwt_signing_key.pem";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    /// The session this token belongs to: checked live on every request.
    pub sid: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    /// Token type, so that no other token we might sign passes as an access token.
    pub typ: String,
}

/// A key that verifies tokens, and the `kid` tokens name it by (None for HS256).
#[derive(Clone)]
struct VerifyingEntry {
    kid: Option<String>,
    key: DecodingKey,
}

#[derive(Clone)]
pub struct TokenKeys {
    algorithm: Algorithm,
    issuer: String,
    header: Header,
    encoding: EncodingKey,
    verifying: Vec<VerifyingEntry>,
    validation: Validation,
    /// The public keys as a JWK Set (empty with HS256: a shared secret is never published).
    jwks: serde_json::Value,
    /// Tokens whose signature and claims checked out. A signature stays
    /// valid (the keys are fixed for the life of the process), so a token
    /// sent again is checked for expiry only; the session behind it is
    /// still checked live on every request.
    verified: Arc<BoundedCache<Box<str>, Arc<AccessClaims>>>,
}

/// How many verified tokens an instance remembers (~700 bytes each): more
/// than the clients active within an access token's lifetime on most sites;
/// past that, tokens are verified again.
const VERIFIED_TOKENS_CAPACITY: usize = 8192;

/// An Ed25519 key read from a PEM file: a private key signs and verifies, a
/// public key (an old key kept a while after rotation) only verifies.
pub enum KeyFile {
    Private(SigningKey),
    Public(VerifyingKey),
}

impl KeyFile {
    fn verifying_key(&self) -> VerifyingKey {
        match self {
            KeyFile::Private(key) => key.verifying_key(),
            KeyFile::Public(key) => *key,
        }
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public key: the `kid` of its tokens.
pub fn kid_of(key: &VerifyingKey) -> String {
    let x = URL_SAFE_NO_PAD.encode(key.as_bytes());
    // The required members in lexicographic order, no whitespace (RFC 7638 section 3).
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#)))
}

/// A new Ed25519 private key as PKCS#8 v1 PEM (what `openssl genpkey
/// -algorithm ed25519` writes; OpenSSL and Python's cryptography refuse the
/// v2 form that ed25519-dalek writes by default).
pub fn generate_key_pem() -> String {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    KeypairBytes { secret_key: key.to_bytes(), public_key: None }
        .to_pkcs8_pem(LineEnding::LF)
        .expect("a 32-byte key always encodes")
        .to_string()
}

/// Reads an Ed25519 key from a PKCS#8 private-key PEM or an SPKI public-key PEM.
pub fn read_key(path: &Path) -> anyhow::Result<KeyFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the key file {}", path.display()))?;
    if let Ok(key) = SigningKey::from_pkcs8_pem(&text) {
        return Ok(KeyFile::Private(key));
    }
    if let Ok(key) = VerifyingKey::from_public_key_pem(&text) {
        return Ok(KeyFile::Public(key));
    }
    anyhow::bail!(
        "{} is not an Ed25519 key in PEM (PKCS#8 private key or SPKI public key); make one with `openssl genpkey -algorithm ed25519`",
        path.display()
    )
}

/// The key in DATA_DIR/jwt_signing_key.pem, created (0600) on first use.
fn generated_key(data_dir: &Path) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    let path = data_dir.join(GENERATED_KEY_FILE);
    if path.exists() {
        return Ok(path);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(generate_key_pem().as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            file.sync_all().ok();
            tracing::warn!(
                path = %path.display(),
                "JWT_SIGNING_KEYS is not set: generated an Ed25519 signing key and stored it; in production give every instance the same key with JWT_SIGNING_KEYS"
            );
            Ok(path)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(path),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

fn validation(algorithm: Algorithm, issuer: &str) -> Validation {
    let mut validation = Validation::new(algorithm);
    validation.algorithms = vec![algorithm];
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation
}

impl TokenKeys {
    /// The keys the settings name: HS256 with JWT_SECRET, else the Ed25519
    /// keys of JWT_SIGNING_KEYS, else the one generated into DATA_DIR. The
    /// issuer is PUBLIC_URL.
    pub fn load(config: &Config) -> anyhow::Result<TokenKeys> {
        let issuer = config.server.public_url();
        if let Some(secret) = &config.tokens.jwt_secret {
            return Ok(TokenKeys::hs256(secret.expose(), &issuer));
        }
        let paths = match config.tokens.signing_keys.as_slice() {
            [] => vec![generated_key(&config.server.data_dir)?],
            given => given.to_vec(),
        };
        let keys = paths.iter().map(|p| read_key(p).context("JWT_SIGNING_KEYS")).collect::<anyhow::Result<Vec<_>>>()?;
        TokenKeys::ed25519(keys, &issuer)
    }

    /// HS256 with a shared secret.
    pub fn hs256(secret: &[u8], issuer: &str) -> TokenKeys {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(HEADER_TYPE.into());
        TokenKeys {
            algorithm: Algorithm::HS256,
            issuer: issuer.to_owned(),
            header,
            encoding: EncodingKey::from_secret(secret),
            verifying: vec![VerifyingEntry { kid: None, key: DecodingKey::from_secret(secret) }],
            validation: validation(Algorithm::HS256, issuer),
            jwks: serde_json::json!({ "keys": [] }),
            verified: Arc::new(BoundedCache::new(VERIFIED_TOKENS_CAPACITY)),
        }
    }

    /// EdDSA: the first key signs (it must be a private key), every key verifies.
    pub fn ed25519(keys: Vec<KeyFile>, issuer: &str) -> anyhow::Result<TokenKeys> {
        let Some(KeyFile::Private(signer)) = keys.first() else {
            anyhow::bail!("JWT_SIGNING_KEYS: the first key signs, so it must be a private key");
        };
        let der = KeypairBytes { secret_key: signer.to_bytes(), public_key: None }.to_pkcs8_der().context("encoding the signing key")?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid_of(&signer.verifying_key()));
        header.typ = Some(HEADER_TYPE.into());
        let mut verifying = Vec::new();
        let mut published = Vec::new();
        for key in &keys {
            let public = key.verifying_key();
            let kid = kid_of(&public);
            if verifying.iter().any(|v: &VerifyingEntry| v.kid.as_deref() == Some(kid.as_str())) {
                continue;
            }
            // jsonwebtoken takes the raw 32-byte public key here, not SPKI DER.
            verifying.push(VerifyingEntry { kid: Some(kid.clone()), key: DecodingKey::from_ed_der(public.as_bytes()) });
            published.push(serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(public.as_bytes()),
                "kid": kid,
                "alg": "EdDSA",
                "use": "sig",
            }));
        }
        Ok(TokenKeys {
            algorithm: Algorithm::EdDSA,
            issuer: issuer.to_owned(),
            header,
            encoding,
            verifying,
            validation: validation(Algorithm::EdDSA, issuer),
            jwks: serde_json::json!({ "keys": published }),
            verified: Arc::new(BoundedCache::new(VERIFIED_TOKENS_CAPACITY)),
        })
    }

    /// "EdDSA" or "HS256".
    pub fn algorithm_name(&self) -> &'static str {
        match self.algorithm {
            Algorithm::EdDSA => "EdDSA",
            _ => "HS256",
        }
    }

    /// The `iss` of every token: PUBLIC_URL.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public keys as a JWK Set, for /.well-known/jwks.json.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    pub fn issue_access(&self, user_id: &str, session_id: &str, now: DateTime<Utc>, expires: DateTime<Utc>) -> String {
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            exp: expires.timestamp(),
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            typ: ACCESS_TYPE.to_owned(),
        };
        encode(&self.header, &claims, &self.encoding).expect("signing with a loaded key cannot fail")
    }

    /// Checks the algorithm, the key (by `kid` for EdDSA), the signature,
    /// expiry, not-before, issued-at, issuer, audience and type. The
    /// session's liveness is checked by the caller against the database.
    pub fn verify_access(&self, token: &str) -> Option<Arc<AccessClaims>> {
        let now = Utc::now().timestamp();
        if let Some(claims) = self.verified.get(token) {
            // As jsonwebtoken judges `exp`; nothing else can change for a token already checked.
            return (claims.exp >= now - LEEWAY_SECS as i64).then_some(claims);
        }
        let claims = Arc::new(self.verify_access_uncached(token)?);
        self.verified.insert(token.into(), claims.clone());
        Some(claims)
    }

    /// `verify_access` without remembering the token: the signature is
    /// checked every time.
    pub fn verify_access_uncached(&self, token: &str) -> Option<AccessClaims> {
        let header = decode_header(token).ok()?;
        if header.alg != self.algorithm {
            return None;
        }
        let entry = match self.algorithm {
            Algorithm::EdDSA => {
                let kid = header.kid.as_deref()?;
                self.verifying.iter().find(|v| v.kid.as_deref() == Some(kid))?
            }
            _ => self.verifying.first()?,
        };
        let claims = decode::<AccessClaims>(token, &entry.key, &self.validation).ok()?.claims;
        // jsonwebtoken does not look at iat; a token "issued" in the future was not issued by us.
        let latest = Utc::now().timestamp() + LEEWAY_SECS as i64;
        (claims.typ == ACCESS_TYPE && claims.iat <= latest).then_some(claims)
    }
}

/// The token from `Authorization: Bearer <t>` or `Authorization: JWT <t>`.
pub fn from_authorization_header(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    if (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("jwt")) && !token.is_empty() {
        Some(token)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example";

    fn ed_keys(count: usize) -> Vec<SigningKey> {
        (0..count).map(|_| SigningKey::from_pkcs8_pem(&generate_key_pem()).unwrap()).collect()
    }

    #[test]
    fn hs256_round_trip_and_tampering() {
        let keys = TokenKeys::hs256(&[7u8; 32], ISSUER);
        let now = Utc::now();
        let token = keys.issue_access("u1", "s1", now, now + chrono::Duration::minutes(15));
        let claims = keys.verify_access(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str(), claims.iss.as_str()), ("u1", "s1", ISSUER));

        let other = TokenKeys::hs256(&[8u8; 32], ISSUER);
        assert!(other.verify_access(&token).is_none());
        assert!(TokenKeys::hs256(&[7u8; 32], "https://other.example").verify_access(&token).is_none());
        let expired = keys.issue_access("u1", "s1", now - chrono::Duration::hours(2), now - chrono::Duration::hours(1));
        assert!(keys.verify_access(&expired).is_none());
        assert_eq!(keys.jwks()["keys"], serde_json::json!([]));
    }

    #[test]
    fn a_remembered_token_is_refused_once_it_expires() {
        let keys = TokenKeys::hs256(&[7u8; 32], ISSUER);
        let now = Utc::now();
        let token = keys.issue_access("u1", "s1", now, now + chrono::Duration::minutes(15));
        assert!(keys.verify_access(&token).is_some());
        assert_eq!(keys.verified.len(), 1);
        // The same token, remembered as expiring longer ago than the leeway.
        let mut claims = (*keys.verified.get(token.as_str()).unwrap()).clone();
        claims.exp = now.timestamp() - LEEWAY_SECS as i64 - 1;
        keys.verified.insert(token.as_str().into(), Arc::new(claims));
        assert!(keys.verify_access(&token).is_none());
        // A forged token is never remembered.
        let at = token.rfind('.').unwrap() + 5;
        let swapped = if &token[at..at + 1] == "A" { "B" } else { "A" };
        let forged = format!("{}{swapped}{}", &token[..at], &token[at + 1..]);
        assert!(keys.verify_access(&forged).is_none());
        assert_eq!(keys.verified.len(), 1);
    }

    #[test]
    fn eddsa_tokens_name_their_key_and_verify_with_any_configured_key() {
        let [new, old] = <[SigningKey; 2]>::try_from(ed_keys(2)).ok().unwrap();
        let now = Utc::now();
        let before = TokenKeys::ed25519(vec![KeyFile::Private(old.clone())], ISSUER).unwrap();
        let old_token = before.issue_access("u1", "s1", now, now + chrono::Duration::minutes(15));
        let header = decode_header(&old_token).unwrap();
        assert_eq!(
            (header.alg, header.kid.as_deref(), header.typ.as_deref()),
            (Algorithm::EdDSA, Some(&*kid_of(&old.verifying_key())), Some("at+jwt"))
        );

        // Rotation: the new key first signs, the old one still verifies.
        let rotated = TokenKeys::ed25519(vec![KeyFile::Private(new.clone()), KeyFile::Public(old.verifying_key())], ISSUER).unwrap();
        assert!(rotated.verify_access(&old_token).is_some());
        let new_token = rotated.issue_access("u1", "s1", now, now + chrono::Duration::minutes(15));
        assert_eq!(decode_header(&new_token).unwrap().kid, Some(kid_of(&new.verifying_key())));
        assert_eq!(rotated.jwks()["keys"].as_array().unwrap().len(), 2);
        // The old key dropped: its tokens are refused.
        let after = TokenKeys::ed25519(vec![KeyFile::Private(new)], ISSUER).unwrap();
        assert!(after.verify_access(&old_token).is_none());
        assert!(after.verify_access(&new_token).is_some());
        // A public key alone cannot sign.
        assert!(TokenKeys::ed25519(vec![KeyFile::Public(old.verifying_key())], ISSUER).is_err());
    }

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint() {
        // RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
        let x = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        let key = VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap();
        assert_eq!(kid_of(&key), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn generated_keys_are_pkcs8_v1() {
        let pem = generate_key_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAw"), "{pem}");
    }

    #[test]
    fn headers() {
        assert_eq!(from_authorization_header("Bearer abc"), Some("abc"));
        assert_eq!(from_authorization_header("JWT abc"), Some("abc"));
        assert_eq!(from_authorization_header("Basic abc"), None);
        assert_eq!(from_authorization_header("Bearer "), None);
    }
}
