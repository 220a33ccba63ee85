//! spawn_app(): a real Tessera on port 0 with its own database and data folder.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use tessera::config::{Config, Secret, Settings};
use tessera::startup::Application;
use tessera::state::AppState;

pub const PASSWORD: &str = "correct horse battery staple";

/// A PUBLIC_URL that stays the same across a restart on another port.
pub const STABLE_PUBLIC_URL: &str = "http://tessera.test";

pub struct TestApp {
    pub address: String,
    /// http://127.0.0.1:PORT of the metrics listener, when METRICS_LISTEN_ADDR is set.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub state: AppState,
    pub data_dir: PathBuf,
    pub database_url: String,
    server: Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>)>,
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

/// The parser's defaults with what every test needs: port 0, this folder
/// and database, EdDSA tokens with the key generated into the folder (the
/// production default), fast mail retries and webhook polling, generous limits.
pub fn test_settings(dir: &std::path::Path, database_url: String) -> Settings {
    let mut settings = Settings::defaults();
    settings.server.listen_addr = "127.0.0.1:0".parse().unwrap();
    settings.server.data_dir = dir.to_path_buf();
    settings.server.public_url = None;
    settings.server.app_url = Some("http://app.test".into());
    settings.database.url = Some(Secret::new(database_url));
    settings.database.max_connections = 8;
    settings.tokens.jwt_secret = None;
    settings.tokens.jwt_signing_keys = Default::default();
    settings.media.store_url = None;
    settings.media.s3_endpoint = None;
    settings.media.public_url = None;
    settings.mail.smtp_url = None;
    settings.mail.mail_from = "Tessera <no-reply@tessera.test>".parse().unwrap();
    settings.mail.poll_interval = Duration::from_millis(250);
    settings.mail.retry_base = Duration::from_millis(200);
    settings.mail.retry_max = Duration::from_secs(1);
    settings.limits.credential_attempts_per_ip_per_minute = 1000;
    // Most tests mail one address several times a minute; the limits have their own test.
    settings.limits.mail_per_address_per_minute = 100;
    settings.limits.mail_per_address_per_hour = 100;
    settings.webhooks.webhook_urls = Default::default();
    settings.webhooks.webhook_secret = None;
    settings.webhooks.webhook_events = Default::default();
    settings.webhooks.webhook_poll_interval = Duration::from_millis(100);
    settings
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like spawn_app, with settings changed first.
pub async fn spawn_app_with(change: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    spawn_app_on(dir, url, change).await
}

/// A server on this data folder and database (a restart, after `stop`). It
/// listens on another port: tests that keep tokens across a restart give both
/// servers one PUBLIC_URL (`STABLE_PUBLIC_URL`), since it is the tokens' issuer.
pub async fn spawn_app_on(dir: tempfile::TempDir, database_url: String, change: impl FnOnce(&mut Settings)) -> TestApp {
    let data_dir = dir.path().to_path_buf();
    start_server(data_dir, database_url, dir, change).await
}

/// A second Tessera instance on the same database and data folder, as
/// behind a load balancer: it shares the first one's PUBLIC_URL (the tokens'
/// issuer), as instances behind one address do.
pub async fn spawn_second(first: &TestApp, change: impl FnOnce(&mut Settings)) -> TestApp {
    let public_url = first.address.clone();
    start_server(first.data_dir.clone(), first.database_url.clone(), tempfile::tempdir().unwrap(), |s| {
        s.server.public_url = Some(public_url);
        change(s)
    })
    .await
}

async fn start_server(data_dir: PathBuf, database_url: String, dir: tempfile::TempDir, change: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings(&data_dir, database_url.clone());
    change(&mut settings);
    let config = Config::resolve(settings).unwrap();
    let app = Application::build(config).await.expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app.metrics_port().map(|port| format!("http://127.0.0.1:{port}"));
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        address,
        metrics_address,
        client: reqwest::Client::builder().user_agent("tessera-tests/1.0").build().unwrap(),
        state,
        data_dir,
        database_url,
        server: Some((stop, server)),
        _dir: dir,
    }
}

impl TestApp {
    /// Stops the server as SIGTERM would, waiting for it (and its mail
    /// worker) to finish; keeps the data folder and database for `spawn_app_on`.
    pub async fn stop(mut self) -> (tempfile::TempDir, String) {
        let (stop, server) = self.server.take().expect("a running server");
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(30), server)
            .await
            .expect("the server stops within 30 s")
            .expect("the server task ends")
            .expect("the server stops cleanly");
        (self._dir, self.database_url)
    }

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

    /// Signs `claims` as the server's own key would: EdDSA with the key
    /// generated into its data folder, its thumbprint as `kid`.
    pub fn sign_token(&self, claims: &Value) -> String {
        sign_with_key_file(&self.data_dir.join(tessera::security::jwt::GENERATED_KEY_FILE), claims)
    }

    /// Gives an existing user a role (tokens stay valid: the role is read on each request).
    pub async fn set_role(&self, user_id: &str, role: &str) {
        self.sql(&format!("UPDATE users SET role = '{role}' WHERE id = '{user_id}'")).await;
    }
}

/// Signs `claims` with the Ed25519 private key in a PEM file, as Tessera would.
pub fn sign_with_key_file(path: &std::path::Path, claims: &Value) -> String {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
    let pem = std::fs::read_to_string(path).expect("the key file");
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).expect("an Ed25519 PKCS#8 key");
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(tessera::security::jwt::kid_of(&key.verifying_key()));
    let der = key.to_pkcs8_der().unwrap();
    jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes())).unwrap()
}

/// The claims of a token, unverified.
pub fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
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
            let field =
                e["field"].as_array().map(|f| f.iter().map(|p| p.as_str().unwrap_or("")).collect::<Vec<_>>().join(".")).unwrap_or_default();
            (field, e["code"].as_str().unwrap_or("").to_owned())
        })
        .collect()
}

/// One file of a multipart request, mapped to `variables.<path>`.
pub struct UploadFile<'a> {
    pub path: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: Vec<u8>,
}

/// A GraphQL multipart request (the spec's operations + map + file parts)
/// with one file.
pub async fn gql_upload(
    app: &TestApp,
    query: &str,
    variables: Value,
    file: UploadFile<'_>,
    token: Option<&str>,
) -> (reqwest::StatusCode, Value) {
    let operations = json!({ "query": query, "variables": variables });
    let map = json!({ "0": [format!("variables.{}", file.path)] });
    let part = reqwest::multipart::Part::bytes(file.bytes).file_name(file.name.to_owned()).mime_str(file.content_type).unwrap();
    let form = reqwest::multipart::Form::new().text("operations", operations.to_string()).text("map", map.to_string()).part("0", part);
    let mut request = app
        .client
        .post(app.url("/graphql"))
        // Uploads are multipart: a preflight header proves a real client sent it.
        .header("Apollo-Require-Preflight", "true")
        .multipart(form);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A real PNG of the given size.
pub fn png_bytes(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(width, height).write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A real JPEG of the given size.
pub fn jpeg_bytes(width: u32, height: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(width, height).write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Files under the default media folder.
pub fn stored_media(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.data_dir.join("media"))
        .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

/// The key at the end of a displayPicUrl.
pub fn key_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_owned()
}

/// An S3-compatible server (moto) on a free loopback port, stopped on drop.
pub struct S3Server {
    pub endpoint: String,
    child: std::process::Child,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto's S3 server and creates `bucket` in it.
pub async fn start_s3(bucket: &str) -> S3Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
    let child = std::process::Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{program}` ({e}): install it with `pip install 'moto[server]'` (.ci/run does)"));
    let server = S3Server { endpoint: format!("http://127.0.0.1:{port}"), child };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(&server.endpoint).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let created = client.put(format!("{}/{bucket}", server.endpoint)).send().await.expect("the S3 server answers");
    assert!(created.status().is_success(), "bucket creation failed: {}", created.status());
    // Any credentials do for moto; the real AWS_* variables are read the same way.
    std::env::set_var("AWS_ACCESS_KEY_ID", "tessera-test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "tessera-test-secret");
    server
}

/// The standard introspection query of graphql-js (what GraphiQL and codegen send).
pub const INTROSPECTION_QUERY: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"#;
