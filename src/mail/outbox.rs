//! The outbox: mail waits here, in the database, until the worker has sent it.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::entities::mail_outbox;
use crate::error::AppError;
use crate::mail::Mail;

/// Waiting to be sent (or to be retried).
pub const QUEUED: &str = "queued";
/// Accepted by the SMTP server (or written to its file).
pub const SENT: &str = "sent";
/// Given up on: the message cannot be built, or the server refused it (5xx) MAIL_REJECTED_MAX_TRIES times.
pub const FAILED: &str = "failed";

/// Queues `mail` to `to`. Call it with the transaction that makes the change
/// the mail is about, so that both are stored or neither is; after the commit,
/// `AppState::mail_queued` wakes the worker at once.
pub async fn enqueue<C: ConnectionTrait>(db: &C, user_id: Option<&str>, to: &str, mail: Mail) -> Result<(), AppError> {
    let now = Utc::now();
    let row = mail_outbox::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user_id.map(str::to_owned)),
        to_address: Set(to.to_owned()),
        // The column holds 255 characters; our subjects are far shorter.
        subject: Set(mail.subject.chars().take(255).collect()),
        text_body: Set(mail.text),
        html_body: Set(mail.html),
        status: Set(QUEUED.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    };
    mail_outbox::Entity::insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// The outbox as every instance sees it, for the metrics.
pub struct OutboxStats {
    pub queued: u64,
    /// Age of the oldest queued mail; zero when none waits.
    pub oldest_queued_age: std::time::Duration,
    pub given_up: u64,
}

/// Three indexed reads: (status, created_at).
pub async fn stats<C: ConnectionTrait>(db: &C) -> Result<OutboxStats, AppError> {
    use mail_outbox::Column;
    let queued = mail_outbox::Entity::find().filter(Column::Status.eq(QUEUED)).count(db).await?;
    let given_up = mail_outbox::Entity::find().filter(Column::Status.eq(FAILED)).count(db).await?;
    let oldest: Option<DateTime<Utc>> = mail_outbox::Entity::find()
        .select_only()
        .column(Column::CreatedAt)
        .filter(Column::Status.eq(QUEUED))
        .order_by_asc(Column::CreatedAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    let oldest_queued_age = oldest.and_then(|at| (Utc::now() - at).to_std().ok()).unwrap_or_default();
    Ok(OutboxStats { queued, oldest_queued_age, given_up })
}
