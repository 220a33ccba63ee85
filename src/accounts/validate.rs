//! Validated account values: parsed once at the edge, so nothing further in
//! can hold an unchecked email, username or phone number.
use crate::error::{Problems, UserErrorCode};

pub const MAX_EMAIL: usize = 254;
pub const MAX_NAME: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Trims; keeps the case as given (comparisons use `lower()`).
    pub fn parse(raw: &str) -> Result<Email, (UserErrorCode, &'static str)> {
        let email = raw.trim();
        if email.is_empty() {
            return Err((UserErrorCode::Required, "Enter an email address."));
        }
        if email.len() > MAX_EMAIL {
            return Err((UserErrorCode::TooLong, "An email address has at most 254 characters."));
        }
        let invalid = (UserErrorCode::Invalid, "Enter a valid email address, like name@example.com.");
        let (local, domain) = email.rsplit_once('@').ok_or(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && !tld.chars().all(|c| c.is_ascii_digit()));
        if local_ok && domain_ok {
            Ok(Email(email.to_owned()))
        } else {
            Err(invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lower(&self) -> String {
        self.0.to_lowercase()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Username, (UserErrorCode, &'static str)> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 {
            return Err((UserErrorCode::Required, "Enter a username."));
        }
        if length < 3 {
            return Err((UserErrorCode::TooShort, "A username has at least 3 characters."));
        }
        if length > 50 {
            return Err((UserErrorCode::TooLong, "A username has at most 50 characters."));
        }
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
            return Err((UserErrorCode::Invalid, "Use only letters, digits, '.', '_' and '-' in a username."));
        }
        Ok(Username(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lower(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A phone number in E.164 form, e.g. +14155552671.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str, default_region: phonenumber::country::Id) -> Result<PhoneNumber, (UserErrorCode, &'static str)> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err((UserErrorCode::Required, "Enter a phone number."));
        }
        let invalid = (UserErrorCode::Invalid, "Enter a valid phone number, with its country code (e.g. +1 415 555 2671).");
        if raw.len() > 40 {
            return Err(invalid);
        }
        let parsed = phonenumber::parse(Some(default_region), raw).map_err(|_| invalid)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(invalid);
        }
        Ok(PhoneNumber(parsed.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name field: trimmed, empty means none, at most 100 characters.
pub fn name(raw: Option<&str>, field: &[&str], problems: &mut Problems) -> Option<String> {
    let value = raw.map(str::trim).filter(|v| !v.is_empty())?;
    if value.chars().count() > MAX_NAME {
        problems.add(field, UserErrorCode::TooLong, format!("Use at most {MAX_NAME} characters."));
        return None;
    }
    if value.chars().any(char::is_control) {
        problems.add(field, UserErrorCode::Invalid, "Remove the control characters.");
        return None;
    }
    Some(value.to_owned())
}

/// The display name: the one given, or first and last names joined.
pub fn full_name(full: Option<String>, first: Option<&str>, last: Option<&str>) -> Option<String> {
    full.or_else(|| {
        let joined = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
        (!joined.is_empty()).then_some(joined)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::country::Id;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("  Alice@Example.COM ").unwrap().as_str(), "Alice@Example.COM");
        assert_eq!(Email::parse("Alice@Example.COM").unwrap().lower(), "alice@example.com");
        for bad in ["alice", "alice@", "@example.com", "a@b", "a..b@example.com", "a@-x.com", "a b@example.com", "a@example.1"] {
            assert_eq!(Email::parse(bad).unwrap_err().0, UserErrorCode::Invalid, "{bad}");
        }
        assert_eq!(Email::parse("").unwrap_err().0, UserErrorCode::Required);
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err().0, UserErrorCode::TooLong);
    }

    #[test]
    fn usernames() {
        assert!(Username::parse("al.ice_-9").is_ok());
        assert_eq!(Username::parse("al").unwrap_err().0, UserErrorCode::TooShort);
        assert_eq!(Username::parse(&"a".repeat(51)).unwrap_err().0, UserErrorCode::TooLong);
        assert_eq!(Username::parse("al ice").unwrap_err().0, UserErrorCode::Invalid);
        assert_eq!(Username::parse("alïce").unwrap_err().0, UserErrorCode::Invalid);
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(PhoneNumber::parse("+44 20 7946 0958", Id::US).unwrap().as_str(), "+442079460958");
        assert_eq!(PhoneNumber::parse("(415) 555-2671", Id::US).unwrap().as_str(), "+14155552671");
        assert_eq!(PhoneNumber::parse("12", Id::US).unwrap_err().0, UserErrorCode::Invalid);
        assert_eq!(PhoneNumber::parse("not a number", Id::US).unwrap_err().0, UserErrorCode::Invalid);
    }

    #[test]
    fn full_names_join() {
        assert_eq!(full_name(None, Some("Ada"), Some("Lovelace")).as_deref(), Some("Ada Lovelace"));
        assert_eq!(full_name(Some("A L".into()), Some("Ada"), None).as_deref(), Some("A L"));
        assert_eq!(full_name(None, None, None), None);
    }
}
