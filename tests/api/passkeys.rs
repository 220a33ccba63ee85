//! Passkeys through real HTTP with a software authenticator doing real
//! WebAuthn registration and assertion ceremonies: the username and the
//! discoverable flow, and every way a response must be refused (another
//! origin or relying party, a replay, a counter that goes back, no user
//! verification, bad input), on any instance.
use serde_json::{json, Value};
use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;
use webauthn_authenticator_rs::AuthenticatorBackend;
use webauthn_rs_proto::UserVerificationPolicy;

use crate::helpers::*;
use crate::mfa_helpers::*;

fn user_error(payload: &Value) -> (String, String) {
    user_error_codes(payload).into_iter().next().unwrap_or_else(|| panic!("no user error: {payload}"))
}

async fn passkey_app() -> TestApp {
    spawn_app_with(passkey_settings).await
}

#[tokio::test]
async fn a_user_registers_a_passkey_and_signs_in_with_it_alone() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();

    let (ceremony, options) = start_registration(&app, &alice.access).await;
    // The bare PublicKeyCredentialCreationOptions, asking for a verified, discoverable credential.
    assert!(options.get("publicKey").is_none(), "{options}");
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["user"]["name"], "alice@example.com");
    assert_eq!(options["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "preferred");
    assert!(options["challenge"].as_str().is_some_and(|c| c.len() >= 43));
    let credential = key.do_registration(origin(), creation(&options)).unwrap();
    let finished = finish_registration(&app, &alice.access, &ceremony, " Work laptop ", serde_json::to_value(&credential).unwrap()).await;
    assert_eq!(finished["userErrors"], json!([]), "{finished}");
    assert_eq!(finished["passkey"]["name"], "Work laptop");
    assert_eq!(finished["passkey"]["lastUsedAt"], Value::Null);
    assert_eq!(app.count("SELECT COUNT(*) FROM mail_outbox WHERE subject = 'A passkey was added to your Tessera account'").await, 1);
    let status = app.gql(MFA_STATUS, json!({}), Some(&alice.access)).await;
    assert_eq!(status["data"]["me"]["mfa"]["passkeys"][0]["name"], "Work laptop");

    // Signin with the login: the options list exactly this account's passkey.
    let (ceremony, options) = start_signin(&app, Some("ALICE")).await;
    assert_eq!(options["allowCredentials"].as_array().unwrap().len(), 1, "{options}");
    assert_eq!(options["userVerification"], "required");
    let assertion = key.do_authentication(origin(), request(&options)).unwrap();
    let signed = finish_signin(&app, &ceremony, serde_json::to_value(&assertion).unwrap()).await;
    assert_eq!(signed["userErrors"], json!([]), "{signed}");
    assert_eq!(signed["user"]["id"], alice.id);
    let access = signed["tokens"]["accessToken"].as_str().unwrap();
    let status = app.gql(MFA_STATUS, json!({}), Some(access)).await;
    let current: Vec<&Value> = status["data"]["sessions"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current[0]["assuranceLevel"], "AAL2", "a passkey is two factors by itself");
    assert!(status["data"]["me"]["mfa"]["passkeys"][0]["lastUsedAt"].is_string());
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys WHERE sign_count = 1").await, 1, "the counter moved forward");
    assert_eq!(app.count("SELECT COUNT(*) FROM webauthn_ceremonies").await, 0, "each ceremony was used up");
}

#[tokio::test]
async fn discoverable_signin_finds_the_user_by_the_user_handle() {
    let app = passkey_app().await;
    app.user("bob").await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();
    register_passkey(&app, &alice.access, &mut key, "Phone").await;

    let (ceremony, options) = start_signin(&app, None).await;
    assert_eq!(options["allowCredentials"], json!([]), "any discoverable passkey: {options}");
    let assertion = key.do_authentication(origin(), request(&options)).unwrap();
    assert_eq!(assertion.response.user_handle.as_deref().map(<[u8]>::len), Some(16));
    let signed = finish_signin(&app, &ceremony, serde_json::to_value(&assertion).unwrap()).await;
    assert_eq!(signed["userErrors"], json!([]), "{signed}");
    assert_eq!(signed["user"]["id"], alice.id);
    assert!(signed["tokens"]["accessToken"].is_string());
    // And again, twice more: the counter keeps moving forward.
    for _ in 0..2 {
        assert!(passkey_signin(&app, &mut key, None).await["tokens"].is_object());
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys WHERE sign_count = 3").await, 1);

    // A login the passkey is not for (or that matches nobody) does not sign in with it.
    for login in ["bob", "nobody@example.com"] {
        let (ceremony, options) = start_signin(&app, Some(login)).await;
        assert_eq!(options["allowCredentials"], json!([]), "{login}: the answer looks the same whether or not the account exists");
        let assertion = key.do_authentication(origin(), request(&options)).unwrap();
        let refused = finish_signin(&app, &ceremony, serde_json::to_value(&assertion).unwrap()).await;
        assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()), "{login}");
    }
}

#[tokio::test]
async fn responses_from_another_origin_are_refused() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();

    let (ceremony, options) = start_registration(&app, &alice.access).await;
    let evil = url::Url::parse("http://localhost:9999").unwrap();
    let credential = AuthenticatorBackend::perform_register(&mut key, evil.clone(), creation(&options).public_key, 60_000).unwrap();
    let refused = finish_registration(&app, &alice.access, &ceremony, "Evil", serde_json::to_value(&credential).unwrap()).await;
    assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()));
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);

    register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    for page in ["http://localhost:9999", "https://localhost:8080", "http://evil.localhost:8080"] {
        let (ceremony, options) = start_signin(&app, Some("alice")).await;
        let assertion =
            AuthenticatorBackend::perform_auth(&mut key, url::Url::parse(page).unwrap(), request(&options).public_key, 60_000).unwrap();
        let refused = finish_signin(&app, &ceremony, serde_json::to_value(&assertion).unwrap()).await;
        assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()), "{page}");
        assert_eq!(refused["tokens"], Value::Null);
    }
    assert!(passkey_signin(&app, &mut key, Some("alice")).await["tokens"].is_object(), "the right origin still works");
}

#[tokio::test]
async fn responses_for_another_relying_party_are_refused() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();

    let (ceremony, options) = start_registration(&app, &alice.access).await;
    let mut foreign = creation(&options).public_key;
    foreign.rp.id = "example.com".into();
    let credential = AuthenticatorBackend::perform_register(&mut key, origin(), foreign, 60_000).unwrap();
    let refused = finish_registration(&app, &alice.access, &ceremony, "Foreign", serde_json::to_value(&credential).unwrap()).await;
    assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()));

    register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    let (ceremony, options) = start_signin(&app, Some("alice")).await;
    let mut foreign = request(&options).public_key;
    foreign.rp_id = "example.com".into();
    let assertion = AuthenticatorBackend::perform_auth(&mut key, origin(), foreign, 60_000).unwrap();
    let refused = finish_signin(&app, &ceremony, serde_json::to_value(&assertion).unwrap()).await;
    assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()));
}

#[tokio::test]
async fn a_replayed_response_is_refused() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();

    // A registration response, finished twice.
    let (ceremony, options) = start_registration(&app, &alice.access).await;
    let credential = serde_json::to_value(key.do_registration(origin(), creation(&options)).unwrap()).unwrap();
    assert_eq!(finish_registration(&app, &alice.access, &ceremony, "Laptop", credential.clone()).await["userErrors"], json!([]));
    let again = finish_registration(&app, &alice.access, &ceremony, "Laptop", credential.clone()).await;
    assert_eq!(user_error(&again), ("input.ceremonyId".into(), "INVALID_CODE".into()));
    let (other, _) = start_registration(&app, &alice.access).await;
    let elsewhere = finish_registration(&app, &alice.access, &other, "Laptop", credential).await;
    assert_eq!(user_error(&elsewhere), ("input.credential".into(), "INVALID_CODE".into()), "another ceremony's challenge");

    // An assertion, replayed against its own ceremony and against a new one, in both flows.
    for login in [Some("alice"), None] {
        let (ceremony, options) = start_signin(&app, login).await;
        let assertion = serde_json::to_value(key.do_authentication(origin(), request(&options)).unwrap()).unwrap();
        assert!(finish_signin(&app, &ceremony, assertion.clone()).await["tokens"].is_object());
        let same = finish_signin(&app, &ceremony, assertion.clone()).await;
        assert_eq!(user_error(&same), ("input.ceremonyId".into(), "INVALID_CODE".into()), "{login:?}");
        let (fresh, _) = start_signin(&app, login).await;
        let replayed = finish_signin(&app, &fresh, assertion).await;
        assert_eq!(user_error(&replayed), ("input.credential".into(), "INVALID_CODE".into()), "{login:?}");
        assert_eq!(replayed["tokens"], Value::Null);
    }
}

#[tokio::test]
async fn a_signature_counter_that_goes_back_is_refused() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();
    register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    assert!(passkey_signin(&app, &mut key, Some("alice")).await["tokens"].is_object());

    // As if a clone of this authenticator had signed in 1000 times: this one's counter (2) is behind.
    app.sql("UPDATE passkeys SET sign_count = 1000").await;
    for login in [Some("alice"), None] {
        let refused = passkey_signin(&app, &mut key, login).await;
        assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()), "{login:?}");
        assert_eq!(refused["tokens"], Value::Null);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys WHERE sign_count = 1000").await, 1, "the stored counter stays");
}

#[tokio::test]
async fn a_response_without_user_verification_is_refused() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();

    let (ceremony, options) = start_registration(&app, &alice.access).await;
    let mut unverified = creation(&options).public_key;
    if let Some(selection) = unverified.authenticator_selection.as_mut() {
        selection.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
    }
    let credential = AuthenticatorBackend::perform_register(&mut key, origin(), unverified, 60_000).unwrap();
    let refused = finish_registration(&app, &alice.access, &ceremony, "No UV", serde_json::to_value(&credential).unwrap()).await;
    assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()));

    register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    for login in [Some("alice"), None] {
        let (ceremony, options) = start_signin(&app, login).await;
        let mut unverified = request(&options).public_key;
        unverified.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
        let assertion = AuthenticatorBackend::perform_auth(&mut key, origin(), unverified, 60_000).unwrap();
        let refused = finish_signin(&app, &ceremony, serde_json::to_value(&assertion).unwrap()).await;
        assert_eq!(user_error(&refused), ("input.credential".into(), "INVALID_CODE".into()), "{login:?}");
    }
}

#[tokio::test]
async fn a_passkey_signin_is_aal2_with_or_without_totp_and_passkeys_are_a_second_factor() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();
    register_passkey(&app, &alice.access, &mut key, "Laptop").await;

    // A passkey alone makes the password one factor of two.
    let signin = password_signin(&app, "alice").await;
    assert_eq!(signin["tokens"], Value::Null);
    assert_eq!(signin["mfaChallenge"]["factors"], json!(["PASSKEY"]));
    let no_totp = verify_code(&app, signin["mfaChallenge"]["challengeToken"].as_str().unwrap(), "123456").await;
    assert_eq!(user_error(&no_totp["data"]["verifyMfa"]).1, "INVALID_CODE");

    enable_totp(&app, &alice).await;
    assert_eq!(password_signin(&app, "alice").await["mfaChallenge"]["factors"], json!(["TOTP", "RECOVERY_CODE", "PASSKEY"]));
    let signed = passkey_signin(&app, &mut key, None).await;
    assert_eq!(signed["mfaChallenge"], Value::Null, "no second step after a passkey");
    let access = signed["tokens"]["accessToken"].as_str().unwrap();
    let status = app.gql(MFA_STATUS, json!({}), Some(access)).await;
    let current: Vec<&Value> = status["data"]["sessions"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current[0]["assuranceLevel"], "AAL2");
}

#[tokio::test]
async fn bad_passkey_input_is_a_user_error_never_a_server_error() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();
    register_passkey(&app, &alice.access, &mut key, "Laptop").await;

    let (ceremony, options) = start_registration(&app, &alice.access).await;
    let good = serde_json::to_value(TestPasskey::new().do_registration(origin(), creation(&options)).unwrap()).unwrap();
    for (name, credential, field, code) in [
        ("Laptop", json!({ "id": "x" }), "input.credential", "INVALID"),
        ("Laptop", json!(42), "input.credential", "INVALID"),
        ("Laptop", json!("{not json"), "input.credential", "INVALID"),
        ("Laptop", json!({ "id": "AQID", "rawId": "+/+/", "type": "public-key", "response": {} }), "input.credential", "INVALID"),
        ("   ", good.clone(), "input.name", "REQUIRED"),
        (&*"n".repeat(101), good.clone(), "input.name", "TOO_LONG"),
    ] {
        let out = finish_registration(&app, &alice.access, &ceremony, name, credential).await;
        assert_eq!(user_error(&out), (field.to_owned(), code.to_owned()), "{out}");
    }
    // Input checks come first: the ceremony was not spent by them.
    assert_eq!(finish_registration(&app, &alice.access, &ceremony, "Desk", good.clone()).await["userErrors"], json!([]));
    for ceremony in ["no-such-ceremony", &"c".repeat(10_240)] {
        let out = finish_registration(&app, &alice.access, ceremony, "Desk", good.clone()).await;
        assert_eq!(user_error(&out), ("input.ceremonyId".into(), "INVALID_CODE".into()));
    }
    // A ceremony of another user, or of another kind, does not do.
    let bob = app.user("bob").await;
    let (bobs, _) = start_registration(&app, &bob.access).await;
    assert_eq!(user_error(&finish_registration(&app, &alice.access, &bobs, "Desk", good.clone()).await).1, "INVALID_CODE");
    let (signin_ceremony, _) = start_signin(&app, None).await;
    assert_eq!(user_error(&finish_registration(&app, &alice.access, &signin_ceremony, "Desk", good).await).1, "INVALID_CODE");
    let (registration, _) = start_registration(&app, &alice.access).await;
    let (ceremony, options) = start_signin(&app, None).await;
    let assertion = serde_json::to_value(key.do_authentication(origin(), request(&options)).unwrap()).unwrap();
    assert_eq!(
        user_error(&finish_signin(&app, &registration, assertion.clone()).await),
        ("input.ceremonyId".into(), "INVALID_CODE".into())
    );

    for credential in [
        json!({}),
        json!([1, 2]),
        json!({ "id": "x", "rawId": "x", "type": "public-key", "response": { "authenticatorData": "%%", "clientDataJSON": "", "signature": "" } }),
    ] {
        let out = app.gql(FINISH_SIGNIN, json!({ "input": { "ceremonyId": ceremony, "credential": credential } }), None).await;
        assert_eq!(out["errors"], Value::Null, "{out}");
        assert_eq!(user_error(&out["data"]["finishPasskeySignin"]), ("input.credential".into(), "INVALID".into()));
    }
    // Garbage that parses: refused by the check, not by the parser.
    let mut tampered = assertion.clone();
    tampered["response"]["signature"] = json!("AAAA");
    assert_eq!(user_error(&finish_signin(&app, &ceremony, tampered).await), ("input.credential".into(), "INVALID_CODE".into()));

    let anonymous = app.gql(START_REGISTRATION, json!({}), None).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    let huge_login = app.gql(START_SIGNIN, json!({ "login": "x".repeat(10_240) }), None).await;
    assert_eq!(huge_login["data"]["startPasskeySignin"]["userErrors"], json!([]), "{huge_login}");
}

#[tokio::test]
async fn a_ceremony_works_once_within_five_minutes_on_any_instance() {
    let first = passkey_app().await;
    let second = spawn_second(&first, passkey_settings).await;
    let alice = first.user("alice").await;
    let mut key = TestPasskey::new();

    // Started on one instance, finished on the other.
    let (ceremony, options) = start_registration(&first, &alice.access).await;
    let credential = key.do_registration(origin(), creation(&options)).unwrap();
    let finished = finish_registration(&second, &alice.access, &ceremony, "Laptop", serde_json::to_value(&credential).unwrap()).await;
    assert_eq!(finished["userErrors"], json!([]), "{finished}");
    let (ceremony, options) = start_signin(&second, None).await;
    let assertion = key.do_authentication(origin(), request(&options)).unwrap();
    assert!(finish_signin(&first, &ceremony, serde_json::to_value(&assertion).unwrap()).await["tokens"].is_object());

    // Expired.
    let (ceremony, options) = start_signin(&first, Some("alice")).await;
    let assertion = key.do_authentication(origin(), request(&options)).unwrap();
    first.sql("UPDATE webauthn_ceremonies SET expires_at = '2001-01-01 00:00:00+00:00'").await;
    let expired = finish_signin(&second, &ceremony, serde_json::to_value(&assertion).unwrap()).await;
    assert_eq!(user_error(&expired), ("input.ceremonyId".into(), "INVALID_CODE".into()));
}

#[tokio::test]
async fn removing_a_passkey_needs_a_session_and_touches_only_ones_own() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let mut key = TestPasskey::new();
    let id = register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    let remove = "mutation($id: ID!) { removePasskey(id: $id) { user { id mfa { passkeys { id } } } userErrors { field code } } }";

    assert_eq!(error_code(&app.gql(remove, json!({ "id": id }), None).await), Some("UNAUTHENTICATED"));
    let others = app.gql(remove, json!({ "id": id }), Some(&bob.access)).await;
    assert_eq!(user_error(&others["data"]["removePasskey"]), ("id".into(), "NOT_FOUND".into()));
    let out = app.gql(remove, json!({ "id": id }), Some(&alice.access)).await;
    assert_eq!(out["data"]["removePasskey"]["user"]["mfa"]["passkeys"], json!([]), "{out}");
    let gone = passkey_signin(&app, &mut key, None).await;
    assert_eq!(user_error(&gone), ("input.credential".into(), "INVALID_CODE".into()));
    assert!(password_signin(&app, "alice").await["tokens"].is_object(), "no second factor left");
}

#[tokio::test]
async fn an_admin_reset_removes_passkeys_too() {
    let app = passkey_app().await;
    let admin = app.user("root").await;
    app.set_role(&admin.id, "ADMIN").await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();
    register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    start_registration(&app, &alice.access).await;
    let out = app
        .gql(
            "mutation($id: ID!) { resetUserMfa(userId: $id) { user { mfa { passkeys { id } } } userErrors { code } } }",
            json!({ "id": alice.id }),
            Some(&admin.access),
        )
        .await;
    assert_eq!(out["data"]["resetUserMfa"]["user"]["mfa"]["passkeys"], json!([]), "{out}");
    assert_eq!(app.count("SELECT COUNT(*) FROM webauthn_ceremonies").await, 0);
    assert_eq!(user_error(&passkey_signin(&app, &mut key, None).await).1, "INVALID_CODE");
}

#[tokio::test]
async fn passkeys_are_off_when_the_app_url_has_no_domain() {
    let app = spawn_app_with(|s| s.server.app_url = Some("http://192.168.1.5:8080".into())).await;
    let alice = app.user("alice").await;
    let out = app.gql(START_REGISTRATION, json!({}), Some(&alice.access)).await;
    let (field, code) = user_error(&out["data"]["startPasskeyRegistration"]);
    assert_eq!((field.as_str(), code.as_str()), ("", "NOT_ALLOWED"), "{out}");
    assert!(out["data"]["startPasskeyRegistration"]["userErrors"][0]["message"].as_str().unwrap().contains("WEBAUTHN_RP_ID"));
}

#[tokio::test]
async fn deleting_an_account_takes_its_second_factors_with_it() {
    let app = passkey_app().await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();
    register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    enable_totp(&app, &alice).await;
    challenge(&app, "alice").await;
    let out = app
        .gql(
            "mutation($p: String!) { deleteAccount(password: $p) { deletedUserId userErrors { code } } }",
            json!({ "p": PASSWORD }),
            Some(&alice.access),
        )
        .await;
    assert_eq!(out["data"]["deleteAccount"]["deletedUserId"], alice.id, "{out}");
    for table in ["totp_factors", "recovery_codes", "passkeys", "mfa_challenges"] {
        assert_eq!(app.count(&format!("SELECT COUNT(*) FROM {table}")).await, 0, "{table}");
    }
    assert_eq!(user_error(&passkey_signin(&app, &mut key, None).await).1, "INVALID_CODE");
}

#[tokio::test]
async fn a_passkey_signs_in_through_a_lockout_and_clears_it() {
    let app = spawn_app_with(|s| {
        passkey_settings(s);
        s.limits.signin_max_failures = 2;
    })
    .await;
    let alice = app.user("alice").await;
    let mut key = TestPasskey::new();
    register_passkey(&app, &alice.access, &mut key, "Laptop").await;
    for _ in 0..2 {
        let out = app.gql(SIGNIN, json!({ "input": { "login": "alice", "password": "a wrong guess" } }), None).await;
        assert_eq!(user_error(&out["data"]["signin"]).1, "INVALID_CREDENTIALS");
    }
    let locked = app.gql(SIGNIN, json!({ "input": { "login": "alice", "password": PASSWORD } }), None).await;
    assert_eq!(error_code(&locked), Some("RATE_LIMITED"));
    // Nothing to guess with a passkey: it signs in, and the whole signin clears the count.
    assert!(passkey_signin(&app, &mut key, None).await["tokens"].is_object());
    assert!(password_signin(&app, "alice").await["mfaChallenge"].is_object(), "no longer locked");
}
