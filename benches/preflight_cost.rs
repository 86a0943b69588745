//! What checking and staging a batch's images costs before anything is paid for: 1,000 jobs,
//! each naming one of 100 distinct local images and one of 100 distinct remote URLs.
//!
//! `cargo bench --bench preflight_cost` (env: `RUNS`, default 5;
//! `HAPPYHORSE_S3S_FS`, the `s3s-fs` binary, else found on `PATH` or in `~/.cargo/bin`).
//!
//! The remote images come from a loopback HTTP server in this process that counts the
//! requests it answers; the store is `s3s-fs` (a child, on loopback, checking SigV4). Each run
//! is `happyhorse batch JOBS --stage s3://videos/runN` in a child process with a new ledger
//! and a new prefix, its stderr read as it comes: the check phase's and the staging's times
//! are the ones the command prints ("images checked: ... in X ms", "staged ...: U uploaded
//! ... in Y ms"), the remote requests are counted when the checks end, and the child is
//! killed once it has staged (the submits after it are not what is measured). The objects
//! in the prefix are counted too.

#[path = "batch_common/mod.rs"]
mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

use happyhorse::sandbox::Sandbox;

const JOBS: usize = 1_000;
const DISTINCT: usize = 100;

/// The figure after `before` in `line`, up to the next space.
fn number_after(line: &str, before: &str) -> Option<f64> {
    let rest = &line[line.find(before)? + before.len()..];
    rest.split_whitespace().next()?.parse().ok()
}

fn main() {
    let runs: usize = common::env("RUNS", 5);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    // The remote images: /img/N.png, N < 100, each a distinct PNG; every request counted.
    let requests = Arc::new(AtomicUsize::new(0));
    let pngs: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..DISTINCT)
            .map(|i| Sandbox::sample_png(500 + i as u32, 450))
            .collect(),
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("a loopback port");
    let images = format!("http://{}", listener.local_addr().expect("address"));
    {
        let requests = requests.clone();
        let app = axum::Router::new().route(
            "/img/{name}",
            axum::routing::get(
                move |axum::extract::Path(name): axum::extract::Path<String>| {
                    let requests = requests.clone();
                    let pngs = pngs.clone();
                    async move {
                        requests.fetch_add(1, Ordering::SeqCst);
                        let n: usize = name.trim_end_matches(".png").parse().unwrap_or(usize::MAX);
                        match pngs.get(n) {
                            Some(png) => (
                                axum::http::StatusCode::OK,
                                [("content-type", "image/png")],
                                png.clone(),
                            ),
                            None => (
                                axum::http::StatusCode::NOT_FOUND,
                                [("content-type", "text/plain")],
                                b"no such image".to_vec(),
                            ),
                        }
                    }
                },
            ),
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
    }

    let store = common::S3sFs::start();
    let work = tempfile::tempdir().expect("work dir");
    let local = work.path().join("images");
    std::fs::create_dir(&local).expect("images/");
    let mut local_bytes = 0usize;
    for i in 0..DISTINCT {
        let png = Sandbox::sample_png(400 + i as u32, 400 + i as u32);
        local_bytes += png.len();
        std::fs::write(local.join(format!("{i}.png")), png).expect("an image");
    }
    let lines: Vec<String> = (0..JOBS)
        .map(|j| {
            serde_json::json!({
                "id": format!("j{j}"),
                "prompt": "[Image 1] meets [Image 2]",
                "references": [
                    format!("images/{}.png", j % DISTINCT),
                    format!("{images}/img/{}.png", (j / DISTINCT + j) % DISTINCT),
                ],
                "duration": 3,
            })
            .to_string()
        })
        .collect();
    std::fs::write(work.path().join("jobs.jsonl"), lines.join("\n")).expect("jobs");
    println!(
        "{JOBS} jobs, {DISTINCT} distinct local images ({} KiB in all) and {DISTINCT} distinct remote URLs; s3s-fs on loopback; {runs} runs",
        local_bytes / 1024
    );

    let (mut checks, mut stagings, mut walls) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let before = requests.load(Ordering::SeqCst);
        let prefix = format!("run{run}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
        command
            .args(["batch", "jobs.jsonl", "--out", "out", "--ledger"])
            .arg(format!("hh{run}.db"))
            .args(["--stage", &format!("s3://videos/{prefix}")])
            .current_dir(work.path())
            .env("HIAPI_API_KEY", "sk-bench")
            // No provider answers: the run is killed once it has staged.
            .env("HIAPI_BASE_URL", "http://127.0.0.1:9")
            .env_remove("HAPPYHORSE_STAGE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        store.env(&mut command);
        let started = Instant::now();
        let mut child = command.spawn().expect("happyhorse batch");
        let stderr = child.stderr.take().expect("stderr");
        let (mut checked, mut fetched, mut staged, mut uploaded) = (None, None, None, None);
        let mut wall = None;
        let mut said = Vec::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("images checked:") {
                fetched = Some(requests.load(Ordering::SeqCst) - before);
                checked = number_after(&line, " URLs fetched, in ");
            } else if line.starts_with("staged ") {
                wall = Some(started.elapsed());
                staged = number_after(&line, ") in ");
                uploaded = number_after(&line, ": ");
                break;
            }
            said.push(line);
        }
        let _ = child.kill();
        let _ = child.wait();
        let (Some(checked), Some(fetched), Some(staged), Some(uploaded), Some(wall)) =
            (checked, fetched, staged, uploaded, wall)
        else {
            panic!("run {run} did not check and stage:\n{}", said.join("\n"));
        };
        let objects = std::fs::read_dir(store.root.path().join("videos").join(&prefix))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
            .unwrap_or(0);
        println!(
            "run {run}: checks {checked:.0} ms ({fetched} remote image requests), staging {staged:.0} ms ({uploaded:.0} uploads, {objects} objects in the prefix), start to staged {:.0} ms",
            wall.as_secs_f64() * 1000.0
        );
        checks.push(checked);
        stagings.push(staged);
        walls.push(wall.as_secs_f64() * 1000.0);
    }
    let median = |values: Vec<f64>| common::quantile(&common::sorted(values), 0.5);
    println!(
        "median of {runs}: checks {:.0} ms, staging {:.0} ms, command start to staged {:.0} ms",
        median(checks),
        median(stagings),
        median(walls)
    );
    drop(store);
}
