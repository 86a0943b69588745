//! The runner's shape, through the library against an in-process sandbox over real HTTP: a
//! job waiting on its task holds no worker slot, the budget is the ledger's (one for every
//! worker), a lost lease stops a worker, the reconciliation of dropped callbacks follows the
//! live history, and every step lands in the job's event history.
#![cfg(all(feature = "sandbox", feature = "ledger"))]

mod common;

use std::{path::Path, sync::Arc, time::Duration};

use common::sandbox_client;
use happyhorse::{
    batch::{parse_jobs, Batch, BatchJob, BatchOptions},
    ledger::{Event, JobState, Ledger, SqliteLedger},
    sandbox::{FaultRates, Sandbox, SandboxConfig},
    values::HttpUrl,
    Error, Provider,
};

const TIME_SCALE: f64 = 20.0;

async fn sandbox(task_seconds: f64) -> Sandbox {
    Sandbox::start(
        SandboxConfig::default()
            .with_time_scale(TIME_SCALE)
            .with_task_seconds(task_seconds),
    )
    .await
    .unwrap()
}

fn jobs(n: usize, prefix: &str, extra: &str) -> Vec<BatchJob> {
    let text: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{"id": "{prefix}{i}", "prompt": "Horse number {i} of {prefix}"{extra}}}"#)
        })
        .collect();
    parse_jobs(&text.join("\n"), Provider::HiApi).unwrap_or_else(|p| panic!("{p:#?}"))
}

fn options() -> BatchOptions {
    BatchOptions {
        time_scale: TIME_SCALE,
        ..BatchOptions::default()
    }
}

fn over(ledger: Arc<dyn Ledger>, out: &Path, sandbox: &Sandbox, options: BatchOptions) -> Batch {
    Batch::with_shared_ledger(ledger, out)
        .with_client(sandbox_client(sandbox, Provider::HiApi))
        .with_options(options)
}

async fn history(ledger: &dyn Ledger, ids: &[String]) -> Vec<Event> {
    let mut all = Vec::new();
    for id in ids {
        all.extend(ledger.events(id).await.unwrap());
    }
    all.sort_by_key(|e| e.seq);
    all
}

/// With one step at a time, six jobs whose tasks take 20 s are all submitted before the first
/// task ends: waiting takes no slot (a job holding its slot through its wait would make the
/// batch six tasks long).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_job_holds_no_slot() {
    let sandbox = sandbox(20.0).await;
    let tmp = tempfile::tempdir().unwrap();
    let ledger: Arc<dyn Ledger> =
        Arc::new(SqliteLedger::open(tmp.path().join("l.db")).await.unwrap());
    let batch = over(
        ledger.clone(),
        tmp.path(),
        &sandbox,
        BatchOptions {
            concurrency: 1,
            ..options()
        },
    );
    let jobs = jobs(6, "w", "");
    batch.plan(&jobs).await.unwrap();
    let report = batch.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let events = history(ledger.as_ref(), &ids).await;
    let last_submit = events
        .iter()
        .filter(|e| e.event == "submitted")
        .map(|e| e.seq)
        .max();
    let first_end = events
        .iter()
        .filter(|e| e.event == "succeeded")
        .map(|e| e.seq)
        .min();
    assert!(
        last_submit.unwrap() < first_end.unwrap(),
        "every task was submitted before the first ended: {events:#?}"
    );
    // Each job's timeline is its lifecycle, in order, by this worker.
    for id in &ids {
        let names: Vec<String> = ledger
            .events(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        let named: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(named.first(), Some(&"submitting"), "{named:?}");
        assert_eq!(named.get(1), Some(&"submitted"), "{named:?}");
        assert_eq!(named.last(), Some(&"downloaded"), "{named:?}");
        assert!(named.contains(&"succeeded"), "{named:?}");
    }
}

/// Jobs waiting on callbacks that never come, with no history at first: once the polled jobs
/// of the same kind have shown how long a task takes, the callback jobs are polled soon after
/// their end, not 300 s (batch clock) after their submit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_callbacks_are_reconciled_from_the_live_history() {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_time_scale(TIME_SCALE)
            .with_task_seconds(10.0)
            .with_faults(FaultRates::none().with("drop_callback", 1.0).unwrap()),
    )
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let ledger: Arc<dyn Ledger> =
        Arc::new(SqliteLedger::open(tmp.path().join("l.db")).await.unwrap());
    let batch = over(
        ledger.clone(),
        tmp.path(),
        &sandbox,
        BatchOptions {
            callback_url: Some(HttpUrl::new("http://127.0.0.1:9/hooks").unwrap()),
            ..options()
        },
    );
    // Lines with a callback of their own are polled by the batch: they make the history.
    let mut all = jobs(
        10,
        "polled",
        r#", "callback_url": "http://127.0.0.1:9/theirs""#,
    );
    let awaited = jobs(10, "awaited", "");
    all.extend(awaited.iter().cloned());
    batch.plan(&all).await.unwrap();
    let report = batch.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    assert_eq!(report.reconciled, 10, "{report:#?}");
    for job in &awaited {
        let job = ledger.job(&job.id).await.unwrap().unwrap();
        let waited = job
            .updated_at
            .signed_duration_since(job.submitted_at.unwrap());
        let batch_seconds = waited.num_milliseconds() as f64 / 1000.0 * TIME_SCALE;
        assert!(
            batch_seconds < 150.0,
            "{}: saved {batch_seconds:.0} s (batch clock) after its submit: {:#?}",
            job.id,
            ledger.events(&job.id).await.unwrap()
        );
    }
}

/// Two workers on one PostgreSQL ledger, each with its own jobs, under one cap smaller than
/// their sum: the seconds submitted never pass it.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_worker_on_a_ledger_keeps_to_one_budget() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let url = cluster.database("one_budget").await;
    let sandbox = sandbox(5.0).await;
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (jobs(6, "a", ""), jobs(6, "b", ""));
    // Planned without a cap (as two files planned at the same moment would both pass it).
    let planner: Arc<dyn Ledger> =
        Arc::new(happyhorse::ledger::PgLedger::connect(&url).await.unwrap());
    let plan = over(planner, tmp.path(), &sandbox, options());
    plan.plan(&a).await.unwrap();
    plan.plan(&b).await.unwrap();
    let cap = 35;
    let worker = |dir: &Path| {
        let url = url.clone();
        let dir = dir.to_path_buf();
        let sandbox_client = sandbox_client(&sandbox, Provider::HiApi);
        async move {
            let ledger = happyhorse::ledger::PgLedger::connect(&url).await.unwrap();
            Batch::new(ledger, dir)
                .with_client(sandbox_client)
                .with_options(BatchOptions {
                    budget: happyhorse::batch::Budget {
                        max_video_seconds: Some(cap),
                        ..happyhorse::batch::Budget::default()
                    },
                    concurrency: 4,
                    ..options()
                })
                .run()
                .await
                .unwrap()
        }
    };
    let (one, two) = tokio::join!(worker(tmp.path()), worker(tmp.path()));
    let created = sandbox.stats().tasks_created.get(Provider::HiApi);
    assert!(
        created * 5 <= cap,
        "{created} tasks of 5 s under a cap of {cap} s"
    );
    assert_eq!(created, 7, "the cap was used up");
    let committed = two.summary.committed.video_seconds();
    assert!(committed <= cap, "{committed}");
    let left = one.deferred.len() + two.deferred.len();
    assert!(
        left > 0
            && one
                .deferred
                .iter()
                .chain(&two.deferred)
                .all(|(_, why)| why.contains(&format!("cap of {cap} s"))),
        "{one:#?} {two:#?}"
    );
}

/// A sandbox whose submits take 3 s to answer, and a batch over `ledger` taking one step at a
/// time under 1 s leases (renewed every third of a second), with three jobs planned.
async fn slow_submits(ledger: Arc<dyn Ledger>, dir: &Path, prefix: &str) -> (Sandbox, Batch) {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_time_scale(TIME_SCALE)
            .with_task_seconds(5.0)
            .with_submit_delay(Duration::from_secs(3)),
    )
    .await
    .unwrap();
    let batch = over(
        ledger,
        dir,
        &sandbox,
        BatchOptions {
            concurrency: 1,
            lease: Duration::from_secs(1),
            ..options()
        },
    );
    batch.plan(&jobs(3, prefix, "")).await.unwrap();
    (sandbox, batch)
}

/// Retries `act` every 20 ms until it says done (ten seconds at most).
async fn until<F, Fut>(what: &str, mut act: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = std::time::Instant::now();
    while !act().await {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The run's end (within 20 s), and that nothing was submitted after the first.
async fn stopped(
    run: tokio::task::JoinHandle<Result<happyhorse::batch::BatchReport, Error>>,
    sandbox: &Sandbox,
) -> Result<happyhorse::batch::BatchReport, Error> {
    let ended = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .expect("the worker stops")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sandbox.stats().submits.get(Provider::HiApi),
        1,
        "nothing more was sent: {ended:?}"
    );
    ended
}

/// Another worker takes the job being submitted (as one would once this worker's lease ran
/// out).
const STEAL: &str = "UPDATE jobs SET lease_owner = 'thief', fence = fence + 1
    WHERE state = 'submitting' AND lease_owner <> 'thief'";

/// A worker whose lease on a job was taken stops at once: its run ends with the error, and
/// the jobs it had not submitted are not submitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_stops_the_worker() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("l.db");
    let ledger: Arc<dyn Ledger> = Arc::new(SqliteLedger::open(&path).await.unwrap());
    let (sandbox, batch) = slow_submits(ledger.clone(), tmp.path(), "l").await;
    let run = tokio::spawn(async move { batch.run().await });
    let thief = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    until("a submit began", || async {
        let taken = sqlx::query(STEAL).execute(&thief).await.unwrap();
        taken.rows_affected() == 1
    })
    .await;
    let ended = stopped(run, &sandbox).await;
    assert!(
        matches!(&ended, Err(Error::LeaseLost { job }) if job == "l0"),
        "{ended:?}"
    );
    let queued = ledger
        .jobs()
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.state == JobState::Queued)
        .count();
    assert_eq!(queued, 2);
}

/// The same on PostgreSQL: a worker whose lease was taken (its renewal finds it gone) stops,
/// and sends nothing more.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_stops_a_postgres_worker() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let url = cluster.database("lost_lease").await;
    let tmp = tempfile::tempdir().unwrap();
    let ledger: Arc<dyn Ledger> =
        Arc::new(happyhorse::ledger::PgLedger::connect(&url).await.unwrap());
    let (sandbox, batch) = slow_submits(ledger, tmp.path(), "p").await;
    let run = tokio::spawn(async move { batch.run().await });
    let thief = sqlx::PgPool::connect(&url).await.unwrap();
    until("a submit began", || async {
        let taken = sqlx::query(STEAL).execute(&thief).await.unwrap();
        taken.rows_affected() == 1
    })
    .await;
    let ended = stopped(run, &sandbox).await;
    assert!(matches!(&ended, Err(Error::LeaseLost { .. })), "{ended:?}");
}

/// A worker whose lease renewals fail (its PostgreSQL database starts refusing writes, as a
/// server failing over to a read-only standby does) stops: its run ends with the ledger's
/// error, and nothing more is submitted once the database refuses.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_renewals_fail_stops() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let url = cluster.database("renewals_fail").await;
    let tmp = tempfile::tempdir().unwrap();
    let ledger: Arc<dyn Ledger> =
        Arc::new(happyhorse::ledger::PgLedger::connect(&url).await.unwrap());
    let (sandbox, batch) = slow_submits(ledger, tmp.path(), "r").await;
    let run = tokio::spawn(async move { batch.run().await });
    until("a submit began", || async {
        sandbox.stats().submits.get(Provider::HiApi) > 0
    })
    .await;
    cluster.refuse_writes("renewals_fail");
    let ended = stopped(run, &sandbox).await;
    assert!(matches!(&ended, Err(Error::Ledger { .. })), "{ended:?}");
    cluster.allow_writes("renewals_fail");
}

/// `max_in_flight` bounds the tasks running at the provider at once: with a limit of 2, the
/// history never shows a third submit before one of two running tasks ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_bounds_the_tasks_at_the_provider() {
    let sandbox = sandbox(10.0).await;
    let tmp = tempfile::tempdir().unwrap();
    let ledger: Arc<dyn Ledger> =
        Arc::new(SqliteLedger::open(tmp.path().join("l.db")).await.unwrap());
    let batch = over(
        ledger.clone(),
        tmp.path(),
        &sandbox,
        BatchOptions {
            max_in_flight: Some(2),
            ..options()
        },
    );
    let jobs = jobs(6, "f", "");
    batch.plan(&jobs).await.unwrap();
    let report = batch.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    let ids: Vec<String> = jobs.iter().map(|j| j.id.clone()).collect();
    let (mut running, mut most) = (0i32, 0i32);
    for event in history(ledger.as_ref(), &ids).await {
        match event.event.as_str() {
            "submitting" => running += 1,
            "succeeded" | "failed" => running -= 1,
            _ => {}
        }
        most = most.max(running);
    }
    assert_eq!(most, 2, "at most two tasks ran at once, and two did");
}
