use async_graphql::Enum;
use sea_orm::entity::prelude::*;

/// What happened to an account. Stored as its GraphQL name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum SecurityEventType {
    /// The account was created.
    #[sea_orm(string_value = "SIGNUP")]
    Signup,
    /// A signin succeeded and started a session.
    #[sea_orm(string_value = "SIGNIN")]
    Signin,
    /// A signin was refused (wrong password, unknown login, inactive account); detail says which.
    #[sea_orm(string_value = "SIGNIN_FAILED")]
    SigninFailed,
    /// The user signed out of one session, or of every session (signoutAll; detail says how many).
    #[sea_orm(string_value = "SIGNOUT")]
    Signout,
    /// The user ended one of their other sessions (revokeSession).
    #[sea_orm(string_value = "SESSION_REVOKED")]
    SessionRevoked,
    /// A used refresh token was presented again; its session was ended.
    #[sea_orm(string_value = "TOKEN_REUSE_DETECTED")]
    TokenReuseDetected,
    /// Too many failed signins: further attempts are refused for a while. Recorded once per lockout.
    #[sea_orm(string_value = "ACCOUNT_LOCKED")]
    AccountLocked,
    /// The password was changed (changePassword, or set by tessera create-admin).
    #[sea_orm(string_value = "PASSWORD_CHANGED")]
    PasswordChanged,
    /// A password-reset link was mailed.
    #[sea_orm(string_value = "PASSWORD_RESET_REQUESTED")]
    PasswordResetRequested,
    /// The password was set with a reset link.
    #[sea_orm(string_value = "PASSWORD_RESET")]
    PasswordReset,
    /// The email address was changed.
    #[sea_orm(string_value = "EMAIL_CHANGED")]
    EmailChanged,
    /// The email address was confirmed.
    #[sea_orm(string_value = "EMAIL_CONFIRMED")]
    EmailConfirmed,
    /// A second factor was turned on.
    #[sea_orm(string_value = "MFA_ENABLED")]
    MfaEnabled,
    /// The second factor was turned off.
    #[sea_orm(string_value = "MFA_DISABLED")]
    MfaDisabled,
    /// A recovery code was used instead of the second factor.
    #[sea_orm(string_value = "RECOVERY_CODE_USED")]
    RecoveryCodeUsed,
    /// A passkey was added.
    #[sea_orm(string_value = "PASSKEY_ADDED")]
    PasskeyAdded,
    /// A passkey was removed.
    #[sea_orm(string_value = "PASSKEY_REMOVED")]
    PasskeyRemoved,
    /// A sign-in identity (e.g. Google) was linked.
    #[sea_orm(string_value = "IDENTITY_LINKED")]
    IdentityLinked,
    /// A sign-in identity was unlinked.
    #[sea_orm(string_value = "IDENTITY_UNLINKED")]
    IdentityUnlinked,
    /// The user deactivated their own account.
    #[sea_orm(string_value = "ACCOUNT_DEACTIVATED")]
    AccountDeactivated,
    /// The account was deleted, by the user or an admin.
    #[sea_orm(string_value = "ACCOUNT_DELETED")]
    AccountDeleted,
    /// An admin changed the user's role; detail says from what to what.
    #[sea_orm(string_value = "ROLE_CHANGED")]
    RoleChanged,
    /// Staff or an admin changed the user's status; detail says from what to what.
    #[sea_orm(string_value = "STATUS_CHANGED")]
    StatusChanged,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub event_type: SecurityEventType,
    pub at: DateTimeUtc,
    /// The user it is about; null for a signin with an unknown login, and once the user is deleted.
    pub user_id: Option<String>,
    /// Staff or an admin who acted on someone else's account.
    pub actor_id: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
