//! GraphQL face of signing in, every way: signin (login and password),
//! verifyMfa (the second step), finishPasskeySignin. They share
//! SigninPayload and all end in `accounts::signin::complete`.
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::accounts::signin::{self, Outcome};
use crate::error::{into_payload, ServiceResult, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::scalars::Json;
use crate::mfa::challenge_resolver::MfaChallenge;
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

/// The result of signin, verifyMfa and finishPasskeySignin.
#[derive(SimpleObject)]
pub struct SigninPayload {
    /// The new session's tokens; null when userErrors is not empty or a second factor is owed (mfaChallenge).
    pub tokens: Option<AuthTokens>,
    /// The signed-in user, private fields included; null when tokens is null.
    pub user: Option<User>,
    /// Empty on success; otherwise one error with field null: INVALID_CREDENTIALS, ACCOUNT_INACTIVE or ACCOUNT_SUSPENDED. Too many attempts give a top-level RATE_LIMITED error instead.
    pub user_errors: Vec<UserError>,
    /// Set (with tokens null) when the account has a second factor: finish with verifyMfa.
    pub mfa_challenge: Option<MfaChallenge>,
}

impl SigninPayload {
    /// The payload of any way of signing in (here, and a provider's in identities).
    pub fn from_outcome(outcome: ServiceResult<Outcome>) -> async_graphql::Result<SigninPayload> {
        into_payload(
            outcome,
            |outcome| match outcome {
                Outcome::SignedIn { user, tokens } => SigninPayload {
                    tokens: Some(tokens.into()),
                    user: Some(User::for_owner(*user)),
                    user_errors: vec![],
                    mfa_challenge: None,
                },
                Outcome::SecondFactorOwed(challenge) => {
                    SigninPayload { tokens: None, user: None, user_errors: vec![], mfa_challenge: Some(challenge.into()) }
                }
            },
            |user_errors| SigninPayload { tokens: None, user: None, user_errors, mfa_challenge: None },
        )
    }
}

/// Input of verifyMfa.
#[derive(InputObject)]
pub struct VerifyMfaInput {
    /// The mfaChallenge.challengeToken the signin answered.
    pub challenge_token: String,
    /// A 6-digit code from the authenticator app.
    pub code: Option<String>,
    /// One of the recovery codes, instead of code.
    pub recovery_code: Option<String>,
}

/// Input of finishPasskeySignin.
#[derive(InputObject)]
pub struct FinishPasskeySigninInput {
    /// The ceremonyId from startPasskeySignin.
    pub ceremony_id: ID,
    /// The AuthenticationResponseJSON of navigator.credentials.get().
    pub credential: Json,
}

#[derive(Default)]
pub struct SigninMutation;

#[Object]
impl SigninMutation {
    /// Starts a new session, or, for an account with a second factor, answers an mfaChallenge to finish with verifyMfa. Deactivated and suspended accounts get ACCOUNT_INACTIVE / ACCOUNT_SUSPENDED.
    async fn signin(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The login and the password.")] input: SigninInput,
    ) -> async_graphql::Result<SigninPayload> {
        SigninPayload::from_outcome(signin::signin(ctx.state(), &input.login, &input.password, &ctx.request_meta()).await)
    }

    /// Finishes a signin that answered an mfaChallenge.
    async fn verify_mfa(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The challenge and a code or a recovery code. userErrors: challengeToken INVALID_CODE when unknown, finished, expired or dead after 5 wrong codes (sign in again); code or recoveryCode INVALID_CODE when wrong or used; code REQUIRED when neither is given. Wrong codes count toward the account's lockout (a top-level RATE_LIMITED)."
        )]
        input: VerifyMfaInput,
    ) -> async_graphql::Result<SigninPayload> {
        SigninPayload::from_outcome(
            signin::verify_mfa(
                ctx.state(),
                &input.challenge_token,
                input.code.as_deref(),
                input.recovery_code.as_deref(),
                &ctx.request_meta(),
            )
            .await,
        )
    }

    /// Starts an AAL2 session with a passkey.
    async fn finish_passkey_signin(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The ceremony from startPasskeySignin and the browser's credential. userErrors: ceremonyId INVALID_CODE when unknown, used or expired; credential INVALID when it is not a credential's JSON, INVALID_CODE when refused (another origin or relying party, another ceremony, a replay, a counter that went back, no user verification, an unknown passkey)."
        )]
        input: FinishPasskeySigninInput,
    ) -> async_graphql::Result<SigninPayload> {
        SigninPayload::from_outcome(
            signin::finish_passkey_signin(ctx.state(), &input.ceremony_id, &input.credential.0, &ctx.request_meta()).await,
        )
    }
}
