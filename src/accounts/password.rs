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
    if personal.iter().any(|value| too_close(&lower, value)) {
        return Err((UserErrorCode::TooWeak, "This password is too close to your email or username.".into()));
    }
    Ok(())
}

/// Whether `password` (lower-cased) is the account's own `value` (lower-cased)
/// or mostly made of it: equal, or sharing a run of characters that covers
/// at least half of the password. A long passphrase that merely contains
/// the username is fine; `alice2024` for alice is not.
fn too_close(password: &str, value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    if password == value {
        return true;
    }
    let password: Vec<char> = password.chars().collect();
    let value: Vec<char> = value.chars().collect();
    longest_common_substring(&password, &value) * 2 >= password.len()
}

/// Length of the longest run of characters found in both (dynamic
/// programming over one row: both sides are short, at most a few hundred).
fn longest_common_substring(a: &[char], b: &[char]) -> usize {
    let mut previous = vec![0usize; b.len() + 1];
    let mut current = vec![0usize; b.len() + 1];
    let mut longest = 0;
    for &x in a {
        for (j, &y) in b.iter().enumerate() {
            current[j + 1] = if x == y { previous[j] + 1 } else { 0 };
            longest = longest.max(current[j + 1]);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    longest
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

    #[test]
    fn a_password_equal_to_or_mostly_made_of_the_email_or_username_is_too_weak() {
        let code = |p: &str, email: &str, username: Option<&str>| check_rules(p, Some(email), username).err().map(|e| e.0);
        // Equal to the email, its local part or the username, ignoring case.
        assert_eq!(code("Admin@Example.com", "admin@example.com", None), Some(UserErrorCode::TooWeak));
        assert_eq!(code("JOHNATHAN", "johnathan@example.com", None), Some(UserErrorCode::TooWeak));
        assert_eq!(code("Superadmin", "ops@example.com", Some("superadmin")), Some(UserErrorCode::TooWeak));
        // A common run covering at least half of the password.
        assert_eq!(code("johnathan99", "johnathan@example.com", None), Some(UserErrorCode::TooWeak));
        assert_eq!(code("example.com!", "kim@example.com", None), Some(UserErrorCode::TooWeak), "a part of the email");
        assert_eq!(code("xxalice_sxx", "a@example.com", Some("alice_s")), Some(UserErrorCode::TooWeak));
        assert_eq!(code("admin1234", "admin@example.com", None), Some(UserErrorCode::TooWeak), "5 of 9 characters");
        assert_eq!(code("admin12345", "admin@example.com", None), Some(UserErrorCode::TooWeak), "exactly half counts");
    }

    #[test]
    fn a_long_passphrase_that_merely_contains_the_username_is_fine() {
        let ok = |p: &str, email: &str, username: Option<&str>| check_rules(p, Some(email), username);
        // The README's create-admin example and the issue's own.
        assert_eq!(ok("a long admin passphrase", "admin@example.com", None), Ok(()));
        assert_eq!(ok("Admin-Strong-Pass-1", "admin@example.com", None), Ok(()));
        assert_eq!(ok("alice likes long walks", "alice@example.com", Some("alice")), Ok(()));
        assert_eq!(ok("admin-12345", "admin@example.com", None), Ok(()), "5 of 11 characters is under half");
    }

    #[test]
    fn longest_common_substring_counts_characters() {
        let lcs = |a: &str, b: &str| longest_common_substring(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(lcs("a long admin passphrase", "admin"), 5);
        assert_eq!(lcs("zoë-zoë", "zoë"), 3);
        assert_eq!(lcs("abc", ""), 0);
        assert_eq!(lcs("abcdef", "xbcdy"), 3);
    }
}
