//! The security history and the audit log: what is recorded, with what,
//! for whom, always together with the change, and for how long.
use std::time::Duration;

use serde_json::{json, Value};
use tessera::config::Secret;

use crate::helpers::*;
use crate::mail_helpers::{eventually, SmtpServer};

const HISTORY: &str = "query($first: Int, $after: String) {
  securityEvents(first: $first, after: $after) {
    edges { cursor node { id type at userId actorId ipAddress userAgent detail } }
    pageInfo { hasNextPage endCursor }
  }
}";
const AUDIT: &str = "query($first: Int, $after: String, $filter: AuditLogFilter) {
  auditLog(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id type at userId actorId ipAddress userAgent detail } }
    pageInfo { hasNextPage endCursor }
  }
}";

fn nodes(out: &Value, field: &str) -> Vec<Value> {
    out["data"][field]["edges"].as_array().unwrap_or_else(|| panic!("{out}")).iter().map(|e| e["node"].clone()).collect()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn history(app: &TestApp, token: &str) -> Vec<Value> {
    nodes(&app.gql(HISTORY, json!({ "first": 100 }), Some(token)).await, "securityEvents")
}

async fn audit(app: &TestApp, admin: &SignedIn, filter: Value) -> Vec<Value> {
    nodes(&app.gql(AUDIT, json!({ "first": 100, "filter": filter }), Some(&admin.access)).await, "auditLog")
}

async fn admin(app: &TestApp, name: &str) -> SignedIn {
    let admin = app.user(name).await;
    app.set_role(&admin.id, "ADMIN").await;
    admin
}

const REFRESH: &str =
    "mutation($t: String!) { refreshTokens(refreshToken: $t) { tokens { accessToken refreshToken } userErrors { code } } }";

#[tokio::test]
async fn a_users_own_actions_are_in_their_history_newest_first_with_ip_and_user_agent() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let bob = app.user("bob").await;
    assert_eq!(app.signin("ann", "not the password").await["data"]["signin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    // A refresh token used twice ends its session.
    let second = app.signin_as("ann").await;
    let out = app.gql(REFRESH, json!({ "t": second.refresh }), None).await;
    assert_eq!(out["data"]["refreshTokens"]["userErrors"], json!([]), "{out}");
    let out = app.gql(REFRESH, json!({ "t": second.refresh }), None).await;
    assert_eq!(out["data"]["refreshTokens"]["userErrors"][0]["code"], "INVALID_TOKEN", "{out}");
    // Another device signs out through revokeSession.
    let third = app.signin_as("ann").await;
    let sid = claims_of(&third.access)["sid"].as_str().unwrap().to_owned();
    let out = app.gql("mutation($id: ID!) { revokeSession(id: $id) { success } }", json!({ "id": sid }), Some(&ann.access)).await;
    assert_eq!(out["data"]["revokeSession"]["success"], true, "{out}");
    let out = app
        .gql(
            "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { success } }",
            json!({ "i": { "currentPassword": PASSWORD, "newPassword": "a quite different secret" } }),
            Some(&ann.access),
        )
        .await;
    assert_eq!(out["data"]["changePassword"]["success"], true, "{out}");
    let out = app
        .gql("mutation { updateAccount(input: { email: \"ann@new.example\" }) { userErrors { code } } }", json!({}), Some(&ann.access))
        .await;
    assert_eq!(out["data"]["updateAccount"]["userErrors"], json!([]), "{out}");
    app.gql("mutation { requestPasswordReset(email: \"ann@new.example\") { success } }", json!({}), None).await;
    eventually("the reset request is recorded", || async {
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'PASSWORD_RESET_REQUESTED'").await == 1
    })
    .await;
    let fourth = app.signin("ann", "a quite different secret").await;
    let fourth = fourth["data"]["signin"]["tokens"]["accessToken"].as_str().unwrap().to_owned();
    app.gql("mutation { signout { revokedSessions } }", json!({}), Some(&fourth)).await;

    let events = history(&app, &ann.access).await;
    assert_eq!(
        types(&events),
        vec![
            "SIGNOUT",
            "SIGNIN",
            "PASSWORD_RESET_REQUESTED",
            "EMAIL_CHANGED",
            "PASSWORD_CHANGED",
            "SESSION_REVOKED",
            "SIGNIN",
            "TOKEN_REUSE_DETECTED",
            "SIGNIN",
            "SIGNIN_FAILED",
            "SIGNIN",
            "SIGNUP",
        ]
    );
    for event in &events {
        assert_eq!(event["userId"], ann.id.as_str());
        assert!(event["actorId"].is_null(), "{event}");
        assert_eq!(event["ipAddress"], "127.0.0.1");
        assert_eq!(event["userAgent"], "tessera-tests/1.0");
    }
    let at: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "newest first: {at:?}");
    let detail = |kind: &str| events.iter().find(|e| e["type"] == kind).unwrap()["detail"].clone();
    assert_eq!(detail("SIGNIN_FAILED"), "wrong password");
    assert_eq!(detail("SESSION_REVOKED"), format!("session {sid}"));
    assert_eq!(detail("SIGNOUT"), "this session");
    assert_eq!(detail("PASSWORD_CHANGED"), "other sessions ended (0)");
    // Nothing secret is ever stored: no password, no token.
    let everything = app.gql(HISTORY, json!({ "first": 100 }), Some(&ann.access)).await.to_string();
    for secret in [PASSWORD, "a quite different secret", &second.refresh, &ann.access] {
        assert!(!everything.contains(secret));
    }
    // Bob sees his own history only.
    assert_eq!(types(&history(&app, &bob.access).await), vec!["SIGNIN", "SIGNUP"]);
    assert_eq!(error_code(&app.gql(HISTORY, json!({}), None).await), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn signout_all_deactivation_and_the_mail_flows_are_recorded() {
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(Secret::new(smtp_url))).await;
    let cy = app.user("cyd").await;
    app.signin_as("cyd").await;
    let token = smtp.nth("cyd@example.com", 1).await.token("http://app.test", "confirm-email");
    app.gql("mutation($t: String!) { confirmEmail(token: $t) { userErrors { code } } }", json!({ "t": token }), None).await;
    app.gql("mutation { requestPasswordReset(email: \"cyd@example.com\") { success } }", json!({}), None).await;
    let token = smtp.nth("cyd@example.com", 2).await.token("http://app.test", "reset-password");
    let out = app
        .gql(
            "mutation($i: ResetPasswordInput!) { resetPassword(input: $i) { success } }",
            json!({ "i": { "token": token, "newPassword": "another long password" } }),
            None,
        )
        .await;
    assert_eq!(out["data"]["resetPassword"]["success"], true, "{out}");
    let cy2 = app.signin("cyd", "another long password").await["data"]["signin"]["tokens"]["accessToken"].as_str().unwrap().to_owned();
    app.signin("cyd", "another long password").await;
    let out = app.gql("mutation { signoutAll { revokedSessions } }", json!({}), Some(&cy2)).await;
    assert_eq!(out["data"]["signoutAll"]["revokedSessions"], 2);
    let cy3 = app.signin("cyd", "another long password").await["data"]["signin"]["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let events = history(&app, &cy3).await;
    app.gql("mutation { deactivateAccount { success } }", json!({}), Some(&cy3)).await;
    assert_eq!(
        types(&events),
        vec![
            "SIGNIN",
            "SIGNOUT",
            "SIGNIN",
            "SIGNIN",
            "PASSWORD_RESET",
            "PASSWORD_RESET_REQUESTED",
            "EMAIL_CONFIRMED",
            "SIGNIN",
            "SIGNIN",
            "SIGNUP"
        ]
    );
    assert_eq!(events[1]["detail"], "every session (2)");
    assert_eq!(events[4]["detail"], "every session ended (2)");
    // Deactivated: the history is for admins now.
    let root = admin(&app, "root").await;
    let cy_events = audit(&app, &root, json!({ "userId": cy.id })).await;
    assert_eq!(cy_events[0]["type"], "ACCOUNT_DEACTIVATED");
    assert_eq!(cy_events[0]["detail"], "every session ended (1)");
    // Signing in to a deactivated account with the right password fails, and says why in the log.
    app.signin("cyd", "another long password").await;
    let failed = audit(&app, &root, json!({ "userId": cy.id, "types": ["SIGNIN_FAILED"] })).await;
    assert_eq!(failed[0]["detail"], "account deactivated");
}

#[tokio::test]
async fn a_failed_signin_for_an_unknown_login_is_recorded_without_a_user() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    app.signin("nobody-by-this-name", "some password").await;
    let failed = audit(&app, &root, json!({ "types": ["SIGNIN_FAILED"] })).await;
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["userId"].is_null());
    assert_eq!(failed[0]["detail"], "unknown login");
    assert_eq!(failed[0]["ipAddress"], "127.0.0.1");
    // The login typed is not kept: it may be a password typed in the wrong box.
    assert_eq!(app.count("SELECT COUNT(*) FROM security_events WHERE detail LIKE '%nobody%'").await, 0);
}

#[tokio::test]
async fn a_lockout_is_recorded_once_not_per_refused_attempt() {
    let app = spawn_app_with(|s| s.limits.signin_max_failures = 3).await;
    let root = admin(&app, "root").await;
    let dee = app.user("dee").await;
    for _ in 0..3 {
        app.signin("dee", "wrong password!").await;
    }
    // Locked: refused even with the right password, and not recorded again.
    for _ in 0..4 {
        let out = app.signin("dee", PASSWORD).await;
        assert_eq!(error_code(&out), Some("RATE_LIMITED"), "{out}");
    }
    let events = audit(&app, &root, json!({ "userId": dee.id, "types": ["SIGNIN_FAILED", "ACCOUNT_LOCKED"] })).await;
    assert_eq!(types(&events), vec!["ACCOUNT_LOCKED", "SIGNIN_FAILED", "SIGNIN_FAILED", "SIGNIN_FAILED"]);
    assert_eq!(events[0]["detail"], "3 failed signins within 15m; wrong password");
}

#[tokio::test]
async fn staff_and_admin_changes_name_the_actor_and_a_deleted_users_events_lose_their_id() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    let stan = app.user("stan").await;
    app.set_role(&stan.id, "STAFF").await;
    let eve = app.user("eve").await;
    let set_status = |who: &SignedIn, status: &str| {
        let (token, id, status) = (who.access.clone(), eve.id.clone(), status.to_owned());
        let app = &app;
        async move {
            let out = app
                .gql(
                    "mutation($id: ID!, $s: AccountStatus!) { setUserStatus(userId: $id, status: $s) { userErrors { code } } }",
                    json!({ "id": id, "s": status }),
                    Some(&token),
                )
                .await;
            assert_eq!(out["data"]["setUserStatus"]["userErrors"], json!([]), "{out}");
        }
    };
    set_status(&stan, "SUSPENDED").await;
    set_status(&root, "ACTIVE").await;
    // The same status again changes nothing and records nothing.
    set_status(&root, "ACTIVE").await;
    let out = app
        .gql(
            "mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { userErrors { code } } }",
            json!({ "id": eve.id }),
            Some(&root.access),
        )
        .await;
    assert_eq!(out["data"]["setUserRole"]["userErrors"], json!([]), "{out}");

    let events = audit(&app, &root, json!({ "userId": eve.id, "types": ["STATUS_CHANGED", "ROLE_CHANGED"] })).await;
    let summary: Vec<(Value, Value, Value)> =
        events.iter().map(|e| (e["type"].clone(), e["actorId"].clone(), e["detail"].clone())).collect();
    assert_eq!(
        summary,
        vec![
            (json!("ROLE_CHANGED"), json!(root.id), json!("USER -> STAFF")),
            (json!("STATUS_CHANGED"), json!(root.id), json!("SUSPENDED -> ACTIVE")),
            (json!("STATUS_CHANGED"), json!(stan.id), json!("ACTIVE -> SUSPENDED; sessions ended (1)")),
        ]
    );
    // The actor filter finds what someone did to others.
    let by_stan = audit(&app, &root, json!({ "actorId": stan.id })).await;
    assert_eq!(types(&by_stan), vec!["STATUS_CHANGED"]);

    let out =
        app.gql("mutation($id: ID!) { deleteUser(userId: $id) { deletedUserId } }", json!({ "id": eve.id }), Some(&root.access)).await;
    assert_eq!(out["data"]["deleteUser"]["deletedUserId"], eve.id.as_str(), "{out}");
    assert!(audit(&app, &root, json!({ "userId": eve.id })).await.is_empty(), "the history no longer names the user");
    let deleted = audit(&app, &root, json!({ "types": ["ACCOUNT_DELETED"] })).await;
    assert_eq!(deleted.len(), 1);
    assert!(deleted[0]["userId"].is_null());
    assert_eq!((deleted[0]["actorId"].as_str(), deleted[0]["detail"].as_str()), (Some(&*root.id), Some(&*format!("user {}", eve.id))));
    // Her signup and signin are still there, without her id.
    assert_eq!(app.count("SELECT COUNT(*) FROM security_events WHERE user_id IS NULL AND event_type IN ('SIGNUP', 'SIGNIN')").await, 2);
}

#[tokio::test]
async fn the_audit_log_is_for_admins_and_filters_by_user_actor_type_and_time() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    let stan = app.user("stan").await;
    app.set_role(&stan.id, "STAFF").await;
    let fay = app.user("fay").await;
    for who in [&stan, &fay] {
        assert_eq!(error_code(&app.gql(AUDIT, json!({}), Some(&who.access)).await), Some("FORBIDDEN"));
    }
    assert_eq!(error_code(&app.gql(AUDIT, json!({}), None).await), Some("UNAUTHENTICATED"));

    let everything = audit(&app, &root, json!(null)).await;
    assert_eq!(types(&everything), vec!["SIGNIN", "SIGNUP", "SIGNIN", "SIGNUP", "SIGNIN", "SIGNUP"]);
    assert_eq!(types(&audit(&app, &root, json!({ "userId": fay.id })).await), vec!["SIGNIN", "SIGNUP"]);
    assert_eq!(audit(&app, &root, json!({ "types": ["SIGNUP"] })).await.len(), 3);
    assert_eq!(audit(&app, &root, json!({ "types": ["SIGNUP", "SIGNIN"], "userId": stan.id })).await.len(), 2);
    assert!(audit(&app, &root, json!({ "types": [] })).await.len() == 6, "an empty list does not filter");
    // since: at or after.
    let fay_signup = &audit(&app, &root, json!({ "userId": fay.id, "types": ["SIGNUP"] })).await[0];
    let since = audit(&app, &root, json!({ "since": fay_signup["at"] })).await;
    assert_eq!(since.len(), 2, "fay's signup and signin: {since:#?}");
    assert!(audit(&app, &root, json!({ "since": "2999-01-01T00:00:00Z" })).await.is_empty());
    let out = app.gql(AUDIT, json!({ "filter": { "since": "yesterday" } }), Some(&root.access)).await;
    assert!(out["errors"].is_array(), "{out}");
}

#[tokio::test]
async fn history_pages_newest_first_with_cursors_that_keep_their_place() {
    let app = spawn_app().await;
    let gus = app.user("gus").await;
    for _ in 0..11 {
        app.signin_as("gus").await;
    }
    // 13 events: the signup and 12 signins.
    let mut seen: Vec<Value> = vec![];
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = app.gql(HISTORY, json!({ "first": 5, "after": after }), Some(&gus.access)).await;
        let page = &out["data"]["securityEvents"];
        let edges = page["edges"].as_array().unwrap();
        seen.extend(edges.iter().map(|e| e["node"].clone()));
        pages += 1;
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        assert_eq!(page["pageInfo"]["endCursor"], edges.last().unwrap()["cursor"]);
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        // New events arriving meanwhile do not shift the pages already read.
        if pages == 1 {
            app.signin_as("gus").await;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 13);
    let mut ids: Vec<&str> = seen.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 13, "no event twice");
    assert_eq!(seen.last().unwrap()["type"], "SIGNUP");
    for (variables, what) in
        [(json!({ "after": "garbage" }), "a bad cursor"), (json!({ "first": 101 }), "too many"), (json!({ "first": -1 }), "negative")]
    {
        assert_eq!(error_code(&app.gql(HISTORY, variables, Some(&gus.access)).await), Some("BAD_USER_INPUT"), "{what}");
    }
    let out = app.gql(HISTORY, json!({ "first": 0 }), Some(&gus.access)).await;
    assert_eq!(out["data"]["securityEvents"]["edges"], json!([]));
}

#[tokio::test]
async fn the_lists_take_the_same_number_of_statements_whatever_their_length() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    let statements = |query: &'static str, first: i64| {
        let app = &app;
        let token = root.access.clone();
        async move {
            let before = app.state.statement_count();
            let out = app.gql(query, json!({ "first": first }), Some(&token)).await;
            assert!(out["errors"].is_null(), "{out}");
            app.state.statement_count() - before
        }
    };
    for _ in 0..30 {
        app.signin_as("root").await;
    }
    let deliveries = "query($first: Int) { webhookDeliveries(first: $first) { edges { node { id status } } pageInfo { hasNextPage } } }";
    for query in [HISTORY, AUDIT, deliveries] {
        let (few, many) = (statements(query, 2).await, statements(query, 30).await);
        assert_eq!(few, many, "{query}");
        // Authentication (one statement) and the page itself.
        assert!(many <= 2, "{many} statements for {query}");
    }
}

#[tokio::test]
async fn no_change_without_its_record() {
    let app = spawn_app().await;
    let hal = app.user("hal").await;
    // Recording is made to fail: the change it records must not happen either.
    app.sql("ALTER TABLE security_events RENAME TO security_events_away").await;
    let out = app.signup("ida@example.com", "ida").await;
    assert_eq!(error_code(&out), Some("INTERNAL"), "{out}");
    let out = app.gql("mutation { signout { revokedSessions } }", json!({}), Some(&hal.access)).await;
    assert_eq!(error_code(&out), Some("INTERNAL"), "{out}");
    let out = app.gql("mutation { deactivateAccount { success } }", json!({}), Some(&hal.access)).await;
    assert_eq!(error_code(&out), Some("INTERNAL"), "{out}");
    app.sql("ALTER TABLE security_events_away RENAME TO security_events").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE username = 'ida'").await, 0);
    assert_eq!(app.me(&hal.access).await["data"]["me"]["id"], hal.id, "still signed in and active");

    // The same with the webhook outbox.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (dir, url) = app.stop().await;
    let app = spawn_app_on(dir, url, |s| {
        s.webhooks.webhook_urls = tessera::config::Urls(vec![format!("http://{closed}/hook").parse().unwrap()]);
        s.webhooks.webhook_secret = Some(Secret::new(crate::webhook_helpers::SECRET.into()));
    })
    .await;
    app.sql("ALTER TABLE webhook_deliveries RENAME TO webhook_deliveries_away").await;
    let out = app.signup("ida@example.com", "ida").await;
    assert_eq!(error_code(&out), Some("INTERNAL"), "{out}");
    app.sql("ALTER TABLE webhook_deliveries_away RENAME TO webhook_deliveries").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE username = 'ida'").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'SIGNUP'").await, 1, "hal's only");
}

#[tokio::test]
async fn no_record_without_its_change() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    let before = app.count("SELECT COUNT(*) FROM security_events").await;
    // Refused input changes nothing and records nothing.
    let out = app.signup("not an email", "x").await;
    assert!(!out["data"]["signup"]["userErrors"].as_array().unwrap().is_empty());
    let out = app
        .gql(
            "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { success } }",
            json!({ "i": { "currentPassword": PASSWORD, "newPassword": "short" } }),
            Some(&root.access),
        )
        .await;
    assert_eq!(out["data"]["changePassword"]["success"], false);
    let out = app
        .gql(
            "mutation($id: ID!) { setUserRole(userId: $id, role: USER) { userErrors { code } } }",
            json!({ "id": root.id }),
            Some(&root.access),
        )
        .await;
    assert_eq!(out["data"]["setUserRole"]["userErrors"][0]["code"], "NOT_ALLOWED", "the last admin stays: {out}");
    let out = app.gql("mutation { revokeSession(id: \"no-such-session\") { success } }", json!({}), Some(&root.access)).await;
    assert_eq!(out["data"]["revokeSession"]["success"], false);
    assert_eq!(app.count("SELECT COUNT(*) FROM security_events").await, before);
}

#[tokio::test]
async fn events_past_their_retention_are_pruned_in_the_background() {
    let app = spawn_app_with(|s| s.server.public_url = Some(STABLE_PUBLIC_URL.into())).await;
    let jo = app.user("joe").await;
    for (id, at) in [("old-1", "2001-01-01 00:00:00+00:00"), ("old-2", "2020-06-01 00:00:00+00:00")] {
        app.sql(&format!("INSERT INTO security_events (id, event_type, at, user_id) VALUES ('{id}', 'SIGNIN', '{at}', '{}')", jo.id)).await;
    }
    for (id, status) in [("msg_old_delivered", "DELIVERED"), ("msg_old_failing", "FAILING"), ("msg_old_pending", "PENDING")] {
        let old = "2001-01-01 00:00:00+00:00";
        app.sql(&format!(
            "INSERT INTO webhook_deliveries (id, event_type, url, payload, status, attempts, next_attempt_at, created_at, queued_at) \
             VALUES ('{id}', 'user.created', 'http://127.0.0.1:9/', '{{}}', '{status}', 1, '2999-01-01 00:00:00+00:00', '{old}', '{old}')"
        ))
        .await;
    }
    assert_eq!(history(&app, &jo.access).await.len(), 4);
    // The pruner runs at start (then hourly): restart with a retention of 400 days.
    let (dir, url) = app.stop().await;
    let app = spawn_app_on(dir, url, |s| {
        s.events.security_event_retention = Duration::from_secs(400 * 86_400);
        s.server.public_url = Some(STABLE_PUBLIC_URL.into());
    })
    .await;
    eventually("old events are pruned", || async { app.count("SELECT COUNT(*) FROM security_events WHERE id LIKE 'old-%'").await == 0 })
        .await;
    assert_eq!(types(&history(&app, &jo.access).await), vec!["SIGNIN", "SIGNUP"]);
    eventually("finished old deliveries are pruned", || async { app.count("SELECT COUNT(*) FROM webhook_deliveries").await == 1 }).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_deliveries WHERE id = 'msg_old_pending'").await, 1, "pending ones stay");
}

/// The query plan of `sql`, one line per step. On PostgreSQL sequential
/// scans are switched off first: on tables this small the planner would
/// rightly prefer them, and the point is whether an index can serve.
async fn plan(app: &TestApp, sql: &str) -> String {
    use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
    let txn = app.state.db.begin().await.unwrap();
    let backend = txn.get_database_backend();
    let explain = if on_postgres() {
        txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
        format!("EXPLAIN {sql}")
    } else {
        // EXPLAIN QUERY PLAN does not check the schema version, so a pooled
        // connection that read the schema before the migration would plan
        // without its indexes: a real read first brings it up to date.
        txn.execute_unprepared("SELECT COUNT(*) FROM sqlite_master").await.unwrap();
        format!("EXPLAIN QUERY PLAN {sql}")
    };
    let rows = txn.query_all_raw(Statement::from_string(backend, explain)).await.unwrap();
    let column = if on_postgres() { "QUERY PLAN" } else { "detail" };
    let lines: Vec<String> = rows.iter().map(|r| r.try_get::<String>("", column).unwrap()).collect();
    txn.rollback().await.unwrap();
    lines.join("\n")
}

#[tokio::test]
async fn every_list_the_pruner_and_the_worker_read_through_an_index() {
    let app = spawn_app().await;
    let newest = "ORDER BY at DESC, id DESC LIMIT 21";
    for (sql, index, sorted_by_index) in [
        (format!("SELECT * FROM security_events WHERE user_id = 'u' {newest}"), "ix_security_events_user_at", true),
        (format!("SELECT * FROM security_events {newest}"), "ix_security_events_at", true),
        (format!("SELECT * FROM security_events WHERE actor_id = 'a' {newest}"), "ix_security_events_actor_at", true),
        (format!("SELECT * FROM security_events WHERE event_type = 'SIGNIN' {newest}"), "ix_security_events_type_at", true),
        ("SELECT id FROM security_events WHERE at < '2020-01-01 00:00:00+00:00'".into(), "ix_security_events_at", false),
        ("SELECT * FROM webhook_deliveries ORDER BY created_at DESC, id DESC LIMIT 21".into(), "ix_webhook_deliveries_created", true),
        (
            "SELECT * FROM webhook_deliveries WHERE status = 'FAILING' ORDER BY created_at DESC, id DESC LIMIT 21".into(),
            "ix_webhook_deliveries_status_created",
            true,
        ),
        (
            "SELECT * FROM webhook_deliveries WHERE status = 'PENDING' AND next_attempt_at <= '2030-01-01 00:00:00+00:00' ORDER BY next_attempt_at LIMIT 20"
                .into(),
            "ix_webhook_deliveries_due",
            true,
        ),
    ] {
        let plan = plan(&app, &sql).await;
        assert!(plan.contains(index), "{sql}\nshould use {index}:\n{plan}");
        if sorted_by_index {
            assert!(!plan.contains("TEMP B-TREE") && !plan.contains("Sort"), "{sql}\nsorts instead of reading in index order:\n{plan}");
        }
    }
}

#[tokio::test]
async fn second_factor_changes_and_their_signins_are_in_the_history() {
    use crate::mfa_helpers::*;
    let app = spawn_app_with(passkey_settings).await;
    let admin = admin(&app, "root").await;
    let ann = app.user("ann").await;
    let (secret, codes) = enable_totp(&app, &ann).await;
    // One signin with a wrong code, one with a recovery code, one with a code.
    let first = challenge(&app, "ann").await;
    let out = verify_code(&app, &first, &wrong_code(&secret)).await;
    assert_eq!(out["data"]["verifyMfa"]["userErrors"][0]["code"], "INVALID_CODE", "{out}");
    let out = verify_recovery(&app, &first, &codes[0]).await;
    let session = out["data"]["verifyMfa"]["tokens"]["accessToken"].as_str().unwrap_or_else(|| panic!("{out}")).to_owned();
    steady_step(3).await;
    let out = verify_code(&app, &challenge(&app, "ann").await, &code_at(&secret, 0)).await;
    assert!(out["data"]["verifyMfa"]["tokens"].is_object(), "{out}");
    // A passkey added and removed, TOTP turned off, and an admin reset.
    let mut key = TestPasskey::new();
    let passkey = register_passkey(&app, &session, &mut key, "Work laptop").await;
    let out =
        app.gql("mutation($id: ID!) { removePasskey(id: $id) { userErrors { code } } }", json!({ "id": passkey }), Some(&session)).await;
    assert_eq!(out["data"]["removePasskey"]["userErrors"], json!([]), "{out}");
    let out = app
        .gql(
            "mutation($i: DisableTotpInput!) { disableTotp(input: $i) { userErrors { code } } }",
            json!({ "i": { "password": PASSWORD } }),
            Some(&session),
        )
        .await;
    assert_eq!(out["data"]["disableTotp"]["userErrors"], json!([]), "{out}");
    let out = app
        .gql("mutation($id: ID!) { resetUserMfa(userId: $id) { userErrors { code } } }", json!({ "id": ann.id }), Some(&admin.access))
        .await;
    assert_eq!(out["data"]["resetUserMfa"]["userErrors"], json!([]), "{out}");

    let mine = audit(&app, &admin, json!({ "userId": ann.id })).await;
    let summary: Vec<(String, String)> = mine
        .iter()
        .rev()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["detail"].as_str().unwrap_or("").to_owned()))
        .filter(|(kind, _)| kind != "SIGNUP")
        .collect();
    let expected = [
        ("SIGNIN", "password"),
        ("MFA_ENABLED", "authenticator app"),
        ("SIGNIN_FAILED", "wrong authenticator code"),
        ("RECOVERY_CODE_USED", "9 left"),
        ("SIGNIN", "password and recovery code"),
        ("SIGNIN", "password and authenticator code"),
        ("PASSKEY_ADDED", "\"Work laptop\""),
        ("PASSKEY_REMOVED", "\"Work laptop\""),
        ("MFA_DISABLED", "authenticator app"),
    ];
    let got: Vec<(&str, &str)> = summary.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
    assert_eq!(&got[..expected.len()], &expected[..], "{mine:#?}");
    let reset = mine.iter().find(|e| e["type"] == "MFA_DISABLED" && e["actorId"] == admin.id).expect("the admin reset, with its actor");
    assert!(reset["detail"].as_str().unwrap().starts_with("reset by an admin"), "{reset}");
}
