//! Throughput of the sandbox: mixed submit and poll requests per second over real HTTP on
//! loopback, with instant tasks (`SandboxConfig::default()`, `task_seconds` 0).
//!
//! Run: `cargo bench --bench sandbox`. A fixed number of workers each keep one keep-alive
//! connection and loop: submit on one provider (HiAPI, reapi, Apiframe in turn), then poll the
//! returned id four times, so the mix is 1 submit to 4 polls across the three providers. Every
//! answer must be 2xx (and a submit must name its task, a poll must show it); failures are
//! counted and make the bench exit non-zero.
//!
//! Two load generators drive the same server, one after the other: `reqwest` (the crate's own
//! HTTP client, HTTP/1.1 only) and `raw` (a minimal hand-written HTTP/1.1 client on tokio's
//! `TcpStream`, so that more of the shared cores are left to the server). The server runs on its
//! own tokio runtime, as `happyhorse sandbox` would in its own process; both runtimes share the
//! machine's cores, and the CPU time each one used is read from `/proc/self/task` (Linux).
//!
//! Environment: `SANDBOX_BENCH_SECONDS` (measured seconds per run, default 5),
//! `SANDBOX_BENCH_WARMUP_MS` (default 1000), `SANDBOX_BENCH_WORKERS` (default 64),
//! `SANDBOX_BENCH_RUNS` (default 3), `SANDBOX_BENCH_CLIENT` (`reqwest`, `raw` or `both`, the
//! default).

use std::{
    fs,
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::{Duration, Instant},
};

use happyhorse::{
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    runtime::Runtime,
};

/// The bench's own target, from the issue.
const TARGET_RPS: f64 = 5_000.0;
/// Polls per submit.
const POLLS_PER_SUBMIT: usize = 4;
const SERVER_THREAD: &str = "hh-bench-server";
const CLIENT_THREAD: &str = "hh-bench-client";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not a valid value")),
        Err(_) => default,
    }
}

/// A seed page's example body from `tests/fixtures/seed-examples/<provider>/<name>`.
fn seed_example(provider: Provider, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed-examples")
        .join(provider.name())
        .join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::to_vec(&body).expect("a JSON value serializes")
}

/// How to call one provider: where, with which key, and what to submit.
struct Route {
    provider: Provider,
    /// `http://ADDR/prefix`.
    base: String,
    /// The path part of `base` (`/v1`, `/api/v1` or empty).
    prefix: String,
    submit_path: &'static str,
    poll_path: &'static str,
    key_header: &'static str,
    key_value: &'static str,
    body: Vec<u8>,
}

impl Route {
    fn all(sandbox: &Sandbox) -> Vec<Route> {
        Provider::ALL
            .into_iter()
            .map(|provider| {
                let base = sandbox.base_url(provider);
                let prefix = base
                    .strip_prefix("http://")
                    .and_then(|rest| rest.find('/').map(|at| rest[at..].to_owned()))
                    .unwrap_or_default();
                let (submit_path, poll_path, key_header, key_value, body) = match provider {
                    Provider::HiApi => (
                        "/tasks",
                        "/tasks/",
                        "Authorization",
                        "Bearer sk-bench",
                        seed_example(provider, "t2v-minimal.json"),
                    ),
                    Provider::Reapi => (
                        "/videos/generations",
                        "/tasks/",
                        "Authorization",
                        "Bearer rk_bench",
                        seed_example(provider, "t2v-curl.json"),
                    ),
                    Provider::Apiframe => (
                        "/v2/videos/generate",
                        "/v2/jobs/",
                        "X-API-Key",
                        "afk_bench",
                        seed_example(provider, "quick-start.json"),
                    ),
                };
                Route {
                    provider,
                    base,
                    prefix,
                    submit_path,
                    poll_path,
                    key_header,
                    key_value,
                    body,
                }
            })
            .collect()
    }

    /// The id a submit answer names, if it is a success.
    fn submitted_id(&self, body: &[u8]) -> Option<String> {
        let answer: Value = serde_json::from_slice(body).ok()?;
        let id = match self.provider {
            // HiAPI answers some refusals with HTTP 200 and another `code`.
            Provider::HiApi if answer["code"] != 200 => return None,
            Provider::HiApi => &answer["data"]["taskId"],
            Provider::Reapi => &answer["id"],
            Provider::Apiframe => &answer["jobId"],
        };
        id.as_str().map(str::to_owned)
    }
}

/// Counts a failure, inside the measured window or not: any failure fails the bench.
fn fail(tally: &mut Tally, why: String) {
    tally.failures += 1;
    tally.first_failure.get_or_insert(why);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ClientKind {
    Reqwest,
    Raw,
}

impl ClientKind {
    fn name(self) -> &'static str {
        match self {
            ClientKind::Reqwest => "reqwest",
            ClientKind::Raw => "raw",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ClientKind::Reqwest => {
                "reqwest 0.13 client per worker, http1_only, one keep-alive connection each"
            }
            ClientKind::Raw => {
                "hand-written HTTP/1.1 on one keep-alive tokio TcpStream per worker (lighter)"
            }
        }
    }
}

/// One worker's connection.
enum Conn {
    Reqwest(reqwest::Client),
    Raw(RawConn),
}

enum Op<'a> {
    Submit,
    Poll(&'a str),
}

impl Conn {
    async fn open(kind: ClientKind, addr: std::net::SocketAddr) -> Result<Conn, String> {
        match kind {
            ClientKind::Reqwest => reqwest::Client::builder()
                .no_proxy()
                .http1_only()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .build()
                .map(Conn::Reqwest)
                .map_err(|e| e.to_string()),
            ClientKind::Raw => RawConn::connect(addr).await.map(Conn::Raw),
        }
    }

    /// Sends one request and returns the answer's status and body.
    async fn send(&mut self, route: &Route, op: &Op<'_>) -> Result<(u16, Vec<u8>), String> {
        match self {
            Conn::Reqwest(client) => {
                let request = match op {
                    Op::Submit => client
                        .post(format!("{}{}", route.base, route.submit_path))
                        .header("content-type", "application/json")
                        .body(route.body.clone()),
                    Op::Poll(id) => client.get(format!("{}{}{id}", route.base, route.poll_path)),
                };
                let response = request
                    .header(route.key_header, route.key_value)
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                let status = response.status().as_u16();
                let body = response.bytes().await.map_err(|e| format!("{e:?}"))?;
                Ok((status, body.to_vec()))
            }
            Conn::Raw(conn) => {
                let mut request = Vec::with_capacity(512);
                let (method, path, body): (&str, String, &[u8]) = match op {
                    Op::Submit => (
                        "POST",
                        format!("{}{}", route.prefix, route.submit_path),
                        &route.body,
                    ),
                    Op::Poll(id) => (
                        "GET",
                        format!("{}{}{id}", route.prefix, route.poll_path),
                        &[],
                    ),
                };
                request.extend_from_slice(
                    format!(
                        "{method} {path} HTTP/1.1\r\nhost: {}\r\n{}: {}\r\n",
                        conn.host, route.key_header, route.key_value
                    )
                    .as_bytes(),
                );
                if matches!(op, Op::Submit) {
                    request.extend_from_slice(
                        format!(
                            "content-type: application/json\r\ncontent-length: {}\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    );
                }
                request.extend_from_slice(b"\r\n");
                request.extend_from_slice(body);
                conn.round_trip(&request).await
            }
        }
    }
}

/// A minimal HTTP/1.1 client: one connection, one request at a time, answers framed by
/// `Content-Length` (the sandbox's JSON answers always carry one).
struct RawConn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
}

impl RawConn {
    async fn connect(addr: std::net::SocketAddr) -> Result<RawConn, String> {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(RawConn {
            stream,
            host: addr.to_string(),
            buf: Vec::with_capacity(4096),
        })
    }

    async fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 4096];
        let n = self
            .stream
            .read(&mut chunk)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed by the server".into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    async fn round_trip(&mut self, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
        self.stream
            .write_all(request)
            .await
            .map_err(|e| e.to_string())?;
        let head_len = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_len]).map_err(|e| e.to_string())?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| format!("bad status line in {head:?}"))?;
        let length: usize = head
            .lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, value)| value.trim().parse().ok())
            .ok_or_else(|| format!("no content-length in {head:?}"))?;
        while self.buf.len() < head_len + length {
            self.fill().await?;
        }
        let body = self.buf[head_len..head_len + length].to_vec();
        self.buf.drain(..head_len + length);
        Ok((status, body))
    }
}

/// What one worker saw: requests and latencies inside the measured window, failures at any
/// time.
#[derive(Default)]
struct Tally {
    submits: u64,
    polls: u64,
    failures: u64,
    /// Microseconds per counted request.
    latencies: Vec<u32>,
    first_failure: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.submits += other.submits;
        self.polls += other.polls;
        self.failures += other.failures;
        self.latencies.extend(other.latencies);
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }
}

struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn counts(&self, done: Instant) -> bool {
        done >= self.start && done < self.end
    }
}

async fn worker(
    kind: ClientKind,
    addr: std::net::SocketAddr,
    routes: Arc<Vec<Route>>,
    window: Arc<Window>,
    first: usize,
) -> Tally {
    let mut tally = Tally::default();
    let mut conn = match Conn::open(kind, addr).await {
        Ok(conn) => conn,
        Err(err) => {
            fail(&mut tally, format!("connect: {err}"));
            return tally;
        }
    };
    let mut turn = first;
    while Instant::now() < window.end {
        let route = &routes[turn % routes.len()];
        turn += 1;

        let began = Instant::now();
        let answer = conn.send(route, &Op::Submit).await;
        let done = Instant::now();
        let counted = window.counts(done);
        let id = match answer {
            Ok((status, body)) if (200..300).contains(&status) => route.submitted_id(&body),
            Ok((status, body)) => {
                let text = String::from_utf8_lossy(&body).into_owned();
                fail(
                    &mut tally,
                    format!("{} submit: {status} {text}", route.provider),
                );
                continue;
            }
            Err(err) => {
                fail(&mut tally, format!("{} submit: {err}", route.provider));
                if let Ok(fresh) = Conn::open(kind, addr).await {
                    conn = fresh;
                }
                continue;
            }
        };
        let Some(id) = id else {
            fail(
                &mut tally,
                format!("{} submit: no task id in the answer", route.provider),
            );
            continue;
        };
        if counted {
            tally.submits += 1;
            tally.latencies.push(micros(done - began));
        }

        for _ in 0..POLLS_PER_SUBMIT {
            let began = Instant::now();
            let answer = conn.send(route, &Op::Poll(&id)).await;
            let done = Instant::now();
            let counted = window.counts(done);
            match answer {
                Ok((status, body))
                    if (200..300).contains(&status) && contains(&body, id.as_bytes()) =>
                {
                    if counted {
                        tally.polls += 1;
                        tally.latencies.push(micros(done - began));
                    }
                }
                Ok((status, body)) => {
                    let text = String::from_utf8_lossy(&body).into_owned();
                    fail(
                        &mut tally,
                        format!("{} poll {id}: {status} {text}", route.provider),
                    );
                }
                Err(err) => {
                    fail(&mut tally, format!("{} poll {id}: {err}", route.provider));
                    if let Ok(fresh) = Conn::open(kind, addr).await {
                        conn = fresh;
                    }
                }
            }
        }
    }
    tally
}

fn micros(elapsed: Duration) -> u32 {
    elapsed.as_micros().min(u128::from(u32::MAX)) as u32
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// CPU seconds used so far by this process's threads named `name` (15 bytes at most), from
/// `/proc/self/task/*/stat` (Linux; `None` elsewhere).
fn cpu_seconds(name: &str) -> Option<f64> {
    // `/proc` reports in USER_HZ, which Linux fixes at 100 for user space.
    const TICKS_PER_SECOND: f64 = 100.0;
    let mut ticks = 0u64;
    for entry in fs::read_dir("/proc/self/task").ok()? {
        let dir = entry.ok()?.path();
        let Ok(comm) = fs::read_to_string(dir.join("comm")) else {
            continue; // the thread ended meanwhile
        };
        if comm.trim() != name {
            continue;
        }
        let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
            continue;
        };
        // Fields after the `(comm)`: state is field 3, utime 14 and stime 15.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        ticks += utime + stime;
    }
    Some(ticks as f64 / TICKS_PER_SECOND)
}

struct RunResult {
    seconds: f64,
    tally: Tally,
    server_cpu: Option<f64>,
    client_cpu: Option<f64>,
}

impl RunResult {
    fn total(&self) -> u64 {
        self.tally.submits + self.tally.polls
    }

    fn rps(&self) -> f64 {
        self.total() as f64 / self.seconds
    }

    fn percentile(&self, p: f64) -> f64 {
        let lat = &self.tally.latencies;
        if lat.is_empty() {
            return f64::NAN;
        }
        let at = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        f64::from(lat[at]) / 1000.0
    }
}

async fn run(
    kind: ClientKind,
    addr: std::net::SocketAddr,
    routes: Arc<Vec<Route>>,
    workers: usize,
    warmup: Duration,
    measured: Duration,
) -> RunResult {
    let now = Instant::now();
    let window = Arc::new(Window {
        start: now + warmup,
        end: now + warmup + measured,
    });
    let handles: Vec<_> = (0..workers)
        .map(|i| tokio::spawn(worker(kind, addr, routes.clone(), window.clone(), i)))
        .collect();

    tokio::time::sleep_until(window.start.into()).await;
    let (server0, client0) = (cpu_seconds(SERVER_THREAD), cpu_seconds(CLIENT_THREAD));
    tokio::time::sleep_until(window.end.into()).await;
    let (server1, client1) = (cpu_seconds(SERVER_THREAD), cpu_seconds(CLIENT_THREAD));

    let mut tally = Tally::default();
    for handle in handles {
        match handle.await {
            Ok(one) => tally.merge(one),
            Err(err) => tally.merge(Tally {
                failures: 1,
                first_failure: Some(format!("worker panicked: {err}")),
                ..Tally::default()
            }),
        }
    }
    tally.latencies.sort_unstable();
    let seconds = (window.end - window.start).as_secs_f64();
    let used = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / seconds);
    RunResult {
        seconds,
        tally,
        server_cpu: used(server0, server1),
        client_cpu: used(client0, client1),
    }
}

fn runtime(name: &'static str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name(name)
        .build()
        .expect("a tokio runtime")
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let seconds: f64 = env_or("SANDBOX_BENCH_SECONDS", 5.0);
    let warmup_ms: u64 = env_or("SANDBOX_BENCH_WARMUP_MS", 1000);
    let workers: usize = env_or("SANDBOX_BENCH_WORKERS", 64);
    let runs: usize = env_or::<usize>("SANDBOX_BENCH_RUNS", 3).max(1);
    let kinds = match std::env::var("SANDBOX_BENCH_CLIENT").as_deref() {
        Ok("reqwest") => vec![ClientKind::Reqwest],
        Ok("raw") => vec![ClientKind::Raw],
        Ok("both") | Err(_) => vec![ClientKind::Reqwest, ClientKind::Raw],
        Ok(other) => panic!("SANDBOX_BENCH_CLIENT={other:?}: want reqwest, raw or both"),
    };
    let measured = Duration::from_secs_f64(seconds);
    let warmup = Duration::from_millis(warmup_ms);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let server_rt = runtime(SERVER_THREAD);
    let client_rt = runtime(CLIENT_THREAD);
    let sandbox = server_rt
        .block_on(Sandbox::start(SandboxConfig::default()))
        .expect("the sandbox starts on loopback");
    let addr = sandbox.addr();
    let routes = Arc::new(Route::all(&sandbox));

    println!("sandbox bench: {addr}, SandboxConfig::default() (instant tasks)");
    println!(
        "load: {workers} workers, each one keep-alive connection, looping 1 submit then \
         {POLLS_PER_SUBMIT} polls, providers HiAPI/reapi/Apiframe in turn"
    );
    println!(
        "timing: {warmup_ms} ms warm-up then {seconds} s measured, {runs} runs per client; \
         target {TARGET_RPS} req/s"
    );
    println!(
        "machine: {cores} cores, SHARED by the server (its own tokio runtime, {cores} workers) \
         and the load generator (another runtime, {cores} workers): the numbers are for both \
         together; `cpu` is the cores each side used"
    );

    let mut failed = 0u64;
    let mut medians = Vec::new();
    for kind in kinds {
        println!();
        println!("client {}: {}", kind.name(), kind.describe());
        let mut rates = Vec::new();
        for i in 1..=runs {
            let result =
                client_rt.block_on(run(kind, addr, routes.clone(), workers, warmup, measured));
            let t = &result.tally;
            let per = |n: u64| n as f64 / result.seconds;
            let cores_used = |c: Option<f64>| c.map_or("n/a".to_owned(), |c| format!("{c:.2}"));
            println!(
                "  run {i}: {} requests in {:.2} s = {:.0} req/s ({:.0} submits/s, {:.0} polls/s), \
                 p50 {:.2} ms, p99 {:.2} ms, {} failures, cpu server {} client {}",
                result.total(),
                result.seconds,
                result.rps(),
                per(t.submits),
                per(t.polls),
                result.percentile(0.50),
                result.percentile(0.99),
                t.failures,
                cores_used(result.server_cpu),
                cores_used(result.client_cpu),
            );
            if let Some(server) = result.server_cpu.filter(|&cpu| cpu > 0.0) {
                println!(
                    "         server cost: {:.1} us of CPU per request (an estimate of {:.0} req/s \
                     per server core, were the load generator elsewhere)",
                    server * 1e6 / result.rps(),
                    result.rps() / server
                );
            }
            if let Some(why) = &t.first_failure {
                println!("         first failure: {why}");
            }
            failed += t.failures;
            rates.push(result.rps());
        }
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        println!(
            "  median of {runs}: {median:.0} req/s with {workers} workers ({}; target {TARGET_RPS} req/s: {})",
            kind.name(),
            if median >= TARGET_RPS { "met" } else { "NOT met" }
        );
        medians.push((kind, median));
    }

    println!();
    for (kind, median) in &medians {
        println!("median {:<8} {median:.0} req/s", kind.name());
    }
    println!("failures {failed}");

    // Give the server a bounded chance to finish; it runs on its own runtime.
    server_rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), sandbox.shutdown()).await;
    });
    drop(client_rt);
    if failed > 0 {
        eprintln!("error: {failed} requests failed");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
