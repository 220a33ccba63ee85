//! Instagram: link, unlink, batch sync of images.
pub mod resolver;
pub mod service;
