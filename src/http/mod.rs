//! The HTTP surface: /graphql, GraphiQL's assets, /media/{key}, /healthz, /readyz,
//! /.well-known/jwks.json and /.well-known/openid-configuration.
/// Every error answer, GraphQL-shaped and coded.
pub mod errors;
/// GraphiQL's page and its files, compiled into the binary.
pub mod graphiql;
/// POST and GET /graphql.
pub mod graphql;
/// /healthz and /readyz.
pub mod health;
/// GET /media/{key}.
pub mod media;
/// Which media type a GraphQL response is sent as.
pub mod negotiation;
/// /.well-known/jwks.json and /.well-known/openid-configuration.
pub mod well_known;

use std::sync::Arc;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::schema::TesseraSchema;
use crate::state::AppState;

/// What every handler shares.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: Arc<TesseraSchema>,
}

pub fn router(state: HttpState) -> Router {
    let cors = cors(&state.app.config.http.cors_allowed_origins.0);
    Router::new()
        .route("/graphql", get(graphql::get_handler).post(graphql::post_handler))
        .route("/graphiql/assets/{version}/{file}", get(graphiql::asset))
        .route("/media/{key}", get(media::get_media))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/.well-known/jwks.json", get(well_known::jwks))
        .route("/.well-known/openid-configuration", get(well_known::openid_configuration))
        .layer(cors)
        .layer(TraceLayer::new_for_http())
        // A panic is a bug: answer a bare 500 and keep serving.
        .layer(CatchPanicLayer::custom(|_| errors::panic_response()))
        .with_state(state)
}

/// Browsers may call from the configured origins only. Tokens travel in the
/// Authorization header, never in cookies, so credentials are never allowed.
fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("apollo-require-preflight"),
            HeaderName::from_static("x-apollo-operation-name"),
            HeaderName::from_static("graphql-require-preflight"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    if origins.iter().any(|o| o == "*") {
        return layer.allow_origin(AllowOrigin::any());
    }
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    layer.allow_origin(AllowOrigin::list(allowed))
}
