//! Behaviour through real HTTP against a real server on a random port, with a
//! fresh database per test (SQLite, or PostgreSQL when TESSERA_TEST_DB=postgres).
mod helpers;
mod mail_helpers;
mod mfa_helpers;
mod oidc_helpers;
mod webhook_helpers;

mod abuse;
mod account_updates;
mod accounts;
mod admin;
mod auth;
mod events;
mod http;
mod instagram;
mod lifecycle;
mod mail;
mod media;
mod mfa;
mod operations;
mod outage;
mod pages;
mod passkeys;
mod profiles;
mod readme;
mod robustness;
mod s3;
mod scale_out;
mod sessions;
mod social;
mod tokens;
mod webhooks;
