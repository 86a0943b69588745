//! A large video streamed from the emulator into an S3-compatible store: throughput and the
//! uploader's peak memory, against a peer doing the same copy.
//!
//! `cargo bench --bench store_upload` (env: `UPLOAD_MIB`, default 1024; `HAPPYHORSE_S3S_FS`,
//! the `s3s-fs` binary, else found on `PATH` or in `~/.cargo/bin`).
//!
//! The emulator (in this process) pads its MP4 to `UPLOAD_MIB` MiB; `s3s-fs` (a child, on
//! loopback, checking SigV4) is the store. This crate: `happyhorse batch` with one job and
//! `--out s3://...` in a child process, so its peak resident memory (VmHWM) is its own; the
//! copy is timed from the ledger's events (the upload's note to the download recorded), the
//! whole command too.
//! The peer: Python's `boto3` `upload_fileobj` reading the same output URL as an HTTP stream
//! (`requests`, `stream=True`), timed around the copy alone, its peak from `getrusage`. Both
//! objects are checked against the emulator's file (SHA-256).

#[path = "batch_common/mod.rs"]
mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use happyhorse::{
    ledger::{Ledger, SqliteLedger},
    sandbox::{Sandbox, SandboxConfig},
    Provider,
};

fn main() {
    let mib: u64 = common::env("UPLOAD_MIB", 1024);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sandbox = runtime
        .block_on(Sandbox::start(
            SandboxConfig::default()
                .with_task_seconds(0.1)
                .with_pad_to(mib << 20),
        ))
        .expect("sandbox");
    let store = common::S3sFs::start();
    let (key, secret) = common::S3_KEY;
    let endpoint = store.endpoint.clone();
    let work = tempfile::tempdir().expect("work dir");
    std::fs::write(
        work.path().join("jobs.jsonl"),
        "{\"id\": \"big\", \"prompt\": \"a horse\", \"duration\": 3}\n",
    )
    .expect("jobs");
    println!("{mib} MiB from the emulator into s3s-fs on loopback");

    let mut command = Command::new(env!("CARGO_BIN_EXE_happyhorse"));
    command
        .args([
            "batch",
            "jobs.jsonl",
            "--ledger",
            "hh.db",
            "--out",
            "s3://videos/ours",
        ])
        .current_dir(work.path())
        .env("HIAPI_API_KEY", "sk-bench")
        .env("HIAPI_BASE_URL", sandbox.base_url(Provider::HiApi))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    store.env(&mut command);
    let started = Instant::now();
    let mut child = command.spawn().expect("happyhorse batch");
    let (status, peak) = runtime.block_on(common::watch_child(&mut child));
    let ours = started.elapsed();
    assert!(status.success(), "happyhorse batch failed");
    let (job, events) = runtime.block_on(async {
        let ledger = SqliteLedger::open(work.path().join("hh.db"))
            .await
            .expect("ledger");
        let job = ledger.job("big").await.expect("read").expect("the job");
        (job, ledger.events("big").await.expect("events"))
    });
    // The copy alone: from the note that the upload began to the download recorded.
    let began = events
        .iter()
        .find(|e| {
            e.error
                .as_deref()
                .is_some_and(|e| e.starts_with("uploading"))
        })
        .map(|e| e.at)
        .expect("the upload's note");
    let ended = events
        .iter()
        .find(|e| e.event == "downloaded")
        .map(|e| e.at)
        .expect("the download");
    let copy = (ended - began).to_std().expect("in order");
    let url = job.output.as_ref().expect("an output").url.clone();
    let expected = common::sha256_file(&store.root.path().join("videos/ours/big.mp4"));
    assert_eq!(job.sha256.as_deref(), Some(expected.as_str()));
    let rate = |d: Duration| mib as f64 / d.as_secs_f64();
    println!(
        "happyhorse batch --out s3://: {} the copy ({:.0} MiB/s), {} the whole command, peak RSS {peak:.1} MiB",
        common::secs(copy),
        rate(copy),
        common::secs(ours),
    );

    let peer = r#"
import resource, sys, time, boto3, requests
url, endpoint, key, secret = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key,
                  aws_secret_access_key=secret, region_name="us-east-1")
start = time.monotonic()
with requests.get(url, stream=True) as r:
    r.raise_for_status()
    s3.upload_fileobj(r.raw, "videos", "peer/big.mp4")
took = time.monotonic() - start
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"#;
    let out = Command::new("python3")
        .args(["-c", peer, &url, &endpoint, key, secret])
        .output()
        .expect("python3");
    if out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout);
        let mut fields = text.split_whitespace();
        let took: f64 = fields
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(f64::NAN);
        let rss: f64 = fields
            .next()
            .and_then(|t| t.parse().ok())
            .unwrap_or(f64::NAN);
        let peer_sha = common::sha256_file(&store.root.path().join("videos/peer/big.mp4"));
        assert_eq!(peer_sha, expected, "the peer's object differs");
        println!(
            "boto3 upload_fileobj from requests' stream: {took:.1} s (the copy alone), {:.0} MiB/s, peak RSS {rss:.1} MiB",
            mib as f64 / took
        );
        println!(
            "copy time ratio (ours / peer): {:.2}; memory: ours {peak:.1} MiB, peer {rss:.1} MiB",
            copy.as_secs_f64() / took
        );
    } else {
        println!(
            "peer not run (pip install boto3 requests): {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or_default()
        );
    }
    drop(store);
    runtime.block_on(sandbox.shutdown());
}
