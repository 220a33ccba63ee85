//! Mail that is never lost: a mail is written to the `mail_outbox` table in
//! the same transaction as the change that causes it, and a worker sends it
//! (SMTP through lettre, or `.eml` files when no SMTP server is set),
//! retrying for as long as it takes.

/// Queueing a mail inside the caller's transaction.
pub mod outbox;
/// Subject, plain text and HTML of every mail Tessera sends.
pub mod templates;
/// Delivery: SMTP through lettre, or `.eml` files in DATA_DIR/mail.
pub mod transport;
/// The background task that claims queued mail with a lease, sends it and retries with backoff.
pub mod worker;

/// One mail's content, ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
}
