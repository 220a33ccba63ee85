//! Signing in with OpenID Connect providers (Google, Apple, any OIDC
//! provider): the mobile flow (an ID token from the provider's SDK), the
//! browser flow (authorization code with PKCE), and the identities linked to
//! an account. (provider, sub) is the person; the email is only a hint, and
//! links an existing account only when the provider verified it and the
//! account confirmed it (no pre-account takeover). Every signin ends in
//! `accounts::signin::complete`. The OIDC client itself (discovery, keys,
//! token checks) is `security::oidc`.
/// The configured providers and the identities linked to an account (User.linkedIdentities).
pub mod identity;
pub mod identity_resolver;
/// linkIdentity and unlinkIdentity, and the link rules every flow shares.
pub mod link;
pub mod link_resolver;
/// signinWithIdToken, startOAuthSignin, finishOAuthSignin.
pub mod signin;
pub mod signin_resolver;

use crate::error::AppError;
use crate::state::AppState;

/// Drops browser flows past their ten minutes (they are refused anyway; this keeps the table small).
pub async fn sweep(state: &AppState) -> Result<u64, AppError> {
    signin::sweep(&state.db).await
}
