//! Signing in with OpenID Connect providers: the identities linked to each
//! account, the browser flows in progress, and a password that is now
//! optional (an account made through a provider has none).
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::m20261124_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Identities {
    Table,
    Id,
    UserId,
    Provider,
    Subject,
    Email,
    LinkedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    StateHash,
    Provider,
    RedirectUri,
    Nonce,
    CodeVerifier,
    LinkUserId,
    CreatedAt,
    ExpiresAt,
}

/// users.password_hash as the first migration made it.
const SQLITE_NOT_NULL: &str = "\"password_hash\" varchar(255) NOT NULL";
const SQLITE_NULLABLE: &str = "\"password_hash\" varchar(255)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the schema edit below must run on one connection, all or nothing.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared("ALTER TABLE users ALTER COLUMN password_hash DROP NOT NULL").await?;
            }
            _ => {
                // SQLite cannot drop a NOT NULL constraint with ALTER TABLE, and
                // rebuilding `users` would cascade deletes into every table that
                // references it. SQLite documents this edit of the stored
                // definition for removing a NOT NULL constraint: it changes
                // nothing on disk, and the bumped schema version makes every
                // connection read the new definition.
                let version: i64 = db
                    .query_one_raw(Statement::from_string(DbBackend::Sqlite, "PRAGMA schema_version"))
                    .await?
                    .ok_or_else(|| DbErr::Migration("no schema version".into()))?
                    .try_get_by_index(0)?;
                db.execute_unprepared("PRAGMA writable_schema = ON").await?;
                let edited = db
                    .execute_raw(Statement::from_sql_and_values(
                        DbBackend::Sqlite,
                        "UPDATE sqlite_schema SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'users' AND instr(sql, ?) > 0",
                        [SQLITE_NOT_NULL.into(), SQLITE_NULLABLE.into(), SQLITE_NOT_NULL.into()],
                    ))
                    .await?;
                db.execute_unprepared(&format!("PRAGMA schema_version = {}", version + 1)).await?;
                db.execute_unprepared("PRAGMA writable_schema = OFF").await?;
                if edited.rows_affected() != 1 {
                    return Err(DbErr::Migration("users.password_hash is not as the first migration made it".into()));
                }
            }
        }

        manager
            .create_table(
                Table::create()
                    .table(Identities::Table)
                    .col(ColumnDef::new(Identities::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Identities::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(Identities::Provider).string_len(32).not_null())
                    .col(ColumnDef::new(Identities::Subject).string_len(255).not_null())
                    .col(ColumnDef::new(Identities::Email).string_len(255).null())
                    .col(ColumnDef::new(Identities::LinkedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Identities::LastUsedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_identities_user")
                            .from(Identities::Table, Identities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A signin looks the person up by provider and subject.
        manager
            .create_index(
                Index::create()
                    .name("ux_identities_provider_subject")
                    .table(Identities::Table)
                    .col(Identities::Provider)
                    .col(Identities::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One identity per provider and account; lists and counts go by user.
        manager
            .create_index(
                Index::create()
                    .name("ux_identities_user_provider")
                    .table(Identities::Table)
                    .col(Identities::UserId)
                    .col(Identities::Provider)
                    .unique()
                    .to_owned(),
            )
            .await?;

        // The primary key is the lookup: finishing a flow finds it by the state's hash.
        manager
            .create_table(
                Table::create()
                    .table(OauthStates::Table)
                    .col(ColumnDef::new(OauthStates::StateHash).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(OauthStates::Provider).string_len(32).not_null())
                    .col(ColumnDef::new(OauthStates::RedirectUri).string_len(2048).not_null())
                    .col(ColumnDef::new(OauthStates::Nonce).string_len(64).not_null())
                    .col(ColumnDef::new(OauthStates::CodeVerifier).string_len(128).not_null())
                    .col(ColumnDef::new(OauthStates::LinkUserId).string_len(36).null())
                    .col(ColumnDef::new(OauthStates::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(OauthStates::ExpiresAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_states_user")
                            .from(OauthStates::Table, OauthStates::LinkUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The sweeper deletes expired flows.
        manager
            .create_index(Index::create().name("ix_oauth_states_expires").table(OauthStates::Table).col(OauthStates::ExpiresAt).to_owned())
            .await?;
        // Deleting a user looks up their pending link flows (the cascade).
        manager
            .create_index(
                Index::create().name("ix_oauth_states_link_user").table(OauthStates::Table).col(OauthStates::LinkUserId).to_owned(),
            )
            .await?;
        Ok(())
    }
}
