//! The console in a real headless Chromium, over a real ledger filled by real batches on the
//! emulator: the overview's counts are the ledger's, filters and search narrow the table, a
//! job's timeline is its history in order, a gallery video plays, the overview follows a
//! running batch without a reload; and the console keeps to loopback without a token.
//! Screenshots of each page go to `target/tmp/console-screenshots/`.
#![cfg(all(feature = "cli", feature = "sandbox"))]

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Stdio},
    time::Duration,
};

use happyhorse::{
    ledger::{JobState, Ledger, NewJob, SqliteLedger, Transition},
    sandbox::{FaultRates, Sandbox, SandboxConfig},
};
use serde_json::json;

use common::browser::Browser;

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots")
}

/// `happyhorse ARGS` in `dir` with the sandbox's providers.
fn happyhorse(args: &[&str], dir: &Path, sandbox: &Sandbox) -> std::process::Command {
    let env = common::sandbox_env(sandbox);
    let mut command = common::process::command(args, &common::process::pairs(&env));
    command
        .current_dir(dir)
        .env_remove("HAPPYHORSE_CONSOLE_TOKEN");
    command
}

fn jobs_file(dir: &Path, name: &str, prefix: &str, n: usize) {
    let lines: Vec<String> = (0..n)
        .map(|i| {
            let provider = ["hiapi", "apiframe", "reapi"][i % 3];
            json!({"id": format!("{prefix}{i}"), "prompt": format!("a {prefix} horse number {i} on a beach"), "duration": 3, "provider": provider}).to_string()
        })
        .collect();
    std::fs::write(dir.join(name), lines.join("\n")).unwrap();
}

/// A console on a free loopback port; killed when dropped.
struct Console {
    child: Child,
    url: String,
}

impl Console {
    fn start(dir: &Path, sandbox: &Sandbox) -> Console {
        let addr = common::process::free_addr();
        let child = happyhorse(
            &[
                "console", "--ledger", "hh.db", "--out", "out", "--addr", &addr,
            ],
            dir,
            sandbox,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        common::process::wait_listening(&addr, "the console");
        Console {
            child,
            url: format!("http://{addr}"),
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Opens the overview and waits until it is drawn.
async fn open_overview(browser: &Browser, console: &Console) {
    browser.goto(&format!("{}/", console.url)).await;
    browser
        .wait_for(
            "the overview",
            "return document.querySelector('[data-total]')?.textContent",
            Duration::from_secs(20),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_watches_a_batch_finds_what_failed_and_plays_its_videos() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let sandbox = Sandbox::start(
        SandboxConfig::default()
            .with_task_seconds(0.3)
            .with_faults(FaultRates::none().with("fail", 0.4).unwrap()),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    jobs_file(dir.path(), "first.jsonl", "first", 15);
    let batch = |file: &str| {
        happyhorse(
            &["batch", file, "--ledger", "hh.db", "--out", "out"],
            dir.path(),
            &sandbox,
        )
    };
    let first = batch("first.jsonl").output().unwrap();
    assert!(
        first.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let ledger = SqliteLedger::open(dir.path().join("hh.db")).await.unwrap();
    let summary = ledger.summary().await.unwrap();
    let failed = summary.count(JobState::Failed);
    let downloaded = summary.count(JobState::Downloaded);
    assert!(failed > 0 && downloaded > 0, "{:?}", summary.states);

    let console = Console::start(dir.path(), &sandbox);
    // The overview: every count the ledger's.
    open_overview(&browser, &console).await;
    let counts = browser
        .run(
            "const out = {}; for (const n of document.querySelectorAll('[data-state-count]')) out[n.dataset.stateCount] = Number(n.textContent); out.total = Number(document.querySelector('[data-total]').textContent); return out;",
            json!([]),
        )
        .await;
    assert_eq!(counts["total"], summary.total(), "{counts}");
    assert_eq!(counts["failed"], failed, "{counts}");
    assert_eq!(counts["downloaded"], downloaded, "{counts}");
    let errors = browser
        .run(
            "return document.getElementById('errors').textContent",
            json!([]),
        )
        .await;
    assert!(errors.as_str().unwrap().contains("failed"), "{errors}");
    browser.screenshot(&shots().join("overview.png")).await;

    // Jobs: the failed ones, then a search for one job by its prompt.
    browser
        .goto(&format!("{}/#/jobs?state=failed", console.url))
        .await;
    let rows = browser
        .wait_for(
            "the failed jobs",
            "const rows = [...document.querySelectorAll('#jobs tr[data-job-id]')]; return document.querySelector('#jobs')?.dataset.for === location.hash && rows.length && rows.map(r => r.dataset.state);",
            Duration::from_secs(10),
        )
        .await;
    let states = rows.as_array().unwrap();
    assert_eq!(states.len() as u64, failed, "{rows}");
    assert!(states.iter().all(|s| s == "failed"), "{rows}");
    browser.screenshot(&shots().join("jobs-failed.png")).await;
    browser
        .goto(&format!("{}/#/jobs?q=horse%20number%2012%20", console.url))
        .await;
    let found = browser
        .wait_for(
            "the search",
            "const rows = [...document.querySelectorAll('#jobs tr[data-job-id]')]; return document.querySelector('#jobs')?.dataset.for === location.hash && rows.length && rows.map(r => r.dataset.jobId);",
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(found, json!(["first12"]));

    // A failed job: its timeline is its history, in order; its error says what to do.
    let failed_job = ledger
        .jobs()
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.state == JobState::Failed)
        .unwrap();
    let history: Vec<String> = ledger
        .events(&failed_job.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    browser
        .goto(&format!("{}/#/job/{}", console.url, failed_job.id))
        .await;
    let shown = browser
        .wait_for(
            "the timeline",
            "const items = [...document.querySelectorAll('#timeline li')]; return items.length && items.map(i => [i.dataset.event, Number(i.dataset.seq)]);",
            Duration::from_secs(10),
        )
        .await;
    let shown = shown.as_array().unwrap();
    let events: Vec<&str> = shown.iter().map(|e| e[0].as_str().unwrap()).collect();
    assert_eq!(events, history);
    let seqs: Vec<i64> = shown.iter().map(|e| e[1].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let command = browser
        .run(
            "return document.getElementById('command')?.textContent",
            json!([]),
        )
        .await;
    assert!(
        command.as_str().unwrap_or("").contains("--retry-failed"),
        "{command}"
    );
    let text = browser
        .run(
            "return document.getElementById('view').innerText",
            json!([]),
        )
        .await;
    let text = text.as_str().unwrap();
    assert!(
        !text
            .split_whitespace()
            .any(|w| w == "null" || w == "undefined"),
        "a missing value shown as such: {text}"
    );
    browser.screenshot(&shots().join("job-failed.png")).await;

    // The gallery: a video plays.
    browser.goto(&format!("{}/#/gallery", console.url)).await;
    browser
        .wait_for(
            "the gallery",
            "return document.querySelectorAll('#gallery video').length",
            Duration::from_secs(10),
        )
        .await;
    let videos = browser
        .run(
            "return document.querySelectorAll('#gallery video').length",
            json!([]),
        )
        .await;
    assert_eq!(videos, json!(downloaded.min(24)));
    browser
        .run(
            "const v = document.querySelector('#gallery video'); v.muted = true; v.play(); return true;",
            json!([]),
        )
        .await;
    browser
        .wait_for(
            "a gallery video to play",
            "const v = document.querySelector('#gallery video'); return v.currentTime > 0.2 && !v.error;",
            Duration::from_secs(20),
        )
        .await;
    browser.screenshot(&shots().join("gallery.png")).await;

    // Live: the overview follows a second batch without reloading.
    open_overview(&browser, &console).await;
    browser
        .run("window.notReloaded = true; return true;", json!([]))
        .await;
    jobs_file(dir.path(), "second.jsonl", "second", 6);
    let second = batch("second.jsonl").output().unwrap();
    assert!(second.status.code().is_some());
    let total = summary.total() + 6;
    browser
        .wait_for(
            "the overview to count the second batch",
            &format!("return window.notReloaded === true && Number(document.querySelector('[data-total]').textContent) === {total}"),
            Duration::from_secs(20),
        )
        .await;
    let settled = ledger.summary().await.unwrap();
    browser
        .wait_for(
            "the overview to show the second batch settled",
            &format!(
                "return Number(document.querySelector('[data-state-count=downloaded]').textContent) === {}",
                settled.count(JobState::Downloaded)
            ),
            Duration::from_secs(20),
        )
        .await;
    drop(console);
    sandbox.shutdown().await;
}

/// Off loopback the console needs `--allow-remote` and a token; with one, a request without it
/// is refused and one with it served. Pages carry the security headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_keeps_to_loopback_unless_a_token_guards_it() {
    let sandbox = Sandbox::start(SandboxConfig::default().with_task_seconds(0.1))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    jobs_file(dir.path(), "jobs.jsonl", "j", 3);
    let run = happyhorse(
        &["batch", "jobs.jsonl", "--ledger", "hh.db", "--out", "out"],
        dir.path(),
        &sandbox,
    )
    .output()
    .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let console = |args: &[&str], token: Option<&str>| {
        let mut all = vec!["console", "--ledger", "hh.db"];
        all.extend_from_slice(args);
        let mut command = happyhorse(&all, dir.path(), &sandbox);
        if let Some(token) = token {
            command.env("HAPPYHORSE_CONSOLE_TOKEN", token);
        }
        command
    };
    let refused = console(&["--addr", "0.0.0.0:0"], None).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");
    let refused = console(&["--addr", "0.0.0.0:0", "--allow-remote"], None)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("HAPPYHORSE_CONSOLE_TOKEN"), "{stderr}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "a-long-enough-console-token";
    let mut child = console(
        &["--addr", &format!("0.0.0.0:{port}"), "--allow-remote"],
        Some(token),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    happyhorse::install_crypto_provider();
    let http = reqwest::Client::new();
    let mut answer = None;
    for _ in 0..200 {
        if let Ok(got) = http.get(format!("{url}/api/overview")).send().await {
            answer = Some(got);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = answer.expect("the console listens");
    assert_eq!(answer.status(), 401);
    let page = http.get(format!("{url}/")).send().await.unwrap();
    assert!(page.url().path().ends_with("/login"), "{}", page.url());
    let served = http
        .get(format!("{url}/api/overview"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    let headers = served.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    let body = served.text().await.unwrap();
    assert!(!body.contains(token));
    let metrics = http
        .get(format!("{url}/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("happyhorse_jobs{state=\"downloaded\"} 3"),
        "{metrics}"
    );
    if let Some(families) = common::prometheus::parsed_by_prometheus_client(&metrics) {
        for family in [
            "happyhorse_jobs gauge",
            "happyhorse_console_requests counter",
        ] {
            assert!(
                families.iter().any(|f| f.starts_with(family)),
                "{family} in {families:?}"
            );
        }
    }
    let wrong = http
        .get(format!("{url}/api/jobs"))
        .bearer_auth("not-the-token-at-all")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let _ = child.kill();
    let _ = child.wait();

    // On loopback without a token, it answers only to a loopback name: a page whose own name
    // was pointed at 127.0.0.1 (DNS rebinding) gets nothing.
    let addr = common::process::free_addr();
    let mut child = console(&["--addr", &addr], None)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common::process::wait_listening(&addr, "the console");
    let rebound = http
        .get(format!("http://{addr}/api/jobs"))
        .header("Host", "rebound.example:8788")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 421);
    let body = rebound.text().await.unwrap();
    assert!(!body.contains("horse"), "{body}");
    let port = addr.rsplit_once(':').unwrap().1;
    for name in [addr.clone(), format!("localhost:{port}")] {
        let local = http
            .get(format!("http://{addr}/api/jobs"))
            .header("Host", name.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(local.status(), 200, "{name}");
    }
    let _ = child.kill();
    let _ = child.wait();
    sandbox.shutdown().await;
}

/// The events of a server-sent event stream, read as they come.
struct Events {
    answer: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The data of the next `overview` event, as JSON.
    async fn next_overview(&mut self) -> serde_json::Value {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if block.lines().any(|l| l == "event: overview") {
                    let data = block
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .expect("an overview's data");
                    return serde_json::from_str(data).expect("an overview is JSON");
                }
                continue;
            }
            let chunk = self
                .answer
                .chunk()
                .await
                .expect("the stream reads")
                .expect("the stream goes on");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

fn jobs_in(overview: &serde_json::Value, state: &str) -> u64 {
    overview["states"]
        .as_array()
        .and_then(|states| states.iter().find(|s| s["state"] == state))
        .and_then(|s| s["jobs"].as_u64())
        .unwrap_or(0)
}

/// The live stream ends with the ledger's last change, even when changes come faster than the
/// shared overview is made again (at most once a second): two changes 100 ms apart, right
/// after the page opened, and the stream's last overview holds both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_ends_with_the_last_change() {
    let sandbox = Sandbox::start(SandboxConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqliteLedger::open(dir.path().join("hh.db")).await.unwrap();
    let jobs: Vec<NewJob> = (0..2)
        .map(|i| NewJob {
            id: format!("live{i}"),
            line: Some(i + 1),
            provider: happyhorse::Provider::Reapi,
            body: json!({"model": "happyhorse-1-1", "prompt": format!("a horse {i}")}),
            idempotency_key: None,
            resolution: "720p".into(),
            video_seconds: 5,
            credits: None,
            output_name: format!("live{i}.mp4"),
        })
        .collect();
    ledger.enqueue(&jobs).await.unwrap();
    let console = Console::start(dir.path(), &sandbox);
    happyhorse::install_crypto_provider();
    let answer = reqwest::Client::new()
        .get(format!("{}/api/stream", console.url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let mut events = Events {
        answer,
        buffer: String::new(),
    };
    let first = events.next_overview().await;
    assert_eq!(jobs_in(&first, "queued"), 2, "{first}");
    for job in ledger.claim("w", Duration::from_secs(60), 2).await.unwrap() {
        ledger
            .apply(job.lease.as_ref().unwrap(), Transition::submitting(None))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = ledger.event_seq().await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let overview = tokio::time::timeout_at(deadline, events.next_overview())
            .await
            .expect("the last change never reached the stream");
        if overview["event_seq"] == last {
            assert_eq!(jobs_in(&overview, "submitting"), 2, "{overview}");
            break;
        }
    }
    drop(events);
    drop(console);
    sandbox.shutdown().await;
}
