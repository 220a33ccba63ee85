//! What other services need to verify access tokens by themselves: the
//! public keys (a JWK Set) and a discovery document pointing at them, as
//! standard JWT middleware expects.
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::HttpState;

/// Long enough to spare the keys a fetch per token, short enough that a
/// rotated key reaches verifiers within minutes.
const CACHE_CONTROL: &str = "public, max-age=300";

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, CACHE_CONTROL)], body).into_response()
}

/// GET /.well-known/jwks.json: the public keys that verify access tokens
/// (none with JWT_SECRET: a shared secret is never published).
pub async fn jwks(State(state): State<HttpState>) -> Response {
    json_response(state.app.tokens.jwks().to_string())
}

/// GET /.well-known/openid-configuration: the issuer and where its keys are.
pub async fn openid_configuration(State(state): State<HttpState>) -> Response {
    let tokens = &state.app.tokens;
    let issuer = tokens.issuer();
    json_response(
        json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "id_token_signing_alg_values_supported": [tokens.algorithm_name()],
            "subject_types_supported": ["public"],
        })
        .to_string(),
    )
}
