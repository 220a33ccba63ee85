//! sea-orm models, one per table. They never reach the GraphQL schema
//! directly: each domain wraps them in its own output types, so columns such
//! as `password_hash` cannot leak.
pub mod email_token;
pub mod enums;
pub mod instagram_account;
pub mod instagram_image;
pub mod mail_outbox;
pub mod profile;
pub mod rate_limit;
pub mod refresh_token;
pub mod security_event;
pub mod session;
pub mod subscription_plan;
pub mod user;
pub mod webhook_delivery;
