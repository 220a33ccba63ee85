//! The built-in pages behind the links in mails (/confirm-email,
//! /reset-password): served when the links point at this server, strict
//! CSP, and a GET never uses the token. The pages' behaviour in a browser is
//! tested in headless Chromium (tests/js/specs/pages.test.mjs).
use serde_json::{json, Value};
use tessera::config::Secret;

use crate::helpers::*;
use crate::mail_helpers::*;

const CONFIRM: &str = "mutation($token: String!) { confirmEmail(token: $token) { user { emailConfirmed } userErrors { code } } }";
const RESET_VALID: &str = "query($token: String!) { passwordResetTokenValid(token: $token) }";
const REQUEST_RESET: &str = "mutation($email: String!) { requestPasswordReset(email: $email) { success } }";

/// A server with APP_URL unset (links point at the server itself) mailing through `smtp`.
async fn app_without_frontend(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    spawn_app_with(|s| {
        s.server.app_url = None;
        s.mail.smtp_url = Some(Secret::new(url));
    })
    .await
}

/// Checks what every page answer carries; returns the HTML.
async fn get_page(app: &TestApp, link: &str) -> String {
    let response = app.client.get(link).header("accept", "text/html").send().await.unwrap();
    assert_eq!(response.status(), 200, "{link}");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(header("content-type"), "text/html; charset=utf-8");
    let csp = header("content-security-policy");
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe") && !csp.contains('*'), "no unsafe-inline, unsafe-eval or wildcard: {csp}");
    assert_eq!(header("cache-control"), "no-store", "the address holds a token");
    assert_eq!(header("referrer-policy"), "no-referrer");
    response.text().await.unwrap()
}

/// Every file a page loads exists and comes from this server.
async fn assert_assets_load(app: &TestApp, html: &str) {
    let sources: Vec<&str> = html.split('"').filter(|p| p.starts_with("/pages/")).collect();
    assert_eq!(sources.len(), 2, "a script and a style sheet: {sources:?}");
    for source in sources {
        let response = app.client.get(app.url(source)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{source}");
        let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if source.ends_with(".js") { "text/javascript" } else { "text/css" };
        assert!(kind.starts_with(expected), "{source}: {kind}");
    }
    assert!(!html.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn without_a_frontend_the_confirmation_link_opens_a_page_and_the_get_leaves_the_token_unused() {
    let smtp = SmtpServer::start().await;
    let app = app_without_frontend(&smtp).await;
    let out = app.signup("pia@example.com", "pia").await;
    assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    let mail = smtp.nth("pia@example.com", 1).await;
    // The link in the mail is this server's own page.
    let link = mail.link(&app.address, "confirm-email");
    let html = get_page(&app, &link).await;
    assert!(html.contains("Confirm your email"), "{html}");
    assert_assets_load(&app, &html).await;
    // A mail scanner's prefetch (or a second GET) uses nothing: the token still confirms once.
    get_page(&app, &link).await;
    let token = mail.token(&app.address, "confirm-email");
    let confirmed = app.gql(CONFIRM, json!({ "token": token }), None).await;
    assert_eq!(confirmed["data"]["confirmEmail"]["user"]["emailConfirmed"], true, "{confirmed}");
}

#[tokio::test]
async fn without_a_frontend_the_reset_link_opens_a_page_and_the_get_leaves_the_token_valid() {
    let smtp = SmtpServer::start().await;
    let app = app_without_frontend(&smtp).await;
    app.signup("ron@example.com", "ron").await;
    app.gql(REQUEST_RESET, json!({ "email": "ron@example.com" }), None).await;
    let mail = smtp.nth("ron@example.com", 2).await;
    let link = mail.link(&app.address, "reset-password");
    let html = get_page(&app, &link).await;
    assert!(html.contains("Choose a new password") && html.matches("type=\"password\"").count() == 2, "{html}");
    assert_assets_load(&app, &html).await;
    let token = mail.token(&app.address, "reset-password");
    let valid: Value = app.gql(RESET_VALID, json!({ "token": token }), None).await;
    assert_eq!(valid["data"]["passwordResetTokenValid"], true, "{valid}");
}

#[tokio::test]
async fn the_pages_are_off_when_links_point_at_another_frontend_unless_builtin_pages_says_otherwise() {
    // test_settings sets APP_URL to another host.
    let elsewhere = spawn_app().await;
    for path in ["/confirm-email?token=x", "/reset-password?token=x", "/pages/pages.js"] {
        assert_eq!(elsewhere.client.get(elsewhere.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
    let forced = spawn_app_with(|s| s.server.builtin_pages = Some(true)).await;
    get_page(&forced, &forced.url("/reset-password?token=x")).await;
    let off = spawn_app_with(|s| {
        s.server.app_url = None;
        s.server.builtin_pages = Some(false);
    })
    .await;
    assert_eq!(off.client.get(off.url("/confirm-email?token=x")).send().await.unwrap().status(), 404);
    // An APP_URL equal to PUBLIC_URL is this server too.
    let same = spawn_app_with(|s| {
        s.server.public_url = Some("http://tessera.test".into());
        s.server.app_url = Some("http://tessera.test/".into());
    })
    .await;
    get_page(&same, &same.url("/confirm-email")).await;
    assert_eq!(same.client.get(same.url("/pages/nothing.js")).send().await.unwrap().status(), 404);
}
