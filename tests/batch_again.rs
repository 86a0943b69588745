//! Failed jobs tried again (`BatchOptions::retry_failed`, `batch --retry-failed`): only those
//! whose task is known to be over, each with a new idempotency key, priced before any submit
//! and counted by the budget; and the plan of a dry run, which writes nothing.
#![cfg(all(feature = "sandbox", feature = "ledger"))]

mod common;

use std::{path::Path, time::Duration};

use common::sandbox_client;
use happyhorse::{
    batch::{parse_jobs, Batch, BatchJob, BatchOptions, Budget, RetryClass},
    ledger::{self, JobState, Ledger, SqliteLedger, Transition},
    sandbox::{FaultRates, Sandbox, SandboxConfig},
    Error, Provider,
};

const TIME_SCALE: f64 = 10.0;

async fn sandbox(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config.with_time_scale(TIME_SCALE).with_task_seconds(5.0))
        .await
        .unwrap()
}

/// Every task of this sandbox ends failed.
async fn failing_sandbox() -> Sandbox {
    sandbox(SandboxConfig::default().with_faults(FaultRates::none().with("fail", 1.0).unwrap()))
        .await
}

async fn batch(out: &Path, sandbox: &Sandbox, options: BatchOptions) -> Batch {
    let ledger = SqliteLedger::open(out.join("happyhorse.db")).await.unwrap();
    let mut batch = Batch::new(ledger, out).with_options(options);
    for provider in Provider::ALL {
        batch = batch.with_client(sandbox_client(sandbox, provider));
    }
    batch
}

const JOBS: &str = r#"{"id": "beach", "prompt": "A golden retriever running on a beach", "duration": 5}
{"id": "city", "prompt": "A city street at night, rain", "provider": "apiframe", "resolution": "720p", "duration": 5}"#;

fn jobs() -> Vec<BatchJob> {
    parse_jobs(JOBS, Provider::HiApi).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

/// On the sandboxes' clock (ten times real time).
fn options() -> BatchOptions {
    BatchOptions {
        concurrency: 4,
        time_scale: TIME_SCALE,
        ..BatchOptions::default()
    }
}

fn retry_all() -> BatchOptions {
    BatchOptions {
        retry_failed: RetryClass::ALL.to_vec(),
        ..options()
    }
}

async fn ledger_jobs(out: &Path) -> Vec<ledger::Job> {
    SqliteLedger::open(out.join("happyhorse.db"))
        .await
        .unwrap()
        .jobs()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_whose_tasks_failed_are_tried_again_only_when_asked_with_new_keys_and_paid_for() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let failing = failing_sandbox().await;
    {
        let batch = batch(out, &failing, options()).await;
        batch.plan(&jobs()).await.unwrap();
        let report = batch.run().await.unwrap();
        assert_eq!(report.summary.count(JobState::Failed), 2, "{report:#?}");
    }
    let failed = ledger_jobs(out).await;
    let first_keys: Vec<Option<String>> =
        failed.iter().map(|j| j.idempotency_key.clone()).collect();
    for job in &failed {
        assert_eq!(
            RetryClass::of(job),
            Some(RetryClass::TaskFailed),
            "{job:#?}"
        );
    }

    let working = sandbox(SandboxConfig::default()).await;
    // Not asked: the failed jobs stay failed, nothing is sent.
    {
        let batch = batch(out, &working, options()).await;
        let plan = batch.plan(&jobs()).await.unwrap();
        assert_eq!(plan.retries.total(), 0);
        assert_eq!(plan.retries.left_failed, 2);
        assert!(plan.to_go.rows.is_empty(), "{:?}", plan.to_go);
        batch.run().await.unwrap();
        assert_eq!(working.stats().submits.total(), 0);
    }
    // Asked, under a cap the new tasks would pass: refused, and nothing changed.
    {
        let capped = BatchOptions {
            budget: Budget {
                max_video_seconds: Some(15),
                max_credits: None,
            },
            ..retry_all()
        };
        let batch = batch(out, &working, capped).await;
        match batch.plan(&jobs()).await {
            Err(Error::OverBudget { message }) => {
                assert!(message.contains("10 s"), "{message}")
            }
            other => panic!("expected the budget to refuse the retry, got {other:?}"),
        }
        let still: Vec<JobState> = ledger_jobs(out).await.iter().map(|j| j.state).collect();
        assert_eq!(still, vec![JobState::Failed, JobState::Failed]);
    }
    // Asked: priced first, then one new task each, under new keys, and both saved.
    {
        let batch = batch(out, &working, retry_all()).await;
        let plan = batch.plan(&jobs()).await.unwrap();
        assert_eq!(plan.retries.classes, vec![(RetryClass::TaskFailed, 2)]);
        assert_eq!(plan.retries.cost.video_seconds(), 10);
        assert_eq!(
            plan.retries.cost.credits(),
            120,
            "Apiframe 720p: 24 credits/s"
        );
        assert_eq!(plan.to_go.video_seconds(), 10);
        let report = batch.run().await.unwrap();
        assert!(report.all_downloaded(), "{report:#?}");
        assert_eq!(working.stats().tasks_created.total(), 2);
        // Two tasks billed per job now: the failed one and the new one.
        assert_eq!(report.summary.committed.video_seconds(), 20);
        assert_eq!(report.summary.committed.credits(), 240);
    }
    let done = ledger_jobs(out).await;
    for (job, first) in done.iter().zip(&first_keys) {
        assert_eq!(job.state, JobState::Downloaded);
        assert_eq!(job.earlier_tasks, 1);
        if let Some(first) = first {
            let key = job.idempotency_key.as_deref().unwrap();
            assert_ne!(key, first);
            assert!(key.starts_with(first.as_str()), "{key} from {first}");
        }
    }
    // Nothing failed is left: asking again sends nothing.
    let batch = batch(out, &working, retry_all()).await;
    let plan = batch.plan(&jobs()).await.unwrap();
    assert_eq!(plan.retries.total(), 0);
    batch.run().await.unwrap();
    assert_eq!(working.stats().tasks_created.total(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_video_is_made_again_only_with_its_class_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    // Outputs gone before the batch can fetch them.
    let forgetful = Sandbox::start(
        SandboxConfig::default()
            .with_task_seconds(0.2)
            .with_output_ttl(Duration::ZERO),
    )
    .await
    .unwrap();
    let line =
        r#"{"id": "beach", "prompt": "A golden retriever running on a beach", "duration": 5}"#;
    let jobs = parse_jobs(line, Provider::HiApi).unwrap();
    {
        let batch = batch(out, &forgetful, BatchOptions::default()).await;
        batch.plan(&jobs).await.unwrap();
        let report = batch.run().await.unwrap();
        assert_eq!(report.summary.count(JobState::Expired), 1, "{report:#?}");
    }
    let working = sandbox(SandboxConfig::default()).await;
    let only_failed_tasks = BatchOptions {
        retry_failed: vec![RetryClass::TaskFailed, RetryClass::Refused],
        ..options()
    };
    let plan = batch(out, &working, only_failed_tasks)
        .await
        .plan(&jobs)
        .await
        .unwrap();
    assert_eq!(plan.retries.total(), 0);
    assert_eq!(plan.retries.left_failed, 1);
    let expired = BatchOptions {
        retry_failed: vec![RetryClass::Expired],
        ..options()
    };
    let batch = batch(out, &working, expired).await;
    let plan = batch.plan(&jobs).await.unwrap();
    assert_eq!(plan.retries.classes, vec![(RetryClass::Expired, 1)]);
    let report = batch.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    assert_eq!(working.stats().tasks_created.total(), 1);
}

/// A job failed while its task's end was never seen (here: a poll that failed for good, as
/// recorded by hand) may still have a task making a video: never tried again.
#[tokio::test]
async fn a_failed_job_whose_task_may_still_be_going_is_never_tried_again() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let jobs = jobs();
    let ledger = SqliteLedger::open(out.join("happyhorse.db")).await.unwrap();
    let new: Vec<_> = jobs.iter().map(BatchJob::to_new_job).collect();
    ledger.enqueue(&new).await.unwrap();
    ledger.begin_run("test").await.unwrap();
    for job in ledger
        .claim("test", Duration::from_secs(60), 10)
        .await
        .unwrap()
    {
        let lease = job.lease.clone().unwrap();
        let submitting = Transition::submitting(None);
        ledger.apply(&lease, submitting).await.unwrap();
        let task_id = format!("task-{}", job.id);
        let submitted = Transition::Submitted {
            task_id,
            status: "running".into(),
        };
        ledger.apply(&lease, submitted).await.unwrap();
        let error = "polls failed for good: 500".to_owned();
        let failed = ledger
            .apply(&lease, Transition::Failed { error })
            .await
            .unwrap();
        assert_eq!(RetryClass::of(&failed), None, "{failed:#?}");
    }
    drop(ledger);
    let working = sandbox(SandboxConfig::default()).await;
    let batch = batch(out, &working, retry_all()).await;
    let plan = batch.plan(&jobs).await.unwrap();
    assert_eq!(plan.retries.total(), 0);
    assert_eq!(plan.retries.left_failed, 2);
    batch.run().await.unwrap();
    assert_eq!(working.stats().submits.total(), 0);
}

/// A dry run plans against the ledger as it is and writes nothing: not the ledger (opened to
/// read), not the jobs, not the output directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_prices_the_plan_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("videos");
    let working = sandbox(SandboxConfig::default()).await;
    let dry = |location: std::path::PathBuf| {
        let out = out.clone();
        let working = &working;
        async move {
            let ledger = ledger::open_read_only(location.to_str().unwrap())
                .await
                .unwrap();
            let mut batch = Batch::with_shared_ledger(ledger.into(), &out);
            for provider in Provider::ALL {
                batch = batch.with_client(sandbox_client(working, provider));
            }
            batch.dry_run_each(|| jobs().into_iter().map(Ok)).await
        }
    };
    let db = out.join("happyhorse.db");
    let plan = dry(db.clone()).await.unwrap();
    assert_eq!((plan.enqueued.inserted, plan.enqueued.existing), (2, 0));
    assert_eq!(plan.to_go.video_seconds(), 10);
    assert_eq!(plan.to_go.credits(), 120);
    assert!(!out.exists(), "the dry run created {}", out.display());

    // After a real run: the same plan finds both jobs, and no file changes.
    {
        let batch = batch(&out, &working, options()).await;
        batch.plan(&jobs()).await.unwrap();
        assert!(batch.run().await.unwrap().all_downloaded());
    }
    // The run's ledger closes in the background: once it has, its WAL is folded in.
    let wal = out.join("happyhorse.db-wal");
    for _ in 0..100 {
        if !wal.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = common::file_names(&out);
    let digest = common::sha256_hex(&std::fs::read(&db).unwrap());
    let plan = dry(db.clone()).await.unwrap();
    assert_eq!((plan.enqueued.inserted, plan.enqueued.existing), (0, 2));
    assert!(plan.to_go.rows.is_empty());
    assert_eq!(plan.committed.video_seconds(), 10);
    assert_eq!(common::file_names(&out), before);
    let after = common::sha256_hex(&std::fs::read(&db).unwrap());
    assert_eq!(after, digest, "the ledger changed");
}
