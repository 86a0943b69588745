//! Working a ledger in short steps: a worker claims the jobs that are due, takes one step with
//! each ([`submit`], one [`poll`], or the [`save`]), records what it learnt together with when
//! the job is next due, and lets the job go. A job waiting on its task holds no worker slot and
//! no lease; the ledger, not this process's memory, knows what is waiting and when to look.
//!
//! [`claims`] holds the loop that claims due jobs and the heartbeat that renews the leases of
//! the jobs being worked; a lease that cannot be renewed, or was taken, stops this worker.

mod claims;
mod group;
mod poll;
mod save;
mod submit;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{
    polls::{History, PollerState, Window, HISTORY_PER_KIND},
    Batch, BatchOptions, BatchReport, JobChange, OnChange, Uncertain,
};
use crate::{
    ledger::{After, Job, JobState, Lease, Ledger, Transition},
    Client, Error, Provider,
};

/// Everything the steps of one run share.
pub(super) struct Run {
    ledger: Arc<dyn Ledger>,
    /// Where the steps' changes are written together.
    group: group::Group,
    clients: HashMap<Provider, Client>,
    out_dir: PathBuf,
    /// Where videos go instead of `out_dir`, when set.
    #[cfg(feature = "store")]
    store: Option<crate::store::Destination>,
    options: BatchOptions,
    owner: String,
    on_change: Option<OnChange>,
    cancel: CancellationToken,
    /// When this run began: tasks submitted before may be an earlier emulator's.
    started: DateTime<Utc>,
    history: Mutex<History>,
    /// The reconciliation deadline last applied to the ledger per kind of task.
    deadlines: Mutex<HashMap<(Provider, String, u32), f64>>,
    stop: Stop,
    leases: Leases,
    tally: Tally,
    /// Where counts and timings go (a private one when the batch was given none).
    metrics: crate::metrics::Metrics,
    /// When this run saw each job's task succeed (by a poll), for the time to its file.
    ended: Mutex<HashMap<String, std::time::Instant>>,
}

/// Why the run stopped submitting, or failed.
#[derive(Default)]
struct Stop {
    /// Set when a submit failed in a way every other would (credits, key, a full disk): no
    /// new submit starts; jobs already at the provider are still waited for and saved.
    submits: AtomicBool,
    why: Mutex<Option<String>>,
    /// A failure that ends the run (the ledger's, a lost lease): the first one is returned.
    failed: Mutex<Option<Error>>,
}

/// The leases this worker holds (jobs in a step), and the jobs it left for a later run.
#[derive(Default)]
struct Leases {
    held: Mutex<HashMap<String, i64>>,
    deferred: Mutex<Vec<(String, String)>>,
}

/// What the run did.
#[derive(Default)]
struct Tally {
    submits: AtomicU64,
    polls: AtomicU64,
    downloads: AtomicU64,
    heard: AtomicU64,
    reconciled: AtomicU64,
}

/// What a job's step keeps in the ledger between looks.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Kept {
    /// The poll plan so far.
    #[serde(default)]
    poller: PollerState,
    /// When (batch clock, since the submit) the last poll was made.
    #[serde(default)]
    last_poll: Option<f64>,
    /// Failures of the current step in a row (submits, polls or downloads).
    #[serde(default)]
    failures: u32,
    /// The submit's answer was a task an earlier submit under the same key had made.
    #[serde(default)]
    replayed: bool,
    /// The object-store upload of the video begun and not known to be finished: aborted
    /// before the next try (a crash mid-upload leaves nothing behind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    upload: Option<String>,
    /// That upload's parts are all sent, holding these bytes: if the object is there with
    /// them (its completion ran before a crash), it is not sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent: Option<SentVideo>,
}

/// The size and SHA-256 of a video whose upload's parts were all sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct SentVideo {
    bytes: u64,
    sha256: String,
}

impl Kept {
    fn of(job: &Job) -> Kept {
        job.step_state
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default()
    }

    fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub(super) async fn run(batch: &Batch) -> Result<BatchReport, Error> {
    let ledger = batch.ledger.clone();
    let owner = format!(
        "{}-{}-{:016x}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into()),
        std::process::id(),
        fastrand::u64(..)
    );
    ledger.begin_run(&owner).await?;
    match batch.options.uncertain {
        Uncertain::Report => 0,
        Uncertain::Resubmit => ledger.settle_uncertain(JobState::Queued).await?,
        Uncertain::Skip => ledger.settle_uncertain(JobState::Skipped).await?,
    };
    let providers = ledger.claimable_providers().await?;
    if let Some(missing) = providers.iter().find(|p| !batch.clients.contains_key(p)) {
        return Err(Error::MissingApiKey { provider: *missing });
    }
    // The output directory still takes files (it may have changed since the plan, which
    // checked every name): proven before the first submit.
    super::outdir::OutDir::open(&batch.out_dir, &ledger.local_files())?;
    let resumed = ledger.resume_deferred().await?;
    if resumed > 0 {
        tracing::info!(resumed, "took up the jobs an earlier run left");
    }
    if let Some(keep) = batch.options.event_retention {
        let before = Utc::now() - chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
        ledger.prune_events(before).await?;
    }
    let history = History::from_ledger(
        ledger
            .task_times(u32::try_from(HISTORY_PER_KIND).unwrap_or(u32::MAX))
            .await?,
    );
    let run = Arc::new(Run {
        ledger: ledger.clone(),
        group: group::Group::start(ledger.clone()),
        clients: batch.clients.clone(),
        out_dir: batch.out_dir.clone(),
        #[cfg(feature = "store")]
        store: batch.store.clone(),
        options: batch.options.clone(),
        owner,
        on_change: batch.on_change.clone(),
        // The user's token stops the run; so does a ledger failure, which cancels only this
        // run's child token (the caller's token still tells an interrupt apart).
        cancel: batch.cancel.child_token(),
        started: Utc::now(),
        history: Mutex::new(history),
        deadlines: Mutex::new(HashMap::new()),
        stop: Stop::default(),
        leases: Leases::default(),
        tally: Tally::default(),
        metrics: batch.metrics.clone().unwrap_or_default(),
        ended: Mutex::new(HashMap::new()),
    });
    run.metrics.watch_clients(batch.clients.values().cloned());
    claims::work(&run).await?;
    let deferred = std::mem::take(&mut *lock(&run.leases.deferred));
    let stopped = lock(&run.stop.why).clone();
    let count = |n: &AtomicU64| n.load(Ordering::Relaxed);
    Ok(BatchReport {
        summary: ledger.summary().await?,
        deferred,
        stopped,
        submits: count(&run.tally.submits),
        polls: count(&run.tally.polls),
        downloads: count(&run.tally.downloads),
        heard: count(&run.tally.heard),
        reconciled: count(&run.tally.reconciled),
    })
}

impl Run {
    /// Counts a retry the batch itself makes of a job's step (`job_submit`, `job_download`).
    fn retried(&self, operation: &'static str, reason: &str) {
        self.metrics.count(
            "happyhorse_retries_total",
            &[("operation", operation), ("reason", reason)],
            1,
        );
    }

    /// Counts a video saved (`bytes` long) and times it from its task's end: the poll this run
    /// saw it succeed with, else the ledger's record of the end (a poll of an earlier run, or
    /// a callback's), so a save a rerun finishes counts the time between runs too.
    fn saved(&self, job: &Job, bytes: u64) {
        self.tally.downloads.fetch_add(1, Ordering::Relaxed);
        self.metrics.count("happyhorse_downloads_total", &[], 1);
        self.metrics
            .count("happyhorse_download_bytes_total", &[], bytes);
        let polled = lock(&self.ended).remove(&job.id);
        let seconds = match (polled, job.finished_at.or(job.heard_at)) {
            (Some(at), _) => Some(at.elapsed().as_secs_f64()),
            (None, Some(ended)) => Utc::now()
                .signed_duration_since(ended)
                .to_std()
                .ok()
                .map(|d| d.as_secs_f64()),
            (None, None) => None,
        };
        if let Some(seconds) = seconds {
            self.metrics.completion_to_file(seconds);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Batch-clock seconds after the submit at which a callback job with no history is polled.
const RECONCILE_WITHOUT_HISTORY: f64 = 300.0;
/// At least this long (batch clock) past the latest end in the history before a callback job
/// is polled.
const RECONCILE_GRACE: f64 = 30.0;

/// When (batch-clock seconds after its submit) a job waiting on a callback is polled: well
/// past the latest end its history knows.
fn reconcile_after(window: Option<Window>) -> f64 {
    window.map_or(RECONCILE_WITHOUT_HISTORY, |w| {
        (w.hi * 1.2).max(w.hi + RECONCILE_GRACE)
    })
}

/// The runner's own second chances, after the client's retries ran out: a few minutes of
/// backoff before a job is left for a later run.
fn job_retries() -> crate::retry::RetryPolicy {
    crate::retry::RetryPolicy::default()
        .with_max_retries(4)
        .with_backoff(Duration::from_secs(2), Duration::from_secs(30))
}

impl Run {
    /// Where this run saves videos: the object store's URL, or the output directory.
    fn destination(&self) -> String {
        #[cfg(feature = "store")]
        if let Some(store) = &self.store {
            return store.shown("").trim_end_matches('/').to_owned();
        }
        self.out_dir.display().to_string()
    }

    /// Records `change` on the job `lease` holds, then keeps it or lets it go as `after`
    /// says; reports a change of state.
    async fn record(
        &self,
        lease: &Lease,
        from: &Job,
        change: Transition,
        after: After,
    ) -> Result<Job, Error> {
        let lets_go = after.due.is_some() || change.releases();
        let written = async {
            if group::Group::takes(&change) {
                self.group.step(lease, change, after).await
            } else {
                self.ledger.step(lease, change, after).await
            }
        };
        let job = self.letting_go(lease, lets_go, written).await?;
        if job.state != from.state {
            self.report(&job, from.state);
        }
        Ok(job)
    }

    /// Gives the job back (its state stays), unwatched first (see [`Run::unwatch`]).
    async fn release(&self, lease: &Lease) -> Result<(), Error> {
        self.letting_go(lease, true, self.ledger.release(lease))
            .await
    }

    /// Runs `write`, which lets the job go when `lets_go`: the lease is unwatched before it,
    /// and watched again if it fails (the job is still held).
    async fn letting_go<T>(
        &self,
        lease: &Lease,
        lets_go: bool,
        write: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let unwatched = lets_go && self.unwatch(lease);
        let written = write.await;
        if written.is_err() && unwatched {
            self.watch(lease);
        }
        written
    }

    /// Puts `lease` on the list of leases the heartbeat checks its renewals against.
    fn watch(&self, lease: &Lease) {
        lock(&self.leases.held).insert(lease.job.clone(), lease.fence);
    }

    /// Takes `lease` off that list, before the write that lets its job go: so the heartbeat
    /// never mistakes a job just let go (or claimed since by another worker) for a lease taken
    /// while in use. Returns whether it was on it (it goes back if the write fails).
    fn unwatch(&self, lease: &Lease) -> bool {
        let mut held = lock(&self.leases.held);
        let watched = held.get(&lease.job) == Some(&lease.fence);
        if watched {
            held.remove(&lease.job);
        }
        watched
    }

    /// [`Run::record`], keeping the job.
    async fn apply(&self, lease: &Lease, from: &Job, change: Transition) -> Result<Job, Error> {
        self.record(lease, from, change, After::hold()).await
    }

    fn report(&self, job: &Job, from: JobState) {
        if let Some(on_change) = &self.on_change {
            on_change(&JobChange { job, from });
        }
    }

    /// Leaves the job for a later run, with why: it is let go, due to no worker until a run
    /// puts it back (no worker waits for it either).
    async fn defer(&self, lease: &Lease, job: &Job, why: String) -> Result<(), Error> {
        tracing::info!(job = %lease.job, why = %why, "left for a later run");
        let note = Transition::Note { error: why.clone() };
        self.record(lease, job, note, After::deferred()).await?;
        lock(&self.leases.deferred).push((lease.job.clone(), why));
        Ok(())
    }

    /// Against an emulator whose tasks end with its process: a task it does not know (an
    /// earlier process's) goes back to the queue, to be submitted again.
    async fn lost_with_its_emulator(&self, lease: &Lease, job: &Job) -> Result<(), Error> {
        let error = format!(
            "{} task {} ended with the emulator that held it; submitted again (nothing was paid)",
            job.provider,
            job.task_id.as_deref().unwrap_or("?")
        );
        let due = After::until(Utc::now());
        self.record(lease, job, Transition::Lost { error }, due)
            .await?;
        Ok(())
    }

    fn stop_submitting(&self, why: String) {
        if !self.stop.submits.swap(true, Ordering::SeqCst) {
            tracing::error!(why = %why, "no further submits this run");
            *lock(&self.stop.why) = Some(why);
        }
    }

    fn submits_stopped(&self) -> Option<String> {
        self.stop
            .submits
            .load(Ordering::SeqCst)
            .then(|| lock(&self.stop.why).clone().unwrap_or_default())
    }

    /// Ends the run with `err` (the first failure wins): nothing more is claimed or sent.
    fn fail(&self, err: Error) {
        lock(&self.stop.failed).get_or_insert(err);
        self.cancel.cancel();
    }

    /// How much faster than real time the batch's clock runs (1 unless a usable scale is set).
    fn scale(&self) -> f64 {
        let scale = self.options.time_scale;
        if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        }
    }

    /// Real time for `seconds` on the batch's clock.
    fn real(&self, seconds: f64) -> Duration {
        Duration::try_from_secs_f64(seconds.max(0.0) / self.scale())
            .unwrap_or(Duration::from_secs(1))
    }

    /// Seconds on the batch's clock since `since`.
    fn elapsed_since(&self, since: DateTime<Utc>) -> f64 {
        let real = Utc::now()
            .signed_duration_since(since)
            .to_std()
            .unwrap_or_default();
        real.as_secs_f64() * self.scale()
    }

    /// The time `delay` (real) from now.
    fn due_in(delay: Duration) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX)
    }

    /// The history's window for `job`'s kind of task.
    fn window(&self, job: &Job) -> Option<Window> {
        lock(&self.history).window(job.provider, &job.resolution, job.video_seconds)
    }

    /// Learns how long a task of `job`'s kind took, and brings forward the reconciliation of
    /// the callbacks of that kind still awaited when the history now expects them sooner.
    async fn learn(&self, job: &Job, took: f64) {
        let window = {
            let mut history = lock(&self.history);
            history.record(job.provider, &job.resolution, job.video_seconds, took);
            history.window(job.provider, &job.resolution, job.video_seconds)
        };
        if self.options.callback_url.is_none() || window.is_none() {
            return;
        }
        let deadline = reconcile_after(window);
        let kind = (job.provider, job.resolution.clone(), job.video_seconds);
        {
            let mut applied = lock(&self.deadlines);
            let last = applied
                .get(&kind)
                .copied()
                .unwrap_or(RECONCILE_WITHOUT_HISTORY);
            if deadline >= last * 0.9 {
                return;
            }
            applied.insert(kind, deadline);
        }
        let moved = self
            .ledger
            .reschedule_callbacks(
                job.provider,
                &job.resolution,
                job.video_seconds,
                self.real(deadline),
            )
            .await;
        match moved {
            Ok(n) if n > 0 => {
                tracing::debug!(n, deadline, "callback reconciliation brought forward")
            }
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(error = %err, "could not bring forward the reconciliation of callbacks")
            }
        }
    }
}
