//! Callbacks and many workers, end to end: 1,000 jobs (HiAPI and Apiframe, the providers that
//! call back) through two `happyhorse batch` worker processes sharing a PostgreSQL ledger, one
//! of them killed with SIGKILL midway, run twice against the same in-process sandbox setup:
//!
//! - **polling**: no callbacks (the workers poll, timed from history);
//! - **callbacks**: `happyhorse serve` receives the sandbox's deliveries into the same ledger,
//!   every terminal callback is delivered 2 or 3 times (some copies at once) and 10 % are
//!   dropped; the workers run with `--callback-url` and poll only to reconcile.
//!
//! Figures come from the oracle's own records (the sandbox's task, poll, download and delivery
//! logs), the ledger, and the files on disk: jobs lost, provider tasks per job, downloads per
//! job, dropped callbacks reconciled, polls per job, and the time from a task's completion to
//! its file on disk (the file's modification time against the sandbox's real end time).
//!
//! `cargo bench --features postgres --bench batch_callbacks` (PostgreSQL's server programs must
//! be installed: Debian's `postgresql`). `CALLBACKS_JOBS` (1000), `CALLBACKS_CONCURRENCY` (300
//! per worker), `CALLBACKS_SCALE` (20: 180±20 s tasks end after 8-10 real seconds),
//! `CALLBACKS_LEASE` (10 s).

#[path = "batch_common/mod.rs"]
mod batch_common;
#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::{
    collections::{HashMap, HashSet},
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use batch_common::{batch_command, env, lines, quantile, sha256, sorted};
use happyhorse::{
    ledger::{self, Job, JobState},
    sandbox::{DeliveryEvent, FaultRates, Sandbox, SandboxConfig, TaskSeconds, SAMPLE_MP4},
    Provider,
};

const SECRET: &str = "whsec_bench";
const PROVIDERS: [Provider; 2] = [Provider::HiApi, Provider::Apiframe];

struct Setup {
    jobs: usize,
    concurrency: usize,
    scale: f64,
    lease: u64,
}

/// What one phase measured.
struct Phase {
    name: &'static str,
    wall: Duration,
    lost: usize,
    tasks: u64,
    download_requests: u64,
    files_ok: usize,
    polls: Vec<f64>,
    polls_heard: Vec<f64>,
    polls_dropped: Vec<f64>,
    lag_heard: Vec<f64>,
    lag_other: Vec<f64>,
    dropped: usize,
    dropped_saved: usize,
    deliveries: usize,
    copies_beyond_first: usize,
    concurrent_copies: usize,
    counted_by_receiver: u64,
    killed_holding: usize,
    second_exit: Option<i32>,
}

fn main() {
    let setup = Setup {
        jobs: env("CALLBACKS_JOBS", 1000),
        concurrency: env("CALLBACKS_CONCURRENCY", 300),
        scale: env("CALLBACKS_SCALE", 20.0),
        lease: env("CALLBACKS_LEASE", 10),
    };
    let Some(cluster) = pg::Cluster::start() else {
        eprintln!("batch_callbacks needs PostgreSQL's server programs; nothing measured");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{} jobs ({} HiAPI, {} Apiframe), two workers at --concurrency {} with --lease {} s, one SIGKILLed midway; tasks 180±20 s at time scale {} ({:.1}-{:.1} real s)",
        setup.jobs,
        setup.jobs.div_ceil(2),
        setup.jobs / 2,
        setup.concurrency,
        setup.lease,
        setup.scale,
        160.0 / setup.scale,
        200.0 / setup.scale
    );
    let polling = phase(&runtime, &cluster, &setup, false);
    report(&polling);
    let callbacks = phase(&runtime, &cluster, &setup, true);
    report(&callbacks);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "\npolls per job: {:.2} with callbacks vs {:.2} polling ({:.1}x fewer); completion to file median {:.2} s vs {:.2} s",
        mean(&callbacks.polls),
        mean(&polling.polls),
        mean(&polling.polls) / mean(&callbacks.polls).max(f64::MIN_POSITIVE),
        quantile(&sorted(all_lags(&callbacks)), 0.5),
        quantile(&sorted(all_lags(&polling)), 0.5),
    );
}

fn all_lags(phase: &Phase) -> Vec<f64> {
    phase
        .lag_heard
        .iter()
        .chain(&phase.lag_other)
        .copied()
        .collect()
}

fn phase(
    runtime: &tokio::runtime::Runtime,
    cluster: &pg::Cluster,
    setup: &Setup,
    callbacks: bool,
) -> Phase {
    let name = if callbacks { "callbacks" } else { "polling" };
    let mut faults = FaultRates::none();
    if callbacks {
        faults = faults
            .with("duplicate_callback", 1.0)
            .expect("fault")
            .with("drop_callback", 0.1)
            .expect("fault");
    }
    let config = SandboxConfig::default()
        .with_task_seconds("180±20".parse::<TaskSeconds>().expect("task seconds"))
        .with_time_scale(setup.scale)
        .with_webhook_secret(SECRET)
        .with_faults(faults);
    let sandbox = runtime
        .block_on(Sandbox::start(config))
        .expect("sandbox starts");
    let url = runtime.block_on(cluster.database(&format!("bench_{name}")));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let jobs_path = dir.path().join("jobs.jsonl");
    std::fs::write(&jobs_path, lines(setup.jobs, &PROVIDERS, name)).expect("jobs file");

    let receiver = callbacks.then(|| serve(&url));
    let worker = || {
        let mut command = batch_command(&jobs_path, &out, setup.concurrency, &PROVIDERS, &sandbox);
        command
            .args(["--ledger", &url])
            .args(["--lease", &setup.lease.to_string()])
            .args(["--time-scale", &setup.scale.to_string()]);
        if let Some((_, base)) = &receiver {
            command.args(["--callback-url", base]);
        }
        if let Some(log) = std::env::var_os("CALLBACKS_WORKER_LOG") {
            let file = std::fs::File::create(format!(
                "{}.{name}.{}",
                log.to_string_lossy(),
                fastrand::u32(..)
            ))
            .expect("worker log");
            command.stderr(file);
        }
        command.spawn().expect("a worker starts")
    };
    let started = Instant::now();
    let mut first = worker();
    let mut second = worker();

    // Midway: half the jobs saved. Waiting jobs hold no lease (any worker takes their next
    // step); the first worker is killed holding the jobs it is in the middle of a step with.
    let marker = format!("-{}-", first.id());
    let killed_holding = loop {
        let jobs = read_jobs(runtime, &url);
        let saved = jobs
            .iter()
            .filter(|j| j.state == JobState::Downloaded)
            .count();
        let held = jobs
            .iter()
            .filter(|j| !j.state.is_settled())
            .filter(|j| j.lease.as_ref().is_some_and(|l| l.owner.contains(&marker)))
            .count();
        if saved * 2 >= setup.jobs {
            break held;
        }
        if let Ok(Some(status)) = first.try_wait() {
            panic!("the first worker ended before midway: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    first.kill().expect("SIGKILL");
    let _ = first.wait();
    let second_exit = wait(&mut second, Duration::from_secs(1800));
    let wall = started.elapsed();
    if let Some((mut serving, _)) = receiver {
        let _ = serving.kill();
        let _ = serving.wait();
    }

    let jobs = read_jobs(runtime, &url);
    measure(
        name,
        &sandbox,
        &jobs,
        &out,
        wall,
        killed_holding,
        second_exit,
    )
}

fn measure(
    name: &'static str,
    sandbox: &Sandbox,
    jobs: &[Job],
    out: &Path,
    wall: Duration,
    killed_holding: usize,
    second_exit: Option<i32>,
) -> Phase {
    let stats = sandbox.stats();
    let observations: HashMap<String, (u64, SystemTime)> = sandbox
        .observations()
        .into_iter()
        .map(|o| (o.id, (o.polls, o.finished_at)))
        .collect();
    let deliveries = sandbox.deliveries();
    let mut delivered = HashSet::new();
    let mut dropped = HashSet::new();
    for d in deliveries
        .iter()
        .filter(|d| d.event == DeliveryEvent::Terminal)
    {
        if d.outcome.is_delivered() {
            delivered.insert(d.task_id.clone());
        } else if d.outcome.name() == "dropped" {
            dropped.insert(d.task_id.clone());
        }
    }
    let video = sha256(SAMPLE_MP4);
    let mut phase = Phase {
        name,
        wall,
        lost: 0,
        tasks: stats.tasks_created.total(),
        download_requests: stats.downloads,
        files_ok: 0,
        polls: Vec::new(),
        polls_heard: Vec::new(),
        polls_dropped: Vec::new(),
        lag_heard: Vec::new(),
        lag_other: Vec::new(),
        dropped: dropped.len(),
        dropped_saved: 0,
        deliveries: deliveries
            .iter()
            .filter(|d| d.outcome.is_delivered())
            .count(),
        copies_beyond_first: deliveries
            .iter()
            .filter(|d| d.event == DeliveryEvent::Terminal && d.copy > 1 && d.attempt > 0)
            .count(),
        concurrent_copies: deliveries
            .iter()
            .filter(|d| d.event == DeliveryEvent::Terminal && d.concurrent)
            .count(),
        counted_by_receiver: jobs.iter().map(|j| j.deliveries).sum(),
        killed_holding,
        second_exit,
    };
    let mut why_lost: std::collections::BTreeMap<String, usize> = Default::default();
    for job in jobs {
        if job.state != JobState::Downloaded {
            phase.lost += 1;
            let error: String = job
                .error
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(120)
                .collect();
            *why_lost
                .entry(format!("{} {error}", job.state))
                .or_default() += 1;
            continue;
        }
        let path = out.join(&job.output_name);
        if std::fs::read(&path).is_ok_and(|bytes| sha256(&bytes) == video)
            && job.sha256.as_deref() == Some(video.as_str())
        {
            phase.files_ok += 1;
        }
        let Some(task) = job.task_id.as_deref() else {
            continue;
        };
        let Some((polls, finished_at)) = observations.get(task) else {
            continue;
        };
        phase.polls.push(*polls as f64);
        // Signed: a poll can see the end a few milliseconds before the sandbox's own clock
        // says it came (the status answer rounds to whole simulated seconds).
        let lag = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .map(|modified| match modified.duration_since(*finished_at) {
                Ok(after) => after.as_secs_f64(),
                Err(before) => -before.duration().as_secs_f64(),
            });
        let heard = delivered.contains(task);
        if heard {
            phase.polls_heard.push(*polls as f64);
        }
        if dropped.contains(task) {
            phase.polls_dropped.push(*polls as f64);
            phase.dropped_saved += 1;
        }
        if let Some(lag) = lag {
            if heard {
                phase.lag_heard.push(lag);
            } else {
                phase.lag_other.push(lag);
            }
        }
    }
    for (why, n) in why_lost {
        println!("not downloaded ({name}): {n} x {why}");
    }
    phase
}

fn report(p: &Phase) {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let line = |label: &str, v: &[f64]| {
        let s = sorted(v.to_vec());
        format!(
            "{label}: n {}, mean {:.2}, median {:.2}, p90 {:.2}, max {:.2}",
            s.len(),
            mean(&s),
            quantile(&s, 0.5),
            quantile(&s, 0.9),
            s.last().copied().unwrap_or(f64::NAN)
        )
    };
    println!("\n== {} ({:.1} s wall)", p.name, p.wall.as_secs_f64());
    println!(
        "first worker SIGKILLed midway, holding {} jobs in the middle of a step; the second exited {:?}",
        p.killed_holding, p.second_exit
    );
    println!(
        "jobs lost (not downloaded): {}; provider tasks: {}; files byte-identical to the sandbox's video: {}; download requests: {}",
        p.lost, p.tasks, p.files_ok, p.download_requests
    );
    println!("{}", line("polls per job", &p.polls));
    if p.name == "callbacks" {
        println!(
            "deliveries answered 2xx (terminal copies and Apiframe progress): {}; the receiver counted {} against jobs; extra terminal copies sent: {} ({} terminal copies went concurrently with another); tasks whose callback was dropped: {}",
            p.deliveries, p.counted_by_receiver, p.copies_beyond_first, p.concurrent_copies, p.dropped
        );
        println!(
            "dropped callbacks reconciled (job saved): {} of {}",
            p.dropped_saved, p.dropped
        );
        println!("{}", line("polls per job, heard", &p.polls_heard));
        println!("{}", line("polls per job, dropped", &p.polls_dropped));
        println!("{}", line("completion to file (s), heard", &p.lag_heard));
        println!(
            "{}",
            line("completion to file (s), reconciled", &p.lag_other)
        );
    } else {
        println!("{}", line("completion to file (s)", &p.lag_other));
    }
}

fn read_jobs(runtime: &tokio::runtime::Runtime, url: &str) -> Vec<Job> {
    runtime.block_on(async {
        let ledger = ledger::open(url).await.expect("ledger");
        ledger.jobs().await.expect("jobs")
    })
}

fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `happyhorse serve` over `url` on a free loopback port: the child and its base URL.
// The child is handed to the caller, which kills and waits for it after the phase.
#[allow(clippy::zombie_processes)]
fn serve(url: &str) -> (Child, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_happyhorse"))
        .args(["serve", "--addr", "127.0.0.1:0", "--ledger", url])
        .env("HIAPI_WEBHOOK_SECRET", SECRET)
        .env(
            Provider::Apiframe.api_key_env(),
            format!("{}bench", Provider::Apiframe.key_prefix()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stderr = Arc::new(Mutex::new(String::new()));
    if let Some(pipe) = child.stderr.take() {
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap_or_else(|p| p.into_inner());
                text.push_str(&line);
                text.push('\n');
            }
        });
    }
    let started = Instant::now();
    loop {
        let text = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(at) = text.find("receiving on http://") {
            let base = text[at + "receiving on ".len()..]
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            return (child, base);
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not start: {text}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
