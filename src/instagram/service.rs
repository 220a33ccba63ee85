//! Instagram rules: linking an account, unlinking it, and syncing its images
//! in batches of up to 500 additions and 500 deletions.
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionTrait,
};

use crate::db::begin_write;
use crate::entities::{instagram_account, instagram_image};
use crate::error::{unique_violation, AppError, Problems, ServiceError, ServiceResult, UserErrorCode};
use crate::graphql::pagination::{decode_cursor, encode_cursor, invalid_cursor};
use crate::state::AppState;

/// The most additions, and the most deletions, one sync may carry.
pub const MAX_SYNC_ITEMS: usize = 500;
pub const MAX_URL: usize = 2048;
pub const MAX_IMAGE_ID: usize = 64;

pub const ALREADY_ADDED: &str = "Image already added";
pub const NO_SUCH_IMAGE: &str = "There is no image of the user with the image_id";

/// An Instagram username: 1 to 30 of letters, digits, '.' and '_', not
/// starting or ending with '.', without "..". Kept lower-cased, as Instagram
/// treats usernames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstagramUsername(String);

impl InstagramUsername {
    /// Trims, and drops one leading '@' that people often type.
    pub fn parse(raw: &str) -> Result<InstagramUsername, (UserErrorCode, &'static str)> {
        let name = raw.trim();
        let name = name.strip_prefix('@').unwrap_or(name);
        if name.is_empty() {
            return Err((UserErrorCode::Required, "Enter the Instagram username."));
        }
        if name.chars().count() > 30 {
            return Err((UserErrorCode::TooLong, "An Instagram username has at most 30 characters."));
        }
        let invalid = (
            UserErrorCode::Invalid,
            "An Instagram username has only letters, digits, '.' and '_', and does not start or end with '.' or hold \"..\".",
        );
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') {
            return Err(invalid);
        }
        if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
            return Err(invalid);
        }
        Ok(InstagramUsername(name.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn not_linked() -> ServiceError {
    ServiceError::one(&[], UserErrorCode::NotFound, "No Instagram account is linked: link one first.")
}

/// Records the user's Instagram account; ALREADY_DONE when one is linked.
pub async fn link(state: &AppState, user_id: &str, username: &str) -> ServiceResult<instagram_account::Model> {
    let username = InstagramUsername::parse(username).map_err(|(code, message)| ServiceError::one(&["username"], code, message))?;
    let already = || ServiceError::one(&[], UserErrorCode::AlreadyDone, "An Instagram account is already linked: unlink it first.");
    if instagram_account::Entity::find_by_id(user_id).one(&state.db).await?.is_some() {
        return Err(already());
    }
    let model = instagram_account::ActiveModel {
        user_id: Set(user_id.to_owned()),
        username: Set(username.as_str().to_owned()),
        linked_at: Set(Utc::now()),
    };
    // A link made a moment ago by another request loses on the primary key.
    model.insert(&state.db).await.map_err(|e| if unique_violation(&e).is_some() { already() } else { e.into() })
}

/// Removes the linked account and all its images, in one transaction.
pub async fn unlink(state: &AppState, user_id: &str) -> ServiceResult<()> {
    let txn = state.db.begin().await?;
    let removed = instagram_account::Entity::delete_by_id(user_id).exec(&txn).await?;
    if removed.rows_affected == 0 {
        return Err(not_linked());
    }
    instagram_image::Entity::delete_many().filter(instagram_image::Column::UserId.eq(user_id)).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// One image to add, as the client sent it.
#[derive(Debug, Clone)]
pub struct NewImage {
    pub id: String,
    pub instagram_url: String,
    pub raw_image_url: String,
    pub orig_width: i32,
    pub orig_height: i32,
}

/// What happened to one item of a sync: the image added or deleted, or why not.
#[derive(Debug, Clone)]
pub struct ItemResult {
    pub image_id: String,
    pub outcome: Result<instagram_image::Model, String>,
}

/// One result per item, in the order sent.
#[derive(Debug, Default)]
pub struct SyncReport {
    pub additions: Vec<ItemResult>,
    pub deletions: Vec<ItemResult>,
}

fn is_web_url(raw: &str) -> bool {
    raw.len() <= MAX_URL
        && url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
}

/// What became of one addition before the rows are written.
enum Addition {
    Refused(String, String),
    Fresh(String),
}

/// Why an addition cannot be stored, if it cannot.
fn check_image(image: &NewImage) -> Result<(), String> {
    let id = &image.id;
    if id.is_empty() || id.chars().count() > MAX_IMAGE_ID || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("The image id must be 1 to {MAX_IMAGE_ID} characters without spaces."));
    }
    if !is_web_url(&image.instagram_url) {
        return Err(format!("instagramUrl must be an http or https URL of at most {MAX_URL} characters."));
    }
    if !is_web_url(&image.raw_image_url) {
        return Err(format!("rawImageUrl must be an http or https URL of at most {MAX_URL} characters."));
    }
    if image.orig_width <= 0 || image.orig_height <= 0 {
        return Err("origWidth and origHeight must be positive.".into());
    }
    Ok(())
}

/// Applies a batch to the user's images and reports on every item.
///
/// Deletions apply first, then additions, so deleting and adding one id in
/// the same call replaces that image. A deletion of an id the user does not
/// have, an addition of an id they already have (stored, or added earlier in
/// this batch), and an addition that is malformed (not an http(s) URL, a
/// size that is not positive) each get `ok: false` with a message; the other
/// items still apply. More than 500 additions or deletions is refused as a
/// whole (userError INVALID), changing nothing.
///
/// The whole batch is one transaction of a fixed number of statements, however
/// many items it carries: the account lookup (which locks it, so two syncs of
/// one user take turns), one SELECT of the images the batch names, one bulk
/// DELETE and one bulk INSERT.
pub async fn sync(state: &AppState, user_id: &str, additions: Vec<NewImage>, deletions: Vec<String>) -> ServiceResult<SyncReport> {
    let mut problems = Problems::default();
    for (field, count) in [("additions", additions.len()), ("deletions", deletions.len())] {
        if count > MAX_SYNC_ITEMS {
            problems.add(
                &["input", field],
                UserErrorCode::Invalid,
                format!("Send at most {MAX_SYNC_ITEMS} {field} in one call (this one had {count}); nothing was changed."),
            );
        }
    }
    problems.check()?;

    let txn = begin_write(&state.db).await?;
    let linked = instagram_account::Entity::find_by_id(user_id).lock_exclusive().one(&txn).await?;
    if linked.is_none() {
        return Err(not_linked());
    }
    let named: HashSet<&str> = additions.iter().map(|a| a.id.as_str()).chain(deletions.iter().map(String::as_str)).collect();
    let mut stored: HashMap<String, instagram_image::Model> = if named.is_empty() {
        HashMap::new()
    } else {
        instagram_image::Entity::find()
            .filter(instagram_image::Column::UserId.eq(user_id))
            .filter(instagram_image::Column::ImageId.is_in(named))
            .all(&txn)
            .await?
            .into_iter()
            .map(|image| (image.image_id.clone(), image))
            .collect()
    };

    let mut report = SyncReport::default();
    let mut doomed = Vec::new();
    for image_id in deletions {
        let outcome = match stored.remove(&image_id) {
            Some(image) => {
                doomed.push(image_id.clone());
                Ok(image)
            }
            None => Err(NO_SUCH_IMAGE.to_owned()),
        };
        report.deletions.push(ItemResult { image_id, outcome });
    }

    let now = Utc::now();
    let mut held: HashSet<String> = stored.into_keys().collect();
    let mut fresh = Vec::new();
    let mut outcomes = Vec::with_capacity(additions.len());
    for image in additions {
        let check = if held.contains(&image.id) { Err(ALREADY_ADDED.to_owned()) } else { check_image(&image) };
        if let Err(message) = check {
            outcomes.push(Addition::Refused(image.id, message));
            continue;
        }
        held.insert(image.id.clone());
        outcomes.push(Addition::Fresh(image.id.clone()));
        fresh.push(instagram_image::ActiveModel {
            user_id: Set(user_id.to_owned()),
            image_id: Set(image.id),
            instagram_url: Set(image.instagram_url),
            raw_image_url: Set(image.raw_image_url),
            orig_width: Set(image.orig_width),
            orig_height: Set(image.orig_height),
            added_at: Set(now),
            ..Default::default()
        });
    }

    if !doomed.is_empty() {
        instagram_image::Entity::delete_many()
            .filter(instagram_image::Column::UserId.eq(user_id))
            .filter(instagram_image::Column::ImageId.is_in(doomed))
            .exec(&txn)
            .await?;
    }
    // Rows go in the order sent, so the last addition is the newest.
    let mut inserted: HashMap<String, instagram_image::Model> = instagram_image::Entity::insert_many(fresh)
        .exec_with_returning(&txn)
        .await?
        .into_iter()
        .map(|image| (image.image_id.clone(), image))
        .collect();
    report.additions = outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Addition::Refused(image_id, message) => Ok(ItemResult { image_id, outcome: Err(message) }),
            Addition::Fresh(image_id) => match inserted.remove(&image_id) {
                Some(image) => Ok(ItemResult { image_id, outcome: Ok(image) }),
                None => Err(AppError::internal("instagram sync", "an inserted row was not returned")),
            },
        })
        .collect::<Result<_, _>>()?;
    txn.commit().await?;
    Ok(report)
}

/// One page of a user's images, newest first.
pub struct ImagePage {
    pub images: Vec<instagram_image::Model>,
    pub has_next_page: bool,
    pub total_count: u64,
}

const IMAGE_CURSOR: &str = "img";

pub fn image_cursor(image: &instagram_image::Model) -> String {
    encode_cursor(IMAGE_CURSOR, &image.seq.to_string())
}

/// How many images the user has.
pub async fn image_count<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<u64, AppError> {
    Ok(instagram_image::Entity::find().filter(instagram_image::Column::UserId.eq(user_id)).count(db).await?)
}

/// `first` images after `after`, newest (highest seq) first: the cursor is
/// the seq, which never changes, so pages stay stable while images are added.
pub async fn images<C: ConnectionTrait>(db: &C, user_id: &str, first: u64, after: Option<&str>) -> Result<ImagePage, AppError> {
    let after = after.map(|cursor| decode_cursor(IMAGE_CURSOR, cursor)?.parse::<i64>().map_err(|_| invalid_cursor())).transpose()?;
    let total_count = image_count(db, user_id).await?;
    let mut select = instagram_image::Entity::find().filter(instagram_image::Column::UserId.eq(user_id));
    if let Some(seq) = after {
        select = select.filter(instagram_image::Column::Seq.lt(seq));
    }
    let mut images = select.order_by_desc(instagram_image::Column::Seq).limit(first + 1).all(db).await?;
    let has_next_page = images.len() as u64 > first;
    images.truncate(first as usize);
    Ok(ImagePage { images, has_next_page, total_count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_usernames() {
        assert_eq!(InstagramUsername::parse(" @Ada.Love_1 ").unwrap().as_str(), "ada.love_1");
        assert_eq!(InstagramUsername::parse("a").unwrap().as_str(), "a");
        assert!(InstagramUsername::parse(&"a".repeat(30)).is_ok());
        assert_eq!(InstagramUsername::parse(&"a".repeat(31)).unwrap_err().0, UserErrorCode::TooLong);
        assert_eq!(InstagramUsername::parse("").unwrap_err().0, UserErrorCode::Required);
        assert_eq!(InstagramUsername::parse("@").unwrap_err().0, UserErrorCode::Required);
        for bad in [".ada", "ada.", "a..da", "ada-love", "ada love", "adä"] {
            assert_eq!(InstagramUsername::parse(bad).unwrap_err().0, UserErrorCode::Invalid, "{bad}");
        }
    }

    fn image(id: &str) -> NewImage {
        NewImage {
            id: id.into(),
            instagram_url: "https://www.instagram.com/p/abc/".into(),
            raw_image_url: "https://cdn.example.com/abc.jpg".into(),
            orig_width: 1080,
            orig_height: 1350,
        }
    }

    #[test]
    fn image_checks() {
        assert!(check_image(&image("17895695668004550")).is_ok());
        assert!(check_image(&image("")).is_err());
        assert!(check_image(&image("a b")).is_err());
        assert!(check_image(&image(&"1".repeat(65))).is_err());
        assert!(check_image(&NewImage { instagram_url: "ftp://x.com/a".into(), ..image("1") }).unwrap_err().starts_with("instagramUrl"));
        assert!(check_image(&NewImage { raw_image_url: "not a url".into(), ..image("1") }).unwrap_err().starts_with("rawImageUrl"));
        assert!(check_image(&NewImage { raw_image_url: format!("https://x.com/{}", "a".repeat(MAX_URL)), ..image("1") }).is_err());
        assert!(check_image(&NewImage { orig_width: 0, ..image("1") }).is_err());
        assert!(check_image(&NewImage { orig_height: -5, ..image("1") }).is_err());
    }
}
