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
    /// What went wrong, and what to do, for jobs that are not downloaded.
    pub error: Option<String>,
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
                error: if done { None } else { job.error.clone() },
            }
        })
        .collect()
}

/// Writes `out_dir/results.jsonl` for `jobs` (to a temporary file, then renamed over the old
/// one, so a reader never sees half a file). Returns its path.
pub async fn write_results(jobs: &[Job], out_dir: &Path) -> Result<PathBuf, Error> {
    let mut text = String::new();
    for row in results_rows(jobs, out_dir) {
        let line = serde_json::to_string(&row).map_err(|err| Error::Ledger {
            message: format!("cannot write a result: {err}"),
        })?;
        text.push_str(&line);
        text.push('\n');
    }
    let path = out_dir.join(RESULTS_FILE);
    // Named for this process: two writers never share a partial file.
    let partial = out_dir.join(format!(".{RESULTS_FILE}.{}.part", std::process::id()));
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    tokio::fs::create_dir_all(out_dir)
        .await
        .map_err(io(out_dir))?;
    tokio::fs::write(&partial, text)
        .await
        .map_err(io(&partial))?;
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(io(&path))?;
    Ok(path)
}
