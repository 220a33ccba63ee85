//! Error answers: every error a client sees is GraphQL-shaped and carries an
//! `extensions.code` from `error::ErrorCode`; none is built anywhere else.
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::negotiation::MediaType;
use crate::error::{AppError, ErrorCode, UNAVAILABLE_RETRY_AFTER_SECS};

/// A GraphQL-shaped error body (no `data`: nothing ran) with a status code.
pub fn error_response(media: MediaType, status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str() } }] });
    (status, [(header::CONTENT_TYPE, media.content_type())], body.to_string()).into_response()
}

/// An internal error, with the request id that the log line carries too.
pub fn internal_error(media: MediaType, request_id: &str) -> Response {
    let body = json!({ "errors": [{ "message": "Internal error.", "extensions": { "code": ErrorCode::Internal.as_str(), "requestId": request_id } }] });
    (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, media.content_type())], body.to_string()).into_response()
}

/// 503 with UNAVAILABLE and Retry-After: the database cannot be reached.
pub fn unavailable(media: MediaType) -> Response {
    let mut response = error_response(media, StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable, &AppError::Unavailable.to_string());
    with_retry_after(&mut response);
    response
}

/// Adds `Retry-After` for an UNAVAILABLE answer.
pub fn with_retry_after(response: &mut Response) {
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS));
}

/// What a panic answers: a bare 500 (the panic is a bug, logged by the layer).
pub fn panic_response() -> Response {
    error_response(MediaType::Json, StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, "Internal error.")
}

/// 406: the client accepts neither media type a GraphQL response comes in.
pub fn not_acceptable() -> Response {
    error_response(
        MediaType::Json,
        StatusCode::NOT_ACCEPTABLE,
        ErrorCode::NotAcceptable,
        "GraphQL responses are application/graphql-response+json or application/json: accept one of them.",
    )
}

/// 400: a request without a query.
pub fn missing_query(media: MediaType) -> Response {
    bad_request(media, "The request has no query.")
}

/// 400 with BAD_REQUEST.
pub fn bad_request(media: MediaType, message: &str) -> Response {
    error_response(media, StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
}

/// 413 with PAYLOAD_TOO_LARGE.
pub fn payload_too_large(media: MediaType) -> Response {
    error_response(media, StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::PayloadTooLarge, "The request body is too large.")
}

/// The answer to a body that could not be read as a GraphQL request.
pub fn parse_error_response(media: MediaType, error: async_graphql::ParseRequestError) -> Response {
    use async_graphql::ParseRequestError as E;
    match error {
        E::PayloadTooLarge => payload_too_large(media),
        E::Io(e) if e.to_string().contains("length limit exceeded") => payload_too_large(media),
        E::InvalidRequest(_) => bad_request(media, "The body is not a valid GraphQL request (malformed JSON?)."),
        E::InvalidMultipart(e) if e.to_string().to_lowercase().contains("size limit") => {
            error_response(media, StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::FileTooLarge, "The uploaded file is too large.")
        }
        E::InvalidFilesMap(_) | E::MissingMapPart | E::MissingOperatorsPart | E::NotUpload | E::MissingFiles | E::InvalidMultipart(_) => {
            bad_request(media, "The multipart request does not follow the GraphQL multipart request spec.")
        }
        _ => bad_request(media, "The body is not a valid GraphQL request."),
    }
}

/// Every error a client sees carries `extensions.code`. Errors that
/// async-graphql raised itself get GRAPHQL_PARSE_FAILED or
/// GRAPHQL_VALIDATION_FAILED (or BAD_USER_INPUT for a bad argument value);
/// anything else without a code is a bug, answered as INTERNAL, never with
/// its details.
pub fn normalize_errors(mut response: async_graphql::Response, request_id: &str) -> async_graphql::Response {
    let request_failed = response.data == async_graphql::Value::Null;
    for error in &mut response.errors {
        let code = error.extensions.as_ref().and_then(|ext| ext.get("code")).and_then(|v| {
            if let async_graphql::Value::String(s) = v {
                Some(s.clone())
            } else {
                None
            }
        });
        let code = match code {
            Some(code) => code,
            None if request_failed && error.message.trim_start().starts_with("-->") => ErrorCode::GraphqlParseFailed.as_str().to_owned(),
            None if error.message.starts_with("Invalid value for argument") || error.message.starts_with("Failed to parse") => {
                ErrorCode::BadUserInput.as_str().to_owned()
            }
            None if request_failed => ErrorCode::GraphqlValidationFailed.as_str().to_owned(),
            None => {
                tracing::error!(message = %error.message, path = ?error.path, "an error without a code reached a client");
                error.message = "Internal error.".to_owned();
                ErrorCode::Internal.as_str().to_owned()
            }
        };
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if code == ErrorCode::Internal.as_str() {
            extensions.set("requestId", request_id);
        }
        extensions.set("code", code);
    }
    response
}
