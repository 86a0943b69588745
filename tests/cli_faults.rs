//! `happyhorse batch` and `happyhorse serve` when the ledger cannot write: its file system
//! full (a real tmpfs filled to the last byte, as root) or a PostgreSQL database that refuses
//! writes. Nothing is reported done that the ledger does not hold: the receiver answers 503
//! (the provider redelivers), the batch stops claiming and submitting, says the ledger is
//! failing and why, and exits non-zero; once the fault is gone, the same command finishes
//! every job with one task and one file, and downloads nothing twice.
#![cfg(all(feature = "cli", feature = "sandbox"))]

mod common;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::{
    process::{command, pairs, serve, Exit, Running},
    runtime, sandbox_env,
    smallfs::SmallFs,
};
use happyhorse::{
    ledger::{self, Job, JobState, NewJob, Transition},
    sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4},
    webhook, Provider,
};
use serde_json::json;

/// How long anything may take before the test gives up (never an assertion of speed).
const PATIENCE: Duration = Duration::from_secs(120);
const SECRET: &str = "whsec_faults_test_5Tq1";
const API_KEY: &str = "af_faults_test_key_9Lm";

fn jobs_file(dir: &Path, ids: &[&str]) -> PathBuf {
    let path = dir.join("jobs.jsonl");
    let lines: Vec<String> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "prompt": format!("a horse named {id}"), "duration": 3}).to_string()
        })
        .collect();
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

async fn read_jobs(location: &str) -> BTreeMap<String, Job> {
    let ledger = ledger::open(location).await.expect("the ledger opens");
    ledger
        .jobs()
        .await
        .expect("the ledger reads")
        .into_iter()
        .map(|job| (job.id.clone(), job))
        .collect()
}

/// The jobs the batch printed as downloaded (`downloaded ID -> FILE` lines).
fn printed_downloaded(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("downloaded "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Runs `batch` on a ledger that fails mid-run (`fault` makes it fail, `heal` undoes it),
/// and checks what it printed, what it exited with, what the ledger held, and the rerun.
fn batch_survives_a_failing_ledger(
    what: &str,
    out: &Path,
    ledger_location: &str,
    expected_errors: &[&str],
    fault: impl FnOnce(),
    heal: impl FnOnce(),
) {
    let runtime = runtime();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(3.0),
        ))
        .unwrap();
    let env = sandbox_env(&sandbox);
    let work = tempfile::tempdir().unwrap();
    let out_arg = out.to_str().unwrap();
    let args = |jobs: &Path| -> Vec<String> {
        vec![
            "batch".into(),
            jobs.to_str().unwrap().into(),
            "--out".into(),
            out_arg.into(),
            "--ledger".into(),
            ledger_location.into(),
            // A worker that stopped on a failing ledger could not release its jobs: the rerun
            // takes them when this lease ends.
            "--lease".into(),
            "4".into(),
        ]
    };
    let run = |jobs: &Path| -> Running {
        let args = args(jobs);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Running::spawn(command(&args, &pairs(&env)))
    };

    // Two jobs made and saved while all is well.
    let first = run(&jobs_file(work.path(), &["a", "b"])).exit(PATIENCE);
    assert_eq!(first.code, Some(0), "{what}: {}", first.stderr);

    // Four more; the ledger fails while their tasks run.
    let all = ["a", "b", "c", "d", "e", "f"];
    let jobs = jobs_file(work.path(), &all);
    let mut running = run(&jobs);
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(
            running.child.try_wait().unwrap().is_none(),
            "{what}: the batch ended before its jobs were submitted: {}",
            running.stderr()
        );
        assert!(Instant::now() < deadline, "{what}: no submits");
        let jobs = runtime.block_on(read_jobs(ledger_location));
        let submitted = jobs
            .values()
            .filter(|job| job.state == JobState::Submitted)
            .count();
        if submitted == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    fault();
    let failed: Exit = running.exit(PATIENCE);
    assert_eq!(
        failed.code,
        Some(1),
        "{what}: a batch whose ledger fails exits 1: {}",
        failed.stderr
    );
    assert!(
        expected_errors.iter().any(|e| failed.stderr.contains(e)),
        "{what}: the batch says what is failing ({expected_errors:?}): {}",
        failed.stderr
    );
    assert!(
        failed.stderr.contains("hint: ") && failed.stderr.contains("run the same command again"),
        "{what}: and what to do: {}",
        failed.stderr
    );
    heal();
    let held = runtime.block_on(read_jobs(ledger_location));
    let states: Vec<String> = held
        .values()
        .map(|job| format!("{} {}", job.id, job.state))
        .collect();
    eprintln!(
        "{what}: the failing run exited {:?} with {:?}; it printed downloaded {:?}; the ledger held {}",
        failed.code,
        failed
            .stderr
            .lines()
            .find(|line| line.starts_with("error: "))
            .unwrap_or_default(),
        printed_downloaded(&failed.stderr),
        states.join(", ")
    );
    for id in printed_downloaded(&failed.stderr) {
        assert_eq!(
            held[&id].state,
            JobState::Downloaded,
            "{what}: printed `downloaded {id}` while the ledger holds it {}",
            held[&id].state
        );
    }
    for id in ["c", "d", "e", "f"] {
        // Still at the provider, or done there and not saved: never lost, never paid twice.
        assert!(
            matches!(held[id].state, JobState::Submitted | JobState::Succeeded),
            "{what}: job {id} is {}",
            held[id].state
        );
    }
    // A video's partial file is kept for the rerun to resume; the results file's is not.
    let leftovers: Vec<String> = common::file_names(out)
        .into_iter()
        .filter(|name| name.starts_with(".results.jsonl") && name.ends_with(".part"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{what}: partial files left: {leftovers:?}"
    );
    let before = sandbox.stats();

    // Once the ledger can write again, the same command finishes the batch.
    let rerun = run(&jobs).exit(PATIENCE);
    assert_eq!(rerun.code, Some(0), "{what}: {}", rerun.stderr);
    let held = runtime.block_on(read_jobs(ledger_location));
    let stats = sandbox.stats();
    assert_eq!(
        stats.tasks_created.total(),
        6,
        "{what}: one task per job, none twice"
    );
    assert_eq!(
        stats.downloads - before.downloads,
        4,
        "{what}: the rerun downloads the four unsaved videos and not the two saved ones"
    );
    eprintln!(
        "{what}: the rerun exited {:?}; tasks created in all {}, downloads in all {} ({} by the rerun)",
        rerun.code,
        stats.tasks_created.total(),
        stats.downloads,
        stats.downloads - before.downloads
    );
    for id in all {
        let job = &held[id];
        assert_eq!(job.state, JobState::Downloaded, "{what}: job {id}");
        let file = out.join(format!("{id}.mp4"));
        assert_eq!(fs::read(&file).unwrap(), SAMPLE_MP4, "{what}: {id}");
    }
}

#[test]
fn batch_whose_ledger_disk_fills_stops_says_why_and_the_rerun_saves_every_video_once() {
    let Some(small) = SmallFs::mount(8) else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let location = small.path().join("happyhorse.db");
    batch_survives_a_failing_ledger(
        "sqlite ledger on a full disk",
        out.path(),
        location.to_str().unwrap(),
        &["error: ledger: "],
        || small.fill(),
        || small.free(),
    );
}

/// Only the videos' file system fills (the ledger elsewhere): the downloads fail, the batch
/// stops submitting and says why, the jobs keep their tasks, and the rerun saves them.
#[test]
fn batch_whose_video_disk_fills_stops_submitting_and_the_rerun_saves_every_video_once() {
    let Some(small) = SmallFs::mount(8) else {
        return;
    };
    let elsewhere = tempfile::tempdir().unwrap();
    let location = elsewhere.path().join("happyhorse.db");
    batch_survives_a_failing_ledger(
        "videos on a full disk",
        &small.path().join("out"),
        location.to_str().unwrap(),
        &["stopped submitting: cannot save videos in"],
        || small.fill(),
        || small.free(),
    );
}

/// The ledger and the videos on one file system that fills: whichever write fails first (the
/// ledger's, or a video's), the batch stops, says so, and loses nothing.
#[test]
fn batch_whose_output_disk_fills_stops_says_why_and_the_rerun_saves_every_video_once() {
    let Some(small) = SmallFs::mount(8) else {
        return;
    };
    let out = small.path().join("out");
    let location = out.join("happyhorse.db");
    batch_survives_a_failing_ledger(
        "sqlite ledger and videos on a full disk",
        &out,
        location.to_str().unwrap(),
        &["disk is full", "No space left on device"],
        || small.fill(),
        || small.free(),
    );
}

#[cfg(feature = "postgres")]
#[test]
fn batch_on_a_postgres_ledger_that_refuses_writes_stops_and_the_rerun_finishes() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let runtime = runtime();
    let url = runtime.block_on(cluster.database("faults_batch"));
    let out = tempfile::tempdir().unwrap();
    batch_survives_a_failing_ledger(
        "postgres",
        out.path(),
        &url,
        &["error: ledger: "],
        || cluster.refuse_writes("faults_batch"),
        || cluster.allow_writes("faults_batch"),
    );
}

// ---------------------------------------------------------------------------------------------
// serve

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// One job per task, `submitted` with a callback, as a batch with `--callback-url` leaves it.
async fn prepare(location: &str, tasks: &[(&str, Provider, &str)]) {
    let ledger = ledger::open(location).await.expect("the ledger opens");
    let jobs: Vec<NewJob> = tasks
        .iter()
        .map(|(id, provider, _)| NewJob {
            id: (*id).into(),
            line: None,
            provider: *provider,
            body: json!({"prompt": format!("{id}")}),
            idempotency_key: Some(format!("hh-{id}")),
            resolution: "720p".into(),
            video_seconds: 5,
            credits: None,
            output_name: format!("{id}.mp4"),
        })
        .collect();
    ledger.enqueue(&jobs).await.unwrap();
    for job in ledger
        .claim("worker", Duration::from_secs(3600), 10)
        .await
        .unwrap()
    {
        let lease = job.lease.clone().unwrap();
        let task = tasks.iter().find(|t| t.0 == job.id).unwrap().2;
        ledger
            .apply(&lease, Transition::submitting(None))
            .await
            .unwrap();
        ledger
            .apply(
                &lease,
                Transition::Submitted {
                    task_id: task.into(),
                    status: "queued".into(),
                },
            )
            .await
            .unwrap();
    }
}

/// A signed end-of-task delivery (the documents' task objects): (path, headers, body).
fn delivery(
    provider: Provider,
    task: &str,
) -> (&'static str, Vec<(&'static str, String)>, Vec<u8>) {
    let url = format!("https://cdn.example/{task}/0.mp4?X-Amz-Signature=s");
    match provider {
        Provider::Apiframe => {
            let body = serde_json::to_vec(&json!({
                "id": task, "status": "COMPLETED", "model": "happyhorse-1.1", "progress": 100,
                "error": null, "creditCost": 120, "webhookStatus": "pending",
                "createdAt": "2025-06-01T12:00:00Z", "completedAt": "2025-06-01T12:03:00Z",
                "expired": false, "result": {"urls": [url]}, "input": {"prompt": "a horse"},
            }))
            .unwrap();
            let signature = webhook::apiframe_signature(API_KEY, &body);
            (
                "/apiframe",
                vec![(webhook::APIFRAME_SIGNATURE_HEADER, signature)],
                body,
            )
        }
        _ => {
            let body = serde_json::to_vec(&json!({
                "taskId": task, "model": "happyhorse-1.1/text-to-video", "status": "success",
                "created": 1_750_000_000, "completed": 1_750_000_180, "route": null,
                "output": [{"type": "video", "url": url, "expireAt": 1_900_000_000}],
                "error": null,
            }))
            .unwrap();
            let timestamp = now();
            (
                "/hiapi",
                vec![
                    (webhook::HIAPI_TIMESTAMP_HEADER, timestamp.to_string()),
                    (
                        webhook::HIAPI_SIGNATURE_HEADER,
                        webhook::hiapi_signature(SECRET.as_bytes(), timestamp, &body),
                    ),
                ],
                body,
            )
        }
    }
}

/// POSTs a delivery; returns the status and the body.
fn deliver(base: &str, provider: Provider, task: &str) -> (u16, String) {
    let (path, headers, body) = delivery(provider, task);
    let runtime = runtime();
    runtime.block_on(async {
        let mut request = common::plain_http()
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let answer = request.send().await.expect("serve answers");
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap_or_default())
    })
}

fn serve_survives_a_failing_ledger(
    what: &str,
    location: &str,
    fault: impl FnOnce(),
    heal: impl FnOnce(),
) {
    let runtime = runtime();
    let tasks = [
        ("h", Provider::HiApi, "tk-faults-h"),
        (
            "a",
            Provider::Apiframe,
            "6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5",
        ),
    ];
    runtime.block_on(prepare(location, &tasks));
    let (server, base) = serve(
        location,
        &[
            ("HIAPI_WEBHOOK_SECRET", SECRET),
            ("APIFRAME_API_KEY", API_KEY),
        ],
        PATIENCE,
    );
    fault();
    for (id, provider, task) in tasks {
        for attempt in ["delivery", "redelivery"] {
            let (status, body) = deliver(&base, provider, task);
            assert_eq!(
                status, 503,
                "{what}: a {attempt} for job {id} the ledger cannot record: {body}"
            );
            assert!(body.contains("ledger_failed"), "{what}: {body}");
            eprintln!("{what}: {attempt} for job {id} answered {status} {body}");
        }
    }
    let logged = server.stderr();
    assert!(
        logged.contains("delivery not recorded"),
        "{what}: serve logs the failure without -v: {logged}"
    );
    heal();
    let held = runtime.block_on(read_jobs(location));
    for (id, _, _) in tasks {
        assert_eq!(held[id].state, JobState::Submitted, "{what}: job {id}");
    }
    // The provider's next redelivery is recorded.
    for (id, provider, task) in tasks {
        let (status, body) = deliver(&base, provider, task);
        assert_eq!(status, 200, "{what}: job {id}: {body}");
        assert!(body.contains("applied"), "{what}: {body}");
    }
    let held = runtime.block_on(read_jobs(location));
    for (id, _, _) in tasks {
        assert_eq!(held[id].state, JobState::Succeeded, "{what}: job {id}");
    }
    drop(server);
}

#[test]
fn serve_on_a_full_disk_answers_503_and_records_once_space_returns() {
    let Some(small) = SmallFs::mount(4) else {
        return;
    };
    let location = small.path().join("happyhorse.db");
    serve_survives_a_failing_ledger(
        "sqlite",
        location.to_str().unwrap(),
        || small.fill(),
        || small.free(),
    );
}

#[cfg(feature = "postgres")]
#[test]
fn serve_on_a_postgres_ledger_that_refuses_writes_answers_503() {
    let Some(cluster) = common::pg::Cluster::start() else {
        return;
    };
    let url = runtime().block_on(cluster.database("faults_serve"));
    serve_survives_a_failing_ledger(
        "postgres",
        &url,
        || cluster.refuse_writes("faults_serve"),
        || cluster.allow_writes("faults_serve"),
    );
}
