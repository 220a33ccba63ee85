//! Staff and admin tools: subscription plans, the user list, roles, statuses, user deletion.
pub mod plans;
pub mod resolver;
pub mod service;
