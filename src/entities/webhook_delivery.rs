use async_graphql::Enum;
use sea_orm::entity::prelude::*;

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Enum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first try, or for a retry after a failed one.
    #[sea_orm(string_value = "PENDING")]
    Pending,
    /// The receiver answered 2xx.
    #[sea_orm(string_value = "DELIVERED")]
    Delivered,
    /// Still failing after WEBHOOK_GIVE_UP_AFTER: no longer retried until redeliverWebhook.
    #[sea_orm(string_value = "FAILING")]
    Failing,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// The webhook-id header: the same on every try.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// E.g. `user.created`.
    pub event_type: String,
    pub url: String,
    /// The JSON body, fixed when the event happened.
    pub payload: String,
    pub status: WebhookDeliveryStatus,
    /// Every try, the successful one included.
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker that claimed the row owns it until then.
    pub locked_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    /// Created, or last redelivered: the give-up age counts from here.
    pub queued_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
