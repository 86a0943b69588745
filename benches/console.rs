//! The console over a large ledger, and beside a running batch.
//!
//! `cargo bench --features postgres --bench console` (env `CONSOLE_JOBS`, default 100000;
//! `CONSOLE_REQUESTS`, requests per page, default 60; PostgreSQL's server programs for the
//! second engine, else it is left out).
//!
//! 1. A ledger of `CONSOLE_JOBS` jobs (recorded through the ledger, then moved to a run's end
//!    in bulk: 5 % failed, 5 % queued, 5 % submitted, 2 % expired, the rest downloaded, with
//!    about five history events each), on SQLite and on PostgreSQL. `happyhorse console`
//!    (the release binary) serves it; one client asks each page in turn: the overview, a
//!    filtered page (failed jobs), a search by prompt, and a job's detail. Median and p99 of
//!    each, the first answer's time (the overview is made then; later ones are shared until
//!    the ledger's history moves), and the console's peak RSS.
//! 2. A batch of 1,000 jobs running on the emulator into a SQLite ledger while the console is
//!    open with one live client: the console's ledger reads per second (its own counter), and
//!    the update latency (from the newest event's time in the ledger to the live client
//!    holding an overview that includes it).

#[path = "batch_common/mod.rs"]
mod common;
#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use happyhorse::{
    ledger::{Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};

/// Moves the recorded jobs to a finished run's mix, and writes their history.
const SHAPE: &[&str] = &[
    "UPDATE jobs SET state = CASE WHEN seq % 20 = 0 THEN 'failed' WHEN seq % 20 = 1 THEN 'queued'
        WHEN seq % 20 = 2 THEN 'submitted' WHEN seq % 50 = 3 THEN 'expired' ELSE 'downloaded' END",
    "UPDATE jobs SET task_id = 'task-' || CAST(seq AS TEXT), attempts = 1,
        submitted_at = created_at + 1000 WHERE state <> 'queued'",
    "UPDATE jobs SET finished_at = created_at + 181000, task_seconds = 180.0
        WHERE state IN ('downloaded', 'failed', 'expired')",
    "UPDATE jobs SET file = 'out/' || output_name, bytes = 28556,
        sha256 = 'c0ffee' WHERE state = 'downloaded'",
    "UPDATE jobs SET error = provider || ' task task-' || CAST(seq AS TEXT)
        || ' FAILED: GENERATION_FAILED: the model could not render this prompt' WHERE state = 'failed'",
    "UPDATE jobs SET error = 'the output of ' || provider || ' task task-' || CAST(seq AS TEXT)
        || ' expired before it was saved' WHERE state = 'expired'",
    "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt, status, http_status, error, deliveries)
        SELECT id, created_at + 500, 'submitting', 'queued', 'submitting', 'bench', 1, NULL, NULL, NULL, 0 FROM jobs WHERE state <> 'queued'",
    "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt, status, http_status, error, deliveries)
        SELECT id, created_at + 1000, 'submitted', 'submitting', 'submitted', 'bench', 1, 'queued', 200, NULL, 0 FROM jobs WHERE state <> 'queued'",
    "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt, status, http_status, error, deliveries)
        SELECT id, created_at + 60000, 'status', 'submitted', 'submitted', 'bench', 1, 'running', 200, NULL, 0 FROM jobs WHERE state <> 'queued'",
    "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt, status, http_status, error, deliveries)
        SELECT id, created_at + 181000, 'succeeded', 'submitted', 'succeeded', 'bench', 1, 'succeeded', 200, NULL, 0 FROM jobs WHERE state IN ('downloaded', 'expired')",
    "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt, status, http_status, error, deliveries)
        SELECT id, created_at + 182000, 'downloaded', 'succeeded', 'downloaded', 'bench', 1, NULL, 200, NULL, 0 FROM jobs WHERE state = 'downloaded'",
    "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt, status, http_status, error, deliveries)
        SELECT id, created_at + 181000, 'failed', 'submitted', 'failed', 'bench', 1, 'failed', 200, error, 0 FROM jobs WHERE state = 'failed'",
];

async fn fill(ledger: &dyn Ledger, n: usize) {
    let providers = [Provider::HiApi, Provider::Apiframe, Provider::Reapi];
    let jobs = common::jobs(n, &providers, "console");
    for chunk in jobs.chunks(2_000) {
        let new: Vec<_> = chunk.iter().map(|j| j.to_new_job()).collect();
        ledger.enqueue(&new).await.expect("enqueue");
    }
}

/// A console child on a free port; killed when dropped.
struct Console {
    child: Child,
    url: String,
}

impl Console {
    fn start(ledger: &str, dir: &Path) -> Console {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_happyhorse"))
            .args([
                "console",
                "--ledger",
                ledger,
                "--addr",
                &format!("127.0.0.1:{port}"),
            ])
            .current_dir(dir)
            .env_remove("HAPPYHORSE_CONSOLE_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("happyhorse console");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Console {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    fn peak_rss(&self) -> f64 {
        common::peak_rss_mib(&self.child.id().to_string()).unwrap_or(f64::NAN)
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn measure(engine: &str, location: &str, dir: &Path, n: usize, requests: usize) {
    let console = Console::start(location, dir);
    let http = reqwest::Client::new();
    let probe = n / 2 + 7;
    let pages = [
        ("overview", "/api/overview".to_owned()),
        (
            "failed jobs, first page",
            "/api/jobs?state=failed".to_owned(),
        ),
        (
            "search by prompt",
            format!("/api/jobs?q=console%20{probe}%3A"),
        ),
        ("a job's detail", format!("/api/jobs/console-{probe:05}")),
    ];
    println!("{engine}, {n} jobs:");
    for (name, path) in &pages {
        let url = format!("{}{path}", console.url);
        let started = Instant::now();
        let first = http.get(&url).send().await.expect("answer");
        assert!(first.status().is_success(), "{name}: {}", first.status());
        let body = first.text().await.expect("body");
        let first_ms = started.elapsed().as_secs_f64() * 1000.0;
        assert!(body.len() > 2, "{name}: {body}");
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            let answer = http.get(&url).send().await.expect("answer");
            let _ = answer.bytes().await.expect("body");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let sorted = common::sorted(times);
        println!(
            "  {name:<26} median {:7.1} ms  p99 {:7.1} ms  first {first_ms:7.1} ms  ({} bytes)",
            common::quantile(&sorted, 0.5),
            common::quantile(&sorted, 0.99),
            body.len()
        );
    }
    println!("  console peak RSS {:.1} MiB", console.peak_rss());
}

/// The console's ledger reads so far, from its own metrics.
async fn reads(http: &reqwest::Client, url: &str) -> f64 {
    let text = http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|l| l.strip_prefix("happyhorse_console_ledger_reads_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

async fn live() {
    let sandbox = Sandbox::start(
        SandboxConfig::default().with_task_seconds(
            "2±1"
                .parse::<happyhorse::sandbox::TaskSeconds>()
                .expect("seconds"),
        ),
    )
    .await
    .expect("sandbox");
    let dir = tempfile::tempdir().expect("tempdir");
    let providers = [Provider::HiApi, Provider::Apiframe];
    let jobs_file = dir.path().join("jobs.jsonl");
    std::fs::write(&jobs_file, common::lines(1000, &providers, "live")).expect("jobs");
    // The ledger exists before the console opens it: plan first (a dry run records nothing),
    // so open it through the library.
    let ledger_path = dir.path().join("hh.db");
    drop(SqliteLedger::open(&ledger_path).await.expect("ledger"));
    let console = Console::start(&ledger_path.display().to_string(), dir.path());
    let http = reqwest::Client::new();
    let stream = http
        .get(format!("{}/api/stream", console.url))
        .send()
        .await
        .expect("stream");
    let mut body = stream.bytes_stream();
    let mut batch = common::batch_command(
        &jobs_file,
        &dir.path().join("out"),
        64,
        &providers,
        &sandbox,
    );
    batch
        .arg("--ledger")
        .arg(&ledger_path)
        .stderr(Stdio::piped());
    let reads_before = reads(&http, &console.url).await;
    let started = Instant::now();
    let mut child = batch.spawn().expect("batch");
    let mut stderr = child.stderr.take().expect("the batch's stderr");
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let mut latencies = Vec::new();
    let mut buffer = String::new();
    let mut updates = 0u64;
    loop {
        let next = tokio::time::timeout(Duration::from_secs(2), body.next()).await;
        if let Ok(Some(Ok(chunk))) = next {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                    continue;
                };
                if let Some(at) = value["latest_event_at"]
                    .as_str()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                {
                    let late = chrono::Utc::now().signed_duration_since(at);
                    latencies.push(late.num_microseconds().unwrap_or(0) as f64 / 1000.0);
                    updates += 1;
                }
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    let status = child.wait().expect("the batch");
    let said = said.join().unwrap_or_default();
    assert!(status.success(), "the batch: {said}");
    let reads_after = reads(&http, &console.url).await;
    let sorted = common::sorted(latencies);
    println!("a batch of 1,000 jobs (tasks 2±1 s, --concurrency 64) with the console open and one live client, {wall:.1} s:");
    println!(
        "  console ledger reads {:.1}/s ({} in all; one read: 1 to 4 statements); {updates} live updates",
        (reads_after - reads_before - 1.0) / wall,
        reads_after - reads_before - 1.0
    );
    println!(
        "  update latency (newest ledger event to the client holding it): median {:.0} ms, p90 {:.0} ms, p99 {:.0} ms",
        common::quantile(&sorted, 0.5),
        common::quantile(&sorted, 0.9),
        common::quantile(&sorted, 0.99)
    );
    drop(console);
    sandbox.shutdown().await;
}

fn main() {
    happyhorse::install_crypto_provider();
    let n: usize = common::env("CONSOLE_JOBS", 100_000);
    let requests: usize = common::env("CONSOLE_REQUESTS", 60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        if n == 0 {
            live().await;
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hh.db");
        let started = Instant::now();
        {
            let ledger = SqliteLedger::open(&path).await.expect("ledger");
            fill(&ledger, n).await;
        }
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .expect("pool");
        for statement in SHAPE {
            sqlx::query(*statement).execute(&pool).await.expect("shape");
        }
        pool.close().await;
        println!(
            "(SQLite ledger of {n} jobs made in {:.1} s)",
            started.elapsed().as_secs_f64()
        );
        measure(
            "SQLite",
            &path.display().to_string(),
            dir.path(),
            n,
            requests,
        )
        .await;

        match pg::Cluster::start() {
            Some(cluster) => {
                let url = cluster.database("console").await;
                {
                    let ledger = happyhorse::ledger::PgLedger::connect(&url)
                        .await
                        .expect("ledger");
                    fill(&ledger, n).await;
                }
                for statement in SHAPE {
                    cluster.sql("console", statement);
                }
                cluster.sql("console", "ANALYZE");
                measure("PostgreSQL", &url, dir.path(), n, requests).await;
            }
            None => println!("PostgreSQL's server programs are not installed: left out"),
        }
        live().await;
    });
}
