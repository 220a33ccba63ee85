//! Fixed-window counters shared by every instance through the database.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    /// e.g. `signin-fail:<user id>` or `ip:<address>`, with the window start.
    Bucket,
    Count,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RateLimits::Table)
                    .col(ColumnDef::new(RateLimits::Bucket).string_len(255).not_null().primary_key())
                    .col(ColumnDef::new(RateLimits::Count).integer().not_null())
                    .col(ColumnDef::new(RateLimits::ExpiresAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_rate_limits_expires_at").table(RateLimits::Table).col(RateLimits::ExpiresAt).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(RateLimits::Table).to_owned()).await
    }
}
