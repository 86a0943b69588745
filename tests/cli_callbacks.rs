//! The production shape, as processes: `happyhorse serve` receiving the sandbox's callbacks
//! into a ledger, `happyhorse batch --callback-url` workers polling only to reconcile what never
//! came, and (on PostgreSQL) a worker killed with SIGKILL whose jobs another worker takes over.
//! The sandbox runs in this process; its delivery log and its counts are the oracle.
#![cfg(all(feature = "cli", feature = "sandbox"))]

mod common;

use std::{
    collections::{HashMap, HashSet},
    fs,
    path::Path,
    time::Duration,
};

use common::{
    process::{self, command, pairs, Running},
    runtime, sandbox_env, sha256_hex,
};
use happyhorse::{
    ledger::{self, Job, JobState},
    sandbox::{DeliveryEvent, FaultRates, Sandbox, SandboxConfig, SAMPLE_MP4},
    Provider,
};
use serde_json::Value;

const SECRET: &str = "whsec_callbacks_test";
/// Simulated seconds per real second: 180±20 s tasks end after 5.3-6.7 real seconds.
const SCALE: f64 = 30.0;

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

const PATIENCE: Duration = Duration::from_secs(240);

/// `happyhorse serve` over `ledger`, verifying HiAPI with [`SECRET`] and Apiframe with
/// `api_key`.
fn serve(ledger: &str, api_key: &str) -> (Running, String) {
    let apiframe = Provider::Apiframe.api_key_env();
    process::serve(
        ledger,
        &[
            ("HIAPI_WEBHOOK_SECRET", SECRET),
            (apiframe, api_key),
            ("HAPPYHORSE_SERVE_SUMMARY_EVERY", "1"),
        ],
        PATIENCE,
    )
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
        &pairs(&env),
    ));
    let exit = batch.exit(PATIENCE);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
    let report: Value = serde_json::from_str(exit.stdout.trim()).unwrap();

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

    // Its lines said how each job ended, as it did.
    let told = exit.stderr.matches(" (ended by its callback)").count() as u64;
    let polled = exit
        .stderr
        .matches(" (ended by a reconciling poll)")
        .count() as u64;
    assert_eq!(
        (Some(told), Some(polled)),
        (report["heard"].as_u64(), report["reconciled"].as_u64()),
        "{}",
        exit.stderr
    );

    // `jobs` shows whether callbacks are arriving: the same counts, from the ledger.
    let shown =
        Running::spawn(command(&["jobs", "--ledger", &ledger, "--json"], &[])).exit(PATIENCE);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    let summary: Value = serde_json::from_str(shown.stdout.trim()).unwrap();
    assert_eq!(summary["callbacks"]["jobs"], 24, "{summary}");
    assert_eq!(
        summary["callbacks"]["heard"], report["heard"],
        "{summary} {report}"
    );
    assert_eq!(
        summary["callbacks"]["reconciled"], report["reconciled"],
        "{summary} {report}"
    );
    let text = Running::spawn(command(&["jobs", "--ledger", &ledger], &[])).exit(PATIENCE);
    assert!(
        text.stdout.contains(&format!(
            "callbacks: {} of 24 jobs submitted with one ended by a callback, {} by a reconciling poll",
            report["heard"], report["reconciled"]
        )),
        "{}",
        text.stdout
    );

    // `serve` said, a line a second, that they were arriving: its lines add up to them all.
    let said = |receiver: &Running| -> u64 {
        receiver
            .stderr()
            .lines()
            .filter_map(|line| line.strip_prefix("last 1 s: "))
            .map(|rest| {
                let n = rest.split(' ').next().unwrap_or_default();
                n.parse::<u64>()
                    .unwrap_or_else(|_| panic!("a count in {rest:?}"))
            })
            .sum()
    };
    let started = std::time::Instant::now();
    while said(&receiver) < answered && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(said(&receiver), answered, "{}", receiver.stderr());
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
    // A quarter of the requests answered 2 s late: a worker's steps (a submit, a reconciling
    // poll, a download) then hold their leases long enough to be seen, and killed, mid-step
    // on a loaded machine too.
    let faults = FaultRates::none()
        .with("duplicate_callback", 0.5)
        .unwrap()
        .with("drop_callback", 0.2)
        .unwrap()
        .with("slow", 0.25)
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
            &pairs(&env),
        ))
    };
    let mut first = worker();
    let second = worker();

    // Kill the first worker once tasks exist and it holds jobs in the middle of a step
    // (waiting jobs hold no lease: any worker takes their next step when it is due).
    let marker = format!("-{}-", first.child.id());
    let started = std::time::Instant::now();
    let held: Vec<String> = loop {
        let jobs = read_jobs(&runtime, &url);
        let held: Vec<String> = jobs
            .iter()
            .filter(|j| !j.state.is_settled())
            .filter(|j| j.lease.as_ref().is_some_and(|l| l.owner.contains(&marker)))
            .map(|j| j.id.clone())
            .collect();
        let submitted = jobs.iter().filter(|j| j.task_id.is_some()).count();
        if !held.is_empty() && submitted >= 3 {
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

    let exit = second.exit(PATIENCE);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
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
