//! Every setting: a command-line flag and an environment variable, each with
//! a default so that `tessera` runs with no set-up at all. Settings come in
//! sections (one struct each, flattened into the command line); secrets are
//! `Secret`s, which never print.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser};

/// A value that must never reach a log: Debug and Display print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> std::fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

fn parse_secret(text: &str) -> Result<Secret<String>, String> {
    Ok(Secret(text.to_owned()))
}

/// Settings as given on the command line or in the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub server: ServerSettings,
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub http: HttpSettings,
    #[command(flatten)]
    pub tokens: TokenSettings,
    #[command(flatten)]
    pub media: MediaSettings,
    #[command(flatten)]
    pub mail: MailSettings,
    #[command(flatten)]
    pub limits: LimitSettings,
    #[command(flatten)]
    pub accounts: AccountSettings,
    #[command(flatten)]
    pub telemetry: TelemetrySettings,
    #[command(flatten)]
    pub webhooks: WebhookSettings,
    #[command(flatten)]
    pub events: EventSettings,
    #[command(flatten)]
    pub mfa: MfaSettings,
    #[command(flatten)]
    pub oidc: OidcSettings,
}

/// Where the server listens, where it keeps its files, how it is reached.
#[derive(Debug, Clone, Args)]
pub struct ServerSettings {
    /// Address to listen on: `IP:PORT` or `HOST:PORT` (e.g. localhost:8080).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen_addr, global = true)]
    pub listen_addr: SocketAddr,

    /// Folder for the SQLite database, the generated JWT secret, media and mail files.
    #[arg(long, env = "DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// The server's own public base URL (for media links). Default: http://LISTEN_ADDR.
    #[arg(long, env = "PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// The frontend's base URL, for links in emails. Default: PUBLIC_URL.
    #[arg(long, env = "APP_URL", global = true)]
    pub app_url: Option<String>,

    /// Whether this server serves the pages the links in emails open (/confirm-email, /reset-password).
    /// Default: when APP_URL is unset or equals PUBLIC_URL.
    #[arg(long, env = "BUILTIN_PAGES", action = clap::ArgAction::Set, global = true)]
    pub builtin_pages: Option<bool>,
}

/// The database.
#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`. Default: SQLite file in DATA_DIR.
    #[arg(id = "database_url", long = "database-url", env = "DATABASE_URL", value_parser = parse_secret, hide_env_values = true, global = true)]
    pub url: Option<Secret<String>>,

    /// Maximum database connections in the pool.
    #[arg(long = "database-max-connections", env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub max_connections: u32,

    /// How long a request waits for a database connection before it is answered 503 UNAVAILABLE.
    #[arg(long = "database-acquire-timeout", env = "DATABASE_ACQUIRE_TIMEOUT", default_value = "2s", value_parser = parse_duration, global = true)]
    pub acquire_timeout: Duration,

    /// How long Tessera waits at start for an unreachable database (logging each try) before it gives up.
    #[arg(long = "database-wait", env = "DATABASE_WAIT", default_value = "30s", value_parser = parse_duration, global = true)]
    pub wait: Duration,
}

/// The /graphql endpoint: request limits, browsers, development tools.
#[derive(Debug, Clone, Args)]
pub struct HttpSettings {
    /// Largest request body accepted on /graphql, in bytes (JSON). Multipart uploads have their own limit.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "", value_parser = parse_ip_nets, global = true)]
    pub trusted_proxies: IpNets,

    /// Origins allowed to call the API from a browser (comma-separated), or `*`. Default: none.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "", value_parser = parse_origins, global = true)]
    pub cors_allowed_origins: Origins,

    /// Whether the schema can be introspected (development tools, codegen).
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphql_introspection: bool,

    /// Whether GET /graphql shows GraphiQL to a browser.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Largest query complexity (roughly, the number of fields a query selects); at least 50.
    #[arg(long, env = "MAX_QUERY_COMPLEXITY", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(50..), global = true)]
    pub max_query_complexity: u32,
}

/// Access tokens and sessions.
#[derive(Debug, Clone, Args)]
pub struct TokenSettings {
    /// HMAC secret (HS256) for access tokens, at least 32 bytes, for deployments that started with one.
    /// Unset (the default): tokens are EdDSA, signed with JWT_SIGNING_KEYS, and other services verify them
    /// through /.well-known/jwks.json.
    #[arg(long, env = "JWT_SECRET", value_parser = parse_secret, hide_env_values = true, global = true)]
    pub jwt_secret: Option<Secret<String>>,

    /// Ed25519 private keys for access tokens: PKCS#8 PEM files, comma-separated; the first signs, all
    /// verify. Default: one generated once into DATA_DIR/jwt_signing_key.pem.
    #[arg(long, env = "JWT_SIGNING_KEYS", default_value = "", value_parser = parse_paths, global = true)]
    pub jwt_signing_keys: Paths,

    /// Lifetime of an access token (e.g. 900s, 15m, 1h).
    #[arg(long, env = "ACCESS_TOKEN_TTL", default_value = "15m", value_parser = parse_duration, global = true)]
    pub access_token_ttl: Duration,

    /// Lifetime of a session and its refresh tokens (e.g. 30d).
    #[arg(long, env = "REFRESH_TOKEN_TTL", default_value = "30d", value_parser = parse_duration, global = true)]
    pub refresh_token_ttl: Duration,
}

/// Display pictures.
#[derive(Debug, Clone, Args)]
pub struct MediaSettings {
    /// Largest uploaded file accepted (display pictures), in bytes.
    #[arg(long, env = "MAX_UPLOAD_BYTES", default_value_t = 2 * 1024 * 1024, global = true)]
    pub max_upload_bytes: usize,

    /// Where display pictures are stored: a folder (`file:///path`) or `s3://bucket/prefix`. Default: DATA_DIR/media.
    #[arg(id = "media_store_url", long = "media-store-url", env = "MEDIA_STORE_URL", global = true)]
    pub store_url: Option<String>,

    /// Endpoint of an S3-compatible store (MinIO, R2, ...) for an s3:// MEDIA_STORE_URL. Default: AWS.
    #[arg(long = "media-s3-endpoint", env = "MEDIA_S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,

    /// Public base URL of stored pictures when a CDN or the bucket serves them. Default: PUBLIC_URL/media.
    #[arg(id = "media_public_url", long = "media-public-url", env = "MEDIA_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// How often each instance sweeps the media store for pictures no profile points at.
    #[arg(long = "media-sweep-interval", env = "MEDIA_SWEEP_INTERVAL", default_value = "1h", value_parser = parse_duration, global = true)]
    pub sweep_interval: Duration,

    /// How old an unreferenced picture must be before the sweep deletes it (an upload still in flight is younger).
    #[arg(long = "media-sweep-grace", env = "MEDIA_SWEEP_GRACE", default_value = "1h", value_parser = parse_duration, global = true)]
    pub sweep_grace: Duration,
}

/// Mail: where it goes, what its links are worth, how the worker retries.
#[derive(Debug, Clone, Args)]
pub struct MailSettings {
    /// Where mail goes: `smtp://user:pass@host:587` (STARTTLS when offered; add `?tls=required` to insist),
    /// `smtps://user:pass@host:465` (TLS), `smtp://host:25?tls=none` (plain). Unset: mail is written as
    /// .eml files to DATA_DIR/mail and its links are logged.
    #[arg(long, env = "SMTP_URL", value_parser = parse_secret, hide_env_values = true, global = true)]
    pub smtp_url: Option<Secret<String>>,

    /// The From of every mail, e.g. `Tessera <no-reply@example.com>`.
    #[arg(long, env = "MAIL_FROM", default_value = "Tessera <no-reply@localhost>", value_parser = parse_mailbox, global = true)]
    pub mail_from: lettre::message::Mailbox,

    /// How long an email-confirmation link works.
    #[arg(long, env = "EMAIL_CONFIRMATION_TTL", default_value = "48h", value_parser = parse_duration, global = true)]
    pub email_confirmation_ttl: Duration,

    /// How long a password-reset link works.
    #[arg(long, env = "PASSWORD_RESET_TTL", default_value = "1h", value_parser = parse_duration, global = true)]
    pub password_reset_ttl: Duration,

    /// How often the mail worker looks for queued mail (it also wakes at once when this instance queues some).
    #[arg(long = "mail-poll-interval", env = "MAIL_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration, global = true)]
    pub poll_interval: Duration,

    /// Wait before the first retry of a mail that could not be sent; it doubles on each failure.
    #[arg(long = "mail-retry-base", env = "MAIL_RETRY_BASE", default_value = "5s", value_parser = parse_duration, global = true)]
    pub retry_base: Duration,

    /// The longest wait between two tries of a mail (queued mail is retried for as long as SMTP is down).
    #[arg(long = "mail-retry-max", env = "MAIL_RETRY_MAX", default_value = "10m", value_parser = parse_duration, global = true)]
    pub retry_max: Duration,

    /// Tries of a mail the SMTP server refuses permanently (5xx) before it is marked failed and kept for inspection.
    #[arg(long = "mail-rejected-max-tries", env = "MAIL_REJECTED_MAX_TRIES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..1000), global = true)]
    pub rejected_max_tries: u32,
}

/// Rate limits, all counted in the database so that every instance shares them.
#[derive(Debug, Clone, Args)]
pub struct LimitSettings {
    /// Failed signins of one account within SIGNIN_LOCKOUT_WINDOW before further attempts are refused.
    #[arg(long, env = "SIGNIN_MAX_FAILURES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub signin_max_failures: u32,

    /// How long failed signins count against an account.
    #[arg(long, env = "SIGNIN_LOCKOUT_WINDOW", default_value = "15m", value_parser = parse_duration, global = true)]
    pub signin_lockout_window: Duration,

    /// Credential-taking operations (see graphql::limits::CREDENTIAL_FIELDS) allowed per client IP per minute.
    #[arg(long, env = "CREDENTIAL_ATTEMPTS_PER_IP_PER_MINUTE", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub credential_attempts_per_ip_per_minute: u32,

    /// Confirmation and password-reset mails sent to one address per minute.
    #[arg(long, env = "MAIL_PER_ADDRESS_PER_MINUTE", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub mail_per_address_per_minute: u32,

    /// Confirmation and password-reset mails sent to one address per hour.
    #[arg(long, env = "MAIL_PER_ADDRESS_PER_HOUR", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub mail_per_address_per_hour: u32,
}

/// Account values.
#[derive(Debug, Clone, Args)]
pub struct AccountSettings {
    /// Region assumed for phone numbers written without a +country prefix (ISO 3166 code).
    #[arg(long, env = "DEFAULT_PHONE_REGION", default_value = "US", value_parser = parse_region, global = true)]
    pub default_phone_region: phonenumber::country::Id,
}

/// What the process tells its operator: log lines and metrics.
#[derive(Debug, Clone, Args)]
pub struct TelemetrySettings {
    /// Log lines as `text` (colour only on a terminal) or `json` (one object per line, panics included).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,

    /// Address of a separate listener serving Prometheus metrics at /metrics (`IP:PORT` or `HOST:PORT`). Unset or empty: no metrics.
    #[arg(long, env = "METRICS_LISTEN_ADDR", global = true)]
    pub metrics_listen_addr: Option<String>,
}

/// The telemetry settings, resolved.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    pub log_format: LogFormat,
    pub metrics_listen_addr: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `IP:PORT`, or `HOST:PORT` resolved now (an IPv4 address first when the
/// name has both, as `localhost` usually does).
pub fn parse_listen_addr(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let text = text.trim();
    if let Ok(address) = text.parse::<SocketAddr>() {
        return Ok(address);
    }
    if text.rsplit_once(':').is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err()) {
        return Err(format!("`{text}` is not an address like 127.0.0.1:8080, 0.0.0.0:8080 or localhost:8080"));
    }
    let found: Vec<SocketAddr> = text.to_socket_addrs().map_err(|e| format!("`{text}`: cannot resolve the host name ({e})"))?.collect();
    found.iter().find(|a| a.is_ipv4()).or(found.first()).copied().ok_or_else(|| format!("`{text}`: the host name has no address"))
}

/// Webhooks: other services hear about account changes, signed the Standard Webhooks way.
#[derive(Debug, Clone, Args)]
pub struct WebhookSettings {
    /// Where webhooks are POSTed (http or https URLs, comma-separated). Default: none.
    #[arg(long, env = "WEBHOOK_URLS", default_value = "", value_parser = parse_urls, global = true)]
    pub webhook_urls: Urls,

    /// The signing secret: `whsec_` and base64 (the Standard Webhooks form). Required with WEBHOOK_URLS.
    #[arg(long, env = "WEBHOOK_SECRET", value_parser = parse_secret, hide_env_values = true, global = true)]
    pub webhook_secret: Option<Secret<String>>,

    /// The event types sent (comma-separated, e.g. `user.created,user.deleted`). Default: all.
    #[arg(long, env = "WEBHOOK_EVENTS", default_value = "", value_parser = parse_list, global = true)]
    pub webhook_events: List,

    /// How long one delivery attempt may take, connecting included.
    #[arg(long, env = "WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_duration, global = true)]
    pub webhook_timeout: Duration,

    /// The longest wait between two attempts of a delivery (the wait doubles from 5s up to this).
    #[arg(long, env = "WEBHOOK_RETRY_MAX", default_value = "1h", value_parser = parse_duration, global = true)]
    pub webhook_retry_max: Duration,

    /// A delivery still failing this long after it was queued is marked FAILING and no longer retried.
    #[arg(long, env = "WEBHOOK_GIVE_UP_AFTER", default_value = "3d", value_parser = parse_duration, global = true)]
    pub webhook_give_up_after: Duration,

    /// How often the webhook worker looks for due deliveries.
    #[arg(long, env = "WEBHOOK_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration, global = true)]
    pub webhook_poll_interval: Duration,
}

/// The security history and audit log.
#[derive(Debug, Clone, Args)]
pub struct EventSettings {
    /// How long security events (and finished webhook deliveries) are kept; older ones are pruned in the background.
    #[arg(long, env = "SECURITY_EVENT_RETENTION", default_value = "400d", value_parser = parse_duration, global = true)]
    pub security_event_retention: Duration,
}

/// Second factors (TOTP) and passkeys (WebAuthn).
#[derive(Debug, Clone, Args)]
pub struct MfaSettings {
    /// The issuer authenticator apps show beside a TOTP code, and put in the otpauth URI (no `:`).
    #[arg(long, env = "TOTP_ISSUER", default_value = "Tessera", global = true)]
    pub totp_issuer: String,

    /// 32 random bytes in base64 (`openssl rand -base64 32`): TOTP secrets are stored encrypted with it
    /// (AES-256-GCM). Unset: stored in plain. Once set, the database only works with this key.
    #[arg(long, env = "DATA_ENCRYPTION_KEY", value_parser = parse_secret, hide_env_values = true, global = true)]
    pub data_encryption_key: Option<Secret<String>>,

    /// The WebAuthn relying-party id that passkeys are bound to (a domain, e.g. example.com).
    /// Default: the host of APP_URL (`localhost` when that is a loopback address).
    #[arg(long, env = "WEBAUTHN_RP_ID", global = true)]
    pub webauthn_rp_id: Option<String>,

    /// The relying-party name authenticators show when a passkey is made.
    #[arg(long, env = "WEBAUTHN_RP_NAME", default_value = "Tessera", global = true)]
    pub webauthn_rp_name: String,

    /// Origins (comma-separated) whose pages may make and use passkeys: `https://…`, or `http://localhost:PORT`.
    /// Default: the origins of APP_URL and PUBLIC_URL.
    #[arg(long, env = "WEBAUTHN_ORIGINS", default_value = "", value_parser = parse_origins, global = true)]
    pub webauthn_origins: Origins,
}

/// Only the settings, for `Settings::defaults`.
#[derive(Parser)]
struct SettingsOnly {
    #[command(flatten)]
    settings: Settings,
}

impl Settings {
    /// The settings as `tessera` with no flags would have them (environment
    /// variables still apply): what tests start from before their overrides.
    pub fn defaults() -> Settings {
        SettingsOnly::try_parse_from(["tessera"]).expect("every setting has a default").settings
    }
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

fn parse_mailbox(text: &str) -> Result<lettre::message::Mailbox, String> {
    text.parse().map_err(|e| format!("`{text}` is not an address like `Tessera <no-reply@example.com>`: {e}"))
}

fn parse_region(text: &str) -> Result<phonenumber::country::Id, String> {
    text.trim().to_ascii_uppercase().parse().map_err(|_| format!("`{text}` is not a region code like US or GB"))
}

/// IP networks, from a comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpNets(pub Vec<IpNet>);

fn parse_ip_nets(text: &str) -> Result<IpNets, String> {
    let nets = text
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| IpNet::parse(p).ok_or_else(|| format!("`{p}` is not an IP address or CIDR")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IpNets(nets))
}

/// File paths, from a comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paths(pub Vec<PathBuf>);

fn parse_paths(text: &str) -> Result<Paths, String> {
    Ok(Paths(text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect()))
}

/// Words, from a comma-separated list, trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct List(pub Vec<String>);

fn parse_list(text: &str) -> Result<List, String> {
    Ok(List(text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect()))
}

/// http(s) URLs, from a comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Urls(pub Vec<url::Url>);

fn parse_urls(text: &str) -> Result<Urls, String> {
    let urls = text
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| match url::Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
            _ => Err(format!("`{}` is not an http or https URL", redact_url(u))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Urls(urls))
}

/// Browser origins, from a comma-separated list, without trailing slashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins(pub Vec<String>);

fn parse_origins(text: &str) -> Result<Origins, String> {
    Ok(Origins(text.split(',').map(|o| o.trim().trim_end_matches('/').to_owned()).filter(|o| !o.is_empty()).collect()))
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

/// Creates a folder (and its missing parents) that only this user can
/// enter (0700 on Unix): DATA_DIR and what it holds are private (the
/// database, mail with live links, keys).
pub fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Options that create a file only this user can read (0600 on Unix).
pub fn private_file_options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Settings resolved into what the server runs with: every default that
/// depends on another setting is filled in.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub http: HttpSettings,
    pub tokens: TokenConfig,
    pub media: MediaConfig,
    pub mail: MailSettings,
    pub limits: LimitSettings,
    pub accounts: AccountSettings,
    pub telemetry: TelemetryConfig,
    pub webhooks: WebhookConfig,
    pub events: EventSettings,
    pub mfa: MfaConfig,
    pub oidc: OidcConfig,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen_addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Given, or derived from LISTEN_ADDR; without a trailing slash. See `public_url()`.
    public_url: Option<String>,
    /// Given, or PUBLIC_URL; without a trailing slash. See `app_url()`.
    app_url: Option<String>,
    /// BUILTIN_PAGES as given; see `builtin_pages()`.
    builtin_pages: Option<bool>,
}

impl ServerConfig {
    /// The base of absolute links to this server.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen_addr))
    }

    /// The base of links in emails: the frontend.
    pub fn app_url(&self) -> String {
        self.app_url.clone().unwrap_or_else(|| self.public_url())
    }

    /// Whether this server serves /confirm-email and /reset-password: as
    /// BUILTIN_PAGES says, else when the links in mails point at this server.
    pub fn builtin_pages(&self) -> bool {
        self.builtin_pages.unwrap_or_else(|| self.app_url.is_none() || self.app_url() == self.public_url())
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: Secret<String>,
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    pub wait: Duration,
}

#[derive(Debug, Clone)]
pub struct TokenConfig {
    /// Set: access tokens are HS256 with this secret. None: EdDSA with `signing_keys`.
    pub jwt_secret: Option<Secret<Vec<u8>>>,
    /// PKCS#8 PEM files; empty means the key generated in DATA_DIR (see `security::jwt`).
    pub signing_keys: Vec<PathBuf>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
}

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub urls: Vec<url::Url>,
    /// The HMAC key: the bytes the `whsec_` secret encodes. Set whenever `urls` is not empty.
    pub secret: Option<Secret<Vec<u8>>>,
    /// Event types to send; empty means all (checked against the known ones at start).
    pub events: Vec<String>,
    pub timeout: Duration,
    pub retry_max: Duration,
    pub give_up_after: Duration,
    pub poll_interval: Duration,
}

#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub max_upload_bytes: usize,
    /// A folder path or `s3://bucket/prefix`.
    pub store_url: String,
    pub s3_endpoint: Option<String>,
    /// Without a trailing slash; None: PUBLIC_URL/media.
    pub public_url: Option<String>,
    pub sweep_interval: Duration,
    pub sweep_grace: Duration,
}

/// Second factors and passkeys, checked. The relying party itself is built at
/// start (`security::webauthn`), once PUBLIC_URL's port is known.
#[derive(Debug, Clone)]
pub struct MfaConfig {
    pub totp_issuer: String,
    /// The decoded DATA_ENCRYPTION_KEY.
    pub data_encryption_key: Option<Secret<[u8; 32]>>,
    /// Given, lower-cased; None: derived from APP_URL.
    pub webauthn_rp_id: Option<String>,
    pub webauthn_rp_name: String,
    /// Given and parsed; empty: derived from APP_URL and PUBLIC_URL.
    pub webauthn_origins: Vec<url::Url>,
}

impl MfaSettings {
    fn resolve(self) -> anyhow::Result<MfaConfig> {
        use base64::Engine;
        let totp_issuer = self.totp_issuer.trim().to_owned();
        if totp_issuer.is_empty() || totp_issuer.contains(':') {
            bail!("TOTP_ISSUER must be a non-empty name without `:` (authenticator apps read `:` as a separator)");
        }
        let data_encryption_key = match given(self.data_encryption_key.map(|k| k.0)) {
            None => None,
            Some(text) => {
                let engine = base64::engine::general_purpose::STANDARD;
                let bytes =
                    engine.decode(text.as_bytes()).or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.as_bytes()));
                let key: [u8; 32] = bytes.ok().and_then(|b| b.try_into().ok()).ok_or_else(|| {
                    anyhow::anyhow!("DATA_ENCRYPTION_KEY must be 32 random bytes in base64 (e.g. the output of `openssl rand -base64 32`)")
                })?;
                Some(Secret(key))
            }
        };
        let webauthn_rp_id = given(self.webauthn_rp_id).map(|id| id.to_lowercase());
        if let Some(id) = &webauthn_rp_id {
            if id.parse::<std::net::IpAddr>().is_ok() || id.contains(['/', ':']) {
                bail!("WEBAUTHN_RP_ID must be a domain such as example.com or localhost, not `{id}`");
            }
        }
        let webauthn_origins = self
            .webauthn_origins
            .0
            .iter()
            .map(|origin| {
                let url = url::Url::parse(origin).map_err(|e| anyhow::anyhow!("WEBAUTHN_ORIGINS: `{origin}` is not an origin: {e}"))?;
                let localhost = url.host_str() == Some("localhost");
                if !(url.scheme() == "https" || url.scheme() == "http" && localhost) {
                    bail!("WEBAUTHN_ORIGINS: `{origin}` must be https://…, or http://localhost:PORT");
                }
                Ok(url)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let webauthn_rp_name = self.webauthn_rp_name.trim().to_owned();
        Ok(MfaConfig {
            totp_issuer,
            data_encryption_key,
            webauthn_rp_id,
            webauthn_rp_name: if webauthn_rp_name.is_empty() { "Tessera".into() } else { webauthn_rp_name },
            webauthn_origins,
        })
    }
}

/// An unset value or one that is only blanks: both mean "use the default".
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl Config {
    /// Resolves defaults and creates DATA_DIR. (The token keys are read, or
    /// generated into DATA_DIR, by `security::jwt::TokenKeys::load`.)
    pub fn resolve(settings: Settings) -> anyhow::Result<Config> {
        let Settings { server, database, http, tokens, media, mail, limits, accounts, telemetry, webhooks, events, mfa, oidc } = settings;
        create_private_dir(&server.data_dir).with_context(|| format!("cannot create DATA_DIR {}", server.data_dir.display()))?;
        let database_url = match given(database.url.map(|u| u.0)) {
            Some(url) => url,
            None => format!("sqlite://{}?mode=rwc", server.data_dir.join("tessera.db").display()),
        };
        let jwt_secret = given(tokens.jwt_secret.map(|s| s.0)).map(String::into_bytes);
        if jwt_secret.as_ref().is_some_and(|s| s.len() < MIN_JWT_SECRET_BYTES) {
            bail!("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes long");
        }
        let webhook_secret = match given(webhooks.webhook_secret.map(|s| s.0)) {
            Some(secret) => Some(parse_webhook_secret(&secret)?),
            None if !webhooks.webhook_urls.0.is_empty() => {
                bail!("WEBHOOK_URLS is set but WEBHOOK_SECRET is not: set it to `whsec_` followed by 24 to 64 random bytes in base64")
            }
            None => None,
        };
        let media_store_url = match given(media.store_url) {
            Some(url) => url,
            None => std::path::absolute(server.data_dir.join("media")).context("resolving DATA_DIR")?.display().to_string(),
        };
        let trailing = |u: Option<String>| given(u).map(|u| u.trim_end_matches('/').to_owned());
        let metrics_listen_addr = match given(telemetry.metrics_listen_addr) {
            Some(text) => Some(parse_listen_addr(&text).map_err(|e| anyhow::anyhow!("METRICS_LISTEN_ADDR: {e}"))?),
            None => None,
        };
        Ok(Config {
            server: ServerConfig {
                listen_addr: server.listen_addr,
                public_url: trailing(server.public_url),
                app_url: trailing(server.app_url),
                builtin_pages: server.builtin_pages,
                data_dir: server.data_dir,
            },
            database: DatabaseConfig {
                url: Secret(database_url),
                max_connections: database.max_connections.max(1),
                acquire_timeout: database.acquire_timeout,
                wait: database.wait,
            },
            http,
            tokens: TokenConfig {
                jwt_secret: jwt_secret.map(Secret),
                signing_keys: tokens.jwt_signing_keys.0,
                access_token_ttl: tokens.access_token_ttl,
                refresh_token_ttl: tokens.refresh_token_ttl,
            },
            media: MediaConfig {
                max_upload_bytes: media.max_upload_bytes,
                store_url: media_store_url,
                s3_endpoint: given(media.s3_endpoint),
                public_url: trailing(media.public_url),
                sweep_interval: media.sweep_interval,
                sweep_grace: media.sweep_grace,
            },
            mail: MailSettings {
                smtp_url: mail.smtp_url.and_then(|u| given(Some(u.0))).map(Secret),
                retry_max: mail.retry_max.max(mail.retry_base),
                ..mail
            },
            limits,
            accounts,
            telemetry: TelemetryConfig { log_format: telemetry.log_format, metrics_listen_addr },
            webhooks: WebhookConfig {
                urls: webhooks.webhook_urls.0,
                secret: webhook_secret.map(Secret),
                events: webhooks.webhook_events.0,
                timeout: webhooks.webhook_timeout,
                retry_max: webhooks.webhook_retry_max,
                give_up_after: webhooks.webhook_give_up_after,
                poll_interval: webhooks.webhook_poll_interval,
            },
            events,
            mfa: mfa.resolve()?,
            oidc: oidc.resolve(|name| std::env::var(name).ok())?,
        })
    }
}

/// The key a `whsec_<base64>` secret stands for.
fn parse_webhook_secret(secret: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let encoded = secret.trim().strip_prefix("whsec_").unwrap_or(secret.trim());
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| anyhow::anyhow!("WEBHOOK_SECRET must be `whsec_` followed by standard (padded) base64"))?;
    if !(24..=64).contains(&key.len()) {
        bail!("WEBHOOK_SECRET must encode 24 to 64 bytes (it encodes {})", key.len());
    }
    Ok(key)
}

/// Signing in with OpenID Connect providers (Google, Apple, a company's Keycloak...).
/// Each provider's own settings are `OIDC_<NAME>_…` variables, read by
/// `OidcSettings::resolve` (their names depend on OIDC_PROVIDERS).
#[derive(Debug, Clone, Args)]
pub struct OidcSettings {
    /// Provider names (lower-case letters and digits, comma-separated), e.g. `google,apple`; each is set up with
    /// OIDC_<NAME>_ISSUER, OIDC_<NAME>_CLIENT_IDS and the other OIDC_<NAME>_ variables. Default: none.
    #[arg(long, env = "OIDC_PROVIDERS", default_value = "", value_parser = parse_list, global = true)]
    pub oidc_providers: List,

    /// URL prefixes (comma-separated) a browser flow's redirectUri must start with. Default: APP_URL.
    #[arg(long, env = "OAUTH_REDIRECT_URLS", default_value = "", value_parser = parse_list, global = true)]
    pub oauth_redirect_urls: List,

    /// Providers given directly rather than through OIDC_<NAME>_ variables (tests, embedding).
    #[arg(skip)]
    pub providers: Vec<OidcProviderSettings>,
}

/// One provider's settings as given: OIDC_<NAME>_ISSUER, _CLIENT_IDS, _CLIENT_SECRET (or
/// _TEAM_ID, _KEY_ID and _PRIVATE_KEY_FILE for Apple), _DISPLAY_NAME, _SCOPES.
#[derive(Debug, Clone, Default)]
pub struct OidcProviderSettings {
    pub name: String,
    pub issuer: String,
    pub client_ids: Vec<String>,
    pub client_secret: Option<Secret<String>>,
    pub team_id: Option<String>,
    pub key_id: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub display_name: Option<String>,
    pub scopes: Option<String>,
}

/// The providers, checked.
#[derive(Debug, Clone, Default)]
pub struct OidcConfig {
    pub providers: Vec<OidcProviderConfig>,
    /// Parsed OAUTH_REDIRECT_URLS; empty: APP_URL (see `ServerConfig::app_url`).
    pub redirect_urls: Vec<url::Url>,
}

#[derive(Debug, Clone)]
pub struct OidcProviderConfig {
    pub name: String,
    pub display_name: String,
    /// Without a trailing slash.
    pub issuer: String,
    /// Every client id whose ID tokens are accepted; the first is the browser flow's.
    pub client_ids: Vec<String>,
    pub client_secret: Option<ClientSecret>,
    pub scopes: String,
}

/// How the browser flow's code exchange authenticates.
#[derive(Debug, Clone)]
pub enum ClientSecret {
    /// A secret given as it is.
    Static(Secret<String>),
    /// Apple's: a short-lived ES256 JWT minted from the team id, key id and private key (PKCS#8 PEM).
    AppleKey { team_id: String, key_id: String, private_key_pem: Secret<String> },
}

impl OidcSettings {
    /// Reads each OIDC_PROVIDERS name's `OIDC_<NAME>_…` variables through `var`
    /// and checks every provider.
    pub fn resolve(self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<OidcConfig> {
        let mut providers_given = self.providers;
        for name in &self.oidc_providers.0 {
            let name = name.to_lowercase();
            let upper = name.to_uppercase();
            let get = |key: &str| given(var(&format!("OIDC_{upper}_{key}")));
            providers_given.push(OidcProviderSettings {
                issuer: get("ISSUER").unwrap_or_default(),
                client_ids: parse_list(&get("CLIENT_IDS").unwrap_or_default()).unwrap_or_default().0,
                client_secret: get("CLIENT_SECRET").map(Secret),
                team_id: get("TEAM_ID"),
                key_id: get("KEY_ID"),
                private_key_file: get("PRIVATE_KEY_FILE").map(PathBuf::from),
                display_name: get("DISPLAY_NAME"),
                scopes: get("SCOPES"),
                name,
            });
        }
        let mut providers: Vec<OidcProviderConfig> = Vec::new();
        for provider in providers_given {
            let resolved = provider.resolve()?;
            if providers.iter().any(|p| p.name == resolved.name) {
                bail!("OIDC_PROVIDERS names `{}` twice", resolved.name);
            }
            providers.push(resolved);
        }
        let redirect_urls = self
            .oauth_redirect_urls
            .0
            .iter()
            .map(|u| match url::Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
                _ => Err(anyhow::anyhow!("OAUTH_REDIRECT_URLS: `{u}` is not an http or https URL")),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(OidcConfig { providers, redirect_urls })
    }
}

/// The DER inside a PKCS#8 `-----BEGIN PRIVATE KEY-----` PEM (Apple's .p8 files).
pub fn pkcs8_pem_to_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body = pem.trim().strip_prefix("-----BEGIN PRIVATE KEY-----")?.trim_end().strip_suffix("-----END PRIVATE KEY-----")?;
    let text: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Whether `url` may be fetched over plain http: loopback addresses only (tests, development).
pub fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl OidcProviderSettings {
    fn resolve(self) -> anyhow::Result<OidcProviderConfig> {
        let name = self.name.trim().to_lowercase();
        if name.is_empty() || name.len() > 32 || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            bail!("OIDC_PROVIDERS: `{name}` must be 1 to 32 lower-case letters and digits");
        }
        let upper = name.to_uppercase();
        let issuer = self.issuer.trim().trim_end_matches('/').to_owned();
        let parsed = url::Url::parse(&issuer).map_err(|_| anyhow::anyhow!("OIDC_{upper}_ISSUER must be the provider's issuer URL"))?;
        if !(parsed.scheme() == "https" || parsed.scheme() == "http" && is_loopback_url(&parsed)) || parsed.host().is_none() {
            bail!("OIDC_{upper}_ISSUER must be an https URL (plain http only for loopback addresses)");
        }
        let client_ids: Vec<String> = self.client_ids.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        if client_ids.is_empty() {
            bail!("OIDC_{upper}_CLIENT_IDS must list the client id of every app whose ID tokens are accepted");
        }
        let client_secret = match (self.client_secret, self.team_id, self.key_id, self.private_key_file) {
            (Some(secret), None, None, None) => Some(ClientSecret::Static(secret)),
            (None, None, None, None) => None,
            (None, Some(team_id), Some(key_id), Some(file)) => {
                let pem = std::fs::read_to_string(&file)
                    .with_context(|| format!("OIDC_{upper}_PRIVATE_KEY_FILE: cannot read {}", file.display()))?;
                let usable = pkcs8_pem_to_der(&pem).is_some_and(|der| {
                    let key = jsonwebtoken::EncodingKey::from_ec_der(&der);
                    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256), &serde_json::json!({}), &key).is_ok()
                });
                if !usable {
                    bail!("OIDC_{upper}_PRIVATE_KEY_FILE must hold an EC P-256 private key in PEM (Apple's .p8 file)");
                }
                Some(ClientSecret::AppleKey { team_id, key_id, private_key_pem: Secret(pem) })
            }
            _ => bail!(
                "OIDC_{upper}: give either CLIENT_SECRET, or TEAM_ID, KEY_ID and PRIVATE_KEY_FILE together (Apple), or neither (ID tokens only)"
            ),
        };
        let display_name = self.display_name.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty()).unwrap_or_else(|| {
            let mut chars = name.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        });
        let scopes = self.scopes.map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|s| !s.is_empty());
        let scopes = scopes.unwrap_or_else(|| "openid email profile".into());
        if !scopes.split(' ').any(|s| s == "openid") {
            bail!("OIDC_{upper}_SCOPES must include openid");
        }
        Ok(OidcProviderConfig { name, display_name, issuer, client_ids, client_secret, scopes })
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
        assert_eq!(parse_ip_nets(" 10.0.0.0/8, ,127.0.0.1").unwrap().0.len(), 2);
        assert!(parse_ip_nets("10.0.0.0/8,nope").is_err());
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(redact_url("smtps://mailer:hunter2@smtp.example.com:465"), "smtps://mailer:***@smtp.example.com:465");
    }

    #[test]
    fn secrets_never_print() {
        let settings = SettingsOnly::try_parse_from([
            "tessera",
            "--jwt-secret",
            "a-very-secret-value-0123456789abcdef",
            "--smtp-url",
            "smtp://u:hunter2@mail.example",
            "--database-url",
            "postgres://u:pw1@h/db",
            "--webhook-secret",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "--data-encryption-key",
            "S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2V5S2U=",
        ])
        .unwrap()
        .settings;
        let printed = format!("{settings:?}");
        for secret in ["a-very-secret-value", "hunter2", "pw1", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "S2V5S2V5"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let resolved = settings.mfa.resolve().unwrap();
        assert_eq!(resolved.data_encryption_key.as_ref().map(|k| k.expose()[0]), Some(b'K'));
        assert!(!format!("{resolved:?}").contains("75"), "the key's bytes never print");
    }

    #[test]
    fn mfa_settings_are_checked() {
        let mfa = |args: &[&str]| {
            let mut all = vec!["tessera"];
            all.extend_from_slice(args);
            SettingsOnly::try_parse_from(all).unwrap().settings.mfa.resolve()
        };
        let defaults = mfa(&[]).unwrap();
        assert_eq!((defaults.totp_issuer.as_str(), defaults.webauthn_rp_name.as_str()), ("Tessera", "Tessera"));
        assert!(defaults.data_encryption_key.is_none() && defaults.webauthn_rp_id.is_none() && defaults.webauthn_origins.is_empty());
        assert!(mfa(&["--totp-issuer", "Acme:Corp"]).unwrap_err().to_string().contains("TOTP_ISSUER"));
        assert!(mfa(&["--data-encryption-key", "c2hvcnQ="]).unwrap_err().to_string().contains("32 random bytes"));
        assert!(mfa(&["--data-encryption-key", "not base64!"]).is_err());
        assert!(mfa(&["--webauthn-rp-id", "127.0.0.1"]).unwrap_err().to_string().contains("WEBAUTHN_RP_ID"));
        assert!(mfa(&["--webauthn-origins", "http://example.com"]).unwrap_err().to_string().contains("https"));
        let local = mfa(&["--webauthn-rp-id", "LocalHost", "--webauthn-origins", "http://localhost:3000/, https://app.localhost"]).unwrap();
        assert_eq!(local.webauthn_rp_id.as_deref(), Some("localhost"));
        assert_eq!(local.webauthn_origins.len(), 2);
    }

    #[test]
    fn listen_addresses_take_host_names() {
        assert_eq!(parse_listen_addr("127.0.0.1:0").unwrap(), "127.0.0.1:0".parse().unwrap());
        assert_eq!(parse_listen_addr("[::1]:8080").unwrap(), "[::1]:8080".parse().unwrap());
        let local = parse_listen_addr("localhost:8080").unwrap();
        assert!(local.ip().is_loopback() && local.port() == 8080, "{local}");
        assert!(parse_listen_addr("localhost").unwrap_err().contains("localhost:8080"));
        assert!(parse_listen_addr("localhost:http").is_err());
        assert!(parse_listen_addr(":8080").is_err());
        assert!(parse_listen_addr("no-such-host.invalid:8080").unwrap_err().contains("cannot resolve"));
    }

    #[test]
    fn builtin_pages_follow_app_url_unless_set() {
        let resolve = |args: &[&str]| {
            let dir = tempfile_dir();
            let mut all = vec!["tessera", "--data-dir", dir.to_str().unwrap(), "--jwt-secret", "0123456789abcdef0123456789abcdef"];
            all.extend_from_slice(args);
            let settings = SettingsOnly::try_parse_from(all).unwrap().settings;
            let on = Config::resolve(settings).unwrap().server.builtin_pages();
            let _ = std::fs::remove_dir_all(&dir);
            on
        };
        assert!(resolve(&[]));
        assert!(resolve(&["--public-url", "https://api.example", "--app-url", "https://api.example/"]));
        assert!(!resolve(&["--app-url", "https://app.example"]));
        assert!(resolve(&["--app-url", "https://app.example", "--builtin-pages", "true"]));
        assert!(!resolve(&["--builtin-pages", "false"]));
    }

    #[test]
    fn metrics_listen_addr_empty_is_off_and_bad_names_the_setting() {
        let resolve = |value: &str| {
            let dir = tempfile_dir();
            let settings = SettingsOnly::try_parse_from([
                "tessera",
                "--data-dir",
                dir.to_str().unwrap(),
                "--jwt-secret",
                "0123456789abcdef0123456789abcdef",
                "--metrics-listen-addr",
                value,
            ])
            .unwrap()
            .settings;
            let resolved = Config::resolve(settings).map(|c| c.telemetry.metrics_listen_addr);
            let _ = std::fs::remove_dir_all(&dir);
            resolved
        };
        assert_eq!(resolve(" ").unwrap(), None);
        assert_eq!(resolve("127.0.0.1:9464").unwrap(), Some("127.0.0.1:9464".parse().unwrap()));
        assert!(resolve("localhost:9464").unwrap().is_some_and(|a| a.ip().is_loopback()));
        assert!(resolve("9464").unwrap_err().to_string().starts_with("METRICS_LISTEN_ADDR: `9464` is not an address"));
    }

    fn tempfile_dir() -> PathBuf {
        std::env::temp_dir().join(format!("tessera-config-{}", uuid::Uuid::new_v4().simple()))
    }

    #[test]
    fn webhook_settings_parse_and_are_checked() {
        let parsed = SettingsOnly::try_parse_from([
            "tessera",
            "--webhook-urls",
            "https://a.example/hook, http://127.0.0.1:9/x",
            "--webhook-events",
            "user.created, user.deleted",
        ])
        .unwrap()
        .settings;
        assert_eq!(parsed.webhooks.webhook_urls.0.len(), 2);
        assert_eq!(parsed.webhooks.webhook_events.0, vec!["user.created", "user.deleted"]);
        assert_eq!(parsed.webhooks.webhook_give_up_after, Duration::from_secs(3 * 86_400));
        assert_eq!(parsed.events.security_event_retention, Duration::from_secs(400 * 86_400));
        assert!(SettingsOnly::try_parse_from(["tessera", "--webhook-urls", "ftp://a.example/"]).is_err());
        assert!(SettingsOnly::try_parse_from(["tessera", "--webhook-urls", "not a url"]).is_err());
        // The reference secret of the Standard Webhooks test vectors.
        assert_eq!(parse_webhook_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap().len(), 24);
        assert!(parse_webhook_secret("whsec_not-base64!").is_err());
        assert!(parse_webhook_secret("whsec_c2hvcnQ=").is_err());
    }

    #[test]
    fn sections_parse_with_their_defaults() {
        let settings =
            SettingsOnly::try_parse_from(["tessera", "--cors-allowed-origins", "https://a.example/, https://b.example"]).unwrap().settings;
        assert_eq!(settings.http.cors_allowed_origins.0, vec!["https://a.example", "https://b.example"]);
        assert_eq!(settings.limits.signin_max_failures, 10);
        assert_eq!(settings.mail.mail_from.email.to_string(), "no-reply@localhost");
        assert!(SettingsOnly::try_parse_from(["tessera", "--max-query-complexity", "10"]).is_err());
        assert!(SettingsOnly::try_parse_from(["tessera", "--default-phone-region", "ZZZ"]).is_err());
    }

    fn oidc(providers: &str, env: &[(&str, &str)]) -> anyhow::Result<OidcConfig> {
        let settings =
            OidcSettings { oidc_providers: parse_list(providers).unwrap(), oauth_redirect_urls: List::default(), providers: vec![] };
        let env: std::collections::HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        settings.resolve(|name| env.get(name).cloned())
    }

    #[test]
    fn oidc_providers_are_read_from_their_own_variables() {
        let config = oidc(
            "google, corp2",
            &[
                ("OIDC_GOOGLE_ISSUER", "https://accounts.google.com/"),
                ("OIDC_GOOGLE_CLIENT_IDS", "web.apps, ios.apps"),
                ("OIDC_GOOGLE_CLIENT_SECRET", "s3cret"),
                ("OIDC_CORP2_ISSUER", "http://127.0.0.1:8081/realms/x"),
                ("OIDC_CORP2_CLIENT_IDS", "app"),
                ("OIDC_CORP2_DISPLAY_NAME", "Corp SSO"),
                ("OIDC_CORP2_SCOPES", "openid  email"),
            ],
        )
        .unwrap();
        let google = &config.providers[0];
        assert_eq!((google.name.as_str(), google.display_name.as_str()), ("google", "Google"));
        assert_eq!(google.issuer, "https://accounts.google.com", "without the trailing slash");
        assert_eq!(google.client_ids, vec!["web.apps", "ios.apps"]);
        assert_eq!(google.scopes, "openid email profile");
        assert!(matches!(&google.client_secret, Some(ClientSecret::Static(s)) if s.expose() == "s3cret"));
        assert!(!format!("{config:?}").contains("s3cret"), "the secret never prints");
        let corp = &config.providers[1];
        assert_eq!((corp.display_name.as_str(), corp.scopes.as_str()), ("Corp SSO", "openid email"));
        assert!(corp.client_secret.is_none());
    }

    #[test]
    fn oidc_settings_are_checked() {
        let issuer = ("OIDC_X_ISSUER", "https://id.example");
        let ids = ("OIDC_X_CLIENT_IDS", "a");
        assert!(oidc("x", &[issuer, ids]).is_ok());
        assert!(oidc("x", &[ids]).is_err(), "an issuer is required");
        assert!(oidc("x", &[issuer]).is_err(), "client ids are required");
        assert!(oidc("x", &[("OIDC_X_ISSUER", "http://id.example"), ids]).is_err(), "plain http only on loopback");
        assert!(oidc("x", &[("OIDC_X_ISSUER", "http://localhost:9000"), ids]).is_ok());
        assert!(oidc("Bad-Name", &[]).is_err());
        assert!(oidc("x,x", &[issuer, ids]).is_err(), "a name twice");
        assert!(oidc("x", &[issuer, ids, ("OIDC_X_SCOPES", "email")]).is_err(), "openid is required");
        assert!(oidc("x", &[issuer, ids, ("OIDC_X_TEAM_ID", "T")]).is_err(), "Apple's settings go together");
        let dir = tempfile_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("AuthKey.p8");
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n").unwrap();
        let apple =
            |file: &str| oidc("x", &[issuer, ids, ("OIDC_X_TEAM_ID", "TEAM"), ("OIDC_X_KEY_ID", "KEY"), ("OIDC_X_PRIVATE_KEY_FILE", file)]);
        assert!(apple(key.to_str().unwrap()).is_err(), "an unusable key is refused at start");
        assert!(apple("/nonexistent/AuthKey.p8").is_err());
        // A P-256 key made for this test, as Apple's .p8 files are.
        std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgdsW420wmcaPrlVsG\nAHdJ17vUxE1Ol/b9l1wy08PUBbKhRANCAAQCWA82e1W95FXKJqh/XkZ3/0iBXXr8\n6e0o3nlPwd79otVw1HMxfToKHeOAdgYvylbDbr/5Szrh6WqMxi8TrbpD\n-----END PRIVATE KEY-----\n").unwrap();
        let config = apple(key.to_str().unwrap()).unwrap();
        assert!(
            matches!(&config.providers[0].client_secret, Some(ClientSecret::AppleKey { team_id, key_id, .. }) if team_id == "TEAM" && key_id == "KEY")
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
