//! Crash test into object storage: a batch with `--out s3://...` killed with SIGKILL at random
//! moments and resumed each time.
//!
//! `cargo bench --bench store_crash` (env: `CRASH_JOBS`, default 1000; `CRASH_KILLS`, default
//! 5; `CRASH_CONCURRENCY`, default 32; `CRASH_PAD_MIB`, default 7: each video padded to this
//! size, two parts of an upload; `CRASH_TASK_SECONDS`, default `2±1`).
//!
//! The `happyhorse batch` binary runs in a child process against an in-process sandbox (HiAPI
//! and Apiframe jobs: the providers with idempotency) and `s3s-fs` (a real S3-compatible
//! server checking signatures). Each run is killed at a random moment 0.5 to 15 s after it
//! starts (recording, submitting, polling or uploading), and the same command is run again;
//! after the last kill it runs to the end. Then: the provider tasks the sandbox created (one per
//! job), the objects in the bucket (one per job, each byte for byte the emulator's video, and
//! what the ledger recorded), and the multipart uploads the store still holds open.

#[path = "batch_common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use happyhorse::{
    ledger::{JobState, Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig, TaskSeconds},
    Provider,
};

fn main() {
    happyhorse::install_crypto_provider();
    let n: usize = common::env("CRASH_JOBS", 1000);
    let kills: usize = common::env("CRASH_KILLS", 5);
    let concurrency: usize = common::env("CRASH_CONCURRENCY", 32);
    let pad_mib: u64 = common::env("CRASH_PAD_MIB", 7);
    let task: TaskSeconds = common::env("CRASH_TASK_SECONDS", "2±1".parse().expect("default"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::start(
            SandboxConfig::default()
                .with_task_seconds(task)
                .with_pad_to(pad_mib << 20),
        )
        .await
        .expect("sandbox");
        let store = common::S3sFs::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let jobs_file = dir.path().join("jobs.jsonl");
        let providers = [Provider::HiApi, Provider::Apiframe];
        std::fs::write(&jobs_file, common::lines(n, &providers, "crash")).expect("jobs file");
        let ledger = dir.path().join("hh.db");
        println!("{n} jobs over HiAPI and Apiframe into s3s-fs, {pad_mib} MiB each; concurrency {concurrency}; task durations {task}; {kills} kills");
        let command = || {
            let out = std::path::Path::new("s3://videos/crash");
            let mut command =
                common::batch_command(&jobs_file, out, concurrency, &providers, &sandbox);
            command.arg("--ledger").arg(&ledger);
            store.env(&mut command);
            command
        };
        let started = Instant::now();
        let mut left_open = Vec::new();
        for kill in 1..=kills {
            let mut child = command().spawn().expect("spawn happyhorse batch");
            let after = Duration::from_millis(500 + fastrand::u64(..14_500));
            tokio::time::sleep(after).await;
            let finished = child.try_wait().expect("wait").is_some();
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
            left_open.push(store.open_uploads());
            let summary = SqliteLedger::open(&ledger)
                .await
                .expect("ledger")
                .summary()
                .await
                .expect("summary");
            println!(
                "kill {kill} after {} ms{}: {:?}; uploads open {}",
                after.as_millis(),
                if finished { " (it had already finished)" } else { "" },
                summary.states,
                store.open_uploads()
            );
        }
        let status = command().status().expect("final run");
        let wall = started.elapsed().as_secs_f64();
        let jobs = SqliteLedger::open(&ledger)
            .await
            .expect("ledger")
            .jobs()
            .await
            .expect("jobs");
        // The emulator's video, as a provider's URL serves it.
        let url = jobs
            .iter()
            .find_map(|j| j.output.as_ref().map(|o| o.url.clone()))
            .expect("an output");
        let video = reqwest::get(&url)
            .await
            .expect("the output")
            .bytes()
            .await
            .expect("its bytes");
        let expected = common::sha256(&video);
        let prefix = store.root.path().join("videos/crash");
        let downloaded = jobs.iter().filter(|j| j.state == JobState::Downloaded).count();
        let correct = jobs
            .iter()
            .filter(|j| j.state == JobState::Downloaded)
            .filter(|j| {
                let object = prefix.join(format!("{}.mp4", j.id));
                object.is_file()
                    && common::sha256_file(&object) == expected
                    && j.sha256.as_deref() == Some(expected.as_str())
            })
            .count();
        let objects = std::fs::read_dir(&prefix)
            .expect("the prefix")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".mp4"))
            .count();
        let stats = sandbox.stats();
        println!("final run: exit {:?}; {wall:.1} s in all", status.code());
        println!(
            "provider tasks: {} for {n} jobs; submits sent {}",
            stats.tasks_created.total(),
            stats.submits.total()
        );
        println!(
            "objects: {objects} in the bucket, {downloaded} jobs downloaded, {correct} byte-identical to the emulator's video and to the ledger's SHA-256"
        );
        println!(
            "uploads left open: {} holding {} parts after the final run (after each kill: {left_open:?})",
            store.open_uploads(),
            store.open_parts()
        );
        drop(store);
        sandbox.shutdown().await;
    });
}
