//! The HTTP surface: health, GET rules, GraphiQL, body limits, malformed bodies.
use serde_json::json;

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
        .query(&[("query", "mutation { signup(input: { email: \"g@example.com\", password: \"correct horse battery\" }) { user { id } } }")])
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

    let response = app
        .client
        .post(app.url("/graphql"))
        .header("Content-Type", "application/json")
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("BAD_REQUEST"));
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("serde") && !message.contains("line"), "{message}");

    let batch = app.client.post(app.url("/graphql")).json(&json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }])).send().await.unwrap();
    assert_eq!(batch.status(), 400);
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
    let assets: Vec<String> = html
        .split('"')
        .filter(|part| part.starts_with("/graphiql/assets/"))
        .map(str::to_owned)
        .collect();
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

    let off = spawn_app_with(|s| s.graphiql = false).await;
    assert_eq!(off.client.get(off.url(graphiql_js)).send().await.unwrap().status(), 404);
}
