//! Every mail Tessera sends: a clear subject, a plain-text part and an HTML
//! part carrying the same words and links. Links point at the frontend
//! (APP_URL), never at whatever Host a request named.
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::entities::user;
use crate::mail::Mail;

/// Frontend page that confirms an email address: `APP_URL/confirm-email?token=…`.
pub const CONFIRM_EMAIL_PATH: &str = "confirm-email";
/// Frontend page that sets a new password: `APP_URL/reset-password?token=…`.
pub const RESET_PASSWORD_PATH: &str = "reset-password";

/// `APP_URL/<path>?token=<token>`; `app_url` has no trailing slash.
pub fn link(app_url: &str, path: &str, token: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    format!("{app_url}/{path}?token={token}")
}

/// The name a mail greets the user by: their display name, else their username.
pub fn greeting_name(user: &user::Model) -> Option<&str> {
    user.full_name.as_deref().or(user.username.as_deref()).filter(|n| !n.trim().is_empty())
}

/// Asks the owner of a new (or newly changed) address to confirm it.
pub fn email_confirmation(name: Option<&str>, link: &str, lifetime: Duration) -> Mail {
    let valid = human_duration(lifetime);
    let text = format!(
        "{greeting}\n\nPlease confirm that this is your email address by opening this link:\n\n{link}\n\n\
         The link works for {valid} and only once. If you did not sign up for Tessera or change your \
         address, you can ignore this mail.\n\n— Tessera\n",
        greeting = text_greeting(name),
    );
    let html = html_page(
        "Confirm your email address",
        &format!(
            "<p>{greeting}</p>\n<p>Please confirm that this is your email address.</p>\n{button}\n\
             <p>The link works for {valid} and only once. If you did not sign up for Tessera or change your \
             address, you can ignore this mail.</p>",
            greeting = html_greeting(name),
            button = html_button("Confirm my email address", link),
            valid = escape_html(&valid),
        ),
    );
    Mail { subject: "Confirm your email address for Tessera".into(), text, html }
}

/// A single-use link to choose a new password.
pub fn password_reset(name: Option<&str>, link: &str, lifetime: Duration) -> Mail {
    let valid = human_duration(lifetime);
    let text = format!(
        "{greeting}\n\nSomeone (we hope you) asked to reset the password of your Tessera account. \
         To choose a new password, open this link:\n\n{link}\n\n\
         The link works for {valid} and only once. If you did not ask for this, ignore this mail: \
         your password stays as it is.\n\n— Tessera\n",
        greeting = text_greeting(name),
    );
    let html = html_page(
        "Reset your password",
        &format!(
            "<p>{greeting}</p>\n<p>Someone (we hope you) asked to reset the password of your Tessera account.</p>\n\
             {button}\n<p>The link works for {valid} and only once. If you did not ask for this, ignore this mail: \
             your password stays as it is.</p>",
            greeting = html_greeting(name),
            button = html_button("Choose a new password", link),
            valid = escape_html(&valid),
        ),
    );
    Mail { subject: "Reset your Tessera password".into(), text, html }
}

/// How a password came to change, for the notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChange {
    /// With the current password, while signed in.
    Changed,
    /// With a link from a reset mail.
    Reset,
}

/// Tells the account's owner that its password changed, so that they notice
/// if it was not them.
pub fn password_changed(name: Option<&str>, how: PasswordChange, when: DateTime<Utc>, app_url: &str) -> Mail {
    let when = when.format("%Y-%m-%d %H:%M UTC").to_string();
    let (what, sessions) = match how {
        PasswordChange::Changed => ("changed", "Every other device was signed out."),
        PasswordChange::Reset => ("reset with a link from a password-reset mail", "Every device was signed out."),
    };
    let text = format!(
        "{greeting}\n\nThe password of your Tessera account was {what} on {when}. {sessions}\n\n\
         If this was you, there is nothing more to do.\n\n\
         If it was not you, someone else knows your password or can read your mail: ask for a password \
         reset at once on {app_url} and change the password of your mailbox too.\n\n— Tessera\n",
        greeting = text_greeting(name),
    );
    let html = html_page(
        "Your password was changed",
        &format!(
            "<p>{greeting}</p>\n<p>The password of your Tessera account was {what} on {when}. {sessions}</p>\n\
             <p>If this was you, there is nothing more to do.</p>\n\
             <p>If it was not you, someone else knows your password or can read your mail: ask for a password \
             reset at once on <a href=\"{href}\">{href}</a> and change the password of your mailbox too.</p>",
            greeting = html_greeting(name),
            what = escape_html(what),
            when = escape_html(&when),
            sessions = escape_html(sessions),
            href = escape_html(app_url),
        ),
    );
    Mail { subject: "Your Tessera password was changed".into(), text, html }
}

/// A security notice: what happened, when, and what to do if it was not the
/// account's owner. Both parts carry the same sentences.
fn notice(subject: &str, title: &str, name: Option<&str>, happened: &str, if_not_you: &str, app_url: &str) -> Mail {
    let text = format!(
        "{greeting}\n\n{happened}\n\nIf this was you, there is nothing more to do.\n\n\
         If it was not you, {if_not_you} Sign in at {app_url} and change your password at once.\n\n— Tessera\n",
        greeting = text_greeting(name),
    );
    let html = html_page(
        title,
        &format!(
            "<p>{greeting}</p>\n<p>{happened}</p>\n<p>If this was you, there is nothing more to do.</p>\n\
             <p>If it was not you, {if_not_you} Sign in at <a href=\"{href}\">{href}</a> and change your password at once.</p>",
            greeting = html_greeting(name),
            happened = escape_html(happened),
            if_not_you = escape_html(if_not_you),
            href = escape_html(app_url),
        ),
    );
    Mail { subject: subject.into(), text, html }
}

fn at(when: DateTime<Utc>) -> String {
    when.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Two-step sign-in (TOTP) was turned on.
pub fn mfa_enabled(name: Option<&str>, when: DateTime<Utc>, app_url: &str) -> Mail {
    notice(
        "Two-step sign-in is on for your Tessera account",
        "Two-step sign-in turned on",
        name,
        &format!(
            "Two-step sign-in was turned on for your Tessera account on {}: signing in now takes a code from your \
             authenticator app (or one of your recovery codes) besides your password. Every other device was signed out.",
            at(when)
        ),
        "someone else knows your password and can now lock you out.",
        app_url,
    )
}

/// Who turned two-step sign-in off, for the notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaOff {
    /// The user, with their password.
    ByUser,
    /// An administrator, who also removed the passkeys and signed every device out.
    ByAdmin,
}

/// Two-step sign-in was turned off.
pub fn mfa_disabled(name: Option<&str>, how: MfaOff, when: DateTime<Utc>, app_url: &str) -> Mail {
    let happened = match how {
        MfaOff::ByUser => format!(
            "Two-step sign-in was turned off for your Tessera account on {}: your password alone signs in again, \
             and your recovery codes no longer work.",
            at(when)
        ),
        MfaOff::ByAdmin => format!(
            "An administrator removed the second factors (authenticator app, recovery codes and passkeys) of your \
             Tessera account on {} and signed out every device: your password alone signs in again.",
            at(when)
        ),
    };
    notice(
        "Two-step sign-in was turned off for your Tessera account",
        "Two-step sign-in turned off",
        name,
        &happened,
        "someone else can sign in to your account.",
        app_url,
    )
}

/// A passkey was registered.
pub fn passkey_added(name: Option<&str>, passkey_name: &str, when: DateTime<Utc>, app_url: &str) -> Mail {
    notice(
        "A passkey was added to your Tessera account",
        "A passkey was added",
        name,
        &format!(
            "A passkey named \u{201c}{passkey_name}\u{201d} was added to your Tessera account on {}: it signs in without a password.",
            at(when)
        ),
        "someone else can sign in with that passkey: remove it from your account.",
        app_url,
    )
}

/// A recovery code was spent on a signin.
pub fn recovery_code_used(name: Option<&str>, left: u64, when: DateTime<Utc>, app_url: &str) -> Mail {
    let left_text = match left {
        0 => "You have no recovery codes left: make new ones now.".to_owned(),
        1 => "You have 1 recovery code left.".to_owned(),
        n => format!("You have {n} recovery codes left."),
    };
    notice(
        &format!("A recovery code was used to sign in to Tessera ({left} left)"),
        "A recovery code was used",
        name,
        &format!(
            "One of your recovery codes was used to sign in to your Tessera account on {}. Each code works once. {left_text}",
            at(when)
        ),
        "someone else has your password and your recovery codes.",
        app_url,
    )
}

fn text_greeting(name: Option<&str>) -> String {
    match name {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".into(),
    }
}

fn html_greeting(name: Option<&str>) -> String {
    escape_html(&text_greeting(name))
}

fn html_button(label: &str, link: &str) -> String {
    let href = escape_html(link);
    format!(
        "<p><a href=\"{href}\" style=\"display:inline-block;padding:10px 18px;background:#2f5bea;color:#ffffff;\
         text-decoration:none;border-radius:4px\">{label}</a></p>\n\
         <p style=\"font-size:13px;color:#555555\">Or copy this link into your browser:<br>{href}</p>",
        label = escape_html(label),
    )
}

fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family:sans-serif;line-height:1.5;color:#222222\">\n<h1 style=\"font-size:20px\">{title}</h1>\n\
         {body}\n<p>— Tessera</p>\n</body>\n</html>\n",
        title = escape_html(title),
    )
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// "48 hours", "1 hour", "30 minutes", "2 days".
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (count, unit) = if seconds >= 86_400 * 3 && seconds.is_multiple_of(86_400) {
        (seconds / 86_400, "day")
    } else if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        (seconds / 60, "minute")
    } else {
        (seconds.max(1), "second")
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

/// The links in a plain-text part (each on a line of its own in our templates).
pub fn links_in(text: &str) -> Vec<&str> {
    text.split_whitespace().filter(|w| w.starts_with("http://") || w.starts_with("https://")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_token_under_the_app_url() {
        assert_eq!(link("https://app.example", CONFIRM_EMAIL_PATH, "abc-_9"), "https://app.example/confirm-email?token=abc-_9");
        assert_eq!(link("https://app.example", RESET_PASSWORD_PATH, "a+b/c"), "https://app.example/reset-password?token=a%2Bb%2Fc");
    }

    #[test]
    fn both_parts_hold_the_link_and_names_are_escaped_in_html() {
        let url = "https://app.example/confirm-email?token=t0k&x=\"1\"";
        let mail = email_confirmation(Some("<b>Ada</b> & co"), url, Duration::from_secs(48 * 3600));
        assert!(mail.text.contains(url));
        assert!(mail.text.contains("Hello <b>Ada</b> & co,"));
        assert!(mail.text.contains("48 hours"));
        assert!(mail.html.contains("Hello &lt;b&gt;Ada&lt;/b&gt; &amp; co,"));
        assert!(!mail.html.contains("<b>Ada"));
        assert!(mail.html.contains("href=\"https://app.example/confirm-email?token=t0k&amp;x=&quot;1&quot;\""));
        assert_eq!(links_in(&mail.text), vec![url]);

        let reset = password_reset(None, "https://app.example/reset-password?token=r", Duration::from_secs(3600));
        assert!(reset.text.starts_with("Hello,\n"));
        assert!(reset.text.contains("1 hour") && reset.html.contains("1 hour"));
        assert!(reset.subject.contains("Reset"));
    }

    #[test]
    fn the_notice_says_what_happened_and_where_to_go() {
        let when = DateTime::parse_from_rfc3339("2026-11-24T10:30:00Z").unwrap().with_timezone(&Utc);
        let mail = password_changed(Some("Ada"), PasswordChange::Reset, when, "https://app.example");
        assert!(mail.text.contains("2026-11-24 10:30 UTC"));
        assert!(mail.text.contains("https://app.example"));
        assert!(mail.html.contains("Every device was signed out."));
        let changed = password_changed(None, PasswordChange::Changed, when, "https://app.example");
        assert!(changed.text.contains("Every other device was signed out."));
    }

    #[test]
    fn mfa_notices_say_what_happened_in_both_parts() {
        let when = DateTime::parse_from_rfc3339("2026-11-29T08:15:00Z").unwrap().with_timezone(&Utc);
        let on = mfa_enabled(Some("Ada"), when, "https://app.example");
        assert!(on.text.contains("2026-11-29 08:15 UTC") && on.html.contains("2026-11-29 08:15 UTC"));
        assert!(on.text.contains("https://app.example") && on.html.contains("href=\"https://app.example\""));
        let off = mfa_disabled(None, MfaOff::ByAdmin, when, "https://app.example");
        assert!(off.text.contains("An administrator"));
        let added = passkey_added(Some("Ada"), "<Work> laptop", when, "https://app.example");
        assert!(added.text.contains("<Work> laptop") && added.html.contains("&lt;Work&gt; laptop"));
        let used = recovery_code_used(None, 7, when, "https://app.example");
        assert!(used.subject.contains("7 left") && used.text.contains("You have 7 recovery codes left."));
        assert!(recovery_code_used(None, 0, when, "x").text.contains("no recovery codes left"));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_secs(48 * 3600)), "48 hours");
        assert_eq!(human_duration(Duration::from_secs(3600)), "1 hour");
        assert_eq!(human_duration(Duration::from_secs(30 * 60)), "30 minutes");
        assert_eq!(human_duration(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(human_duration(Duration::from_secs(90)), "90 seconds");
    }
}
