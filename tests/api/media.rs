//! Display pictures: uploads by the multipart spec, checks by bytes, the
//! store kept consistent with the database, and the media route.
use serde_json::{json, Value};

use crate::helpers::*;

const UPDATE: &str = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { profile { displayPicUrl } userErrors { field code message } } }";

async fn upload(app: &TestApp, token: &str, name: &str, content_type: &str, bytes: Vec<u8>) -> (reqwest::StatusCode, Value) {
    gql_upload(
        app,
        UPDATE,
        json!({ "input": { "displayPic": null } }),
        UploadFile { path: "input.displayPic", name, content_type, bytes },
        Some(token),
    )
    .await
}

#[tokio::test]
async fn a_png_is_stored_and_served_with_immutable_caching() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (status, out) = upload(&app, &alice.access, "me.png", "image/png", png_bytes(64, 48)).await;
    assert_eq!(status, 200);
    let url = out["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().expect("a picture url").to_owned();
    assert!(url.starts_with(&app.address) && url.contains("/media/") && url.ends_with(".png"), "{url}");
    assert!(!url.contains("me.png"));

    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert!(response.headers()["cache-control"].to_str().unwrap().contains("max-age=31536000"));
    let served = response.bytes().await.unwrap();
    let decoded = image::load_from_memory(&served).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (64, 48));
    assert_eq!(stored_media(&app), vec![key_of(&url)]);
}

#[tokio::test]
async fn jpeg_metadata_is_stripped() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    // An EXIF segment right after the start-of-image marker.
    let jpeg = jpeg_bytes(32, 32);
    let exif_payload = b"Exif\0\0II*\0\x08\0\0\0\0\0GPS-SECRET-LOCATION-52.5200N-13.4050E";
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
    with_exif.extend_from_slice(&((exif_payload.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(exif_payload);
    with_exif.extend_from_slice(&jpeg[2..]);
    let (_, out) = upload(&app, &alice.access, "holiday.jpg", "image/jpeg", with_exif).await;
    let url = out["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().expect("stored").to_owned();
    let response = app.client.get(&url).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "image/jpeg");
    let served = response.bytes().await.unwrap();
    assert!(!served.windows(10).any(|w| w == b"GPS-SECRET"), "metadata survived");
    assert!(image::load_from_memory(&served).is_ok());
}

#[tokio::test]
async fn anything_but_jpeg_or_png_is_refused_by_its_bytes() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;".to_vec();
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("pic.gif", "image/gif", gif.clone()),
        ("pic.png", "image/png", gif),
        ("notes.png", "image/png", b"just some text, not a picture".to_vec()),
        ("broken.png", "image/png", b"\x89PNG\r\n\x1a\nthis is not really a png".to_vec()),
    ];
    for (name, content_type, bytes) in cases {
        let (status, out) = upload(&app, &alice.access, name, content_type, bytes).await;
        assert_eq!(status, 200, "{name}");
        let payload = &out["data"]["updateProfile"];
        assert!(payload["profile"].is_null());
        assert_eq!(user_error_codes(payload), vec![("input.displayPic".to_owned(), "UNSUPPORTED_FILE_TYPE".to_owned())], "{name}: {out}");
    }
    assert!(stored_media(&app).is_empty());
}

#[tokio::test]
async fn oversized_files_are_refused_and_huge_ones_are_not_read() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let mut big = png_bytes(8, 8);
    big.resize(2 * 1024 * 1024 + 10_000, 0);
    let (status, out) = upload(&app, &alice.access, "big.png", "image/png", big).await;
    assert_eq!(status, 200);
    assert_eq!(user_error_codes(&out["data"]["updateProfile"]), vec![("input.displayPic".to_owned(), "FILE_TOO_LARGE".to_owned())]);

    let mut huge = png_bytes(8, 8);
    huge.resize(50 * 1024 * 1024, 0);
    let (status, out) = upload(&app, &alice.access, "huge.png", "image/png", huge).await;
    assert_eq!(status, 413);
    assert!(out["errors"][0]["extensions"]["code"].is_string(), "{out}");
    assert!(stored_media(&app).is_empty());
}

#[tokio::test]
async fn replacing_or_removing_a_picture_deletes_the_old_file() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let (_, first) = upload(&app, &alice.access, "a.png", "image/png", png_bytes(10, 10)).await;
    let first_url = first["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().unwrap().to_owned();
    let (_, second) = upload(&app, &alice.access, "b.jpg", "image/jpeg", jpeg_bytes(10, 10)).await;
    let second_url = second["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().unwrap().to_owned();
    assert_ne!(first_url, second_url);
    assert_eq!(stored_media(&app), vec![key_of(&second_url)]);
    assert_eq!(app.client.get(&first_url).send().await.unwrap().status(), 404);

    // Changing another field leaves the picture alone.
    let out = app.gql(UPDATE, json!({ "input": { "bio": "hello" } }), Some(&alice.access)).await;
    assert_eq!(out["data"]["updateProfile"]["profile"]["displayPicUrl"], second_url.as_str());

    let out = app.gql(UPDATE, json!({ "input": { "displayPic": null } }), Some(&alice.access)).await;
    assert!(out["data"]["updateProfile"]["profile"]["displayPicUrl"].is_null(), "{out}");
    assert!(stored_media(&app).is_empty());
    assert_eq!(app.client.get(&second_url).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn signup_can_carry_a_display_picture() {
    let app = spawn_app().await;
    let query =
        "mutation($input: SignupInput!) { signup(input: $input) { user { id profile { displayPicUrl } } userErrors { field code } } }";
    let variables = json!({ "input": { "email": "pic@example.com", "password": PASSWORD, "displayPic": null } });
    let (status, out) = gql_upload(
        &app,
        query,
        variables.clone(),
        UploadFile { path: "input.displayPic", name: "me.png", content_type: "image/png", bytes: png_bytes(20, 20) },
        None,
    )
    .await;
    assert_eq!(status, 200);
    let url = out["data"]["signup"]["user"]["profile"]["displayPicUrl"].as_str().expect("picture").to_owned();
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200);

    // A bad picture fails the signup as a whole, with the other problems.
    let bad = json!({ "input": { "email": "not-an-email", "password": PASSWORD, "displayPic": null } });
    let (_, out) = gql_upload(
        &app,
        query,
        bad,
        UploadFile { path: "input.displayPic", name: "x.png", content_type: "image/png", bytes: b"text".to_vec() },
        None,
    )
    .await;
    let mut codes = user_error_codes(&out["data"]["signup"]);
    codes.sort();
    assert_eq!(
        codes,
        vec![("input.displayPic".to_owned(), "UNSUPPORTED_FILE_TYPE".to_owned()), ("input.email".to_owned(), "INVALID".to_owned())]
    );
    assert_eq!(stored_media(&app).len(), 1);
}

#[tokio::test]
async fn the_media_route_reaches_nothing_but_stored_pictures() {
    let app = spawn_app().await;
    std::fs::write(app.data_dir.join("secret.txt"), "secret").unwrap();
    for path in [
        "/media/unknown",
        "/media/0123456789abcdef0123456789abcdef.png",
        "/media/..%2Fsecret.txt",
        "/media/..%2F..%2Fetc%2Fpasswd",
        "/media/%2E%2E%2Fjwt_secret",
        "/media/secret.txt",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        assert!(!response.text().await.unwrap().contains("secret"));
    }
}

#[tokio::test]
async fn a_failed_database_write_leaves_no_file_behind() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    if on_postgres() {
        app.sql("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END; $$ LANGUAGE plpgsql").await;
        app.sql("CREATE TRIGGER refuse_profiles BEFORE UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION refuse()").await;
    } else {
        app.sql("CREATE TRIGGER refuse_profiles BEFORE UPDATE ON profiles BEGIN SELECT RAISE(ABORT, 'refused'); END").await;
    }
    let (_, out) = upload(&app, &alice.access, "a.png", "image/png", png_bytes(10, 10)).await;
    assert_eq!(error_code(&out), Some("INTERNAL"), "{out}");
    let message = out["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("refused") && !message.contains("profiles"), "{message}");
    assert!(stored_media(&app).is_empty());
}
