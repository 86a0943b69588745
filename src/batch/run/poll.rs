//! The poll step: one look at a task, recorded with when to look next (the poll plan's next
//! time, from the history as it is now), or the task's end.

use std::sync::atomic::Ordering;

use super::{reconcile_after, save, Kept, Run};
use crate::{
    batch::polls::Poller,
    client::{Finished, TaskHandle, TaskSnapshot, TaskState},
    ledger::{After, Job, JobState, Lease, Transition},
    units, Client, Error,
};

/// Polls `job`'s task once.
pub(super) async fn step(run: &Run, client: &Client, lease: &Lease, job: Job) -> Result<(), Error> {
    let Some(task_id) = job.task_id.clone() else {
        let error = "recorded as submitted without a task id".to_owned();
        run.apply(lease, &job, Transition::Failed { error }).await?;
        return Ok(());
    };
    let submitted_at = job.submitted_at.unwrap_or(job.updated_at);
    let elapsed = run.elapsed_since(submitted_at);
    let kept = Kept::of(&job);
    // Waiting on a callback: polled only once well past the end the history expects now (it
    // may have moved since the job was due).
    let deadline = reconcile_after(run.window(&job));
    if job.callback_url.is_some() && !kept.replayed && elapsed < deadline {
        let due = submitted_at + chrono::Duration::from_std(run.real(deadline)).unwrap_or_default();
        return match run
            .record(lease, &job, Transition::Wait, After::until(due))
            .await
        {
            Ok(_) => Ok(()),
            Err(Error::NotAllowed { .. }) => settled_meanwhile(run, client, lease, &job).await,
            Err(err) => Err(err),
        };
    }
    run.tally.polls.fetch_add(1, Ordering::Relaxed);
    run.metrics.count(
        "happyhorse_polls_total",
        &[("provider", job.provider.name())],
        1,
    );
    let snapshot = match client.status(TaskHandle::new(job.provider, task_id)).await {
        Ok(snapshot) => snapshot,
        Err(err) => return failed_poll(run, lease, job, kept, err).await,
    };
    let now = run.elapsed_since(submitted_at);
    match snapshot.state {
        TaskState::Succeeded => succeeded(run, client, lease, job, kept, snapshot, now).await,
        TaskState::Failed | TaskState::Cancelled => {
            // The status that ended it, kept: it tells a retry the task is over.
            let change = Transition::Status {
                status: snapshot.status.clone(),
            };
            let Some(job) = still_submitted(run, client, lease, &job, change).await? else {
                return Ok(());
            };
            if job.callback_url.is_some() {
                run.tally.reconciled.fetch_add(1, Ordering::Relaxed);
            }
            let error = snapshot.failure();
            run.apply(lease, &job, Transition::Failed { error }).await?;
            Ok(())
        }
        _ => running(run, client, lease, job, kept, snapshot, now).await,
    }
}

/// Still running: the status recorded, the job let go until the plan's next poll.
async fn running(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: Job,
    mut kept: Kept,
    snapshot: TaskSnapshot,
    now: f64,
) -> Result<(), Error> {
    // Still running past the wait's limit: left for a later run (its task is not lost).
    if now > run.options.max_wait.as_secs_f64() {
        let why = format!(
            "still {} after {} (batch clock); rerun to keep waiting",
            snapshot.status,
            units::duration(run.options.max_wait)
        );
        return run.defer(lease, &job, why).await;
    }
    let mut poller = Poller::resume(run.options.polls, run.window(&job), kept.poller);
    let delay = poller.next_delay(now, snapshot.progress);
    kept.poller = poller.state();
    kept.last_poll = Some(now);
    kept.failures = 0;
    let after = After::until(Run::due_in(run.real(delay.as_secs_f64())))
        .with_step_state(kept.json())
        .polled();
    let change = Transition::Status {
        status: snapshot.status,
    };
    match run.record(lease, &job, change, after).await {
        Ok(_) => Ok(()),
        Err(Error::NotAllowed { .. }) => settled_meanwhile(run, client, lease, &job).await,
        Err(err) => Err(err),
    }
}

/// The task succeeded: the success recorded (timed for the history), then its video saved in
/// the same step.
async fn succeeded(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: Job,
    kept: Kept,
    snapshot: TaskSnapshot,
    now: f64,
) -> Result<(), Error> {
    // The end fell between the last two polls; close ones bracket it well.
    let took = match kept.last_poll {
        Some(before) if now - before <= 8.0 => (before + now) / 2.0,
        _ => now,
    };
    let output = match Finished::try_from(snapshot) {
        Ok(finished) => finished.output().clone(),
        Err(not) => {
            let error = Error::from(not).to_string();
            run.apply(lease, &job, Transition::Failed { error }).await?;
            return Ok(());
        }
    };
    // A task an earlier submit made began before this run saw it, and a task waiting on a
    // callback polled for the first time (at its reconciliation deadline) ended at some
    // unknown time before: their times are left out of the history later polls (and
    // reconciliation deadlines) are timed from.
    let unknown = kept.replayed || (job.callback_url.is_some() && kept.last_poll.is_none());
    let took = if unknown {
        f64::NAN
    } else {
        run.metrics.task_duration(took);
        run.learn(&job, took).await;
        took
    };
    super::lock(&run.ended).insert(job.id.clone(), std::time::Instant::now());
    let change = Transition::Succeeded {
        output,
        task_seconds: took,
    };
    let after = After::hold()
        .with_step_state(super::Kept::default().json())
        .polled();
    let job = match run.record(lease, &job, change, after).await {
        Ok(job) => job,
        Err(Error::NotAllowed { .. }) => return settled_meanwhile(run, client, lease, &job).await,
        Err(err) => return Err(err),
    };
    if job.callback_url.is_some() {
        run.tally.reconciled.fetch_add(1, Ordering::Relaxed);
    }
    save::step(run, client, lease, job).await
}

/// Records `change` while the job is still submitted; `None` when a receiver settled it
/// meanwhile (then handled here).
async fn still_submitted(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: &Job,
    change: Transition,
) -> Result<Option<Job>, Error> {
    match run.record(lease, job, change, After::hold().polled()).await {
        Ok(job) => Ok(Some(job)),
        Err(Error::NotAllowed { .. }) => {
            settled_meanwhile(run, client, lease, job).await?;
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// A receiver recorded the task's end while this step polled: a success is saved now (its
/// report comes with the save), a failure was reported from the history; the lease goes.
async fn settled_meanwhile(
    run: &Run,
    client: &Client,
    lease: &Lease,
    job: &Job,
) -> Result<(), Error> {
    match run.ledger.job(&job.id).await? {
        Some(now) if now.state == JobState::Succeeded => save::step(run, client, lease, now).await,
        _ => run.release(lease).await,
    }
}

/// A poll that failed: tried again on the plan's schedule when the failure may pass (left for
/// a later run after ten in a row), else the job failed.
async fn failed_poll(
    run: &Run,
    lease: &Lease,
    job: Job,
    mut kept: Kept,
    err: Error,
) -> Result<(), Error> {
    if let (Error::NotFound { .. }, true) = (&err, run.options.emulated) {
        return run.lost_with_its_emulator(lease, &job).await;
    }
    let http = err.http_status();
    if !err.is_transient() {
        let change = Transition::Failed {
            error: err.to_string(),
        };
        let after = After::hold().with_http_status(http).polled();
        run.record(lease, &job, change, after).await?;
        return Ok(());
    }
    kept.failures = kept.failures.saturating_add(1);
    if kept.failures >= 10 {
        let why = format!("polls kept failing ({err}); rerun to continue");
        return run.defer(lease, &job, why).await;
    }
    let elapsed = run.elapsed_since(job.submitted_at.unwrap_or(job.updated_at));
    let mut poller = Poller::resume(run.options.polls, run.window(&job), kept.poller);
    let delay = poller.next_delay(elapsed, job.progress);
    kept.poller = poller.state();
    let after = After::until(Run::due_in(run.real(delay.as_secs_f64())))
        .with_step_state(kept.json())
        .with_http_status(http)
        .polled();
    match run.record(lease, &job, Transition::Wait, after).await {
        Ok(_) => Ok(()),
        Err(Error::NotAllowed { .. }) => run.release(lease).await,
        Err(err) => Err(err),
    }
}
