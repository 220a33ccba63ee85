//! GET /metrics on the separate METRICS_LISTEN_ADDR listener: the
//! Prometheus text format. Gauges that describe shared state (the mail
//! outbox) or this instance's pool are read at scrape time.
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::state::AppState;
use crate::telemetry::metrics::pool_usage;

/// The metrics listener's router: /metrics and nothing else.
pub fn router(state: AppState) -> Router {
    Router::new().route("/metrics", get(render)).with_state(state)
}

async fn render(State(state): State<AppState>) -> Response {
    let (in_use, idle, max) = pool_usage(&state.db);
    state.metrics.set_pool(in_use, idle, max);
    match crate::mail::outbox::stats(&state.db).await {
        Ok(stats) => state.metrics.set_outbox(stats.queued, stats.oldest_queued_age, stats.given_up),
        // The rest is still worth scraping; the outbox gauges keep their last values.
        Err(error) => tracing::warn!(error = ?error, "metrics: cannot read the mail outbox"),
    }
    match state.metrics.render() {
        Some(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
