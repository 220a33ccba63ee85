//! The end of an account: a user deactivating or deleting their own, the
//! one deletion routine that admins' `deleteUser` shares, and the guard that
//! always keeps one active admin.
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::accounts::recovery;
use crate::db::begin_write;
use crate::entities::enums::{AccountStatus, Role};
use crate::entities::security_event::SecurityEventType;
use crate::entities::{profile, user};
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::sessions::service as sessions;
use crate::state::AppState;
use crate::viewer::RequestMeta;
use crate::webhooks::service::Webhook;

/// What is left to do once a user's rows are gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedUser {
    pub id: String,
    /// The media-store key of their display picture, if they had one.
    pub display_pic_key: Option<String>,
}

/// Inside a transaction from `db::begin_write`, before the change: refuses
/// (NOT_ALLOWED) when `user_id` is the only ACTIVE admin, since demoting,
/// suspending, deactivating or deleting them would leave no admin at all.
///
/// On PostgreSQL the active admins' rows stay locked (`FOR UPDATE`) until the
/// transaction ends, so two admins demoting each other at once cannot both
/// pass: the second waits, then sees the first one's change.
pub async fn ensure_admin_remains(txn: &DatabaseTransaction, user_id: &str, field: &[&str]) -> ServiceResult<()> {
    let admins: Vec<String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::Status.eq(AccountStatus::Active))
        .order_by_asc(user::Column::Id)
        .lock_exclusive()
        .into_tuple()
        .all(txn)
        .await?;
    if admins.len() == 1 && admins[0] == user_id {
        return Err(ServiceError::one(
            field,
            UserErrorCode::NotAllowed,
            "This is the only active admin: make someone else an admin first.",
        ));
    }
    Ok(())
}

/// The user deactivates their own account: status DEACTIVATED and every
/// session ends at once. Only staff or an admin can make it ACTIVE again.
pub async fn deactivate(state: &AppState, user_id: &str, meta: &RequestMeta) -> ServiceResult<()> {
    let txn = begin_write(&state.db).await?;
    ensure_admin_remains(&txn, user_id, &[]).await?;
    let updated = user::Entity::update_many()
        .col_expr(user::Column::Status, Expr::value(AccountStatus::Deactivated))
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user_id))
        .exec(&txn)
        .await?;
    if updated.rows_affected == 0 {
        // Deleted since this request was authenticated.
        return Err(AppError::Unauthenticated.into());
    }
    let revoked = sessions::revoke_all(&txn, user_id, None).await?;
    let user = user::Entity::find_by_id(user_id).one(&txn).await?.ok_or(AppError::Unauthenticated)?;
    let event = Event::new(SecurityEventType::AccountDeactivated, user_id)
        .detail(format!("every session ended ({revoked})"))
        .webhook(Webhook::StatusChanged(&user));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    Ok(())
}

/// The user deletes their own account, proving it with their password.
pub async fn delete_account(state: &AppState, user_id: &str, password: &str, meta: &RequestMeta) -> ServiceResult<DeletedUser> {
    let hash: Option<Option<String>> =
        user::Entity::find_by_id(user_id).select_only().column(user::Column::PasswordHash).into_tuple().one(&state.db).await?;
    let Some(hash) = hash else { return Err(AppError::Unauthenticated.into()) };
    // An account made through a provider sets a password first (after a fresh provider signin).
    let Some(hash) = hash else { return Err(recovery::no_password_yet(&["password"])) };
    if !state.passwords.verify(password, Some(&hash)).await? {
        return Err(ServiceError::one(&["password"], UserErrorCode::InvalidCredentials, "The password is wrong."));
    }
    delete_user(state, user_id, &[], meta).await?.ok_or_else(|| AppError::Unauthenticated.into())
}

/// Deletes a user and everything they own, in one transaction; `None` when
/// there is no such user. The last active admin is never deleted (the
/// NOT_ALLOWED error names `field`).
///
/// The user's sessions, refresh tokens, profile, email tokens, queued mail
/// and Instagram account and images go with the `users` row: every one of
/// those tables references it `ON DELETE CASCADE` (SQLite runs with
/// `foreign_keys` on), so the database itself guarantees nothing is left
/// behind, whichever table is added next. Email, username and phone number
/// are free again once this commits. Its security events stay, with their
/// user id set to null; the ACCOUNT_DELETED event names the id in its detail,
/// and other services hear `user.deleted`.
pub async fn delete_user(state: &AppState, user_id: &str, field: &[&str], meta: &RequestMeta) -> ServiceResult<Option<DeletedUser>> {
    let txn = begin_write(&state.db).await?;
    ensure_admin_remains(&txn, user_id, field).await?;
    // Read inside the transaction: a picture set a moment ago is not missed.
    let display_pic_key: Option<Option<String>> =
        profile::Entity::find_by_id(user_id).select_only().column(profile::Column::DisplayPicKey).into_tuple().one(&txn).await?;
    let exists = user::Entity::find_by_id(user_id).select_only().column(user::Column::Id).into_tuple::<String>().one(&txn).await?.is_some();
    if !exists {
        return Ok(None);
    }
    // Recorded first, while the user still exists; deleting them sets its user_id to null.
    let event =
        Event::new(SecurityEventType::AccountDeleted, user_id).detail(format!("user {user_id}")).webhook(Webhook::UserDeleted(user_id));
    events::record(&txn, state, meta, event).await?;
    let deleted = user::Entity::delete_by_id(user_id).exec(&txn).await?;
    if deleted.rows_affected == 0 {
        return Ok(None);
    }
    txn.commit().await?;
    let deleted = DeletedUser { id: user_id.to_owned(), display_pic_key: display_pic_key.flatten() };
    // The picture leaves the media store only after the commit: a failed
    // delete there leaves an orphaned file, never a user without a picture.
    if let Some(key) = &deleted.display_pic_key {
        state.media.delete_quietly(key).await;
    }
    Ok(Some(deleted))
}
