use sea_orm::entity::prelude::*;

/// A user's TOTP secret: pending until confirmed with a code.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "totp_factors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// `v1:…` sealed with DATA_ENCRYPTION_KEY, or `plain:<base32>` without one.
    pub secret: String,
    /// Null while the enrollment waits for confirmTotp.
    pub confirmed_at: Option<DateTimeUtc>,
    /// The last 30-second step whose code was accepted: that code and older ones never work again.
    pub last_step: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
