//! Every setting: a command-line flag and an environment variable, each with
//! a default so that `tessera` runs with no set-up at all. Secrets are never
//! logged.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

/// Settings as given on the command line or in the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub listen_addr: SocketAddr,

    /// Folder for the SQLite database, the generated JWT secret, media and mail files.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`. Default: SQLite file in DATA_DIR.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// The server's own public base URL (for media links). Default: http://LISTEN_ADDR.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The frontend's base URL, for links in emails. Default: PUBLIC_URL.
    #[arg(long, env = "APP_URL", global = true)]
    pub app_url: Option<String>,

    /// HMAC secret for access tokens, at least 32 bytes. Default: generated once into DATA_DIR/jwt_secret.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of an access token (e.g. 900s, 15m, 1h).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration, global = true)]
    pub access_token_ttl: Duration,

    /// Lifetime of a session and its refresh tokens (e.g. 30d).
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = parse_duration, global = true)]
    pub refresh_token_ttl: Duration,

    /// Largest request body accepted on /graphql, in bytes (JSON). Multipart uploads have their own limit.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Largest uploaded file accepted (display pictures), in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 2 * 1024 * 1024, global = true)]
    pub max_upload_bytes: usize,

    /// Where display pictures are stored: a folder (`file:///path`) or `s3://bucket/prefix`. Default: DATA_DIR/media.
    #[arg(long, env = "MEDIA_STORE_URL", global = true)]
    pub media_store_url: Option<String>,

    /// Endpoint of an S3-compatible store (MinIO, R2, ...) for an s3:// MEDIA_STORE_URL. Default: AWS.
    #[arg(long, env = "MEDIA_S3_ENDPOINT", global = true)]
    pub media_s3_endpoint: Option<String>,

    /// Public base URL of stored pictures when a CDN or the bucket serves them. Default: PUBLIC_URL/media.
    #[arg(long, env = "MEDIA_PUBLIC_URL", global = true)]
    pub media_public_url: Option<String>,

    /// Failed signins of one account within SIGNIN_LOCKOUT_WINDOW before further attempts are refused.
    #[arg(long, env = "SIGNIN_MAX_FAILURES", default_value_t = 10, global = true)]
    pub signin_max_failures: u32,

    /// How long failed signins count against an account.
    #[arg(long, env = "SIGNIN_LOCKOUT_WINDOW", default_value = "15m", value_parser = parse_duration, global = true)]
    pub signin_lockout_window: Duration,

    /// Credential-taking operations (signin, refreshTokens, changePassword, resetPassword, confirmEmail, deleteAccount) allowed per client IP per minute.
    #[arg(long, env = "CREDENTIAL_ATTEMPTS_PER_IP_PER_MINUTE", default_value_t = 60, global = true)]
    pub credential_attempts_per_ip_per_minute: u32,

    /// Confirmation and password-reset mails sent to one address per minute.
    #[arg(long, env = "MAIL_PER_ADDRESS_PER_MINUTE", default_value_t = 1, global = true)]
    pub mail_per_address_per_minute: u32,

    /// Confirmation and password-reset mails sent to one address per hour.
    #[arg(long, env = "MAIL_PER_ADDRESS_PER_HOUR", default_value_t = 5, global = true)]
    pub mail_per_address_per_hour: u32,

    /// Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<String>,

    /// Origins allowed to call the API from a browser (comma-separated), or `*`. Default: none.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',', global = true)]
    pub cors_allowed_origins: Vec<String>,

    /// Whether the schema can be introspected (development tools, codegen).
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphql_introspection: bool,

    /// Whether GET /graphql shows GraphiQL to a browser.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Largest query complexity (roughly, the number of fields a query selects).
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 1000, global = true)]
    pub max_query_complexity: usize,

    /// Region assumed for phone numbers written without a +country prefix (ISO 3166 code).
    #[arg(long, env = "DEFAULT_PHONE_REGION", default_value = "US", global = true)]
    pub default_phone_region: String,

    /// Maximum database connections in the pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub database_max_connections: u32,

    /// Where mail goes: `smtp://user:pass@host:587` (STARTTLS when offered; add `?tls=required` to insist),
    /// `smtps://user:pass@host:465` (TLS), `smtp://host:25?tls=none` (plain). Unset: mail is written as
    /// .eml files to DATA_DIR/mail and its links are logged.
    #[arg(long, env = "SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// The From of every mail, e.g. `Tessera <no-reply@example.com>`.
    #[arg(long, env = "MAIL_FROM", default_value = "Tessera <no-reply@localhost>", global = true)]
    pub mail_from: String,

    /// How long an email-confirmation link works.
    #[arg(long, env = "EMAIL_CONFIRMATION_TTL", default_value = "48h", value_parser = parse_duration, global = true)]
    pub email_confirmation_ttl: Duration,

    /// How long a password-reset link works.
    #[arg(long, env = "PASSWORD_RESET_TTL", default_value = "1h", value_parser = parse_duration, global = true)]
    pub password_reset_ttl: Duration,

    /// How often the mail worker looks for queued mail (it also wakes at once when this instance queues some).
    #[arg(long, env = "MAIL_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration, global = true)]
    pub mail_poll_interval: Duration,

    /// Wait before the first retry of a mail that could not be sent; it doubles on each failure.
    #[arg(long, env = "MAIL_RETRY_BASE", default_value = "5s", value_parser = parse_duration, global = true)]
    pub mail_retry_base: Duration,

    /// The longest wait between two tries of a mail (queued mail is retried for as long as SMTP is down).
    #[arg(long, env = "MAIL_RETRY_MAX", default_value = "10m", value_parser = parse_duration, global = true)]
    pub mail_retry_max: Duration,
}

/// Parses `250ms`, `90`, `90s`, `15m`, `1h`, `30d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("`{text}` is not a duration like 15m or 30d"))?;
    let too_long = || format!("`{text}` is too long");
    let duration = match unit {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.checked_mul(60).ok_or_else(too_long)?),
        "h" => Duration::from_secs(number.checked_mul(3600).ok_or_else(too_long)?),
        "d" => Duration::from_secs(number.checked_mul(86_400).ok_or_else(too_long)?),
        _ => return Err(format!("`{text}`: unit must be ms, s, m, h or d")),
    };
    if duration.is_zero() {
        return Err("a duration must be positive".into());
    }
    Ok(duration)
}

/// Settings resolved into what the server runs with.
#[derive(Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub app_url: Option<String>,
    pub jwt_secret: Vec<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub max_body_bytes: usize,
    pub max_upload_bytes: usize,
    pub media_store_url: String,
    pub media_s3_endpoint: Option<String>,
    /// Without a trailing slash.
    pub media_public_url: Option<String>,
    pub default_phone_region: phonenumber::country::Id,
    pub database_max_connections: u32,
    pub signin_max_failures: u32,
    pub signin_lockout_window: Duration,
    pub credential_attempts_per_ip_per_minute: u32,
    pub mail_per_address_per_minute: u32,
    pub mail_per_address_per_hour: u32,
    pub trusted_proxies: Vec<IpNet>,
    pub cors_allowed_origins: Vec<String>,
    pub graphql_introspection: bool,
    pub graphiql: bool,
    pub max_query_complexity: usize,
    /// None: mail is written to DATA_DIR/mail. Holds a password: never log it unredacted.
    pub smtp_url: Option<String>,
    pub mail_from: lettre::message::Mailbox,
    pub email_confirmation_ttl: Duration,
    pub password_reset_ttl: Duration,
    pub mail_poll_interval: Duration,
    pub mail_retry_base: Duration,
    pub mail_retry_max: Duration,
}

/// An IP network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub address: std::net::IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Option<IpNet> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<std::net::IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse().ok()?, None),
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { address, prefix })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::*;
        match (self.address, ip) {
            (V4(net), V4(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(self.prefix)) };
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (V6(net), V6(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(net) & mask == u128::from(ip) & mask
            }
            (V6(_), V4(ip)) => self.contains(std::net::IpAddr::V6(ip.to_ipv6_mapped())),
            (V4(_), V6(ip)) => ip.to_ipv4_mapped().is_some_and(|v4| self.contains(std::net::IpAddr::V4(v4))),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("public_url", &self.public_url)
            .field("app_url", &self.app_url)
            .field("jwt_secret", &"<redacted>")
            .field("smtp_url", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from.to_string())
            .finish_non_exhaustive()
    }
}

/// Hides a password in a URL before it is logged.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;

impl Config {
    /// Resolves defaults; creates DATA_DIR and, when JWT_SECRET is unset, a
    /// persistent secret in it.
    pub fn resolve(settings: Settings) -> anyhow::Result<Config> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create DATA_DIR {}", settings.data_dir.display()))?;
        let database_url = match settings.database_url {
            Some(url) if !url.trim().is_empty() => url,
            _ => format!("sqlite://{}?mode=rwc", settings.data_dir.join("tessera.db").display()),
        };
        let jwt_secret = match settings.jwt_secret {
            Some(secret) => secret.into_bytes(),
            None => load_or_create_secret(&settings.data_dir)?,
        };
        if jwt_secret.len() < MIN_JWT_SECRET_BYTES {
            bail!("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long");
        }
        let default_phone_region = settings
            .default_phone_region
            .to_ascii_uppercase()
            .parse()
            .map_err(|_| anyhow::anyhow!("DEFAULT_PHONE_REGION `{}` is not a region code", settings.default_phone_region))?;
        let trusted_proxies = settings
            .trusted_proxies
            .iter()
            .filter(|p| !p.trim().is_empty())
            .map(|p| IpNet::parse(p).ok_or_else(|| anyhow::anyhow!("TRUSTED_PROXIES: `{p}` is not an IP address or CIDR")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let media_store_url = match settings.media_store_url {
            Some(url) if !url.trim().is_empty() => url,
            _ => std::path::absolute(settings.data_dir.join("media"))
                .context("resolving DATA_DIR")?
                .display()
                .to_string(),
        };
        let smtp_url = settings.smtp_url.filter(|u| !u.trim().is_empty()).map(|u| u.trim().to_owned());
        let mail_from = settings
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM `{}` is not an address like `Tessera <no-reply@example.com>`: {e}", settings.mail_from))?;
        Ok(Config {
            listen_addr: settings.listen_addr,
            data_dir: settings.data_dir,
            database_url,
            public_url: settings.public_url.map(|u| u.trim_end_matches('/').to_owned()),
            app_url: settings.app_url.map(|u| u.trim_end_matches('/').to_owned()),
            jwt_secret,
            access_token_ttl: settings.access_token_ttl,
            refresh_token_ttl: settings.refresh_token_ttl,
            max_body_bytes: settings.max_body_bytes,
            max_upload_bytes: settings.max_upload_bytes,
            media_store_url,
            media_s3_endpoint: settings.media_s3_endpoint.filter(|e| !e.trim().is_empty()),
            media_public_url: settings.media_public_url.map(|u| u.trim_end_matches('/').to_owned()),
            default_phone_region,
            database_max_connections: settings.database_max_connections.max(1),
            signin_max_failures: settings.signin_max_failures.max(1),
            signin_lockout_window: settings.signin_lockout_window,
            credential_attempts_per_ip_per_minute: settings.credential_attempts_per_ip_per_minute.max(1),
            mail_per_address_per_minute: settings.mail_per_address_per_minute.max(1),
            mail_per_address_per_hour: settings.mail_per_address_per_hour.max(1),
            trusted_proxies,
            cors_allowed_origins: settings
                .cors_allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            graphql_introspection: settings.graphql_introspection,
            graphiql: settings.graphiql,
            max_query_complexity: settings.max_query_complexity.max(50),
            smtp_url,
            mail_from,
            email_confirmation_ttl: settings.email_confirmation_ttl,
            password_reset_ttl: settings.password_reset_ttl,
            mail_poll_interval: settings.mail_poll_interval,
            mail_retry_base: settings.mail_retry_base,
            mail_retry_max: settings.mail_retry_max.max(settings.mail_retry_base),
        })
    }
}

fn load_or_create_secret(data_dir: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use rand::RngCore;
    use std::io::Write;
    let path = data_dir.join("jwt_secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::warn!(
                path = %path.display(),
                "JWT_SECRET is not set: generated one and stored it; set JWT_SECRET in production"
            );
            Ok(secret.into_bytes())
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().as_bytes().to_vec())
        }
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("30d").unwrap(), Duration::from_secs(2_592_000));
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("0ms").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("abc").is_err());
    }

    #[test]
    fn networks_contain_their_addresses() {
        let net = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(net.contains("10.1.2.3".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        let one = IpNet::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        assert!(IpNet::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("nope").is_none());
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(redact_url("smtps://mailer:hunter2@smtp.example.com:465"), "smtps://mailer:***@smtp.example.com:465");
    }
}
