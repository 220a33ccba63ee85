//! Which second factors an account has: what a signin's challenge offers
//! and what User.mfa shows.
use async_graphql::Enum;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::AppError;

/// A way to finish a signin that answered an mfaChallenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum SecondFactor {
    /// A 6-digit code from an authenticator app: verifyMfa with code.
    Totp,
    /// One of the account's single-use recovery codes: verifyMfa with recoveryCode.
    RecoveryCode,
    /// A passkey: startPasskeySignin and finishPasskeySignin, which start the session by themselves.
    Passkey,
}

/// What an account has, counted in one statement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Factors {
    pub totp: bool,
    pub recovery_codes_left: i64,
    pub passkeys: i64,
}

impl Factors {
    /// The second factors a signin may be finished with; empty when the
    /// password alone is enough. Recovery codes go with TOTP, while any are left.
    pub fn second_factors(&self) -> Vec<SecondFactor> {
        let mut factors = Vec::new();
        if self.totp {
            factors.push(SecondFactor::Totp);
            if self.recovery_codes_left > 0 {
                factors.push(SecondFactor::RecoveryCode);
            }
        }
        if self.passkeys > 0 {
            factors.push(SecondFactor::Passkey);
        }
        factors
    }
}

/// The account's confirmed TOTP, unused recovery codes and passkeys.
pub async fn factors_of<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Factors, AppError> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT \
               (SELECT COUNT(*) FROM totp_factors WHERE user_id = $1 AND confirmed_at IS NOT NULL) AS totp, \
               (SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL) AS codes, \
               (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS passkeys"
        }
        _ => {
            "SELECT \
               (SELECT COUNT(*) FROM totp_factors WHERE user_id = ?1 AND confirmed_at IS NOT NULL) AS totp, \
               (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS codes, \
               (SELECT COUNT(*) FROM passkeys WHERE user_id = ?1) AS passkeys"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [user_id.into()]))
        .await?
        .ok_or_else(|| AppError::internal("second factors", "the count returned no row"))?;
    Ok(Factors {
        totp: row.try_get::<i64>("", "totp")? > 0,
        recovery_codes_left: row.try_get("", "codes")?,
        passkeys: row.try_get("", "passkeys")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_count_only_with_totp_and_while_left() {
        let none = Factors::default();
        assert!(none.second_factors().is_empty());
        let totp = Factors { totp: true, recovery_codes_left: 3, passkeys: 0 };
        assert_eq!(totp.second_factors(), vec![SecondFactor::Totp, SecondFactor::RecoveryCode]);
        let spent = Factors { recovery_codes_left: 0, ..totp };
        assert_eq!(spent.second_factors(), vec![SecondFactor::Totp]);
        let passkey_only = Factors { totp: false, recovery_codes_left: 0, passkeys: 2 };
        assert_eq!(passkey_only.second_factors(), vec![SecondFactor::Passkey]);
    }
}
