//! Abuse resistance, black-box: rate limits, request limits, CSRF, CORS,
//! error hygiene.
use serde_json::{json, Value};

use crate::helpers::*;

fn retry_after(body: &Value) -> Option<u64> {
    body["errors"][0]["extensions"]["retryAfter"].as_u64()
}

#[tokio::test]
async fn ten_failed_signins_lock_the_account_even_for_the_right_password() {
    let app = spawn_app_with(|s| s.limits.signin_lockout_window = std::time::Duration::from_secs(3)).await;
    app.user("alice").await;
    for _ in 0..10 {
        let out = app.signin("alice", "wrong password here").await;
        assert_eq!(out["data"]["signin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    }
    let locked = app.signin("alice@example.com", PASSWORD).await;
    assert_eq!(error_code(&locked), Some("RATE_LIMITED"), "{locked}");
    assert!(retry_after(&locked).is_some_and(|s| (1..=3).contains(&s)), "{locked}");
    // Unknown accounts behave the same, so the lock tells nothing.
    for _ in 0..10 {
        app.signin("nobody@example.com", "wrong password here").await;
    }
    assert_eq!(error_code(&app.signin("nobody@example.com", PASSWORD).await), Some("RATE_LIMITED"));
    // Other accounts are not affected; the lock ends with its window.
    app.user("bob").await;
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    let after = app.signin("alice", PASSWORD).await;
    assert!(after["data"]["signin"]["tokens"].is_object(), "{after}");
}

#[tokio::test]
async fn a_rate_limited_answer_says_minutes_in_its_message_and_seconds_in_retry_after() {
    let app = spawn_app_with(|s| s.limits.signin_max_failures = 1).await;
    app.user("alice").await;
    app.signin("alice", "wrong password here").await;
    let locked = app.signin("alice", PASSWORD).await;
    assert_eq!(error_code(&locked), Some("RATE_LIMITED"), "{locked}");
    // The default window is 15 minutes: retryAfter counts seconds, the message minutes.
    assert!(retry_after(&locked).is_some_and(|s| (840..=900).contains(&s)), "{locked}");
    assert_eq!(locked["errors"][0]["message"], "Too many attempts; try again in 15 minutes.", "{locked}");
}

#[tokio::test]
async fn credential_attempts_have_a_per_ip_budget_shared_by_instances() {
    let app = spawn_app_with(|s| s.limits.credential_attempts_per_ip_per_minute = 5).await;
    let other = spawn_second(&app, |s| s.limits.credential_attempts_per_ip_per_minute = 5).await;
    // A signup hashes a password too: it is the first of the five.
    app.signup("alice@example.com", "alice").await;
    for instance in [&app, &other, &app, &other] {
        let out = instance.signin("alice", PASSWORD).await;
        assert!(out["data"]["signin"]["tokens"].is_object(), "{out}");
    }
    let refused = other.signin("alice", PASSWORD).await;
    assert_eq!(error_code(&refused), Some("RATE_LIMITED"), "{refused}");
    assert!(retry_after(&refused).is_some_and(|s| (1..=60).contains(&s)));
    let refresh = app.gql("mutation { refreshTokens(refreshToken: \"x\") { userErrors { code } } }", json!({}), None).await;
    assert_eq!(error_code(&refresh), Some("RATE_LIMITED"));
    assert_eq!(error_code(&app.signup("bob@example.com", "bob").await), Some("RATE_LIMITED"));
    // Other operations are not counted.
    let out = app.gql("{ __typename }", json!({}), None).await;
    assert_eq!(out["data"]["__typename"], "Query", "{out}");
}

#[tokio::test]
async fn aliased_credential_fields_are_refused_before_anything_runs() {
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
    use tessera::entities::rate_limit;
    let app = spawn_app().await;
    let counted = || async {
        let rows = rate_limit::Entity::find()
            .filter(
                Condition::any()
                    .add(rate_limit::Column::Bucket.like("signin-failures:%"))
                    .add(rate_limit::Column::Bucket.like("credentials-ip:%")),
            )
            .all(&app.state.db)
            .await
            .unwrap();
        rows.into_iter().map(|row| format!("{row:?}")).collect::<Vec<_>>()
    };
    app.signup("alice@example.com", "alice").await;
    // The signup itself spent one credential attempt of this address.
    let before = counted().await;
    let guesses: String = (0..100)
        .map(|i| format!("a{i}: signin(input: {{ login: \"alice\", password: \"guess number {i}\" }}) {{ user {{ id }} }} "))
        .collect();
    let out = app.gql(&format!("mutation {{ {guesses} }}"), json!({}), None).await;
    assert_eq!(error_code(&out), Some("BAD_USER_INPUT"), "{out}");
    assert!(out["data"].is_null());
    let two = app
        .gql("mutation { signin(input: { login: \"alice\", password: \"x\" }) { user { id } } refreshTokens(refreshToken: \"y\") { tokens { accessToken } } }", json!({}), None)
        .await;
    assert_eq!(error_code(&two), Some("BAD_USER_INPUT"));
    // Nothing ran: neither a failure against the account nor an attempt from the address was counted.
    assert_eq!(counted().await, before);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let app = spawn_app().await;
    app.signup("alice@example.com", "alice").await;
    let signin = json!({ "query": "mutation { signin(input: { login: \"alice\", password: \"correct horse battery staple\" }) { tokens { accessToken } } }" });
    let spoofed = app.client.post(app.url("/graphql")).header("X-Forwarded-For", "203.0.113.9").json(&signin).send().await.unwrap();
    let body: Value = spoofed.json().await.unwrap();
    let token = body["data"]["signin"]["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let sessions = app.gql("{ sessions { ipAddress } }", json!({}), Some(&token)).await;
    assert_eq!(sessions["data"]["sessions"][0]["ipAddress"], "127.0.0.1");

    let behind_proxy = spawn_second(&app, |s| {
        s.http.trusted_proxies = tessera::config::IpNets(vec![tessera::config::IpNet::parse("127.0.0.0/8").unwrap()])
    })
    .await;
    let response = behind_proxy
        .client
        .post(behind_proxy.url("/graphql"))
        .header("X-Forwarded-For", "198.51.100.7, 127.0.0.5")
        .json(&signin)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let token = body["data"]["signin"]["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let sessions = behind_proxy.gql("{ sessions { ipAddress current } }", json!({}), Some(&token)).await;
    let current = sessions["data"]["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!(current["ipAddress"], "198.51.100.7");
}

#[tokio::test]
async fn deep_and_costly_queries_are_refused_but_introspection_works() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let deep = format!("{{ {}id{} }}", "me { profile { user { ".repeat(4), " } } }".repeat(4));
    let out = app.gql(&deep, json!({}), Some(&alice.access)).await;
    assert_eq!(error_code(&out), Some("GRAPHQL_VALIDATION_FAILED"), "{out}");

    let wide: String = (0..1200).map(|i| format!("m{i}: me {{ id }} ")).collect();
    let out = app.gql(&format!("{{ {wide} }}"), json!({}), Some(&alice.access)).await;
    assert_eq!(error_code(&out), Some("GRAPHQL_VALIDATION_FAILED"), "{out}");

    let out = app.gql(INTROSPECTION_QUERY, json!({}), None).await;
    assert!(out["errors"].is_null(), "{out}");
    assert!(out["data"]["__schema"]["types"].as_array().unwrap().len() > 20);
}

#[tokio::test]
async fn introspection_and_graphiql_can_be_turned_off() {
    let app = spawn_app_with(|s| {
        s.http.graphql_introspection = false;
        s.http.graphiql = false;
    })
    .await;
    let out = app.gql("{ __schema { types { name } } }", json!({}), None).await;
    assert!(out["errors"].is_array() || out["data"]["__schema"].is_null(), "{out}");
    assert!(!out.to_string().contains("SignupInput"));
    let page = app.client.get(app.url("/graphql")).header("Accept", "text/html").send().await.unwrap();
    assert!(!page.text().await.unwrap().to_lowercase().contains("graphiql"));
    let page = app.client.get(app.url("/graphql")).header("Accept", "text/html,*/*;q=0.8").send().await.unwrap();
    assert!(!page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn no_suggestions_leak_field_names() {
    let app = spawn_app().await;
    let out = app.gql("{ mee { id } }", json!({}), None).await;
    assert_eq!(error_code(&out), Some("GRAPHQL_VALIDATION_FAILED"));
    assert!(!out.to_string().contains("Did you mean"), "{out}");
    let out = app.gql("{ me { idd } }", json!({}), None).await;
    assert!(!out.to_string().contains("Did you mean"), "{out}");
}

#[tokio::test]
async fn simple_requests_from_other_sites_cannot_run_mutations() {
    let app = spawn_app().await;
    let body = json!({ "query": "mutation { signup(input: { email: \"csrf@example.com\", password: \"correct horse battery\" }) { user { id } } }" }).to_string();
    for content_type in [Some("text/plain"), Some("text/plain;charset=UTF-8"), Some("application/x-www-form-urlencoded"), None] {
        let mut request = app.client.post(app.url("/graphql")).body(body.clone());
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 400, "{content_type:?}");
        let out: Value = response.json().await.unwrap();
        assert_eq!(error_code(&out), Some("BAD_REQUEST"));
    }
    let form = reqwest::multipart::Form::new().text("operations", body.clone()).text("map", "{}");
    let response = app.client.post(app.url("/graphql")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 400);
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(tessera::entities::user::Entity::find().count(&app.state.db).await.unwrap(), 0);

    // With a preflight header, a multipart request is one a browser could not forge.
    let form = reqwest::multipart::Form::new().text("operations", body).text("map", "{}");
    let response = app.client.post(app.url("/graphql")).header("Apollo-Require-Preflight", "true").multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(tessera::entities::user::Entity::find().count(&app.state.db).await.unwrap(), 1);
}

#[tokio::test]
async fn cors_allows_only_configured_origins_and_never_credentials() {
    let app = spawn_app_with(|s| s.http.cors_allowed_origins = tessera::config::Origins(vec!["https://app.example.com".into()])).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/graphql"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type, authorization")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
    assert!(allowed.headers().get("access-control-allow-credentials").is_none());
    let other = preflight("https://evil.example.net").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn every_error_has_a_code_and_no_internals() {
    let app = spawn_app().await;
    let cases = [
        ("{ me { id }", json!({}), "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", json!({}), "GRAPHQL_VALIDATION_FAILED"),
        ("query($id: ID!) { user(id: $id) { id } }", json!({}), "GRAPHQL_VALIDATION_FAILED"),
        (
            "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { userErrors { code } } }",
            json!({ "i": { "birthDate": "yesterday" } }),
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("{ me { id } }", json!({}), "UNAUTHENTICATED"),
    ];
    for (query, variables, code) in cases {
        let out = app.gql(query, variables, None).await;
        let errors = out["errors"].as_array().unwrap_or_else(|| panic!("errors for {query}: {out}"));
        for error in errors {
            let got = error["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no code: {out}"));
            assert!(got == code || (code == "GRAPHQL_VALIDATION_FAILED" && got == "BAD_USER_INPUT"), "{query}: {out}");
            let message = error["message"].as_str().unwrap();
            for leak in ["sea_orm", "sqlx", "SELECT", "/root", "::", "src/"] {
                assert!(!message.contains(leak), "{message}");
            }
        }
    }
}

#[tokio::test]
async fn internal_errors_carry_a_request_id_and_no_detail() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    app.sql("ALTER TABLE subscription_plans RENAME TO subscription_plans_gone").await;
    let out = app.gql("{ subscriptionPlans { id } }", json!({}), Some(&alice.access)).await;
    assert_eq!(error_code(&out), Some("INTERNAL"), "{out}");
    assert!(out["errors"][0]["extensions"]["requestId"].is_string());
    assert_eq!(out["errors"][0]["message"], "Internal error.");
}

#[test]
fn a_short_jwt_secret_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), "sqlite::memory:".into());
    settings.tokens.jwt_secret = Some(tessera::config::Secret::new("too-short".into()));
    let error = tessera::config::Config::resolve(settings).expect_err("refused");
    assert!(error.to_string().contains("32 bytes"));
}
