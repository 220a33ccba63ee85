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
use crate::security::encryption::{check_database_key, DataKey};
use crate::security::jwt::TokenKeys;
use crate::security::passwords::PasswordHasher;
use crate::security::webauthn::RelyingParty;
use crate::state::{AppState, Inner};

pub struct Application {
    listener: TcpListener,
    port: u16,
    state: AppState,
    router: axum::Router,
    mail_worker: JoinHandle<()>,
    /// Stops the mail worker when the application stops, or is dropped unrun.
    stop_worker: DropGuard,
}

/// Connects to the database and runs migrations; shared by every subcommand.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let statements = Arc::new(AtomicU64::new(0));
    let db = crate::db::connect(&config, statements.clone()).await?;
    crate::db::migrate(&db).await?;
    let data_key = config.mfa.data_encryption_key.as_ref().map(|key| DataKey::new(key.expose()));
    let relying_party = RelyingParty::from_config(&config)?;
    let media = MediaStore::open(&config.media.store_url, config.media.s3_endpoint.as_deref())?;
    let tokens = TokenKeys::new(config.tokens.jwt_secret.expose());
    let state = AppState::new(Inner {
        db,
        config,
        tokens,
        passwords: PasswordHasher::new(),
        media,
        statements,
        mail_wakeup: Default::default(),
        background: Default::default(),
        data_key,
        relying_party,
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
        check_secrets_at_rest(&state).await?;
        let transport = Transport::from_config(&state.config)?;
        let stop = CancellationToken::new();
        let mail_worker = worker::spawn(state.clone(), transport, stop.clone());
        let schema = Arc::new(schema::with_limits(schema::builder(), &state.config).finish());
        let router = http::router(HttpState { app: state.clone(), schema });
        spawn_sweeper(state.clone());
        tracing::info!(
            address = %state.config.server.listen_addr,
            database = %redact_url(state.config.database.url.expose()),
            "Tessera is listening; GraphiQL at http://{}/graphql",
            state.config.server.listen_addr
        );
        Ok(Application { listener, port, state, router, mail_worker, stop_worker: stop.drop_guard() })
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
        served
    }
}

/// Drops rate-limit buckets whose window has passed, and expired MFA
/// challenges and passkey ceremonies, every few minutes.
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
