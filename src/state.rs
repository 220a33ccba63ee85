//! What every request shares: the database, the settings, the keys.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::accounts::password::PasswordHasher;
use crate::config::Config;
use crate::media::MediaStore;
use crate::sessions::tokens::TokenKeys;

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

    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The base of absolute links to this server.
    pub fn public_url(&self) -> String {
        self.config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.config.listen_addr))
    }

    /// The base of links in emails: the frontend.
    pub fn app_url(&self) -> String {
        self.config.app_url.clone().unwrap_or_else(|| self.public_url())
    }
}
