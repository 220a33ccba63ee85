//! What the social sign-in tests share: a real OpenID provider
//! (oidc-provider, tests/oidc/) driven through its development login pages,
//! and a crafted provider whose keys and JWKS the test makes, for tokens no
//! honest provider would issue.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tessera::config::{OidcProviderSettings, Settings};

use crate::helpers::*;

pub const REDIRECT_URI: &str = "http://app.test/oauth/callback";

pub const SIGNIN_WITH_ID_TOKEN: &str = "mutation($input: SigninWithIdTokenInput!) { signinWithIdToken(input: $input) { tokens { accessToken refreshToken } user { id email emailConfirmed fullName username hasPassword lastLoginAt linkedIdentities { provider subject email linkedAt lastUsedAt } } mfaChallenge { challengeToken } userErrors { field message code } } }";
pub const START_OAUTH: &str = "mutation($input: StartOAuthSigninInput!) { startOAuthSignin(input: $input) { authorizationUrl state userErrors { field message code } } }";
pub const FINISH_OAUTH: &str = "mutation($input: FinishOAuthSigninInput!) { finishOAuthSignin(input: $input) { tokens { accessToken refreshToken } user { id email emailConfirmed hasPassword linkedIdentities { provider subject email } } mfaChallenge { challengeToken } userErrors { field message code } } }";
pub const LINK_IDENTITY: &str = "mutation($input: SigninWithIdTokenInput!) { linkIdentity(input: $input) { user { id linkedIdentities { provider subject } } userErrors { field message code } } }";
pub const UNLINK_IDENTITY: &str = "mutation($provider: ID!) { unlinkIdentity(provider: $provider) { user { id hasPassword linkedIdentities { provider } } userErrors { field message code } } }";
pub const ME_IDENTITIES: &str =
    "{ me { id email emailConfirmed hasPassword lastLoginAt linkedIdentities { provider subject email linkedAt lastUsedAt } } }";

/// oidc-provider on a loopback port, ended with the test (kill on drop; it
/// also ends when its stdin closes).
pub struct RealProvider {
    pub issuer: String,
    child: Child,
}

impl Drop for RealProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tests/oidc/provider.mjs. `users`: claims by login (sub), as the provider script reads them.
pub fn start_real_provider(users: Value) -> RealProvider {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
    assert!(
        dir.join("node_modules/oidc-provider").exists(),
        "the test provider is not installed: run `(cd tests/oidc && npm ci)` (.ci/run does)"
    );
    let mut child = Command::new("node")
        .arg("provider.mjs")
        .current_dir(&dir)
        .env("OIDC_TEST_USERS", users.to_string())
        .env("OIDC_TEST_REDIRECT_URIS", REDIRECT_URI)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("node runs tests/oidc/provider.mjs");
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("the provider says READY");
    // Whatever it prints later is read, so that it never writes to a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let issuer = line.trim().strip_prefix("READY ").unwrap_or_else(|| panic!("unexpected provider output: {line}")).to_owned();
    RealProvider { issuer, child }
}

/// Settings for a provider `name` at `issuer` accepting `client_ids` (the first for the browser flow).
pub fn provider_settings(name: &str, issuer: &str, client_ids: &[&str], secret: Option<&str>) -> OidcProviderSettings {
    OidcProviderSettings {
        name: name.into(),
        issuer: issuer.into(),
        client_ids: client_ids.iter().map(|c| c.to_string()).collect(),
        client_secret: secret.map(|s| tessera::config::Secret::new(s.to_owned())),
        ..Default::default()
    }
}

/// The real provider as `test`: tessera-web (browser flow, RS256) and tessera-ios (mobile, ES256).
pub fn real_provider_settings(provider: &RealProvider) -> impl FnOnce(&mut Settings) + '_ {
    move |settings: &mut Settings| {
        settings.oidc.providers.push(provider_settings(
            "test",
            &provider.issuer,
            &["tessera-web", "tessera-ios"],
            Some("tessera-web-secret"),
        ));
    }
}

/// A browser: a cookie jar over a client that does not follow redirects.
pub struct Browser {
    client: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    pub fn new() -> Self {
        Browser { client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), cookies: HashMap::new() }
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            if let Some((name, rest)) = text.split_once('=') {
                let value = rest.split(';').next().unwrap_or_default();
                self.cookies.insert(name.trim().to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> reqwest::Response {
        let response = request
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|e| panic!("the provider does not answer: {e:?}"));
        self.keep_cookies(&response);
        response
    }

    /// Follows the provider's pages from `authorization_url` as a person
    /// signing in as `login` would (the development login page, then
    /// consent), up to the redirect back to the app; returns that URL.
    pub async fn sign_in(&mut self, authorization_url: &str, login: &str) -> url::Url {
        let mut url = url::Url::parse(authorization_url).unwrap();
        for _ in 0..12 {
            if url.as_str().starts_with(REDIRECT_URI) {
                return url;
            }
            let response = self.send(self.client.get(url.clone())).await;
            if response.status().is_redirection() {
                url = url.join(response.headers()[reqwest::header::LOCATION].to_str().unwrap()).unwrap();
                continue;
            }
            let page = response.text().await.unwrap();
            let form: Vec<(&str, &str)> = if page.contains(r#"name="prompt" value="login""#) {
                vec![("prompt", "login"), ("login", login), ("password", "any password")]
            } else if page.contains(r#"name="prompt" value="consent""#) {
                vec![("prompt", "consent")]
            } else {
                panic!("unexpected provider page at {url}: {page}");
            };
            let response = self.send(self.client.post(url.clone()).form(&form)).await;
            assert!(response.status().is_redirection(), "the provider refused the form: {}", response.status());
            url = url.join(response.headers()[reqwest::header::LOCATION].to_str().unwrap()).unwrap();
        }
        panic!("the provider did not send the browser back");
    }
}

/// The value of a query parameter.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// What a mobile app's SDK does: signs in at the real provider as the
/// public client tessera-ios (PKCE) with `nonce`, and returns the ID token.
pub async fn mobile_id_token(provider: &RealProvider, login: &str, nonce: &str) -> String {
    let verifier = "a-pkce-verifier-that-is-long-enough-for-the-spec-0123456789";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(&format!("{}/auth", provider.issuer)).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", "tessera-ios")
        .append_pair("response_type", "code")
        .append_pair("scope", "openid email profile")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("state", "mobile")
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let back = Browser::new().sign_in(url.as_str(), login).await;
    let code = param(&back, "code").expect("a code");
    let tokens: Value = reqwest::Client::new()
        .post(format!("{}/token", provider.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", "tessera-ios"),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["id_token"].as_str().unwrap_or_else(|| panic!("no ID token: {tokens}")).to_owned()
}

// ---------------------------------------------------------------------------
// A crafted provider: keys made here, discovery and JWKS served here.

/// A signing key and its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: Arc<EncodingKey>,
    pub jwk: Value,
    /// The public key in PEM (RSA only): what an HS256 forgery uses as its secret.
    pub public_pem: Option<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn openssl(args: &[&str], input: Option<&[u8]>) -> Vec<u8> {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the openssl command runs");
    if let Some(input) = input {
        child.stdin.take().unwrap().write_all(input).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl {args:?} failed");
    out.stdout
}

impl TestKey {
    pub fn rsa(kid: &str) -> TestKey {
        let pem = openssl(&["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], None);
        let public_pem = String::from_utf8(openssl(&["pkey", "-pubout"], Some(&pem))).unwrap();
        let modulus = String::from_utf8(openssl(&["rsa", "-noout", "-modulus"], Some(&pem))).unwrap();
        let n = hex::decode(modulus.trim().trim_start_matches("Modulus=")).unwrap();
        TestKey {
            kid: kid.into(),
            alg: Algorithm::RS256,
            encoding: Arc::new(EncodingKey::from_rsa_der(&openssl(&["rsa", "-traditional", "-outform", "DER"], Some(&pem)))),
            jwk: json!({ "kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(&n), "e": "AQAB" }),
            public_pem: Some(public_pem),
        }
    }

    pub fn ec(kid: &str) -> TestKey {
        let pem = openssl(&["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], None);
        let der = openssl(&["pkey", "-pubout", "-outform", "DER"], Some(&pem));
        // The DER ends with the uncompressed point: 0x04, x, y.
        let point = &der[der.len() - 65..];
        TestKey {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: Arc::new(EncodingKey::from_ec_der(&openssl(&["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"], Some(&pem)))),
            jwk: json!({ "kty": "EC", "kid": kid, "use": "sig", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]) }),
            public_pem: None,
        }
    }

    pub fn ed25519(kid: &str) -> TestKey {
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let der = key.to_pkcs8_der().unwrap();
        TestKey {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: Arc::new(EncodingKey::from_ed_der(der.as_bytes())),
            jwk: json!({ "kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(key.verifying_key().as_bytes()) }),
            public_pem: None,
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A token with `alg: none` and no signature.
pub fn unsigned_token(kid: &str, claims: &Value) -> String {
    let header = json!({ "alg": "none", "typ": "JWT", "kid": kid });
    format!("{}.{}.", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
}

/// HS256 "signed" with an RSA public key as the HMAC secret: the classic algorithm confusion.
pub fn hs256_with_public_key(key: &TestKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    let secret = key.public_pem.as_ref().expect("an RSA key");
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

/// Discovery and JWKS served on a loopback port; the keys can change while it runs.
pub struct CraftedProvider {
    pub issuer: String,
    pub keys: Arc<Mutex<Vec<Value>>>,
    pub jwks_fetches: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for CraftedProvider {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub const CRAFTED_CLIENT: &str = "crafted-ios";

impl CraftedProvider {
    pub async fn start(keys: &[&TestKey]) -> CraftedProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let published = Arc::new(Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let discovery = json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/auth"),
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
        });
        let (jwks_keys, jwks_count) = (published.clone(), fetches.clone());
        let router = axum::Router::new()
            .route("/.well-known/openid-configuration", axum::routing::get(move || async move { axum::Json(discovery) }))
            .route(
                "/jwks",
                axum::routing::get(move || async move {
                    jwks_count.fetch_add(1, Ordering::SeqCst);
                    let keys = jwks_keys.lock().unwrap().clone();
                    axum::Json(json!({ "keys": keys }))
                }),
            );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        CraftedProvider { issuer, keys: published, jwks_fetches: fetches, server }
    }

    pub fn publish(&self, key: &TestKey) {
        self.keys.lock().unwrap().push(key.jwk.clone());
    }

    /// Settings for this provider as `crafted`.
    pub fn settings(&self) -> impl FnOnce(&mut Settings) {
        let issuer = self.issuer.clone();
        move |settings: &mut Settings| {
            settings.oidc.providers.push(provider_settings("crafted", &issuer, &["crafted-web", CRAFTED_CLIENT], None));
        }
    }

    /// The claims an honest provider would issue for `sub`, now.
    pub fn claims(&self, sub: &str, email: &str, verified: bool) -> Value {
        let now = unix_time();
        json!({
            "iss": self.issuer, "sub": sub, "aud": CRAFTED_CLIENT, "iat": now, "exp": now + 600,
            "email": email, "email_verified": verified, "name": "Crafted Person",
        })
    }
}

pub fn unix_time() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// signinWithIdToken's payload.
pub async fn signin_with_id_token(app: &TestApp, provider: &str, id_token: &str, nonce: Option<&str>) -> Value {
    let out = app.gql(SIGNIN_WITH_ID_TOKEN, json!({ "input": { "provider": provider, "idToken": id_token, "nonce": nonce } }), None).await;
    assert!(out["errors"].is_null(), "{out}");
    out["data"]["signinWithIdToken"].clone()
}

/// The one userError's (field, code) of a payload.
pub fn only_error(payload: &Value) -> (String, String) {
    let errors = user_error_codes(payload);
    assert_eq!(errors.len(), 1, "{payload}");
    errors.into_iter().next().unwrap()
}
