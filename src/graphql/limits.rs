//! Request limits checked right after parsing, before anything runs:
//! - at most one credential-taking field per request, however aliased, so
//!   one request cannot carry a hundred password guesses;
//! - a depth limit for ordinary queries. Introspection gets a deeper one:
//!   GraphiQL's own introspection query nests about 13 levels.
use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, Positioned, ServerError, ServerResult, Variables};

/// Fields that take a password or a token from an email.
pub const CREDENTIAL_FIELDS: &[&str] =
    &["signin", "refreshTokens", "changePassword", "resetPassword", "confirmEmail", "deleteAccount"];

pub const MAX_DEPTH: usize = 10;
pub const MAX_INTROSPECTION_DEPTH: usize = 16;

pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimitsExtension)
    }
}

struct RequestLimitsExtension;

fn refusal(message: &str, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

#[async_graphql::async_trait::async_trait]
impl Extension for RequestLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check(&document)?;
        Ok(document)
    }
}

/// The checks, on a parsed document.
pub fn check(document: &ExecutableDocument) -> ServerResult<()> {
    for (_, operation) in document.operations.iter() {
        let selection_set = &operation.node.selection_set;
        let mut credential_fields = 0;
        count_root_fields(document, selection_set, &mut HashSet::new(), &mut |name| {
            if CREDENTIAL_FIELDS.contains(&name) {
                credential_fields += 1;
            }
        });
        if credential_fields > 1 {
            return Err(refusal(
                "A request may carry at most one field that takes a password or a token (signin, refreshTokens, changePassword, resetPassword, confirmEmail, deleteAccount).",
                "BAD_USER_INPUT",
            ));
        }
        let (depth, introspection_depth) = depth(document, selection_set, &mut Vec::new(), false);
        if depth > MAX_DEPTH || introspection_depth > MAX_INTROSPECTION_DEPTH {
            return Err(refusal(&format!("The query is nested too deeply (at most {MAX_DEPTH} levels)."), "GRAPHQL_VALIDATION_FAILED"));
        }
    }
    Ok(())
}

fn fragment<'a>(document: &'a ExecutableDocument, name: &Name) -> Option<&'a Positioned<FragmentDefinition>> {
    document.fragments.get(name)
}

/// Calls `visit` with the name of every field at the root of the operation,
/// looking through fragments (each fragment once: cycles are a validation
/// error reported later).
fn count_root_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a Positioned<SelectionSet>,
    seen: &mut HashSet<&'a str>,
    visit: &mut dyn FnMut(&str),
) {
    for selection in &set.node.items {
        match &selection.node {
            Selection::Field(field) => visit(field.node.name.node.as_str()),
            Selection::InlineFragment(inline) => count_root_fields(document, &inline.node.selection_set, seen, visit),
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if seen.insert(name.as_str()) {
                    if let Some(definition) = fragment(document, name) {
                        count_root_fields(document, &definition.node.selection_set, seen, visit);
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
    fn depth_is_limited_but_introspection_fits() {
        let nested = format!("{{ {}id{} }}", "me { profile { user { ".repeat(4), " } } }".repeat(4));
        assert!(checked(&nested).is_err());
        assert!(checked("{ me { profile { user { profile { user { id } } } } } }").is_ok());
        let introspection = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }";
        assert!(checked(introspection).is_ok());
        assert!(checked("{ ...A } fragment A on Query { ...A }").is_ok(), "cycles are left to validation");
    }
}
