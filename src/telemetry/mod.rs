//! What the process tells its operator: log lines (text or JSON, request id
//! on every line of a request, panics included) and Prometheus metrics.
/// LOG_FORMAT: the subscriber, the JSON line format, panics as log lines.
pub mod logging;
/// The metrics every part of the server records, and their rendering.
pub mod metrics;
