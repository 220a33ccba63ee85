//! Webhooks end to end: a real receiver that checks every signature with
//! the `standardwebhooks` library, through outages, error answers, several
//! instances and redelivery.
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};
use tessera::config::{Secret, Settings, Urls};

use crate::helpers::*;
use crate::mail_helpers::{eventually, SmtpServer};
use crate::webhook_helpers::*;

const DELIVERIES: &str = "query($first: Int, $after: String, $status: WebhookDeliveryStatus) {
  webhookDeliveries(first: $first, after: $after, status: $status) {
    edges { cursor node { id eventType status attempts createdAt deliveredAt lastError } }
    pageInfo { hasNextPage endCursor }
  }
}";
const REDELIVER: &str =
    "mutation($id: ID!) { redeliverWebhook(id: $id) { delivery { id status attempts } userErrors { field message code } } }";

/// Webhooks to `url`, retried quickly.
fn to(url: &str) -> impl Fn(&mut Settings) + '_ {
    move |s: &mut Settings| {
        s.webhooks.webhook_urls = Urls(vec![url.parse().unwrap()]);
        s.webhooks.webhook_secret = Some(Secret::new(SECRET.into()));
        s.webhooks.webhook_retry_max = Duration::from_millis(300);
        s.webhooks.webhook_timeout = Duration::from_secs(2);
    }
}

async fn admin(app: &TestApp, name: &str) -> SignedIn {
    let admin = app.user(name).await;
    app.set_role(&admin.id, "ADMIN").await;
    admin
}

async fn deliveries(app: &TestApp, admin: &SignedIn, status: Option<&str>) -> Vec<Value> {
    let out = app.gql(DELIVERIES, json!({ "first": 100, "status": status }), Some(&admin.access)).await;
    let edges = out["data"]["webhookDeliveries"]["edges"].as_array().unwrap_or_else(|| panic!("{out}")).clone();
    edges.into_iter().map(|e| e["node"].clone()).collect()
}

/// Waits until every delivery is DELIVERED; returns them.
async fn all_delivered(app: &TestApp, admin: &SignedIn) -> Vec<Value> {
    until("every delivery is DELIVERED", || async {
        let listed = deliveries(app, admin, None).await;
        listed.iter().all(|d| d["status"] == "DELIVERED").then_some(listed)
    })
    .await
}

fn verified_types(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .map(|r| {
            assert_eq!(r["verified"], true, "a webhook failed verification: {r:#}");
            event_type(r).to_owned()
        })
        .collect()
}

const UPDATE_ACCOUNT: &str = "mutation($i: UpdateAccountInput!) { updateAccount(input: $i) { userErrors { code } } }";
const UPDATE_PROFILE: &str = "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { userErrors { code } } }";

#[tokio::test]
async fn every_event_type_arrives_signed_and_verified_by_a_standard_webhooks_receiver() {
    let receiver = Receiver::start();
    let smtp = SmtpServer::start().await;
    let smtp_url = smtp.url();
    let url = receiver.url();
    let app = spawn_app_with(|s| {
        to(&url)(s);
        s.mail.smtp_url = Some(Secret::new(smtp_url));
    })
    .await;
    let root = admin(&app, "root").await;
    let ann = app.user("ann").await;
    // A signin, and a change of fields no service keeps, are not updates.
    app.signin_as("ann").await;
    let out = app.gql(UPDATE_PROFILE, json!({ "i": { "bio": "hello" } }), Some(&ann.access)).await;
    assert_eq!(out["data"]["updateProfile"]["userErrors"], json!([]), "{out}");
    let out = app.gql(UPDATE_ACCOUNT, json!({ "i": { "phoneNumber": "+1 415 555 2671" } }), Some(&ann.access)).await;
    assert_eq!(out["data"]["updateAccount"]["userErrors"], json!([]), "{out}");

    let out = app.gql(UPDATE_ACCOUNT, json!({ "i": { "fullName": "Ann Arbor" } }), Some(&ann.access)).await;
    assert_eq!(out["data"]["updateAccount"]["userErrors"], json!([]), "{out}");
    let token = smtp.nth("ann@example.com", 1).await.token("http://app.test", "confirm-email");
    let out = app.gql("mutation($t: String!) { confirmEmail(token: $t) { userErrors { code } } }", json!({ "t": token }), None).await;
    assert_eq!(out["data"]["confirmEmail"]["userErrors"], json!([]), "{out}");
    let out = app
        .gql(
            "mutation($id: ID!) { setUserStatus(userId: $id, status: SUSPENDED) { userErrors { code } } }",
            json!({ "id": ann.id }),
            Some(&root.access),
        )
        .await;
    assert_eq!(out["data"]["setUserStatus"]["userErrors"], json!([]), "{out}");
    app.gql(
        "mutation($id: ID!) { setUserStatus(userId: $id, status: ACTIVE) { userErrors { code } } }",
        json!({ "id": ann.id }),
        Some(&root.access),
    )
    .await;
    let out = app
        .gql(
            "mutation($id: ID!) { setUserRole(userId: $id, role: STAFF) { userErrors { code } } }",
            json!({ "id": ann.id }),
            Some(&root.access),
        )
        .await;
    assert_eq!(out["data"]["setUserRole"]["userErrors"], json!([]), "{out}");
    let ann = app.signin_as("ann").await;
    let out = app
        .gql(
            "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { success } }",
            json!({ "i": { "currentPassword": PASSWORD, "newPassword": "a quite different secret" } }),
            Some(&ann.access),
        )
        .await;
    assert_eq!(out["data"]["changePassword"]["success"], true, "{out}");
    let out = app.gql("mutation { signoutAll { revokedSessions } }", json!({}), Some(&ann.access)).await;
    assert_eq!(out["data"]["signoutAll"]["revokedSessions"], 1, "{out}");
    let ann_id = ann.id.clone();
    let out =
        app.gql("mutation($id: ID!) { deleteUser(userId: $id) { deletedUserId } }", json!({ "id": ann_id }), Some(&root.access)).await;
    assert_eq!(out["data"]["deleteUser"]["deletedUserId"], ann_id, "{out}");

    let expected = [
        "user.created",         // root
        "user.created",         // ann
        "user.updated",         // fullName
        "user.email_confirmed", //
        "user.status_changed",  // SUSPENDED
        "user.status_changed",  // ACTIVE
        "user.role_changed",    // STAFF
        "password.changed",     //
        "session.revoked_all",  //
        "user.deleted",         //
    ];
    let received = receiver.wait_for(expected.len()).await;
    // Nothing else trickles in (no update for the signin, the bio, the phone).
    tokio::time::sleep(Duration::from_millis(800)).await;
    let received = {
        let again = receiver.received().await;
        assert_eq!(again.len(), received.len(), "unexpected webhooks: {again:#?}");
        by_event_time(again)
    };
    let mut types = verified_types(&received);
    types.sort();
    let mut wanted: Vec<String> = expected.iter().map(|t| t.to_string()).collect();
    wanted.sort();
    assert_eq!(types, wanted);

    let of = |kind: &str| received.iter().filter(|r| event_type(r) == kind).map(|r| r["payload"].clone()).collect::<Vec<_>>();
    for r in &received {
        let payload = &r["payload"];
        assert!(payload["data"]["id"].as_str().is_some(), "every event names the user: {payload}");
        assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'), "{payload}");
        assert_eq!(r["headers"]["webhook-id"], r["headers"]["webhook-id"].as_str().filter(|id| id.starts_with("msg_")).unwrap());
        assert!(r["headers"]["webhook-signature"].as_str().unwrap().starts_with("v1,"));
        assert_eq!(r["headers"]["content-type"], "application/json");
        for secret in [PASSWORD, "a quite different secret", "argon2", "passwordHash", "phoneNumber", "+14155552671"] {
            assert!(!r["body"].as_str().unwrap().contains(secret), "{secret} in {}", r["body"]);
        }
    }
    let created = of("user.created").into_iter().find(|p| p["data"]["username"] == "ann").unwrap();
    assert_eq!(
        created["data"],
        json!({ "id": ann_id, "email": "ann@example.com", "username": "ann", "fullName": null, "accountType": "FAN",
                "role": "USER", "status": "ACTIVE", "emailConfirmed": false })
    );
    let updated = &of("user.updated")[0]["data"];
    assert_eq!((updated["changedFields"].clone(), updated["fullName"].clone()), (json!(["fullName"]), json!("Ann Arbor")));
    assert_eq!(of("user.email_confirmed")[0]["data"]["emailConfirmed"], true);
    let statuses: Vec<Value> = of("user.status_changed").iter().map(|p| p["data"]["status"].clone()).collect();
    assert_eq!(statuses, vec![json!("SUSPENDED"), json!("ACTIVE")]);
    assert_eq!(of("user.role_changed")[0]["data"]["role"], "STAFF");
    assert_eq!(of("password.changed")[0]["data"]["id"], ann_id);
    assert_eq!(of("session.revoked_all")[0]["data"]["id"], ann_id);
    assert_eq!(of("user.deleted")[0]["data"], json!({ "id": ann_id }));

    // What the receiver got is what the admins see: one delivery per event, each its webhook-id, tried once.
    let listed = all_delivered(&app, &root).await;
    assert_eq!(listed.len(), expected.len());
    let ids: BTreeSet<String> = received.iter().map(|r| r["headers"]["webhook-id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, listed.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect());
    assert!(listed.iter().all(|d| d["attempts"] == 1 && d["deliveredAt"].is_string() && d["lastError"].is_null()), "{listed:#?}");
}

#[tokio::test]
async fn user_updated_names_exactly_the_fields_that_changed() {
    let receiver = Receiver::start();
    let url = receiver.url();
    let app = spawn_app_with(to(&url)).await;
    let bo = app.user("bob").await;
    receiver.wait_for(1).await;
    // Names that make up the display name: fullName follows them.
    app.gql(UPDATE_ACCOUNT, json!({ "i": { "firstName": "Bo", "lastName": "Diddley" } }), Some(&bo.access)).await;
    app.gql(UPDATE_PROFILE, json!({ "i": { "fullName": "Bo D." } }), Some(&bo.access)).await;
    app.gql(UPDATE_ACCOUNT, json!({ "i": { "email": "bo@new.example", "username": "bob2" } }), Some(&bo.access)).await;
    let received = by_event_time(receiver.wait_for(4).await);
    let changed: Vec<Value> =
        received.iter().filter(|r| event_type(r) == "user.updated").map(|r| r["payload"]["data"]["changedFields"].clone()).collect();
    assert_eq!(changed, vec![json!(["fullName"]), json!(["fullName"]), json!(["email", "username"])]);
    let last = &received[3]["payload"]["data"];
    assert_eq!(
        (last["email"].as_str(), last["username"].as_str(), last["id"].as_str()),
        (Some("bo@new.example"), Some("bob2"), Some(&*bo.id))
    );
}

#[tokio::test]
async fn a_receiver_that_is_down_for_a_while_gets_everything_once_it_is_back() {
    let mut receiver = Receiver::start();
    let url = receiver.url();
    let app = spawn_app_with(to(&url)).await;
    let root = admin(&app, "root").await;
    receiver.wait_for(1).await;
    receiver.stop();
    for name in ["cyd", "dia", "edd"] {
        app.signup(&format!("{name}@example.com"), name).await;
    }
    // Tried and refused while it is down.
    eventually("failed tries are recorded", || async {
        let pending = deliveries(&app, &root, Some("PENDING")).await;
        pending.len() == 3 && pending.iter().all(|d| d["attempts"].as_i64().unwrap() >= 2 && d["lastError"].is_string())
    })
    .await;
    let pending = deliveries(&app, &root, Some("PENDING")).await;
    assert!(pending[0]["lastError"].as_str().unwrap().to_lowercase().contains("connect"), "{pending:#?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    receiver.resume();
    let received = receiver.wait_for(3).await;
    let usernames: BTreeSet<&str> = received.iter().map(|r| r["payload"]["data"]["username"].as_str().unwrap()).collect();
    assert_eq!(usernames, BTreeSet::from(["cyd", "dia", "edd"]));
    assert!(received.iter().all(|r| r["verified"] == true));
    let listed = all_delivered(&app, &root).await;
    assert!(listed.iter().filter(|d| d["attempts"].as_i64().unwrap() >= 3).count() == 3, "{listed:#?}");
}

#[tokio::test]
async fn two_instances_deliver_each_event_once() {
    let receiver = Receiver::start();
    let url = receiver.url();
    let first = spawn_app_with(to(&url)).await;
    let second = spawn_second(&first, to(&url)).await;
    for i in 0..16 {
        let instance = if i % 2 == 0 { &first } else { &second };
        let out = instance.signup(&format!("user{i}@example.com"), &format!("user{i}")).await;
        assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    }
    receiver.wait_for(16).await;
    // Both workers poll every 100 ms: give a duplicate time to show up.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let received = receiver.received().await;
    let mut per_id: BTreeMap<String, usize> = BTreeMap::new();
    for r in &received {
        assert_eq!(r["verified"], true);
        *per_id.entry(r["headers"]["webhook-id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 16);
    assert!(per_id.values().all(|n| *n == 1), "delivered twice: {per_id:?}");
    assert_eq!(first.count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'DELIVERED' AND attempts = 1").await, 16);
}

#[tokio::test]
async fn a_receiver_answering_500_sees_retries_with_the_same_webhook_id() {
    let receiver = Receiver::start();
    receiver.answer_with(Some(500), None).await;
    let url = receiver.url();
    let app = spawn_app_with(to(&url)).await;
    app.signup("fay@example.com", "fay").await;
    let tries = receiver.wait_for(3).await;
    let ids: BTreeSet<&str> = tries.iter().map(|r| r["headers"]["webhook-id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 1, "one webhook-id on every try: {ids:?}");
    assert!(tries.iter().all(|r| r["verified"] == true && r["body"] == tries[0]["body"]), "the same signed body each time");
    let id = *ids.iter().next().unwrap();
    let sql = format!(
        "SELECT CAST(attempts AS BIGINT) FROM webhook_deliveries WHERE id = '{id}' AND status = 'PENDING' AND last_error = 'HTTP 500'"
    );
    assert!(app.count(&sql).await >= 3);

    receiver.answer_with(None, None).await;
    let root = admin(&app, "root").await;
    let delivered = all_delivered(&app, &root).await;
    let fay = delivered.iter().find(|d| d["id"] == id).unwrap();
    let received = receiver.received().await.into_iter().filter(|r| r["headers"]["webhook-id"] == id).count();
    // Every try is counted, the successful one included.
    assert_eq!(fay["attempts"].as_u64().unwrap() as usize, received, "{fay}");
    assert_eq!(fay["lastError"], "HTTP 500");
}

#[tokio::test]
async fn a_delivery_failing_past_the_give_up_age_is_failing_until_redelivered_with_the_same_id() {
    let receiver = Receiver::start();
    receiver.answer_with(Some(503), None).await;
    let url = receiver.url();
    let app = spawn_app_with(|s| {
        to(&url)(s);
        s.webhooks.webhook_give_up_after = Duration::from_millis(1500);
    })
    .await;
    let root = admin(&app, "root").await;
    let failing = until("the delivery is FAILING", || async {
        let failing = deliveries(&app, &root, Some("FAILING")).await;
        (failing.len() == 1).then_some(failing)
    })
    .await;
    assert_eq!(failing[0]["lastError"], "HTTP 503");
    assert!(failing[0]["deliveredAt"].is_null());
    let id = failing[0]["id"].as_str().unwrap().to_owned();
    // No longer retried, but still listed.
    let tries = receiver.received().await.len();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(receiver.received().await.len(), tries);
    assert_eq!(deliveries(&app, &root, None).await.len(), 1);
    assert_eq!(deliveries(&app, &root, Some("DELIVERED")).await.len(), 0);

    receiver.answer_with(None, None).await;
    let out = app.gql(REDELIVER, json!({ "id": id }), Some(&root.access)).await;
    assert_eq!(out["data"]["redeliverWebhook"]["userErrors"], json!([]), "{out}");
    assert_eq!(out["data"]["redeliverWebhook"]["delivery"]["id"], id);
    assert_eq!(out["data"]["redeliverWebhook"]["delivery"]["status"], "PENDING");
    let delivered = all_delivered(&app, &root).await;
    assert_eq!(delivered[0]["id"], id);
    assert_eq!(delivered[0]["attempts"].as_u64().unwrap() as usize, tries + 1);
    let last = receiver.received().await.pop().unwrap();
    assert_eq!((last["headers"]["webhook-id"].as_str(), last["verified"].as_bool()), (Some(id.as_str()), Some(true)));

    // A delivered one can be sent again too, still with its id.
    let out = app.gql(REDELIVER, json!({ "id": id }), Some(&root.access)).await;
    assert_eq!(out["data"]["redeliverWebhook"]["delivery"]["status"], "PENDING");
    receiver.wait_for(tries + 2).await;
    let again = receiver.received().await.pop().unwrap();
    assert_eq!(again["headers"]["webhook-id"], id.as_str());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let receiver = Receiver::start();
    let elsewhere = format!("http://127.0.0.1:{}/elsewhere", receiver.port);
    receiver.answer_with(Some(307), Some(&elsewhere)).await;
    let url = receiver.url();
    let app = spawn_app_with(to(&url)).await;
    app.signup("gil@example.com", "gil").await;
    receiver.wait_for(2).await;
    let received = receiver.received().await;
    assert!(received.iter().all(|r| r["path"] == "/hook"), "a redirect was followed: {received:#?}");
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'PENDING' AND last_error = 'HTTP 307 (redirects are not followed)'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out() {
    // Accepts connections and says nothing.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut open = vec![];
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let app = spawn_app_with(|s| {
        to(&url)(s);
        s.webhooks.webhook_timeout = Duration::from_millis(300);
    })
    .await;
    app.signup("hal@example.com", "hal").await;
    eventually("the try timed out", || async {
        app.count("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'PENDING' AND attempts >= 1 AND last_error LIKE 'timed out%'")
            .await
            == 1
    })
    .await;
    hold.abort();
}

#[tokio::test]
async fn webhook_events_chooses_what_is_sent() {
    let receiver = Receiver::start();
    let url = receiver.url();
    let app = spawn_app_with(|s| {
        to(&url)(s);
        s.webhooks.webhook_events = tessera::config::List(vec!["user.deleted".into()]);
    })
    .await;
    let ivy = app.user("ivy").await;
    let out = app
        .gql("mutation($p: String!) { deleteAccount(password: $p) { deletedUserId } }", json!({ "p": PASSWORD }), Some(&ivy.access))
        .await;
    assert_eq!(out["data"]["deleteAccount"]["deletedUserId"], ivy.id, "{out}");
    let received = receiver.wait_for(1).await;
    assert_eq!(verified_types(&received), vec!["user.deleted"]);
    assert_eq!(received[0]["payload"]["data"], json!({ "id": ivy.id }));
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_deliveries").await, 1);
}

#[tokio::test]
async fn each_url_gets_its_own_delivery() {
    let (one, two) = (Receiver::start(), Receiver::start());
    let urls = Urls(vec![one.url().parse().unwrap(), two.url().parse().unwrap()]);
    let app = spawn_app_with(|s| {
        to(&one.url())(s);
        s.webhooks.webhook_urls = urls;
    })
    .await;
    app.signup("joe@example.com", "joe").await;
    let (a, b) = (one.wait_for(1).await, two.wait_for(1).await);
    assert_eq!((event_type(&a[0]), event_type(&b[0])), ("user.created", "user.created"));
    assert_eq!(a[0]["body"], b[0]["body"]);
    assert_ne!(a[0]["headers"]["webhook-id"], b[0]["headers"]["webhook-id"]);
}

#[tokio::test]
async fn deliveries_are_for_admins_page_newest_first_and_redelivery_checks_its_id() {
    // A closed port: deliveries stay PENDING, which is all this test needs.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{closed}/hook");
    let app = spawn_app_with(|s| {
        to(&url)(s);
        s.webhooks.webhook_retry_max = Duration::from_secs(3600);
    })
    .await;
    let root = admin(&app, "root").await;
    let staff = app.user("stan").await;
    app.set_role(&staff.id, "STAFF").await;
    for name in ["kai", "lux", "moe"] {
        app.signup(&format!("{name}@example.com"), name).await;
    }
    for who in [&staff, &app.user("nel").await] {
        let out = app.gql(DELIVERIES, json!({}), Some(&who.access)).await;
        assert_eq!(error_code(&out), Some("FORBIDDEN"), "{out}");
        let out = app.gql(REDELIVER, json!({ "id": "x" }), Some(&who.access)).await;
        assert_eq!(error_code(&out), Some("FORBIDDEN"), "{out}");
    }
    assert_eq!(error_code(&app.gql(DELIVERIES, json!({}), None).await), Some("UNAUTHENTICATED"));

    // root, stan, kai, lux, moe, nel: six signups.
    let mut seen = vec![];
    let mut after: Option<String> = None;
    loop {
        let out = app.gql(DELIVERIES, json!({ "first": 4, "after": after }), Some(&root.access)).await;
        let page = &out["data"]["webhookDeliveries"];
        seen.extend(page["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 6);
    let created: Vec<&str> = seen.iter().map(|d| d["createdAt"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first: {created:?}");
    assert!(seen.iter().all(|d| d["eventType"] == "user.created" && d["status"] == "PENDING"));
    assert_eq!(deliveries(&app, &root, Some("DELIVERED")).await.len(), 0);

    let out = app.gql(REDELIVER, json!({ "id": "msg_nope" }), Some(&root.access)).await;
    assert_eq!(user_error_codes(&out["data"]["redeliverWebhook"]), vec![("id".to_owned(), "NOT_FOUND".to_owned())]);
    assert!(out["data"]["redeliverWebhook"]["delivery"].is_null());
    let out = app.gql(DELIVERIES, json!({ "after": "garbage" }), Some(&root.access)).await;
    assert_eq!(error_code(&out), Some("BAD_USER_INPUT"));
}

#[tokio::test]
async fn webhook_settings_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), "sqlite::memory:".into());
    settings.webhooks.webhook_urls = Urls(vec!["http://127.0.0.1:9/hook".parse().unwrap()]);
    let error = tessera::config::Config::resolve(settings.clone()).expect_err("a URL without a secret");
    assert!(error.to_string().contains("WEBHOOK_SECRET"), "{error}");
    settings.webhooks.webhook_secret = Some(Secret::new("whsec_c2hvcnQ=".into()));
    assert!(tessera::config::Config::resolve(settings.clone()).is_err(), "a secret of 5 bytes");
    settings.webhooks.webhook_secret = Some(Secret::new(SECRET.into()));
    settings.webhooks.webhook_events = tessera::config::List(vec!["user.created".into(), "user.exploded".into()]);
    let config = tessera::config::Config::resolve(settings).unwrap();
    let error = tessera::startup::Application::build(config).await.err().expect("an unknown event type");
    assert!(error.to_string().contains("user.exploded"), "{error}");
}
