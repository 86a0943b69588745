//! The production shape, as processes: `happyhorse serve` receiving the sandbox's callbacks
//! into a ledger, `happyhorse batch --callback-url` workers polling only to reconcile what never
//! came, and (on PostgreSQL) a worker killed with SIGKILL whose jobs another worker takes over.
//! The sandbox runs in this process; its delivery log and its counts are the oracle.
#![cfg(all(feature = "cli", feature = "sandbox"))]

mod common;

use std::{
    collections::{HashMap, HashSet},
    fs,
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::{sandbox_env, sha256_hex};
use happyhorse::{
    ledger::{self, Job, JobState},
    sandbox::{DeliveryEvent, FaultRates, Sandbox, SandboxConfig, SAMPLE_MP4},
    Provider,
};
use serde_json::Value;

const SECRET: &str = "whsec_callbacks_test";
/// Simulated seconds per real second: 180±20 s tasks end after 5.3-6.7 real seconds.
const SCALE: f64 = 30.0;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn sandbox(runtime: &tokio::runtime::Runtime, faults: FaultRates) -> Sandbox {
    let config = SandboxConfig::default()
        .with_task_seconds(
            "180±20"
                .parse::<happyhorse::sandbox::TaskSeconds>()
                .unwrap(),
        )
        .with_time_scale(SCALE)
        .with_webhook_secret(SECRET)
        .with_faults(faults);
    runtime.block_on(Sandbox::start(config)).unwrap()
}

/// The binary with only `env` for keys and base URLs.
fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command.args(args);
    for provider in Provider::ALL {
        command.env_remove(provider.api_key_env());
        command.env_remove(provider.base_url_env());
    }
    for name in [
        "HAPPYHORSE_PROVIDER",
        "HAPPYHORSE_LEDGER",
        "HAPPYHORSE_CALLBACK_URL",
        "HIAPI_WEBHOOK_SECRET",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command
}

/// A child process killed (SIGKILL) when dropped, its stderr collected.
struct Running {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn spawn(mut command: Command) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut text = sink.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
            }
        });
        Running { child, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the exit (at most `limit`) and returns the status code and stdout.
    fn finish(mut self, limit: Duration) -> (Option<i32>, String) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut out = String::new();
                if let Some(mut stdout) = self.child.stdout.take() {
                    std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
                }
                return (status.code(), out);
            }
            assert!(
                started.elapsed() < limit,
                "still running after {limit:?}; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `happyhorse serve` on a free loopback port over `ledger`; returns it and its base URL.
fn serve(ledger: &str, api_key: &str) -> (Running, String) {
    let mut cmd = command(
        &["-v", "serve", "--addr", "127.0.0.1:0", "--ledger", ledger],
        &[
            ("HIAPI_WEBHOOK_SECRET".into(), SECRET.into()),
            (Provider::Apiframe.api_key_env().into(), api_key.into()),
        ],
    );
    cmd.stdin(Stdio::null());
    let running = Running::spawn(cmd);
    let started = Instant::now();
    loop {
        let text = running.stderr();
        if let Some(at) = text.find("receiving on http://") {
            let rest = &text[at + "receiving on ".len()..];
            let url = rest.split_whitespace().next().unwrap().to_owned();
            return (running, url);
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn jobs_file(dir: &Path, hiapi: usize, apiframe: usize) -> String {
    let mut lines = Vec::new();
    for i in 0..hiapi {
        lines.push(format!(
            r#"{{"id": "h{i}", "prompt": "a horse in a field, take {i}", "duration": 5}}"#
        ));
    }
    for i in 0..apiframe {
        lines.push(format!(
            r#"{{"id": "a{i}", "provider": "apiframe", "prompt": "a horse on a beach, take {i}", "duration": 5, "resolution": "720p"}}"#
        ));
    }
    let path = dir.join("jobs.jsonl");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_owned()
}

fn read_jobs(runtime: &tokio::runtime::Runtime, location: &str) -> Vec<Job> {
    runtime.block_on(async {
        let ledger = ledger::open(location).await.unwrap();
        ledger.jobs().await.unwrap()
    })
}

/// Every job downloaded once, byte-identical to the sandbox's video, one task per job.
fn assert_all_saved(jobs: &[Job], out: &Path) {
    let sha = sha256_hex(SAMPLE_MP4);
    let mut tasks = HashSet::new();
    for job in jobs {
        assert_eq!(job.state, JobState::Downloaded, "{job:?}");
        assert_eq!(job.sha256.as_deref(), Some(sha.as_str()), "{job:?}");
        let file = out.join(&job.output_name);
        assert_eq!(fs::read(&file).unwrap(), SAMPLE_MP4, "{}", file.display());
        assert!(
            tasks.insert(job.task_id.clone().unwrap()),
            "two jobs share a task"
        );
    }
}

/// The tasks whose terminal callback reached the receiver (a 2xx), and the dropped ones.
fn terminal_fates(sandbox: &Sandbox) -> (HashSet<String>, HashSet<String>) {
    let (mut delivered, mut dropped) = (HashSet::new(), HashSet::new());
    for delivery in sandbox.deliveries() {
        if delivery.event != DeliveryEvent::Terminal {
            continue;
        }
        if delivery.outcome.is_delivered() {
            delivered.insert(delivery.task_id.clone());
        } else if delivery.outcome.name() == "dropped" {
            dropped.insert(delivery.task_id.clone());
        }
    }
    (delivered, dropped)
}

#[test]
fn callbacks_settle_a_batch_polls_reconcile_only_the_dropped_and_each_video_is_saved_once() {
    let runtime = runtime();
    let faults = FaultRates::none()
        .with("duplicate_callback", 0.5)
        .unwrap()
        .with("drop_callback", 0.25)
        .unwrap();
    let sandbox = sandbox(&runtime, faults);
    let env = sandbox_env(&sandbox);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let ledger = out.join("happyhorse.db").to_str().unwrap().to_owned();
    let (receiver, base) = serve(&ledger, "afk_test");
    let jobs = jobs_file(dir.path(), 12, 12);
    let scale = SCALE.to_string();
    let batch = Running::spawn(command(
        &[
            "batch",
            &jobs,
            "--out",
            out.to_str().unwrap(),
            "--callback-url",
            &base,
            "--time-scale",
            &scale,
            "--concurrency",
            "32",
            "--json",
        ],
        &env,
    ));
    let (code, stdout) = batch.finish(Duration::from_secs(180));
    assert_eq!(code, Some(0), "{stdout}");
    let report: Value = serde_json::from_str(stdout.trim()).unwrap();

    let jobs = read_jobs(&runtime, &ledger);
    assert_eq!(jobs.len(), 24);
    assert_all_saved(&jobs, &out);
    let stats = sandbox.stats();
    assert_eq!(stats.tasks_created.total(), 24, "one provider task per job");
    assert_eq!(stats.downloads, 24, "one download per job");

    // Every job's end came one way: a callback, or a reconciling poll.
    let (delivered, dropped) = terminal_fates(&sandbox);
    assert_eq!(
        report["heard"].as_u64().unwrap() + report["reconciled"].as_u64().unwrap(),
        24,
        "{report}"
    );
    assert!(!dropped.is_empty() && !delivered.is_empty(), "{dropped:?}");
    let polls: HashMap<String, u64> = sandbox
        .observations()
        .into_iter()
        .map(|o| (o.id, o.polls))
        .collect();
    for task in &delivered {
        assert_eq!(polls[task], 0, "task {task} was heard, yet polled");
    }
    for task in &dropped {
        assert!(
            polls[task] >= 1,
            "task {task}'s callback was dropped and never reconciled"
        );
    }
    assert_eq!(
        report["polls"].as_u64().unwrap(),
        polls.values().sum::<u64>()
    );

    // Every delivery the sandbox made (duplicates and Apiframe progress included) was counted
    // by the receiver against its job, and none changed a settled one.
    let answered = sandbox
        .deliveries()
        .iter()
        .filter(|d| d.outcome.is_delivered())
        .count() as u64;
    assert_eq!(jobs.iter().map(|j| j.deliveries).sum::<u64>(), answered);
    let duplicated = sandbox.deliveries().iter().any(|d| d.copy > 1);
    assert!(duplicated, "no duplicate was delivered");

    drop(receiver);
    let log = fs::read_to_string(out.join("results.jsonl")).unwrap();
    assert!(!log.contains("://"), "results.jsonl holds a URL");
}

#[cfg(feature = "postgres")]
#[test]
fn a_killed_workers_jobs_are_taken_over_after_its_lease_and_each_job_has_one_task() {
    use common::pg::Cluster;

    let Some(cluster) = Cluster::start() else {
        return;
    };
    let runtime = runtime();
    let faults = FaultRates::none()
        .with("duplicate_callback", 0.5)
        .unwrap()
        .with("drop_callback", 0.2)
        .unwrap();
    let sandbox = sandbox(&runtime, faults);
    let env = sandbox_env(&sandbox);
    let url = runtime.block_on(cluster.database("takeover"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (receiver, base) = serve(&url, "afk_test");
    let jobs = jobs_file(dir.path(), 15, 15);
    let scale = SCALE.to_string();
    let worker = || {
        Running::spawn(command(
            &[
                "batch",
                &jobs,
                "--out",
                out.to_str().unwrap(),
                "--ledger",
                &url,
                "--callback-url",
                &base,
                "--time-scale",
                &scale,
                "--concurrency",
                "8",
                "--lease",
                "3",
                "--json",
            ],
            &env,
        ))
    };
    let mut first = worker();
    let second = worker();

    // Kill the first worker once it holds submitted jobs (tasks exist; it is waiting on them).
    let marker = format!("-{}-", first.child.id());
    let started = Instant::now();
    let held: Vec<String> = loop {
        let jobs = read_jobs(&runtime, &url);
        let held: Vec<String> = jobs
            .iter()
            .filter(|j| j.state == JobState::Submitted)
            .filter(|j| j.lease.as_ref().is_some_and(|l| l.owner.contains(&marker)))
            .map(|j| j.id.clone())
            .collect();
        if held.len() >= 3 {
            break held;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first worker never held submitted jobs: {}",
            first.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let (code, stdout) = second.finish(Duration::from_secs(240));
    assert_eq!(code, Some(0), "{stdout}");
    let jobs = read_jobs(&runtime, &url);
    assert_eq!(jobs.len(), 30);
    assert_all_saved(&jobs, &out);
    for id in &held {
        let job = jobs.iter().find(|j| &j.id == id).unwrap();
        assert!(
            job.lease.is_none() && job.state == JobState::Downloaded,
            "{job:?}"
        );
    }
    let stats = sandbox.stats();
    assert_eq!(
        stats.tasks_created.total(),
        30,
        "the killed worker's jobs were resubmitted into new tasks"
    );
    drop(receiver);
}
