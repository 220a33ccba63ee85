//! The WebAuthn relying party that passkeys are made for and checked
//! against: its id (a domain every credential is bound to) and the page
//! origins allowed to use it.
//!
//! WEBAUTHN_RP_ID defaults to the host of APP_URL, and WEBAUTHN_ORIGINS to
//! the origins of APP_URL and PUBLIC_URL whose host fits that id. Browsers
//! treat `http://localhost:PORT` as a secure context but refuse IP
//! addresses as relying-party ids, so a loopback APP_URL (the development
//! default) gives the id `localhost` and `http://localhost:PORT` origins.
use anyhow::{bail, Context};
use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::config::Config;

/// How long a browser may take for a ceremony; the ceremony row lives as long.
pub const CEREMONY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The relying party as configured, or why passkeys are off.
pub enum RelyingParty {
    Ready {
        webauthn: Box<Webauthn>,
        id: String,
        origins: Vec<Url>,
    },
    /// The defaults give no usable id (an APP_URL on an IP address) and none was set.
    Off {
        reason: String,
    },
}

/// Whether `host` is `id` or one of its subdomains.
fn fits(host: &str, id: &str) -> bool {
    host == id || host.ends_with(&format!(".{id}"))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `url`'s origin, with a loopback IP written as `localhost`.
fn origin_of(url: &Url) -> Option<Url> {
    let mut origin = Url::parse(&url.origin().ascii_serialization()).ok()?;
    if origin.host_str().is_some_and(is_loopback) {
        origin.set_host(Some("localhost")).ok()?;
    }
    Some(origin)
}

impl RelyingParty {
    /// Builds it from the settings; explicit settings that cannot work are an
    /// error at start, derived ones that cannot work turn passkeys off.
    pub fn from_config(config: &Config) -> anyhow::Result<RelyingParty> {
        let mfa = &config.mfa;
        let app_url = Url::parse(&config.server.app_url()).context("APP_URL is not a URL")?;
        let public_url = Url::parse(&config.server.public_url()).context("PUBLIC_URL is not a URL")?;
        let id = match &mfa.webauthn_rp_id {
            Some(id) => id.clone(),
            None => match app_url.host_str() {
                Some(host) if is_loopback(host) => "localhost".to_owned(),
                Some(host) if host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_err() => {
                    host.to_lowercase()
                }
                _ => {
                    let reason =
                        format!("APP_URL ({app_url}) has no domain name to bind passkeys to: set WEBAUTHN_RP_ID (and WEBAUTHN_ORIGINS)");
                    tracing::warn!("passkeys are off: {reason}");
                    return Ok(RelyingParty::Off { reason });
                }
            },
        };
        let origins: Vec<Url> = if mfa.webauthn_origins.is_empty() {
            let mut derived: Vec<Url> = Vec::new();
            for url in [&app_url, &public_url] {
                if let Some(origin) = origin_of(url).filter(|o| o.host_str().is_some_and(|h| fits(h, &id))) {
                    if !derived.contains(&origin) {
                        derived.push(origin);
                    }
                }
            }
            if derived.is_empty() {
                let reason = format!("neither APP_URL nor PUBLIC_URL is an origin of the relying party `{id}`: set WEBAUTHN_ORIGINS");
                tracing::warn!("passkeys are off: {reason}");
                return Ok(RelyingParty::Off { reason });
            }
            derived
        } else {
            for origin in &mfa.webauthn_origins {
                if !origin.host_str().is_some_and(|h| fits(h, &id)) {
                    bail!("WEBAUTHN_ORIGINS: {origin} is not on the relying party's domain `{id}` (WEBAUTHN_RP_ID)");
                }
            }
            mfa.webauthn_origins.clone()
        };
        let mut builder = WebauthnBuilder::new(&id, &origins[0])
            .with_context(|| format!("WEBAUTHN_RP_ID `{id}` does not fit the origin {}", origins[0]))?
            .rp_name(&mfa.webauthn_rp_name)
            .timeout(CEREMONY_TIMEOUT);
        for origin in &origins[1..] {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder.build().context("building the WebAuthn relying party")?;
        Ok(RelyingParty::Ready { webauthn: Box::new(webauthn), id, origins })
    }

    pub fn webauthn(&self) -> Option<&Webauthn> {
        match self {
            RelyingParty::Ready { webauthn, .. } => Some(webauthn),
            RelyingParty::Off { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn party(change: impl FnOnce(&mut crate::config::Settings)) -> anyhow::Result<RelyingParty> {
        let dir = tempfile_dir();
        let mut settings = crate::config::Settings::defaults();
        settings.server.data_dir = dir.clone();
        settings.tokens.jwt_secret = Some(crate::config::Secret::new("x".repeat(40)));
        settings.server.public_url = None;
        settings.server.app_url = None;
        settings.mfa.webauthn_rp_id = None;
        settings.mfa.webauthn_origins = Default::default();
        change(&mut settings);
        let config = Config::resolve(settings)?;
        let built = RelyingParty::from_config(&config);
        let _ = std::fs::remove_dir_all(dir);
        built
    }

    fn tempfile_dir() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("tessera-rp-{}", uuid::Uuid::new_v4()))
    }

    fn origins(party: &RelyingParty) -> (String, Vec<String>) {
        match party {
            RelyingParty::Ready { id, origins, .. } => (id.clone(), origins.iter().map(|o| o.as_str().to_owned()).collect()),
            RelyingParty::Off { reason } => panic!("off: {reason}"),
        }
    }

    #[test]
    fn a_loopback_app_url_gives_localhost() {
        let built = party(|s| s.server.listen_addr = "127.0.0.1:8080".parse().unwrap()).unwrap();
        assert_eq!(origins(&built), ("localhost".into(), vec!["http://localhost:8080/".into()]));
    }

    #[test]
    fn the_app_url_gives_the_id_and_both_urls_the_origins() {
        let built = party(|s| {
            s.server.app_url = Some("https://app.example.com/".into());
            s.server.public_url = Some("https://api.example.com".into());
            s.mfa.webauthn_rp_id = Some("example.com".into());
        })
        .unwrap();
        assert_eq!(origins(&built), ("example.com".into(), vec!["https://app.example.com/".into(), "https://api.example.com/".into()]));
        let derived = party(|s| s.server.app_url = Some("https://app.example.com".into())).unwrap();
        assert_eq!(origins(&derived), ("app.example.com".into(), vec!["https://app.example.com/".into()]));
    }

    #[test]
    fn explicit_settings_that_cannot_work_stop_the_start() {
        let wrong_domain = party(|s| {
            s.mfa.webauthn_rp_id = Some("example.com".into());
            s.mfa.webauthn_origins = crate::config::Origins(vec!["https://evil.test".into()]);
        });
        assert!(wrong_domain.err().unwrap().to_string().contains("WEBAUTHN_ORIGINS"));
        let off = party(|s| s.server.app_url = Some("http://192.168.1.5:8080".into())).unwrap();
        assert!(matches!(off, RelyingParty::Off { .. }));
    }
}
