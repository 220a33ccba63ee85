//! Cursor paging shared by every connection: page sizes, opaque cursors and
//! the contract's PageInfo.
use async_graphql::SimpleObject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::AppError;

/// The most items one page may hold.
pub const MAX_PAGE_SIZE: i32 = 100;

/// Where a page ends and whether more items follow.
#[derive(Debug, Clone, SimpleObject)]
pub struct PageInfo {
    /// True when more items follow this page.
    pub has_next_page: bool,
    /// The cursor of the page's last item, to pass as `after` for the next page; null when the page is empty.
    pub end_cursor: Option<String>,
}

/// `first` checked against 0..=100; absent (or null) means `default`.
pub fn page_size(first: Option<i32>, default: i32) -> Result<u64, AppError> {
    let first = first.unwrap_or(default);
    if !(0..=MAX_PAGE_SIZE).contains(&first) {
        return Err(AppError::BadInput(format!("`first` must be between 0 and {MAX_PAGE_SIZE}.")));
    }
    Ok(first as u64)
}

/// Wraps a cursor's inner text so that clients treat it as opaque.
pub fn encode_cursor(kind: &str, inner: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{inner}"))
}

/// The error for an `after` that is not a cursor of this list.
pub fn invalid_cursor() -> AppError {
    AppError::BadInput("The `after` cursor is not valid: pass an endCursor or edge cursor from this list.".into())
}

/// The inner text of a cursor made by `encode_cursor` with the same `kind`.
pub fn decode_cursor(kind: &str, cursor: &str) -> Result<String, AppError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).map_err(|_| invalid_cursor())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid_cursor())?;
    text.strip_prefix(kind).and_then(|rest| rest.strip_prefix(':')).map(str::to_owned).ok_or_else(invalid_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_checked() {
        let cursor = encode_cursor("u", "2026-01-01T00:00:00Z|abc");
        assert_eq!(decode_cursor("u", &cursor).unwrap(), "2026-01-01T00:00:00Z|abc");
        assert!(decode_cursor("img", &cursor).is_err());
        assert!(decode_cursor("u", "not base64!").is_err());
        assert!(decode_cursor("u", "").is_err());
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(None, 20).unwrap(), 20);
        assert_eq!(page_size(Some(0), 20).unwrap(), 0);
        assert_eq!(page_size(Some(100), 20).unwrap(), 100);
        assert!(page_size(Some(101), 20).is_err());
        assert!(page_size(Some(-1), 20).is_err());
    }
}
