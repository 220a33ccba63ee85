//! Builds the application: binds, connects, migrates, starts the mail
//! worker, and serves until told to stop. Tests use the same path on port 0.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::config::{redact_url, Config};
use crate::graphql::documents::{Documents, DOCUMENT_CACHE_CAPACITY};
use crate::http::{self, HttpState};
use crate::mail::{transport::Transport, worker};
use crate::media_store::MediaStore;
use crate::schema;
use crate::security::encryption::{check_database_key, DataKey};
use crate::security::jwt::TokenKeys;
use crate::security::oidc::OidcProviders;
use crate::security::passwords::PasswordHasher;
use crate::security::webauthn::RelyingParty;
use crate::state::{AppState, Inner};
use crate::telemetry::metrics::{pool_usage, Metrics};

pub struct Application {
    listener: TcpListener,
    port: u16,
    /// The METRICS_LISTEN_ADDR listener, when metrics are on.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    router: axum::Router,
    mail_worker: JoinHandle<()>,
    webhook_worker: JoinHandle<()>,
    /// Stops the workers when the application stops, or is dropped unrun.
    stop_worker: DropGuard,
}

/// Connects to the database and runs migrations; shared by every subcommand.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let metrics = if config.telemetry.metrics_listen_addr.is_some() { Metrics::enabled() } else { Metrics::disabled() };
    let statements = Arc::new(AtomicU64::new(0));
    let db = crate::db::connect(&config, statements.clone()).await?;
    crate::db::migrate(&db).await?;
    let data_key = config.mfa.data_encryption_key.as_ref().map(|key| DataKey::new(key.expose()));
    let relying_party = RelyingParty::from_config(&config)?;
    let media = MediaStore::open(&config.media.store_url, config.media.s3_endpoint.as_deref())?;
    let tokens = TokenKeys::load(&config)?;
    let oidc = OidcProviders::new(&config.oidc);
    let state = AppState::new(Inner {
        db,
        config,
        tokens,
        passwords: PasswordHasher::new(),
        media,
        statements,
        mail_wakeup: Default::default(),
        background: Default::default(),
        metrics,
        data_key,
        relying_party,
        oidc,
    });
    Ok(state)
}

/// Before serving: DATA_ENCRYPTION_KEY must be the key the database knows,
/// and secrets stored in plain before a key was configured are sealed now.
/// (`migrate` and `create-admin` touch no secret and skip this.)
async fn check_secrets_at_rest(state: &AppState) -> anyhow::Result<()> {
    if state.data_key.is_none() {
        tracing::warn!("DATA_ENCRYPTION_KEY is not set: TOTP secrets are stored in plain; set it in production");
    }
    check_database_key(&state.db, state.data_key.as_ref()).await?;
    crate::mfa::totp::seal_plain_secrets(state).await
}

/// Binds `address` for the setting `setting`, saying what to do when that fails.
async fn bind(address: SocketAddr, setting: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).await.map_err(|error| {
        let advice = match error.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "the address is already in use (another Tessera, or another program, listens there): stop it, or set {setting} to a free port, e.g. {setting}={}:{}",
                address.ip(),
                address.port().wrapping_add(1).max(1024)
            ),
            std::io::ErrorKind::PermissionDenied => {
                format!("permission denied (ports below 1024 need privileges): set {setting} to a port above 1023")
            }
            std::io::ErrorKind::AddrNotAvailable => {
                format!("this machine has no such address: set {setting} to one of its addresses, e.g. 127.0.0.1:{} or 0.0.0.0:{}", address.port(), address.port())
            }
            _ => format!("{error} (check {setting})"),
        };
        anyhow::anyhow!("cannot listen on {address} ({setting}): {advice}")
    })
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listener = bind(config.server.listen_addr, "LISTEN_ADDR").await?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match config.telemetry.metrics_listen_addr {
            Some(address) => Some(bind(address, "METRICS_LISTEN_ADDR").await?),
            None => None,
        };
        let mut config = config;
        // With port 0 the real port is known only now.
        config.server.listen_addr.set_port(port);
        let state = build_state(config).await?;
        check_secrets_at_rest(&state).await?;
        let transport = Transport::from_config(&state.config)?;
        let stop = CancellationToken::new();
        let mail_worker = worker::spawn(state.clone(), transport, stop.clone());
        crate::webhooks::service::check_config(&state.config.webhooks)?;
        let webhook_worker = crate::webhooks::worker::spawn(state.clone(), stop.clone())?;
        spawn_pruner(&state, stop.clone());
        // A provider that cannot be reached is retried in the background; the server starts anyway.
        let (oidc, discovery_stop) = (state.oidc.clone(), stop.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = discovery_stop.cancelled() => {}
                _ = oidc.discover_until_done() => {}
            }
        });
        spawn_media_sweep(&state, stop.clone());
        let mut builder = schema::builder();
        if state.metrics.is_enabled() {
            // Added first, it wraps the request limits: a field they refuse counts as an error.
            builder = builder.extension(crate::graphql::metrics::OperationMetrics);
        }
        let schema = Arc::new(schema::with_limits(builder, &state.config).finish());
        if state.metrics.is_enabled() {
            crate::graphql::metrics::learn_root_fields(&state.metrics, &schema.sdl());
        }
        let router = http::router(HttpState {
            app: state.clone(),
            schema,
            documents: Arc::new(Documents::new(DOCUMENT_CACHE_CAPACITY)),
            registry: Arc::new(schema::input_registry()),
        });
        spawn_sweeper(state.clone());
        if state.metrics.is_enabled() {
            spawn_metrics_upkeep(state.clone(), stop.clone());
        }
        tracing::info!(
            address = %state.config.server.listen_addr,
            database = %redact_url(state.config.database.url.expose()),
            "Tessera is listening; GraphiQL at http://{}/graphql",
            state.config.server.listen_addr
        );
        if let Some(metrics) = &metrics_listener {
            tracing::info!(address = %metrics.local_addr()?, "Prometheus metrics at http://{}/metrics", metrics.local_addr()?);
        }
        Ok(Application { listener, port, metrics_listener, state, router, mail_worker, webhook_worker, stop_worker: stop.drop_guard() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics listener's port (METRICS_LISTEN_ADDR with port 0 picks one).
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
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
        let stop_metrics = CancellationToken::new();
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = http::metrics::router(self.state.clone());
            let stopped = stop_metrics.clone();
            tokio::spawn(async move { axum::serve(listener, router).with_graceful_shutdown(stopped.cancelled_owned()).await })
        });
        let served =
            axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(stop).await;
        stop_metrics.cancel();
        if let Some(server) = metrics_server {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(error = %error, "the metrics listener failed"),
                Err(error) => tracing::error!(error = %error, "the metrics listener ended abnormally"),
            }
        }
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

/// Every few minutes: drops rate-limit buckets whose window has passed and
/// expired MFA challenges, passkey ceremonies and provider sign-in flows, and hands back
/// password-hashing memory that no signin used lately.
fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
        loop {
            every.tick().await;
            if let Err(error) = crate::ratelimit::sweep(&state).await {
                tracing::warn!(error = ?error, "rate-limit sweep failed");
            }
            if let Err(error) = crate::mfa::sweep(&state).await {
                tracing::warn!(error = ?error, "sweep of expired MFA challenges and passkey ceremonies failed");
            }
            if let Err(error) = crate::identities::sweep(&state).await {
                tracing::warn!(error = ?error, "sweep of expired sign-in flows failed");
            }
            state.passwords.release_idle(std::time::Duration::from_secs(120));
        }
    });
}

/// Samples the pool every 100 ms (the time it spends with no idle
/// connection is a metric) and keeps the histograms drained.
fn spawn_metrics_upkeep(state: AppState, stop: CancellationToken) {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(100);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut ticks: u32 = 0;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = every.tick() => {}
            }
            let (in_use, _, max) = pool_usage(&state.db);
            state.metrics.pool_sample(in_use, max, EVERY);
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(50) {
                state.metrics.upkeep();
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

/// Deletes stored pictures no profile points at (left by a crash between
/// storing and recording), older than MEDIA_SWEEP_GRACE: every
/// MEDIA_SWEEP_INTERVAL, the first time one interval after start.
fn spawn_media_sweep(state: &AppState, stop: CancellationToken) {
    let mut db = state.db.clone();
    db.set_metric_callback(|_| {});
    let (state, every, grace) = (state.clone(), state.config.media.sweep_interval, state.config.media.sweep_grace);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => {}
            }
            match crate::media::service::sweep_orphans(&state, &db, grace).await {
                Ok(0) => {}
                Ok(deleted) => tracing::info!(deleted, "deleted stored pictures no profile points at"),
                Err(error) => tracing::warn!(error = ?error, "the media sweep failed"),
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
