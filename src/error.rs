//! One error type with stable codes, and the `userErrors` that describe what
//! was wrong with a client's input.
//!
//! Two kinds of failure reach a client:
//! - `UserError`s: problems with what the client sent, returned as payload
//!   data (`userErrors`), nothing changed.
//! - `AppError`: problems with who is asking, or with the server, returned as
//!   top-level GraphQL errors carrying `extensions.code`.
use async_graphql::{Enum, ErrorExtensions, SimpleObject};

/// Every top-level error code a client can see in `extensions.code`. The
/// HTTP layer, the request limits and the resolvers all take their codes
/// from here, so that a code is spelled in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No access token, or a bad, expired or revoked one.
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    Forbidden,
    /// Too many attempts; `extensions.retryAfter` says for how long.
    RateLimited,
    /// An argument the schema accepts but the operation does not (e.g. too many ids).
    BadUserInput,
    /// The HTTP request is not a GraphQL request this endpoint takes.
    BadRequest,
    /// The request body is larger than allowed.
    PayloadTooLarge,
    /// An uploaded file far larger than allowed, cut off unread.
    FileTooLarge,
    /// The client accepts neither media type a GraphQL response comes in.
    NotAcceptable,
    /// The query does not parse.
    GraphqlParseFailed,
    /// The query parses but is not valid against the schema, or breaks a request limit.
    GraphqlValidationFailed,
    /// A hash-only request (automatic persisted queries) whose query this instance does not know: send the query text with the hash.
    PersistedQueryNotFound,
    /// A persisted query protocol version other than 1.
    PersistedQueryNotSupported,
    /// The database cannot be reached right now: try again after `Retry-After` (HTTP 503).
    Unavailable,
    /// A bug or an outage on the server; the cause is logged with the request id.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::FileTooLarge => "FILE_TOO_LARGE",
            ErrorCode::NotAcceptable => "NOT_ACCEPTABLE",
            ErrorCode::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            ErrorCode::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            ErrorCode::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ErrorCode::PersistedQueryNotSupported => "PERSISTED_QUERY_NOT_SUPPORTED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// A ServerError carrying this code, for errors raised outside a resolver.
    pub fn server_error(self, message: impl Into<String>) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(message, None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", self.as_str());
        error.extensions = Some(extensions);
        error
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request failed for reasons other than what the client typed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Sign in first: the access token is missing, malformed, expired or revoked.")]
    Unauthenticated,
    #[error("You are not allowed to do this.")]
    Forbidden,
    /// `retry_after_secs` goes out as `extensions.retryAfter`; the message says it in words.
    #[error("Too many attempts; try again in {}.", wait_in_words(*retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    /// Input that the schema accepts but no field path can carry (e.g. too many ids).
    #[error("{0}")]
    BadInput(String),
    /// The database did not answer in time (DATABASE_ACQUIRE_TIMEOUT); logged where it happens.
    #[error("The service is unavailable for a moment: try again shortly.")]
    Unavailable,
    #[error("Internal error.")]
    Internal(#[from] anyhow::Error),
}

/// Seconds a client is told to wait (`Retry-After`) when the database is unreachable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Whether a database error means the database cannot be reached (down,
/// restarting, the network cut, no connection within the acquire timeout)
/// rather than that the statement was refused.
pub fn is_outage(error: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    use sea_orm::{DbErr, RuntimeErr};
    match error {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(cause))
        | DbErr::Exec(RuntimeErr::SqlxError(cause))
        | DbErr::Query(RuntimeErr::SqlxError(cause)) => match cause.as_ref() {
            Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
            // Class 08 (connection exception) and 57P0x (the server shutting down or starting up).
            Sqlx::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
            _ => false,
        },
        _ => false,
    }
}

/// A wait as a person says it: "40 seconds" under a minute, then whole
/// minutes rounded up ("1 minute", "15 minutes" for 899 s), then whole hours
/// from two hours on, so that trying again when told is never too early.
pub fn wait_in_words(seconds: u64) -> String {
    let plural = |n: u64, unit: &str| if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") };
    if seconds < 60 {
        plural(seconds.max(1), "second")
    } else if seconds <= 2 * 3600 {
        plural(seconds.div_ceil(60), "minute")
    } else {
        plural(seconds.div_ceil(3600), "hour")
    }
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Forbidden => ErrorCode::Forbidden,
            AppError::RateLimited { .. } => ErrorCode::RateLimited,
            AppError::BadInput(_) => ErrorCode::BadUserInput,
            AppError::Unavailable => ErrorCode::Unavailable,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn internal(context: &'static str, error: impl std::fmt::Display) -> AppError {
        AppError::Internal(anyhow::anyhow!("{context}: {error}"))
    }

    /// As a ServerError (for request limits and extensions, which have no resolver context).
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let error = self.extend();
        async_graphql::ServerError { extensions: error.extensions, ..async_graphql::ServerError::new(error.message, None) }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        if is_outage(&error) {
            tracing::warn!(error = %error, "the database is unreachable: answering UNAVAILABLE");
            return AppError::Unavailable;
        }
        AppError::Internal(anyhow::Error::new(error).context("database"))
    }
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let AppError::Internal(cause) = self {
            // The cause is logged here, with the request's span, and never sent.
            tracing::error!(error = ?cause, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code().as_str());
            if let AppError::RateLimited { retry_after_secs } = self {
                ext.set("retryAfter", *retry_after_secs);
            }
            if let AppError::Unavailable = self {
                ext.set("retryAfter", UNAVAILABLE_RETRY_AFTER_SECS);
            }
        })
    }
}

/// Resolvers end with `.gql()` rather than `?`, which would drop the code.
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T, AppError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| e.extend())
    }
}

/// Why a value of the input was refused: the code of a UserError.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum UserErrorCode {
    /// A required value is missing or empty.
    Required,
    /// The value is malformed (an email, a phone number, a username, a date...).
    Invalid,
    /// Another account already uses this value (email, username, phone number).
    Taken,
    /// The value is shorter than allowed (a password, a username).
    TooShort,
    /// The value is longer than allowed (an email, a name, a bio, a plan name...).
    TooLong,
    /// The password is too common, too simple or too close to the account's own data.
    TooWeak,
    /// Two values that must match do not (password and its confirmation).
    Mismatch,
    /// The referenced thing does not exist (a subscription plan, a session, an image).
    NotFound,
    /// Wrong login or password. Never says which.
    InvalidCredentials,
    /// The account is deactivated.
    AccountInactive,
    /// The account is suspended.
    AccountSuspended,
    /// A token from an email or a refresh token that is unknown, used, revoked or expired.
    InvalidToken,
    /// The operation is not allowed for this account (e.g. monthlySubKeys for a fan).
    NotAllowed,
    /// The uploaded file is larger than allowed (2 MiB by default).
    FileTooLarge,
    /// The uploaded file is not a JPEG or PNG picture that can be read, or it has too many pixels.
    UnsupportedFileType,
    /// The action was already done (email already confirmed, Instagram already linked).
    AlreadyDone,
    /// A one-time code, recovery code or passkey response that is wrong, used or expired.
    InvalidCode,
    /// An account already uses this email: sign in to it and link the provider from there.
    AccountExists,
}

impl UserErrorCode {
    /// The code as the API spells it (`TOO_WEAK`), for programs that print it.
    pub fn as_str(self) -> &'static str {
        use async_graphql::resolver_utils::EnumType;
        UserErrorCode::items().iter().find(|item| item.value == self).map(|item| item.name).unwrap_or("INVALID")
    }
}

impl std::fmt::Display for UserErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with what the client sent.
#[derive(Debug, Clone, PartialEq, Eq, SimpleObject)]
pub struct UserError {
    /// Path to the input field at fault, e.g. ["input", "email"]; null when no single field is.
    pub field: Option<Vec<String>>,
    /// A sentence fit to show to a person.
    pub message: String,
    /// The kind of problem, for programs to act on; message is for people.
    pub code: UserErrorCode,
}

impl UserError {
    pub fn new(field: &[&str], code: UserErrorCode, message: impl Into<String>) -> Self {
        UserError {
            field: if field.is_empty() { None } else { Some(field.iter().map(|s| s.to_string()).collect()) },
            message: message.into(),
            code,
        }
    }
}

/// Problems with one input, gathered so that all are reported together.
#[derive(Debug, Default)]
pub struct Problems(Vec<UserError>);

impl Problems {
    pub fn add(&mut self, field: &[&str], code: UserErrorCode, message: impl Into<String>) {
        self.0.push(UserError::new(field, code, message));
    }

    pub fn push(&mut self, error: UserError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a problem was already noted for this field (to skip further checks on it).
    pub fn has(&self, field: &[&str]) -> bool {
        self.0.iter().any(|e| e.field.as_deref().is_some_and(|f| f.iter().map(String::as_str).eq(field.iter().copied())))
    }

    pub fn check(self) -> Result<(), ServiceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::User(self.0))
        }
    }
}

/// What a domain service can fail with.
#[derive(Debug)]
pub enum ServiceError {
    /// Reported as the payload's `userErrors`; nothing was changed.
    User(Vec<UserError>),
    /// Reported as a top-level error.
    App(AppError),
}

impl ServiceError {
    pub fn one(field: &[&str], code: UserErrorCode, message: impl Into<String>) -> Self {
        ServiceError::User(vec![UserError::new(field, code, message)])
    }
}

impl From<AppError> for ServiceError {
    fn from(error: AppError) -> Self {
        ServiceError::App(error)
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(error: sea_orm::DbErr) -> Self {
        ServiceError::App(error.into())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Turns a service outcome into a payload: user errors become data, the rest
/// becomes a top-level error with its code.
pub fn into_payload<T, P>(
    outcome: ServiceResult<T>,
    ok: impl FnOnce(T) -> P,
    failed: impl FnOnce(Vec<UserError>) -> P,
) -> async_graphql::Result<P> {
    match outcome {
        Ok(value) => Ok(ok(value)),
        Err(ServiceError::User(errors)) => Ok(failed(errors)),
        Err(ServiceError::App(error)) => Err(error.extend()),
    }
}

/// Which unique index a violation hit, from the driver's message (the index
/// names are ours: see the migrations). Used to turn a lost race into TAKEN.
pub fn unique_violation(error: &sea_orm::DbErr) -> Option<String> {
    match error.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(message)) => Some(message),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_messages_say_minutes_when_it_is_minutes() {
        let message = |secs| AppError::RateLimited { retry_after_secs: secs }.to_string();
        assert_eq!(message(899), "Too many attempts; try again in 15 minutes.");
        assert_eq!(message(900), "Too many attempts; try again in 15 minutes.");
        assert_eq!(message(60), "Too many attempts; try again in 1 minute.");
        assert_eq!(message(61), "Too many attempts; try again in 2 minutes.");
        assert_eq!(message(40), "Too many attempts; try again in 40 seconds.");
        assert_eq!(message(1), "Too many attempts; try again in 1 second.");
        assert_eq!(message(7200), "Too many attempts; try again in 120 minutes.");
        assert_eq!(message(86_400), "Too many attempts; try again in 24 hours.");
    }

    #[test]
    fn user_error_codes_print_as_the_schema_spells_them() {
        assert_eq!(UserErrorCode::TooWeak.as_str(), "TOO_WEAK");
        assert_eq!(UserErrorCode::InvalidCredentials.to_string(), "INVALID_CREDENTIALS");
        assert_eq!(UserErrorCode::AlreadyDone.as_str(), "ALREADY_DONE");
    }
}
