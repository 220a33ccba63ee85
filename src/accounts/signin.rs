//! Signin with a login (email or username) and a password: the per-account
//! lockout, the timing that tells nothing, the session it starts.
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, TransactionTrait};

use crate::entities::enums::AccountStatus;
use crate::entities::user;
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::ratelimit;
use crate::sessions::service::{self as sessions, IssuedTokens};
use crate::state::AppState;
use crate::telemetry::metrics::SigninOutcome;

fn invalid_credentials() -> ServiceError {
    ServiceError::one(&[], UserErrorCode::InvalidCredentials, "Wrong login or password.")
}

/// Checks a login and password and starts a session.
pub async fn signin(
    state: &AppState,
    login: &str,
    password: &str,
    user_agent: Option<String>,
    ip: Option<String>,
) -> ServiceResult<(user::Model, IssuedTokens)> {
    let outcome = attempt(state, login, password, user_agent, ip).await;
    let counted = match &outcome {
        Ok(_) => Some(SigninOutcome::Success),
        Err(ServiceError::App(AppError::RateLimited { .. })) => Some(SigninOutcome::Locked),
        Err(ServiceError::User(errors)) => errors.first().map(|e| match e.code {
            UserErrorCode::AccountInactive => SigninOutcome::Inactive,
            UserErrorCode::AccountSuspended => SigninOutcome::Suspended,
            _ => SigninOutcome::InvalidCredentials,
        }),
        Err(ServiceError::App(_)) => None,
    };
    if let Some(counted) = counted {
        state.metrics.signin(counted);
    }
    outcome
}

async fn attempt(
    state: &AppState,
    login: &str,
    password: &str,
    user_agent: Option<String>,
    ip: Option<String>,
) -> ServiceResult<(user::Model, IssuedTokens)> {
    let login = login.trim().to_lowercase();
    let found = if login.is_empty() {
        None
    } else {
        user::Entity::find()
            .filter(Condition::any().add(user::Column::EmailLower.eq(login.clone())).add(user::Column::UsernameLower.eq(login.clone())))
            .one(&state.db)
            .await?
    };
    // Failures count per account (per login when there is none, which looks
    // the same from outside). Past the limit even the right password is
    // refused until the window passes.
    let failures = format!("signin-failures:{}", found.as_ref().map(|u| u.id.as_str()).unwrap_or(login.as_str()));
    if let Some(count) = ratelimit::peek(state, &failures).await? {
        if count.count >= state.config.limits.signin_max_failures {
            state.metrics.rate_limited(ratelimit::KIND_SIGNIN_LOCKOUT);
            return Err(AppError::RateLimited { retry_after_secs: count.retry_after_secs(Utc::now()) }.into());
        }
    }
    // Always verify, against a dummy hash when there is no account, so that
    // the answer's timing does not tell which logins exist.
    let matches = state.passwords.verify(password, found.as_ref().map(|u| u.password_hash.as_str())).await?;
    let user = match found {
        Some(user) if matches => user,
        _ => {
            let window = chrono::Duration::from_std(state.config.limits.signin_lockout_window).unwrap_or(chrono::Duration::minutes(15));
            ratelimit::hit(state, &failures, window).await?;
            return Err(invalid_credentials());
        }
    };
    ratelimit::clear(state, &failures).await?;
    // Status is told only to someone who knows the password.
    match user.status {
        AccountStatus::Active => {}
        AccountStatus::Deactivated => return Err(ServiceError::one(&[], UserErrorCode::AccountInactive, "This account is deactivated.")),
        AccountStatus::Suspended => return Err(ServiceError::one(&[], UserErrorCode::AccountSuspended, "This account is suspended.")),
    }
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let tokens = sessions::start(state, &txn, &user.id, user_agent, ip).await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id.clone()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let user = user::Model { last_login_at: Some(now), ..user };
    Ok((user, tokens))
}
