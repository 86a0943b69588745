//! What the batch benches share: jobs files, clients against an in-process sandbox, quantiles.
#![allow(dead_code)]

use std::{path::Path, time::Duration};

use happyhorse::{
    batch::{parse_jobs, BatchJob},
    sandbox::Sandbox,
    Client, ClientConfig, Provider,
};

/// A client for `provider` against `sandbox`.
pub fn client(sandbox: &Sandbox, provider: Provider) -> Client {
    Client::new(
        ClientConfig::new(provider)
            .with_api_key(format!("{}bench", provider.key_prefix()))
            .with_base_url(sandbox.base_url(provider)),
    )
    .expect("client")
}

/// `n` jobs file lines, round-robin over `providers`, each with its own prompt (so its own id)
/// and an explicit duration (Apiframe documents no default).
pub fn lines(n: usize, providers: &[Provider], tag: &str) -> String {
    (0..n)
        .map(|i| {
            let provider = providers[i % providers.len()];
            format!(
                "{{\"id\": \"{tag}-{i:05}\", \"prompt\": \"Bench {tag} {i}: a horse in a field\", \"duration\": 5, \"resolution\": \"720p\", \"provider\": \"{provider}\"}}\n"
            )
        })
        .collect()
}

/// The parsed jobs of [`lines`].
pub fn jobs(n: usize, providers: &[Provider], tag: &str) -> Vec<BatchJob> {
    parse_jobs(&lines(n, providers, tag), Provider::HiApi).expect("bench jobs are valid")
}

/// The `q` quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let at = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// Sorted copy.
pub fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// The environment variable `name` parsed, or `default`.
pub fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of process `pid` so far (VmHWM), in MiB.
pub fn peak_rss_mib(pid: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// SHA-256 of a file, hex.
pub fn sha256_file(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let bytes = std::fs::read(path).expect("read a saved video");
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of bytes, hex.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Seconds as text with one decimal.
pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `happyhorse batch JOBS --out OUT --concurrency N`, quiet, with keys and base URLs pointing
/// `providers` at `sandbox`.
#[cfg(feature = "cli")]
pub fn batch_command(
    jobs: &Path,
    out: &Path,
    concurrency: usize,
    providers: &[Provider],
    sandbox: &Sandbox,
) -> std::process::Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_happyhorse"));
    batch_command_of(bin, jobs, out, concurrency, providers, sandbox)
}

/// [`batch_command`] with the `happyhorse` binary at `bin` (an earlier build, for a baseline).
#[cfg(feature = "cli")]
pub fn batch_command_of(
    bin: &Path,
    jobs: &Path,
    out: &Path,
    concurrency: usize,
    providers: &[Provider],
    sandbox: &Sandbox,
) -> std::process::Command {
    let mut command = std::process::Command::new(bin);
    command
        .arg("batch")
        .arg(jobs)
        .arg("--out")
        .arg(out)
        .args(["--concurrency", &concurrency.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for provider in providers {
        command
            .env(
                provider.api_key_env(),
                format!("{}bench", provider.key_prefix()),
            )
            .env(provider.base_url_env(), sandbox.base_url(*provider));
    }
    command
}

/// Waits for `child` to end, sampling its peak resident memory every 100 ms; returns its exit
/// status and the peak in MiB.
#[cfg(feature = "cli")]
pub async fn watch_child(child: &mut std::process::Child) -> (std::process::ExitStatus, f64) {
    let pid = child.id().to_string();
    let mut peak: f64 = 0.0;
    loop {
        if let Some(mib) = peak_rss_mib(&pid) {
            peak = peak.max(mib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            return (status, peak);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What the SQLite ledger in `out` holds.
pub async fn ledger_summary(out: &Path) -> happyhorse::ledger::Summary {
    use happyhorse::ledger::Ledger;
    happyhorse::ledger::SqliteLedger::open(out.join("happyhorse.db"))
        .await
        .expect("ledger")
        .summary()
        .await
        .expect("summary")
}
