//! Waiting costs nothing: many jobs whose tasks take a minute, with few worker slots.
//!
//! `cargo bench --bench batch_waiting` (env: `WAIT_JOBS`, default 2000; `WAIT_CONCURRENCY`,
//! default 8; `WAIT_TASK_SECONDS`, default 60, emulator time; `WAIT_TIME_SCALE`, default 100:
//! the emulator's and the batch's clocks run that much faster than real time;
//! `BASELINE_BIN`: an earlier `happyhorse` binary to run the same batch with, for comparison).
//!
//! The `happyhorse batch` binary runs in a child process (its peak memory is its own: VmHWM,
//! sampled every 100 ms) against an in-process sandbox. A worker that held its slot through a
//! task's wait would need about jobs / concurrency × task seconds; one whose waiting jobs hold
//! no slot needs about one task's time plus the submits and downloads. Reported: wall time
//! (real and on the batch's clock), peak memory, tasks created, files saved.

#[path = "batch_common/mod.rs"]
mod common;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use happyhorse::{
    ledger::JobState,
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};

struct Measured {
    wall: Duration,
    peak_mib: f64,
    downloaded: u64,
    exit: Option<i32>,
}

async fn measure(
    bin: &Path,
    jobs: &Path,
    out: &Path,
    concurrency: usize,
    scale: f64,
    sandbox: &Sandbox,
) -> Measured {
    let mut command =
        common::batch_command_of(bin, jobs, out, concurrency, &[Provider::HiApi], sandbox);
    command.args(["--time-scale", &scale.to_string()]);
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn happyhorse batch");
    let (status, peak_mib) = common::watch_child(&mut child).await;
    let wall = started.elapsed();
    Measured {
        wall,
        peak_mib,
        downloaded: common::ledger_summary(out)
            .await
            .count(JobState::Downloaded),
        exit: status.code(),
    }
}

fn main() {
    let n: usize = common::env("WAIT_JOBS", 2000);
    let concurrency: usize = common::env("WAIT_CONCURRENCY", 8);
    let task: f64 = common::env("WAIT_TASK_SECONDS", 60.0);
    let scale: f64 = common::env("WAIT_TIME_SCALE", 100.0);
    let baseline = std::env::var_os("BASELINE_BIN");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let bound = (n as f64 / concurrency as f64).ceil() * task;
        println!(
            "{n} HiAPI jobs, tasks of {task} s (emulator time, {scale}x faster than real), --concurrency {concurrency}; a slot held through each wait needs about {bound:.0} s (batch clock), {:.0} s real",
            bound / scale
        );
        let mut runs = vec![("this build", std::path::PathBuf::from(env!("CARGO_BIN_EXE_happyhorse")))];
        if let Some(bin) = baseline {
            runs.push(("baseline", bin.into()));
        }
        let mut walls = Vec::new();
        for (name, bin) in runs {
            let sandbox = Sandbox::start(
                SandboxConfig::default()
                    .with_task_seconds(task)
                    .with_time_scale(scale),
            )
            .await
            .expect("sandbox");
            let dir = tempfile::tempdir().expect("tempdir");
            let jobs = dir.path().join("jobs.jsonl");
            std::fs::write(&jobs, common::lines(n, &[Provider::HiApi], "wait")).expect("jobs file");
            let out = dir.path().join("out");
            let m = measure(&bin, &jobs, &out, concurrency, scale, &sandbox).await;
            println!(
                "{name}: exit {:?}, {} of {n} downloaded, {} tasks created; wall {} real ({:.0} s batch clock); peak memory {:.1} MiB",
                m.exit,
                m.downloaded,
                sandbox.stats().tasks_created.get(Provider::HiApi),
                common::secs(m.wall),
                m.wall.as_secs_f64() * scale,
                m.peak_mib
            );
            walls.push(m.wall.as_secs_f64());
        }
        if let [now, before] = walls[..] {
            println!("wall time, this build / baseline: {:.3}", now / before);
        }
    });
}
