//! Nothing is paid for that cannot be saved: `happyhorse batch` checks the output directory
//! and every job's file name before the first submit (a read-only directory, a name the file
//! system cannot hold with the partial file beside it, a name of the batch's own files, a
//! symbolic link where a file will be written), and `generate -o` refuses to write through a
//! link. A submit answered with another job's task fails that job instead of stranding it.
#![cfg(all(feature = "cli", feature = "sandbox"))]

mod common;

use std::{fs, path::Path, time::Duration};

use common::{
    process::{command, pairs, Exit, Running},
    runtime, sandbox_env,
    smallfs::SmallFs,
};
use happyhorse::{
    batch::{parse_jobs, Batch},
    client::{IdempotencyKey, SubmitOptions},
    ledger::{JobState, SqliteLedger},
    request::WireBody,
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(120);

fn batch(sandbox: &Sandbox, jobs: &Path, out: &Path) -> Exit {
    let env = sandbox_env(sandbox);
    Running::spawn(command(
        &[
            "batch",
            jobs.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &pairs(&env),
    ))
    .exit(PATIENCE)
}

fn jobs_file(dir: &Path, lines: &[serde_json::Value]) -> std::path::PathBuf {
    let path = dir.join("jobs.jsonl");
    let text: Vec<String> = lines.iter().map(ToString::to_string).collect();
    fs::write(&path, text.join("\n") + "\n").unwrap();
    path
}

fn line(id: &str, output: &str) -> serde_json::Value {
    json!({"id": id, "prompt": format!("a horse named {id}"), "output": output})
}

/// Refused before any submit: exit 2, the reason on stderr, no task at the provider.
fn assert_refused_before_paying(exit: &Exit, sandbox: &Sandbox, reason: &str) {
    assert_eq!(exit.code, Some(2), "{}", exit.stderr);
    assert!(
        exit.stderr.contains(reason),
        "expected {reason:?} in: {}",
        exit.stderr
    );
    assert_eq!(
        sandbox.stats().submits.total(),
        0,
        "nothing may be submitted: {}",
        exit.stderr
    );
}

#[test]
fn names_the_file_system_cannot_hold_with_their_partial_files_are_refused_before_paying() {
    let rt = runtime();
    let sandbox = rt
        .block_on(Sandbox::start(SandboxConfig::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // 250 bytes: a valid name, but `.NAME.part.json` is 261.
    let long = format!("{}.mp4", "x".repeat(246));
    let jobs = jobs_file(
        dir.path(),
        &[line("long", &long), line("short", "short.mp4")],
    );
    let exit = batch(&sandbox, &jobs, &dir.path().join("out"));
    assert_refused_before_paying(&exit, &sandbox, "line 1: long: output name of 250 bytes");
    assert!(exit.stderr.contains("at most 244 bytes"), "{}", exit.stderr);
}

#[test]
fn the_batchs_own_file_names_are_refused_before_paying() {
    let rt = runtime();
    let sandbox = rt
        .block_on(Sandbox::start(SandboxConfig::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jobs = jobs_file(
        dir.path(),
        &[
            line("r", "results.jsonl"),
            line("w", "happyhorse.db-wal"),
            line("d", "happyhorse.db"),
            line("ok", "ok.mp4"),
        ],
    );
    let exit = batch(&sandbox, &jobs, &dir.path().join("out"));
    assert_refused_before_paying(&exit, &sandbox, "3 jobs cannot be saved");
    for id in ["line 1: r", "line 2: w", "line 3: d"] {
        assert!(exit.stderr.contains(id), "{id}: {}", exit.stderr);
    }
}

#[test]
fn a_read_only_output_directory_is_refused_before_paying() {
    let Some(small) = SmallFs::mount(1) else {
        return;
    };
    let rt = runtime();
    let sandbox = rt
        .block_on(Sandbox::start(SandboxConfig::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(small.path().join("out")).unwrap();
    small.read_only();
    let jobs = jobs_file(dir.path(), &[line("a", "a.mp4")]);
    // The ledger elsewhere, so that only the videos' directory is unwritable.
    let env = sandbox_env(&sandbox);
    let ledger = dir.path().join("ledger.db");
    let exit = Running::spawn(command(
        &[
            "batch",
            jobs.to_str().unwrap(),
            "--out",
            small.path().join("out").to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
        ],
        &pairs(&env),
    ))
    .exit(PATIENCE);
    assert_refused_before_paying(&exit, &sandbox, "cannot create files in it");
}

#[test]
fn a_symbolic_link_where_a_video_will_be_written_is_refused_and_its_target_untouched() {
    let rt = runtime();
    let sandbox = rt
        .block_on(Sandbox::start(SandboxConfig::default()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, "keep me").unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    std::os::unix::fs::symlink(&victim, out.join(".z.mp4.part")).unwrap();
    let jobs = jobs_file(dir.path(), &[line("z", "z.mp4")]);
    let exit = batch(&sandbox, &jobs, &out);
    assert_refused_before_paying(&exit, &sandbox, "is a symbolic link");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(!out.join("z.mp4").exists());

    // `generate -o` shares the download's code: it refuses the link too, before paying.
    let env = vec![];
    let generated = Running::spawn(command(
        &[
            "generate",
            "--sandbox",
            "-p",
            "hiapi",
            "a horse",
            "-o",
            out.join("z.mp4").to_str().unwrap(),
        ],
        &env,
    ))
    .exit(PATIENCE);
    assert_eq!(generated.code, Some(2), "{}", generated.stderr);
    assert!(
        generated.stderr.contains("symbolic link"),
        "{}",
        generated.stderr
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(fs::symlink_metadata(out.join(".z.mp4.part"))
        .unwrap()
        .file_type()
        .is_symlink());
}

/// A sandbox of quick tasks, a HiAPI client of it, a directory and a SQLite ledger in it.
async fn library_setup() -> (Sandbox, happyhorse::Client, tempfile::TempDir, SqliteLedger) {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.2))
        .await
        .unwrap();
    let client = common::sandbox_client(&sandbox, Provider::HiApi);
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqliteLedger::open(dir.path().join("happyhorse.db"))
        .await
        .unwrap();
    (sandbox, client, dir, ledger)
}

/// A provider answering a submit with a task the ledger already records for another job (an
/// emulator that reused ids, in the finding; here a replayed Idempotency-Key whose task the
/// ledger gave to another job): that job fails with both named, the run goes on, and nothing
/// is left `submitting` for every rerun to stop at.
#[test]
fn a_submit_answered_with_another_jobs_task_fails_that_job_instead_of_stranding_it() {
    let rt = runtime();
    rt.block_on(async {
        let (_sandbox, client, dir, ledger) = library_setup().await;
        let jobs = parse_jobs(
            r#"{"id": "first", "prompt": "a horse on a beach"}
{"id": "second", "prompt": "a horse in the snow"}"#,
            Provider::HiApi,
        )
        .unwrap();
        let batch = Batch::new(ledger, dir.path().join("out")).with_client(client.clone());
        batch.plan(&jobs).await.unwrap();
        let ledger = batch.ledger().clone();
        let recorded = ledger.jobs().await.unwrap();
        let second = recorded.iter().find(|j| j.id == "second").unwrap().clone();
        // The task the provider gives `second`'s key...
        let task = client
            .submit_body(
                WireBody::from_json(Provider::HiApi, second.body.clone()).unwrap(),
                &SubmitOptions {
                    idempotency_key: IdempotencyKey::Custom(
                        second.idempotency_key.clone().unwrap(),
                    ),
                },
            )
            .await
            .unwrap()
            .id;
        // ...recorded as `first`'s.
        ledger.begin_run("setup").await.unwrap();
        let claimed = ledger
            .claim("setup", Duration::from_secs(60), 1)
            .await
            .unwrap();
        assert_eq!(claimed[0].id, "first");
        let lease = claimed[0].lease.clone().unwrap();
        ledger
            .apply(&lease, happyhorse::ledger::Transition::submitting(None))
            .await
            .unwrap();
        ledger
            .apply(
                &lease,
                happyhorse::ledger::Transition::Submitted {
                    task_id: task.clone(),
                    status: "pending".into(),
                },
            )
            .await
            .unwrap();
        ledger.release(&lease).await.unwrap();
        drop(ledger);

        let report = batch
            .run()
            .await
            .expect("the run goes on past the conflict");
        let held = batch.ledger().jobs().await.unwrap();
        let first = held.iter().find(|j| j.id == "first").unwrap();
        let second = held.iter().find(|j| j.id == "second").unwrap();
        assert_eq!(first.state, JobState::Downloaded);
        assert_eq!(second.state, JobState::Failed, "{:?}", second.error);
        let error = second.error.as_deref().unwrap_or_default();
        assert!(
            error.contains(&task) && error.contains("job first"),
            "{error}"
        );
        assert_eq!(report.summary.count(JobState::Submitting), 0);
    });
}

/// A submit the provider refuses for its size (a 3 MB prompt recorded by hand, past the
/// sandbox's body limit, or refused by the client first) fails its job without counting it
/// as committed: no task exists, nothing was billed, and the budget gets it back.
#[test]
fn a_submit_refused_for_its_size_is_failed_and_not_committed() {
    let rt = runtime();
    rt.block_on(async {
        let (sandbox, client, dir, ledger) = library_setup().await;
        let jobs = parse_jobs(r#"{"id": "small", "prompt": "a horse"}"#, Provider::HiApi).unwrap();
        let batch = Batch::new(ledger, dir.path().join("out")).with_client(client);
        batch.plan(&jobs).await.unwrap();
        let mut huge = jobs[0].to_new_job();
        huge.id = "huge".into();
        huge.output_name = "huge.mp4".into();
        huge.idempotency_key = Some("hh-huge".into());
        huge.body["input"]["prompt"] = json!("a horse ".repeat(400_000));
        batch.ledger().enqueue(&[huge]).await.unwrap();

        let report = batch.run().await.unwrap();
        let held = batch.ledger().jobs().await.unwrap();
        let huge = held.iter().find(|j| j.id == "huge").unwrap();
        assert_eq!(huge.state, JobState::Failed, "{:?}", huge.error);
        assert_eq!(huge.task_id, None);
        assert_eq!(report.summary.count(JobState::Downloaded), 1);
        let committed = &report.summary.committed;
        assert_eq!(
            committed.rows.iter().map(|r| r.jobs).sum::<u64>(),
            1,
            "only the job that was made counts: {committed:?}"
        );
        assert_eq!(sandbox.stats().tasks_created.total(), 1);
    });
}
