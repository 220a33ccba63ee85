//! A real SMTP server on loopback for the mail tests: mailin's SMTP protocol
//! engine behind a tokio listener, so that a test can stop it (connections
//! are then refused, as in an outage) and start it again on the same port,
//! and read every message it accepted.
#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailin::response::{AUTH_OK, INVALID_CREDENTIALS, OK};
use mailin::{Action, AuthMechanism, Handler, Response, SessionBuilder};
use mailparse::MailHeaderMap;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// How long a test waits for mail before failing.
pub const MAIL_WAIT: Duration = Duration::from_secs(15);

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub envelope_to: Vec<String>,
    pub raw: Vec<u8>,
}

/// A received message, decoded.
#[derive(Debug, Clone)]
pub struct Email {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub html: String,
}

impl Email {
    pub fn parse(raw: &[u8]) -> Email {
        let parsed = mailparse::parse_mail(raw).expect("a MIME message");
        let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
        let mut text = String::new();
        let mut html = String::new();
        for part in parsed.parts() {
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = part.get_body().expect("a decodable text part"),
                "text/html" => html = part.get_body().expect("a decodable HTML part"),
                _ => {}
            }
        }
        Email { to: header("To"), from: header("From"), subject: header("Subject"), message_id: header("Message-ID"), text, html }
    }

    /// The first link in the text part to `APP_URL/<path>`.
    pub fn link(&self, app_url: &str, path: &str) -> String {
        let prefix = format!("{app_url}/{path}?token=");
        self.text
            .split_whitespace()
            .find(|w| w.starts_with(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} link in the mail: {}", self.text))
            .to_owned()
    }

    /// The token of the first `APP_URL/<path>?token=` link, checked to be in the HTML part too.
    pub fn token(&self, app_url: &str, path: &str) -> String {
        let link = self.link(app_url, path);
        assert!(self.html.contains(&format!("href=\"{link}\"")), "the HTML part links to {link}: {}", self.html);
        link.split_once("?token=").unwrap().1.to_owned()
    }
}

#[derive(Clone)]
struct Recorder {
    inbox: Arc<Mutex<Vec<Received>>>,
    credentials: Option<(String, String)>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Recorder {
    fn data_start(&mut self, _domain: &str, _from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = Received { envelope_to: std::mem::take(&mut self.to), raw: std::mem::take(&mut self.data) };
        self.inbox.lock().unwrap().push(message);
        OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        match &self.credentials {
            Some((user, pass)) if user == authentication_id && pass == password => AUTH_OK,
            _ => INVALID_CREDENTIALS,
        }
    }
}

pub struct SmtpServer {
    port: u16,
    inbox: Arc<Mutex<Vec<Received>>>,
    /// Whether mail gets through; while false the port stays ours but every
    /// connection is closed at once, like a server that is down (and no
    /// other test's listener can take the port meanwhile).
    up: Arc<AtomicBool>,
    changed: Arc<Notify>,
    /// While true, a message is recorded but its final "250 OK" never sent:
    /// the sender cannot know the mail arrived (a crash would come now).
    hold: Arc<AtomicBool>,
    _listening: JoinHandle<()>,
}

impl SmtpServer {
    /// Starts on a free loopback port.
    pub async fn start() -> SmtpServer {
        Self::start_with(None, true).await
    }

    /// Starts on a free loopback port, accepting mail only after AUTH PLAIN with these credentials.
    pub async fn start_with_credentials(user: &str, password: &str) -> SmtpServer {
        Self::start_with(Some((user.to_owned(), password.to_owned())), true).await
    }

    /// A port whose server is down (for a test that starts with SMTP down).
    pub async fn reserve() -> SmtpServer {
        Self::start_with(None, false).await
    }

    async fn start_with(credentials: Option<(String, String)>, up: bool) -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let inbox: Arc<Mutex<Vec<Received>>> = Default::default();
        let (up, changed) = (Arc::new(AtomicBool::new(up)), Arc::new(Notify::new()));
        let hold = Arc::new(AtomicBool::new(false));
        let listening = tokio::spawn(serve(listener, inbox.clone(), credentials, up.clone(), changed.clone(), hold.clone()));
        SmtpServer { port, inbox, up, changed, hold, _listening: listening }
    }

    /// From now on, records each message but never answers its end of data.
    pub fn hold_answers(&self) {
        self.hold.store(true, Ordering::SeqCst);
    }

    /// Answers again (connections held so far stay unanswered).
    pub fn release_answers(&self) {
        self.hold.store(false, Ordering::SeqCst);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// SMTP_URL for this server: plain `smtp://`, which Tessera upgrades with
    /// STARTTLS only when offered (this server does not offer it).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Ends every open connection and refuses new ones: mail cannot get through.
    pub fn stop(&mut self) {
        self.up.store(false, Ordering::SeqCst);
        self.changed.notify_one();
    }

    /// Takes mail again.
    pub async fn resume(&mut self) {
        assert!(!self.up.swap(true, Ordering::SeqCst), "already running");
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// The messages received so far for `to`.
    pub fn mail_to(&self, to: &str) -> Vec<Email> {
        self.received()
            .into_iter()
            .filter(|m| m.envelope_to.iter().any(|t| t.eq_ignore_ascii_case(to)))
            .map(|m| Email::parse(&m.raw))
            .collect()
    }

    /// Waits (at most MAIL_WAIT) until `count` messages for `to` have arrived; returns them, oldest first.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Email> {
        let deadline = Instant::now() + MAIL_WAIT;
        loop {
            let mail = self.mail_to(to);
            if mail.len() >= count {
                return mail;
            }
            assert!(Instant::now() < deadline, "{count} mail(s) to {to} did not arrive within {MAIL_WAIT:?}; got {}", mail.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the `n`-th (1-based) message to `to`.
    pub async fn nth(&self, to: &str, n: usize) -> Email {
        self.wait_for(to, n).await.swap_remove(n - 1)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One SMTP conversation: lines in, mailin's answers out.
async fn session(stream: TcpStream, peer: IpAddr, handler: Recorder, hold: Arc<AtomicBool>) {
    let inbox = handler.inbox.clone();
    let mut builder = SessionBuilder::new("tessera-test-smtp");
    if handler.credentials.is_some() {
        builder.enable_auth(AuthMechanism::Plain).insecure_enable_plaintext_auth();
    }
    let mut session = builder.build(peer, handler);
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    if reply(&mut writer, &session.greeting()).await.is_err() {
        return;
    }
    let mut line = Vec::with_capacity(512);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let before = inbox.lock().unwrap().len();
        let response = session.process(&line);
        if hold.load(Ordering::SeqCst) && inbox.lock().unwrap().len() > before {
            // The message is in; its answer never comes. Wait for the sender to go.
            loop {
                line.clear();
                if matches!(reader.read_until(b'\n', &mut line).await, Ok(0) | Err(_)) {
                    return;
                }
            }
        }
        match response.action {
            Action::Reply => {
                if reply(&mut writer, &response).await.is_err() {
                    return;
                }
            }
            Action::Close => {
                let _ = reply(&mut writer, &response).await;
                return;
            }
            // STARTTLS is never offered.
            Action::UpgradeTls => return,
            Action::NoReply => {}
        }
    }
}

async fn reply(writer: &mut tokio::net::tcp::OwnedWriteHalf, response: &Response) -> std::io::Result<()> {
    writer.write_all(&response.buffer()?).await?;
    writer.flush().await
}

/// Waits (at most MAIL_WAIT) until `check` holds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + MAIL_WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {MAIL_WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Accepts connections on `listener`: an SMTP session each while `up`, closed
/// at once while not. Going down ends the open sessions too.
async fn serve(
    listener: TcpListener,
    inbox: Arc<Mutex<Vec<Received>>>,
    credentials: Option<(String, String)>,
    up: Arc<AtomicBool>,
    changed: Arc<Notify>,
    hold: Arc<AtomicBool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                if up.load(Ordering::SeqCst) {
                    let handler = Recorder { inbox: inbox.clone(), credentials: credentials.clone(), to: vec![], data: vec![] };
                    connections.spawn(session(stream, peer.ip(), handler, hold.clone()));
                } else {
                    drop(stream);
                }
            }
            _ = changed.notified() => {
                if !up.load(Ordering::SeqCst) {
                    connections.abort_all();
                }
            }
        }
        while connections.try_join_next().is_some() {}
    }
}
