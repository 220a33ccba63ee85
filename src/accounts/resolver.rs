//! GraphQL face of accounts: the User type, signup, signin, me, user(id).
use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject, ID};

use crate::accounts::service::{self, SignupData};
use crate::accounts::update::{self, AccountChanges};
use crate::admin::plans::SubscriptionPlan;
use crate::entities::enums::{AccountStatus, AccountType, Role};
use crate::entities::user;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{load_error, Loaders};
use crate::graphql::scalars::DateTime;
use crate::instagram::resolver::InstagramAccount;
use crate::profiles::resolver::{upload_value, Profile};
use crate::sessions::resolver::AuthTokens;

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

#[Object]
impl User {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
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
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn account_type(&self) -> AccountType {
        self.0.account_type
    }
    async fn role(&self) -> Role {
        self.0.role
    }
    async fn status(&self) -> AccountStatus {
        self.0.status
    }
    async fn email_confirmed(&self) -> bool {
        self.0.email_confirmed
    }
    async fn joined_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// Visible to the user and to staff and admins; null for anyone else.
    async fn last_login_at(&self, ctx: &Context<'_>) -> Option<DateTime> {
        self.private(ctx, self.0.last_login_at).flatten().map(DateTime)
    }
    async fn updated_at(&self) -> DateTime {
        self.0.updated_at.into()
    }
    /// Visible to the user and to staff and admins; null for anyone else.
    async fn subscription_plan(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<SubscriptionPlan>> {
        let Some(plan_id) = self.private(ctx, self.0.subscription_plan_id.clone()).flatten() else {
            return Ok(None);
        };
        let plan = ctx.data_unchecked::<Loaders>().plans.load_one(plan_id).await.map_err(load_error).gql()?;
        Ok(plan.map(SubscriptionPlan))
    }
    async fn profile(&self, ctx: &Context<'_>) -> async_graphql::Result<Profile> {
        Profile::of_user(ctx, &self.0).await
    }
    /// Null when no Instagram account is linked.
    async fn instagram(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<InstagramAccount>> {
        InstagramAccount::of_user(ctx, &self.0.id).await
    }
}

/// Input of signup.
#[derive(InputObject)]
pub struct SignupInput {
    /// Compared ignoring case; stored as given.
    pub email: String,
    pub password: String,
    /// When given it must equal password.
    pub password_confirmation: Option<String>,
    #[graphql(default_with = "Some(AccountType::Fan)")]
    pub account_type: Option<AccountType>,
    /// 3 to 50 of letters, digits, '.', '_' and '-'; unique ignoring case.
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Any common format; stored as E.164; unique.
    pub phone_number: Option<String>,
    /// JPEG or PNG, at most 2 MiB.
    pub display_pic: Option<async_graphql::Upload>,
}

#[derive(SimpleObject)]
pub struct SignupPayload {
    /// A confirmation email has been sent to the new user.
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct SigninInput {
    /// The account's email or username.
    pub login: String,
    pub password: String,
}

#[derive(SimpleObject)]
pub struct SigninPayload {
    pub tokens: Option<AuthTokens>,
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

/// Omitted fields are left as they are; null clears a field that may be empty.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// A new email: emailConfirmed becomes false and a confirmation email is sent to it.
    pub email: MaybeUndefined<String>,
    pub username: MaybeUndefined<String>,
    pub full_name: MaybeUndefined<String>,
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub phone_number: MaybeUndefined<String>,
    /// Null to drop the plan.
    pub subscription_plan_id: MaybeUndefined<ID>,
}

#[derive(SimpleObject)]
pub struct UpdateAccountPayload {
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The signed-in user. UNAUTHENTICATED without a valid access token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let viewer = ctx.viewer().gql()?;
        let found = ctx.data_unchecked::<Loaders>().users.load_one(viewer.user_id.clone()).await.map_err(load_error).gql()?;
        // The session was live a moment ago; a user deleted since is not signed in.
        found.map(User::new).ok_or(crate::error::AppError::Unauthenticated).gql()
    }

    /// Any user by id; null when there is none (or it is not ACTIVE and the viewer is not staff or admin). Needs sign-in.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<User>> {
        let viewer = ctx.viewer().gql()?;
        let found = ctx.data_unchecked::<Loaders>().users.load_one(id.0).await.map_err(load_error).gql()?;
        Ok(found
            .filter(|u| u.status == AccountStatus::Active || viewer.role.is_staff() || u.id == viewer.user_id)
            .map(User::new))
    }
}

#[derive(Default)]
pub struct AccountsMutation;

#[Object]
impl AccountsMutation {
    /// Creates an ACTIVE account with an unconfirmed email and sends the confirmation email.
    async fn signup(&self, ctx: &Context<'_>, input: SignupInput) -> async_graphql::Result<SignupPayload> {
        let state = ctx.state();
        let data = SignupData {
            email: input.email,
            password: input.password,
            password_confirmation: input.password_confirmation,
            account_type: input.account_type.unwrap_or(AccountType::Fan),
            username: input.username,
            full_name: input.full_name,
            first_name: input.first_name,
            last_name: input.last_name,
            phone_number: input.phone_number,
            display_pic: match &input.display_pic {
                Some(upload) => Some(upload_value(ctx, upload)?),
                None => None,
            },
        };
        into_payload(
            service::signup(state, data).await,
            |user| SignupPayload { user: Some(User::for_owner(user)), user_errors: vec![] },
            |user_errors| SignupPayload { user: None, user_errors },
        )
    }

    /// Starts a new session. Deactivated and suspended accounts get ACCOUNT_INACTIVE / ACCOUNT_SUSPENDED.
    async fn signin(&self, ctx: &Context<'_>, input: SigninInput) -> async_graphql::Result<SigninPayload> {
        crate::ratelimit::credential_attempt(ctx).await.gql()?;
        let info = ctx.request_info();
        into_payload(
            service::signin(ctx.state(), &input.login, &input.password, info.user_agent.clone(), info.ip.clone()).await,
            |(user, tokens)| SigninPayload { tokens: Some(tokens.into()), user: Some(User::for_owner(user)), user_errors: vec![] },
            |user_errors| SigninPayload { tokens: None, user: None, user_errors },
        )
    }

    /// Changes the signed-in user's account: email, username, names, phone, plan.
    async fn update_account(&self, ctx: &Context<'_>, input: UpdateAccountInput) -> async_graphql::Result<UpdateAccountPayload> {
        let viewer = ctx.viewer().gql()?;
        let changes = AccountChanges {
            email: input.email,
            username: input.username,
            full_name: input.full_name,
            first_name: input.first_name,
            last_name: input.last_name,
            phone_number: input.phone_number,
            subscription_plan_id: input.subscription_plan_id.map_value(|id| id.0),
        };
        into_payload(
            update::update_account(ctx.state(), &viewer.user_id, changes).await,
            |updated| UpdateAccountPayload { user: Some(User::new(updated.user)), user_errors: vec![] },
            |user_errors| UpdateAccountPayload { user: None, user_errors },
        )
    }
}
