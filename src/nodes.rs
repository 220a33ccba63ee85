//! The object types that point at each other across domains, in one place
//! so that no two files import each other: User (accounts) and Profile
//! (profiles). Object types they lead to (SubscriptionPlan, InstagramAccount,
//! MfaStatus)
//! live in their own domain's resolver and never import this file back.
//! Domain resolvers return these types in their payloads.
use async_graphql::{Context, Object, ID};
use chrono::Utc;

use crate::entities::enums::{AccountStatus, AccountType, Gender, Interest, Role};
use crate::entities::{profile, user};
use crate::error::GqlResultExt;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{load_error, Loaders};
use crate::graphql::scalars::{Date, DateTime};
use crate::identities::identity_resolver::LinkedIdentity;
use crate::instagram::resolver::InstagramAccount;
use crate::mfa::status_resolver::MfaStatus;
use crate::plans::resolver::SubscriptionPlan;
use crate::profiles::service::{age_on, empty_profile};

/// A Tessera account. Private fields are null unless the viewer is the user, staff or an admin.
pub struct User(pub user::Model, Privacy);

#[derive(Clone, Copy)]
enum Privacy {
    /// Decided by who the viewer is.
    ByViewer,
    /// The account's owner, who just proved it (signup, signin) without a token yet.
    Owner,
}

impl User {
    pub fn new(model: user::Model) -> Self {
        User(model, Privacy::ByViewer)
    }

    /// For payloads that answer the account's owner before they hold a token.
    pub fn for_owner(model: user::Model) -> Self {
        User(model, Privacy::Owner)
    }

    fn private<T>(&self, ctx: &Context<'_>, value: T) -> Option<T> {
        let visible = match self.1 {
            Privacy::Owner => true,
            Privacy::ByViewer => ctx.maybe_viewer().is_some_and(|v| v.can_see_private_of(&self.0.id)),
        };
        visible.then_some(value)
    }
}

/// A Tessera account. Private fields are null unless the viewer is the user, staff or an admin.
#[Object]
impl User {
    /// The account's id: opaque, and never changes.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Unique ignoring case; null when the user has none.
    async fn username(&self) -> Option<&str> {
        self.0.username.as_deref()
    }
    /// Visible to the user and to staff and admins; null for anyone else.
    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.email.as_str())
    }
    /// E.164. Visible to the user and to staff and admins; null for anyone else.
    async fn phone_number(&self, ctx: &Context<'_>) -> Option<&str> {
        self.private(ctx, self.0.phone_number.as_deref()).flatten()
    }
    /// The display name. When only firstName and lastName were given it is the two joined by a space.
    async fn full_name(&self) -> Option<&str> {
        self.0.full_name.as_deref()
    }
    /// Null when not set.
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    /// Null when not set.
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    /// FAN or CREATOR, chosen at signup.
    async fn account_type(&self) -> AccountType {
        self.0.account_type
    }
    /// USER unless an admin made the user STAFF or ADMIN.
    async fn role(&self) -> Role {
        self.0.role
    }
    /// Only ACTIVE accounts can sign in.
    async fn status(&self) -> AccountStatus {
        self.0.status
    }
    /// Whether the current email address was confirmed through its emailed link; a new email sets it back to false.
    async fn email_confirmed(&self) -> bool {
        self.0.email_confirmed
    }
    /// When the account was created.
    async fn joined_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// Visible to the user and to staff and admins; null for anyone else.
    async fn last_login_at(&self, ctx: &Context<'_>) -> Option<DateTime> {
        self.private(ctx, self.0.last_login_at).flatten().map(DateTime)
    }
    /// When the account last changed.
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// Visible to the user and to staff and admins; null for anyone else.
    async fn subscription_plan(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SubscriptionPlan>> {
        let Some(plan_id) = self.private(ctx, self.0.subscription_plan_id.clone()).flatten() else {
            return Ok(None);
        };
        let plan = ctx.data_unchecked::<Loaders>().plans().load_one(plan_id).await.map_err(load_error).gql()?;
        Ok(plan.map(SubscriptionPlan))
    }
    /// The user's profile; every user has one.
    async fn profile(&self, ctx: &Context<'_>) -> async_graphql::Result<Profile> {
        Profile::of_user(ctx, &self.0).await
    }
    /// The account's second factors. Visible to the user and to staff and admins; null for anyone else.
    async fn mfa(&self, ctx: &Context<'_>) -> Option<MfaStatus> {
        self.private(ctx, MfaStatus::of_user(&self.0.id))
    }
    /// Visible to the user and to staff and admins; null for anyone else.
    async fn linked_identities(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Vec<LinkedIdentity>>> {
        if self.private(ctx, ()).is_none() {
            return Ok(None);
        }
        LinkedIdentity::of_user(ctx, &self.0.id).await.map(Some)
    }
    /// Whether the account can sign in with a password. Visible to the user and to staff and admins; null for anyone else.
    async fn has_password(&self, ctx: &Context<'_>) -> Option<bool> {
        self.private(ctx, self.0.password_hash.is_some())
    }
    /// Null when no Instagram account is linked.
    async fn instagram(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<InstagramAccount>> {
        InstagramAccount::of_user(ctx, &self.0.id).await
    }
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
            .profiles()
            .load_one(owner.id.clone())
            .await
            .map_err(load_error)
            .gql()?
            .unwrap_or_else(|| empty_profile(&owner.id));
        Ok(Profile { owner: owner.clone(), model })
    }
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
        Some(crate::media::service::public_url(ctx.state(), key))
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
        ctx.maybe_viewer().filter(|v| v.can_see_private_of(&self.owner.id)).and(self.model.birth_date).map(Date)
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
        self.model.interests()
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
