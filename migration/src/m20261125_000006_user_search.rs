//! Indexes that let the staff user search (a prefix match on the lower-cased
//! email, username and full name) use an index on both databases.
//!
//! The plain indexes from the accounts migration cannot serve `LIKE 'x%'`:
//! SQLite's LIKE is case-insensitive, so it only uses NOCASE indexes, and
//! PostgreSQL only uses a btree for LIKE under the C collation or with the
//! `varchar_pattern_ops` operator class.
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [&str; 3] = ["email_lower", "username_lower", "full_name_lower"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in COLUMNS {
            let sql = match manager.get_database_backend() {
                DatabaseBackend::Postgres => {
                    format!("CREATE INDEX ix_users_{column}_prefix ON users ({column} varchar_pattern_ops)")
                }
                _ => format!("CREATE INDEX ix_users_{column}_prefix ON users ({column} COLLATE NOCASE)"),
            };
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in COLUMNS {
            db.execute_unprepared(&format!("DROP INDEX ix_users_{column}_prefix")).await?;
        }
        Ok(())
    }
}
