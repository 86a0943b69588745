//! What a batch will cost, counted before anything is submitted, and the caps on it.

use std::collections::{BTreeMap, HashMap};

use super::{
    retry::{retry_of, RetryClass},
    Batch, BatchJob, Plan, Retries,
};
pub use crate::ledger::Budget;
use crate::{
    ledger::{Committed, CommittedRow, Enqueued, Job, JobState, NewJob},
    Error, Provider,
};

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
    let out = super::outdir::OutDir::open(&batch.out_dir, &batch.ledger.local_files())?;
    let checked = check_each(batch, out, &jobs).await?;
    let (to_go, committed) = (checked.to_go, checked.committed);
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut enqueued = Enqueued::default();
    let record = |chunk: &[BatchJob]| {
        let new: Vec<NewJob> = chunk.iter().map(BatchJob::to_new_job).collect();
        let ids: Vec<String> = chunk.iter().map(|job| job.id.clone()).collect();
        async move {
            let enqueued = batch.ledger.enqueue(&new).await?;
            let classes = &batch.options.retry_failed;
            if !classes.is_empty() {
                let retries: Vec<_> = batch
                    .ledger
                    .jobs_by_id(&ids)
                    .await?
                    .iter()
                    .filter_map(|job| retry_of(job, classes))
                    .collect();
                batch.ledger.retry(&retries).await?;
            }
            Ok::<_, Error>(enqueued)
        }
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
        retries: checked.retries,
    })
}

/// What the first reading of a plan found: every check passed.
struct Checked {
    to_go: Committed,
    committed: Committed,
    new: u64,
    existing: u64,
    retries: Retries,
}

/// The first reading of a plan: every check, and the budget, with nothing written.
async fn check_each<I, F>(
    batch: &Batch,
    out: super::outdir::OutDir,
    jobs: &F,
) -> Result<Checked, Error>
where
    F: Fn() -> I,
    I: Iterator<Item = Result<BatchJob, Error>>,
{
    let mut check = Check::new(out);
    let mut chunk = Vec::with_capacity(CHUNK);
    for job in jobs() {
        chunk.push(job?);
        if chunk.len() == CHUNK {
            check.chunk(batch, &chunk).await?;
            chunk.clear();
        }
    }
    check.chunk(batch, &chunk).await?;
    let existing = check.existing;
    let retries = Retries {
        classes: check.retried.clone().into_iter().collect(),
        cost: std::mem::take(&mut check.retry_cost).into_committed(),
        left_failed: check.still_failed,
    };
    let fresh = check.finish()?;
    let new = fresh.rows.iter().map(|row| row.jobs).sum();
    let committed = batch.ledger.summary().await?.committed;
    // Left to submit: the ledger's queued jobs (this file's and earlier ones), the new ones,
    // and the failed ones tried again.
    let to_go = merged(
        merged(batch.ledger.queued().await?, fresh),
        retries.cost.clone(),
    );
    batch.options.budget.check(&committed, &to_go)?;
    Ok(Checked {
        to_go,
        committed,
        new,
        existing,
        retries,
    })
}

/// [`plan_each`]'s first reading alone: every check, the budget and the cost, with nothing
/// written (the output directory is looked at, not created or probed); `enqueued` counts what
/// recording would insert and find.
pub(super) async fn dry_run_each<I, F>(batch: &Batch, jobs: F) -> Result<Plan, Error>
where
    F: Fn() -> I,
    I: Iterator<Item = Result<BatchJob, Error>>,
{
    let out = super::outdir::OutDir::inspect(&batch.out_dir, &batch.ledger.local_files())?;
    let checked = check_each(batch, out, &jobs).await?;
    let mut providers: std::collections::BTreeSet<Provider> =
        checked.to_go.rows.iter().map(|row| row.provider).collect();
    providers.extend(batch.ledger.claimable_providers().await?);
    if let Some(missing) = providers.iter().find(|p| !batch.clients.contains_key(p)) {
        return Err(Error::MissingApiKey { provider: *missing });
    }
    Ok(Plan {
        enqueued: Enqueued {
            inserted: checked.new,
            existing: checked.existing,
            conflicts: Vec::new(),
        },
        to_go: checked.to_go,
        committed: checked.committed,
        retries: checked.retries,
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
    /// Jobs of the stream the ledger already holds.
    existing: u64,
    /// Its failed jobs to try again, by class, and what the new tasks cost.
    retried: BTreeMap<RetryClass, u64>,
    retry_cost: Tally,
    /// Its failed jobs left failed (not of the classes asked for, or a task may exist).
    still_failed: u64,
    conflicts: Vec<String>,
    conflicts_total: usize,
    unsavable: Vec<String>,
    unsavable_total: usize,
    taken: Vec<String>,
    taken_total: usize,
}

impl Check {
    fn new(out: super::outdir::OutDir) -> Check {
        Check {
            out,
            fresh: Tally::default(),
            existing: 0,
            retried: BTreeMap::new(),
            retry_cost: Tally::default(),
            still_failed: 0,
            conflicts: Vec::new(),
            conflicts_total: 0,
            unsavable: Vec::new(),
            unsavable_total: 0,
            taken: Vec::new(),
            taken_total: 0,
        }
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
                    self.existing = self.existing.saturating_add(1);
                    let same = old.provider == job.provider
                        && crate::client::canonical_json(&old.body)
                            == crate::client::canonical_json(&job.body);
                    if !same {
                        note(&mut self.conflicts, &mut self.conflicts_total, label);
                    } else if let Some(class) = RetryClass::of(old)
                        .filter(|class| batch.options.retry_failed.contains(class))
                    {
                        *self.retried.entry(class).or_default() += 1;
                        if class.submits() {
                            self.retry_cost.add(
                                old.provider,
                                &old.resolution,
                                old.video_seconds,
                                old.credits,
                            );
                        }
                    } else if matches!(old.state, JobState::Failed | JobState::Expired) {
                        self.still_failed = self.still_failed.saturating_add(1);
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
