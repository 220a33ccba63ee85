//! Second factors and passkeys: TOTP secrets, recovery codes, passkeys,
//! WebAuthn ceremonies in progress, signins waiting for a second factor, the
//! key check value of DATA_ENCRYPTION_KEY, and each session's assurance level.
use sea_orm_migration::prelude::*;

use crate::m20261124_000001_accounts::Users;
use crate::m20261124_000002_sessions::Sessions;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TotpFactors {
    Table,
    UserId,
    Secret,
    ConfirmedAt,
    LastStep,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    Id,
    UserId,
    CredentialId,
    Name,
    PasskeyJson,
    SignCount,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum WebauthnCeremonies {
    Table,
    Id,
    Kind,
    UserId,
    State,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum MfaChallenges {
    Table,
    TokenHash,
    UserId,
    Failures,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum KeyChecks {
    Table,
    Name,
    CheckValue,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SessionsAal {
    AssuranceLevel,
}

fn owned_by_user(table: impl IntoIden, column: impl IntoIden, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(table, column).to(Users::Table, Users::Id).on_delete(ForeignKeyAction::Cascade).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Sessions that exist already were started with a password alone.
        manager
            .alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .add_column(ColumnDef::new(SessionsAal::AssuranceLevel).string_len(8).not_null().default("AAL1"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TotpFactors::Table)
                    .col(ColumnDef::new(TotpFactors::UserId).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(TotpFactors::Secret).string_len(255).not_null())
                    .col(ColumnDef::new(TotpFactors::ConfirmedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(TotpFactors::LastStep).big_integer().null())
                    .col(ColumnDef::new(TotpFactors::CreatedAt).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut owned_by_user(TotpFactors::Table, TotpFactors::UserId, "fk_totp_factors_user"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(ColumnDef::new(RecoveryCodes::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(RecoveryCodes::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(RecoveryCodes::CodeHash).string_len(64).not_null())
                    .col(ColumnDef::new(RecoveryCodes::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(RecoveryCodes::UsedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut owned_by_user(RecoveryCodes::Table, RecoveryCodes::UserId, "fk_recovery_codes_user"))
                    .to_owned(),
            )
            .await?;
        // Redeeming looks a code up by user and hash; counting and deleting by user.
        manager
            .create_index(
                Index::create()
                    .name("ix_recovery_codes_user_hash")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::UserId)
                    .col(RecoveryCodes::CodeHash)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Passkeys::Table)
                    .col(ColumnDef::new(Passkeys::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(Passkeys::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(Passkeys::CredentialId).string_len(1400).not_null())
                    .col(ColumnDef::new(Passkeys::Name).string_len(100).not_null())
                    .col(ColumnDef::new(Passkeys::PasskeyJson).text().not_null())
                    .col(ColumnDef::new(Passkeys::SignCount).big_integer().not_null())
                    .col(ColumnDef::new(Passkeys::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Passkeys::LastUsedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut owned_by_user(Passkeys::Table, Passkeys::UserId, "fk_passkeys_user"))
                    .to_owned(),
            )
            .await?;
        // A credential belongs to one account, once.
        manager
            .create_index(
                Index::create().name("ux_passkeys_credential_id").table(Passkeys::Table).col(Passkeys::CredentialId).unique().to_owned(),
            )
            .await?;
        manager.create_index(Index::create().name("ix_passkeys_user_id").table(Passkeys::Table).col(Passkeys::UserId).to_owned()).await?;

        manager
            .create_table(
                Table::create()
                    .table(WebauthnCeremonies::Table)
                    .col(ColumnDef::new(WebauthnCeremonies::Id).string_len(36).not_null().primary_key())
                    .col(ColumnDef::new(WebauthnCeremonies::Kind).string_len(16).not_null())
                    .col(ColumnDef::new(WebauthnCeremonies::UserId).string_len(36).null())
                    .col(ColumnDef::new(WebauthnCeremonies::State).text().not_null())
                    .col(ColumnDef::new(WebauthnCeremonies::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(WebauthnCeremonies::ExpiresAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // The sweep drops expired ceremonies; an MFA reset drops a user's.
        manager
            .create_index(
                Index::create()
                    .name("ix_webauthn_ceremonies_expires_at")
                    .table(WebauthnCeremonies::Table)
                    .col(WebauthnCeremonies::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webauthn_ceremonies_user_id")
                    .table(WebauthnCeremonies::Table)
                    .col(WebauthnCeremonies::UserId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(MfaChallenges::Table)
                    .col(ColumnDef::new(MfaChallenges::TokenHash).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(MfaChallenges::UserId).string_len(36).not_null())
                    .col(ColumnDef::new(MfaChallenges::Failures).integer().not_null())
                    .col(ColumnDef::new(MfaChallenges::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(MfaChallenges::ExpiresAt).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut owned_by_user(MfaChallenges::Table, MfaChallenges::UserId, "fk_mfa_challenges_user"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_mfa_challenges_expires_at").table(MfaChallenges::Table).col(MfaChallenges::ExpiresAt).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_mfa_challenges_user_id").table(MfaChallenges::Table).col(MfaChallenges::UserId).to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(KeyChecks::Table)
                    .col(ColumnDef::new(KeyChecks::Name).string_len(64).not_null().primary_key())
                    .col(ColumnDef::new(KeyChecks::CheckValue).text().not_null())
                    .col(ColumnDef::new(KeyChecks::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            KeyChecks::Table.into_iden(),
            MfaChallenges::Table.into_iden(),
            WebauthnCeremonies::Table.into_iden(),
            Passkeys::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            TotpFactors::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.alter_table(Table::alter().table(Sessions::Table).drop_column(SessionsAal::AssuranceLevel).to_owned()).await
    }
}
