//! Staff and admin rules: the user list, roles, statuses, new plans, user
//! deletion, and the guard that always keeps one active admin.
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::LikeExpr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, Set,
};

use crate::accounts::lifecycle::{self, DeletedUser};
use crate::db::begin_write;
use crate::entities::enums::{AccountStatus, AccountType, Role};
use crate::entities::{subscription_plan, user};
use crate::error::{unique_violation, AppError, Problems, ServiceError, ServiceResult, UserErrorCode};
use crate::graphql::context::Viewer;
use crate::graphql::pagination::{decode_cursor, encode_cursor, invalid_cursor};
use crate::sessions::service as sessions;
use crate::state::AppState;

// ---------------------------------------------------------------------------
// Keeping an admin

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

/// Users matching `query`, newest first, `first` of them after `after`:
/// two statements (the count and the page) whatever the page size.
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
    let mut users = select
        .order_by_desc(user::Column::CreatedAt)
        .order_by_desc(user::Column::Id)
        .limit(first + 1)
        .all(&state.db)
        .await?;
    let has_next_page = users.len() as u64 > first;
    users.truncate(first as usize);
    Ok(UserPage { users, has_next_page, total_count })
}

// ---------------------------------------------------------------------------
// Roles and statuses

fn unknown_user() -> ServiceError {
    ServiceError::one(&["userId"], UserErrorCode::NotFound, "There is no user with this id.")
}

/// Admins only: gives a user a role. Demoting the last active admin is refused.
pub async fn set_role(state: &AppState, user_id: &str, role: Role) -> ServiceResult<user::Model> {
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
    let mut active: user::ActiveModel = target.into();
    active.role = Set(role);
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Staff and admins: sets a user's status. Anything but ACTIVE ends every
/// session of that user at once. Staff cannot change an admin's status, and
/// the last active admin cannot be taken out.
pub async fn set_status(state: &AppState, actor: &Viewer, user_id: &str, status: AccountStatus) -> ServiceResult<user::Model> {
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
    let updated = if target.status == status {
        target
    } else {
        let mut active: user::ActiveModel = target.into();
        active.status = Set(status);
        active.updated_at = Set(Utc::now());
        active.update(&txn).await?
    };
    if status != AccountStatus::Active {
        sessions::revoke_all(&txn, user_id, None).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// Admins only: deletes a user and everything they own (see
/// `accounts::lifecycle::delete_user`).
pub async fn delete_user(state: &AppState, user_id: &str) -> ServiceResult<DeletedUser> {
    lifecycle::delete_user(state, user_id, &["userId"]).await?.ok_or_else(unknown_user)
}

// ---------------------------------------------------------------------------
// Subscription plans

pub const MAX_PLAN_NAME: usize = 100;
pub const MAX_INTERVAL_MONTHS: i32 = 120;

/// The circulating currencies of ISO 4217 (funds, metals, testing and
/// "no currency" codes left out: nothing is priced in them).
const ISO_4217: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD",
    "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
    "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS",
    "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD",
    "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR",
    "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK",
    "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD",
    "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF",
    "YER", "ZAR", "ZMW", "ZWG",
];

/// What `createSubscriptionPlan` receives.
pub struct NewPlan {
    pub name: String,
    pub price_cents: i32,
    pub currency: String,
    pub interval_months: i32,
}

const PLAN_NAME_TAKEN: &str = "A plan with this name already exists.";

/// Admins only: a new plan. Every problem of the input is reported together.
pub async fn create_plan(state: &AppState, input: NewPlan) -> ServiceResult<subscription_plan::Model> {
    let mut problems = Problems::default();
    let name = input.name.trim();
    if name.is_empty() {
        problems.add(&["input", "name"], UserErrorCode::Required, "Give the plan a name.");
    } else if name.chars().count() > MAX_PLAN_NAME {
        problems.add(&["input", "name"], UserErrorCode::TooLong, format!("A plan name has at most {MAX_PLAN_NAME} characters."));
    } else if name.chars().any(char::is_control) {
        problems.add(&["input", "name"], UserErrorCode::Invalid, "Remove the control characters from the name.");
    }
    if input.price_cents < 0 {
        problems.add(&["input", "priceCents"], UserErrorCode::Invalid, "The price cannot be negative.");
    }
    let currency = input.currency.trim();
    if currency.is_empty() {
        problems.add(&["input", "currency"], UserErrorCode::Required, "Give the plan a currency, like USD.");
    } else if !ISO_4217.contains(&currency) {
        problems.add(&["input", "currency"], UserErrorCode::Invalid, "Use an ISO 4217 currency code in capitals, like USD or EUR.");
    }
    if !(1..=MAX_INTERVAL_MONTHS).contains(&input.interval_months) {
        problems.add(
            &["input", "intervalMonths"],
            UserErrorCode::Invalid,
            format!("The billing interval is from 1 to {MAX_INTERVAL_MONTHS} months."),
        );
    }
    let name_lower = name.to_lowercase();
    if !problems.has(&["input", "name"]) {
        let taken = subscription_plan::Entity::find()
            .filter(subscription_plan::Column::NameLower.eq(name_lower.clone()))
            .one(&state.db)
            .await?
            .is_some();
        if taken {
            problems.add(&["input", "name"], UserErrorCode::Taken, PLAN_NAME_TAKEN);
        }
    }
    problems.check()?;
    let plan = subscription_plan::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        name: Set(name.to_owned()),
        name_lower: Set(name_lower),
        price_cents: Set(input.price_cents),
        currency: Set(currency.to_owned()),
        interval_months: Set(input.interval_months),
        created_at: Set(Utc::now()),
    };
    // A plan of the same name created a moment ago loses the race on the unique index.
    plan.insert(&state.db).await.map_err(|e| match unique_violation(&e) {
        Some(_) => ServiceError::one(&["input", "name"], UserErrorCode::Taken, PLAN_NAME_TAKEN),
        None => e.into(),
    })
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
    fn currencies_are_three_capitals() {
        assert!(ISO_4217.iter().all(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_uppercase())));
        assert!(ISO_4217.contains(&"USD") && ISO_4217.contains(&"EUR") && ISO_4217.contains(&"JPY"));
        assert!(!ISO_4217.contains(&"XXX") && !ISO_4217.contains(&"ABC"));
        let mut sorted = ISO_4217.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ISO_4217.len());
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
