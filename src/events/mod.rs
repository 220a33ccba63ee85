//! The security history of each account and the admins' audit log: one
//! event per thing that happened, recorded with the change itself.
pub mod resolver;
pub mod service;
