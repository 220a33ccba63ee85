//! The webhook worker: one tokio task per instance. It claims due deliveries
//! with a lease, POSTs them, and records what happened.
//!
//! - Claiming is an UPDATE that succeeds only while nobody holds the row
//!   (`locked_until` empty or past), so instances sharing a database deliver
//!   each event once in the normal case; a lease that ran out (an instance
//!   died mid-try) lets another instance take the delivery over. The claim
//!   counts the try in `attempts`.
//! - 2xx is delivered. Anything else (a redirect, which is never followed,
//!   an error status, a timeout, no connection) is retried with exponential
//!   backoff from 5 s, capped at WEBHOOK_RETRY_MAX, until WEBHOOK_GIVE_UP_AFTER
//!   has passed since it was queued; then the delivery is FAILING and stays
//!   listed until `redeliverWebhook` queues it again.
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::entities::webhook_delivery::{self, Column, WebhookDeliveryStatus};
use crate::error::AppError;
use crate::state::AppState;
use crate::webhooks::signature;

/// Rows looked at per round.
const BATCH: u64 = 20;
/// Tries in flight at once per instance.
const PARALLEL: usize = 8;
/// The first wait after a failed try; it doubles up to WEBHOOK_RETRY_MAX.
const RETRY_BASE: Duration = Duration::from_secs(5);
/// Stored error messages are cut to this many characters.
const MAX_ERROR_CHARS: usize = 500;

pub struct Worker {
    state: AppState,
    /// The app's pool without the statement counter, so that polling does not
    /// disturb what tests count per request.
    db: DatabaseConnection,
    client: reqwest::Client,
}

/// Starts the worker; it stops when `stop` is cancelled, after finishing the
/// tries in hand.
pub fn spawn(state: AppState, stop: CancellationToken) -> anyhow::Result<JoinHandle<()>> {
    let worker = Worker::new(state)?;
    Ok(tokio::spawn(async move { worker.run(stop).await }))
}

impl Worker {
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let mut db = state.db.clone();
        db.set_metric_callback(|_| {});
        let timeout = state.config.webhooks.timeout;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("Tessera-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Worker { state, db, client })
    }

    /// How long a claim holds: well beyond one try, which the timeout bounds.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.state.config.webhooks.timeout * 2 + Duration::from_secs(30)).unwrap_or(chrono::Duration::minutes(5))
    }

    async fn run(self, stop: CancellationToken) {
        loop {
            match self.deliver_due(&stop).await {
                // A full batch: there may be more, look again at once.
                Ok(handled) if handled as u64 >= BATCH && !stop.is_cancelled() => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(error = ?error, "webhook worker: cannot read the deliveries; trying again soon"),
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(self.state.config.webhooks.poll_interval) => {}
            }
        }
    }

    /// Tries every delivery that is due and not held by another worker;
    /// returns how many rows it looked at.
    pub async fn deliver_due(&self, stop: &CancellationToken) -> Result<usize, AppError> {
        let now = Utc::now();
        let due = webhook_delivery::Entity::find()
            .filter(Column::Status.eq(WebhookDeliveryStatus::Pending))
            .filter(Column::NextAttemptAt.lte(now))
            .filter(free(now))
            .order_by_asc(Column::NextAttemptAt)
            .order_by_asc(Column::Id)
            .limit(BATCH)
            .all(&self.db)
            .await?;
        let count = due.len();
        let results: Vec<Result<(), AppError>> = futures::stream::iter(due)
            .map(|row| async move {
                if stop.is_cancelled() {
                    return Ok(());
                }
                match self.claim(&row.id).await? {
                    Some(attempts) => self.deliver(row, attempts).await,
                    None => Ok(()),
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(count)
    }

    /// Takes the row for one lease and counts the try; None when another
    /// worker holds it, or it was delivered meanwhile.
    async fn claim(&self, id: &str) -> Result<Option<i32>, AppError> {
        let now = Utc::now();
        let claimed = webhook_delivery::Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(now + self.lease()))
            .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
            .filter(Column::Id.eq(id))
            .filter(Column::Status.eq(WebhookDeliveryStatus::Pending))
            .filter(free(now))
            .exec(&self.db)
            .await?;
        if claimed.rows_affected != 1 {
            return Ok(None);
        }
        let attempts: Option<i32> =
            webhook_delivery::Entity::find_by_id(id).select_only().column(Column::Attempts).into_tuple().one(&self.db).await?;
        Ok(attempts)
    }

    async fn deliver(&self, row: webhook_delivery::Model, attempts: i32) -> Result<(), AppError> {
        let outcome = self.post(&row).await;
        let now = Utc::now();
        let update = webhook_delivery::Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(Column::Id.eq(row.id.clone()));
        let update = match outcome {
            Ok(()) => {
                tracing::info!(delivery = %row.id, event = %row.event_type, attempts, "webhook delivered");
                update
                    .col_expr(Column::Status, Expr::value(WebhookDeliveryStatus::Delivered))
                    .col_expr(Column::DeliveredAt, Expr::value(now))
            }
            Err(message) => {
                let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
                let update = update.col_expr(Column::LastError, Expr::value(message.clone()));
                let give_up_after =
                    chrono::Duration::from_std(self.state.config.webhooks.give_up_after).unwrap_or(chrono::Duration::days(3));
                if now - row.queued_at >= give_up_after {
                    tracing::error!(delivery = %row.id, event = %row.event_type, attempts, error = %message, "webhook given up on: FAILING");
                    update.col_expr(Column::Status, Expr::value(WebhookDeliveryStatus::Failing))
                } else {
                    let wait = backoff(attempts, self.state.config.webhooks.retry_max);
                    tracing::warn!(delivery = %row.id, event = %row.event_type, attempts, error = %message, retry_in = ?wait, "webhook not delivered; will retry");
                    let next = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    update.col_expr(Column::NextAttemptAt, Expr::value(next))
                }
            }
        };
        // A redelivery asked for during the try is not undone: it set the row PENDING again.
        update.exec(&self.db).await?;
        Ok(())
    }

    /// One try: Ok on 2xx, else why not.
    async fn post(&self, row: &webhook_delivery::Model) -> Result<(), String> {
        let Some(key) = &self.state.config.webhooks.secret else {
            return Err("WEBHOOK_SECRET is not set: cannot sign".into());
        };
        let timestamp = Utc::now().timestamp();
        let response = self
            .client
            .post(&row.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &row.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature::sign(key.expose(), &row.id, timestamp, row.payload.as_bytes()))
            .body(row.payload.clone())
            .send()
            .await
            .map_err(|error| describe(&error, self.state.config.webhooks.timeout))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_redirection() {
            Err(format!("HTTP {} (redirects are not followed)", status.as_u16()))
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}

/// A transport error with its causes, without the URL (it may hold a token).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timed out after {timeout:?}");
    }
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Not held by any worker: never claimed, or the claim ran out.
fn free(now: DateTime<Utc>) -> Condition {
    Condition::any().add(Column::LockedUntil.is_null()).add(Column::LockedUntil.lt(now))
}

/// The wait after the `attempts`-th failed try: 5 s, 10 s, 20 s…, at most `max`.
pub fn backoff(attempts: i32, max: Duration) -> Duration {
    let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
    RETRY_BASE.saturating_mul(2u32.saturating_pow(doublings)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (1..=12).map(|a| backoff(a, hour).as_secs()).collect();
        assert_eq!(waits, vec![5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]);
        assert_eq!(backoff(i32::MAX, hour), hour);
        assert_eq!(backoff(3, Duration::from_millis(300)), Duration::from_millis(300));
    }
}
