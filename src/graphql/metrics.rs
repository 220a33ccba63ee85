//! Counts and times every top-level field an operation runs, labelled with
//! the schema's own names (installed only when metrics are on: an extension
//! costs a little on every field).
use std::sync::Arc;
use std::time::Instant;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
use async_graphql::{ServerResult, Value};

use crate::state::AppState;
use crate::telemetry::metrics::Metrics;

pub struct OperationMetrics;

impl ExtensionFactory for OperationMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationMetricsExtension)
    }
}

struct OperationMetricsExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for OperationMetricsExtension {
    async fn resolve(&self, ctx: &ExtensionContext<'_>, info: ResolveInfo<'_>, next: NextResolve<'_>) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        let is_mutation = info.parent_type == "Mutation";
        let name = info.name;
        let started = Instant::now();
        let result = next.run(ctx, info).await;
        if let Ok(state) = ctx.data::<AppState>() {
            state.metrics.graphql_field(is_mutation, name, result.is_ok(), started.elapsed());
        }
        result
    }
}

/// Tells `metrics` the root fields of the schema whose SDL this is.
pub fn learn_root_fields(metrics: &Metrics, sdl: &str) {
    let Ok(document) = async_graphql::parser::parse_schema(sdl) else { return };
    let mut query = Vec::new();
    let mut mutation = Vec::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(definition) = definition else { continue };
        let TypeKind::Object(object) = &definition.node.kind else { continue };
        let names = object.fields.iter().map(|f| f.node.name.node.to_string());
        match definition.node.name.node.as_str() {
            "Query" => query.extend(names),
            "Mutation" => mutation.extend(names),
            _ => {}
        }
    }
    metrics.set_graphql_fields(&query, &mutation);
}
