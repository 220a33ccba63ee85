//! GraphQL face of webhooks: the admins' list of deliveries and redelivery.
use async_graphql::{Context, Object, SimpleObject, ID};

use crate::entities::webhook_delivery::{self, WebhookDeliveryStatus};
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{page_size, PageInfo};
use crate::graphql::scalars::DateTime;
use crate::webhooks::service;

/// One webhook sent to one URL, with every try of it.
pub struct WebhookDelivery(webhook_delivery::Model);

/// One webhook sent to one URL, with every try of it.
#[Object]
impl WebhookDelivery {
    /// The webhook-id header value.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// E.g. user.created.
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// PENDING until a try succeeds (DELIVERED) or WEBHOOK_GIVE_UP_AFTER passes (FAILING).
    async fn status(&self) -> WebhookDeliveryStatus {
        self.0.status
    }
    /// Every try so far, the successful one included.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// When the event happened and the delivery was queued.
    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }
    /// When the receiver answered 2xx; null until then.
    async fn delivered_at(&self) -> Option<DateTime> {
        self.0.delivered_at.map(Into::into)
    }
    /// The HTTP status or transport error of the last failed try.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
}

/// A delivery in a page of Query.webhookDeliveries.
#[derive(SimpleObject)]
pub struct WebhookDeliveryEdge {
    /// Pass it as `after` to get the deliveries after this one.
    pub cursor: String,
    /// The delivery.
    pub node: WebhookDelivery,
}

/// One page of webhook deliveries, newest first.
#[derive(SimpleObject)]
pub struct WebhookDeliveryConnection {
    /// The deliveries of this page, newest first.
    pub edges: Vec<WebhookDeliveryEdge>,
    /// Where this page ends and whether more follow.
    pub page_info: PageInfo,
}

/// The result of redeliverWebhook.
#[derive(SimpleObject)]
pub struct RedeliverWebhookPayload {
    /// The delivery, PENDING again; null when userErrors is not empty.
    pub delivery: Option<WebhookDelivery>,
    /// Empty on success; NOT_FOUND on id when there is no such delivery.
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct WebhooksQuery;

#[Object]
impl WebhooksQuery {
    /// Admins only: webhook deliveries, newest first.
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many deliveries to return: 0 to 100.")] first: Option<i32>,
        #[graphql(desc = "Return the deliveries after this cursor (an endCursor or edge cursor from this list).")] after: Option<String>,
        #[graphql(desc = "Only deliveries with this status.")] status: Option<WebhookDeliveryStatus>,
    ) -> async_graphql::Result<WebhookDeliveryConnection> {
        ctx.admin().gql()?;
        let first = page_size(first, 20).gql()?;
        let page = service::list(ctx.state(), status, first, after.as_deref()).await.gql()?;
        let edges: Vec<WebhookDeliveryEdge> = page
            .deliveries
            .into_iter()
            .map(|delivery| WebhookDeliveryEdge { cursor: service::delivery_cursor(&delivery), node: WebhookDelivery(delivery) })
            .collect();
        Ok(WebhookDeliveryConnection {
            page_info: PageInfo { has_next_page: page.has_next_page, end_cursor: edges.last().map(|e| e.cursor.clone()) },
            edges,
        })
    }
}

#[derive(Default)]
pub struct WebhooksMutation;

#[Object]
impl WebhooksMutation {
    /// Admins only: queues a delivery again now (same webhook-id).
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The WebhookDelivery.id (the webhook-id header value).")] id: ID,
    ) -> async_graphql::Result<RedeliverWebhookPayload> {
        ctx.admin().gql()?;
        into_payload(
            service::redeliver(ctx.state(), &id).await,
            |delivery| RedeliverWebhookPayload { delivery: Some(WebhookDelivery(delivery)), user_errors: vec![] },
            |user_errors| RedeliverWebhookPayload { delivery: None, user_errors },
        )
    }
}
