//! Submit rate against a provider's rate limit: how close the batch runs to the allowed rate,
//! and how many of its requests the provider refuses with 429.
//!
//! `cargo bench --bench batch_rate` (env: `RATE_LIMIT`, submits per second, default 20;
//! `RATE_JOBS`, default 1000; `RATE_CONCURRENCY`, default 64: jobs wait at least 2 s for their first poll, so fewer in flight could not reach 20 submits a second).
//!
//! The batch runner (library, SQLite ledger) submits `RATE_JOBS` HiAPI jobs to an in-process
//! sandbox limited to `RATE_LIMIT` submits per second per key (a token bucket holding one
//! second's worth, answering 429 with `Retry-After` beyond it); tasks finish at once, so the
//! submits are the bottleneck. The client knows nothing of the limit beforehand: it learns it
//! from the 429s. Rate = tasks created / the time from the first to the last submit answered
//! (the ledger's `submitted_at`); 429s from the sandbox's own count, as a share of the
//! submits it received and of all the requests it served.

#[path = "batch_common/mod.rs"]
mod common;

use std::time::Instant;

use happyhorse::{
    batch::{Batch, BatchOptions},
    ledger::{Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};

fn main() {
    let limit: f64 = common::env("RATE_LIMIT", 20.0);
    let n: usize = common::env("RATE_JOBS", 1000);
    let concurrency: usize = common::env("RATE_CONCURRENCY", 64);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::start(SandboxConfig::default().with_rate_limit(limit))
            .await
            .expect("sandbox");
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("happyhorse.db");
        let ledger = SqliteLedger::open(&db).await.expect("ledger");
        let batch = Batch::new(ledger, dir.path().join("out"))
            .with_options(BatchOptions {
                concurrency,
                ..BatchOptions::default()
            })
            .with_client(common::client(&sandbox, Provider::HiApi));
        let jobs = common::jobs(n, &[Provider::HiApi], "rate");
        batch.plan(&jobs).await.expect("plan");
        let started = Instant::now();
        let report = batch.run().await.expect("run");
        let wall = started.elapsed().as_secs_f64();
        assert!(report.all_downloaded(), "{:?}", report.summary);
        let stats = sandbox.stats();
        let mut times: Vec<i64> = SqliteLedger::open(&db)
            .await
            .expect("ledger")
            .jobs()
            .await
            .expect("jobs")
            .iter()
            .filter_map(|job| job.submitted_at.map(|t| t.timestamp_millis()))
            .collect();
        times.sort_unstable();
        let span = (times[times.len() - 1] - times[0]) as f64 / 1000.0;
        let created = stats.tasks_created.get(Provider::HiApi);
        let rate = (created.saturating_sub(1)) as f64 / span;
        let submits = stats.submits.get(Provider::HiApi);
        let refused = stats.rate_limited.get(Provider::HiApi);
        let requests = submits + stats.polls.total() + stats.downloads;
        println!(
            "{n} HiAPI jobs, concurrency {concurrency}, sandbox limit {limit}/s per key, client not told the limit"
        );
        println!(
            "tasks created {created} (one per job: {}), submit rate {rate:.2}/s over {span:.1} s = {:.1} % of the limit",
            created == n as u64,
            100.0 * rate / limit
        );
        println!(
            "429s: {refused} of {submits} submits ({:.2} %), of {requests} requests in all ({:.2} %); wall {wall:.1} s",
            100.0 * refused as f64 / submits as f64,
            100.0 * refused as f64 / requests as f64
        );
        sandbox.shutdown().await;
    });
}
