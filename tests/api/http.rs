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
