//! Signed-in devices and their rotating refresh tokens.
use sea_orm_migration::prelude::*;

use crate::m20261124_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Sessions {
    Table,
    Id,
    UserId,
    UserAgent,
    IpAddress,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    SessionId,
    CreatedAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(ColumnDef::new(Sessions::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Sessions::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(Sessions::UserAgent).string_len(512).null())
                    .col(ColumnDef::new(Sessions::IpAddress).string_len(64).null())
                    .col(ColumnDef::new(Sessions::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Sessions::LastUsedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Sessions::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Sessions::RevokedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("ix_sessions_user_id").table(Sessions::Table).col(Sessions::UserId).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    // SHA-256 of the token, hex: the token itself is never stored.
                    .col(ColumnDef::new(RefreshTokens::TokenHash).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(RefreshTokens::SessionId).string_len(36).not_null())
                    .col(ColumnDef::new(RefreshTokens::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(RefreshTokens::UsedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refresh_tokens_session")
                            .from(RefreshTokens::Table, RefreshTokens::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_refresh_tokens_session_id").table(RefreshTokens::Table).col(RefreshTokens::SessionId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RefreshTokens::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Sessions::Table).to_owned()).await
    }
}
