//! Enumerations stored as short strings. They are also GraphQL enums: their
//! values are public by nature, unlike the models that hold them.
use async_graphql::Enum;
use sea_orm::entity::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AccountType {
    #[sea_orm(string_value = "FAN")]
    Fan,
    #[sea_orm(string_value = "CREATOR")]
    Creator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "USER")]
    User,
    #[sea_orm(string_value = "STAFF")]
    Staff,
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

impl Role {
    /// Staff and admins see private fields and inactive accounts.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AccountStatus {
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// The user deactivated the account; only an admin can reactivate it.
    #[sea_orm(string_value = "DEACTIVATED")]
    Deactivated,
    /// An admin suspended the account.
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Gender {
    #[sea_orm(string_value = "MALE")]
    Male,
    #[sea_orm(string_value = "FEMALE")]
    Female,
    #[sea_orm(string_value = "NON_BINARY")]
    NonBinary,
    #[sea_orm(string_value = "OTHER")]
    Other,
    #[sea_orm(string_value = "UNDISCLOSED")]
    Undisclosed,
}
