//! The claim loop and the heartbeat: which jobs this worker takes, and for how long.

use std::{
    collections::HashSet,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use chrono::Utc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{lock, poll, save, submit, Run};
use crate::{
    ledger::{Job, JobState, Lease},
    Error,
};

/// Claims due jobs while there is room for a step and takes one step with each, until no job
/// is left to move on (waiting ones included) or the run stops. A failure (the ledger's, a
/// lost lease) stops it at once: nothing more is claimed, every step is cancelled (its job
/// stays as the ledger last recorded it), and the error returns.
pub(super) async fn work(run: &Arc<Run>) -> Result<(), Error> {
    let beat = CancellationToken::new();
    let heartbeat = tokio::spawn(heartbeat(run.clone(), beat.clone()));
    let mut steps: JoinSet<()> = JoinSet::new();
    let looped = claim_loop(run, &mut steps).await;
    if let Err(err) = looped {
        run.fail(err);
    }
    if lock(&run.stop.failed).is_some() {
        run.cancel.cancel();
    }
    while steps.join_next().await.is_some() {}
    beat.cancel();
    let _ = heartbeat.await;
    match lock(&run.stop.failed).take() {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// The least time between two claims of one worker.
const CLAIM_GAP: Duration = Duration::from_millis(5);

async fn claim_loop(run: &Arc<Run>, steps: &mut JoinSet<()>) -> Result<(), Error> {
    let signal = match run.ledger.due_signal().await {
        Ok(signal) => signal,
        Err(err) => {
            tracing::debug!(error = %err, "no signal for due jobs; looking now and then");
            None
        }
    };
    let mut heard_cursor = match run.options.callback_url {
        Some(_) => Some(run.ledger.event_seq().await?),
        None => None,
    };
    let slots = run.options.concurrency.max(1);
    let mut last_claim: Option<tokio::time::Instant> = None;
    loop {
        while steps.try_join_next().is_some() {}
        if run.cancel.is_cancelled() || lock(&run.stop.failed).is_some() {
            return Ok(());
        }
        if let Some(cursor) = heard_cursor.as_mut() {
            *cursor = report_heard_failures(run, *cursor).await?;
        }
        // Claims at most every CLAIM_GAP: a claim is a committed write, and one per step that
        // ends would make the ledger's commits, not the work, the limit. Whatever came due
        // meanwhile is claimed together.
        if let Some(at) = last_claim {
            let gap = at + CLAIM_GAP;
            if tokio::time::Instant::now() < gap {
                tokio::select! {
                    () = tokio::time::sleep_until(gap) => {}
                    () = run.cancel.cancelled() => {}
                }
                while steps.try_join_next().is_some() {}
            }
        }
        let free = slots.saturating_sub(steps.len());
        let mut claimed = 0;
        if free > 0 {
            last_claim = Some(tokio::time::Instant::now());
            let jobs = run
                .ledger
                .claim_due(
                    &run.owner,
                    run.options.lease,
                    u32::try_from(free).unwrap_or(u32::MAX),
                    run.options.max_in_flight,
                )
                .await?;
            claimed = jobs.len();
            for job in jobs {
                start(run, steps, job);
            }
        }
        if claimed > 0 && claimed == free {
            continue;
        }
        if free == 0 {
            // Every slot is taken: nothing can start before a step ends.
            tokio::select! {
                _ = steps.join_next() => {}
                () = run.cancel.cancelled() => {}
            }
            continue;
        }
        let pause = match pause(run, steps.is_empty()).await? {
            Some(pause) => pause,
            None => return Ok(()),
        };
        tokio::select! {
            _ = steps.join_next(), if !steps.is_empty() => {}
            () = wake(signal.as_deref()) => {}
            () = tokio::time::sleep(pause) => {}
            () = run.cancel.cancelled() => {}
        }
    }
}

/// How long to wait before looking again (`None`: nothing is left, the run is over).
async fn pause(run: &Run, idle: bool) -> Result<Option<Duration>, Error> {
    // Look again when the next job is due, and in any case now and then: a receiver in
    // another process records callbacks this process is not told of.
    let soonest = if idle {
        // With no step of its own going on, the worker also asks whether anything is left,
        // and when a lease another worker holds may end (a worker that died).
        let outlook = run
            .ledger
            .outlook(&run.owner, run.options.max_in_flight)
            .await?;
        if outlook.waiting == 0 && outlook.held_elsewhere == 0 {
            return Ok(None);
        }
        [outlook.next_due, outlook.next_expiry]
            .into_iter()
            .flatten()
            .min()
    } else {
        // Busy: only when the next job is due (counting the ledger after every step would
        // cost a read of every waiting job each time).
        run.ledger.next_due(run.options.max_in_flight).await?
    };
    let most = run.options.heard_every.max(Duration::from_millis(10));
    // Nothing due at any time: a step's end, a signal or the look now and then wakes it.
    let wait = soonest.map_or(most, |at| {
        at.signed_duration_since(Utc::now())
            .to_std()
            .unwrap_or_default()
    });
    Ok(Some(wait.clamp(Duration::from_millis(5), most)))
}

async fn wake(signal: Option<&tokio::sync::Notify>) {
    match signal {
        Some(signal) => signal.notified().await,
        None => std::future::pending().await,
    }
}

/// Takes one step with `job` on a task of its own.
fn start(run: &Arc<Run>, steps: &mut JoinSet<()>, job: Job) {
    let Some(lease) = job.lease.clone() else {
        return;
    };
    run.watch(&lease);
    let run = run.clone();
    steps.spawn(async move {
        let result = step(&run, &lease, job).await;
        // Every way a step ends lets its job go through the run, which stops watching the
        // lease first; what is left (a failed write) is not watched any more either.
        run.unwatch(&lease);
        match result {
            Ok(()) => {}
            Err(Error::LeaseLost { job }) => {
                tracing::warn!(%job, "another worker took this job; leaving it");
            }
            Err(err) => {
                tracing::error!(error = %err, "a step failed; stopping the run");
                run.fail(err);
            }
        }
    });
}

/// One step with `job`: the one its state calls for.
async fn step(run: &Run, lease: &Lease, job: Job) -> Result<(), Error> {
    let Some(client) = run.clients.get(&job.provider) else {
        let why = format!("no {} client", job.provider);
        return run.defer(lease, &job, why).await;
    };
    match job.state {
        JobState::Queued | JobState::Submitting => submit::step(run, client, lease, job).await,
        JobState::Submitted => poll::step(run, client, lease, job).await,
        JobState::Succeeded => save::step(run, client, lease, job).await,
        _ => run.release(lease).await,
    }
}

/// Reports the jobs a receiver failed since event `cursor` (their end comes from the
/// callback, and no step of theirs follows); returns the new cursor. Successes are reported
/// by the save step that picks them up. (On PostgreSQL an event numbered before the cursor
/// can commit after it was read: that job's line is then missing from the progress display,
/// not from the ledger or the summary.)
async fn report_heard_failures(run: &Run, cursor: i64) -> Result<i64, Error> {
    let events = run
        .ledger
        .events_after(cursor, 500, Some("callback"))
        .await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(cursor);
    };
    let ids: Vec<String> = events
        .iter()
        .filter(|e| e.to == JobState::Failed)
        .map(|e| e.job.clone())
        .collect();
    if !ids.is_empty() {
        for job in run.ledger.jobs_by_id(&ids).await? {
            run.tally.heard.fetch_add(1, Ordering::Relaxed);
            run.report(&job, JobState::Submitted);
        }
    }
    Ok(last)
}

/// Renews this worker's leases every third of their length. A renewal that fails, or finds
/// a lease taken, stops the worker at once: it claims nothing more and sends no new submit,
/// and the run ends with the error.
async fn heartbeat(run: Arc<Run>, stop: CancellationToken) {
    let every = run.options.lease / 3;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(every) => {}
        }
        let before: HashSet<(String, i64)> = lock(&run.leases.held)
            .iter()
            .map(|(job, fence)| (job.clone(), *fence))
            .collect();
        match run.ledger.renew_leases(&run.owner, run.options.lease).await {
            Ok(renewed) => {
                let renewed: HashSet<(String, i64)> =
                    renewed.into_iter().map(|l| (l.job, l.fence)).collect();
                // A lease still watched (its step is going on) that the renewal did not find
                // was taken: a step stops watching its lease before it lets the job go.
                let held = lock(&run.leases.held).clone();
                let taken = before
                    .into_iter()
                    .find(|(job, fence)| {
                        held.get(job) == Some(fence) && !renewed.contains(&(job.clone(), *fence))
                    })
                    .map(|(job, _)| job);
                if let Some(job) = taken {
                    tracing::error!(%job, "this worker's lease was taken; it stops claiming and submitting");
                    run.fail(Error::LeaseLost { job });
                    break;
                }
            }
            Err(err) => {
                // Leases that cannot be renewed end: stop before another worker takes these
                // jobs while this one still works them.
                tracing::error!(error = %err, "could not renew the batch's leases; it stops claiming and submitting");
                run.fail(err);
                break;
            }
        }
    }
}
