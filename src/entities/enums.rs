//! Enumerations stored as short strings. They are also GraphQL enums: their
//! values are public by nature, unlike the models that hold them.
use async_graphql::Enum;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What kind of account a user has, chosen at signup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AccountType {
    /// A fan account: the default at signup.
    #[sea_orm(string_value = "FAN")]
    Fan,
    /// A creator account: only creators have Profile.monthlySubKeys.
    #[sea_orm(string_value = "CREATOR")]
    Creator,
}

/// What a user may do beyond their own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// A regular user: sees other users' public fields and ACTIVE accounts only.
    #[sea_orm(string_value = "USER")]
    User,
    /// Sees every user's private fields and inactive accounts, lists users, and sets the status of users who are not admins.
    #[sea_orm(string_value = "STAFF")]
    Staff,
    /// Everything staff can do, plus setting roles and admins' statuses, deleting users and creating subscription plans.
    #[sea_orm(string_value = "ADMIN")]
    Admin,
}

impl Role {
    /// Staff and admins see private fields and inactive accounts.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }
}

/// Whether an account can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum AccountStatus {
    /// The account can sign in and is visible to every signed-in user.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// The user deactivated the account; only an admin can reactivate it.
    #[sea_orm(string_value = "DEACTIVATED")]
    Deactivated,
    /// An admin suspended the account.
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

/// How strongly a session was authenticated (NIST SP 800-63B authenticator assurance level).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum AssuranceLevel {
    /// One factor (a password, or a provider's ID token).
    #[sea_orm(string_value = "AAL1")]
    #[graphql(name = "AAL1")]
    Aal1,
    /// Two factors, or a passkey.
    #[sea_orm(string_value = "AAL2")]
    #[graphql(name = "AAL2")]
    Aal2,
}

/// A user's gender, as they state it on their profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Gender {
    /// Male.
    #[sea_orm(string_value = "MALE")]
    Male,
    /// Female.
    #[sea_orm(string_value = "FEMALE")]
    Female,
    /// Non-binary.
    #[sea_orm(string_value = "NON_BINARY")]
    NonBinary,
    /// A gender not listed here.
    #[sea_orm(string_value = "OTHER")]
    Other,
    /// The user chose not to say (unlike null, which means not set).
    #[sea_orm(string_value = "UNDISCLOSED")]
    Undisclosed,
}

// Stored as a JSON array of these names in `profiles.interests`.
/// Something a user is into, listed on their profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Interest {
    /// Social networking.
    SocialNetworking,
    /// Dancing.
    Dancing,
    /// Fun times.
    FunTimes,
    /// Socialising.
    Social,
    /// Career.
    Career,
    /// Business.
    Business,
    /// The environment.
    Environment,
    /// Fitness.
    Fitness,
    /// Nature.
    Nature,
    /// Sports.
    Sports,
    /// Recreation.
    Recreation,
    /// Running.
    Running,
    /// Cycling.
    Cycling,
    /// Comedy.
    Comedy,
    /// Coffee.
    Coffee,
    /// Night walks.
    NightWalks,
    /// Food and eating out.
    Foodie,
    /// Dating.
    Dating,
    /// Relationships.
    Relationship,
    /// Something not in this list.
    Others,
}
