//! Staff and admin tools: subscription plans.
pub mod plans;
