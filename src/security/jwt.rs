//! Access tokens: JWTs with HS256 pinned, and issuer, audience, type and
//! expiry checked on every request.
use chrono::{DateTime, Utc};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "tessera";
const AUDIENCE: &str = "tessera-api";
const ACCESS_TYPE: &str = "access";
/// Clock skew tolerated between instances.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
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

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        TokenKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    pub fn issue_access(&self, user_id: &str, session_id: &str, now: DateTime<Utc>, expires: DateTime<Utc>) -> String {
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            exp: expires.timestamp(),
            iat: now.timestamp(),
            jti: uuid::Uuid::new_v4().to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            typ: ACCESS_TYPE.to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    /// Checks signature, algorithm, expiry, issuer, audience and type. The
    /// session's liveness is checked by the caller against the database.
    pub fn verify_access(&self, token: &str) -> Option<AccessClaims> {
        let data = decode::<AccessClaims>(token, &self.decoding, &self.validation).ok()?;
        (data.claims.typ == ACCESS_TYPE).then_some(data.claims)
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

    #[test]
    fn round_trip_and_tampering() {
        let keys = TokenKeys::new(&[7u8; 32]);
        let now = Utc::now();
        let token = keys.issue_access("u1", "s1", now, now + chrono::Duration::minutes(15));
        let claims = keys.verify_access(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));

        let other = TokenKeys::new(&[8u8; 32]);
        assert!(other.verify_access(&token).is_none());
        let expired = keys.issue_access("u1", "s1", now - chrono::Duration::hours(2), now - chrono::Duration::hours(1));
        assert!(keys.verify_access(&expired).is_none());
    }

    #[test]
    fn headers() {
        assert_eq!(from_authorization_header("Bearer abc"), Some("abc"));
        assert_eq!(from_authorization_header("JWT abc"), Some("abc"));
        assert_eq!(from_authorization_header("Basic abc"), None);
        assert_eq!(from_authorization_header("Bearer "), None);
    }
}
