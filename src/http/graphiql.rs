//! GraphiQL that works offline: its files (a pinned npm release, vendored in
//! `assets/graphiql/`) are compiled into the binary and served from
//! /graphiql/assets/{hash}/{file}, so the page loads nothing from another
//! host, and its Content-Security-Policy says so.
use std::sync::LazyLock;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::HttpState;

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const FILES: &[Asset] = &[
    Asset {
        name: "react.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react.production.min.js"),
    },
    Asset {
        name: "react-dom.production.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        name: "graphiql.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        name: "graphiql.min.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        name: "tessera-graphiql.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/tessera-graphiql.js"),
    },
    Asset {
        name: "tessera-graphiql.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/graphiql/tessera-graphiql.css"),
    },
];

/// A short hash of all the files: it is part of every asset URL, so the
/// files can be cached forever and a new build is fetched anew.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for asset in FILES {
        hasher.update(asset.name.as_bytes());
        hasher.update((asset.bytes.len() as u64).to_le_bytes());
        hasher.update(asset.bytes);
    }
    hex::encode(&hasher.finalize()[..8])
});

/// Scripts and styles from this server only; GraphiQL's fonts are data: URLs
/// inside its CSS; requests go to this server only. No inline script, no
/// eval, no 'unsafe-inline'. The one hash is the `<style>` element GraphiQL's
/// dialogs insert to lock scrolling (react-remove-scroll-bar); its text is
/// fixed because this page never has a scroll bar (tessera-graphiql.css).
/// The Chromium test opens a dialog and fails on any CSP violation.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='; \
     font-src 'self' data:; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset_url(name: &str) -> String {
    format!("/graphiql/assets/{}/{name}", *VERSION)
}

static PAGE: LazyLock<String> = LazyLock::new(|| {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tessera · GraphiQL</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{graphiql_css}">
<link rel="stylesheet" href="{tessera_css}">
</head>
<body>
<div id="graphiql" data-endpoint="/graphql">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript. The API itself is at POST /graphql.</noscript>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphiql}"></script>
<script src="{tessera_js}"></script>
</body>
</html>
"#,
        graphiql_css = asset_url("graphiql.min.css"),
        tessera_css = asset_url("tessera-graphiql.css"),
        react = asset_url("react.production.min.js"),
        react_dom = asset_url("react-dom.production.min.js"),
        graphiql = asset_url("graphiql.min.js"),
        tessera_js = asset_url("tessera-graphiql.js"),
    )
});

/// The GraphiQL page (GET /graphql from a browser).
pub fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE.as_str(),
    )
        .into_response()
}

/// GET /graphiql/assets/{version}/{file}: 404 unless GraphiQL is on, the
/// version is this build's and the file is one of GraphiQL's.
pub async fn asset(State(state): State<HttpState>, Path((version, name)): Path<(String, String)>) -> Response {
    let found = FILES.iter().find(|asset| asset.name == name);
    match found {
        Some(asset) if state.app.config.http.graphiql && version == *VERSION => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            asset.bytes,
        )
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_only_local_assets_that_exist() {
        let sources: Vec<&str> = PAGE.split('"').filter(|part| part.starts_with('/') || part.contains("://")).collect();
        assert!(sources.len() >= 6, "{sources:?}");
        for source in sources {
            if source == "/graphql" {
                continue;
            }
            let name = source.strip_prefix(&format!("/graphiql/assets/{}/", *VERSION)).unwrap_or_else(|| panic!("not local: {source}"));
            assert!(FILES.iter().any(|asset| asset.name == name && !asset.bytes.is_empty()), "{name}");
        }
        assert!(!PAGE.contains("<script>"), "no inline script: the CSP forbids it");
    }
}
