//! Staff and admin rules: the user list, roles, statuses, user deletion.
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::LikeExpr;
use sea_orm::{
    ActiveEnum, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Iterable, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Set, Statement,
};

use crate::accounts::lifecycle::{self, ensure_admin_remains, DeletedUser};
use crate::db::begin_write;
use crate::entities::enums::{AccountStatus, AccountType, Role};
use crate::entities::security_event::SecurityEventType;
use crate::entities::{profile, rows as entity_rows, user};
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::graphql::pagination::{decode_cursor, encode_cursor, invalid_cursor};
use crate::sessions::service as sessions;
use crate::state::AppState;
use crate::viewer::{RequestMeta, Viewer};
use crate::webhooks::service::Webhook;

// ---------------------------------------------------------------------------
// The user list

/// What `users` can be narrowed to.
#[derive(Debug, Default, Clone)]
pub struct UserQuery {
    /// Matches the start of the email, username or full name, ignoring case.
    pub search: Option<String>,
    pub role: Option<Role>,
    pub status: Option<AccountStatus>,
    pub account_type: Option<AccountType>,
    pub email_confirmed: Option<bool>,
}

/// One page of users, newest first.
pub struct UserPage {
    pub users: Vec<user::Model>,
    /// The profiles of those users that have one, read in the same statement.
    pub profiles: Vec<(String, profile::Model)>,
    pub has_next_page: bool,
    pub total_count: u64,
}

const USER_CURSOR: &str = "user";

/// A user's place in the list: its (created_at, id), which never changes, so
/// a cursor keeps its place while users are added.
pub fn user_cursor(user: &user::Model) -> String {
    encode_cursor(USER_CURSOR, &format!("{}|{}", user.created_at.to_rfc3339_opts(SecondsFormat::Nanos, true), user.id))
}

fn parse_user_cursor(cursor: &str) -> Result<(DateTime<Utc>, String), AppError> {
    let inner = decode_cursor(USER_CURSOR, cursor)?;
    let parsed = inner.split_once('|').and_then(|(at, id)| {
        let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
        (!id.is_empty()).then(|| (at, id.to_owned()))
    });
    parsed.ok_or_else(invalid_cursor)
}

/// `LIKE` pattern for values starting with `prefix`, with `\` as the escape.
fn prefix_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The users `query` selects, in no order: what `list_users` counts and pages.
pub fn users_matching(query: &UserQuery) -> Select<user::Entity> {
    user::Entity::find().filter(user_condition(query))
}

fn user_condition(query: &UserQuery) -> Condition {
    let mut condition = Condition::all();
    if let Some(search) = query.search.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty()) {
        // The lower-cased columns carry prefix indexes (migration 6).
        let pattern = prefix_pattern(&search);
        let like = |column: user::Column| column.like(LikeExpr::new(pattern.clone()).escape('\\'));
        condition = condition.add(
            Condition::any()
                .add(like(user::Column::EmailLower))
                .add(like(user::Column::UsernameLower))
                .add(like(user::Column::FullNameLower)),
        );
    }
    if let Some(role) = query.role {
        condition = condition.add(user::Column::Role.eq(role));
    }
    if let Some(status) = query.status {
        condition = condition.add(user::Column::Status.eq(status));
    }
    if let Some(account_type) = query.account_type {
        condition = condition.add(user::Column::AccountType.eq(account_type));
    }
    if let Some(confirmed) = query.email_confirmed {
        condition = condition.add(user::Column::EmailConfirmed.eq(confirmed));
    }
    condition
}

/// Users matching `query`, newest first, `first` of them after `after`,
/// with their profiles: two statements (the count, and the page joined with
/// profiles) whatever the page size.
pub async fn list_users(state: &AppState, query: &UserQuery, first: u64, after: Option<&str>) -> Result<UserPage, AppError> {
    let after = after.map(parse_user_cursor).transpose()?;
    let total_count = users_matching(query).count(&state.db).await?;
    let mut select = users_matching(query);
    if let Some((at, id)) = after {
        select = select.filter(
            Condition::any()
                .add(user::Column::CreatedAt.lt(at))
                .add(Condition::all().add(user::Column::CreatedAt.eq(at)).add(user::Column::Id.lt(id))),
        );
    }
    // Every user column, then every profile column, read by position (see
    // entities::rows): sea-orm's joined select finds each by a prefixed name.
    let statement = select
        .select_only()
        .columns(user::Column::iter())
        .columns(profile::Column::iter())
        .left_join(profile::Entity)
        .order_by_desc(user::Column::CreatedAt)
        .order_by_desc(user::Column::Id)
        .build(state.db.get_database_backend());
    // The page size as a literal (a number we checked, not text from the
    // client): SQLite re-prepares a statement on every run when its LIMIT is
    // bound, and there are at most 101 variants.
    let statement = Statement { sql: format!("{} LIMIT {}", statement.sql, first + 1), ..statement };
    let mut rows = state.db.query_all_raw(statement).await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let mut users = Vec::with_capacity(rows.len());
    let mut profiles = Vec::with_capacity(rows.len());
    for row in rows {
        let (user, profile) = entity_rows::user_with_profile_at(&row)?;
        if let Some(profile) = profile {
            profiles.push((user.id.clone(), profile));
        }
        users.push(user);
    }
    Ok(UserPage { users, profiles, has_next_page, total_count })
}

// ---------------------------------------------------------------------------
// Roles and statuses

fn unknown_user() -> ServiceError {
    ServiceError::one(&["userId"], UserErrorCode::NotFound, "There is no user with this id.")
}

/// Admins only: gives a user a role. Demoting the last active admin is refused.
pub async fn set_role(state: &AppState, user_id: &str, role: Role, meta: &RequestMeta) -> ServiceResult<user::Model> {
    let txn = begin_write(&state.db).await?;
    if role != Role::Admin {
        ensure_admin_remains(&txn, user_id, &["role"]).await?;
    }
    let Some(target) = user::Entity::find_by_id(user_id).one(&txn).await? else {
        return Err(unknown_user());
    };
    if target.role == role {
        return Ok(target);
    }
    let before = target.role;
    let mut active: user::ActiveModel = target.into();
    active.role = Set(role);
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    let detail = format!("{} -> {}", before.to_value(), role.to_value());
    let event = Event::new(SecurityEventType::RoleChanged, &updated.id).detail(detail).webhook(Webhook::RoleChanged(&updated));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Staff and admins: sets a user's status. Anything but ACTIVE ends every
/// session of that user at once. Staff cannot change an admin's status, and
/// the last active admin cannot be taken out.
pub async fn set_status(
    state: &AppState,
    actor: &Viewer,
    user_id: &str,
    status: AccountStatus,
    meta: &RequestMeta,
) -> ServiceResult<user::Model> {
    let txn = begin_write(&state.db).await?;
    let Some(target) = user::Entity::find_by_id(user_id).one(&txn).await? else {
        return Err(unknown_user());
    };
    if target.role == Role::Admin && actor.role != Role::Admin {
        return Err(ServiceError::one(&["userId"], UserErrorCode::NotAllowed, "Only an admin can change an admin's status."));
    }
    if status != AccountStatus::Active {
        ensure_admin_remains(&txn, user_id, &["status"]).await?;
    }
    let revoked = if status != AccountStatus::Active { sessions::revoke_all(&txn, user_id, None).await? } else { 0 };
    let updated = if target.status == status {
        target
    } else {
        let before = target.status;
        let mut active: user::ActiveModel = target.into();
        active.status = Set(status);
        active.updated_at = Set(Utc::now());
        let updated = active.update(&txn).await?;
        let mut detail = format!("{} -> {}", before.to_value(), status.to_value());
        if revoked > 0 {
            detail.push_str(&format!("; sessions ended ({revoked})"));
        }
        let event = Event::new(SecurityEventType::StatusChanged, &updated.id).detail(detail).webhook(Webhook::StatusChanged(&updated));
        events::record(&txn, state, meta, event).await?;
        updated
    };
    txn.commit().await?;
    Ok(updated)
}

/// Admins only: deletes a user and everything they own (see
/// `accounts::lifecycle::delete_user`).
pub async fn delete_user(state: &AppState, user_id: &str, meta: &RequestMeta) -> ServiceResult<DeletedUser> {
    lifecycle::delete_user(state, user_id, &["userId"], meta).await?.ok_or_else(unknown_user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(prefix_pattern("ann"), "ann%");
        assert_eq!(prefix_pattern("a_b%c\\"), "a\\_b\\%c\\\\%");
    }

    #[test]
    fn user_cursors_round_trip() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T15:04:05.123456789Z").unwrap().with_timezone(&Utc);
        let cursor = encode_cursor(USER_CURSOR, &format!("{}|{}", at.to_rfc3339_opts(SecondsFormat::Nanos, true), "id-1"));
        assert_eq!(parse_user_cursor(&cursor).unwrap(), (at, "id-1".to_owned()));
        assert!(parse_user_cursor(&encode_cursor(USER_CURSOR, "garbage")).is_err());
        assert!(parse_user_cursor(&encode_cursor(USER_CURSOR, "2026-11-24T15:04:05Z|")).is_err());
    }
}
