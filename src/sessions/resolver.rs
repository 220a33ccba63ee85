//! GraphQL face of sessions: tokens, refresh, sign-out, device list.
use async_graphql::{Context, Object, SimpleObject, ID};

use crate::entities::enums::AssuranceLevel;
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
    /// When the access token stops working (15 minutes after it was issued by default, and never after the refresh token); refresh before then.
    pub access_token_expires_at: DateTime,
    /// Opaque; good for one refreshTokens call.
    pub refresh_token: String,
    /// When the refresh token, and its session with it, expires unless used first (30 days after signin or the last refresh, by default).
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

/// A signed-in device: one session per signin, kept alive by refreshTokens.
#[Object]
impl Session {
    /// Pass it to revokeSession to end this session.
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }
    /// When the session started, at signin.
    async fn created_at(&self) -> DateTime {
        self.model.created_at.into()
    }
    /// When the session last made a request or refreshed its tokens, to within a minute.
    async fn last_used_at(&self) -> DateTime {
        self.model.last_used_at.into()
    }
    /// When the session ends unless refreshTokens is called before then; each refresh pushes it back.
    async fn expires_at(&self) -> DateTime {
        self.model.expires_at.into()
    }
    /// The User-Agent header sent at signin, at most 512 characters; null when there was none.
    async fn user_agent(&self) -> Option<&str> {
        self.model.user_agent.as_deref()
    }
    /// The client's IP address at signin; null when unknown.
    async fn ip_address(&self) -> Option<&str> {
        self.model.ip_address.as_deref()
    }
    /// True for the session that the request's access token belongs to.
    async fn current(&self) -> bool {
        self.current
    }
    /// AAL2 when the session was started with a second factor or a passkey.
    async fn assurance_level(&self) -> AssuranceLevel {
        self.model.assurance_level
    }
}

/// The result of refreshTokens.
#[derive(SimpleObject)]
pub struct RefreshTokensPayload {
    /// The new tokens; null when userErrors is not empty.
    pub tokens: Option<AuthTokens>,
    /// Empty on success; otherwise INVALID_TOKEN on refreshToken: the token is unknown, already used, expired or revoked, or the account is not ACTIVE. Then sign in again.
    pub user_errors: Vec<UserError>,
}

/// The result of signout and signoutAll.
#[derive(SimpleObject)]
pub struct SignoutPayload {
    /// How many sessions were ended.
    pub revoked_sessions: i32,
    /// A confirmation fit to show to a person.
    pub message: String,
}

/// The result of revokeSession.
#[derive(SimpleObject)]
pub struct RevokeSessionPayload {
    /// True when the session was ended; false when userErrors is not empty.
    pub success: bool,
    /// Empty on success; NOT_FOUND on id when the signed-in user has no active session with that id.
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
        Ok(rows.into_iter().map(|model| Session { current: model.id == viewer.session_id, model }).collect())
    }
}

#[derive(Default)]
pub struct SessionsMutation;

#[Object]
impl SessionsMutation {
    /// Trades a refresh token for new tokens; the old refresh token stops working. Presenting an already-used refresh token ends that whole session.
    async fn refresh_tokens(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The refreshToken of the session's latest AuthTokens.")] refresh_token: String,
    ) -> async_graphql::Result<RefreshTokensPayload> {
        into_payload(
            service::refresh(ctx.state(), &refresh_token, &ctx.request_meta()).await,
            |tokens| RefreshTokensPayload { tokens: Some(tokens.into()), user_errors: vec![] },
            |user_errors| RefreshTokensPayload { tokens: None, user_errors },
        )
    }

    /// Ends the current session: its access and refresh tokens stop working at once.
    async fn signout(&self, ctx: &Context<'_>) -> async_graphql::Result<SignoutPayload> {
        let viewer = ctx.viewer().gql()?;
        let revoked = service::signout(ctx.state(), viewer, &ctx.request_meta()).await.gql()?;
        Ok(SignoutPayload { revoked_sessions: revoked as i32, message: "You are signed out on this device.".into() })
    }

    /// Ends every session of the signed-in user, on every device.
    async fn signout_all(&self, ctx: &Context<'_>) -> async_graphql::Result<SignoutPayload> {
        let viewer = ctx.viewer().gql()?;
        let revoked = service::signout_all(ctx.state(), viewer, &ctx.request_meta()).await.gql()?;
        Ok(SignoutPayload { revoked_sessions: revoked as i32, message: "You are signed out on every device.".into() })
    }

    /// Ends one of the signed-in user's sessions.
    async fn revoke_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The Session.id of one of the signed-in user's sessions; revoking the current one signs this device out.")] id: ID,
    ) -> async_graphql::Result<RevokeSessionPayload> {
        let viewer = ctx.viewer().gql()?;
        into_payload(
            service::revoke_own(ctx.state(), viewer, &id, &ctx.request_meta()).await,
            |()| RevokeSessionPayload { success: true, user_errors: vec![] },
            |user_errors| RevokeSessionPayload { success: false, user_errors },
        )
    }
}
