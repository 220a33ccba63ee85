//! What resolvers read from a request's context: the shared state, who is
//! asking and from where, and the request's uploads.
use async_graphql::{Context, Upload, UploadValue};

use crate::entities::enums::Role;
use crate::error::AppError;
use crate::state::AppState;
use crate::viewer::{Auth, RequestMeta, Viewer};

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
    /// Where the request comes from, for the security events a change records
    /// (with no actor: staff and admin operations add theirs with `acting`).
    fn request_meta(&self) -> RequestMeta;
    /// The signed-in viewer, or UNAUTHENTICATED.
    fn viewer(&self) -> Result<&Viewer, AppError>;
    /// The signed-in viewer if any.
    fn maybe_viewer(&self) -> Option<&Viewer>;
    /// The viewer when they are staff or admin, FORBIDDEN when not.
    fn staff(&self) -> Result<&Viewer, AppError>;
    /// The viewer when they are an admin, FORBIDDEN when not.
    fn admin(&self) -> Result<&Viewer, AppError>;
    /// The file of an Upload argument, from the multipart request.
    fn upload(&self, upload: &Upload) -> Result<UploadValue, AppError>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn request_info(&self) -> &RequestInfo {
        self.data_unchecked::<RequestInfo>()
    }

    fn request_meta(&self) -> RequestMeta {
        let info = self.request_info();
        RequestMeta { ip: info.ip.clone(), user_agent: info.user_agent.as_deref().map(|ua| ua.chars().take(512).collect()), actor_id: None }
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

    fn upload(&self, upload: &Upload) -> Result<UploadValue, AppError> {
        upload.value(self).map_err(|_| AppError::BadInput("The uploaded file is missing from the request.".into()))
    }
}
