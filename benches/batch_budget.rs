//! One budget for every worker: two workers on one PostgreSQL ledger, each with its own jobs,
//! under one `max_video_seconds` cap smaller than their sum.
//!
//! `cargo bench --features postgres --bench batch_budget` (PostgreSQL's server programs must be
//! installed: Debian's `postgresql`; env `BUDGET_JOBS`, jobs per worker, default 500;
//! `BUDGET_CAP`, seconds of video, default 60 % of all the jobs' seconds;
//! `BUDGET_CONCURRENCY`, default 32).
//!
//! Both jobs files are recorded first without a cap (as two files planned at the same moment
//! both pass the plan's own check), then the two workers run at once, each in its own
//! connection pool, with the cap. Reported: the seconds of video the sandbox was asked for
//! (tasks created × 5 s) against the cap, what the ledger holds as committed, and the jobs
//! each worker left for later as over the budget.

#[path = "batch_common/mod.rs"]
mod common;
#[path = "../tests/common/pg.rs"]
#[allow(dead_code)]
mod pg;

use std::time::Instant;

use happyhorse::{
    batch::{Batch, BatchOptions, Budget},
    ledger::{Ledger, PgLedger},
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};

fn main() {
    let per_worker: usize = common::env("BUDGET_JOBS", 500);
    let concurrency: usize = common::env("BUDGET_CONCURRENCY", 32);
    let total_seconds = (2 * per_worker * 5) as u64;
    let cap: u64 = common::env("BUDGET_CAP", total_seconds * 6 / 10);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(cluster) = pg::Cluster::start() else {
        eprintln!("batch_budget: PostgreSQL's server programs are not installed; skipped");
        return;
    };
    runtime.block_on(async {
        let url = cluster.database("one_budget").await;
        let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.5))
            .await
            .expect("sandbox");
        let dir = tempfile::tempdir().expect("tempdir");
        let planner = PgLedger::connect(&url).await.expect("ledger");
        let plan = Batch::new(planner, dir.path())
            .with_client(common::client(&sandbox, Provider::HiApi));
        plan.plan(&common::jobs(per_worker, &[Provider::HiApi], "a"))
            .await
            .expect("plan a");
        plan.plan(&common::jobs(per_worker, &[Provider::HiApi], "b"))
            .await
            .expect("plan b");
        println!(
            "two workers, {per_worker} HiAPI jobs of 5 s each ({total_seconds} s in all), one cap of {cap} s, --concurrency {concurrency} each"
        );
        let worker = || {
            let url = url.clone();
            let out = dir.path().to_path_buf();
            let client = common::client(&sandbox, Provider::HiApi);
            async move {
                let ledger = PgLedger::connect(&url).await.expect("ledger");
                Batch::new(ledger, out)
                    .with_client(client)
                    .with_options(BatchOptions {
                        concurrency,
                        budget: Budget {
                            max_video_seconds: Some(cap),
                            ..Budget::default()
                        },
                        ..BatchOptions::default()
                    })
                    .run()
                    .await
                    .expect("run")
            }
        };
        let started = Instant::now();
        let (one, two) = tokio::join!(worker(), worker());
        let wall = started.elapsed();
        let asked = sandbox.stats().tasks_created.get(Provider::HiApi) * 5;
        let ledger = PgLedger::connect(&url).await.expect("ledger");
        let committed = ledger.summary().await.expect("summary").committed.video_seconds();
        let over = |r: &happyhorse::batch::BatchReport| {
            r.deferred
                .iter()
                .filter(|(_, why)| why.contains("cap of"))
                .count()
        };
        println!(
            "seconds of video submitted: {asked} (cap {cap}: {}); committed in the ledger: {committed}; submits: {} + {}; left as over the budget: {} + {}; {} wall",
            if asked <= cap { "never passed" } else { "PASSED" },
            one.submits,
            two.submits,
            over(&one),
            over(&two),
            common::secs(wall)
        );
    });
}
