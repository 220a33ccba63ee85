//! GraphQL face of an account's second factors: MfaStatus (User.mfa) and
//! Passkey. Its fields load through the request's batch loaders, so a list
//! of users costs one statement per field, whatever its length.
use async_graphql::{Context, Object, ID};

use crate::entities::passkey;
use crate::error::GqlResultExt;
use crate::graphql::loaders::{load_error, Loaders};
use crate::graphql::scalars::DateTime;

/// A user's second factors (User.mfa).
pub struct MfaStatus {
    user_id: String,
}

impl MfaStatus {
    pub fn of_user(user_id: &str) -> Self {
        MfaStatus { user_id: user_id.to_owned() }
    }
}

/// The account's second factors.
#[Object]
impl MfaStatus {
    /// Whether signin asks for a TOTP code (after confirmTotp, until disableTotp).
    async fn totp_enabled(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let factor = ctx.data_unchecked::<Loaders>().totp_factors().load_one(self.user_id.clone()).await.map_err(load_error).gql()?;
        Ok(factor.flatten().is_some_and(|f| f.confirmed_at.is_some()))
    }
    /// How many of the ten recovery codes are still unused; 0 without TOTP.
    async fn recovery_codes_left(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let left = ctx.data_unchecked::<Loaders>().recovery_codes_left().load_one(self.user_id.clone()).await.map_err(load_error).gql()?;
        Ok(i32::try_from(left.unwrap_or(0)).unwrap_or(i32::MAX))
    }
    /// The account's passkeys, oldest first.
    async fn passkeys(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Passkey>> {
        let found = ctx.data_unchecked::<Loaders>().passkeys().load_one(self.user_id.clone()).await.map_err(load_error).gql()?;
        Ok(found.unwrap_or_default().into_iter().map(Passkey).collect())
    }
}

/// A registered passkey.
pub struct Passkey(pub passkey::Model);

/// A passkey registered with finishPasskeyRegistration.
#[Object]
impl Passkey {
    /// Pass it to removePasskey.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The name the user gave it, e.g. "Work laptop".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// When it was registered.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When it last signed in; null when it never has.
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(DateTime)
    }
}
