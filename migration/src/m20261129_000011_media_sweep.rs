//! The media sweep asks, for a batch of stored keys, which ones a profile
//! still points at: an index on the picture key answers that.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Profiles {
    Table,
    DisplayPicKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create().name("ix_profiles_display_pic_key").table(Profiles::Table).col(Profiles::DisplayPicKey).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_profiles_display_pic_key").table(Profiles::Table).to_owned()).await
    }
}
