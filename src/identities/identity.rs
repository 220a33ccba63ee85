//! The configured providers, and checking a provider's ID token.
use crate::error::{ServiceError, ServiceResult, UserErrorCode};
use crate::security::oidc::{Person, Provider, Rejected};
use crate::state::AppState;

/// A provider as a sign-in button shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    pub name: String,
    pub display_name: String,
}

/// Every configured provider, in the order of OIDC_PROVIDERS.
pub fn providers(state: &AppState) -> Vec<ProviderInfo> {
    state.oidc.all().iter().map(|p| ProviderInfo { name: p.config.name.clone(), display_name: p.config.display_name.clone() }).collect()
}

/// The provider named in the input, or NOT_FOUND on `field`.
pub fn provider<'s>(state: &'s AppState, name: &str, field: &[&str]) -> ServiceResult<&'s Provider> {
    state
        .oidc
        .get(name)
        .map(|p| p.as_ref())
        .ok_or_else(|| ServiceError::one(field, UserErrorCode::NotFound, "No such provider: see identityProviders."))
}

pub fn rejected(field: &[&str], provider: &Provider, Rejected(why): Rejected) -> ServiceError {
    tracing::info!(provider = %provider.config.name, reason = %why, "provider token refused");
    ServiceError::one(field, UserErrorCode::InvalidToken, format!("{} sign-in failed: {why}.", provider.config.display_name))
}

/// Checks an ID token and the nonce against it.
pub async fn verify(state: &AppState, provider: &Provider, id_token: &str, nonce: Option<&str>) -> ServiceResult<Person> {
    state.oidc.verify_id_token(provider, id_token, nonce).await.map_err(|e| rejected(&["input", "idToken"], provider, e))
}
