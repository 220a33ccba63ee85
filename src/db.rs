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

/// A pooled connection idle this long is pinged before use.
const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Rows a SQLite statement may hand back before its reader takes them: more
/// than any list returns (100 items and one to tell whether more follow).
const SQLITE_ROW_BUFFER: usize = 128;

/// Opens the pool; every statement sent bumps `counter`.
pub async fn connect(config: &Config, counter: Arc<AtomicU64>) -> anyhow::Result<DatabaseConnection> {
    create_private_sqlite_file(config.database.url.expose());
    let mut options = ConnectOptions::new(config.database.url.expose().clone());
    // Short timeouts: during an outage a request is answered 503 at once
    // rather than after a long wait (see error::is_outage).
    options
        .max_connections(config.database.max_connections)
        .min_connections(1)
        .connect_timeout(config.database.acquire_timeout)
        .acquire_timeout(config.database.acquire_timeout)
        .sqlx_logging(false)
        // sqlx pings a connection on every checkout by default: a round trip
        // as costly as a short statement (on SQLite, to the connection's
        // worker thread). A connection is pinged only when it has sat idle
        // long enough for a restart or a proxy to have dropped it.
        .test_before_acquire_if_idle_for(POSTGRES_PING_AFTER_IDLE)
        .map_sqlx_sqlite_opts(|opts| {
            // WAL lets readers run beside the one writer; the busy timeout
            // makes concurrent writers wait instead of failing.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Rows come back from the connection's worker thread through a
                // bounded channel (50 by default): a list of 100 rows would make
                // the worker stop and wait for the reader, a thread switch each
                // time. A whole page (at most 101 rows) fits.
                .row_buffer_size(SQLITE_ROW_BUFFER)
        });
    let mut db = connect_waiting(options, config).await?;
    db.set_metric_callback(move |_info| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

/// Connects, trying again every second for up to DATABASE_WAIT while the
/// database cannot be reached (it may be starting beside us), with a log
/// line for each try; any other error stops at once.
async fn connect_waiting(options: ConnectOptions, config: &Config) -> anyhow::Result<DatabaseConnection> {
    let url = redact_url(config.database.url.expose());
    let started = std::time::Instant::now();
    let mut tries = 0u32;
    loop {
        tries += 1;
        match Database::connect(options.clone()).await {
            Ok(db) => {
                if tries > 1 {
                    tracing::info!(database = %url, tries, "the database is reachable now");
                }
                return Ok(db);
            }
            Err(error) if crate::error::is_outage(&error) && started.elapsed() + Duration::from_secs(1) < config.database.wait => {
                tracing::warn!(
                    database = %url,
                    error = %error,
                    tries,
                    waited_secs = started.elapsed().as_secs(),
                    "the database is not reachable yet; trying again for up to DATABASE_WAIT ({:?})",
                    config.database.wait
                );
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) if crate::error::is_outage(&error) => {
                let waited = started.elapsed().as_secs();
                tracing::error!(database = %url, error = %error, tries, waited_secs = waited, "the database stayed unreachable: giving up");
                return Err(anyhow::Error::new(error).context(format!(
                    "cannot connect to the database at {url}: still unreachable after {waited} s and {tries} tries (DATABASE_WAIT is {:?})",
                    config.database.wait
                )));
            }
            Err(error) => return Err(anyhow::Error::new(error).context(format!("cannot connect to the database at {url}"))),
        }
    }
}

/// A SQLite database file is created here, readable by this user only
/// (0600), before SQLite would create it with the umask's 0644; SQLite gives
/// its WAL and shared-memory files the database file's permissions.
fn create_private_sqlite_file(url: &str) {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else { return };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    // Only where SQLite itself would create the file (`mode=rwc`).
    if path.is_empty() || path == ":memory:" || !query.split('&').any(|pair| pair == "mode=rwc") {
        return;
    }
    // An existing file is left as it is; any other failure (no such folder,
    // no permission) SQLite reports better itself when it opens the file.
    let _ = crate::config::private_file_options().write(true).create_new(true).open(path);
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
