//! Profiles: reads, updates, privacy, and batching.
use serde_json::json;

use crate::helpers::*;

const UPDATE: &str = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { profile { fullName bio gender birthDate age state city interests monthlySubKeys updatedAt } userErrors { field code message } } }";
const PROFILE: &str =
    "query($id: ID) { profile(userId: $id) { userId fullName bio birthDate age interests monthlySubKeys user { id username } } }";

#[tokio::test]
async fn every_user_has_a_profile_from_signup() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let out = app
        .gql(
            "{ me { profile { userId fullName displayPicUrl bio interests age birthDate monthlySubKeys updatedAt user { id } } } }",
            json!({}),
            Some(&alice.access),
        )
        .await;
    let profile = &out["data"]["me"]["profile"];
    assert_eq!(profile["userId"], alice.id, "{out}");
    assert_eq!(profile["user"]["id"], alice.id);
    assert_eq!(profile["interests"], json!([]));
    assert!(profile["displayPicUrl"].is_null() && profile["age"].is_null());
}

#[tokio::test]
async fn omitted_fields_stay_and_explicit_nulls_clear() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let out = app
        .gql(
            UPDATE,
            json!({ "input": { "fullName": "Alice Liddell", "bio": "Down the rabbit hole", "gender": "FEMALE", "birthDate": "2000-01-15",
                "state": "Oxfordshire", "city": "Oxford", "interests": ["COFFEE", "NIGHT_WALKS", "COFFEE", "DANCING"] } }),
            Some(&alice.access),
        )
        .await;
    let profile = &out["data"]["updateProfile"]["profile"];
    assert_eq!(out["data"]["updateProfile"]["userErrors"], json!([]), "{out}");
    assert_eq!(profile["fullName"], "Alice Liddell");
    assert_eq!(profile["interests"], json!(["COFFEE", "NIGHT_WALKS", "DANCING"]));
    assert_eq!(profile["birthDate"], "2000-01-15");
    let expected_age = {
        use chrono::Datelike;
        let today = chrono::Utc::now().date_naive();
        today.year() - 2000 - if (today.month(), today.day()) < (1, 15) { 1 } else { 0 }
    };
    assert_eq!(profile["age"], expected_age);

    let out = app.gql(UPDATE, json!({ "input": { "city": "London" } }), Some(&alice.access)).await;
    let profile = &out["data"]["updateProfile"]["profile"];
    assert_eq!(profile["city"], "London");
    assert_eq!(profile["bio"], "Down the rabbit hole");
    assert_eq!(profile["gender"], "FEMALE");

    let out = app
        .gql(UPDATE, json!({ "input": { "bio": null, "birthDate": null, "interests": null, "gender": null } }), Some(&alice.access))
        .await;
    let profile = &out["data"]["updateProfile"]["profile"];
    assert!(profile["bio"].is_null() && profile["birthDate"].is_null() && profile["age"].is_null() && profile["gender"].is_null());
    assert_eq!(profile["interests"], json!([]));
    assert_eq!(profile["city"], "London");
    // The user's display name is the profile's.
    let me = app.gql("{ me { fullName } }", json!({}), Some(&alice.access)).await;
    assert_eq!(me["data"]["me"]["fullName"], "Alice Liddell");
}

#[tokio::test]
async fn invalid_profile_input_is_reported_together_and_changes_nothing() {
    let app = spawn_app().await;
    let fan = app.user("fan").await;
    let future = (chrono::Utc::now().date_naive() + chrono::Duration::days(2)).format("%Y-%m-%d").to_string();
    let out = app
        .gql(
            UPDATE,
            json!({ "input": { "bio": "x".repeat(1001), "birthDate": future, "monthlySubKeys": 5, "city": "y".repeat(101) } }),
            Some(&fan.access),
        )
        .await;
    let payload = &out["data"]["updateProfile"];
    assert!(payload["profile"].is_null());
    let mut codes = user_error_codes(payload);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("input.bio".into(), "TOO_LONG".into()),
            ("input.birthDate".into(), "INVALID".into()),
            ("input.city".into(), "TOO_LONG".into()),
            ("input.monthlySubKeys".into(), "NOT_ALLOWED".into()),
        ]
    );
    let after = app.gql(PROFILE, json!({}), Some(&fan.access)).await;
    assert!(after["data"]["profile"]["bio"].is_null());
    let malformed = app.gql(UPDATE, json!({ "input": { "birthDate": "15/01/2000" } }), Some(&fan.access)).await;
    assert!(malformed["errors"].is_array(), "a malformed date is refused: {malformed}");
}

#[tokio::test]
async fn monthly_sub_keys_are_for_creators_only() {
    let app = spawn_app().await;
    let signup = "mutation($input: SignupInput!) { signup(input: $input) { user { id } userErrors { code } } }";
    app.gql(
        signup,
        json!({ "input": { "email": "cr@example.com", "username": "creator", "password": PASSWORD, "accountType": "CREATOR" } }),
        None,
    )
    .await;
    let creator = app.signin_as("creator").await;
    let negative = app.gql(UPDATE, json!({ "input": { "monthlySubKeys": -1 } }), Some(&creator.access)).await;
    assert_eq!(user_error_codes(&negative["data"]["updateProfile"]), vec![("input.monthlySubKeys".to_owned(), "INVALID".to_owned())]);
    let out = app.gql(UPDATE, json!({ "input": { "monthlySubKeys": 12 } }), Some(&creator.access)).await;
    assert_eq!(out["data"]["updateProfile"]["profile"]["monthlySubKeys"], 12);

    // A fan's stored value is never shown.
    let fan = app.user("fan").await;
    app.sql(&format!("UPDATE profiles SET monthly_sub_keys = 7 WHERE user_id = '{}'", fan.id)).await;
    let out = app.gql(PROFILE, json!({ "id": fan.id }), Some(&creator.access)).await;
    assert!(out["data"]["profile"]["monthlySubKeys"].is_null(), "{out}");
}

#[tokio::test]
async fn profile_reads_follow_the_privacy_rules() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.gql(UPDATE, json!({ "input": { "birthDate": "1990-05-01", "bio": "hi" } }), Some(&alice.access)).await;

    let own = app.gql(PROFILE, json!({}), Some(&alice.access)).await;
    assert_eq!(own["data"]["profile"]["userId"], alice.id);
    assert_eq!(own["data"]["profile"]["birthDate"], "1990-05-01");
    let other = app.gql(PROFILE, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert_eq!(other["data"]["profile"]["bio"], "hi");
    assert!(other["data"]["profile"]["birthDate"].is_null());
    assert!(other["data"]["profile"]["age"].is_number());

    let unknown = app.gql(PROFILE, json!({ "id": "nobody" }), Some(&bob.access)).await;
    assert!(unknown["data"]["profile"].is_null() && unknown["errors"].is_null());
    app.sql(&format!("UPDATE users SET status = 'DEACTIVATED' WHERE id = '{}'", alice.id)).await;
    let hidden = app.gql(PROFILE, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert!(hidden["data"]["profile"].is_null());
    app.sql(&format!("UPDATE users SET role = 'STAFF' WHERE id = '{}'", bob.id)).await;
    let staff = app.gql(PROFILE, json!({ "id": alice.id }), Some(&bob.access)).await;
    assert_eq!(staff["data"]["profile"]["birthDate"], "1990-05-01");
    assert_eq!(error_code(&app.gql(PROFILE, json!({}), None).await), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn profiles_come_in_the_order_asked_with_nulls_and_a_cap() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let query = "query($ids: [ID!]!) { profiles(userIds: $ids) { userId } }";
    let out = app.gql(query, json!({ "ids": [bob.id, "missing", alice.id, bob.id] }), Some(&alice.access)).await;
    assert_eq!(out["data"]["profiles"], json!([{ "userId": bob.id }, null, { "userId": alice.id }, { "userId": bob.id }]));
    let too_many: Vec<String> = (0..101).map(|i| format!("id{i}")).collect();
    let out = app.gql(query, json!({ "ids": too_many }), Some(&alice.access)).await;
    assert_eq!(error_code(&out), Some("BAD_USER_INPUT"), "{out}");
    assert!(out["errors"][0]["message"].as_str().unwrap().contains("100"));
}

/// Inserts `count` users with profiles and a plan each, straight into the database.
async fn seed_users(app: &TestApp, count: usize) -> Vec<String> {
    use sea_orm::{EntityTrait, Set};
    use tessera::entities::{enums::*, profile, subscription_plan, user};
    let now = chrono::Utc::now();
    let plans: Vec<subscription_plan::ActiveModel> = (0..3)
        .map(|i| subscription_plan::ActiveModel {
            id: Set(format!("plan-{i}-{count}")),
            name: Set(format!("Plan {i} {count}")),
            name_lower: Set(format!("plan {i} {count}")),
            price_cents: Set(100 * i),
            currency: Set("USD".into()),
            interval_months: Set(1),
            created_at: Set(now),
        })
        .collect();
    subscription_plan::Entity::insert_many(plans).exec(&app.state.db).await.unwrap();
    let ids: Vec<String> = (0..count).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let users = ids.iter().enumerate().map(|(i, id)| user::ActiveModel {
        id: Set(id.clone()),
        email: Set(format!("{id}@example.com")),
        email_lower: Set(format!("{id}@example.com")),
        username: Set(None),
        username_lower: Set(None),
        phone_number: Set(None),
        password_hash: Set(Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into())),
        full_name: Set(Some(format!("Seeded {i}"))),
        full_name_lower: Set(Some(format!("seeded {i}"))),
        first_name: Set(None),
        last_name: Set(None),
        account_type: Set(if i % 2 == 0 { AccountType::Fan } else { AccountType::Creator }),
        role: Set(Role::User),
        status: Set(AccountStatus::Active),
        email_confirmed: Set(true),
        subscription_plan_id: Set(Some(format!("plan-{}-{count}", i % 3))),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    });
    user::Entity::insert_many(users).exec(&app.state.db).await.unwrap();
    let profiles = ids.iter().map(|id| profile::ActiveModel {
        user_id: Set(id.clone()),
        bio: Set(Some("seeded".into())),
        gender: Set(None),
        birth_date: Set(None),
        state: Set(None),
        city: Set(None),
        interests: Set("[\"COFFEE\"]".into()),
        monthly_sub_keys: Set(Some(3)),
        display_pic_key: Set(None),
        updated_at: Set(now),
    });
    profile::Entity::insert_many(profiles).exec(&app.state.db).await.unwrap();
    ids
}

#[tokio::test]
async fn profiles_with_users_and_plans_take_a_constant_number_of_statements() {
    let app = spawn_app().await;
    let viewer = app.user("viewer").await;
    app.sql(&format!("UPDATE users SET role = 'ADMIN' WHERE id = '{}'", viewer.id)).await;
    let few = seed_users(&app, 5).await;
    let many = seed_users(&app, 100).await;
    let query = "query($ids: [ID!]!) { profiles(userIds: $ids) { userId fullName bio monthlySubKeys user { id accountType subscriptionPlan { name } profile { bio } } } }";

    let mut counts = Vec::new();
    for ids in [&few, &many] {
        let before = app.state.statement_count();
        let out = app.gql(query, json!({ "ids": ids }), Some(&viewer.access)).await;
        counts.push(app.state.statement_count() - before);
        let profiles = out["data"]["profiles"].as_array().expect("profiles");
        assert_eq!(profiles.len(), ids.len(), "{out}");
        assert!(profiles.iter().all(|p| p["user"]["subscriptionPlan"]["name"].is_string()), "{out}");
    }
    assert_eq!(counts[0], counts[1], "statement count grew with the number of profiles: {counts:?}");
    // The viewer's session, the users joined with their profiles, the plans.
    assert!(counts[1] <= 3, "{counts:?}");
}

#[tokio::test]
async fn me_with_its_profile_is_one_statement() {
    let app = spawn_app().await;
    let viewer = app.user("viewer").await;
    let query = "{ me { id email profile { bio interests displayPicUrl } } }";
    // The first request may refresh the session's lastUsedAt; count a later one.
    app.gql(query, json!({}), Some(&viewer.access)).await;
    let before = app.state.statement_count();
    let out = app.gql(query, json!({}), Some(&viewer.access)).await;
    assert_eq!(app.state.statement_count() - before, 1, "{out}");
    assert_eq!(out["data"]["me"]["id"], json!(viewer.id), "{out}");
    assert!(out["data"]["me"]["profile"]["interests"].is_array(), "{out}");
}

#[tokio::test]
async fn a_user_looked_up_by_id_comes_with_the_session_check() {
    let app = spawn_app().await;
    let viewer = app.user("viewer").await;
    let alice = app.user("alice").await;
    app.gql(UPDATE, json!({ "input": { "bio": "hi" } }), Some(&alice.access)).await;
    let profile = "query($id: ID!) { profile(userId: $id) { userId bio user { id username } } }";
    let user = "query($id: ID!) { user(id: $id) { id username profile { bio } } }";
    // The first request may refresh the session's lastUsedAt; count later ones.
    app.gql("{ me { id } }", json!({}), Some(&viewer.access)).await;
    let counted = |query: &'static str, id: String| {
        let (app, token) = (&app, viewer.access.clone());
        async move {
            let before = app.state.statement_count();
            let out = app.gql(query, json!({ "id": id }), Some(&token)).await;
            (app.state.statement_count() - before, out)
        }
    };

    let (statements, out) = counted(profile, alice.id.clone()).await;
    assert_eq!(statements, 1, "{out}");
    assert_eq!(out["data"]["profile"], json!({ "userId": alice.id, "bio": "hi", "user": { "id": alice.id, "username": "alice" } }));
    let (statements, out) = counted(user, alice.id.clone()).await;
    assert_eq!(statements, 1, "{out}");
    assert_eq!(out["data"]["user"], json!({ "id": alice.id, "username": "alice", "profile": { "bio": "hi" } }));
    let literal = format!("{{ profile(userId: \"{}\") {{ bio }} }}", alice.id);
    let before = app.state.statement_count();
    let out = app.gql(&literal, json!({}), Some(&viewer.access)).await;
    assert_eq!((app.state.statement_count() - before, &out["data"]["profile"]["bio"]), (1, &json!("hi")), "{out}");

    // No such user: null, still one statement.
    let (statements, out) = counted(profile, "nobody".into()).await;
    assert_eq!((statements, &out["data"]["profile"]), (1, &json!(null)), "{out}");
    let (statements, out) = counted(user, "nobody".into()).await;
    assert!(out["data"]["user"].is_null() && out["errors"].is_null(), "{out}");
    assert!(statements <= 2, "{out}");

    // What comes with the session check goes through the same visibility rules.
    app.sql(&format!("UPDATE users SET status = 'SUSPENDED' WHERE id = '{}'", alice.id)).await;
    let (_, out) = counted(profile, alice.id.clone()).await;
    assert!(out["data"]["profile"].is_null(), "{out}");
    let (_, out) = counted(user, alice.id.clone()).await;
    assert!(out["data"]["user"].is_null(), "{out}");
    // And a revoked session is refused whatever the query looks up.
    app.sql(&format!("UPDATE sessions SET revoked_at = created_at WHERE user_id = '{}'", viewer.id)).await;
    let (_, out) = counted(profile, viewer.id.clone()).await;
    assert_eq!(error_code(&out), Some("UNAUTHENTICATED"), "{out}");
}

#[tokio::test]
async fn subscription_plans_are_listed() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    seed_users(&app, 1).await;
    let out = app.gql("{ subscriptionPlans { id name priceCents currency intervalMonths } }", json!({}), Some(&alice.access)).await;
    let plans = out["data"]["subscriptionPlans"].as_array().unwrap();
    assert_eq!(plans.len(), 3);
    assert_eq!(plans[0]["priceCents"], 0);
    assert_eq!(plans[0]["currency"], "USD");
}
