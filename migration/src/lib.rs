//! Tessera's database schema, one migration per domain. They run at server
//! start and with `tessera migrate`, on SQLite and PostgreSQL alike.
pub use sea_orm_migration::prelude::*;

mod m20261124_000001_accounts;
mod m20261124_000002_sessions;
mod m20261124_000003_mail;
mod m20261124_000004_instagram;
mod m20261124_000005_rate_limits;
mod m20261125_000006_user_search;
mod m20261129_000008_mfa;
mod m20261129_000009_events;
mod m20261129_000010_operations;
mod m20261129_000011_media_sweep;
mod m20261129_000012_identities;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_accounts::Migration),
            Box::new(m20261124_000002_sessions::Migration),
            Box::new(m20261124_000003_mail::Migration),
            Box::new(m20261124_000004_instagram::Migration),
            Box::new(m20261124_000005_rate_limits::Migration),
            Box::new(m20261125_000006_user_search::Migration),
            Box::new(m20261129_000008_mfa::Migration),
            Box::new(m20261129_000009_events::Migration),
            Box::new(m20261129_000010_operations::Migration),
            Box::new(m20261129_000011_media_sweep::Migration),
            Box::new(m20261129_000012_identities::Migration),
        ]
    }
}
