//! Working a ledger: claim jobs, move each one on as far as it goes, record every step before
//! the next.

use std::{
    collections::{HashMap, HashSet},
    io::Read,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::{
    sync::{oneshot, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;

use super::{
    polls::{History, Poller, Window, HISTORY_PER_KIND},
    Batch, BatchOptions, BatchReport, JobChange, OnChange, Uncertain,
};
use crate::{
    client::{IdempotencyKey, Output, SubmitOptions, TaskState},
    ledger::{Job, JobState, Lease, Ledger, Transition},
    request::{callback_of, set_callback, WireBody},
    retry::{Retry, RetryPolicy},
    Client, Error, Provider,
};

/// Everything the workers of one run share.
struct Run {
    ledger: Arc<dyn Ledger>,
    clients: HashMap<Provider, Client>,
    out_dir: PathBuf,
    options: BatchOptions,
    owner: String,
    on_change: Option<OnChange>,
    cancel: CancellationToken,
    history: Mutex<History>,
    /// Set when a submit failed in a way every other submit would (credits, key): no new
    /// submit starts; jobs already at the provider are still waited for and saved.
    stop_submits: AtomicBool,
    stopped: Mutex<Option<String>>,
    /// A ledger failure outside the workers (the heartbeat's): it stops the run like theirs.
    failed: Mutex<Option<Error>>,
    /// Jobs whose submit the provider answered with a task an earlier submit under the same
    /// key had created: it may have ended already, and when it began is unknown.
    replayed: Mutex<HashSet<String>>,
    /// Remaining budget this run may commit: (credits, seconds).
    budget: Mutex<(Option<u64>, Option<u64>)>,
    deferred: Mutex<Vec<(Lease, String)>>,
    submits: AtomicU64,
    polls: AtomicU64,
    downloads: AtomicU64,
    heard: AtomicU64,
    reconciled: AtomicU64,
    /// Jobs waiting on a callback: the watcher hands each its row once a receiver recorded
    /// the end.
    waiters: Mutex<HashMap<String, oneshot::Sender<Job>>>,
}

/// What became of one job this run.
enum Outcome {
    /// Settled, or handed on (the lease is gone).
    Done,
    /// Left for a later run, holding its lease until this run ends.
    Deferred(String),
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
    let summary = ledger.summary().await?;
    let committed = summary.committed;
    let budget = batch.options.budget;
    let remaining = (
        budget
            .max_credits
            .map(|cap| cap.saturating_sub(committed.credits())),
        budget
            .max_video_seconds
            .map(|cap| cap.saturating_sub(committed.video_seconds())),
    );
    // The output directory still takes files (it may have changed since the plan, which
    // checked every name): proven before the first submit.
    super::outdir::OutDir::open(&batch.out_dir, &ledger.local_files())?;
    let run = Arc::new(Run {
        ledger: ledger.clone(),
        clients: batch.clients.clone(),
        out_dir: batch.out_dir.clone(),
        options: batch.options.clone(),
        owner: owner.clone(),
        on_change: batch.on_change.clone(),
        // The user's token stops the run; so does a ledger failure, which cancels only this
        // run's child token (the caller's token still tells an interrupt apart).
        cancel: batch.cancel.child_token(),
        history: Mutex::new(History::from_ledger(
            ledger
                .task_times(u32::try_from(HISTORY_PER_KIND).unwrap_or(u32::MAX))
                .await?,
        )),
        stop_submits: AtomicBool::new(false),
        stopped: Mutex::new(None),
        failed: Mutex::new(None),
        replayed: Mutex::new(HashSet::new()),
        budget: Mutex::new(remaining),
        deferred: Mutex::new(Vec::new()),
        submits: AtomicU64::new(0),
        polls: AtomicU64::new(0),
        downloads: AtomicU64::new(0),
        heard: AtomicU64::new(0),
        reconciled: AtomicU64::new(0),
        waiters: Mutex::new(HashMap::new()),
    });

    let heartbeat = {
        let run = run.clone();
        let done = CancellationToken::new();
        let stop = done.clone();
        let task = tokio::spawn(async move {
            let every = run.options.lease / 3;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(every) => {}
                }
                if let Err(err) = run.ledger.renew(&run.owner, run.options.lease).await {
                    // Leases that cannot be renewed end: stop before another worker takes
                    // these jobs while this one still works them.
                    tracing::error!(error = %err, "could not renew the batch's leases; stopping the run");
                    lock(&run.failed).get_or_insert(err);
                    run.cancel.cancel();
                    break;
                }
            }
        });
        (done, task)
    };

    let watcher = {
        let run = run.clone();
        let done = CancellationToken::new();
        let stop = done.clone();
        let task = tokio::spawn(async move { watch(&run, &stop).await });
        (done, task)
    };

    let result = match (dispatch(&run).await, lock(&run.failed).take()) {
        (Err(err), _) | (Ok(()), Some(err)) => Err(err),
        (Ok(()), None) => Ok(()),
    };

    heartbeat.0.cancel();
    let _ = heartbeat.1.await;
    watcher.0.cancel();
    let _ = watcher.1.await;
    let deferred: Vec<(Lease, String)> = std::mem::take(&mut *lock(&run.deferred));
    for (lease, _) in &deferred {
        if let Err(err) = run.ledger.release(lease).await {
            // Its lease ends by itself; after a ledger failure this one is expected.
            if result.is_ok() {
                tracing::warn!(job = %lease.job, error = %err, "could not release a job");
            } else {
                tracing::debug!(job = %lease.job, error = %err, "could not release a job");
            }
        }
    }
    result?;
    let stopped = lock(&run.stopped).clone();
    Ok(BatchReport {
        summary: ledger.summary().await?,
        deferred: deferred
            .into_iter()
            .map(|(lease, why)| (lease.job, why))
            .collect(),
        stopped,
        submits: run.submits.load(Ordering::Relaxed),
        polls: run.polls.load(Ordering::Relaxed),
        downloads: run.downloads.load(Ordering::Relaxed),
        heard: run.heard.load(Ordering::Relaxed),
        reconciled: run.reconciled.load(Ordering::Relaxed),
    })
}

/// Hands the jobs a receiver settled to the workers waiting on them: one ledger read every
/// [`BatchOptions::heard_every`] while any job waits on a callback.
async fn watch(run: &Run, stop: &CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(run.options.heard_every) => {}
        }
        if lock(&run.waiters).is_empty() {
            continue;
        }
        match run.ledger.heard(&run.owner).await {
            Ok(jobs) => {
                let mut waiters = lock(&run.waiters);
                for job in jobs {
                    if let Some(waiter) = waiters.remove(&job.id) {
                        // A waiter that stopped waiting (a poll found the end first) is gone.
                        let _ = waiter.send(job);
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "could not read the jobs callbacks settled"),
        }
    }
}

/// Takes a job off the watcher's list when its wait ends, however it ends.
struct Listening<'a> {
    run: &'a Run,
    job: String,
}

impl Drop for Listening<'_> {
    fn drop(&mut self) {
        lock(&self.run.waiters).remove(&self.job);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Claims jobs while workers are free and drives each on its own task. A ledger failure (a
/// worker's, or the claim loop's own) stops the run at once: nothing more is claimed, every
/// worker is cancelled (its job stays as the ledger last recorded it), and the error returns.
async fn dispatch(run: &Arc<Run>) -> Result<(), Error> {
    let permits = Arc::new(Semaphore::new(run.options.concurrency.max(1)));
    let mut workers: JoinSet<Result<(), Error>> = JoinSet::new();
    let mut failure: Option<Error> = None;
    if let Err(err) = claim_loop(run, &permits, &mut workers, &mut failure).await {
        failure.get_or_insert(err);
    }
    loop {
        if failure.is_some() {
            run.cancel.cancel();
        }
        let Some(joined) = workers.join_next().await else {
            break;
        };
        note_worker(joined, &mut failure);
    }
    match failure {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

async fn claim_loop(
    run: &Arc<Run>,
    permits: &Arc<Semaphore>,
    workers: &mut JoinSet<Result<(), Error>>,
    failure: &mut Option<Error>,
) -> Result<(), Error> {
    loop {
        while let Some(joined) = workers.try_join_next() {
            note_worker(joined, failure);
        }
        if failure.is_some() || run.cancel.is_cancelled() {
            break;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let free = u32::try_from(permits.available_permits())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let claimed = run
            .ledger
            .claim(&run.owner, run.options.lease, free)
            .await?;
        if claimed.is_empty() {
            drop(permit);
            // Nothing to claim now. Jobs other workers hold come back if their leases expire
            // (a worker that died): look again now and then until none is left.
            let recheck =
                (run.options.lease / 4).clamp(Duration::from_millis(200), Duration::from_secs(5));
            if workers.is_empty() {
                let elsewhere = run.ledger.held_elsewhere(&run.owner).await?;
                if elsewhere.jobs == 0 {
                    break;
                }
                let until_expiry = elsewhere
                    .next_expiry
                    .and_then(|at| at.signed_duration_since(Utc::now()).to_std().ok())
                    .unwrap_or_default();
                let pause = until_expiry.clamp(Duration::from_millis(200), recheck);
                if !run.sleep(pause).await {
                    break;
                }
                continue;
            }
            tokio::select! {
                joined = workers.join_next() => {
                    if let Some(joined) = joined {
                        note_worker(joined, failure);
                    }
                }
                () = tokio::time::sleep(recheck) => {}
            }
            continue;
        }
        let mut permit = Some(permit);
        for job in claimed {
            let permit = match permit.take() {
                Some(permit) => permit,
                None => match permits.clone().try_acquire_owned() {
                    Ok(permit) => permit,
                    // Cannot happen (claimed at most the free permits), but never lose a job.
                    Err(_) => permits
                        .clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| Error::Ledger {
                            message: "the batch's workers closed".into(),
                        })?,
                },
            };
            let run = run.clone();
            workers.spawn(async move {
                let _permit = permit;
                drive(&run, job).await
            });
        }
    }
    Ok(())
}

fn note_worker(
    joined: Result<Result<(), Error>, tokio::task::JoinError>,
    failure: &mut Option<Error>,
) {
    let err = match joined {
        Ok(Ok(())) => return,
        Ok(Err(err)) => err,
        Err(join) => Error::Ledger {
            message: format!("a batch worker stopped: {join}"),
        },
    };
    // The first failure stops the run and is what it returns; the others it caused (every
    // worker meets the same failing ledger) go to the debug log.
    if failure.is_none() {
        tracing::error!(error = %err, "batch worker failed; stopping the run");
        *failure = Some(err);
    } else {
        tracing::debug!(error = %err, "batch worker failed");
    }
}

/// Moves one job on until it settles or is deferred. Only ledger failures are errors: they
/// stop the run (nothing can be recorded, so nothing more may be sent).
async fn drive(run: &Run, job: Job) -> Result<(), Error> {
    let Some(lease) = job.lease.clone() else {
        return Ok(());
    };
    let id = job.id.clone();
    match step(run, &lease, job).await {
        Ok(Outcome::Done) => Ok(()),
        Ok(Outcome::Deferred(why)) => {
            tracing::info!(job = %id, why = %why, "left for a later run");
            lock(&run.deferred).push((lease, why));
            Ok(())
        }
        Err(Error::LeaseLost { job }) => {
            tracing::warn!(%job, "another worker took this job; leaving it");
            Ok(())
        }
        Err(err) => Err(err),
    }
}

impl Run {
    async fn apply(&self, lease: &Lease, from: &Job, change: Transition) -> Result<Job, Error> {
        let job = self.ledger.apply(lease, change).await?;
        if job.state != from.state {
            if let Some(on_change) = &self.on_change {
                on_change(&JobChange {
                    job: &job,
                    from: from.state,
                });
            }
        }
        Ok(job)
    }

    fn stop_submitting(&self, why: String) {
        if !self.stop_submits.swap(true, Ordering::SeqCst) {
            tracing::error!(why = %why, "no further submits this run");
            *lock(&self.stopped) = Some(why);
        }
    }

    /// Takes the job's cost from the budget left, or says why it does not fit.
    fn spend(&self, job: &Job) -> Result<(), String> {
        let mut left = lock(&self.budget);
        let (credits, seconds) = *left;
        let seconds_after = match seconds {
            Some(left) => Some(left.checked_sub(u64::from(job.video_seconds)).ok_or_else(
                || {
                    format!(
                    "not submitted: {} s of video would pass --max-video-seconds ({left} s left)",
                    job.video_seconds
                )
                },
            )?),
            None => None,
        };
        let credits_after = match (credits, job.credits) {
            (Some(left), Some(cost)) => Some(left.checked_sub(cost).ok_or_else(|| {
                format!("not submitted: {cost} credits would pass --max-credits ({left} left)")
            })?),
            (Some(_), None) => {
                return Err(format!(
                    "not submitted: --max-credits cannot count {} (no documented price)",
                    job.provider
                ))
            }
            (None, _) => None,
        };
        *left = (credits_after, seconds_after);
        Ok(())
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
        Duration::try_from_secs_f64(seconds / self.scale()).unwrap_or(Duration::from_secs(1))
    }

    /// Seconds on the batch's clock since `since`.
    fn elapsed_since(&self, since: chrono::DateTime<Utc>) -> f64 {
        let real = Utc::now()
            .signed_duration_since(since)
            .to_std()
            .unwrap_or_default();
        real.as_secs_f64() * self.scale()
    }

    /// Sleeps `delay` unless the run is cancelled first (false then).
    async fn sleep(&self, delay: Duration) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(delay) => true,
        }
    }
}

/// The runner's own second chances, after the client's retries ran out: a few minutes of
/// backoff before a job is left for a later run.
fn job_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_retries(4)
        .with_backoff(Duration::from_secs(2), Duration::from_secs(30))
}

async fn step(run: &Run, lease: &Lease, mut job: Job) -> Result<Outcome, Error> {
    let Some(client) = run.clients.get(&job.provider) else {
        return Ok(Outcome::Deferred(format!("no {} client", job.provider)));
    };
    if run.options.emulated {
        job = forget_lost_task(run, client, lease, job).await?;
    }
    loop {
        job = match job.state {
            JobState::Queued | JobState::Submitting => match submit(run, client, lease, job).await?
            {
                Ok(job) => job,
                Err(outcome) => return Ok(outcome),
            },
            JobState::Submitted => match wait(run, client, lease, job).await? {
                Ok(job) => job,
                Err(outcome) => return Ok(outcome),
            },
            JobState::Succeeded => return save(run, client, lease, job).await,
            _ => {
                run.ledger.release(lease).await?;
                return Ok(Outcome::Done);
            }
        };
    }
}

/// Against an emulator whose tasks end with its process: a job whose task this emulator does
/// not know (an earlier process's) goes back to the queue, to be submitted again.
async fn forget_lost_task(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: Job,
) -> Result<Job, Error> {
    let (Some(task), JobState::Submitted | JobState::Succeeded) = (job.task_id.clone(), job.state)
    else {
        return Ok(job);
    };
    match client
        .status(crate::client::TaskHandle::new(job.provider, task.clone()))
        .await
    {
        Err(Error::NotFound { .. }) => {
            let error = format!(
                "{} task {task} ended with the emulator that held it; submitted again (nothing was paid)",
                job.provider
            );
            run.apply(lease, &job, Transition::Lost { error }).await
        }
        _ => Ok(job),
    }
}

/// Submits (or, after a crash, resubmits under the same key) and records the answer.
async fn submit(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: Job,
) -> Result<Result<Job, Outcome>, Error> {
    if job.state == JobState::Submitting && job.idempotency_key.is_none() && !run.options.emulated {
        // A reapi submit was sent (or was about to be) by a run that stopped before it
        // recorded the answer: only the provider knows whether a task exists.
        let error = format!(
            "a {} submit was sent (or about to be) by a run that stopped before recording the answer; {} has no idempotency, so a task may exist and resubmitting could pay twice: rerun with --resubmit-uncertain to submit again, or --skip-uncertain to leave it",
            job.provider, job.provider
        );
        run.apply(lease, &job, Transition::Uncertain { error })
            .await?;
        return Ok(Err(Outcome::Done));
    }
    let policy = job_retries();
    let mut attempts = policy.attempts("batch submit");
    let mut job = job;
    loop {
        if run.cancel.is_cancelled() {
            return Ok(Err(Outcome::Deferred("stopped before submitting".into())));
        }
        if run.stop_submits.load(Ordering::SeqCst) {
            let why = lock(&run.stopped).clone().unwrap_or_default();
            return Ok(Err(Outcome::Deferred(format!("not submitted: {why}"))));
        }
        if job.state == JobState::Queued {
            if let Err(why) = run.spend(&job) {
                run.apply(lease, &job, Transition::Note { error: why.clone() })
                    .await?;
                return Ok(Err(Outcome::Deferred(why)));
            }
        }
        // The intent, committed before the request leaves, with the callback URL the body
        // will carry (the first submit's, on a resubmit under the same key).
        let callback_url = batch_callback(run, &job);
        job = run
            .apply(lease, &job, Transition::Submitting { callback_url })
            .await?;
        run.submits.fetch_add(1, Ordering::Relaxed);
        let mut json = job.body.clone();
        if let Some(url) = &job.callback_url {
            if callback_of(job.provider, &json).is_none() {
                set_callback(job.provider, &mut json, url.as_str(), true);
            }
        }
        let body = match WireBody::from_json(job.provider, json) {
            Ok(body) => body,
            // Recorded by an earlier version, or by hand: never sent, so nothing was billed.
            Err(err) => {
                refund(run, &job);
                let error = format!(
                    "not sent: the recorded body is not a {} request this version can send ({}); give the line a new `id` to plan it again",
                    job.provider,
                    crate::client::clean(&err.to_string(), 200)
                );
                run.apply(lease, &job, Transition::Refused { error })
                    .await?;
                return Ok(Err(Outcome::Done));
            }
        };
        let options = SubmitOptions {
            idempotency_key: job
                .idempotency_key
                .clone()
                .map_or(IdempotencyKey::None, IdempotencyKey::Custom),
        };
        let retry = match client.submit_body(body, &options).await {
            Ok(submission) => {
                if submission.replayed {
                    lock(&run.replayed).insert(job.id.clone());
                }
                let answered = run
                    .apply(
                        lease,
                        &job,
                        Transition::Submitted {
                            task_id: submission.id,
                            status: submission.status,
                        },
                    )
                    .await;
                return match answered {
                    Ok(job) => Ok(Ok(job)),
                    // Never left `submitting` (every rerun would get the same answer and stop
                    // there): failed, with both jobs named, for the user to look into.
                    Err(err @ Error::TaskTaken { .. }) => {
                        let error = format!(
                            "{err}; this job was not recorded as submitted: check the task at the provider, and give the line a new `id` to make it again"
                        );
                        run.apply(lease, &job, Transition::Failed { error }).await?;
                        Ok(Err(Outcome::Done))
                    }
                    Err(err) => Err(err),
                };
            }
            Err(err @ Error::SubmitUncertain { .. }) if job.idempotency_key.is_none() => {
                run.apply(
                    lease,
                    &job,
                    Transition::Uncertain {
                        error: format!(
                            "{err}; rerun with --resubmit-uncertain to submit again (may pay twice) or --skip-uncertain"
                        ),
                    },
                )
                .await?;
                return Ok(Err(Outcome::Done));
            }
            // Keyed: the same key gets the same task; stay `submitting` and try again.
            Err(err @ (Error::SubmitUncertain { .. } | Error::Network { .. })) => {
                let error = err.to_string();
                job = run.apply(lease, &job, Transition::Note { error }).await?;
                Retry::because(&err, None)
            }
            // Refused before any task existed: back to the queue (and the budget), retried
            // after the provider's Retry-After.
            Err(err @ (Error::RateLimited { .. } | Error::Unavailable { .. })) => {
                refund(run, &job);
                let error = err.to_string();
                job = run
                    .apply(lease, &job, Transition::Requeue { error })
                    .await?;
                err.retry().unwrap_or_else(|| Retry::because(&err, None))
            }
            // Every other submit would fail the same way: stop submitting, keep the job.
            Err(err @ (Error::Authentication { .. } | Error::InsufficientCredits { .. })) => {
                let error = err.to_string();
                refund(run, &job);
                run.apply(
                    lease,
                    &job,
                    Transition::Requeue {
                        error: error.clone(),
                    },
                )
                .await?;
                run.stop_submitting(error.clone());
                return Ok(Err(Outcome::Deferred(error)));
            }
            // Refused before any task existed: failed, and not counted as committed.
            Err(err @ (Error::InvalidRequest { .. } | Error::Unsupported(_))) => {
                refund(run, &job);
                run.apply(
                    lease,
                    &job,
                    Transition::Refused {
                        error: err.to_string(),
                    },
                )
                .await?;
                return Ok(Err(Outcome::Done));
            }
            Err(err) => {
                run.apply(
                    lease,
                    &job,
                    Transition::Failed {
                        error: err.to_string(),
                    },
                )
                .await?;
                return Ok(Err(Outcome::Done));
            }
        };
        let why = retry.reason.clone();
        if !attempts.again(Some(retry)).await {
            return Ok(Err(Outcome::Deferred(format!(
                "submit retries ran out ({why}); rerun to continue"
            ))));
        }
    }
}

/// The callback URL the batch's receiver takes `job`'s provider at, when the batch runs with
/// one, the provider calls back, and the job's own line set no callback of its own (a line's
/// callback goes to the user's receiver; the batch polls that job as before).
fn batch_callback(run: &Run, job: &Job) -> Option<String> {
    let base = run.options.callback_url.as_ref()?;
    if !job.provider.facts().callbacks || callback_of(job.provider, &job.body).is_some() {
        return None;
    }
    let mut url = reqwest::Url::parse(base.as_str()).ok()?;
    url.path_segments_mut()
        .ok()?
        .pop_if_empty()
        .push(job.provider.name());
    Some(url.to_string())
}

/// Gives a requeued job's cost back to the budget.
fn refund(run: &Run, job: &Job) {
    let mut left = lock(&run.budget);
    left.0 = left.0.map(|c| c.saturating_add(job.credits.unwrap_or(0)));
    left.1 = left
        .1
        .map(|s| s.saturating_add(u64::from(job.video_seconds)));
}

/// Polls until the task ends, on the plan's schedule; records a success with its output.
async fn wait(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: Job,
) -> Result<Result<Job, Outcome>, Error> {
    let Some(task_id) = job.task_id.clone() else {
        let error = "recorded as submitted without a task id".to_owned();
        run.apply(lease, &job, Transition::Failed { error }).await?;
        return Ok(Err(Outcome::Done));
    };
    let handle = crate::client::TaskHandle::new(job.provider, task_id);
    let submitted_at = job.submitted_at.unwrap_or(job.updated_at);
    let window: Option<Window> =
        lock(&run.history).window(job.provider, &job.resolution, job.video_seconds);
    let mut poller = Poller::new(run.options.polls, window);
    // Submitted with the batch's callback: listen to the ledger, and poll only once the task
    // is well past its expected end (reconciliation of a callback that never came).
    let mut heard = match &job.callback_url {
        Some(_) => Some(listen(run, &job.id)),
        None => None,
    };
    let reconcile_at = window.map_or(RECONCILE_WITHOUT_HISTORY, |w| {
        (w.hi * 1.2).max(w.hi + RECONCILE_GRACE)
    });
    // A replayed task may have ended long ago (no callback will come, and no schedule fits):
    // look at it at once, and keep its duration, which this run did not see begin, out of
    // the history later runs time their polls from.
    let replayed = lock(&run.replayed).remove(&job.id);
    let mut look_now = replayed;
    let mut job = job;
    let mut last_poll: Option<f64> = None;
    let mut failures = 0u32;
    let mut progress = None;
    loop {
        let elapsed = run.elapsed_since(submitted_at);
        if elapsed > run.options.max_wait.as_secs_f64() {
            return Ok(Err(Outcome::Deferred(format!(
                "still {} after {} (batch clock); rerun to keep waiting",
                job.status.as_deref().unwrap_or("running"),
                crate::units::duration(run.options.max_wait)
            ))));
        }
        let delay = match &heard {
            _ if std::mem::take(&mut look_now) => 0.0,
            Some(_) if elapsed < reconcile_at => reconcile_at - elapsed,
            _ => poller.next_delay(elapsed, progress).as_secs_f64(),
        };
        let sleep = run.sleep(run.real(delay));
        let woke = match heard.as_mut() {
            Some((_, waiter)) => tokio::select! {
                settled = waiter => match settled {
                    Ok(settled) => return Ok(Ok(run.heard_end(lease, &job, settled).await?)),
                    // The watcher is gone (the run is ending): keep to the poll schedule.
                    Err(_) => {
                        heard = None;
                        continue;
                    }
                },
                woke = sleep => woke,
            },
            None => sleep.await,
        };
        if !woke {
            return Ok(Err(Outcome::Deferred("stopped while waiting".into())));
        }
        run.polls.fetch_add(1, Ordering::Relaxed);
        let snapshot = match client.status(&handle).await {
            Ok(snapshot) => snapshot,
            Err(err) if err.is_transient() => {
                failures = failures.saturating_add(1);
                if failures >= 10 {
                    return Ok(Err(Outcome::Deferred(format!(
                        "polls kept failing ({err}); rerun to continue"
                    ))));
                }
                continue;
            }
            Err(err) => {
                run.apply(
                    lease,
                    &job,
                    Transition::Failed {
                        error: err.to_string(),
                    },
                )
                .await?;
                return Ok(Err(Outcome::Done));
            }
        };
        failures = 0;
        let now = run.elapsed_since(submitted_at);
        progress = snapshot.progress;
        match snapshot.state {
            TaskState::Succeeded => {
                // The end fell between the last two polls; close ones bracket it well.
                let took = match last_poll {
                    Some(before) if now - before <= 8.0 => (before + now) / 2.0,
                    _ => now,
                };
                let output = match crate::client::Finished::try_from(snapshot) {
                    Ok(finished) => finished.output().clone(),
                    Err(not) => {
                        let error = Error::from(not).to_string();
                        run.apply(lease, &job, Transition::Failed { error }).await?;
                        return Ok(Err(Outcome::Done));
                    }
                };
                let took = if replayed {
                    f64::NAN
                } else {
                    lock(&run.history).record(
                        job.provider,
                        &job.resolution,
                        job.video_seconds,
                        took,
                    );
                    took
                };
                if heard.is_some() {
                    run.reconciled.fetch_add(1, Ordering::Relaxed);
                }
                let job = run
                    .apply(
                        lease,
                        &job,
                        Transition::Succeeded {
                            output,
                            task_seconds: took,
                        },
                    )
                    .await?;
                return Ok(Ok(job));
            }
            TaskState::Failed | TaskState::Cancelled => {
                // The status that ended it, kept: it tells `--retry-failed` the task is over.
                let job = match seen(run, lease, &job, &snapshot.status).await? {
                    Ok(job) => job,
                    Err(settled) => return Ok(Ok(settled)),
                };
                if heard.is_some() {
                    run.reconciled.fetch_add(1, Ordering::Relaxed);
                }
                let error = snapshot.failure();
                run.apply(lease, &job, Transition::Failed { error }).await?;
                return Ok(Err(Outcome::Done));
            }
            _ => {
                if job.status.as_deref() != Some(snapshot.status.as_str()) {
                    job = match seen(run, lease, &job, &snapshot.status).await? {
                        Ok(job) => job,
                        Err(settled) => return Ok(Ok(settled)),
                    };
                }
            }
        }
        last_poll = Some(now);
    }
}

/// Records a status a poll saw: the job still waiting (`Ok`), or (`Err`) as a receiver
/// settled it meanwhile, counted as heard.
async fn seen(
    run: &Run,
    lease: &Lease,
    job: &Job,
    status: &str,
) -> Result<Result<Job, Job>, Error> {
    let status = status.to_owned();
    let job = run.apply(lease, job, Transition::Status { status }).await?;
    if job.state == JobState::Submitted {
        Ok(Ok(job))
    } else {
        run.heard.fetch_add(1, Ordering::Relaxed);
        Ok(Err(job))
    }
}

/// Batch-clock seconds after the submit at which a callback job with no history is polled.
const RECONCILE_WITHOUT_HISTORY: f64 = 300.0;
/// At least this long (batch clock) past the latest end in the history before a callback job
/// is polled.
const RECONCILE_GRACE: f64 = 30.0;

/// Puts `job` on the watcher's list; the guard takes it off.
fn listen<'a>(run: &'a Run, job: &str) -> (Listening<'a>, oneshot::Receiver<Job>) {
    let (tx, rx) = oneshot::channel();
    lock(&run.waiters).insert(job.to_owned(), tx);
    (
        Listening {
            run,
            job: job.to_owned(),
        },
        rx,
    )
}

impl Run {
    /// A receiver recorded the end of `job` (now `settled`): report the change, and time a
    /// success for the history (on the batch's clock, which the receiver does not know).
    async fn heard_end(&self, lease: &Lease, job: &Job, settled: Job) -> Result<Job, Error> {
        self.heard.fetch_add(1, Ordering::Relaxed);
        if let Some(on_change) = &self.on_change {
            on_change(&JobChange {
                job: &settled,
                from: job.state,
            });
        }
        let (Some(output), Some(submitted_at)) = (settled.output.clone(), settled.submitted_at)
        else {
            return Ok(settled);
        };
        if settled.state != JobState::Succeeded {
            return Ok(settled);
        }
        // From the submit to the receiver's record (real time, scaled to the batch's clock);
        // the watcher's own delay is no part of the task.
        let took = match settled.heard_at {
            Some(heard_at) => {
                let real = heard_at
                    .signed_duration_since(submitted_at)
                    .to_std()
                    .unwrap_or_default();
                real.as_secs_f64() * self.scale()
            }
            None => self.elapsed_since(submitted_at),
        };
        lock(&self.history).record(job.provider, &job.resolution, job.video_seconds, took);
        self.ledger
            .apply(
                lease,
                Transition::Succeeded {
                    output,
                    task_seconds: took,
                },
            )
            .await
    }
}

fn is_expired(output: &Output) -> bool {
    output.expired || output.expires_at.is_some_and(|at| at <= Utc::now())
}

/// Downloads the video (resuming a partial file), verifies it and records it; a URL that
/// expired first is asked for again once, then reported.
async fn save(run: &Run, client: &Client, lease: &Lease, job: Job) -> Result<Outcome, Error> {
    let target = run.out_dir.join(&job.output_name);
    let mut job = job;
    let mut refreshed = false;
    let policy = job_retries();
    let mut attempts = policy.attempts("batch download");
    loop {
        let output = match &job.output {
            Some(output) if !is_expired(output) => output.clone(),
            _ if !refreshed => {
                refreshed = true;
                match fresh_output(client, &job).await {
                    Some(output) => {
                        job = run
                            .apply(
                                lease,
                                &job,
                                Transition::Succeeded {
                                    output,
                                    task_seconds: job.task_seconds.unwrap_or(f64::NAN),
                                },
                            )
                            .await?;
                        continue;
                    }
                    None => return expire(run, lease, &job, None).await,
                }
            }
            _ => return expire(run, lease, &job, None).await,
        };
        let result = client
            .download(&output, &target)
            .overwrite(true)
            .max_attempts(run.options.download_attempts)
            .cancel_on(run.cancel.clone())
            .await;
        let error = match result {
            Ok(saved) => {
                let path = saved.path.clone();
                let verified = tokio::task::spawn_blocking(move || verify(&path))
                    .await
                    .map_err(|join| Error::Ledger {
                        message: format!("verifying a download stopped: {join}"),
                    })?;
                match verified {
                    Ok((bytes, sha256)) if bytes == saved.bytes => {
                        run.apply(
                            lease,
                            &job,
                            Transition::Downloaded {
                                file: saved.path,
                                bytes,
                                sha256,
                            },
                        )
                        .await?;
                        run.downloads.fetch_add(1, Ordering::Relaxed);
                        return Ok(Outcome::Done);
                    }
                    Ok((bytes, _)) => format!(
                        "{} holds {bytes} bytes after a download of {}",
                        saved.path.display(),
                        saved.bytes
                    ),
                    Err(why) => why,
                }
            }
            Err(Error::OutputExpired { .. }) if !refreshed => {
                job.output = None;
                continue;
            }
            Err(err @ Error::OutputExpired { .. }) => {
                return expire(run, lease, &job, Some(err.to_string())).await
            }
            Err(Error::DownloadCancelled { .. }) => {
                return Ok(Outcome::Deferred(
                    "stopped while downloading (the partial file is kept)".into(),
                ))
            }
            // The output directory cannot take the video (full, read-only, gone): every other
            // download would fail the same way, so nothing more is submitted (paid for) this
            // run; the job keeps its task and is saved by a rerun once the directory is fixed.
            Err(err @ (Error::Io { .. } | Error::UnusableTarget { .. })) => {
                let why = format!("cannot save videos in {}: {err}", run.out_dir.display());
                run.stop_submitting(why.clone());
                return Ok(Outcome::Deferred(why));
            }
            Err(err @ Error::NotVideo { .. }) => {
                run.apply(
                    lease,
                    &job,
                    Transition::Failed {
                        error: err.to_string(),
                    },
                )
                .await?;
                return Ok(Outcome::Done);
            }
            Err(err) => err.to_string(),
        };
        job = run
            .apply(
                lease,
                &job,
                Transition::Note {
                    error: error.clone(),
                },
            )
            .await?;
        if !attempts
            .again(Some(Retry::because(error.clone(), None)))
            .await
        {
            return Ok(Outcome::Deferred(format!(
                "download kept failing ({error}); rerun to resume it"
            )));
        }
    }
}

/// The task's output as the provider gives it now, if it is not expired.
async fn fresh_output(client: &Client, job: &Job) -> Option<Output> {
    let id = job.task_id.clone()?;
    let snapshot = client
        .status(crate::client::TaskHandle::new(job.provider, id))
        .await
        .ok()?;
    let finished = crate::client::Finished::try_from(snapshot).ok()?;
    let output = finished.output().clone();
    (!is_expired(&output)).then_some(output)
}

async fn expire(
    run: &Run,
    lease: &Lease,
    job: &Job,
    detail: Option<String>,
) -> Result<Outcome, Error> {
    let when = job
        .output
        .as_ref()
        .and_then(|o| o.expires_at)
        .map(|t| format!(" at {t}"))
        .unwrap_or_default();
    let error = format!(
        "the output of {} task {} expired{when} before it was saved{}; the video is gone at the provider: to make it again (a new, billed task), rerun with --retry-failed=expired",
        job.provider,
        job.task_id.as_deref().unwrap_or("?"),
        detail.map(|d| format!(" ({d})")).unwrap_or_default()
    );
    run.apply(lease, job, Transition::Expired { error }).await?;
    Ok(Outcome::Done)
}

/// Size and SHA-256 of a saved video, after checking it starts like an MP4 (`ftyp` box).
fn verify(path: &Path) -> Result<(u64, String), String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut total: u64 = 0;
    let mut head = Vec::with_capacity(8);
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        let chunk = buffer.get(..n).unwrap_or_default();
        if head.len() < 8 {
            head.extend(chunk.iter().take(8 - head.len()));
        }
        hash.update(chunk);
        total = total.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    }
    if head.get(4..8) != Some(b"ftyp".as_slice()) {
        return Err(format!(
            "{} does not start with an MP4 `ftyp` box",
            path.display()
        ));
    }
    let digest = hash.finalize();
    Ok((total, digest.iter().map(|b| format!("{b:02x}")).collect()))
}
