//! GraphQL face of sessions: tokens, refresh, sign-out, device list.
use async_graphql::{Context, Object, SimpleObject, ID};

use crate::entities::session;
use crate::error::{into_payload, GqlResultExt, UserError};
use crate::graphql::context::ContextExt;
use crate::graphql::scalars::DateTime;
use crate::sessions::service::{self, IssuedTokens};

/// A fresh pair of tokens.
#[derive(SimpleObject)]
pub struct AuthTokens {
    /// A JWT to send as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    pub access_token_expires_at: DateTime,
    /// Opaque; good for one refreshTokens call.
    pub refresh_token: String,
    pub refresh_token_expires_at: DateTime,
    /// Always "Bearer".
    pub token_type: String,
}

impl From<IssuedTokens> for AuthTokens {
    fn from(t: IssuedTokens) -> Self {
        AuthTokens {
            access_token: t.access_token,
            access_token_expires_at: t.access_expires_at.into(),
            refresh_token: t.refresh_token,
            refresh_token_expires_at: t.refresh_expires_at.into(),
            token_type: "Bearer".into(),
        }
    }
}

/// A signed-in device.
pub struct Session {
    model: session::Model,
    current: bool,
}

#[Object]
impl Session {
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
    async fn last_used_at(&self) -> DateTime {
        self.model.last_used_at.into()
    }
    async fn expires_at(&self) -> DateTime {
        self.model.expires_at.into()
    }
    async fn user_agent(&self) -> Option<&str> {
        self.model.user_agent.as_deref()
    }
    async fn ip_address(&self) -> Option<&str> {
        self.model.ip_address.as_deref()
    }
    /// True for the session that the request's access token belongs to.
    async fn current(&self) -> bool {
        self.current
    }
}

#[derive(SimpleObject)]
pub struct RefreshTokensPayload {
    pub tokens: Option<AuthTokens>,
    pub user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct SignoutPayload {
    /// How many sessions were ended.
    pub revoked_sessions: i32,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct RevokeSessionPayload {
    pub success: bool,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct SessionsQuery;

#[Object]
impl SessionsQuery {
    /// The signed-in user's active sessions (signed-in devices), most recently used first.
    async fn sessions(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Session>> {
        let viewer = ctx.viewer().gql()?;
        let rows = service::list(ctx.state(), &viewer.user_id).await.gql()?;
        Ok(rows
            .into_iter()
            .map(|model| Session { current: model.id == viewer.session_id, model })
            .collect())
    }
}

#[derive(Default)]
pub struct SessionsMutation;

#[Object]
impl SessionsMutation {
    /// Trades a refresh token for new tokens; the old refresh token stops working. Presenting an already-used refresh token ends that whole session.
    async fn refresh_tokens(&self, ctx: &Context<'_>, refresh_token: String) -> async_graphql::Result<RefreshTokensPayload> {
        crate::ratelimit::credential_attempt(ctx).await.gql()?;
        into_payload(
            service::refresh(ctx.state(), &refresh_token).await,
            |tokens| RefreshTokensPayload { tokens: Some(tokens.into()), user_errors: vec![] },
            |user_errors| RefreshTokensPayload { tokens: None, user_errors },
        )
    }

    /// Ends the current session: its access and refresh tokens stop working at once.
    async fn signout(&self, ctx: &Context<'_>) -> async_graphql::Result<SignoutPayload> {
        let viewer = ctx.viewer().gql()?;
        let revoked = service::revoke_session(&ctx.state().db, &viewer.session_id).await.gql()?;
        Ok(SignoutPayload { revoked_sessions: revoked as i32, message: "You are signed out on this device.".into() })
    }

    /// Ends every session of the signed-in user, on every device.
    async fn signout_all(&self, ctx: &Context<'_>) -> async_graphql::Result<SignoutPayload> {
        let viewer = ctx.viewer().gql()?;
        let revoked = service::revoke_all(&ctx.state().db, &viewer.user_id, None).await.gql()?;
        Ok(SignoutPayload { revoked_sessions: revoked as i32, message: "You are signed out on every device.".into() })
    }

    /// Ends one of the signed-in user's sessions.
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<RevokeSessionPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            service::revoke_own(ctx.state(), viewer, &id).await,
            |()| RevokeSessionPayload { success: true, user_errors: vec![] },
            |user_errors| RevokeSessionPayload { success: false, user_errors },
        )
    }
}
