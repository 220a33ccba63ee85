//! GraphQL face of the admin reset: resetUserMfa.
use async_graphql::{Context, Object, ID};

use crate::admin::resolver::AdminUserPayload;
use crate::error::{into_payload, GqlResultExt};
use crate::graphql::context::ContextExt;
use crate::mfa::reset;
use crate::nodes::User;

#[derive(Default)]
pub struct MfaResetMutation;

#[Object]
impl MfaResetMutation {
    /// Admins only: removes every second factor and passkey of a user and ends their sessions.
    async fn reset_user_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The user whose second factors to remove; NOT_FOUND on userId when there is none.")] user_id: ID,
    ) -> async_graphql::Result<AdminUserPayload> {
        let admin = ctx.admin().gql()?;
        into_payload(
            reset::reset_user(ctx.state(), &user_id, &ctx.request_meta().acting(admin)).await,
            |user| AdminUserPayload { user: Some(User::new(user)), user_errors: vec![] },
            |user_errors| AdminUserPayload { user: None, user_errors },
        )
    }
}
