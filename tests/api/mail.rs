//! Mail end to end: what signup, confirmation, password reset and password
//! change send, read from a real SMTP server on loopback, and the outbox's
//! promises (outage, restart, several instances, no SMTP at all).
use std::time::Duration;

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};
use tessera::entities::{email_token, mail_outbox};

use crate::helpers::*;
use crate::mail_helpers::*;

/// APP_URL in test_settings.
const APP_URL: &str = "http://app.test";
const NEW_PASSWORD: &str = "a quite different secret";

const CONFIRM: &str =
    "mutation($token: String!) { confirmEmail(token: $token) { user { id email emailConfirmed } userErrors { field message code } } }";
const RESEND: &str = "mutation($email: String!) { resendConfirmationEmail(email: $email) { success } }";
const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) { success } }";
const RESET_VALID: &str = "query($token: String!) { passwordResetTokenValid(token: $token) }";
const RESET: &str = "mutation($input: ResetPasswordInput!) { resetPassword(input: $input) { success userErrors { field message code } } }";
const CHANGE: &str =
    "mutation($input: ChangePasswordInput!) { changePassword(input: $input) { success userErrors { field message code } } }";
const REFRESH: &str = "mutation($t: String!) { refreshTokens(refreshToken: $t) { tokens { accessToken } userErrors { code } } }";

async fn app_with_smtp() -> (TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(tessera::config::Secret::new(url))).await;
    (app, smtp)
}

impl TestApp {
    /// Signs `name` up as name@example.com, checking that it worked.
    async fn joined(&self, name: &str) {
        let out = self.signup(&format!("{name}@example.com"), name).await;
        assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    }
    async fn confirm(&self, token: &str) -> Value {
        self.gql(CONFIRM, json!({ "token": token }), None).await["data"]["confirmEmail"].clone()
    }
    async fn resend(&self, email: &str) -> Value {
        self.gql(RESEND, json!({ "email": email }), None).await
    }
    async fn request_reset(&self, email: &str) -> Value {
        self.gql(REQUEST_RESET, json!({ "email": email }), None).await
    }
    async fn reset_valid(&self, token: &str) -> Value {
        self.gql(RESET_VALID, json!({ "token": token }), None).await["data"]["passwordResetTokenValid"].clone()
    }
    async fn reset(&self, token: &str, password: &str) -> Value {
        self.gql(RESET, json!({ "input": { "token": token, "newPassword": password } }), None).await["data"]["resetPassword"].clone()
    }
    async fn change(&self, access: &str, current: &str, new: &str) -> Value {
        self.gql(CHANGE, json!({ "input": { "currentPassword": current, "newPassword": new } }), Some(access)).await
    }
    async fn outbox(&self) -> Vec<mail_outbox::Model> {
        mail_outbox::Entity::find().all(&self.state.db).await.unwrap()
    }
}

fn codes(payload: &Value) -> Vec<(String, String)> {
    let mut codes = user_error_codes(payload);
    codes.sort();
    codes
}

fn one(field: &str, code: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), code.to_owned())]
}

#[tokio::test]
async fn signup_mails_a_confirmation_link_to_the_app_in_text_and_html() {
    let (app, smtp) = app_with_smtp().await;
    // Links come from APP_URL, never from what the request says its host is.
    let out: Value = app
        .client
        .post(app.url("/graphql"))
        .header("Host", "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .json(&json!({
            "query": "mutation($input: SignupInput!) { signup(input: $input) { user { id } userErrors { code } } }",
            "variables": { "input": { "email": "Ada@Example.com", "username": "ada", "fullName": "Ada <Lovelace>", "password": PASSWORD } },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    let user_id = out["data"]["signup"]["user"]["id"].as_str().unwrap().to_owned();

    let mail = smtp.nth("Ada@Example.com", 1).await;
    assert_eq!(mail.subject, "Confirm your email address for Tessera");
    assert_eq!(mail.to, "Ada@Example.com");
    assert!(mail.from.contains("no-reply@tessera.test"), "{}", mail.from);
    assert!(!mail.text.contains("evil.example") && !mail.html.contains("evil.example"));
    assert!(mail.text.contains("Hello Ada <Lovelace>,"), "{}", mail.text);
    assert!(mail.html.contains("Hello Ada &lt;Lovelace&gt;,"), "{}", mail.html);
    assert!(mail.text.contains("48 hours"));
    let token = mail.token(APP_URL, "confirm-email");
    assert!(token.len() >= 22, "at least 128 bits: {token}");

    // Only the token's hash is stored, bound to the address it went to.
    let stored = email_token::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token_hash, tessera::security::secrets::token_hash(&token));
    assert_ne!(stored[0].token_hash, token);
    assert_eq!(
        (stored[0].purpose.as_str(), stored[0].email.as_str(), stored[0].user_id.as_str()),
        ("confirm_email", "Ada@Example.com", user_id.as_str())
    );
    let expires_in = stored[0].expires_at - stored[0].created_at;
    assert_eq!(expires_in.num_hours(), 48);

    // What was sent is recorded.
    eventually("the outbox records the mail as sent", || async {
        let rows = app.outbox().await;
        rows.len() == 1 && rows[0].status == "sent" && rows[0].sent_at.is_some() && rows[0].attempts == 1
    })
    .await;
    assert_eq!(app.outbox().await[0].user_id.as_deref(), Some(user_id.as_str()));
    assert!(mail.message_id.contains(&app.outbox().await[0].id));
}

#[tokio::test]
async fn confirm_email_confirms_once_and_then_says_it_is_done() {
    let (app, smtp) = app_with_smtp().await;
    let alice = app.user("alice").await;
    let token = smtp.nth("alice@example.com", 1).await.token(APP_URL, "confirm-email");

    let confirmed = app.confirm(&token).await;
    assert_eq!(confirmed["userErrors"], json!([]), "{confirmed}");
    assert_eq!(confirmed["user"]["emailConfirmed"], true);
    assert_eq!(confirmed["user"]["email"], "alice@example.com");
    let me = app.gql("{ me { emailConfirmed } }", json!({}), Some(&alice.access)).await;
    assert_eq!(me["data"]["me"]["emailConfirmed"], true);

    let again = app.confirm(&token).await;
    assert!(again["user"].is_null());
    assert_eq!(codes(&again), one("token", "ALREADY_DONE"));
    for bad in ["", "nonsense", &"x".repeat(5000), &format!("{token}x")] {
        assert_eq!(codes(&app.confirm(bad).await), one("token", "INVALID_TOKEN"), "{bad}");
    }
}

#[tokio::test]
async fn asking_again_ends_the_earlier_confirmation_link_and_confirmed_accounts_get_none() {
    let (app, smtp) = app_with_smtp().await;
    app.joined("bob").await;
    let first = smtp.nth("bob@example.com", 1).await.token(APP_URL, "confirm-email");

    let out = app.resend("BOB@example.com").await;
    assert_eq!(out, json!({ "data": { "resendConfirmationEmail": { "success": true } } }));
    let second = smtp.nth("bob@example.com", 2).await.token(APP_URL, "confirm-email");
    assert_ne!(first, second);

    assert_eq!(codes(&app.confirm(&first).await), one("token", "INVALID_TOKEN"));
    assert_eq!(app.confirm(&second).await["user"]["emailConfirmed"], true);

    // Confirmed: the same answer, and no mail. A reset request afterwards
    // shows that nothing was queued before it.
    assert_eq!(app.resend("bob@example.com").await, out);
    app.request_reset("bob@example.com").await;
    let third = smtp.nth("bob@example.com", 3).await;
    assert_eq!(third.subject, "Reset your Tessera password");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mail_to("bob@example.com").len(), 3);
    assert_eq!(app.outbox().await.len(), 3);
}

#[tokio::test]
async fn tokens_are_bound_to_their_purpose() {
    let (app, smtp) = app_with_smtp().await;
    app.joined("cyd").await;
    let confirm = smtp.nth("cyd@example.com", 1).await.token(APP_URL, "confirm-email");
    app.request_reset("cyd@example.com").await;
    let reset_mail = smtp.nth("cyd@example.com", 2).await;
    let reset = reset_mail.token(APP_URL, "reset-password");
    assert!(reset_mail.text.contains("1 hour"));

    // A confirmation token is no reset token...
    assert_eq!(app.reset_valid(&confirm).await, false);
    assert_eq!(codes(&app.reset(&confirm, NEW_PASSWORD).await), one("input.token", "INVALID_TOKEN"));
    // ...and a reset token confirms nothing.
    assert_eq!(codes(&app.confirm(&reset).await), one("token", "INVALID_TOKEN"));
    // Refusing them spent neither.
    assert_eq!(app.reset_valid(&reset).await, true);
    assert_eq!(app.confirm(&confirm).await["user"]["emailConfirmed"], true);
    assert_eq!(app.reset_valid(&reset).await, true);
    assert_eq!(app.reset(&reset, NEW_PASSWORD).await["success"], true);
}

#[tokio::test]
async fn reset_sets_the_password_ends_every_session_and_mails_a_notice() {
    let (app, smtp) = app_with_smtp().await;
    let dee = app.user("dee").await;
    let laptop = app.signin_as("dee@example.com").await;

    let answer = app.request_reset("Dee@Example.com").await;
    assert_eq!(answer, json!({ "data": { "requestPasswordReset": { "success": true } } }));
    let mail = smtp.nth("dee@example.com", 2).await;
    assert_eq!(mail.subject, "Reset your Tessera password");
    let token = mail.token(APP_URL, "reset-password");
    assert_eq!(app.reset_valid(&token).await, true);
    assert_eq!(app.reset_valid("not-a-token").await, false);

    // The same rules as signup; a refused password leaves the token live.
    assert_eq!(codes(&app.reset(&token, "password1").await), one("input.newPassword", "TOO_WEAK"));
    assert_eq!(codes(&app.reset(&token, "dee@example.com!").await), one("input.newPassword", "TOO_WEAK"));
    assert_eq!(codes(&app.reset(&token, "short").await), one("input.newPassword", "TOO_SHORT"));
    assert_eq!(
        codes(&app.reset("bad-token", "short").await),
        vec![("input.newPassword".into(), "TOO_SHORT".into()), ("input.token".into(), "INVALID_TOKEN".into())]
    );
    assert_eq!(app.reset_valid(&token).await, true);

    let done = app.reset(&token, NEW_PASSWORD).await;
    assert_eq!(done, json!({ "success": true, "userErrors": [] }));
    // The token is spent.
    assert_eq!(app.reset_valid(&token).await, false);
    let again = app.reset(&token, "yet another secret!").await;
    assert_eq!(again["success"], false);
    assert_eq!(codes(&again), one("input.token", "INVALID_TOKEN"));
    // Every session ended.
    for session in [&dee, &laptop] {
        assert_eq!(error_code(&app.me(&session.access).await), Some("UNAUTHENTICATED"));
        let refreshed = app.gql(REFRESH, json!({ "t": session.refresh }), None).await;
        assert_eq!(refreshed["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN");
    }
    assert_eq!(app.signin("dee", PASSWORD).await["data"]["signin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    assert!(app.signin("dee", NEW_PASSWORD).await["data"]["signin"]["tokens"].is_object());

    let notice = smtp.nth("dee@example.com", 3).await;
    assert_eq!(notice.subject, "Your Tessera password was changed");
    assert!(notice.text.contains("reset with a link") && notice.text.contains(APP_URL), "{}", notice.text);
    assert!(notice.html.contains("Every device was signed out."));
}

#[tokio::test]
async fn asking_for_a_new_reset_link_ends_the_earlier_one_and_links_expire() {
    let (app, smtp) = app_with_smtp().await;
    app.joined("eve").await;
    app.request_reset("eve@example.com").await;
    let first = smtp.nth("eve@example.com", 2).await.token(APP_URL, "reset-password");
    app.request_reset("eve@example.com").await;
    let second = smtp.nth("eve@example.com", 3).await.token(APP_URL, "reset-password");
    assert_eq!(app.reset_valid(&first).await, false);
    assert_eq!(codes(&app.reset(&first, NEW_PASSWORD).await), one("input.token", "INVALID_TOKEN"));
    assert_eq!(app.reset_valid(&second).await, true);

    app.sql("UPDATE email_tokens SET expires_at = '2001-01-01T00:00:00+00:00'").await;
    assert_eq!(app.reset_valid(&second).await, false);
    assert_eq!(codes(&app.reset(&second, NEW_PASSWORD).await), one("input.token", "INVALID_TOKEN"));
    // The confirmation link from signup expired too.
    app.resend("eve@example.com").await;
    let confirm_old = smtp.nth("eve@example.com", 4).await.token(APP_URL, "confirm-email");
    app.sql("UPDATE email_tokens SET expires_at = '2001-01-01T00:00:00+00:00' WHERE purpose = 'confirm_email'").await;
    assert_eq!(codes(&app.confirm(&confirm_old).await), one("token", "INVALID_TOKEN"));
    assert!(app.signin("eve", PASSWORD).await["data"]["signin"]["tokens"].is_object());
}

#[tokio::test]
async fn links_to_an_address_the_account_no_longer_has_do_nothing() {
    let (app, smtp) = app_with_smtp().await;
    app.joined("fay").await;
    let confirm = smtp.nth("fay@example.com", 1).await.token(APP_URL, "confirm-email");
    app.request_reset("fay@example.com").await;
    let reset = smtp.nth("fay@example.com", 2).await.token(APP_URL, "reset-password");

    app.sql("UPDATE users SET email = 'fay@new.example', email_lower = 'fay@new.example' WHERE username = 'fay'").await;
    assert_eq!(codes(&app.confirm(&confirm).await), one("token", "INVALID_TOKEN"));
    assert_eq!(app.reset_valid(&reset).await, false);

    // The new address gets its own link, which works.
    app.resend("fay@new.example").await;
    let fresh = smtp.nth("fay@new.example", 1).await.token(APP_URL, "confirm-email");
    let out = app.confirm(&fresh).await;
    assert_eq!((out["user"]["email"].clone(), out["user"]["emailConfirmed"].clone()), (json!("fay@new.example"), json!(true)));
}

#[tokio::test]
async fn reset_requests_tell_nothing_and_mail_only_active_accounts() {
    let (app, smtp) = app_with_smtp().await;
    for name in ["kim", "dee", "sue"] {
        app.joined(name).await;
        smtp.nth(&format!("{name}@example.com"), 1).await;
    }
    app.sql("UPDATE users SET status = 'DEACTIVATED' WHERE username = 'dee'").await;
    app.sql("UPDATE users SET status = 'SUSPENDED' WHERE username = 'sue'").await;

    let expected = json!({ "data": { "requestPasswordReset": { "success": true } } });
    for email in ["nobody@example.com", "dee@example.com", "sue@example.com", "not an email", "", "kim@example.com"] {
        assert_eq!(app.request_reset(email).await, expected, "{email}");
    }
    // Kim's reset mail comes last; by then the others would have been queued.
    let kim = smtp.nth("kim@example.com", 2).await;
    assert_eq!(kim.subject, "Reset your Tessera password");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in ["dee", "sue"] {
        assert_eq!(smtp.mail_to(&format!("{name}@example.com")).len(), 1, "only {name}'s signup mail");
    }
    assert!(smtp.mail_to("nobody@example.com").is_empty());
    assert_eq!(smtp.received().len(), 4);
    assert_eq!(app.outbox().await.len(), 4);
    let reset_tokens =
        email_token::Entity::find().filter(email_token::Column::Purpose.eq("reset_password")).count(&app.state.db).await.unwrap();
    assert_eq!(reset_tokens, 1);
}

#[tokio::test]
async fn resend_tells_nothing_and_mails_only_unconfirmed_active_accounts() {
    let (app, smtp) = app_with_smtp().await;
    for name in ["gil", "hal", "ida"] {
        app.joined(name).await;
    }
    let gil = smtp.nth("gil@example.com", 1).await.token(APP_URL, "confirm-email");
    app.confirm(&gil).await;
    smtp.nth("hal@example.com", 1).await;
    app.sql("UPDATE users SET status = 'SUSPENDED' WHERE username = 'hal'").await;
    smtp.nth("ida@example.com", 1).await;

    let expected = json!({ "data": { "resendConfirmationEmail": { "success": true } } });
    for email in ["nobody@example.com", "gil@example.com", "hal@example.com", "@", "ida@example.com"] {
        assert_eq!(app.resend(email).await, expected, "{email}");
    }
    assert_eq!(smtp.nth("ida@example.com", 2).await.subject, "Confirm your email address for Tessera");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mail_to("gil@example.com").len(), 1, "confirmed: no new mail");
    assert_eq!(smtp.mail_to("hal@example.com").len(), 1, "suspended: no new mail");
    assert_eq!(smtp.received().len(), 4);
}

#[tokio::test]
async fn change_password_needs_the_current_one_keeps_this_session_and_ends_the_others() {
    let (app, smtp) = app_with_smtp().await;
    let phone = app.user("alice").await;
    let laptop = app.signin_as("alice@example.com").await;
    // A reset link asked for earlier...
    app.request_reset("alice@example.com").await;
    let reset = smtp.nth("alice@example.com", 2).await.token(APP_URL, "reset-password");

    let wrong = app.change(&laptop.access, "not my password", NEW_PASSWORD).await;
    assert_eq!(wrong["data"]["changePassword"]["success"], false);
    assert_eq!(codes(&wrong["data"]["changePassword"]), one("input.currentPassword", "INVALID_CREDENTIALS"));
    let weak = app.change(&laptop.access, PASSWORD, "password1").await;
    assert_eq!(codes(&weak["data"]["changePassword"]), one("input.newPassword", "TOO_WEAK"));
    let personal = app.change(&laptop.access, PASSWORD, "Alice2024").await;
    assert_eq!(codes(&personal["data"]["changePassword"]), one("input.newPassword", "TOO_WEAK"));
    let both = app.change(&laptop.access, "nope nope nope", "").await;
    assert_eq!(
        codes(&both["data"]["changePassword"]),
        vec![("input.currentPassword".into(), "INVALID_CREDENTIALS".into()), ("input.newPassword".into(), "REQUIRED".into())]
    );
    let anonymous = app.gql(CHANGE, json!({ "input": { "currentPassword": PASSWORD, "newPassword": NEW_PASSWORD } }), None).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
    // Nothing changed so far.
    assert!(app.me(&phone.access).await["data"]["me"].is_object());

    let done = app.change(&laptop.access, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done["data"]["changePassword"], json!({ "success": true, "userErrors": [] }));
    assert_eq!(app.me(&laptop.access).await["data"]["me"]["id"], laptop.id);
    let kept = app.gql(REFRESH, json!({ "t": laptop.refresh }), None).await;
    assert!(kept["data"]["refreshTokens"]["tokens"].is_object(), "{kept}");
    assert_eq!(error_code(&app.me(&phone.access).await), Some("UNAUTHENTICATED"));
    let ended = app.gql(REFRESH, json!({ "t": phone.refresh }), None).await;
    assert_eq!(ended["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN");
    assert_eq!(app.signin("alice", PASSWORD).await["data"]["signin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    assert!(app.signin("alice", NEW_PASSWORD).await["data"]["signin"]["tokens"].is_object());
    // ...works no more.
    assert_eq!(app.reset_valid(&reset).await, false);

    let notice = smtp.nth("alice@example.com", 3).await;
    assert_eq!(notice.subject, "Your Tessera password was changed");
    assert!(notice.text.contains("Every other device was signed out."), "{}", notice.text);
}

#[tokio::test]
async fn mail_queued_during_an_smtp_outage_goes_out_when_smtp_is_back() {
    let mut smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(tessera::config::Secret::new(url))).await;
    smtp.stop();

    // Signup neither fails nor waits for SMTP.
    app.joined("ola").await;
    eventually("the worker has tried and failed at least twice", || async {
        let rows = app.outbox().await;
        rows.len() == 1 && rows[0].status == "queued" && rows[0].attempts >= 2 && rows[0].last_error.is_some()
    })
    .await;
    assert!(smtp.received().is_empty());

    smtp.resume().await;
    let mail = smtp.nth("ola@example.com", 1).await;
    let token = mail.token(APP_URL, "confirm-email");
    assert_eq!(app.confirm(&token).await["user"]["emailConfirmed"], true);
    eventually("the outbox records it sent", || async { app.outbox().await[0].status == "sent" }).await;
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn queued_mail_survives_a_restart() {
    let mut smtp = SmtpServer::reserve().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(tessera::config::Secret::new(url.clone()))).await;
    app.joined("pia").await;
    eventually("a failed try", || async { app.outbox().await.first().is_some_and(|r| r.attempts >= 1) }).await;

    let (dir, database_url) = app.stop().await;
    smtp.resume().await;
    let restarted = spawn_app_on(dir, database_url, |s| s.mail.smtp_url = Some(tessera::config::Secret::new(url))).await;
    let token = smtp.nth("pia@example.com", 1).await.token(APP_URL, "confirm-email");
    assert_eq!(restarted.confirm(&token).await["user"]["emailConfirmed"], true);
    assert_eq!(smtp.received().len(), 1);
}

#[tokio::test]
async fn instances_sharing_a_database_send_each_mail_once() {
    let mut smtp = SmtpServer::start().await;
    let url = smtp.url();
    let first = spawn_app_with(|s| s.mail.smtp_url = Some(tessera::config::Secret::new(url.clone()))).await;
    let second = spawn_app_on(tempfile::tempdir().unwrap(), first.database_url.clone(), |s| {
        s.mail.smtp_url = Some(tessera::config::Secret::new(url.clone()))
    })
    .await;
    // Mail piles up while SMTP is down, then both workers go for it at once.
    smtp.stop();
    for i in 0..12 {
        let app = if i % 2 == 0 { &first } else { &second };
        let out = app.signup(&format!("user{i}@example.com"), &format!("user{i}")).await;
        assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    }
    eventually("every mail has failed once", || async { first.outbox().await.iter().all(|r| r.attempts >= 1) }).await;
    smtp.resume().await;
    for i in 0..12 {
        smtp.nth(&format!("user{i}@example.com"), 1).await;
    }
    // Time for a duplicate to show up, were there one: past the longest retry wait and a poll.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(smtp.received().len(), 12);
    for i in 0..12 {
        assert_eq!(smtp.mail_to(&format!("user{i}@example.com")).len(), 1);
    }
    assert!(first.outbox().await.iter().all(|r| r.status == "sent"));
}

#[tokio::test]
async fn smtp_credentials_come_from_the_url() {
    let smtp = SmtpServer::start_with_credentials("tessera", "s3cret pass").await;
    let good = format!("smtp://tessera:s3cret%20pass@127.0.0.1:{}", smtp.port());
    let bad = format!("smtp://tessera:wrong@127.0.0.1:{}", smtp.port());
    let refused = spawn_app_with(|s| s.mail.smtp_url = Some(tessera::config::Secret::new(bad))).await;
    refused.joined("rae").await;
    eventually("the refusal is recorded and the mail kept", || async {
        let rows = refused.outbox().await;
        rows.len() == 1 && rows[0].status == "queued" && rows[0].last_error.as_deref().is_some_and(|e| e.contains("535"))
    })
    .await;

    let app = spawn_app_with(|s| s.mail.smtp_url = Some(tessera::config::Secret::new(good))).await;
    app.joined("sam").await;
    smtp.nth("sam@example.com", 1).await;
    assert!(smtp.mail_to("rae@example.com").is_empty());
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let app = spawn_app().await;
    app.joined("uma").await;
    let dir = app.data_dir.join("mail");
    let mut files = vec![];
    eventually("an .eml file appears in DATA_DIR/mail", || {
        files = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
            .unwrap_or_default();
        let found = files.len() == 1;
        async move { found }
    })
    .await;
    let mail = Email::parse(&std::fs::read(&files[0]).unwrap());
    assert_eq!(mail.to, "uma@example.com");
    let token = mail.token(APP_URL, "confirm-email");
    assert_eq!(app.confirm(&token).await["user"]["emailConfirmed"], true);
    eventually("recorded as sent", || async { app.outbox().await[0].status == "sent" }).await;
}

#[tokio::test]
async fn an_email_change_mails_a_confirmation_to_the_new_address() {
    let (app, smtp) = app_with_smtp().await;
    app.joined("gus").await;
    let gus = app.signin_as("gus").await;
    smtp.nth("gus@example.com", 1).await;
    let update =
        "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { user { email emailConfirmed } userErrors { code } } }";
    let out = app.gql(update, json!({ "input": { "email": "gus@new.example" } }), Some(&gus.access)).await;
    assert_eq!(out["data"]["updateAccount"]["user"]["emailConfirmed"], false, "{out}");
    let token = smtp.nth("gus@new.example", 1).await.token(APP_URL, "confirm-email");
    let confirmed = app.confirm(&token).await;
    assert_eq!(confirmed["user"]["emailConfirmed"], true, "{confirmed}");
    // Changing anything else sends nothing more.
    app.gql(update, json!({ "input": { "firstName": "Gus" } }), Some(&gus.access)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mail_to("gus@new.example").len(), 1);
    assert_eq!(smtp.mail_to("gus@example.com").len(), 1);
}

#[tokio::test]
async fn mail_to_one_address_is_limited_per_minute_and_per_hour_with_the_same_answer() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| {
        s.mail.smtp_url = Some(tessera::config::Secret::new(url));
        s.limits.mail_per_address_per_minute = 1;
        s.limits.mail_per_address_per_hour = 5;
    })
    .await;
    app.joined("ivy").await;
    smtp.nth("ivy@example.com", 1).await;
    // Within the minute: the same answer, no mail.
    for _ in 0..3 {
        assert_eq!(app.request_reset("ivy@example.com").await["data"]["requestPasswordReset"]["success"], true);
        assert_eq!(app.resend("IVY@example.com").await["data"]["resendConfirmationEmail"]["success"], true);
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(smtp.mail_to("ivy@example.com").len(), 1);
    assert_eq!(app.outbox().await.len(), 1);

    // The hourly budget holds once the minute has passed.
    app.sql("UPDATE rate_limits SET expires_at = '2001-01-01T00:00:00+00:00' WHERE bucket LIKE 'mail-minute:%'").await;
    for i in 0..6 {
        app.request_reset("ivy@example.com").await;
        // The request is handled in the background: wait until it has counted.
        let expected = 2 + i;
        let mut counted = 0;
        for _ in 0..200 {
            let bucket =
                tessera::entities::rate_limit::Entity::find_by_id("mail-hour:ivy@example.com".to_owned()).one(&app.state.db).await.unwrap();
            counted = bucket.map(|b| b.count).unwrap_or(0);
            if counted >= expected {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(counted, expected);
        app.sql("UPDATE rate_limits SET expires_at = '2001-01-01T00:00:00+00:00' WHERE bucket LIKE 'mail-minute:%'").await;
    }
    smtp.wait_for("ivy@example.com", 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.mail_to("ivy@example.com").len(), 5, "one confirmation and four resets in the hour");
}
