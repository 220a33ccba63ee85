//! Signing in through a provider, both ways apps do it:
//! - mobile: the app hands over the ID token its provider SDK returned
//!   (with the raw nonce it gave the SDK, if any);
//! - browser: startOAuthSignin makes state, nonce and a PKCE verifier, kept
//!   in the database (any instance may finish; single use; 10 minutes);
//!   finishOAuthSignin checks them, exchanges the code and checks the ID token.
//!
//! Both end in `accounts::signin::provider_signin`, hence in `complete`:
//! status rules, the second factor, lastLoginAt, the security history.
use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::accounts::signin::{self as accounts_signin, Outcome};
use crate::entities::{oauth_state, user};
use crate::error::{AppError, ServiceError, ServiceResult, UserErrorCode};
use crate::identities::identity::{self, provider, rejected};
use crate::identities::link;
use crate::security::oidc::{Person, Provider};
use crate::security::secrets::{random_token, token_hash};
use crate::state::AppState;
use crate::viewer::{RequestMeta, Viewer};

/// How long a started browser flow can be finished.
pub const FLOW_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// An ID token from an app.
pub struct IdTokenSignin<'a> {
    pub provider: &'a str,
    pub id_token: &'a str,
    pub nonce: Option<&'a str>,
    pub full_name: Option<&'a str>,
}

/// What a finished browser flow did.
pub enum Finished {
    SignedIn(Outcome),
    /// A flow started with link: true linked the provider to this account.
    Linked(Box<user::Model>),
}

/// What startOAuthSignin answers.
pub struct Started {
    pub authorization_url: String,
    pub state: String,
}

/// signinWithIdToken.
pub async fn signin_with_id_token(state: &AppState, input: IdTokenSignin<'_>, meta: &RequestMeta) -> ServiceResult<Outcome> {
    let provider = provider(state, input.provider, &["input", "provider"])?;
    let prove = async {
        let person = identity::verify(state, provider, input.id_token, input.nonce).await?;
        link::account_for_signin(state, provider, &person, input.full_name, meta).await
    };
    accounts_signin::provider_signin(state, &provider.config.name, prove, meta).await
}

/// Whether `uri` starts with one of OAUTH_REDIRECT_URLS (default APP_URL):
/// the same origin, and a path under the allowed one (at a `/` boundary, so
/// `https://app.example` does not admit `https://app.example.evil.com`).
pub fn redirect_allowed(state: &AppState, uri: &str) -> bool {
    let Ok(uri) = url::Url::parse(uri) else { return false };
    if !matches!(uri.scheme(), "http" | "https") || uri.fragment().is_some() || !uri.username().is_empty() || uri.password().is_some() {
        return false;
    }
    let configured = &state.config.oidc.redirect_urls;
    let app_url;
    let allowed: Vec<&url::Url> = if configured.is_empty() {
        app_url = url::Url::parse(&state.config.server.app_url()).ok();
        app_url.iter().collect()
    } else {
        configured.iter().collect()
    };
    allowed.iter().any(|prefix| {
        let base = prefix.path().trim_end_matches('/');
        let path = uri.path();
        prefix.origin() == uri.origin() && path.starts_with(base) && (path.len() == base.len() || path[base.len()..].starts_with('/'))
    })
}

/// startOAuthSignin: a new flow, stored for any instance to finish.
pub async fn start(
    state: &AppState,
    viewer: Option<&Viewer>,
    provider_name: &str,
    redirect_uri: &str,
    link: bool,
) -> ServiceResult<Started> {
    let link_user_id = match (link, viewer) {
        (true, None) => return Err(AppError::Unauthenticated.into()),
        (true, Some(viewer)) => Some(viewer.user_id.clone()),
        (false, _) => None,
    };
    let provider = provider(state, provider_name, &["input", "provider"])?;
    if !redirect_allowed(state, redirect_uri) || redirect_uri.len() > 2048 {
        return Err(ServiceError::one(
            &["input", "redirectUri"],
            UserErrorCode::Invalid,
            "This redirect URI is not allowed: it must start with one of the server's OAUTH_REDIRECT_URLS.",
        ));
    }
    let (flow_state, nonce, verifier) = (random_token(), random_token(), random_token());
    let authorization_url = state
        .oidc
        .authorization_url(provider, redirect_uri, &flow_state, &nonce, &verifier)
        .await
        .map_err(|e| rejected(&["input", "provider"], provider, e))?;
    let now = Utc::now();
    oauth_state::Entity::insert(oauth_state::ActiveModel {
        state_hash: Set(token_hash(&flow_state)),
        provider: Set(provider.config.name.clone()),
        redirect_uri: Set(redirect_uri.to_owned()),
        nonce: Set(nonce),
        code_verifier: Set(verifier),
        link_user_id: Set(link_user_id),
        created_at: Set(now),
        expires_at: Set(now + FLOW_LIFETIME),
    })
    .exec_without_returning(&state.db)
    .await?;
    Ok(Started { authorization_url, state: flow_state })
}

fn flow_gone() -> ServiceError {
    ServiceError::one(
        &["input", "state"],
        UserErrorCode::InvalidToken,
        "This sign-in expired, was already finished, or was started for another provider or redirect URI: start again.",
    )
}

/// Takes the flow out of the database: whatever follows, it cannot be used again.
async fn take_flow(state: &AppState, presented: &str, provider: &str, redirect_uri: &str) -> ServiceResult<oauth_state::Model> {
    let hash = token_hash(presented);
    let flow = oauth_state::Entity::find_by_id(hash.clone()).one(&state.db).await?.ok_or_else(flow_gone)?;
    let taken = oauth_state::Entity::delete_many().filter(oauth_state::Column::StateHash.eq(hash)).exec(&state.db).await?;
    if taken.rows_affected != 1 || flow.expires_at < Utc::now() || flow.provider != provider || flow.redirect_uri != redirect_uri {
        return Err(flow_gone());
    }
    Ok(flow)
}

/// finishOAuthSignin. A flow started with link: true needs the same viewer.
pub async fn finish(
    state: &AppState,
    viewer: Option<&Viewer>,
    provider_name: &str,
    code: &str,
    presented_state: &str,
    redirect_uri: &str,
    meta: &RequestMeta,
) -> ServiceResult<Finished> {
    let provider = provider(state, provider_name, &["input", "provider"])?;
    let flow = take_flow(state, presented_state, &provider.config.name, redirect_uri).await?;
    // A link flow is finished by the account that started it: otherwise someone
    // could start one, get a victim to sign in at the provider with it, and own
    // the victim's provider account.
    if let Some(user_id) = &flow.link_user_id {
        match viewer {
            None => return Err(AppError::Unauthenticated.into()),
            Some(viewer) if &viewer.user_id != user_id => {
                return Err(ServiceError::one(
                    &["input", "state"],
                    UserErrorCode::InvalidToken,
                    "This link was started by another account.",
                ))
            }
            Some(_) => {}
        }
    }
    match &flow.link_user_id {
        Some(user_id) => {
            let person = exchange(state, provider, code, &flow).await?;
            Ok(Finished::Linked(Box::new(link::link_to_user(state, user_id, provider, &person, meta).await?)))
        }
        None => {
            let prove = async {
                let person = exchange(state, provider, code, &flow).await?;
                link::account_for_signin(state, provider, &person, None, meta).await
            };
            Ok(Finished::SignedIn(accounts_signin::provider_signin(state, &provider.config.name, prove, meta).await?))
        }
    }
}

/// The code for tokens, the ID token checked against the flow's nonce.
async fn exchange(state: &AppState, provider: &Provider, code: &str, flow: &oauth_state::Model) -> ServiceResult<Person> {
    state
        .oidc
        .exchange_code(provider, code, &flow.redirect_uri, &flow.code_verifier, &flow.nonce)
        .await
        .map_err(|e| rejected(&["input", "code"], provider, e))
}

/// Deletes flows past their lifetime.
pub async fn sweep<C: ConnectionTrait>(db: &C) -> Result<u64, AppError> {
    Ok(oauth_state::Entity::delete_many().filter(oauth_state::Column::ExpiresAt.lt(Utc::now())).exec(db).await?.rows_affected)
}
