//! A database outage: a PostgreSQL cluster of the test's own, on its own
//! port, stopped and started under a running Tessera. Requests fail fast
//! with 503 UNAVAILABLE, readiness says so at once, and a start waits for
//! the database for DATABASE_WAIT, then gives up.
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use tessera::config::Config;
use tessera::startup::Application;

use crate::helpers::*;

/// PostgreSQL's server programs (initdb, pg_ctl), the newest installed.
fn postgres_bin() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| p.parent().and_then(|v| v.file_name()).and_then(|v| v.to_str()).and_then(|v| v.parse::<u32>().ok()));
    found.pop()
}

struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// Runs a PostgreSQL program as the `postgres` user when we are root
/// (PostgreSQL refuses to run as root), as ourselves otherwise.
fn pg_command(bin: &std::path::Path, program: &str) -> Command {
    let is_root = Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false);
    if is_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(program));
        command
    } else {
        Command::new(bin.join(program))
    }
}

impl Cluster {
    fn create(bin: PathBuf) -> Cluster {
        let dir = tempfile::Builder::new().prefix("tessera-outage-").tempdir().unwrap();
        let _ = Command::new("chown").args(["postgres:postgres"]).arg(dir.path()).status();
        let data = dir.path().join("data");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = pg_command(&bin, "initdb").args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"]).arg(&data).output().unwrap();
        assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
        let cluster = Cluster { bin, data, port, _dir: dir };
        cluster.start();
        cluster
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn start(&self) {
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off", self.port);
        let log = self.data.parent().unwrap().join("postgres.log");
        let out = pg_command(&self.bin, "pg_ctl")
            .args(["-w", "-D"])
            .arg(&self.data)
            .args(["-o", &options, "-l"])
            .arg(&log)
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops at once, as a crash or a cut network would: no goodbye to clients.
    fn stop(&self) {
        let out = pg_command(&self.bin, "pg_ctl").args(["-w", "-m", "immediate", "-D"]).arg(&self.data).arg("stop").output().unwrap();
        assert!(out.status.success(), "pg_ctl stop failed: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = pg_command(&self.bin, "pg_ctl").args(["-m", "immediate", "-D"]).arg(&self.data).arg("stop").output();
    }
}

async fn timed_post(app: &TestApp, query: &str, variables: Value, token: Option<&str>) -> (Duration, reqwest::Response) {
    let started = Instant::now();
    let mut request = app.client.post(app.url("/graphql")).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (started.elapsed(), response)
}

#[tokio::test]
async fn during_a_database_outage_requests_fail_fast_with_503_and_a_start_waits_then_gives_up() {
    let Some(bin) = postgres_bin() else {
        eprintln!("SKIPPED: no PostgreSQL server programs (initdb, pg_ctl) under /usr/lib/postgresql/*/bin");
        return;
    };
    let cluster = Cluster::create(bin);
    let admin = Database::connect(cluster.url("postgres")).await.unwrap();
    admin.execute_unprepared("CREATE DATABASE tessera_outage").await.unwrap();
    admin.close().await.unwrap();
    let url = cluster.url("tessera_outage");
    let app = spawn_app_on(tempfile::tempdir().unwrap(), url.clone(), |s| s.database.acquire_timeout = Duration::from_secs(1)).await;
    let alice = app.user("alice").await;

    cluster.stop();
    let (elapsed, response) = timed_post(&app, "{ me { email } }", json!({}), Some(&alice.access)).await;
    assert_eq!(response.status(), 503, "me during the outage");
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("UNAVAILABLE"), "{body}");
    assert!(elapsed < Duration::from_secs(4), "answered in {elapsed:?}");

    let signup = "mutation($i: SignupInput!) { signup(input: $i) { user { id } userErrors { code } } }";
    let (elapsed, response) = timed_post(&app, signup, json!({ "i": { "email": "bob@example.com", "password": PASSWORD } }), None).await;
    assert_eq!(response.status(), 503, "signup during the outage");
    assert!(response.headers().get("retry-after").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), Some("UNAVAILABLE"), "{body}");
    assert!(elapsed < Duration::from_secs(4), "answered in {elapsed:?}");

    let started = Instant::now();
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(2), "readiness answered in {:?}", started.elapsed());

    // Back: the same server answers again, with no restart.
    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let me = app.me(&alice.access).await;
        if me["data"]["me"]["email"] == "alice@example.com" {
            break;
        }
        assert!(Instant::now() < deadline, "not answering after the database came back: {me}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A start with the database down waits DATABASE_WAIT, then gives up with a clear error.
    cluster.stop();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path(), url.clone());
    settings.database.wait = Duration::from_secs(3);
    let started = Instant::now();
    let error = Application::build(Config::resolve(settings).unwrap()).await.err().expect("no database, no start");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(2) && waited < Duration::from_secs(10), "gave up after {waited:?}");
    let message = format!("{error:#}");
    assert!(message.contains("cannot connect to the database") && message.contains("DATABASE_WAIT"), "{message}");

    // A database that comes up within DATABASE_WAIT is waited for.
    let mut settings = test_settings(dir.path(), url);
    settings.database.wait = Duration::from_secs(30);
    let starting = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        cluster.start();
        cluster
    });
    let app = Application::build(Config::resolve(settings).unwrap()).await.expect("starts once the database is up");
    let _cluster = starting.join().unwrap();
    assert!(app.port() > 0);
}
