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
