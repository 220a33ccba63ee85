//! Mail-driven account flows: email confirmation, password reset, password
//! change, and the mails they send. Every mail is queued in the same
//! transaction as the change that causes it.
//!
//! `resendConfirmationEmail` and `requestPasswordReset` must not tell which
//! addresses have accounts. Their resolvers answer `success: true` at once
//! and the account-dependent work (lookup, token, mail) runs in the
//! background afterwards, so the answer and its timing are the same whether
//! or not the address is known.
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait};

use crate::accounts::email_tokens::{self, Found, Purpose};
use crate::accounts::password;
use crate::entities::enums::AccountStatus;
use crate::entities::security_event::SecurityEventType;
use crate::entities::{email_token, session, user};
use crate::error::{AppError, Problems, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::mail::outbox;
use crate::mail::templates::{self, PasswordChange, CONFIRM_EMAIL_PATH, RESET_PASSWORD_PATH};
use crate::ratelimit;
use crate::sessions::service as sessions;
use crate::state::AppState;
use crate::viewer::{RequestMeta, Viewer};
use crate::webhooks::service::Webhook;

/// Whether another mail may go to this address now: at most
/// MAIL_PER_ADDRESS_PER_MINUTE (one) a minute and MAIL_PER_ADDRESS_PER_HOUR an hour, counted in the database so every
/// instance shares the budget. Call it before opening the transaction that
/// would queue the mail. Past the budget the caller answers as usual and
/// sends nothing.
pub async fn mail_allowed(state: &AppState, address: &str) -> Result<bool, AppError> {
    let address = address.trim().to_lowercase();
    let minute = ratelimit::hit(state, &format!("mail-minute:{address}"), chrono::Duration::minutes(1)).await?;
    if minute.count > state.config.limits.mail_per_address_per_minute {
        state.metrics.rate_limited(ratelimit::KIND_MAIL_PER_ADDRESS);
        tracing::info!("mail to an address asked for again within a minute: not sent");
        return Ok(false);
    }
    let hour = ratelimit::hit(state, &format!("mail-hour:{address}"), chrono::Duration::hours(1)).await?;
    if hour.count > state.config.limits.mail_per_address_per_hour {
        state.metrics.rate_limited(ratelimit::KIND_MAIL_PER_ADDRESS);
        tracing::info!("hourly mail budget of an address spent: not sent");
        return Ok(false);
    }
    Ok(true)
}

/// Queues a confirmation mail, with a fresh token, to the user's current
/// address; earlier confirmation links stop working. Call it inside the
/// transaction that created the account or changed its email, and
/// `state.mail_queued()` after the commit.
pub async fn queue_email_confirmation<C: ConnectionTrait>(db: &C, state: &AppState, user: &user::Model) -> Result<(), AppError> {
    let lifetime = state.config.mail.email_confirmation_ttl;
    let token = email_tokens::issue(db, &user.id, Purpose::ConfirmEmail, &user.email, lifetime).await?;
    let link = templates::link(&state.config.server.app_url(), CONFIRM_EMAIL_PATH, &token);
    let mail = templates::email_confirmation(templates::greeting_name(user), &link, lifetime);
    outbox::enqueue(db, Some(&user.id), &user.email, mail).await
}

async fn queue_password_reset<C: ConnectionTrait>(db: &C, state: &AppState, user: &user::Model) -> Result<(), AppError> {
    let lifetime = state.config.mail.password_reset_ttl;
    let token = email_tokens::issue(db, &user.id, Purpose::ResetPassword, &user.email, lifetime).await?;
    let link = templates::link(&state.config.server.app_url(), RESET_PASSWORD_PATH, &token);
    let mail = templates::password_reset(templates::greeting_name(user), &link, lifetime);
    outbox::enqueue(db, Some(&user.id), &user.email, mail).await
}

async fn queue_password_changed<C: ConnectionTrait>(
    db: &C,
    state: &AppState,
    user: &user::Model,
    how: PasswordChange,
) -> Result<(), AppError> {
    let mail = templates::password_changed(templates::greeting_name(user), how, Utc::now(), &state.config.server.app_url());
    outbox::enqueue(db, Some(&user.id), &user.email, mail).await
}

fn invalid_confirmation() -> ServiceError {
    ServiceError::one(&["token"], UserErrorCode::InvalidToken, "This confirmation link is not valid any more: ask for a new one.")
}

fn already_confirmed() -> ServiceError {
    ServiceError::one(&["token"], UserErrorCode::AlreadyDone, "This email address is already confirmed.")
}

/// Confirms the address a confirmation token was mailed to, if it is still
/// the account's address.
pub async fn confirm_email(state: &AppState, presented: &str, meta: &RequestMeta) -> ServiceResult<user::Model> {
    let (token, used) = match email_tokens::find(&state.db, presented, Purpose::ConfirmEmail).await? {
        Found::Live(token) => (token, false),
        Found::Used(token) => (token, true),
        Found::Invalid => return Err(invalid_confirmation()),
    };
    let Some(user) = user::Entity::find_by_id(token.user_id.clone()).one(&state.db).await? else {
        return Err(invalid_confirmation());
    };
    let address = token.email.to_lowercase();
    // A link to an address the account no longer has confirms nothing.
    if user.email_lower != address {
        return Err(invalid_confirmation());
    }
    if user.email_confirmed {
        return Err(already_confirmed());
    }
    if used {
        return Err(invalid_confirmation());
    }
    let now = Utc::now();
    let txn = state.db.begin().await?;
    if !email_tokens::spend(&txn, &token.token_hash).await? {
        txn.rollback().await?;
        // Another request spent it first: it is confirming this address.
        let confirmed = user::Entity::find_by_id(user.id.clone()).one(&state.db).await?.is_some_and(|u| u.email_confirmed);
        return Err(if confirmed { already_confirmed() } else { invalid_confirmation() });
    }
    let updated = user::Entity::update_many()
        .col_expr(user::Column::EmailConfirmed, Expr::value(true))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id.clone()))
        .filter(user::Column::EmailLower.eq(address))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        // The address changed a moment ago.
        txn.rollback().await?;
        return Err(invalid_confirmation());
    }
    let user = user::Model { email_confirmed: true, updated_at: now, ..user };
    let event = Event::new(SecurityEventType::EmailConfirmed, &user.id).webhook(Webhook::EmailConfirmed(&user));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    Ok(user)
}

/// The ACTIVE account with this address, if any.
async fn active_account(state: &AppState, email: &str) -> Result<Option<user::Model>, AppError> {
    let email = email.trim().to_lowercase();
    Ok(user::Entity::find()
        .filter(user::Column::EmailLower.eq(email))
        .filter(user::Column::Status.eq(AccountStatus::Active))
        .one(&state.db)
        .await?)
}

/// Starts, in the background, a new confirmation mail for an ACTIVE account
/// with this unconfirmed address; nothing for any other address.
pub fn resend_confirmation(state: &AppState, email: &str) {
    let (task_state, email) = (state.clone(), email.to_owned());
    state.spawn_background(async move {
        if let Err(error) = resend_confirmation_now(&task_state, &email).await {
            tracing::error!(error = ?error, "resendConfirmationEmail failed");
        }
    });
}

async fn resend_confirmation_now(state: &AppState, email: &str) -> Result<(), AppError> {
    if !mail_allowed(state, email).await? {
        return Ok(());
    }
    let Some(user) = active_account(state, email).await?.filter(|u| !u.email_confirmed) else {
        return Ok(());
    };
    let txn = state.db.begin().await?;
    queue_email_confirmation(&txn, state, &user).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(())
}

/// Starts, in the background, a reset mail for an ACTIVE account with this
/// address; nothing for any other address (deactivated and suspended
/// accounts included).
pub fn request_password_reset(state: &AppState, email: &str, meta: RequestMeta) {
    let (task_state, email) = (state.clone(), email.to_owned());
    state.spawn_background(async move {
        if let Err(error) = request_password_reset_now(&task_state, &email, &meta).await {
            tracing::error!(error = ?error, "requestPasswordReset failed");
        }
    });
}

async fn request_password_reset_now(state: &AppState, email: &str, meta: &RequestMeta) -> Result<(), AppError> {
    if !mail_allowed(state, email).await? {
        return Ok(());
    }
    let Some(user) = active_account(state, email).await? else {
        return Ok(());
    };
    let txn = state.db.begin().await?;
    queue_password_reset(&txn, state, &user).await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::PasswordResetRequested, &user.id)).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(())
}

/// A reset token that can still set a password, with its account: unused,
/// unexpired, of an ACTIVE account whose address is still the one the link
/// was mailed to.
async fn live_reset_token(state: &AppState, presented: &str) -> Result<Option<(email_token::Model, user::Model)>, AppError> {
    let Found::Live(token) = email_tokens::find(&state.db, presented, Purpose::ResetPassword).await? else {
        return Ok(None);
    };
    let user =
        user::Entity::find_by_id(token.user_id.clone()).filter(user::Column::Status.eq(AccountStatus::Active)).one(&state.db).await?;
    Ok(user.filter(|u| u.email_lower == token.email.to_lowercase()).map(|u| (token, u)))
}

/// `passwordResetTokenValid`: true only for a live reset token.
pub async fn reset_token_valid(state: &AppState, presented: &str) -> Result<bool, AppError> {
    Ok(live_reset_token(state, presented).await?.is_some())
}

const INVALID_RESET: &str = "This password-reset link is not valid any more: ask for a new one.";

/// Sets a new password with a reset token, spends the token, ends every
/// session of the user and mails them a notice.
pub async fn reset_password(state: &AppState, presented: &str, new_password: &str, meta: &RequestMeta) -> ServiceResult<()> {
    let live = live_reset_token(state, presented).await?;
    let mut problems = Problems::default();
    if live.is_none() {
        problems.add(&["input", "token"], UserErrorCode::InvalidToken, INVALID_RESET);
    }
    let (email, username) = live.as_ref().map(|(_, u)| (Some(u.email.as_str()), u.username.as_deref())).unwrap_or((None, None));
    if let Err((code, message)) = password::check_rules(new_password, email, username) {
        problems.add(&["input", "newPassword"], code, message);
    }
    problems.check()?;
    let (token, user) = live.expect("no problems means the token is live");
    let hash = state.passwords.hash(new_password).await?;
    let txn = state.db.begin().await?;
    if !email_tokens::spend(&txn, &token.token_hash).await? {
        txn.rollback().await?;
        return Err(ServiceError::one(&["input", "token"], UserErrorCode::InvalidToken, INVALID_RESET));
    }
    set_password_hash(&txn, &user.id, hash).await?;
    let revoked = sessions::revoke_all(&txn, &user.id, None).await?;
    queue_password_changed(&txn, state, &user, PasswordChange::Reset).await?;
    let event = Event::new(SecurityEventType::PasswordReset, &user.id)
        .detail(format!("every session ended ({revoked})"))
        .webhook(Webhook::PasswordChanged(&user))
        .webhook(Webhook::SessionsRevokedAll(&user));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(())
}

/// Changes the viewer's password after checking the current one; every other
/// session ends, this one stays; outstanding reset links stop working; a
/// notice is mailed.
pub async fn change_password(
    state: &AppState,
    viewer: &Viewer,
    current: &str,
    new_password: &str,
    meta: &RequestMeta,
) -> ServiceResult<()> {
    let user = user::Entity::find_by_id(viewer.user_id.clone()).one(&state.db).await?.ok_or(AppError::Unauthenticated)?;
    let Some(current_hash) = user.password_hash.as_deref() else {
        return Err(no_password_yet(&["input", "currentPassword"]));
    };
    let mut problems = Problems::default();
    if !state.passwords.verify(current, Some(current_hash)).await? {
        problems.add(&["input", "currentPassword"], UserErrorCode::InvalidCredentials, "This is not your current password.");
    }
    if let Err((code, message)) = password::check_rules(new_password, Some(&user.email), user.username.as_deref()) {
        problems.add(&["input", "newPassword"], code, message);
    }
    problems.check()?;
    let hash = state.passwords.hash(new_password).await?;
    let txn = state.db.begin().await?;
    set_password_hash(&txn, &user.id, hash).await?;
    let revoked = sessions::revoke_all(&txn, &user.id, Some(&viewer.session_id)).await?;
    email_tokens::revoke(&txn, &user.id, Purpose::ResetPassword).await?;
    queue_password_changed(&txn, state, &user, PasswordChange::Changed).await?;
    let event = Event::new(SecurityEventType::PasswordChanged, &user.id)
        .detail(format!("other sessions ended ({revoked})"))
        .webhook(Webhook::PasswordChanged(&user));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(())
}

/// How recent the signin must be for setPassword: a password outlives any
/// session, so a stolen token alone must not be enough to set one.
pub const SET_PASSWORD_WITHIN: chrono::Duration = chrono::Duration::minutes(10);

/// Gives an account made through a provider a password. Only within
/// SET_PASSWORD_WITHIN of the session's signin; accounts that have a
/// password change it with changePassword. A notice is mailed.
pub async fn set_password(state: &AppState, viewer: &Viewer, new_password: &str, meta: &RequestMeta) -> ServiceResult<user::Model> {
    let user = user::Entity::find_by_id(viewer.user_id.clone()).one(&state.db).await?.ok_or(AppError::Unauthenticated)?;
    if user.password_hash.is_some() {
        return Err(ServiceError::one(
            &["password"],
            UserErrorCode::NotAllowed,
            "This account has a password already: change it with changePassword.",
        ));
    }
    let started = session::Entity::find_by_id(viewer.session_id.clone()).one(&state.db).await?.ok_or(AppError::Unauthenticated)?.created_at;
    if started < Utc::now() - SET_PASSWORD_WITHIN {
        return Err(ServiceError::one(
            &[],
            UserErrorCode::NotAllowed,
            "Sign in with your provider again: a password can be set within 10 minutes of a signin.",
        ));
    }
    if let Err((code, message)) = password::check_rules(new_password, Some(&user.email), user.username.as_deref()) {
        return Err(ServiceError::one(&["password"], code, message));
    }
    let hash = state.passwords.hash(new_password).await?;
    let txn = state.db.begin().await?;
    // Only while it still has none: two concurrent calls set one password.
    let set = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash.clone()))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user.id.clone()))
        .filter(user::Column::PasswordHash.is_null())
        .exec(&txn)
        .await?;
    if set.rows_affected != 1 {
        txn.rollback().await?;
        return Err(ServiceError::one(
            &["password"],
            UserErrorCode::NotAllowed,
            "This account has a password already: change it with changePassword.",
        ));
    }
    queue_password_changed(&txn, state, &user, PasswordChange::Changed).await?;
    let event = Event::new(SecurityEventType::PasswordChanged, &user.id)
        .detail("password set (the account had none)")
        .webhook(Webhook::PasswordChanged(&user));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(user::Model { password_hash: Some(hash), ..user })
}

/// What an account made through a provider hears when asked for a password it never had.
pub fn no_password_yet(field: &[&str]) -> ServiceError {
    ServiceError::one(
        field,
        UserErrorCode::NotAllowed,
        "This account has no password yet (it signs in through a provider): set one with setPassword first.",
    )
}

async fn set_password_hash<C: ConnectionTrait>(db: &C, user_id: &str, hash: String) -> Result<(), AppError> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
