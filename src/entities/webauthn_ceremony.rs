use sea_orm::entity::prelude::*;

/// A started passkey registration or signin: the server's half of the
/// ceremony, kept for any instance to finish, once, within its lifetime.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// `registration`, `signin` (one account's passkeys) or `discoverable`.
    pub kind: String,
    /// The registering user, or the account a signin is for; null for a discoverable signin.
    pub user_id: Option<String>,
    /// webauthn-rs's ceremony state as JSON (holds the challenge).
    pub state: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
