//! The batch runner through the library: `parse_jobs`, `Batch::plan` and `Batch::run` over a
//! SQLite ledger in a temporary directory, against an in-process sandbox over real HTTP.
#![cfg(all(feature = "sandbox", feature = "ledger"))]

mod common;

use std::{collections::HashSet, path::Path, time::Duration};

use common::{file_names, sandbox_client, sandbox_client_config, sha256_hex};
use happyhorse::{
    batch::{
        parse_jobs, results_rows, write_results, Batch, BatchJob, BatchOptions, Budget,
        RESULTS_FILE,
    },
    ledger::{JobState, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig, FAULT_HEADER, SAMPLE_MP4},
    Client, Error, Provider,
};

/// The sandbox's clock and the batch's run ten times as fast as real time: a 5 s task takes
/// half a real second, and the batch's first poll (2 s on its clock) comes after 0.2 s.
const TIME_SCALE: f64 = 10.0;

async fn sandbox() -> Sandbox {
    Sandbox::start(
        SandboxConfig::default()
            .with_time_scale(TIME_SCALE)
            .with_task_seconds(5.0),
    )
    .await
    .unwrap()
}

fn options() -> BatchOptions {
    BatchOptions {
        concurrency: 8,
        time_scale: TIME_SCALE,
        ..BatchOptions::default()
    }
}

/// A batch over the ledger in `out/happyhorse.db`, with a client of every provider.
async fn batch_with(out: &Path, clients: Vec<Client>, options: BatchOptions) -> Batch {
    let ledger = SqliteLedger::open(out.join("happyhorse.db")).await.unwrap();
    let mut batch = Batch::new(ledger, out).with_options(options);
    for client in clients {
        batch = batch.with_client(client);
    }
    batch
}

fn all_clients(sandbox: &Sandbox) -> Vec<Client> {
    Provider::ALL
        .into_iter()
        .map(|provider| sandbox_client(sandbox, provider))
        .collect()
}

async fn batch(out: &Path, sandbox: &Sandbox) -> Batch {
    batch_with(out, all_clients(sandbox), options()).await
}

/// [`batch`] under `budget`.
async fn capped(out: &Path, sandbox: &Sandbox, budget: Budget) -> Batch {
    batch_with(
        out,
        all_clients(sandbox),
        BatchOptions {
            budget,
            ..options()
        },
    )
    .await
}

fn jobs(text: &str) -> Vec<BatchJob> {
    parse_jobs(text, Provider::HiApi).unwrap_or_else(|problems| panic!("{problems:#?}"))
}

const MIXED: &str = r#"{"id": "beach", "prompt": "A golden retriever running on a beach"}
{"id": "city", "prompt": "A city street at night, rain", "provider": "reapi", "resolution": "720p"}
{"id": "forest", "prompt": "A forest in fog", "provider": "apiframe", "duration": 3, "resolution": "720p"}
{"prompt": "A lighthouse in a storm", "provider": "apiframe", "duration": 4}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_saves_one_verified_file_per_job_and_a_rerun_sends_nothing() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs(MIXED);
    let batch = batch(&out, &sandbox).await;

    let plan = batch.plan(&jobs).await.unwrap();
    assert_eq!((plan.enqueued.inserted, plan.enqueued.existing), (4, 0));
    // hiapi's default 5 s, reapi's default 5 s, then 3 s and 4 s on Apiframe.
    assert_eq!(plan.to_go.video_seconds(), 5 + 5 + 3 + 4);
    // Only Apiframe documents a price: 24 credits/s at 720p, 31 at 1080p (its default).
    assert_eq!(plan.to_go.credits(), 24 * 3 + 31 * 4);
    assert_eq!(plan.committed.video_seconds(), 0);
    // Planning sends nothing.
    assert_eq!(sandbox.stats().submits.total(), 0);

    let report = batch.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    assert_eq!(report.summary.count(JobState::Downloaded), 4);
    assert_eq!((report.submits, report.downloads), (4, 4));
    assert!(report.deferred.is_empty() && report.stopped.is_none());
    assert_eq!(report.summary.committed.video_seconds(), 17);

    let stats = sandbox.stats();
    assert_eq!(stats.tasks_created.get(Provider::HiApi), 1);
    assert_eq!(stats.tasks_created.get(Provider::Reapi), 1);
    assert_eq!(stats.tasks_created.get(Provider::Apiframe), 2);

    let recorded = batch.ledger().jobs().await.unwrap();
    let rows = results_rows(&recorded, &out);
    assert_eq!(rows.len(), 4);
    let sample_sha = sha256_hex(SAMPLE_MP4);
    let mut task_ids = HashSet::new();
    for (row, job) in rows.iter().zip(&jobs) {
        assert_eq!(row.id, job.id);
        assert_eq!(row.line, Some(job.line));
        assert_eq!(row.provider, job.provider);
        assert_eq!(row.state, JobState::Downloaded, "{row:?}");
        assert_eq!(row.error, None);
        let file = row.file.as_ref().unwrap();
        assert_eq!(file, &out.join(&job.output));
        let bytes = std::fs::read(file).unwrap();
        assert_eq!(bytes, SAMPLE_MP4, "{}", file.display());
        assert_eq!(row.bytes, Some(SAMPLE_MP4.len() as u64));
        assert_eq!(row.sha256.as_deref(), Some(sample_sha.as_str()));
        assert!(task_ids.insert(row.task_id.clone().unwrap()), "{row:?}");
    }
    // The line without an id got one from its content, and its file is named after it.
    assert!(jobs[3].id.starts_with("job-"), "{}", jobs[3].id);

    // results.jsonl: one JSON object per job, in the jobs file's order.
    let results = write_results(&results_rows(&recorded, &out), &out)
        .await
        .unwrap();
    assert_eq!(results, out.join(RESULTS_FILE));
    let text = std::fs::read_to_string(&results).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for (line, job) in lines.iter().zip(&jobs) {
        assert_eq!(line["id"], job.id.as_str());
        assert_eq!(line["state"], "downloaded");
        assert_eq!(line["sha256"], sample_sha.as_str());
        // No signed output URL leaks into the results.
        assert!(!line.to_string().contains("/files/"), "{line}");
    }
    // No partial files are left behind.
    let names = file_names(&out);
    assert!(
        names.iter().all(|n| !n.contains(".part")),
        "{names:?} in {}",
        out.display()
    );

    // A rerun of the same file (a new process: a new ledger handle) records and sends nothing.
    drop(batch);
    let before = sandbox.stats();
    let again = self::batch(&out, &sandbox).await;
    let plan = again.plan(&jobs).await.unwrap();
    assert_eq!((plan.enqueued.inserted, plan.enqueued.existing), (0, 4));
    assert!(plan.to_go.rows.is_empty(), "{plan:#?}");
    assert_eq!(plan.committed.video_seconds(), 17);
    let report = again.run().await.unwrap();
    assert!(report.all_downloaded());
    assert_eq!(
        (report.submits, report.polls, report.downloads),
        (0, 0, 0),
        "{report:#?}"
    );
    let after = sandbox.stats();
    assert_eq!(after.submits, before.submits);
    assert_eq!(after.tasks_created, before.tasks_created);
    assert_eq!(after.downloads, before.downloads);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_recorded_with_another_request_is_refused_as_a_conflict() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let batch = batch(out, &sandbox).await;
    batch
        .plan(&jobs(
            "{\"id\": \"beach\", \"prompt\": \"A dog on a beach\"}\n{\"id\": \"city\", \"prompt\": \"A city\"}",
        ))
        .await
        .unwrap();
    let before = batch.ledger().jobs().await.unwrap();

    // Line 3 keeps its id with another prompt; line 2 is unchanged; line 1 is new.
    let changed = jobs(
        "{\"id\": \"new\", \"prompt\": \"Something new\"}\n{\"id\": \"city\", \"prompt\": \"A city\"}\n{\"id\": \"beach\", \"prompt\": \"A cat on a beach\"}",
    );
    let err = batch.plan(&changed).await.unwrap_err();
    match &err {
        Error::JobConflict { jobs } => assert_eq!(jobs, &["line 3: beach"], "{err}"),
        other => panic!("want JobConflict, got {other:?}"),
    }
    assert!(err.to_string().contains("new `id`"), "{err}");
    // The same id on another provider is another request too.
    let moved = jobs("{\"id\": \"city\", \"prompt\": \"A city\", \"provider\": \"reapi\"}");
    assert!(matches!(
        batch.plan(&moved).await,
        Err(Error::JobConflict { .. })
    ));
    // Refused whole: the new job was not recorded, the old ones are as they were.
    assert_eq!(batch.ledger().jobs().await.unwrap(), before);
    assert_eq!(sandbox.stats().submits.total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_refuses_a_batch_over_its_budget_and_records_nothing() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    // 5 + 5 s on hiapi, 3 s at 720p and 4 s at 1080p on Apiframe: 17 s; 72 + 124 credits.
    let mixed = jobs(MIXED);
    let apiframe_only: Vec<BatchJob> = mixed
        .iter()
        .filter(|job| job.provider == Provider::Apiframe)
        .cloned()
        .collect();
    let over = capped(
        out,
        &sandbox,
        Budget {
            max_video_seconds: Some(16),
            ..Budget::default()
        },
    )
    .await;
    let err = over.plan(&mixed).await.unwrap_err();
    assert!(matches!(err, Error::OverBudget { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("17 s") && text.contains("cap of 16 s"),
        "{text}"
    );
    assert!(over.ledger().jobs().await.unwrap().is_empty());
    drop(over);

    let over = capped(
        out,
        &sandbox,
        Budget {
            max_credits: Some(24 * 3 + 31 * 4 - 1),
            ..Budget::default()
        },
    )
    .await;
    let err = over.plan(&apiframe_only).await.unwrap_err();
    assert!(matches!(err, Error::OverBudget { .. }), "{err:?}");
    assert!(err.to_string().contains("196 credits"), "{err}");
    assert!(over.ledger().jobs().await.unwrap().is_empty());
    // A provider without a documented price cannot be counted in credits at all.
    let err = over.plan(&mixed).await.unwrap_err();
    assert!(matches!(err, Error::OverBudget { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("cannot be enforced")
            && text.contains("hiapi")
            && text.contains("reapi")
            && !text.contains("apiframe"),
        "{text}"
    );
    assert!(over.ledger().jobs().await.unwrap().is_empty());
    drop(over);

    // At the cap exactly, the batch is planned.
    let at = capped(
        out,
        &sandbox,
        Budget {
            max_credits: Some(24 * 3 + 31 * 4),
            max_video_seconds: Some(7),
        },
    )
    .await;
    let plan = at.plan(&apiframe_only).await.unwrap();
    assert_eq!(plan.enqueued.inserted, 2);
    assert_eq!(sandbox.stats().submits.total(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_counts_what_earlier_runs_committed() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let first = batch(out, &sandbox).await;
    first
        .plan(&jobs(r#"{"id": "one", "prompt": "A horse"}"#))
        .await
        .unwrap();
    assert!(first.run().await.unwrap().all_downloaded());
    drop(first);

    // 5 s committed, 5 s more asked for: over a cap of 9, within one of 10.
    let second = jobs(r#"{"id": "two", "prompt": "A second horse"}"#);
    let seconds = |cap: u64| Budget {
        max_video_seconds: Some(cap),
        ..Budget::default()
    };
    let over = capped(out, &sandbox, seconds(9)).await;
    let err = over.plan(&second).await.unwrap_err();
    assert!(matches!(err, Error::OverBudget { .. }), "{err:?}");
    assert!(err.to_string().contains("5 s are committed"), "{err}");
    drop(over);
    let within = capped(out, &sandbox, seconds(10)).await;
    let plan = within.plan(&second).await.unwrap();
    assert_eq!(plan.committed.video_seconds(), 5);
    let report = within.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    assert_eq!(report.submits, 1);
    assert_eq!(sandbox.stats().tasks_created.total(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_keyed_submit_is_replayed_into_the_same_task() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    // The first two calls of each client (the submit and its first retry) lose their answer
    // after the sandbox created the task; the header's count is per provider's item text.
    let clients = [
        (Provider::HiApi, "reset*2"),
        (Provider::Apiframe, "reset *2"),
    ]
    .into_iter()
    .map(|(provider, fault)| {
        Client::new(sandbox_client_config(&sandbox, provider).with_header(FAULT_HEADER, fault))
            .unwrap()
    })
    .collect();
    let batch = batch_with(out, clients, options()).await;
    batch
        .plan(&jobs(
            "{\"id\": \"h\", \"prompt\": \"A horse\"}\n{\"id\": \"a\", \"prompt\": \"A horse\", \"provider\": \"apiframe\", \"duration\": 3}",
        ))
        .await
        .unwrap();
    let report = batch.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    let stats = sandbox.stats();
    for provider in [Provider::HiApi, Provider::Apiframe] {
        // Three submits reached the sandbox (two answers lost), and one task exists.
        assert_eq!(stats.submits.get(provider), 3, "{provider}: {stats:?}");
        assert_eq!(
            stats.tasks_created.get(provider),
            1,
            "{provider}: {stats:?}"
        );
    }
    for job in batch.ledger().jobs().await.unwrap() {
        assert_eq!(std::fs::read(job.file.unwrap()).unwrap(), SAMPLE_MP4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_reapi_submit_is_never_resubmitted_unasked() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let lossy = Client::new(
        sandbox_client_config(&sandbox, Provider::Reapi).with_header(FAULT_HEADER, "reset*1"),
    )
    .unwrap();
    let batch = batch_with(out, vec![lossy], options()).await;
    let reapi = jobs(r#"{"id": "r", "prompt": "A horse", "provider": "reapi"}"#);
    batch.plan(&reapi).await.unwrap();
    let report = batch.run().await.unwrap();
    assert!(!report.all_downloaded());
    assert_eq!(report.summary.count(JobState::Uncertain), 1, "{report:#?}");
    assert_eq!(report.summary.attention.len(), 1);
    let error = report.summary.attention[0]
        .error
        .clone()
        .unwrap_or_default();
    // What happened, in the library's words: what to run next is the command line's to say.
    assert!(
        error.contains("may have created a task") && !error.contains("--"),
        "{error}"
    );
    // It counts against the budget: a task may exist.
    assert_eq!(report.summary.committed.video_seconds(), 5);
    assert_eq!(sandbox.stats().tasks_created.get(Provider::Reapi), 1);

    // Run again as it is: left alone.
    let report = batch.run().await.unwrap();
    assert_eq!(report.submits, 0);
    assert_eq!(report.summary.count(JobState::Uncertain), 1);
    assert_eq!(sandbox.stats().submits.get(Provider::Reapi), 1);

    // Asked to resubmit (the fault is used up): a second task, and the video.
    drop(batch);
    let resubmit = batch_with(
        out,
        all_clients(&sandbox),
        BatchOptions {
            uncertain: happyhorse::batch::Uncertain::Resubmit,
            ..options()
        },
    )
    .await;
    let report = resubmit.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    assert_eq!(report.submits, 1);
    assert_eq!(sandbox.stats().tasks_created.get(Provider::Reapi), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_job_never_overwrites_a_file_it_did_not_make() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    std::fs::write(out.join("keep.mp4"), b"someone else's video").unwrap();
    let batch = batch(out, &sandbox).await;
    let err = batch
        .plan(&jobs(
            "{\"id\": \"a\", \"prompt\": \"A horse\"}\n{\"id\": \"keep\", \"prompt\": \"A dog\"}",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("line 2: keep.mp4"), "{err}");
    assert!(batch.ledger().jobs().await.unwrap().is_empty());
    assert_eq!(
        std::fs::read(out.join("keep.mp4")).unwrap(),
        b"someone else's video"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_keeps_its_jobs_and_the_next_run_finishes_them() {
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_time_scale(TIME_SCALE)
            .with_task_seconds(20.0),
    )
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let token = tokio_util::sync::CancellationToken::new();
    let text: Vec<String> = (0..6)
        .map(|i| format!(r#"{{"id": "j{i}", "prompt": "Horse number {i}"}}"#))
        .collect();
    let jobs = jobs(&text.join("\n"));
    let stop = token.clone();
    let batch = batch(out, &sandbox)
        .await
        .cancel_on(token)
        // Cancel as soon as a task id is recorded: the others are then queued or in flight.
        .on_change(move |change| {
            if change.job.state == JobState::Submitted {
                stop.cancel();
            }
        });
    batch.plan(&jobs).await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(60), batch.run())
        .await
        .expect("a cancelled run ends")
        .unwrap();
    assert!(!report.all_downloaded());
    // Stopped: what was not done stays in the ledger, not settled (waiting jobs hold no
    // lease; a job stopped mid-step is listed as left for a later run).
    let unsettled: u64 = report
        .summary
        .states
        .iter()
        .filter(|(state, _)| !state.is_settled())
        .map(|(_, n)| n)
        .sum();
    assert!(unsettled > 0, "{report:#?}");
    let submitted = sandbox.stats().tasks_created.total();
    assert!(submitted >= 1, "{submitted}");
    drop(batch);

    let report = self::batch(out, &sandbox).await.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    // One task per job, whatever the cancel interrupted.
    assert_eq!(sandbox.stats().tasks_created.get(Provider::HiApi), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_skipped_job_counts_as_committed_wherever_it_is_counted() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let lossy = Client::new(
        sandbox_client_config(&sandbox, Provider::Reapi).with_header(FAULT_HEADER, "reset*1"),
    )
    .unwrap();
    let batch = batch_with(out, vec![lossy], options()).await;
    batch
        .plan(&jobs(
            r#"{"id": "r", "prompt": "A horse", "provider": "reapi"}"#,
        ))
        .await
        .unwrap();
    batch.run().await.unwrap();
    drop(batch);
    let skip = batch_with(
        out,
        all_clients(&sandbox),
        BatchOptions {
            uncertain: happyhorse::batch::Uncertain::Skip,
            ..options()
        },
    )
    .await;
    let report = skip.run().await.unwrap();
    assert_eq!(report.summary.count(JobState::Skipped), 1, "{report:#?}");
    // Its submit reached reapi, which created a task: it may be billed.
    assert_eq!(sandbox.stats().tasks_created.get(Provider::Reapi), 1);
    assert_eq!(report.summary.committed.video_seconds(), 5);
    let by_state: u64 = skip
        .ledger()
        .jobs()
        .await
        .unwrap()
        .iter()
        .filter(|job| job.state.is_committed())
        .map(|job| u64::from(job.video_seconds))
        .sum();
    assert_eq!(by_state, report.summary.committed.video_seconds());
}

// The jobs file as input from outside: caps, quotes, encodings and spoofing.

/// Every problem of a jobs file, or a panic naming the jobs it accepted.
fn problems(text: &str) -> Vec<happyhorse::batch::LineProblem> {
    match parse_jobs(text, Provider::HiApi) {
        Ok(jobs) => panic!(
            "accepted: {:?}",
            jobs.iter().map(|j| (j.line, &j.id)).collect::<Vec<_>>()
        ),
        Err(problems) => problems,
    }
}

fn line_of(fields: serde_json::Value) -> String {
    fields.to_string()
}

/// Finding 1: a prompt past its provider's cap (5000 characters on HiAPI and reapi, 2500 on
/// Apiframe) is a problem of its line, found before anything is recorded or paid for; a
/// prompt at the cap is a job.
#[test]
fn a_prompt_past_its_providers_cap_is_refused_with_the_cap() {
    let prompt = |provider: &str, chars: usize| {
        line_of(serde_json::json!({
            "provider": provider, "prompt": "马".repeat(chars), "duration": 5
        }))
    };
    let at_the_cap = [
        prompt("hiapi", 5000),
        prompt("reapi", 5000),
        prompt("apiframe", 2500),
    ]
    .join("\n");
    assert_eq!(jobs(&at_the_cap).len(), 3);

    let past = [
        prompt("hiapi", 5001),
        prompt("reapi", 5001),
        prompt("apiframe", 2501),
    ]
    .join("\n");
    let found = problems(&past);
    let lines: Vec<u64> = found.iter().map(|p| p.line).collect();
    assert_eq!(lines, [1, 2, 3], "{found:#?}");
    for (problem, want) in found.iter().zip([5000, 5000, 2500]) {
        assert!(
            problem.message.contains("prompt")
                && problem.message.contains("maxLength")
                && problem.message.contains(&format!("want {want}")),
            "{problem}"
        );
        assert!(problem.message.len() < 400, "{problem}");
    }
}

/// Finding 1: the longest prompt each provider takes, in the widest characters (four UTF-8
/// bytes each), is accepted by the emulator: the cap sits well inside its 2 MiB body limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_prompts_are_submitted_and_saved() {
    let sandbox = sandbox().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let text = [("hiapi", 5000), ("reapi", 5000), ("apiframe", 2500)]
        .map(|(provider, chars)| {
            line_of(serde_json::json!({
                "provider": provider, "prompt": "🐎".repeat(chars), "duration": 3
            }))
        })
        .join("\n");
    let jobs = jobs(&text);
    let batch = batch(&out, &sandbox).await;
    batch.plan(&jobs).await.unwrap();
    let report = batch.run().await.unwrap();
    assert!(report.all_downloaded(), "{report:#?}");
    assert_eq!(sandbox.stats().tasks_created.total(), 3);
}

/// Finding 2: a message that quotes a value from the line quotes a capped excerpt of it, never
/// the whole value.
#[test]
fn every_message_quoting_a_line_quotes_a_capped_excerpt() {
    let huge = "x".repeat(300_000);
    let lines = [
        serde_json::json!({"prompt": "a", "output": format!("dir/{huge}")}),
        serde_json::json!({"prompt": "a", "id": format!("../{huge}")}),
        serde_json::json!({"prompt": "a", "image": format!("./{huge}.png")}),
        serde_json::json!({"prompt": "a", "image": format!("ftp://{huge}")}),
        serde_json::json!({"prompt": "a", "references": [format!("https://a b/{huge}")]}),
        serde_json::json!({"prompt": "a", "references": huge}),
        serde_json::json!({"prompt": "a", "duration": huge}),
        serde_json::json!({"prompt": "a", "seed": [huge]}),
        serde_json::json!({"prompt": "a", "provider": huge}),
        serde_json::json!({"prompt": "a", (huge.clone()): 1}),
        serde_json::json!({"prompt": huge.clone()}),
        serde_json::json!({"prompt": "a", "callback_url": format!("http://example.com/{huge}")}),
        serde_json::json!({"prompt": "a", "resolution": huge}),
    ]
    .map(line_of)
    .join("\n");
    let found = problems(&lines);
    let numbers: std::collections::BTreeSet<u64> = found.iter().map(|p| p.line).collect();
    assert_eq!(numbers, (1..=13).collect(), "{found:#?}");
    for problem in &found {
        assert!(
            problem.message.len() < 1_000,
            "line {}: {} bytes: {}…",
            problem.line,
            problem.message.len(),
            problem.message.chars().take(200).collect::<String>()
        );
    }
}

/// Finding 3: a UTF-8 byte order mark at the start of the file is accepted (and changes no
/// derived id); elsewhere it is named.
#[test]
fn a_byte_order_mark_starting_the_file_is_accepted() {
    let plain = "{\"prompt\": \"A horse\"}\n{\"prompt\": \"A cat\"}";
    let marked = format!("\u{feff}{plain}");
    let (plain, marked) = (jobs(plain), jobs(&marked));
    assert_eq!(
        plain.iter().map(|j| &j.id).collect::<Vec<_>>(),
        marked.iter().map(|j| &j.id).collect::<Vec<_>>()
    );
    let found = problems("{\"prompt\": \"A horse\"}\n\u{feff}{\"prompt\": \"A cat\"}");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].line, 2);
    assert!(found[0].message.contains("byte order mark"), "{}", found[0]);
}

/// Finding 3: a key given twice on one line is refused with its line, whichever value is
/// first; nothing takes the last one silently.
#[test]
fn a_key_given_twice_on_a_line_is_refused() {
    let found = problems(
        "{\"prompt\": \"a\"}\n{\"prompt\": \"a\", \"prompt\": \"b\"}\n{\"prompt\": \"c\", \"duration\": 5, \"duration\": 20}\n{\"prompt\": \"d\", \"output\": \"a.mp4\", \"output\": \"b.mp4\"}",
    );
    let lines: Vec<u64> = found.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 3, 4], "{found:#?}");
    for (problem, key) in found.iter().zip(["prompt", "duration", "output"]) {
        assert!(
            problem.message.contains(key) && problem.message.contains("twice"),
            "{problem}"
        );
    }
}

/// Finding 3: bidirectional controls and other invisible format characters in `output` or
/// `id` are refused, and the message shows them escaped, not as the spoofed name.
#[test]
fn invisible_and_bidirectional_characters_in_names_are_refused() {
    let spoofers = [
        '\u{202a}',
        '\u{202b}',
        '\u{202c}',
        '\u{202d}',
        '\u{202e}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{200e}',
        '\u{200f}',
        '\u{061c}',
        '\u{200b}',
        '\u{200d}',
        '\u{2060}',
        '\u{feff}',
        '\u{2028}',
        '\u{2029}',
        '\u{00ad}',
        '\u{e0041}',
    ];
    for c in spoofers {
        for field in ["output", "id"] {
            let name = format!("clip{c}4pm.mp4");
            let line = line_of(serde_json::json!({"prompt": "a", field: name}));
            let found = problems(&line);
            assert_eq!(found.len(), 1, "{field} U+{:04X}: {found:#?}", c as u32);
            let message = &found[0].message;
            assert!(
                message.contains(field) && !message.contains(c),
                "{field} U+{:04X}: {message}",
                c as u32
            );
        }
    }
    // Letters of any script are still file names.
    assert_eq!(
        jobs(r#"{"prompt": "a", "output": "马-ñ-ü.mp4"}"#)[0].output,
        "马-ñ-ü.mp4"
    );
}

/// Finding 4: a line longer than the longest valid line is refused with its number, without
/// its content in the message, and every other line's problems are still reported.
#[test]
fn a_line_past_the_line_cap_is_refused_and_the_others_still_checked() {
    let enormous = line_of(serde_json::json!({"prompt": "a".repeat(2 << 20)}));
    let text = [
        r#"{"prompt": "ok"}"#.to_owned(),
        enormous,
        r#"{"prompt": "x", "duration": 20}"#.to_owned(),
        r#"{"prompt": "ok2"}"#.to_owned(),
    ]
    .join("\n");
    let found = problems(&text);
    let lines: Vec<u64> = found.iter().map(|p| p.line).collect();
    assert_eq!(lines, [2, 3], "{found:#?}");
    assert!(
        found[0].message.contains("1048576 bytes") && found[0].message.len() < 400,
        "{}",
        found[0]
    );
}
