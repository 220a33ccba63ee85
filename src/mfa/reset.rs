//! resetUserMfa: an admin takes every second factor off an account (a user
//! who lost their phone and their recovery codes), ends all its sessions and
//! tells the user by mail.
use chrono::Utc;
use sea_orm::EntityTrait;

use crate::db::begin_write;
use crate::entities::security_event::SecurityEventType;
use crate::entities::user;
use crate::error::{ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::mail::outbox;
use crate::mail::templates::{self, MfaOff};
use crate::mfa::{challenge, passkeys, recovery_codes, totp};
use crate::sessions::service as sessions;
use crate::state::AppState;
use crate::viewer::RequestMeta;
use crate::webhooks::service::Webhook;

/// Removes the user's TOTP, recovery codes, passkeys, pending ceremonies and
/// signin challenges, and ends every session of theirs. Admins only (the
/// resolver checks).
pub async fn reset_user(state: &AppState, user_id: &str, meta: &RequestMeta) -> ServiceResult<user::Model> {
    let txn = begin_write(&state.db).await?;
    let Some(user) = user::Entity::find_by_id(user_id).one(&txn).await? else {
        return Err(ServiceError::one(&["userId"], UserErrorCode::NotFound, "There is no user with this id."));
    };
    totp::remove(&txn, &user.id).await?;
    recovery_codes::remove_all(&txn, &user.id).await?;
    let passkeys_removed = passkeys::remove_all(&txn, &user.id).await?;
    challenge::remove_all(&txn, &user.id).await?;
    sessions::revoke_all(&txn, &user.id, None).await?;
    let mail = templates::mfa_disabled(templates::greeting_name(&user), MfaOff::ByAdmin, Utc::now(), &state.config.server.app_url());
    outbox::enqueue(&txn, Some(&user.id), &user.email, mail).await?;
    let detail = format!("reset by an admin: every second factor removed ({passkeys_removed} passkeys), every session ended");
    let event = Event::new(SecurityEventType::MfaDisabled, &user.id).detail(detail).webhook(Webhook::SessionsRevokedAll(&user));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(user)
}
