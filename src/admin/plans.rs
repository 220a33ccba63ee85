//! Subscription plans that users can hold.
use async_graphql::{Context, Object, ID};
use sea_orm::{EntityTrait, QueryOrder};

use crate::entities::subscription_plan;
use crate::error::{AppError, GqlResultExt};
use crate::graphql::context::ContextExt;

pub struct SubscriptionPlan(pub subscription_plan::Model);

/// A plan users can subscribe to, chosen with updateAccount's subscriptionPlanId.
#[Object]
impl SubscriptionPlan {
    /// Pass it as subscriptionPlanId to updateAccount to choose this plan.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// Unique ignoring case.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Price per interval in the smallest unit of the currency.
    async fn price_cents(&self) -> i32 {
        self.0.price_cents
    }
    /// ISO 4217 code, e.g. USD.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// Billing interval in months.
    async fn interval_months(&self) -> i32 {
        self.0.interval_months
    }
}

#[derive(Default)]
pub struct PlansQuery;

#[Object]
impl PlansQuery {
    /// Every subscription plan, cheapest first.
    async fn subscription_plans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SubscriptionPlan>> {
        let rows = subscription_plan::Entity::find()
            .order_by_asc(subscription_plan::Column::PriceCents)
            .order_by_asc(subscription_plan::Column::Name)
            .all(&ctx.state().db)
            .await
            .map_err(AppError::from)
            .gql()?;
        Ok(rows.into_iter().map(SubscriptionPlan).collect())
    }
}
