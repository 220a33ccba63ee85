//! Two Tessera processes (the real binary) behind an imaginary load
//! balancer: one database, one S3-compatible store, one SMTP server.
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::mail_helpers::SmtpServer;

struct Instance {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_instance(database_url: &str, s3_endpoint: &str, smtp_url: &str, signing_key: &std::path::Path) -> Instance {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", dir.path())
        .env("DATABASE_URL", database_url)
        // One signing key and one public address (the tokens' issuer) for both, as behind a load balancer.
        .env_remove("JWT_SECRET")
        .env("JWT_SIGNING_KEYS", signing_key)
        .env("PUBLIC_URL", "http://tessera.test")
        .env("MEDIA_STORE_URL", "s3://tessera-shared/media")
        .env("MEDIA_S3_ENDPOINT", s3_endpoint)
        .env("AWS_ACCESS_KEY_ID", "tessera-test")
        .env("AWS_SECRET_ACCESS_KEY", "tessera-test-secret")
        .env("SMTP_URL", smtp_url)
        .env("MAIL_POLL_INTERVAL", "200ms")
        .env("CREDENTIAL_ATTEMPTS_PER_IP_PER_MINUTE", "13")
        .env("RUST_LOG", "tessera=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("the tessera binary starts");
    let instance = Instance { child, address: format!("http://127.0.0.1:{port}"), _dir: dir };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(response) = client.get(format!("{}/readyz", instance.address)).send().await {
            if response.status().is_success() {
                return instance;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("an instance did not become ready");
}

async fn post(client: &reqwest::Client, instance: &Instance, query: &str, variables: Value, token: Option<&str>) -> Value {
    let mut request = client.post(format!("{}/graphql", instance.address)).json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

const SIGNUP: &str = "mutation($i: SignupInput!) { signup(input: $i) { user { id } userErrors { code } } }";
const SIGNIN: &str = "mutation($i: SigninInput!) { signin(input: $i) { user { id } tokens { accessToken } userErrors { code } } }";

#[tokio::test]
async fn two_instances_share_sessions_pictures_rate_limits_and_mail() {
    let s3 = start_s3("tessera-shared").await;
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path()).await;
    let key = dir.path().join("signing.pem");
    std::fs::write(&key, tessera::security::jwt::generate_key_pem()).unwrap();
    let a = start_instance(&database_url, &s3.endpoint, &smtp.url(), &key).await;
    let b = start_instance(&database_url, &s3.endpoint, &smtp.url(), &key).await;
    let client = reqwest::Client::new();

    // Signed in on A, known on B; signed out on B, refused on A at once.
    let out =
        post(&client, &a, SIGNUP, json!({ "i": { "email": "ann@example.com", "username": "ann", "password": PASSWORD } }), None).await;
    assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    let out = post(&client, &a, SIGNIN, json!({ "i": { "login": "ann", "password": PASSWORD } }), None).await;
    let token = out["data"]["signin"]["tokens"]["accessToken"].as_str().expect("signed in").to_owned();
    let me = post(&client, &b, "{ me { email } }", json!({}), Some(&token)).await;
    assert_eq!(me["data"]["me"]["email"], "ann@example.com");
    let out = post(&client, &b, "mutation { signout { revokedSessions } }", json!({}), Some(&token)).await;
    assert_eq!(out["data"]["signout"]["revokedSessions"], 1);
    let me = post(&client, &a, "{ me { email } }", json!({}), Some(&token)).await;
    assert_eq!(error_code(&me), Some("UNAUTHENTICATED"), "{me}");

    // A role change made on B holds on A from the very next request, both ways.
    let made = crate::admin::run_create_admin(database_url.clone(), dir.path().join("admin"), "root@example.com", PASSWORD);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let out = post(&client, &b, SIGNIN, json!({ "i": { "login": "root@example.com", "password": PASSWORD } }), None).await;
    let root = out["data"]["signin"]["tokens"]["accessToken"].as_str().expect("the admin signed in").to_owned();
    let out = post(&client, &a, SIGNIN, json!({ "i": { "login": "ann", "password": PASSWORD } }), None).await;
    let ann = out["data"]["signin"]["tokens"]["accessToken"].as_str().expect("signed in").to_owned();
    let ann_id = out["data"]["signin"]["user"]["id"].as_str().expect("an id").to_owned();
    const LIST: &str = "{ users(first: 1) { edges { node { id } } } }";
    const SET_ROLE: &str = "mutation($id: ID!, $role: Role!) { setUserRole(userId: $id, role: $role) { userErrors { code } } }";
    assert_eq!(error_code(&post(&client, &a, LIST, json!({}), Some(&ann)).await), Some("FORBIDDEN"));
    for (role, listed) in [("STAFF", true), ("USER", false)] {
        let out = post(&client, &b, SET_ROLE, json!({ "id": ann_id, "role": role }), Some(&root)).await;
        assert_eq!(out["data"]["setUserRole"]["userErrors"], json!([]), "{out}");
        let list = post(&client, &a, LIST, json!({}), Some(&ann)).await;
        assert_eq!(error_code(&list).is_none(), listed, "as {role} on the other instance: {list}");
    }

    // A picture uploaded through A is served by B.
    let out = post(&client, &b, SIGNIN, json!({ "i": { "login": "ann", "password": PASSWORD } }), None).await;
    let token = out["data"]["signin"]["tokens"]["accessToken"].as_str().unwrap().to_owned();
    let operations = json!({ "query": "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { profile { displayPicUrl } } }", "variables": { "i": { "displayPic": null } } });
    let form = reqwest::multipart::Form::new()
        .text("operations", operations.to_string())
        .text("map", json!({ "0": ["variables.i.displayPic"] }).to_string())
        .part("0", reqwest::multipart::Part::bytes(png_bytes(12, 9)).file_name("me.png").mime_str("image/png").unwrap());
    let out: Value = client
        .post(format!("{}/graphql", a.address))
        .header("Apollo-Require-Preflight", "true")
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = out["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().expect("stored").to_owned();
    let key = key_of(&url);
    let served = client.get(format!("{}/media/{key}", b.address)).send().await.unwrap();
    assert_eq!(served.status(), 200);
    let picture = image::load_from_memory(&served.bytes().await.unwrap()).unwrap();
    assert_eq!((picture.width(), picture.height()), (12, 9));

    // Queued mail goes out exactly once, whichever instance queued it.
    for i in 0..4 {
        let instance = if i % 2 == 0 { &a } else { &b };
        let out =
            post(&client, instance, SIGNUP, json!({ "i": { "email": format!("m{i}@example.com"), "password": PASSWORD } }), None).await;
        assert_eq!(out["data"]["signup"]["userErrors"], json!([]), "{out}");
    }
    for address in ["ann@example.com", "m0@example.com", "m1@example.com", "m2@example.com", "m3@example.com"] {
        smtp.wait_for(address, 1).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for address in ["ann@example.com", "m0@example.com", "m1@example.com", "m2@example.com", "m3@example.com"] {
        assert_eq!(smtp.mail_to(address).len(), 1, "{address} got a mail twice");
    }

    // The per-IP budget of credential attempts (13 a minute) is counted across
    // both: five signups and four signins so far, so four more pass and the
    // next is refused, whichever instance it reaches.
    for i in 0..4 {
        let instance = if i % 2 == 0 { &a } else { &b };
        let out = post(&client, instance, SIGNIN, json!({ "i": { "login": "ann", "password": PASSWORD } }), None).await;
        assert!(out["data"]["signin"]["tokens"].is_object(), "attempt {i}: {out}");
    }
    for instance in [&a, &b] {
        let out = post(&client, instance, SIGNIN, json!({ "i": { "login": "ann", "password": PASSWORD } }), None).await;
        assert_eq!(error_code(&out), Some("RATE_LIMITED"), "{out}");
    }
}
