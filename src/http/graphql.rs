//! The /graphql endpoint: POST (JSON or multipart) and GET (queries only, or
//! GraphiQL for a browser), following the GraphQL over HTTP spec: the
//! response's media type comes from the Accept header, and with
//! `application/graphql-response+json` a request that fails before it runs
//! (unparsable, invalid, bad variables) is a 400 without `data`.
use std::net::SocketAddr;

use async_graphql::http::MultipartOptions;
use async_graphql::parser::types::OperationType;
use async_graphql::PathSegment;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use tokio_util::compat::TokioAsyncReadCompatExt;

use super::errors::{
    bad_request, error_response, internal_error, missing_query, normalize_errors, not_acceptable, parse_error_response, payload_too_large,
    unavailable, with_retry_after,
};
use super::negotiation::{negotiate, MediaType};
use super::HttpState;
use crate::error::{AppError, ErrorCode};
use crate::graphql::context::RequestInfo;
use crate::graphql::documents::Prepared;
use crate::graphql::loaders::Loaders;
use crate::graphql::{inputs, limits, prefetch};
use crate::sessions::service::{authenticate, Authenticated, LookedUp};
use crate::viewer::Auth;

fn wants_html(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"))
}

pub async fn get_handler(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query = uri.query().unwrap_or_default();
    if query.is_empty() && wants_html(&headers) && state.app.config.http.graphiql {
        return super::graphiql::page();
    }
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    let request = match async_graphql::http::parse_query_string(query) {
        Ok(request) => request,
        Err(_) => return bad_request(media, "The query string is not a GraphQL request."),
    };
    execute(&state, media, &headers, peer, request, Method::Get).await
}

pub async fn post_handler(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(media) = negotiate(&headers) else { return not_acceptable() };
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    if needs_preflight_proof(content_type.as_deref()) && !has_preflight_header(&headers) {
        return bad_request(
            media,
            "This request could be a cross-site request forgery: send it as application/json, or add a non-empty Apollo-Require-Preflight (or X-Apollo-Operation-Name, GraphQL-Require-Preflight) header.",
        );
    }
    let essence = content_type.as_deref().map(media_essence).unwrap_or_default();
    let is_multipart = essence == "multipart/form-data";
    if essence != "application/json" && !is_multipart {
        return error_response(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            "Send the request as application/json, or as multipart/form-data for uploads.",
        );
    }
    let config = &state.app.config;
    // A file a little over the limit is read and answered with a
    // FILE_TOO_LARGE userError; a far larger one is cut off here, unread.
    let file_cutoff = config.media.max_upload_bytes.saturating_mul(2);
    let limit = if is_multipart { file_cutoff + config.http.max_body_bytes } else { config.http.max_body_bytes };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return payload_too_large(media);
    }
    let body = Body::new(http_body_util::Limited::new(body, limit));
    // A multipart body is read whole (it is bounded above) so that its map
    // can be checked against what async-graphql made of it.
    let (reader, multipart_body) = if is_multipart {
        let bytes = match axum::body::to_bytes(body, usize::MAX).await {
            Ok(bytes) => bytes,
            Err(_) => return payload_too_large(media),
        };
        let stream = futures::stream::once(std::future::ready(Ok::<_, std::io::Error>(bytes.clone())));
        (Body::from_stream(stream), Some(bytes))
    } else {
        (body, None)
    };
    let reader = tokio_util::io::StreamReader::new(reader.into_data_stream().map_err(|e| std::io::Error::other(e.to_string()))).compat();
    let options = MultipartOptions::default().max_file_size(file_cutoff).max_num_files(1);
    let batch = match async_graphql::http::receive_batch_body(content_type.clone(), reader, options).await {
        Ok(batch) => batch,
        Err(error) => return parse_error_response(media, error),
    };
    let request = match batch {
        async_graphql::BatchRequest::Single(request) => request,
        async_graphql::BatchRequest::Batch(_) => {
            return bad_request(media, "Batched requests are not supported: send one operation per request.")
        }
    };
    if let (Some(bytes), Some(content_type)) = (multipart_body, content_type.as_deref()) {
        if let Err(problem) = super::multipart::check_map(content_type, bytes, &request).await {
            return bad_request(media, &problem);
        }
    }
    execute(&state, media, &headers, peer, request, Method::Post).await
}

/// Content types a browser may send cross-site without a CORS preflight
/// (or none at all): a request with one of them must prove it is not a
/// forgery, as Apollo Server's CSRF prevention does.
fn needs_preflight_proof(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else { return true };
    matches!(media_essence(content_type).as_str(), "" | "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data")
}

/// `type/subtype` of a content type, lower-cased, without parameters.
fn media_essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn has_preflight_header(headers: &HeaderMap) -> bool {
    ["apollo-require-preflight", "x-apollo-operation-name", "graphql-require-preflight"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.as_bytes().is_empty()))
}

/// The client's address: the socket's peer, or, when the peer is a trusted
/// proxy, the nearest untrusted address in X-Forwarded-For.
pub fn client_ip(peer: std::net::IpAddr, headers: &HeaderMap, trusted: &[crate::config::IpNet]) -> std::net::IpAddr {
    let is_trusted = |ip: std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded.iter().rev().copied().find(|ip| !is_trusted(*ip)).or(forwarded.first().copied()).unwrap_or(peer)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

async fn execute(
    state: &HttpState,
    media: MediaType,
    headers: &HeaderMap,
    peer: SocketAddr,
    mut request: async_graphql::Request,
    method: Method,
) -> Response {
    let request_id = request_id(headers);
    if request.query.trim().is_empty() && !request.extensions.contains_key("persistedQuery") {
        return missing_query(media);
    }
    // Parsed and checked once per distinct query text; a hash-only request
    // gets its text here.
    let document = match state.documents.prepare(&mut request) {
        Ok(Prepared::Ready(checked)) => Some(checked),
        Ok(Prepared::Unparsable) => None,
        Err(refusal) => {
            return graphql_response(media, normalize_errors(async_graphql::Response::from_errors(vec![refusal]), &request_id), &request_id)
        }
    };
    // No control characters, no file where no Upload goes: refused before
    // anything runs or counts.
    if let Some(checked) = &document {
        if let Err(refusal) = inputs::check(&checked.document, &request.variables, &state.registry) {
            return graphql_response(
                media,
                normalize_errors(async_graphql::Response::from_errors(vec![refusal]), &request_id),
                &request_id,
            );
        }
    }
    let operation = document.as_ref().and_then(|checked| limits::selected_operation(&checked.document, request.operation_name.as_deref()));
    let ip = client_ip(peer.ip(), headers, &state.app.config.http.trusted_proxies.0).to_string();
    if let Some(operation) = &operation {
        // GET must never change anything: only queries run over it.
        if method == Method::Get && operation.ty != OperationType::Query {
            let mut response =
                error_response(media, StatusCode::METHOD_NOT_ALLOWED, ErrorCode::BadRequest, "Mutations need POST: GET runs queries only.");
            response.headers_mut().insert(header::ALLOW, "GET, POST".parse().expect("static header"));
            return response;
        }
        // A field that takes a password or a token counts against its
        // client's budget before anything runs (see `graphql::limits`).
        if let Some(field) = &operation.credential_field {
            if let Err(error) = crate::ratelimit::credential_attempt(&state.app, Some(&ip)).await {
                // Refused before it ran, it still counts as that field's failure.
                state.app.metrics.graphql_field(true, &field.name, false, std::time::Duration::ZERO);
                let mut error = error.into_server_error();
                error.locations = vec![field.position];
                error.path = vec![PathSegment::Field(field.response_key.clone())];
                return graphql_response(
                    media,
                    normalize_errors(async_graphql::Response::from_errors(vec![error]), &request_id),
                    &request_id,
                );
            }
        }
    }
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let is_query = operation.as_ref().is_some_and(|operation| operation.ty == OperationType::Query);
    // A query that looks one user up by id gets it with the session check.
    let looked_up = match (&document, authorization) {
        (Some(checked), Some(_)) => prefetch::looked_up_user(&checked.document, request.operation_name.as_deref(), &request.variables),
        _ => None,
    };
    let Authenticated { auth, viewer_profile, looked_up } = match authenticate(&state.app, authorization, looked_up.as_deref()).await {
        Ok(found) => found,
        Err(AppError::Unavailable) => return unavailable(media),
        Err(error) => {
            tracing::error!(request_id = %request_id, error = ?error, "authentication lookup failed");
            return internal_error(media, &request_id);
        }
    };
    let loaders = Loaders::new(&state.app.db);
    // The viewer's profile came with the session check. A query can use it
    // as is; a mutation may change it before reading it back.
    if let (true, Auth::Viewer(viewer), Some(profile)) = (is_query, &auth, viewer_profile) {
        loaders.profiles().feed_one(viewer.user_id.clone(), profile).await;
    }
    if let Some(LookedUp { id, found }) = looked_up {
        loaders.feed_looked_up(id, found).await;
    }
    let info =
        RequestInfo { auth, user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned), ip: Some(ip) };
    if let Some(checked) = document {
        request.set_parsed_query(checked.document.clone());
    }
    let request = request.data(info).data(loaders).data(state.app.clone());
    let response = normalize_errors(state.schema.execute(request).await, &request_id);
    graphql_response(media, response, &request_id)
}

/// Whether the request failed before execution began (it did not parse, was
/// invalid, its variables did not coerce, or a request limit refused it):
/// no data, and only errors that no field raised.
fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null && !response.errors.is_empty() && response.errors.iter().all(|error| error.path.is_empty())
}

/// The HTTP response for a GraphQL response, in the negotiated media type.
/// A request error has no `data` entry (the GraphQL spec: "if an error was
/// raised before execution begins, the data entry should not be present")
/// and, as application/graphql-response+json, status 400; application/json
/// answers every GraphQL result with 200, as legacy clients expect.
fn graphql_response(media: MediaType, response: async_graphql::Response, request_id: &str) -> Response {
    let request_error = is_request_error(&response);
    // BAD_REQUEST (a multipart map pointing at no Upload) is about the HTTP request itself: 400 in either media type.
    let bad_http_request = request_error && response.errors.iter().any(|e| has_code(e, ErrorCode::BadRequest));
    // UNAVAILABLE (the database is unreachable) is a 503 with Retry-After, so that balancers and clients back off.
    let outage = response.errors.iter().any(|e| has_code(e, ErrorCode::Unavailable));
    let status = if outage {
        StatusCode::SERVICE_UNAVAILABLE
    } else if bad_http_request || request_error && media == MediaType::GraphQLResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let cache_control = if response.is_ok() { response.cache_control.value() } else { None };
    // Serialized once, straight to bytes.
    let body = GraphqlBody { data: (!request_error).then_some(&response.data), errors: &response.errors, extensions: &response.extensions };
    let bytes = match serde_json::to_vec(&body) {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(error = %error, "a GraphQL response did not serialize");
            return internal_error(media, request_id);
        }
    };
    let mut http_response = (status, [(header::CONTENT_TYPE, media.content_type())], bytes).into_response();
    if let Some(value) = cache_control.and_then(|v| header::HeaderValue::from_str(&v).ok()) {
        http_response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    http_response.headers_mut().extend(response.http_headers);
    if outage {
        with_retry_after(&mut http_response);
    }
    http_response
}

fn has_code(error: &async_graphql::ServerError, code: ErrorCode) -> bool {
    error.extensions.as_ref().and_then(|ext| ext.get("code")).is_some_and(|v| *v == async_graphql::Value::from(code.as_str()))
}

/// A GraphQL response as it goes out: async-graphql's own shape, except that
/// a request error has no `data` entry at all.
#[derive(serde::Serialize)]
struct GraphqlBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a async_graphql::Value>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// A request id from a well-formed X-Request-Id header, or a new one.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}
