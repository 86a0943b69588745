//! A submit answered with a task that already exists (the same jobs run again into a new ledger,
//! against the same provider: each Idempotency-Key replays its task) is looked at at once, not
//! waited on for a callback that already came and went; its duration, which the run did not see
//! begin, stays out of the timing history.
#![cfg(all(feature = "ledger", feature = "sandbox"))]

mod common;

use happyhorse::{
    batch::{parse_jobs, Batch, BatchOptions},
    ledger::{JobState, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig},
    values::HttpUrl,
    Provider,
};

const SCALE: f64 = 100.0;

const JOBS: &str = r#"{"id": "one", "prompt": "a horse on a beach"}
{"id": "two", "prompt": "a horse in the snow"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_tasks_are_looked_at_at_once_and_kept_out_of_the_history() {
    // Both clocks 100 times real time: 20 s tasks, and the 5-minute reconciliation of a
    // callback that never came, in 3 s.
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_task_seconds(20.0)
            .with_time_scale(SCALE),
    )
    .await
    .unwrap();
    let client = common::sandbox_client(&sandbox, Provider::HiApi);
    let jobs = parse_jobs(JOBS, Provider::HiApi).unwrap();
    // A receiver that is not there: the sandbox's callbacks go nowhere, as for a job whose
    // callback was delivered long ago to another ledger's receiver.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let callback: HttpUrl = format!("http://{}", nowhere.local_addr().unwrap())
        .parse()
        .unwrap();
    drop(nowhere);
    let options = BatchOptions {
        callback_url: Some(callback),
        time_scale: SCALE,
        ..BatchOptions::default()
    };

    // First into one ledger: no callback comes, so each job is reconciled by a poll after 5
    // minutes of batch clock.
    let first = tempfile::tempdir().unwrap();
    let batch = Batch::new(
        SqliteLedger::open(first.path().join("happyhorse.db"))
            .await
            .unwrap(),
        first.path(),
    )
    .with_client(client.clone())
    .with_options(options.clone());
    batch.plan(&jobs).await.unwrap();
    assert_eq!(
        batch
            .run()
            .await
            .unwrap()
            .summary
            .count(JobState::Downloaded),
        2
    );

    // Again, into a new ledger: the provider replays both finished tasks.
    let second = tempfile::tempdir().unwrap();
    let batch = Batch::new(
        SqliteLedger::open(second.path().join("happyhorse.db"))
            .await
            .unwrap(),
        second.path(),
    )
    .with_client(client)
    .with_options(options);
    batch.plan(&jobs).await.unwrap();
    // Without a look at once, each would wait 5 minutes (batch clock) for a callback that
    // cannot come.
    let started = std::time::Instant::now();
    let report = batch.run().await.unwrap();
    let batch_clock = started.elapsed().as_secs_f64() * SCALE;
    assert!(
        batch_clock < 150.0,
        "the replayed tasks were waited on for {batch_clock:.0} s of batch clock"
    );
    assert_eq!(
        report.summary.count(JobState::Downloaded),
        2,
        "{:?}",
        report.summary.attention
    );
    assert_eq!(sandbox.stats().tasks_created.total(), 2, "no second task");
    let held = batch.ledger().jobs().await.unwrap();
    for job in &held {
        assert_eq!(
            job.task_seconds, None,
            "{}: a replayed task's duration is not history",
            job.id
        );
    }
    assert!(batch.ledger().task_times(10).await.unwrap().is_empty());
}
