//! Profiles: reads, privacy, and batching.
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn every_user_has_a_profile_from_signup() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let out = app
        .gql("{ me { profile { userId fullName displayPicUrl bio interests age birthDate monthlySubKeys updatedAt user { id } } } }", json!({}), Some(&alice.access))
        .await;
    let profile = &out["data"]["me"]["profile"];
    assert_eq!(profile["userId"], alice.id, "{out}");
    assert_eq!(profile["user"]["id"], alice.id);
    assert_eq!(profile["interests"], json!([]));
    assert!(profile["displayPicUrl"].is_null() && profile["age"].is_null());
}
