use sea_orm::entity::prelude::*;

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
    pub password_hash: String,
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

impl ActiveModelBehavior for ActiveModel {}
