//! OpenID Connect relying party: each configured provider's discovery
//! document and JWKS (fetched with timeouts, cached in memory: any instance
//! can fetch them again), ID-token checks, the browser flow's authorization
//! URL and code exchange, and Apple's minted client secret.
//!
//! An ID token is accepted only when it is signed with RS256, ES256 or EdDSA
//! by a key of the provider's JWKS whose kind matches the algorithm (never
//! `none`, never HMAC: a public key is no secret), iss is the issuer, aud or
//! azp one of the client ids, exp and iat current, and the nonce right when
//! one is expected. A token naming a key the cached JWKS lacks makes the
//! JWKS be fetched again, at most once a minute per provider.
use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{is_loopback_url, pkcs8_pem_to_der, ClientSecret, OidcConfig, OidcProviderConfig};

/// Connecting, and a whole request, to a provider.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A discovery document or JWKS older than this is fetched again when next needed.
const CACHE_FOR: Duration = Duration::from_secs(3600);
/// The JWKS is fetched again for an unknown key at most this often.
const JWKS_REFETCH_EVERY: Duration = Duration::from_secs(60);
/// A provider whose discovery failed is not asked again by a signin within this.
const DISCOVERY_RETRY_EVERY: Duration = Duration::from_secs(5);
/// Clock skew allowed on exp and iat.
const LEEWAY_SECS: i64 = 60;
/// Apple's client secret lives this long (Apple allows up to six months).
const APPLE_SECRET_SECS: i64 = 300;

/// Why a provider's answer or token was not accepted. Shown to the client
/// as INVALID_TOKEN; nothing in it is secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

impl Rejected {
    fn new(message: impl Into<String>) -> Self {
        Rejected(message.into())
    }
}

/// What a checked ID token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub subject: String,
    pub email: Option<String>,
    /// The provider's `email_verified` (Apple sends it as a string).
    pub email_verified: bool,
    pub name: Option<String>,
}

/// Every configured provider, with its caches.
#[derive(Clone)]
pub struct OidcProviders {
    providers: Arc<Vec<Arc<Provider>>>,
    http: reqwest::Client,
}

pub struct Provider {
    pub config: OidcProviderConfig,
    discovery: RwLock<Option<Arc<Discovery>>>,
    keys: RwLock<Option<Arc<Keys>>>,
    last_discovery_attempt: Mutex<Option<Instant>>,
    last_jwks_fetch: Mutex<Option<Instant>>,
}

#[derive(Debug)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    jwks_uri: String,
    token_auth_methods: Vec<String>,
    fetched: Instant,
}

struct Keys {
    keys: Vec<Jwk>,
    fetched: Instant,
}

#[derive(Deserialize)]
struct DiscoveryDocument {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: Option<String>,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    #[serde(default)]
    aud: Value,
    azp: Option<String>,
    iat: Option<i64>,
    nonce: Option<String>,
    email: Option<String>,
    email_verified: Option<Value>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

impl OidcProviders {
    pub fn new(config: &OidcConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(3))
            .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with rustls builds");
        let providers = config
            .providers
            .iter()
            .map(|config| {
                Arc::new(Provider {
                    config: config.clone(),
                    discovery: RwLock::new(None),
                    keys: RwLock::new(None),
                    last_discovery_attempt: Mutex::new(None),
                    last_jwks_fetch: Mutex::new(None),
                })
            })
            .collect();
        OidcProviders { providers: Arc::new(providers), http }
    }

    pub fn all(&self) -> &[Arc<Provider>] {
        &self.providers
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Provider>> {
        self.providers.iter().find(|p| p.config.name == name)
    }

    /// At start: discovers every provider; one that fails is logged and tried
    /// again (30 s, doubling to 10 minutes) until it answers. Never stops the server.
    pub async fn discover_until_done(self) {
        let mut wait = Duration::from_secs(30);
        loop {
            let mut pending = 0;
            for provider in self.providers.iter() {
                if provider.cached_discovery().is_some() {
                    continue;
                }
                if let Err(Rejected(why)) = provider.fetch_discovery(&self.http).await {
                    pending += 1;
                    tracing::warn!(provider = %provider.config.name, error = %why, retry_in_secs = wait.as_secs(), "OIDC discovery failed; signins with this provider fail until it answers");
                }
            }
            if pending == 0 {
                return;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(600));
        }
    }

    /// Checks an ID token from `provider`; `nonce` is the raw nonce the app or the flow gave, if any.
    pub async fn verify_id_token(&self, provider: &Provider, token: &str, nonce: Option<&str>) -> Result<Person, Rejected> {
        provider.verify_id_token(&self.http, token, nonce).await
    }

    /// The URL that starts the browser flow (authorization code with PKCE S256).
    pub async fn authorization_url(
        &self,
        provider: &Provider,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        code_verifier: &str,
    ) -> Result<String, Rejected> {
        let discovery = provider.discovery(&self.http).await?;
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(code_verifier.as_bytes()));
        let mut url = url::Url::parse(&discovery.authorization_endpoint).map_err(|_| Rejected::new("bad authorization endpoint"))?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &provider.config.client_ids[0])
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("scope", &provider.config.scopes)
                .append_pair("state", state)
                .append_pair("nonce", nonce)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            // Apple sends the code with a POST when more than openid is asked for, and refuses otherwise.
            if provider.is_apple() && provider.config.scopes != "openid" {
                query.append_pair("response_mode", "form_post");
            }
        }
        Ok(url.into())
    }

    /// Exchanges the browser flow's code for tokens and checks the ID token against `nonce`.
    pub async fn exchange_code(
        &self,
        provider: &Provider,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
        nonce: &str,
    ) -> Result<Person, Rejected> {
        let id_token = provider.exchange_code(&self.http, code, redirect_uri, code_verifier).await?;
        provider.verify_id_token(&self.http, &id_token, Some(nonce)).await
    }
}

/// Fetches JSON from a provider, https only (plain http on loopback).
async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str, what: &str) -> Result<T, Rejected> {
    let parsed = url::Url::parse(url).map_err(|_| Rejected::new(format!("the provider's {what} URL is not a URL")))?;
    if !(parsed.scheme() == "https" || parsed.scheme() == "http" && is_loopback_url(&parsed)) {
        return Err(Rejected::new(format!("the provider's {what} URL is not https")));
    }
    let response = http.get(parsed).send().await.map_err(|e| Rejected::new(format!("fetching the {what} failed: {e}")))?;
    if !response.status().is_success() {
        return Err(Rejected::new(format!("fetching the {what} answered {}", response.status())));
    }
    response.json().await.map_err(|e| Rejected::new(format!("the {what} is not valid: {e}")))
}

impl Provider {
    fn is_apple(&self) -> bool {
        self.config.issuer == "https://appleid.apple.com"
    }

    fn cached_discovery(&self) -> Option<Arc<Discovery>> {
        self.discovery.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The discovery document: cached, fetched again after an hour (the old
    /// one stays in use while the provider does not answer).
    async fn discovery(&self, http: &reqwest::Client) -> Result<Arc<Discovery>, Rejected> {
        let cached = self.cached_discovery();
        if let Some(cached) = &cached {
            if cached.fetched.elapsed() < CACHE_FOR {
                return Ok(cached.clone());
            }
        }
        let may_try = {
            let mut last = self.last_discovery_attempt.lock().unwrap_or_else(|p| p.into_inner());
            let may = last.is_none_or(|at| at.elapsed() >= DISCOVERY_RETRY_EVERY);
            if may {
                *last = Some(Instant::now());
            }
            may
        };
        if !may_try {
            return cached.ok_or_else(|| self.unreachable());
        }
        match self.fetch_discovery(http).await {
            Ok(fresh) => Ok(fresh),
            Err(Rejected(why)) => {
                tracing::warn!(provider = %self.config.name, error = %why, "OIDC discovery failed");
                cached.ok_or_else(|| self.unreachable())
            }
        }
    }

    fn unreachable(&self) -> Rejected {
        Rejected::new(format!("{} cannot be reached right now: try again later", self.config.display_name))
    }

    async fn fetch_discovery(&self, http: &reqwest::Client) -> Result<Arc<Discovery>, Rejected> {
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let document: DiscoveryDocument = get_json(http, &url, "discovery document").await?;
        if document.issuer.trim_end_matches('/') != self.config.issuer {
            return Err(Rejected::new(format!("the discovery document names another issuer ({})", document.issuer)));
        }
        let discovery = Arc::new(Discovery {
            authorization_endpoint: document.authorization_endpoint,
            token_endpoint: document.token_endpoint,
            jwks_uri: document.jwks_uri,
            token_auth_methods: document.token_endpoint_auth_methods_supported,
            fetched: Instant::now(),
        });
        *self.discovery.write().unwrap_or_else(|p| p.into_inner()) = Some(discovery.clone());
        Ok(discovery)
    }

    /// The cached keys, fetched when missing or older than an hour.
    async fn keys(&self, http: &reqwest::Client) -> Result<Arc<Keys>, Rejected> {
        let cached = self.keys.read().unwrap_or_else(|p| p.into_inner()).clone();
        match cached {
            Some(keys) if keys.fetched.elapsed() < CACHE_FOR => Ok(keys),
            cached => match self.fetch_keys(http).await {
                Ok(keys) => Ok(keys),
                Err(error) => cached.ok_or(error),
            },
        }
    }

    /// Fetches the JWKS again for a key it lacked, unless that was done within
    /// a minute (tokens naming made-up keys cost the provider one fetch a minute).
    async fn refetch_keys_for_unknown_kid(&self, http: &reqwest::Client) -> Option<Arc<Keys>> {
        {
            let mut last = self.last_jwks_fetch.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < JWKS_REFETCH_EVERY) {
                return None;
            }
            *last = Some(Instant::now());
        }
        self.fetch_keys(http).await.ok()
    }

    async fn fetch_keys(&self, http: &reqwest::Client) -> Result<Arc<Keys>, Rejected> {
        let discovery = self.discovery(http).await?;
        #[derive(Deserialize)]
        struct Set {
            keys: Vec<Value>,
        }
        let set: Set = get_json(http, &discovery.jwks_uri, "JWKS").await?;
        // Keys of kinds this library does not know (encryption keys...) are skipped, not fatal.
        let keys = set.keys.into_iter().filter_map(|k| serde_json::from_value::<Jwk>(k).ok()).collect();
        let keys = Arc::new(Keys { keys, fetched: Instant::now() });
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Some(keys.clone());
        Ok(keys)
    }

    async fn verify_id_token(&self, http: &reqwest::Client, token: &str, nonce: Option<&str>) -> Result<Person, Rejected> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Rejected::new("not a signed JWT"))?;
        // Checked before any key is looked at: HMAC would take a public key
        // as its secret, and `none` is not in jsonwebtoken's list at all.
        let family = match header.alg {
            Algorithm::RS256 => KeyKind::Rsa,
            Algorithm::ES256 => KeyKind::Ec,
            Algorithm::EdDSA => KeyKind::Ed,
            other => return Err(Rejected::new(format!("the algorithm {other:?} is not accepted"))),
        };
        let keys = self.keys(http).await?;
        let key = match pick_key(&keys.keys, header.kid.as_deref(), header.alg, family) {
            Some(key) => key.clone(),
            None => {
                let fresh = self.refetch_keys_for_unknown_kid(http).await;
                fresh
                    .as_deref()
                    .and_then(|keys| pick_key(&keys.keys, header.kid.as_deref(), header.alg, family))
                    .cloned()
                    .ok_or_else(|| Rejected::new("signed with a key the provider does not publish"))?
            }
        };
        let decoding = DecodingKey::from_jwk(&key).map_err(|_| Rejected::new("the provider's key cannot be used"))?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS as u64;
        validation.validate_aud = false;
        validation.required_spec_claims = HashSet::from(["exp".to_owned(), "sub".to_owned(), "iss".to_owned()]);
        let data = jsonwebtoken::decode::<Claims>(token, &decoding, &validation).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => Rejected::new("expired"),
            jsonwebtoken::errors::ErrorKind::InvalidSignature => Rejected::new("the signature does not check"),
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => Rejected::new("not valid yet"),
            _ => Rejected::new("malformed"),
        })?;
        let claims = data.claims;
        self.check_claims(&claims, nonce)?;
        let given: Vec<&str> = [claims.given_name.as_deref(), claims.family_name.as_deref()].into_iter().flatten().collect();
        let name = claims.name.filter(|n| !n.trim().is_empty()).or_else(|| (!given.is_empty()).then(|| given.join(" ")));
        let email_verified = match &claims.email_verified {
            Some(Value::Bool(verified)) => *verified,
            Some(Value::String(text)) => text == "true",
            _ => false,
        };
        Ok(Person { subject: claims.sub, email: claims.email.filter(|e| !e.trim().is_empty()), email_verified, name })
    }

    fn check_claims(&self, claims: &Claims, nonce: Option<&str>) -> Result<(), Rejected> {
        // Google's tokens may name their issuer without the scheme.
        let google_short = self.config.issuer == "https://accounts.google.com" && claims.iss == "accounts.google.com";
        if claims.iss.trim_end_matches('/') != self.config.issuer && !google_short {
            return Err(Rejected::new("issued by another issuer"));
        }
        let audiences: Vec<&str> = match &claims.aud {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ours = |id: &str| self.config.client_ids.iter().any(|c| c == id);
        if !(audiences.iter().any(|a| ours(a)) || claims.azp.as_deref().is_some_and(ours)) {
            return Err(Rejected::new("issued for another client"));
        }
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(Rejected::new("the subject is missing or too long"));
        }
        let now = chrono::Utc::now().timestamp();
        match claims.iat {
            Some(iat) if iat <= now + LEEWAY_SECS => {}
            Some(_) => return Err(Rejected::new("issued in the future")),
            None => return Err(Rejected::new("no issue time")),
        }
        if let Some(expected) = nonce {
            let hashed = hex::encode(Sha256::digest(expected.as_bytes()));
            match claims.nonce.as_deref() {
                Some(found) if found == expected || found.eq_ignore_ascii_case(&hashed) => {}
                Some(_) => return Err(Rejected::new("the nonce does not match")),
                None => return Err(Rejected::new("the nonce is missing")),
            }
        }
        Ok(())
    }

    async fn exchange_code(&self, http: &reqwest::Client, code: &str, redirect_uri: &str, code_verifier: &str) -> Result<String, Rejected> {
        let discovery = self.discovery(http).await?;
        let endpoint = discovery.token_endpoint.clone().ok_or_else(|| Rejected::new("the provider has no token endpoint"))?;
        let parsed = url::Url::parse(&endpoint).map_err(|_| Rejected::new("bad token endpoint"))?;
        if !(parsed.scheme() == "https" || parsed.scheme() == "http" && is_loopback_url(&parsed)) {
            return Err(Rejected::new("the token endpoint is not https"));
        }
        let client_id = self.config.client_ids[0].as_str();
        let secret = match &self.config.client_secret {
            None => None,
            Some(ClientSecret::Static(secret)) => Some(secret.expose().clone()),
            Some(ClientSecret::AppleKey { team_id, key_id, private_key_pem }) => {
                Some(apple_client_secret(team_id, key_id, private_key_pem.expose(), client_id, &self.config.issuer)?)
            }
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("client_id", client_id),
        ];
        let methods = &discovery.token_auth_methods;
        // client_secret_basic is the default when the provider lists none.
        let basic = methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic");
        let mut request = http.post(parsed);
        match &secret {
            Some(secret) if basic => {
                // RFC 6749 §2.3.1: both form-urlencoded before going into the Basic header.
                let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                request = request.basic_auth(enc(client_id), Some(enc(secret)));
            }
            Some(secret) => form.push(("client_secret", secret.as_str())),
            None => {}
        }
        let response = request.form(&form).send().await.map_err(|e| Rejected::new(format!("the code exchange failed: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|_| Rejected::new("the code exchange answered no JSON"))?;
        if !status.is_success() {
            let error = body.get("error").and_then(Value::as_str).unwrap_or("unknown error");
            return Err(Rejected::new(format!("the provider refused the code ({error})")));
        }
        body.get("id_token").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| Rejected::new("the provider returned no ID token"))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    Ec,
    Ed,
}

/// The key a token names (or, with no kid, the only key of its kind), only
/// if its kind fits the algorithm and its own `alg`, when given, is that one.
fn pick_key<'a>(keys: &'a [Jwk], kid: Option<&str>, alg: Algorithm, family: KeyKind) -> Option<&'a Jwk> {
    let fits = |key: &&Jwk| {
        let kind = match key.algorithm {
            AlgorithmParameters::RSA(_) => Some(KeyKind::Rsa),
            AlgorithmParameters::EllipticCurve(_) => Some(KeyKind::Ec),
            AlgorithmParameters::OctetKeyPair(_) => Some(KeyKind::Ed),
            AlgorithmParameters::OctetKey(_) => None,
        };
        let alg_ok = key.common.key_algorithm.as_ref().is_none_or(|k| format!("{k:?}") == format!("{alg:?}"));
        let use_ok = !matches!(key.common.public_key_use, Some(jsonwebtoken::jwk::PublicKeyUse::Encryption));
        kind == Some(family) && alg_ok && use_ok
    };
    match kid {
        Some(kid) => keys.iter().filter(|k| k.common.key_id.as_deref() == Some(kid)).find(fits),
        None => {
            let mut candidates = keys.iter().filter(fits);
            let only = candidates.next()?;
            candidates.next().is_none().then_some(only)
        }
    }
}

/// Apple's client secret: an ES256 JWT signed with the team's key, valid for a few minutes.
pub fn apple_client_secret(team_id: &str, key_id: &str, pem: &str, client_id: &str, audience: &str) -> Result<String, Rejected> {
    let der = pkcs8_pem_to_der(pem).ok_or_else(|| Rejected::new("the Apple private key is not a PKCS#8 PEM"))?;
    let key = jsonwebtoken::EncodingKey::from_ec_der(&der);
    let mut header = jsonwebtoken::Header::new(Algorithm::ES256);
    header.kid = Some(key_id.to_owned());
    let now = chrono::Utc::now().timestamp();
    let claims = serde_json::json!({ "iss": team_id, "iat": now, "exp": now + APPLE_SECRET_SECS, "aud": audience, "sub": client_id });
    jsonwebtoken::encode(&header, &claims, &key).map_err(|_| Rejected::new("minting the Apple client secret failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apple_secret_is_an_es256_jwt_for_apple() {
        // A P-256 key in PKCS#8 PEM, as Apple's .p8 files are (made for this test).
        let pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdsW420wmcaPrlVsG\nAHdJ17vUxE1Ol/b9l1wy08PUBbKhRANCAAQCWA82e1W95FXKJqh/XkZ3/0iBXXr8\n6e0o3nlPwd79otVw1HMxfToKHeOAdgYvylbDbr/5Szrh6WqMxi8TrbpD\n-----END PRIVATE KEY-----\n";
        let secret = apple_client_secret("TEAM123456", "KEY1234567", pem, "com.example.web", "https://appleid.apple.com").unwrap();
        let header = jsonwebtoken::decode_header(&secret).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
        let payload = secret.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["iss"], "TEAM123456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["aud"], "https://appleid.apple.com");
        assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    }
}
