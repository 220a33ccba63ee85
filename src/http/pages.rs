//! The pages behind the links in mails, for a server without a frontend of
//! its own (APP_URL unset or equal to PUBLIC_URL, or BUILTIN_PAGES=true):
//! GET /confirm-email?token= and GET /reset-password?token=. A GET changes
//! nothing, since mail scanners open links too: the page's script uses the
//! token through the GraphQL API only when the person presses the button or
//! sends the new password. The pages are static (the script reads the token
//! from the address), load nothing from another host, and run under a
//! strict Content-Security-Policy: no inline script or style, no eval.
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::HttpState;
use crate::mail::templates::{CONFIRM_EMAIL_PATH, RESET_PASSWORD_PATH};

/// The routes, as the metrics label them.
pub const ROUTES: &[&str] = &["/confirm-email", "/reset-password", "/pages/{file}"];

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CONFIRM_EMAIL_HTML: &str = include_str!("../../assets/pages/confirm-email.html");
const RESET_PASSWORD_HTML: &str = include_str!("../../assets/pages/reset-password.html");

/// The files the pages load, from /pages/{file}.
const FILES: &[(&str, &str, &str)] = &[
    ("pages.js", "text/javascript; charset=utf-8", include_str!("../../assets/pages/pages.js")),
    ("pages.css", "text/css; charset=utf-8", include_str!("../../assets/pages/pages.css")),
];

/// The pages' routes, added to the router when they are on.
pub fn routes(router: Router<HttpState>) -> Router<HttpState> {
    debug_assert_eq!(ROUTES[0], format!("/{CONFIRM_EMAIL_PATH}"));
    debug_assert_eq!(ROUTES[1], format!("/{RESET_PASSWORD_PATH}"));
    router
        .route(ROUTES[0], get(|| async { page(CONFIRM_EMAIL_HTML) }))
        .route(ROUTES[1], get(|| async { page(RESET_PASSWORD_HTML) }))
        .route(ROUTES[2], get(file))
}

fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            // The address holds a token: keep it out of caches and Referer headers.
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        html,
    )
        .into_response()
}

async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            ],
            *body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_load_only_their_own_files_and_hold_no_inline_script_or_style() {
        for html in [CONFIRM_EMAIL_HTML, RESET_PASSWORD_HTML] {
            let sources: Vec<&str> = html.split('"').filter(|part| part.starts_with('/') || part.contains("://")).collect();
            assert_eq!(sources.len(), 2, "{sources:?}");
            for source in sources {
                let name = source.strip_prefix("/pages/").unwrap_or_else(|| panic!("not one of the pages' files: {source}"));
                assert!(FILES.iter().any(|(file, _, body)| *file == name && !body.is_empty()), "{name}");
            }
            assert!(!html.contains("<script>") && !html.contains("<style") && !html.contains("style="), "the CSP forbids inline code");
            let handler = html.split_whitespace().find(|word| word.starts_with("on") && word.contains('='));
            assert_eq!(handler, None, "no inline event handlers");
        }
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe") && !CONTENT_SECURITY_POLICY.contains('*'));
    }
}
