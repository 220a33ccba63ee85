//! Email, username and phone number belong to one account each: checked
//! before a write, and enforced by unique indexes when two writes race.
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

use crate::accounts::validate::{Email, PhoneNumber, Username};
use crate::entities::user;
use crate::error::{unique_violation, AppError, Problems, ServiceError, UserError, UserErrorCode};
use crate::state::AppState;

/// Reports TAKEN for each of these values that another account already holds.
pub async fn check_taken(
    state: &AppState,
    email: Option<&Email>,
    username: Option<&Username>,
    phone: Option<&PhoneNumber>,
    except_user: Option<&str>,
    prefix: &str,
    problems: &mut Problems,
) -> Result<(), AppError> {
    let mut any = Condition::any();
    if let Some(email) = email {
        any = any.add(user::Column::EmailLower.eq(email.lower()));
    }
    if let Some(username) = username {
        any = any.add(user::Column::UsernameLower.eq(username.lower()));
    }
    if let Some(phone) = phone {
        any = any.add(user::Column::PhoneNumber.eq(phone.as_str()));
    }
    if any.is_empty() {
        return Ok(());
    }
    let mut query = user::Entity::find().filter(any);
    if let Some(id) = except_user {
        query = query.filter(user::Column::Id.ne(id));
    }
    for other in query.all(&state.db).await? {
        if email.is_some_and(|e| e.lower() == other.email_lower) {
            problems.add(&[prefix, "email"], UserErrorCode::Taken, "An account with this email already exists.");
        }
        if username.is_some_and(|u| Some(u.lower()) == other.username_lower) {
            problems.add(&[prefix, "username"], UserErrorCode::Taken, "This username is taken.");
        }
        if phone.is_some_and(|p| Some(p.as_str()) == other.phone_number.as_deref()) {
            problems.add(&[prefix, "phoneNumber"], UserErrorCode::Taken, "An account with this phone number already exists.");
        }
    }
    Ok(())
}

/// Turns a unique-index violation (a race lost to another request) into the
/// TAKEN error a client would have got a moment later.
pub fn taken_from_violation(error: &sea_orm::DbErr, prefix: &str) -> Option<ServiceError> {
    let message = unique_violation(error)?;
    let (field, text) = if message.contains("email") {
        ("email", "An account with this email already exists.")
    } else if message.contains("username") {
        ("username", "This username is taken.")
    } else if message.contains("phone") {
        ("phoneNumber", "An account with this phone number already exists.")
    } else {
        return None;
    };
    Some(ServiceError::User(vec![UserError::new(&[prefix, field], UserErrorCode::Taken, text)]))
}
