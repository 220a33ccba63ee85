//! Input checks at the edge, right after parsing and before anything runs,
//! for every String and ID the schema takes (arguments written in the query
//! and variables alike), so that no domain has to remember them:
//! - no C0 control character other than tab, line feed and carriage return:
//!   PostgreSQL refuses NUL in text, SQLite would store it, and no name, id,
//!   login, token or text of ours has a use for the others. The request is
//!   refused as a whole with BAD_USER_INPUT naming where the character is, the
//!   same way on every database;
//! - a multipart upload (`#__graphql_file__:N`, what async-graphql puts where
//!   the request's map points) only where the schema takes an `Upload`:
//!   anywhere else it is a BAD_REQUEST, not text that would be stored.
//!
//! The /graphql handler runs them on every request, after `documents` found
//! or parsed the document (the variables differ each time).
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::registry::{MetaType, Registry};
use async_graphql::{Positioned, ServerResult, Value as ConstValue, Variables};

use crate::error::ErrorCode;

/// What async-graphql's multipart reader writes where a file is mapped.
const UPLOAD_PLACEHOLDER: &str = "#__graphql_file__:";

/// Whether text holds a control character the API never takes.
pub fn has_forbidden_control(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control() && c != '\u{7f}' && !matches!(c, '\t' | '\n' | '\r'))
}

/// The checks, on a parsed document and its variables.
pub fn check(document: &ExecutableDocument, variables: &Variables, registry: &Registry) -> ServerResult<()> {
    for (name, value) in variables.iter() {
        if let Some(path) = control_in_const(value, &mut vec![name.to_string()]) {
            return Err(control_error(&format!("variables.{path}")));
        }
    }
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            let definition = &definition.node;
            if let Some(default) = &definition.default_value {
                if control_in_const(&default.node, &mut vec![definition.name.node.to_string()]).is_some() {
                    return Err(control_error(&format!("the default of ${}", definition.name.node)));
                }
            }
            if let Some(value) = variables.get(&definition.name.node) {
                let ty = definition.var_type.node.to_string();
                if let Some(path) = upload_outside_upload(registry, &ty, value, &mut vec![definition.name.node.to_string()]) {
                    return Err(ErrorCode::BadRequest.server_error(format!(
                        "The multipart map puts a file at variables.{path}, which is not an Upload: map files to Upload variables only."
                    )));
                }
            }
        }
        directives(&operation.node.directives)?;
        selection_set(&operation.node.selection_set)?;
    }
    for (_, fragment) in document.fragments.iter() {
        directives(&fragment.node.directives)?;
        selection_set(&fragment.node.selection_set)?;
    }
    Ok(())
}

fn control_error(place: &str) -> async_graphql::ServerError {
    ErrorCode::BadUserInput
        .server_error(format!("{place} holds a control character (U+0000 to U+001F other than tab and line breaks): remove it."))
}

/// Checks the literal arguments of `$arguments` (a field's or a directive's).
macro_rules! literal_arguments {
    ($arguments:expr) => {
        for (name, value) in &$arguments {
            // Variables in a literal are checked as variables: here they are null.
            let value = value.node.clone().into_const_with(|_| Ok::<_, std::convert::Infallible>(ConstValue::Null));
            if let Some(path) = value.ok().and_then(|value| control_in_const(&value, &mut vec![name.node.to_string()])) {
                let mut error = control_error(&format!("The argument {path}"));
                error.locations = vec![name.pos];
                return Err(error);
            }
        }
    };
}

fn directives(list: &[Positioned<async_graphql::parser::types::Directive>]) -> ServerResult<()> {
    for directive in list {
        literal_arguments!(directive.node.arguments);
    }
    Ok(())
}

fn selection_set(set: &Positioned<SelectionSet>) -> ServerResult<()> {
    for selection in &set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                literal_arguments!(field.node.arguments);
                directives(&field.node.directives)?;
                selection_set(&field.node.selection_set)?;
            }
            Selection::InlineFragment(inline) => {
                directives(&inline.node.directives)?;
                selection_set(&inline.node.selection_set)?;
            }
            // A spread's fragment is checked once, from the document's fragments.
            Selection::FragmentSpread(spread) => directives(&spread.node.directives)?,
        }
    }
    Ok(())
}

/// The dotted path of the first string (or object key) with a forbidden control character.
fn control_in_const(value: &ConstValue, path: &mut Vec<String>) -> Option<String> {
    match value {
        ConstValue::String(text) if has_forbidden_control(text) => Some(path.join(".")),
        ConstValue::Enum(name) if has_forbidden_control(name.as_str()) => Some(path.join(".")),
        ConstValue::List(items) => {
            items.iter().enumerate().find_map(|(i, item)| nested(path, i.to_string(), |p| control_in_const(item, p)))
        }
        ConstValue::Object(fields) => fields.iter().find_map(|(key, item)| {
            if has_forbidden_control(key) {
                return Some(path.join("."));
            }
            nested(path, key.to_string(), |p| control_in_const(item, p))
        }),
        _ => None,
    }
}

fn nested(path: &mut Vec<String>, segment: String, look: impl FnOnce(&mut Vec<String>) -> Option<String>) -> Option<String> {
    path.push(segment);
    let found = look(path);
    path.pop();
    found
}

/// The path of an upload placeholder sitting where the type `ty` (as the
/// registry spells types: `[Upload!]!`) is not an Upload.
fn upload_outside_upload(registry: &Registry, ty: &str, value: &ConstValue, path: &mut Vec<String>) -> Option<String> {
    let ty = ty.strip_suffix('!').unwrap_or(ty);
    if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return match value {
            ConstValue::List(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| nested(path, i.to_string(), |p| upload_outside_upload(registry, inner, item, p))),
            // A single value where a list is expected is coerced into a list of one.
            other => upload_outside_upload(registry, inner, other, path),
        };
    }
    if ty == "Upload" {
        return None;
    }
    match (value, registry.types.get(ty)) {
        (ConstValue::String(text), _) if text.starts_with(UPLOAD_PLACEHOLDER) => Some(path.join(".")),
        (ConstValue::Object(fields), Some(MetaType::InputObject { input_fields, .. })) => fields.iter().find_map(|(key, item)| {
            let field_type = input_fields.get(key.as_str())?.ty.as_str();
            nested(path, key.to_string(), |p| upload_outside_upload(registry, field_type, item, p))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_other_than_tabs_and_line_breaks_are_forbidden() {
        assert!(has_forbidden_control("a\u{0}b"));
        assert!(has_forbidden_control("\u{1b}[31m"));
        assert!(has_forbidden_control("\u{1f}"));
        assert!(!has_forbidden_control("two\tcolumns\r\nand lines\n"));
        assert!(!has_forbidden_control("Zoë 🙂 \u{7f}"));
    }

    #[test]
    fn the_path_to_the_character_is_named() {
        let value = ConstValue::from_json(serde_json::json!({ "ids": ["ok", "b\u{0}d"] })).unwrap();
        assert_eq!(control_in_const(&value, &mut vec!["input".into()]).as_deref(), Some("input.ids.1"));
        let literal = async_graphql::parser::parse_query("{ user(id: \"a\\u0000b\") { id } }").unwrap();
        let registry = async_graphql::registry::Registry::default();
        let error = check(&literal, &Variables::default(), &registry).unwrap_err();
        assert!(error.message.starts_with("The argument id holds a control character"), "{}", error.message);
    }
}
