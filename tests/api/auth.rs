//! Access tokens: every way a bad one must fail.
use base64::Engine;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use crate::helpers::*;

const SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

fn b64(value: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
}

fn claims(sub: &str, sid: &str, iat: i64, exp: i64) -> serde_json::Value {
    json!({ "sub": sub, "sid": sid, "iat": iat, "exp": exp, "jti": "j", "iss": "tessera", "aud": "tessera-api", "typ": "access" })
}

fn sid_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    value["sid"].as_str().unwrap().to_owned()
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

    // The payload swapped for another user's, the signature kept.
    let parts: Vec<&str> = alice.access.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(&claims("someone-else", &sid, now, now + 600)), parts[2]);

    let alg_none = format!("{}.{}.", b64(&json!({ "alg": "none", "typ": "JWT" })), b64(&claims(&alice.id, &sid, now, now + 600)));
    let expired =
        encode(&Header::default(), &claims(&alice.id, &sid, now - 7200, now - 3600), &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    let wrong_key = encode(
        &Header::default(),
        &claims(&alice.id, &sid, now, now + 600),
        &EncodingKey::from_secret(b"another-secret-another-secret-123456"),
    )
    .unwrap();
    let hs512 = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims(&alice.id, &sid, now, now + 600),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let mut no_type = claims(&alice.id, &sid, now, now + 600);
    no_type["typ"] = json!("refresh");
    let wrong_type = encode(&Header::default(), &no_type, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    let without = |claim: &str| {
        let mut c = claims(&alice.id, &sid, now, now + 600);
        c.as_object_mut().unwrap().remove(claim);
        encode(&Header::default(), &c, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
    };
    let (no_aud, no_iss, no_iat, no_exp) = (without("aud"), without("iss"), without("iat"), without("exp"));
    let mut foreign = claims(&alice.id, &sid, now, now + 600);
    foreign["aud"] = json!("another-api");
    let wrong_audience = encode(&Header::default(), &foreign, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    let unknown_session =
        encode(&Header::default(), &claims(&alice.id, "no-such-session", now, now + 600), &EncodingKey::from_secret(SECRET.as_bytes()))
            .unwrap();

    for (name, token) in [
        ("garbage", "garbage".to_owned()),
        ("tampered", tampered),
        ("alg none", alg_none),
        ("expired", expired),
        ("wrong key", wrong_key),
        ("other algorithm", hs512),
        ("wrong token type", wrong_type),
        ("unknown session", unknown_session),
        ("no audience", no_aud),
        ("no issuer", no_iss),
        ("no issued-at", no_iat),
        ("no expiry", no_exp),
        ("wrong audience", wrong_audience),
    ] {
        let out = app.me(&token).await;
        assert_eq!(error_code(&out), Some("UNAUTHENTICATED"), "{name}: {out}");
    }
    // A well-signed token for a live session still works, so the cases above failed for their own reason.
    let good = encode(&Header::default(), &claims(&alice.id, &sid, now, now + 600), &EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    assert_eq!(app.me(&good).await["data"]["me"]["id"], alice.id);
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
