//! Accounts: signup, signin, passwords, validated account values.
pub mod lifecycle;
pub mod lifecycle_resolver;
pub mod password;
pub mod resolver;
pub mod service;
pub mod validate;
