//! Signing in, every way: the per-account lockout, the timing that tells
//! nothing, the second factor, the session it starts.
//!
//! Each way of signing in first settles "who is this, and did they prove
//! it" (a password, a passkey; later a provider's ID token) and then hands
//! the user to [`complete`], the one routine that decides what follows:
//! - a refused account status (deactivated, suspended) is reported;
//! - a first factor that is strong by itself (a passkey) starts an AAL2
//!   session;
//! - otherwise an account with a second factor (TOTP, a passkey) gets an
//!   MFA challenge instead of tokens, to finish with [`verify_mfa`] (or a
//!   passkey signin);
//! - otherwise an AAL1 session starts.
//!
//! Lockout: failures count per account in `signin-failures:<user id>`
//! (SIGNIN_MAX_FAILURES within SIGNIN_LOCKOUT_WINDOW). Wrong passwords and
//! wrong second-factor codes both count; a right password does not clear
//! the count while a second factor is owed. Only a whole signin (a session
//! started) clears it, so guessing codes across fresh challenges locks the
//! account like guessing passwords. Passkey signins are not refused by the
//! lockout: there is nothing to guess, and they clear it.
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, TransactionTrait};
use serde_json::Value;

use crate::db::begin_write;
use crate::entities::enums::{AccountStatus, AssuranceLevel};
use crate::entities::security_event::SecurityEventType;
use crate::entities::user;
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::mfa::challenge::{self, Answer, IssuedChallenge, Redeemed};
use crate::mfa::passkeys;
use crate::mfa::status;
use crate::ratelimit;
use crate::sessions::service::{self as sessions, IssuedTokens};
use crate::state::AppState;
use crate::telemetry::metrics::SigninOutcome;
use crate::viewer::RequestMeta;

/// How the user proved who they are before [`complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstFactor<'a> {
    /// Their password: one factor.
    Password,
    /// A passkey with user verification: possession and a PIN or biometric, two factors by itself.
    Passkey,
    /// An ID token from the named OpenID Connect provider: one factor (however
    /// the provider checked the person, Tessera cannot tell).
    Provider(&'a str),
}

impl FirstFactor<'_> {
    fn is_two_factors(self) -> bool {
        matches!(self, FirstFactor::Passkey)
    }

    /// How the signin is described in the security history.
    fn describe(self) -> String {
        match self {
            FirstFactor::Password => "password".into(),
            FirstFactor::Passkey => "passkey".into(),
            FirstFactor::Provider(name) => format!("provider {name}"),
        }
    }
}

/// What a signin ends in.
pub enum Outcome {
    /// A session started.
    SignedIn { user: Box<user::Model>, tokens: IssuedTokens },
    /// The first factor was right; the session waits for a second one.
    SecondFactorOwed(IssuedChallenge),
}

fn invalid_credentials() -> ServiceError {
    ServiceError::one(&[], UserErrorCode::InvalidCredentials, "Wrong login or password.")
}

fn failures_bucket(key: &str) -> String {
    format!("signin-failures:{key}")
}

/// Past SIGNIN_MAX_FAILURES every attempt on the account is refused until the window passes.
async fn refuse_when_locked(state: &AppState, bucket: &str) -> Result<(), AppError> {
    if let Some(count) = ratelimit::peek(state, bucket).await? {
        if count.count >= state.config.limits.signin_max_failures {
            state.metrics.rate_limited(ratelimit::KIND_SIGNIN_LOCKOUT);
            return Err(AppError::RateLimited { retry_after_secs: count.retry_after_secs(Utc::now()) });
        }
    }
    Ok(())
}

/// Counts a failed signin against `bucket` and records it, with the lockout
/// when this failure is the one that reaches the limit (so a lockout is
/// recorded once, not once per refused attempt).
async fn record_failure(state: &AppState, meta: &RequestMeta, user_id: Option<&str>, bucket: &str, reason: &str) -> Result<(), AppError> {
    let window = chrono::Duration::from_std(state.config.limits.signin_lockout_window).unwrap_or(chrono::Duration::minutes(15));
    let limit = state.config.limits.signin_max_failures;
    let txn = begin_write(&state.db).await?;
    let count = ratelimit::hit_on(&txn, bucket, window).await?;
    let event = |kind| match user_id {
        Some(id) => Event::new(kind, id),
        None => Event::without_user(kind),
    };
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

/// Counts what a signin step ended in, for the `signins_total` metric.
fn counted(state: &AppState, outcome: ServiceResult<Outcome>) -> ServiceResult<Outcome> {
    let counted = match &outcome {
        Ok(Outcome::SignedIn { .. }) => Some(SigninOutcome::Success),
        Ok(Outcome::SecondFactorOwed(_)) => Some(SigninOutcome::SecondFactorOwed),
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

/// Checks a login and password, then [`complete`]s the signin.
pub async fn signin(state: &AppState, login: &str, password: &str, meta: &RequestMeta) -> ServiceResult<Outcome> {
    counted(state, password_signin(state, login, password, meta).await)
}

async fn password_signin(state: &AppState, login: &str, password: &str, meta: &RequestMeta) -> ServiceResult<Outcome> {
    let login = login.trim().to_lowercase();
    let found = if login.is_empty() {
        None
    } else {
        user::Entity::find()
            .filter(Condition::any().add(user::Column::EmailLower.eq(login.clone())).add(user::Column::UsernameLower.eq(login.clone())))
            .one(&state.db)
            .await?
    };
    // Per account (per login when there is none, which looks the same from outside).
    let failures = failures_bucket(found.as_ref().map(|u| u.id.as_str()).unwrap_or(login.as_str()));
    refuse_when_locked(state, &failures).await?;
    // Always verify, against a dummy hash when there is no account, so that
    // the answer's timing does not tell which logins exist.
    let matches = state.passwords.verify(password, found.as_ref().and_then(|u| u.password_hash.as_deref())).await?;
    match found {
        Some(user) if matches => complete(state, user, FirstFactor::Password, meta).await,
        found => {
            let reason = if found.is_some() { "wrong password" } else { "unknown login" };
            record_failure(state, meta, found.as_ref().map(|u| u.id.as_str()), &failures, reason).await?;
            Err(invalid_credentials())
        }
    }
}

/// Status is told only to someone who proved who they are; the refusal is
/// in the user's security history.
async fn ensure_may_sign_in(state: &AppState, user: &user::Model, meta: &RequestMeta) -> ServiceResult<()> {
    let (code, message, detail) = match user.status {
        AccountStatus::Active => return Ok(()),
        AccountStatus::Deactivated => (UserErrorCode::AccountInactive, "This account is deactivated.", "account deactivated"),
        AccountStatus::Suspended => (UserErrorCode::AccountSuspended, "This account is suspended.", "account suspended"),
    };
    let txn = state.db.begin().await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::SigninFailed, &user.id).detail(detail)).await?;
    txn.commit().await?;
    Err(ServiceError::one(&[], code, message))
}

/// The one routine every way of signing in ends in, once it knows who the
/// user is and how they proved it: refuses inactive accounts, asks for a
/// second factor when one is owed, or starts the session. A new way of
/// signing in (e.g. a provider's ID token) calls this with its own
/// [`FirstFactor`] and gets the second factor and the lockout for free.
pub async fn complete(state: &AppState, user: user::Model, first: FirstFactor<'_>, meta: &RequestMeta) -> ServiceResult<Outcome> {
    ensure_may_sign_in(state, &user, meta).await?;
    if first.is_two_factors() {
        return start_session(state, user, AssuranceLevel::Aal2, &first.describe(), meta).await;
    }
    let factors = status::factors_of(&state.db, &user.id).await?.second_factors();
    if factors.is_empty() {
        return start_session(state, user, AssuranceLevel::Aal1, &first.describe(), meta).await;
    }
    // The failure count stays: only a whole signin clears it.
    Ok(Outcome::SecondFactorOwed(challenge::issue(state, &user.id, factors).await?))
}

/// The second step of a signin that answered an MFA challenge: a TOTP code
/// or a recovery code starts an AAL2 session. Wrong codes count toward the
/// account's lockout and against the challenge (5 and it dies).
pub async fn verify_mfa(
    state: &AppState,
    challenge_token: &str,
    code: Option<&str>,
    recovery_code: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<Outcome> {
    counted(state, second_step(state, challenge_token, code, recovery_code, meta).await)
}

async fn second_step(
    state: &AppState,
    challenge_token: &str,
    code: Option<&str>,
    recovery_code: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<Outcome> {
    let answer = match (code, recovery_code) {
        (Some(code), None) => Answer::Code(code),
        (None, Some(recovery_code)) => Answer::RecoveryCode(recovery_code),
        (None, None) => {
            return Err(ServiceError::one(&["input", "code"], UserErrorCode::Required, "Give the code from your app, or a recovery code."))
        }
        (Some(_), Some(_)) => {
            return Err(ServiceError::one(&[], UserErrorCode::Invalid, "Give either a code or a recovery code, not both."));
        }
    };
    let Some(live) = challenge::find_live(state, challenge_token).await? else {
        return Err(ServiceError::one(
            &["input", "challengeToken"],
            UserErrorCode::InvalidCode,
            "This signin expired or was already finished: sign in again.",
        ));
    };
    let failures = failures_bucket(&live.user_id);
    refuse_when_locked(state, &failures).await?;
    match challenge::redeem(state, &live, answer, meta).await? {
        Redeemed::Accepted => {
            let user = user::Entity::find_by_id(live.user_id.clone()).one(&state.db).await?.ok_or_else(invalid_credentials)?;
            ensure_may_sign_in(state, &user, meta).await?;
            let how = match answer {
                Answer::Code(_) => "password and authenticator code",
                Answer::RecoveryCode(_) => "password and recovery code",
            };
            start_session(state, user, AssuranceLevel::Aal2, how, meta).await
        }
        Redeemed::Wrong => {
            let reason = match answer {
                Answer::Code(_) => "wrong authenticator code",
                Answer::RecoveryCode(_) => "wrong recovery code",
            };
            record_failure(state, meta, Some(&live.user_id), &failures, reason).await?;
            let (field, message) = match answer {
                Answer::Code(_) => ("code", "This code is wrong, used or expired: enter the code your app shows now."),
                Answer::RecoveryCode(_) => ("recoveryCode", "This recovery code is wrong or was used before."),
            };
            Err(ServiceError::one(&["input", field], UserErrorCode::InvalidCode, message))
        }
        Redeemed::Gone => Err(ServiceError::one(
            &["input", "challengeToken"],
            UserErrorCode::InvalidCode,
            "This signin expired or was already finished: sign in again.",
        )),
    }
}

/// A signin through a provider: `prove` checks the ID token and finds or
/// makes the account (identities), then [`complete`]; counted like any signin.
pub async fn provider_signin<F>(state: &AppState, provider: &str, prove: F, meta: &RequestMeta) -> ServiceResult<Outcome>
where
    F: std::future::Future<Output = ServiceResult<user::Model>>,
{
    let signed_in = async {
        let user = prove.await?;
        complete(state, user, FirstFactor::Provider(provider), meta).await
    };
    counted(state, signed_in.await)
}

/// A passkey signin: the assertion proves the user, then [`complete`].
pub async fn finish_passkey_signin(state: &AppState, ceremony_id: &str, credential: &Value, meta: &RequestMeta) -> ServiceResult<Outcome> {
    let signed_in = async {
        let user = passkeys::verify_signin(state, ceremony_id, credential).await?;
        complete(state, user, FirstFactor::Passkey, meta).await
    };
    counted(state, signed_in.await)
}

/// The one place a signin's session starts: the session at its assurance
/// level, the last login time and its record, and the failure count cleared.
async fn start_session(
    state: &AppState,
    user: user::Model,
    assurance: AssuranceLevel,
    how: &str,
    meta: &RequestMeta,
) -> ServiceResult<Outcome> {
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let tokens = sessions::start(state, &txn, &user.id, assurance, meta.user_agent.clone(), meta.ip.clone()).await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id.clone()))
        .exec(&txn)
        .await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::Signin, &user.id).detail(how)).await?;
    txn.commit().await?;
    ratelimit::clear(state, &failures_bucket(&user.id)).await?;
    let user = user::Model { last_login_at: Some(now), ..user };
    Ok(Outcome::SignedIn { user: Box::new(user), tokens })
}
