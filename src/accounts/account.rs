//! updateAccount: the account's own identifiers and names, with the same
//! validation and TAKEN rules as signup.
use async_graphql::MaybeUndefined;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set, TransactionTrait};

use crate::accounts::recovery;
use crate::accounts::uniqueness::{check_taken, taken_from_violation};
use crate::accounts::validate::{self, Email, PhoneNumber, Username};
use crate::entities::security_event::SecurityEventType;
use crate::entities::{subscription_plan, user};
use crate::error::{AppError, Problems, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::patch::{apply, blank_clears};
use crate::state::AppState;
use crate::viewer::RequestMeta;
use crate::webhooks::service::{self as webhooks, Webhook};

/// Undefined leaves a field alone; Null clears it (where it can be cleared).
pub struct AccountChanges {
    pub email: MaybeUndefined<String>,
    pub username: MaybeUndefined<String>,
    pub full_name: MaybeUndefined<String>,
    pub first_name: MaybeUndefined<String>,
    pub last_name: MaybeUndefined<String>,
    pub phone_number: MaybeUndefined<String>,
    pub subscription_plan_id: MaybeUndefined<String>,
}

/// What an update does to the account; `email_changed` tells the caller a
/// confirmation is due.
pub struct AccountUpdate {
    pub user: user::Model,
    pub email_changed: bool,
}

pub async fn update_account(state: &AppState, user_id: &str, changes: AccountChanges, meta: &RequestMeta) -> ServiceResult<AccountUpdate> {
    let current = user::Entity::find_by_id(user_id.to_owned()).one(&state.db).await?.ok_or(AppError::Unauthenticated)?;
    let mut problems = Problems::default();

    let email = match blank_clears(changes.email) {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => {
            problems.add(&["input", "email"], UserErrorCode::Required, "An account needs an email address.");
            None
        }
        MaybeUndefined::Value(raw) => Email::parse(&raw).map_err(|(code, msg)| problems.add(&["input", "email"], code, msg)).ok(),
    };
    let email = email.filter(|e| e.as_str() != current.email);
    let username = match blank_clears(changes.username) {
        MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        MaybeUndefined::Null => MaybeUndefined::Null,
        MaybeUndefined::Value(raw) => match Username::parse(&raw) {
            Ok(name) => MaybeUndefined::Value(name),
            Err((code, msg)) => {
                problems.add(&["input", "username"], code, msg);
                MaybeUndefined::Undefined
            }
        },
    };
    let phone = match blank_clears(changes.phone_number) {
        MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        MaybeUndefined::Null => MaybeUndefined::Null,
        MaybeUndefined::Value(raw) => match PhoneNumber::parse(&raw, state.config.accounts.default_phone_region) {
            Ok(phone) => MaybeUndefined::Value(phone),
            Err((code, msg)) => {
                problems.add(&["input", "phoneNumber"], code, msg);
                MaybeUndefined::Undefined
            }
        },
    };
    let mut name = |value: MaybeUndefined<String>, field: &str| match blank_clears(value) {
        MaybeUndefined::Value(v) => match validate::name(Some(&v), &["input", field], &mut problems) {
            Some(valid) => MaybeUndefined::Value(valid),
            None => MaybeUndefined::Undefined,
        },
        other => other,
    };
    let first_name = name(changes.first_name, "firstName");
    let last_name = name(changes.last_name, "lastName");
    let full_name = name(changes.full_name, "fullName");

    let plan = match blank_clears(changes.subscription_plan_id) {
        MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        MaybeUndefined::Null => MaybeUndefined::Null,
        MaybeUndefined::Value(id) => match subscription_plan::Entity::find_by_id(id).one(&state.db).await? {
            Some(plan) => MaybeUndefined::Value(plan.id),
            None => {
                problems.add(&["input", "subscriptionPlanId"], UserErrorCode::NotFound, "There is no subscription plan with this id.");
                MaybeUndefined::Undefined
            }
        },
    };
    check_taken(state, email.as_ref(), username.value(), phone.value(), Some(user_id), "input", &mut problems).await?;
    problems.check()?;

    let derived_full_name = validate::full_name(None, current.first_name.as_deref(), current.last_name.as_deref());
    let mut row = current.clone().into_active_model();
    let email_changed = email.is_some();
    // The lower-cased columns follow (see the entity's before_save).
    if let Some(email) = &email {
        row.email = Set(email.as_str().to_owned());
        row.email_confirmed = Set(false);
    }
    apply(username.map_value(|name| name.as_str().to_owned()), |v| row.username = Set(v));
    apply(phone.map_value(|phone| phone.as_str().to_owned()), |v| row.phone_number = Set(v));
    let new_first = match &first_name {
        MaybeUndefined::Undefined => current.first_name.clone(),
        other => other.value().cloned(),
    };
    let new_last = match &last_name {
        MaybeUndefined::Undefined => current.last_name.clone(),
        other => other.value().cloned(),
    };
    row.first_name = Set(new_first.clone());
    row.last_name = Set(new_last.clone());
    let new_full = match full_name {
        MaybeUndefined::Value(v) => Some(v),
        MaybeUndefined::Null => None,
        // A display name that was only the joined names follows them.
        MaybeUndefined::Undefined if current.full_name.is_none() || current.full_name == derived_full_name => {
            validate::full_name(None, new_first.as_deref(), new_last.as_deref())
        }
        MaybeUndefined::Undefined => current.full_name.clone(),
    };
    row.full_name = Set(new_full);
    apply(plan, |v| row.subscription_plan_id = Set(v));
    row.updated_at = Set(Utc::now());

    let send_confirmation = match &email {
        Some(email) => recovery::mail_allowed(state, email.as_str()).await?,
        None => false,
    };
    let txn = state.db.begin().await?;
    let user = match row.update(&txn).await {
        Ok(user) => user,
        Err(error) => return Err(taken_from_violation(&error, "input").unwrap_or_else(|| error.into())),
    };
    // The confirmation mail to the new address commits with the change.
    if send_confirmation {
        recovery::queue_email_confirmation(&txn, state, &user).await?;
    }
    // Other services hear about the fields they keep (user.updated); an
    // address change is a security event too.
    let changed = webhooks::changed_fields(&current, &user);
    let update = (!changed.is_empty()).then_some(Webhook::UserUpdated(&user, changed));
    if email_changed {
        let mut event = Event::new(SecurityEventType::EmailChanged, &user.id);
        event.webhooks.extend(update);
        events::record(&txn, state, meta, event).await?;
    } else if let Some(update) = &update {
        webhooks::enqueue(&txn, &state.config.webhooks, update).await?;
    }
    txn.commit().await.map_err(|e| taken_from_violation(&e, "input").unwrap_or_else(|| e.into()))?;
    if send_confirmation {
        state.mail_queued();
    }
    Ok(AccountUpdate { user, email_changed })
}
