//! The security history and audit log, and the webhook outbox.
use sea_orm_migration::prelude::*;

use crate::m20261124_000001_accounts::Users;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SecurityEvents {
    Table,
    Id,
    EventType,
    At,
    UserId,
    ActorId,
    IpAddress,
    UserAgent,
    Detail,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EventType,
    Url,
    Payload,
    Status,
    Attempts,
    NextAttemptAt,
    LockedUntil,
    LastError,
    CreatedAt,
    QueuedAt,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(ColumnDef::new(SecurityEvents::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(SecurityEvents::EventType).string_len(32).not_null())
                    .col(ColumnDef::new(SecurityEvents::At).timestamp_with_time_zone().not_null())
                    // The history outlives the user: their id becomes null when they are deleted.
                    .col(ColumnDef::new(SecurityEvents::UserId).string_len(36).null())
                    .col(ColumnDef::new(SecurityEvents::ActorId).string_len(36).null())
                    .col(ColumnDef::new(SecurityEvents::IpAddress).string_len(64).null())
                    .col(ColumnDef::new(SecurityEvents::UserAgent).string_len(512).null())
                    .col(ColumnDef::new(SecurityEvents::Detail).string_len(255).null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_security_events_user")
                            .from(SecurityEvents::Table, SecurityEvents::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_security_events_actor")
                            .from(SecurityEvents::Table, SecurityEvents::ActorId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        // Newest first, in keyset pages: (at, id) after each filter column.
        // (at, id) alone also serves the unfiltered audit log and pruning.
        let indexes: [(&str, Vec<SecurityEvents>); 4] = [
            ("ix_security_events_at", vec![SecurityEvents::At, SecurityEvents::Id]),
            ("ix_security_events_user_at", vec![SecurityEvents::UserId, SecurityEvents::At, SecurityEvents::Id]),
            ("ix_security_events_actor_at", vec![SecurityEvents::ActorId, SecurityEvents::At, SecurityEvents::Id]),
            ("ix_security_events_type_at", vec![SecurityEvents::EventType, SecurityEvents::At, SecurityEvents::Id]),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create();
            index.name(name).table(SecurityEvents::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    // The webhook-id header: the same on every try.
                    .col(ColumnDef::new(WebhookDeliveries::Id).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(WebhookDeliveries::EventType).string_len(64).not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Url).text().not_null())
                    // The exact body sent on every try, so the signature covers the same bytes.
                    .col(ColumnDef::new(WebhookDeliveries::Payload).text().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Status).string_len(16).not_null())
                    .col(ColumnDef::new(WebhookDeliveries::Attempts).integer().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::NextAttemptAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::LockedUntil).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(WebhookDeliveries::LastError).text().null())
                    .col(ColumnDef::new(WebhookDeliveries::CreatedAt).timestamp_with_time_zone().not_null())
                    // When it was last queued (created, or redelivered): the give-up age counts from here.
                    .col(ColumnDef::new(WebhookDeliveries::QueuedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(WebhookDeliveries::DeliveredAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_created")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::CreatedAt)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_deliveries_status_created")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::Status)
                    .col(WebhookDeliveries::CreatedAt)
                    .col(WebhookDeliveries::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SecurityEvents::Table).to_owned()).await
    }
}
