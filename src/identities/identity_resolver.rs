//! GraphQL face of the providers and linked identities: identityProviders,
//! IdentityProvider, LinkedIdentity (User.linkedIdentities, which loads them
//! through the request's batch loader).
use async_graphql::{Context, Object, SimpleObject, ID};

use crate::entities::identity as identity_entity;
use crate::error::GqlResultExt;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::{load_error, Loaders};
use crate::graphql::scalars::DateTime;
use crate::identities::identity;

/// A provider users can sign in with.
#[derive(SimpleObject)]
pub struct IdentityProvider {
    /// The provider's name in the server's settings, e.g. "google".
    pub id: ID,
    /// A name to show on a button, e.g. "Google".
    pub display_name: String,
}

/// A provider account linked to a Tessera account.
pub struct LinkedIdentity(pub identity_entity::Model);

impl LinkedIdentity {
    /// The identities of a user, through the batch loader.
    pub async fn of_user(ctx: &Context<'_>, user_id: &str) -> async_graphql::Result<Vec<LinkedIdentity>> {
        let found = ctx.data_unchecked::<Loaders>().identities().load_one(user_id.to_owned()).await.map_err(load_error).gql()?;
        Ok(found.unwrap_or_default().into_iter().map(LinkedIdentity).collect())
    }
}

/// A provider account linked to a Tessera account.
#[Object]
impl LinkedIdentity {
    async fn provider(&self) -> ID {
        ID(self.0.provider.clone())
    }
    /// The provider's subject identifier (sub).
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// The email the provider gave at the last signin.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn linked_at(&self) -> DateTime {
        self.0.linked_at.into()
    }
    async fn last_used_at(&self) -> Option<DateTime> {
        self.0.last_used_at.map(DateTime)
    }
}

#[derive(Default)]
pub struct IdentitiesQuery;

#[Object]
impl IdentitiesQuery {
    /// The configured providers, for drawing sign-in buttons. Needs no sign-in.
    async fn identity_providers(&self, ctx: &Context<'_>) -> Vec<IdentityProvider> {
        identity::providers(ctx.state()).into_iter().map(|p| IdentityProvider { id: ID(p.name), display_name: p.display_name }).collect()
    }
}
