//! GraphQL face of linking providers to the signed-in account: linkIdentity,
//! unlinkIdentity.
use async_graphql::{Context, Object, SimpleObject, ID};

use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::identities::link;
use crate::identities::signin_resolver::SigninWithIdTokenInput;
use crate::nodes::User;

/// The result of linkIdentity and unlinkIdentity.
#[derive(SimpleObject)]
pub struct LinkIdentityPayload {
    pub user: Option<User>,
    pub user_errors: Vec<UserError>,
}

fn payload(outcome: crate::error::ServiceResult<crate::entities::user::Model>) -> async_graphql::Result<LinkIdentityPayload> {
    into_payload(
        outcome,
        |user| LinkIdentityPayload { user: Some(User::new(user)), user_errors: vec![] },
        |user_errors| LinkIdentityPayload { user: None, user_errors },
    )
}

#[derive(Default)]
pub struct LinkMutation;

#[Object]
impl LinkMutation {
    /// Signed in: links the provider account of this ID token to the viewer. TAKEN when it is linked to another account.
    async fn link_identity(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The provider and an ID token of the account to link (fullName is ignored). userErrors: provider NOT_FOUND, or ALREADY_DONE when another account of this provider is linked; idToken INVALID_TOKEN, or TAKEN."
        )]
        input: SigninWithIdTokenInput,
    ) -> async_graphql::Result<LinkIdentityPayload> {
        let viewer = ctx.viewer().gql()?;
        payload(
            link::link_identity(ctx.state(), viewer, &input.provider, &input.id_token, input.nonce.as_deref(), &ctx.request_meta()).await,
        )
    }

    /// NOT_ALLOWED when it is the account's last way to sign in (no password, no other provider, no passkey).
    async fn unlink_identity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider to unlink. userErrors: provider NOT_FOUND when none of its accounts is linked; NOT_ALLOWED.")]
        provider: ID,
    ) -> async_graphql::Result<LinkIdentityPayload> {
        let viewer = ctx.viewer().gql()?;
        payload(link::unlink(ctx.state(), &viewer.user_id, &provider, &ctx.request_meta()).await)
    }
}
