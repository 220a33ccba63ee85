use sea_orm::entity::prelude::*;

/// A provider account linked to a Tessera account: (provider, subject) is the
/// person; the email is what the provider said at the last signin.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "identities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// The provider's name in the settings (OIDC_PROVIDERS).
    pub provider: String,
    /// The ID token's `sub`.
    pub subject: String,
    pub email: Option<String>,
    pub linked_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
