//! What the session check can read in the same statement: a query that
//! looks one user up by id at its root (`profile(userId:)`, `user(id:)`)
//! gets that user and profile with the viewer's row, so that on PostgreSQL,
//! where every statement is a network round trip, it runs one statement
//! instead of two. The resolvers still apply every visibility rule.
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{Value, Variables};
use std::collections::HashSet;

use super::limits::{operation, visit_root_fields};

/// The root fields that look a user up by id, with the argument naming it.
const LOOKUPS: &[(&str, &str)] = &[("profile", "userId"), ("user", "id")];

/// The one user id the selected query operation looks up at its root, when
/// there is exactly one (literal or variable); None for mutations, for
/// several ids, or for anything else.
pub fn looked_up_user(document: &ExecutableDocument, operation_name: Option<&str>, variables: &Variables) -> Option<String> {
    let operation = operation(document, operation_name)?;
    if operation.node.ty != OperationType::Query {
        return None;
    }
    let mut ids: Vec<Option<String>> = Vec::new();
    visit_root_fields(document, &operation.node.selection_set, &mut HashSet::new(), &mut |field| {
        let name = field.node.name.node.as_str();
        let Some((_, argument)) = LOOKUPS.iter().find(|(field, _)| *field == name) else { return };
        let id = field.node.get_argument(argument).and_then(|value| {
            match value.node.clone().into_const_with(|variable| variables.get(&variable).cloned().ok_or(())) {
                Ok(Value::String(id)) => Some(id),
                _ => None,
            }
        });
        ids.push(id);
    });
    match ids.as_slice() {
        [first @ Some(_), rest @ ..] if rest.iter().all(|id| id == first) => first.clone(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn looked_up(query: &str, variables: serde_json::Value) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        looked_up_user(&document, None, &Variables::from_json(variables))
    }

    #[test]
    fn one_id_at_the_root_is_looked_up() {
        assert_eq!(looked_up("{ profile(userId: \"a\") { bio } }", serde_json::json!({})), Some("a".into()));
        assert_eq!(looked_up("query($id: ID!) { user(id: $id) { id } }", serde_json::json!({ "id": "b" })), Some("b".into()));
        assert_eq!(
            looked_up("query($id: ID!) { user(id: $id) { id } p: profile(userId: $id) { bio } }", serde_json::json!({ "id": "c" })),
            Some("c".into())
        );
        assert_eq!(looked_up("{ ...F } fragment F on Query { profile(userId: \"d\") { bio } }", serde_json::json!({})), Some("d".into()));
    }

    #[test]
    fn anything_else_is_not() {
        assert_eq!(looked_up("{ profile { bio } }", serde_json::json!({})), None, "the viewer's own comes with the session anyway");
        assert_eq!(looked_up("{ a: user(id: \"a\") { id } b: user(id: \"b\") { id } }", serde_json::json!({})), None);
        assert_eq!(looked_up("query($id: ID!) { user(id: $id) { id } }", serde_json::json!({ "id": 5 })), None);
        assert_eq!(looked_up("mutation { user(id: \"a\") { id } }", serde_json::json!({})), None);
        assert_eq!(looked_up("{ me { id } }", serde_json::json!({})), None);
    }
}
