//! GraphQL face of profiles: profile(userId), profiles(userIds), updateProfile.
//! The Profile type itself lives in `nodes.rs` (it points at User and back).
use std::collections::HashMap;

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject, Upload, ID};

use crate::entities::enums::{AccountStatus, Gender, Interest};
use crate::entities::user;
use crate::error::{into_payload, AppError, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{Loaders, UsersWithProfiles};
use crate::graphql::scalars::Date;
use crate::nodes::Profile;
use crate::profiles::service::{self, empty_profile, ProfileChanges, MAX_PROFILE_IDS};

#[derive(Default)]
pub struct ProfilesQuery;

#[Object]
impl ProfilesQuery {
    /// A user's profile; the viewer's own when userId is omitted. Needs sign-in.
    async fn profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Whose profile; omit for the viewer's own.")] user_id: Option<ID>,
    ) -> async_graphql::Result<Option<Profile>> {
        let viewer = ctx.viewer().gql()?;
        let id = user_id.map(|id| id.0).unwrap_or_else(|| viewer.user_id.clone());
        let mut found = visible_profiles(ctx, vec![id]).await?;
        Ok(found.pop().flatten())
    }

    /// Many profiles at once, in the order asked, null where there is none. Needs sign-in. At most 100 ids.
    async fn profiles(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most 100 user ids; more is a BAD_USER_INPUT error.")] user_ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Option<Profile>>> {
        ctx.viewer().gql()?;
        if user_ids.len() > MAX_PROFILE_IDS {
            return Err(AppError::BadInput(format!("Ask for at most {MAX_PROFILE_IDS} profiles at once."))).gql();
        }
        visible_profiles(ctx, user_ids.into_iter().map(|id| id.0).collect()).await
    }
}

/// Profiles of these users in the order asked: one statement for the users
/// and their profiles, one for their plans when they are asked for.
async fn visible_profiles(ctx: &Context<'_>, ids: Vec<String>) -> async_graphql::Result<Vec<Option<Profile>>> {
    let viewer = ctx.viewer().gql()?;
    let loaders = ctx.data_unchecked::<Loaders>();
    let user = ctx.look_ahead().field("user");
    let UsersWithProfiles { mut users, mut profiles } =
        loaders.users_with_profiles_now(&ids, user.field("profile").exists()).await.gql()?;
    users.retain(|_, u| u.status == AccountStatus::Active || viewer.role.is_staff() || u.id == viewer.user_id);
    let visible: Vec<&user::Model> = users.values().collect();
    if user.field("subscriptionPlan").exists() {
        loaders.prime_plans(&visible).await.gql()?;
    }
    if user.field("instagram").exists() {
        let ids: Vec<String> = users.keys().cloned().collect();
        loaders.prime_instagram(&ids).await.gql()?;
    }
    // Each user is moved into its last place in the answer, cloned for any
    // earlier one (an id may be asked for twice).
    let mut places_left: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *places_left.entry(id.as_str()).or_default() += 1;
    }
    Ok(ids
        .iter()
        .map(|id| {
            let left = places_left.get_mut(id.as_str()).map(|n| {
                *n -= 1;
                *n
            });
            let (owner, model) = if left == Some(0) {
                (users.remove(id)?, profiles.remove(id))
            } else {
                (users.get(id)?.clone(), profiles.get(id).cloned())
            };
            let model = model.unwrap_or_else(|| empty_profile(id));
            Some(Profile::new(owner, model))
        })
        .collect())
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

#[derive(Default)]
pub struct ProfilesMutation;

#[Object]
impl ProfilesMutation {
    /// Changes the signed-in user's profile.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to change; omitted ones stay as they are.")] input: UpdateProfileInput,
    ) -> async_graphql::Result<UpdateProfilePayload> {
        let viewer = ctx.viewer().gql()?;
        let display_pic = match input.display_pic {
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Value(upload) => MaybeUndefined::Value(ctx.upload(&upload).gql()?),
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
