//! Accounts: signup, signin, the account's own data, email confirmation and
//! password recovery, deactivation and deletion. Each topic is a pair:
//! `<topic>_resolver.rs` (GraphQL types, thin resolvers) and `<topic>.rs` (rules).
/// me, user(id), updateAccount.
pub mod account;
pub mod account_resolver;
/// Single-use, purpose-bound tokens sent by email, stored as hashes.
pub mod email_tokens;
/// Deactivation, the one routine that deletes a user, the last-admin guard.
pub mod lifecycle;
pub mod lifecycle_resolver;
/// The rules a new password must meet.
pub mod password;
/// Email confirmation, password reset and change, and the mails they queue.
pub mod recovery;
pub mod recovery_resolver;
/// Signing in, every way (password, second factor, passkey), through one routine.
pub mod signin;
pub mod signin_resolver;
/// Signup and `tessera create-admin`.
pub mod signup;
pub mod signup_resolver;
/// One account per email, username and phone number.
pub mod uniqueness;
/// Validated account values: Email, Username, PhoneNumber, names.
pub mod validate;
