//! TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of drift
//! either way) with 160-bit secrets, sealed with DATA_ENCRYPTION_KEY when
//! one is set. Enrollment is pending until a code confirms it; each accepted
//! code records its step, so no code (and no older one) works twice.
//! Codes and secrets are never logged.
use chrono::Utc;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set};
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::db::begin_write;
use crate::entities::security_event::SecurityEventType;
use crate::entities::{totp_factor, user};
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::mail::outbox;
use crate::mail::templates::{self, MfaOff};
use crate::mfa::recovery_codes;
use crate::security::encryption::DataKey;
use crate::sessions::service as sessions;
use crate::state::AppState;
use crate::viewer::RequestMeta;
use crate::viewer::Viewer;

const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// One step either way: a code from the last or the next 30 seconds works.
const SKEW_STEPS: u8 = 1;
const SECRET_BYTES: usize = 20;
/// Longer input is not a code, whatever it holds.
const MAX_CODE_INPUT: usize = 32;
const PLAIN_PREFIX: &str = "plain:";

/// What startTotpEnrollment shows once.
pub struct Enrollment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_code_svg: String,
}

/// The code as the authenticator shows it: six digits, spaces ignored
/// ("123 456" is "123456"); None for anything else.
pub fn normalise_code(input: &str) -> Option<String> {
    if input.len() > MAX_CODE_INPUT {
        return None;
    }
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_step_duration(STEP_SECS)
        .with_skew(SKEW_STEPS.into())
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| AppError::internal("building a TOTP", e))
}

fn now_unix() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// The secret as stored: sealed with the key and the user id, or in plain.
fn seal(state: &AppState, user_id: &str, base32: &str) -> String {
    match &state.data_key {
        Some(key) => key.seal(base32.as_bytes(), user_id.as_bytes()),
        None => format!("{PLAIN_PREFIX}{base32}"),
    }
}

/// The secret's bytes from what is stored.
fn unseal(state: &AppState, user_id: &str, stored: &str) -> Result<Vec<u8>, AppError> {
    let base32 = if DataKey::is_sealed(stored) {
        let key = state.data_key.as_ref().ok_or_else(|| AppError::internal("TOTP secret", "sealed, but no DATA_ENCRYPTION_KEY"))?;
        let opened = key.open(stored, user_id.as_bytes()).ok_or_else(|| AppError::internal("TOTP secret", "does not open"))?;
        String::from_utf8(opened).map_err(|_| AppError::internal("TOTP secret", "not text"))?
    } else {
        stored.strip_prefix(PLAIN_PREFIX).ok_or_else(|| AppError::internal("TOTP secret", "unknown format"))?.to_owned()
    };
    Secret::try_from_base32(&base32).map(|s| s.as_ref().to_vec()).map_err(|_| AppError::internal("TOTP secret", "not base32"))
}

/// The step a well-formed code matches now, within the drift allowed.
fn matching_step(state: &AppState, factor: &totp_factor::Model, code: &str) -> Result<Option<u64>, AppError> {
    let secret = unseal(state, &factor.user_id, &factor.secret)?;
    Ok(totp(secret, "", &state.config.mfa.totp_issuer)?.check(code, now_unix()))
}

/// Records `step` as used; false when it (or a later one) already was.
async fn accept_step<C: ConnectionTrait>(db: &C, user_id: &str, step: u64) -> Result<bool, AppError> {
    let step = i64::try_from(step).map_err(|e| AppError::internal("TOTP step", e))?;
    let accepted = totp_factor::Entity::update_many()
        .col_expr(totp_factor::Column::LastStep, Expr::value(step))
        .filter(totp_factor::Column::UserId.eq(user_id))
        .filter(Condition::any().add(totp_factor::Column::LastStep.is_null()).add(totp_factor::Column::LastStep.lt(step)))
        .exec(db)
        .await?;
    Ok(accepted.rows_affected == 1)
}

async fn confirmed_factor<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Option<totp_factor::Model>, AppError> {
    Ok(totp_factor::Entity::find_by_id(user_id).filter(totp_factor::Column::ConfirmedAt.is_not_null()).one(db).await?)
}

/// For a signin's second step: whether `code` is a current code of the
/// user's TOTP that was not used before; if so it is used now (inside the
/// caller's transaction).
pub async fn redeem_code<C: ConnectionTrait>(db: &C, state: &AppState, user_id: &str, code: &str) -> Result<bool, AppError> {
    let Some(code) = normalise_code(code) else { return Ok(false) };
    let Some(factor) = confirmed_factor(db, user_id).await? else { return Ok(false) };
    match matching_step(state, &factor, &code)? {
        Some(step) => accept_step(db, user_id, step).await,
        None => Ok(false),
    }
}

fn already_on() -> ServiceError {
    ServiceError::one(&[], UserErrorCode::AlreadyDone, "Two-step sign-in is already on: turn it off first to set up another app.")
}

/// A new secret for the viewer, pending until `confirm`; it replaces an
/// earlier pending one.
pub async fn start_enrollment(state: &AppState, viewer: &Viewer) -> ServiceResult<Enrollment> {
    let user = &viewer.user;
    let mut raw = vec![0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let secret = Secret::from(raw.clone()).to_base32();
    let totp = totp(raw, &user.email, &state.config.mfa.totp_issuer)?;
    let otpauth_uri = totp.to_url().map_err(|e| AppError::internal("otpauth URI", e))?;
    let qr_code_svg = qr_svg(&otpauth_uri)?;
    let txn = begin_write(&state.db).await?;
    match totp_factor::Entity::find_by_id(user.id.clone()).one(&txn).await? {
        Some(existing) if existing.confirmed_at.is_some() => return Err(already_on()),
        Some(_) => {
            totp_factor::Entity::delete_by_id(user.id.clone()).exec(&txn).await?;
        }
        None => {}
    }
    totp_factor::ActiveModel {
        user_id: Set(user.id.clone()),
        secret: Set(seal(state, &user.id, &secret)),
        confirmed_at: Set(None),
        last_step: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Enrollment { secret, otpauth_uri, qr_code_svg })
}

/// The otpauth URI as an SVG QR code: the `<svg>` element itself.
fn qr_svg(uri: &str) -> Result<String, AppError> {
    use qrcode::render::svg;
    use qrcode::{EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M).map_err(|e| AppError::internal("QR code", e))?;
    let document = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // The renderer writes an XML prolog first; inline SVG starts at the element.
    let start = document.find("<svg").ok_or_else(|| AppError::internal("QR code", "no <svg> element"))?;
    Ok(document[start..].to_owned())
}

fn wrong_code(field: &[&str]) -> ServiceError {
    ServiceError::one(field, UserErrorCode::InvalidCode, "This code is wrong, used or expired: enter the code your app shows now.")
}

/// Turns TOTP on with a current code: every other session of the viewer
/// ends (they were single-factor), this one becomes AAL2, and ten recovery
/// codes are made and returned, once. A notice is mailed.
pub async fn confirm(state: &AppState, viewer: &Viewer, code: &str, meta: &RequestMeta) -> ServiceResult<(user::Model, Vec<String>)> {
    let Some(code) = normalise_code(code) else { return Err(wrong_code(&["input", "code"])) };
    let user = viewer.user.as_ref().clone();
    let txn = begin_write(&state.db).await?;
    let factor = match totp_factor::Entity::find_by_id(user.id.clone()).one(&txn).await? {
        None => {
            return Err(ServiceError::one(
                &[],
                UserErrorCode::NotFound,
                "There is no TOTP secret waiting to be confirmed: call startTotpEnrollment first.",
            ))
        }
        Some(factor) if factor.confirmed_at.is_some() => return Err(already_on()),
        Some(factor) => factor,
    };
    let Some(step) = matching_step(state, &factor, &code)? else { return Err(wrong_code(&["input", "code"])) };
    let now = Utc::now();
    totp_factor::Entity::update_many()
        .col_expr(totp_factor::Column::ConfirmedAt, Expr::value(now))
        .col_expr(totp_factor::Column::LastStep, Expr::value(step as i64))
        .filter(totp_factor::Column::UserId.eq(user.id.clone()))
        .exec(&txn)
        .await?;
    let codes = recovery_codes::replace(&txn, &user.id).await?;
    sessions::revoke_all(&txn, &user.id, Some(&viewer.session_id)).await?;
    sessions::raise_to_aal2(&txn, &viewer.session_id).await?;
    let mail = templates::mfa_enabled(templates::greeting_name(&user), now, &state.config.server.app_url());
    outbox::enqueue(&txn, Some(&user.id), &user.email, mail).await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::MfaEnabled, &user.id).detail("authenticator app")).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok((user, codes))
}

/// The viewer's password must be right; reported on `input.password`. An
/// account without one (made through a provider) is told to set one first.
async fn check_password(state: &AppState, viewer: &Viewer, password: &str) -> ServiceResult<()> {
    let Some(hash) = viewer.user.password_hash.as_deref() else {
        return Err(ServiceError::one(
            &["input", "password"],
            UserErrorCode::NotAllowed,
            "This account has no password yet: set one with setPassword first.",
        ));
    };
    if state.passwords.verify(password, Some(hash)).await? {
        Ok(())
    } else {
        Err(ServiceError::one(&["input", "password"], UserErrorCode::InvalidCredentials, "This is not your password."))
    }
}

/// Turns TOTP off and drops the recovery codes; needs the password. A
/// notice is mailed. Passkeys stay.
pub async fn disable(state: &AppState, viewer: &Viewer, password: &str, meta: &RequestMeta) -> ServiceResult<user::Model> {
    check_password(state, viewer, password).await?;
    let user = viewer.user.as_ref().clone();
    let txn = begin_write(&state.db).await?;
    if confirmed_factor(&txn, &user.id).await?.is_none() {
        return Err(ServiceError::one(&[], UserErrorCode::AlreadyDone, "Two-step sign-in is already off."));
    }
    totp_factor::Entity::delete_by_id(user.id.clone()).exec(&txn).await?;
    recovery_codes::remove_all(&txn, &user.id).await?;
    let mail = templates::mfa_disabled(templates::greeting_name(&user), MfaOff::ByUser, Utc::now(), &state.config.server.app_url());
    outbox::enqueue(&txn, Some(&user.id), &user.email, mail).await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::MfaDisabled, &user.id).detail("authenticator app")).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(user)
}

/// Ten new recovery codes; the old ones stop working. Needs the password and TOTP on.
pub async fn regenerate_recovery_codes(state: &AppState, viewer: &Viewer, password: &str) -> ServiceResult<Vec<String>> {
    check_password(state, viewer, password).await?;
    let txn = begin_write(&state.db).await?;
    if confirmed_factor(&txn, &viewer.user_id).await?.is_none() {
        return Err(ServiceError::one(
            &[],
            UserErrorCode::NotAllowed,
            "Recovery codes go with two-step sign-in: turn it on first (confirmTotp gives the first ten).",
        ));
    }
    let codes = recovery_codes::replace(&txn, &viewer.user_id).await?;
    txn.commit().await?;
    Ok(codes)
}

/// Removes the user's TOTP (pending or on); for the admin reset.
pub async fn remove<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<(), AppError> {
    totp_factor::Entity::delete_by_id(user_id).exec(db).await?;
    Ok(())
}

/// At start, with DATA_ENCRYPTION_KEY set: seals the secrets stored in plain
/// before the key was configured.
pub async fn seal_plain_secrets(state: &AppState) -> anyhow::Result<()> {
    if state.data_key.is_none() {
        return Ok(());
    }
    let plain = totp_factor::Entity::find().filter(totp_factor::Column::Secret.starts_with(PLAIN_PREFIX)).all(&state.db).await?;
    for factor in &plain {
        let base32 = factor.secret.trim_start_matches(PLAIN_PREFIX);
        // Only if it is still the same value: another instance may be at it too.
        totp_factor::Entity::update_many()
            .col_expr(totp_factor::Column::Secret, Expr::value(seal(state, &factor.user_id, base32)))
            .filter(totp_factor::Column::UserId.eq(factor.user_id.clone()))
            .filter(totp_factor::Column::Secret.eq(factor.secret.clone()))
            .exec(&state.db)
            .await?;
    }
    if !plain.is_empty() {
        tracing::info!(count = plain.len(), "sealed TOTP secrets stored before DATA_ENCRYPTION_KEY was set");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_spaces_do_not_matter() {
        assert_eq!(normalise_code("123456").as_deref(), Some("123456"));
        assert_eq!(normalise_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(normalise_code("12345"), None);
        assert_eq!(normalise_code("1234567"), None);
        assert_eq!(normalise_code("12a456"), None);
        assert_eq!(normalise_code("١٢٣٤٥٦"), None, "only ASCII digits");
        assert_eq!(normalise_code(&"1".repeat(10_000)), None);
    }

    #[test]
    fn the_rfc_6238_vectors_hold_with_one_step_of_drift() {
        let totp = totp(b"12345678901234567890".to_vec(), "", "Tessera").unwrap();
        assert_eq!(totp.generate(59).to_string(), "287082");
        assert_eq!(totp.generate(1_111_111_109).to_string(), "081804");
        let now = 1_111_111_109;
        let step = now / STEP_SECS;
        assert_eq!(totp.check(&totp.generate(now - 30).to_string(), now), Some(step - 1));
        assert_eq!(totp.check(&totp.generate(now + 30).to_string(), now), Some(step + 1));
        assert_eq!(totp.check(&totp.generate(now - 60).to_string(), now), None);
        assert_eq!(totp.check(&totp.generate(now + 60).to_string(), now), None);
    }

    #[test]
    fn the_qr_code_is_bare_svg() {
        let svg = qr_svg("otpauth://totp/Tessera:ada%40example.com?secret=JBSWY3DPEHPK3PXP&issuer=Tessera").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
    }
}
