//! What an operator relies on: Prometheus metrics on their own listener
//! (scraped after real traffic and read with a real Prometheus text
//! parser), log lines as JSON from the real binary, LISTEN_ADDR host names,
//! and startup errors that name the setting to change.
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::EntityTrait;
use serde_json::{json, Value};
use tessera::config::Secret;
use tessera::entities::mail_outbox;

use crate::helpers::*;
use crate::mail_helpers::*;

/// Families as prometheus_client's parser reads them (tests/api/parse_metrics.py).
fn parse_prometheus(text: &str) -> Vec<Value> {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/parse_metrics.py");
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python} ({e}): the metrics test parses with Python's prometheus_client"));
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the Prometheus parser refused the text: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` whose labels include `labels`.
fn sample(families: &[Value], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    families
        .iter()
        .flat_map(|f| f["samples"].as_array().unwrap().iter())
        .find(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .and_then(|s| s["value"].as_f64())
}

fn family<'a>(families: &'a [Value], name: &str) -> &'a Value {
    families.iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("no family {name}"))
}

async fn scrape(app: &TestApp) -> (String, Vec<Value>) {
    let response = app.client.get(format!("{}/metrics", app.metrics_address.as_ref().expect("metrics are on"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    let text = response.text().await.unwrap();
    let families = parse_prometheus(&text);
    (text, families)
}

#[tokio::test]
async fn metrics_are_off_unless_metrics_listen_addr_is_set_and_never_on_the_api_listener() {
    let app = spawn_app().await;
    assert!(app.metrics_address.is_none());
    assert_eq!(app.client.get(app.url("/metrics")).send().await.unwrap().status(), 404);
    let on = spawn_app_with(|s| s.telemetry.metrics_listen_addr = Some("127.0.0.1:0".into())).await;
    assert_eq!(on.client.get(on.url("/metrics")).send().await.unwrap().status(), 404, "not on the public listener");
    let other = on.client.get(format!("{}/graphql", on.metrics_address.as_ref().unwrap())).send().await.unwrap();
    assert_eq!(other.status(), 404, "the metrics listener serves /metrics only");
}

#[tokio::test]
async fn metrics_after_real_traffic_parse_as_prometheus_text_with_bounded_labels() {
    let smtp_down = SmtpServer::reserve().await;
    let smtp_url = smtp_down.url();
    let app = spawn_app_with(|s| {
        s.telemetry.metrics_listen_addr = Some("127.0.0.1:0".into());
        s.mail.smtp_url = Some(Secret::new(smtp_url));
        s.limits.signin_max_failures = 1;
        s.limits.credential_attempts_per_ip_per_minute = 7;
    })
    .await;

    // Credential fields 1 to 3: a signup, a signin that works, one that does
    // not; the fourth is refused by the account's lockout.
    let alice = app.user("alice").await;
    app.signin("alice", "wrong password here").await;
    assert_eq!(error_code(&app.signin("alice", PASSWORD).await), Some("RATE_LIMITED"));
    assert!(app.me(&alice.access).await["errors"].is_null());
    assert_eq!(error_code(&app.gql("{ me { id } }", json!({}), None).await), Some("UNAUTHENTICATED"));
    // Client text never becomes a label: an unknown field, a media key, a path.
    assert!(app.gql("{ fieldChosenByAClient }", json!({}), None).await["errors"].is_array());
    let refresh = "mutation { refreshTokens(refreshToken: \"x\") { userErrors { code } } }";
    for _ in 0..3 {
        assert!(app.gql(refresh, json!({}), None).await["errors"].is_null());
    }
    assert_eq!(error_code(&app.gql(refresh, json!({}), None).await), Some("RATE_LIMITED"), "the 8th credential field this minute");
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(app.client.get(app.url("/media/keyChosenByAClient.png")).send().await.unwrap().status(), 404);
    assert_eq!(app.client.get(app.url("/pathChosenByAClient")).send().await.unwrap().status(), 404);

    // The confirmation mail cannot go out: SMTP is down. Make it two hours old.
    eventually("a failed try to send the confirmation mail", || async {
        sample(&scrape(&app).await.1, "mail_send_failures_total", &[]).unwrap_or(0.0) >= 1.0
    })
    .await;
    mail_outbox::Entity::update_many()
        .col_expr(mail_outbox::Column::CreatedAt, Expr::value(Utc::now() - chrono::Duration::hours(2)))
        .exec(&app.state.db)
        .await
        .unwrap();

    let (text, families) = scrape(&app).await;
    let value = |name: &str, labels: &[(&str, &str)]| sample(&families, name, labels);
    // HTTP: by route pattern and status.
    assert!(value("http_requests_total", &[("route", "/graphql"), ("status", "200")]).unwrap() >= 10.0, "{text}");
    assert_eq!(value("http_requests_total", &[("route", "/healthz"), ("status", "200")]), Some(1.0));
    assert_eq!(value("http_requests_total", &[("route", "/media/{key}"), ("status", "404")]), Some(1.0));
    assert_eq!(value("http_requests_total", &[("route", "unmatched"), ("status", "404")]), Some(1.0));
    assert_eq!(family(&families, "http_request_duration_seconds")["type"], "histogram");
    assert!(value("http_request_duration_seconds_count", &[("route", "/graphql")]).unwrap() >= 10.0);
    assert_eq!(value("http_request_duration_seconds_bucket", &[("route", "/healthz"), ("le", "+Inf")]), Some(1.0));
    // GraphQL: by operation type and top-level field, with the outcome.
    let op =
        |ty: &str, field: &str, outcome: &str| value("graphql_operations_total", &[("type", ty), ("field", field), ("outcome", outcome)]);
    assert_eq!(op("mutation", "signup", "ok"), Some(1.0));
    assert_eq!(op("mutation", "signin", "ok"), Some(2.0), "signin answers userErrors as data");
    assert_eq!(op("mutation", "signin", "error"), Some(1.0), "the lockout is a top-level error");
    assert_eq!(op("query", "me", "ok"), Some(1.0));
    assert_eq!(op("query", "me", "error"), Some(1.0));
    assert_eq!(op("mutation", "refreshTokens", "ok"), Some(3.0));
    assert_eq!(op("mutation", "refreshTokens", "error"), Some(1.0), "a field the request limits refuse counts too");
    assert_eq!(family(&families, "graphql_operation_duration_seconds")["type"], "histogram");
    assert_eq!(value("graphql_operation_duration_seconds_count", &[("type", "mutation"), ("field", "signin")]), Some(3.0));
    // Signins by outcome; rate-limit refusals by kind.
    assert_eq!(value("signins_total", &[("outcome", "success")]), Some(1.0));
    assert_eq!(value("signins_total", &[("outcome", "invalid_credentials")]), Some(1.0));
    assert_eq!(value("signins_total", &[("outcome", "locked")]), Some(1.0));
    assert_eq!(value("rate_limit_refusals_total", &[("kind", "signin_lockout")]), Some(1.0));
    assert_eq!(value("rate_limit_refusals_total", &[("kind", "credentials_per_ip")]), Some(1.0));
    // The mail outbox: depth, age of the oldest queued mail, failures.
    assert_eq!(value("mail_outbox_depth", &[]), Some(1.0));
    let age = value("mail_outbox_oldest_age_seconds", &[]).unwrap();
    assert!((7200.0..7300.0).contains(&age), "{age}");
    assert!(value("mail_send_failures_total", &[]).unwrap() >= 1.0);
    assert_eq!(value("mail_sent_total", &[]), Some(0.0));
    assert_eq!(value("mail_outbox_given_up", &[]), Some(0.0));
    // The database pool: connections in use and idle, its size, time spent saturated.
    assert_eq!(value("db_pool_max_connections", &[]), Some(8.0));
    let (in_use, idle) =
        (value("db_pool_connections", &[("state", "in_use")]).unwrap(), value("db_pool_connections", &[("state", "idle")]).unwrap());
    assert!(in_use + idle >= 1.0 && in_use + idle <= 8.0, "{in_use} {idle}");
    assert_eq!(value("db_pool_saturated_milliseconds_total", &[]), Some(0.0));
    assert!(!family(&families, "http_requests")["help"].as_str().unwrap().is_empty());

    // Only the schema's names and the router's patterns: nothing a client typed.
    let labels: Vec<String> = families
        .iter()
        .flat_map(|f| f["samples"].as_array().unwrap().iter())
        .flat_map(|s| s["labels"].as_object().unwrap().values().map(|v| v.as_str().unwrap().to_owned()))
        .collect();
    assert!(!labels.iter().any(|l| l.contains("ChosenByAClient")), "{text}");
}

#[tokio::test]
async fn time_with_every_pool_connection_in_use_is_counted() {
    let app = spawn_app_with(|s| {
        s.telemetry.metrics_listen_addr = Some("127.0.0.1:0".into());
        s.database.max_connections = 1;
    })
    .await;
    let before = sample(&scrape(&app).await.1, "db_pool_saturated_milliseconds_total", &[]).unwrap();
    // The pool's one connection is busy for 700 ms: any other statement would wait.
    let held = sea_orm::TransactionTrait::begin(&app.state.db).await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    held.rollback().await.unwrap();
    let (_, families) = scrape(&app).await;
    let saturated = sample(&families, "db_pool_saturated_milliseconds_total", &[]).unwrap() - before;
    assert!((400.0..=1500.0).contains(&saturated), "{saturated} ms");
    assert_eq!(sample(&families, "db_pool_max_connections", &[]), Some(1.0));
}

/// A free loopback port (free a moment ago).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `tessera` with only the environment given here (plus PATH).
fn tessera(data_dir: &std::path::Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", data_dir)
        .env("JWT_SECRET", "operations-test-secret-0123456789abcdef")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for the process to end by itself (or kills it after `limit`); its exit status, stdout and stderr.
fn finish(mut child: Child, limit: Duration) -> (std::process::ExitStatus, String, String) {
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tessera did not stop within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut out, mut err) = (String::new(), String::new());
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (status, out, err)
}

/// Every line is one JSON object with the promised keys.
fn json_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            for key in ["timestamp", "level", "target", "request_id", "message", "fields"] {
                assert!(value.get(key).is_some(), "no {key}: {line}");
            }
            assert!(chrono::DateTime::parse_from_rfc3339(value["timestamp"].as_str().unwrap()).is_ok(), "{line}");
            assert!(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&value["level"].as_str().unwrap()), "{line}");
            assert!(value["fields"].is_object(), "{line}");
            value
        })
        .collect()
}

#[tokio::test]
async fn with_log_format_json_every_line_the_server_writes_is_json_with_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path()).await;
    let port = free_port();
    // A host name in LISTEN_ADDR is accepted.
    let listen = format!("localhost:{port}");
    let child = tessera(
        dir.path(),
        &[
            ("DATABASE_URL", &database_url),
            ("LISTEN_ADDR", &listen),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "tessera=debug,tower_http=debug"),
        ],
    )
    .spawn()
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/readyz")).send().await.map(|r| r.status() != 200).unwrap_or(true) {
        assert!(started.elapsed() < Duration::from_secs(60), "tessera did not start on {listen}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signup = json!({ "query": "mutation { signup(input: { email: \"lou@example.com\", username: \"lou\", password: \"a fine long passphrase\" }) { userErrors { code } } }" });
    let out: Value = client
        .post(format!("{base}/graphql"))
        .header("x-request-id", "ops-json-1")
        .json(&signup)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    let missing = client.get(format!("{base}/nothing-here")).header("x-request-id", "ops-json-2").send().await.unwrap();
    assert_eq!(missing.headers()["x-request-id"], "ops-json-2", "the answer names the request id");
    // The confirmation mail goes to a file, and its links to the log.
    let mail_dir = dir.path().join("mail");
    eventually("the mail file", || {
        let found = std::fs::read_dir(&mail_dir).map(|d| d.count() > 0).unwrap_or(false);
        async move { found }
    })
    .await;
    // SAFETY: kill only sends SIGTERM to the child this test started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || finish(child, Duration::from_secs(30))).await.unwrap();
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert!(!stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'), "no colour codes");
    let lines: Vec<Value> = json_lines(&stdout).into_iter().chain(json_lines(&stderr)).collect();
    let with_id = |id: &str| lines.iter().filter(|l| l["request_id"] == id).count();
    assert!(with_id("ops-json-1") >= 2, "the request's lines carry its id: {stdout}");
    assert!(with_id("ops-json-2") >= 2, "{stdout}");
    let mail = lines.iter().find(|l| l["message"] == "mail written to a file: SMTP_URL is not set").expect("the mail's log line");
    assert_eq!(mail["fields"]["to"], "lou@example.com");
    assert!(mail["fields"]["links"].as_str().unwrap().contains(&format!("http://127.0.0.1:{port}/confirm-email?token=")), "{mail}");
    assert!(lines.iter().any(|l| l["message"].as_str().unwrap().starts_with("Tessera is listening")));
    assert!(lines.iter().any(|l| l["message"].as_str().unwrap().starts_with("shutting down")));
}

#[tokio::test]
async fn a_taken_port_names_listen_addr_and_says_what_to_do_in_text_and_in_json() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let run = |format: &str| {
        let child = tessera(dir.path(), &[("LISTEN_ADDR", &address), ("LOG_FORMAT", format)]).env_remove("JWT_SECRET").spawn().unwrap();
        finish(child, Duration::from_secs(30))
    };
    let (status, stdout, stderr) = run("text");
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.contains(&format!("cannot listen on {address} (LISTEN_ADDR): the address is already in use"))
            && stderr.contains("set LISTEN_ADDR to a free port"),
        "{stderr}"
    );
    assert!(!stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'), "{stderr:?}");
    // Piped, not a terminal, log lines are plain text: `migrate` on a fresh
    // folder warns that it generated a signing key.
    let migrate = tessera(dir.path(), &[("LOG_FORMAT", "text")]).arg("migrate").env_remove("JWT_SECRET").spawn().unwrap();
    let (migrated, stdout, stderr) = finish(migrate, Duration::from_secs(60));
    assert!(migrated.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("WARN") && !stdout.contains('\u{1b}') && !stderr.contains('\u{1b}'), "{stdout:?}");

    let (status, stdout, stderr) = run("json");
    assert_eq!(status.code(), Some(1));
    let lines: Vec<Value> = json_lines(&stdout).into_iter().chain(json_lines(&stderr)).collect();
    let error = lines.iter().find(|l| l["level"] == "ERROR").expect("the error as a JSON line");
    assert!(error["message"].as_str().unwrap().contains("(LISTEN_ADDR): the address is already in use"), "{error}");

    // A setting that does not parse is a JSON line too.
    let child = tessera(dir.path(), &[("LISTEN_ADDR", "localhost"), ("LOG_FORMAT", "json")]).spawn().unwrap();
    let (status, stdout, stderr) = finish(child, Duration::from_secs(30));
    assert_eq!(status.code(), Some(2));
    let lines: Vec<Value> = json_lines(&stdout).into_iter().chain(json_lines(&stderr)).collect();
    assert!(lines.iter().any(|l| l["message"].as_str().unwrap().contains("localhost:8080")), "{stdout}{stderr}");
    drop(taken);
}
