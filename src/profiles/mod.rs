//! Profiles: reads (batched through the DataLoader) and updates.
pub mod resolver;
pub mod service;
