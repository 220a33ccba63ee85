//! Accounts: signup, signin, passwords, email confirmation and password
//! reset, deactivation and deletion, validated account values.
/// GraphQL face of email confirmation, password reset and password change.
pub mod email_resolver;
/// Single-use, purpose-bound tokens sent by email, stored as hashes.
pub mod email_tokens;
/// Deactivation and the one routine that deletes a user and all they own.
pub mod lifecycle;
/// GraphQL face of deactivateAccount and deleteAccount.
pub mod lifecycle_resolver;
pub mod password;
/// Email confirmation, password reset and change, and the mails they queue.
pub mod recovery;
pub mod resolver;
pub mod service;
pub mod update;
pub mod validate;
