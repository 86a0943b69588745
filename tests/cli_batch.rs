//! `happyhorse batch` and `happyhorse jobs`, run as a user runs them: the binary as a child
//! process, pointed at an in-process sandbox through the `*_BASE_URL` variables, its ledger
//! read from the test as another process would, and killed with SIGKILL to show it resumes.
#![cfg(all(feature = "cli", feature = "sandbox"))]

mod common;

use std::{
    collections::{BTreeMap, HashSet},
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Output},
    time::{Duration, Instant},
};

use common::{file_names, runtime, sandbox_env, sha256_hex};
use happyhorse::{
    ledger::{Job, JobState, Ledger, SqliteLedger, Summary},
    sandbox::{FaultRates, Sandbox, SandboxConfig, SAMPLE_MP4},
    Provider,
};
use serde_json::Value;

/// The binary with no provider keys or base URLs from the outer environment, and `env`.
fn command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command.args(args);
    for provider in Provider::ALL {
        command.env_remove(provider.api_key_env());
        command.env_remove(provider.base_url_env());
    }
    command.env_remove("HAPPYHORSE_PROVIDER");
    command.envs(env.iter().map(|(k, v)| (k, v)));
    command
}

fn happyhorse(args: &[&str], env: &[(String, String)]) -> Output {
    command(args, env).output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn start(runtime: &tokio::runtime::Runtime, config: SandboxConfig) -> Sandbox {
    runtime.block_on(Sandbox::start(config)).unwrap()
}

/// Writes `lines` as a jobs file in `dir`.
fn jobs_file(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("jobs.jsonl");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The ledger of `out`, read as another process reads it.
fn read_ledger(runtime: &tokio::runtime::Runtime, out: &Path) -> (Summary, Vec<Job>) {
    runtime.block_on(async {
        let ledger = SqliteLedger::open(out.join("happyhorse.db")).await.unwrap();
        (
            ledger.summary().await.unwrap(),
            ledger.jobs().await.unwrap(),
        )
    })
}

/// `out/results.jsonl`, one JSON object per line.
fn results(out: &Path) -> Vec<Value> {
    let text = fs::read_to_string(out.join("results.jsonl")).unwrap();
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Checks that every result is a downloaded, verified copy of the sandbox's video, and returns
/// the task ids.
fn assert_all_downloaded(out: &Path, rows: &[Value]) -> HashSet<String> {
    let sha = sha256_hex(SAMPLE_MP4);
    let mut tasks = HashSet::new();
    for row in rows {
        assert_eq!(row["state"], "downloaded", "{row}");
        assert_eq!(row["error"], Value::Null, "{row}");
        let file = PathBuf::from(row["file"].as_str().unwrap());
        assert_eq!(file.parent(), Some(out), "{row}");
        assert_eq!(fs::read(&file).unwrap(), SAMPLE_MP4, "{}", file.display());
        assert_eq!(row["bytes"], SAMPLE_MP4.len() as u64, "{row}");
        assert_eq!(row["sha256"], sha.as_str(), "{row}");
        assert!(
            tasks.insert(row["task_id"].as_str().unwrap().to_owned()),
            "two jobs share a task: {row}"
        );
    }
    let names = file_names(out);
    assert!(
        names.iter().all(|name| !name.contains(".part")),
        "a partial file is left: {names:?}"
    );
    tasks
}

/// Waits (polling the ledger) until `done` holds, the child ends, or a minute passes.
fn wait_for(
    runtime: &tokio::runtime::Runtime,
    child: &mut Child,
    out: &Path,
    what: &str,
    done: impl Fn(&Summary) -> bool,
) -> Summary {
    let deadline = Instant::now() + Duration::from_secs(60);
    let db = out.join("happyhorse.db");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the batch ended ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "no {what} within a minute");
        if db.exists() {
            let (summary, _) = read_ledger(runtime, out);
            if done(&summary) {
                return summary;
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Jobs that were (or may have been) sent.
fn committed(summary: &Summary) -> u64 {
    summary.total() - summary.count(JobState::Queued)
}

/// Jobs at the provider and not yet saved.
fn in_flight(summary: &Summary) -> u64 {
    summary.count(JobState::Submitting)
        + summary.count(JobState::Submitted)
        + summary.count(JobState::Succeeded)
}

/// Kills `child` with SIGKILL (what `Child::kill` sends on Unix) and reaps it.
fn kill(mut child: Child) {
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        None,
        "killed by a signal, not exited: {status}"
    );
}

#[test]
fn a_killed_batch_resumes_with_one_task_and_one_file_per_job() {
    let runtime = runtime();
    // Each submit takes a moment to answer, so that a kill can land between the intent the
    // batch records and the answer.
    let sandbox = start(
        &runtime,
        SandboxConfig::default()
            .with_task_seconds(1.0)
            .with_submit_delay(Duration::from_millis(300)),
    );
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lines: Vec<String> = (0..32)
        .map(|i| match i % 2 {
            0 => format!(r#"{{"prompt": "Horse {i} on a beach"}}"#),
            _ => format!(
                r#"{{"prompt": "Horse {i} in the snow", "provider": "apiframe", "duration": {}, "resolution": "720p"}}"#,
                3 + i % 5
            ),
        })
        .collect();
    let jobs = jobs_file(tmp.path(), &lines);
    let args = [
        "batch",
        path(&jobs),
        "--out",
        path(&out),
        "--concurrency",
        "8",
    ];
    let spawn = |name: &str| {
        command(&args, &env)
            .stdout(fs::File::create(tmp.path().join(format!("{name}.out"))).unwrap())
            .stderr(fs::File::create(tmp.path().join(format!("{name}.err"))).unwrap())
            .spawn()
            .unwrap()
    };

    // Killed while submits are out: their intent is recorded, their answer not yet.
    let mut first = spawn("first");
    let at_kill = wait_for(&runtime, &mut first, &out, "a submit in flight", |s| {
        s.count(JobState::Submitting) >= 3
    });
    kill(first);
    let after = read_ledger(&runtime, &out).0;
    assert!(
        after.count(JobState::Submitting) >= 1,
        "no submit was in flight: {after:?}"
    );
    assert!(after.count(JobState::Queued) > 0, "{after:?}");
    assert!(committed(&after) >= committed(&at_kill));

    // Killed again mid-way, once some of the resumed jobs are saved and others wait at the
    // provider; meanwhile a second batch on the same directory is refused rather than run
    // beside it.
    let mut second = spawn("second");
    let saved_before = after.count(JobState::Downloaded);
    wait_for(&runtime, &mut second, &out, "downloads and waits", |s| {
        s.count(JobState::Downloaded) >= saved_before + 6 && s.count(JobState::Submitted) >= 1
    });
    let busy = happyhorse(&args, &env);
    // Reading the ledger needs no lock.
    let shown = happyhorse(&["jobs", "--out", path(&out), "--json"], &[]);
    kill(second);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["total"], 32, "{shown}");
    let after = read_ledger(&runtime, &out).0;
    assert!(in_flight(&after) >= 1, "nothing was in flight: {after:?}");
    assert!(
        after.count(JobState::Downloaded) < 32,
        "the second run finished before it was killed: {after:?}"
    );
    assert_eq!(busy.status.code(), Some(2), "{}", text(&busy.stderr));
    assert!(
        text(&busy.stderr).contains("two batches cannot share one SQLite ledger"),
        "{}",
        text(&busy.stderr)
    );

    // The third run finishes.
    let last = command(&args, &env).output().unwrap();
    assert!(last.status.success(), "{}", text(&last.stderr));
    assert_eq!(
        text(&last.stdout).trim(),
        path(&out.join("results.jsonl")),
        "stdout names the results file"
    );
    let rows = results(&out);
    assert_eq!(rows.len(), 32);
    let tasks = assert_all_downloaded(&out, &rows);
    for (row, number) in rows.iter().zip(1u64..) {
        assert_eq!(row["line"], number);
        let provider = if number % 2 == 1 { "hiapi" } else { "apiframe" };
        assert_eq!(row["provider"], provider, "{row}");
    }

    // Exactly one provider task per job: the sandbox created 16 on each provider, and they
    // are the tasks the results name.
    let stats = sandbox.stats();
    assert_eq!(stats.tasks_created.get(Provider::HiApi), 16, "{stats:?}");
    assert_eq!(stats.tasks_created.get(Provider::Apiframe), 16, "{stats:?}");
    assert_eq!(stats.tasks_created.get(Provider::Reapi), 0, "{stats:?}");
    let created: HashSet<String> = sandbox.observations().into_iter().map(|t| t.id).collect();
    assert_eq!(created, tasks);
    let (summary, recorded) = read_ledger(&runtime, &out);
    assert_eq!(summary.count(JobState::Downloaded), 32, "{summary:?}");
    assert!(
        recorded.iter().all(|job| job.lease.is_none()),
        "a lease is left"
    );
}

#[test]
fn every_bad_line_is_reported_before_anything_is_sent() {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default());
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lines = [
        r#"{"prompt": "A horse"}"#,
        r#"{"prompt": "A horse", "duration": 5"#,
        r#"{"prompt": "A horse", "colour": "brown"}"#,
        r#"{"prompt": "A horse", "duration": 20}"#,
        r#"{"prompt": "A horse", "seed": 7}"#,
        r#"{"prompt": "A horse"}"#,
        r#"{"prompt": "A horse", "provider": "apiframe"}"#,
        "",
        r#"{"prompt": "A horse", "provider": "apiframe", "duration": 3}"#,
    ]
    .map(String::from);
    let jobs = jobs_file(tmp.path(), &lines);
    let shown = path(&jobs);

    let run = happyhorse(&["batch", shown, "--out", path(&out)], &env);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    for (line, about) in [
        (2, "not JSON"),
        (3, "colour"),
        (4, "duration"),
        (5, "seed"),
        (6, "line 1"),
        (7, "duration"),
    ] {
        let found = stderr
            .lines()
            .find(|l| l.starts_with(&format!("{shown}:line {line}: ")))
            .unwrap_or_else(|| panic!("line {line} is not reported:\n{stderr}"));
        assert!(found.contains(about), "line {line}: {found}");
    }
    for good in [1, 8, 9] {
        assert!(
            !stderr.contains(&format!(":line {good}:")),
            "line {good}:\n{stderr}"
        );
    }
    assert!(
        stderr.contains("6 problems") && stderr.contains("nothing was submitted"),
        "{stderr}"
    );
    // Nothing was sent, and nothing was written: no ledger, no results, not even DIR.
    assert_eq!(sandbox.stats().submits.total(), 0);
    assert!(!out.exists(), "{:?}", file_names(&out));

    // --json: the same problems, as data.
    let run = happyhorse(&["batch", shown, "--out", path(&out), "--json"], &env);
    assert_eq!(run.status.code(), Some(2));
    let answer: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(answer["ok"], false);
    let numbers: Vec<u64> = answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [2, 3, 4, 5, 6, 7]);
    assert_eq!(sandbox.stats().submits.total(), 0);
    assert!(!out.exists());
}

/// Jobs in the ledger of `out`, as `happyhorse jobs --json` counts them.
fn ledger_total(out: &Path) -> u64 {
    let jobs = happyhorse(&["jobs", "--out", path(out), "--json"], &[]);
    assert!(jobs.status.success(), "{}", text(&jobs.stderr));
    let summary: Value = serde_json::from_slice(&jobs.stdout).unwrap();
    summary["total"].as_u64().unwrap()
}

#[test]
fn max_video_seconds_refuses_a_batch_over_it_and_runs_one_at_it() {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default().with_task_seconds(0.5));
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 5 s (hiapi's default) + 5 s + 3 s = 13 s of video.
    let jobs = jobs_file(
        tmp.path(),
        &[
            r#"{"prompt": "A horse"}"#.to_owned(),
            r#"{"prompt": "Another horse", "resolution": "720p"}"#.to_owned(),
            r#"{"prompt": "A third horse", "provider": "apiframe", "duration": 3}"#.to_owned(),
        ],
    );
    let batch = |cap: &str| {
        happyhorse(
            &[
                "batch",
                path(&jobs),
                "--out",
                path(&out),
                "--max-video-seconds",
                cap,
                "--json",
            ],
            &env,
        )
    };

    let refused = batch("12");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("over budget") && stderr.contains("13 s") && stderr.contains("12"),
        "{stderr}"
    );
    let answer: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(answer["ok"], false);
    assert_eq!(sandbox.stats().submits.total(), 0);
    assert_eq!(ledger_total(&out), 0);

    let ran = batch("13");
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    let answer: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["states"], serde_json::json!({"downloaded": 3}));
    assert_eq!(answer["submits"], 3);
    assert_eq!(sandbox.stats().tasks_created.total(), 3);
    assert_all_downloaded(&out, &results(&out));
}

#[test]
fn the_over_budget_hint_says_truly_whether_the_jobs_were_recorded() {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default());
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs_file(tmp.path(), &[r#"{"prompt": "A horse"}"#.to_owned()]);
    let refused = happyhorse(
        &[
            "batch",
            path(&jobs),
            "--out",
            path(&out),
            "--max-video-seconds",
            "4",
        ],
        &env,
    );
    assert_eq!(refused.status.code(), Some(2));
    let stderr = text(&refused.stderr);
    let says_recorded = stderr.contains("the jobs are recorded in the ledger");
    let recorded = ledger_total(&out);
    assert_eq!(
        says_recorded,
        recorded > 0,
        "the ledger holds {recorded} jobs, and stderr says:\n{stderr}"
    );
}

#[test]
fn max_credits_counts_apiframe_credits_and_refuses_what_it_cannot_count() {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default().with_task_seconds(0.5));
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 24 credits/s at 720p, 31 at 1080p (Apiframe's default): 72 + 124 = 196.
    let apiframe = jobs_file(
        tmp.path(),
        &[
            r#"{"prompt": "A horse", "duration": 3, "resolution": "720p"}"#.to_owned(),
            r#"{"prompt": "A horse", "duration": 4}"#.to_owned(),
        ],
    );
    let batch = |jobs: &Path, out: &Path, cap: &str| {
        happyhorse(
            &[
                "batch",
                path(jobs),
                "--out",
                path(out),
                "--provider",
                "apiframe",
                "--max-credits",
                cap,
            ],
            &env,
        )
    };

    let refused = batch(&apiframe, &out, "195");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("196 credits")
            && stderr.contains("cap of 195 credits")
            && stderr.contains("higher --max-credits"),
        "{stderr}"
    );
    assert_eq!(sandbox.stats().submits.total(), 0);
    assert_eq!(ledger_total(&out), 0);

    let ran = batch(&apiframe, &out, "196");
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    assert!(
        text(&ran.stderr).contains("196 credits"),
        "the plan shows the cost: {}",
        text(&ran.stderr)
    );
    assert_eq!(sandbox.stats().tasks_created.get(Provider::Apiframe), 2);
    assert_all_downloaded(&out, &results(&out));

    // HiAPI documents no price: a credit cap cannot be kept, so the batch is refused.
    let other = tmp.path().join("hiapi");
    fs::create_dir(&other).unwrap();
    let hiapi = jobs_file(
        &other,
        &[r#"{"prompt": "A horse", "provider": "hiapi"}"#.to_owned()],
    );
    let refused = batch(&hiapi, &other.join("out"), "1000000");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("cannot be enforced on hiapi") && stderr.contains("--max-video-seconds"),
        "{stderr}"
    );
    assert_eq!(sandbox.stats().submits.get(Provider::HiApi), 0);
}

/// A sandbox whose every request loses its answer (the `reset` fault), after doing its work.
fn lossy(runtime: &tokio::runtime::Runtime) -> Sandbox {
    start(
        runtime,
        SandboxConfig::default()
            .with_task_seconds(0.5)
            .with_faults(FaultRates::none().with("reset", 1.0).unwrap()),
    )
}

/// Runs one reapi job against a sandbox that loses the submit's answer: it ends uncertain.
fn uncertain_batch(sandbox: &Sandbox, dir: &Path) -> (PathBuf, PathBuf) {
    let out = dir.join("out");
    let jobs = jobs_file(
        dir,
        &[r#"{"id": "r1", "prompt": "A horse", "provider": "reapi"}"#.to_owned()],
    );
    let run = happyhorse(
        &["batch", path(&jobs), "--out", path(&out)],
        &sandbox_env(sandbox),
    );
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("uncertain") && stderr.contains("--resubmit-uncertain"),
        "{stderr}"
    );
    let rows = results(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["state"], "uncertain", "{}", rows[0]);
    let next = rows[0]["next"].as_str().unwrap();
    assert!(
        next.contains("--resubmit-uncertain") && next.contains("--skip-uncertain"),
        "{next}"
    );
    assert_eq!(rows[0]["file"], Value::Null);
    // One submit reached reapi and created a task; only its answer was lost.
    let stats = sandbox.stats();
    assert_eq!(stats.submits.get(Provider::Reapi), 1, "{stats:?}");
    assert_eq!(stats.tasks_created.get(Provider::Reapi), 1, "{stats:?}");
    (jobs, out)
}

#[test]
fn a_lost_reapi_submit_stays_uncertain_until_the_user_skips_it() {
    let runtime = runtime();
    let sandbox = lossy(&runtime);
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, out) = uncertain_batch(&sandbox, tmp.path());
    let (summary, _) = read_ledger(&runtime, &out);
    assert_eq!(summary.count(JobState::Uncertain), 1, "{summary:?}");

    // A plain rerun sends nothing and leaves it uncertain.
    let again = happyhorse(&["batch", path(&jobs), "--out", path(&out)], &env);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again.stderr));
    assert_eq!(results(&out)[0]["state"], "uncertain");
    assert_eq!(sandbox.stats().submits.get(Provider::Reapi), 1);

    // --skip-uncertain gives up on it, still without a submit.
    let skipped = happyhorse(
        &[
            "batch",
            path(&jobs),
            "--out",
            path(&out),
            "--skip-uncertain",
        ],
        &env,
    );
    assert_eq!(skipped.status.code(), Some(1), "{}", text(&skipped.stderr));
    let rows = results(&out);
    assert_eq!(rows[0]["state"], "skipped", "{}", rows[0]);
    assert_eq!(sandbox.stats().submits.get(Provider::Reapi), 1);
    let (summary, _) = read_ledger(&runtime, &out);
    assert_eq!(summary.count(JobState::Skipped), 1, "{summary:?}");
    assert!(summary.attention.is_empty(), "{summary:?}");
    // And stays skipped.
    let again = happyhorse(&["batch", path(&jobs), "--out", path(&out)], &env);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(results(&out)[0]["state"], "skipped");
    assert_eq!(sandbox.stats().submits.get(Provider::Reapi), 1);
}

#[test]
fn resubmit_uncertain_submits_the_lost_job_again_and_saves_it() {
    let runtime = runtime();
    let first = lossy(&runtime);
    let tmp = tempfile::tempdir().unwrap();
    let (jobs, out) = uncertain_batch(&first, tmp.path());

    // The fault is gone (another sandbox, with none): asked to, the batch submits again.
    let healthy = start(&runtime, SandboxConfig::default().with_task_seconds(0.5));
    let run = happyhorse(
        &[
            "batch",
            path(&jobs),
            "--out",
            path(&out),
            "--resubmit-uncertain",
        ],
        &sandbox_env(&healthy),
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_all_downloaded(&out, &results(&out));
    assert_eq!(healthy.stats().tasks_created.get(Provider::Reapi), 1);
    assert_eq!(first.stats().submits.get(Provider::Reapi), 1);
}

#[test]
fn an_output_that_expired_before_the_download_is_reported_expired() {
    let runtime = runtime();
    let sandbox = start(
        &runtime,
        SandboxConfig::default()
            .with_task_seconds(0.2)
            .with_output_ttl(Duration::ZERO),
    );
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs_file(
        tmp.path(),
        &[r#"{"id": "gone", "prompt": "A horse"}"#.to_owned()],
    );
    let run = happyhorse(&["batch", path(&jobs), "--out", path(&out)], &env);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));
    let rows = results(&out);
    assert_eq!(rows[0]["state"], "expired", "{}", rows[0]);
    let error = rows[0]["error"].as_str().unwrap();
    assert!(error.contains("expired"), "{error}");
    let next = rows[0]["next"].as_str().unwrap();
    assert!(next.contains("--retry-failed=expired"), "{next}");
    assert!(rows[0]["task_id"].is_string(), "{}", rows[0]);
    assert!(
        text(&run.stderr).contains("rerun with --retry-failed"),
        "{}",
        text(&run.stderr)
    );
    // No video, whole or partial.
    let names = file_names(&out);
    assert!(
        names
            .iter()
            .all(|name| !name.contains("gone") && !name.ends_with(".mp4")),
        "{names:?}"
    );
    assert_eq!(sandbox.stats().tasks_created.total(), 1);
    // A rerun does not pay again for an expired job.
    let again = happyhorse(&["batch", path(&jobs), "--out", path(&out)], &env);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(sandbox.stats().submits.total(), 1);
    // Asked to, it does, saying what first: a dry run prices it and sends nothing...
    let healthy = start(&runtime, SandboxConfig::default().with_task_seconds(0.2));
    let env = sandbox_env(&healthy);
    let retry = ["batch", path(&jobs), "--out", path(&out), "--retry-failed"];
    let dry = happyhorse(&[&retry[..], &["--dry-run"]].concat(), &env);
    let said = text(&dry.stderr);
    assert_eq!(dry.status.code(), Some(0), "{said}");
    assert!(
        said.contains("tried again: 1 failed job (expired 1); their new tasks: 5 s of video"),
        "{said}"
    );
    assert!(said.contains("dry run:"), "{said}");
    assert_eq!(healthy.stats().submits.total(), 0);
    // ... and the run makes it again: one new task, one file.
    let done = happyhorse(&retry, &env);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stderr));
    assert!(text(&done.stderr).contains("tried again: 1 failed job (expired 1)"));
    assert_all_downloaded(&out, &results(&out));
    assert_eq!(healthy.stats().tasks_created.total(), 1);
}

#[test]
fn a_dry_run_checks_and_prices_and_creates_nothing() {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default().with_task_seconds(0.2));
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("videos");
    let jobs = jobs_file(
        tmp.path(),
        &[
            r#"{"id": "beach", "prompt": "A dog on a beach", "duration": 5}"#.to_owned(),
            r#"{"id": "city", "prompt": "A city at night", "provider": "apiframe", "resolution": "720p", "duration": 8}"#.to_owned(),
        ],
    );
    let before = file_names(tmp.path());
    let dry = happyhorse(
        &["batch", path(&jobs), "--out", path(&out), "--dry-run"],
        &env,
    );
    let said = text(&dry.stderr);
    assert_eq!(dry.status.code(), Some(0), "{said}");
    assert!(
        said.contains("jobs: 2 new, 0 already in the ledger"),
        "{said}"
    );
    assert!(
        said.contains("total: 13 s of video, 192 credits where priced"),
        "{said}"
    );
    assert!(
        said.contains("nothing was submitted, recorded or created"),
        "{said}"
    );
    assert_eq!(file_names(tmp.path()), before, "the dry run created files");
    assert_eq!(sandbox.stats().submits.total(), 0);
    // The same refusals as a real run, and still nothing created.
    let over = happyhorse(
        &[
            "batch",
            path(&jobs),
            "--out",
            path(&out),
            "--dry-run",
            "--max-video-seconds",
            "10",
        ],
        &env,
    );
    assert_eq!(over.status.code(), Some(2), "{}", text(&over.stderr));
    let stderr = text(&over.stderr);
    assert!(
        stderr.contains("cap of 10 s") && stderr.contains("--max-video-seconds"),
        "{stderr}"
    );
    let keyless = happyhorse(
        &["batch", path(&jobs), "--out", path(&out), "--dry-run"],
        &[],
    );
    assert_eq!(keyless.status.code(), Some(2), "{}", text(&keyless.stderr));
    assert!(
        text(&keyless.stderr).contains("HIAPI_API_KEY"),
        "{}",
        text(&keyless.stderr)
    );
    assert_eq!(
        file_names(tmp.path()),
        before,
        "a refused dry run created files"
    );
    // After the real run, a dry run finds both jobs and changes no file of the batch.
    let run = happyhorse(&["batch", path(&jobs), "--out", path(&out)], &env);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let files = file_names(&out);
    let ledger = sha256_hex(&fs::read(out.join("happyhorse.db")).unwrap());
    let json = happyhorse(
        &[
            "batch",
            path(&jobs),
            "--out",
            path(&out),
            "--dry-run",
            "--json",
        ],
        &env,
    );
    assert_eq!(json.status.code(), Some(0), "{}", text(&json.stderr));
    let plan: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        (plan["new"].as_u64(), plan["existing"].as_u64()),
        (Some(0), Some(2)),
        "{plan}"
    );
    assert_eq!(plan["to_go_video_seconds"], 0, "{plan}");
    assert_eq!(file_names(&out), files);
    assert_eq!(
        sha256_hex(&fs::read(out.join("happyhorse.db")).unwrap()),
        ledger
    );
    assert_eq!(sandbox.stats().tasks_created.total(), 2);
}

#[test]
fn jobs_prints_counts_commitments_and_what_needs_attention() {
    let runtime = runtime();
    let tmp = tempfile::tempdir().unwrap();
    // A reapi job left uncertain by one sandbox, then an Apiframe job saved by another.
    let lost = lossy(&runtime);
    let (_, out) = uncertain_batch(&lost, tmp.path());
    let healthy = start(&runtime, SandboxConfig::default().with_task_seconds(0.5));
    let more = tmp.path().join("more.jsonl");
    fs::write(
        &more,
        r#"{"id": "a1", "prompt": "A horse", "provider": "apiframe", "duration": 3, "resolution": "720p"}"#,
    )
    .unwrap();
    let run = happyhorse(
        &["batch", path(&more), "--out", path(&out)],
        &sandbox_env(&healthy),
    );
    assert_eq!(run.status.code(), Some(1), "{}", text(&run.stderr));

    let shown = happyhorse(&["jobs", "--out", path(&out)], &[]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let stdout = text(&shown.stdout);
    let db = out.join("happyhorse.db");
    assert!(
        stdout.contains(&format!("ledger: {}", db.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("jobs: 2 (downloaded 1, uncertain 1)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("apiframe 720p: 1 job, 3 s of video, 72 credits"),
        "{stdout}"
    );
    assert!(
        stdout.contains("reapi 720p: 1 job, 5 s of video"),
        "{stdout}"
    );
    let mut lines = stdout.lines();
    lines
        .find(|line| line.starts_with("uncertain r1 (reapi"))
        .unwrap_or_else(|| panic!("no attention line:\n{stdout}"));
    let next = lines.next().unwrap_or_default();
    assert!(next.contains("--resubmit-uncertain"), "{next}");

    // The same through --ledger, as JSON.
    let shown = happyhorse(&["jobs", "--ledger", path(&db), "--json"], &[]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let summary: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(summary["total"], 2);
    let states: BTreeMap<String, u64> = serde_json::from_value(summary["states"].clone()).unwrap();
    assert_eq!(
        states,
        BTreeMap::from([("downloaded".into(), 1), ("uncertain".into(), 1)])
    );
    let attention = summary["attention"].as_array().unwrap();
    assert_eq!(attention.len(), 1);
    assert_eq!(attention[0]["id"], "r1");
    assert_eq!(attention[0]["state"], "uncertain");
    assert_eq!(attention[0]["provider"], "reapi");
    let rows = summary["committed"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{summary}");

    // No ledger there: said so, with the way to name one.
    let missing = happyhorse(&["jobs", "--out", path(&tmp.path().join("nowhere"))], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("no ledger at"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn a_batch_without_a_key_for_a_provider_names_the_variable_and_submits_nothing() {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default());
    // Keys and URLs for HiAPI only; one line is for Apiframe.
    let env: Vec<(String, String)> = sandbox_env(&sandbox)
        .into_iter()
        .filter(|(name, _)| name.starts_with("HIAPI_"))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs_file(
        tmp.path(),
        &[
            r#"{"prompt": "A horse"}"#.to_owned(),
            r#"{"prompt": "A horse", "provider": "apiframe", "duration": 3}"#.to_owned(),
        ],
    );
    let run = happyhorse(&["batch", path(&jobs), "--out", path(&out)], &env);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(
        stderr.contains("APIFRAME_API_KEY") && stderr.contains("--sandbox"),
        "{stderr}"
    );
    assert_eq!(sandbox.stats().submits.total(), 0);
}

#[test]
fn the_sandbox_flag_runs_a_batch_without_any_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs_file(tmp.path(), &[r#"{"prompt": "A horse"}"#.to_owned()]);
    let run = happyhorse(
        &["batch", path(&jobs), "--out", path(&out), "--sandbox"],
        &[],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_all_downloaded(&out, &results(&out));
}

#[test]
fn ctrl_c_stops_the_batch_cleanly_and_the_rerun_finishes_it() {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default().with_task_seconds(1.0));
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lines: Vec<String> = (0..6)
        .map(|i| format!(r#"{{"prompt": "Horse {i}"}}"#))
        .collect();
    let jobs = jobs_file(tmp.path(), &lines);
    let args = [
        "batch",
        path(&jobs),
        "--out",
        path(&out),
        "--concurrency",
        "6",
    ];
    let mut child = command(&args, &env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(&runtime, &mut child, &out, "a task id", |s| {
        s.count(JobState::Submitted) >= 1
    });
    let interrupt = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    let stopped = child.wait_with_output().unwrap();
    let stderr = text(&stopped.stderr);
    assert_eq!(stopped.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("stopping") && stderr.contains("run the same command again"),
        "{stderr}"
    );
    // What it had done is recorded, and no job is left claimed.
    let (summary, recorded) = read_ledger(&runtime, &out);
    assert!(summary.count(JobState::Downloaded) < 6, "{summary:?}");
    assert!(
        recorded.iter().all(|job| job.lease.is_none()),
        "{recorded:#?}"
    );
    let rows = results(&out);
    assert_eq!(rows.len(), 6);

    let rerun = happyhorse(&args, &env);
    assert!(rerun.status.success(), "{}", text(&rerun.stderr));
    assert_all_downloaded(&out, &results(&out));
    assert_eq!(sandbox.stats().tasks_created.get(Provider::HiApi), 6);
}

#[test]
fn keyed_jobs_get_one_task_each_when_answers_are_lost_at_random() {
    let runtime = runtime();
    // A quarter of all requests (submits and polls) lose their answer after the sandbox did
    // the work.
    let sandbox = start(
        &runtime,
        SandboxConfig::default()
            .with_task_seconds(0.5)
            .with_faults(FaultRates::none().with("reset", 0.25).unwrap()),
    );
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lines: Vec<String> = (0..8)
        .map(|i| match i % 2 {
            0 => format!(r#"{{"prompt": "Horse {i}"}}"#),
            _ => format!(r#"{{"prompt": "Horse {i}", "provider": "apiframe", "duration": 3}}"#),
        })
        .collect();
    let jobs = jobs_file(tmp.path(), &lines);
    let run = happyhorse(&["batch", path(&jobs), "--out", path(&out)], &env);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert_all_downloaded(&out, &results(&out));
    let stats = sandbox.stats();
    assert_eq!(stats.tasks_created.get(Provider::HiApi), 4, "{stats:?}");
    assert_eq!(stats.tasks_created.get(Provider::Apiframe), 4, "{stats:?}");
}

#[test]
fn a_reapi_submit_cut_short_by_a_kill_is_reported_uncertain_and_not_sent_again() {
    let runtime = runtime();
    // reapi has no Idempotency-Key: a submit whose answer never arrived may have made a task.
    let sandbox = start(
        &runtime,
        SandboxConfig::default()
            .with_task_seconds(0.5)
            .with_submit_delay(Duration::from_millis(500)),
    );
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lines: Vec<String> = (0..6)
        .map(|i| format!(r#"{{"prompt": "Horse {i}", "provider": "reapi"}}"#))
        .collect();
    let jobs = jobs_file(tmp.path(), &lines);
    let args = [
        "batch",
        path(&jobs),
        "--out",
        path(&out),
        "--concurrency",
        "3",
    ];
    let mut child = command(&args, &env)
        .stdout(fs::File::create(tmp.path().join("first.out")).unwrap())
        .stderr(fs::File::create(tmp.path().join("first.err")).unwrap())
        .spawn()
        .unwrap();
    wait_for(&runtime, &mut child, &out, "a submit in flight", |s| {
        s.count(JobState::Submitting) >= 1
    });
    kill(child);
    let (at_kill, _) = read_ledger(&runtime, &out);
    let cut = at_kill.count(JobState::Submitting);
    let queued = at_kill.count(JobState::Queued);
    assert!(cut >= 1 && queued >= 1, "{at_kill:?}");
    // Counted as they arrive; the killed process sends no more.
    let sent_before = sandbox.stats().submits.get(Provider::Reapi);

    let rerun = happyhorse(&args, &env);
    assert_eq!(rerun.status.code(), Some(1), "{}", text(&rerun.stderr));
    let stderr = text(&rerun.stderr);
    assert!(stderr.contains("--resubmit-uncertain"), "{stderr}");
    // The cut submits are not sent again; the queued jobs are sent once each.
    assert_eq!(
        sandbox.stats().submits.get(Provider::Reapi),
        sent_before + queued
    );
    let rows = results(&out);
    let uncertain: Vec<&Value> = rows.iter().filter(|r| r["state"] == "uncertain").collect();
    assert_eq!(uncertain.len() as u64, cut, "{rows:#?}");
    for row in &uncertain {
        let next = row["next"].as_str().unwrap();
        assert!(
            next.contains("--resubmit-uncertain") && next.contains("--skip-uncertain"),
            "{next}"
        );
    }
    let downloaded: Vec<Value> = rows
        .iter()
        .filter(|r| r["state"] == "downloaded")
        .cloned()
        .collect();
    assert_eq!(downloaded.len() as u64, 6 - cut, "{rows:#?}");
    assert_all_downloaded(&out, &downloaded);
}

// The jobs file as input from outside: caps, quotes, encodings and spoofing, through the CLI.

/// Runs `batch` over a jobs file of `bytes` against a sandbox, expecting it to refuse the file
/// before sending anything; returns the stderr and the lines it names.
fn refused_file(bytes: &[u8]) -> (String, Vec<u64>) {
    let runtime = runtime();
    let sandbox = start(&runtime, SandboxConfig::default());
    let env = sandbox_env(&sandbox);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = tmp.path().join("jobs.jsonl");
    fs::write(&jobs, bytes).unwrap();
    let shown = path(&jobs);
    let run = happyhorse(&["batch", shown, "--out", path(&out), "--json"], &env);
    let stderr = text(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        stderr.chars().take(2000).collect::<String>()
    );
    assert_eq!(sandbox.stats().submits.total(), 0);
    assert!(!out.exists(), "{:?}", file_names(&out));
    let answer: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(answer["ok"], false);
    let lines = answer["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    for problem in stderr.lines().filter(|l| l.contains(":line ")) {
        assert!(problem.starts_with(&format!("{shown}:line ")), "{problem}");
    }
    (stderr, lines)
}

/// Findings 1 and 4: a 50 MB prompt is refused with its line number before anything is
/// submitted (it was read whole, submitted, answered 413 and recorded as committed), and a
/// prompt one character past the cap is refused by the cap.
#[test]
fn an_enormous_or_over_long_prompt_is_refused_before_anything_is_sent() {
    let mut file = Vec::with_capacity(50 << 20);
    file.extend_from_slice(b"{\"prompt\": \"A horse\"}\n{\"prompt\": \"");
    file.resize(file.len() + (50 << 20), b'a');
    file.extend_from_slice(b"\"}\n");
    file.extend_from_slice(format!("{{\"prompt\": \"{}\"}}\n", "a".repeat(5001)).as_bytes());
    let (stderr, lines) = refused_file(&file);
    assert_eq!(lines, [2, 3], "{stderr}");
    assert!(stderr.len() < 2_000, "{} bytes of stderr", stderr.len());
    assert!(
        stderr.contains(":line 2: ") && stderr.contains("1048576 bytes"),
        "{stderr}"
    );
    assert!(
        stderr.contains(":line 3: ") && stderr.contains("want 5000"),
        "{stderr}"
    );
}

/// Finding 2: a bad value is quoted capped, not echoed whole to stderr (nor to --json).
#[test]
fn a_huge_bad_value_is_not_echoed_whole() {
    let huge = "x".repeat(500_000);
    let file = format!(
        "{}\n{}\n",
        serde_json::json!({"prompt": "a", "output": format!("dir/{huge}")}),
        serde_json::json!({"prompt": "a", "image": format!("./{huge}.png")}),
    );
    let (stderr, lines) = refused_file(file.as_bytes());
    assert_eq!(
        lines,
        [1, 2],
        "{}",
        stderr.chars().take(2000).collect::<String>()
    );
    assert!(stderr.len() < 2_000, "{} bytes of stderr", stderr.len());
    assert!(stderr.contains('…'), "{stderr}");
}

/// Finding 3: a byte order mark starting the file is accepted, a key twice on a line and a
/// bidirectional override in `output` are refused with their lines, and stderr carries no
/// bidirectional control.
#[test]
fn a_byte_order_mark_is_accepted_and_duplicate_keys_and_bidi_names_are_refused() {
    let file = "\u{feff}{\"prompt\": \"A horse\"}\n{\"prompt\": \"a\", \"prompt\": \"b\"}\n{\"prompt\": \"a\", \"output\": \"clip\u{202e}4pm.mp4\"}\n{\"prompt\": \"c\"}\n";
    let (stderr, lines) = refused_file(file.as_bytes());
    assert_eq!(lines, [2, 3], "{stderr}");
    assert!(stderr.contains("twice"), "{stderr}");
    assert!(!stderr.contains('\u{202e}'), "{stderr}");
    assert!(stderr.contains("U+202E"), "{stderr}");
}

/// A jobs file that cannot be read (a directory) is named as such, as before.
#[test]
fn an_unreadable_jobs_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = happyhorse(
        &["batch", path(tmp.path()), "--out", path(&out), "--sandbox"],
        &[],
    );
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("cannot read"), "{stderr}");
    assert!(!out.exists());
}

/// `happyhorse jobs --id ID` prints a job's request and its timeline from the ledger's
/// history, oldest first (text and JSON), with no signed URL; an unknown id is refused.
#[test]
fn jobs_id_prints_a_jobs_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let jobs = jobs_file(
        dir.path(),
        &[r#"{"id": "beach", "prompt": "A golden retriever running on a beach"}"#.to_owned()],
    );
    let run = happyhorse(
        &["batch", path(&jobs), "--out", path(&out), "--sandbox"],
        &[],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));

    let shown = happyhorse(&["jobs", "--out", path(&out), "--id", "beach"], &[]);
    assert_eq!(shown.status.code(), Some(0), "{}", text(&shown.stderr));
    let stdout = text(&shown.stdout);
    assert!(stdout.starts_with("job beach (hiapi"), "{stdout}");
    assert!(
        stdout.contains("A golden retriever running on a beach"),
        "{stdout}"
    );
    let order = [
        "recorded",
        "submitting",
        "submitted",
        "succeeded",
        "downloaded",
    ];
    let mut at = 0;
    for step in order {
        let found = stdout[at..]
            .find(&format!("  {step}"))
            .unwrap_or_else(|| panic!("no {step} after byte {at}:\n{stdout}"));
        at += found + 1;
    }
    assert!(
        !stdout.contains("?sig") && !stdout.contains("X-Amz"),
        "{stdout}"
    );

    let json = happyhorse(
        &["jobs", "--out", path(&out), "--id", "beach", "--json"],
        &[],
    );
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["job"]["state"], "downloaded", "{value}");
    let events: Vec<&str> = value["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"submitting"), "{events:?}");
    assert_eq!(events.last(), Some(&"downloaded"), "{events:?}");

    let unknown = happyhorse(&["jobs", "--out", path(&out), "--id", "nope"], &[]);
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown.stderr));
    assert!(text(&unknown.stderr).contains("no job \"nope\""));
}
