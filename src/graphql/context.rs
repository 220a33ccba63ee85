//! Who is asking, and from where: built once per HTTP request.
use async_graphql::Context;

use crate::entities::enums::Role;
use crate::error::AppError;
use crate::state::AppState;

/// A signed-in user whose session was found live for this request.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user_id: String,
    pub session_id: String,
    pub role: Role,
    /// The user's row as read with the session, for this request.
    pub user: std::sync::Arc<crate::entities::user::Model>,
}

#[derive(Debug, Clone)]
pub enum Auth {
    /// No Authorization header.
    Anonymous,
    /// A header was sent but its token is bad, expired or revoked.
    Invalid,
    Viewer(Viewer),
}

/// Per-request facts that resolvers may need.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub auth: Auth,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

pub trait ContextExt {
    fn state(&self) -> &AppState;
    fn request_info(&self) -> &RequestInfo;
    /// The signed-in viewer, or UNAUTHENTICATED.
    fn viewer(&self) -> Result<&Viewer, AppError>;
    /// The signed-in viewer if any.
    fn maybe_viewer(&self) -> Option<&Viewer>;
    /// The viewer when they are staff or admin, FORBIDDEN when not.
    fn staff(&self) -> Result<&Viewer, AppError>;
    /// The viewer when they are an admin, FORBIDDEN when not.
    fn admin(&self) -> Result<&Viewer, AppError>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn request_info(&self) -> &RequestInfo {
        self.data_unchecked::<RequestInfo>()
    }

    fn viewer(&self) -> Result<&Viewer, AppError> {
        self.maybe_viewer().ok_or(AppError::Unauthenticated)
    }

    fn maybe_viewer(&self) -> Option<&Viewer> {
        match &self.data_opt::<RequestInfo>()?.auth {
            Auth::Viewer(viewer) => Some(viewer),
            _ => None,
        }
    }

    fn staff(&self) -> Result<&Viewer, AppError> {
        let viewer = self.viewer()?;
        if viewer.role.is_staff() {
            Ok(viewer)
        } else {
            Err(AppError::Forbidden)
        }
    }

    fn admin(&self) -> Result<&Viewer, AppError> {
        let viewer = self.viewer()?;
        if viewer.role == Role::Admin {
            Ok(viewer)
        } else {
            Err(AppError::Forbidden)
        }
    }
}

impl Viewer {
    /// Whether this viewer may see `user_id`'s private fields.
    pub fn can_see_private_of(&self, user_id: &str) -> bool {
        self.user_id == user_id || self.role.is_staff()
    }
}
