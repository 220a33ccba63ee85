//! Recovery codes: ten per account, each 80 random bits written as 16
//! Crockford base32 characters in four groups (`7k2m-q9xd-h4ve-1c8n`),
//! shown once and stored as SHA-256 only (80 random bits need no slow hash).
//! Typing is forgiving: case, spaces and dashes do not matter, and `o`,
//! `i`, `l` read as `0`, `1`, `1`.
use chrono::Utc;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};

use crate::entities::recovery_code;
use crate::error::AppError;
use crate::security::secrets::token_hash;

/// How many codes an account gets at a time.
pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const CHARS: usize = 16;
/// Longer input is not a recovery code, whatever it holds.
const MAX_INPUT: usize = 64;

fn generate_one() -> String {
    let mut bytes = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let bits = bytes.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let chars: Vec<char> = (0..CHARS).rev().map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect();
    chars.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The code as stored (hashed): lower case, no separators; None when the
/// input cannot be a recovery code.
pub fn normalise(input: &str) -> Option<String> {
    if input.len() > MAX_INPUT {
        return None;
    }
    let mut out = String::with_capacity(CHARS);
    for c in input.chars() {
        let c = match c.to_ascii_lowercase() {
            ' ' | '-' | '\t' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == CHARS).then_some(out)
}

/// Replaces the user's codes with ten new ones; returns them, for showing once.
pub async fn replace<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Vec<String>, AppError> {
    recovery_code::Entity::delete_many().filter(recovery_code::Column::UserId.eq(user_id)).exec(db).await?;
    let now = Utc::now();
    let codes: Vec<String> = (0..COUNT).map(|_| generate_one()).collect();
    let rows = codes.iter().map(|code| recovery_code::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        user_id: Set(user_id.to_owned()),
        code_hash: Set(token_hash(&normalise(code).expect("generated codes are well formed"))),
        created_at: Set(now),
        used_at: Set(None),
    });
    recovery_code::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(codes)
}

/// Spends one of the user's unused codes: Some(codes left) when it was one,
/// None when it is wrong or already used.
pub async fn redeem<C: ConnectionTrait>(db: &C, user_id: &str, input: &str) -> Result<Option<u64>, AppError> {
    let Some(code) = normalise(input) else { return Ok(None) };
    let spent = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(Utc::now()))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(token_hash(&code)))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if spent.rows_affected != 1 {
        return Ok(None);
    }
    Ok(Some(left(db, user_id).await?))
}

/// How many unused codes the user has.
pub async fn left<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<u64, AppError> {
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}

/// Drops every code of the user.
pub async fn remove_all<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), AppError> {
    recovery_code::Entity::delete_many().filter(recovery_code::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_80_bits_in_four_readable_groups() {
        let code = generate_one();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.split('-').count(), 4);
        assert!(code.split('-').all(|g| g.len() == 4));
        assert_eq!(normalise(&code).unwrap().len(), 16);
        let many: std::collections::HashSet<String> = (0..1000).map(|_| generate_one()).collect();
        assert_eq!(many.len(), 1000);
        // Every symbol appears: the 80 bits are spread over the whole alphabet.
        let symbols: std::collections::HashSet<char> = many.iter().flat_map(|c| c.chars()).filter(|c| *c != '-').collect();
        assert_eq!(symbols.len(), 32);
    }

    #[test]
    fn typing_is_forgiving_but_only_codes_pass() {
        assert_eq!(normalise("7K2M Q9XD-H4VE 1C8N").as_deref(), Some("7k2mq9xdh4ve1c8n"));
        assert_eq!(normalise("7k2m-q9xd-h4ve-lc8n"), normalise("7k2m-q9xd-h4ve-1c8n"));
        assert_eq!(normalise("ok2m-q9xd-h4ve-1c8n").as_deref(), Some("0k2mq9xdh4ve1c8n"));
        assert_eq!(normalise("7k2m-q9xd-h4ve-1c8"), None, "too short");
        assert_eq!(normalise("7k2m-q9xd-h4ve-1c8nn"), None, "too long");
        assert_eq!(normalise("7k2m-q9xd-h4ve-1c8u"), None, "u is not in the alphabet");
        assert_eq!(normalise("7k2m-q9xd-h4ve-1c8é"), None);
        assert_eq!(normalise(&"a".repeat(10_000)), None);
    }
}
