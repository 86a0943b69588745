//! N tasks end to end (submit, wait, download) against an instant in-process sandbox, with
//! bounded concurrency: this crate's client beside a minimal hand-written reqwest loop doing the
//! same durable work. Each variant runs in its own child process, so its peak memory (VmHWM)
//! and CPU time are its own; the sandbox runs in the parent.
//!
//! `cargo bench --bench lifecycle` (env: `LIFECYCLE_TASKS`, default 1000;
//! `LIFECYCLE_CONCURRENCY`, default 32; `LIFECYCLE_ROUNDS`, default 3; `LIFECYCLE_PAD_BYTES`
//! pads every output to that size, to compare memory with large files, e.g.
//! `LIFECYCLE_TASKS=64 LIFECYCLE_PAD_BYTES=8388608`; `LIFECYCLE_OUT`, the directory the videos
//! go to, default the system's temporary directory).
//!
//! # The same durable work
//!
//! Per task, both variants:
//!
//! - submit the same body to the same provider (tasks go round-robin over HiAPI, reapi and
//!   Apiframe): the wire body the client builds for `VideoRequest::text_to_video`, which the
//!   loop writes by hand (checked equal, per provider, before anything is timed), with the
//!   same key header and the same `Idempotency-Key` (HiAPI and Apiframe: the client's derived
//!   key, computed per task with the public `client::derive_key`; reapi takes none);
//! - poll until the task ends, on the same schedule: at once, then after 2 s, ×1.5 up to 10 s
//!   (the client's default; `generate` has no setter for it). The sandbox finishes tasks at
//!   once, so the first poll always finds the task done and the schedule never runs. The parent
//!   counts the requests the sandbox serves to each variant and prints them per task, so "the
//!   same requests" is checked rather than assumed;
//! - download the output into `.NAME.part` beside the target, streamed: bytes gather in a
//!   buffer and go to the file in pieces of 256 KiB (the client's piece size), each piece in
//!   one trip to tokio's blocking pool; the last trip writes the rest, `File::sync_all`s and
//!   renames the part file into place. A small output (the default 28 KiB) is one trip.
//!
//! Each variant builds its HTTP clients before the clock starts (an application builds them
//! once). Prompts differ per run, so no submit is an idempotent replay of an earlier run's.
//!
//! What the loop leaves out is the client's own work, which is what the ratio measures: local
//! validation and typed (generated) bodies and answers, retry bookkeeping, timeouts, the check
//! of the target before submitting, the look for a partial file to resume, the content type
//! and size checks, `tracing` spans, separate connection pools for the API and file storage.
//!
//! # Reading the figures
//!
//! Throughput is tasks per second of wall time; CPU is user + system time per task of the
//! variant's process (10 ms ticks), and of the sandbox while it served that variant. Most of
//! both variants' time goes to the file system (creating, syncing and renaming 1,000 files),
//! so the figures move with its state: every file a run creates and deletes (the bench keeps
//! each run's videos until it ends, so the only deletions while timing are the variants' own)
//! makes later inode allocations slower on an ext4 without a journal, for a minute or more.
//! Rounds alternate which variant goes first; compare the ratios within one run, not the
//! absolute figures across runs.

use std::{
    error::Error as StdError,
    io::Write,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use futures_util::{stream, StreamExt};
use happyhorse::{
    client::derive_key,
    sandbox::{Sandbox, SandboxConfig},
    Client, ClientConfig, Prompt, Provider, VideoRequest,
};
use serde_json::{json, Value};

/// The loop's poll schedule, the client's default: the pause after the first poll, its growth
/// per poll, its ceiling.
const POLL: (Duration, f64, Duration) = (Duration::from_secs(2), 1.5, Duration::from_secs(10));
/// The loop writes in pieces of this size, as the client does.
const WRITE_AT: usize = 256 * 1024;
/// The user agent both variants send.
const USER_AGENT: &str = concat!("happyhorse/", env!("CARGO_PKG_VERSION"));

type BoxError = Box<dyn StdError + Send + Sync>;

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time this process has used (all threads), user and system, in milliseconds, from
/// `/proc/self/stat` (clock ticks of 10 ms: Linux's USER_HZ is 100).
fn cpu_ms() -> [u64; 2] {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The fields after the command name (which may hold spaces) start at `state`;
            // utime and stime are the 12th and 13th of them.
            let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
            Some([ticks(11)? * 10, ticks(12)? * 10])
        })
        .unwrap_or([0, 0])
}

/// Task `task`'s provider: round-robin in the order of `Provider::ALL`.
fn provider_for(task: usize) -> Provider {
    Provider::ALL[task % 3]
}

fn base_url(addr: &str, provider: Provider) -> String {
    match provider {
        Provider::HiApi => format!("http://{addr}/v1"),
        Provider::Reapi => format!("http://{addr}/api/v1"),
        Provider::Apiframe => format!("http://{addr}"),
    }
}

fn prompt(run: usize, task: usize) -> String {
    format!("bench run {run} task {task}")
}

fn api_key(provider: Provider) -> String {
    format!("{}bench", provider.key_prefix())
}

fn target(dir: &Path, task: usize) -> PathBuf {
    dir.join(format!("task-{task}.mp4"))
}

/// This crate's client, used as an application would: one client per provider, one
/// `generate(..).save_to(..)` per task.
async fn with_client(addr: &str, run: usize, tasks: usize, concurrency: usize, dir: &Path) -> Run {
    let clients: Vec<Client> = Provider::ALL
        .iter()
        .map(|&provider| {
            Client::new(
                ClientConfig::new(provider)
                    .with_api_key(api_key(provider))
                    .with_base_url(base_url(addr, provider)),
            )
            .expect("a client")
        })
        .collect();
    let clients = &clients;
    let outcomes = stream::iter(0..tasks)
        .map(|task| async move {
            let client = &clients[task % 3]; // provider_for(task)
            let request = VideoRequest::text_to_video(Prompt::new(prompt(run, task))?);
            client.generate(&request).save_to(target(dir, task)).await?;
            Ok::<_, BoxError>(())
        })
        .buffer_unordered(concurrency);
    Run::collect(outcomes).await
}

/// The loop's submit body for `provider`: the wire body the client sends.
fn body(provider: Provider, prompt: String) -> Value {
    match provider {
        Provider::HiApi => {
            json!({"model": "happyhorse-1.1/text-to-video", "input": {"prompt": prompt}})
        }
        Provider::Reapi => json!({"model": "happyhorse-1-1", "prompt": prompt}),
        Provider::Apiframe => json!({"model": "happyhorse-1.1", "prompt": prompt}),
    }
}

/// One task by hand: submit, poll until it ends, download durably. No validation, no
/// retries, no timeouts.
async fn one_task(
    http: &reqwest::Client,
    addr: &str,
    provider: Provider,
    prompt: String,
    path: PathBuf,
) -> Result<(), BoxError> {
    let base = base_url(addr, provider);
    let key = api_key(provider);
    let (name, value) = match provider {
        Provider::Apiframe => ("x-api-key", key),
        _ => ("authorization", format!("Bearer {key}")),
    };
    let body = body(provider, prompt);
    let submit = match provider {
        Provider::HiApi => format!("{base}/tasks"),
        Provider::Reapi => format!("{base}/videos/generations"),
        Provider::Apiframe => format!("{base}/v2/videos/generate"),
    };
    let mut submit = http.post(submit).header(name, &value);
    if provider != Provider::Reapi {
        submit = submit.header("idempotency-key", derive_key(provider, &body));
    }
    let created: Value = submit
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let (poll, status, url, done, failed) = match provider {
        Provider::HiApi => (
            format!(
                "{base}/tasks/{}",
                created["data"]["taskId"].as_str().unwrap_or_default()
            ),
            "/data/status",
            "/data/output/0/url",
            "success",
            "fail",
        ),
        Provider::Reapi => (
            format!(
                "{base}/tasks/{}",
                created["id"].as_str().unwrap_or_default()
            ),
            "/status",
            "/output/video_urls/0",
            "completed",
            "failed",
        ),
        Provider::Apiframe => (
            format!(
                "{base}/v2/jobs/{}",
                created["jobId"].as_str().unwrap_or_default()
            ),
            "/status",
            "/result/urls/0",
            "COMPLETED",
            "FAILED",
        ),
    };
    let mut pause = POLL.0;
    let url = loop {
        let task: Value = http
            .get(&poll)
            .header(name, &value)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        match task.pointer(status).and_then(Value::as_str) {
            Some(s) if s == done => {
                break task
                    .pointer(url)
                    .and_then(Value::as_str)
                    .ok_or("no output URL")?
                    .to_owned()
            }
            Some(s) if s == failed || s.eq_ignore_ascii_case("cancelled") => {
                return Err(format!("task ended {s}").into())
            }
            _ => {
                tokio::time::sleep(pause).await;
                pause = pause.mul_f64(POLL.1).min(POLL.2);
            }
        }
    };
    let answer = http.get(url).send().await?.error_for_status()?;
    save(answer, path).await
}

/// Streams `answer` into `.NAME.part` beside `path` in 256 KiB pieces, then writes the rest,
/// syncs and renames in one blocking-pool trip.
async fn save(mut answer: reqwest::Response, path: PathBuf) -> Result<(), BoxError> {
    let name = path.file_name().ok_or("no file name")?.to_string_lossy();
    let part = path.with_file_name(format!(".{name}.part"));
    let mut file: Option<std::fs::File> = None;
    let mut pending = Vec::new();
    while let Some(chunk) = answer.chunk().await? {
        pending.extend_from_slice(&chunk);
        if pending.len() >= WRITE_AT {
            let part = part.clone();
            let (written, emptied) = tokio::task::spawn_blocking(move || {
                let mut file = match file {
                    Some(file) => file,
                    None => std::fs::File::create(&part)?,
                };
                file.write_all(&pending)?;
                pending.clear();
                Ok::<_, std::io::Error>((file, pending))
            })
            .await??;
            (file, pending) = (Some(written), emptied);
        }
    }
    tokio::task::spawn_blocking(move || {
        let mut file = match file {
            Some(file) => file,
            None => std::fs::File::create(&part)?,
        };
        file.write_all(&pending)?;
        file.sync_all()?;
        std::fs::rename(&part, &path)
    })
    .await??;
    Ok(())
}

/// The same work, written by hand with one reqwest client.
async fn with_loop(addr: &str, run: usize, tasks: usize, concurrency: usize, dir: &Path) -> Run {
    happyhorse::install_crypto_provider();
    let http = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .build()
        .expect("a reqwest client");
    let http = &http;
    let outcomes = stream::iter(0..tasks)
        .map(|task| {
            one_task(
                http,
                addr,
                provider_for(task),
                prompt(run, task),
                target(dir, task),
            )
        })
        .buffer_unordered(concurrency);
    Run::collect(outcomes).await
}

/// What a child measured.
struct Run {
    ok: usize,
    seconds: f64,
    /// User and system CPU time.
    cpu_ms: [u64; 2],
    first_error: Option<String>,
}

impl Run {
    /// Drives the tasks (nothing runs before), timing them.
    async fn collect(outcomes: impl futures_util::Stream<Item = Result<(), BoxError>>) -> Run {
        let (started, cpu) = (Instant::now(), cpu_ms());
        let (ok, first_error) = outcomes
            .fold((0, None), |(ok, first), outcome| async move {
                match outcome {
                    Ok(()) => (ok + 1, first),
                    Err(err) => (ok, first.or_else(|| Some(err.to_string()))),
                }
            })
            .await;
        Run {
            ok,
            seconds: started.elapsed().as_secs_f64(),
            cpu_ms: {
                let [user, system] = cpu_ms();
                [user - cpu[0], system - cpu[1]]
            },
            first_error,
        }
    }
}

/// A child process: runs one variant and prints
/// `variant tasks ok seconds user_ms system_ms peak_kib`.
fn child(variant: &str) {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("the parent sets {name}"));
    let addr = var("LIFECYCLE_ADDR");
    let dir = PathBuf::from(var("LIFECYCLE_DIR"));
    let run: usize = var("LIFECYCLE_RUN").parse().expect("a run number");
    let tasks = env_number("LIFECYCLE_TASKS", 1000);
    let concurrency = env_number("LIFECYCLE_CONCURRENCY", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let done = runtime.block_on(async {
        match variant {
            "client" => with_client(&addr, run, tasks, concurrency, &dir).await,
            _ => with_loop(&addr, run, tasks, concurrency, &dir).await,
        }
    });
    if let Some(err) = &done.first_error {
        eprintln!("{variant}: first failure: {err}");
    }
    println!(
        "{variant} {tasks} {} {} {} {} {}",
        done.ok,
        done.seconds,
        done.cpu_ms[0],
        done.cpu_ms[1],
        peak_rss_kib()
    );
}

/// Requests the sandbox served, counted from its request log (`tracing` events of
/// `happyhorse::sandbox::routes::log`): submits, polls, downloads, and answers that were not
/// 2xx.
static REQUESTS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

/// A `tracing` subscriber that counts the sandbox's request log lines and nothing else.
struct RequestCounter;

const REQUEST_LOG: &str = "happyhorse::sandbox::routes::log";

#[derive(Default)]
struct Line {
    post: bool,
    file: bool,
    status: u64,
}

impl tracing::field::Visit for Line {
    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if field.name() == "status" {
            self.status = value;
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "method" => self.post = format!("{value:?}") == "POST",
            "path" => self.file = format!("{value:?}").contains("/files/"),
            _ => {}
        }
    }
}

impl tracing::Subscriber for RequestCounter {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.is_event() && metadata.target() == REQUEST_LOG
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut line = Line::default();
        event.record(&mut line);
        let kind = if line.post {
            0
        } else if line.file {
            2
        } else {
            1
        };
        REQUESTS[kind].fetch_add(1, Ordering::Relaxed);
        if !(200..300).contains(&line.status) {
            REQUESTS[3].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

fn take_requests() -> [u64; 4] {
    REQUESTS
        .each_ref()
        .map(|count| count.swap(0, Ordering::Relaxed))
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// One variant's results, one entry per round.
struct Variant {
    name: &'static str,
    /// Tasks per second.
    rates: Vec<f64>,
    /// The variant's CPU time per task, in µs (user + system, all threads).
    cpu_us: Vec<f64>,
    /// The system part of it.
    system_us: Vec<f64>,
    /// The sandbox's (the parent's) CPU time per task while serving it, in µs.
    sandbox_us: Vec<f64>,
    peak_kib: u64,
    failures: usize,
    /// Submits, polls, downloads and non-2xx answers, summed over the rounds.
    requests: [u64; 4],
}

/// Checks, before anything is timed, that the loop's hand-written bodies are the client's.
fn check_bodies() {
    for provider in Provider::ALL {
        let text = prompt(0, 0);
        let request = VideoRequest::text_to_video(Prompt::new(text.clone()).expect("a prompt"));
        let wire = request
            .to_wire(provider)
            .expect("a wire body")
            .body
            .to_json();
        assert_eq!(
            wire,
            body(provider, text),
            "the loop's {provider} body differs from the client's"
        );
    }
}

/// Runs one child of `variant` and records its round.
fn run_child(variant: &mut Variant, exe: &Path, addr: &str, out_dir: &Path, run: usize, size: u64) {
    std::fs::create_dir_all(out_dir).expect("a scratch directory");
    take_requests();
    let sandbox_cpu: u64 = cpu_ms().iter().sum();
    let out = Command::new(exe)
        .env("LIFECYCLE_VARIANT", variant.name)
        .env("LIFECYCLE_ADDR", addr)
        .env("LIFECYCLE_DIR", out_dir)
        .env("LIFECYCLE_RUN", run.to_string())
        .output()
        .expect("the child runs");
    let sandbox_ms = cpu_ms().iter().sum::<u64>() - sandbox_cpu;
    let requests = take_requests();
    let line = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [_, total, ok, seconds, user, system, kib] = fields[..] else {
        panic!(
            "child {} printed {line:?}; stderr {}",
            variant.name,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let number = |text: &str| text.parse::<f64>().unwrap_or(f64::NAN);
    let (total, ok, seconds, user, system, kib) = (
        number(total),
        number(ok),
        number(seconds),
        number(user),
        number(system),
        number(kib),
    );
    let cpu = user + system;
    // A task counts only if its file is in place, whole.
    let saved = std::fs::read_dir(out_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| {
                    entry.file_name().to_string_lossy().ends_with(".mp4")
                        && entry.metadata().is_ok_and(|meta| meta.len() == size)
                })
                .count()
        })
        .unwrap_or(0);
    let ok = ok.min(saved as f64);
    variant.failures += (total - ok) as usize;
    variant.rates.push(ok / seconds);
    variant.cpu_us.push(cpu * 1000.0 / total);
    variant.system_us.push(system * 1000.0 / total);
    variant.sandbox_us.push(sandbox_ms as f64 * 1000.0 / total);
    variant.peak_kib = variant.peak_kib.max(kib as u64);
    for (sum, count) in variant.requests.iter_mut().zip(requests) {
        *sum += count;
    }
    println!(
        "  round {}: {:<6} {ok}/{total} tasks in {seconds:.3} s = {:.0} tasks/s, CPU {:.0} µs/task \
         ({:.0} system; sandbox {:.0}), peak RSS {:.1} MiB",
        variant.rates.len(),
        variant.name,
        ok / seconds,
        cpu * 1000.0 / total,
        system * 1000.0 / total,
        sandbox_ms as f64 * 1000.0 / total,
        kib / 1024.0
    );
}

fn main() {
    if let Ok(variant) = std::env::var("LIFECYCLE_VARIANT") {
        return child(&variant);
    }
    check_bodies();
    let tasks = env_number("LIFECYCLE_TASKS", 1000);
    let concurrency = env_number("LIFECYCLE_CONCURRENCY", 32);
    let rounds = env_number("LIFECYCLE_ROUNDS", 3).max(1);
    let counter = tracing::subscriber::set_global_default(RequestCounter).is_ok();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut config = SandboxConfig::default();
    let pad = env_number("LIFECYCLE_PAD_BYTES", 0) as u64;
    if pad > 0 {
        config = config.with_pad_to(pad);
    }
    let size = pad.max(happyhorse::sandbox::SAMPLE_MP4.len() as u64);
    let sandbox = runtime
        .block_on(Sandbox::start(config))
        .expect("the sandbox starts");
    let addr = sandbox.addr().to_string();
    for provider in Provider::ALL {
        assert_eq!(base_url(&addr, provider), sandbox.base_url(provider));
    }
    let dir = std::env::var_os("LIFECYCLE_OUT")
        .map_or_else(std::env::temp_dir, PathBuf::from)
        .join(format!("happyhorse-lifecycle-{}", std::process::id()));
    let exe = std::env::current_exe().expect("this binary's path");
    println!(
        "lifecycle: {tasks} tasks (submit, wait, download a {size} B MP4 to .part, fsync, rename) \
         per run, {concurrency} at a time, against an instant in-process sandbox on loopback; \
         {} cores, shared by the variant and the sandbox",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut variants: Vec<Variant> = ["client", "loop"]
        .into_iter()
        .map(|name| Variant {
            name,
            rates: Vec::new(),
            cpu_us: Vec::new(),
            system_us: Vec::new(),
            sandbox_us: Vec::new(),
            peak_kib: 0,
            failures: 0,
            requests: [0; 4],
        })
        .collect();
    let mut run = 0;
    for round in 0..rounds {
        // Alternate which variant goes first, so drift (the disk, the sandbox's growing task
        // table) favours neither.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            run += 1;
            let out_dir = dir.join(format!("run-{run}"));
            run_child(&mut variants[index], &exe, &addr, &out_dir, run, size);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let all_tasks = (tasks * rounds).max(1) as f64;
    for variant in &variants {
        print!(
            "{:<6} median {:.0} tasks/s, CPU {:.0} µs/task ({:.0} system; sandbox {:.0}), peak RSS \
             {:.1} MiB, failed tasks {}",
            variant.name,
            median(&variant.rates),
            median(&variant.cpu_us),
            median(&variant.system_us),
            median(&variant.sandbox_us),
            variant.peak_kib as f64 / 1024.0,
            variant.failures
        );
        let [submits, polls, downloads, refused] = variant.requests;
        if !counter || submits + polls + downloads == 0 {
            print!("; requests not counted (the sandbox logged none)");
        } else {
            print!(
                "; per task {:.2} submits, {:.2} polls, {:.2} downloads, {refused} non-2xx answers",
                submits as f64 / all_tasks,
                polls as f64 / all_tasks,
                downloads as f64 / all_tasks
            );
        }
        println!();
    }
    let (client, baseline) = (&variants[0], &variants[1]);
    let paired: Vec<f64> = client
        .rates
        .iter()
        .zip(&baseline.rates)
        .map(|(c, l)| c / l)
        .collect();
    println!(
        "client / loop: {:.2}x the throughput (median of the rounds' ratios {:.2}x), {:.2}x the \
         CPU per task, {:.2}x the peak memory",
        median(&client.rates) / median(&baseline.rates),
        median(&paired),
        median(&client.cpu_us) / median(&baseline.cpu_us),
        client.peak_kib as f64 / baseline.peak_kib as f64
    );
    if variants.iter().any(|variant| variant.failures > 0) {
        std::process::exit(1);
    }
}
