//! Sessions and tokens: access JWTs, refresh rotation with reuse detection, sign-out.
pub mod resolver;
pub mod service;
pub mod tokens;
