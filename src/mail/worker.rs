//! The mail worker: one tokio task per Tessera instance. It claims due
//! outbox rows with a lease, sends them, and records what happened.
//!
//! - Claiming is an UPDATE that succeeds only while nobody else holds the
//!   row (`locked_until` empty or past), so instances sharing a database
//!   never send the same mail twice in the normal case. The lease is short
//!   and renewed while the SMTP conversation lasts, so a mail whose instance
//!   died is taken over within LEASE, not minutes later.
//! - Delivery is at least once: an instance that dies after the SMTP server
//!   accepted a mail and before the row says so leaves it to be sent again.
//!   The result is recorded in the one UPDATE that follows the server's
//!   answer, and every try carries the same Message-ID, so receivers can
//!   drop the duplicate.
//! - A mail that could not be sent is retried with exponential backoff,
//!   capped at MAIL_RETRY_MAX, for as long as SMTP stays down. A mail the
//!   server refuses (5xx) is tried MAIL_REJECTED_MAX_TRIES times in all, and
//!   one that cannot even be built once; then it is marked `failed`, logged
//!   with its cause and kept (with `last_error`) for inspection.
//! - It wakes every MAIL_POLL_INTERVAL, and at once when this instance
//!   queued mail (`AppState::mail_queued`).
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::entities::mail_outbox::{self, Column};
use crate::error::AppError;
use crate::mail::outbox::{FAILED, QUEUED, SENT};
use crate::mail::transport::{SendError, Transport, SMTP_TIMEOUT};
use crate::state::AppState;

/// How long a claim holds unless renewed: after a crash, the mail waits this
/// long for another instance (or the next start) to take it over.
pub const LEASE: Duration = Duration::from_secs(15);
/// While a mail is being sent, its lease is renewed this often.
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// Rows looked at per round.
const BATCH: u64 = 20;
/// Stored error messages are cut to this many characters.
const MAX_ERROR_CHARS: usize = 1000;

const _: () = assert!(LEASE.as_secs() >= 3 * RENEW_EVERY.as_secs());
const _: () = assert!(SMTP_TIMEOUT.as_secs() > RENEW_EVERY.as_secs());

pub struct Worker {
    state: AppState,
    /// The app's pool without the statement counter, so that polling does not
    /// disturb what tests count per request.
    db: DatabaseConnection,
    transport: Transport,
}

/// Starts the worker; it stops when `stop` is cancelled, after finishing the
/// mail in hand.
pub fn spawn(state: AppState, transport: Transport, stop: CancellationToken) -> JoinHandle<()> {
    let worker = Worker::new(state, transport);
    tokio::spawn(async move { worker.run(stop).await })
}

impl Worker {
    pub fn new(state: AppState, transport: Transport) -> Self {
        let mut db = state.db.clone();
        db.set_metric_callback(|_| {});
        Worker { state, db, transport }
    }

    async fn run(self, stop: CancellationToken) {
        tracing::info!(destination = %self.transport.describe(&self.state.config), "mail worker started");
        loop {
            match self.deliver_due(&stop).await {
                // A full batch: there may be more, look again at once.
                Ok(handled) if handled as u64 >= BATCH && !stop.is_cancelled() => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(error = ?error, "mail worker: cannot read the outbox; trying again soon"),
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.state.mail_wakeup.notified() => {}
                _ = tokio::time::sleep(self.state.config.mail.poll_interval) => {}
            }
        }
        tracing::info!("mail worker stopped");
    }

    /// Sends every mail that is due and not held by another worker; returns
    /// how many rows it looked at.
    pub async fn deliver_due(&self, stop: &CancellationToken) -> Result<usize, AppError> {
        let now = Utc::now();
        let due = mail_outbox::Entity::find()
            .filter(Column::Status.eq(QUEUED))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(free(now))
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::Id)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let count = due.len();
        for row in due {
            if stop.is_cancelled() {
                break;
            }
            if self.claim(&row.id).await? {
                self.deliver(row).await?;
            }
        }
        Ok(count)
    }

    /// Takes the row for LEASE; false when another worker holds it or it was sent meanwhile.
    async fn claim(&self, id: &str) -> Result<bool, AppError> {
        let now = Utc::now();
        let result = mail_outbox::Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(now + chrono::Duration::from_std(LEASE).expect("small")))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(QUEUED))
            .filter(free(now))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Holds the row for another LEASE, while its send is in flight.
    async fn renew(&self, id: &str) -> Result<(), AppError> {
        let until = Utc::now() + chrono::Duration::from_std(LEASE).expect("small");
        mail_outbox::Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(until))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(QUEUED))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Sends one mail, renewing its lease for as long as that takes.
    async fn send_holding_lease(&self, row: &mail_outbox::Model) -> Result<(), SendError> {
        let send = self.transport.send(row, &self.state.config.mail.mail_from);
        tokio::pin!(send);
        let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + RENEW_EVERY, RENEW_EVERY);
        loop {
            tokio::select! {
                outcome = &mut send => return outcome,
                _ = renew.tick() => {
                    if let Err(error) = self.renew(&row.id).await {
                        tracing::warn!(mail = %row.id, error = ?error, "cannot renew the lease of a mail being sent");
                    }
                }
            }
        }
    }

    async fn deliver(&self, row: mail_outbox::Model) -> Result<(), AppError> {
        let outcome = self.send_holding_lease(&row).await;
        let now = Utc::now();
        let attempts = row.attempts.saturating_add(1);
        let update = mail_outbox::Entity::update_many()
            .col_expr(Column::Attempts, Expr::value(attempts))
            .col_expr(Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(Column::Id.eq(row.id.clone()));
        let update = match &outcome {
            Ok(()) => {
                self.state.metrics.mail_sent();
                tracing::info!(mail = %row.id, attempts, "mail sent");
                update
                    .col_expr(Column::Status, Expr::value(SENT))
                    .col_expr(Column::SentAt, Expr::value(now))
                    .col_expr(Column::LastError, Expr::value(Option::<String>::None))
            }
            Err(error) => {
                self.state.metrics.mail_send_failed();
                let give_up = match error {
                    SendError::Transient(_) => false,
                    SendError::Rejected(_) => attempts >= self.state.config.mail.rejected_max_tries as i32,
                    SendError::Unsendable(_) => true,
                };
                let message: String = error.message().chars().take(MAX_ERROR_CHARS).collect();
                let update = update.col_expr(Column::LastError, Expr::value(message.clone()));
                if give_up {
                    tracing::error!(mail = %row.id, attempts, error = %message, "mail given up on: marked failed and kept in the outbox");
                    update.col_expr(Column::Status, Expr::value(FAILED))
                } else {
                    let wait = backoff(attempts, self.state.config.mail.retry_base, self.state.config.mail.retry_max);
                    tracing::warn!(mail = %row.id, attempts, error = %message, retry_in = ?wait, "mail not sent; will retry");
                    let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::minutes(10));
                    update.col_expr(Column::NextAttemptAt, Expr::value(next))
                }
            }
        };
        update.exec(&self.db).await?;
        Ok(())
    }
}

/// Not held by any worker: never claimed, or the claim ran out.
fn free(now: DateTime<Utc>) -> Condition {
    Condition::any().add(Column::LockedUntil.is_null()).add(Column::LockedUntil.lt(now))
}

/// The wait after the `attempts`-th failed try: base, 2×base, 4×base…, at most `max`.
pub fn backoff(attempts: i32, base: Duration, max: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    base.saturating_mul(2u32.saturating_pow(doublings)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (base, max) = (Duration::from_secs(5), Duration::from_secs(600));
        let waits: Vec<u64> = (1..=10).map(|a| backoff(a, base, max).as_secs()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 80, 160, 320, 600, 600, 600]);
        assert_eq!(backoff(i32::MAX, base, max), max);
        assert_eq!(backoff(0, base, max), base);
    }
}
