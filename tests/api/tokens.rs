//! Access tokens other services verify by themselves: EdDSA with a kid, the
//! JWKS and discovery documents, key rotation, and HS256 for deployments
//! that keep JWT_SECRET.
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tessera::config::{Paths, Secret};

use crate::helpers::*;

async fn get_json(app: &TestApp, path: &str) -> (reqwest::header::HeaderMap, Value) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers().clone();
    (headers, response.json().await.unwrap())
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

/// Verifies `token` with nothing but the published JWK Set, as another service would.
fn verify_with_jwks(jwks: &Value, token: &str, issuer: &str) -> Result<Value, String> {
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).map_err(|e| e.to_string())?;
    let kid = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?.kid.ok_or("no kid")?;
    let jwk = set.find(&kid).ok_or("unknown kid")?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&["tessera-api"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).map(|d| d.claims).map_err(|e| e.to_string())
}

#[tokio::test]
async fn access_tokens_are_eddsa_with_the_keys_thumbprint_as_kid() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let header = header_of(&ann.access);
    assert_eq!((header["alg"].as_str(), header["typ"].as_str()), (Some("EdDSA"), Some("at+jwt")));

    let (headers, jwks) = get_json(&app, "/.well-known/jwks.json").await;
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["alg"].as_str(), key["use"].as_str()),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig"))
    );
    assert!(key.get("d").is_none(), "no private part is published: {key}");
    // RFC 7638: SHA-256 of the required members, sorted, without whitespace.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, key["x"].as_str().unwrap());
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical));
    assert_eq!((key["kid"].as_str(), header["kid"].as_str()), (Some(thumbprint.as_str()), Some(thumbprint.as_str())));

    let claims = verify_with_jwks(&jwks, &ann.access, &app.address).expect("verifies with the JWKS alone");
    assert_eq!(
        (claims["sub"].as_str(), claims["aud"].as_str(), claims["iss"].as_str()),
        (Some(&*ann.id), Some("tessera-api"), Some(&*app.address))
    );
}

#[tokio::test]
async fn the_discovery_document_points_at_the_keys() {
    let app = spawn_app_with(|s| s.server.public_url = Some("https://id.example.com/".into())).await;
    let (headers, config) = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(config["issuer"], "https://id.example.com");
    assert_eq!(config["jwks_uri"], "https://id.example.com/.well-known/jwks.json");
    assert_eq!(config["id_token_signing_alg_values_supported"], json!(["EdDSA"]));
    // The issuer of every token is PUBLIC_URL, so verifiers can pin it.
    let ann = app.user("ann").await;
    assert_eq!(claims_of(&ann.access)["iss"], "https://id.example.com");
    let (_, jwks) = get_json(&app, "/.well-known/jwks.json").await;
    assert!(verify_with_jwks(&jwks, &ann.access, "https://id.example.com").is_ok());
    assert!(verify_with_jwks(&jwks, &ann.access, "https://evil.example.com").is_err());
}

#[tokio::test]
async fn the_generated_key_is_private_to_its_owner_and_survives_a_restart() {
    let app = spawn_app_with(|s| s.server.public_url = Some(STABLE_PUBLIC_URL.into())).await;
    let ann = app.user("ann").await;
    let path = app.data_dir.join(tessera::security::jwt::GENERATED_KEY_FILE);
    let pem = std::fs::read_to_string(&path).unwrap();
    // PKCS#8 v1, the form OpenSSL and Python's cryptography read.
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQAw"), "{pem}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let (dir, url) = app.stop().await;
    let app = spawn_app_on(dir, url, |s| s.server.public_url = Some(STABLE_PUBLIC_URL.into())).await;
    assert_eq!(app.me(&ann.access).await["data"]["me"]["id"], ann.id);
}

#[tokio::test]
async fn rotation_new_key_first_keeps_old_tokens_and_dropping_the_old_key_refuses_them() {
    let keys = tempfile::tempdir().unwrap();
    let (old, new) = (keys.path().join("old.pem"), keys.path().join("new.pem"));
    std::fs::write(&old, tessera::security::jwt::generate_key_pem()).unwrap();
    std::fs::write(&new, tessera::security::jwt::generate_key_pem()).unwrap();
    let with = |paths: Vec<std::path::PathBuf>| {
        move |s: &mut tessera::config::Settings| {
            s.tokens.jwt_signing_keys = Paths(paths);
            s.server.public_url = Some(STABLE_PUBLIC_URL.into());
        }
    };

    let app = spawn_app_with(with(vec![old.clone()])).await;
    let ann = app.user("ann").await;
    let old_kid = header_of(&ann.access)["kid"].as_str().unwrap().to_owned();
    assert!(!app.data_dir.join(tessera::security::jwt::GENERATED_KEY_FILE).exists(), "no key is generated when keys are given");

    // Step 1: the new key first, the old one still listed. Restart.
    let (dir, url) = app.stop().await;
    let app = spawn_app_on(dir, url, with(vec![new.clone(), old.clone()])).await;
    assert_eq!(app.me(&ann.access).await["data"]["me"]["id"], ann.id, "old tokens still verify");
    let fresh = app.signin_as("ann").await;
    let new_kid = header_of(&fresh.access)["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid, "the new key signs");
    let (_, jwks) = get_json(&app, "/.well-known/jwks.json").await;
    let kids: Vec<&str> = jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, vec![new_kid.as_str(), old_kid.as_str()]);

    // Step 2, once old tokens have expired: drop the old key. Restart.
    let (dir, url) = app.stop().await;
    let app = spawn_app_on(dir, url, with(vec![new.clone()])).await;
    assert_eq!(error_code(&app.me(&ann.access).await), Some("UNAUTHENTICATED"), "old tokens are refused");
    assert_eq!(app.me(&fresh.access).await["data"]["me"]["id"], ann.id);
    let (_, jwks) = get_json(&app, "/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_old_key_may_stay_as_a_public_key_only() {
    use ed25519_dalek::pkcs8::{spki::der::pem::LineEnding, DecodePrivateKey, EncodePublicKey};
    let keys = tempfile::tempdir().unwrap();
    let (old, old_public, new) = (keys.path().join("old.pem"), keys.path().join("old.pub.pem"), keys.path().join("new.pem"));
    let old_pem = tessera::security::jwt::generate_key_pem();
    std::fs::write(&old, &old_pem).unwrap();
    let public = ed25519_dalek::SigningKey::from_pkcs8_pem(&old_pem).unwrap().verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
    std::fs::write(&old_public, public).unwrap();
    std::fs::write(&new, tessera::security::jwt::generate_key_pem()).unwrap();

    let app = spawn_app_with(|s| {
        s.tokens.jwt_signing_keys = Paths(vec![old]);
        s.server.public_url = Some(STABLE_PUBLIC_URL.into());
    })
    .await;
    let ann = app.user("ann").await;
    let (dir, url) = app.stop().await;
    let app = spawn_app_on(dir, url, |s| {
        s.tokens.jwt_signing_keys = Paths(vec![new, old_public]);
        s.server.public_url = Some(STABLE_PUBLIC_URL.into());
    })
    .await;
    assert_eq!(app.me(&ann.access).await["data"]["me"]["id"], ann.id);
}

#[tokio::test]
async fn bad_key_files_stop_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_key = dir.path().join("garbage.pem");
    std::fs::write(&not_a_key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap();
    for (paths, expected) in
        [(vec![not_a_key.clone()], "not an Ed25519 key"), (vec![dir.path().join("missing.pem")], "cannot read the key file")]
    {
        let mut settings = test_settings(dir.path(), format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display()));
        settings.tokens.jwt_signing_keys = Paths(paths);
        let config = tessera::config::Config::resolve(settings).unwrap();
        let error = tessera::startup::Application::build(config).await.err().expect("refused");
        assert!(format!("{error:#}").contains(expected), "{error:#}");
    }
}

#[tokio::test]
async fn with_jwt_secret_tokens_stay_hs256_and_nothing_is_published() {
    const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
    let app = spawn_app_with(|s| s.tokens.jwt_secret = Some(Secret::new(SECRET.into()))).await;
    let ann = app.user("ann").await;
    let header = header_of(&ann.access);
    assert_eq!(header["alg"], "HS256");
    assert!(header.get("kid").is_none());
    assert!(!app.data_dir.join(tessera::security::jwt::GENERATED_KEY_FILE).exists());
    let (_, jwks) = get_json(&app, "/.well-known/jwks.json").await;
    assert_eq!(jwks, json!({ "keys": [] }));
    let (_, config) = get_json(&app, "/.well-known/openid-configuration").await;
    assert_eq!(config["id_token_signing_alg_values_supported"], json!(["HS256"]));

    // A token made with the secret works; an EdDSA one (any key) does not.
    let mut claims = claims_of(&ann.access);
    let good = jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()))
        .unwrap();
    assert_eq!(app.me(&good).await["data"]["me"]["id"], ann.id);
    let key = app.data_dir.join("some.pem");
    std::fs::write(&key, tessera::security::jwt::generate_key_pem()).unwrap();
    assert_eq!(error_code(&app.me(&sign_with_key_file(&key, &claims)).await), Some("UNAUTHENTICATED"));
    claims["iat"] = json!(chrono::Utc::now().timestamp() + 3600);
    let future =
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()))
            .unwrap();
    assert_eq!(error_code(&app.me(&future).await), Some("UNAUTHENTICATED"));
}
