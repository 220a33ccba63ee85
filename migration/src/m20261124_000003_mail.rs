//! Single-use tokens sent by email, and the outbox that makes mail durable.
use sea_orm_migration::prelude::*;

use crate::m20261124_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailTokens {
    Table,
    TokenHash,
    UserId,
    Purpose,
    Email,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    UserId,
    ToAddress,
    Subject,
    TextBody,
    HtmlBody,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    CreatedAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailTokens::Table)
                    .col(ColumnDef::new(EmailTokens::TokenHash).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(EmailTokens::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(EmailTokens::Purpose).string_len(32).not_null())
                    .col(ColumnDef::new(EmailTokens::Email).string_len(254).not_null())
                    .col(ColumnDef::new(EmailTokens::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(EmailTokens::ExpiresAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(EmailTokens::UsedAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_email_tokens_user")
                            .from(EmailTokens::Table, EmailTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_email_tokens_user_purpose")
                    .table(EmailTokens::Table)
                    .col(EmailTokens::UserId)
                    .col(EmailTokens::Purpose)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(ColumnDef::new(MailOutbox::Id).string_len(36).not_null().primary_key())
                    // Null for mail to no account; queued mail goes with its user.
                    .col(ColumnDef::new(MailOutbox::UserId).string_len(36).null())
                    .col(ColumnDef::new(MailOutbox::ToAddress).string_len(254).not_null())
                    .col(ColumnDef::new(MailOutbox::Subject).string_len(255).not_null())
                    .col(ColumnDef::new(MailOutbox::TextBody).text().not_null())
                    .col(ColumnDef::new(MailOutbox::HtmlBody).text().not_null())
                    .col(ColumnDef::new(MailOutbox::Status).string_len(16).not_null())
                    .col(ColumnDef::new(MailOutbox::Attempts).integer().not_null())
                    .col(ColumnDef::new(MailOutbox::NextAttemptAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(MailOutbox::LockedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(MailOutbox::LastError).text().null())
                    .col(ColumnDef::new(MailOutbox::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(MailOutbox::SentAt).timestamp_with_time_zone().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mail_outbox_user")
                            .from(MailOutbox::Table, MailOutbox::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_mail_outbox_status_next_attempt")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::Status)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_mail_outbox_user_id").table(MailOutbox::Table).col(MailOutbox::UserId).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MailOutbox::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(EmailTokens::Table).to_owned()).await
    }
}
