//! The HTTP surface: health, GET rules, GraphiQL, body limits, malformed bodies.
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let alive = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(alive.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready");
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let app = spawn_app().await;
    let query = app.client.get(app.url("/graphql")).query(&[("query", "{ __typename }")]).send().await.unwrap();
    assert_eq!(query.status(), 200);
    let body: serde_json::Value = query.json().await.unwrap();
    assert_eq!(body["data"]["__typename"], "Query");

    let mutation = app
        .client
        .get(app.url("/graphql"))
        .query(&[(
            "query",
            "mutation { signup(input: { email: \"g@example.com\", password: \"correct horse battery\" }) { user { id } } }",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status(), 405);
    use sea_orm::{EntityTrait, PaginatorTrait};
    assert_eq!(tessera::entities::user::Entity::find().count(&app.state.db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_browser_gets_graphiql() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/graphql")).header("Accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().contains("graphiql"));
}

#[tokio::test]
async fn oversized_and_malformed_bodies_get_clear_errors() {
    let app = spawn_app().await;
    let huge = json!({ "query": "{ __typename }", "variables": { "pad": "x".repeat(2 * 1024 * 1024) } });
    let response = app.client.post(app.url("/graphql")).json(&huge).send().await.unwrap();
    assert_eq!(response.status(), 413);

    let response = app.client.post(app.url("/graphql")).header("Content-Type", "application/json").body("{ not json").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("BAD_REQUEST"));
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("serde") && !message.contains("line"), "{message}");

    let batch = app
        .client
        .post(app.url("/graphql"))
        .json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]))
        .send()
        .await
        .unwrap();
    assert_eq!(batch.status(), 400);
}

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

async fn post_accepting(app: &TestApp, accept: Option<&str>, body: serde_json::Value) -> (u16, String, serde_json::Value) {
    let mut request = app.client.post(app.url("/graphql")).json(&body);
    if let Some(accept) = accept {
        request = request.header("Accept", accept);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn responses_come_in_the_media_type_the_client_accepts() {
    let app = spawn_app().await;
    let query = json!({ "query": "{ __typename }" });
    for accept in [None, Some("*/*"), Some("application/json"), Some("application/graphql-response+json;q=0.5, application/json")] {
        let (status, content_type, body) = post_accepting(&app, accept, query.clone()).await;
        assert_eq!((status, content_type.starts_with("application/json")), (200, true), "{accept:?}");
        assert_eq!(body["data"]["__typename"], "Query");
    }
    for accept in [GRAPHQL_RESPONSE_JSON, "application/graphql-response+json, application/json;q=0.9"] {
        let (status, content_type, _) = post_accepting(&app, Some(accept), query.clone()).await;
        assert_eq!((status, content_type.starts_with(GRAPHQL_RESPONSE_JSON)), (200, true), "{accept}");
    }
    let get = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ __typename }")])
        .header("Accept", GRAPHQL_RESPONSE_JSON)
        .send()
        .await
        .unwrap();
    assert!(get.headers()["content-type"].to_str().unwrap().starts_with(GRAPHQL_RESPONSE_JSON));

    // Neither type acceptable: 406, before anything runs.
    let (status, _, body) = post_accepting(&app, Some("text/html"), query.clone()).await;
    assert_eq!(status, 406);
    assert_eq!(error_code(&body), Some("NOT_ACCEPTABLE"));
}

#[tokio::test]
async fn request_errors_are_400_without_data_under_the_new_media_type() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "query": "{" }), "GRAPHQL_PARSE_FAILED"),
        (json!({ "query": "{ nope }" }), "GRAPHQL_VALIDATION_FAILED"),
        (json!({ "query": "query($id: ID!) { user(id: $id) { id } }", "variables": { "id": null } }), "BAD_USER_INPUT"),
    ];
    for (request, code) in cases {
        let (status, content_type, body) = post_accepting(&app, Some(GRAPHQL_RESPONSE_JSON), request.clone()).await;
        assert_eq!(status, 400, "{request}: {body}");
        assert!(content_type.starts_with(GRAPHQL_RESPONSE_JSON));
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(error_code(&body), Some(code), "{body}");
        // application/json keeps 200 for any GraphQL result; nothing ran, so no data either.
        let (status, _, body) = post_accepting(&app, Some("application/json"), request.clone()).await;
        assert_eq!(status, 200, "{request}: {body}");
        assert!(body.get("data").is_none(), "{body}");
        assert_eq!(error_code(&body), Some(code), "{body}");
    }
    // A field error is not a request error: it ran, data is present (null), 200.
    let (status, _, body) = post_accepting(&app, Some(GRAPHQL_RESPONSE_JSON), json!({ "query": "{ me { id } }" })).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("data").is_some_and(|d| d.is_null()), "{body}");
    assert_eq!(error_code(&body), Some("UNAUTHENTICATED"));
}

#[tokio::test]
async fn bad_requests_are_4xx_whatever_the_media_type() {
    let app = spawn_app().await;
    for accept in [Some("application/json"), Some(GRAPHQL_RESPONSE_JSON), None] {
        for body in [json!({}), json!({ "qeury": "{ __typename }" }), json!({ "query": "" }), json!({ "query": { "obj": "ect" } })] {
            let (status, _, out) = post_accepting(&app, accept, body.clone()).await;
            assert_eq!(status, 400, "{accept:?} {body}: {out}");
            assert_eq!(error_code(&out), Some("BAD_REQUEST"));
        }
    }
    let no_query = app.client.get(app.url("/graphql")).header("Accept", "application/json").send().await.unwrap();
    assert_eq!(no_query.status(), 400);

    // Content types other than JSON and multipart are refused, even with a preflight header.
    for content_type in ["text/plain", "application/graphql", "application/xml"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("Content-Type", content_type)
            .header("GraphQL-Require-Preflight", "1")
            .body(json!({ "query": "{ __typename }" }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        let out: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error_code(&out), Some("BAD_REQUEST"));
    }
    let charset = app
        .client
        .post(app.url("/graphql"))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(json!({ "query": "{ __typename }" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(charset.status(), 200);
}

#[tokio::test]
async fn graphiql_is_served_from_the_binary_with_a_strict_csp() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/graphql")).header("Accept", "text/html").send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self';") && csp.contains("connect-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("://"), "the page names another host: {html}");
    let assets: Vec<String> = html.split('"').filter(|part| part.starts_with("/graphiql/assets/")).map(str::to_owned).collect();
    assert_eq!(assets.len(), 6, "{html}");
    for asset in &assets {
        let response = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if asset.ends_with(".css") { "text/css" } else { "text/javascript" };
        assert!(content_type.starts_with(expected), "{asset}: {content_type}");
        assert!(response.headers()["cache-control"].to_str().unwrap().contains("immutable"));
        assert!(!response.bytes().await.unwrap().is_empty());
    }
    // Another build's (or a made-up) version is not served.
    let graphiql_js = assets.iter().find(|a| a.ends_with("/graphiql.min.js")).unwrap();
    let segments: Vec<&str> = graphiql_js.split('/').collect();
    let stale = graphiql_js.replace(segments[3], "0000000000000000");
    assert_eq!(app.client.get(app.url(&stale)).send().await.unwrap().status(), 404);
    assert_eq!(app.client.get(app.url("/graphiql/assets/x/../../Cargo.toml")).send().await.unwrap().status(), 404);

    let off = spawn_app_with(|s| s.http.graphiql = false).await;
    assert_eq!(off.client.get(off.url(graphiql_js)).send().await.unwrap().status(), 404);
}

/// Apollo's automatic persisted queries: the hash alone once the server knows
/// the text, PERSISTED_QUERY_NOT_FOUND before, GET for queries only.
#[tokio::test]
async fn persisted_queries_run_by_hash_once_the_text_was_sent() {
    use sha2::Digest;
    let app = spawn_app().await;
    let query = "query Apq { subscriptionPlans { id } }";
    let hash = hex::encode(sha2::Sha256::digest(query.as_bytes()));
    let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post = |body: Value| {
        let app = &app;
        async move { app.client.post(app.url("/graphql")).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };

    let unknown = post(json!({ "extensions": persisted })).await;
    assert_eq!(unknown["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND", "{unknown}");
    assert_eq!(unknown["errors"][0]["message"], "PersistedQueryNotFound");
    let wrong = post(json!({ "query": "{ subscriptionPlans { name } }", "extensions": persisted })).await;
    assert_eq!(wrong["errors"][0]["extensions"]["code"], "BAD_REQUEST", "a hash that is not the text's: {wrong}");
    let sent = post(json!({ "query": query, "extensions": persisted })).await;
    assert!(sent["data"]["subscriptionPlans"].is_array(), "{sent}");
    let by_hash = post(json!({ "extensions": persisted })).await;
    assert_eq!(by_hash["data"], sent["data"]);
    let by_get = app.client.get(app.url("/graphql")).query(&[("extensions", persisted.to_string())]).send().await.unwrap();
    assert_eq!(by_get.status(), 200);
    assert_eq!(by_get.json::<Value>().await.unwrap()["data"], sent["data"]);
    let version_two = post(json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": hash } } })).await;
    assert_eq!(version_two["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_SUPPORTED", "{version_two}");

    // A mutation known by its hash still needs POST.
    let mutation = "mutation { signout { revokedSessions } }";
    let mutation_hash = json!({ "persistedQuery": { "version": 1, "sha256Hash": hex::encode(sha2::Sha256::digest(mutation.as_bytes())) } });
    post(json!({ "query": mutation, "extensions": mutation_hash })).await;
    let refused = app.client.get(app.url("/graphql")).query(&[("extensions", mutation_hash.to_string())]).send().await.unwrap();
    assert_eq!(refused.status(), 405);
}
