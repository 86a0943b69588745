//! `results.jsonl`: one line per job, what a team's next step reads.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{
    ledger::{Job, JobState},
    Error, Provider,
};

/// The results file's name in the output directory.
pub const RESULTS_FILE: &str = "results.jsonl";

/// One job's result. No output URL: it is signed, and short-lived.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResultRow {
    /// The job id.
    pub id: String,
    /// The line of the jobs file it came from.
    pub line: Option<u64>,
    /// Where it stands (`downloaded` when the file is in place).
    pub state: JobState,
    /// The provider.
    pub provider: Provider,
    /// The provider's task id.
    pub task_id: Option<String>,
    /// The saved MP4 (downloaded jobs only).
    pub file: Option<PathBuf>,
    /// Its size.
    pub bytes: Option<u64>,
    /// Its SHA-256, lower-case hex.
    pub sha256: Option<String>,
    /// The ETag the object store gave it (a video saved into a store); left out otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// The version the object store gave it, where the bucket keeps versions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object_version: Option<String>,
    /// What went wrong, and what to do, for jobs that are not downloaded.
    pub error: Option<String>,
    /// What to do next about the job, where its caller knows (the command line fills it
    /// with the command to run); left out of the file when empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// The rows for `jobs`, with files under `out_dir`.
pub fn results_rows(jobs: &[Job], out_dir: &Path) -> Vec<ResultRow> {
    jobs.iter()
        .map(|job| {
            let done = job.state == JobState::Downloaded;
            ResultRow {
                id: job.id.clone(),
                line: job.line,
                state: job.state,
                provider: job.provider,
                task_id: job.task_id.clone(),
                file: done.then(|| {
                    job.file
                        .clone()
                        .unwrap_or_else(|| out_dir.join(&job.output_name))
                }),
                bytes: job.bytes.filter(|_| done),
                sha256: job.sha256.clone().filter(|_| done),
                e_tag: job.e_tag.clone().filter(|_| done),
                object_version: job.object_version.clone().filter(|_| done),
                error: if done { None } else { job.error.clone() },
                next: None,
            }
        })
        .collect()
}

/// Writes `out_dir/results.jsonl` for `rows` (see [`results_rows`]) (to a temporary file, made durable, then renamed
/// over the old one, so a reader never sees half a file). Returns its path. A failed write
/// leaves no partial file behind, and nothing is written through a symbolic link.
pub async fn write_results(rows: &[ResultRow], out_dir: &Path) -> Result<PathBuf, Error> {
    let mut text = String::new();
    for row in rows {
        let line = serde_json::to_string(row).map_err(|err| Error::Worker {
            message: format!("cannot write a result: {err}"),
        })?;
        text.push_str(&line);
        text.push('\n');
    }
    let out_dir = out_dir.to_path_buf();
    tokio::task::spawn_blocking(move || write_atomically(&out_dir, text.as_bytes()))
        .await
        .map_err(|join| Error::Worker {
            message: format!("writing the results stopped: {join}"),
        })?
}

fn write_atomically(out_dir: &Path, bytes: &[u8]) -> Result<PathBuf, Error> {
    use std::io::Write;
    let path = out_dir.join(RESULTS_FILE);
    // Named for this process: two writers never share a partial file.
    let partial = out_dir.join(format!(".{RESULTS_FILE}.{}.part", std::process::id()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    // A partial file of this name is a crashed earlier process's (same pid): start over.
    if crate::files::is_symlink(&partial) || partial.exists() {
        std::fs::remove_file(&partial).map_err(io(&partial))?;
    }
    let written = crate::files::open_append(&partial).and_then(|(mut file, _)| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(source) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Io {
            path: partial,
            source,
        });
    }
    if let Err(source) = std::fs::rename(&partial, &path) {
        let _ = std::fs::remove_file(&partial);
        return Err(Error::Io { path, source });
    }
    Ok(path)
}
