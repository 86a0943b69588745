//! Prometheus metrics as processes, over real HTTP on loopback: `happyhorse batch
//! --metrics-addr` scraped while its tasks run (against an in-process sandbox), and
//! `happyhorse serve` scraped after signed, duplicate and refused callbacks. Each scrape's
//! values are checked, and its text is parsed by the official Python client's parser
//! (`prometheus_client`; a missing parser is a SKIPPED line unless
//! `HAPPYHORSE_REQUIRE_PROMETHEUS_PARSER=1`).
#![cfg(all(feature = "cli", feature = "sandbox"))]

mod common;

use std::{
    collections::BTreeMap,
    fs,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use common::{
    process::{self, command, pairs, Running},
    prometheus::parsed_by_prometheus_client,
    runtime, sandbox_env,
};
use happyhorse::{
    ledger::{self, JobState, Ledger, NewJob, Transition},
    sandbox::{Sandbox, SandboxConfig, SAMPLE_MP4},
    webhook, Provider,
};
use serde_json::json;

const PATIENCE: Duration = Duration::from_secs(180);
const SECRET: &str = "whsec_metrics_test_5Tq";

/// The samples of a scrape: `name{labels}` (labels as written) to value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            (series.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// GET `url`: the content type and the body.
fn scrape(url: &str) -> Option<(String, String)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        let answer = common::plain_http().get(url).send().await.ok()?;
        if !answer.status().is_success() {
            return None;
        }
        let content_type = answer
            .headers()
            .get("content-type")?
            .to_str()
            .ok()?
            .to_owned();
        Some((content_type, answer.text().await.ok()?))
    })
}

/// `happyhorse batch JOBS --out OUT EXTRA... --metrics-addr 127.0.0.1:0` against `sandbox`,
/// running, and the metrics URL it says on stderr.
fn batch_with_metrics(
    sandbox: &Sandbox,
    jobs: &str,
    out: &std::path::Path,
    extra: &[&str],
) -> (Running, String) {
    let out = out.to_str().unwrap();
    let mut args = vec!["batch", jobs, "--out", out];
    args.extend_from_slice(extra);
    args.extend(["--metrics-addr", "127.0.0.1:0"]);
    let running = Running::spawn(command(&args, &pairs(&sandbox_env(sandbox))));
    let url = metrics_url(&running);
    (running, url)
}

/// The metrics URL a `batch --metrics-addr 127.0.0.1:0` says on stderr.
fn metrics_url(running: &Running) -> String {
    let started = Instant::now();
    loop {
        let text = running.stderr();
        if let Some(at) = text.find("metrics at http://") {
            let rest = &text[at + "metrics at ".len()..];
            return rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(started.elapsed() < PATIENCE, "no metrics address: {text}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Scrapes `url` until a scrape's samples satisfy `shown`: its content type and text.
fn scrape_until(
    url: &str,
    running: &Running,
    what: &str,
    shown: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> (String, String) {
    let started = Instant::now();
    loop {
        if let Some((content_type, text)) = scrape(url) {
            if shown(&samples(&text)) {
                return (content_type, text);
            }
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{what} never showed: {}",
            running.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every family the parser found, by name (the parser drops `_total` from counters).
fn assert_families(parsed: &[String], expected: &[(&str, &str)]) {
    for (name, kind) in expected {
        assert!(
            parsed
                .iter()
                .any(|line| line.starts_with(&format!("{name} {kind} "))),
            "no {kind} {name} in {parsed:?}"
        );
    }
}

fn jobs_file(dir: &std::path::Path, n: usize) -> String {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{"id": "m{i}", "prompt": "a horse grazing, take {i}", "duration": 5}}"#)
        })
        .collect();
    let path = dir.join("jobs.jsonl");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_owned()
}

/// `batch --metrics-addr 127.0.0.1:0` with 4 jobs and at most 3 tasks in flight, each task
/// taking 3 s: while the fourth task runs, the first three are saved; a scrape then shows 4
/// submits, 3 downloads of the sample's bytes, 3 task durations and 3 completion-to-file
/// times, and the jobs per state; the text parses.
#[test]
fn a_running_batch_serves_its_metrics() {
    let runtime = runtime();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(3.0),
        ))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs_file(tmp.path(), 4);
    let (running, url) = batch_with_metrics(&sandbox, &jobs, &out, &["--max-in-flight", "3"]);
    let (content_type, text) =
        scrape_until(&url, &running, "three saved and four submitted", |now| {
            value(now, "happyhorse_downloads_total") >= 3.0
                && value(
                    now,
                    r#"happyhorse_submits_total{provider="hiapi",outcome="accepted"}"#,
                ) >= 4.0
        });
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let now = samples(&text);
    let downloads = value(&now, "happyhorse_downloads_total");
    assert!(downloads == 3.0 || downloads == 4.0, "{text}");
    assert_eq!(
        value(
            &now,
            r#"happyhorse_submits_total{provider="hiapi",outcome="accepted"}"#
        ),
        4.0,
        "{text}"
    );
    assert_eq!(
        value(&now, "happyhorse_download_bytes_total"),
        downloads * SAMPLE_MP4.len() as f64,
        "{text}"
    );
    assert!(value(&now, r#"happyhorse_polls_total{provider="hiapi"}"#) >= downloads);
    assert_eq!(
        value(&now, "happyhorse_completion_to_file_seconds_count"),
        downloads,
        "{text}"
    );
    assert_eq!(
        value(
            &now,
            r#"happyhorse_completion_to_file_seconds_bucket{le="+Inf"}"#
        ),
        downloads
    );
    let tasks = value(&now, "happyhorse_task_duration_seconds_count");
    assert!(tasks >= downloads, "{text}");
    // 3 s tasks: none under 1 s... and each in the 10 s bucket.
    assert_eq!(
        value(&now, r#"happyhorse_task_duration_seconds_bucket{le="10"}"#),
        tasks,
        "{text}"
    );
    assert!(value(&now, "happyhorse_task_duration_seconds_sum") >= 2.0 * tasks);
    let jobs: f64 = JobState::ALL
        .iter()
        .map(|state| {
            value(
                &now,
                &format!(r#"happyhorse_jobs{{state="{}"}}"#, state.name()),
            )
        })
        .sum();
    assert_eq!(jobs, 4.0, "{text}");
    assert_eq!(value(&now, "happyhorse_ledger_up"), 1.0);
    assert!(!text.contains("sk-"), "a key in the metrics: {text}");
    if let Some(parsed) = parsed_by_prometheus_client(&text) {
        assert_families(
            &parsed,
            &[
                ("happyhorse_submits", "counter"),
                ("happyhorse_polls", "counter"),
                ("happyhorse_downloads", "counter"),
                ("happyhorse_download_bytes", "counter"),
                ("happyhorse_jobs", "gauge"),
                ("happyhorse_task_duration_seconds", "histogram"),
                ("happyhorse_completion_to_file_seconds", "histogram"),
            ],
        );
    }
    let exit = running.exit(PATIENCE);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
    assert_eq!(fs::read(out.join("m3.mp4")).unwrap(), SAMPLE_MP4);
}

/// A batch the provider pushes back: the sandbox allows 2 submits a second and 12 jobs start
/// at once. Once every job is submitted, a scrape counts one retry (the client's own,
/// `operation="submit"`, or the batch's later try, `operation="job_submit"`) with the reason
/// `rate_limited` for each 429 the sandbox answered, and shows the submit pace the client
/// learnt from them (below the burst it first tried; at most what the provider allows plus
/// what Retry-After rounding lets through).
#[test]
fn a_pushed_back_batch_counts_its_retries_and_shows_its_pace() {
    let runtime = runtime();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default()
                .with_task_seconds(5.0)
                .with_rate_limit(2.0),
        ))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs_file(tmp.path(), 12);
    let (running, url) = batch_with_metrics(&sandbox, &jobs, &out, &["--max-in-flight", "12"]);
    let accepted = r#"happyhorse_submits_total{provider="hiapi",outcome="accepted"}"#;
    let (_, text) = scrape_until(&url, &running, "twelve submits", |now| {
        value(now, accepted) >= 12.0
    });
    let now = samples(&text);
    let pushed_back = sandbox.stats().rate_limited.get(Provider::HiApi);
    assert!(
        pushed_back > 0,
        "12 submits at once, 2 allowed a second: no 429"
    );
    let retried: f64 = ["submit", "job_submit"]
        .iter()
        .map(|operation| {
            value(
                &now,
                &format!(
                    r#"happyhorse_retries_total{{operation="{operation}",reason="rate_limited"}}"#
                ),
            )
        })
        .sum();
    assert_eq!(retried, pushed_back as f64, "{text}");
    let pace = value(
        &now,
        r#"happyhorse_submit_pace_per_second{provider="hiapi"}"#,
    );
    assert!(pace > 0.0 && pace < 12.0, "pace {pace}: {text}");
    if let Some(parsed) = parsed_by_prometheus_client(&text) {
        assert_families(
            &parsed,
            &[
                ("happyhorse_retries", "counter"),
                ("happyhorse_submit_pace_per_second", "gauge"),
            ],
        );
    }
    let exit = running.exit(PATIENCE);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
    assert_eq!(fs::read(out.join("m11.mp4")).unwrap(), SAMPLE_MP4);
    assert_eq!(sandbox.stats().tasks_created.get(Provider::HiApi), 12);
}

/// A video a rerun saves, its task having ended in an earlier run that stopped before saving
/// it: its completion-to-file time counts from the end the ledger recorded, the time between
/// the runs included (here at least 2 s), not left out.
#[test]
fn a_save_a_rerun_finishes_is_timed_from_the_recorded_end() {
    let runtime = runtime();
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default().with_task_seconds(3.0),
        ))
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let jobs = jobs_file(tmp.path(), 2);
    let ledger_path = tmp.path().join("hh.db");
    // The earlier run: m0 recorded, submitted, seen to succeed; then it stopped.
    runtime.block_on(async {
        let file = fs::File::open(&jobs).unwrap();
        let m0 = happyhorse::batch::JobsReader::new(std::io::BufReader::new(file), Provider::HiApi)
            .next()
            .unwrap()
            .unwrap();
        assert_eq!(m0.id, "m0");
        let ledger = ledger::SqliteLedger::open(&ledger_path).await.unwrap();
        ledger.enqueue(&[m0.to_new_job()]).await.unwrap();
        let lease = ledger
            .claim("earlier", Duration::from_secs(60), 1)
            .await
            .unwrap()
            .remove(0)
            .lease
            .unwrap();
        ledger
            .apply(&lease, Transition::submitting(None))
            .await
            .unwrap();
        let client = common::sandbox_client(&sandbox, Provider::HiApi);
        let submission = client.submit(&m0.request).await.unwrap();
        let submitted = Transition::Submitted {
            task_id: submission.id.clone(),
            status: "queued".into(),
        };
        ledger.apply(&lease, submitted).await.unwrap();
        let finished = client.wait(submission.handle()).await.unwrap();
        let succeeded = Transition::Succeeded {
            output: finished.output().clone(),
            task_seconds: 3.0,
        };
        ledger.apply(&lease, succeeded).await.unwrap();
        ledger.release(&lease).await.unwrap();
    });
    std::thread::sleep(Duration::from_secs(2));
    let (running, url) = batch_with_metrics(
        &sandbox,
        &jobs,
        &out,
        &["--ledger", ledger_path.to_str().unwrap()],
    );
    // m0 is saved at once; m1's task takes 3 s more.
    let (_, text) = scrape_until(&url, &running, "m0 saved", |now| {
        value(now, "happyhorse_downloads_total") >= 1.0
    });
    let now = samples(&text);
    assert_eq!(value(&now, "happyhorse_downloads_total"), 1.0, "{text}");
    assert_eq!(
        value(&now, "happyhorse_completion_to_file_seconds_count"),
        1.0,
        "{text}"
    );
    assert!(
        value(&now, "happyhorse_completion_to_file_seconds_sum") >= 2.0,
        "{text}"
    );
    let exit = running.exit(PATIENCE);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
    assert_eq!(fs::read(out.join("m0.mp4")).unwrap(), SAMPLE_MP4);
    runtime.block_on(sandbox.shutdown());
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn hiapi_success(task: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "taskId": task,
        "model": "happyhorse-1.1/text-to-video",
        "status": "success",
        "created": 1_750_000_000,
        "completed": 1_750_000_180,
        "route": null,
        "output": [{"type": "video", "url": format!("https://cdn.example/{task}.mp4?X-Amz-Signature=secret"), "expireAt": 4_102_444_800u64}],
        "error": null,
    }))
    .unwrap()
}

/// `serve` after 2 accepted callbacks, 1 duplicate, 2 refused for their signature (one
/// wrong, one missing), 1 refused for its body and 1 for an unknown task: each counted with
/// its outcome and reason, the jobs per state from the ledger, and the text parses.
#[test]
fn serve_counts_callbacks_by_outcome_and_reason() {
    let runtime = runtime();
    let tmp = tempfile::tempdir().unwrap();
    let location = tmp.path().join("ledger.sqlite");
    let location = location.to_str().unwrap().to_owned();
    let tasks = ["tk-metrics-1", "tk-metrics-2", "tk-metrics-3"];
    runtime.block_on(async {
        let ledger = ledger::open(&location).await.unwrap();
        let jobs: Vec<NewJob> = tasks
            .iter()
            .enumerate()
            .map(|(i, _)| NewJob {
                id: format!("j{i}"),
                line: Some(i as u64 + 1),
                provider: Provider::HiApi,
                body: json!({"model": "happyhorse-1.1", "prompt": format!("a horse, take {i}")}),
                idempotency_key: Some(format!("hh-j{i}")),
                resolution: "720p".into(),
                video_seconds: 5,
                credits: None,
                output_name: format!("j{i}.mp4"),
            })
            .collect();
        ledger.enqueue(&jobs).await.unwrap();
        let claimed = ledger
            .claim("worker-1", Duration::from_secs(3600), 3)
            .await
            .unwrap();
        for job in claimed {
            let lease = job.lease.clone().unwrap();
            let i: usize = job.id[1..].parse().unwrap();
            ledger
                .apply(
                    &lease,
                    Transition::submitting(Some("https://hooks.example/hiapi".into())),
                )
                .await
                .unwrap();
            ledger
                .apply(
                    &lease,
                    Transition::Submitted {
                        task_id: tasks[i].to_owned(),
                        status: "queued".into(),
                    },
                )
                .await
                .unwrap();
        }
    });
    let (running, base) = process::serve(&location, &[("HIAPI_WEBHOOK_SECRET", SECRET)], PATIENCE);
    let send = |body: &[u8], headers: Vec<(&'static str, String)>| -> u16 {
        let body = body.to_vec();
        let url = format!("{base}/hiapi");
        runtime.block_on(async move {
            let mut request = common::plain_http()
                .post(url)
                .header("content-type", "application/json")
                .body(body);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request.send().await.unwrap().status().as_u16()
        })
    };
    let signed = |secret: &str, body: &[u8]| {
        let ts = now();
        vec![
            (webhook::HIAPI_TIMESTAMP_HEADER, ts.to_string()),
            (
                webhook::HIAPI_SIGNATURE_HEADER,
                webhook::hiapi_signature(secret.as_bytes(), ts, body),
            ),
        ]
    };
    let (one, two) = (hiapi_success(tasks[0]), hiapi_success(tasks[1]));
    assert_eq!(send(&one, signed(SECRET, &one)), 200);
    assert_eq!(send(&two, signed(SECRET, &two)), 200);
    assert_eq!(send(&one, signed(SECRET, &one)), 200, "a duplicate");
    assert_eq!(send(&one, signed("whsec_forger", &one)), 401);
    assert_eq!(send(&one, Vec::new()), 401);
    let junk = br#"{"not": "a task"}"#;
    assert_eq!(send(junk, signed(SECRET, junk)), 400);
    let stranger = hiapi_success("tk-nobody-has");
    assert_eq!(send(&stranger, signed(SECRET, &stranger)), 404);

    let (content_type, text) = scrape(&format!("{base}/metrics")).expect("serve answers /metrics");
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let now = samples(&text);
    let expected = [
        (
            r#"happyhorse_callbacks_total{provider="hiapi",outcome="accepted"}"#,
            2.0,
        ),
        (
            r#"happyhorse_callbacks_total{provider="hiapi",outcome="duplicate"}"#,
            1.0,
        ),
        (
            r#"happyhorse_callbacks_total{provider="hiapi",outcome="unknown"}"#,
            1.0,
        ),
        (
            r#"happyhorse_callbacks_total{provider="hiapi",outcome="refused",reason="signature_mismatch"}"#,
            1.0,
        ),
        (
            r#"happyhorse_callbacks_total{provider="hiapi",outcome="refused",reason="signature_missing"}"#,
            1.0,
        ),
        (
            r#"happyhorse_callbacks_total{provider="hiapi",outcome="refused",reason="body"}"#,
            1.0,
        ),
        (r#"happyhorse_jobs{state="succeeded"}"#, 2.0),
        (r#"happyhorse_jobs{state="submitted"}"#, 1.0),
        (r#"happyhorse_jobs{state="queued"}"#, 0.0),
        ("happyhorse_ledger_up", 1.0),
    ];
    for (series, want) in expected {
        assert_eq!(now.get(series).copied(), Some(want), "{series} in:\n{text}");
    }
    let callbacks: f64 = now
        .iter()
        .filter(|(k, _)| k.starts_with("happyhorse_callbacks_total"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(callbacks, 7.0, "{text}");
    assert!(
        !text.contains("Signature=secret") && !text.contains(SECRET),
        "{text}"
    );
    if let Some(parsed) = parsed_by_prometheus_client(&text) {
        assert_families(
            &parsed,
            &[
                ("happyhorse_callbacks", "counter"),
                ("happyhorse_jobs", "gauge"),
                ("happyhorse_task_duration_seconds", "histogram"),
            ],
        );
    }
    // Only GET: the delivery routes are as they were.
    let exit = running.interrupt(PATIENCE);
    assert_eq!(exit.code, Some(0), "{}", exit.stderr);
}
