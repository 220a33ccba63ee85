//! The end of an account: deactivation and deletion by its owner.
use serde_json::{json, Value};

use crate::helpers::*;

const DEACTIVATE: &str = "mutation { deactivateAccount { success userErrors { field code message } } }";
const DELETE: &str = "mutation($p: String!) { deleteAccount(password: $p) { deletedUserId userErrors { field code message } } }";
const REFRESH: &str = "mutation($t: String!) { refreshTokens(refreshToken: $t) { tokens { accessToken } userErrors { code } } }";

#[tokio::test]
async fn deactivating_ends_every_session_and_only_staff_bring_the_account_back() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let phone = app.signin_as("alice").await;
    assert_eq!(error_code(&app.gql(DEACTIVATE, json!({}), None).await), Some("UNAUTHENTICATED"));

    let out = app.gql(DEACTIVATE, json!({}), Some(&alice.access)).await;
    assert_eq!(out["data"]["deactivateAccount"], json!({ "success": true, "userErrors": [] }), "{out}");
    for session in [&alice, &phone] {
        assert_eq!(error_code(&app.me(&session.access).await), Some("UNAUTHENTICATED"));
        let refreshed = app.gql(REFRESH, json!({ "t": session.refresh }), None).await;
        assert_eq!(refreshed["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN");
    }
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = '{}' AND revoked_at IS NULL", alice.id)).await, 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM users WHERE id = '{}' AND status = 'DEACTIVATED'", alice.id)).await, 1);

    // The status is told only to someone who knows the password.
    assert_eq!(app.signin("alice", PASSWORD).await["data"]["signin"]["userErrors"][0]["code"], "ACCOUNT_INACTIVE");
    assert_eq!(app.signin("alice", "not the password").await["data"]["signin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");

    let staff = app.user("staffer").await;
    app.set_role(&staff.id, "STAFF").await;
    let out = app
        .gql(
            "mutation($id: ID!) { setUserStatus(userId: $id, status: ACTIVE) { user { status } } }",
            json!({ "id": alice.id }),
            Some(&staff.access),
        )
        .await;
    assert_eq!(out["data"]["setUserStatus"]["user"]["status"], "ACTIVE", "{out}");
    let back = app.signin_as("alice").await;
    assert_eq!(app.me(&back.access).await["data"]["me"]["id"], alice.id);
}

#[tokio::test]
async fn deleting_an_account_needs_its_password() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    assert_eq!(error_code(&app.gql(DELETE, json!({ "p": PASSWORD }), None).await), Some("UNAUTHENTICATED"));
    let out = app.gql(DELETE, json!({ "p": "not the password" }), Some(&alice.access)).await;
    let payload = &out["data"]["deleteAccount"];
    assert!(payload["deletedUserId"].is_null(), "{out}");
    assert_eq!(user_error_codes(payload), [("password".to_owned(), "INVALID_CREDENTIALS".to_owned())]);
    assert_eq!(app.me(&alice.access).await["data"]["me"]["id"], alice.id);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM users WHERE id = '{}'", alice.id)).await, 1);
}

/// Rows `user_id` owns in each table that holds user data.
async fn owned_rows(app: &TestApp, user_id: &str) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for (table, query) in [
        ("users", format!("SELECT COUNT(*) FROM users WHERE id = '{user_id}'")),
        ("profiles", format!("SELECT COUNT(*) FROM profiles WHERE user_id = '{user_id}'")),
        ("sessions", format!("SELECT COUNT(*) FROM sessions WHERE user_id = '{user_id}'")),
        (
            "refresh_tokens",
            format!("SELECT COUNT(*) FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = '{user_id}')"),
        ),
        ("email_tokens", format!("SELECT COUNT(*) FROM email_tokens WHERE user_id = '{user_id}'")),
        ("mail_outbox", format!("SELECT COUNT(*) FROM mail_outbox WHERE user_id = '{user_id}'")),
        ("instagram_accounts", format!("SELECT COUNT(*) FROM instagram_accounts WHERE user_id = '{user_id}'")),
        ("instagram_images", format!("SELECT COUNT(*) FROM instagram_images WHERE user_id = '{user_id}'")),
    ] {
        counts.push((table, app.count(&query).await));
    }
    counts
}

/// Gives a user one row in every table that can hold their data.
async fn fill_everything(app: &TestApp, user: &SignedIn) {
    let id = &user.id;
    app.sql(&format!("INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) VALUES ('hash-{id}', '{id}', 'confirm_email', '{}', '2026-01-01T00:00:00Z', '2099-01-01T00:00:00Z')", user.email)).await;
    app.sql(&format!("INSERT INTO mail_outbox (id, user_id, to_address, subject, text_body, html_body, status, attempts, next_attempt_at, created_at) VALUES ('{}', '{id}', '{}', 'Hi', 'Hi', '<p>Hi</p>', 'queued', 0, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')", uuid::Uuid::new_v4(), user.email)).await;
    let linked = app.gql("mutation { linkInstagram(username: \"someone\") { userErrors { code } } }", json!({}), Some(&user.access)).await;
    assert_eq!(linked["data"]["linkInstagram"]["userErrors"], json!([]), "{linked}");
    let image = json!({ "id": "1", "instagramUrl": "https://instagram.com/p/1", "rawImageUrl": "https://cdn.example/1.jpg", "origWidth": 10, "origHeight": 10 });
    let synced = app
        .gql(
            "mutation($i: InstagramSyncInput!) { instagramSync(input: $i) { additions { ok } } }",
            json!({ "i": { "additions": [image] } }),
            Some(&user.access),
        )
        .await;
    assert_eq!(synced["data"]["instagramSync"]["additions"][0]["ok"], true, "{synced}");
    app.sql(&format!("UPDATE profiles SET display_pic_key = 'pics/{id}.jpg', bio = 'hello' WHERE user_id = '{id}'")).await;
}

#[tokio::test]
async fn deleting_an_account_removes_everything_it_owns_and_frees_its_email_username_and_phone() {
    let app = spawn_app().await;
    let signup = "mutation($i: SignupInput!) { signup(input: $i) { user { id } userErrors { field code } } }";
    let input =
        json!({ "i": { "email": "Alice@Example.com", "username": "alice", "phoneNumber": "+1 415 555 2671", "password": PASSWORD } });
    let out = app.gql(signup, input.clone(), None).await;
    assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    let alice = app.signin_as("alice").await;
    let _second_device = app.signin_as("alice").await;
    let bob = app.user("bob").await;
    fill_everything(&app, &alice).await;
    fill_everything(&app, &bob).await;
    assert!(owned_rows(&app, &alice.id).await.iter().all(|(_, n)| *n >= 1));
    let tokens_before = app.count("SELECT COUNT(*) FROM refresh_tokens").await;

    let out = app.gql(DELETE, json!({ "p": PASSWORD }), Some(&alice.access)).await;
    assert_eq!(out["data"]["deleteAccount"], json!({ "deletedUserId": alice.id, "userErrors": [] }), "{out}");
    for (table, left) in owned_rows(&app, &alice.id).await {
        assert_eq!(left, 0, "{table} still holds alice's rows");
    }
    // Refresh tokens hang off sessions: none is left without one, and exactly alice's two went.
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens WHERE session_id NOT IN (SELECT id FROM sessions)").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM refresh_tokens").await, tokens_before - 2);
    // Nobody else lost anything.
    for (table, kept) in owned_rows(&app, &bob.id).await {
        assert!(kept >= 1, "{table} lost bob's rows");
    }
    assert_eq!(error_code(&app.me(&alice.access).await), Some("UNAUTHENTICATED"));
    assert_eq!(app.signin("alice", PASSWORD).await["data"]["signin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");

    // The email, username and phone number are free again.
    let again = app.gql(signup, input, None).await;
    assert_eq!(again["data"]["signup"]["userErrors"], json!([]), "{again}");
    assert_ne!(again["data"]["signup"]["user"]["id"], alice.id);
}

#[tokio::test]
async fn deleting_an_account_or_a_user_removes_their_picture_from_the_store() {
    let app = spawn_app().await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { profile { displayPicUrl } } }";
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let admin = app.user("root").await;
    app.sql(&format!("UPDATE users SET role = 'ADMIN' WHERE id = '{}'", admin.id)).await;
    let mut urls = Vec::new();
    for user in [&alice, &bob] {
        let (_, out) = gql_upload(
            &app,
            update,
            json!({ "input": { "displayPic": null } }),
            UploadFile { path: "input.displayPic", name: "p.png", content_type: "image/png", bytes: png_bytes(6, 6) },
            Some(&user.access),
        )
        .await;
        urls.push(out["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().expect("stored").to_owned());
    }
    assert_eq!(stored_media(&app).len(), 2);

    let out = app.gql(DELETE, json!({ "p": PASSWORD }), Some(&alice.access)).await;
    assert_eq!(out["data"]["deleteAccount"]["deletedUserId"], alice.id, "{out}");
    assert_eq!(stored_media(&app), vec![key_of(&urls[1])]);
    assert_eq!(app.client.get(&urls[0]).send().await.unwrap().status(), 404);

    let out =
        app.gql("mutation($id: ID!) { deleteUser(userId: $id) { deletedUserId } }", json!({ "id": bob.id }), Some(&admin.access)).await;
    assert_eq!(out["data"]["deleteUser"]["deletedUserId"], bob.id, "{out}");
    assert!(stored_media(&app).is_empty());
}

#[tokio::test]
async fn the_last_admin_can_neither_deactivate_nor_delete_their_account() {
    let app = spawn_app().await;
    let admin = app.user("boss").await;
    app.set_role(&admin.id, "ADMIN").await;
    let not_allowed = |out: &Value, field: &str| {
        let payload = &out["data"][field];
        assert_eq!(payload["userErrors"][0]["code"], "NOT_ALLOWED", "{out}");
    };
    not_allowed(&app.gql(DEACTIVATE, json!({}), Some(&admin.access)).await, "deactivateAccount");
    not_allowed(&app.gql(DELETE, json!({ "p": PASSWORD }), Some(&admin.access)).await, "deleteAccount");
    assert_eq!(app.me(&admin.access).await["data"]["me"]["id"], admin.id);

    let other = app.user("other").await;
    app.set_role(&other.id, "ADMIN").await;
    let out = app.gql(DEACTIVATE, json!({}), Some(&admin.access)).await;
    assert_eq!(out["data"]["deactivateAccount"]["success"], true, "{out}");
    not_allowed(&app.gql(DELETE, json!({ "p": PASSWORD }), Some(&other.access)).await, "deleteAccount");
    // A plain user is never held back by the rule, even with no admin around.
    app.sql(&format!("UPDATE users SET role = 'USER' WHERE id = '{}'", other.id)).await;
    let out = app.gql(DELETE, json!({ "p": PASSWORD }), Some(&other.access)).await;
    assert_eq!(out["data"]["deleteAccount"]["deletedUserId"], other.id, "{out}");
}
