//! What other services hear, and the outbox it waits in.
//!
//! Every event's `data` holds the user's id as `id`. All but `user.deleted`
//! carry the fields of the user a service needs, under their GraphQL names
//! and never anything secret; `user.deleted` carries the id alone, and
//! `user.updated` adds `changedFields`.
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveEnum, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::{json, Value};

use crate::config::WebhookConfig;
use crate::entities::user;
use crate::entities::webhook_delivery::{self, Column, WebhookDeliveryStatus};
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::graphql::pagination::{decode_cursor, encode_cursor, invalid_cursor};
use crate::state::AppState;

/// Every event type a webhook can carry, as on the wire.
pub const EVENT_TYPES: [&str; 8] = [
    "user.created",
    "user.updated",
    "user.email_confirmed",
    "user.status_changed",
    "user.role_changed",
    "user.deleted",
    "password.changed",
    "session.revoked_all",
];

/// A change other services hear about, with the user as it is after it.
#[derive(Debug, Clone)]
pub enum Webhook<'a> {
    UserCreated(&'a user::Model),
    /// Only when one of the fields in `data` changed; `changed_fields` names them.
    UserUpdated(&'a user::Model, Vec<&'static str>),
    EmailConfirmed(&'a user::Model),
    StatusChanged(&'a user::Model),
    RoleChanged(&'a user::Model),
    UserDeleted(&'a str),
    PasswordChanged(&'a user::Model),
    /// Every session of the user ended: services that cache tokens drop theirs.
    SessionsRevokedAll(&'a user::Model),
}

impl Webhook<'_> {
    pub fn event_type(&self) -> &'static str {
        match self {
            Webhook::UserCreated(_) => "user.created",
            Webhook::UserUpdated(..) => "user.updated",
            Webhook::EmailConfirmed(_) => "user.email_confirmed",
            Webhook::StatusChanged(_) => "user.status_changed",
            Webhook::RoleChanged(_) => "user.role_changed",
            Webhook::UserDeleted(_) => "user.deleted",
            Webhook::PasswordChanged(_) => "password.changed",
            Webhook::SessionsRevokedAll(_) => "session.revoked_all",
        }
    }

    /// The event's `data`.
    pub fn data(&self) -> Value {
        match self {
            Webhook::UserDeleted(id) => json!({ "id": id }),
            Webhook::UserUpdated(user, changed) => {
                let mut data = user_data(user);
                data["changedFields"] = json!(changed);
                data
            }
            Webhook::UserCreated(user)
            | Webhook::EmailConfirmed(user)
            | Webhook::StatusChanged(user)
            | Webhook::RoleChanged(user)
            | Webhook::PasswordChanged(user)
            | Webhook::SessionsRevokedAll(user) => user_data(user),
        }
    }
}

/// The user's fields a service needs, under their GraphQL names.
fn user_data(user: &user::Model) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "username": user.username,
        "fullName": user.full_name,
        "accountType": user.account_type.to_value(),
        "role": user.role.to_value(),
        "status": user.status.to_value(),
        "emailConfirmed": user.email_confirmed,
    })
}

/// The fields of `data` (GraphQL names) that differ between two versions of
/// a user: what `user.updated` lists in `changedFields`.
pub fn changed_fields(before: &user::Model, after: &user::Model) -> Vec<&'static str> {
    let mut changed = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            changed.push(name);
        }
    };
    check("email", before.email != after.email);
    check("username", before.username != after.username);
    check("fullName", before.full_name != after.full_name);
    check("accountType", before.account_type != after.account_type);
    check("role", before.role != after.role);
    check("status", before.status != after.status);
    check("emailConfirmed", before.email_confirmed != after.email_confirmed);
    changed
}

/// Refuses, at start, WEBHOOK_EVENTS that names an event type there is not.
pub fn check_config(config: &WebhookConfig) -> anyhow::Result<()> {
    let unknown: Vec<&str> = config.events.iter().map(String::as_str).filter(|e| !EVENT_TYPES.contains(e)).collect();
    if !unknown.is_empty() {
        anyhow::bail!("WEBHOOK_EVENTS: unknown event type(s) {unknown:?}; known: {}", EVENT_TYPES.join(", "));
    }
    Ok(())
}

/// Whether this event type is sent at all (WEBHOOK_EVENTS; default all).
fn wanted(config: &WebhookConfig, event_type: &str) -> bool {
    config.events.is_empty() || config.events.iter().any(|e| e == event_type)
}

/// Queues `webhook` for every configured URL. Call it with the transaction
/// of the change it tells about, so that both are stored or neither is.
pub async fn enqueue<C: ConnectionTrait>(db: &C, config: &WebhookConfig, webhook: &Webhook<'_>) -> Result<(), AppError> {
    let event_type = webhook.event_type();
    if config.urls.is_empty() || !wanted(config, event_type) {
        return Ok(());
    }
    let now = Utc::now();
    let payload =
        json!({ "type": event_type, "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true), "data": webhook.data() }).to_string();
    let rows = config.urls.iter().map(|url| webhook_delivery::ActiveModel {
        id: Set(format!("msg_{}", uuid::Uuid::now_v7().simple())),
        event_type: Set(event_type.to_owned()),
        url: Set(url.to_string()),
        payload: Set(payload.clone()),
        status: Set(WebhookDeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        queued_at: Set(now),
        delivered_at: Set(None),
    });
    webhook_delivery::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// The admins' view

/// One page of deliveries, newest first.
pub struct DeliveryPage {
    pub deliveries: Vec<webhook_delivery::Model>,
    pub has_next_page: bool,
}

const DELIVERY_CURSOR: &str = "delivery";

/// A delivery's place in the list: (created_at, id), which never change.
pub fn delivery_cursor(delivery: &webhook_delivery::Model) -> String {
    encode_cursor(DELIVERY_CURSOR, &format!("{}|{}", delivery.created_at.to_rfc3339_opts(SecondsFormat::Nanos, true), delivery.id))
}

fn parse_delivery_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let inner = decode_cursor(DELIVERY_CURSOR, cursor)?;
    let parsed = inner.split_once('|').and_then(|(at, id)| {
        let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
        (!id.is_empty()).then(|| (at, id.to_owned()))
    });
    parsed.ok_or_else(invalid_cursor)
}

/// Deliveries, newest first, optionally of one status: one statement.
pub async fn list(
    state: &AppState,
    status: Option<WebhookDeliveryStatus>,
    first: u64,
    after: Option<&str>,
) -> Result<DeliveryPage, AppError> {
    let after = after.map(parse_delivery_cursor).transpose()?;
    let mut select = webhook_delivery::Entity::find();
    if let Some(status) = status {
        select = select.filter(Column::Status.eq(status));
    }
    if let Some((at, id)) = after {
        select = select.filter(
            Condition::any().add(Column::CreatedAt.lt(at)).add(Condition::all().add(Column::CreatedAt.eq(at)).add(Column::Id.lt(id))),
        );
    }
    let mut deliveries = select.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id).limit(first + 1).all(&state.db).await?;
    let has_next_page = deliveries.len() as u64 > first;
    deliveries.truncate(first as usize);
    Ok(DeliveryPage { deliveries, has_next_page })
}

/// Queues a delivery again now, with the same id (so receivers that already
/// have it can tell): PENDING, due at once, its give-up age counted afresh.
/// A try in flight keeps its lease.
pub async fn redeliver(state: &AppState, id: &str) -> ServiceResult<webhook_delivery::Model> {
    let now = Utc::now();
    let updated = webhook_delivery::Entity::update_many()
        .col_expr(Column::Status, Expr::value(WebhookDeliveryStatus::Pending))
        .col_expr(Column::NextAttemptAt, Expr::value(now))
        .col_expr(Column::QueuedAt, Expr::value(now))
        .filter(Column::Id.eq(id))
        .exec(&state.db)
        .await?;
    if updated.rows_affected == 0 {
        return Err(ServiceError::one(&["id"], UserErrorCode::NotFound, "There is no webhook delivery with this id."));
    }
    let delivery = webhook_delivery::Entity::find_by_id(id).one(&state.db).await?;
    delivery.ok_or_else(|| AppError::internal("redeliver", "the delivery vanished").into())
}

/// Drops finished deliveries queued before `cutoff` (retention); returns how many.
pub async fn prune<C: ConnectionTrait>(db: &C, cutoff: DateTime<Utc>) -> Result<u64, AppError> {
    let deleted = webhook_delivery::Entity::delete_many()
        .filter(Column::Status.ne(WebhookDeliveryStatus::Pending))
        .filter(Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::enums::{AccountStatus, AccountType, Role};

    fn user() -> user::Model {
        let now = Utc::now();
        user::Model {
            id: "u1".into(),
            email: "ann@example.com".into(),
            email_lower: "ann@example.com".into(),
            username: Some("ann".into()),
            username_lower: Some("ann".into()),
            phone_number: Some("+15555550100".into()),
            password_hash: Some("$argon2id$secret".into()),
            full_name: Some("Ann".into()),
            full_name_lower: Some("ann".into()),
            first_name: None,
            last_name: None,
            account_type: AccountType::Creator,
            role: Role::User,
            status: AccountStatus::Active,
            email_confirmed: true,
            subscription_plan_id: None,
            last_login_at: Some(now),
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn data_carries_graphql_names_and_nothing_secret() {
        let user = user();
        let data = Webhook::UserCreated(&user).data();
        assert_eq!(
            data,
            json!({ "id": "u1", "email": "ann@example.com", "username": "ann", "fullName": "Ann", "accountType": "CREATOR",
                    "role": "USER", "status": "ACTIVE", "emailConfirmed": true })
        );
        assert!(!data.to_string().contains("argon2"));
        assert_eq!(Webhook::UserDeleted("u1").data(), json!({ "id": "u1" }));
        let updated = Webhook::UserUpdated(&user, vec!["fullName"]).data();
        assert_eq!(updated["changedFields"], json!(["fullName"]));
        assert_eq!(updated["id"], "u1");
    }

    #[test]
    fn only_listed_fields_count_as_changes() {
        let before = user();
        let mut after = before.clone();
        after.last_login_at = None;
        after.phone_number = None;
        after.first_name = Some("A".into());
        assert!(changed_fields(&before, &after).is_empty());
        after.full_name = Some("Ann B".into());
        after.email = "b@example.com".into();
        after.email_confirmed = false;
        assert_eq!(changed_fields(&before, &after), vec!["email", "fullName", "emailConfirmed"]);
    }

    #[test]
    fn unknown_event_types_are_refused() {
        let second = std::time::Duration::from_secs(1);
        let mut config = WebhookConfig {
            urls: vec![],
            secret: None,
            events: vec!["user.created".into()],
            timeout: second,
            retry_max: second,
            give_up_after: second,
            poll_interval: second,
        };
        assert!(check_config(&config).is_ok());
        config.events = vec!["user.created".into(), "user.exploded".into()];
        assert!(check_config(&config).unwrap_err().to_string().contains("user.exploded"));
    }
}
