//! GraphQL face of passkeys: startPasskeyRegistration,
//! finishPasskeyRegistration, startPasskeySignin, removePasskey.
//! finishPasskeySignin is a signin and lives with the others (accounts).
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::scalars::Json;
use crate::mfa::passkeys::{self, Ceremony};
use crate::mfa::status_resolver::Passkey;
use crate::nodes::User;

/// The result of startPasskeyRegistration and startPasskeySignin.
#[derive(SimpleObject)]
pub struct PasskeyOptionsPayload {
    /// Id of this ceremony (valid 5 minutes, once), to pass back with the credential.
    pub ceremony_id: Option<ID>,
    /// PublicKeyCredentialCreationOptions or PublicKeyCredentialRequestOptions in WebAuthn's JSON form (what parseCreationOptionsFromJSON / parseRequestOptionsFromJSON take).
    pub options: Option<Json>,
    /// Empty on success; NOT_ALLOWED when passkeys are not set up on this server (WEBAUTHN_RP_ID).
    pub user_errors: Vec<UserError>,
}

fn options_payload(outcome: crate::error::ServiceResult<Ceremony>) -> async_graphql::Result<PasskeyOptionsPayload> {
    into_payload(
        outcome,
        |ceremony| PasskeyOptionsPayload { ceremony_id: Some(ID(ceremony.id)), options: Some(Json(ceremony.options)), user_errors: vec![] },
        |user_errors| PasskeyOptionsPayload { ceremony_id: None, options: None, user_errors },
    )
}

/// Input of finishPasskeyRegistration.
#[derive(InputObject)]
pub struct FinishPasskeyRegistrationInput {
    /// The ceremonyId from startPasskeyRegistration.
    pub ceremony_id: ID,
    /// A name the user gives the passkey, e.g. "Work laptop".
    pub name: String,
    /// The RegistrationResponseJSON of navigator.credentials.create().
    pub credential: Json,
}

/// The result of finishPasskeyRegistration.
#[derive(SimpleObject)]
pub struct FinishPasskeyRegistrationPayload {
    /// The new passkey; null when userErrors is not empty.
    pub passkey: Option<Passkey>,
    /// Empty on success. ceremonyId: INVALID_CODE when unknown, used or expired; credential: INVALID when it is not a credential's JSON, INVALID_CODE when the response is refused (another origin or relying party, another ceremony, no user verification), TAKEN when already registered; name: REQUIRED, TOO_LONG (100 characters).
    pub user_errors: Vec<UserError>,
}

/// The result of removePasskey.
#[derive(SimpleObject)]
pub struct RemovePasskeyPayload {
    /// The user without that passkey; null when userErrors is not empty.
    pub user: Option<User>,
    /// Empty on success; NOT_FOUND on id when the signed-in user has no passkey with that id.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct PasskeysMutation;

#[Object]
impl PasskeysMutation {
    /// Signed in: options for navigator.credentials.create().
    async fn start_passkey_registration(&self, ctx: &Context<'_>) -> async_graphql::Result<PasskeyOptionsPayload> {
        let viewer = ctx.viewer().gql()?;
        options_payload(passkeys::start_registration(ctx.state(), viewer).await)
    }

    /// Signed in: stores the passkey made with startPasskeyRegistration's options. A notice is emailed.
    async fn finish_passkey_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The ceremony, a name and the browser's credential.")] input: FinishPasskeyRegistrationInput,
    ) -> async_graphql::Result<FinishPasskeyRegistrationPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            passkeys::finish_registration(ctx.state(), viewer, &input.ceremony_id, &input.name, &input.credential.0, &ctx.request_meta())
                .await,
            |passkey| FinishPasskeyRegistrationPayload { passkey: Some(Passkey(passkey)), user_errors: vec![] },
            |user_errors| FinishPasskeyRegistrationPayload { passkey: None, user_errors },
        )
    }

    /// Options for navigator.credentials.get(). With a login, that account's passkeys; without, any discoverable passkey.
    async fn start_passkey_signin(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's email or username; omit it for a discoverable passkey (the user is found by the passkey).")]
        login: Option<String>,
    ) -> async_graphql::Result<PasskeyOptionsPayload> {
        options_payload(passkeys::start_signin(ctx.state(), login.as_deref()).await)
    }

    /// Signed in: removes one of the user's passkeys.
    async fn remove_passkey(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The Passkey.id of one of the signed-in user's passkeys.")] id: ID,
    ) -> async_graphql::Result<RemovePasskeyPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            passkeys::remove(ctx.state(), viewer, &id, &ctx.request_meta()).await,
            |user| RemovePasskeyPayload { user: Some(User::new(user)), user_errors: vec![] },
            |user_errors| RemovePasskeyPayload { user: None, user_errors },
        )
    }
}
