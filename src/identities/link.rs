//! Which account a provider's person is, and linking and unlinking
//! providers. The rules:
//! - (provider, sub) is the person: once linked, a signin finds the account
//!   by it, whatever the email says now.
//! - A first signin makes an account when no account has the email
//!   (emailConfirmed = the provider's email_verified, no password), and links
//!   an existing account only when the provider verified the email AND the
//!   account confirmed it. Otherwise ACCOUNT_EXISTS and nothing changes:
//!   whoever made an unconfirmed account with someone's address (or a
//!   provider that vouches for nothing) never gets into the other's account.
//! - A signed-in viewer links any provider account not linked elsewhere (TAKEN).
//! - Unlinking never removes the last way to sign in.
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set, TransactionTrait};

use crate::accounts::recovery;
use crate::accounts::signup::{insert_account, NewAccount};
use crate::accounts::validate::{self, Email};
use crate::db::begin_write;
use crate::entities::enums::{AccountStatus, AccountType, Role};
use crate::entities::security_event::SecurityEventType;
use crate::entities::{identity, user};
use crate::error::{unique_violation, AppError, Problems, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::identities::identity as providers;
use crate::mfa::status;
use crate::security::oidc::{Person, Provider};
use crate::state::AppState;
use crate::viewer::{RequestMeta, Viewer};
use crate::webhooks::service::Webhook;

fn account_exists(provider: &Provider) -> ServiceError {
    ServiceError::one(
        &[],
        UserErrorCode::AccountExists,
        format!(
            "An account already uses this email: sign in to it and link {} from there (or confirm its email first).",
            provider.config.display_name
        ),
    )
}

async fn find_identity<C: ConnectionTrait>(db: &C, provider: &str, subject: &str) -> Result<Option<identity::Model>, AppError> {
    Ok(identity::Entity::find()
        .filter(identity::Column::Provider.eq(provider))
        .filter(identity::Column::Subject.eq(subject))
        .one(db)
        .await?)
}

/// A new identity row for `user_id`.
fn new_identity(user_id: &str, provider: &str, person: &Person) -> identity::ActiveModel {
    let now = Utc::now();
    identity::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user_id.to_owned()),
        provider: Set(provider.to_owned()),
        subject: Set(person.subject.clone()),
        email: Set(person.email.as_ref().map(|e| e.chars().take(255).collect())),
        linked_at: Set(now),
        last_used_at: Set(Some(now)),
    }
}

/// Whether a database error is a lost race on one of the identities' unique indexes.
fn lost_identity_race(error: &sea_orm::DbErr) -> bool {
    unique_violation(error).is_some_and(|message| message.contains("identities"))
}

/// The account a signin through `provider` is for: found by (provider, sub),
/// else linked by a verified email to a confirmed account, else made. Refuses
/// with ACCOUNT_EXISTS when the email belongs to an account it may not link.
/// Status rules are left to `accounts::signin::complete`.
pub async fn account_for_signin(
    state: &AppState,
    provider: &Provider,
    person: &Person,
    full_name: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<user::Model> {
    match find_or_make(state, provider, person, full_name, meta).await {
        // Another request linked or made it at the same moment: it exists now.
        Err(ServiceError::App(AppError::Internal(cause)))
            if cause.downcast_ref::<sea_orm::DbErr>().is_some_and(|e| lost_identity_race(e) || unique_violation(e).is_some()) =>
        {
            find_or_make(state, provider, person, full_name, meta).await
        }
        other => other,
    }
}

async fn find_or_make(
    state: &AppState,
    provider: &Provider,
    person: &Person,
    full_name: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<user::Model> {
    let name = provider.config.name.as_str();
    if let Some(found) = find_identity(&state.db, name, &person.subject).await? {
        let user = user::Entity::find_by_id(found.user_id.clone()).one(&state.db).await?.ok_or(AppError::Unauthenticated)?;
        identity::Entity::update_many()
            .col_expr(identity::Column::LastUsedAt, Expr::value(Utc::now()))
            .col_expr(identity::Column::Email, Expr::value(person.email.as_ref().map(|e| e.chars().take(255).collect::<String>())))
            .filter(identity::Column::Id.eq(found.id))
            .exec(&state.db)
            .await?;
        return Ok(user);
    }
    let email = person.email.as_deref().map(Email::parse).and_then(Result::ok).ok_or_else(|| {
        ServiceError::one(
            &["input", "idToken"],
            UserErrorCode::InvalidToken,
            format!("{} gave no usable email address: allow Tessera to see your email and try again.", provider.config.display_name),
        )
    })?;
    let existing = user::Entity::find().filter(user::Column::EmailLower.eq(email.lower())).one(&state.db).await?;
    match existing {
        Some(user) if !(person.email_verified && user.email_confirmed) => Err(account_exists(provider)),
        // Refused by `complete` with its status; nothing is linked to it.
        Some(user) if user.status != AccountStatus::Active => Ok(user),
        Some(user) => {
            let txn = state.db.begin().await?;
            new_identity(&user.id, name, person).insert(&txn).await.map_err(AppError::from)?;
            let detail = format!("{name} (first signin, verified email)");
            events::record(&txn, state, meta, Event::new(SecurityEventType::IdentityLinked, &user.id).detail(detail)).await?;
            txn.commit().await?;
            Ok(user)
        }
        None => make_account(state, provider, person, email, full_name, meta).await,
    }
}

/// A FAN account without a password or username, its email confirmed when
/// the provider verified it; otherwise the confirmation mail goes out (the
/// only mail a provider signin sends).
async fn make_account(
    state: &AppState,
    provider: &Provider,
    person: &Person,
    email: Email,
    full_name: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<user::Model> {
    let mut problems = Problems::default();
    let from_input = validate::name(full_name, &["input", "fullName"], &mut problems);
    problems.check()?;
    let from_token =
        person.name.as_deref().map(|n| n.trim().chars().filter(|c| !c.is_control()).take(validate::MAX_NAME).collect::<String>());
    let account = NewAccount {
        full_name: from_token.filter(|n| !n.is_empty()).or(from_input),
        email,
        username: None,
        phone: None,
        first_name: None,
        last_name: None,
        account_type: AccountType::Fan,
        role: Role::User,
    };
    let send_confirmation = !person.email_verified && recovery::mail_allowed(state, account.email.as_str()).await?;
    let name = provider.config.name.as_str();
    let txn = state.db.begin().await?;
    let mut user = insert_account(&txn, &account, None, None).await.map_err(AppError::from)?;
    if person.email_verified {
        user::Entity::update_many()
            .col_expr(user::Column::EmailConfirmed, Expr::value(true))
            .filter(user::Column::Id.eq(user.id.clone()))
            .exec(&txn)
            .await?;
        user.email_confirmed = true;
    }
    new_identity(&user.id, name, person).insert(&txn).await.map_err(AppError::from)?;
    if send_confirmation {
        recovery::queue_email_confirmation(&txn, state, &user).await?;
    }
    let signup = Event::new(SecurityEventType::Signup, &user.id).detail(format!("through {name}")).webhook(Webhook::UserCreated(&user));
    events::record(&txn, state, meta, signup).await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::IdentityLinked, &user.id).detail(name)).await?;
    txn.commit().await?;
    if send_confirmation {
        state.mail_queued();
    }
    Ok(user)
}

/// Links the person to `user_id` (linkIdentity, or a browser flow started
/// with link: true). TAKEN when linked to another account; ALREADY_DONE when
/// the account has another account of this provider.
pub async fn link_to_user(
    state: &AppState,
    user_id: &str,
    provider: &Provider,
    person: &Person,
    meta: &RequestMeta,
) -> ServiceResult<user::Model> {
    let name = provider.config.name.as_str();
    let user = user::Entity::find_by_id(user_id).one(&state.db).await?.ok_or(AppError::Unauthenticated)?;
    if user.status != AccountStatus::Active {
        return Err(AppError::Unauthenticated.into());
    }
    let taken = || {
        ServiceError::one(
            &["input", "idToken"],
            UserErrorCode::Taken,
            format!("This {} account is linked to another account.", provider.config.display_name),
        )
    };
    match find_identity(&state.db, name, &person.subject).await? {
        Some(found) if found.user_id == user.id => return Ok(user),
        Some(_) => return Err(taken()),
        None => {}
    }
    let txn = state.db.begin().await?;
    let inserted = new_identity(&user.id, name, person).insert(&txn).await;
    if let Err(error) = inserted {
        txn.rollback().await?;
        return match unique_violation(&error) {
            // PostgreSQL names the index, SQLite its columns.
            Some(index) if index.contains("user_provider") || index.contains("identities.user_id") => Err(ServiceError::one(
                &["input", "provider"],
                UserErrorCode::AlreadyDone,
                format!("Another {} account is linked to this account: unlink it first.", provider.config.display_name),
            )),
            Some(_) => Err(taken()),
            None => Err(AppError::from(error).into()),
        };
    }
    events::record(&txn, state, meta, Event::new(SecurityEventType::IdentityLinked, &user.id).detail(name)).await?;
    txn.commit().await?;
    Ok(user)
}

/// linkIdentity: checks the ID token, then links it to the viewer.
pub async fn link_identity(
    state: &AppState,
    viewer: &Viewer,
    provider_name: &str,
    id_token: &str,
    nonce: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<user::Model> {
    let provider = providers::provider(state, provider_name, &["input", "provider"])?;
    let person = providers::verify(state, provider, id_token, nonce).await?;
    link_to_user(state, &viewer.user_id, provider, &person, meta).await
}

/// Removes the viewer's identity of `provider`, unless it is the account's
/// last way to sign in (no password, no other provider, no passkey).
pub async fn unlink(state: &AppState, user_id: &str, provider: &str, meta: &RequestMeta) -> ServiceResult<user::Model> {
    let txn = begin_write(&state.db).await?;
    // Locked: two unlinks at once cannot each leave the other as the last way in.
    let user = user::Entity::find_by_id(user_id).lock_exclusive().one(&txn).await?.ok_or(AppError::Unauthenticated)?;
    let linked = identity::Entity::find().filter(identity::Column::UserId.eq(user_id)).all(&txn).await?;
    let Some(target) = linked.iter().find(|i| i.provider == provider) else {
        return Err(ServiceError::one(&["provider"], UserErrorCode::NotFound, "No account of this provider is linked."));
    };
    let passkeys = status::factors_of(&txn, user_id).await?.passkeys;
    if user.password_hash.is_none() && linked.len() == 1 && passkeys == 0 {
        return Err(ServiceError::one(
            &["provider"],
            UserErrorCode::NotAllowed,
            "This is the only way to sign in to this account: set a password (setPassword) or link another provider first.",
        ));
    }
    identity::Entity::delete_by_id(target.id.clone()).exec(&txn).await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::IdentityUnlinked, user_id).detail(provider)).await?;
    txn.commit().await?;
    Ok(user)
}
