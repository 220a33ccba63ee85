//! GraphQL face of profiles: the Profile type, profile(userId), profiles(userIds).
use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object, SimpleObject, Upload, ID};
use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::accounts::resolver::User;
use crate::entities::enums::{AccountStatus, AccountType, Gender};
use crate::entities::{profile, user};
use crate::error::{into_payload, AppError, GqlResultExt, UserError};
use crate::profiles::service::{self, ProfileChanges};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{load_error, Loaders};
use crate::graphql::scalars::{Date, DateTime};

pub const MAX_PROFILE_IDS: usize = 100;

/// Something a user is into, listed on their profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Interest {
    /// Social networking.
    SocialNetworking,
    /// Dancing.
    Dancing,
    /// Fun times.
    FunTimes,
    /// Socialising.
    Social,
    /// Career.
    Career,
    /// Business.
    Business,
    /// The environment.
    Environment,
    /// Fitness.
    Fitness,
    /// Nature.
    Nature,
    /// Sports.
    Sports,
    /// Recreation.
    Recreation,
    /// Running.
    Running,
    /// Cycling.
    Cycling,
    /// Comedy.
    Comedy,
    /// Coffee.
    Coffee,
    /// Night walks.
    NightWalks,
    /// Food and eating out.
    Foodie,
    /// Dating.
    Dating,
    /// Relationships.
    Relationship,
    /// Something not in this list.
    Others,
}

/// A user's public face: picture, bio, interests.
pub struct Profile {
    owner: user::Model,
    model: profile::Model,
}

impl Profile {
    pub fn new(owner: user::Model, model: profile::Model) -> Self {
        Profile { owner, model }
    }

    /// The profile of a user already loaded, through the batch loader.
    pub async fn of_user(ctx: &Context<'_>, owner: &user::Model) -> async_graphql::Result<Profile> {
        let model = ctx
            .data_unchecked::<Loaders>()
            .profiles
            .load_one(owner.id.clone())
            .await
            .map_err(load_error)
            .gql()?
            .unwrap_or_else(|| empty_profile(&owner.id));
        Ok(Profile { owner: owner.clone(), model })
    }
}

/// Every account gets a profile row at signup; this covers a row lost anyway.
fn empty_profile(user_id: &str) -> profile::Model {
    profile::Model {
        user_id: user_id.to_owned(),
        bio: None,
        gender: None,
        birth_date: None,
        state: None,
        city: None,
        interests: "[]".into(),
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

pub fn parse_interests(stored: &str) -> Vec<Interest> {
    serde_json::from_str(stored).unwrap_or_default()
}

/// A user's public face: picture, bio, interests. Only birthDate is private.
#[Object]
impl Profile {
    /// The id of the user whose profile this is.
    async fn user_id(&self) -> ID {
        ID(self.owner.id.clone())
    }
    /// The user whose profile this is.
    async fn user(&self) -> User {
        User::new(self.owner.clone())
    }
    /// Same as the user's fullName.
    async fn full_name(&self) -> Option<&str> {
        self.owner.full_name.as_deref()
    }
    /// Absolute URL of the display picture; null when there is none.
    async fn display_pic_url(&self, ctx: &Context<'_>) -> Option<String> {
        let key = self.model.display_pic_key.as_deref()?;
        Some(crate::media::public_url(ctx.state(), key))
    }
    /// Free text of at most 1000 characters, line breaks kept; null when not set.
    async fn bio(&self) -> Option<&str> {
        self.model.bio.as_deref()
    }
    /// Null when not set.
    async fn gender(&self) -> Option<Gender> {
        self.model.gender
    }
    /// Visible to the user and to staff and admins; null for anyone else.
    async fn birth_date(&self, ctx: &Context<'_>) -> Option<Date> {
        ctx.maybe_viewer()
            .filter(|v| v.can_see_private_of(&self.owner.id))
            .and(self.model.birth_date)
            .map(Date)
    }
    /// Whole years since birthDate; null when birthDate is not set.
    async fn age(&self) -> Option<i32> {
        self.model.birth_date.map(|b| age_on(b, Utc::now().date_naive()))
    }
    /// The state or region the user gives, at most 100 characters; null when not set.
    async fn state(&self) -> Option<&str> {
        self.model.state.as_deref()
    }
    /// The city the user gives, at most 100 characters; null when not set.
    async fn city(&self) -> Option<&str> {
        self.model.city.as_deref()
    }
    /// In the order the user chose them, without duplicates; empty when none.
    async fn interests(&self) -> Vec<Interest> {
        parse_interests(&self.model.interests)
    }
    /// Creators only: always null for fans.
    async fn monthly_sub_keys(&self) -> Option<i32> {
        match self.owner.account_type {
            AccountType::Creator => self.model.monthly_sub_keys,
            AccountType::Fan => None,
        }
    }
    /// When the profile last changed.
    async fn updated_at(&self) -> DateTime {
        self.model.updated_at.into()
    }
}

#[derive(Default)]
pub struct ProfilesQuery;

#[Object]
impl ProfilesQuery {
    /// A user's profile; the viewer's own when userId is omitted. Needs sign-in.
    async fn profile(&self, ctx: &Context<'_>, #[graphql(desc = "Whose profile; omit for the viewer's own.")] user_id: Option<ID>) -> async_graphql::Result<Option<Profile>> {
        let viewer = ctx.viewer().gql()?;
        let id = user_id.map(|id| id.0).unwrap_or_else(|| viewer.user_id.clone());
        let mut found = visible_profiles(ctx, vec![id]).await?;
        Ok(found.pop().flatten())
    }

    /// Many profiles at once, in the order asked, null where there is none. Needs sign-in. At most 100 ids.
    async fn profiles(&self, ctx: &Context<'_>, #[graphql(desc = "At most 100 user ids; more is a BAD_USER_INPUT error.")] user_ids: Vec<ID>) -> async_graphql::Result<Vec<Option<Profile>>> {
        ctx.viewer().gql()?;
        if user_ids.len() > MAX_PROFILE_IDS {
            return Err(AppError::BadInput(format!("Ask for at most {MAX_PROFILE_IDS} profiles at once."))).gql();
        }
        visible_profiles(ctx, user_ids.into_iter().map(|id| id.0).collect()).await
    }
}

/// Profiles of these users in the order asked: two batched statements in all.
async fn visible_profiles(ctx: &Context<'_>, ids: Vec<String>) -> async_graphql::Result<Vec<Option<Profile>>> {
    let viewer = ctx.viewer().gql()?;
    let loaders = ctx.data_unchecked::<Loaders>();
    let users = loaders.users_now(&ids).await.gql()?;
    let visible: Vec<&user::Model> = ids
        .iter()
        .filter_map(|id| users.get(id))
        .filter(|u| u.status == AccountStatus::Active || viewer.role.is_staff() || u.id == viewer.user_id)
        .collect();
    loaders.prime_users(&visible).await.gql()?;
    if ctx.look_ahead().field("user").field("instagram").exists() {
        let ids: Vec<String> = visible.iter().map(|u| u.id.clone()).collect();
        loaders.prime_instagram(&ids).await.gql()?;
    }
    // Primed just above: these come from the cache.
    let profiles = loaders
        .profiles
        .load_many(visible.iter().map(|u| u.id.clone()))
        .await
        .map_err(load_error)
        .gql()?;
    Ok(ids
        .iter()
        .map(|id| {
            let owner = users.get(id)?;
            if !visible.iter().any(|v| v.id == owner.id) {
                return None;
            }
            let model = profiles.get(id).cloned().unwrap_or_else(|| empty_profile(id));
            Some(Profile::new(owner.clone(), model))
        })
        .collect())
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
    fn interests_round_trip_as_json() {
        let json = serde_json::to_string(&vec![Interest::NightWalks, Interest::Coffee]).unwrap();
        assert_eq!(json, r#"["NIGHT_WALKS","COFFEE"]"#);
        assert_eq!(parse_interests(&json), vec![Interest::NightWalks, Interest::Coffee]);
    }
}

/// Every field is optional: an omitted field is left as it is; an explicit null clears it.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    /// The user's fullName: at most 100 characters.
    pub full_name: MaybeUndefined<String>,
    /// The gender shown on the profile.
    pub gender: MaybeUndefined<Gender>,
    /// JPEG or PNG, at most 2 MiB. Null removes the current picture.
    pub display_pic: MaybeUndefined<Upload>,
    /// Creators only; a whole number from 0 up.
    pub monthly_sub_keys: MaybeUndefined<i32>,
    /// At most 100 characters.
    pub state: MaybeUndefined<String>,
    /// At most 100 characters.
    pub city: MaybeUndefined<String>,
    /// Replaces the whole list; duplicates are dropped.
    pub interests: MaybeUndefined<Vec<Interest>>,
    /// At most 1000 characters.
    pub bio: MaybeUndefined<String>,
    /// Not in the future.
    pub birth_date: MaybeUndefined<Date>,
}

/// The result of updateProfile.
#[derive(SimpleObject)]
pub struct UpdateProfilePayload {
    /// The profile as changed; null when userErrors is not empty.
    pub profile: Option<Profile>,
    /// Empty on success. fullName: TOO_LONG, INVALID; bio, state, city: TOO_LONG; birthDate: INVALID (in the future or before 1900); monthlySubKeys: NOT_ALLOWED (a fan account), INVALID (negative); displayPic: FILE_TOO_LARGE, UNSUPPORTED_FILE_TYPE.
    pub user_errors: Vec<UserError>,
}

/// Reads an Upload's file from the request.
pub fn upload_value(ctx: &Context<'_>, upload: &Upload) -> async_graphql::Result<async_graphql::UploadValue> {
    upload
        .value(ctx)
        .map_err(|_| AppError::BadInput("The uploaded file is missing from the request.".into()))
        .gql()
}

#[derive(Default)]
pub struct ProfilesMutation;

#[Object]
impl ProfilesMutation {
    /// Changes the signed-in user's profile.
    async fn update_profile(&self, ctx: &Context<'_>, #[graphql(desc = "The fields to change; omitted ones stay as they are.")] input: UpdateProfileInput) -> async_graphql::Result<UpdateProfilePayload> {
        let viewer = ctx.viewer().gql()?;
        let display_pic = match input.display_pic {
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Value(upload) => MaybeUndefined::Value(upload_value(ctx, &upload)?),
        };
        let changes = ProfileChanges {
            full_name: input.full_name,
            gender: input.gender,
            display_pic,
            monthly_sub_keys: input.monthly_sub_keys,
            state: input.state,
            city: input.city,
            interests: input.interests,
            bio: input.bio,
            birth_date: input.birth_date.map_value(|d| d.0),
        };
        into_payload(
            service::update_profile(ctx.state(), &viewer.user_id, changes).await,
            |(owner, model)| UpdateProfilePayload { profile: Some(Profile::new(owner, model)), user_errors: vec![] },
            |user_errors| UpdateProfilePayload { profile: None, user_errors },
        )
    }
}
