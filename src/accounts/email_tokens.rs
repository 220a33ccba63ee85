//! Single-use tokens sent by email. The token itself (256 random bits) goes
//! only into the mail; the database keeps its SHA-256. Each token is bound to
//! one purpose and to the address it was mailed to, and asking for a new one
//! ends the earlier ones of that purpose.
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::entities::email_token::{self, Column};
use crate::error::AppError;
use crate::security::secrets::{random_token, token_hash};

/// What a token may be used for: a confirmation token is never a reset token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    ConfirmEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::ConfirmEmail => "confirm_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

/// Longer than any token we issue (43 characters); longer input is not looked up.
const MAX_PRESENTED: usize = 128;

/// Issues a token for `user_id` bound to `purpose` and to `email`, the
/// address it will be mailed to. Earlier tokens of the same purpose for the
/// user are deleted, so only the newest link works. Returns the token to put
/// in the mail.
pub async fn issue<C: ConnectionTrait>(
    db: &C,
    user_id: &str,
    purpose: Purpose,
    email: &str,
    lifetime: Duration,
) -> Result<String, AppError> {
    revoke(db, user_id, purpose).await?;
    let token = random_token();
    let now = Utc::now();
    let lifetime = chrono::Duration::from_std(lifetime).map_err(|e| AppError::internal("token lifetime", e))?;
    let row = email_token::ActiveModel {
        token_hash: Set(token_hash(&token)),
        user_id: Set(user_id.to_owned()),
        purpose: Set(purpose.as_str().to_owned()),
        email: Set(email.to_owned()),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
        used_at: Set(None),
    };
    email_token::Entity::insert(row).exec_without_returning(db).await?;
    Ok(token)
}

/// Deletes every token of this purpose for the user, used or not.
pub async fn revoke<C: ConnectionTrait>(db: &C, user_id: &str, purpose: Purpose) -> Result<u64, AppError> {
    let result =
        email_token::Entity::delete_many().filter(Column::UserId.eq(user_id)).filter(Column::Purpose.eq(purpose.as_str())).exec(db).await?;
    Ok(result.rows_affected)
}

/// What a presented token turned out to be.
#[derive(Debug)]
pub enum Found {
    /// Of this purpose, unused and unexpired.
    Live(email_token::Model),
    /// Of this purpose and already used.
    Used(email_token::Model),
    /// Unknown, of another purpose, or expired.
    Invalid,
}

/// Looks a presented token up for `purpose`.
pub async fn find<C: ConnectionTrait>(db: &C, presented: &str, purpose: Purpose) -> Result<Found, AppError> {
    let presented = presented.trim();
    if presented.is_empty() || presented.len() > MAX_PRESENTED {
        return Ok(Found::Invalid);
    }
    let Some(row) = email_token::Entity::find_by_id(token_hash(presented)).one(db).await? else {
        return Ok(Found::Invalid);
    };
    Ok(if row.purpose != purpose.as_str() {
        Found::Invalid
    } else if row.used_at.is_some() {
        Found::Used(row)
    } else if row.expires_at <= Utc::now() {
        Found::Invalid
    } else {
        Found::Live(row)
    })
}

/// Marks a live token used. False when another request spent it first (or
/// it expired meanwhile): only one caller can win.
pub async fn spend<C: ConnectionTrait>(db: &C, hash: &str) -> Result<bool, AppError> {
    let now = Utc::now();
    let result = email_token::Entity::update_many()
        .col_expr(Column::UsedAt, Expr::value(now))
        .filter(Column::TokenHash.eq(hash))
        .filter(Column::UsedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
