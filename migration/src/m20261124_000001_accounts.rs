//! Users, their profiles and the subscription plans they can hold.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum SubscriptionPlans {
    Table,
    Id,
    Name,
    NameLower,
    PriceCents,
    Currency,
    IntervalMonths,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    EmailLower,
    Username,
    UsernameLower,
    PhoneNumber,
    PasswordHash,
    FullName,
    FullNameLower,
    FirstName,
    LastName,
    AccountType,
    Role,
    Status,
    EmailConfirmed,
    SubscriptionPlanId,
    LastLoginAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Profiles {
    Table,
    UserId,
    Bio,
    Gender,
    BirthDate,
    State,
    City,
    Interests,
    MonthlySubKeys,
    DisplayPicKey,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SubscriptionPlans::Table)
                    .col(ColumnDef::new(SubscriptionPlans::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(SubscriptionPlans::Name).string_len(100).not_null())
                    .col(ColumnDef::new(SubscriptionPlans::NameLower).string_len(100).not_null())
                    .col(ColumnDef::new(SubscriptionPlans::PriceCents).integer().not_null())
                    .col(ColumnDef::new(SubscriptionPlans::Currency).string_len(3).not_null())
                    .col(ColumnDef::new(SubscriptionPlans::IntervalMonths).integer().not_null())
                    .col(ColumnDef::new(SubscriptionPlans::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_subscription_plans_name_lower")
                    .table(SubscriptionPlans::Table)
                    .col(SubscriptionPlans::NameLower)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Users::Email).string_len(254).not_null())
                    // Lower-cased copies carry the case-insensitive unique indexes
                    // the same way on SQLite and PostgreSQL.
                    .col(ColumnDef::new(Users::EmailLower).string_len(254).not_null())
                    .col(ColumnDef::new(Users::Username).string_len(50).null())
                    .col(ColumnDef::new(Users::UsernameLower).string_len(50).null())
                    .col(ColumnDef::new(Users::PhoneNumber).string_len(20).null())
                    .col(ColumnDef::new(Users::PasswordHash).string_len(255).not_null())
                    .col(ColumnDef::new(Users::FullName).string_len(201).null())
                    .col(ColumnDef::new(Users::FullNameLower).string_len(201).null())
                    .col(ColumnDef::new(Users::FirstName).string_len(100).null())
                    .col(ColumnDef::new(Users::LastName).string_len(100).null())
                    .col(ColumnDef::new(Users::AccountType).string_len(16).not_null())
                    .col(ColumnDef::new(Users::Role).string_len(16).not_null())
                    .col(ColumnDef::new(Users::Status).string_len(16).not_null())
                    .col(ColumnDef::new(Users::EmailConfirmed).boolean().not_null())
                    .col(ColumnDef::new(Users::SubscriptionPlanId).string_len(36).null())
                    .col(ColumnDef::new(Users::LastLoginAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Users::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Users::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_subscription_plan")
                            .from(Users::Table, Users::SubscriptionPlanId)
                            .to(SubscriptionPlans::Table, SubscriptionPlans::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col, unique) in [
            ("ux_users_email_lower", Users::EmailLower, true),
            ("ux_users_username_lower", Users::UsernameLower, true),
            ("ux_users_phone_number", Users::PhoneNumber, true),
            ("ix_users_full_name_lower", Users::FullNameLower, false),
            ("ix_users_subscription_plan_id", Users::SubscriptionPlanId, false),
        ] {
            let mut index = Index::create();
            index.name(name).table(Users::Table).col(col);
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        // Listing is newest first with (created_at, id) keyset cursors.
        manager
            .create_index(
                Index::create().name("ix_users_created_at_id").table(Users::Table).col(Users::CreatedAt).col(Users::Id).to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Profiles::Table)
                    .col(ColumnDef::new(Profiles::UserId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Profiles::Bio).text().null())
                    .col(ColumnDef::new(Profiles::Gender).string_len(16).null())
                    .col(ColumnDef::new(Profiles::BirthDate).date().null())
                    .col(ColumnDef::new(Profiles::State).string_len(100).null())
                    .col(ColumnDef::new(Profiles::City).string_len(100).null())
                    // JSON array of Interest names.
                    .col(ColumnDef::new(Profiles::Interests).text().not_null())
                    .col(ColumnDef::new(Profiles::MonthlySubKeys).integer().null())
                    .col(ColumnDef::new(Profiles::DisplayPicKey).string_len(128).null())
                    .col(ColumnDef::new(Profiles::UpdatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_profiles_user")
                            .from(Profiles::Table, Profiles::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Profiles::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Users::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(SubscriptionPlans::Table).to_owned()).await
    }
}
