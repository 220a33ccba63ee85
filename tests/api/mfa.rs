//! Second factors through real HTTP: TOTP enrollment and confirmation, the
//! signin challenge, replay and drift, recovery codes, disabling, the admin
//! reset, the lockout, expiry, encryption at rest, privacy and limits.
use serde_json::{json, Value};

use crate::helpers::*;
use crate::mail_helpers::*;
use crate::mfa_helpers::*;

/// How many queued mails to `to` have a subject starting with `subject`.
async fn mails(app: &TestApp, to: &str, subject: &str) -> i64 {
    app.count(&format!("SELECT COUNT(*) FROM mail_outbox WHERE to_address = '{to}' AND subject LIKE '{subject}%'")).await
}

fn codes_of(payload: &Value) -> Vec<String> {
    payload["recoveryCodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no codes: {payload}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

fn user_error(payload: &Value) -> (String, String) {
    user_error_codes(payload).into_iter().next().unwrap_or_else(|| panic!("no user error: {payload}"))
}

#[tokio::test]
async fn enrollment_gives_a_secret_a_uri_and_a_qr_code_and_changes_nothing_until_confirmed() {
    let app = spawn_app_with(|s| s.mfa.totp_issuer = "Tessera Dev & Co".into()).await;
    let alice = app.user("alice").await;
    let out = app.gql(START_TOTP, json!({}), Some(&alice.access)).await;
    let enrollment = &out["data"]["startTotpEnrollment"]["enrollment"];
    assert_eq!(out["data"]["startTotpEnrollment"]["userErrors"], json!([]), "{out}");
    let secret = enrollment["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert!(secret.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)), "{secret}");
    let uri = enrollment["otpauthUri"].as_str().unwrap();
    assert_eq!(uri, format!("otpauth://totp/Tessera%20Dev%20%26%20Co:alice%40example.com?secret={secret}&issuer=Tessera%20Dev%20%26%20Co"));
    let svg = enrollment["qrCodeSvg"].as_str().unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}", &svg[..60]);

    // Nothing is on yet: the password alone still signs in.
    let status = app.gql(MFA_STATUS, json!({}), Some(&alice.access)).await;
    assert_eq!(status["data"]["me"]["mfa"], json!({ "totpEnabled": false, "recoveryCodesLeft": 0, "passkeys": [] }));
    assert!(password_signin(&app, "alice").await["tokens"].is_object());
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_factors WHERE confirmed_at IS NULL").await, 1);

    // A second start replaces the pending secret.
    let again = app.gql(START_TOTP, json!({}), Some(&alice.access)).await;
    let second = again["data"]["startTotpEnrollment"]["enrollment"]["secret"].as_str().unwrap();
    assert_ne!(second, secret);
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_factors").await, 1);
    steady_step(3).await;
    let stale = app.gql(CONFIRM_TOTP, json!({ "code": code_at(secret, 0) }), Some(&alice.access)).await;
    assert_eq!(user_error(&stale["data"]["confirmTotp"]), ("input.code".into(), "INVALID_CODE".into()));

    let anonymous = app.gql(START_TOTP, json!({}), None).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn confirming_turns_totp_on_ends_other_sessions_raises_this_one_and_returns_ten_hashed_codes() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let laptop = app.signin_as("alice").await;
    let started = app.gql(START_TOTP, json!({}), Some(&alice.access)).await;
    let secret = started["data"]["startTotpEnrollment"]["enrollment"]["secret"].as_str().unwrap().to_owned();

    let wrong = app.gql(CONFIRM_TOTP, json!({ "code": wrong_code(&secret) }), Some(&alice.access)).await;
    assert_eq!(user_error(&wrong["data"]["confirmTotp"]), ("input.code".into(), "INVALID_CODE".into()));
    assert_eq!(app.me(&laptop.access).await["data"]["me"]["id"], alice.id, "nothing changed yet");

    steady_step(3).await;
    let code = code_at(&secret, 0);
    // "123 456" is the same code as "123456".
    let spaced = format!("{} {}", &code[..3], &code[3..]);
    let out = app.gql(CONFIRM_TOTP, json!({ "code": spaced }), Some(&alice.access)).await;
    let payload = &out["data"]["confirmTotp"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    assert_eq!(payload["user"]["mfa"], json!({ "totpEnabled": true, "recoveryCodesLeft": 10 }));
    let codes = codes_of(payload);
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<&String> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    for code in &codes {
        // Four groups of four Crockford base32 characters: 80 random bits.
        assert_eq!(code.len(), 19, "{code}");
        assert!(code.split('-').all(|g| g.len() == 4 && g.chars().all(|c| "0123456789abcdefghjkmnpqrstvwxyz".contains(c))), "{code}");
        let plain = code.replace('-', "");
        assert_eq!(app.count(&format!("SELECT COUNT(*) FROM recovery_codes WHERE code_hash = '{plain}' OR code_hash = '{code}'")).await, 0);
    }
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM recovery_codes WHERE user_id = '{}' AND LENGTH(code_hash) = 64", alice.id)).await,
        10
    );

    // The other session was single-factor: it ended. This one is AAL2 now.
    assert_eq!(error_code(&app.me(&laptop.access).await), Some("UNAUTHENTICATED"));
    let status = app.gql(MFA_STATUS, json!({}), Some(&alice.access)).await;
    assert_eq!(
        status["data"]["sessions"],
        json!([{ "id": status["data"]["sessions"][0]["id"], "current": true, "assuranceLevel": "AAL2" }])
    );
    assert_eq!(mails(&app, "alice@example.com", "Two-step sign-in is on").await, 1);

    // Confirming twice, or starting over while on, is refused.
    let again = app.gql(START_TOTP, json!({}), Some(&alice.access)).await;
    assert_eq!(user_error(&again["data"]["startTotpEnrollment"]).1, "ALREADY_DONE");
    let twice = app.gql(CONFIRM_TOTP, json!({ "code": code_at(&secret, 30) }), Some(&alice.access)).await;
    assert_eq!(user_error(&twice["data"]["confirmTotp"]).1, "ALREADY_DONE");

    let bob = app.user("bob").await;
    let nothing = app.gql(CONFIRM_TOTP, json!({ "code": "123456" }), Some(&bob.access)).await;
    assert_eq!(user_error(&nothing["data"]["confirmTotp"]).1, "NOT_FOUND");
}

#[tokio::test]
async fn signin_with_totp_answers_a_challenge_and_a_code_starts_an_aal2_session() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (secret, _) = enable_totp(&app, &alice).await;

    let before = chrono::Utc::now();
    let signin = password_signin(&app, "alice@example.com").await;
    assert_eq!(signin["tokens"], Value::Null);
    assert_eq!(signin["user"], Value::Null, "nothing private before the second factor");
    assert_eq!(signin["userErrors"], json!([]));
    let challenge = &signin["mfaChallenge"];
    assert_eq!(challenge["factors"], json!(["TOTP", "RECOVERY_CODE"]));
    let token = challenge["challengeToken"].as_str().unwrap();
    assert_eq!(token.len(), 43, "256 random bits, base64url");
    let expires = chrono::DateTime::parse_from_rfc3339(challenge["expiresAt"].as_str().unwrap()).unwrap();
    let lifetime = expires.signed_duration_since(before).num_seconds();
    assert!((295..=305).contains(&lifetime), "{lifetime}");
    // Stored hashed only.
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM mfa_challenges WHERE token_hash = '{token}'")).await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM mfa_challenges").await, 1);

    steady_step(3).await;
    let out = verify_code(&app, token, &code_at(&secret, 0)).await;
    let payload = &out["data"]["verifyMfa"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    assert_eq!(payload["user"]["email"], "alice@example.com");
    let access = payload["tokens"]["accessToken"].as_str().unwrap();
    let status = app.gql(MFA_STATUS, json!({}), Some(access)).await;
    let current: Vec<&Value> = status["data"]["sessions"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current[0]["assuranceLevel"], "AAL2");

    // The challenge worked once.
    forget_used_steps(&app, &alice.id).await;
    let reused = verify_code(&app, token, &code_at(&secret, 0)).await;
    assert_eq!(user_error(&reused["data"]["verifyMfa"]), ("input.challengeToken".into(), "INVALID_CODE".into()));
    assert_eq!(reused["data"]["verifyMfa"]["tokens"], Value::Null);
}

#[tokio::test]
async fn a_code_works_once_and_older_codes_do_not_work_after_it() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (secret, _) = enable_totp(&app, &alice).await;
    steady_step(4).await;
    let code = code_at(&secret, 0);
    let first = verify_code(&app, &challenge(&app, "alice").await, &code).await;
    assert!(first["data"]["verifyMfa"]["tokens"].is_object(), "{first}");

    let replay = verify_code(&app, &challenge(&app, "alice").await, &code).await;
    assert_eq!(user_error(&replay["data"]["verifyMfa"]), ("input.code".into(), "INVALID_CODE".into()));
    assert_eq!(replay["data"]["verifyMfa"]["tokens"], Value::Null);
    // The previous step's code is inside the drift window, but older than the one used.
    let older = verify_code(&app, &challenge(&app, "alice").await, &code_at(&secret, -30)).await;
    assert_eq!(user_error(&older["data"]["verifyMfa"]).1, "INVALID_CODE");
    // The next step's code still works (once).
    let next = verify_code(&app, &challenge(&app, "alice").await, &code_at(&secret, 30)).await;
    assert!(next["data"]["verifyMfa"]["tokens"].is_object(), "{next}");
}

#[tokio::test]
async fn one_step_of_drift_either_way_is_accepted_and_two_are_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (secret, _) = enable_totp(&app, &alice).await;
    steady_step(5).await;
    for offset in [-60, 60, -90, 90] {
        let out = verify_code(&app, &challenge(&app, "alice").await, &code_at(&secret, offset)).await;
        // (A code two steps away could equal the current one by chance: one in a million.)
        assert_eq!(user_error(&out["data"]["verifyMfa"]).1, "INVALID_CODE", "offset {offset}: {out}");
    }
    for offset in [-30, 30] {
        let out = verify_code(&app, &challenge(&app, "alice").await, &code_at(&secret, offset)).await;
        assert!(out["data"]["verifyMfa"]["tokens"].is_object(), "offset {offset}: {out}");
    }
}

#[tokio::test]
async fn recovery_codes_work_once_count_down_and_regeneration_replaces_them() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (_, codes) = enable_totp(&app, &alice).await;

    // Typed loosely: upper case, spaces instead of dashes.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let out = verify_recovery(&app, &challenge(&app, "alice").await, &typed).await;
    let access = out["data"]["verifyMfa"]["tokens"]["accessToken"].as_str().unwrap_or_else(|| panic!("{out}")).to_owned();
    let status = app.gql(MFA_STATUS, json!({}), Some(&access)).await;
    assert_eq!(status["data"]["me"]["mfa"]["recoveryCodesLeft"], 9);
    let current: Vec<&Value> = status["data"]["sessions"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current[0]["assuranceLevel"], "AAL2");
    assert_eq!(mails(&app, "alice@example.com", "A recovery code was used to sign in to Tessera (9 left)").await, 1);

    let again = verify_recovery(&app, &challenge(&app, "alice").await, &codes[0]).await;
    assert_eq!(user_error(&again["data"]["verifyMfa"]), ("input.recoveryCode".into(), "INVALID_CODE".into()));

    // Spend them all: the challenge stops offering RECOVERY_CODE.
    for code in &codes[1..] {
        let out = verify_recovery(&app, &challenge(&app, "alice").await, code).await;
        assert!(out["data"]["verifyMfa"]["tokens"].is_object(), "{out}");
    }
    assert_eq!(mails(&app, "alice@example.com", "A recovery code was used to sign in to Tessera (0 left)").await, 1);
    assert_eq!(password_signin(&app, "alice").await["mfaChallenge"]["factors"], json!(["TOTP"]));

    // New codes need the password; the old ones stay dead, the new ones work.
    let wrong = app.gql(REGENERATE, json!({ "password": "not my password" }), Some(&access)).await;
    assert_eq!(user_error(&wrong["data"]["regenerateRecoveryCodes"]), ("input.password".into(), "INVALID_CREDENTIALS".into()));
    let fresh = app.gql(REGENERATE, json!({ "password": PASSWORD }), Some(&access)).await;
    let fresh = codes_of(&fresh["data"]["regenerateRecoveryCodes"]);
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !codes.contains(c)));
    assert_eq!(password_signin(&app, "alice").await["mfaChallenge"]["factors"], json!(["TOTP", "RECOVERY_CODE"]));
    let old = verify_recovery(&app, &challenge(&app, "alice").await, &codes[3]).await;
    assert_eq!(user_error(&old["data"]["verifyMfa"]).1, "INVALID_CODE");
    let new = verify_recovery(&app, &challenge(&app, "alice").await, &fresh[0]).await;
    assert!(new["data"]["verifyMfa"]["tokens"].is_object(), "{new}");

    // Regenerating a second time kills the first batch of new codes too.
    app.gql(REGENERATE, json!({ "password": PASSWORD }), Some(&access)).await;
    let killed = verify_recovery(&app, &challenge(&app, "alice").await, &fresh[1]).await;
    assert_eq!(user_error(&killed["data"]["verifyMfa"]).1, "INVALID_CODE");

    // Without TOTP there are no recovery codes to make.
    let bob = app.user("bob").await;
    let none = app.gql(REGENERATE, json!({ "password": PASSWORD }), Some(&bob.access)).await;
    assert_eq!(user_error(&none["data"]["regenerateRecoveryCodes"]).1, "NOT_ALLOWED");
}

#[tokio::test]
async fn disabling_needs_the_password_and_makes_the_password_enough_again() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (_, codes) = enable_totp(&app, &alice).await;

    let wrong = app.gql(DISABLE_TOTP, json!({ "password": "not my password" }), Some(&alice.access)).await;
    assert_eq!(user_error(&wrong["data"]["disableTotp"]), ("input.password".into(), "INVALID_CREDENTIALS".into()));
    assert!(password_signin(&app, "alice").await["mfaChallenge"].is_object());

    let out = app.gql(DISABLE_TOTP, json!({ "password": PASSWORD }), Some(&alice.access)).await;
    assert_eq!(out["data"]["disableTotp"]["userErrors"], json!([]), "{out}");
    assert_eq!(out["data"]["disableTotp"]["user"]["mfa"], json!({ "totpEnabled": false, "recoveryCodesLeft": 0 }));
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_factors").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    assert_eq!(mails(&app, "alice@example.com", "Two-step sign-in was turned off").await, 1);

    let signin = password_signin(&app, "alice").await;
    assert!(signin["tokens"].is_object(), "{signin}");
    assert_eq!(signin["mfaChallenge"], Value::Null);
    let twice = app.gql(DISABLE_TOTP, json!({ "password": PASSWORD }), Some(&alice.access)).await;
    assert_eq!(user_error(&twice["data"]["disableTotp"]).1, "ALREADY_DONE");
    assert!(!codes.is_empty());
}

#[tokio::test]
async fn an_admin_reset_removes_every_factor_and_ends_the_users_sessions() {
    let app = spawn_app().await;
    let admin = app.user("root").await;
    app.set_role(&admin.id, "ADMIN").await;
    let alice = app.user("alice").await;
    enable_totp(&app, &alice).await;
    let reset = "mutation($id: ID!) { resetUserMfa(userId: $id) { user { id mfa { totpEnabled recoveryCodesLeft passkeys { id } } } userErrors { field code } } }";

    let forbidden = app.gql(reset, json!({ "id": alice.id }), Some(&alice.access)).await;
    assert_eq!(error_code(&forbidden), Some("FORBIDDEN"));
    let staff = app.user("staff").await;
    app.set_role(&staff.id, "STAFF").await;
    assert_eq!(error_code(&app.gql(reset, json!({ "id": alice.id }), Some(&staff.access)).await), Some("FORBIDDEN"));
    let unknown = app.gql(reset, json!({ "id": "no-such-user" }), Some(&admin.access)).await;
    assert_eq!(user_error(&unknown["data"]["resetUserMfa"]), ("userId".into(), "NOT_FOUND".into()));

    let pending = challenge(&app, "alice").await;
    let out = app.gql(reset, json!({ "id": alice.id }), Some(&admin.access)).await;
    assert_eq!(out["data"]["resetUserMfa"]["userErrors"], json!([]), "{out}");
    assert_eq!(out["data"]["resetUserMfa"]["user"]["mfa"], json!({ "totpEnabled": false, "recoveryCodesLeft": 0, "passkeys": [] }));
    assert_eq!(error_code(&app.me(&alice.access).await), Some("UNAUTHENTICATED"), "every session ended");
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM mfa_challenges WHERE user_id = '{}'", alice.id)).await, 0);
    let dead = verify_code(&app, &pending, "123456").await;
    assert_eq!(user_error(&dead["data"]["verifyMfa"]).0, "input.challengeToken");
    assert_eq!(mails(&app, "alice@example.com", "Two-step sign-in was turned off").await, 1);
    assert!(password_signin(&app, "alice").await["tokens"].is_object());
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_and_a_right_password_does_not_clear_it() {
    let app = spawn_app_with(|s| s.limits.signin_max_failures = 4).await;
    let alice = app.user("alice").await;
    let (secret, _) = enable_totp(&app, &alice).await;
    steady_step(6).await;
    let wrong = &wrong_code(&secret);

    // Two wrong codes, then a right one: the whole signin succeeds and clears the count.
    let token = challenge(&app, "alice").await;
    for _ in 0..2 {
        assert_eq!(user_error(&verify_code(&app, &token, wrong).await["data"]["verifyMfa"]).1, "INVALID_CODE");
    }
    assert!(verify_code(&app, &token, &code_at(&secret, 0)).await["data"]["verifyMfa"]["tokens"].is_object());

    // Now three wrong codes across fresh challenges: each signin has the right
    // password, which does not clear the count while the code is owed.
    for _ in 0..3 {
        let token = challenge(&app, "alice").await;
        let out = verify_code(&app, &token, wrong).await;
        assert_eq!(user_error(&out["data"]["verifyMfa"]).1, "INVALID_CODE", "{out}");
    }
    // The fourth failure locks the account: the right code, and the right password, are refused now.
    let token = challenge(&app, "alice").await;
    assert_eq!(user_error(&verify_code(&app, &token, "12ab56").await["data"]["verifyMfa"]).1, "INVALID_CODE");
    let locked = verify_code(&app, &token, &code_at(&secret, 30)).await;
    assert_eq!(error_code(&locked), Some("RATE_LIMITED"), "{locked}");
    let signin = app.gql(SIGNIN, json!({ "input": { "login": "alice", "password": PASSWORD } }), None).await;
    assert_eq!(error_code(&signin), Some("RATE_LIMITED"), "{signin}");
}

#[tokio::test]
async fn a_challenge_dies_after_five_minutes_or_five_wrong_codes() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (secret, _) = enable_totp(&app, &alice).await;
    steady_step(5).await;
    let wrong = &wrong_code(&secret);

    let token = challenge(&app, "alice").await;
    app.sql("UPDATE mfa_challenges SET expires_at = '2001-01-01 00:00:00+00:00'").await;
    let expired = verify_code(&app, &token, &code_at(&secret, 0)).await;
    assert_eq!(user_error(&expired["data"]["verifyMfa"]), ("input.challengeToken".into(), "INVALID_CODE".into()));

    let token = challenge(&app, "alice").await;
    for attempt in 1..=5 {
        let out = verify_code(&app, &token, wrong).await;
        assert_eq!(user_error(&out["data"]["verifyMfa"]), ("input.code".into(), "INVALID_CODE".into()), "attempt {attempt}");
    }
    let live = "SELECT COUNT(*) FROM mfa_challenges WHERE expires_at > '2002-01-01 00:00:00+00:00'";
    assert_eq!(app.count(live).await, 0, "the fifth wrong code killed it");
    let dead = verify_code(&app, &token, &code_at(&secret, 0)).await;
    assert_eq!(user_error(&dead["data"]["verifyMfa"]), ("input.challengeToken".into(), "INVALID_CODE".into()));
    // A fresh signin is a fresh challenge.
    let fresh = verify_code(&app, &challenge(&app, "alice").await, &code_at(&secret, 0)).await;
    assert!(fresh["data"]["verifyMfa"]["tokens"].is_object(), "{fresh}");
}

#[tokio::test]
async fn bad_codes_and_tokens_are_user_errors_never_server_errors() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    enable_totp(&app, &alice).await;
    let token = challenge(&app, "alice").await;
    let huge = "9".repeat(10_240);
    for (input, field, code) in [
        (json!({ "challengeToken": token, "code": "12ab56" }), "input.code", "INVALID_CODE"),
        (json!({ "challengeToken": token, "code": huge }), "input.code", "INVALID_CODE"),
        (json!({ "challengeToken": token, "code": "" }), "input.code", "INVALID_CODE"),
        (json!({ "challengeToken": token, "recoveryCode": huge }), "input.recoveryCode", "INVALID_CODE"),
        (json!({ "challengeToken": token, "recoveryCode": "💥💥💥💥-💥💥💥💥" }), "input.recoveryCode", "INVALID_CODE"),
        (json!({ "challengeToken": token }), "input.code", "REQUIRED"),
        (json!({ "challengeToken": token, "code": "123456", "recoveryCode": "abcd-efgh-jkmn-pqrs" }), "", "INVALID"),
        (json!({ "challengeToken": "no-such-challenge", "code": "123456" }), "input.challengeToken", "INVALID_CODE"),
        (json!({ "challengeToken": huge, "code": "123456" }), "input.challengeToken", "INVALID_CODE"),
    ] {
        let out = app.gql(VERIFY, json!({ "input": input }), None).await;
        assert_eq!(out["errors"], Value::Null, "{out}");
        assert_eq!(user_error(&out["data"]["verifyMfa"]), (field.to_owned(), code.to_owned()), "{input}");
        assert_eq!(out["data"]["verifyMfa"]["tokens"], Value::Null);
    }
    let bob = app.user("bob").await;
    app.gql(START_TOTP, json!({}), Some(&bob.access)).await;
    for code in ["abcdef", huge.as_str(), "12345", ""] {
        let out = app.gql(CONFIRM_TOTP, json!({ "code": code }), Some(&bob.access)).await;
        assert_eq!(user_error(&out["data"]["confirmTotp"]), ("input.code".into(), "INVALID_CODE".into()), "{code:.20}");
    }
}

#[tokio::test]
async fn a_password_reset_never_bypasses_the_second_factor() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(tessera::config::Secret::new(url))).await;
    let alice = app.user("alice").await;
    enable_totp(&app, &alice).await;
    app.gql("mutation { requestPasswordReset(email: \"alice@example.com\") { success } }", json!({}), None).await;
    let reset = smtp.wait_for("alice@example.com", 3).await;
    let mail = reset.iter().find(|m| m.subject.contains("Reset")).expect("the reset mail");
    let token = mail.token("http://app.test", "reset-password");
    let out = app
        .gql(
            "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { success userErrors { code } } }",
            json!({ "input": { "token": token, "newPassword": "a brand new passphrase" } }),
            None,
        )
        .await;
    assert_eq!(out["data"]["resetPassword"]["success"], true, "{out}");
    let signin = app.gql(SIGNIN, json!({ "input": { "login": "alice", "password": "a brand new passphrase" } }), None).await;
    assert_eq!(signin["data"]["signin"]["tokens"], Value::Null, "{signin}");
    assert_eq!(signin["data"]["signin"]["mfaChallenge"]["factors"], json!(["TOTP", "RECOVERY_CODE"]));
    // The notices really went out through SMTP.
    let subjects: Vec<String> = smtp.mail_to("alice@example.com").iter().map(|m| m.subject.clone()).collect();
    assert!(subjects.iter().any(|s| s == "Two-step sign-in is on for your Tessera account"), "{subjects:?}");
}

#[tokio::test]
async fn secrets_are_sealed_with_the_key_and_a_wrong_or_missing_key_stops_the_start() {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([42u8; 32]);
    let other = base64::engine::general_purpose::STANDARD.encode([43u8; 32]);

    // Without a key first: the secret is stored in plain...
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (secret, _) = enable_totp(&app, &alice).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM totp_factors WHERE secret = 'plain:{secret}'")).await, 1);
    let (dir, url) = app.stop().await;

    // ...and sealed at the first start with a key, bound to its user.
    let with_key =
        |k: String| move |s: &mut tessera::config::Settings| s.mfa.data_encryption_key = Some(tessera::config::Secret::new(k.clone()));
    let app = spawn_app_on(dir, url, with_key(key.clone())).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM totp_factors WHERE secret LIKE 'v1:%'").await, 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM totp_factors WHERE secret LIKE '%{secret}%'")).await, 0);
    steady_step(3).await;
    let out = verify_code(&app, &challenge(&app, "alice").await, &code_at(&secret, 0)).await;
    assert!(out["data"]["verifyMfa"]["tokens"].is_object(), "the sealed secret still gives the same codes: {out}");
    // A new enrollment is sealed from the start.
    let bob = app.user("bob").await;
    let started = app.gql(START_TOTP, json!({}), Some(&bob.access)).await;
    let bob_secret = started["data"]["startTotpEnrollment"]["enrollment"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM totp_factors WHERE user_id = '{}' AND secret LIKE 'v1:%'", bob.id)).await, 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM totp_factors WHERE secret LIKE '%{bob_secret}%'")).await, 0);
    let (dir, url) = app.stop().await;

    // Another key, or none, is a clear error at start.
    let config = |change: &dyn Fn(&mut tessera::config::Settings)| {
        let mut settings = test_settings(dir.path(), url.clone());
        change(&mut settings);
        tessera::config::Config::resolve(settings).unwrap()
    };
    let wrong = tessera::startup::Application::build(config(&with_key(other.clone()))).await.err().expect("a wrong key is refused");
    assert!(wrong.to_string().contains("DATA_ENCRYPTION_KEY is not the key"), "{wrong:#}");
    let missing = tessera::startup::Application::build(config(&|_| {})).await.err().expect("no key is refused");
    assert!(missing.to_string().contains("DATA_ENCRYPTION_KEY is not set"), "{missing:#}");
    let mut malformed = test_settings(dir.path(), url.clone());
    malformed.mfa.data_encryption_key = Some(tessera::config::Secret::new("c2hvcnQ=".into()));
    let refused = tessera::config::Config::resolve(malformed).expect_err("a 5-byte key is refused");
    assert!(refused.to_string().contains("32 random bytes"), "{refused}");

    // The right key works again.
    let app = spawn_app_on(dir, url, with_key(key)).await;
    steady_step(3).await;
    forget_used_steps(&app, &alice.id).await;
    let out = verify_code(&app, &challenge(&app, "alice").await, &code_at(&secret, 0)).await;
    assert!(out["data"]["verifyMfa"]["tokens"].is_object(), "{out}");
}

#[tokio::test]
async fn user_mfa_is_visible_to_the_user_staff_and_admins_only() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    enable_totp(&app, &alice).await;
    let bob = app.user("bob").await;
    let staff = app.user("staff").await;
    app.set_role(&staff.id, "STAFF").await;
    let query = "query($id: ID!) { user(id: $id) { email mfa { totpEnabled recoveryCodesLeft } } }";
    let seen_by_bob = app.gql(query, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert_eq!(seen_by_bob["data"]["user"], json!({ "email": null, "mfa": null }), "{seen_by_bob}");
    let seen_by_staff = app.gql(query, json!({ "id": alice.id }), Some(&staff.access)).await;
    assert_eq!(seen_by_staff["data"]["user"]["mfa"], json!({ "totpEnabled": true, "recoveryCodesLeft": 10 }));
    let own = app.gql("{ me { mfa { totpEnabled } } }", json!({}), Some(&alice.access)).await;
    assert_eq!(own["data"]["me"]["mfa"]["totpEnabled"], true);
}

#[tokio::test]
async fn the_user_list_reads_every_users_factors_in_constant_statements() {
    let app = spawn_app().await;
    let admin = app.user("root").await;
    app.set_role(&admin.id, "ADMIN").await;
    let query = "{ users(first: 100) { edges { node { id mfa { totpEnabled recoveryCodesLeft passkeys { name } } } } } }";
    let mut counts = Vec::new();
    for batch in 0..2 {
        for n in 0..(if batch == 0 { 2 } else { 8 }) {
            let user = app.user(&format!("u{batch}x{n}")).await;
            if n % 2 == 0 {
                enable_totp(&app, &user).await;
            }
        }
        let before = app.state.statement_count();
        let out = app.gql(query, json!({}), Some(&admin.access)).await;
        assert_eq!(out["errors"], Value::Null, "{out}");
        let enabled = out["data"]["users"]["edges"].as_array().unwrap().iter().filter(|e| e["node"]["mfa"]["totpEnabled"] == true).count();
        assert_eq!(enabled, if batch == 0 { 1 } else { 5 });
        counts.push(app.state.statement_count() - before);
    }
    assert_eq!(counts[0], counts[1], "statements for 3 and 11 users: {counts:?}");
}

#[tokio::test]
async fn the_new_credential_fields_are_one_per_request_and_counted_per_ip() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let two = "mutation { verifyMfa(input: { challengeToken: \"x\", code: \"123456\" }) { tokens { accessToken } } disableTotp(input: { password: \"x\" }) { user { id } } }";
    let out = app.gql(two, json!({}), Some(&alice.access)).await;
    assert_eq!(error_code(&out), Some("BAD_USER_INPUT"), "{out}");
    let bucket = "SELECT COALESCE(SUM(count), 0) FROM rate_limits WHERE bucket LIKE 'credentials-ip:%'";
    for (field, query) in [
        ("verifyMfa", "mutation { verifyMfa(input: { challengeToken: \"x\", code: \"123456\" }) { tokens { accessToken } } }"),
        (
            "finishPasskeySignin",
            "mutation { finishPasskeySignin(input: { ceremonyId: \"x\", credential: {} }) { tokens { accessToken } } }",
        ),
        ("disableTotp", "mutation { disableTotp(input: { password: \"x\" }) { user { id } } }"),
        ("regenerateRecoveryCodes", "mutation { regenerateRecoveryCodes(input: { password: \"x\" }) { recoveryCodes } }"),
    ] {
        let before = app.count(bucket).await;
        let out = app.gql(query, json!({}), Some(&alice.access)).await;
        assert_eq!(out["errors"], Value::Null, "{field}: {out}");
        assert_eq!(app.count(bucket).await, before + 1, "{field} counts against the IP's budget");
    }
}

/// The real binary with every log on (RUST_LOG=trace), its stderr in a file.
struct LoggedServer {
    child: std::process::Child,
    address: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LoggedServer {
    async fn start() -> LoggedServer {
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database_url(dir.path()).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.path().join("server.log");
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", dir.path())
            .env("DATABASE_URL", database_url)
            .env("JWT_SECRET", "log-check-secret-log-check-secret-0123456789")
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1")
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the tessera binary starts");
        let server = LoggedServer { child, address: format!("http://127.0.0.1:{port}/graphql"), log, _dir: dir };
        for _ in 0..300 {
            if reqwest::get(server.address.replace("/graphql", "/readyz")).await.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request = reqwest::Client::new().post(&self.address).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    async fn signin(&self) -> Value {
        self.gql(SIGNIN, json!({ "input": { "login": "alice", "password": PASSWORD } }), None).await["data"]["signin"].clone()
    }

    async fn challenge(&self) -> String {
        self.signin().await["mfaChallenge"]["challengeToken"].as_str().unwrap().to_owned()
    }

    async fn verify(&self, mut input: Value) -> Value {
        input["challengeToken"] = json!(self.challenge().await);
        self.gql(VERIFY, json!({ "input": input }), None).await
    }

    /// Everything logged so far (stdout and stderr).
    fn logged(&self) -> String {
        let stdout = std::fs::read_to_string(self.log.with_file_name("stdout.log")).unwrap_or_default();
        std::fs::read_to_string(&self.log).unwrap() + &stdout
    }
}

#[tokio::test]
async fn codes_secrets_and_recovery_codes_never_reach_the_log() {
    let server = LoggedServer::start().await;
    let signup = "mutation($input: SignupInput!) { signup(input: $input) { userErrors { code } } }";
    server.gql(signup, json!({ "input": { "email": "alice@example.com", "username": "alice", "password": PASSWORD } }), None).await;
    let access = server.signin().await["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let started = server.gql(START_TOTP, json!({}), Some(&access)).await;
    let secret = started["data"]["startTotpEnrollment"]["enrollment"]["secret"].as_str().unwrap().to_owned();
    steady_step(4).await;
    let code = code_at(&secret, 0);
    let next = code_at(&secret, 30);
    let wrong = wrong_code(&secret);
    let confirmed = server.gql(CONFIRM_TOTP, json!({ "code": code }), Some(&access)).await;
    let codes = codes_of(&confirmed["data"]["confirmTotp"]);
    server.verify(json!({ "code": wrong })).await;
    let signed = server.verify(json!({ "code": next })).await;
    assert!(signed["data"]["verifyMfa"]["tokens"].is_object(), "{signed}");
    server.verify(json!({ "recoveryCode": codes[0] })).await;
    server.verify(json!({ "recoveryCode": codes[0] })).await;
    let regenerated = server.gql(REGENERATE, json!({ "password": PASSWORD }), Some(&access)).await;
    let fresh = codes_of(&regenerated["data"]["regenerateRecoveryCodes"]);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let log = server.logged();
    assert!(log.contains("Tessera is listening") && log.contains("/graphql"), "the server logs at TRACE: {} bytes", log.len());
    // A six-digit code counts as logged when it stands alone (not inside a longer number).
    let stands_alone = |needle: &str| {
        log.match_indices(needle).any(|(at, _)| {
            let before = log[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
            let after = log[at + needle.len()..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
            !before && !after
        })
    };
    for needle in [secret.as_str(), code.as_str(), next.as_str(), wrong.as_str()] {
        assert!(!stands_alone(needle), "`{needle}` reached the log");
    }
    for needle in codes.iter().chain(fresh.iter()) {
        assert!(!log.contains(needle.as_str()) && !log.contains(&needle.replace('-', "")), "`{needle}` reached the log");
    }
}
