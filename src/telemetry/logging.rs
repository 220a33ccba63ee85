//! Log lines. `text`: tracing's usual format, coloured only when stdout is
//! a terminal (and NO_COLOR is unset). `json`: every line is one JSON object
//! with `timestamp`, `level`, `target`, `request_id` (null outside a
//! request), `message`, `fields` and the enclosing `spans`; a panic becomes
//! such a line too instead of the usual text on stderr.
use std::io::{IsTerminal, Write};

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{span, Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// RUST_LOG when it is unset.
pub const DEFAULT_FILTER: &str = "tessera=info,tower_http=warn,sea_orm=warn,sqlx=warn";

fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| DEFAULT_FILTER.into())
}

/// Installs the process's subscriber (once; later calls do nothing).
pub fn init(format: LogFormat) {
    match format {
        LogFormat::Text => {
            let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let _ = tracing_subscriber::registry().with(filter()).with(tracing_subscriber::fmt::layer().with_ansi(colour)).try_init();
        }
        LogFormat::Json => {
            let _ = tracing_subscriber::registry().with(filter()).with(JsonLayer::new(std::io::stdout)).try_init();
            install_panic_hook();
        }
    }
}

/// Whether the command line or the environment asks for JSON logs, for the
/// moment before the settings are parsed (so that a bad setting is
/// reported as a JSON line too).
pub fn json_requested(args: &[std::ffi::OsString]) -> bool {
    let flag = args.windows(2).any(|w| w[0] == "--log-format" && w[1] == "json") || args.iter().any(|a| a == "--log-format=json");
    flag || std::env::var("LOG_FORMAT").is_ok_and(|v| v.trim().eq_ignore_ascii_case("json"))
}

/// A panic becomes one ERROR line (target `panic`) in the request's span,
/// instead of the default hook's text on stderr.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a text message".to_owned());
        let location = info.location().map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column())).unwrap_or_default();
        let thread = std::thread::current();
        let backtrace = std::backtrace::Backtrace::capture();
        let backtrace = match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => backtrace.to_string(),
            _ => String::new(),
        };
        tracing::error!(
            target: "panic",
            location = %location,
            thread = thread.name().unwrap_or("<unnamed>"),
            backtrace = %backtrace,
            "panic: {message}"
        );
    }));
}

/// Span fields, kept for the JSON lines of the events inside the span.
struct SpanFields(Map<String, Value>);

/// Writes each event as one JSON line to `make_writer` (stdout in the server).
pub struct JsonLayer<W> {
    make_writer: W,
}

impl<W> JsonLayer<W> {
    pub fn new(make_writer: W) -> Self {
        JsonLayer { make_writer }
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            if let Some(SpanFields(fields)) = span.extensions_mut().get_mut::<SpanFields>() {
                values.record(&mut JsonVisitor(fields));
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = json_line(event, &ctx);
        line.push('\n');
        // One write per line, so that lines from several threads never interleave.
        let _ = self.make_writer.make_writer_for(event.metadata()).write_all(line.as_bytes());
    }
}

fn json_line<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> String
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let metadata = event.metadata();
    let mut fields = Map::new();
    event.record(&mut JsonVisitor(&mut fields));
    let message = fields.remove("message").unwrap_or_else(|| Value::String(String::new()));
    let mut request_id = Value::Null;
    let mut spans = Vec::new();
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope.from_root() {
            let mut entry = Map::new();
            entry.insert("name".into(), span.name().into());
            if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                // The innermost span that has one wins (they agree anyway).
                if let Some(id) = span_fields.get("request_id") {
                    request_id = id.clone();
                }
                entry.extend(span_fields.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            spans.push(Value::Object(entry));
        }
    }
    let mut line = Map::new();
    line.insert("timestamp".into(), Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true).into());
    line.insert("level".into(), metadata.level().as_str().into());
    line.insert("target".into(), metadata.target().into());
    line.insert("request_id".into(), request_id);
    line.insert("message".into(), message);
    line.insert("fields".into(), Value::Object(fields));
    if !spans.is_empty() {
        line.insert("spans".into(), Value::Array(spans));
    }
    Value::Object(line).to_string()
}

/// Field values as JSON: numbers and booleans as such, the rest as text.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), serde_json::Number::from_f64(value).map(Value::Number).unwrap_or(Value::Null));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0.insert(field.name().into(), value.to_string().into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}
