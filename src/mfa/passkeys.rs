//! Passkeys (WebAuthn Level 3) through webauthn-rs: registration by a
//! signed-in user, and the signin ceremonies, with a login (that account's
//! passkeys) or without one (discoverable credentials, the user found by the
//! user handle, which is the user's id). User verification is required.
//!
//! Each ceremony's server half is a database row, so any instance can
//! finish what another started; it is deleted as it is read (a ceremony
//! works once) and dies after 5 minutes. The signature counter stored with
//! each passkey never goes back: a response whose counter does not move
//! forward (a replay, or a cloned authenticator) is refused. Options go out
//! as the bare PublicKeyCredential*Options JSON that
//! `PublicKeyCredential.parse*OptionsFromJSON` takes.
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use webauthn_rs::prelude::{
    AuthenticationResult, DiscoverableAuthentication, Passkey as Credential, PasskeyAuthentication, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, Uuid, WebauthnError,
};
use webauthn_rs::Webauthn;

use crate::db::begin_write;
use crate::entities::security_event::SecurityEventType;
use crate::entities::{identity, passkey, user, webauthn_ceremony};
use crate::error::{unique_violation, AppError, Problems, ServiceError, ServiceResult, UserErrorCode};
use crate::events::service::{self as events, Event};
use crate::mail::outbox;
use crate::mail::templates;
use crate::security::webauthn::{RelyingParty, CEREMONY_TIMEOUT};
use crate::state::AppState;
use crate::viewer::RequestMeta;
use crate::viewer::Viewer;

const REGISTRATION: &str = "registration";
/// A signin with a login: the state lists that account's credentials.
const SIGNIN: &str = "signin";
/// A signin without a login: any discoverable credential.
const DISCOVERABLE: &str = "discoverable";
const MAX_NAME_CHARS: usize = 100;
/// Longer is not one of our ceremony ids.
const MAX_CEREMONY_ID: usize = 64;

/// A started ceremony: its id and the options for the browser.
pub struct Ceremony {
    pub id: String,
    pub options: Value,
}

fn relying_party(state: &AppState) -> ServiceResult<&Webauthn> {
    match &state.relying_party {
        RelyingParty::Ready { webauthn, .. } => Ok(webauthn),
        RelyingParty::Off { reason } => {
            Err(ServiceError::one(&[], UserErrorCode::NotAllowed, format!("Passkeys are not set up on this server: {reason}.")))
        }
    }
}

/// The user handle authenticators keep for a user: the user's id (a UUID),
/// which is opaque and never changes.
fn user_handle(user_id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(user_id).map_err(|e| AppError::internal("user handle", e))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::internal("passkey state", e))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, AppError> {
    serde_json::from_str(text).map_err(|e| AppError::internal("stored passkey state", e))
}

async fn store_ceremony(state: &AppState, kind: &str, user_id: Option<&str>, ceremony_state: String) -> Result<String, AppError> {
    let now = Utc::now();
    let id = Uuid::new_v4().to_string();
    let lifetime = chrono::Duration::from_std(CEREMONY_TIMEOUT).unwrap_or(chrono::Duration::minutes(5));
    webauthn_ceremony::ActiveModel {
        id: Set(id.clone()),
        kind: Set(kind.to_owned()),
        user_id: Set(user_id.map(str::to_owned)),
        state: Set(ceremony_state),
        created_at: Set(now),
        expires_at: Set(now + lifetime),
    }
    .insert(&state.db)
    .await?;
    Ok(id)
}

/// The live ceremony with this id, deleted as it is read: of two requests
/// finishing the same ceremony, only one gets it.
async fn take_ceremony(state: &AppState, id: &str, kinds: &[&str]) -> Result<Option<webauthn_ceremony::Model>, AppError> {
    if id.len() > MAX_CEREMONY_ID {
        return Ok(None);
    }
    let Some(row) =
        webauthn_ceremony::Entity::find_by_id(id).filter(webauthn_ceremony::Column::ExpiresAt.gt(Utc::now())).one(&state.db).await?
    else {
        return Ok(None);
    };
    let taken = webauthn_ceremony::Entity::delete_by_id(row.id.clone()).exec(&state.db).await?;
    Ok((taken.rows_affected == 1 && kinds.contains(&row.kind.as_str())).then_some(row))
}

fn unknown_ceremony() -> ServiceError {
    ServiceError::one(
        &["input", "ceremonyId"],
        UserErrorCode::InvalidCode,
        "This passkey ceremony is unknown, already used or expired: start again.",
    )
}

/// The credential as the browser's `toJSON()` gives it (an object, or that
/// object as a JSON string).
fn parse_credential<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    let parsed = match value {
        Value::String(text) => serde_json::from_str(text),
        other => serde_json::from_value(other.clone()),
    };
    parsed.map_err(|_| "This is not a WebAuthn credential in its JSON form: pass the credential's toJSON() as it is.".to_owned())
}

fn refused(error: WebauthnError) -> ServiceError {
    // The reason is for the operator; the client learns only that it was refused.
    tracing::info!(reason = ?error, "a passkey response was refused");
    ServiceError::one(
        &["input", "credential"],
        UserErrorCode::InvalidCode,
        "This passkey response was refused: it is for another site or origin, another ceremony, was used before, \
         or the user was not verified.",
    )
}

/// Asks for a discoverable credential (webauthn-rs asks for none), so that
/// the passkey can sign in without a login later; "preferred" still lets an
/// authenticator without resident keys register for signin with a login.
fn ask_for_discoverable(options: &mut Value) {
    if let Some(selection) = options.get_mut("authenticatorSelection").and_then(Value::as_object_mut) {
        selection.insert("residentKey".into(), json!("preferred"));
        selection.insert("requireResidentKey".into(), json!(false));
    }
}

fn display_name(user: &user::Model) -> String {
    templates::greeting_name(user).unwrap_or(&user.email).to_owned()
}

async fn passkeys_of<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<Vec<passkey::Model>, AppError> {
    Ok(passkey::Entity::find().filter(passkey::Column::UserId.eq(user_id)).order_by_asc(passkey::Column::CreatedAt).all(db).await?)
}

/// Options for navigator.credentials.create() for the viewer; the viewer's
/// existing passkeys are excluded (an authenticator holds one per account).
pub async fn start_registration(state: &AppState, viewer: &Viewer) -> ServiceResult<Ceremony> {
    let webauthn = relying_party(state)?;
    let user = &viewer.user;
    let existing = passkeys_of(&state.db, &user.id).await?;
    let exclude = existing.iter().filter_map(|p| B64URL.decode(&p.credential_id).ok()).collect::<Vec<_>>();
    let (challenge, registration) = webauthn
        .start_passkey_registration(user_handle(&user.id)?, &user.email, &display_name(user), Some(exclude))
        .map_err(|e| AppError::internal("starting a passkey registration", e))?;
    let mut options = serde_json::to_value(&challenge.public_key).map_err(|e| AppError::internal("passkey options", e))?;
    ask_for_discoverable(&mut options);
    let id = store_ceremony(state, REGISTRATION, Some(&user.id), to_json(&registration)?).await?;
    Ok(Ceremony { id, options })
}

/// Stores the passkey the browser made for the viewer's ceremony; a notice is mailed.
pub async fn finish_registration(
    state: &AppState,
    viewer: &Viewer,
    ceremony_id: &str,
    name: &str,
    credential: &Value,
    meta: &RequestMeta,
) -> ServiceResult<passkey::Model> {
    let mut problems = Problems::default();
    let name = name.trim();
    if name.is_empty() {
        problems.add(&["input", "name"], UserErrorCode::Required, "Give the passkey a name, e.g. \"Work laptop\".");
    } else if name.chars().count() > MAX_NAME_CHARS {
        problems.add(&["input", "name"], UserErrorCode::TooLong, format!("A passkey's name has at most {MAX_NAME_CHARS} characters."));
    }
    let response = parse_credential::<RegisterPublicKeyCredential>(credential);
    if let Err(message) = &response {
        problems.add(&["input", "credential"], UserErrorCode::Invalid, message.clone());
    }
    problems.check()?;
    let response = response.expect("checked above");
    let webauthn = relying_party(state)?;
    let ceremony = take_ceremony(state, ceremony_id, &[REGISTRATION]).await?;
    let Some(ceremony) = ceremony.filter(|c| c.user_id.as_deref() == Some(viewer.user_id.as_str())) else {
        return Err(unknown_ceremony());
    };
    let registration: PasskeyRegistration = from_json(&ceremony.state)?;
    let credential = webauthn.finish_passkey_registration(&response, &registration).map_err(refused)?;
    let user = viewer.user.as_ref();
    let now = Utc::now();
    let row = passkey::ActiveModel {
        id: Set(Uuid::now_v7().to_string()),
        user_id: Set(user.id.clone()),
        credential_id: Set(B64URL.encode(credential.cred_id())),
        name: Set(name.to_owned()),
        passkey_json: Set(to_json(&credential)?),
        sign_count: Set(counter_of(&credential)),
        created_at: Set(now),
        last_used_at: Set(None),
    };
    let txn = begin_write(&state.db).await?;
    let stored = match row.insert(&txn).await {
        Ok(stored) => stored,
        Err(error) if unique_violation(&error).is_some() => {
            return Err(ServiceError::one(&["input", "credential"], UserErrorCode::Taken, "This passkey is already registered."));
        }
        Err(error) => return Err(error.into()),
    };
    let mail = templates::passkey_added(templates::greeting_name(user), name, now, &state.config.server.app_url());
    outbox::enqueue(&txn, Some(&user.id), &user.email, mail).await?;
    events::record(&txn, state, meta, Event::new(SecurityEventType::PasskeyAdded, &user.id).detail(format!("\"{name}\""))).await?;
    txn.commit().await?;
    state.mail_queued();
    Ok(stored)
}

/// The signature counter a stored credential holds.
fn counter_of(credential: &Credential) -> i64 {
    serde_json::to_value(credential).ok().and_then(|v| v["cred"]["counter"].as_i64()).unwrap_or(0)
}

/// Removes one of the viewer's passkeys.
pub async fn remove(state: &AppState, viewer: &Viewer, id: &str, meta: &RequestMeta) -> ServiceResult<user::Model> {
    let txn = begin_write(&state.db).await?;
    let found = passkey::Entity::find_by_id(id).filter(passkey::Column::UserId.eq(viewer.user_id.clone())).one(&txn).await?;
    let Some(found) = found else {
        return Err(ServiceError::one(&["id"], UserErrorCode::NotFound, "You have no passkey with this id."));
    };
    // An account without a password (made through a provider) keeps one way to sign in.
    if viewer.user.password_hash.is_none() {
        use sea_orm::PaginatorTrait;
        let providers = identity::Entity::find().filter(identity::Column::UserId.eq(viewer.user_id.clone())).count(&txn).await?;
        let passkeys = passkey::Entity::find().filter(passkey::Column::UserId.eq(viewer.user_id.clone())).count(&txn).await?;
        if providers == 0 && passkeys <= 1 {
            return Err(ServiceError::one(
                &["id"],
                UserErrorCode::NotAllowed,
                "This passkey is the only way to sign in to this account: set a password (setPassword) or link a provider first.",
            ));
        }
    }
    passkey::Entity::delete_by_id(found.id.clone()).exec(&txn).await?;
    let event = Event::new(SecurityEventType::PasskeyRemoved, &viewer.user_id).detail(format!("\"{}\"", found.name));
    events::record(&txn, state, meta, event).await?;
    txn.commit().await?;
    Ok(viewer.user.as_ref().clone())
}

/// Options for navigator.credentials.get(). With a login: that account's
/// passkeys. Without one, or for a login with no passkeys or no account,
/// any discoverable passkey; then the ceremony stays bound to the login, so
/// the answer does not tell whether the account exists.
pub async fn start_signin(state: &AppState, login: Option<&str>) -> ServiceResult<Ceremony> {
    let webauthn = relying_party(state)?;
    let login = login.map(|l| l.trim().to_lowercase()).filter(|l| !l.is_empty());
    let account = match &login {
        Some(login) if login.len() <= 254 => {
            user::Entity::find()
                .filter(Condition::any().add(user::Column::EmailLower.eq(login.clone())).add(user::Column::UsernameLower.eq(login.clone())))
                .one(&state.db)
                .await?
        }
        _ => None,
    };
    let credentials = match &account {
        Some(account) => passkeys_of(&state.db, &account.id)
            .await?
            .iter()
            .map(|p| from_json::<Credential>(&p.passkey_json))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let (options, kind, bound_to, ceremony_state) = if let (Some(account), false) = (&account, credentials.is_empty()) {
        let (challenge, authentication) =
            webauthn.start_passkey_authentication(&credentials).map_err(|e| AppError::internal("starting a passkey signin", e))?;
        (challenge.public_key, SIGNIN, Some(account.id.clone()), to_json(&authentication)?)
    } else {
        let (challenge, authentication) =
            webauthn.start_discoverable_authentication().map_err(|e| AppError::internal("starting a passkey signin", e))?;
        // A login that matched nothing binds the ceremony to an id no account has.
        let bound_to = login.as_ref().map(|_| account.as_ref().map(|a| a.id.clone()).unwrap_or_else(|| Uuid::new_v4().to_string()));
        (challenge.public_key, DISCOVERABLE, bound_to, to_json(&authentication)?)
    };
    let options = serde_json::to_value(&options).map_err(|e| AppError::internal("passkey options", e))?;
    let id = store_ceremony(state, kind, bound_to.as_deref(), ceremony_state).await?;
    Ok(Ceremony { id, options })
}

/// Checks a passkey assertion against its ceremony; returns the user it
/// proves, with the passkey's counter and last use updated. Only
/// `accounts::signin` calls it: the session starts there.
pub async fn verify_signin(state: &AppState, ceremony_id: &str, credential: &Value) -> ServiceResult<user::Model> {
    let response: PublicKeyCredential =
        parse_credential(credential).map_err(|message| ServiceError::one(&["input", "credential"], UserErrorCode::Invalid, message))?;
    let webauthn = relying_party(state)?;
    let Some(ceremony) = take_ceremony(state, ceremony_id, &[SIGNIN, DISCOVERABLE]).await? else {
        return Err(unknown_ceremony());
    };
    let credential_id = B64URL.encode(response.get_credential_id());
    let (stored, result) = if ceremony.kind == SIGNIN {
        let authentication: PasskeyAuthentication = from_json(&ceremony.state)?;
        let result = webauthn.finish_passkey_authentication(&response, &authentication).map_err(refused)?;
        let owner = ceremony.user_id.as_deref().unwrap_or_default();
        let stored = stored_passkey(state, owner, &B64URL.encode(result.cred_id())).await?;
        (stored, result)
    } else {
        let (handle, _) = webauthn.identify_discoverable_authentication(&response).map_err(refused)?;
        let owner = handle.to_string();
        if ceremony.user_id.as_ref().is_some_and(|bound| *bound != owner) {
            return Err(refused(WebauthnError::CredentialNotFound));
        }
        let stored = stored_passkey(state, &owner, &credential_id).await?;
        let authentication: DiscoverableAuthentication = from_json(&ceremony.state)?;
        let credential: Credential = from_json(&stored.passkey_json)?;
        let result = webauthn.finish_discoverable_authentication_v2(&response, authentication, &credential).map_err(refused)?;
        (stored, result)
    };
    if !result.user_verified() {
        return Err(refused(WebauthnError::UserNotVerified));
    }
    record_use(state, &stored, &result).await?;
    user::Entity::find_by_id(stored.user_id.clone()).one(&state.db).await?.ok_or_else(|| refused(WebauthnError::CredentialNotFound))
}

async fn stored_passkey(state: &AppState, user_id: &str, credential_id: &str) -> ServiceResult<passkey::Model> {
    passkey::Entity::find()
        .filter(passkey::Column::CredentialId.eq(credential_id))
        .filter(passkey::Column::UserId.eq(user_id))
        .one(&state.db)
        .await?
        .ok_or_else(|| refused(WebauthnError::CredentialNotFound))
}

/// Moves the stored counter forward and records the use. A counter that
/// does not move forward (when either side counts at all) means a replayed
/// response or a cloned authenticator: refused. The update only lands on
/// the counter it checked, so two uses at once cannot both pass.
async fn record_use(state: &AppState, stored: &passkey::Model, result: &AuthenticationResult) -> ServiceResult<()> {
    let counter = i64::from(result.counter());
    if (counter > 0 || stored.sign_count > 0) && counter <= stored.sign_count {
        tracing::warn!(passkey = %stored.id, "a passkey's signature counter went backwards: refused (replay or cloned authenticator)");
        return Err(refused(WebauthnError::CredentialPossibleCompromise));
    }
    let mut credential: Credential = from_json(&stored.passkey_json)?;
    credential.update_credential(result);
    let updated = passkey::Entity::update_many()
        .col_expr(passkey::Column::PasskeyJson, Expr::value(to_json(&credential)?))
        .col_expr(passkey::Column::SignCount, Expr::value(counter))
        .col_expr(passkey::Column::LastUsedAt, Expr::value(Utc::now()))
        .filter(passkey::Column::Id.eq(stored.id.clone()))
        .filter(passkey::Column::SignCount.eq(stored.sign_count))
        .exec(&state.db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(refused(WebauthnError::CredentialPossibleCompromise));
    }
    Ok(())
}

/// Removes every passkey and pending ceremony of a user (the admin reset, account deletion); how many passkeys went.
pub async fn remove_all<C: ConnectionTrait>(db: &C, user_id: &str) -> Result<u64, AppError> {
    let removed = passkey::Entity::delete_many().filter(passkey::Column::UserId.eq(user_id)).exec(db).await?;
    webauthn_ceremony::Entity::delete_many().filter(webauthn_ceremony::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(removed.rows_affected)
}

/// Drops expired ceremonies.
pub async fn sweep<C: ConnectionTrait>(db: &C) -> Result<u64, AppError> {
    let result = webauthn_ceremony::Entity::delete_many().filter(webauthn_ceremony::Column::ExpiresAt.lte(Utc::now())).exec(db).await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_options_ask_for_a_discoverable_credential() {
        let mut options = json!({ "authenticatorSelection": { "residentKey": "discouraged", "requireResidentKey": false, "userVerification": "required" } });
        ask_for_discoverable(&mut options);
        assert_eq!(options["authenticatorSelection"]["residentKey"], "preferred");
        assert_eq!(options["authenticatorSelection"]["userVerification"], "required");
    }

    #[test]
    fn credentials_parse_from_objects_and_strings_and_garbage_is_refused() {
        assert!(parse_credential::<PublicKeyCredential>(&json!({ "id": "x" })).is_err());
        assert!(parse_credential::<PublicKeyCredential>(&json!("not json")).is_err());
        assert!(parse_credential::<PublicKeyCredential>(&json!(42)).is_err());
        let assertion = json!({
            "id": "AQID", "rawId": "AQID", "type": "public-key",
            "response": { "authenticatorData": "AQID", "clientDataJSON": "AQID", "signature": "AQID", "userHandle": null },
            "clientExtensionResults": {}
        });
        assert!(parse_credential::<PublicKeyCredential>(&assertion).is_ok());
        assert!(parse_credential::<PublicKeyCredential>(&json!(assertion.to_string())).is_ok());
    }
}
