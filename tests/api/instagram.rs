//! Instagram: linking, unlinking, batch sync and image paging.
use serde_json::{json, Value};

use crate::helpers::*;

const LINK: &str = "mutation($u: String!) { linkInstagram(username: $u) { instagram { username linkedAt imageCount } userErrors { field code message } } }";
const UNLINK: &str = "mutation { unlinkInstagram { success userErrors { field code message } } }";
const SYNC: &str = "mutation($i: InstagramSyncInput!) { instagramSync(input: $i) { additions { imageId ok message image { id instagramUrl rawImageUrl origWidth origHeight addedAt } } deletions { imageId ok message image { id rawImageUrl } } userErrors { field code message } } }";
const IMAGES: &str = "query($first: Int, $after: String) { me { instagram { username imageCount images(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id rawImageUrl } } } } } }";

const ALREADY: &str = "Image already added";
const MISSING: &str = "There is no image of the user with the image_id";

fn image(id: &str) -> Value {
    json!({
        "id": id,
        "instagramUrl": format!("https://www.instagram.com/p/{id}/"),
        "rawImageUrl": format!("https://cdn.example.com/{id}.jpg"),
        "origWidth": 1080,
        "origHeight": 1350,
    })
}

async fn sync(app: &TestApp, who: &SignedIn, additions: Vec<Value>, deletions: Vec<String>) -> Value {
    let out = app.gql(SYNC, json!({ "i": { "additions": additions, "deletions": deletions } }), Some(&who.access)).await;
    assert!(out["errors"].is_null(), "{out}");
    out["data"]["instagramSync"].clone()
}

/// A signed-in user with a linked account.
async fn linked(app: &TestApp, name: &str) -> SignedIn {
    let user = app.user(name).await;
    let out = app.gql(LINK, json!({ "u": name }), Some(&user.access)).await;
    assert_eq!(out["data"]["linkInstagram"]["userErrors"], json!([]), "{out}");
    user
}

async fn image_count(app: &TestApp, who: &SignedIn) -> i64 {
    app.count(&format!("SELECT COUNT(*) FROM instagram_images WHERE user_id = '{}'", who.id)).await
}

fn ids(page: &Value) -> Vec<String> {
    page["edges"].as_array().unwrap().iter().map(|e| e["node"]["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn linking_checks_the_username_and_happens_once_until_unlinked() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    assert_eq!(error_code(&app.gql(LINK, json!({ "u": "alice" }), None).await), Some("UNAUTHENTICATED"));
    assert_eq!(error_code(&app.gql(UNLINK, json!({}), None).await), Some("UNAUTHENTICATED"));
    for (bad, code) in [
        ("", "REQUIRED"),
        (".alice", "INVALID"),
        ("alice.", "INVALID"),
        ("al..ice", "INVALID"),
        ("al ice", "INVALID"),
        ("al-ice", "INVALID"),
        (&"a".repeat(31), "TOO_LONG"),
    ] {
        let out = app.gql(LINK, json!({ "u": bad }), Some(&alice.access)).await;
        assert_eq!(user_error_codes(&out["data"]["linkInstagram"]), [("username".to_owned(), code.to_owned())], "{bad}: {out}");
        assert!(out["data"]["linkInstagram"]["instagram"].is_null());
    }
    let none = app.gql("{ me { instagram { username } } }", json!({}), Some(&alice.access)).await;
    assert!(none["data"]["me"]["instagram"].is_null(), "{none}");

    let out = app.gql(LINK, json!({ "u": "@Ada.Love_1" }), Some(&alice.access)).await;
    let instagram = &out["data"]["linkInstagram"]["instagram"];
    assert_eq!(instagram["username"], "ada.love_1", "{out}");
    assert_eq!(instagram["imageCount"], 0);
    assert!(instagram["linkedAt"].as_str().unwrap().ends_with('Z'));

    let twice = app.gql(LINK, json!({ "u": "other" }), Some(&alice.access)).await;
    assert_eq!(twice["data"]["linkInstagram"]["userErrors"][0]["code"], "ALREADY_DONE", "{twice}");
    let bob = app.user("bob").await;
    let seen = app.gql("query($id: ID!) { user(id: $id) { instagram { username } } }", json!({ "id": alice.id }), Some(&bob.access)).await;
    assert_eq!(seen["data"]["user"]["instagram"]["username"], "ada.love_1", "{seen}");

    sync(&app, &alice, vec![image("1"), image("2")], vec![]).await;
    let out = app.gql(UNLINK, json!({}), Some(&alice.access)).await;
    assert_eq!(out["data"]["unlinkInstagram"], json!({ "success": true, "userErrors": [] }), "{out}");
    assert_eq!(image_count(&app, &alice).await, 0);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM instagram_accounts WHERE user_id = '{}'", alice.id)).await, 0);
    let again = app.gql(UNLINK, json!({}), Some(&alice.access)).await;
    assert_eq!(again["data"]["unlinkInstagram"]["success"], false);
    assert_eq!(again["data"]["unlinkInstagram"]["userErrors"][0]["code"], "NOT_FOUND", "{again}");

    let relinked = app.gql(LINK, json!({ "u": "other" }), Some(&alice.access)).await;
    assert_eq!(relinked["data"]["linkInstagram"]["instagram"]["username"], "other", "{relinked}");
}

#[tokio::test]
async fn syncing_without_a_linked_account_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    assert_eq!(error_code(&app.gql(SYNC, json!({ "i": { "additions": [image("1")] } }), None).await), Some("UNAUTHENTICATED"));
    let out = sync(&app, &alice, vec![image("1")], vec!["2".into()]).await;
    assert_eq!(out["userErrors"][0]["code"], "NOT_FOUND", "{out}");
    assert_eq!((out["additions"].clone(), out["deletions"].clone()), (json!([]), json!([])));
    assert_eq!(image_count(&app, &alice).await, 0);
}

#[tokio::test]
async fn a_500_item_sync_reports_on_every_item_in_the_order_sent() {
    let app = spawn_app().await;
    let alice = linked(&app, "alice").await;
    let stored: Vec<Value> = (0..10).map(|i| image(&format!("p{i}"))).collect();
    sync(&app, &alice, stored, vec![]).await;

    // 500 additions, each with the result it must get.
    let mut additions = Vec::new();
    let mut expected_additions: Vec<(String, Result<(), &str>)> = Vec::new();
    let mut push = |item: Value, outcome: Result<(), &'static str>| {
        expected_additions.push((item["id"].as_str().unwrap().to_owned(), outcome));
        additions.push(item);
    };
    for k in 0..5 {
        push(image(&format!("p{k}")), Err(ALREADY)); // stored before
    }
    let bad = |change: Value, why: &'static str, k: usize| {
        let mut item = image(&format!("bad{k}"));
        for (key, value) in change.as_object().unwrap() {
            item[key] = value.clone();
        }
        (item, why)
    };
    let bad_items = [
        bad(json!({ "instagramUrl": "ftp://instagram.com/p/x" }), "instagramUrl must be an http or https URL", 5),
        bad(json!({ "rawImageUrl": "not a url" }), "rawImageUrl must be an http or https URL", 6),
        bad(json!({ "origWidth": 0 }), "origWidth and origHeight must be positive", 7),
        bad(json!({ "origHeight": -1 }), "origWidth and origHeight must be positive", 8),
        bad(json!({ "id": "" }), "The image id must be", 9),
    ];
    for (item, why) in bad_items {
        push(item, Err(why));
    }
    for k in 0..10 {
        push(image(&format!("d{k}")), Ok(())); // first time in this batch
    }
    for k in 0..10 {
        push(image(&format!("d{k}")), Err(ALREADY)); // earlier in this same batch
    }
    for k in 30..500 {
        push(image(&format!("n{k}")), Ok(()));
    }
    assert_eq!(additions.len(), 500);

    // 500 deletions.
    let mut deletions: Vec<String> = Vec::new();
    let mut expected_deletions: Vec<bool> = Vec::new();
    for k in 5..9 {
        deletions.push(format!("p{k}")); // stored: deleted
        expected_deletions.push(true);
    }
    deletions.push("p5".into()); // deleted a moment ago in this batch
    expected_deletions.push(false);
    deletions.push("n30".into()); // only added by this batch, after deletions apply
    expected_deletions.push(false);
    while deletions.len() < 500 {
        deletions.push(format!("ghost{}", deletions.len()));
        expected_deletions.push(false);
    }

    let out = sync(&app, &alice, additions.clone(), deletions.clone()).await;
    assert_eq!(out["userErrors"], json!([]), "{out}");
    let results = out["additions"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    for (k, ((id, outcome), result)) in expected_additions.iter().zip(results).enumerate() {
        assert_eq!(result["imageId"], id.as_str(), "addition {k}");
        match outcome {
            Ok(()) => {
                assert_eq!(result["ok"], true, "addition {k}: {result}");
                assert!(result["message"].is_null(), "addition {k}: {result}");
                assert_eq!(result["image"]["id"], id.as_str());
                assert_eq!(result["image"]["rawImageUrl"], additions[k]["rawImageUrl"]);
                assert_eq!(result["image"]["origWidth"], 1080);
                assert!(result["image"]["addedAt"].is_string());
            }
            Err(why) => {
                assert_eq!(result["ok"], false, "addition {k}: {result}");
                assert!(result["message"].as_str().unwrap().starts_with(why), "addition {k}: {result}");
                assert!(result["image"].is_null(), "addition {k}: {result}");
            }
        }
    }
    let results = out["deletions"].as_array().unwrap();
    assert_eq!(results.len(), 500);
    for (k, ((id, ok), result)) in deletions.iter().zip(&expected_deletions).zip(results).enumerate() {
        assert_eq!(result["imageId"], id.as_str(), "deletion {k}");
        assert_eq!(result["ok"], *ok, "deletion {k}: {result}");
        if *ok {
            assert!(result["message"].is_null());
            assert_eq!(result["image"]["id"], id.as_str());
            assert_eq!(result["image"]["rawImageUrl"], format!("https://cdn.example.com/{id}.jpg"));
        } else {
            assert_eq!(result["message"], MISSING, "deletion {k}");
            assert!(result["image"].is_null());
        }
    }

    let added = expected_additions.iter().filter(|(_, o)| o.is_ok()).count() as i64;
    assert_eq!(added, 480);
    assert_eq!(image_count(&app, &alice).await, 10 - 4 + added);
    let page = app.gql(IMAGES, json!({ "first": 3 }), Some(&alice.access)).await;
    let instagram = &page["data"]["me"]["instagram"];
    assert_eq!(instagram["imageCount"], 10 - 4 + added, "{page}");
    assert_eq!(instagram["images"]["totalCount"], 10 - 4 + added);
    // The last item sent is the newest.
    assert_eq!(ids(&instagram["images"]), ["n499", "n498", "n497"]);
}

#[tokio::test]
async fn more_than_500_of_either_is_refused_as_a_whole() {
    let app = spawn_app().await;
    let alice = linked(&app, "alice").await;
    sync(&app, &alice, vec![image("keep")], vec![]).await;
    let too_many: Vec<Value> = (0..501).map(|i| image(&format!("x{i}"))).collect();
    let many_ids: Vec<String> = (0..501).map(|i| format!("x{i}")).collect();

    let cases = [
        (too_many.clone(), vec!["keep".to_owned()], vec!["input.additions"]),
        (vec![image("new")], [vec!["keep".to_owned()], many_ids.clone()].concat(), vec!["input.deletions"]),
        (too_many, many_ids, vec!["input.additions", "input.deletions"]),
    ];
    for (additions, deletions, fields) in cases {
        let out = sync(&app, &alice, additions, deletions).await;
        let errors = user_error_codes(&out);
        assert_eq!(errors, fields.iter().map(|f| (f.to_string(), "INVALID".to_owned())).collect::<Vec<_>>(), "{out}");
        assert_eq!((out["additions"].clone(), out["deletions"].clone()), (json!([]), json!([])));
        let page = app.gql(IMAGES, json!({}), Some(&alice.access)).await;
        assert_eq!(ids(&page["data"]["me"]["instagram"]["images"]), ["keep"], "nothing changed");
    }
    // Exactly 500 of each is fine.
    let at_limit: Vec<Value> = (0..500).map(|i| image(&format!("y{i}"))).collect();
    let out = sync(&app, &alice, at_limit, (0..500).map(|i| format!("z{i}")).collect()).await;
    assert_eq!(out["userErrors"], json!([]));
    assert_eq!(image_count(&app, &alice).await, 501);
}

#[tokio::test]
async fn a_sync_costs_the_same_statements_for_10_items_or_500() {
    let app = spawn_app().await;
    let alice = linked(&app, "alice").await;
    for batch in 0..2 {
        sync(&app, &alice, (0..300).map(|i| image(&format!("e{}", batch * 300 + i))).collect(), vec![]).await;
    }
    let measure = |additions: Vec<Value>, deletions: Vec<String>| {
        let app = &app;
        let alice = &alice;
        async move {
            let before = app.state.statement_count();
            let out = sync(app, alice, additions, deletions).await;
            let spent = app.state.statement_count() - before;
            assert!(out["additions"].as_array().unwrap().iter().all(|r| r["ok"] == true), "{out}");
            assert!(out["deletions"].as_array().unwrap().iter().all(|r| r["ok"] == true), "{out}");
            spent
        }
    };
    let small = measure((0..10).map(|i| image(&format!("s{i}"))).collect(), (0..10).map(|i| format!("e{i}")).collect()).await;
    let large = measure((0..500).map(|i| image(&format!("l{i}"))).collect(), (10..510).map(|i| format!("e{i}")).collect()).await;
    assert_eq!(small, large, "10 items: {small} statements, 500 items: {large}");
    // authenticate, lock the account, read the named images, delete, insert
    assert!(large <= 6, "{large} statements");
    assert_eq!(image_count(&app, &alice).await, 600 - 510 + 510);
}

#[tokio::test]
async fn images_page_newest_first_with_cursors_that_hold_while_images_are_added() {
    let app = spawn_app().await;
    let alice = linked(&app, "alice").await;
    sync(&app, &alice, (0..15).map(|i| image(&format!("i{i}"))).collect(), vec![]).await;
    sync(&app, &alice, (15..25).map(|i| image(&format!("i{i}"))).collect(), vec![]).await;
    let page = |first: Value, after: Value| app.gql(IMAGES, json!({ "first": first, "after": after }), Some(&alice.access));
    let expect = |from: i32, to: i32| (to..=from).rev().map(|i| format!("i{i}")).collect::<Vec<_>>();

    let one = page(json!(10), Value::Null).await;
    let images = &one["data"]["me"]["instagram"]["images"];
    assert_eq!(ids(images), expect(24, 15), "{one}");
    assert_eq!(images["totalCount"], 25);
    assert_eq!(images["pageInfo"]["hasNextPage"], true);
    assert_eq!(images["pageInfo"]["endCursor"], images["edges"][9]["cursor"]);
    let two = page(json!(10), images["pageInfo"]["endCursor"].clone()).await;
    let images = &two["data"]["me"]["instagram"]["images"];
    assert_eq!(ids(images), expect(14, 5), "{two}");
    let cursor = images["pageInfo"]["endCursor"].clone();

    sync(&app, &alice, (25..30).map(|i| image(&format!("i{i}"))).collect(), vec![]).await;
    let three = page(json!(10), cursor).await;
    let images = &three["data"]["me"]["instagram"]["images"];
    assert_eq!(ids(images), expect(4, 0), "{three}");
    assert_eq!(images["pageInfo"]["hasNextPage"], false);
    assert_eq!(images["totalCount"], 30);

    let default = page(Value::Null, Value::Null).await;
    assert_eq!(ids(&default["data"]["me"]["instagram"]["images"]).len(), 20, "first defaults to 20");
    for (first, after) in [(json!(101), Value::Null), (json!(-1), Value::Null), (json!(5), json!("bm9wZQ"))] {
        let out = page(first.clone(), after).await;
        assert_eq!(error_code(&out), Some("BAD_USER_INPUT"), "{first}: {out}");
    }

    // Deleting and adding one id in the same call replaces the image, which becomes the newest.
    let mut fresh = image("i3");
    fresh["rawImageUrl"] = json!("https://cdn.example.com/i3-v2.jpg");
    let out = sync(&app, &alice, vec![fresh], vec!["i3".into()]).await;
    assert_eq!((out["deletions"][0]["ok"].clone(), out["additions"][0]["ok"].clone()), (json!(true), json!(true)), "{out}");
    let newest = page(json!(1), Value::Null).await;
    let edge = &newest["data"]["me"]["instagram"]["images"]["edges"][0]["node"];
    assert_eq!((edge["id"].as_str(), edge["rawImageUrl"].as_str()), (Some("i3"), Some("https://cdn.example.com/i3-v2.jpg")));
    assert_eq!(image_count(&app, &alice).await, 30);
}

#[tokio::test]
async fn two_users_can_hold_the_same_image_id() {
    let app = spawn_app().await;
    let alice = linked(&app, "alice").await;
    let bob = linked(&app, "bob").await;
    assert_eq!(sync(&app, &alice, vec![image("1")], vec![]).await["additions"][0]["ok"], true);
    assert_eq!(sync(&app, &bob, vec![image("1")], vec![]).await["additions"][0]["ok"], true);
    // Bob cannot delete Alice's image: his own goes, hers stays.
    assert_eq!(sync(&app, &bob, vec![], vec!["1".into()]).await["deletions"][0]["ok"], true);
    assert_eq!(sync(&app, &bob, vec![], vec!["1".into()]).await["deletions"][0]["message"], MISSING);
    assert_eq!(image_count(&app, &alice).await, 1);
}
