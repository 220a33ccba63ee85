//! What the second-factor tests share: TOTP codes computed with totp-rs (as
//! an authenticator app would), the GraphQL calls of enrollment and the
//! second step, and a software passkey that can also be discoverable.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{json, Value};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use webauthn_authenticator_rs::error::WebauthnCError;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::AuthenticatorBackendHashedClientData;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, PublicKeyCredential, PublicKeyCredentialCreationOptions,
    PublicKeyCredentialRequestOptions, RegisterPublicKeyCredential, RequestChallengeResponse,
};

use crate::helpers::*;

pub const START_TOTP: &str =
    "mutation { startTotpEnrollment { enrollment { secret otpauthUri qrCodeSvg } userErrors { field message code } } }";
pub const CONFIRM_TOTP: &str = "mutation($code: String!) { confirmTotp(input: { code: $code }) { recoveryCodes user { id mfa { totpEnabled recoveryCodesLeft } } userErrors { field message code } } }";
pub const SIGNIN: &str = "mutation($input: SigninInput!) { signin(input: $input) { tokens { accessToken refreshToken } user { id } mfaChallenge { challengeToken factors expiresAt } userErrors { field message code } } }";
pub const VERIFY: &str = "mutation($input: VerifyMfaInput!) { verifyMfa(input: $input) { tokens { accessToken refreshToken } user { id email } mfaChallenge { challengeToken } userErrors { field message code } } }";
pub const DISABLE_TOTP: &str = "mutation($password: String!) { disableTotp(input: { password: $password }) { user { id mfa { totpEnabled recoveryCodesLeft } } userErrors { field message code } } }";
pub const REGENERATE: &str = "mutation($password: String!) { regenerateRecoveryCodes(input: { password: $password }) { recoveryCodes userErrors { field message code } } }";
pub const MFA_STATUS: &str =
    "{ me { mfa { totpEnabled recoveryCodesLeft passkeys { id name createdAt lastUsedAt } } } sessions { id current assuranceLevel } }";

/// The user's authenticator app: SHA-1, 6 digits, 30 s.
pub fn authenticator(secret_base32: &str) -> Totp {
    let secret = Secret::try_from_base32(secret_base32).expect("a base32 secret");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret.as_ref().to_vec())
        .build()
        .expect("a valid TOTP")
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// The code the app shows `offset` seconds from now.
pub fn code_at(secret_base32: &str, offset: i64) -> String {
    authenticator(secret_base32).generate((unix_now() as i64 + offset) as u64).to_string()
}

/// A well-formed code that is none of the three the server accepts now.
pub fn wrong_code(secret_base32: &str) -> String {
    let valid = [code_at(secret_base32, -30), code_at(secret_base32, 0), code_at(secret_base32, 30)];
    ["000000", "111111", "222222", "333333"].into_iter().find(|c| !valid.iter().any(|v| v == c)).unwrap().to_owned()
}

/// Waits until the current 30 s step has at least `margin` seconds left, so
/// that the server checks a code in the step the test computed it for.
pub async fn steady_step(margin: u64) {
    let into = unix_now() % 30;
    if into + margin >= 30 {
        tokio::time::sleep(Duration::from_millis((30 - into) * 1000 + 300)).await;
    }
}

/// Lets codes of the current step be used again, for tests that sign in
/// more than once within 30 seconds (the replay rule has its own test).
pub async fn forget_used_steps(app: &TestApp, user_id: &str) {
    app.sql(&format!("UPDATE totp_factors SET last_step = NULL WHERE user_id = '{user_id}'")).await;
}

/// Turns TOTP on for a signed-in user; returns the secret and the recovery codes.
pub async fn enable_totp(app: &TestApp, user: &SignedIn) -> (String, Vec<String>) {
    let started = app.gql(START_TOTP, json!({}), Some(&user.access)).await;
    let secret = started["data"]["startTotpEnrollment"]["enrollment"]["secret"].as_str().unwrap_or_else(|| panic!("{started}")).to_owned();
    steady_step(3).await;
    let confirmed = app.gql(CONFIRM_TOTP, json!({ "code": code_at(&secret, 0) }), Some(&user.access)).await;
    assert_eq!(confirmed["data"]["confirmTotp"]["userErrors"], json!([]), "{confirmed}");
    let codes =
        confirmed["data"]["confirmTotp"]["recoveryCodes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    forget_used_steps(app, &user.id).await;
    (secret, codes)
}

/// Signs in with the password; returns the whole signin payload.
pub async fn password_signin(app: &TestApp, login: &str) -> Value {
    let out = app.gql(SIGNIN, json!({ "input": { "login": login, "password": PASSWORD } }), None).await;
    out["data"]["signin"].clone()
}

/// Signs in with the password and expects a challenge; returns its token.
pub async fn challenge(app: &TestApp, login: &str) -> String {
    let signin = password_signin(app, login).await;
    assert_eq!(signin["tokens"], Value::Null, "{signin}");
    signin["mfaChallenge"]["challengeToken"].as_str().unwrap_or_else(|| panic!("no challenge: {signin}")).to_owned()
}

/// verifyMfa with a code; returns the whole response.
pub async fn verify_code(app: &TestApp, challenge: &str, code: &str) -> Value {
    app.gql(VERIFY, json!({ "input": { "challengeToken": challenge, "code": code } }), None).await
}

/// verifyMfa with a recovery code; returns the whole response.
pub async fn verify_recovery(app: &TestApp, challenge: &str, code: &str) -> Value {
    app.gql(VERIFY, json!({ "input": { "challengeToken": challenge, "recoveryCode": code } }), None).await
}

/// Settings for passkey tests: the relying party `localhost`, pages on http://localhost:8080.
pub const ORIGIN: &str = "http://localhost:8080";

pub fn passkey_settings(settings: &mut tessera::config::Settings) {
    settings.mfa.webauthn_rp_id = Some("localhost".into());
    settings.mfa.webauthn_origins = tessera::config::Origins(vec![ORIGIN.into()]);
}

pub fn origin() -> url::Url {
    url::Url::parse(ORIGIN).unwrap()
}

pub const START_REGISTRATION: &str = "mutation { startPasskeyRegistration { ceremonyId options userErrors { field message code } } }";
pub const FINISH_REGISTRATION: &str = "mutation($input: FinishPasskeyRegistrationInput!) { finishPasskeyRegistration(input: $input) { passkey { id name createdAt lastUsedAt } userErrors { field message code } } }";
pub const START_SIGNIN: &str =
    "mutation($login: String) { startPasskeySignin(login: $login) { ceremonyId options userErrors { field message code } } }";
pub const FINISH_SIGNIN: &str = "mutation($input: FinishPasskeySigninInput!) { finishPasskeySignin(input: $input) { tokens { accessToken refreshToken } user { id email } mfaChallenge { challengeToken } userErrors { field message code } } }";

/// A software passkey: webauthn-authenticator-rs's SoftPasskey (which claims
/// user verification) plus what a real passkey provider does and it does
/// not: keep the user handle and answer a get() without allowCredentials.
pub struct TestPasskey {
    inner: SoftPasskey,
    pub user_handles: HashMap<Vec<u8>, Vec<u8>>,
}

impl TestPasskey {
    pub fn new() -> Self {
        TestPasskey { inner: SoftPasskey::new(true), user_handles: HashMap::new() }
    }
}

impl AuthenticatorBackendHashedClientData for TestPasskey {
    fn perform_register(
        &mut self,
        client_data_hash: Vec<u8>,
        options: PublicKeyCredentialCreationOptions,
        timeout_ms: u32,
    ) -> Result<RegisterPublicKeyCredential, WebauthnCError> {
        let user_handle = options.user.id.clone();
        let credential = self.inner.perform_register(client_data_hash, options, timeout_ms)?;
        self.user_handles.insert(credential.raw_id.clone(), user_handle);
        Ok(credential)
    }

    fn perform_auth(
        &mut self,
        client_data_hash: Vec<u8>,
        mut options: PublicKeyCredentialRequestOptions,
        timeout_ms: u32,
    ) -> Result<PublicKeyCredential, WebauthnCError> {
        if options.allow_credentials.is_empty() {
            // Discoverable: the user picks the one credential this authenticator holds.
            let id = self.user_handles.keys().next().ok_or(WebauthnCError::Internal)?.clone();
            options.allow_credentials = vec![AllowCredentials { type_: "public-key".into(), id, transports: None }];
        }
        let mut credential = self.inner.perform_auth(client_data_hash, options, timeout_ms)?;
        credential.response.user_handle = self.user_handles.get(&credential.raw_id).cloned();
        Ok(credential)
    }
}

/// The creation options a startPasskeyRegistration answered, as a client library takes them.
pub fn creation(options: &Value) -> CreationChallengeResponse {
    CreationChallengeResponse { public_key: serde_json::from_value(options.clone()).expect("bare PublicKeyCredentialCreationOptions") }
}

/// The request options a startPasskeySignin answered.
pub fn request(options: &Value) -> RequestChallengeResponse {
    RequestChallengeResponse {
        public_key: serde_json::from_value(options.clone()).expect("bare PublicKeyCredentialRequestOptions"),
        mediation: None,
    }
}

pub async fn start_registration(app: &TestApp, token: &str) -> (String, Value) {
    let out = app.gql(START_REGISTRATION, json!({}), Some(token)).await;
    let payload = &out["data"]["startPasskeyRegistration"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    (payload["ceremonyId"].as_str().unwrap().to_owned(), payload["options"].clone())
}

pub async fn finish_registration(app: &TestApp, token: &str, ceremony: &str, name: &str, credential: Value) -> Value {
    let out = app
        .gql(FINISH_REGISTRATION, json!({ "input": { "ceremonyId": ceremony, "name": name, "credential": credential } }), Some(token))
        .await;
    out["data"]["finishPasskeyRegistration"].clone()
}

/// Registers a passkey on `key` for the signed-in user; returns its Passkey.id.
pub async fn register_passkey(app: &TestApp, token: &str, key: &mut TestPasskey, name: &str) -> String {
    use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;
    let (ceremony, options) = start_registration(app, token).await;
    let credential = key.do_registration(origin(), creation(&options)).expect("the authenticator registers");
    let finished = finish_registration(app, token, &ceremony, name, serde_json::to_value(&credential).unwrap()).await;
    assert_eq!(finished["userErrors"], json!([]), "{finished}");
    finished["passkey"]["id"].as_str().unwrap().to_owned()
}

pub async fn start_signin(app: &TestApp, login: Option<&str>) -> (String, Value) {
    let out = app.gql(START_SIGNIN, json!({ "login": login }), None).await;
    let payload = &out["data"]["startPasskeySignin"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    (payload["ceremonyId"].as_str().unwrap().to_owned(), payload["options"].clone())
}

pub async fn finish_signin(app: &TestApp, ceremony: &str, credential: Value) -> Value {
    let out = app.gql(FINISH_SIGNIN, json!({ "input": { "ceremonyId": ceremony, "credential": credential } }), None).await;
    out["data"]["finishPasskeySignin"].clone()
}

/// A whole passkey signin with `key`, with or without a login; returns finishPasskeySignin's payload.
pub async fn passkey_signin(app: &TestApp, key: &mut TestPasskey, login: Option<&str>) -> Value {
    use webauthn_authenticator_rs::prelude::WebauthnAuthenticator;
    let (ceremony, options) = start_signin(app, login).await;
    let assertion = key.do_authentication(origin(), request(&options)).expect("the authenticator signs");
    finish_signin(app, &ceremony, serde_json::to_value(&assertion).unwrap()).await
}
