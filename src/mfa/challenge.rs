//! The challenge a signin answers while a second factor is owed: a random
//! 256-bit token (stored as its SHA-256), good for 5 minutes, for one
//! successful code, and dead after 5 wrong ones. `accounts::signin` issues
//! it and counts wrong codes toward the account's lockout; this file keeps
//! the rows and checks the codes.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::db::begin_write;
use crate::entities::security_event::SecurityEventType;
use crate::entities::{mfa_challenge, user};
use crate::error::AppError;
use crate::events::service::{self as events, Event};
use crate::mail::outbox;
use crate::mail::templates;
use crate::mfa::status::SecondFactor;
use crate::mfa::{recovery_codes, totp};
use crate::security::secrets::{random_token, token_hash};
use crate::state::AppState;
use crate::viewer::RequestMeta;

/// How long a challenge can be answered.
pub const LIFETIME: Duration = Duration::minutes(5);
/// Wrong codes a challenge takes before it dies.
pub const MAX_WRONG_CODES: i32 = 5;

/// A challenge as the client gets it: the token is shown once.
pub struct IssuedChallenge {
    pub token: String,
    pub factors: Vec<SecondFactor>,
    pub expires_at: DateTime<Utc>,
}

/// What the client offers against a challenge.
#[derive(Clone, Copy)]
pub enum Answer<'a> {
    /// A code from the authenticator app.
    Code(&'a str),
    /// One of the recovery codes.
    RecoveryCode(&'a str),
}

/// How an answer went.
pub enum Redeemed {
    /// Right: the challenge is spent and so is the code.
    Accepted,
    /// Wrong (or already used); counted against the challenge.
    Wrong,
    /// Another request finished or killed the challenge meanwhile.
    Gone,
}

/// A new challenge for a user whose first factor was right.
pub async fn issue(state: &AppState, user_id: &str, factors: Vec<SecondFactor>) -> Result<IssuedChallenge, AppError> {
    let token = random_token();
    let now = Utc::now();
    let expires_at = now + LIFETIME;
    let row = mfa_challenge::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user_id.to_owned()),
        failures: Set(0),
        created_at: Set(now),
        expires_at: Set(expires_at),
    };
    mfa_challenge::Entity::insert(row).exec_without_returning(&state.db).await?;
    Ok(IssuedChallenge { token, factors, expires_at })
}

/// The live challenge with this token, if any.
pub async fn find_live(state: &AppState, token: &str) -> Result<Option<mfa_challenge::Model>, AppError> {
    if token.len() > 128 {
        return Ok(None);
    }
    Ok(mfa_challenge::Entity::find_by_id(token_hash(token.trim()))
        .filter(mfa_challenge::Column::ExpiresAt.gt(Utc::now()))
        .filter(mfa_challenge::Column::Failures.lt(MAX_WRONG_CODES))
        .one(&state.db)
        .await?)
}

/// Checks an answer. A right one spends the challenge and the code in one
/// transaction (and queues the notice when a recovery code was used); a
/// wrong one counts against the challenge.
pub async fn redeem(
    state: &AppState,
    challenge: &mfa_challenge::Model,
    answer: Answer<'_>,
    meta: &RequestMeta,
) -> Result<Redeemed, AppError> {
    let user_id = challenge.user_id.as_str();
    let txn = begin_write(&state.db).await?;
    let spent = mfa_challenge::Entity::delete_many()
        .filter(mfa_challenge::Column::TokenHash.eq(challenge.token_hash.clone()))
        .filter(mfa_challenge::Column::ExpiresAt.gt(Utc::now()))
        .filter(mfa_challenge::Column::Failures.lt(MAX_WRONG_CODES))
        .exec(&txn)
        .await?;
    if spent.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(Redeemed::Gone);
    }
    let (right, mailed) = match answer {
        Answer::Code(code) => (totp::redeem_code(&txn, state, user_id, code).await?, false),
        Answer::RecoveryCode(code) => match recovery_codes::redeem(&txn, user_id, code).await? {
            Some(left) => {
                let used = Event::new(SecurityEventType::RecoveryCodeUsed, user_id).detail(format!("{left} left"));
                events::record(&txn, state, meta, used).await?;
                if let Some(user) = user::Entity::find_by_id(user_id).one(&txn).await? {
                    let mail =
                        templates::recovery_code_used(templates::greeting_name(&user), left, Utc::now(), &state.config.server.app_url());
                    outbox::enqueue(&txn, Some(&user.id), &user.email, mail).await?;
                }
                (true, true)
            }
            None => (false, false),
        },
    };
    if !right {
        txn.rollback().await?;
        count_wrong(&state.db, &challenge.token_hash).await?;
        return Ok(Redeemed::Wrong);
    }
    txn.commit().await?;
    if mailed {
        state.mail_queued();
    }
    Ok(Redeemed::Accepted)
}

/// One more wrong code against a challenge; the fifth kills it.
async fn count_wrong<C: ConnectionTrait>(db: &C, hash: &str) -> Result<(), AppError> {
    mfa_challenge::Entity::update_many()
        .col_expr(mfa_challenge::Column::Failures, Expr::col(mfa_challenge::Column::Failures).add(1))
        .filter(mfa_challenge::Column::TokenHash.eq(hash))
        .exec(db)
        .await?;
    mfa_challenge::Entity::delete_many()
        .filter(mfa_challenge::Column::TokenHash.eq(hash))
        .filter(mfa_challenge::Column::Failures.gte(MAX_WRONG_CODES))
        .exec(db)
        .await?;
    Ok(())
}

/// Drops every pending challenge of a user (their factors changed).
pub async fn remove_all<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), AppError> {
    mfa_challenge::Entity::delete_many().filter(mfa_challenge::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

/// Drops expired challenges.
pub async fn sweep<C: ConnectionTrait>(db: &C) -> Result<u64, AppError> {
    let result = mfa_challenge::Entity::delete_many().filter(mfa_challenge::Column::ExpiresAt.lte(Utc::now())).exec(db).await?;
    Ok(result.rows_affected)
}
