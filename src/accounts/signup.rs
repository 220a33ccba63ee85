//! Signup, and `tessera create-admin`, which makes or promotes an admin by
//! the same rules.
use chrono::Utc;
use sea_orm::{ActiveEnum, ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::accounts::uniqueness::{check_taken, taken_from_violation};
use crate::accounts::validate::{self, Email, PhoneNumber, Username};
use crate::accounts::{password, recovery};
use crate::entities::enums::{AccountStatus, AccountType, Role};
use crate::entities::security_event::SecurityEventType;
use crate::entities::{profile, user};
use crate::error::{Problems, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::media::service as media;
use crate::state::AppState;
use crate::viewer::RequestMeta;
use crate::webhooks::service::Webhook;

pub struct SignupData {
    pub email: String,
    pub password: String,
    pub password_confirmation: Option<String>,
    pub account_type: AccountType,
    pub username: Option<String>,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone_number: Option<String>,
    pub display_pic: Option<async_graphql::UploadValue>,
}

/// What signup has checked and will store.
pub struct NewAccount {
    pub email: Email,
    pub username: Option<Username>,
    pub phone: Option<PhoneNumber>,
    pub full_name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub account_type: AccountType,
    pub role: Role,
}

/// Checks every field of a signup, reporting every problem at once.
pub fn validate_signup(state: &AppState, data: &SignupData, problems: &mut Problems) -> Option<NewAccount> {
    let email = Email::parse(&data.email).map_err(|(code, msg)| problems.add(&["input", "email"], code, msg)).ok();
    let username = data
        .username
        .as_deref()
        .filter(|u| !u.trim().is_empty())
        .and_then(|u| Username::parse(u).map_err(|(code, msg)| problems.add(&["input", "username"], code, msg)).ok());
    let phone = data.phone_number.as_deref().filter(|p| !p.trim().is_empty()).and_then(|p| {
        PhoneNumber::parse(p, state.config.accounts.default_phone_region)
            .map_err(|(code, msg)| problems.add(&["input", "phoneNumber"], code, msg))
            .ok()
    });
    let first_name = validate::name(data.first_name.as_deref(), &["input", "firstName"], problems);
    let last_name = validate::name(data.last_name.as_deref(), &["input", "lastName"], problems);
    let full_name = validate::name(data.full_name.as_deref(), &["input", "fullName"], problems);
    if let Err((code, msg)) = password::check_rules(
        &data.password,
        Some(email.as_ref().map(Email::as_str).unwrap_or(&data.email)),
        username.as_ref().map(Username::as_str).or(data.username.as_deref()),
    ) {
        problems.add(&["input", "password"], code, msg);
    }
    if let Some(confirmation) = &data.password_confirmation {
        if confirmation != &data.password {
            problems.add(&["input", "passwordConfirmation"], UserErrorCode::Mismatch, "The passwords do not match.");
        }
    }
    let email = email?;
    Some(NewAccount {
        full_name: validate::full_name(full_name, first_name.as_deref(), last_name.as_deref()),
        email,
        username,
        phone,
        first_name,
        last_name,
        account_type: data.account_type,
        role: Role::User,
    })
}

/// Inserts a user and their empty profile inside `txn`.
pub async fn insert_account(
    txn: &DatabaseTransaction,
    account: &NewAccount,
    password_hash: Option<String>,
    display_pic_key: Option<String>,
) -> Result<user::Model, sea_orm::DbErr> {
    let now = Utc::now();
    let id = uuid::Uuid::now_v7().to_string();
    // The lower-cased columns follow from these (see the entity's before_save).
    let model = user::ActiveModel {
        id: Set(id.clone()),
        email: Set(account.email.as_str().to_owned()),
        username: Set(account.username.as_ref().map(|u| u.as_str().to_owned())),
        phone_number: Set(account.phone.as_ref().map(|p| p.as_str().to_owned())),
        password_hash: Set(password_hash),
        full_name: Set(account.full_name.clone()),
        first_name: Set(account.first_name.clone()),
        last_name: Set(account.last_name.clone()),
        account_type: Set(account.account_type),
        role: Set(account.role),
        status: Set(AccountStatus::Active),
        email_confirmed: Set(false),
        subscription_plan_id: Set(None),
        last_login_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    profile::ActiveModel {
        user_id: Set(id),
        bio: Set(None),
        gender: Set(None),
        birth_date: Set(None),
        state: Set(None),
        city: Set(None),
        interests: Set(profile::encode_interests(&[])),
        monthly_sub_keys: Set(None),
        display_pic_key: Set(display_pic_key),
        updated_at: Set(now),
    }
    .insert(txn)
    .await?;
    Ok(model)
}

/// Creates an ACTIVE account with an unconfirmed email, and queues its
/// confirmation mail in the same transaction.
pub async fn signup(state: &AppState, mut data: SignupData, meta: &RequestMeta) -> ServiceResult<user::Model> {
    let mut problems = Problems::default();
    let account = validate_signup(state, &data, &mut problems);
    let picture = match data.display_pic.take() {
        Some(upload) => match media::check_upload(state, upload, &["input", "displayPic"]).await? {
            Ok(checked) => Some(checked),
            Err(error) => {
                problems.push(error);
                None
            }
        },
        None => None,
    };
    // With the rest of the input valid, the password is hashed before the
    // lookup, so that a taken email or username answers no sooner than a new
    // one: the timing does not tell who has an account. (With other problems
    // nothing is hashed either way, and every problem is reported at once.)
    let hash = if problems.is_empty() { Some(state.passwords.hash(&data.password).await?) } else { None };
    if let Some(account) = &account {
        check_taken(state, Some(&account.email), account.username.as_ref(), account.phone.as_ref(), None, "input", &mut problems).await?;
    }
    problems.check()?;
    let (account, hash) = (account.expect("no problems means the account parsed"), hash.expect("no problems means it was hashed"));
    // The picture is stored first and removed again if the account is not.
    let picture_key = match picture {
        Some(checked) => Some(media::put_checked(state, checked).await?),
        None => None,
    };
    // Checked before the transaction: it counts in the database too.
    let send_confirmation = recovery::mail_allowed(state, account.email.as_str()).await?;
    let created = async {
        let txn = state.db.begin().await?;
        let taken = |e: sea_orm::DbErr| taken_from_violation(&e, "input").unwrap_or_else(|| e.into());
        let user = insert_account(&txn, &account, Some(hash), picture_key.clone()).await.map_err(taken)?;
        if send_confirmation {
            recovery::queue_email_confirmation(&txn, state, &user).await?;
        }
        events::record(&txn, state, meta, Event::new(SecurityEventType::Signup, &user.id).webhook(Webhook::UserCreated(&user))).await?;
        txn.commit().await.map_err(taken)?;
        Ok::<_, ServiceError>(user)
    }
    .await;
    match created {
        Ok(user) => {
            state.mail_queued();
            Ok(user)
        }
        Err(error) => {
            if let Some(key) = &picture_key {
                state.media.delete_quietly(key).await;
            }
            Err(error)
        }
    }
}

/// `tessera create-admin`: a new ADMIN account, or an existing account with
/// this email promoted to ADMIN with the new password.
pub async fn create_admin(state: &AppState, email: &str, username: Option<&str>, password_text: &str) -> ServiceResult<user::Model> {
    let mut problems = Problems::default();
    let data = SignupData {
        email: email.to_owned(),
        password: password_text.to_owned(),
        password_confirmation: None,
        account_type: AccountType::Fan,
        username: username.map(str::to_owned),
        full_name: None,
        first_name: None,
        last_name: None,
        phone_number: None,
        display_pic: None,
    };
    let Some(mut account) = validate_signup(state, &data, &mut problems) else {
        return Err(problems.check().expect_err("an unparsed account has problems"));
    };
    let existing = user::Entity::find().filter(user::Column::EmailLower.eq(account.email.lower())).one(&state.db).await?;
    if existing.is_none() {
        check_taken(state, None, account.username.as_ref(), None, None, "input", &mut problems).await?;
    }
    problems.check()?;
    let hash = state.passwords.hash(password_text).await?;
    let txn = state.db.begin().await?;
    let meta = RequestMeta::none();
    const BY: &str = "tessera create-admin";
    let admin = match existing {
        Some(existing) => {
            let before = existing.clone();
            let mut active: user::ActiveModel = existing.into();
            active.role = Set(Role::Admin);
            active.status = Set(AccountStatus::Active);
            active.password_hash = Set(Some(hash));
            active.updated_at = Set(Utc::now());
            let admin = active.update(&txn).await?;
            if before.role != admin.role {
                let detail = format!("{} -> {} ({BY})", before.role.to_value(), admin.role.to_value());
                let event = Event::new(SecurityEventType::RoleChanged, &admin.id).detail(detail).webhook(Webhook::RoleChanged(&admin));
                events::record(&txn, state, &meta, event).await?;
            }
            if before.status != admin.status {
                let detail = format!("{} -> {} ({BY})", before.status.to_value(), admin.status.to_value());
                let event = Event::new(SecurityEventType::StatusChanged, &admin.id).detail(detail).webhook(Webhook::StatusChanged(&admin));
                events::record(&txn, state, &meta, event).await?;
            }
            let event = Event::new(SecurityEventType::PasswordChanged, &admin.id).detail(BY).webhook(Webhook::PasswordChanged(&admin));
            events::record(&txn, state, &meta, event).await?;
            admin
        }
        None => {
            account.role = Role::Admin;
            let admin = insert_account(&txn, &account, Some(hash), None)
                .await
                .map_err(|e| taken_from_violation(&e, "input").unwrap_or_else(|| e.into()))?;
            let event = Event::new(SecurityEventType::Signup, &admin.id).detail(BY).webhook(Webhook::UserCreated(&admin));
            events::record(&txn, state, &meta, event).await?;
            admin
        }
    };
    txn.commit().await?;
    Ok(admin)
}
