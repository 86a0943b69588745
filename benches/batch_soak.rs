//! Fault soak: many jobs across the three providers while about a fifth of the requests fail
//! (429, 503, 500, dropped connections, truncated downloads) and 1 % of tasks fail.
//!
//! `cargo bench --bench batch_soak` (env: `SOAK_JOBS`, default 10000; `SOAK_CONCURRENCY`,
//! default 256; `SOAK_TASK_SECONDS`, default `1±0.5`).
//!
//! The `happyhorse batch` binary runs in a child process (so its peak memory is its own)
//! against an in-process sandbox with random faults on every request: `rate_limit` 5 %,
//! `unavailable` 4 %, `moderation_unavailable` 2 %, `server_error` 5 %, `reset` 3 % (the
//! connection dropped after a submit created its task), `truncate` 5 % of downloads, and `fail`
//! 1 % of tasks. The command is rerun while it leaves jobs for a later run (as a user would),
//! at most 5 times. Then, from the ledger, results.jsonl and the sandbox's own counts:
//!
//! - lost: jobs that are neither downloaded, nor failed by the injected task failure, nor
//!   reported uncertain (reapi submits whose answer was lost: reported, never resubmitted);
//! - duplicate provider tasks on HiAPI and Apiframe: tasks the sandbox created beyond one
//!   per job;
//! - files: every downloaded file's SHA-256 against the sandbox's MP4, and against the ledger;
//! - the child's peak resident memory (VmHWM, sampled every 100 ms).

#[path = "batch_common/mod.rs"]
mod common;

use std::{collections::HashMap, time::Instant};

use happyhorse::{
    ledger::{JobState, Ledger, SqliteLedger},
    sandbox::{FaultRates, Sandbox, SandboxConfig, TaskSeconds, SAMPLE_MP4},
    Provider,
};

const FAULTS: [(&str, f64); 7] = [
    ("rate_limit", 0.05),
    ("unavailable", 0.04),
    ("moderation_unavailable", 0.02),
    ("server_error", 0.05),
    ("reset", 0.03),
    ("truncate", 0.05),
    ("fail", 0.01),
];

fn main() {
    let n: usize = common::env("SOAK_JOBS", 10_000);
    let concurrency: usize = common::env("SOAK_CONCURRENCY", 256);
    let task: TaskSeconds = common::env("SOAK_TASK_SECONDS", "1±0.5".parse().expect("default"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut faults = FaultRates::none();
        for (name, rate) in FAULTS {
            faults = faults.with(name, rate).expect("known fault");
        }
        let sandbox = Sandbox::start(
            SandboxConfig::default()
                .with_task_seconds(task)
                .with_faults(faults),
        )
        .await
        .expect("sandbox");
        let dir = tempfile::tempdir().expect("tempdir");
        let jobs_file = dir.path().join("jobs.jsonl");
        let providers = [Provider::HiApi, Provider::Reapi, Provider::Apiframe];
        std::fs::write(&jobs_file, common::lines(n, &providers, "soak")).expect("jobs file");
        let out = dir.path().join("out");
        println!(
            "{n} jobs over HiAPI, reapi, Apiframe; concurrency {concurrency}; task durations {task}; faults {FAULTS:?}"
        );
        let started = Instant::now();
        let mut peak: f64 = 0.0;
        let mut runs = 0;
        loop {
            runs += 1;
            let mut command =
                common::batch_command(&jobs_file, &out, concurrency, &providers, &sandbox);
            let mut child = command.spawn().expect("spawn happyhorse batch");
            let (status, child_peak) = common::watch_child(&mut child).await;
            peak = peak.max(child_peak);
            let summary = common::ledger_summary(&out).await;
            let unsettled = summary.total()
                - JobState::ALL
                    .iter()
                    .filter(|s| s.is_settled())
                    .map(|s| summary.count(*s))
                    .sum::<u64>();
            println!(
                "run {runs}: exit {:?}, {} s, states {:?}",
                status.code(),
                started.elapsed().as_secs(),
                summary.states
            );
            if unsettled == 0 || runs >= 5 {
                break;
            }
        }
        let wall = started.elapsed().as_secs_f64();
        let ledger = SqliteLedger::open(out.join("happyhorse.db"))
            .await
            .expect("ledger");
        let jobs = ledger.jobs().await.expect("jobs");
        let stats = sandbox.stats();
        let expected = common::sha256(SAMPLE_MP4);
        let mut per_provider: HashMap<Provider, u64> = HashMap::new();
        let (mut downloaded, mut failed, mut uncertain, mut lost, mut bad_files) = (0, 0, 0, 0, 0);
        for job in &jobs {
            *per_provider.entry(job.provider).or_default() += 1;
            match job.state {
                JobState::Downloaded => {
                    downloaded += 1;
                    let file = job.file.clone().expect("a downloaded job names its file");
                    let actual = common::sha256_file(&file);
                    if actual != expected || job.sha256.as_deref() != Some(actual.as_str()) {
                        bad_files += 1;
                    }
                }
                JobState::Failed => failed += 1,
                JobState::Uncertain => uncertain += 1,
                _ => lost += 1,
            }
        }
        let duplicates: Vec<String> = [Provider::HiApi, Provider::Apiframe]
            .into_iter()
            .map(|p| {
                let jobs = per_provider.get(&p).copied().unwrap_or(0);
                let tasks = stats.tasks_created.get(p);
                format!("{p}: {jobs} jobs, {tasks} tasks, {} duplicates", tasks.saturating_sub(jobs))
            })
            .collect();
        println!("after {runs} run(s), {wall:.0} s: downloaded {downloaded}, failed {failed} (injected task failures), uncertain {uncertain} (reapi lost answers, reported), lost {lost}");
        println!("{}", duplicates.join("; "));
        println!(
            "reapi: {} jobs, {} tasks created (a lost answer may or may not have created one)",
            per_provider.get(&Provider::Reapi).copied().unwrap_or(0),
            stats.tasks_created.get(Provider::Reapi)
        );
        println!(
            "files: {downloaded} checked, {bad_files} differ from the sandbox's MP4 or the ledger's SHA-256"
        );
        println!(
            "sandbox served {} submits, {} polls, {} downloads",
            stats.submits.total(),
            stats.polls.total(),
            stats.downloads
        );
        println!("peak memory of the batch process: {peak:.1} MiB");
        sandbox.shutdown().await;
    });
}
