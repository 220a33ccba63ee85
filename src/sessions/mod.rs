//! Sessions: one per signed-in device, access tokens checked live against
//! them, refresh rotation with reuse detection, sign-out.
pub mod resolver;
pub mod service;
