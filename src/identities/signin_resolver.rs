//! GraphQL face of signing in through a provider: signinWithIdToken,
//! startOAuthSignin, finishOAuthSignin. The signins answer SigninPayload,
//! like every other way of signing in.
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::accounts::signin_resolver::SigninPayload;
use crate::error::{into_payload, UserError};
use crate::graphql::context::ContextExt;
use crate::identities::signin::{self, Finished, IdTokenSignin};
use crate::nodes::User;

/// Input of signinWithIdToken and linkIdentity.
#[derive(InputObject)]
pub struct SigninWithIdTokenInput {
    pub provider: ID,
    /// The ID token the app got from the provider's SDK.
    pub id_token: String,
    /// The raw nonce the app gave the provider's SDK, if it gave one.
    pub nonce: Option<String>,
    /// Used only when an account is made (Sign in with Apple gives the name to the app, not in the token).
    pub full_name: Option<String>,
}

/// Input of startOAuthSignin.
#[derive(InputObject)]
pub struct StartOAuthSigninInput {
    pub provider: ID,
    /// Where the provider sends the browser back; must start with an allowed redirect URL.
    pub redirect_uri: String,
    /// True to link the provider to the signed-in viewer instead of signing in.
    #[graphql(default_with = "Some(false)")]
    pub link: Option<bool>,
}

/// The result of startOAuthSignin.
#[derive(SimpleObject)]
pub struct StartOAuthSigninPayload {
    /// Send the browser here.
    pub authorization_url: Option<String>,
    /// The state parameter the provider will send back.
    pub state: Option<String>,
    /// Empty on success. provider: NOT_FOUND, or INVALID_TOKEN while the provider cannot be reached; redirectUri: INVALID when not allowed.
    pub user_errors: Vec<UserError>,
}

/// Input of finishOAuthSignin.
#[derive(InputObject)]
pub struct FinishOAuthSigninInput {
    pub provider: ID,
    /// The code and state the provider sent to redirectUri.
    pub code: String,
    pub state: String,
    pub redirect_uri: String,
}

#[derive(Default)]
pub struct ProviderSigninMutation;

#[Object]
impl ProviderSigninMutation {
    /// Signs in with a provider's ID token, making or linking the account on first use (see the rules).
    async fn signin_with_id_token(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The provider and its ID token. userErrors: provider NOT_FOUND; idToken INVALID_TOKEN (signature, issuer, audience, expiry, issue time, nonce, or no email for a new account); ACCOUNT_EXISTS when an account has the email but may not be linked; ACCOUNT_INACTIVE, ACCOUNT_SUSPENDED. An account with a second factor gets mfaChallenge."
        )]
        input: SigninWithIdTokenInput,
    ) -> async_graphql::Result<SigninPayload> {
        let signin = IdTokenSignin {
            provider: &input.provider,
            id_token: &input.id_token,
            nonce: input.nonce.as_deref(),
            full_name: input.full_name.as_deref(),
        };
        SigninPayload::from_outcome(signin::signin_with_id_token(ctx.state(), signin, &ctx.request_meta()).await)
    }

    /// Starts the browser flow: authorization code with PKCE, state and nonce kept by the server (10 minutes, once).
    #[graphql(name = "startOAuthSignin")]
    async fn start_o_auth_signin(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The provider and where it sends the browser back. link: true needs sign-in (UNAUTHENTICATED).")]
        input: StartOAuthSigninInput,
    ) -> async_graphql::Result<StartOAuthSigninPayload> {
        let link = input.link.unwrap_or(false);
        into_payload(
            signin::start(ctx.state(), ctx.maybe_viewer(), &input.provider, &input.redirect_uri, link).await,
            |started| StartOAuthSigninPayload {
                authorization_url: Some(started.authorization_url),
                state: Some(started.state),
                user_errors: vec![],
            },
            |user_errors| StartOAuthSigninPayload { authorization_url: None, state: None, user_errors },
        )
    }

    /// Finishes the browser flow. For a flow started with link: true, links the provider to that viewer and answers tokens: null with the user.
    #[graphql(name = "finishOAuthSignin")]
    async fn finish_o_auth_signin(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "What the provider sent to redirectUri; a flow started with link: true needs the same viewer's token (UNAUTHENTICATED without one). userErrors: state INVALID_TOKEN when unknown, used, expired, started for another provider or redirectUri, or (link) by another account; code INVALID_TOKEN when the provider refuses it or its ID token does not check; then as signinWithIdToken (TAKEN when linking an identity linked elsewhere)."
        )]
        input: FinishOAuthSigninInput,
    ) -> async_graphql::Result<SigninPayload> {
        let finished = signin::finish(
            ctx.state(),
            ctx.maybe_viewer(),
            &input.provider,
            &input.code,
            &input.state,
            &input.redirect_uri,
            &ctx.request_meta(),
        )
        .await;
        match finished {
            Ok(Finished::SignedIn(outcome)) => SigninPayload::from_outcome(Ok(outcome)),
            Ok(Finished::Linked(user)) => {
                Ok(SigninPayload { tokens: None, user: Some(User::for_owner(*user)), user_errors: vec![], mfa_challenge: None })
            }
            Err(error) => SigninPayload::from_outcome(Err(error)),
        }
    }
}
