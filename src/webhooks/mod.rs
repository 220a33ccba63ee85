//! Webhooks: other services hear about account changes. Each change writes
//! its deliveries to an outbox (`webhook_deliveries`) in the change's own
//! transaction; a worker on every instance claims due deliveries with a
//! lease and POSTs them, signed the Standard Webhooks way, retrying with
//! capped exponential backoff.
pub mod resolver;
/// What each event carries, the outbox, the admins' list and redelivery.
pub mod service;
/// Standard Webhooks signatures.
pub mod signature;
/// The delivery worker.
pub mod worker;
