//! What a batch will cost, counted before anything is submitted, and the caps on it.

use std::collections::{BTreeMap, HashSet};

use super::{Batch, BatchJob, Plan};
use crate::{
    ledger::{Committed, CommittedRow, Job, JobState, NewJob},
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

/// What one job not yet submitted will cost: provider, resolution, seconds, credits.
type Cost<'a> = (Provider, &'a str, u32, Option<u64>);

/// Jobs not yet submitted, counted by provider and resolution.
fn to_go<'a>(jobs: impl Iterator<Item = Cost<'a>>) -> Committed {
    let mut rows: BTreeMap<(Provider, &str), CommittedRow> = BTreeMap::new();
    for (provider, resolution, seconds, credits) in jobs {
        let row = rows
            .entry((provider, resolution))
            .or_insert_with(|| CommittedRow {
                provider,
                resolution: resolution.to_owned(),
                jobs: 0,
                video_seconds: 0,
                credits: credits.map(|_| 0),
            });
        row.jobs += 1;
        row.video_seconds = row.video_seconds.saturating_add(u64::from(seconds));
        row.credits = match (row.credits, credits) {
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
    // Every new job's file can be saved: checked before anything is recorded or paid for.
    super::outdir::check(
        &batch.out_dir,
        &batch.ledger.local_files(),
        jobs.iter()
            .filter(|job| !known.contains(job.id.as_str()))
            .map(|job| (label(job.line, &job.id), job.output.as_str())),
    )?;
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
    // Left to submit: the ledger's queued jobs (this file's and earlier ones) and the new ones.
    let queued = recorded
        .iter()
        .filter(|job| job.state == JobState::Queued)
        .map(|job| {
            (
                job.provider,
                job.resolution.as_str(),
                job.video_seconds,
                job.credits,
            )
        });
    let fresh = new
        .iter()
        .filter(|job| !known.contains(job.id.as_str()))
        .map(|job| {
            (
                job.provider,
                job.resolution.as_str(),
                job.video_seconds,
                job.credits,
            )
        });
    let committed = batch.ledger.summary().await?.committed;
    let to_go = to_go(queued.chain(fresh));
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

fn label(line: u64, id: &str) -> String {
    match line {
        0 => id.to_owned(),
        line => format!("line {line}: {id}"),
    }
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

fn conflicts(recorded: &[Job], new: &[NewJob]) -> Vec<String> {
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
