//! Tessera: an identity-and-profile server with one GraphQL endpoint.

/// Signup, signin, passwords, validated account values.
pub mod accounts;
/// Subscription plans, staff and admin tools.
pub mod admin;
/// Every setting, with its flag, env var and default.
pub mod config;
/// Database connection and migrations.
pub mod db;
/// sea-orm models: never exposed to GraphQL directly.
pub mod entities;
/// The one error type and the userErrors convention.
pub mod error;
/// Schema, per-request context, loaders, scalars.
pub mod graphql;
/// Router and handlers.
pub mod http;
/// A linked Instagram account and the batch sync of its images.
pub mod instagram;
/// Outbox, templates, SMTP and file transports, and the worker that sends queued mail.
pub mod mail;
/// Display pictures in an object store.
pub mod media;
/// Rate limits shared by every instance through the database.
pub mod ratelimit;
/// Profile reads and updates.
pub mod profiles;
/// Sessions, access and refresh tokens.
pub mod sessions;
/// Building and running the server.
pub mod startup;
/// State shared by every request.
pub mod state;
