//! A webhook receiver for the tests: tests/py/webhook_receiver.py, which
//! verifies every request with the `standardwebhooks` library (PyPI).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A signing secret in the Standard Webhooks form (the specification's test vector key).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// How long a test waits for deliveries.
pub const WAIT: Duration = Duration::from_secs(20);

pub struct Receiver {
    child: Option<Child>,
    pub port: u16,
    client: reqwest::Client,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

fn launch(port: u16) -> (Child, u16) {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/webhook_receiver.py");
    let mut child = Command::new(&python)
        .args([script, "--secret", SECRET, "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{python}` ({e}): the webhook tests need Python 3 with `pip install standardwebhooks==1.1.0` (.ci/run installs it)"));
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let Some(port) = line.trim().strip_prefix("LISTENING ").and_then(|p| p.parse().ok()) else {
        let _ = child.wait();
        let mut error = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut error).ok();
        panic!("the webhook receiver did not start: {error}");
    };
    (child, port)
}

impl Receiver {
    /// A receiver on a free port.
    pub fn start() -> Receiver {
        let (child, port) = launch(0);
        Receiver { child: Some(child), port, client: reqwest::Client::new() }
    }

    /// Where Tessera should POST.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// Goes down: connections to its port are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Comes back on the same port, with nothing received yet.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "the receiver is running");
        let (child, port) = launch(self.port);
        assert_eq!(port, self.port);
        self.child = Some(child);
    }

    /// Every request received so far, oldest first.
    pub async fn received(&self) -> Vec<Value> {
        let response = self.client.get(format!("http://127.0.0.1:{}/received", self.port)).send().await.expect("the receiver answers");
        response.json().await.unwrap()
    }

    /// Waits until at least `count` requests arrived; returns them all.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let received = self.received().await;
            if received.len() >= count {
                return received;
            }
            assert!(Instant::now() < deadline, "{} of {count} webhooks arrived within {WAIT:?}: {received:#?}", received.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Answers every POST from now on with `status` (and a Location), or as usual with None.
    pub async fn answer_with(&self, status: Option<u16>, location: Option<&str>) {
        let response = self
            .client
            .put(format!("http://127.0.0.1:{}/answer", self.port))
            .json(&json!({ "status": status, "location": location }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
}

/// The event type of a received webhook, from its verified body.
pub fn event_type(received: &Value) -> &str {
    received["payload"]["type"].as_str().unwrap_or("")
}

/// Waits (at most WAIT) until `check` gives a value; returns it.
pub async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Received webhooks in the order their events happened (deliveries run in
/// parallel, so they may arrive in another order).
pub fn by_event_time(mut received: Vec<Value>) -> Vec<Value> {
    received.sort_by(|a, b| a["payload"]["timestamp"].as_str().cmp(&b["payload"]["timestamp"].as_str()));
    received
}
