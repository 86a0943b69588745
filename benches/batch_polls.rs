//! Polls per job and detection lag for simulated ~3-minute jobs: the seed pages' fixed 5 s
//! loop, the client's default backoff, and the history-driven plan.
//!
//! `cargo bench --bench batch_polls` (env: `POLLS_JOBS`, default 1000; `POLLS_TASK_SECONDS`,
//! default `180±20`, also e.g. `lognormal:180,0.1`; `POLLS_TIME_SCALE`, default 20;
//! `POLLS_WARMUP`, default 200).
//!
//! Each strategy runs the batch runner (the library's `Batch::run`, SQLite ledger and all)
//! over the same number of jobs, all in flight at once, against a fresh in-process sandbox
//! whose tasks draw their durations from the same distribution on a clock `POLLS_TIME_SCALE`
//! times as fast as real time; the batch runs on the same scale. The figures come from the
//! sandbox's own records (`Sandbox::observations`): polls served per task, and lag = the
//! simulated time from the task's completion to the first poll answer that showed it done.
//! The history-driven plan needs history: a warm-up batch of `POLLS_WARMUP` jobs (same
//! sandbox, same ledger) records it first, and is not counted.

#[path = "batch_common/mod.rs"]
mod common;

use std::time::Instant;

use happyhorse::{
    batch::{Batch, BatchOptions, PollStrategy},
    ledger::{Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig, TaskSeconds},
    Provider,
};

const PROVIDERS: [Provider; 3] = [Provider::HiApi, Provider::Reapi, Provider::Apiframe];

async fn sandbox(task: &TaskSeconds, scale: f64) -> Sandbox {
    Sandbox::start(
        SandboxConfig::default()
            .with_task_seconds(*task)
            .with_time_scale(scale),
    )
    .await
    .expect("sandbox")
}

async fn run_batch(
    sandbox: &Sandbox,
    ledger: SqliteLedger,
    out: &std::path::Path,
    jobs: &[happyhorse::batch::BatchJob],
    strategy: PollStrategy,
    scale: f64,
) -> happyhorse::batch::BatchReport {
    let mut batch = Batch::new(ledger, out).with_options(BatchOptions {
        concurrency: jobs.len(),
        polls: strategy,
        time_scale: scale,
        ..BatchOptions::default()
    });
    for provider in PROVIDERS {
        batch = batch.with_client(common::client(sandbox, provider));
    }
    batch.plan(jobs).await.expect("plan");
    let report = batch.run().await.expect("run");
    assert!(report.all_downloaded(), "{:?}", report.summary);
    report
}

struct Figures {
    name: String,
    polls: Vec<f64>,
    lags: Vec<f64>,
    wall: f64,
}

async fn measure(
    name: &str,
    strategy: PollStrategy,
    task: &TaskSeconds,
    scale: f64,
    n: usize,
    warmup: usize,
) -> Figures {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("happyhorse.db");
    // One sandbox for the warm-up and the measured jobs (its task ids are unique only within
    // it, and the ledger holds both); only the measured jobs' tasks are counted.
    let sandbox = sandbox(task, scale).await;
    if warmup > 0 {
        let ledger = SqliteLedger::open(&db).await.expect("ledger");
        let jobs = common::jobs(warmup, &PROVIDERS, "warmup");
        run_batch(
            &sandbox,
            ledger,
            &dir.path().join("warmup"),
            &jobs,
            strategy,
            scale,
        )
        .await;
    }
    let ledger = SqliteLedger::open(&db).await.expect("ledger");
    let jobs = common::jobs(n, &PROVIDERS, "measured");
    let started = Instant::now();
    run_batch(
        &sandbox,
        ledger,
        &dir.path().join("out"),
        &jobs,
        strategy,
        scale,
    )
    .await;
    let wall = started.elapsed().as_secs_f64();
    let measured_tasks: std::collections::HashSet<String> = SqliteLedger::open(&db)
        .await
        .expect("ledger")
        .jobs()
        .await
        .expect("jobs")
        .into_iter()
        .filter(|job| job.id.starts_with("measured-"))
        .filter_map(|job| job.task_id)
        .collect();
    let observations: Vec<_> = sandbox
        .observations()
        .into_iter()
        .filter(|o| measured_tasks.contains(&o.id))
        .collect();
    assert_eq!(observations.len(), n, "one task per job");
    let polls = observations.iter().map(|o| o.polls as f64).collect();
    let lags = observations
        .iter()
        .map(|o| {
            let seen = o
                .first_terminal_poll_after
                .expect("every task was seen done");
            seen.saturating_sub(o.duration).as_secs_f64()
        })
        .collect();
    sandbox.shutdown().await;
    Figures {
        name: name.into(),
        polls: common::sorted(polls),
        lags: common::sorted(lags),
        wall,
    }
}

fn main() {
    let n: usize = common::env("POLLS_JOBS", 1000);
    let task: TaskSeconds = common::env("POLLS_TASK_SECONDS", "180±20".parse().expect("default"));
    let scale: f64 = common::env("POLLS_TIME_SCALE", 20.0);
    let warmup: usize = common::env("POLLS_WARMUP", 200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{n} jobs (HiAPI, reapi, Apiframe in turn), task durations {task}, time scale {scale}×, all in flight at once"
    );
    let strategies = [
        (
            "fixed 5 s (seed pages)",
            PollStrategy::Fixed(std::time::Duration::from_secs(5)),
            0,
        ),
        ("client default backoff", PollStrategy::Backoff, 0),
        ("history-driven", PollStrategy::History, warmup),
    ];
    let mut rows = Vec::new();
    for (name, strategy, warm) in strategies {
        let figures = runtime.block_on(measure(name, strategy, &task, scale, n, warm));
        rows.push(figures);
    }
    println!(
        "{:<26} {:>10} {:>8} {:>8} {:>8} | {:>9} {:>9} {:>9} | {:>7}",
        "strategy", "polls mean", "median", "p90", "max", "lag p50", "lag p90", "lag max", "wall"
    );
    for f in &rows {
        let mean = f.polls.iter().sum::<f64>() / f.polls.len() as f64;
        println!(
            "{:<26} {:>10.1} {:>8.0} {:>8.0} {:>8.0} | {:>7.2} s {:>7.2} s {:>7.2} s | {:>5.1} s",
            f.name,
            mean,
            common::quantile(&f.polls, 0.5),
            common::quantile(&f.polls, 0.9),
            common::quantile(&f.polls, 1.0),
            common::quantile(&f.lags, 0.5),
            common::quantile(&f.lags, 0.9),
            common::quantile(&f.lags, 1.0),
            f.wall,
        );
    }
    println!("(polls: status answers the sandbox served per task; lag: simulated seconds from completion to the first answer showing it done)");
}
