//! Rate limits shared by every instance through the database: a counter per
//! bucket whose window starts at its first hit. One atomic upsert per hit, so
//! two instances counting the same bucket never lose a count.
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::AppError;
use crate::state::AppState;

/// Label values of `rate_limit_refusals_total`, by kind of limit.
pub const KIND_SIGNIN_LOCKOUT: &str = "signin_lockout";
pub const KIND_CREDENTIALS_PER_IP: &str = "credentials_per_ip";
pub const KIND_MAIL_PER_ADDRESS: &str = "mail_per_address";

/// The kind of a bucket, from its prefix (`credentials-ip:1.2.3.4`).
fn kind_of(bucket: &str) -> &'static str {
    match bucket.split(':').next().unwrap_or_default() {
        "credentials-ip" => KIND_CREDENTIALS_PER_IP,
        "signin-failures" => KIND_SIGNIN_LOCKOUT,
        "mail-minute" | "mail-hour" => KIND_MAIL_PER_ADDRESS,
        _ => "other",
    }
}

/// A budget: at most `limit` hits per `window`.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub limit: u32,
    pub window: Duration,
}

/// The counter of a bucket after a hit or a look.
#[derive(Debug, Clone, Copy)]
pub struct Count {
    pub count: u32,
    pub resets_at: DateTime<Utc>,
}

impl Count {
    pub fn retry_after_secs(&self, now: DateTime<Utc>) -> u64 {
        (self.resets_at - now).num_seconds().max(1) as u64
    }
}

/// Counts one hit in `bucket`; a bucket whose window has passed starts over.
pub async fn hit(state: &AppState, bucket: &str, window: Duration) -> Result<Count, AppError> {
    hit_on(&state.db, bucket, window).await
}

/// `hit` on a given connection, e.g. the transaction that records why.
pub async fn hit_on<C: ConnectionTrait>(db: &C, bucket: &str, window: Duration) -> Result<Count, AppError> {
    let now = Utc::now();
    let expires = now + window;
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO rate_limits (bucket, count, expires_at) VALUES ($1, 1, $2) \
             ON CONFLICT (bucket) DO UPDATE SET \
               count = CASE WHEN rate_limits.expires_at <= $3 THEN 1 ELSE rate_limits.count + 1 END, \
               expires_at = CASE WHEN rate_limits.expires_at <= $3 THEN excluded.expires_at ELSE rate_limits.expires_at END \
             RETURNING count, expires_at"
        }
        _ => {
            "INSERT INTO rate_limits (bucket, count, expires_at) VALUES (?1, 1, ?2) \
             ON CONFLICT (bucket) DO UPDATE SET \
               count = CASE WHEN rate_limits.expires_at <= ?3 THEN 1 ELSE rate_limits.count + 1 END, \
               expires_at = CASE WHEN rate_limits.expires_at <= ?3 THEN excluded.expires_at ELSE rate_limits.expires_at END \
             RETURNING count, expires_at"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [bucket.into(), expires.into(), now.into()]))
        .await?
        .ok_or_else(|| AppError::internal("rate limit", "the upsert returned no row"))?;
    let count: i32 = row.try_get("", "count")?;
    let resets_at: DateTime<Utc> = row.try_get("", "expires_at")?;
    Ok(Count { count: count.max(0) as u32, resets_at })
}

/// The bucket's live count, without counting.
pub async fn peek(state: &AppState, bucket: &str) -> Result<Option<Count>, AppError> {
    use sea_orm::EntityTrait;
    let now = Utc::now();
    let row = crate::entities::rate_limit::Entity::find_by_id(bucket.to_owned()).one(&state.db).await?;
    Ok(row.filter(|r| r.expires_at > now).map(|r| Count { count: r.count.max(0) as u32, resets_at: r.expires_at }))
}

pub async fn clear(state: &AppState, bucket: &str) -> Result<(), AppError> {
    use sea_orm::EntityTrait;
    crate::entities::rate_limit::Entity::delete_by_id(bucket.to_owned()).exec(&state.db).await?;
    Ok(())
}

/// Counts a hit and refuses it past the budget.
pub async fn take(state: &AppState, bucket: &str, budget: Budget) -> Result<(), AppError> {
    let count = hit(state, bucket, budget.window).await?;
    if count.count > budget.limit {
        state.metrics.rate_limited(kind_of(bucket));
        return Err(AppError::RateLimited { retry_after_secs: count.retry_after_secs(Utc::now()) });
    }
    Ok(())
}

/// Drops buckets whose window has passed; run now and then by a background task.
pub async fn sweep(state: &AppState) -> Result<u64, AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let result = crate::entities::rate_limit::Entity::delete_many()
        .filter(crate::entities::rate_limit::Column::ExpiresAt.lte(Utc::now()))
        .exec(&state.db)
        .await?;
    Ok(result.rows_affected)
}

/// The per-client-IP budget of operations that take a password or a token:
/// counted for every credential field as it starts (see `graphql::limits`).
pub async fn credential_attempt(state: &AppState, ip: Option<&str>) -> Result<(), AppError> {
    let budget = Budget { limit: state.config.limits.credential_attempts_per_ip_per_minute, window: Duration::minutes(1) };
    take(state, &format!("credentials-ip:{}", ip.unwrap_or("unknown")), budget).await
}
