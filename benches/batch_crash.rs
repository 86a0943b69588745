//! Crash test: a batch killed with SIGKILL at random moments and resumed each time.
//!
//! `cargo bench --bench batch_crash` (env: `CRASH_JOBS`, default 500; `CRASH_KILLS`, default
//! 5; `CRASH_CONCURRENCY`, default 32; `CRASH_TASK_SECONDS`, default `2±1`).
//!
//! The `happyhorse batch` binary runs in a child process against an in-process sandbox, over
//! HiAPI and Apiframe jobs (the providers with idempotency; a reapi submit cut off by a kill
//! is reported `uncertain` by design). Each run is killed with SIGKILL at a random moment
//! between 0.2 s and 4 s after it starts (while it records, submits, polls or downloads), and
//! the same command is run again; after the last kill it runs to the end. Then: the provider
//! tasks the sandbox created (exactly one per job, or the batch paid twice), the files (every
//! one the sandbox's MP4, byte for byte), and results.jsonl (every job `downloaded`).

#[path = "batch_common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use happyhorse::{
    ledger::{JobState, Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig, TaskSeconds, SAMPLE_MP4},
    Provider,
};

fn main() {
    let n: usize = common::env("CRASH_JOBS", 500);
    let kills: usize = common::env("CRASH_KILLS", 5);
    let concurrency: usize = common::env("CRASH_CONCURRENCY", 32);
    let task: TaskSeconds = common::env("CRASH_TASK_SECONDS", "2±1".parse().expect("default"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(task))
            .await
            .expect("sandbox");
        let dir = tempfile::tempdir().expect("tempdir");
        let jobs_file = dir.path().join("jobs.jsonl");
        let providers = [Provider::HiApi, Provider::Apiframe];
        std::fs::write(&jobs_file, common::lines(n, &providers, "crash")).expect("jobs file");
        let out = dir.path().join("out");
        println!("{n} jobs over HiAPI and Apiframe; concurrency {concurrency}; task durations {task}; {kills} kills");
        let command =
            || common::batch_command(&jobs_file, &out, concurrency, &providers, &sandbox);
        let started = Instant::now();
        for kill in 1..=kills {
            let mut child = command().spawn().expect("spawn happyhorse batch");
            let after = Duration::from_millis(200 + fastrand::u64(..3800));
            tokio::time::sleep(after).await;
            let finished = child.try_wait().expect("wait").is_some();
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
            let summary = common::ledger_summary(&out).await;
            println!(
                "kill {kill} after {} ms{}: {:?}",
                after.as_millis(),
                if finished { " (it had already finished)" } else { "" },
                summary.states
            );
        }
        let status = command().status().expect("final run");
        let wall = started.elapsed().as_secs_f64();
        let jobs = SqliteLedger::open(out.join("happyhorse.db"))
            .await
            .expect("ledger")
            .jobs()
            .await
            .expect("jobs");
        let stats = sandbox.stats();
        let expected = common::sha256(SAMPLE_MP4);
        let downloaded = jobs.iter().filter(|j| j.state == JobState::Downloaded).count();
        let correct = jobs
            .iter()
            .filter(|j| j.state == JobState::Downloaded)
            .filter(|j| {
                j.file.as_ref().is_some_and(|f| common::sha256_file(f) == expected)
                    && j.sha256.as_deref() == Some(expected.as_str())
            })
            .count();
        let results = std::fs::read_to_string(out.join("results.jsonl")).expect("results.jsonl");
        let results_downloaded = results
            .lines()
            .filter(|l| l.contains("\"state\":\"downloaded\""))
            .count();
        let mp4s = std::fs::read_dir(&out)
            .expect("out dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".mp4"))
            .count();
        println!(
            "final run: exit {:?}; {wall:.1} s in all",
            status.code()
        );
        println!(
            "provider tasks: {} for {n} jobs (HiAPI {}, Apiframe {}); submits sent {}",
            stats.tasks_created.total(),
            stats.tasks_created.get(Provider::HiApi),
            stats.tasks_created.get(Provider::Apiframe),
            stats.submits.total()
        );
        println!(
            "files: {downloaded} downloaded, {correct} byte-identical to the sandbox's MP4, {mp4s} .mp4 files in the directory, {results_downloaded} results lines `downloaded`"
        );
        sandbox.shutdown().await;
    });
}
