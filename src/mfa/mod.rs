//! Second factors and passkeys: TOTP with recovery codes, WebAuthn
//! passkeys, the challenge a signin answers while a second factor is owed,
//! and the admin reset. Signing in itself (every way of it) ends in
//! `accounts::signin::complete`, which asks this domain what an account has.
//! Topic pairs: `<topic>_resolver.rs` (GraphQL types, thin resolvers) and
//! `<topic>.rs` (rules); `recovery_codes.rs` is a support file.
/// The challenge between a signin and its second factor: issue, redeem, expire.
pub mod challenge;
pub mod challenge_resolver;
/// Passkeys: registration, removal, and the signin ceremonies.
pub mod passkeys;
pub mod passkeys_resolver;
/// Recovery codes: making, normalising and hashing them.
pub mod recovery_codes;
/// resetUserMfa: an admin removes every second factor of a user.
pub mod reset;
pub mod reset_resolver;
/// Which second factors an account has (User.mfa and the signin's factors).
pub mod status;
pub mod status_resolver;
/// TOTP: enrollment, confirmation, codes, disabling, recovery-code renewal.
pub mod totp;
pub mod totp_resolver;

use crate::error::AppError;
use crate::state::AppState;

/// Drops expired signin challenges and passkey ceremonies (they are refused
/// once expired anyway; this only keeps the tables small).
pub async fn sweep(state: &AppState) -> Result<u64, AppError> {
    Ok(challenge::sweep(&state.db).await? + passkeys::sweep(&state.db).await?)
}
