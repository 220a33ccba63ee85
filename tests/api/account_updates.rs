//! updateAccount: identifiers, names and plan, with signup's rules.
use serde_json::json;

use crate::helpers::*;

const UPDATE: &str = "mutation($input: UpdateAccountInput!) { updateAccount(input: $input) { user { id email emailConfirmed username fullName firstName lastName phoneNumber subscriptionPlan { id name } } userErrors { field code message } } }";

#[tokio::test]
async fn a_new_email_needs_confirming_and_signs_in() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    app.sql("UPDATE users SET email_confirmed = true").await;
    let out = app.gql(UPDATE, json!({ "input": { "email": "Alice.New@Example.com" } }), Some(&alice.access)).await;
    let user = &out["data"]["updateAccount"]["user"];
    assert_eq!(user["email"], "Alice.New@Example.com", "{out}");
    assert_eq!(user["emailConfirmed"], false);
    assert!(app.signin("alice.new@example.com", PASSWORD).await["data"]["signin"]["tokens"].is_object());
    assert!(app.signin("alice@example.com", PASSWORD).await["data"]["signin"]["tokens"].is_null());
}

#[tokio::test]
async fn identifiers_follow_the_signup_rules() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    app.user("bob").await;
    app.gql(UPDATE, json!({ "input": { "phoneNumber": "+1 415 555 2671" } }), Some(&alice.access)).await;
    let bob = app.signin_as("bob").await;

    let out = app
        .gql(
            UPDATE,
            json!({ "input": { "email": "ALICE@example.com", "username": "Alice", "phoneNumber": "(415) 555-2671" } }),
            Some(&bob.access),
        )
        .await;
    let mut codes = user_error_codes(&out["data"]["updateAccount"]);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("input.email".into(), "TAKEN".into()),
            ("input.phoneNumber".into(), "TAKEN".into()),
            ("input.username".into(), "TAKEN".into())
        ]
    );
    let out = app
        .gql(
            UPDATE,
            json!({ "input": { "email": null, "username": "b b", "phoneNumber": "123", "lastName": "z".repeat(101) } }),
            Some(&bob.access),
        )
        .await;
    let mut codes = user_error_codes(&out["data"]["updateAccount"]);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("input.email".into(), "REQUIRED".into()),
            ("input.lastName".into(), "TOO_LONG".into()),
            ("input.phoneNumber".into(), "INVALID".into()),
            ("input.username".into(), "INVALID".into()),
        ]
    );
    // Keeping one's own values is not a conflict; case changes are allowed.
    let out = app.gql(UPDATE, json!({ "input": { "username": "ALICE", "phoneNumber": "+14155552671" } }), Some(&alice.access)).await;
    assert_eq!(out["data"]["updateAccount"]["user"]["username"], "ALICE", "{out}");
    let out = app.gql(UPDATE, json!({ "input": { "username": null, "phoneNumber": null } }), Some(&alice.access)).await;
    assert!(out["data"]["updateAccount"]["user"]["username"].is_null() && out["data"]["updateAccount"]["user"]["phoneNumber"].is_null());
    let freed = app.gql(UPDATE, json!({ "input": { "username": "alice" } }), Some(&bob.access)).await;
    assert_eq!(freed["data"]["updateAccount"]["user"]["username"], "alice");
}

#[tokio::test]
async fn names_and_the_display_name() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let out = app.gql(UPDATE, json!({ "input": { "firstName": "Alice", "lastName": "Liddell" } }), Some(&alice.access)).await;
    assert_eq!(out["data"]["updateAccount"]["user"]["fullName"], "Alice Liddell");
    let out = app.gql(UPDATE, json!({ "input": { "lastName": "Hargreaves" } }), Some(&alice.access)).await;
    assert_eq!(out["data"]["updateAccount"]["user"]["fullName"], "Alice Hargreaves");
    let out = app.gql(UPDATE, json!({ "input": { "fullName": "Mrs H" } }), Some(&alice.access)).await;
    assert_eq!(out["data"]["updateAccount"]["user"]["fullName"], "Mrs H");
    let out = app.gql(UPDATE, json!({ "input": { "firstName": "Al" } }), Some(&alice.access)).await;
    assert_eq!(out["data"]["updateAccount"]["user"]["fullName"], "Mrs H");
    assert_eq!(out["data"]["updateAccount"]["user"]["firstName"], "Al");
}

#[tokio::test]
async fn a_subscription_plan_can_be_chosen_and_dropped() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    app.sql("INSERT INTO subscription_plans (id, name, name_lower, price_cents, currency, interval_months, created_at) VALUES ('gold', 'Gold', 'gold', 999, 'EUR', 1, '2026-01-01 00:00:00+00:00')").await;
    let unknown = app.gql(UPDATE, json!({ "input": { "subscriptionPlanId": "platinum" } }), Some(&alice.access)).await;
    assert_eq!(user_error_codes(&unknown["data"]["updateAccount"]), vec![("input.subscriptionPlanId".to_owned(), "NOT_FOUND".to_owned())]);
    let out = app.gql(UPDATE, json!({ "input": { "subscriptionPlanId": "gold" } }), Some(&alice.access)).await;
    assert_eq!(out["data"]["updateAccount"]["user"]["subscriptionPlan"]["name"], "Gold", "{out}");
    let out = app.gql(UPDATE, json!({ "input": { "subscriptionPlanId": null } }), Some(&alice.access)).await;
    assert!(out["data"]["updateAccount"]["user"]["subscriptionPlan"].is_null());
    assert_eq!(error_code(&app.gql(UPDATE, json!({ "input": {} }), None).await), Some("UNAUTHENTICATED"));
}
