//! 1,000 tasks end to end (submit, wait, download) against an instant in-process sandbox, with
//! bounded concurrency: this crate's client beside a minimal hand-written reqwest loop doing the
//! same requests. Each variant runs in its own child process, so its peak memory (VmHWM) is its
//! own; the sandbox runs in the parent.
//!
//! `cargo bench --bench lifecycle` (env: `LIFECYCLE_TASKS`, default 1000; `LIFECYCLE_CONCURRENCY`,
//! default 32; `LIFECYCLE_ROUNDS`, default 3; `LIFECYCLE_PAD_BYTES` pads every output to that
//! size, to compare memory with large files, e.g. `LIFECYCLE_TASKS=100 LIFECYCLE_PAD_BYTES=8388608`).

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{stream, StreamExt};
use happyhorse::{
    client::{Client, Config, DownloadOptions, RetryPolicy, WaitOptions},
    request::VideoRequest,
    sandbox::{Config as SandboxConfig, Sandbox},
    values::Prompt,
    Provider,
};
use serde_json::{json, Value};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process, in KiB (Linux `VmHWM`).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn provider_for(task: usize) -> Provider {
    Provider::ALL[task % 3]
}

fn base_url(addr: &str, provider: Provider) -> String {
    match provider {
        Provider::HiApi => format!("http://{addr}/v1"),
        Provider::Reapi => format!("http://{addr}/api/v1"),
        Provider::Apiframe => format!("http://{addr}"),
    }
}

/// This crate's client: submit (validated, idempotent), wait, download (streamed, atomic).
async fn with_client(addr: &str, tasks: usize, concurrency: usize, dir: &Path) -> usize {
    let clients: Vec<Client> = Provider::ALL
        .iter()
        .map(|&provider| {
            Client::new(
                Config::new(provider)
                    .with_api_key(format!("{}bench", provider.key_prefix()))
                    .with_base_url(base_url(addr, provider))
                    .with_retry(RetryPolicy::none()),
            )
            .expect("a client")
        })
        .collect();
    let clients = Arc::new(clients);
    let wait =
        WaitOptions::default().schedule(Duration::from_millis(5), 1.0, Duration::from_millis(5));
    stream::iter(0..tasks)
        .map(|task| {
            let clients = clients.clone();
            let wait = wait.clone();
            let path = dir.join(format!("client-{task}.mp4"));
            async move {
                let client = &clients[task % 3]; // the order of Provider::ALL, as provider_for
                let prompt = Prompt::new(format!("bench task {task}")).expect("a prompt");
                let submitted = client.submit(&VideoRequest::text_to_video(prompt)).await?;
                let done = client.wait(&submitted.id, &wait, |_| {}).await?;
                client
                    .download(
                        &done.outputs[0],
                        &path,
                        &DownloadOptions::default().overwrite(true),
                        |_, _| {},
                    )
                    .await?;
                Ok::<_, happyhorse::client::Error>(())
            }
        })
        .buffer_unordered(concurrency)
        .filter(|done| std::future::ready(done.is_ok()))
        .count()
        .await
}

/// The same requests, written by hand with reqwest: no validation, no retries, the whole file
/// in memory before it is written.
async fn with_reqwest(addr: &str, tasks: usize, concurrency: usize, dir: &Path) -> usize {
    let http = reqwest::Client::new();
    stream::iter(0..tasks)
        .map(|task| {
            let http = http.clone();
            let path = dir.join(format!("reqwest-{task}.mp4"));
            let prompt = format!("bench task {task}");
            async move {
                let provider = provider_for(task);
                let base = base_url(addr, provider);
                let (submit, body, auth) = match provider {
                    Provider::HiApi => (
                        format!("{base}/tasks"),
                        json!({"model": "happyhorse-1.1/text-to-video", "input": {"prompt": prompt}}),
                        ("authorization", "Bearer sk-bench"),
                    ),
                    Provider::Reapi => (
                        format!("{base}/videos/generations"),
                        json!({"model": "happyhorse-1-1", "prompt": prompt}),
                        ("authorization", "Bearer rk_bench"),
                    ),
                    Provider::Apiframe => (
                        format!("{base}/v2/videos/generate"),
                        json!({"model": "happyhorse-1.1", "prompt": prompt}),
                        ("x-api-key", "afk_bench"),
                    ),
                };
                let created: Value = http
                    .post(submit)
                    .header(auth.0, auth.1)
                    .json(&body)
                    .send()
                    .await?
                    .json()
                    .await?;
                let (poll, pointer) = match provider {
                    Provider::HiApi => (
                        format!("{base}/tasks/{}", created["data"]["taskId"].as_str().unwrap_or_default()),
                        "/data/output/0/url",
                    ),
                    Provider::Reapi => (
                        format!("{base}/tasks/{}", created["id"].as_str().unwrap_or_default()),
                        "/output/video_urls/0",
                    ),
                    Provider::Apiframe => (
                        format!("{base}/v2/jobs/{}", created["jobId"].as_str().unwrap_or_default()),
                        "/result/urls/0",
                    ),
                };
                let task: Value = http
                    .get(poll)
                    .header(auth.0, auth.1)
                    .send()
                    .await?
                    .json()
                    .await?;
                let url = task.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
                let bytes = http.get(url).send().await?.bytes().await?;
                tokio::fs::write(&path, &bytes).await.ok();
                Ok::<_, reqwest::Error>(())
            }
        })
        .buffer_unordered(concurrency)
        .filter(|done| std::future::ready(done.is_ok()))
        .count()
        .await
}

/// A child process: runs one variant and prints `variant tasks ok seconds peak_kib`.
fn child(variant: &str) {
    let addr = std::env::var("LIFECYCLE_ADDR").expect("the parent sets LIFECYCLE_ADDR");
    let dir = PathBuf::from(std::env::var("LIFECYCLE_DIR").expect("the parent sets LIFECYCLE_DIR"));
    let tasks = env_number("LIFECYCLE_TASKS", 1000);
    let concurrency = env_number("LIFECYCLE_CONCURRENCY", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let ok = runtime.block_on(async {
        match variant {
            "client" => with_client(&addr, tasks, concurrency, &dir).await,
            _ => with_reqwest(&addr, tasks, concurrency, &dir).await,
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    println!("{variant} {tasks} {ok} {seconds} {}", peak_rss_kib());
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if let Ok(variant) = std::env::var("LIFECYCLE_VARIANT") {
        return child(&variant);
    }
    let tasks = env_number("LIFECYCLE_TASKS", 1000);
    let concurrency = env_number("LIFECYCLE_CONCURRENCY", 32);
    let rounds = env_number("LIFECYCLE_ROUNDS", 3).max(1);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut config = SandboxConfig::default();
    let pad = env_number("LIFECYCLE_PAD_BYTES", 0) as u64;
    if pad > 0 {
        config = config.with_pad_to(pad);
    }
    let size = (pad as usize).max(happyhorse::sandbox::SAMPLE_MP4.len());
    let sandbox = runtime
        .block_on(Sandbox::start(config))
        .expect("the sandbox starts");
    let dir = std::env::temp_dir().join(format!("happyhorse-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let exe = std::env::current_exe().expect("this binary's path");
    println!(
        "lifecycle: {tasks} tasks (submit, wait, download a {size} B MP4) per run, {concurrency} at a time, \
         against an instant in-process sandbox on loopback; 2-core machine, client and sandbox share it"
    );
    let mut results: Vec<(&str, Vec<f64>, u64, usize)> =
        vec![("client", Vec::new(), 0, 0), ("reqwest", Vec::new(), 0, 0)];
    for round in 0..rounds {
        for (variant, rates, peak, failures) in results.iter_mut() {
            let out = Command::new(&exe)
                .env("LIFECYCLE_VARIANT", *variant)
                .env("LIFECYCLE_ADDR", sandbox.addr().to_string())
                .env("LIFECYCLE_DIR", &dir)
                .output()
                .expect("the child runs");
            let line = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [_, total, ok, seconds, kib] = fields[..] else {
                panic!(
                    "child {variant} printed {line:?}; stderr {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            };
            let (total, ok): (usize, usize) = (total.parse().unwrap_or(0), ok.parse().unwrap_or(0));
            let seconds: f64 = seconds.parse().unwrap_or(f64::NAN);
            let kib: u64 = kib.parse().unwrap_or(0);
            *failures += total - ok;
            rates.push(ok as f64 / seconds);
            *peak = (*peak).max(kib);
            println!(
                "  round {}: {variant:<8} {ok}/{total} tasks in {seconds:.2} s = {:.0} tasks/s, peak RSS {:.1} MiB",
                round + 1,
                ok as f64 / seconds,
                kib as f64 / 1024.0
            );
        }
    }
    let summary: Vec<(String, f64, u64, usize)> = results
        .iter_mut()
        .map(|(variant, rates, peak, failures)| {
            (variant.to_string(), median(rates), *peak, *failures)
        })
        .collect();
    for (variant, rate, peak, failures) in &summary {
        println!(
            "{variant:<8} median {rate:.0} tasks/s, peak RSS {:.1} MiB, failed tasks {failures}",
            *peak as f64 / 1024.0
        );
    }
    println!(
        "client / reqwest: {:.2}x the throughput, {:.2}x the peak memory",
        summary[0].1 / summary[1].1,
        summary[0].2 as f64 / summary[1].2 as f64
    );
    let _ = std::fs::remove_dir_all(&dir);
    if summary.iter().any(|(_, _, _, failures)| *failures > 0) {
        std::process::exit(1);
    }
}
