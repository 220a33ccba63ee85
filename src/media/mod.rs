//! Media: display pictures in an object store, served under /media/{key}.
use crate::state::AppState;

/// The absolute URL a client fetches a stored picture from.
pub fn public_url(state: &AppState, key: &str) -> String {
    format!("{}/media/{}", state.public_url(), key)
}
