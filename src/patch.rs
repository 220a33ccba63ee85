//! Partial updates (`updateAccount`, `updateProfile`): what an omitted, null
//! or blank input field does to a stored value. Omitted leaves it alone;
//! null clears it; so does text that is only blanks.
use async_graphql::MaybeUndefined;

/// Blank text counts as null (a clear); anything else is kept as sent.
pub fn blank_clears(value: MaybeUndefined<String>) -> MaybeUndefined<String> {
    match value {
        MaybeUndefined::Value(v) if v.trim().is_empty() => MaybeUndefined::Null,
        other => other,
    }
}

/// A free-text field: blank clears, and the ends are trimmed (inner line
/// breaks stay).
pub fn text(value: MaybeUndefined<String>) -> MaybeUndefined<String> {
    blank_clears(value).map_value(|v| v.trim().to_owned())
}

/// Applies a change to a stored optional column: omitted does nothing.
pub fn apply<T>(change: MaybeUndefined<T>, set: impl FnOnce(Option<T>)) {
    match change {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => set(None),
        MaybeUndefined::Value(v) => set(Some(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_a_clear_and_text_is_trimmed() {
        assert_eq!(blank_clears(MaybeUndefined::Value("  ".into())), MaybeUndefined::Null);
        assert_eq!(blank_clears(MaybeUndefined::Value(" a ".into())), MaybeUndefined::Value(" a ".into()));
        assert_eq!(text(MaybeUndefined::Value(" a\nb ".into())), MaybeUndefined::Value("a\nb".into()));
        assert_eq!(text(MaybeUndefined::Undefined), MaybeUndefined::Undefined);
        let mut stored = Some(1);
        apply(MaybeUndefined::Undefined, |v| stored = v);
        assert_eq!(stored, Some(1));
        apply(MaybeUndefined::Null, |v| stored = v);
        assert_eq!(stored, None);
    }
}
