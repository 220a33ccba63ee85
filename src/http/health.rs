//! Liveness and readiness for load balancers and orchestrators.
use axum::extract::State;
use axum::http::StatusCode;

use super::HttpState;

/// Alive: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// How long readiness waits for the database: balancers probe with short timeouts.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(1500);

/// Ready: the database answers, within READY_WITHIN.
pub async fn readyz(State(state): State<HttpState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(READY_WITHIN, state.app.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!(waited = ?READY_WITHIN, "readiness check: the database did not answer in time");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
