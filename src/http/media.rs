//! GET /media/{key}: streams a stored picture.
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::HttpState;
use crate::media::service::kind_of_key;

pub async fn get_media(State(state): State<HttpState>, Path(key): Path<String>) -> Response {
    // Only keys of our own shape are looked up, so no other path is reachable.
    let Some(kind) = kind_of_key(&key) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.app.media.get(&key).await {
        Ok(Some(found)) => {
            let size = found.meta.size;
            let body = Body::from_stream(found.into_stream());
            (
                [
                    (header::CONTENT_TYPE, kind.content_type().to_owned()),
                    (header::CONTENT_LENGTH, size.to_string()),
                    // Keys are never reused for other content.
                    (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_owned()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
                ],
                body,
            )
                .into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::error!(%error, "media read failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
