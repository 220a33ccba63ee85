//! Who is asking: resolved once per request from the Authorization header
//! (see `sessions::service::authenticate`) and read by every rule that
//! depends on it.
use std::sync::Arc;

use crate::entities::enums::Role;
use crate::entities::user;

/// A signed-in user whose session was found live for this request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: String,
    pub session_id: String,
    pub role: Role,
    /// The user's row as read with the session, for this request.
    pub user: Arc<user::Model>,
}

impl Viewer {
    /// Whether this viewer may see `user_id`'s private fields.
    pub fn can_see_private_of(&self, user_id: &str) -> bool {
        self.user_id == user_id || self.role.is_staff()
    }
}

#[derive(Debug, Clone)]
pub enum Auth {
    /// No Authorization header.
    Anonymous,
    /// A header was sent but its token is bad, expired or revoked.
    Invalid,
    Viewer(Viewer),
}

/// Where a change came from, as its security event records it: the client's
/// address and user agent, and the staff member or admin acting on someone
/// else's account. Resolvers build it from the request
/// (`ContextExt::request_meta`) and pass it down to services.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Set by staff and admin operations only (`acting`): a user's own
    /// actions have no actor.
    pub actor_id: Option<String>,
}

impl RequestMeta {
    /// For changes made outside any request (`tessera create-admin`).
    pub fn none() -> RequestMeta {
        RequestMeta::default()
    }

    /// The same request, made by staff or an admin acting on an account.
    pub fn acting(self, actor: &Viewer) -> RequestMeta {
        RequestMeta { actor_id: Some(actor.user_id.clone()), ..self }
    }
}
