//! Builds the application: binds, connects, migrates, starts the mail
//! worker, and serves until told to stop. Tests use the same path on port 0.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::config::{redact_url, Config};
use crate::http::{self, HttpState};
use crate::mail::{transport::Transport, worker};
use crate::media_store::MediaStore;
use crate::schema;
use crate::security::jwt::TokenKeys;
use crate::security::passwords::PasswordHasher;
use crate::state::{AppState, Inner};

pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    router: axum::Router,
    mail_worker: JoinHandle<()>,
    webhook_worker: JoinHandle<()>,
    /// Stops the workers when the application stops, or is dropped unrun.
    stop_worker: DropGuard,
}

/// Connects to the database and runs migrations; shared by every subcommand.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let statements = Arc::new(AtomicU64::new(0));
    let db = crate::db::connect(&config, statements.clone()).await?;
    crate::db::migrate(&db).await?;
    let media = MediaStore::open(&config.media.store_url, config.media.s3_endpoint.as_deref())?;
    let tokens = TokenKeys::load(&config)?;
    Ok(AppState::new(Inner {
        db,
        config,
        tokens,
        passwords: PasswordHasher::new(),
        media,
        statements,
        mail_wakeup: Default::default(),
        background: Default::default(),
    }))
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.server.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen_addr))?;
        let port = listener.local_addr()?.port();
        let mut config = config;
        // With port 0 the real port is known only now.
        config.server.listen_addr.set_port(port);
        let state = build_state(config).await?;
        let transport = Transport::from_config(&state.config)?;
        let stop = CancellationToken::new();
        let mail_worker = worker::spawn(state.clone(), transport, stop.clone());
        crate::webhooks::service::check_config(&state.config.webhooks)?;
        let webhook_worker = crate::webhooks::worker::spawn(state.clone(), stop.clone())?;
        spawn_pruner(&state, stop.clone());
        let schema = Arc::new(schema::with_limits(schema::builder(), &state.config).finish());
        let router = http::router(HttpState { app: state.clone(), schema });
        spawn_sweeper(state.clone());
        tracing::info!(
            address = %state.config.server.listen_addr,
            database = %redact_url(state.config.database.url.expose()),
            "Tessera is listening; GraphiQL at http://{}/graphql",
            state.config.server.listen_addr
        );
        Ok(Application { listener, port, state, router, mail_worker, webhook_worker, stop_worker: stop.drop_guard() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, finishing requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes; then waits for requests in flight and
    /// the work they left running, and stops the mail worker (queued mail
    /// stays queued for the next start or another instance).
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let served =
            axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(stop).await;
        self.state.background.close();
        self.state.background.wait().await;
        drop(self.stop_worker);
        if let Err(error) = self.mail_worker.await {
            tracing::error!(error = %error, "the mail worker ended abnormally");
        }
        if let Err(error) = self.webhook_worker.await {
            tracing::error!(error = %error, "the webhook worker ended abnormally");
        }
        served
    }
}

/// Drops rate-limit buckets whose window has passed, every few minutes.
fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            every.tick().await;
            if let Err(error) = crate::ratelimit::sweep(&state).await {
                tracing::warn!(error = ?error, "rate-limit sweep failed");
            }
        }
    });
}

/// Prunes security events and webhook deliveries past SECURITY_EVENT_RETENTION:
/// at start, then hourly. Every instance does it; deleting twice is harmless.
fn spawn_pruner(state: &AppState, stop: CancellationToken) {
    // Without the statement counter: background work must not disturb what tests count.
    let mut db = state.db.clone();
    db.set_metric_callback(|_| {});
    let retention = state.config.events.security_event_retention;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = every.tick() => {}
            }
            match crate::events::service::prune(&db, retention).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned security events and webhook deliveries past their retention"),
                Err(error) => tracing::warn!(error = ?error, "pruning security events failed"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
