//! Tessera: an identity-and-profile server with one GraphQL endpoint.
//! ARCHITECTURE.md describes the layers; tests/architecture.rs checks them.

// Composition: builds the application from everything below.
/// Building and running the server.
pub mod startup;

// HTTP: routes and handlers.
/// Router and handlers: /graphql, /media, GraphiQL, health, error responses.
pub mod http;

// The schema: every domain's roots merged.
/// Every domain's Query and Mutation merged.
pub mod schema;

// Domains: each a resolver + service pair (or topic pairs).
/// Signup, signin, the account itself, recovery, deactivation and deletion.
pub mod accounts;
/// The user list, roles, statuses, user deletion (staff and admins).
pub mod admin;
/// Security events: each account's history and the admins' audit log.
pub mod events;
/// Signing in with OpenID Connect providers (Google, Apple...), and the identities linked to accounts.
pub mod identities;
/// A linked Instagram account and the batch sync of its images.
pub mod instagram;
/// Outbox, templates, SMTP and file transports, and the worker that sends queued mail.
pub mod mail;
/// Display pictures: checks, re-encoding, storage, URLs.
pub mod media;
/// Second factors (TOTP, recovery codes), passkeys, the signin challenge, the admin reset.
pub mod mfa;
/// The object types that point at each other across domains: User, Profile.
pub mod nodes;
/// Subscription plans.
pub mod plans;
/// Profile reads and updates.
pub mod profiles;
/// Sessions, refresh rotation, sign-out.
pub mod sessions;
/// Webhooks to other services: the outbox, signing, the delivery worker.
pub mod webhooks;

// Toolkit: what every domain uses.
/// A bounded map for values that never go stale.
pub mod cache;
/// Database connection, migrations, write transactions.
pub mod db;
/// The one error type with stable codes, and the userErrors convention.
pub mod error;
/// Request context, limits, loaders, pagination, scalars.
pub mod graphql;
/// The object store that holds uploaded files (a folder or S3).
pub mod media_store;
/// What omitted, null and blank fields do in a partial update.
pub mod patch;
/// Rate limits shared by every instance through the database.
pub mod ratelimit;
/// Access-token keys, opaque tokens, the password hasher.
pub mod security;
/// State shared by every request.
pub mod state;
/// Log lines (text or JSON) and Prometheus metrics.
pub mod telemetry;
/// Who is asking: Viewer and Auth.
pub mod viewer;

// Foundation.
/// Every setting, with its flag, env var and default.
pub mod config;
/// sea-orm models: never exposed to GraphQL directly.
pub mod entities;
