//! Prometheus metrics, recorded through handles this application owns (no
//! global recorder, so several servers in one process, as in the tests,
//! keep their own counts). When METRICS_LISTEN_ADDR is unset every handle
//! is a no-op and nothing is registered.
//!
//! Label values are always `&'static str`s or names taken from the schema
//! itself, never text a client sent, so the number of series is bounded.
//! The hot path takes a handle from a small map under a read lock and bumps
//! an atomic: no allocation once a series exists.
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// Latency buckets, in seconds: from a cached read to a slow argon2 signin.
const BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// How a signin ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigninOutcome {
    Success,
    /// The first factor was right; a second one is owed (an MFA challenge).
    SecondFactorOwed,
    InvalidCredentials,
    /// Refused by the per-account lockout.
    Locked,
    Inactive,
    Suspended,
}

impl SigninOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            SigninOutcome::Success => "success",
            SigninOutcome::SecondFactorOwed => "second_factor_owed",
            SigninOutcome::InvalidCredentials => "invalid_credentials",
            SigninOutcome::Locked => "locked",
            SigninOutcome::Inactive => "inactive",
            SigninOutcome::Suspended => "suspended",
        }
    }
}

/// The metrics of one application. Cheap to clone.
#[derive(Clone, Default)]
pub struct Metrics(Option<Arc<Registry>>);

struct Registry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    http: Family<(&'static str, u16), (Counter, Histogram)>,
    graphql: OnceLock<GraphqlFields>,
    graphql_handles: Family<(usize, bool), Counter>,
    signins: Family<SigninOutcome, Counter>,
    rate_limited: Family<&'static str, Counter>,
    mail_sent: Counter,
    mail_failures: Counter,
    mail_depth: Gauge,
    mail_oldest_age: Gauge,
    mail_given_up: Gauge,
    pool_in_use: Gauge,
    pool_idle: Gauge,
    pool_max: Gauge,
    pool_saturated: Counter,
}

/// Series created on first use and kept: a read lock and a clone of an
/// `Arc` per record once they exist.
struct Family<K, H> {
    handles: RwLock<HashMap<K, H>>,
}

impl<K: Eq + Hash + Copy, H: Clone> Family<K, H> {
    fn new() -> Self {
        Family { handles: RwLock::new(HashMap::new()) }
    }

    fn get(&self, key: K, make: impl FnOnce() -> H) -> H {
        if let Some(handle) = self.handles.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return handle.clone();
        }
        self.handles.write().unwrap_or_else(|e| e.into_inner()).entry(key).or_insert_with(make).clone()
    }
}

/// The schema's own root field names, for labels: an operation's field is
/// looked up here, and only a name found here becomes a label.
struct GraphqlFields {
    /// [query fields, mutation fields]: name -> position in `fields`.
    index: [HashMap<String, usize>; 2],
    /// (operation type, field name, duration histogram) by index.
    fields: Vec<(&'static str, SharedString, Histogram)>,
}

static METADATA: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

impl Metrics {
    /// Records nothing.
    pub fn disabled() -> Metrics {
        Metrics(None)
    }

    /// A fresh registry with every metric described.
    pub fn enabled() -> Metrics {
        let recorder = PrometheusBuilder::new().set_buckets(BUCKETS).expect("the buckets are not empty").build_recorder();
        let handle = recorder.handle();
        describe(&recorder);
        let gauge = |name: &'static str, labels: Vec<Label>| recorder.register_gauge(&Key::from_parts(name, labels), &METADATA);
        let counter = |name: &'static str| recorder.register_counter(&Key::from_name(name), &METADATA);
        let registry = Registry {
            http: Family::new(),
            graphql: OnceLock::new(),
            graphql_handles: Family::new(),
            signins: Family::new(),
            rate_limited: Family::new(),
            mail_sent: counter("mail_sent_total"),
            mail_failures: counter("mail_send_failures_total"),
            mail_depth: gauge("mail_outbox_depth", vec![]),
            mail_oldest_age: gauge("mail_outbox_oldest_age_seconds", vec![]),
            mail_given_up: gauge("mail_outbox_given_up", vec![]),
            pool_in_use: gauge("db_pool_connections", vec![Label::from_static_parts("state", "in_use")]),
            pool_idle: gauge("db_pool_connections", vec![Label::from_static_parts("state", "idle")]),
            pool_max: gauge("db_pool_max_connections", vec![]),
            pool_saturated: counter("db_pool_saturated_milliseconds_total"),
            recorder,
            handle,
        };
        Metrics(Some(Arc::new(registry)))
    }

    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// The text exposition format, or None when metrics are off.
    pub fn render(&self) -> Option<String> {
        self.0.as_ref().map(|r| r.handle.render())
    }

    /// Drains histogram samples into their buckets; run now and then.
    pub fn upkeep(&self) {
        if let Some(registry) = &self.0 {
            registry.handle.run_upkeep();
        }
    }

    /// One HTTP answer. `route` is the router's pattern (`/media/{key}`), never the path asked for.
    pub fn http_request(&self, route: &'static str, status: u16, elapsed: Duration) {
        let Some(r) = &self.0 else { return };
        let (count, latency) = r.http.get((route, status), || {
            let route_label = Label::from_static_parts("route", route);
            let counter = r.recorder.register_counter(
                &Key::from_parts("http_requests_total", vec![route_label.clone(), Label::new("status", status.to_string())]),
                &METADATA,
            );
            let histogram = r.recorder.register_histogram(&Key::from_parts("http_request_duration_seconds", vec![route_label]), &METADATA);
            (counter, histogram)
        });
        count.increment(1);
        latency.record(elapsed.as_secs_f64());
    }

    /// Learns the schema's root fields (from its SDL); before this, GraphQL
    /// operations are not counted.
    pub fn set_graphql_fields(&self, query_fields: &[String], mutation_fields: &[String]) {
        let Some(r) = &self.0 else { return };
        let mut index = [HashMap::new(), HashMap::new()];
        let mut fields = Vec::new();
        for (is_mutation, names) in [(false, query_fields), (true, mutation_fields)] {
            let kind = if is_mutation { "mutation" } else { "query" };
            for name in names {
                let label: SharedString = name.clone().into();
                let histogram = r.recorder.register_histogram(
                    &Key::from_parts(
                        "graphql_operation_duration_seconds",
                        vec![Label::from_static_parts("type", kind), Label::new("field", label.clone())],
                    ),
                    &METADATA,
                );
                index[usize::from(is_mutation)].insert(name.clone(), fields.len());
                fields.push((kind, label, histogram));
            }
        }
        let _ = r.graphql.set(GraphqlFields { index, fields });
    }

    /// One top-level field of an operation ran. Fields the schema does not
    /// have (which validation refuses anyway) are not counted.
    pub fn graphql_field(&self, is_mutation: bool, field: &str, ok: bool, elapsed: Duration) {
        let Some(r) = &self.0 else { return };
        let Some(known) = r.graphql.get() else { return };
        let Some(&at) = known.index[usize::from(is_mutation)].get(field) else { return };
        let (kind, label, histogram) = &known.fields[at];
        let count = r.graphql_handles.get((at, ok), || {
            let outcome = if ok { "ok" } else { "error" };
            r.recorder.register_counter(
                &Key::from_parts(
                    "graphql_operations_total",
                    vec![
                        Label::from_static_parts("type", kind),
                        Label::new("field", label.clone()),
                        Label::from_static_parts("outcome", outcome),
                    ],
                ),
                &METADATA,
            )
        });
        count.increment(1);
        histogram.record(elapsed.as_secs_f64());
    }

    pub fn signin(&self, outcome: SigninOutcome) {
        let Some(r) = &self.0 else { return };
        r.signins
            .get(outcome, || {
                r.recorder.register_counter(
                    &Key::from_parts("signins_total", vec![Label::from_static_parts("outcome", outcome.as_str())]),
                    &METADATA,
                )
            })
            .increment(1);
    }

    /// A request refused (or a mail not sent) by a rate limit of this `kind`.
    pub fn rate_limited(&self, kind: &'static str) {
        let Some(r) = &self.0 else { return };
        r.rate_limited
            .get(kind, || {
                r.recorder.register_counter(
                    &Key::from_parts("rate_limit_refusals_total", vec![Label::from_static_parts("kind", kind)]),
                    &METADATA,
                )
            })
            .increment(1);
    }

    pub fn mail_sent(&self) {
        if let Some(r) = &self.0 {
            r.mail_sent.increment(1);
        }
    }

    pub fn mail_send_failed(&self) {
        if let Some(r) = &self.0 {
            r.mail_failures.increment(1);
        }
    }

    /// The outbox as every instance sees it (read from the database at scrape time).
    pub fn set_outbox(&self, queued: u64, oldest_age: Duration, given_up: u64) {
        if let Some(r) = &self.0 {
            r.mail_depth.set(queued as f64);
            r.mail_oldest_age.set(oldest_age.as_secs_f64());
            r.mail_given_up.set(given_up as f64);
        }
    }

    /// This instance's connection pool.
    pub fn set_pool(&self, in_use: u32, idle: u32, max: u32) {
        if let Some(r) = &self.0 {
            r.pool_in_use.set(f64::from(in_use));
            r.pool_idle.set(f64::from(idle));
            r.pool_max.set(f64::from(max));
        }
    }

    /// Adds `interval` to the time the pool had no connection left, when it had none.
    pub fn pool_sample(&self, in_use: u32, max: u32, interval: Duration) {
        if let Some(r) = &self.0 {
            if in_use >= max {
                r.pool_saturated.increment(interval.as_millis() as u64);
            }
        }
    }
}

fn describe(recorder: &PrometheusRecorder) {
    let counter =
        |name: &'static str, unit: Option<Unit>, help: &'static str| recorder.describe_counter(KeyName::from(name), unit, help.into());
    let gauge =
        |name: &'static str, unit: Option<Unit>, help: &'static str| recorder.describe_gauge(KeyName::from(name), unit, help.into());
    let histogram =
        |name: &'static str, unit: Option<Unit>, help: &'static str| recorder.describe_histogram(KeyName::from(name), unit, help.into());
    counter("http_requests_total", None, "HTTP answers by route pattern and status");
    histogram("http_request_duration_seconds", Some(Unit::Seconds), "Time to answer an HTTP request, by route pattern");
    counter("graphql_operations_total", None, "Top-level fields run, by operation type, field and outcome (error: a top-level error)");
    histogram("graphql_operation_duration_seconds", Some(Unit::Seconds), "Time to resolve a top-level field, by operation type and field");
    counter("signins_total", None, "Signin attempts by outcome");
    counter("rate_limit_refusals_total", None, "Requests refused (or mails not sent) by a rate limit, by kind");
    counter("mail_sent_total", None, "Mails this instance handed to SMTP (or wrote to a file)");
    counter("mail_send_failures_total", None, "Failed tries to send a mail from this instance (it is retried or given up on)");
    gauge("mail_outbox_depth", None, "Mails queued and not yet sent (all instances)");
    gauge("mail_outbox_oldest_age_seconds", Some(Unit::Seconds), "Age of the oldest queued mail; 0 when none waits");
    gauge("mail_outbox_given_up", None, "Mails given up on (status failed) in the outbox");
    gauge("db_pool_connections", None, "This instance's database connections by state (in_use, idle)");
    gauge("db_pool_max_connections", None, "Largest size of this instance's database pool (DATABASE_MAX_CONNECTIONS)");
    counter(
        "db_pool_saturated_milliseconds_total",
        None,
        "Time every connection of this instance's pool was in use, so that new statements waited (sampled every 100 ms)",
    );
}

/// (connections in use, idle, the pool's maximum) of this instance's pool.
pub fn pool_usage(db: &sea_orm::DatabaseConnection) -> (u32, u32, u32) {
    fn usage<DB: sea_orm::sqlx::Database>(pool: &sea_orm::sqlx::Pool<DB>) -> (u32, u32, u32) {
        let size = pool.size();
        let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX).min(size);
        (size - idle, idle, pool.options().get_max_connections())
    }
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => usage(db.get_postgres_connection_pool()),
        sea_orm::DbBackend::Sqlite => usage(db.get_sqlite_connection_pool()),
        _ => (0, 0, 0),
    }
}
