//! Builds the schema from every domain's root objects.
use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::accounts::lifecycle_resolver::LifecycleMutation;
use crate::accounts::resolver::{AccountsMutation, AccountsQuery};
use crate::admin::plans::PlansQuery;
use crate::admin::resolver::{AdminMutation, AdminQuery};
use crate::instagram::resolver::InstagramMutation;
use crate::profiles::resolver::ProfilesQuery;
use crate::sessions::resolver::{SessionsMutation, SessionsQuery};

#[derive(MergedObject, Default)]
pub struct Query(AccountsQuery, ProfilesQuery, SessionsQuery, PlansQuery, AdminQuery);

#[derive(MergedObject, Default)]
pub struct Mutation(AccountsMutation, SessionsMutation, LifecycleMutation, InstagramMutation, AdminMutation);

pub type TesseraSchema = Schema<Query, Mutation, EmptySubscription>;

/// The schema with no data attached: enough to export the SDL.
pub fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
}

/// The SDL that `schema.graphql` must equal.
pub fn sdl() -> String {
    builder().finish().sdl()
}
