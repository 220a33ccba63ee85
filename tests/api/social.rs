//! Signing in with an OpenID Connect provider, through real HTTP: against a
//! real provider (oidc-provider on loopback, its development login pages
//! driven like a browser) for both flows, and against a crafted provider
//! (keys and JWKS made here) for every token that must be refused and every
//! account-linking rule.
use serde_json::{json, Value};

use crate::helpers::*;
use crate::mfa_helpers::*;
use crate::oidc_helpers::*;

async fn start_browser_flow(app: &TestApp, provider: &str, token: Option<&str>, link: bool) -> (String, String) {
    let out = app.gql(START_OAUTH, json!({ "input": { "provider": provider, "redirectUri": REDIRECT_URI, "link": link } }), token).await;
    let payload = &out["data"]["startOAuthSignin"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    (payload["authorizationUrl"].as_str().unwrap().to_owned(), payload["state"].as_str().unwrap().to_owned())
}

async fn finish_browser_flow(app: &TestApp, provider: &str, code: &str, state: &str, redirect_uri: &str) -> Value {
    finish_browser_flow_as(app, None, provider, code, state, redirect_uri).await
}

async fn finish_browser_flow_as(app: &TestApp, token: Option<&str>, provider: &str, code: &str, state: &str, redirect_uri: &str) -> Value {
    let input = json!({ "provider": provider, "code": code, "state": state, "redirectUri": redirect_uri });
    let out = app.gql(FINISH_OAUTH, json!({ "input": input }), token).await;
    assert!(out["errors"].is_null(), "{out}");
    out["data"]["finishOAuthSignin"].clone()
}

async fn event_details(app: &TestApp, user_id: &str) -> Vec<String> {
    let db = &app.state.db;
    use sea_orm::ConnectionTrait;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT event_type, detail FROM security_events WHERE user_id = '{user_id}' ORDER BY at, id"),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            format!(
                "{} {}",
                r.try_get::<String>("", "event_type").unwrap(),
                r.try_get::<Option<String>>("", "detail").unwrap().unwrap_or_default()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_new_user_signs_in_through_the_browser_and_the_app_and_lands_on_one_account() {
    let provider =
        start_real_provider(json!({ "alice-sub": { "email": "Alice@Example.com", "email_verified": true, "name": "Alice Liddell" } }));
    let app = spawn_app_with(real_provider_settings(&provider)).await;

    let listed = app.gql("{ identityProviders { id displayName } }", json!({}), None).await;
    assert_eq!(listed["data"]["identityProviders"], json!([{ "id": "test", "displayName": "Test" }]), "{listed}");

    // The browser flow: authorization code with PKCE S256, state and nonce.
    let (authorization_url, state) = start_browser_flow(&app, "test", None, false).await;
    let parsed = url::Url::parse(&authorization_url).unwrap();
    assert!(authorization_url.starts_with(&format!("{}/auth?", provider.issuer)), "{authorization_url}");
    assert_eq!(param(&parsed, "client_id").as_deref(), Some("tessera-web"));
    assert_eq!(param(&parsed, "code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param(&parsed, "state").as_deref(), Some(state.as_str()));
    assert!(param(&parsed, "nonce").is_some_and(|n| n.len() >= 43));
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM oauth_states WHERE state_hash = '{}'", tessera::security::secrets::token_hash(&state)))
            .await,
        1
    );

    let back = Browser::new().sign_in(&authorization_url, "alice-sub").await;
    assert_eq!(param(&back, "state").as_deref(), Some(state.as_str()));
    let code = param(&back, "code").unwrap();
    let signed = finish_browser_flow(&app, "test", &code, &state, REDIRECT_URI).await;
    assert_eq!(signed["userErrors"], json!([]), "{signed}");
    assert!(signed["tokens"]["accessToken"].is_string(), "{signed}");
    let user = &signed["user"];
    assert_eq!(user["email"], "Alice@Example.com");
    assert_eq!(user["emailConfirmed"], true, "the provider verified the email");
    assert_eq!(user["hasPassword"], false);
    assert_eq!(user["linkedIdentities"], json!([{ "provider": "test", "subject": "alice-sub", "email": "Alice@Example.com" }]));
    let user_id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(app.count("SELECT COUNT(*) FROM oauth_states").await, 0, "the flow is used up");

    // The same state again is refused: single use.
    let again = finish_browser_flow(&app, "test", &code, &state, REDIRECT_URI).await;
    assert_eq!(only_error(&again), ("input.state".into(), "INVALID_TOKEN".into()), "{again}");

    // The mobile flow: an ID token (ES256, another client id) with the nonce the app chose.
    let id_token = mobile_id_token(&provider, "alice-sub", "app-nonce-123").await;
    let mobile = signin_with_id_token(&app, "test", &id_token, Some("app-nonce-123")).await;
    assert_eq!(mobile["userErrors"], json!([]), "{mobile}");
    assert_eq!(mobile["user"]["id"], user_id, "one account for one (provider, sub)");
    assert!(mobile["user"]["lastLoginAt"].is_string());
    assert!(mobile["user"]["fullName"] == "Alice Liddell" && mobile["user"]["username"].is_null(), "{mobile}");
    // A wrong nonce for the same real token is refused.
    let wrong = signin_with_id_token(&app, "test", &id_token, Some("another-nonce")).await;
    assert_eq!(only_error(&wrong), ("input.idToken".into(), "INVALID_TOKEN".into()));

    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM mail_outbox").await, 0, "a verified email gets no mail at all");
    let details = event_details(&app, &user_id).await;
    for expected in ["SIGNUP through test", "IDENTITY_LINKED test"] {
        assert_eq!(details.iter().filter(|d| d.as_str() == expected).count(), 1, "{expected}: {details:?}");
    }
    assert_eq!(details.iter().filter(|d| d.as_str() == "SIGNIN provider test").count(), 2, "{details:?}");

    // The account has no password: a password signin fails as for a wrong password.
    let by_password = app.signin("alice@example.com", PASSWORD).await;
    assert_eq!(by_password["data"]["signin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn browser_flows_are_bound_to_their_redirect_uri_provider_and_lifetime() {
    let provider = start_real_provider(json!({}));
    let app = spawn_app_with(real_provider_settings(&provider)).await;

    // Only redirect URIs under APP_URL (http://app.test) are allowed, at a path boundary.
    for bad in ["http://app.test.evil.com/cb", "https://evil.com/", "http://app.test@evil.com/", "http://app.test/cb#frag", "not a url"] {
        let out = app.gql(START_OAUTH, json!({ "input": { "provider": "test", "redirectUri": bad } }), None).await;
        let payload = &out["data"]["startOAuthSignin"];
        assert_eq!(only_error(payload), ("input.redirectUri".into(), "INVALID".into()), "{bad}: {out}");
        assert!(payload["authorizationUrl"].is_null());
    }
    let unknown = app.gql(START_OAUTH, json!({ "input": { "provider": "nope", "redirectUri": REDIRECT_URI } }), None).await;
    assert_eq!(only_error(&unknown["data"]["startOAuthSignin"]), ("input.provider".into(), "NOT_FOUND".into()));
    let link_anonymously =
        app.gql(START_OAUTH, json!({ "input": { "provider": "test", "redirectUri": REDIRECT_URI, "link": true } }), None).await;
    assert_eq!(error_code(&link_anonymously), Some("UNAUTHENTICATED"));

    // Finishing with another redirect URI is refused, and uses the flow up.
    let (url, state) = start_browser_flow(&app, "test", None, false).await;
    let back = Browser::new().sign_in(&url, "bob").await;
    let code = param(&back, "code").unwrap();
    let other = finish_browser_flow(&app, "test", &code, &state, "http://app.test/other").await;
    assert_eq!(only_error(&other), ("input.state".into(), "INVALID_TOKEN".into()));
    let late = finish_browser_flow(&app, "test", &code, &state, REDIRECT_URI).await;
    assert_eq!(only_error(&late), ("input.state".into(), "INVALID_TOKEN".into()));

    // An expired flow is refused; a made-up code is refused by the provider.
    let (_, state) = start_browser_flow(&app, "test", None, false).await;
    app.sql("UPDATE oauth_states SET expires_at = created_at").await;
    let expired = finish_browser_flow(&app, "test", "whatever", &state, REDIRECT_URI).await;
    assert_eq!(only_error(&expired), ("input.state".into(), "INVALID_TOKEN".into()));
    let (_, state) = start_browser_flow(&app, "test", None, false).await;
    let made_up = finish_browser_flow(&app, "test", "made-up-code", &state, REDIRECT_URI).await;
    assert_eq!(only_error(&made_up), ("input.code".into(), "INVALID_TOKEN".into()));
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);

    // Any instance finishes a flow another started (the state is in the database).
    let second = spawn_second(&app, real_provider_settings(&provider)).await;
    let (url, state) = start_browser_flow(&app, "test", None, false).await;
    let back = Browser::new().sign_in(&url, "carol").await;
    let finished = finish_browser_flow(&second, "test", &param(&back, "code").unwrap(), &state, REDIRECT_URI).await;
    assert_eq!(finished["userErrors"], json!([]), "{finished}");
    assert_eq!(finished["user"]["email"], "carol@example.com");
}

#[tokio::test]
async fn a_signed_in_user_links_and_unlinks_providers_but_never_the_last_way_in() {
    let provider = start_real_provider(json!({ "dora-sub": { "email": "someone-else@example.com" } }));
    let crafted_key = TestKey::rsa("k1");
    let crafted = CraftedProvider::start(&[&crafted_key]).await;
    let crafted_settings = crafted.settings();
    let app = spawn_app_with(|s| {
        real_provider_settings(&provider)(s);
        crafted_settings(s);
    })
    .await;
    let dora = app.user("dora").await;

    // The browser flow with link: true links the provider to the viewer, whatever its email.
    let (url, state) = start_browser_flow(&app, "test", Some(&dora.access), true).await;
    let back = Browser::new().sign_in(&url, "dora-sub").await;
    let linked = finish_browser_flow_as(&app, Some(&dora.access), "test", &param(&back, "code").unwrap(), &state, REDIRECT_URI).await;
    assert_eq!(linked["userErrors"], json!([]), "{linked}");
    assert!(linked["tokens"].is_null(), "linking starts no session");
    assert_eq!(linked["user"]["id"], dora.id);
    assert_eq!(linked["user"]["linkedIdentities"][0]["subject"], "dora-sub");

    // linkIdentity with an ID token; the same identity on another account is TAKEN.
    let token = crafted_key.sign(&crafted.claims("dora-crafted", "dora@example.com", false));
    let out = app.gql(LINK_IDENTITY, json!({ "input": { "provider": "crafted", "idToken": token } }), Some(&dora.access)).await;
    assert_eq!(out["data"]["linkIdentity"]["userErrors"], json!([]), "{out}");
    assert_eq!(out["data"]["linkIdentity"]["user"]["linkedIdentities"].as_array().unwrap().len(), 2);
    let eve = app.user("eve").await;
    let out = app.gql(LINK_IDENTITY, json!({ "input": { "provider": "crafted", "idToken": token } }), Some(&eve.access)).await;
    assert_eq!(only_error(&out["data"]["linkIdentity"]), ("input.idToken".into(), "TAKEN".into()), "{out}");
    // The real provider's identity too, through a browser flow started by eve.
    let (url, state) = start_browser_flow(&app, "test", Some(&eve.access), true).await;
    let back = Browser::new().sign_in(&url, "dora-sub").await;
    let taken = finish_browser_flow_as(&app, Some(&eve.access), "test", &param(&back, "code").unwrap(), &state, REDIRECT_URI).await;
    assert_eq!(only_error(&taken), ("input.idToken".into(), "TAKEN".into()), "{taken}");
    // A link flow is finished only by the account that started it (no linking someone else's provider account by a crafted link).
    let (url, state) = start_browser_flow(&app, "test", Some(&eve.access), true).await;
    let back = Browser::new().sign_in(&url, "victim-sub").await;
    let code = param(&back, "code").unwrap();
    let by_victim = finish_browser_flow_as(&app, Some(&dora.access), "test", &code, &state, REDIRECT_URI).await;
    assert_eq!(only_error(&by_victim), ("input.state".into(), "INVALID_TOKEN".into()), "{by_victim}");
    let (url, state) = start_browser_flow(&app, "test", Some(&eve.access), true).await;
    let back = Browser::new().sign_in(&url, "victim-sub").await;
    let input = json!({ "provider": "test", "code": param(&back, "code").unwrap(), "state": state, "redirectUri": REDIRECT_URI });
    let anonymous = app.gql(FINISH_OAUTH, json!({ "input": input }), None).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"), "{anonymous}");
    assert_eq!(app.count("SELECT COUNT(*) FROM identities WHERE subject = 'victim-sub'").await, 0);
    let anonymous = app.gql(LINK_IDENTITY, json!({ "input": { "provider": "crafted", "idToken": token } }), None).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));

    // Dora has a password: both providers can go.
    let out = app.gql(UNLINK_IDENTITY, json!({ "provider": "test" }), Some(&dora.access)).await;
    assert_eq!(out["data"]["unlinkIdentity"]["userErrors"], json!([]), "{out}");
    let out = app.gql(UNLINK_IDENTITY, json!({ "provider": "test" }), Some(&dora.access)).await;
    assert_eq!(only_error(&out["data"]["unlinkIdentity"]), ("provider".into(), "NOT_FOUND".into()));
    let details = event_details(&app, &dora.id).await;
    assert!(details.contains(&"IDENTITY_LINKED test".to_owned()) && details.contains(&"IDENTITY_UNLINKED test".to_owned()), "{details:?}");

    // A provider-only account: its one identity is its last way in.
    let frank_token = crafted_key.sign(&crafted.claims("frank-sub", "frank@example.com", true));
    let frank = signin_with_id_token(&app, "crafted", &frank_token, None).await;
    assert_eq!(frank["userErrors"], json!([]), "{frank}");
    let frank_access = frank["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let out = app.gql(UNLINK_IDENTITY, json!({ "provider": "crafted" }), Some(&frank_access)).await;
    assert_eq!(only_error(&out["data"]["unlinkIdentity"]), ("provider".into(), "NOT_ALLOWED".into()), "{out}");
    // No password: changePassword and deleteAccount point to setPassword.
    let change = app
        .gql(
            "mutation { changePassword(input: { currentPassword: \"x\", newPassword: \"another good password 42\" }) { userErrors { field code message } } }",
            json!({}),
            Some(&frank_access),
        )
        .await;
    let error = &change["data"]["changePassword"]["userErrors"][0];
    assert!(error["code"] == "NOT_ALLOWED" && error["message"].as_str().unwrap().contains("setPassword"), "{change}");
    let delete = app
        .gql(
            "mutation { deleteAccount(password: \"x\") { deletedUserId userErrors { field code message } } }",
            json!({}),
            Some(&frank_access),
        )
        .await;
    let error = &delete["data"]["deleteAccount"]["userErrors"][0];
    assert!(error["code"] == "NOT_ALLOWED" && error["message"].as_str().unwrap().contains("setPassword"), "{delete}");

    // setPassword (right after a signin), then the provider may go, and the account can be deleted.
    let set = app
        .gql(
            "mutation($p: String!) { setPassword(password: $p) { user { hasPassword } userErrors { field code } } }",
            json!({ "p": PASSWORD }),
            Some(&frank_access),
        )
        .await;
    assert_eq!(set["data"]["setPassword"], json!({ "user": { "hasPassword": true }, "userErrors": [] }), "{set}");
    let twice = app
        .gql(
            "mutation($p: String!) { setPassword(password: $p) { userErrors { field code } } }",
            json!({ "p": PASSWORD }),
            Some(&frank_access),
        )
        .await;
    assert_eq!(twice["data"]["setPassword"]["userErrors"][0]["code"], "NOT_ALLOWED");
    let out = app.gql(UNLINK_IDENTITY, json!({ "provider": "crafted" }), Some(&frank_access)).await;
    assert_eq!(out["data"]["unlinkIdentity"]["userErrors"], json!([]), "{out}");
    let delete = app
        .gql(
            "mutation($p: String!) { deleteAccount(password: $p) { deletedUserId userErrors { code } } }",
            json!({ "p": PASSWORD }),
            Some(&frank_access),
        )
        .await;
    assert_eq!(delete["data"]["deleteAccount"]["userErrors"], json!([]), "{delete}");
    assert_eq!(app.count("SELECT COUNT(*) FROM identities WHERE subject = 'frank-sub'").await, 0);
}

#[tokio::test]
async fn set_password_needs_a_fresh_signin() {
    let key = TestKey::rsa("k1");
    let crafted = CraftedProvider::start(&[&key]).await;
    let app = spawn_app_with(crafted.settings()).await;
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("gina", "gina@example.com", true)), None).await;
    let access = out["tokens"]["accessToken"].as_str().unwrap().to_owned();
    app.sql("UPDATE sessions SET created_at = '2020-01-01T00:00:00Z'").await;
    let set = app
        .gql(
            "mutation($p: String!) { setPassword(password: $p) { user { id } userErrors { field code message } } }",
            json!({ "p": PASSWORD }),
            Some(&access),
        )
        .await;
    let error = &set["data"]["setPassword"]["userErrors"][0];
    assert!(error["code"] == "NOT_ALLOWED" && error["field"].is_null(), "{set}");
    // A weak password is refused like at signup.
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("gina", "gina@example.com", true)), None).await;
    let access = out["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let weak = app.gql("mutation { setPassword(password: \"short\") { userErrors { field code } } }", json!({}), Some(&access)).await;
    assert_eq!(weak["data"]["setPassword"]["userErrors"], json!([{ "field": ["password"], "code": "TOO_SHORT" }]), "{weak}");
}

#[tokio::test]
async fn every_forged_or_unfit_id_token_is_invalid_token() {
    let rsa = TestKey::rsa("rsa-1");
    let ec = TestKey::ec("ec-1");
    let ed = TestKey::ed25519("ed-1");
    let crafted = CraftedProvider::start(&[&rsa, &ec, &ed]).await;
    let app = spawn_app_with(crafted.settings()).await;
    let now = unix_time();
    let good = crafted.claims("subject-1", "first@example.com", true);
    let with = |changes: Value| {
        let mut claims = good.clone();
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let impostor = TestKey::rsa("rsa-1");
    let unpublished = TestKey::rsa("rsa-unknown");
    let nonce_hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"raw-nonce"));
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        ("wrong aud", rsa.sign(&with(json!({ "aud": "someone-elses-app" }))), None),
        ("wrong iss", rsa.sign(&with(json!({ "iss": "https://evil.example" }))), None),
        ("expired", rsa.sign(&with(json!({ "iat": now - 7200, "exp": now - 3600 }))), None),
        ("iat in the future", rsa.sign(&with(json!({ "iat": now + 3600, "exp": now + 7200 }))), None),
        ("bad signature", impostor.sign(&good), None),
        ("alg none", unsigned_token("rsa-1", &good), None),
        ("HS256 with the public key", hs256_with_public_key(&rsa, &good), None),
        ("nonce mismatch", rsa.sign(&with(json!({ "nonce": "another" }))), Some("raw-nonce")),
        ("nonce missing while one was given", rsa.sign(&good), Some("raw-nonce")),
        ("unknown kid", unpublished.sign(&good), None),
        (
            "EC key named for an RS256 token",
            {
                let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
                header.kid = Some("rsa-1".into());
                jsonwebtoken::encode(&header, &good, &ec.encoding).unwrap()
            },
            None,
        ),
        ("not a JWT", "not.a.jwt".into(), None),
        ("no sub", rsa.sign(&with(json!({ "sub": "" }))), None),
    ];
    for (case, token, nonce) in &cases {
        let out = signin_with_id_token(&app, "crafted", token, *nonce).await;
        assert_eq!(only_error(&out), ("input.idToken".into(), "INVALID_TOKEN".into()), "{case}: {out}");
        assert!(out["tokens"].is_null(), "{case}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0, "no forged token made an account");

    // RS256, ES256 and EdDSA are accepted; the nonce raw or as its SHA-256 (Apple); aud in a list; azp.
    let accepted = [
        ("rs256", rsa.sign(&good), None),
        ("es256", ec.sign(&good), None),
        ("eddsa", ed.sign(&good), None),
        ("raw nonce", rsa.sign(&with(json!({ "nonce": "raw-nonce" }))), Some("raw-nonce")),
        ("hashed nonce", rsa.sign(&with(json!({ "nonce": nonce_hash }))), Some("raw-nonce")),
        ("aud list", rsa.sign(&with(json!({ "aud": ["other", CRAFTED_CLIENT] }))), None),
        ("azp", rsa.sign(&with(json!({ "aud": "server-client", "azp": "crafted-web" }))), None),
        ("string email_verified", rsa.sign(&with(json!({ "email_verified": "true" }))), None),
    ];
    let mut ids = Vec::new();
    for (case, token, nonce) in &accepted {
        let out = signin_with_id_token(&app, "crafted", token, *nonce).await;
        assert_eq!(out["userErrors"], json!([]), "{case}: {out}");
        ids.push(out["user"]["id"].clone());
    }
    assert!(ids.iter().all(|id| id == &ids[0]), "one account: {ids:?}");
    let unknown_provider = signin_with_id_token(&app, "nope", &rsa.sign(&good), None).await;
    assert_eq!(only_error(&unknown_provider), ("input.provider".into(), "NOT_FOUND".into()));
}

#[tokio::test]
async fn the_jwks_is_fetched_again_for_a_new_key_at_most_once_a_minute() {
    use std::sync::atomic::Ordering::SeqCst;
    let first = TestKey::rsa("first");
    let crafted = CraftedProvider::start(&[&first]).await;
    let app = spawn_app_with(crafted.settings()).await;
    let claims = crafted.claims("rotating", "rotating@example.com", true);
    assert_eq!(signin_with_id_token(&app, "crafted", &first.sign(&claims), None).await["userErrors"], json!([]));
    assert_eq!(crafted.jwks_fetches.load(SeqCst), 1);
    // Cached: no fetch for a known key.
    assert_eq!(signin_with_id_token(&app, "crafted", &first.sign(&claims), None).await["userErrors"], json!([]));
    assert_eq!(crafted.jwks_fetches.load(SeqCst), 1);
    // The provider rotates: a token with the new kid makes Tessera fetch the JWKS again.
    let second = TestKey::ec("second");
    crafted.publish(&second);
    assert_eq!(signin_with_id_token(&app, "crafted", &second.sign(&claims), None).await["userErrors"], json!([]));
    assert_eq!(crafted.jwks_fetches.load(SeqCst), 2);
    // Another new kid within the minute: no fetch, refused (a flood of made-up kids costs the provider one fetch a minute).
    let third = TestKey::ed25519("third");
    crafted.publish(&third);
    let refused = signin_with_id_token(&app, "crafted", &third.sign(&claims), None).await;
    assert_eq!(only_error(&refused), ("input.idToken".into(), "INVALID_TOKEN".into()));
    let made_up = signin_with_id_token(&app, "crafted", &TestKey::rsa("made-up").sign(&claims), None).await;
    assert_eq!(only_error(&made_up), ("input.idToken".into(), "INVALID_TOKEN".into()));
    assert_eq!(crafted.jwks_fetches.load(SeqCst), 2);
}

#[tokio::test]
async fn first_signins_link_only_verified_emails_to_confirmed_accounts() {
    let key = TestKey::rsa("k1");
    let crafted = CraftedProvider::start(&[&key]).await;
    let app = spawn_app_with(crafted.settings()).await;
    let unconfirmed = app.user("uma").await;
    let confirmed = app.user("cora").await;
    app.sql(&format!("UPDATE users SET email_confirmed = true WHERE id = '{}'", confirmed.id)).await;

    // Verified by the provider, but the account never confirmed its email: ACCOUNT_EXISTS, nothing changes.
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("uma-sub", "UMA@example.com", true)), None).await;
    assert_eq!(only_error(&out), (String::new(), "ACCOUNT_EXISTS".into()), "{out}");
    // The account confirmed its email, but the provider did not verify it: ACCOUNT_EXISTS.
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("cora-sub", "cora@example.com", false)), None).await;
    assert_eq!(only_error(&out), (String::new(), "ACCOUNT_EXISTS".into()), "{out}");
    assert_eq!(app.count("SELECT COUNT(*) FROM identities").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);

    // Both: linked, and signed in to the existing account.
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("cora-sub", "Cora@Example.com", true)), None).await;
    assert_eq!(out["userErrors"], json!([]), "{out}");
    assert_eq!(out["user"]["id"], confirmed.id);
    assert_eq!(out["user"]["hasPassword"], true);
    let details = event_details(&app, &confirmed.id).await;
    assert!(details.contains(&"IDENTITY_LINKED crafted (first signin, verified email)".to_owned()), "{details:?}");
    let _ = unconfirmed;

    // A new account with an unverified email: unconfirmed, and its confirmation mail is the one mail sent.
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("nina-sub", "nina@example.com", false)), None).await;
    assert_eq!(out["userErrors"], json!([]), "{out}");
    assert_eq!(out["user"]["emailConfirmed"], false);
    assert_eq!(app.count("SELECT COUNT(*) FROM mail_outbox WHERE to_address = 'nina@example.com'").await, 1);
    // Its name comes from the token; fullName from the input only when the token has none.
    assert_eq!(out["user"]["fullName"], "Crafted Person");
    let mut nameless = crafted.claims("apple-like", "apple-like@example.com", true);
    nameless.as_object_mut().unwrap().remove("name");
    let out = app
        .gql(
            SIGNIN_WITH_ID_TOKEN,
            json!({ "input": { "provider": "crafted", "idToken": key.sign(&nameless), "fullName": " Ann Apple " } }),
            None,
        )
        .await;
    assert_eq!(out["data"]["signinWithIdToken"]["user"]["fullName"], "Ann Apple", "{out}");
    // No email at all: no account can be made.
    let mut no_email = crafted.claims("mailless", "x@example.com", true);
    no_email.as_object_mut().unwrap().remove("email");
    let out = signin_with_id_token(&app, "crafted", &key.sign(&no_email), None).await;
    assert_eq!(only_error(&out), ("input.idToken".into(), "INVALID_TOKEN".into()));
}

#[tokio::test]
async fn status_rules_and_the_second_factor_apply_to_provider_signins() {
    let key = TestKey::rsa("k1");
    let crafted = CraftedProvider::start(&[&key]).await;
    let app = spawn_app_with(crafted.settings()).await;

    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("sam-sub", "sam@example.com", true)), None).await;
    let sam = out["user"]["id"].as_str().unwrap().to_owned();
    app.sql(&format!("UPDATE users SET status = 'SUSPENDED' WHERE id = '{sam}'")).await;
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("sam-sub", "sam@example.com", true)), None).await;
    assert_eq!(only_error(&out), (String::new(), "ACCOUNT_SUSPENDED".into()), "{out}");
    app.sql(&format!("UPDATE users SET status = 'DEACTIVATED' WHERE id = '{sam}'")).await;
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("sam-sub", "sam@example.com", true)), None).await;
    assert_eq!(only_error(&out), (String::new(), "ACCOUNT_INACTIVE".into()), "{out}");
    // A forged token says nothing about the status.
    let out =
        signin_with_id_token(&app, "crafted", &TestKey::rsa("k1").sign(&crafted.claims("sam-sub", "sam@example.com", true)), None).await;
    assert_eq!(only_error(&out), ("input.idToken".into(), "INVALID_TOKEN".into()));

    // A suspended account with a matching confirmed email is not linked either.
    let sue = app.user("sue").await;
    app.sql(&format!("UPDATE users SET email_confirmed = true, status = 'SUSPENDED' WHERE id = '{}'", sue.id)).await;
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("sue-sub", "sue@example.com", true)), None).await;
    assert_eq!(only_error(&out), (String::new(), "ACCOUNT_SUSPENDED".into()), "{out}");
    assert_eq!(app.count("SELECT COUNT(*) FROM identities WHERE subject = 'sue-sub'").await, 0);

    // An account with TOTP gets an mfaChallenge, finished with verifyMfa.
    let tom = app.user("tom").await;
    app.sql(&format!("UPDATE users SET email_confirmed = true WHERE id = '{}'", tom.id)).await;
    let (secret, _) = enable_totp(&app, &tom).await;
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("tom-sub", "tom@example.com", true)), None).await;
    assert_eq!(out["userErrors"], json!([]), "{out}");
    assert!(out["tokens"].is_null() && out["mfaChallenge"]["challengeToken"].is_string(), "{out}");
    let challenge = out["mfaChallenge"]["challengeToken"].as_str().unwrap();
    steady_step(3).await;
    forget_used_steps(&app, &tom.id).await;
    let verified = verify_code(&app, challenge, &code_at(&secret, 0)).await;
    assert!(verified["data"]["verifyMfa"]["tokens"]["accessToken"].is_string(), "{verified}");
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_gives_invalid_token_and_the_server_runs() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let app =
        spawn_app_with(|s| s.oidc.providers.push(provider_settings("down", &format!("http://127.0.0.1:{closed}"), &["c"], None))).await;
    let listed = app.gql("{ identityProviders { id displayName } }", json!({}), None).await;
    assert_eq!(listed["data"]["identityProviders"], json!([{ "id": "down", "displayName": "Down" }]));
    let key = TestKey::ec("k");
    let out = signin_with_id_token(&app, "down", &key.sign(&json!({ "sub": "x" })), None).await;
    let (field, code) = only_error(&out);
    assert_eq!((field.as_str(), code.as_str()), ("input.idToken", "INVALID_TOKEN"), "{out}");
    assert!(out["userErrors"][0]["message"].as_str().unwrap().contains("cannot be reached"), "{out}");
    let start = app.gql(START_OAUTH, json!({ "input": { "provider": "down", "redirectUri": REDIRECT_URI } }), None).await;
    assert_eq!(only_error(&start["data"]["startOAuthSignin"]), ("input.provider".into(), "INVALID_TOKEN".into()));
}

#[tokio::test]
async fn provider_signins_are_credential_fields() {
    let app = spawn_app().await;
    let two = app
        .gql(
            "mutation { a: signinWithIdToken(input: { provider: \"x\", idToken: \"y\" }) { userErrors { code } } b: finishOAuthSignin(input: { provider: \"x\", code: \"c\", state: \"s\", redirectUri: \"http://app.test/\" }) { userErrors { code } } }",
            json!({}),
            None,
        )
        .await;
    assert_eq!(error_code(&two), Some("BAD_USER_INPUT"), "one credential field per request: {two}");
    let me = app.user("viewer").await;
    let out = app.gql(ME_IDENTITIES, json!({}), Some(&me.access)).await;
    assert_eq!(out["data"]["me"]["linkedIdentities"], json!([]));
    assert_eq!(out["data"]["me"]["hasPassword"], true);
}

#[tokio::test]
async fn the_real_provider_links_a_confirmed_account_and_refuses_an_unconfirmed_one() {
    let provider = start_real_provider(json!({
        "ola-sub": { "email": "ola@example.com", "email_verified": true },
        "una-sub": { "email": "una@example.com", "email_verified": true },
    }));
    let app = spawn_app_with(real_provider_settings(&provider)).await;
    let ola = app.user("ola").await;
    app.sql(&format!("UPDATE users SET email_confirmed = true WHERE id = '{}'", ola.id)).await;
    app.user("una").await;

    let (url, state) = start_browser_flow(&app, "test", None, false).await;
    let back = Browser::new().sign_in(&url, "ola-sub").await;
    let linked = finish_browser_flow(&app, "test", &param(&back, "code").unwrap(), &state, REDIRECT_URI).await;
    assert_eq!(linked["userErrors"], json!([]), "{linked}");
    assert_eq!(linked["user"]["id"], ola.id);
    assert_eq!(linked["user"]["hasPassword"], true);

    let id_token = mobile_id_token(&provider, "una-sub", "n-1").await;
    let refused = signin_with_id_token(&app, "test", &id_token, Some("n-1")).await;
    assert_eq!(only_error(&refused), (String::new(), "ACCOUNT_EXISTS".into()), "{refused}");
    assert_eq!(app.count("SELECT COUNT(*) FROM identities").await, 1);
}

/// Lists every user with linkedIdentities and hasPassword as an admin: (users listed, statements spent).
async fn statements_to_list_identities(app: &TestApp, token: &str) -> (usize, u64) {
    let query = "{ users(first: 100) { edges { node { id hasPassword linkedIdentities { provider subject } } } } }";
    let before = app.state.statement_count();
    let out = app.gql(query, json!({}), Some(token)).await;
    let spent = app.state.statement_count() - before;
    assert!(out["errors"].is_null(), "{out}");
    let edges = out["data"]["users"]["edges"].as_array().unwrap().clone();
    for edge in &edges {
        assert!(edge["node"]["linkedIdentities"].is_array(), "{out}");
    }
    (edges.len(), spent)
}

#[tokio::test]
async fn listing_users_with_their_identities_takes_the_same_statements_for_3_or_12() {
    let key = TestKey::ec("k1");
    let crafted = CraftedProvider::start(&[&key]).await;
    let app = spawn_app_with(crafted.settings()).await;
    let admin = app.user("boss").await;
    app.set_role(&admin.id, "ADMIN").await;
    let mut counts = Vec::new();
    for round in 0..2 {
        let new_users = if round == 0 { 2 } else { 9 };
        for i in 0..new_users {
            let sub = format!("r{round}-{i}");
            let out =
                signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims(&sub, &format!("{sub}@example.com"), true)), None).await;
            assert_eq!(out["userErrors"], json!([]), "{out}");
        }
        counts.push(statements_to_list_identities(&app, &admin.access).await);
    }
    assert_eq!((counts[0].0, counts[1].0), (3, 12));
    assert_eq!(counts[0].1, counts[1].1, "no query per user: {counts:?}");
}

#[tokio::test]
async fn the_identities_migration_keeps_existing_accounts_and_what_they_own() {
    use migration::{Migrator, MigratorTrait};
    use sea_orm::{ConnectionTrait, Database};
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let db = Database::connect(&url).await.unwrap();
    if !on_postgres() {
        db.execute_unprepared("PRAGMA foreign_keys = ON").await.unwrap();
    }
    // The schema as it was before identities: every migration but the last.
    let before = Migrator::migrations().len() as u32 - 1;
    Migrator::up(&db, Some(before)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO users (id, email, email_lower, password_hash, account_type, role, status, email_confirmed, created_at, updated_at) \
         VALUES ('u1', 'Old@Example.com', 'old@example.com', '$argon2id$x', 'FAN', 'USER', 'ACTIVE', true, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at) VALUES ('s1', 'u1', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z')",
    )
    .await
    .unwrap();
    let null_password = "INSERT INTO users (id, email, email_lower, password_hash, account_type, role, status, email_confirmed, created_at, updated_at) \
         VALUES ('u2', 'new@example.com', 'new@example.com', NULL, 'FAN', 'USER', 'ACTIVE', true, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')";
    assert!(db.execute_unprepared(null_password).await.is_err(), "NOT NULL before");

    Migrator::up(&db, None).await.unwrap();
    db.execute_unprepared(null_password).await.expect("a password may be NULL now");
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM sessions WHERE user_id = 'u1'").await, 1, "nothing cascaded away");
    assert_eq!(count("SELECT COUNT(*) FROM users WHERE password_hash = '$argon2id$x'").await, 1);
    // The foreign keys still point at users: deleting a user still takes its sessions.
    db.execute_unprepared("DELETE FROM users WHERE id = 'u1'").await.unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM sessions").await, 0);
    if !on_postgres() {
        assert_eq!(count("SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'").await, 0);
    }
}

#[tokio::test]
async fn a_passkey_can_be_the_last_way_in_but_is_then_kept() {
    let key = TestKey::rsa("k1");
    let crafted = CraftedProvider::start(&[&key]).await;
    let crafted_settings = crafted.settings();
    let app = spawn_app_with(|s| {
        crafted_settings(s);
        passkey_settings(s);
    })
    .await;
    let out = signin_with_id_token(&app, "crafted", &key.sign(&crafted.claims("pia-sub", "pia@example.com", true)), None).await;
    let access = out["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let mut authenticator = TestPasskey::new();
    let first = register_passkey(&app, &access, &mut authenticator, "Phone").await;
    let second = register_passkey(&app, &access, &mut TestPasskey::new(), "Laptop").await;
    // With passkeys, the provider is not the last way in any more.
    let out = app.gql(UNLINK_IDENTITY, json!({ "provider": "crafted" }), Some(&access)).await;
    assert_eq!(out["data"]["unlinkIdentity"]["userErrors"], json!([]), "{out}");
    let remove = "mutation($id: ID!) { removePasskey(id: $id) { userErrors { field code } } }";
    let out = app.gql(remove, json!({ "id": second }), Some(&access)).await;
    assert_eq!(out["data"]["removePasskey"]["userErrors"], json!([]), "{out}");
    let out = app.gql(remove, json!({ "id": first }), Some(&access)).await;
    assert_eq!(out["data"]["removePasskey"]["userErrors"], json!([{ "field": ["id"], "code": "NOT_ALLOWED" }]), "{out}");
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 1);
}
