//! Staff and admin tools: the user list, roles, statuses, user deletion.
pub mod resolver;
pub mod service;
