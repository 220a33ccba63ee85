//! Sessions: one per signed-in device. Access tokens name their session and
//! are honoured only while it is live; refresh tokens rotate on every use and
//! a reused one ends its whole session.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, Set, Statement,
};

use std::sync::{Arc, OnceLock};

use crate::entities::enums::{AccountStatus, AssuranceLevel};
use crate::entities::security_event::SecurityEventType;
use crate::entities::{profile, refresh_token, rows, session, user};
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::security::jwt::from_authorization_header;
use crate::security::secrets::{random_token, token_hash};
use crate::state::AppState;
use crate::viewer::{Auth, RequestMeta, Viewer};
use crate::webhooks::service::Webhook;

/// `last_used_at` is refreshed at most this often, to keep reads cheap.
const TOUCH_INTERVAL_SECS: i64 = 60;

/// What a client receives on signin and refresh.
pub struct IssuedTokens {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
}

fn ttl(duration: std::time::Duration) -> Duration {
    Duration::from_std(duration).unwrap_or(Duration::days(30))
}

/// What the session check read.
pub struct Authenticated {
    pub auth: Auth,
    /// The viewer's profile, read with the session.
    pub viewer_profile: Option<profile::Model>,
    /// The user the request named (`looked_up`), read in the same statement.
    pub looked_up: Option<LookedUp>,
}

/// A user read by id with the session: `found` is None when no user has
/// that id. Any status: whoever uses it applies the visibility rules.
pub struct LookedUp {
    pub id: String,
    pub found: Option<rows::UserWithProfile>,
}

impl Authenticated {
    fn only(auth: Auth) -> Authenticated {
        Authenticated { auth, viewer_profile: None, looked_up: None }
    }
}

/// Resolves an Authorization header into who is asking, with the viewer's
/// profile: one indexed lookup of the session joined with its user and
/// profile. `looked_up` names a user (and profile) the request will read,
/// fetched in the same statement when there is a viewer.
pub async fn authenticate(state: &AppState, header: Option<&str>, looked_up: Option<&str>) -> Result<Authenticated, AppError> {
    let Some(header) = header else { return Ok(Authenticated::only(Auth::Anonymous)) };
    let Some(token) = from_authorization_header(header) else { return Ok(Authenticated::only(Auth::Invalid)) };
    let Some(claims) = state.tokens.verify_access(token) else { return Ok(Authenticated::only(Auth::Invalid)) };
    let now = Utc::now();
    // The session, its whole user row and the user's profile in one
    // statement: the user is the viewer, and `me { profile }` needs no
    // second query.
    let backend = state.db.get_database_backend();
    let mut values: Vec<sea_orm::Value> = vec![claims.sid.clone().into(), now.into(), AccountStatus::Active.to_value().into()];
    if let Some(id) = looked_up {
        values.push(id.to_owned().into());
    }
    let statement = Statement::from_sql_and_values(backend, viewer_lookup_sql(backend, looked_up.is_some()), values);
    let Some(row) = state.db.query_all_raw(statement).await?.into_iter().next() else {
        return Ok(Authenticated::only(Auth::Invalid));
    };
    let session = rows::session_at(&row, 0)?;
    let user = rows::user_at(&row, rows::SESSION_COLUMNS)?;
    let profile = rows::profile_at(&row, rows::SESSION_COLUMNS + rows::USER_COLUMNS)?;
    if user.id != claims.sub {
        return Ok(Authenticated::only(Auth::Invalid));
    }
    let looked_up = match looked_up {
        Some(id) => {
            let at = rows::SESSION_COLUMNS + rows::USER_COLUMNS + rows::PROFILE_COLUMNS;
            let found = match rows::user_opt_at(&row, at)? {
                Some(user) => Some((user, rows::profile_at(&row, at + rows::USER_COLUMNS)?)),
                None => None,
            };
            Some(LookedUp { id: id.to_owned(), found })
        }
        None => None,
    };
    if (now - session.last_used_at).num_seconds() >= TOUCH_INTERVAL_SECS {
        session::Entity::update_many()
            .col_expr(session::Column::LastUsedAt, Expr::value(now))
            .filter(session::Column::Id.eq(claims.sid.clone()))
            .exec(&state.db)
            .await?;
    }
    let viewer = Viewer { user_id: user.id.clone(), session_id: claims.sid.clone(), role: user.role, user: Arc::new(user) };
    Ok(Authenticated { auth: Auth::Viewer(viewer), viewer_profile: profile, looked_up })
}

/// The live session by id, with its active user and the user's profile:
/// built once per backend, bound with (session id, now, ACTIVE), and with
/// `looked_up` also (user id): that user and profile, whatever its status.
/// Not a `LIMIT`: a bound one makes SQLite re-prepare the statement on every
/// run, and the primary key finds one row at most anyway.
fn viewer_lookup_sql(backend: DbBackend, looked_up: bool) -> String {
    static SQL: OnceLock<[String; 4]> = OnceLock::new();
    let build = |placeholders: [&str; 4], looked_up: bool| {
        let [sid, now, status, id] = placeholders;
        let (columns, join) = if looked_up {
            (
                format!(", {}, {}", rows::select_list::<user::Column>("tu"), rows::select_list::<profile::Column>("tp")),
                format!(" LEFT JOIN users tu ON tu.id = {id} LEFT JOIN profiles tp ON tp.user_id = tu.id"),
            )
        } else {
            (String::new(), String::new())
        };
        format!(
            "SELECT {}, {}, {}{columns} FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN profiles p ON p.user_id = u.id{join} \
             WHERE s.id = {sid} AND s.revoked_at IS NULL AND s.expires_at > {now} AND u.status = {status}",
            rows::select_list::<session::Column>("s"),
            rows::select_list::<user::Column>("u"),
            rows::select_list::<profile::Column>("p"),
        )
    };
    let sql = SQL.get_or_init(|| {
        // Numbered on SQLite too: the looked-up id's placeholder comes first in the text.
        let (postgres, sqlite) = (["$1", "$2", "$3", "$4"], ["?1", "?2", "?3", "?4"]);
        [build(sqlite, false), build(sqlite, true), build(postgres, false), build(postgres, true)]
    });
    let index = usize::from(backend == DbBackend::Postgres) * 2 + usize::from(looked_up);
    sql[index].clone()
}

/// Starts a session for a user who just proved who they are, as strongly as
/// `assurance` says. Only `accounts::signin` calls it: every way of signing
/// in goes through there.
pub async fn start<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    user_id: &str,
    assurance: AssuranceLevel,
    user_agent: Option<String>,
    ip: Option<String>,
) -> Result<IssuedTokens, AppError> {
    let now = Utc::now();
    let expires_at = now + ttl(state.config.tokens.refresh_token_ttl);
    let session_id = uuid::Uuid::now_v7().to_string();
    session::ActiveModel {
        id: Set(session_id.clone()),
        user_id: Set(user_id.to_owned()),
        user_agent: Set(user_agent.map(|ua| ua.chars().take(512).collect())),
        ip_address: Set(ip),
        created_at: Set(now),
        last_used_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        assurance_level: Set(assurance),
    }
    .insert(db)
    .await?;
    issue(state, db, user_id, &session_id, now, expires_at).await
}

async fn issue<C: ConnectionTrait>(
    state: &AppState,
    db: &C,
    user_id: &str,
    session_id: &str,
    now: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
) -> Result<IssuedTokens, AppError> {
    let refresh = random_token();
    refresh_token::ActiveModel {
        token_hash: Set(token_hash(&refresh)),
        session_id: Set(session_id.to_owned()),
        created_at: Set(now),
        used_at: Set(None),
    }
    .insert(db)
    .await?;
    let access_expires_at = (now + ttl(state.config.tokens.access_token_ttl)).min(refresh_expires_at);
    Ok(IssuedTokens {
        access_token: state.tokens.issue_access(user_id, session_id, now, access_expires_at),
        access_expires_at,
        refresh_token: refresh,
        refresh_expires_at,
    })
}

fn invalid_refresh() -> ServiceError {
    ServiceError::one(&["refreshToken"], UserErrorCode::InvalidToken, "This refresh token is not valid any more: sign in again.")
}

/// Ends a session whose refresh token was presented twice, and records it.
async fn end_reused(state: &AppState, meta: &RequestMeta, session: &session::Model) -> Result<(), AppError> {
    tracing::warn!(session = %session.id, "refresh token reused: ending its session");
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    revoke_session(&txn, &session.id).await?;
    let detail = format!("session {} ended", session.id);
    events::record(&txn, state, meta, Event::new(SecurityEventType::TokenReuseDetected, &session.user_id).detail(detail)).await?;
    txn.commit().await?;
    Ok(())
}

/// Trades a refresh token for new tokens. A token used twice ends its session.
pub async fn refresh(state: &AppState, presented: &str, meta: &RequestMeta) -> ServiceResult<IssuedTokens> {
    let now = Utc::now();
    let hash = token_hash(presented.trim());
    let Some(stored) = refresh_token::Entity::find_by_id(hash.clone()).one(&state.db).await? else {
        return Err(invalid_refresh());
    };
    let Some(session) = session::Entity::find_by_id(stored.session_id.clone()).one(&state.db).await? else {
        return Err(invalid_refresh());
    };
    if stored.used_at.is_some() {
        end_reused(state, meta, &session).await?;
        return Err(invalid_refresh());
    }
    if session.revoked_at.is_some() || session.expires_at <= now {
        return Err(invalid_refresh());
    }
    let active = user::Entity::find_by_id(session.user_id.clone())
        .filter(user::Column::Status.eq(AccountStatus::Active))
        .one(&state.db)
        .await?
        .is_some();
    if !active {
        return Err(invalid_refresh());
    }

    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    // Only one of two concurrent refreshes with the same token can win this.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(hash))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        // Another request spent it a moment ago: the same token twice.
        txn.rollback().await?;
        end_reused(state, meta, &session).await?;
        return Err(invalid_refresh());
    }
    // Sliding expiry: a session in use stays alive.
    let expires_at = now + ttl(state.config.tokens.refresh_token_ttl);
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .col_expr(session::Column::ExpiresAt, Expr::value(expires_at))
        .filter(session::Column::Id.eq(session.id.clone()))
        .exec(&txn)
        .await?;
    let tokens = issue(state, &txn, &session.user_id, &session.id, now, expires_at).await?;
    txn.commit().await?;
    Ok(tokens)
}

/// Marks a live session as authenticated with two factors (after the user
/// proved a second factor in it).
pub async fn raise_to_aal2<C: ConnectionTrait>(db: &C, session_id: &str) -> Result<(), AppError> {
    session::Entity::update_many()
        .col_expr(session::Column::AssuranceLevel, Expr::value(AssuranceLevel::Aal2))
        .filter(session::Column::Id.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Ends one session; returns how many were live (0 or 1).
pub async fn revoke_session<C: ConnectionTrait>(db: &C, session_id: &str) -> Result<u64, AppError> {
    let result = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// Ends every session of a user, but `keep` if given; returns how many.
pub async fn revoke_all<C: ConnectionTrait>(db: &C, user_id: &str, keep: Option<&str>) -> Result<u64, AppError> {
    let mut update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null());
    if let Some(keep) = keep {
        update = update.filter(session::Column::Id.ne(keep));
    }
    Ok(update.exec(db).await?.rows_affected)
}

/// `signout`: ends the viewer's current session; returns how many were live (0 or 1).
pub async fn signout(state: &AppState, viewer: &Viewer, meta: &RequestMeta) -> Result<u64, AppError> {
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    let revoked = revoke_session(&txn, &viewer.session_id).await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::Signout, &viewer.user_id).detail("this session")).await?;
    txn.commit().await?;
    Ok(revoked)
}

/// `signoutAll`: ends every session of the viewer; returns how many. Other
/// services hear `session.revoked_all`.
pub async fn signout_all(state: &AppState, viewer: &Viewer, meta: &RequestMeta) -> Result<u64, AppError> {
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    let revoked = revoke_all(&txn, &viewer.user_id, None).await?;
    let event = Event::new(SecurityEventType::Signout, &viewer.user_id)
        .detail(format!("every session ({revoked})"))
        .webhook(Webhook::SessionsRevokedAll(&viewer.user));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    Ok(revoked)
}

/// Ends one of the viewer's own sessions.
pub async fn revoke_own(state: &AppState, viewer: &Viewer, session_id: &str, meta: &RequestMeta) -> ServiceResult<()> {
    let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
    let result = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(viewer.user_id.clone()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(ServiceError::one(&["id"], UserErrorCode::NotFound, "You have no active session with this id."));
    }
    let event = Event::new(SecurityEventType::SessionRevoked, &viewer.user_id).detail(format!("session {session_id}"));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    Ok(())
}

/// The viewer's live sessions, most recently used first.
pub async fn list(state: &AppState, user_id: &str) -> Result<Vec<session::Model>, AppError> {
    Ok(session::Entity::find()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::RevokedAt.is_null())
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(session::Column::LastUsedAt)
        .order_by_desc(session::Column::CreatedAt)
        .all(&state.db)
        .await?)
}
