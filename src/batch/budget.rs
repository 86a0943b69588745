//! What a batch will cost, counted before anything is submitted, and the caps on it.

use std::collections::{BTreeMap, HashSet};

use super::{Batch, BatchJob, Plan};
use crate::{
    ledger::{Committed, CommittedRow, Job, JobState},
    Error, Provider,
};

/// Caps on what a batch may commit (counting what the ledger already committed: a job counts
/// from its first submit, whatever became of it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    /// Credits, where the provider documents a price (Apiframe). A batch with jobs on a
    /// provider that documents none is refused under this cap: its cost cannot be counted.
    pub max_credits: Option<u64>,
    /// Seconds of video, all providers.
    pub max_video_seconds: Option<u64>,
}

impl Budget {
    /// Whether any cap is set.
    pub fn is_capped(&self) -> bool {
        self.max_credits.is_some() || self.max_video_seconds.is_some()
    }

    /// Refuses when `committed` plus `to_go` goes past a cap.
    pub fn check(&self, committed: &Committed, to_go: &Committed) -> Result<(), Error> {
        if let Some(cap) = self.max_video_seconds {
            let (done, more) = (committed.video_seconds(), to_go.video_seconds());
            if done.saturating_add(more) > cap {
                return Err(Error::OverBudget {
                    message: format!(
                        "the batch needs {more} s of video and {done} s are committed already, past --max-video-seconds {cap}; remove jobs or raise the cap"
                    ),
                });
            }
        }
        if let Some(cap) = self.max_credits {
            let unpriced: Vec<String> = to_go
                .rows
                .iter()
                .filter(|row| row.credits.is_none())
                .map(|row| row.provider.to_string())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !unpriced.is_empty() {
                return Err(Error::OverBudget {
                    message: format!(
                        "--max-credits cannot be enforced on {}: no documented price; cap with --max-video-seconds instead",
                        unpriced.join(", ")
                    ),
                });
            }
            let (done, more) = (committed.credits(), to_go.credits());
            if done.saturating_add(more) > cap {
                return Err(Error::OverBudget {
                    message: format!(
                        "the batch needs {more} credits and {done} are committed already, past --max-credits {cap}; remove jobs or raise the cap"
                    ),
                });
            }
        }
        Ok(())
    }
}

/// The not-yet-submitted jobs, by provider and resolution.
pub(super) fn to_go(jobs: &[Job]) -> Committed {
    let mut rows: BTreeMap<(Provider, String), CommittedRow> = BTreeMap::new();
    for job in jobs.iter().filter(|job| job.state == JobState::Queued) {
        let row = rows
            .entry((job.provider, job.resolution.clone()))
            .or_insert_with(|| CommittedRow {
                provider: job.provider,
                resolution: job.resolution.clone(),
                jobs: 0,
                video_seconds: 0,
                credits: job.credits.map(|_| 0),
            });
        row.jobs += 1;
        row.video_seconds = row
            .video_seconds
            .saturating_add(u64::from(job.video_seconds));
        row.credits = match (row.credits, job.credits) {
            (Some(sum), Some(credits)) => Some(sum.saturating_add(credits)),
            _ => None,
        };
    }
    Committed {
        rows: rows.into_values().collect(),
    }
}

pub(super) async fn plan(batch: &Batch, jobs: &[BatchJob]) -> Result<Plan, Error> {
    let recorded = batch.ledger.jobs().await?;
    let known: HashSet<&str> = recorded.iter().map(|job| job.id.as_str()).collect();
    // A new job's file name must be free: later runs overwrite it with the job's video.
    let taken: Vec<String> = jobs
        .iter()
        .filter(|job| !known.contains(job.id.as_str()))
        .filter(|job| batch.out_dir.join(&job.output).exists())
        .map(|job| match job.line {
            0 => job.output.clone(),
            line => format!("line {line}: {}", job.output),
        })
        .collect();
    if !taken.is_empty() {
        return Err(Error::Config {
            message: format!(
                "{} already exist{} in {} and no job of this ledger made {}: move {} or choose other `output` names",
                taken.join(", "),
                if taken.len() == 1 { "s" } else { "" },
                batch.out_dir.display(),
                if taken.len() == 1 { "it" } else { "them" },
                if taken.len() == 1 { "it" } else { "them" },
            ),
        });
    }
    let new: Vec<_> = jobs.iter().map(BatchJob::to_new_job).collect();
    // Conflicts are checked (and refused) before anything is recorded.
    let conflicts = conflicts(&recorded, &new);
    if !conflicts.is_empty() {
        return Err(Error::JobConflict { jobs: conflicts });
    }
    let mut would_be = recorded.clone();
    for job in &new {
        if !known.contains(job.id.as_str()) {
            would_be.push(Job {
                id: job.id.clone(),
                seq: 0,
                line: job.line,
                provider: job.provider,
                body: job.body.clone(),
                idempotency_key: job.idempotency_key.clone(),
                resolution: job.resolution.clone(),
                video_seconds: job.video_seconds,
                credits: job.credits,
                output_name: job.output_name.clone(),
                state: JobState::Queued,
                attempts: 0,
                task_id: None,
                status: None,
                output: None,
                file: None,
                bytes: None,
                sha256: None,
                error: None,
                created_at: chrono::Utc::now(),
                updated_at: chrono::Utc::now(),
                submitted_at: None,
                task_seconds: None,
                lease: None,
            });
        }
    }
    let committed = batch.ledger.summary().await?.committed;
    let to_go = to_go(&would_be);
    batch.options.budget.check(&committed, &to_go)?;
    let enqueued = batch.ledger.enqueue(&new).await?;
    if !enqueued.conflicts.is_empty() {
        return Err(Error::JobConflict {
            jobs: describe_conflicts(&enqueued.conflicts),
        });
    }
    Ok(Plan {
        enqueued,
        to_go,
        committed,
    })
}

fn describe_conflicts(conflicts: &[(String, Option<u64>)]) -> Vec<String> {
    conflicts
        .iter()
        .map(|(id, line)| match line {
            Some(line) => format!("line {line}: {id}"),
            None => id.clone(),
        })
        .collect()
}

fn conflicts(recorded: &[Job], new: &[crate::ledger::NewJob]) -> Vec<String> {
    let by_id: std::collections::HashMap<&str, &Job> =
        recorded.iter().map(|job| (job.id.as_str(), job)).collect();
    let found: Vec<(String, Option<u64>)> = new
        .iter()
        .filter(|job| {
            by_id.get(job.id.as_str()).is_some_and(|old| {
                old.provider != job.provider
                    || crate::client::canonical_json(&old.body)
                        != crate::client::canonical_json(&job.body)
            })
        })
        .map(|job| (job.id.clone(), job.line))
        .collect();
    describe_conflicts(&found)
}
