//! A panic under LOG_FORMAT=json: one JSON line carrying the request id of
//! the span it happened in, instead of the default hook's text. Its own test
//! binary, because the subscriber and the panic hook are process-wide.
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tessera::telemetry::logging::{install_panic_hook, JsonLayer};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[test]
fn a_panic_is_one_json_line_with_the_request_id_of_its_span() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(JsonLayer::new(capture.clone()))).unwrap();
    install_panic_hook();
    let worker = std::thread::Builder::new()
        .name("request-worker".into())
        .spawn(|| {
            let span = tracing::info_span!("request", method = "POST", request_id = "req-panic-1");
            let _inside = span.enter();
            let items: Vec<u32> = Vec::new();
            let index = items.len() + 3;
            panic!("index {index} is out of range");
        })
        .unwrap();
    assert!(worker.join().is_err(), "the thread panicked");

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert_eq!(lines.len(), 1, "{text}");
    let line = &lines[0];
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["target"], "panic");
    assert_eq!(line["message"], "panic: index 3 is out of range");
    assert_eq!(line["request_id"], "req-panic-1");
    assert_eq!(line["fields"]["thread"], "request-worker");
    assert!(line["fields"]["location"].as_str().unwrap().starts_with("tests/logs.rs:"), "{line}");
    assert!(line["timestamp"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()), "{line}");
    assert_eq!(line["spans"][0]["method"], "POST");
}
