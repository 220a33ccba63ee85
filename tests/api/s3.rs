//! The S3 media backend, for real, against an S3-compatible server on loopback.
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn pictures_live_in_s3_and_replaced_ones_are_deleted_there() {
    let s3 = start_s3("tessera-media").await;
    let endpoint = s3.endpoint.clone();
    let app = spawn_app_with(|s| {
        s.media.store_url = Some("s3://tessera-media/pictures".into());
        s.media.s3_endpoint = Some(endpoint);
    })
    .await;
    let alice = app.user("alice").await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { profile { displayPicUrl } userErrors { code } } }";
    let (status, out) = gql_upload(
        &app,
        update,
        json!({ "input": { "displayPic": null } }),
        UploadFile { path: "input.displayPic", name: "a.png", content_type: "image/png", bytes: png_bytes(30, 20) },
        Some(&alice.access),
    )
    .await;
    assert_eq!(status, 200);
    let url = out["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().expect("stored").to_owned();
    let key = key_of(&url);

    // It is in the bucket, under the prefix, and not on the local disk.
    assert!(app.state.media.exists(&key).await.unwrap());
    assert!(stored_media(&app).is_empty());
    let listed = app.client.get(format!("{}/tessera-media?list-type=2", s3.endpoint)).send().await.unwrap().text().await.unwrap();
    assert!(listed.contains(&format!("pictures/{key}")), "{listed}");
    // Tessera serves it from there.
    let served = app.client.get(&url).send().await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    let picture = image::load_from_memory(&served.bytes().await.unwrap()).unwrap();
    assert_eq!((picture.width(), picture.height()), (30, 20));

    let (_, out) = gql_upload(
        &app,
        update,
        json!({ "input": { "displayPic": null } }),
        UploadFile { path: "input.displayPic", name: "b.jpg", content_type: "image/jpeg", bytes: jpeg_bytes(8, 8) },
        Some(&alice.access),
    )
    .await;
    let second = key_of(out["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().unwrap());
    assert!(!app.state.media.exists(&key).await.unwrap());
    assert!(app.state.media.exists(&second).await.unwrap());
    assert_eq!(app.client.get(app.url("/media/0123456789abcdef0123456789abcdef.png")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_public_media_url_points_clients_at_a_cdn() {
    let app = spawn_app_with(|s| s.media.public_url = Some("https://cdn.example.com/pics/".into())).await;
    let alice = app.user("alice").await;
    let update = "mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { profile { displayPicUrl } } }";
    let (_, out) = gql_upload(
        &app,
        update,
        json!({ "input": { "displayPic": null } }),
        UploadFile { path: "input.displayPic", name: "a.png", content_type: "image/png", bytes: png_bytes(4, 4) },
        Some(&alice.access),
    )
    .await;
    let url = out["data"]["updateProfile"]["profile"]["displayPicUrl"].as_str().unwrap();
    assert!(url.starts_with("https://cdn.example.com/pics/") && url.ends_with(".png"), "{url}");
}
