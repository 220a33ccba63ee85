//! Profiles: reads (batched through the DataLoader) and updates. The Profile
//! type is in `nodes.rs`.
pub mod resolver;
pub mod service;
