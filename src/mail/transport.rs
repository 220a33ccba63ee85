//! Delivery of one mail: over SMTP with lettre, or, when SMTP_URL is not set,
//! as an `.eml` file in DATA_DIR/mail with its links logged, so that a new
//! user can follow them with no mail server at all.
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{redact_url, Config};
use crate::entities::mail_outbox;
use crate::mail::templates::links_in;

/// The longest one SMTP conversation may take. The worker's lease on a mail
/// is longer, so that no other instance takes it over while it is being sent.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Why a mail was not delivered, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server could not be reached, timed out or answered 4xx: try again later.
    Transient(String),
    /// The server answered 5xx: it refuses this mail (or our credentials).
    Rejected(String),
    /// The stored row cannot become a message (e.g. a malformed address): trying again cannot help.
    Unsendable(String),
}

impl SendError {
    pub fn message(&self) -> &str {
        match self {
            SendError::Transient(m) | SendError::Rejected(m) | SendError::Unsendable(m) => m,
        }
    }
}

impl Transport {
    /// SMTP when SMTP_URL is set (checked here, so that a bad URL stops the
    /// server at start rather than at the first mail), files otherwise.
    pub fn from_config(config: &Config) -> anyhow::Result<Transport> {
        match &config.mail.smtp_url {
            Some(url) => {
                let url = lettre_url(url.expose())?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .with_context(|| format!("SMTP_URL `{}` is not usable", redact_url(&url)))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            None => {
                let dir = config.server.data_dir.join("mail");
                crate::config::create_private_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                Ok(Transport::Files(dir))
            }
        }
    }

    /// Where mail goes, fit for a log line (no password).
    pub fn describe(&self, config: &Config) -> String {
        match self {
            Transport::Smtp(_) => format!("SMTP at {}", config.mail.smtp_url.as_ref().map(|u| redact_url(u.expose())).unwrap_or_default()),
            Transport::Files(dir) => format!(".eml files in {} (SMTP_URL is not set)", dir.display()),
        }
    }

    /// Delivers one outbox row. Sending the same row twice (after a crash
    /// between sending and recording it) gives the same Message-ID, and
    /// overwrites the same file.
    pub async fn send(&self, row: &mail_outbox::Model, from: &Mailbox) -> Result<(), SendError> {
        let message = build_message(row, from).map_err(SendError::Unsendable)?;
        match self {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::Rejected(e.to_string())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            },
            Transport::Files(dir) => {
                let path = dir.join(format!("{}.eml", row.id));
                let partial = dir.join(format!("{}.eml.partial", row.id));
                let written = async {
                    // The links in it sign in: only this user may read it (0600).
                    let mut options = crate::config::private_file_options();
                    options.write(true).create(true).truncate(true);
                    let mut file = tokio::fs::OpenOptions::from(options).open(&partial).await?;
                    tokio::io::AsyncWriteExt::write_all(&mut file, &message.formatted()).await?;
                    tokio::io::AsyncWriteExt::flush(&mut file).await?;
                    drop(file);
                    tokio::fs::rename(&partial, &path).await
                };
                written.await.map_err(|e| SendError::Transient(format!("cannot write {}: {e}", path.display())))?;
                tracing::info!(
                    mail = %row.id,
                    to = %row.to_address,
                    subject = %row.subject,
                    path = %path.display(),
                    links = ?links_in(&row.text_body),
                    "mail written to a file: SMTP_URL is not set"
                );
                Ok(())
            }
        }
    }
}

/// The message for an outbox row: From, To, Subject, a Date and Message-ID
/// that stay the same on every try, and the plain-text and HTML parts.
pub fn build_message(row: &mail_outbox::Model, from: &Mailbox) -> Result<Message, String> {
    let to: Mailbox = row.to_address.parse().map_err(|e| format!("bad recipient address: {e}"))?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .date(SystemTime::from(row.created_at))
        .message_id(Some(format!("<{}@{}>", row.id, from.email.domain())))
        .multipart(MultiPart::alternative_plain_html(row.text_body.clone(), row.html_body.clone()))
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// SMTP_URL in lettre's form. Ours differs in one way: a plain `smtp://`
/// URL upgrades with STARTTLS whenever the server offers it (lettre's
/// `tls=opportunistic`), and `tls=none` asks for no TLS at all.
pub fn lettre_url(url: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("SMTP_URL `{}` is not a URL: {e}", redact_url(url)))?;
    match parsed.scheme() {
        "smtp" | "smtps" => {}
        other => bail!("SMTP_URL must start with smtp:// or smtps://, not {other}://"),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        bail!("SMTP_URL `{}` has no host", redact_url(url));
    }
    let pairs: Vec<(String, String)> = parsed.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let tls = pairs.iter().find(|(k, _)| k == "tls").map(|(_, v)| v.clone());
    let mut kept: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "tls").collect();
    match (parsed.scheme(), tls.as_deref()) {
        ("smtp", None) => kept.push(("tls".into(), "opportunistic".into())),
        ("smtp", Some("none")) => {}
        ("smtp", Some(mode @ ("required" | "opportunistic"))) => kept.push(("tls".into(), mode.into())),
        (_, None) => {}
        (_, Some(mode)) => bail!("SMTP_URL: tls={mode} is not one of none, opportunistic, required (smtp://) or absent (smtps://)"),
    }
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_default_to_starttls_when_offered() {
        assert_eq!(lettre_url("smtp://u:p@mail.example:587").unwrap(), "smtp://u:p@mail.example:587?tls=opportunistic");
        assert_eq!(lettre_url("smtp://mail.example:587?tls=required").unwrap(), "smtp://mail.example:587?tls=required");
        assert_eq!(lettre_url("smtp://127.0.0.1:2525?tls=none").unwrap(), "smtp://127.0.0.1:2525");
        assert_eq!(lettre_url("smtps://u:p@mail.example").unwrap(), "smtps://u:p@mail.example");
        assert!(lettre_url("http://mail.example").is_err());
        assert!(lettre_url("smtp://mail.example?tls=maybe").is_err());
        assert!(lettre_url("not a url").is_err());
        let error = lettre_url("smtp://u:secret@mail.example?tls=maybe").unwrap_err().to_string();
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn a_row_becomes_a_two_part_message_with_a_stable_id() {
        let now = chrono::Utc::now();
        let row = mail_outbox::Model {
            id: "0192-abc".into(),
            user_id: None,
            to_address: "ada@example.com".into(),
            subject: "Confirm your email address".into(),
            text_body: "Open https://app.example/confirm-email?token=t".into(),
            html_body: "<p>Open <a href=\"https://app.example/confirm-email?token=t\">this</a></p>".into(),
            status: "queued".into(),
            attempts: 0,
            next_attempt_at: now,
            locked_until: None,
            last_error: None,
            created_at: now,
            sent_at: None,
        };
        let from: Mailbox = "Tessera <no-reply@localhost>".parse().unwrap();
        let text = String::from_utf8(build_message(&row, &from).unwrap().formatted()).unwrap();
        assert!(text.contains("Message-ID: <0192-abc@localhost>"), "{text}");
        assert!(text.contains("To: ada@example.com"));
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("text/plain") && text.contains("text/html"));
        let bad = mail_outbox::Model { to_address: "not an address".into(), ..row };
        assert!(build_message(&bad, &from).is_err());
    }
}
