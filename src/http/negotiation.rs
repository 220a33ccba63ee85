//! Which media type a GraphQL response is sent as, from the request's Accept
//! header, following the GraphQL over HTTP spec: `application/graphql-response+json`
//! when the client names it (and does not prefer `application/json`),
//! `application/json` when the Accept header is absent, a wildcard, or names
//! it; nothing (406) when the client accepts neither.
use axum::http::{header, HeaderMap};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub const JSON: &str = "application/json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: request errors get a 4xx status
    /// and no `data` entry.
    GraphQLResponseJson,
    /// `application/json`: every well-formed GraphQL request is answered 200.
    Json,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::GraphQLResponseJson => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => JSON,
        }
    }

    /// The content type header value (the spec's responses are UTF-8).
    pub fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphQLResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// How specifically a media range matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Match {
    Any,
    Subtype,
    Exact,
}

/// The quality the Accept header gives `wanted`, and how specific the range
/// that gave it was (the most specific matching range wins, RFC 9110 12.5.1).
fn quality(ranges: &[(String, f32)], wanted: &str) -> Option<(f32, Match)> {
    let (wanted_type, _) = wanted.split_once('/').unwrap_or((wanted, ""));
    ranges
        .iter()
        .filter_map(|(range, q)| {
            let matched = if range == wanted {
                Match::Exact
            } else if range == "*/*" {
                Match::Any
            } else if range.strip_suffix("/*") == Some(wanted_type) {
                Match::Subtype
            } else {
                return None;
            };
            Some((matched, *q))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map(|(matched, q)| (q, matched))
}

fn parse_accept(headers: &HeaderMap) -> Vec<(String, f32)> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let mut q = 1.0f32;
            for param in parts {
                if let Some((name, value)) = param.split_once('=') {
                    if name.trim().eq_ignore_ascii_case("q") {
                        q = value.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)).unwrap_or(0.0);
                    }
                }
            }
            Some((range, q))
        })
        .collect()
}

/// The media type to answer with, or None when the client accepts neither.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let ranges = parse_accept(headers);
    if ranges.is_empty() {
        // No Accept header: a legacy client, as if it had sent application/json.
        return Some(MediaType::Json);
    }
    let graphql = quality(&ranges, GRAPHQL_RESPONSE_JSON).filter(|(q, _)| *q > 0.0);
    let json = quality(&ranges, JSON).filter(|(q, _)| *q > 0.0);
    match (graphql, json) {
        // The new type only when the client named it and does not prefer
        // application/json: a wildcard alone means a legacy client.
        (Some((gq, Match::Exact)), Some((jq, _))) if gq >= jq => Some(MediaType::GraphQLResponseJson),
        (_, Some(_)) => Some(MediaType::Json),
        (Some(_), None) => Some(MediaType::GraphQLResponseJson),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_accept(values: &[&str]) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT, value.parse().unwrap());
        }
        negotiate(&headers)
    }

    #[test]
    fn legacy_clients_get_application_json() {
        assert_eq!(with_accept(&[]), Some(MediaType::Json));
        assert_eq!(with_accept(&["*/*"]), Some(MediaType::Json));
        assert_eq!(with_accept(&["application/*"]), Some(MediaType::Json));
        assert_eq!(with_accept(&["application/json"]), Some(MediaType::Json));
        assert_eq!(with_accept(&["application/json, multipart/mixed"]), Some(MediaType::Json));
        assert_eq!(with_accept(&["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]), Some(MediaType::Json));
    }

    #[test]
    fn clients_naming_the_new_type_get_it() {
        assert_eq!(with_accept(&["application/graphql-response+json"]), Some(MediaType::GraphQLResponseJson));
        assert_eq!(with_accept(&["application/graphql-response+json, application/json;q=0.9"]), Some(MediaType::GraphQLResponseJson));
        assert_eq!(
            with_accept(&[
                "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"
            ]),
            Some(MediaType::GraphQLResponseJson)
        );
        assert_eq!(with_accept(&["Application/GraphQL-Response+JSON; charset=utf-8"]), Some(MediaType::GraphQLResponseJson));
        assert_eq!(with_accept(&["application/json", "application/graphql-response+json"]), Some(MediaType::GraphQLResponseJson));
    }

    #[test]
    fn preferences_are_honoured() {
        assert_eq!(with_accept(&["application/graphql-response+json;q=0.5, application/json"]), Some(MediaType::Json));
        assert_eq!(with_accept(&["application/graphql-response+json;q=0.5, */*"]), Some(MediaType::Json));
        assert_eq!(with_accept(&["application/json;q=0, */*"]), Some(MediaType::GraphQLResponseJson));
        assert_eq!(with_accept(&["application/graphql-response+json;q=0, */*"]), Some(MediaType::Json));
    }

    #[test]
    fn nothing_acceptable_is_none() {
        assert_eq!(with_accept(&["text/html"]), None);
        assert_eq!(with_accept(&["image/png, text/*"]), None);
        assert_eq!(with_accept(&["application/json;q=0"]), None);
        assert_eq!(with_accept(&["application/json;q=0, application/graphql-response+json;q=0"]), None);
    }
}
