//! The HTTP surface: /graphql, /media/{key}, /healthz, /readyz.
pub mod graphql;
pub mod health;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tower_http::trace::TraceLayer;

use crate::graphql::schema::TesseraSchema;
use crate::state::AppState;

/// What every handler shares.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: Arc<TesseraSchema>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/graphql", get(graphql::get_handler).post(graphql::post_handler))
        .route("/media/{key}", get(crate::media::route::get_media))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
