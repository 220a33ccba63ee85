//! What every request shares: the database, the settings, the keys.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::media_store::MediaStore;
use crate::security::encryption::DataKey;
use crate::security::jwt::TokenKeys;
use crate::security::oidc::OidcProviders;
use crate::security::passwords::PasswordHasher;
use crate::security::webauthn::RelyingParty;
use crate::telemetry::metrics::Metrics;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: DatabaseConnection,
    pub config: Config,
    pub tokens: TokenKeys,
    pub passwords: PasswordHasher,
    pub media: MediaStore,
    /// SQL statements sent so far; tests read it to prove batching.
    pub statements: Arc<AtomicU64>,
    /// Wakes this instance's mail worker when mail was queued (see `mail_queued`).
    pub mail_wakeup: Arc<Notify>,
    /// Work that outlives its request (see `spawn_background`); waited for on shutdown.
    pub background: TaskTracker,
    /// Prometheus metrics (no-ops unless METRICS_LISTEN_ADDR is set).
    pub metrics: Metrics,
    /// DATA_ENCRYPTION_KEY, checked against the database at start.
    pub data_key: Option<DataKey>,
    /// The WebAuthn relying party passkeys are made for and checked against.
    pub relying_party: RelyingParty,
    /// The OpenID Connect providers, with their cached discovery documents and keys.
    pub oidc: OidcProviders,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }

    /// Tells the mail worker that mail is waiting. Call it after the
    /// transaction that queued the mail has committed.
    pub fn mail_queued(&self) {
        self.mail_wakeup.notify_one();
    }

    /// Runs `work` beside the request, which answers without waiting for it
    /// (so that the answer's timing tells nothing about it). Shutdown waits
    /// for it.
    pub fn spawn_background<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.background.spawn(work);
    }

    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }
}
