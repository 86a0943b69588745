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

/// The key pair of [`S3sFs`].
#[cfg(feature = "store")]
pub const S3_KEY: (&str, &str) = ("bench-access", "bench-secret");

/// An `s3s-fs` server (S3-compatible, checking SigV4 with [`S3_KEY`]) on a loopback port over
/// a temporary directory holding the bucket `videos`; killed when dropped.
#[cfg(feature = "store")]
pub struct S3sFs {
    child: std::process::Child,
    /// The directory it serves (objects are files under `root/videos/`).
    pub root: tempfile::TempDir,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

#[cfg(feature = "store")]
impl S3sFs {
    /// Starts the `s3s-fs` at `HAPPYHORSE_S3S_FS`, on `PATH` or in `~/.cargo/bin`.
    pub fn start() -> S3sFs {
        let bin = std::env::var_os("HAPPYHORSE_S3S_FS")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH")
                    .map(|p| std::env::split_paths(&p).collect())
                    .unwrap_or_default();
                if let Some(home) = std::env::var_os("HOME") {
                    dirs.push(std::path::PathBuf::from(home).join(".cargo/bin"));
                }
                dirs.into_iter()
                    .map(|d| d.join("s3s-fs"))
                    .find(|p| p.is_file())
            })
            .expect("s3s-fs: cargo install s3s-fs@0.14.1 --features binary --locked");
        let root = tempfile::tempdir().expect("store dir");
        std::fs::create_dir(root.path().join("videos")).expect("bucket");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = std::process::Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_KEY.0, "--secret-key", S3_KEY.1])
            .arg(root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("s3s-fs");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(50));
        }
        S3sFs {
            child,
            root,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Sets the variables that point a `happyhorse` child at this store.
    pub fn env(&self, command: &mut std::process::Command) {
        command
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", S3_KEY.1)
            .env("AWS_REGION", "us-east-1");
    }

    /// Multipart uploads begun and neither completed nor aborted.
    pub fn open_uploads(&self) -> usize {
        self.count(".upload-")
    }

    /// Parts those uploads hold.
    pub fn open_parts(&self) -> usize {
        self.count(".upload_id-")
    }

    fn count(&self, prefix: &str) -> usize {
        std::fs::read_dir(self.root.path())
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                    .count()
            })
            .unwrap_or(0)
    }
}

#[cfg(feature = "store")]
impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's S3 server (PyPI `moto[server]`) on a loopback port with the bucket `videos`: it
/// lists open multipart uploads, which s3s-fs does not; it checks no signature. Objects above
/// 1 MiB spill to temporary files rather than its memory. Killed when dropped.
#[cfg(feature = "store")]
pub struct Moto {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    http: reqwest::Client,
}

#[cfg(feature = "store")]
impl Moto {
    /// Starts `python3 -m moto.server`.
    pub async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", "1048576")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto: pip install 'moto[server]'");
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        let made = moto
            .http
            .put(format!("{}/videos", moto.endpoint))
            .send()
            .await
            .expect("bucket");
        assert!(made.status().is_success(), "bucket: {}", made.status());
        moto
    }

    /// Sets the variables that point a `happyhorse` child at this store.
    pub fn env(&self, command: &mut std::process::Command) {
        command
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", S3_KEY.0)
            .env("AWS_SECRET_ACCESS_KEY", S3_KEY.1)
            .env("AWS_REGION", "us-east-1");
    }

    async fn text(&self, query: &str) -> String {
        self.http
            .get(format!("{}/videos?{query}", self.endpoint))
            .send()
            .await
            .expect("moto answers")
            .text()
            .await
            .expect("its answer")
    }

    /// Multipart uploads begun and neither completed nor aborted.
    pub async fn open_uploads(&self) -> usize {
        self.text("uploads").await.matches("<Upload>").count()
    }

    /// The keys under `prefix`.
    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        loop {
            let after = keys.last().cloned().unwrap_or_default();
            let page = self
                .text(&format!("list-type=2&prefix={prefix}&start-after={after}"))
                .await;
            let found: Vec<String> = page
                .split("<Key>")
                .skip(1)
                .filter_map(|k| Some(k.split_once("</Key>")?.0.to_owned()))
                .collect();
            if found.is_empty() {
                return keys;
            }
            keys.extend(found);
        }
    }

    /// The object `key`'s bytes, if it exists.
    pub async fn object(&self, key: &str) -> Option<bytes::Bytes> {
        let answer = self
            .http
            .get(format!("{}/videos/{key}", self.endpoint))
            .send()
            .await
            .ok()?;
        if !answer.status().is_success() {
            return None;
        }
        answer.bytes().await.ok()
    }
}

#[cfg(feature = "store")]
impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
