//! The GraphQL schema: each domain's Query and Mutation merged, plus the
//! per-request context, loaders and scalars they share.
pub mod context;
pub mod limits;
pub mod loaders;
pub mod pagination;
pub mod scalars;
pub mod schema;
