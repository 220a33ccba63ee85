//! Subscription plans users can hold; admins create them.
pub mod resolver;
pub mod service;
