//! The outbox: mail waits here, in the database, until the worker has sent it.
use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, Set};

use crate::entities::mail_outbox;
use crate::error::AppError;
use crate::mail::Mail;

/// Waiting to be sent (or to be retried).
pub const QUEUED: &str = "queued";
/// Accepted by the SMTP server (or written to its file).
pub const SENT: &str = "sent";
/// Given up on: the message cannot be built, or the server kept refusing it for a day.
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
