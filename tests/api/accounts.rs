//! Signup, signin and the User type's privacy rules.
use serde_json::json;

use crate::helpers::*;

const SIGNUP: &str = "mutation($input: SignupInput!) { signup(input: $input) { user { id email username fullName firstName lastName phoneNumber accountType role status emailConfirmed joinedAt updatedAt lastLoginAt } userErrors { field message code } } }";

#[tokio::test]
async fn signup_creates_an_active_unconfirmed_account_stored_with_a_hash() {
    let app = spawn_app().await;
    let out = app
        .gql(
            SIGNUP,
            json!({ "input": { "email": "Ada@Example.com", "password": PASSWORD, "passwordConfirmation": PASSWORD,
                "username": "ada", "firstName": "Ada", "lastName": "Lovelace", "phoneNumber": "+44 20 7946 0958",
                "accountType": "CREATOR" } }),
            None,
        )
        .await;
    let payload = &out["data"]["signup"];
    assert_eq!(payload["userErrors"], json!([]), "{out}");
    let user = &payload["user"];
    assert_eq!(user["email"], "Ada@Example.com");
    assert_eq!(user["fullName"], "Ada Lovelace");
    assert_eq!(user["phoneNumber"], "+442079460958");
    assert_eq!(user["accountType"], "CREATOR");
    assert_eq!(user["role"], "USER");
    assert_eq!(user["status"], "ACTIVE");
    assert_eq!(user["emailConfirmed"], false);
    assert!(user["joinedAt"].as_str().unwrap().ends_with('Z'));

    use sea_orm::EntityTrait;
    let stored = tessera::entities::user::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(stored.len(), 1);
    let hash = stored[0].password_hash.as_deref().unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(!hash.contains(PASSWORD));
    // The account is usable with any case of its email.
    let signed = app.signin("ADA@example.COM", PASSWORD).await;
    assert!(signed["data"]["signin"]["tokens"]["accessToken"].is_string(), "{signed}");
}

#[tokio::test]
async fn signup_reports_every_problem_of_the_input_together() {
    let app = spawn_app().await;
    let out = app
        .gql(
            SIGNUP,
            json!({ "input": { "email": "not-an-email", "password": "short", "passwordConfirmation": "other",
                "username": "a b", "phoneNumber": "12", "firstName": "x".repeat(101) } }),
            None,
        )
        .await;
    let payload = &out["data"]["signup"];
    assert!(payload["user"].is_null());
    let mut codes = user_error_codes(payload);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("input.email".into(), "INVALID".into()),
            ("input.firstName".into(), "TOO_LONG".into()),
            ("input.password".into(), "TOO_SHORT".into()),
            ("input.passwordConfirmation".into(), "MISMATCH".into()),
            ("input.phoneNumber".into(), "INVALID".into()),
            ("input.username".into(), "INVALID".into()),
        ]
    );
    for error in payload["userErrors"].as_array().unwrap() {
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    let count = app.gql("{ __typename }", json!({}), None).await;
    assert_eq!(count["data"]["__typename"], "Query");
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(tessera::entities::user::Entity::find().count(&app.state.db).await.unwrap(), 0);
}

#[tokio::test]
async fn weak_passwords_are_refused() {
    let app = spawn_app().await;
    for (password, code) in [
        ("", "REQUIRED"),
        ("1234567", "TOO_SHORT"),
        (&"Ab1!".repeat(33) as &str, "TOO_LONG"),
        ("password1", "TOO_WEAK"),
        ("iloveyou", "TOO_WEAK"),
        ("zzzzzzzzzz", "TOO_WEAK"),
        ("grace_hopper!", "TOO_WEAK"),
        ("xx-grace.h-xx", "TOO_WEAK"),
    ] {
        let out = app
            .gql(SIGNUP, json!({ "input": { "email": "grace.h@example.com", "username": "grace_hopper", "password": password } }), None)
            .await;
        assert_eq!(user_error_codes(&out["data"]["signup"]), vec![("input.password".to_owned(), code.to_owned())], "{password}: {out}");
    }
    let required = app.gql(SIGNUP, json!({ "input": { "email": "", "password": PASSWORD } }), None).await;
    assert_eq!(user_error_codes(&required["data"]["signup"]), vec![("input.email".to_owned(), "REQUIRED".to_owned())]);
    let short_name = app.gql(SIGNUP, json!({ "input": { "email": "g@example.com", "username": "gh", "password": PASSWORD } }), None).await;
    assert_eq!(user_error_codes(&short_name["data"]["signup"]), vec![("input.username".to_owned(), "TOO_SHORT".to_owned())]);
}

#[tokio::test]
async fn email_username_and_phone_are_unique_ignoring_case() {
    let app = spawn_app().await;
    let first = app
        .gql(
            SIGNUP,
            json!({ "input": { "email": "kim@example.com", "username": "Kim", "phoneNumber": "+1 415 555 2671", "password": PASSWORD } }),
            None,
        )
        .await;
    assert_eq!(first["data"]["signup"]["userErrors"], json!([]), "{first}");
    let second = app
        .gql(
            SIGNUP,
            json!({ "input": { "email": "KIM@example.com", "username": "kIM", "phoneNumber": "(415) 555-2671", "password": PASSWORD } }),
            None,
        )
        .await;
    let mut codes = user_error_codes(&second["data"]["signup"]);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("input.email".into(), "TAKEN".into()),
            ("input.phoneNumber".into(), "TAKEN".into()),
            ("input.username".into(), "TAKEN".into()),
        ]
    );
}

#[tokio::test]
async fn a_race_between_two_signups_ends_in_taken_not_an_error() {
    let app = spawn_app().await;
    let attempts = (0..6).map(|i| {
        let app = &app;
        async move {
            app.gql(
                SIGNUP,
                json!({ "input": { "email": "race@example.com", "username": format!("racer{i}"), "password": PASSWORD } }),
                None,
            )
            .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let mut created = 0;
    for out in &results {
        assert!(out["errors"].is_null(), "no top-level error: {out}");
        let payload = &out["data"]["signup"];
        if payload["user"].is_object() {
            created += 1;
        } else {
            assert_eq!(user_error_codes(payload), vec![("input.email".to_owned(), "TAKEN".to_owned())]);
        }
    }
    assert_eq!(created, 1);
}

#[tokio::test]
async fn signin_accepts_email_or_username_and_never_says_which_part_was_wrong() {
    let app = spawn_app().await;
    app.signup("lin@example.com", "lin").await;
    let by_name = app.signin("LIN", PASSWORD).await;
    let user = &by_name["data"]["signin"]["user"];
    assert_eq!(user["email"], "lin@example.com");
    assert!(user["lastLoginAt"].is_string());
    assert_eq!(by_name["data"]["signin"]["tokens"]["tokenType"], "Bearer");

    let wrong_password = app.signin("lin@example.com", "not the password").await;
    let unknown = app.signin("nobody@example.com", PASSWORD).await;
    for out in [&wrong_password, &unknown] {
        let payload = &out["data"]["signin"];
        assert!(payload["tokens"].is_null() && payload["user"].is_null());
        assert_eq!(payload["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    }
    assert_eq!(wrong_password["data"]["signin"]["userErrors"], unknown["data"]["signin"]["userErrors"]);
}

#[tokio::test]
async fn inactive_accounts_are_told_only_to_someone_with_the_password() {
    let app = spawn_app().await;
    app.signup("dee@example.com", "dee").await;
    app.signup("sue@example.com", "sue").await;
    app.sql("UPDATE users SET status = 'DEACTIVATED' WHERE username = 'dee'").await;
    app.sql("UPDATE users SET status = 'SUSPENDED' WHERE username = 'sue'").await;
    let cases = [
        ("dee", PASSWORD, "ACCOUNT_INACTIVE"),
        ("sue", PASSWORD, "ACCOUNT_SUSPENDED"),
        ("dee", "wrong password!", "INVALID_CREDENTIALS"),
        ("sue", "wrong password!", "INVALID_CREDENTIALS"),
    ];
    for (login, password, code) in cases {
        let out = app.signin(login, password).await;
        assert_eq!(out["data"]["signin"]["userErrors"][0]["code"], code, "{login}: {out}");
        assert!(out["data"]["signin"]["tokens"].is_null());
    }
}

#[tokio::test]
async fn private_fields_are_hidden_from_other_users_but_not_from_staff() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let query = "query($id: ID!) { user(id: $id) { id username email phoneNumber lastLoginAt subscriptionPlan { id } } }";

    let own = app.gql(query, json!({ "id": alice.id }), Some(&alice.access)).await;
    assert_eq!(own["data"]["user"]["email"], "alice@example.com");
    assert!(own["data"]["user"]["lastLoginAt"].is_string());

    let other = app.gql(query, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert_eq!(other["data"]["user"]["username"], "alice");
    assert!(other["data"]["user"]["email"].is_null());
    assert!(other["data"]["user"]["lastLoginAt"].is_null());

    app.sql(&format!("UPDATE users SET role = 'STAFF' WHERE id = '{}'", bob.id)).await;
    let staff = app.gql(query, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert_eq!(staff["data"]["user"]["email"], "alice@example.com");

    let missing = app.gql(query, json!({ "id": "no-such-user" }), Some(&alice.access)).await;
    assert!(missing["data"]["user"].is_null() && missing["errors"].is_null(), "{missing}");
    let anonymous = app.gql(query, json!({ "id": alice.id }), None).await;
    assert_eq!(error_code(&anonymous), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn users_that_are_not_active_are_hidden_except_from_staff() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.sql(&format!("UPDATE users SET status = 'SUSPENDED' WHERE id = '{}'", alice.id)).await;
    let query = "query($id: ID!) { user(id: $id) { id status } }";
    let out = app.gql(query, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert!(out["data"]["user"].is_null(), "{out}");
    app.sql(&format!("UPDATE users SET role = 'ADMIN' WHERE id = '{}'", bob.id)).await;
    let out = app.gql(query, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert_eq!(out["data"]["user"]["status"], "SUSPENDED");
}

#[tokio::test]
async fn me_needs_a_token() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let out = app.gql("{ me { id email username role } }", json!({}), Some(&alice.access)).await;
    assert_eq!(out["data"]["me"]["id"], alice.id);
    assert_eq!(out["data"]["me"]["role"], "USER");
    let out = app.gql("{ me { id } }", json!({}), None).await;
    assert_eq!(error_code(&out), Some("UNAUTHENTICATED"));
    assert!(out["data"].is_null());
}
