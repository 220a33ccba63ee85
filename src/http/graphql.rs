//! The /graphql endpoint: POST (JSON or multipart) and GET (queries only, or
//! GraphiQL for a browser).
use std::net::SocketAddr;

use async_graphql::http::{GraphiQLSource, MultipartOptions};
use async_graphql::parser::types::OperationType;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use futures::TryStreamExt;
use serde_json::json;
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::HttpState;
use crate::graphql::context::RequestInfo;
use crate::graphql::loaders::Loaders;
use crate::sessions::service::authenticate;

/// A GraphQL-shaped error body with a status code.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

pub async fn get_handler(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    if query.is_empty() && wants_html(&headers) {
        return Html(GraphiQLSource::build().endpoint("/graphql").title("Tessera").finish()).into_response();
    }
    let request = match async_graphql::http::parse_query_string(query) {
        Ok(request) => request,
        Err(_) => return error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", "The query string is not a GraphQL request."),
    };
    // GET must never change anything: only queries run over it.
    if let Ok(document) = async_graphql::parser::parse_query(&request.query) {
        let is_mutation = document.operations.iter().any(|(name, op)| {
            let selected = match (&request.operation_name, name) {
                (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
                (None, _) => true,
                _ => false,
            };
            selected && op.node.ty != OperationType::Query
        });
        if is_mutation {
            let mut response = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "BAD_REQUEST",
                "Mutations need POST: GET runs queries only.",
            );
            response.headers_mut().insert(header::ALLOW, "GET, POST".parse().expect("static header"));
            return response;
        }
    }
    execute(&state, method, &headers, peer, request).await
}

pub async fn post_handler(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let config = &state.app.config;
    let is_multipart = content_type.as_deref().is_some_and(|ct| ct.to_ascii_lowercase().starts_with("multipart/"));
    // A file a little over the limit is read and answered with a
    // FILE_TOO_LARGE userError; a far larger one is cut off here, unread.
    let file_cutoff = config.max_upload_bytes.saturating_mul(2);
    let limit = if is_multipart { file_cutoff + config.max_body_bytes } else { config.max_body_bytes };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return error_response(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "The request body is too large.");
    }
    let body = Body::new(http_body_util::Limited::new(body, limit));
    let reader = tokio_util::io::StreamReader::new(
        body.into_data_stream().map_err(|e| std::io::Error::other(e.to_string())),
    )
    .compat();
    let options = MultipartOptions::default()
        .max_file_size(file_cutoff)
        .max_num_files(1);
    let batch = match async_graphql::http::receive_batch_body(content_type, reader, options).await {
        Ok(batch) => batch,
        Err(error) => return parse_error_response(error),
    };
    let request = match batch {
        async_graphql::BatchRequest::Single(request) => request,
        async_graphql::BatchRequest::Batch(_) => {
            return error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", "Batched requests are not supported: send one operation per request.")
        }
    };
    execute(&state, method, &headers, peer, request).await
}

fn parse_error_response(error: async_graphql::ParseRequestError) -> Response {
    use async_graphql::ParseRequestError as E;
    match error {
        E::PayloadTooLarge => error_response(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "The request body is too large."),
        E::Io(e) if e.to_string().contains("length limit exceeded") => {
            error_response(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", "The request body is too large.")
        }
        E::InvalidRequest(_) => error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", "The body is not a valid GraphQL request (malformed JSON?)."),
        E::InvalidMultipart(e) if e.to_string().to_lowercase().contains("size limit") => {
            error_response(StatusCode::PAYLOAD_TOO_LARGE, "FILE_TOO_LARGE", "The uploaded file is too large.")
        }
        E::InvalidFilesMap(_) | E::MissingMapPart | E::MissingOperatorsPart | E::NotUpload | E::MissingFiles | E::InvalidMultipart(_) => {
            error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", "The multipart request does not follow the GraphQL multipart request spec.")
        }
        _ => error_response(StatusCode::BAD_REQUEST, "BAD_REQUEST", "The body is not a valid GraphQL request."),
    }
}

async fn execute(
    state: &HttpState,
    _method: Method,
    headers: &HeaderMap,
    peer: SocketAddr,
    request: async_graphql::Request,
) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let auth = match authenticate(&state.app, authorization).await {
        Ok(auth) => auth,
        Err(error) => {
            tracing::error!(error = ?error, "authentication lookup failed");
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "Internal error.");
        }
    };
    let info = RequestInfo {
        auth,
        user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        ip: Some(peer.ip().to_string()),
    };
    let request = request.data(info).data(Loaders::new(&state.app.db)).data(state.app.clone());
    let response = state.schema.execute(request).await;
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}
