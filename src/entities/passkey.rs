use sea_orm::entity::prelude::*;

/// A registered passkey (WebAuthn credential).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub user_id: String,
    /// The credential id, base64url without padding; unique.
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey` as JSON: public key, counter, flags.
    pub passkey_json: String,
    /// The authenticator's signature counter as last accepted; never goes back.
    pub sign_count: i64,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
