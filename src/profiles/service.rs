//! Profile rules: what may change, and how a picture swap stays consistent
//! between the database and the store.
use async_graphql::MaybeUndefined;
use chrono::{Datelike, NaiveDate, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set, TransactionTrait, TryIntoModel};

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

    let current = profile::Entity::find_by_id(user_id.to_owned()).one(&state.db).await?;
    // Store first: if the database write then fails, the new file is removed;
    // if storing fails, the database never points at a missing file.
    let removes_picture = matches!(picture, MaybeUndefined::Null);
    let new_key = match picture {
        MaybeUndefined::Value(checked) => Some(media::put_checked(state, checked).await?),
        _ => None,
    };
    let old_key = current.as_ref().and_then(|p| p.display_pic_key.clone());

    let now = Utc::now();
    let write = async {
        let txn = state.db.begin().await?;
        let mut row = match current {
            Some(row) => row.into_active_model(),
            None => profile::ActiveModel {
                user_id: Set(user_id.to_owned()),
                interests: Set(profile::encode_interests(&[])),
                ..Default::default()
            },
        };
        apply(bio, |v| row.bio = Set(v));
        apply(changes.gender, |v| row.gender = Set(v));
        apply(changes.birth_date, |v| row.birth_date = Set(v));
        apply(place_state, |v| row.state = Set(v));
        apply(city, |v| row.city = Set(v));
        apply(changes.monthly_sub_keys, |v| row.monthly_sub_keys = Set(v));
        apply(changes.interests, |list| row.interests = Set(profile::encode_interests(&dedupe(list.unwrap_or_default()))));
        if let Some(key) = &new_key {
            row.display_pic_key = Set(Some(key.clone()));
        } else if removes_picture {
            row.display_pic_key = Set(None);
        }
        row.updated_at = Set(now);
        let saved = row.save(&txn).await?.try_into_model()?;

        let mut owner_row = owner.clone().into_active_model();
        let name_changed = !matches!(full_name, MaybeUndefined::Undefined);
        apply(full_name, |v| owner_row.full_name = Set(v));
        let owner = if name_changed {
            owner_row.updated_at = Set(now);
            let updated = owner_row.update(&txn).await?;
            // fullName is one of the fields other services keep.
            let changed = webhooks::changed_fields(&owner, &updated);
            if !changed.is_empty() {
                webhooks::enqueue(&txn, &state.config.webhooks, &Webhook::UserUpdated(&updated, changed)).await?;
            }
            updated
        } else {
            owner.clone()
        };
        txn.commit().await?;
        Ok::<_, AppError>((owner, saved))
    };
    match write.await {
        Ok(result) => {
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
