//! Profile rules: what may change, and how a picture swap stays consistent
//! between the database and the store.
use async_graphql::MaybeUndefined;
use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set, TransactionTrait, TryIntoModel};

use crate::accounts::validate;
use crate::entities::enums::{AccountType, Gender, Interest};
use crate::entities::{profile, user};
use crate::error::{AppError, Problems, ServiceResult, UserErrorCode};
use crate::media::image_check::CheckedImage;
use crate::media::service as media;
use crate::patch::{self, apply};
use crate::state::AppState;
use crate::webhooks::service::{self as webhooks, Webhook};

/// The most profiles one `profiles` query may ask for.
pub const MAX_PROFILE_IDS: usize = 100;
pub const MAX_BIO: usize = 1000;
pub const MAX_PLACE: usize = 100;

/// Requested changes: Undefined leaves a field alone, Null clears it.
pub struct ProfileChanges {
    pub full_name: MaybeUndefined<String>,
    pub gender: MaybeUndefined<Gender>,
    pub display_pic: MaybeUndefined<async_graphql::UploadValue>,
    pub monthly_sub_keys: MaybeUndefined<i32>,
    pub state: MaybeUndefined<String>,
    pub city: MaybeUndefined<String>,
    pub interests: MaybeUndefined<Vec<Interest>>,
    pub bio: MaybeUndefined<String>,
    pub birth_date: MaybeUndefined<NaiveDate>,
}

fn check_length(value: &MaybeUndefined<String>, max: usize, field: &[&str], problems: &mut Problems) {
    if let MaybeUndefined::Value(v) = value {
        if v.chars().count() > max {
            problems.add(field, UserErrorCode::TooLong, format!("Use at most {max} characters."));
        }
    }
}

/// Every account gets a profile row at signup; this covers a row lost anyway.
pub fn empty_profile(user_id: &str) -> profile::Model {
    profile::Model {
        user_id: user_id.to_owned(),
        bio: None,
        gender: None,
        birth_date: None,
        state: None,
        city: None,
        interests: profile::encode_interests(&[]),
        monthly_sub_keys: None,
        display_pic_key: None,
        updated_at: Utc::now(),
    }
}

/// Whole years from `birth` to `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut age = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0)
}

/// Keeps the first of each interest, in the order given.
pub fn dedupe(interests: Vec<Interest>) -> Vec<Interest> {
    let mut seen = Vec::with_capacity(interests.len());
    for interest in interests {
        if !seen.contains(&interest) {
            seen.push(interest);
        }
    }
    seen
}

pub async fn update_profile(state: &AppState, user_id: &str, changes: ProfileChanges) -> ServiceResult<(user::Model, profile::Model)> {
    let owner = user::Entity::find_by_id(user_id.to_owned()).one(&state.db).await?.ok_or(AppError::Unauthenticated)?;
    let mut problems = Problems::default();

    let full_name = patch::text(changes.full_name);
    if let MaybeUndefined::Value(name) = &full_name {
        validate::name(Some(name), &["input", "fullName"], &mut problems);
    }
    // The bio keeps its inner line breaks; only the ends are trimmed.
    let bio = patch::text(changes.bio);
    check_length(&bio, MAX_BIO, &["input", "bio"], &mut problems);
    let place_state = patch::text(changes.state);
    check_length(&place_state, MAX_PLACE, &["input", "state"], &mut problems);
    let city = patch::text(changes.city);
    check_length(&city, MAX_PLACE, &["input", "city"], &mut problems);
    if let MaybeUndefined::Value(birth) = changes.birth_date {
        let today = Utc::now().date_naive();
        if birth > today {
            problems.add(&["input", "birthDate"], UserErrorCode::Invalid, "A birth date cannot be in the future.");
        } else if birth < NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
            problems.add(&["input", "birthDate"], UserErrorCode::Invalid, "Enter a birth date after 1900.");
        }
    }
    if let MaybeUndefined::Value(keys) = changes.monthly_sub_keys {
        if owner.account_type != AccountType::Creator {
            problems.add(&["input", "monthlySubKeys"], UserErrorCode::NotAllowed, "Only creator accounts have monthly sub keys.");
        } else if keys < 0 {
            problems.add(&["input", "monthlySubKeys"], UserErrorCode::Invalid, "Use a whole number from 0 up.");
        }
    }
    let picture: MaybeUndefined<CheckedImage> = match changes.display_pic {
        MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        MaybeUndefined::Null => MaybeUndefined::Null,
        MaybeUndefined::Value(upload) => match media::check_upload(state, upload, &["input", "displayPic"]).await? {
            Ok(checked) => MaybeUndefined::Value(checked),
            Err(error) => {
                problems.push(error);
                MaybeUndefined::Undefined
            }
        },
    };
    problems.check()?;

    // Store first: if the database write then fails, the new file is removed;
    // if storing fails, the database never points at a missing file.
    let removes_picture = matches!(picture, MaybeUndefined::Null);
    let new_key = match picture {
        MaybeUndefined::Value(checked) => Some(media::put_checked(state, checked).await?),
        _ => None,
    };
    let changes = Applied {
        bio,
        gender: changes.gender,
        birth_date: changes.birth_date,
        place_state,
        city,
        monthly_sub_keys: changes.monthly_sub_keys,
        interests: changes.interests,
        full_name,
    };
    // The picture is swapped only if it is still the one this request read
    // (compare-and-swap on the row): with concurrent uploads each one in turn
    // replaces the picture it saw and deletes it, so exactly one file stays.
    let mut tries = 0;
    let outcome = loop {
        tries += 1;
        let current = match profile::Entity::find_by_id(user_id.to_owned()).one(&state.db).await {
            Ok(current) => current,
            Err(error) => break Err(AppError::from(error)),
        };
        let old_key = current.as_ref().and_then(|p| p.display_pic_key.clone());
        match write_profile(state, &owner, user_id, current, &changes, new_key.as_deref(), removes_picture).await {
            Ok(Some(result)) => break Ok((result, old_key)),
            Ok(None) if tries < MAX_PICTURE_SWAPS => continue,
            Ok(None) => {
                break Err(AppError::BadInput("The picture was changed by other requests at the same moment: send it again.".into()))
            }
            Err(error) => break Err(error),
        }
    };
    match outcome {
        Ok((result, old_key)) => {
            // Deleted before the answer: the replaced picture's URL stops working now.
            if let Some(old) = old_key.filter(|_| new_key.is_some() || removes_picture) {
                state.media.delete_quietly(&old).await;
            }
            Ok(result)
        }
        Err(error) => {
            if let Some(key) = &new_key {
                state.media.delete_quietly(key).await;
            }
            Err(error.into())
        }
    }
}

/// How often one update re-reads the picture it replaces before giving up.
const MAX_PICTURE_SWAPS: u32 = 20;

/// The checked changes other than the picture.
struct Applied {
    bio: MaybeUndefined<String>,
    gender: MaybeUndefined<Gender>,
    birth_date: MaybeUndefined<NaiveDate>,
    place_state: MaybeUndefined<String>,
    city: MaybeUndefined<String>,
    monthly_sub_keys: MaybeUndefined<i32>,
    interests: MaybeUndefined<Vec<Interest>>,
    full_name: MaybeUndefined<String>,
}

/// Writes the changes in one transaction; None (and nothing written) when
/// the picture is no longer the one in `current`.
async fn write_profile(
    state: &AppState,
    owner: &user::Model,
    user_id: &str,
    current: Option<profile::Model>,
    changes: &Applied,
    new_key: Option<&str>,
    removes_picture: bool,
) -> Result<Option<(user::Model, profile::Model)>, AppError> {
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let swaps_picture = new_key.is_some() || removes_picture;
    let mut row = match current {
        Some(row) => {
            if swaps_picture {
                let seen = match &row.display_pic_key {
                    Some(key) => profile::Column::DisplayPicKey.eq(key.clone()),
                    None => profile::Column::DisplayPicKey.is_null(),
                };
                let swapped = profile::Entity::update_many()
                    .col_expr(profile::Column::DisplayPicKey, Expr::value(new_key.map(str::to_owned)))
                    .filter(profile::Column::UserId.eq(user_id))
                    .filter(seen)
                    .exec(&txn)
                    .await?;
                if swapped.rows_affected != 1 {
                    return Ok(None);
                }
            }
            let mut row = row.into_active_model();
            if swaps_picture {
                // Already written by the swap; keep the model in step with it.
                row.display_pic_key = sea_orm::ActiveValue::Unchanged(new_key.map(str::to_owned));
            }
            row
        }
        None => profile::ActiveModel {
            user_id: Set(user_id.to_owned()),
            interests: Set(profile::encode_interests(&[])),
            display_pic_key: Set(new_key.map(str::to_owned)),
            ..Default::default()
        },
    };
    apply(changes.bio.clone(), |v| row.bio = Set(v));
    apply(changes.gender, |v| row.gender = Set(v));
    apply(changes.birth_date, |v| row.birth_date = Set(v));
    apply(changes.place_state.clone(), |v| row.state = Set(v));
    apply(changes.city.clone(), |v| row.city = Set(v));
    apply(changes.monthly_sub_keys, |v| row.monthly_sub_keys = Set(v));
    apply(changes.interests.clone(), |list| row.interests = Set(profile::encode_interests(&dedupe(list.unwrap_or_default()))));
    row.updated_at = Set(now);
    let saved = row.save(&txn).await?.try_into_model()?;

    let mut owner_row = owner.clone().into_active_model();
    let name_changed = !matches!(changes.full_name, MaybeUndefined::Undefined);
    apply(changes.full_name.clone(), |v| owner_row.full_name = Set(v));
    let owner = if name_changed {
        owner_row.updated_at = Set(now);
        let updated = owner_row.update(&txn).await?;
        // fullName is one of the fields other services keep.
        let changed = webhooks::changed_fields(owner, &updated);
        if !changed.is_empty() {
            webhooks::enqueue(&txn, &state.config.webhooks, &Webhook::UserUpdated(&updated, changed)).await?;
        }
        updated
    } else {
        owner.clone()
    };
    txn.commit().await?;
    Ok(Some((owner, saved)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_count_whole_years() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(age_on(d(2000, 6, 15), d(2026, 6, 14)), 25);
        assert_eq!(age_on(d(2000, 6, 15), d(2026, 6, 15)), 26);
        assert_eq!(age_on(d(2000, 2, 29), d(2026, 2, 28)), 25);
    }

    #[test]
    fn interests_keep_their_first_order_without_duplicates() {
        use Interest::*;
        assert_eq!(dedupe(vec![Coffee, Dancing, Coffee, Foodie, Dancing]), vec![Coffee, Dancing, Foodie]);
    }
}
