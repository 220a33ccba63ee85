//! Staff and admin tools: the permission matrix, the user list, roles,
//! statuses, plans, user deletion, and always keeping one admin.
use sea_orm::{ConnectionTrait, DatabaseBackend, QueryTrait, Statement, TransactionTrait};
use serde_json::{json, Value};
use tessera::accounts::signup::{insert_account, NewAccount};
use tessera::accounts::validate::{Email, Username};
use tessera::admin::service::{users_matching, UserQuery};
use tessera::entities::enums::{AccountType, Role};

use crate::helpers::*;

const USERS: &str = "query($first: Int, $after: String, $filter: UserFilter) { users(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id username email role status } } } }";
const SET_STATUS: &str = "mutation($id: ID!, $status: AccountStatus!) { setUserStatus(userId: $id, status: $status) { user { id status } userErrors { field code message } } }";
const SET_ROLE: &str =
    "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { user { id role } userErrors { field code message } } }";
const DELETE_USER: &str = "mutation($id: ID!) { deleteUser(userId: $id) { deletedUserId userErrors { field code message } } }";
const CREATE_PLAN: &str = "mutation($input: CreateSubscriptionPlanInput!) { createSubscriptionPlan(input: $input) { plan { id name priceCents currency intervalMonths } userErrors { field code message } } }";

/// Signs up `name` and gives them `role`.
async fn with_role(app: &TestApp, name: &str, role: &str) -> SignedIn {
    let user = app.user(name).await;
    app.set_role(&user.id, role).await;
    user
}

/// Adds `count` users straight through the account service (no HTTP, one
/// password hash for all), named `{prefix}{i}`; returns their ids, oldest first.
async fn add_users(app: &TestApp, prefix: &str, count: usize) -> Vec<String> {
    let hash = app.state.passwords.hash(PASSWORD).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..count {
        let account = NewAccount {
            email: Email::parse(&format!("{prefix}{i}@example.com")).unwrap(),
            username: Some(Username::parse(&format!("{prefix}{i}")).unwrap()),
            phone: None,
            full_name: Some(format!("{prefix} number {i}")),
            first_name: None,
            last_name: None,
            account_type: AccountType::Fan,
            role: Role::User,
        };
        let txn = app.state.db.begin().await.unwrap();
        ids.push(insert_account(&txn, &account, Some(hash.clone()), None).await.unwrap().id);
        txn.commit().await.unwrap();
    }
    ids
}

fn usernames(out: &Value) -> Vec<String> {
    out["data"]["users"]["edges"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|e| e["node"]["username"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn every_admin_operation_checks_the_role_of_whoever_asks() {
    let app = spawn_app().await;
    let user = app.user("plainuser").await;
    let staff = with_role(&app, "staffer", "STAFF").await;
    let admin = with_role(&app, "boss", "ADMIN").await;
    let callers: [(&str, Option<&str>); 4] =
        [("anonymous", None), ("user", Some(&user.access)), ("staff", Some(&staff.access)), ("admin", Some(&admin.access))];
    // What each caller gets: Some(code) is a top-level error, None is allowed.
    let staff_ops = [Some("UNAUTHENTICATED"), Some("FORBIDDEN"), None, None];
    let admin_ops = [Some("UNAUTHENTICATED"), Some("FORBIDDEN"), Some("FORBIDDEN"), None];

    // The expected code, and on refusal no data at all.
    let check = |out: &Value, expected: Option<&str>, what: &str| {
        assert_eq!(error_code(out), expected, "{what}: {out}");
        if expected.is_some() {
            assert!(out["data"].is_null(), "{what}: {out}");
        }
    };

    for (i, (who, token)) in callers.iter().enumerate() {
        // users (staff and admins)
        let out = app.gql(USERS, json!({}), *token).await;
        check(&out, staff_ops[i], &format!("users as {who}"));
        if staff_ops[i].is_none() {
            assert_eq!(out["data"]["users"]["totalCount"], 3 + 3 * i as i64, "{out}");
        }

        // setUserStatus (staff and admins), each caller on a target of its own
        let target = app.user(&format!("status{i}")).await;
        let out = app.gql(SET_STATUS, json!({ "id": target.id, "status": "SUSPENDED" }), *token).await;
        check(&out, staff_ops[i], &format!("setUserStatus as {who}"));
        let suspended = app.count(&format!("SELECT COUNT(*) FROM users WHERE id = '{}' AND status = 'SUSPENDED'", target.id)).await;
        assert_eq!(suspended, if staff_ops[i].is_none() { 1 } else { 0 }, "setUserStatus as {who}");

        // setUserRole (admins)
        let target = app.user(&format!("role{i}")).await;
        let out = app.gql(SET_ROLE, json!({ "id": target.id, "role": "STAFF" }), *token).await;
        check(&out, admin_ops[i], &format!("setUserRole as {who}"));
        let promoted = app.count(&format!("SELECT COUNT(*) FROM users WHERE id = '{}' AND role = 'STAFF'", target.id)).await;
        assert_eq!(promoted, if admin_ops[i].is_none() { 1 } else { 0 }, "setUserRole as {who}");

        // deleteUser (admins)
        let target = app.user(&format!("victim{i}")).await;
        let out = app.gql(DELETE_USER, json!({ "id": target.id }), *token).await;
        check(&out, admin_ops[i], &format!("deleteUser as {who}"));
        let left = app.count(&format!("SELECT COUNT(*) FROM users WHERE id = '{}'", target.id)).await;
        assert_eq!(left, if admin_ops[i].is_none() { 0 } else { 1 }, "deleteUser as {who}");

        // createSubscriptionPlan (admins)
        let name = format!("Plan by {who}");
        let out = app.gql(CREATE_PLAN, json!({ "input": { "name": name, "priceCents": 500, "currency": "USD" } }), *token).await;
        check(&out, admin_ops[i], &format!("createSubscriptionPlan as {who}"));
        let plans = app.count(&format!("SELECT COUNT(*) FROM subscription_plans WHERE name = '{name}'")).await;
        assert_eq!(plans, if admin_ops[i].is_none() { 1 } else { 0 }, "createSubscriptionPlan as {who}");
    }
}

/// Runs `tessera create-admin` as an operator would: settings from the
/// environment, the password on one line of stdin.
pub fn run_create_admin(database_url: String, data_dir: std::path::PathBuf, email: &str, password: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["create-admin", "--email", email])
        .env("DATABASE_URL", database_url)
        .env("DATA_DIR", data_dir)
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the tessera binary runs");
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn create_admin_makes_the_first_admin_from_the_library_and_the_command() {
    let app = spawn_app().await;
    let admin = tessera::accounts::signup::create_admin(&app.state, "root@example.com", Some("root"), PASSWORD).await.expect("an admin");
    assert_eq!(admin.role, Role::Admin);
    let root = app.signin_as("root").await;
    let out = app.gql(USERS, json!({}), Some(&root.access)).await;
    assert_eq!(out["data"]["users"]["edges"][0]["node"]["role"], "ADMIN", "{out}");

    // The binary, as an operator runs it: password on stdin, settings from the environment.
    let bob = app.user("bob").await;
    let (url, dir) = (app.state.config.database.url.expose().clone(), app.data_dir.clone());
    let refused = tokio::task::spawn_blocking(move || run_create_admin(url, dir, "bob@example.com", "short")).await.unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("password"), "{}", String::from_utf8_lossy(&refused.stderr));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM users WHERE id = '{}' AND role = 'USER'", bob.id)).await, 1);

    let (url, dir) = (app.state.config.database.url.expose().clone(), app.data_dir.clone());
    let done = tokio::task::spawn_blocking(move || run_create_admin(url, dir, "bob@example.com", "a new admin passphrase")).await.unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert!(String::from_utf8_lossy(&done.stdout).contains("bob@example.com"));
    // Bob is promoted with the new password, and his old token now carries admin rights.
    assert_eq!(app.signin("bob", "a new admin passphrase").await["data"]["signin"]["userErrors"], json!([]));
    let out = app.gql(DELETE_USER, json!({ "id": "nobody" }), Some(&bob.access)).await;
    assert!(out["errors"].is_null(), "{out}");
    assert_eq!(out["data"]["deleteUser"]["userErrors"][0]["code"], "NOT_FOUND");
    // Both are in the audit log, with no request behind them.
    let app = &app;
    let recorded = |sql: String| async move { app.count(&sql).await };
    let by_command = "AND detail LIKE '%tessera create-admin%' AND ip_address IS NULL AND actor_id IS NULL";
    assert_eq!(
        recorded(format!("SELECT COUNT(*) FROM security_events WHERE event_type = 'SIGNUP' AND user_id = '{}' {by_command}", admin.id))
            .await,
        1
    );
    for (kind, detail) in [("ROLE_CHANGED", "USER -> ADMIN (tessera create-admin)"), ("PASSWORD_CHANGED", "tessera create-admin")] {
        let sql =
            format!("SELECT COUNT(*) FROM security_events WHERE event_type = '{kind}' AND user_id = '{}' AND detail = '{detail}'", bob.id);
        assert_eq!(recorded(sql).await, 1, "{kind}");
    }
}

/// The README's create-admin line, exactly as written there, run with the
/// built binary in place of `cargo run --release --`.
#[tokio::test]
async fn the_readme_create_admin_example_works_as_written_and_refusals_print_the_api_codes() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let line = readme
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("printf '%s\\n' '") && l.contains("create-admin"))
        .expect("the README shows how to make the first admin");
    let (printf, command) = line.split_once(" | ").unwrap();
    let password = printf.trim_start_matches("printf '%s\\n' ").trim_matches('\'');
    let args: Vec<&str> = command.strip_prefix("cargo run --release -- ").expect("the README runs the release build").split(' ').collect();
    assert_eq!(args[..2], ["create-admin", "--email"], "{line}");
    let email = args[2].to_owned();

    let app = spawn_app().await;
    let (url, dir) = (app.state.config.database.url.expose().clone(), app.data_dir.clone());
    let (readme_email, readme_password) = (email.clone(), password.to_owned());
    let done = tokio::task::spawn_blocking(move || run_create_admin(url, dir, &readme_email, &readme_password)).await.unwrap();
    assert!(done.status.success(), "{line}\n{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM users WHERE email = '{email}' AND role = 'ADMIN'")).await, 1);
    assert_eq!(app.signin(&email, password).await["data"]["signin"]["userErrors"], json!([]));

    // A refusal prints what the API would answer: the field, the code as the schema spells it, the message.
    let (url, dir) = (app.state.config.database.url.expose().clone(), app.data_dir.clone());
    let refused = tokio::task::spawn_blocking(move || run_create_admin(url, dir, "carol@example.com", "carol2024")).await.unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("input.password: TOO_WEAK: This password is too close to your email or username."), "{stderr}");
    assert!(!stderr.contains("TooWeak"), "{stderr}");
}

#[tokio::test]
async fn users_are_listed_newest_first_with_cursors_that_hold_while_users_are_added() {
    let app = spawn_app().await;
    let staff = with_role(&app, "staffer", "STAFF").await;
    add_users(&app, "old", 5).await;

    let first = app.gql(USERS, json!({ "first": 2 }), Some(&staff.access)).await;
    assert_eq!(usernames(&first), ["old4", "old3"], "{first}");
    assert_eq!(first["data"]["users"]["totalCount"], 6);
    assert_eq!(first["data"]["users"]["pageInfo"]["hasNextPage"], true);
    let cursor = first["data"]["users"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    assert_eq!(cursor, first["data"]["users"]["edges"][1]["cursor"]);
    // Staff see private fields of everyone listed.
    assert_eq!(first["data"]["users"]["edges"][0]["node"]["email"], "old4@example.com");

    add_users(&app, "new", 3).await;
    let second = app.gql(USERS, json!({ "first": 3, "after": cursor }), Some(&staff.access)).await;
    assert_eq!(usernames(&second), ["old2", "old1", "old0"], "{second}");
    assert_eq!(second["data"]["users"]["totalCount"], 9);
    assert_eq!(second["data"]["users"]["pageInfo"]["hasNextPage"], true);
    let cursor = second["data"]["users"]["pageInfo"]["endCursor"].as_str().unwrap().to_owned();
    let last = app.gql(USERS, json!({ "first": 3, "after": cursor }), Some(&staff.access)).await;
    assert_eq!(usernames(&last), ["staffer"], "{last}");
    assert_eq!(last["data"]["users"]["pageInfo"]["hasNextPage"], false);

    let all = app.gql(USERS, json!({ "first": 100 }), Some(&staff.access)).await;
    assert_eq!(usernames(&all), ["new2", "new1", "new0", "old4", "old3", "old2", "old1", "old0", "staffer"]);
    let none = app.gql(USERS, json!({ "first": 0 }), Some(&staff.access)).await;
    assert_eq!(usernames(&none).len(), 0);
    assert_eq!(none["data"]["users"]["pageInfo"]["hasNextPage"], true);

    for bad in [json!({ "first": 101 }), json!({ "first": -1 }), json!({ "after": "bm90IGEgY3Vyc29y" }), json!({ "after": "%%%" })] {
        let out = app.gql(USERS, bad.clone(), Some(&staff.access)).await;
        assert_eq!(error_code(&out), Some("BAD_USER_INPUT"), "{bad}: {out}");
    }
}

#[tokio::test]
async fn users_can_be_filtered_and_searched_by_prefix_ignoring_case() {
    let app = spawn_app().await;
    let staff = with_role(&app, "staffer", "STAFF").await;
    let signup = |email: &str, username: &str, full_name: &str, account_type: &str| {
        let input =
            json!({ "email": email, "username": username, "fullName": full_name, "password": PASSWORD, "accountType": account_type });
        app.gql("mutation($i: SignupInput!) { signup(input: $i) { user { id } userErrors { code } } }", json!({ "i": input }), None)
    };
    signup("Ann.Lee@example.com", "zed", "Zed One", "FAN").await;
    signup("zoe@example.com", "annie_b", "Zoe Two", "CREATOR").await;
    signup("yan@example.com", "yan", "ANNA Smith", "FAN").await;
    signup("joanne@example.com", "joanne", "Jo Anne", "FAN").await;
    signup("a_b@example.com", "a_b", "Under Score", "FAN").await;
    signup("axb@example.com", "axb", "Ex Be", "CREATOR").await;
    app.sql("UPDATE users SET email_confirmed = TRUE WHERE username IN ('zed', 'yan')").await;
    app.sql("UPDATE users SET status = 'SUSPENDED' WHERE username = 'axb'").await;

    let search = |filter: Value| app.gql(USERS, json!({ "filter": filter }), Some(&staff.access));
    let found = |out: &Value| {
        let mut names = usernames(out);
        names.sort();
        names
    };
    let out = search(json!({ "search": "  ANN " })).await;
    assert_eq!(found(&out), ["annie_b", "yan", "zed"], "{out}");
    assert_eq!(out["data"]["users"]["totalCount"], 3);
    // '_' and '%' are matched literally, not as wildcards.
    assert_eq!(found(&search(json!({ "search": "a_" })).await), ["a_b"]);
    assert_eq!(found(&search(json!({ "search": "%" })).await), Vec::<String>::new());
    assert_eq!(found(&search(json!({ "search": "jo" })).await), ["joanne"]);

    assert_eq!(found(&search(json!({ "accountType": "CREATOR" })).await), ["annie_b", "axb"]);
    assert_eq!(found(&search(json!({ "emailConfirmed": true })).await), ["yan", "zed"]);
    assert_eq!(found(&search(json!({ "status": "SUSPENDED" })).await), ["axb"]);
    assert_eq!(found(&search(json!({ "role": "STAFF" })).await), ["staffer"]);
    let out = search(json!({ "search": "a", "accountType": "FAN", "status": "ACTIVE" })).await;
    assert_eq!(found(&out), ["a_b", "yan", "zed"], "{out}");
    assert_eq!(out["data"]["users"]["totalCount"], 3);
}

#[tokio::test]
async fn the_user_search_uses_an_index() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let query = UserQuery { search: Some("ann".into()), ..Default::default() };
    let statement = users_matching(&query).build(db.get_database_backend());
    let values = statement.values.clone().unwrap();
    // One connection for all: a real read first makes it load the schema as
    // the migrations left it (EXPLAIN alone never checks for a newer one).
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared("SELECT COUNT(*) FROM users").await.unwrap();
    let plan: Vec<String> = if on_postgres() {
        // An empty table is cheapest to scan, so forbid that to see whether an index can serve at all.
        txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(DatabaseBackend::Postgres, format!("EXPLAIN {}", statement.sql), values))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
    } else {
        let rows = txn
            .query_all_raw(Statement::from_sql_and_values(DatabaseBackend::Sqlite, format!("EXPLAIN QUERY PLAN {}", statement.sql), values))
            .await
            .unwrap();
        rows.iter().map(|r| r.try_get::<String>("", "detail").unwrap()).collect()
    };
    let plan = plan.join("\n");
    for index in ["ix_users_email_lower_prefix", "ix_users_username_lower_prefix", "ix_users_full_name_lower_prefix"] {
        assert!(plan.contains(index), "{index} is not used by {}:\n{plan}", statement.sql);
    }
    assert!(!plan.contains("Seq Scan") && !plan.contains("SCAN users"), "a full scan:\n{plan}");
}

/// Gives every user the plan, a linked Instagram account and an image, then
/// lists them all with those fields: (users listed, statements spent).
async fn statements_to_list(app: &TestApp, plan_id: &str, token: &str) -> (usize, u64) {
    app.sql(&format!("UPDATE users SET subscription_plan_id = '{plan_id}'")).await;
    app.sql("INSERT INTO instagram_accounts (user_id, username, linked_at) SELECT id, username, created_at FROM users WHERE id NOT IN (SELECT user_id FROM instagram_accounts)").await;
    app.sql("INSERT INTO instagram_images (user_id, image_id, instagram_url, raw_image_url, orig_width, orig_height, added_at) SELECT id, 'img', 'https://i.example/p', 'https://cdn.example/p.jpg', 10, 10, created_at FROM users WHERE id NOT IN (SELECT user_id FROM instagram_images)").await;
    let query = "{ users(first: 100) { totalCount edges { node { id email profile { bio } subscriptionPlan { name } instagram { username imageCount } } } } }";
    let before = app.state.statement_count();
    let out = app.gql(query, json!({}), Some(token)).await;
    let spent = app.state.statement_count() - before;
    assert!(out["errors"].is_null(), "{out}");
    let edges = out["data"]["users"]["edges"].as_array().unwrap();
    for edge in edges {
        assert_eq!(edge["node"]["subscriptionPlan"]["name"], "Gold", "{out}");
        assert_eq!(edge["node"]["instagram"]["imageCount"], 1, "{out}");
        assert!(edge["node"]["profile"].is_object() && edge["node"]["email"].is_string(), "{out}");
    }
    (edges.len(), spent)
}

#[tokio::test]
async fn listing_users_with_profiles_plans_and_instagram_takes_the_same_statements_for_5_or_40() {
    let app = spawn_app().await;
    let staff = with_role(&app, "staffer", "STAFF").await;
    let admin = with_role(&app, "boss", "ADMIN").await;
    let plan =
        app.gql(CREATE_PLAN, json!({ "input": { "name": "Gold", "priceCents": 999, "currency": "EUR" } }), Some(&admin.access)).await;
    let plan_id = plan["data"]["createSubscriptionPlan"]["plan"]["id"].as_str().unwrap().to_owned();

    add_users(&app, "few", 3).await;
    let (listed_few, few) = statements_to_list(&app, &plan_id, &staff.access).await;
    add_users(&app, "many", 35).await;
    let (listed_many, many) = statements_to_list(&app, &plan_id, &staff.access).await;
    assert_eq!((listed_few, listed_many), (5, 40));
    assert_eq!(few, many, "statements for 5 users: {few}, for 40: {many}");
    // authenticate, count, page, profiles, plans, Instagram accounts, image counts
    assert!(many <= 7, "{many} statements");
}

#[tokio::test]
async fn suspending_or_deactivating_ends_sessions_and_signin_says_why() {
    let app = spawn_app().await;
    let staff = with_role(&app, "staffer", "STAFF").await;
    let alice = app.user("alice").await;
    let laptop = app.signin_as("alice").await;

    let out = app.gql(SET_STATUS, json!({ "id": alice.id, "status": "SUSPENDED" }), Some(&staff.access)).await;
    assert_eq!(out["data"]["setUserStatus"]["user"]["status"], "SUSPENDED", "{out}");
    for token in [&alice.access, &laptop.access] {
        assert_eq!(error_code(&app.me(token).await), Some("UNAUTHENTICATED"));
    }
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM sessions WHERE user_id = '{}' AND revoked_at IS NULL", alice.id)).await, 0);
    assert_eq!(app.signin("alice", PASSWORD).await["data"]["signin"]["userErrors"][0]["code"], "ACCOUNT_SUSPENDED");

    app.gql(SET_STATUS, json!({ "id": alice.id, "status": "DEACTIVATED" }), Some(&staff.access)).await;
    assert_eq!(app.signin("alice", PASSWORD).await["data"]["signin"]["userErrors"][0]["code"], "ACCOUNT_INACTIVE");

    let out = app.gql(SET_STATUS, json!({ "id": alice.id, "status": "ACTIVE" }), Some(&staff.access)).await;
    assert_eq!(out["data"]["setUserStatus"]["user"]["status"], "ACTIVE");
    let back = app.signin_as("alice").await;
    assert_eq!(app.me(&back.access).await["data"]["me"]["id"], alice.id);

    let out = app.gql(SET_STATUS, json!({ "id": "no-such-user", "status": "SUSPENDED" }), Some(&staff.access)).await;
    assert_eq!(user_error_codes(&out["data"]["setUserStatus"]), [("userId".to_owned(), "NOT_FOUND".to_owned())]);
    assert!(out["data"]["setUserStatus"]["user"].is_null());

    // Staff cannot take an admin out.
    let admin = with_role(&app, "boss", "ADMIN").await;
    let out = app.gql(SET_STATUS, json!({ "id": admin.id, "status": "SUSPENDED" }), Some(&staff.access)).await;
    assert_eq!(user_error_codes(&out["data"]["setUserStatus"]), [("userId".to_owned(), "NOT_ALLOWED".to_owned())]);
    assert_eq!(app.me(&admin.access).await["data"]["me"]["id"], admin.id);
}

#[tokio::test]
async fn roles_change_what_a_user_may_do_at_once() {
    let app = spawn_app().await;
    let admin = with_role(&app, "boss", "ADMIN").await;
    let bob = app.user("bob").await;
    assert_eq!(error_code(&app.gql(USERS, json!({}), Some(&bob.access)).await), Some("FORBIDDEN"));

    let out = app.gql(SET_ROLE, json!({ "id": bob.id, "role": "STAFF" }), Some(&admin.access)).await;
    assert_eq!(out["data"]["setUserRole"]["user"]["role"], "STAFF", "{out}");
    assert!(app.gql(USERS, json!({}), Some(&bob.access)).await["errors"].is_null());
    assert_eq!(error_code(&app.gql(DELETE_USER, json!({ "id": admin.id }), Some(&bob.access)).await), Some("FORBIDDEN"));

    let out = app.gql(SET_ROLE, json!({ "id": bob.id, "role": "USER" }), Some(&admin.access)).await;
    assert_eq!(out["data"]["setUserRole"]["user"]["role"], "USER");
    assert_eq!(error_code(&app.gql(USERS, json!({}), Some(&bob.access)).await), Some("FORBIDDEN"));

    let out = app.gql(SET_ROLE, json!({ "id": "no-such-user", "role": "STAFF" }), Some(&admin.access)).await;
    assert_eq!(user_error_codes(&out["data"]["setUserRole"]), [("userId".to_owned(), "NOT_FOUND".to_owned())]);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_demoted_suspended_or_deleted() {
    let app = spawn_app().await;
    let first = with_role(&app, "first", "ADMIN").await;
    let refused = |out: &Value, field: &str| {
        let payload = out["data"].as_object().unwrap().values().next().unwrap().clone();
        assert_eq!(payload["userErrors"][0]["code"], "NOT_ALLOWED", "{out}");
        assert_eq!(payload["userErrors"][0]["field"][0], field, "{out}");
    };
    refused(&app.gql(SET_ROLE, json!({ "id": first.id, "role": "STAFF" }), Some(&first.access)).await, "role");
    refused(&app.gql(SET_STATUS, json!({ "id": first.id, "status": "SUSPENDED" }), Some(&first.access)).await, "status");
    refused(&app.gql(DELETE_USER, json!({ "id": first.id }), Some(&first.access)).await, "userId");
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'ADMIN' AND status = 'ACTIVE'").await, 1);
    assert_eq!(app.me(&first.access).await["data"]["me"]["id"], first.id);

    // A suspended admin does not count.
    let second = with_role(&app, "second", "ADMIN").await;
    app.sql(&format!("UPDATE users SET status = 'SUSPENDED' WHERE id = '{}'", second.id)).await;
    refused(&app.gql(SET_ROLE, json!({ "id": first.id, "role": "USER" }), Some(&first.access)).await, "role");

    // With another active admin, the first may step down.
    let out = app.gql(SET_STATUS, json!({ "id": second.id, "status": "ACTIVE" }), Some(&first.access)).await;
    assert_eq!(out["data"]["setUserStatus"]["user"]["status"], "ACTIVE", "{out}");
    let out = app.gql(SET_ROLE, json!({ "id": first.id, "role": "USER" }), Some(&first.access)).await;
    assert_eq!(out["data"]["setUserRole"]["user"]["role"], "USER", "{out}");
    assert_eq!(error_code(&app.gql(SET_ROLE, json!({ "id": second.id, "role": "USER" }), Some(&first.access)).await), Some("FORBIDDEN"));
    let second_token = app.signin_as("second").await;
    refused(&app.gql(SET_ROLE, json!({ "id": second.id, "role": "USER" }), Some(&second_token.access)).await, "role");
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    let app = spawn_app().await;
    for round in 0..4 {
        let a = with_role(&app, &format!("alpha{round}"), "ADMIN").await;
        let b = with_role(&app, &format!("beta{round}"), "ADMIN").await;
        // Only these two are active admins this round.
        app.sql(&format!("UPDATE users SET role = 'USER' WHERE role = 'ADMIN' AND id NOT IN ('{}', '{}')", a.id, b.id)).await;
        let (one, two) = tokio::join!(
            app.gql(SET_ROLE, json!({ "id": b.id, "role": "USER" }), Some(&a.access)),
            app.gql(SET_ROLE, json!({ "id": a.id, "role": "USER" }), Some(&b.access)),
        );
        let admins = app.count("SELECT COUNT(*) FROM users WHERE role = 'ADMIN' AND status = 'ACTIVE'").await;
        assert_eq!(admins, 1, "round {round}: {one} {two}");
        // One won; the other lost either to the guard or, once demoted, to the role check.
        let won = [&one, &two].iter().filter(|o| o["data"]["setUserRole"]["user"]["role"] == "USER").count();
        assert_eq!(won, 1, "round {round}: {one} {two}");
    }
}

#[tokio::test]
async fn delete_user_removes_the_account_and_everything_it_owns() {
    let app = spawn_app().await;
    let admin = with_role(&app, "boss", "ADMIN").await;
    let alice = app.user("alice").await;
    app.gql("mutation { linkInstagram(username: \"alice\") { userErrors { code } } }", json!({}), Some(&alice.access)).await;
    let out = app.gql(DELETE_USER, json!({ "id": alice.id }), Some(&admin.access)).await;
    assert_eq!(out["data"]["deleteUser"]["deletedUserId"], alice.id, "{out}");
    assert_eq!(error_code(&app.me(&alice.access).await), Some("UNAUTHENTICATED"));
    for table in ["users WHERE id", "sessions WHERE user_id", "profiles WHERE user_id", "instagram_accounts WHERE user_id"] {
        assert_eq!(app.count(&format!("SELECT COUNT(*) FROM {table} = '{}'", alice.id)).await, 0, "{table}");
    }
    let again = app.gql(DELETE_USER, json!({ "id": alice.id }), Some(&admin.access)).await;
    assert_eq!(user_error_codes(&again["data"]["deleteUser"]), [("userId".to_owned(), "NOT_FOUND".to_owned())]);
    assert!(again["data"]["deleteUser"]["deletedUserId"].is_null());
    // The name is free again.
    assert_eq!(app.signup("alice@example.com", "alice").await["data"]["signup"]["userErrors"], json!([]));
}

#[tokio::test]
async fn plans_are_checked_field_by_field_and_names_are_unique_ignoring_case() {
    let app = spawn_app().await;
    let admin = with_role(&app, "boss", "ADMIN").await;
    let create = |input: Value| app.gql(CREATE_PLAN, json!({ "input": input }), Some(&admin.access));

    let out = create(json!({ "name": "  Gold Monthly ", "priceCents": 0, "currency": "EUR" })).await;
    let plan = &out["data"]["createSubscriptionPlan"]["plan"];
    assert_eq!(plan["name"], "Gold Monthly", "{out}");
    assert_eq!((plan["priceCents"].as_i64(), plan["currency"].as_str(), plan["intervalMonths"].as_i64()), (Some(0), Some("EUR"), Some(1)));
    let listed = app.gql("{ subscriptionPlans { id name } }", json!({}), Some(&admin.access)).await;
    assert_eq!(listed["data"]["subscriptionPlans"][0]["id"], plan["id"]);

    let out = create(json!({ "name": "GOLD monthly", "priceCents": 100, "currency": "USD" })).await;
    assert_eq!(user_error_codes(&out["data"]["createSubscriptionPlan"]), [("input.name".to_owned(), "TAKEN".to_owned())]);
    assert!(out["data"]["createSubscriptionPlan"]["plan"].is_null());

    let out = create(json!({ "name": "", "priceCents": -1, "currency": "usd", "intervalMonths": 0 })).await;
    let mut codes = user_error_codes(&out["data"]["createSubscriptionPlan"]);
    codes.sort();
    let expected =
        [("input.currency", "INVALID"), ("input.intervalMonths", "INVALID"), ("input.name", "REQUIRED"), ("input.priceCents", "INVALID")];
    assert_eq!(codes, expected.map(|(f, c)| (f.to_owned(), c.to_owned())), "{out}");

    for (input, field, code) in [
        (json!({ "name": "x".repeat(101), "priceCents": 1, "currency": "USD" }), "input.name", "TOO_LONG"),
        (json!({ "name": "Odd", "priceCents": 1, "currency": "XYZ" }), "input.currency", "INVALID"),
        (json!({ "name": "Odd", "priceCents": 1, "currency": "" }), "input.currency", "REQUIRED"),
        (json!({ "name": "Odd", "priceCents": 1, "currency": "USDX" }), "input.currency", "INVALID"),
        (json!({ "name": "Odd", "priceCents": 1, "currency": "USD", "intervalMonths": 121 }), "input.intervalMonths", "INVALID"),
    ] {
        let out = create(input).await;
        assert_eq!(user_error_codes(&out["data"]["createSubscriptionPlan"]), [(field.to_owned(), code.to_owned())], "{out}");
    }
    let out = create(json!({ "name": "Yearly", "priceCents": 9900, "currency": "JPY", "intervalMonths": 12 })).await;
    assert_eq!(out["data"]["createSubscriptionPlan"]["plan"]["intervalMonths"], 12, "{out}");
    assert_eq!(app.count("SELECT COUNT(*) FROM subscription_plans").await, 2);
}
