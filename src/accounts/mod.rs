//! Accounts: signup, signin, passwords, validated account values.
pub mod password;
pub mod resolver;
pub mod service;
pub mod update;
pub mod validate;
