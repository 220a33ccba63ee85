//! GraphQL face of subscription plans: the SubscriptionPlan type,
//! subscriptionPlans, createSubscriptionPlan.
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::entities::subscription_plan;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::plans::service::{self, NewPlan};

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

/// Input of createSubscriptionPlan.
#[derive(InputObject)]
pub struct CreateSubscriptionPlanInput {
    /// 1 to 100 characters, unique ignoring case.
    pub name: String,
    /// 0 or more, in the smallest unit of the currency.
    pub price_cents: i32,
    /// An ISO 4217 code in capitals, e.g. USD.
    pub currency: String,
    /// 1 to 120.
    #[graphql(default = 1)]
    pub interval_months: i32,
}

/// The result of createSubscriptionPlan.
#[derive(SimpleObject)]
pub struct CreateSubscriptionPlanPayload {
    /// The new plan; null when userErrors is not empty.
    pub plan: Option<SubscriptionPlan>,
    /// Empty on success. name: REQUIRED, TOO_LONG, INVALID, TAKEN; priceCents: INVALID (negative); currency: REQUIRED, INVALID; intervalMonths: INVALID (outside 1 to 120).
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct PlansQuery;

#[Object]
impl PlansQuery {
    /// Every subscription plan, cheapest first.
    async fn subscription_plans(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SubscriptionPlan>> {
        let rows = service::list(ctx.state()).await.gql()?;
        Ok(rows.into_iter().map(SubscriptionPlan).collect())
    }
}

#[derive(Default)]
pub struct PlansMutation;

#[Object]
impl PlansMutation {
    /// Admins only.
    async fn create_subscription_plan(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new plan.")] input: CreateSubscriptionPlanInput,
    ) -> async_graphql::Result<CreateSubscriptionPlanPayload> {
        ctx.admin().gql()?;
        let plan =
            NewPlan { name: input.name, price_cents: input.price_cents, currency: input.currency, interval_months: input.interval_months };
        into_payload(
            service::create_plan(ctx.state(), plan).await,
            |plan| CreateSubscriptionPlanPayload { plan: Some(SubscriptionPlan(plan)), user_errors: vec![] },
            |user_errors| CreateSubscriptionPlanPayload { plan: None, user_errors },
        )
    }
}
