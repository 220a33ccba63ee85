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
        let plan = ctx.data_unchecked::<Loaders>().plans.load_one(plan_id).await.map_err(load_error).gql()?;
        Ok(plan.map(SubscriptionPlan))
    }
    /// The user's profile; every user has one.
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
    /// 8 to 128 characters, at least 4 of them different; not a common password, and not close to the account's email or username.
    pub password: String,
    /// When given it must equal password.
    pub password_confirmation: Option<String>,
    /// The kind of account; FAN when omitted.
    #[graphql(default_with = "Some(AccountType::Fan)")]
    pub account_type: Option<AccountType>,
    /// 3 to 50 of letters, digits, '.', '_' and '-'; unique ignoring case.
    pub username: Option<String>,
    /// The display name, at most 100 characters; when omitted it is firstName and lastName joined by a space.
    pub full_name: Option<String>,
    /// At most 100 characters.
    pub first_name: Option<String>,
    /// At most 100 characters.
    pub last_name: Option<String>,
    /// Any common format; stored as E.164; unique.
    pub phone_number: Option<String>,
    /// JPEG or PNG, at most 2 MiB.
    pub display_pic: Option<async_graphql::Upload>,
}

/// The result of signup.
#[derive(SimpleObject)]
pub struct SignupPayload {
    /// A confirmation email has been sent to the new user.
    pub user: Option<User>,
    /// Empty on success. email: REQUIRED, INVALID, TOO_LONG, TAKEN; username: TOO_SHORT, TOO_LONG, INVALID, TAKEN; phoneNumber: INVALID, TAKEN; fullName, firstName, lastName: TOO_LONG, INVALID; password: REQUIRED, TOO_SHORT, TOO_LONG, TOO_WEAK; passwordConfirmation: MISMATCH; displayPic: FILE_TOO_LARGE, UNSUPPORTED_FILE_TYPE.
    pub user_errors: Vec<UserError>,
}

/// Input of signin.
#[derive(InputObject)]
pub struct SigninInput {
    /// The account's email or username.
    pub login: String,
    /// The account's password.
    pub password: String,
}

/// The result of signin.
#[derive(SimpleObject)]
pub struct SigninPayload {
    /// The new session's tokens; null when userErrors is not empty.
    pub tokens: Option<AuthTokens>,
    /// The signed-in user, private fields included; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success; otherwise one error with field null: INVALID_CREDENTIALS, ACCOUNT_INACTIVE or ACCOUNT_SUSPENDED. Too many attempts give a top-level RATE_LIMITED error instead.
    pub user_errors: Vec<UserError>,
}

/// Omitted fields are left as they are; null clears a field that may be empty.
#[derive(InputObject)]
pub struct UpdateAccountInput {
    /// A new email: emailConfirmed becomes false and a confirmation email is sent to it.
    pub email: MaybeUndefined<String>,
    /// 3 to 50 of letters, digits, '.', '_' and '-'; unique ignoring case. Null or empty removes it.
    pub username: MaybeUndefined<String>,
    /// At most 100 characters; null or empty clears it. When omitted, a fullName that was only firstName and lastName joined follows their new values.
    pub full_name: MaybeUndefined<String>,
    /// At most 100 characters; null or empty clears it.
    pub first_name: MaybeUndefined<String>,
    /// At most 100 characters; null or empty clears it.
    pub last_name: MaybeUndefined<String>,
    /// Any common format; stored as E.164; unique. Null or empty removes it.
    pub phone_number: MaybeUndefined<String>,
    /// Null to drop the plan.
    pub subscription_plan_id: MaybeUndefined<ID>,
}

/// The result of updateAccount.
#[derive(SimpleObject)]
pub struct UpdateAccountPayload {
    /// The account as changed; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success. email: REQUIRED (null or empty), INVALID, TOO_LONG, TAKEN; username: TOO_SHORT, TOO_LONG, INVALID, TAKEN; phoneNumber: INVALID, TAKEN; fullName, firstName, lastName: TOO_LONG, INVALID; subscriptionPlanId: NOT_FOUND.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct AccountsQuery;

#[Object]
impl AccountsQuery {
    /// The signed-in user. UNAUTHENTICATED without a valid access token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let viewer = ctx.viewer().gql()?;
        // Read with the session a moment ago; prime what the query asks of it.
        let user = viewer.user.as_ref().clone();
        let wants = ctx.look_ahead();
        if wants.field("profile").exists() || wants.field("subscriptionPlan").exists() {
            ctx.data_unchecked::<Loaders>().prime_users(&[&user]).await.gql()?;
        }
        Ok(User::new(user))
    }

    /// Any user by id; null when there is none (or it is not ACTIVE and the viewer is not staff or admin). Needs sign-in.
    async fn user(&self, ctx: &Context<'_>, #[graphql(desc = "The user's id.")] id: ID) -> async_graphql::Result<Option<User>> {
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
    async fn signup(&self, ctx: &Context<'_>, #[graphql(desc = "The new account.")] input: SignupInput) -> async_graphql::Result<SignupPayload> {
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
    async fn signin(&self, ctx: &Context<'_>, #[graphql(desc = "The login and the password.")] input: SigninInput) -> async_graphql::Result<SigninPayload> {
        crate::ratelimit::credential_attempt(ctx).await.gql()?;
        let info = ctx.request_info();
        into_payload(
            service::signin(ctx.state(), &input.login, &input.password, info.user_agent.clone(), info.ip.clone()).await,
            |(user, tokens)| SigninPayload { tokens: Some(tokens.into()), user: Some(User::for_owner(user)), user_errors: vec![] },
            |user_errors| SigninPayload { tokens: None, user: None, user_errors },
        )
    }

    /// Changes the signed-in user's account: email, username, names, phone, plan.
    async fn update_account(&self, ctx: &Context<'_>, #[graphql(desc = "The fields to change; omitted ones stay as they are.")] input: UpdateAccountInput) -> async_graphql::Result<UpdateAccountPayload> {
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
