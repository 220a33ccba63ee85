//! Sessions: listing, refresh rotation, reuse detection, sign-out.
use serde_json::json;

use crate::helpers::*;

const REFRESH: &str = "mutation($t: String!) { refreshTokens(refreshToken: $t) { tokens { accessToken refreshToken refreshTokenExpiresAt } userErrors { field code message } } }";
const SESSIONS: &str = "{ sessions { id current userAgent ipAddress createdAt lastUsedAt expiresAt } }";

#[tokio::test]
async fn each_signin_is_a_session_listed_with_its_device() {
    let app = spawn_app().await;
    let phone = app.user("alice").await;
    let laptop = app.signin_as("alice").await;
    let out = app.gql(SESSIONS, json!({}), Some(&laptop.access)).await;
    let sessions = out["data"]["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{out}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    for session in sessions {
        assert_eq!(session["userAgent"], "tessera-tests/1.0");
        assert_eq!(session["ipAddress"], "127.0.0.1");
    }
    let from_phone = app.gql(SESSIONS, json!({}), Some(&phone.access)).await;
    let current: Vec<_> =
        from_phone["data"]["sessions"].as_array().unwrap().iter().filter(|s| s["current"] == true).map(|s| s["id"].clone()).collect();
    let laptop_current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).map(|s| s["id"].clone()).collect();
    assert_ne!(current, laptop_current);
    assert_eq!(error_code(&app.gql(SESSIONS, json!({}), None).await), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_stops_working() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let out = app.gql(REFRESH, json!({ "t": alice.refresh }), None).await;
    let tokens = &out["data"]["refreshTokens"]["tokens"];
    let new_access = tokens["accessToken"].as_str().expect("new tokens").to_owned();
    let new_refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, alice.refresh);
    assert_eq!(app.me(&new_access).await["data"]["me"]["id"], alice.id);

    let again = app.gql(REFRESH, json!({ "t": new_refresh }), None).await;
    assert!(again["data"]["refreshTokens"]["tokens"].is_object(), "{again}");

    // Only hashes are stored.
    use sea_orm::EntityTrait;
    let stored = tessera::entities::refresh_token::Entity::find().all(&app.state.db).await.unwrap();
    assert!(stored.iter().all(|t| t.token_hash != new_refresh && t.token_hash.len() == 64));
}

#[tokio::test]
async fn a_reused_refresh_token_ends_the_whole_session() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let other_device = app.signin_as("alice").await;
    let first = app.gql(REFRESH, json!({ "t": alice.refresh }), None).await;
    let rotated = first["data"]["refreshTokens"]["tokens"].clone();
    let rotated_access = rotated["accessToken"].as_str().unwrap();
    let rotated_refresh = rotated["refreshToken"].as_str().unwrap();

    // Someone replays the used token: the session dies, for the thief and the owner alike.
    let replay = app.gql(REFRESH, json!({ "t": alice.refresh }), None).await;
    assert_eq!(user_error_codes(&replay["data"]["refreshTokens"]), vec![("refreshToken".to_owned(), "INVALID_TOKEN".to_owned())]);
    assert!(replay["data"]["refreshTokens"]["tokens"].is_null());
    assert_eq!(error_code(&app.me(rotated_access).await), Some("UNAUTHENTICATED"));
    let after = app.gql(REFRESH, json!({ "t": rotated_refresh }), None).await;
    assert_eq!(after["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN");
    // Other devices are untouched.
    assert_eq!(app.me(&other_device.access).await["data"]["me"]["id"], alice.id);
}

#[tokio::test]
async fn unknown_refresh_tokens_are_invalid() {
    let app = spawn_app().await;
    for token in ["", "garbage", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] {
        let out = app.gql(REFRESH, json!({ "t": token }), None).await;
        assert_eq!(out["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN", "{out}");
    }
}

#[tokio::test]
async fn signout_ends_this_session_only_at_once() {
    let app = spawn_app().await;
    let phone = app.user("alice").await;
    let laptop = app.signin_as("alice").await;
    let out = app.gql("mutation { signout { revokedSessions message } }", json!({}), Some(&phone.access)).await;
    assert_eq!(out["data"]["signout"]["revokedSessions"], 1);
    assert_eq!(error_code(&app.me(&phone.access).await), Some("UNAUTHENTICATED"));
    let refresh = app.gql(REFRESH, json!({ "t": phone.refresh }), None).await;
    assert_eq!(refresh["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN");
    assert_eq!(app.me(&laptop.access).await["data"]["me"]["id"], phone.id);
    let twice = app.gql("mutation { signout { revokedSessions } }", json!({}), Some(&phone.access)).await;
    assert_eq!(error_code(&twice), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn signout_all_ends_every_device_and_a_new_signin_does_not_revive_them() {
    let app = spawn_app().await;
    let phone = app.user("alice").await;
    let laptop = app.signin_as("alice").await;
    let out = app.gql("mutation { signoutAll { revokedSessions message } }", json!({}), Some(&phone.access)).await;
    assert_eq!(out["data"]["signoutAll"]["revokedSessions"], 2);
    let fresh = app.signin_as("alice").await;
    for old in [&phone.access, &laptop.access] {
        assert_eq!(error_code(&app.me(old).await), Some("UNAUTHENTICATED"));
    }
    assert_eq!(app.me(&fresh.access).await["data"]["me"]["id"], phone.id);
    let sessions = app.gql(SESSIONS, json!({}), Some(&fresh.access)).await;
    assert_eq!(sessions["data"]["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn revoke_session_ends_one_of_my_devices_and_no_one_elses() {
    let app = spawn_app().await;
    let phone = app.user("alice").await;
    let laptop = app.signin_as("alice").await;
    let bob = app.user("bob").await;
    let listed = app.gql(SESSIONS, json!({}), Some(&phone.access)).await;
    let laptop_id = listed["data"]["sessions"].as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["id"].clone();

    let revoke = "mutation($id: ID!) { revokeSession(id: $id) { success userErrors { field code } } }";
    let by_bob = app.gql(revoke, json!({ "id": laptop_id }), Some(&bob.access)).await;
    assert_eq!(by_bob["data"]["revokeSession"]["success"], false);
    assert_eq!(user_error_codes(&by_bob["data"]["revokeSession"]), vec![("id".to_owned(), "NOT_FOUND".to_owned())]);
    assert_eq!(app.me(&laptop.access).await["data"]["me"]["id"], phone.id);

    let out = app.gql(revoke, json!({ "id": laptop_id }), Some(&phone.access)).await;
    assert_eq!(out["data"]["revokeSession"]["success"], true, "{out}");
    assert_eq!(error_code(&app.me(&laptop.access).await), Some("UNAUTHENTICATED"));
    assert_eq!(app.me(&phone.access).await["data"]["me"]["id"], phone.id);
    let again = app.gql(revoke, json!({ "id": laptop_id }), Some(&phone.access)).await;
    assert_eq!(again["data"]["revokeSession"]["userErrors"][0]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn suspending_an_account_cuts_off_its_tokens_at_once() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    app.sql(&format!("UPDATE users SET status = 'SUSPENDED' WHERE id = '{}'", alice.id)).await;
    assert_eq!(error_code(&app.me(&alice.access).await), Some("UNAUTHENTICATED"));
    let out = app.gql(REFRESH, json!({ "t": alice.refresh }), None).await;
    assert_eq!(out["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN");
}
