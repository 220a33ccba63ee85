//! sea-orm models, one per table. They never reach the GraphQL schema
//! directly: each domain wraps them in its own output types, so columns such
//! as `password_hash` cannot leak.
pub mod email_token;
pub mod enums;
pub mod identity;
pub mod instagram_account;
pub mod instagram_image;
pub mod key_check;
pub mod mail_outbox;
pub mod mfa_challenge;
pub mod oauth_state;
pub mod passkey;
pub mod profile;
pub mod rate_limit;
pub mod recovery_code;
pub mod refresh_token;
/// Models read by column position from hand-joined statements.
pub mod rows;
pub mod security_event;
pub mod session;
pub mod subscription_plan;
pub mod totp_factor;
pub mod user;
pub mod webauthn_ceremony;
pub mod webhook_delivery;
