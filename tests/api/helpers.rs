//! spawn_app(): a real Tessera on port 0 with its own database and data folder.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use tessera::config::{Config, Settings};
use tessera::startup::Application;
use tessera::state::AppState;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

/// Signed-in user with their tokens.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub id: String,
    pub email: String,
    pub username: String,
    pub access: String,
    pub refresh: String,
}

pub fn on_postgres() -> bool {
    std::env::var("TESSERA_TEST_DB").is_ok_and(|v| v == "postgres")
}

/// A fresh, empty database URL: a new PostgreSQL database, or a SQLite file.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    if on_postgres() {
        let server = std::env::var("TESSERA_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
        let name = format!("tessera_t_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(format!("{server}/postgres")).await.expect("PostgreSQL must be running for TESSERA_TEST_DB=postgres");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await.ok();
        format!("{server}/{name}")
    } else {
        format!("sqlite://{}?mode=rwc", dir.join("tessera.db").display())
    }
}

pub fn test_settings(dir: &std::path::Path, database_url: String) -> Settings {
    Settings {
        listen_addr: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: Some(database_url),
        public_url: None,
        app_url: Some("http://app.test".into()),
        jwt_secret: Some("test-secret-test-secret-test-secret-0123456789".into()),
        access_token_ttl: Duration::from_secs(900),
        refresh_token_ttl: Duration::from_secs(30 * 86_400),
        max_body_bytes: 1024 * 1024,
        max_upload_bytes: 2 * 1024 * 1024,
        default_phone_region: "US".into(),
        database_max_connections: 8,
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like spawn_app, with settings changed first.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let mut settings = test_settings(dir.path(), url);
    change(&mut settings);
    let config = Config::resolve(settings).unwrap();
    let app = Application::build(config).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        client: reqwest::Client::builder().user_agent("tessera-tests/1.0").build().unwrap(),
        state,
        data_dir: dir.path().to_path_buf(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// POSTs a GraphQL request; returns the JSON body whatever the status.
    pub async fn gql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request = self.client.post(self.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        response.json().await.expect("a JSON body")
    }

    pub async fn signup(&self, email: &str, username: &str) -> Value {
        self.gql(
            "mutation($input: SignupInput!) { signup(input: $input) { user { id email username } userErrors { field message code } } }",
            json!({ "input": { "email": email, "username": username, "password": PASSWORD } }),
            None,
        )
        .await
    }

    pub async fn signin(&self, login: &str, password: &str) -> Value {
        self.gql(
            "mutation($input: SigninInput!) { signin(input: $input) { tokens { accessToken refreshToken tokenType accessTokenExpiresAt refreshTokenExpiresAt } user { id email lastLoginAt } userErrors { field message code } } }",
            json!({ "input": { "login": login, "password": password } }),
            None,
        )
        .await
    }

    /// Signs up and signs in a new user named `name`.
    pub async fn user(&self, name: &str) -> SignedIn {
        let email = format!("{name}@example.com");
        let out = self.signup(&email, name).await;
        assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
        let id = out["data"]["signup"]["user"]["id"].as_str().unwrap().to_owned();
        let mut signed = self.signin_as(&email).await;
        signed.id = id;
        signed.username = name.to_owned();
        signed
    }

    /// A new session for an existing user.
    pub async fn signin_as(&self, login: &str) -> SignedIn {
        let out = self.signin(login, PASSWORD).await;
        let tokens = &out["data"]["signin"]["tokens"];
        assert!(tokens.is_object(), "signin failed: {out}");
        SignedIn {
            id: out["data"]["signin"]["user"]["id"].as_str().unwrap().to_owned(),
            email: out["data"]["signin"]["user"]["email"].as_str().unwrap().to_owned(),
            username: String::new(),
            access: tokens["accessToken"].as_str().unwrap().to_owned(),
            refresh: tokens["refreshToken"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn me(&self, token: &str) -> Value {
        self.gql("{ me { id email } }", json!({}), Some(token)).await
    }

    /// Runs SQL against the app's own database (for set-up and for checking what is stored).
    pub async fn sql(&self, statement: &str) {
        self.state.db.execute_unprepared(statement).await.expect("sql runs");
    }

    /// Runs a query whose first column of its one row is an integer, e.g. a COUNT(*).
    pub async fn count(&self, query: &str) -> i64 {
        let db = &self.state.db;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), query))
            .await
            .expect("query runs")
            .expect("one row");
        row.try_get_by_index::<i64>(0).expect("an integer")
    }

    /// Gives an existing user a role (tokens stay valid: the role is read on each request).
    pub async fn set_role(&self, user_id: &str, role: &str) {
        self.sql(&format!("UPDATE users SET role = '{role}' WHERE id = '{user_id}'")).await;
    }
}

/// The first error's `extensions.code`.
pub fn error_code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The codes of a payload's userErrors.
pub fn user_error_codes(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|e| {
            let field = e["field"].as_array().map(|f| f.iter().map(|p| p.as_str().unwrap_or("")).collect::<Vec<_>>().join(".")).unwrap_or_default();
            (field, e["code"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}
