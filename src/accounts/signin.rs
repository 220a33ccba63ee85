//! Signin with a login (email or username) and a password: the per-account
//! lockout, the timing that tells nothing, the session it starts.
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, TransactionTrait};

use crate::db::begin_write;
use crate::entities::enums::AccountStatus;
use crate::entities::security_event::SecurityEventType;
use crate::entities::user;
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::ratelimit;
use crate::sessions::service::{self as sessions, IssuedTokens};
use crate::state::AppState;
use crate::telemetry::metrics::SigninOutcome;
use crate::viewer::RequestMeta;

fn invalid_credentials() -> ServiceError {
    ServiceError::one(&[], UserErrorCode::InvalidCredentials, "Wrong login or password.")
}

/// Counts a failed signin against `bucket` and records it, with the lockout
/// when this failure is the one that reaches the limit (so a lockout is
/// recorded once, not once per refused attempt).
async fn record_failure(state: &AppState, meta: &RequestMeta, user: Option<&user::Model>, bucket: &str) -> Result<(), AppError> {
    let window = chrono::Duration::from_std(state.config.limits.signin_lockout_window).unwrap_or(chrono::Duration::minutes(15));
    let limit = state.config.limits.signin_max_failures;
    let txn = begin_write(&state.db).await?;
    let count = ratelimit::hit_on(&txn, bucket, window).await?;
    let event = |kind| match user {
        Some(user) => Event::new(kind, &user.id),
        None => Event::without_user(kind),
    };
    let reason = if user.is_some() { "wrong password" } else { "unknown login" };
    events::record(&txn, state, meta, event(SecurityEventType::SigninFailed).detail(reason)).await?;
    if count.count == limit {
        let within = match window.num_seconds() {
            seconds if seconds % 60 == 0 => format!("{}m", seconds / 60),
            seconds => format!("{seconds}s"),
        };
        let detail = format!("{limit} failed signins within {within}; {reason}");
        events::record(&txn, state, meta, event(SecurityEventType::AccountLocked).detail(detail)).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Checks a login and password and starts a session.
pub async fn signin(state: &AppState, login: &str, password: &str, meta: &RequestMeta) -> ServiceResult<(user::Model, IssuedTokens)> {
    let outcome = attempt(state, login, password, meta).await;
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

async fn attempt(state: &AppState, login: &str, password: &str, meta: &RequestMeta) -> ServiceResult<(user::Model, IssuedTokens)> {
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
        found => {
            record_failure(state, meta, found.as_ref(), &failures).await?;
            return Err(invalid_credentials());
        }
    };
    ratelimit::clear(state, &failures).await?;
    // Status is told only to someone who knows the password.
    let refused = match user.status {
        AccountStatus::Active => None,
        AccountStatus::Deactivated => Some((UserErrorCode::AccountInactive, "This account is deactivated.", "account deactivated")),
        AccountStatus::Suspended => Some((UserErrorCode::AccountSuspended, "This account is suspended.", "account suspended")),
    };
    if let Some((code, message, detail)) = refused {
        let txn = state.db.begin().await?;
        events::record(&txn, state, meta, Event::new(SecurityEventType::SigninFailed, &user.id).detail(detail)).await?;
        txn.commit().await?;
        return Err(ServiceError::one(&[], code, message));
    }
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let tokens = sessions::start(state, &txn, &user.id, meta.user_agent.clone(), meta.ip.clone()).await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id.clone()))
        .exec(&txn)
        .await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::Signin, &user.id)).await?;
    txn.commit().await?;
    let user = user::Model { last_login_at: Some(now), ..user };
    Ok((user, tokens))
}
