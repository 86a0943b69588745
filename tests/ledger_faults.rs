//! A ledger that cannot write says so: every write either commits or returns an error, on
//! SQLite with its file system full (a real tmpfs, filled to the last byte) and on a
//! PostgreSQL database that refuses writes (read-only sessions). Nothing a failed write was
//! about changes, and once space (or the right to write) returns, the same writes succeed.
//!
//! The tmpfs needs root (as CI runs); elsewhere the SQLite half says it skipped, unless
//! `HAPPYHORSE_REQUIRE_FAULTS=1`. The PostgreSQL half follows `common::pg`.
#![cfg(feature = "ledger")]

mod common;

use std::time::Duration;

use happyhorse::{
    client::Output,
    ledger::{Heard, HeardEvent, Job, JobState, Lease, Ledger, NewJob, SqliteLedger, Transition},
    Error, Provider,
};
use serde_json::json;

fn new_job(i: usize) -> NewJob {
    NewJob {
        id: format!("job-{i}"),
        line: Some(i as u64 + 1),
        provider: Provider::HiApi,
        body: json!({"model": "happyhorse-1.1/text-to-video", "input": {"prompt": format!("a horse, take {i}")}}),
        idempotency_key: Some(format!("hh-job-{i}")),
        resolution: "720p".into(),
        video_seconds: 5,
        credits: None,
        output_name: format!("job-{i}.mp4"),
    }
}

fn output(task: &str) -> Output {
    Output {
        url: format!("https://files.example/{task}/0.mp4?X-Amz-Signature=s"),
        expires_at: None,
        expired: false,
    }
}

/// Four jobs recorded and claimed by `w1`: job-0 `submitting`, job-1 and job-2 `submitted`
/// (tasks `t-1`, `t-2`), job-3 `succeeded`; plus job-4 queued and unclaimed. Returns the leases
/// by job.
async fn prepare(ledger: &dyn Ledger) -> Vec<Lease> {
    let jobs: Vec<NewJob> = (0..5).map(new_job).collect();
    ledger.enqueue(&jobs).await.expect("enqueue");
    ledger.begin_run("w1").await.expect("begin_run");
    let claimed = ledger
        .claim("w1", Duration::from_secs(3600), 4)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 4);
    let mut leases: Vec<Lease> = claimed.iter().map(|j| j.lease.clone().unwrap()).collect();
    leases.sort_by(|a, b| a.job.cmp(&b.job));
    for (i, lease) in leases.iter().enumerate() {
        ledger
            .apply(lease, Transition::submitting(None))
            .await
            .expect("submitting");
        if i == 0 {
            continue;
        }
        ledger
            .apply(
                lease,
                Transition::Submitted {
                    task_id: format!("t-{i}"),
                    status: "queued".into(),
                },
            )
            .await
            .expect("submitted");
        if i == 3 {
            ledger
                .apply(
                    lease,
                    Transition::Succeeded {
                        output: output("t-3"),
                        task_seconds: 12.0,
                    },
                )
                .await
                .expect("succeeded");
        }
    }
    leases
}

/// Every job as recorded, but for what reading changes nothing of.
async fn snapshot(ledger: &dyn Ledger) -> Vec<Job> {
    ledger.jobs().await.expect("a full ledger still reads")
}

fn is_write_failure(err: &Error) -> bool {
    matches!(err, Error::Ledger { .. })
}

/// Every kind of write, each expected to fail and change nothing.
async fn every_write_fails(name: &str, ledger: &dyn Ledger, leases: &[Lease]) {
    let before = snapshot(ledger).await;
    let attempts: Vec<(&str, Result<(), Error>)> = vec![
        (
            "submitted",
            ledger
                .apply(
                    &leases[0],
                    Transition::Submitted {
                        task_id: "t-0".into(),
                        status: "queued".into(),
                    },
                )
                .await
                .map(drop),
        ),
        (
            "succeeded",
            ledger
                .apply(
                    &leases[1],
                    Transition::Succeeded {
                        output: output("t-1"),
                        task_seconds: 10.0,
                    },
                )
                .await
                .map(drop),
        ),
        (
            "status",
            ledger
                .apply(
                    &leases[2],
                    Transition::Status {
                        status: "running".into(),
                    },
                )
                .await
                .map(drop),
        ),
        (
            "downloaded",
            ledger
                .apply(
                    &leases[3],
                    Transition::Downloaded {
                        file: "out/job-3.mp4".into(),
                        bytes: 1234,
                        sha256: "ab".repeat(32),
                        e_tag: None,
                        version: None,
                    },
                )
                .await
                .map(drop),
        ),
        (
            "failed",
            ledger
                .apply(
                    &leases[2],
                    Transition::Failed {
                        error: "boom".into(),
                    },
                )
                .await
                .map(drop),
        ),
        (
            "callback",
            ledger
                .record(&Heard {
                    provider: Provider::HiApi,
                    task_id: "t-2".into(),
                    status: "succeeded".into(),
                    event: HeardEvent::Succeeded(output("t-2")),
                })
                .await
                .map(drop),
        ),
        (
            "duplicate callback",
            ledger
                .record(&Heard {
                    provider: Provider::HiApi,
                    task_id: "t-3".into(),
                    status: "succeeded".into(),
                    event: HeardEvent::Succeeded(output("t-3")),
                })
                .await
                .map(drop),
        ),
        ("enqueue", ledger.enqueue(&[new_job(9)]).await.map(drop)),
        (
            "claim",
            ledger
                .claim("w2", Duration::from_secs(60), 10)
                .await
                .map(drop),
        ),
        (
            "renew",
            ledger.renew("w1", Duration::from_secs(60)).await.map(drop),
        ),
        ("release", ledger.release(&leases[1]).await),
    ];
    for (what, result) in attempts {
        match result {
            Err(err) => assert!(
                is_write_failure(&err),
                "{name}: {what} failed, but not as a ledger failure: {err}"
            ),
            Ok(()) => panic!("{name}: a {what} on a ledger that cannot write reported success"),
        }
    }
    let after = snapshot(ledger).await;
    assert_eq!(
        before, after,
        "{name}: failed writes changed what the ledger holds"
    );
}

/// The same writes, once the ledger can write again.
async fn writes_work_again(name: &str, ledger: &dyn Ledger, leases: &[Lease]) {
    let job = ledger
        .apply(
            &leases[3],
            Transition::Downloaded {
                file: "out/job-3.mp4".into(),
                bytes: 1234,
                sha256: "ab".repeat(32),
                e_tag: None,
                version: None,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(job.state, JobState::Downloaded, "{name}");
    let heard = ledger
        .record(&Heard {
            provider: Provider::HiApi,
            task_id: "t-2".into(),
            status: "succeeded".into(),
            event: HeardEvent::Succeeded(output("t-2")),
        })
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        matches!(heard, happyhorse::ledger::Recorded::Applied(_)),
        "{name}: {heard:?}"
    );
    let all = snapshot(ledger).await;
    let state = |id: &str| all.iter().find(|j| j.id == id).map(|j| j.state);
    assert_eq!(state("job-3"), Some(JobState::Downloaded), "{name}");
    assert_eq!(state("job-2"), Some(JobState::Succeeded), "{name}");
    assert_eq!(state("job-0"), Some(JobState::Submitting), "{name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_on_a_full_disk_reports_every_failed_write() {
    let Some(fs) = common::smallfs::SmallFs::mount(4) else {
        return;
    };
    let path = fs.path().join("happyhorse.db");
    let ledger = SqliteLedger::open(&path).await.expect("the ledger opens");
    let leases = prepare(&ledger).await;
    fs.fill();
    every_write_fails("sqlite", &ledger, &leases).await;
    fs.free();
    writes_work_again("sqlite", &ledger, &leases).await;
    drop(ledger);
    // What was committed is on disk: a new process reads it.
    let reopened = SqliteLedger::open(&path).await.expect("reopens");
    let summary = reopened.summary().await.unwrap();
    assert_eq!(summary.count(JobState::Downloaded), 1);
    assert_eq!(summary.count(JobState::Succeeded), 1);
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_that_refuses_writes_reports_every_failed_write() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let url = cluster.database("faults_read_only").await;
    let ledger = happyhorse::ledger::PgLedger::connect(&url)
        .await
        .expect("connects");
    let leases = prepare(&ledger).await;
    cluster.refuse_writes("faults_read_only");
    every_write_fails("postgres", &ledger, &leases).await;
    cluster.allow_writes("faults_read_only");
    writes_work_again("postgres", &ledger, &leases).await;
}
