//! Security events: one row per thing that happened to an account, written
//! in the same transaction as the change it records, together with the
//! webhooks the change sends. Users read their own history, admins the
//! whole audit log; rows older than SECURITY_EVENT_RETENTION are pruned.
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use crate::entities::security_event::{self, Column, SecurityEventType};
use crate::error::AppError;
use crate::graphql::pagination::{decode_cursor, encode_cursor, invalid_cursor};
use crate::state::AppState;
use crate::viewer::RequestMeta;
use crate::webhooks::service::{self as webhooks, Webhook};

/// Details are cut to this many characters (the column's width).
const MAX_DETAIL_CHARS: usize = 255;

/// What to record: the event, whom it is about, a short non-secret detail,
/// and the webhooks the change sends.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub kind: SecurityEventType,
    pub user_id: Option<&'a str>,
    pub detail: Option<String>,
    pub webhooks: Vec<Webhook<'a>>,
}

impl<'a> Event<'a> {
    /// An event about `user_id`.
    pub fn new(kind: SecurityEventType, user_id: &'a str) -> Self {
        Event { kind, user_id: Some(user_id), detail: None, webhooks: Vec::new() }
    }

    /// An event about no known account (a signin with an unknown login).
    pub fn without_user(kind: SecurityEventType) -> Self {
        Event { kind, user_id: None, detail: None, webhooks: Vec::new() }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn webhook(mut self, webhook: Webhook<'a>) -> Self {
        self.webhooks.push(webhook);
        self
    }
}

/// Records `event` and queues its webhooks. Call it with the transaction of
/// the change it records: no change without its record, no record without
/// its change. The actor in `meta` is recorded when they acted on someone
/// else's account.
pub async fn record<C: ConnectionTrait>(db: &C, state: &AppState, meta: &RequestMeta, event: Event<'_>) -> Result<(), AppError> {
    let actor_id = meta.actor_id.clone().filter(|actor| event.user_id != Some(actor.as_str()));
    let row = security_event::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        event_type: Set(event.kind),
        at: Set(Utc::now()),
        user_id: Set(event.user_id.map(str::to_owned)),
        actor_id: Set(actor_id),
        ip_address: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.as_deref().map(|ua| ua.chars().take(512).collect())),
        detail: Set(event.detail.map(|d| d.chars().take(MAX_DETAIL_CHARS).collect())),
    };
    security_event::Entity::insert(row).exec_without_returning(db).await?;
    for webhook in &event.webhooks {
        webhooks::enqueue(db, &state.config.webhooks, webhook).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Reading the history

/// What the audit log can be narrowed to; `securityEvents` is `user_id` alone.
#[derive(Debug, Default, Clone)]
pub struct EventQuery {
    pub user_id: Option<String>,
    pub actor_id: Option<String>,
    /// Any of these; empty means every type.
    pub types: Vec<SecurityEventType>,
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
}

/// One page of events, newest first.
pub struct EventPage {
    pub events: Vec<security_event::Model>,
    pub has_next_page: bool,
}

const EVENT_CURSOR: &str = "event";

/// An event's place in the list: its (at, id), which never change.
pub fn event_cursor(event: &security_event::Model) -> String {
    encode_cursor(EVENT_CURSOR, &format!("{}|{}", event.at.to_rfc3339_opts(SecondsFormat::Nanos, true), event.id))
}

fn parse_event_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let inner = decode_cursor(EVENT_CURSOR, cursor)?;
    let parsed = inner.split_once('|').and_then(|(at, id)| {
        let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
        (!id.is_empty()).then(|| (at, id.to_owned()))
    });
    parsed.ok_or_else(invalid_cursor)
}

/// Events matching `query`, newest first, `first` of them after `after`: one
/// statement whatever the page size, on an index for each filter.
pub async fn list(state: &AppState, query: &EventQuery, first: u64, after: Option<&str>) -> Result<EventPage, AppError> {
    let after = after.map(parse_event_cursor).transpose()?;
    let mut condition = Condition::all();
    if let Some(user_id) = &query.user_id {
        condition = condition.add(Column::UserId.eq(user_id.clone()));
    }
    if let Some(actor_id) = &query.actor_id {
        condition = condition.add(Column::ActorId.eq(actor_id.clone()));
    }
    if !query.types.is_empty() {
        condition = condition.add(Column::EventType.is_in(query.types.iter().copied()));
    }
    if let Some(since) = query.since {
        condition = condition.add(Column::At.gte(since));
    }
    if let Some((at, id)) = after {
        condition =
            condition.add(Condition::any().add(Column::At.lt(at)).add(Condition::all().add(Column::At.eq(at)).add(Column::Id.lt(id))));
    }
    let mut events = security_event::Entity::find()
        .filter(condition)
        .order_by_desc(Column::At)
        .order_by_desc(Column::Id)
        .limit(first + 1)
        .all(&state.db)
        .await?;
    let has_next_page = events.len() as u64 > first;
    events.truncate(first as usize);
    Ok(EventPage { events, has_next_page })
}

/// Drops security events, and finished webhook deliveries, older than
/// SECURITY_EVENT_RETENTION; returns how many rows went.
pub async fn prune<C: ConnectionTrait>(db: &C, retention: std::time::Duration) -> Result<u64, AppError> {
    let cutoff = Utc::now() - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(400));
    let events = security_event::Entity::delete_many().filter(Column::At.lt(cutoff)).exec(db).await?.rows_affected;
    let deliveries = webhooks::prune(db, cutoff).await?;
    Ok(events + deliveries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_cursors_round_trip() {
        let at = DateTime::parse_from_rfc3339("2026-11-29T06:48:00.123456Z").unwrap().with_timezone(&Utc);
        let cursor = encode_cursor(EVENT_CURSOR, &format!("{}|{}", at.to_rfc3339_opts(SecondsFormat::Nanos, true), "e1"));
        assert_eq!(parse_event_cursor(&cursor).unwrap(), (at, "e1".to_owned()));
        assert!(parse_event_cursor(&encode_cursor("user", "2026-11-29T06:48:00Z|e1")).is_err());
        assert!(parse_event_cursor(&encode_cursor(EVENT_CURSOR, "garbage")).is_err());
    }
}
