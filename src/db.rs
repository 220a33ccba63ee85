//! Connecting to SQLite or PostgreSQL, and counting statements.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::{redact_url, Config};

/// Opens the pool; every statement sent bumps `counter`.
pub async fn connect(config: &Config, counter: Arc<AtomicU64>) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(config.database.url.expose().clone());
    options
        .max_connections(config.database.max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run beside the one writer; the busy timeout
            // makes concurrent writers wait instead of failing.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact_url(config.database.url.expose())))?;
    db.set_metric_callback(move |_info| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("running database migrations")
}

/// Starts a transaction that reads, decides, then writes. On SQLite it is
/// `BEGIN IMMEDIATE`: the write lock is taken at once (waiting out the busy
/// timeout), so what it reads cannot go stale before it writes, and a
/// concurrent writer waits instead of failing. PostgreSQL ignores the mode:
/// there such a transaction locks the rows it decides on (`FOR UPDATE`).
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    db.begin_with_options(TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() })
        .await
}
