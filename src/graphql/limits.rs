//! Request limits, checked on the parsed document before anything runs (the
//! /graphql handler calls them through `documents`, once per distinct
//! query text):
//! - at most one credential-taking field per request, however aliased, so
//!   one request cannot carry a hundred password guesses; the handler counts
//!   that field against its client IP's budget (`ratelimit::credential_attempt`)
//!   before the operation runs, so no resolver has to;
//! - a depth limit for ordinary queries (introspection gets a deeper one:
//!   GraphiQL's own query nests about 13 levels).
//!
//! They are not an async-graphql extension on purpose: with no extension
//! installed, async-graphql resolves each field without building a
//! ResolveInfo and calling through the extension chain.
use std::collections::HashSet;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, FragmentDefinition, OperationDefinition, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Pos, Positioned, ServerResult};

use crate::error::ErrorCode;

/// The one list of fields that take a password, a code or a token from an
/// email (signup too: it hashes a password): one of them per request, each
/// counted in the per-IP budget.
pub const CREDENTIAL_FIELDS: &[&str] = &[
    "signup",
    "signin",
    "refreshTokens",
    "changePassword",
    "resetPassword",
    "confirmEmail",
    "deleteAccount",
    "verifyMfa",
    "finishPasskeySignin",
    "disableTotp",
    "regenerateRecoveryCodes",
    "signinWithIdToken",
    "finishOAuthSignin",
];

pub const MAX_DEPTH: usize = 10;
pub const MAX_INTROSPECTION_DEPTH: usize = 16;

/// The operation a request runs, as far as the handler needs to know it.
pub struct SelectedOperation {
    pub ty: OperationType,
    /// The credential field at its root, if any (at most one: see `check`).
    pub credential_field: Option<CredentialField>,
}

pub struct CredentialField {
    /// The schema's name for it.
    pub name: String,
    /// Its alias, or its name: where its error goes in the response.
    pub response_key: String,
    pub position: Pos,
}

/// The operation that `operation_name` selects, as async-graphql will pick
/// it; None when none matches (async-graphql then reports why).
pub fn selected_operation(document: &ExecutableDocument, operation_name: Option<&str>) -> Option<SelectedOperation> {
    let operation = operation(document, operation_name)?;
    let ty = operation.node.ty;
    let mut credential_field = None;
    if ty == OperationType::Mutation {
        visit_root_fields(document, &operation.node.selection_set, &mut HashSet::new(), &mut |field| {
            if credential_field.is_none() && CREDENTIAL_FIELDS.contains(&field.node.name.node.as_str()) {
                credential_field = Some(CredentialField {
                    name: field.node.name.node.to_string(),
                    response_key: field.node.response_key().node.to_string(),
                    position: field.pos,
                });
            }
        });
    }
    Some(SelectedOperation { ty, credential_field })
}

/// The operation that `operation_name` selects, as async-graphql picks it.
pub(crate) fn operation<'a>(document: &'a ExecutableDocument, operation_name: Option<&str>) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The checks, on a parsed document.
pub fn check(document: &ExecutableDocument) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        let selection_set = &operation.node.selection_set;
        let mut credential_fields = 0;
        visit_root_fields(document, selection_set, &mut HashSet::new(), &mut |field| {
            if CREDENTIAL_FIELDS.contains(&field.node.name.node.as_str()) {
                credential_fields += 1;
            }
        });
        if credential_fields > 1 {
            return Err(ErrorCode::BadUserInput.server_error(format!(
                "A request may carry at most one field that takes a password or a token ({}).",
                CREDENTIAL_FIELDS.join(", ")
            )));
        }
        let (depth, introspection_depth) = depth(document, selection_set, &mut Vec::new(), false);
        if depth > MAX_DEPTH || introspection_depth > MAX_INTROSPECTION_DEPTH {
            return Err(
                ErrorCode::GraphqlValidationFailed.server_error(format!("The query is nested too deeply (at most {MAX_DEPTH} levels)."))
            );
        }
    }
    Ok(())
}

fn fragment<'a>(document: &'a ExecutableDocument, name: &Name) -> Option<&'a Positioned<FragmentDefinition>> {
    document.fragments.get(name)
}

/// Calls `visit` with every field at the root of the operation, looking
/// through fragments (each fragment once: cycles are a validation error
/// reported later).
pub(crate) fn visit_root_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    seen: &mut HashSet<&'a str>,
    visit: &mut dyn FnMut(&'a Positioned<async_graphql::parser::types::Field>),
) {
    for selection in &set.node.items {
        match &selection.node {
            Selection::Field(field) => visit(field),
            Selection::InlineFragment(inline) => visit_root_fields(document, &inline.node.selection_set, seen, visit),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if seen.insert(name.as_str()) {
                    if let Some(definition) = fragment(document, name) {
                        visit_root_fields(document, &definition.node.selection_set, seen, visit);
                    }
                }
            }
        }
    }
}

/// (depth of ordinary fields, depth of introspection fields).
fn depth<'a>(
    document: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    path: &mut Vec<&'a str>,
    in_introspection: bool,
) -> (usize, usize) {
    let mut deepest = (0, 0);
    for selection in &set.node.items {
        let (ordinary, introspection) = match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                let introspective = in_introspection || name == "__schema" || name == "__type";
                let (o, i) = depth(document, &field.node.selection_set, path, introspective);
                if introspective {
                    (0, i.max(o) + 1)
                } else {
                    (o + 1, i)
                }
            }
            Selection::InlineFragment(inline) => depth(document, &inline.node.selection_set, path, in_introspection),
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                // A fragment already on the path is a cycle: validation refuses it.
                if path.contains(&name) {
                    (0, 0)
                } else if let Some(definition) = fragment(document, &spread.node.fragment_name.node) {
                    path.push(name);
                    let found = depth(document, &definition.node.selection_set, path, in_introspection);
                    path.pop();
                    found
                } else {
                    (0, 0)
                }
            }
        };
        deepest = (deepest.0.max(ordinary), deepest.1.max(introspection));
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str) -> Result<(), String> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        check(&document).map_err(|e| e.message)
    }

    #[test]
    fn one_credential_field_at_most_even_through_aliases_and_fragments() {
        assert!(checked("mutation { signin(input: {login: \"a\", password: \"b\"}) { tokens { accessToken } } }").is_ok());
        assert!(checked("mutation { a: signin(input: {login: \"a\", password: \"b\"}) { user { id } } b: signin(input: {login: \"a\", password: \"c\"}) { user { id } } }").is_err());
        assert!(checked("mutation { ...F ... on Mutation { refreshTokens(refreshToken: \"x\") { tokens { accessToken } } } } fragment F on Mutation { signin(input: {login: \"a\", password: \"b\"}) { user { id } } }").is_err());
        assert!(checked("mutation { signout { message } signin(input: {login: \"a\", password: \"b\"}) { user { id } } }").is_ok());
    }

    #[test]
    fn the_selected_operation_names_its_credential_field() {
        let document = async_graphql::parser::parse_query(
            "query Q { me { id } } mutation M { signout { message } ... on Mutation { again: signin(input: {login: \"a\", password: \"b\"}) { user { id } } } }",
        )
        .unwrap();
        let query = selected_operation(&document, Some("Q")).unwrap();
        assert!(query.ty == OperationType::Query && query.credential_field.is_none());
        let mutation = selected_operation(&document, Some("M")).unwrap();
        assert_eq!(mutation.credential_field.map(|f| f.response_key).as_deref(), Some("again"));
        assert!(selected_operation(&document, None).is_none(), "two operations need a name");
        assert!(selected_operation(&document, Some("X")).is_none());
    }

    #[test]
    fn depth_is_limited_but_introspection_fits() {
        let nested = format!("{{ {}id{} }}", "me { profile { user { ".repeat(4), " } } }".repeat(4));
        assert!(checked(&nested).is_err());
        assert!(checked("{ me { profile { user { profile { user { id } } } } } }").is_ok());
        let introspection = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }";
        assert!(checked(introspection).is_ok());
        assert!(checked("{ ...A } fragment A on Query { ...A }").is_ok(), "cycles are left to validation");
    }
}
