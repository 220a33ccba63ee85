//! The README, followed line by line: every GraphiQL example is one
//! operation and runs, in order, against a fresh server; the curl upload
//! example works as written.
use serde_json::{json, Value};

use crate::helpers::*;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The fenced blocks of one language, in order.
fn blocks(text: &str, language: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim() == format!("```{language}") => current = Some(Vec::new()),
            Some(lines) if line.trim() == "```" => {
                found.push(lines.join("\n"));
                current = None;
            }
            Some(lines) => lines.push(line),
            None => {}
        }
    }
    found
}

#[tokio::test]
async fn every_graphiql_example_in_the_readme_is_one_operation_and_runs_in_order() {
    let text = readme();
    let section = &text[text.find("## Trying it in GraphiQL").unwrap()..];
    let section = &section[..section[3..].find("\n## ").unwrap() + 3];
    let examples = blocks(section, "graphql");
    assert!(examples.len() >= 6, "{examples:?}");
    let app = spawn_app().await;
    let (mut access, mut refresh) = (None::<String>, String::new());
    for example in examples {
        let document = async_graphql::parser::parse_query(&example).unwrap_or_else(|e| panic!("{e}: {example}"));
        assert_eq!(document.operations.iter().count(), 1, "one operation per block, so that pasting it runs it: {example}");
        let query = example.replace("<refreshToken>", &refresh);
        let out = app.gql(&query, json!({}), access.as_deref()).await;
        assert!(out["errors"].is_null(), "{example}\n{out}");
        let data = out["data"].as_object().unwrap();
        for (_, payload) in data {
            if let Some(errors) = payload.get("userErrors") {
                assert_eq!(errors, &json!([]), "{example}\n{out}");
            }
            if let Some(tokens) = payload.get("tokens").filter(|t| t.is_object()) {
                access = Some(tokens["accessToken"].as_str().unwrap().to_owned());
                refresh = tokens["refreshToken"].as_str().unwrap().to_owned();
            }
        }
    }
    assert!(access.is_some(), "the examples sign in");
}

#[tokio::test]
async fn the_readme_curl_upload_example_works_as_written() {
    let text = readme();
    let command = blocks(&text, "sh")
        .into_iter()
        .find(|b| b.starts_with("curl ") && b.contains("Apollo-Require-Preflight"))
        .expect("the README shows an upload with curl");
    assert!(command.contains("http://127.0.0.1:8080/graphql"), "{command}");
    let app = spawn_app().await;
    let ada = app.user("ada").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("me.png"), png_bytes(32, 32)).unwrap();
    // The documented default address, pointed at this test's server.
    let script = command.replace("http://127.0.0.1:8080", &app.address);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh").arg("-c").arg(&script).current_dir(dir.path()).env("TOKEN", &ada.access).output()
    })
    .await
    .unwrap()
    .expect("sh and curl run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let body: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(body["data"]["updateProfile"]["userErrors"], json!([]), "{body}");
    let url = body["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().expect("a picture URL");
    assert_eq!(app.client.get(url).send().await.unwrap().status(), 200, "{url}");
}
