//! What a batch will cost, counted before anything is submitted, and the caps on it.

use std::collections::{BTreeMap, HashMap};

use super::{Batch, BatchJob, Plan};
use crate::{
    ledger::{Committed, CommittedRow, Enqueued, Job, NewJob},
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

/// Jobs looked at (and later recorded) at a time: what planning holds in memory besides the
/// ids of the file.
const CHUNK: usize = 1000;
/// The most problems of one kind a refusal names (it always gives the count).
const NAMED: usize = 50;

pub(super) async fn plan(batch: &Batch, jobs: &[BatchJob]) -> Result<Plan, Error> {
    plan_each(batch, || jobs.iter().cloned().map(Ok)).await
}

/// Plans jobs read from a stream that `jobs` starts (again) on each call: a first reading
/// checks and counts, looking jobs up in the ledger a chunk at a time and writing nothing; a
/// second records them, a chunk per transaction, once every check and the budget passed. Memory
/// stays bounded by the chunk, whatever the number of jobs.
pub(super) async fn plan_each<I, F>(batch: &Batch, jobs: F) -> Result<Plan, Error>
where
    F: Fn() -> I,
    I: Iterator<Item = Result<BatchJob, Error>>,
{
    let mut check = Check::new(batch)?;
    let mut chunk = Vec::with_capacity(CHUNK);
    for job in jobs() {
        chunk.push(job?);
        if chunk.len() == CHUNK {
            check.chunk(batch, &chunk).await?;
            chunk.clear();
        }
    }
    check.chunk(batch, &chunk).await?;
    chunk.clear();
    let fresh = check.finish()?;
    let committed = batch.ledger.summary().await?.committed;
    // Left to submit: the ledger's queued jobs (this file's and earlier ones) and the new ones.
    let to_go = merged(batch.ledger.queued().await?, fresh);
    batch.options.budget.check(&committed, &to_go)?;
    let mut enqueued = Enqueued::default();
    let record = |chunk: &[BatchJob]| {
        let new: Vec<NewJob> = chunk.iter().map(BatchJob::to_new_job).collect();
        async move { batch.ledger.enqueue(&new).await }
    };
    for job in jobs() {
        chunk.push(job?);
        if chunk.len() == CHUNK {
            add(&mut enqueued, record(&chunk).await?);
            chunk.clear();
        }
    }
    add(&mut enqueued, record(&chunk).await?);
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

fn add(total: &mut Enqueued, more: Enqueued) {
    total.inserted += more.inserted;
    total.existing += more.existing;
    total.conflicts.extend(more.conflicts);
}

/// The checks of a plan, a chunk of jobs at a time: nothing recorded, every problem found.
struct Check {
    out: super::outdir::OutDir,
    fresh: Tally,
    conflicts: Vec<String>,
    conflicts_total: usize,
    unsavable: Vec<String>,
    unsavable_total: usize,
    taken: Vec<String>,
    taken_total: usize,
}

impl Check {
    fn new(batch: &Batch) -> Result<Check, Error> {
        Ok(Check {
            out: super::outdir::OutDir::open(&batch.out_dir, &batch.ledger.local_files())?,
            fresh: Tally::default(),
            conflicts: Vec::new(),
            conflicts_total: 0,
            unsavable: Vec::new(),
            unsavable_total: 0,
            taken: Vec::new(),
            taken_total: 0,
        })
    }

    async fn chunk(&mut self, batch: &Batch, jobs: &[BatchJob]) -> Result<(), Error> {
        if jobs.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = jobs.iter().map(|job| job.id.clone()).collect();
        let recorded: HashMap<String, Job> = batch
            .ledger
            .jobs_by_id(&ids)
            .await?
            .into_iter()
            .map(|job| (job.id.clone(), job))
            .collect();
        for job in jobs {
            let label = label(job.line, &job.id);
            match recorded.get(&job.id) {
                // Known: the same request, or a conflict (refused before anything is recorded).
                Some(old) => {
                    let same = old.provider == job.provider
                        && crate::client::canonical_json(&old.body)
                            == crate::client::canonical_json(&job.body);
                    if !same {
                        note(&mut self.conflicts, &mut self.conflicts_total, label);
                    }
                }
                None => {
                    // Its file can be saved, and its name is free: later runs overwrite it
                    // with the job's video.
                    if let Some(why) = self.out.problem(&job.output) {
                        note(
                            &mut self.unsavable,
                            &mut self.unsavable_total,
                            format!("{label}: {why}"),
                        );
                    } else if batch.out_dir.join(&job.output).exists() {
                        let shown = match job.line {
                            0 => job.output.clone(),
                            line => format!("line {line}: {}", job.output),
                        };
                        note(&mut self.taken, &mut self.taken_total, shown);
                    }
                    self.fresh.add(
                        job.provider,
                        job.resolution.as_str(),
                        job.video_seconds,
                        job.credits(),
                    );
                }
            }
        }
        Ok(())
    }

    /// The refusal for what was found, or what the new jobs will cost.
    fn finish(self) -> Result<Committed, Error> {
        if self.conflicts_total > 0 {
            let mut jobs = self.conflicts;
            let more = self.conflicts_total.saturating_sub(jobs.len());
            if more > 0 {
                jobs.push(format!("and {more} more"));
            }
            return Err(Error::JobConflict { jobs });
        }
        if self.unsavable_total > 0 {
            return Err(self.out.refusal(&self.unsavable, self.unsavable_total));
        }
        if self.taken_total > 0 {
            let n = self.taken_total;
            let more = n.saturating_sub(self.taken.len());
            return Err(Error::Config {
                message: format!(
                    "{}{} already exist{} in the output directory and no job of this ledger made {}: move {} or choose other `output` names",
                    self.taken.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() },
                    if n == 1 { "s" } else { "" },
                    if n == 1 { "it" } else { "them" },
                    if n == 1 { "it" } else { "them" },
                ),
            });
        }
        Ok(self.fresh.into_committed())
    }
}

/// Keeps the first [`NAMED`] of a kind of problem, and counts them all.
fn note(kept: &mut Vec<String>, total: &mut usize, problem: String) {
    *total = total.saturating_add(1);
    if kept.len() < NAMED {
        kept.push(problem);
    }
}

/// Jobs, seconds and credits per provider and resolution, added up one job at a time.
#[derive(Default)]
struct Tally {
    rows: BTreeMap<(Provider, String), CommittedRow>,
}

impl Tally {
    fn add(&mut self, provider: Provider, resolution: &str, seconds: u32, credits: Option<u64>) {
        let row = self
            .rows
            .entry((provider, resolution.to_owned()))
            .or_insert_with(|| CommittedRow {
                provider,
                resolution: resolution.to_owned(),
                jobs: 0,
                video_seconds: 0,
                credits: Some(0),
            });
        row.jobs = row.jobs.saturating_add(1);
        row.video_seconds = row.video_seconds.saturating_add(u64::from(seconds));
        row.credits = match (row.credits, credits) {
            (Some(sum), Some(credits)) => Some(sum.saturating_add(credits)),
            _ => None,
        };
    }

    fn into_committed(self) -> Committed {
        Committed {
            rows: self.rows.into_values().collect(),
        }
    }
}

/// Two counts of jobs added up by provider and resolution (credits only where both are priced).
fn merged(a: Committed, b: Committed) -> Committed {
    let mut tally = Tally::default();
    for row in a.rows.into_iter().chain(b.rows) {
        let entry = tally
            .rows
            .entry((row.provider, row.resolution.clone()))
            .or_insert_with(|| CommittedRow {
                jobs: 0,
                video_seconds: 0,
                credits: Some(0),
                ..row.clone()
            });
        entry.jobs = entry.jobs.saturating_add(row.jobs);
        entry.video_seconds = entry.video_seconds.saturating_add(row.video_seconds);
        entry.credits = match (entry.credits, row.credits) {
            (Some(sum), Some(credits)) => Some(sum.saturating_add(credits)),
            _ => None,
        };
    }
    tally.into_committed()
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
