use sea_orm::entity::prelude::*;

/// A browser flow started and not yet finished: kept for any instance to
/// finish, once, within ten minutes. The state itself is stored as its hash.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    /// SHA-256 of the state parameter, in hex.
    #[sea_orm(primary_key, auto_increment = false)]
    pub state_hash: String,
    pub provider: String,
    /// The redirectUri the flow started with; finishing must give the same.
    pub redirect_uri: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier the code exchange sends.
    pub code_verifier: String,
    /// Set for `link: true`: the account the provider is linked to.
    pub link_user_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
