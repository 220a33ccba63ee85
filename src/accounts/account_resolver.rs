//! GraphQL face of the account itself: me, user(id), updateAccount.
use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject, ID};

use crate::accounts::account::{self, AccountChanges};
use crate::entities::enums::AccountStatus;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{load_error, Loaders};
use crate::nodes::User;

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
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user. UNAUTHENTICATED without a valid access token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<User> {
        let viewer = ctx.viewer().gql()?;
        // Read with the session a moment ago, and so was the profile (the
        // profile loader has it): only a plan may need reading.
        let user = viewer.user.as_ref().clone();
        if ctx.look_ahead().field("subscriptionPlan").exists() {
            ctx.data_unchecked::<Loaders>().prime_plans(&[&user]).await.gql()?;
        }
        Ok(User::new(user))
    }

    /// Any user by id; null when there is none (or it is not ACTIVE and the viewer is not staff or admin). Needs sign-in.
    async fn user(&self, ctx: &Context<'_>, #[graphql(desc = "The user's id.")] id: ID) -> async_graphql::Result<Option<User>> {
        let viewer = ctx.viewer().gql()?;
        let found = ctx.data_unchecked::<Loaders>().users().load_one(id.0).await.map_err(load_error).gql()?;
        Ok(found.filter(|u| u.status == AccountStatus::Active || viewer.role.is_staff() || u.id == viewer.user_id).map(User::new))
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Changes the signed-in user's account: email, username, names, phone, plan.
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The fields to change; omitted ones stay as they are.")] input: UpdateAccountInput,
    ) -> async_graphql::Result<UpdateAccountPayload> {
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
            account::update_account(ctx.state(), &viewer.user_id, changes, &ctx.request_meta()).await,
            |updated| UpdateAccountPayload { user: Some(User::new(updated.user)), user_errors: vec![] },
            |user_errors| UpdateAccountPayload { user: None, user_errors },
        )
    }
}
