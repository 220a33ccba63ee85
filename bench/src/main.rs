//! `cargo run --release -p bench`: starts Tessera (the release binary) on its
//! embedded defaults or on PostgreSQL, seeds users, and prints requests/s,
//! p50, p99, errors and server CPU per request for each scenario, then the
//! same for the floors (`floor.rs`: servers built from the same crates doing
//! the least work the same answer needs) on the same database, and each
//! Tessera scenario as a ratio of its floor. Every response is checked to be
//! a GraphQL success: a 200 with `errors` counts as an error.
mod floor;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Option<Sub>,
    /// The server binary (build it with `cargo build --release`).
    #[arg(long, default_value = "target/release/tessera")]
    server: String,
    /// A PostgreSQL server URL (e.g. postgres://postgres@127.0.0.1:5432) to run on a fresh database there; SQLite otherwise.
    #[arg(long)]
    postgres: Option<String>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Users to seed.
    #[arg(long, default_value_t = 150)]
    users: usize,
    /// Only these scenarios (me, profile, profiles, users, signin, floors).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Drive the load with wrk (-t2, Lua-set body and token), the tool the
    /// issue's starting figures were taken with, instead of the built-in
    /// generator. wrk does not read bodies, so each scenario's answer is
    /// checked to be a GraphQL success once before the run, and wrk's
    /// non-2xx count is reported as errors.
    #[arg(long)]
    wrk: bool,
}

#[derive(clap::Subcommand)]
enum Sub {
    /// Serve one floor (started by the benchmark itself, with Tessera's environment).
    Floor {
        #[arg(value_enum)]
        kind: floor::Kind,
        #[arg(long)]
        listen: SocketAddr,
    },
}

const PASSWORD: &str = "benchmarking is believing";

struct Server {
    child: Child,
    address: SocketAddr,
    /// The environment Tessera runs with; the floors get the same.
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One keep-alive HTTP/1.1 connection.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    async fn open(address: SocketAddr) -> anyhow::Result<Connection> {
        let stream = tokio::net::TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Connection { sender, host: address.to_string() })
    }

    /// POSTs a GraphQL body; Ok(true) for a GraphQL success.
    async fn post(&mut self, body: &Bytes, token: Option<&str>) -> anyhow::Result<(bool, Bytes)> {
        let mut request = Request::post("/graphql").header("host", &self.host).header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let response = self.sender.send_request(request.body(Full::new(body.clone()))?).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let ok = status.is_success() && bytes.starts_with(b"{\"data\":{") && !contains(&bytes, b"\"errors\"");
        Ok((ok, bytes))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn gql(address: SocketAddr, query: &str, variables: Value, token: Option<&str>) -> anyhow::Result<Value> {
    let mut connection = Connection::open(address).await?;
    let body = Bytes::from(json!({ "query": query, "variables": variables }).to_string());
    let (_, bytes) = connection.post(&body, token).await?;
    Ok(serde_json::from_slice(&bytes)?)
}

async fn start(args: &Args) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = free_port();
    let address: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut command = Command::new(&args.server);
    command
        .env("LISTEN_ADDR", address.to_string())
        .env("DATA_DIR", dir.path())
        .env("RUST_LOG", "tessera=warn")
        // The benchmark is one client hammering from one address.
        .env("CREDENTIAL_ATTEMPTS_PER_IP_PER_MINUTE", "100000000")
        .env("SIGNIN_MAX_FAILURES", "100000000")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(server) = &args.postgres {
        let name = format!("tessera_bench_{}", std::process::id());
        let admin = format!("{server}/postgres");
        let status = Command::new("psql").args([admin.as_str(), "-qc", &format!("DROP DATABASE IF EXISTS {name}")]).status()?;
        let created = Command::new("psql").args([admin.as_str(), "-qc", &format!("CREATE DATABASE {name}")]).status()?;
        if !status.success() || !created.success() {
            bail!("cannot create the benchmark database on {server}");
        }
        command.env("DATABASE_URL", format!("{server}/{name}"));
    }
    // The first admin, made the documented way.
    let mut create = Command::new(&args.server);
    for (key, value) in command.get_envs() {
        if let Some(value) = value {
            create.env(key, value);
        }
    }
    let mut admin = create
        .args(["create-admin", "--email", "admin@bench.test", "--username", "benchadmin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {} (build it with `cargo build --release`)", args.server))?;
    writeln!(admin.stdin.take().unwrap(), "{PASSWORD}")?;
    if !admin.wait()?.success() {
        bail!("create-admin failed");
    }
    let env = command.get_envs().filter_map(|(k, v)| Some((k.to_string_lossy().into_owned(), v?.to_string_lossy().into_owned()))).collect();
    let child = command.spawn().with_context(|| format!("cannot start {}", args.server))?;
    let server = Server { child, address, env, _dir: dir };
    wait_for(address).await?;
    Ok(server)
}

async fn wait_for(address: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server at {address} did not start")
}

/// Starts a floor as a child process of this binary, with Tessera's environment.
async fn start_floor(kind: floor::Kind, tessera: &Server) -> anyhow::Result<(Child, SocketAddr)> {
    let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["floor", clap::ValueEnum::to_possible_value(&kind).expect("named").get_name(), "--listen", &address.to_string()])
        .envs(tessera.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    wait_for(address).await?;
    Ok((child, address))
}

/// User plus system CPU time of a process so far, in microseconds.
fn cpu_micros(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at state.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let (user, system): (u64, u64) = (fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?);
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some((user + system) * 1_000_000 / ticks)
}

async fn signin(address: SocketAddr, login: &str) -> anyhow::Result<String> {
    let out = gql(
        address,
        "mutation($i: SigninInput!) { signin(input: $i) { tokens { accessToken } } }",
        json!({ "i": { "login": login, "password": PASSWORD } }),
        None,
    )
    .await?;
    out["data"]["signin"]["tokens"]["accessToken"].as_str().map(str::to_owned).with_context(|| format!("signin failed: {out}"))
}

/// Signs up `count` users with profiles; returns their ids.
async fn seed(address: SocketAddr, count: usize) -> anyhow::Result<Vec<String>> {
    let tasks = (0..count).map(|i| async move {
        let out = gql(
            address,
            "mutation($i: SignupInput!) { signup(input: $i) { user { id } userErrors { message } } }",
            json!({ "i": { "email": format!("user{i}@bench.test"), "username": format!("user{i}"), "password": PASSWORD,
                "fullName": format!("Bench User {i}"), "accountType": if i % 2 == 0 { "FAN" } else { "CREATOR" } } }),
            None,
        )
        .await?;
        let id = out["data"]["signup"]["user"]["id"].as_str().with_context(|| format!("signup failed: {out}"))?.to_owned();
        let token = signin(address, &format!("user{i}")).await?;
        gql(
            address,
            "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { userErrors { message } } }",
            json!({ "i": { "bio": format!("Bio of user {i}"), "interests": ["COFFEE", "RUNNING"], "city": "Lisbon" } }),
            Some(&token),
        )
        .await?;
        anyhow::Ok(id)
    });
    let mut ids = Vec::new();
    for chunk in futures::stream::iter(tasks).buffered(8).collect::<Vec<_>>().await {
        ids.push(chunk?);
    }
    Ok(ids)
}

use futures::StreamExt;

struct Outcome {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    p50_ms: f64,
    p99_ms: f64,
}

async fn run(address: SocketAddr, connections: usize, seconds: u64, body: Bytes, token: Option<String>) -> anyhow::Result<Outcome> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let body = Arc::new(body);
    let token = Arc::new(token);
    let started = Instant::now();
    let workers = (0..connections).map(|_| {
        let (body, token) = (body.clone(), token.clone());
        tokio::spawn(async move {
            let mut connection = Connection::open(address).await?;
            let (mut latencies, mut errors) = (Vec::with_capacity(100_000), 0usize);
            while Instant::now() < deadline {
                let sent = Instant::now();
                let (ok, _) = connection.post(&body, token.as_deref()).await?;
                latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                if !ok {
                    errors += 1;
                }
            }
            anyhow::Ok((latencies, errors))
        })
    });
    let (mut all, mut errors) = (Vec::new(), 0);
    for worker in futures::future::join_all(workers).await {
        let (latencies, failed) = worker??;
        all.extend(latencies);
        errors += failed;
    }
    let elapsed = started.elapsed();
    all.sort_unstable();
    Ok(Outcome { requests: all.len(), errors, elapsed, p50_ms: percentile(&all, 0.50), p99_ms: percentile(&all, 0.99) })
}

/// The Lua script that makes wrk POST one GraphQL body with a bearer token.
const WRK_SCRIPT: &str = r#"
local f = assert(io.open(os.getenv("BENCH_BODY"), "r"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d\n", summary.requests, summary.duration,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#;

/// One scenario driven by wrk; latencies are wrk's p50 and p99 only.
async fn run_wrk(address: SocketAddr, connections: usize, seconds: u64, body: &str, token: Option<&str>) -> anyhow::Result<Outcome> {
    let mut connection = Connection::open(address).await?;
    let (ok, answer) = connection.post(&Bytes::from(body.to_owned()), token).await?;
    if !ok {
        bail!("the scenario does not succeed: {}", String::from_utf8_lossy(&answer));
    }
    let dir = tempfile::tempdir()?;
    let (script, body_file) = (dir.path().join("post.lua"), dir.path().join("body.json"));
    std::fs::write(&script, WRK_SCRIPT)?;
    std::fs::write(&body_file, body)?;
    let output = tokio::process::Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "-s"])
        .arg(&script)
        .arg(format!("http://{address}/graphql"))
        .env("BENCH_BODY", &body_file)
        .env("BENCH_TOKEN", token.unwrap_or_default())
        .output()
        .await
        .context("cannot run wrk (apt-get install wrk)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("BENCH ")).with_context(|| format!("unexpected wrk output: {stdout}"))?;
    let numbers: Vec<u64> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>()?;
    let [requests, duration_us, errors, p50_us, p99_us] = numbers[..] else { bail!("unexpected wrk summary: {line}") };
    Ok(Outcome {
        requests: requests as usize,
        errors: errors as usize,
        elapsed: Duration::from_micros(duration_us),
        p50_ms: p50_us as f64 / 1000.0,
        p99_ms: p99_us as f64 / 1000.0,
    })
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

/// One measured row of the report.
struct Measured {
    name: String,
    rate: f64,
    p50: f64,
    p99: f64,
    errors: usize,
    requests: usize,
    cpu_us: Option<f64>,
}

impl Measured {
    fn print(&self, versus: Option<(&str, f64)>) {
        let cpu = self.cpu_us.map(|c| format!("{c:.0}")).unwrap_or_else(|| "-".into());
        let ratio = versus.map(|(floor, rate)| format!("{:.2} of {floor}", self.rate / rate)).unwrap_or_default();
        println!(
            "{:<44} {:>9.0} {:>8.2} {:>8.2} {:>7} {:>9} {:>8}  {}",
            self.name, self.rate, self.p50, self.p99, self.errors, self.requests, cpu, ratio
        );
    }
}

/// Runs one scenario against `address`, reading the CPU time of `pid` around it.
async fn measure(name: &str, address: SocketAddr, pid: u32, args: &Args, body: &Value, token: Option<String>) -> anyhow::Result<Measured> {
    let cpu_before = cpu_micros(pid);
    let outcome = if args.wrk {
        run_wrk(address, args.connections, args.seconds, &body.to_string(), token.as_deref()).await?
    } else {
        run(address, args.connections, args.seconds, Bytes::from(body.to_string()), token).await?
    };
    let cpu_after = cpu_micros(pid);
    let cpu_us = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) if outcome.requests > 0 => Some((after - before) as f64 / outcome.requests as f64),
        _ => None,
    };
    Ok(Measured {
        name: name.to_owned(),
        rate: outcome.requests as f64 / outcome.elapsed.as_secs_f64(),
        p50: outcome.p50_ms,
        p99: outcome.p99_ms,
        errors: outcome.errors,
        requests: outcome.requests,
        cpu_us,
    })
}

/// The argon2id bound of the C reference implementation (argon2-cffi, through
/// python3) with Tessera's parameters: milliseconds per verification, or why not.
fn reference_argon2_ms() -> Result<f64, String> {
    let script = "import time\nfrom argon2 import PasswordHasher, Type\n\
ph = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)\n\
h = ph.hash('benchmarking is believing')\nph.verify(h, 'benchmarking is believing')\n\
n = 30\nt = time.perf_counter()\nfor _ in range(n): ph.verify(h, 'benchmarking is believing')\n\
print((time.perf_counter() - t) / n * 1000)\n";
    let output = Command::new("python3").args(["-c", script]).output().map_err(|e| format!("python3: {e}"))?;
    if !output.status.success() {
        return Err("argon2-cffi is missing (pip install argon2-cffi)".into());
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().map_err(|e| format!("unexpected output: {e}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Sub::Floor { kind, listen }) = args.command {
        return floor::serve(kind, listen).await;
    }
    let wanted = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    let server = start(&args).await?;
    let pid = server.child.id();
    let address = server.address;
    // Idle: started and settled, before any request. The port opens while
    // startup is still finishing (it hands its freed memory back last), so a
    // reading taken the moment it accepts can catch startup itself.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = rss_kib(pid, "VmRSS:").unwrap_or(0);

    eprintln!("seeding {} users...", args.users);
    let ids = seed(address, args.users).await?;
    let user_token = signin(address, "user1").await?;
    let admin_token = signin(address, "benchadmin").await?;
    let hundred: Vec<&String> = ids.iter().take(100).collect();

    let database = if args.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    let generator = if args.wrk { "wrk -t2" } else { "built-in generator" };
    println!(
        "Tessera benchmark: {database}, {generator}, {} connections, {} s per scenario, {} users",
        args.connections,
        args.seconds,
        ids.len()
    );
    println!(
        "{:<44} {:>9} {:>8} {:>8} {:>7} {:>9} {:>8}  vs floor",
        "scenario", "req/s", "p50 ms", "p99 ms", "errors", "requests", "cpu µs"
    );
    let me = json!({ "query": "{ me { id email fullName profile { bio interests displayPicUrl } } }" });
    let profiles = json!({ "query": "query($ids: [ID!]!) { profiles(userIds: $ids) { userId fullName bio user { id accountType } } }", "variables": { "ids": hundred } });

    // The floors first, on the same database, so that Tessera's rows can be
    // printed with their ratio.
    let mut floors: std::collections::HashMap<floor::Kind, Measured> = Default::default();
    if wanted("floors") {
        for kind in [floor::Kind::Json, floor::Kind::Graphql, floor::Kind::OneSelect, floor::Kind::HundredRows] {
            let (mut child, floor_address) = start_floor(kind, &server).await?;
            let body = if kind == floor::Kind::HundredRows { &profiles } else { &me };
            let measured = measure(kind.describe(), floor_address, child.id(), &args, body, Some(user_token.clone())).await;
            let _ = child.kill();
            let _ = child.wait();
            let measured = measured?;
            measured.print(None);
            floors.insert(kind, measured);
        }
    }
    let versus = |kind: floor::Kind, label: &'static str| floors.get(&kind).map(|f| (label, f.rate));

    // (name, body, token, the floor it is measured against)
    type Scenario<'a> = (&'a str, Value, Option<String>, Option<(&'a str, f64)>);
    let scenarios: Vec<Scenario> = vec![
        ("me", me.clone(), Some(user_token.clone()), versus(floor::Kind::OneSelect, "floor c")),
        (
            "profile",
            json!({ "query": "query($id: ID!) { profile(userId: $id) { userId fullName bio interests displayPicUrl } }", "variables": { "id": ids[2] } }),
            Some(user_token.clone()),
            versus(floor::Kind::OneSelect, "floor c"),
        ),
        ("profiles", profiles.clone(), Some(user_token.clone()), versus(floor::Kind::HundredRows, "floor d")),
        (
            "users",
            json!({ "query": "{ users(first: 100) { totalCount edges { cursor node { id email fullName profile { bio interests } subscriptionPlan { name } } } pageInfo { hasNextPage endCursor } } }" }),
            Some(admin_token.clone()),
            versus(floor::Kind::HundredRows, "floor d"),
        ),
        (
            "signin",
            json!({ "query": "mutation($i: SigninInput!) { signin(input: $i) { tokens { accessToken } } }", "variables": { "i": { "login": "user2", "password": PASSWORD } } }),
            None,
            None,
        ),
    ];
    let mut peak_rss = idle_rss;
    let mut signin_rate = None;
    for (name, body, token, versus) in scenarios {
        if !wanted(name) {
            continue;
        }
        let sampler = tokio::spawn(async move {
            let mut peak = 0;
            for _ in 0..10_000 {
                peak = peak.max(rss_kib(pid, "VmRSS:").unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        });
        let measured = measure(name, address, pid, &args, &body, token).await?;
        sampler.abort();
        peak_rss = peak_rss.max(rss_kib(pid, "VmHWM:").unwrap_or(0));
        measured.print(versus);
        if name == "signin" {
            signin_rate = Some(measured.rate);
        }
    }

    // What argon2id allows on this machine: Tessera's hasher, and the C
    // reference implementation with the same parameters.
    let hasher = tessera::security::passwords::PasswordHasher::new();
    let hash = hasher.hash(PASSWORD).await?;
    let rounds = 20;
    let started = Instant::now();
    for _ in 0..rounds {
        hasher.verify(PASSWORD, Some(&hash)).await?;
    }
    let one = started.elapsed() / rounds;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "argon2id (Tessera's hasher): one verification takes {:.1} ms; {} cores allow at most {:.0} signins/s",
        one.as_secs_f64() * 1000.0,
        cores,
        cores as f64 / one.as_secs_f64()
    );
    match reference_argon2_ms() {
        Ok(ms) => {
            let bound = cores as f64 * 1000.0 / ms;
            let ratio = signin_rate.map(|r| format!("; signin reached {:.2} of it", r / bound)).unwrap_or_default();
            println!("argon2id (C reference, argon2-cffi): {ms:.1} ms a verification; bound {bound:.0} signins/s{ratio}");
        }
        Err(why) => println!("argon2id (C reference): not measured: {why}"),
    }
    println!("memory: RSS idle {:.1} MiB, peak under load {:.1} MiB", idle_rss as f64 / 1024.0, peak_rss as f64 / 1024.0);
    Ok(())
}
