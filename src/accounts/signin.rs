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

use crate::entities::enums::{AccountStatus, AssuranceLevel};
use crate::entities::user;
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::mfa::challenge::{self, Answer, IssuedChallenge, Redeemed};
use crate::mfa::passkeys;
use crate::mfa::status;
use crate::ratelimit;
use crate::sessions::service::{self as sessions, IssuedTokens};
use crate::state::AppState;

/// Where a signin comes from, recorded with its session.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// How the user proved who they are before [`complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstFactor {
    /// Their password: one factor.
    Password,
    /// A passkey with user verification: possession and a PIN or biometric, two factors by itself.
    Passkey,
}

impl FirstFactor {
    fn is_two_factors(self) -> bool {
        matches!(self, FirstFactor::Passkey)
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
            return Err(AppError::RateLimited { retry_after_secs: count.retry_after_secs(Utc::now()) });
        }
    }
    Ok(())
}

async fn count_failure(state: &AppState, bucket: &str) -> Result<(), AppError> {
    let window = chrono::Duration::from_std(state.config.limits.signin_lockout_window).unwrap_or(chrono::Duration::minutes(15));
    ratelimit::hit(state, bucket, window).await?;
    Ok(())
}

/// Checks a login and password, then [`complete`]s the signin.
pub async fn signin(state: &AppState, login: &str, password: &str, client: Client) -> ServiceResult<Outcome> {
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
    let matches = state.passwords.verify(password, found.as_ref().map(|u| u.password_hash.as_str())).await?;
    match found {
        Some(user) if matches => complete(state, user, FirstFactor::Password, client).await,
        _ => {
            count_failure(state, &failures).await?;
            Err(invalid_credentials())
        }
    }
}

/// Status is told only to someone who proved who they are.
fn ensure_may_sign_in(user: &user::Model) -> ServiceResult<()> {
    match user.status {
        AccountStatus::Active => Ok(()),
        AccountStatus::Deactivated => Err(ServiceError::one(&[], UserErrorCode::AccountInactive, "This account is deactivated.")),
        AccountStatus::Suspended => Err(ServiceError::one(&[], UserErrorCode::AccountSuspended, "This account is suspended.")),
    }
}

/// The one routine every way of signing in ends in, once it knows who the
/// user is and how they proved it: refuses inactive accounts, asks for a
/// second factor when one is owed, or starts the session. A new way of
/// signing in (e.g. a provider's ID token) calls this with its own
/// [`FirstFactor`] and gets the second factor and the lockout for free.
pub async fn complete(state: &AppState, user: user::Model, first: FirstFactor, client: Client) -> ServiceResult<Outcome> {
    ensure_may_sign_in(&user)?;
    if first.is_two_factors() {
        return start_session(state, user, AssuranceLevel::Aal2, client).await;
    }
    let factors = status::factors_of(&state.db, &user.id).await?.second_factors();
    if factors.is_empty() {
        return start_session(state, user, AssuranceLevel::Aal1, client).await;
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
    client: Client,
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
    match challenge::redeem(state, &live, answer).await? {
        Redeemed::Accepted => {
            let user = user::Entity::find_by_id(live.user_id.clone()).one(&state.db).await?.ok_or_else(invalid_credentials)?;
            ensure_may_sign_in(&user)?;
            start_session(state, user, AssuranceLevel::Aal2, client).await
        }
        Redeemed::Wrong => {
            count_failure(state, &failures).await?;
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

/// A passkey signin: the assertion proves the user, then [`complete`].
pub async fn finish_passkey_signin(state: &AppState, ceremony_id: &str, credential: &Value, client: Client) -> ServiceResult<Outcome> {
    let user = passkeys::verify_signin(state, ceremony_id, credential).await?;
    complete(state, user, FirstFactor::Passkey, client).await
}

/// The one place a signin's session starts: the session at its assurance
/// level, the last login time, and the failure count cleared.
async fn start_session(state: &AppState, user: user::Model, assurance: AssuranceLevel, client: Client) -> ServiceResult<Outcome> {
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let tokens = sessions::start(state, &txn, &user.id, assurance, client.user_agent, client.ip).await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(now))
        .filter(user::Column::Id.eq(user.id.clone()))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    ratelimit::clear(state, &failures_bucket(&user.id)).await?;
    let user = user::Model { last_login_at: Some(now), ..user };
    Ok(Outcome::SignedIn { user: Box::new(user), tokens })
}
