//! Access tokens: every way a bad one must fail.
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use crate::helpers::*;

fn b64(value: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

fn claims(app: &TestApp, sub: &str, sid: &str, iat: i64, exp: i64) -> serde_json::Value {
    json!({ "sub": sub, "sid": sid, "iat": iat, "exp": exp, "jti": "j", "iss": app.address, "aud": "tessera-api", "typ": "access" })
}

fn sid_of(token: &str) -> String {
    claims_of(token)["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn both_bearer_and_jwt_schemes_work() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    for scheme in ["Bearer", "JWT", "bearer"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("Authorization", format!("{scheme} {}", alice.access))
            .json(&json!({ "query": "{ me { id } }" }))
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["data"]["me"]["id"], alice.id, "{scheme}");
    }
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let sid = sid_of(&alice.access);
    let now = chrono::Utc::now().timestamp();
    let valid = claims(&app, &alice.id, &sid, now, now + 600);

    // The payload swapped for another user's, the signature kept.
    let parts: Vec<&str> = alice.access.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims(&app, "someone-else", &sid, now, now + 600)), parts[2]);

    let alg_none = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&valid));
    let expired = app.sign_token(&claims(&app, &alice.id, &sid, now - 7200, now - 3600));
    // Another Ed25519 key, naming the server's kid.
    let other_key = app.data_dir.join("other.pem");
    std::fs::write(&other_key, tessera::security::jwt::generate_key_pem()).unwrap();
    let server_kid = jsonwebtoken::decode_header(&alice.access).unwrap().kid.unwrap();
    let wrong_key = {
        let forged = sign_with_key_file(&other_key, &valid);
        let mut header: serde_json::Value =
            serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(forged.split('.').next().unwrap()).unwrap())
                .unwrap();
        header["kid"] = json!(server_kid);
        let (_, rest) = forged.split_once('.').unwrap();
        format!("{}.{rest}", b64(&header))
    };
    let unknown_kid = sign_with_key_file(&other_key, &valid);
    // Algorithm confusion: HS256 "signed" with the server's public key as the secret.
    let jwks: serde_json::Value = app.client.get(app.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let public_x = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(jwks["keys"][0]["x"].as_str().unwrap()).unwrap();
    let mut hs_header = Header::new(jsonwebtoken::Algorithm::HS256);
    hs_header.kid = Some(server_kid.clone());
    let confused = encode(&hs_header, &valid, &EncodingKey::from_secret(&public_x)).unwrap();
    let no_kid = {
        let (_, rest) = alice.access.split_once('.').unwrap();
        format!("{}.{rest}", b64(&json!({ "alg": "EdDSA", "typ": "at+jwt" })))
    };
    let mut no_type = valid.clone();
    no_type["typ"] = json!("refresh");
    let wrong_type = app.sign_token(&no_type);
    let without = |claim: &str| {
        let mut c = valid.clone();
        c.as_object_mut().unwrap().remove(claim);
        app.sign_token(&c)
    };
    let (no_aud, no_iss, no_iat, no_exp) = (without("aud"), without("iss"), without("iat"), without("exp"));
    let mut foreign = valid.clone();
    foreign["aud"] = json!("another-api");
    let wrong_audience = app.sign_token(&foreign);
    let mut other_issuer = valid.clone();
    other_issuer["iss"] = json!("tessera");
    let wrong_issuer = app.sign_token(&other_issuer);
    let unknown_session = app.sign_token(&claims(&app, &alice.id, "no-such-session", now, now + 600));

    for (name, token) in [
        ("garbage", "garbage".to_owned()),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("expired", expired),
        ("wrong key under the server's kid", wrong_key),
        ("unknown kid", unknown_kid),
        ("HS256 with the public key", confused),
        ("no kid", no_kid),
        ("wrong token type", wrong_type),
        ("unknown session", unknown_session),
        ("no audience", no_aud),
        ("no issuer", no_iss),
        ("no issued-at", no_iat),
        ("no expiry", no_exp),
        ("wrong audience", wrong_audience),
        ("wrong issuer", wrong_issuer),
    ] {
        let out = app.me(&token).await;
        assert_eq!(error_code(&out), Some("UNAUTHENTICATED"), "{name}: {out}");
    }
    // A well-signed token for a live session still works, so the cases above failed for their own reason.
    assert_eq!(app.me(&app.sign_token(&valid)).await["data"]["me"]["id"], alice.id);
}

#[tokio::test]
async fn tokens_not_yet_valid_or_issued_in_the_future_are_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let sid = sid_of(&alice.access);
    let now = chrono::Utc::now().timestamp();
    let with = |extra: serde_json::Value| {
        let mut c = claims(&app, &alice.id, &sid, now, now + 600);
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        app.sign_token(&c)
    };
    let leeway = tessera::security::jwt::LEEWAY_SECS as i64;
    assert!(leeway <= 60, "the leeway must stay at most 60 s");
    for (name, token) in [
        ("nbf in an hour", with(json!({ "nbf": now + 3600 }))),
        ("nbf just past the leeway", with(json!({ "nbf": now + leeway + 30 }))),
        ("iat an hour ahead", with(json!({ "iat": now + 3600 }))),
        ("iat just past the leeway", with(json!({ "iat": now + leeway + 30 }))),
    ] {
        assert_eq!(error_code(&app.me(&token).await), Some("UNAUTHENTICATED"), "{name}");
    }
    // Within the leeway, and in the past, they are fine: clocks differ a little.
    for (name, token) in [
        ("nbf now", with(json!({ "nbf": now }))),
        ("nbf a minute ago", with(json!({ "nbf": now - 60 }))),
        ("iat a second ahead", with(json!({ "iat": now + 1 }))),
    ] {
        assert_eq!(app.me(&token).await["data"]["me"]["id"], alice.id, "{name}");
    }
}

#[tokio::test]
async fn a_bad_token_does_not_stop_signin() {
    let app = spawn_app().await;
    app.signup("alice@example.com", "alice").await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("Authorization", "Bearer garbage")
        .json(&json!({ "query": "mutation { signin(input: { login: \"alice\", password: \"correct horse battery staple\" }) { tokens { accessToken } } }" }))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["data"]["signin"]["tokens"]["accessToken"].is_string(), "{body}");
}

#[tokio::test]
async fn an_expired_session_is_refused_even_with_a_fresh_token() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    app.sql("UPDATE sessions SET expires_at = '2001-01-01 00:00:00+00:00'").await;
    assert_eq!(error_code(&app.me(&alice.access).await), Some("UNAUTHENTICATED"));
    let refresh = app
        .gql("mutation($t: String!) { refreshTokens(refreshToken: $t) { userErrors { code } } }", json!({ "t": alice.refresh }), None)
        .await;
    assert_eq!(refresh["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN");
}
