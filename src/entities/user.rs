use sea_orm::entity::prelude::*;
use sea_orm::ActiveValue::{self, Set};

use super::enums::{AccountStatus, AccountType, Role};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub email: String,
    pub email_lower: String,
    pub username: Option<String>,
    pub username_lower: Option<String>,
    pub phone_number: Option<String>,
    /// None for an account made through a provider that never set a password.
    pub password_hash: Option<String>,
    pub full_name: Option<String>,
    pub full_name_lower: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub account_type: AccountType,
    pub role: Role,
    pub status: AccountStatus,
    pub email_confirmed: bool,
    pub subscription_plan_id: Option<String>,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

/// A user's profile (one at most): read with the session in one statement.
impl Related<super::profile::Entity> for Entity {
    fn to() -> RelationDef {
        super::profile::Relation::User.def().rev()
    }
}

#[async_trait::async_trait]
impl ActiveModelBehavior for ActiveModel {
    /// The lower-cased copies that uniqueness checks and searches use follow
    /// their source columns, whichever code writes them.
    async fn before_save<C>(mut self, _db: &C, _insert: bool) -> Result<Self, DbErr>
    where
        C: ConnectionTrait,
    {
        if let ActiveValue::Set(email) = &self.email {
            self.email_lower = Set(email.to_lowercase());
        }
        if let ActiveValue::Set(username) = &self.username {
            self.username_lower = Set(username.as_ref().map(|u| u.to_lowercase()));
        }
        if let ActiveValue::Set(name) = &self.full_name {
            self.full_name_lower = Set(name.as_ref().map(|n| n.to_lowercase()));
        }
        Ok(self)
    }
}
