//! Models read by column position from hand-joined statements, on the two
//! hottest reads (the viewer's session on every request, users with their
//! profiles for lists). sea-orm's joined selects build their SQL on every
//! call and find each column by a prefixed name; here the SQL is built once
//! and each value is taken by its index.
use sea_orm::{DbErr, IdenStatic, Iterable, QueryResult};

use super::{profile, session, user};

/// A function building a model from consecutive columns, in the order its
/// fields are listed here, which must be the order of its `Column` enum
/// (`select_list` follows it): the struct literal names every field, and
/// `fields_follow_the_columns` checks the order.
macro_rules! positional {
    ($name:ident, $fields:ident, $module:ident, [$($field:ident),* $(,)?]) => {
        pub fn $name(row: &QueryResult, at: usize) -> Result<$module::Model, DbErr> {
            let mut index = at;
            // Fields are evaluated in the order written.
            Ok($module::Model {
                $($field: {
                    index += 1;
                    row.try_get_by_index(index - 1)?
                },)*
            })
        }
        #[cfg(test)]
        const $fields: &[&str] = &[$(stringify!($field)),*];
    };
}

positional!(
    session_at,
    SESSION_FIELDS,
    session,
    [id, user_id, user_agent, ip_address, created_at, last_used_at, expires_at, revoked_at, assurance_level]
);
positional!(
    user_at,
    USER_FIELDS,
    user,
    [
        id,
        email,
        email_lower,
        username,
        username_lower,
        phone_number,
        password_hash,
        full_name,
        full_name_lower,
        first_name,
        last_name,
        account_type,
        role,
        status,
        email_confirmed,
        subscription_plan_id,
        last_login_at,
        created_at,
        updated_at,
    ]
);
positional!(
    present_profile_at,
    PROFILE_FIELDS,
    profile,
    [user_id, bio, gender, birth_date, state, city, interests, monthly_sub_keys, display_pic_key, updated_at]
);

/// The model at `at` of a LEFT JOIN's right side: None when nothing matched
/// (its first column, a key, is NULL).
fn matched_at<M>(row: &QueryResult, at: usize, model_at: fn(&QueryResult, usize) -> Result<M, DbErr>) -> Result<Option<M>, DbErr> {
    if row.try_get_by_index::<Option<String>>(at)?.is_none() {
        return Ok(None);
    }
    model_at(row, at).map(Some)
}

/// A profile from a LEFT JOIN: None when the user has no profile row.
pub fn profile_at(row: &QueryResult, at: usize) -> Result<Option<profile::Model>, DbErr> {
    matched_at(row, at, present_profile_at)
}

/// A user from a LEFT JOIN: None when no user matched.
pub fn user_opt_at(row: &QueryResult, at: usize) -> Result<Option<user::Model>, DbErr> {
    matched_at(row, at, user_at)
}

/// A user and its profile, if it has a profile row.
pub type UserWithProfile = (user::Model, Option<profile::Model>);

/// A user and its profile from `user columns, profile columns` (users LEFT
/// JOIN profiles).
pub fn user_with_profile_at(row: &QueryResult) -> Result<UserWithProfile, DbErr> {
    Ok((user_at(row, 0)?, profile_at(row, USER_COLUMNS)?))
}

/// `alias."column", ...` for every column of an entity, in declaration order.
pub fn select_list<C: IdenStatic + Iterable>(alias: &str) -> String {
    C::iter().map(|column| format!("{alias}.\"{}\"", column.as_str())).collect::<Vec<_>>().join(", ")
}

/// How many columns `select_list` gives for each.
pub const SESSION_COLUMNS: usize = 9;
pub const USER_COLUMNS: usize = 19;
pub const PROFILE_COLUMNS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn names<C: IdenStatic + Iterable>() -> Vec<String> {
        C::iter().map(|c| c.as_str().to_owned()).collect()
    }

    #[test]
    fn fields_follow_the_columns() {
        assert_eq!(SESSION_FIELDS, names::<session::Column>());
        assert_eq!(USER_FIELDS, names::<user::Column>());
        assert_eq!(PROFILE_FIELDS, names::<profile::Column>());
        assert_eq!(SESSION_COLUMNS, names::<session::Column>().len());
        assert_eq!(USER_COLUMNS, names::<user::Column>().len());
        assert_eq!(PROFILE_COLUMNS, names::<profile::Column>().len());
    }
}
