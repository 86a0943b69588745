//! The same ledger behaviour from SQLite and PostgreSQL: every test runs against both.
//!
//! PostgreSQL is a throwaway cluster this file starts itself (initdb in a temporary directory,
//! a Unix socket only, as `nobody` when run as root) and removes afterwards. Without
//! PostgreSQL's programs the PostgreSQL half is skipped with a message, unless
//! `HAPPYHORSE_REQUIRE_POSTGRES=1` (set by CI), which makes that a failure.
#![cfg(feature = "postgres")]

mod common;

use std::{path::Path, sync::Arc, time::Duration};

use common::pg::Cluster;

use happyhorse::{
    client::Output,
    ledger::{After, JobState, Ledger, NewJob, PgLedger, SqliteLedger, Transition},
    Error, Provider,
};
use serde_json::json;

/// Both ledgers, fresh: SQLite in `dir`, PostgreSQL (when available) in a new database.
async fn ledgers(
    dir: &Path,
    cluster: Option<&Cluster>,
    name: &str,
) -> Vec<(&'static str, Arc<dyn Ledger>)> {
    let mut all: Vec<(&'static str, Arc<dyn Ledger>)> = vec![(
        "sqlite",
        Arc::new(
            SqliteLedger::open(dir.join(format!("{name}.db")))
                .await
                .expect("sqlite"),
        ),
    )];
    if let Some(cluster) = cluster {
        let url = cluster.database(name).await;
        all.push((
            "postgres",
            Arc::new(PgLedger::connect(&url).await.expect("postgres")),
        ));
    }
    all
}

fn job(i: usize, provider: Provider) -> NewJob {
    NewJob {
        id: format!("job-{i:04}"),
        line: Some(i as u64 + 1),
        provider,
        body: json!({"model": "m", "prompt": format!("prompt {i}")}),
        idempotency_key: provider
            .facts()
            .idempotency
            .then(|| format!("hh-job-{i:04}-{provider}")),
        resolution: "720p".into(),
        video_seconds: 5,
        credits: (provider == Provider::Apiframe).then_some(120),
        output_name: format!("job-{i:04}.mp4"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_ledgers_behave_the_same() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_main").await {
        let jobs: Vec<NewJob> = (0..30).map(|i| job(i, Provider::ALL[i % 3])).collect();

        // Enqueue is idempotent; a changed request under a known id is a conflict.
        let first = ledger.enqueue(&jobs).await.unwrap();
        assert_eq!((first.inserted, first.existing), (30, 0), "{name}");
        let mut changed = jobs.clone();
        changed[4].body = json!({"model": "m", "prompt": "another"});
        let again = ledger.enqueue(&changed).await.unwrap();
        assert_eq!((again.inserted, again.existing), (0, 29), "{name}");
        assert_eq!(
            again.conflicts,
            vec![("job-0004".to_string(), Some(5))],
            "{name}"
        );

        // A whole lifecycle, fenced.
        ledger.begin_run("w1").await.unwrap();
        let claimed = ledger
            .claim("w1", Duration::from_secs(60), 1)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "{name}");
        let lease = claimed[0].lease.clone().unwrap();
        let job = ledger
            .apply(&lease, Transition::submitting(None))
            .await
            .unwrap();
        assert_eq!(
            (job.state, job.attempts),
            (JobState::Submitting, 1),
            "{name}"
        );
        let refused = ledger
            .apply(
                &lease,
                Transition::Downloaded {
                    file: "x".into(),
                    bytes: 1,
                    sha256: "0".into(),
                    e_tag: None,
                    version: None,
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::NotAllowed { .. }),
            "{name}: {refused}"
        );
        ledger
            .apply(
                &lease,
                Transition::Submitted {
                    task_id: "t-1".into(),
                    status: "queued".into(),
                },
            )
            .await
            .unwrap();
        let output = Output {
            url: "https://cdn.example/v.mp4?sig=1".into(),
            expires_at: None,
            expired: false,
        };
        ledger
            .apply(
                &lease,
                Transition::Succeeded {
                    output: output.clone(),
                    task_seconds: 180.5,
                },
            )
            .await
            .unwrap();
        let done = ledger
            .apply(
                &lease,
                Transition::Downloaded {
                    file: "s3://videos/batch/job.mp4".into(),
                    bytes: 28556,
                    sha256: "ab".into(),
                    e_tag: Some("\"9b2cf535f27731c974343645a3985328-2\"".into()),
                    version: Some("3HL4kqtJlcpXroDTDmJ".into()),
                },
            )
            .await
            .unwrap();
        assert_eq!(done.state, JobState::Downloaded, "{name}");
        assert_eq!(
            (done.e_tag.as_deref(), done.object_version.as_deref()),
            (
                Some("\"9b2cf535f27731c974343645a3985328-2\""),
                Some("3HL4kqtJlcpXroDTDmJ")
            ),
            "{name}: the store's names for the object are kept"
        );
        assert_eq!(done.output, Some(output), "{name}");
        assert_eq!(done.lease, None, "{name}");

        // Another task may not take the same (provider, task id).
        let other = ledger
            .claim("w1", Duration::from_secs(60), 1)
            .await
            .unwrap()
            .remove(0);
        let other_lease = other.lease.clone().unwrap();
        ledger
            .apply(&other_lease, Transition::submitting(None))
            .await
            .unwrap();
        if other.provider == claimed[0].provider {
            assert!(ledger
                .apply(
                    &other_lease,
                    Transition::Submitted {
                        task_id: "t-1".into(),
                        status: "q".into()
                    }
                )
                .await
                .is_err());
        }

        // Summary, committed budget, task times.
        let summary = ledger.summary().await.unwrap();
        assert_eq!(summary.total(), 30, "{name}");
        assert_eq!(summary.count(JobState::Downloaded), 1, "{name}");
        assert_eq!(summary.committed.video_seconds(), 10, "{name}");
        let times = ledger.task_times(10).await.unwrap();
        assert_eq!(times.len(), 1, "{name}");
        assert!((times[0].seconds - 180.5).abs() < 1e-9, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_worker_cannot_overwrite_a_newer_claim() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_fence").await {
        ledger.enqueue(&[job(0, Provider::HiApi)]).await.unwrap();
        // A lease that has already run out, as a killed worker's would.
        let old = ledger
            .claim("dead", Duration::ZERO, 1)
            .await
            .unwrap()
            .remove(0);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let new = ledger
            .claim("alive", Duration::from_secs(60), 1)
            .await
            .unwrap()
            .remove(0);
        let (old, new) = (old.lease.unwrap(), new.lease.unwrap());
        assert!(new.fence > old.fence, "{name}");
        let late = ledger
            .apply(&old, Transition::submitting(None))
            .await
            .unwrap_err();
        assert!(matches!(late, Error::LeaseLost { .. }), "{name}: {late}");
        ledger
            .apply(&new, Transition::submitting(None))
            .await
            .unwrap();
        // Renewal keeps a live lease out of others' reach.
        assert_eq!(
            ledger
                .renew("alive", Duration::from_secs(60))
                .await
                .unwrap(),
            1,
            "{name}"
        );
        assert!(
            ledger
                .claim("third", Duration::from_secs(60), 5)
                .await
                .unwrap()
                .is_empty(),
            "{name}"
        );
    }
}

/// Changes written together (`Ledger::steps`, what a worker's polls end in): each checked on
/// its own, a refused one leaving the others recorded, every one with its event; and the due
/// times they set are what claims and `next_due` go by.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_steps_are_checked_one_by_one_and_set_when_jobs_are_due() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_group").await {
        let jobs: Vec<NewJob> = (0..5).map(|i| job(i, Provider::HiApi)).collect();
        ledger.enqueue(&jobs).await.unwrap();
        let claimed = ledger
            .claim_due("w", Duration::from_secs(60), 10, None)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 5, "{name}");
        // A claimed job is due when its lease ends: nothing is due for anyone now.
        assert_eq!(ledger.next_due(None).await.unwrap(), None, "{name}");
        let mut leases = Vec::new();
        for (i, job) in claimed.iter().enumerate() {
            let lease = job.lease.clone().unwrap();
            ledger
                .apply(&lease, Transition::submitting(None))
                .await
                .unwrap();
            ledger
                .apply(
                    &lease,
                    Transition::Submitted {
                        task_id: format!("task-{i}"),
                        status: "queued".into(),
                    },
                )
                .await
                .unwrap();
            leases.push(lease);
        }
        let soon = chrono::Utc::now() + chrono::Duration::seconds(30);
        let later = soon + chrono::Duration::seconds(30);
        let mut stale = leases[2].clone();
        stale.fence -= 1;
        let changes = vec![
            (
                leases[0].clone(),
                Transition::Status {
                    status: "running".into(),
                },
                After::until(later),
            ),
            (leases[1].clone(), Transition::Wait, After::until(soon)),
            // An older claim's lease: refused, alone.
            (stale, Transition::Wait, After::until(soon)),
            // A submit's change is never grouped.
            (
                leases[3].clone(),
                Transition::Submitted {
                    task_id: "task-x".into(),
                    status: "queued".into(),
                },
                After::hold(),
            ),
            // Written in one statement with the other wait.
            (leases[4].clone(), Transition::Wait, After::until(later)),
        ];
        let results = ledger.steps(&changes).await.unwrap();
        assert_eq!(results.len(), 5, "{name}");
        let running = results[0].as_ref().unwrap();
        assert_eq!(running.status.as_deref(), Some("running"), "{name}");
        assert!(running.lease.is_none(), "{name}: let go");
        assert!(results[1].is_ok(), "{name}");
        assert!(
            matches!(results[2], Err(Error::LeaseLost { .. })),
            "{name}: {:?}",
            results[2]
        );
        assert!(results[3].is_err(), "{name}");
        let waited = results[4].as_ref().unwrap();
        assert_eq!(
            waited.due_at.timestamp_millis(),
            later.timestamp_millis(),
            "{name}"
        );
        assert!(waited.lease.is_none(), "{name}");
        // Recorded, each with its event, the refused ones untouched.
        for (i, event) in [(0, "status"), (1, "wait"), (4, "wait")] {
            let events = ledger.events(&leases[i].job).await.unwrap();
            assert_eq!(
                events.last().map(|e| e.event.as_str()),
                Some(event),
                "{name}"
            );
        }
        let untouched = ledger.job(&leases[2].job).await.unwrap().unwrap();
        assert_eq!(untouched.lease.as_ref(), Some(&leases[2]), "{name}");
        // The soonest of the due times set is the next; the held jobs are not due.
        let next = ledger.next_due(None).await.unwrap().unwrap();
        assert_eq!(next.timestamp_millis(), soon.timestamp_millis(), "{name}");
        // A job given back is due at once.
        ledger.release(&leases[2]).await.unwrap();
        let now = ledger.next_due(None).await.unwrap().unwrap();
        assert!(now <= chrono::Utc::now(), "{name}");
        let again = ledger
            .claim_due("w2", Duration::from_secs(60), 10, None)
            .await
            .unwrap();
        assert_eq!(again.len(), 1, "{name}: only the job given back");
        assert_eq!(again[0].id, leases[2].job, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_claims_never_share_a_job() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_claims").await {
        let jobs: Vec<NewJob> = (0..200).map(|i| job(i, Provider::Apiframe)).collect();
        ledger.enqueue(&jobs).await.unwrap();
        let mut workers = Vec::new();
        for w in 0..6 {
            let ledger = ledger.clone();
            workers.push(tokio::spawn(async move {
                let owner = format!("w{w}");
                let mut mine = Vec::new();
                loop {
                    let claimed = ledger
                        .claim(&owner, Duration::from_secs(60), 7)
                        .await
                        .unwrap();
                    if claimed.is_empty() {
                        return mine;
                    }
                    mine.extend(claimed.into_iter().map(|j| j.id));
                }
            }));
        }
        let mut all = Vec::new();
        for worker in workers {
            all.extend(worker.await.unwrap());
        }
        let count = all.len();
        all.sort();
        all.dedup();
        assert_eq!(
            (count, all.len()),
            (200, 200),
            "{name}: every job claimed exactly once"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callbacks_are_recorded_once_whoever_holds_the_job() {
    use happyhorse::ledger::{Heard, HeardEvent, Recorded};

    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_callbacks").await {
        ledger
            .enqueue(&[job(0, Provider::Apiframe), job(1, Provider::HiApi)])
            .await
            .unwrap();
        let claimed = ledger
            .claim("w1", Duration::from_secs(60), 2)
            .await
            .unwrap();
        let mut leases = Vec::new();
        for (i, claimed) in claimed.iter().enumerate() {
            let lease = claimed.lease.clone().unwrap();
            let callback_url = Some(format!("https://hooks.example/{i}?token=secret"));
            let job = ledger
                .apply(&lease, Transition::submitting(callback_url))
                .await
                .unwrap();
            // A resubmit keeps the first callback, so the body under the key never changes.
            let again = ledger
                .apply(
                    &lease,
                    Transition::submitting(Some("https://elsewhere.example/".into())),
                )
                .await
                .unwrap();
            assert_eq!(again.callback_url, job.callback_url, "{name}");
            assert!(
                !format!("{again:?}").contains("secret"),
                "{name}: {again:?}"
            );
            ledger
                .apply(
                    &lease,
                    Transition::Submitted {
                        task_id: format!("task-{i}"),
                        status: "queued".into(),
                    },
                )
                .await
                .unwrap();
            leases.push(lease);
        }
        let heard = |task: &str, event: HeardEvent| Heard {
            provider: if task == "task-0" {
                Provider::Apiframe
            } else {
                Provider::HiApi
            },
            task_id: task.into(),
            status: "x".into(),
            event,
        };

        // Progress moves forward only.
        let progress = ledger
            .record(&heard("task-0", HeardEvent::Progress(Some(40))))
            .await
            .unwrap();
        assert!(
            matches!(&progress, Recorded::Applied(j) if j.progress == Some(40)),
            "{name}"
        );
        let older = ledger
            .record(&heard("task-0", HeardEvent::Progress(Some(20))))
            .await
            .unwrap();
        assert!(
            matches!(&older, Recorded::Duplicate(j) if j.progress == Some(40)),
            "{name}"
        );

        // The end, once; its redelivery is counted and changes nothing.
        let output = Output {
            url: "https://cdn.example/v.mp4?sig=1".into(),
            expires_at: None,
            expired: false,
        };
        let end = ledger
            .record(&heard("task-0", HeardEvent::Succeeded(output.clone())))
            .await
            .unwrap();
        let Recorded::Applied(done) = end else {
            panic!("{name}: {end:?}")
        };
        assert_eq!(done.state, JobState::Succeeded, "{name}");
        assert!(done.heard_at.is_some(), "{name}");
        assert_eq!(
            done.lease,
            Some(leases[0].clone()),
            "{name}: the worker keeps its lease"
        );
        let redelivered = ledger
            .record(&heard("task-0", HeardEvent::Failed("late".into())))
            .await
            .unwrap();
        assert!(
            matches!(&redelivered, Recorded::Duplicate(j) if j.state == JobState::Succeeded && j.deliveries == 4),
            "{name}: {redelivered:?}"
        );
        assert_eq!(
            ledger
                .record(&heard("task-9", HeardEvent::Failed("?".into())))
                .await
                .unwrap(),
            Recorded::Unknown,
            "{name}"
        );

        // Concurrent duplicates: exactly one applies.
        let mut copies = Vec::new();
        for _ in 0..12 {
            let ledger = ledger.clone();
            let event = heard("task-1", HeardEvent::Failed("boom".into()));
            copies.push(tokio::spawn(async move { ledger.record(&event).await }));
        }
        let mut applied = 0;
        for copy in copies {
            if let Recorded::Applied(_) = copy.await.unwrap().unwrap() {
                applied += 1;
            }
        }
        assert_eq!(applied, 1, "{name}");

        // The history holds one applied callback each (the duplicates are counted apart); a
        // status a worker polls after does not undo them.
        let heard: Vec<(String, JobState)> = ledger
            .events_after(0, 100, Some("callback"))
            .await
            .unwrap()
            .into_iter()
            // A progress callback is history too; the ends are what is asserted here.
            .filter(|e| e.to != JobState::Submitted)
            .map(|e| (e.job, e.to))
            .collect();
        assert_eq!(
            heard,
            vec![
                ("job-0000".to_owned(), JobState::Succeeded),
                ("job-0001".to_owned(), JobState::Failed)
            ],
            "{name}"
        );
        let polled = ledger
            .apply(
                &leases[0],
                Transition::Status {
                    status: "running".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(polled, Error::NotAllowed { .. }),
            "{name}: {polled}"
        );
        let kept = ledger.job(&leases[0].job).await.unwrap().unwrap();
        assert_eq!(kept.state, JobState::Succeeded, "{name}");
        assert_eq!(kept.status.as_deref(), Some("x"), "{name}");
        assert_eq!(
            ledger.jobs().await.unwrap()[1].deliveries,
            12,
            "{name}: every copy counted"
        );

        // Another worker sees what w1 holds and not settled, and when its lease ends.
        let elsewhere = ledger.outlook("w2", None).await.unwrap();
        assert_eq!(
            elsewhere.held_elsewhere, 1,
            "{name}: only the succeeded job is unsettled"
        );
        assert!(elsewhere.next_expiry.is_some(), "{name}");
        assert_eq!(
            ledger.outlook("w1", None).await.unwrap().held_elsewhere,
            0,
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_enqueueing_the_same_file_at_once_record_each_job_once() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_enqueue").await {
        // Many rounds of workers starting together: the race is between two inserts of one row.
        for round in 0..40 {
            let jobs: Vec<NewJob> = (0..25)
                .map(|i| {
                    let mut job = job(round * 100 + i, Provider::ALL[i % 3]);
                    job.idempotency_key = Some(format!("key-{}", job.id));
                    job
                })
                .collect();
            let barrier = Arc::new(tokio::sync::Barrier::new(4));
            let mut workers = Vec::new();
            for _ in 0..4 {
                let (ledger, jobs, barrier) = (ledger.clone(), jobs.clone(), barrier.clone());
                workers.push(tokio::spawn(async move {
                    barrier.wait().await;
                    ledger.enqueue(&jobs).await
                }));
            }
            let (mut inserted, mut existing) = (0, 0);
            for worker in workers {
                let done = worker.await.unwrap().unwrap();
                assert!(done.conflicts.is_empty(), "{name}: {:?}", done.conflicts);
                inserted += done.inserted;
                existing += done.existing;
            }
            assert_eq!((inserted, existing), (25, 75), "{name}, round {round}");
        }
        assert_eq!(ledger.jobs().await.unwrap().len(), 1000, "{name}");
    }
}

/// A failed job tried again (`Ledger::retry`): back to the queue with no task and a new key,
/// its billed task still counted; a refused one counted nowhere; a job changed since it was
/// planned left alone. And a ledger opened to read refuses every write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_keep_counting_billed_tasks_and_read_only_ledgers_refuse_writes() {
    use happyhorse::ledger::{self, Again, Retry};
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_retry").await {
        let jobs = [job(0, Provider::Apiframe), job(1, Provider::HiApi)];
        ledger.enqueue(&jobs).await.unwrap();
        for claimed in ledger.claim("w", Duration::from_secs(60), 2).await.unwrap() {
            let lease = claimed.lease.unwrap();
            ledger
                .apply(&lease, Transition::submitting(None))
                .await
                .unwrap();
            let error = "failed".to_owned();
            if claimed.id == "job-0000" {
                let task = Transition::Submitted {
                    task_id: "task-0".into(),
                    status: "FAILED".into(),
                };
                ledger.apply(&lease, task).await.unwrap();
                ledger
                    .apply(&lease, Transition::Failed { error })
                    .await
                    .unwrap();
            } else {
                ledger
                    .apply(&lease, Transition::Refused { error })
                    .await
                    .unwrap();
            }
        }
        let committed = ledger.summary().await.unwrap().committed;
        assert_eq!(committed.video_seconds(), 5, "{name}: only the billed task");
        let retry = |id: &str, attempts: u32| Retry {
            id: id.into(),
            state: JobState::Failed,
            attempts,
            again: Again::Submit {
                idempotency_key: Some(format!("{id}-try{attempts}")),
            },
            note: "again".into(),
        };
        // Planned from an older attempt count: left alone.
        assert_eq!(
            ledger.retry(&[retry("job-0000", 0)]).await.unwrap(),
            0,
            "{name}"
        );
        let moved = ledger
            .retry(&[retry("job-0000", 1), retry("job-0001", 1)])
            .await
            .unwrap();
        assert_eq!(moved, 2, "{name}");
        let all = ledger.jobs().await.unwrap();
        for job in &all {
            assert_eq!(job.state, JobState::Queued, "{name}");
            assert_eq!(job.task_id, None, "{name}");
            assert!(!job.refused, "{name}");
            assert_eq!(
                job.idempotency_key.as_deref(),
                Some(&*format!("{}-try1", job.id))
            );
        }
        assert_eq!(
            (all[0].earlier_tasks, all[1].earlier_tasks),
            (1, 0),
            "{name}"
        );
        // The failed task still counts; the queued tries count once submitted.
        let summary = ledger.summary().await.unwrap();
        assert_eq!(summary.committed.video_seconds(), 5, "{name}");
        assert_eq!(summary.committed.credits(), 120, "{name}");
        assert_eq!(ledger.queued().await.unwrap().video_seconds(), 10, "{name}");
    }
    // Opened to read, by location: the same jobs, and no write gets through.
    let mut locations = vec![dir.path().join("parity_retry.db").display().to_string()];
    if let Some(cluster) = cluster.as_ref() {
        locations.push(cluster.url("parity_retry"));
    }
    for location in locations {
        let reader = ledger::open_read_only(&location).await.unwrap();
        assert_eq!(reader.jobs().await.unwrap().len(), 2, "{location}");
        let refused = reader.enqueue(&[job(9, Provider::HiApi)]).await;
        assert!(
            refused.is_err(),
            "{location}: a read-only ledger took a job"
        );
    }
}

/// A job's body is replaced only while no submit has carried its key: not when it is not the
/// body planned from, not while a worker holds the job, never after the intent (even when a
/// 429 put it back in the queue: the provider has seen the key), and again once a retry gives
/// it a new key. Each replacement is in the job's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_changes_only_while_its_key_is_unsent() {
    use happyhorse::ledger::{Again, Retry};
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_body").await {
        let jobs = [job(0, Provider::HiApi), job(1, Provider::HiApi)];
        ledger.enqueue(&jobs).await.unwrap();
        let was = jobs[0].body.clone();
        let signed = json!({"model": "m", "prompt": "prompt 0", "image": "https://s3.example/b/a.png?sig=2"});

        let not_planned = ledger
            .replace_unsent_body("job-0000", &signed, &signed, "again")
            .await
            .unwrap();
        assert!(not_planned.is_none(), "{name}: replaced another body");

        let held = ledger
            .claim("w", Duration::from_secs(60), 1)
            .await
            .unwrap()
            .remove(0);
        assert_eq!(held.id, "job-0000");
        let lease = held.lease.unwrap();
        let while_held = ledger
            .replace_unsent_body("job-0000", &was, &signed, "again")
            .await
            .unwrap();
        assert!(while_held.is_none(), "{name}: replaced under a lease");
        ledger.release(&lease).await.unwrap();

        let replaced = ledger
            .replace_unsent_body("job-0000", &was, &signed, "1 URL signed again")
            .await
            .unwrap()
            .expect("an unsent, free job's body is replaced");
        assert_eq!(replaced.body, signed, "{name}");
        assert_eq!(replaced.state, JobState::Queued, "{name}");
        let stored = ledger.job("job-0000").await.unwrap().unwrap();
        assert_eq!(stored.body, signed, "{name}");
        let events = ledger.events("job-0000").await.unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.event, "body replaced", "{name}");
        assert_eq!(last.error.as_deref(), Some("1 URL signed again"), "{name}");

        // The intent sent the key: back in the queue after a 429, the body stays.
        let claimed = ledger.claim("w", Duration::from_secs(60), 2).await.unwrap();
        for job in &claimed {
            let lease = job.lease.clone().unwrap();
            ledger
                .apply(&lease, Transition::submitting(None))
                .await
                .unwrap();
            let error = "429 rate limited".to_owned();
            let change = if job.id == "job-0000" {
                Transition::Requeue { error }
            } else {
                Transition::Refused { error }
            };
            ledger.apply(&lease, change).await.unwrap();
            ledger.release(&lease).await.unwrap();
        }
        let requeued = ledger.job("job-0000").await.unwrap().unwrap();
        assert_eq!(requeued.state, JobState::Queued, "{name}");
        let after_intent = ledger
            .replace_unsent_body("job-0000", &signed, &was, "again")
            .await
            .unwrap();
        assert!(after_intent.is_none(), "{name}: replaced under a sent key");
        assert_eq!(ledger.job("job-0000").await.unwrap().unwrap().body, signed);

        // A retry's new key has not been sent: its body may change.
        let refused = ledger.job("job-0001").await.unwrap().unwrap();
        assert_eq!(refused.state, JobState::Failed, "{name}");
        let retry = Retry {
            id: "job-0001".into(),
            state: JobState::Failed,
            attempts: refused.attempts,
            again: Again::Submit {
                idempotency_key: Some("job-0001-try2".into()),
            },
            note: "again".into(),
        };
        assert_eq!(ledger.retry(&[retry]).await.unwrap(), 1, "{name}");
        let other = json!({"model": "m", "prompt": "prompt 1", "image": "https://s3.example/b/c.png?sig=2"});
        let again = ledger
            .replace_unsent_body("job-0001", &jobs[1].body, &other, "again")
            .await
            .unwrap();
        assert_eq!(again.map(|job| job.body), Some(other), "{name}");
    }
}

/// The console's search reads ids and prompts, never the rest of a body: what a URL's query
/// holds (a presigned signature, a callback's token) cannot be guessed at by counting matches.
/// Nor is it kept in an error: a provider's message quoting a presigned URL is stored without
/// the query, in the job and its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reads_ids_and_prompts_never_urls_and_errors_keep_no_queries() {
    use happyhorse::ledger::JobFilter;
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    for (name, ledger) in ledgers(dir.path(), cluster.as_ref(), "parity_search").await {
        let mut jobs = [
            job(0, Provider::HiApi),
            job(1, Provider::Reapi),
            job(2, Provider::Apiframe),
        ];
        jobs[0].body = json!({"model": "m", "input": {"prompt": "A Horse at dawn", "reference_image": ["https://s3.example/b/x.png?X-Amz-Signature=abc123"]}});
        jobs[1].body = json!({"model": "m", "prompt": "a pony in 50% fog", "image_urls": ["https://s3.example/b/y.png?X-Amz-Signature=def456"]});
        jobs[2].body = json!({"model": "m", "prompt": "zebra", "webhookUrl": "https://hooks.example/hh?token=t0k3n"});
        ledger.enqueue(&jobs).await.unwrap();
        let found = |text: &str| {
            let ledger = ledger.clone();
            let mut filter = JobFilter::default();
            filter.search = Some(text.to_owned());
            async move {
                let page = ledger.page(&filter, None, 10).await.unwrap();
                assert_eq!(page.matching, page.jobs.len() as u64);
                page.jobs.into_iter().map(|j| j.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(found("horse").await, vec!["job-0000"], "{name}");
        assert_eq!(found("PONY IN 50%").await, vec!["job-0001"], "{name}");
        assert_eq!(found("zebra").await, vec!["job-0002"], "{name}");
        assert_eq!(found("job-000").await.len(), 3, "{name}");
        for secret in [
            "x-amz-signature",
            "abc123",
            "def456",
            "t0k3n",
            "s3.example",
            "model",
        ] {
            assert!(found(secret).await.is_empty(), "{name}: {secret} matched");
        }
        // A provider's error quoting the URL it could not fetch is kept without the query.
        let held = ledger
            .claim("w", Duration::from_secs(60), 1)
            .await
            .unwrap()
            .remove(0);
        let lease = held.lease.unwrap();
        ledger
            .apply(&lease, Transition::submitting(None))
            .await
            .unwrap();
        let error = "IMAGE_FETCH_FAILED: cannot fetch https://s3.example/b/x.png?X-Amz-Signature=abc123: 403".to_owned();
        let failed = ledger
            .apply(&lease, Transition::Failed { error })
            .await
            .unwrap();
        assert_eq!(
            failed.error.as_deref(),
            Some("IMAGE_FETCH_FAILED: cannot fetch https://s3.example/b/x.png?…: 403"),
            "{name}"
        );
        let events = ledger.events(&held.id).await.unwrap();
        assert!(
            events
                .iter()
                .all(|e| !e.error.as_deref().unwrap_or("").contains("abc123")),
            "{name}: {events:?}"
        );
        let mut filter = JobFilter::default();
        filter.error = Some("abc123".into());
        let page = ledger.page(&filter, None, 10).await.unwrap();
        assert_eq!(page.matching, 0, "{name}");
    }
}
