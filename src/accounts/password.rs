//! The rules a new password must meet (hashing is `security::passwords`).
use std::collections::HashSet;
use std::sync::LazyLock;

use crate::error::UserErrorCode;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// The 30,000 most common passwords (zxcvbn's frequency list, MIT licence).
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common_passwords.txt").lines().filter(|l| !l.is_empty()).collect());

/// Checks a new password against the rules shared by signup, password change,
/// reset and `create-admin`. `email` and `username` are the account's own.
pub fn check_rules(password: &str, email: Option<&str>, username: Option<&str>) -> Result<(), (UserErrorCode, String)> {
    let length = password.chars().count();
    if password.is_empty() {
        return Err((UserErrorCode::Required, "Enter a password.".into()));
    }
    if length < MIN_LENGTH {
        return Err((UserErrorCode::TooShort, format!("Use at least {MIN_LENGTH} characters.")));
    }
    if length > MAX_LENGTH {
        return Err((UserErrorCode::TooLong, format!("Use at most {MAX_LENGTH} characters.")));
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err((UserErrorCode::TooWeak, "This password is too common.".into()));
    }
    let distinct: HashSet<char> = lower.chars().collect();
    if distinct.len() < 4 {
        return Err((UserErrorCode::TooWeak, "This password is too simple: use more different characters.".into()));
    }
    let mut personal: Vec<String> = Vec::new();
    if let Some(email) = email {
        let email = email.to_lowercase();
        if let Some((local, _)) = email.split_once('@') {
            personal.push(local.to_owned());
        }
        personal.push(email);
    }
    if let Some(username) = username {
        personal.push(username.to_lowercase());
    }
    for value in personal.iter().filter(|v| v.chars().count() >= 3) {
        if lower.contains(value.as_str()) || value.contains(lower.as_str()) {
            return Err((UserErrorCode::TooWeak, "This password is too close to your email or username.".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_real() {
        assert!(COMMON.len() >= 10_000);
        assert!(COMMON.contains("password"));
    }

    #[test]
    fn rules() {
        let code = |p: &str| check_rules(p, Some("alice.smith@example.com"), Some("alice_s")).err().map(|e| e.0);
        assert_eq!(code(""), Some(UserErrorCode::Required));
        assert_eq!(code("short1!"), Some(UserErrorCode::TooShort));
        assert_eq!(code(&"x".repeat(129)), Some(UserErrorCode::TooLong));
        assert_eq!(code("password123"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("Password"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("aaaabbbb"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("alice.smith99"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("xxalice_sxx"), Some(UserErrorCode::TooWeak));
        assert_eq!(code("correct horse battery"), None);
    }
}
