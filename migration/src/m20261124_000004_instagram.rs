//! A user's linked Instagram account and the images synced from it.
use sea_orm_migration::prelude::*;

use crate::m20261124_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InstagramAccounts {
    Table,
    UserId,
    Username,
    LinkedAt,
}

#[derive(DeriveIden)]
enum InstagramImages {
    Table,
    Seq,
    UserId,
    ImageId,
    InstagramUrl,
    RawImageUrl,
    OrigWidth,
    OrigHeight,
    AddedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InstagramAccounts::Table)
                    .col(ColumnDef::new(InstagramAccounts::UserId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(InstagramAccounts::Username).string_len(30).not_null())
                    .col(ColumnDef::new(InstagramAccounts::LinkedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_instagram_accounts_user")
                            .from(InstagramAccounts::Table, InstagramAccounts::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(InstagramImages::Table)
                    // Insertion order gives "newest first" and stable cursors.
                    .col(ColumnDef::new(InstagramImages::Seq).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(InstagramImages::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(InstagramImages::ImageId).string_len(64).not_null())
                    .col(ColumnDef::new(InstagramImages::InstagramUrl).string_len(2048).not_null())
                    .col(ColumnDef::new(InstagramImages::RawImageUrl).string_len(2048).not_null())
                    .col(ColumnDef::new(InstagramImages::OrigWidth).integer().not_null())
                    .col(ColumnDef::new(InstagramImages::OrigHeight).integer().not_null())
                    .col(ColumnDef::new(InstagramImages::AddedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_instagram_images_user")
                            .from(InstagramImages::Table, InstagramImages::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_instagram_images_user_image")
                    .table(InstagramImages::Table)
                    .col(InstagramImages::UserId)
                    .col(InstagramImages::ImageId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_instagram_images_user_seq")
                    .table(InstagramImages::Table)
                    .col(InstagramImages::UserId)
                    .col(InstagramImages::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(InstagramImages::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(InstagramAccounts::Table).to_owned()).await
    }
}
