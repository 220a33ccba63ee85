//! The schema: every domain's Query and Mutation merged. The one file that
//! knows them all; nothing below it imports it.
use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::accounts::account_resolver::{AccountMutation, AccountQuery};
use crate::accounts::lifecycle_resolver::LifecycleMutation;
use crate::accounts::recovery_resolver::{RecoveryMutation, RecoveryQuery};
use crate::accounts::signin_resolver::SigninMutation;
use crate::accounts::signup_resolver::SignupMutation;
use crate::admin::resolver::{AdminMutation, AdminQuery};
use crate::events::resolver::EventsQuery;
use crate::identities::identity_resolver::IdentitiesQuery;
use crate::identities::link_resolver::LinkMutation;
use crate::identities::signin_resolver::ProviderSigninMutation;
use crate::instagram::resolver::InstagramMutation;
use crate::mfa::passkeys_resolver::PasskeysMutation;
use crate::mfa::reset_resolver::MfaResetMutation;
use crate::mfa::totp_resolver::TotpMutation;
use crate::plans::resolver::{PlansMutation, PlansQuery};
use crate::profiles::resolver::{ProfilesMutation, ProfilesQuery};
use crate::sessions::resolver::{SessionsMutation, SessionsQuery};
use crate::webhooks::resolver::{WebhooksMutation, WebhooksQuery};

/// Every read the API offers. All but subscriptionPlans, passwordResetTokenValid and identityProviders need sign-in: UNAUTHENTICATED without a valid access token.
#[derive(MergedObject, Default)]
pub struct Query(
    AccountQuery,
    ProfilesQuery,
    SessionsQuery,
    PlansQuery,
    RecoveryQuery,
    AdminQuery,
    EventsQuery,
    WebhooksQuery,
    IdentitiesQuery,
);

/// Every change the API offers. A problem with the input comes back in the payload's userErrors, and then nothing was changed; one with who is asking comes back as a top-level error with extensions.code (UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED). A request may hold at most one field that takes a password or a token, and those fields count against a per-IP budget.
#[derive(MergedObject, Default)]
pub struct Mutation(
    SignupMutation,
    SigninMutation,
    AccountMutation,
    ProfilesMutation,
    SessionsMutation,
    RecoveryMutation,
    LifecycleMutation,
    InstagramMutation,
    PlansMutation,
    AdminMutation,
    WebhooksMutation,
    TotpMutation,
    PasskeysMutation,
    MfaResetMutation,
    ProviderSigninMutation,
    LinkMutation,
);

pub type TesseraSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with no data attached: enough to export the SDL.
pub fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// The schema's types, for the input checks the /graphql handler runs
/// (`graphql::inputs`: which variables may hold an Upload).
pub fn input_registry() -> async_graphql::registry::Registry {
    use async_graphql::OutputType;
    let mut registry = async_graphql::registry::Registry::default();
    Query::create_type_info(&mut registry);
    Mutation::create_type_info(&mut registry);
    registry
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}

/// The protections async-graphql leaves off by default.
pub fn with_limits(
    builder: SchemaBuilder<Query, Mutation, EmptySubscription>,
    config: &crate::config::Config,
) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    // The request limits of `graphql::limits` run in the /graphql handler,
    // not as an extension: see there why.
    let builder = builder
        .limit_complexity(config.http.max_query_complexity as usize)
        .limit_directives(8)
        .limit_recursive_depth(64)
        // "Did you mean ...?" would tell a stranger the names of fields.
        .disable_suggestions();
    if config.http.graphql_introspection {
        builder
    } else {
        builder.disable_introspection()
    }
}
