//! Media: display pictures checked by their bytes, re-encoded without
//! metadata, kept in the media store and served under /media/{key}.
/// Is it really a JPEG or PNG: magic bytes, pixel budget, full decode, re-encode.
pub mod image_check;
/// Reading, checking and storing an upload; the public URL of a stored picture.
pub mod service;
