//! The GraphQL toolkit every domain's resolvers share: the request context,
//! request limits, batch loaders, cursor paging and scalars.
/// What resolvers read from a request: state, viewer, uploads.
pub mod context;
/// Parsed documents by the SHA-256 of their text; automatic persisted queries.
pub mod documents;
/// Control characters and misplaced uploads refused before anything runs.
pub mod inputs;
/// One credential field per request, counted per IP; depth limits.
pub mod limits;
/// Per-request DataLoaders: one statement per kind, whatever the count.
pub mod loaders;
/// Counts and times top-level fields for the metrics.
pub mod metrics;
/// Cursor paging and the contract's PageInfo.
pub mod pagination;
/// The user a query looks up by id, read with the session check.
pub mod prefetch;
/// The contract's DateTime and Date scalars.
pub mod scalars;
