//! GraphQL face of signin with a login and a password.
use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::accounts::signin;
use crate::error::{into_payload, UserError};
use crate::graphql::context::ContextExt;
use crate::nodes::User;
use crate::sessions::resolver::AuthTokens;

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

#[derive(Default)]
pub struct SigninMutation;

#[Object]
impl SigninMutation {
    /// Starts a new session. Deactivated and suspended accounts get ACCOUNT_INACTIVE / ACCOUNT_SUSPENDED.
    async fn signin(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The login and the password.")] input: SigninInput,
    ) -> async_graphql::Result<SigninPayload> {
        into_payload(
            signin::signin(ctx.state(), &input.login, &input.password, &ctx.request_meta()).await,
            |(user, tokens)| SigninPayload { tokens: Some(tokens.into()), user: Some(User::for_owner(user)), user_errors: vec![] },
            |user_errors| SigninPayload { tokens: None, user: None, user_errors },
        )
    }
}
