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
/// GET /metrics on the metrics listener.
pub mod metrics;
/// The multipart map, held to the spec.
pub mod multipart;
/// Which media type a GraphQL response is sent as.
pub mod negotiation;
/// /confirm-email and /reset-password: the pages behind the links in mails.
pub mod pages;
/// /.well-known/jwks.json and /.well-known/openid-configuration.
pub mod well_known;

use std::sync::Arc;

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

use crate::graphql::documents::Documents;
use crate::schema::TesseraSchema;
use crate::state::AppState;

/// What every handler shares.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: Arc<TesseraSchema>,
    /// Parsed documents by query hash, shared by every request (and APQ).
    pub documents: Arc<Documents>,
    /// The schema's types, for `graphql::inputs::check`.
    pub registry: Arc<async_graphql::registry::Registry>,
}

/// Every route pattern, as the metrics label them.
const ROUTES: &[&str] = &[
    "/graphql",
    "/graphiql/assets/{version}/{file}",
    "/media/{key}",
    "/healthz",
    "/readyz",
    "/.well-known/jwks.json",
    "/.well-known/openid-configuration",
];

pub fn router(state: HttpState) -> Router {
    let cors = cors(&state.app.config.http.cors_allowed_origins.0);
    let mut router = Router::new()
        .route(ROUTES[0], get(graphql::get_handler).post(graphql::post_handler).layer(axum::middleware::map_response(graphql_headers)))
        .route(ROUTES[1], get(graphiql::asset))
        .route(ROUTES[2], get(media::get_media))
        .route(ROUTES[3], get(health::healthz))
        .route(ROUTES[4], get(health::readyz))
        .route(ROUTES[5], get(well_known::jwks))
        .route(ROUTES[6], get(well_known::openid_configuration));
    if state.app.config.server.builtin_pages() {
        router = pages::routes(router);
    }
    if state.app.metrics.is_enabled() {
        // Only matched routes pass here; the fallback counts the rest.
        router = router.route_layer(axum::middleware::from_fn_with_state(state.clone(), observe));
    }
    router
        .fallback(not_found)
        .layer(cors)
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let request_id = request.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or_default();
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
        }))
        // A panic is a bug: answer a bare 500 and keep serving.
        .layer(CatchPanicLayer::custom(|_| errors::panic_response()))
        .layer(axum::middleware::from_fn(request_id))
        .with_state(state)
}

/// The request id: the client's well-formed X-Request-Id, or a new one. It
/// is on every log line of the request, in INTERNAL errors, and echoed in
/// the answer's X-Request-Id.
pub const REQUEST_ID: &str = "x-request-id";

fn well_formed_request_id(value: &HeaderValue) -> bool {
    let v = value.as_bytes();
    !v.is_empty() && v.len() <= 64 && v.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

async fn request_id(mut request: Request, next: Next) -> Response {
    let id = match request.headers().get(REQUEST_ID) {
        Some(value) if well_formed_request_id(value) => value.clone(),
        _ => {
            let fresh = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a header value");
            request.headers_mut().insert(REQUEST_ID, fresh.clone());
            fresh
        }
    };
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID, id);
    response
}

/// Every /graphql answer (GET or POST, data or error) may hold private data:
/// no cache keeps it unless a response chose its own caching, and no browser
/// reads it as anything but its declared type.
async fn graphql_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// Counts and times each answer under its route pattern (never the path asked for).
async fn observe(State(state): State<HttpState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().map(|m| route_label(m.as_str())).unwrap_or("other");
    let response = next.run(request).await;
    state.app.metrics.http_request(route, response.status().as_u16(), started.elapsed());
    response
}

fn route_label(pattern: &str) -> &'static str {
    ROUTES.iter().chain(pages::ROUTES).find(|r| **r == pattern).copied().unwrap_or("other")
}

/// Anything no route matches.
async fn not_found(State(state): State<HttpState>) -> Response {
    state.app.metrics.http_request("unmatched", 404, std::time::Duration::ZERO);
    StatusCode::NOT_FOUND.into_response()
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
