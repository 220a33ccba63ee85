//! Request limits:
//! - right after parsing, before anything runs: at most one credential-taking
//!   field per request, however aliased, so one request cannot carry a
//!   hundred password guesses; a depth limit for ordinary queries
//!   (introspection gets a deeper one: GraphiQL's own query nests about 13
//!   levels);
//! - as a credential-taking field starts: it counts against its client IP's
//!   budget (`ratelimit::credential_attempt`), so no resolver has to.
use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, ResolveInfo};
use async_graphql::parser::types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, PathSegment, Positioned, ServerResult, Value, Variables};

use crate::error::ErrorCode;
use crate::graphql::context::RequestInfo;
use crate::state::AppState;

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
];

pub const MAX_DEPTH: usize = 10;
pub const MAX_INTROSPECTION_DEPTH: usize = 16;

pub struct RequestLimits;

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimitsExtension)
    }
}

struct RequestLimitsExtension;

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

    async fn resolve(&self, ctx: &ExtensionContext<'_>, info: ResolveInfo<'_>, next: NextResolve<'_>) -> ServerResult<Option<Value>> {
        let is_root = info.path_node.parent.is_none();
        if is_root && info.parent_type == "Mutation" && CREDENTIAL_FIELDS.contains(&info.name) {
            if let (Ok(state), Ok(request)) = (ctx.data::<AppState>(), ctx.data::<RequestInfo>()) {
                if let Err(error) = crate::ratelimit::credential_attempt(state, request.ip.as_deref()).await {
                    let mut error = error.into_server_error();
                    error.locations = vec![info.field.name.pos];
                    error.path = vec![PathSegment::Field(info.alias.unwrap_or(info.name).to_owned())];
                    return Err(error);
                }
            }
        }
        next.run(ctx, info).await
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
