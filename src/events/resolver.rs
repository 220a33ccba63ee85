//! GraphQL face of the security history: securityEvents (the user's own)
//! and auditLog (admins).
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::entities::security_event::{self, SecurityEventType};
use crate::error::GqlResultExt;
use crate::events::service::{self, EventPage, EventQuery};
use crate::graphql::context::ContextExt;
use crate::graphql::pagination::{page_size, PageInfo};
use crate::graphql::scalars::DateTime;

/// Something that happened to an account.
pub struct SecurityEvent(security_event::Model);

/// Something that happened to an account.
#[Object]
impl SecurityEvent {
    /// The event's id.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// What happened.
    #[graphql(name = "type")]
    async fn event_type(&self) -> SecurityEventType {
        self.0.event_type
    }
    /// When it happened.
    async fn at(&self) -> DateTime {
        self.0.at.into()
    }
    /// The user the event is about (null once that user is deleted).
    async fn user_id(&self) -> Option<ID> {
        self.0.user_id.clone().map(ID)
    }
    /// Who did it when it was not the user (staff or an admin).
    async fn actor_id(&self) -> Option<ID> {
        self.0.actor_id.clone().map(ID)
    }
    /// The client's IP address; null when unknown (e.g. tessera create-admin).
    async fn ip_address(&self) -> Option<&str> {
        self.0.ip_address.as_deref()
    }
    /// The client's User-Agent header, at most 512 characters.
    async fn user_agent(&self) -> Option<&str> {
        self.0.user_agent.as_deref()
    }
    /// A short detail, e.g. the new role or the reason a signin failed; never a secret.
    async fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }
}

/// An event in a page of securityEvents or auditLog.
#[derive(SimpleObject)]
pub struct SecurityEventEdge {
    /// Pass it as `after` to get the events after this one.
    pub cursor: String,
    /// The event.
    pub node: SecurityEvent,
}

/// One page of security events, newest first.
#[derive(SimpleObject)]
pub struct SecurityEventConnection {
    /// The events of this page, newest first.
    pub edges: Vec<SecurityEventEdge>,
    /// Where this page ends and whether more follow.
    pub page_info: PageInfo,
}

impl From<EventPage> for SecurityEventConnection {
    fn from(page: EventPage) -> Self {
        let edges: Vec<SecurityEventEdge> = page
            .events
            .into_iter()
            .map(|event| SecurityEventEdge { cursor: service::event_cursor(&event), node: SecurityEvent(event) })
            .collect();
        SecurityEventConnection {
            page_info: PageInfo { has_next_page: page.has_next_page, end_cursor: edges.last().map(|e| e.cursor.clone()) },
            edges,
        }
    }
}

/// Narrows Query.auditLog: every field given must match; omitted or null fields do not filter.
#[derive(InputObject, Default)]
pub struct AuditLogFilter {
    /// Only events about this user.
    pub user_id: Option<ID>,
    /// Only events done by this staff member or admin to someone else's account.
    pub actor_id: Option<ID>,
    /// Only events of these types.
    pub types: Option<Vec<SecurityEventType>>,
    /// Events at or after this time.
    pub since: Option<DateTime>,
}

#[derive(Default)]
pub struct EventsQuery;

#[Object]
impl EventsQuery {
    /// The signed-in user's own security history, newest first.
    async fn security_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many events to return: 0 to 100.")] first: Option<i32>,
        #[graphql(desc = "Return the events after this cursor (an endCursor or edge cursor from this list).")] after: Option<String>,
    ) -> async_graphql::Result<SecurityEventConnection> {
        let viewer = ctx.viewer().gql()?;
        let first = page_size(first, 20).gql()?;
        let query = EventQuery { user_id: Some(viewer.user_id.clone()), ..Default::default() };
        Ok(service::list(ctx.state(), &query, first, after.as_deref()).await.gql()?.into())
    }

    /// Admins only: every security event, newest first.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, desc = "How many events to return: 0 to 100.")] first: Option<i32>,
        #[graphql(desc = "Return the events after this cursor (an endCursor or edge cursor from this list).")] after: Option<String>,
        #[graphql(desc = "Narrows the log; omitted, every event is listed.")] filter: Option<AuditLogFilter>,
    ) -> async_graphql::Result<SecurityEventConnection> {
        ctx.admin().gql()?;
        let first = page_size(first, 20).gql()?;
        let filter = filter.unwrap_or_default();
        let query = EventQuery {
            user_id: filter.user_id.map(|id| id.0),
            actor_id: filter.actor_id.map(|id| id.0),
            types: filter.types.unwrap_or_default(),
            since: filter.since.map(|since| since.0),
        };
        Ok(service::list(ctx.state(), &query, first, after.as_deref()).await.gql()?.into())
    }
}
