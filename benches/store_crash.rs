//! Crash test into object storage: a batch with `--out s3://...` killed with SIGKILL at random
//! moments and resumed each time.
//!
//! `cargo bench --bench store_crash` (env: `CRASH_JOBS`, default 1000; `CRASH_KILLS`, default
//! 5; `CRASH_CONCURRENCY`, default 32; `CRASH_PAD_MIB`, default 7: each video padded to this
//! size, two parts of an upload; `CRASH_TASK_SECONDS`, default `2±1`; `CRASH_STORE`, `moto`
//! (default) or `s3s-fs`).
//!
//! The `happyhorse batch` binary runs in a child process against an in-process sandbox (HiAPI
//! and Apiframe jobs: the providers with idempotency) and a real S3-compatible server: moto's
//! (which lists open multipart uploads, as S3 does, so the batch can abort those a kill left
//! before their ids were recorded) or `s3s-fs` (which checks signatures but lists no uploads:
//! such uploads stay open there, and a completion cut off by a kill leaves its part files). Each run is killed at a random moment 0.5 to 15 s after it
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

/// The store under test.
enum Store {
    Moto(common::Moto),
    S3sFs(common::S3sFs),
}

impl Store {
    fn env(&self, command: &mut std::process::Command) {
        match self {
            Store::Moto(moto) => moto.env(command),
            Store::S3sFs(fs) => fs.env(command),
        }
    }

    async fn open_uploads(&self) -> usize {
        match self {
            Store::Moto(moto) => moto.open_uploads().await,
            Store::S3sFs(fs) => fs.open_uploads(),
        }
    }

    /// Part files left outside any upload (s3s-fs only: a completion cut off midway).
    fn stray_parts(&self) -> Option<usize> {
        match self {
            Store::Moto(_) => None,
            Store::S3sFs(fs) => Some(fs.open_parts()),
        }
    }

    /// The `.mp4` objects under `videos/crash/`, by name, with their SHA-256.
    async fn videos(&self) -> std::collections::BTreeMap<String, String> {
        let mut found = std::collections::BTreeMap::new();
        match self {
            Store::Moto(moto) => {
                for key in moto.keys("crash/").await {
                    let Some(name) = key.strip_prefix("crash/").filter(|k| k.ends_with(".mp4"))
                    else {
                        continue;
                    };
                    if let Some(bytes) = moto.object(&key).await {
                        found.insert(name.to_owned(), common::sha256(&bytes));
                    }
                }
            }
            Store::S3sFs(fs) => {
                let prefix = fs.root.path().join("videos/crash");
                for entry in std::fs::read_dir(&prefix).expect("the prefix").flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if name.ends_with(".mp4") {
                        found.insert(name, common::sha256_file(&entry.path()));
                    }
                }
            }
        }
        found
    }
}

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
        let which: String = common::env("CRASH_STORE", "moto".to_owned());
        let store = match which.as_str() {
            "s3s-fs" => Store::S3sFs(common::S3sFs::start()),
            _ => Store::Moto(common::Moto::start().await),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let jobs_file = dir.path().join("jobs.jsonl");
        let providers = [Provider::HiApi, Provider::Apiframe];
        std::fs::write(&jobs_file, common::lines(n, &providers, "crash")).expect("jobs file");
        let ledger = dir.path().join("hh.db");
        println!("{n} jobs over HiAPI and Apiframe into {which}, {pad_mib} MiB each; concurrency {concurrency}; task durations {task}; {kills} kills");
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
            left_open.push(store.open_uploads().await);
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
                store.open_uploads().await
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
        let videos = store.videos().await;
        let downloaded = jobs.iter().filter(|j| j.state == JobState::Downloaded).count();
        let correct = jobs
            .iter()
            .filter(|j| j.state == JobState::Downloaded)
            .filter(|j| {
                videos.get(&format!("{}.mp4", j.id)) == Some(&expected)
                    && j.sha256.as_deref() == Some(expected.as_str())
            })
            .count();
        let objects = videos.len();
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
            "uploads left open after the final run: {} (after each kill: {left_open:?}){}",
            store.open_uploads().await,
            store
                .stray_parts()
                .map(|parts| format!("; part files outside any upload: {parts}"))
                .unwrap_or_default()
        );
        drop(store);
        sandbox.shutdown().await;
    });
}
