//! GraphQL face of the account lifecycle: deactivateAccount, deleteAccount.
use async_graphql::{Context, Object, SimpleObject, ID};

use crate::accounts::lifecycle;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;

/// The result of deactivateAccount.
#[derive(SimpleObject)]
pub struct DeactivateAccountPayload {
    /// True when the account is now DEACTIVATED; false when userErrors is not empty.
    pub success: bool,
    /// Empty on success; NOT_ALLOWED when the user is the only active admin.
    pub user_errors: Vec<UserError>,
}

/// The result of deleteAccount.
#[derive(SimpleObject)]
pub struct DeleteAccountPayload {
    /// The id of the deleted account; null when userErrors is not empty.
    pub deleted_user_id: Option<ID>,
    /// Empty on success. password: INVALID_CREDENTIALS, or NOT_ALLOWED when the account has no password (see setPassword); NOT_ALLOWED when the user is the only active admin.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct LifecycleMutation;

#[Object]
impl LifecycleMutation {
    /// The signed-in user deactivates their own account and every session ends.
    async fn deactivate_account(&self, ctx: &Context<'_>) -> async_graphql::Result<DeactivateAccountPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            lifecycle::deactivate(ctx.state(), &viewer.user_id, &ctx.request_meta()).await,
            |()| DeactivateAccountPayload { success: true, user_errors: vec![] },
            |user_errors| DeactivateAccountPayload { success: false, user_errors },
        )
    }

    /// Deletes the signed-in user's account and everything it owns, display picture included.
    async fn delete_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's current password, to confirm.")] password: String,
    ) -> async_graphql::Result<DeleteAccountPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            lifecycle::delete_account(ctx.state(), &viewer.user_id, &password, &ctx.request_meta()).await,
            |deleted| DeleteAccountPayload { deleted_user_id: Some(ID(deleted.id)), user_errors: vec![] },
            |user_errors| DeleteAccountPayload { deleted_user_id: None, user_errors },
        )
    }
}
