//! The submit step: the intent recorded (and the budget and the limit on tasks in flight
//! checked, in the same transaction), then one submit sent and its answer recorded with when
//! the task is first looked at.

use std::sync::atomic::Ordering;

use chrono::Utc;

use super::{job_retries, reconcile_after, Kept, Run};
use crate::{
    batch::polls::Poller,
    client::{IdempotencyKey, SubmitOptions},
    ledger::{After, Job, JobState, Lease, Transition},
    request::{callback_of, set_callback, WireBody},
    Client, Error,
};

/// Submits `job` (or, after a crash, resubmits it under the same key) and records the answer.
pub(super) async fn step(run: &Run, client: &Client, lease: &Lease, job: Job) -> Result<(), Error> {
    if job.state == JobState::Submitting && job.idempotency_key.is_none() && !run.options.emulated {
        // A reapi submit was sent (or was about to be) by a run that stopped before it
        // recorded the answer: only the provider knows whether a task exists.
        let error = format!(
            "a {} submit was sent (or about to be) by a run that stopped before recording the answer; {} has no idempotency, so a task may exist and resubmitting could pay twice",
            job.provider, job.provider
        );
        run.apply(lease, &job, Transition::Uncertain { error })
            .await?;
        return Ok(());
    }
    if run.cancel.is_cancelled() {
        return run
            .defer(lease, &job, "stopped before submitting".into())
            .await;
    }
    if let Some(why) = run.submits_stopped() {
        return run
            .defer(lease, &job, format!("not submitted: {why}"))
            .await;
    }
    if job.state == JobState::Queued {
        // Checked before the intent: until then the key is unused, and the body may still be
        // signed again.
        let before = Utc::now() + crate::presigned::MIN_LEFT;
        if let Some(soon) = crate::presigned::expiring(&job.body, before).first() {
            let why = format!(
                "not submitted: the image URL {} in its body is presigned until {}, less than {} minutes from now, and the provider fetches images after the task starts; nothing was sent: sign it again",
                soon.shown,
                soon.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                crate::presigned::MIN_LEFT.num_minutes()
            );
            return run.defer(lease, &job, why).await;
        }
    }
    let Some(job) = intent(run, lease, job).await? else {
        return Ok(());
    };
    let body = match body(&job) {
        Ok(body) => body,
        // Recorded by an earlier version, or by hand: never sent, so nothing was billed.
        Err(error) => {
            run.apply(lease, &job, Transition::Refused { error })
                .await?;
            return Ok(());
        }
    };
    // The intent is committed; a lease lost meanwhile (the heartbeat stopped the run) sends
    // nothing: the job stays `submitting`, and whoever holds it resubmits under its key.
    if run.cancel.is_cancelled() {
        return run
            .defer(lease, &job, "stopped before submitting".into())
            .await;
    }
    run.tally.submits.fetch_add(1, Ordering::Relaxed);
    let options = SubmitOptions {
        idempotency_key: job
            .idempotency_key
            .clone()
            .map_or(IdempotencyKey::None, IdempotencyKey::Custom),
    };
    let provider = job.provider.name();
    match client.submit_body(body, &options).await {
        Ok(submission) => {
            let outcome = [("provider", provider), ("outcome", "accepted")];
            run.metrics.count("happyhorse_submits_total", &outcome, 1);
            answered(run, lease, job, submission).await
        }
        Err(err) => {
            let outcome = crate::metrics::submit_outcome(&err);
            let labels = [("provider", provider), ("outcome", outcome)];
            run.metrics.count("happyhorse_submits_total", &labels, 1);
            refused(run, lease, job, err).await
        }
    }
}

/// Records the intent (committed before the request leaves), with the callback URL the body
/// will carry (the first submit's, on a resubmit under the same key). The ledger refuses a
/// first submit past the budget, or past the tasks allowed in flight, counting every
/// worker's: `None` then, with the job left as it should be.
async fn intent(run: &Run, lease: &Lease, job: Job) -> Result<Option<Job>, Error> {
    let change = Transition::Submitting {
        callback_url: batch_callback(run, &job),
        budget: run.options.budget,
        max_in_flight: run.options.max_in_flight,
    };
    match run.apply(lease, &job, change).await {
        Ok(job) => Ok(Some(job)),
        Err(Error::OverBudget { message }) => {
            run.defer(lease, &job, format!("not submitted: {message}"))
                .await?;
            Ok(None)
        }
        // Another worker's task took the last place meanwhile: look again once one ends
        // (claims leave queued jobs alone while the limit is reached).
        Err(Error::InFlightLimit { .. }) => {
            run.release(lease).await?;
            Ok(None)
        }
        Err(err) => Err(err),
    }
}

/// The body to send: the recorded one, with the batch's callback where it has one.
fn body(job: &Job) -> Result<WireBody, String> {
    let mut json = job.body.clone();
    if let Some(url) = &job.callback_url {
        if callback_of(job.provider, &json).is_none() {
            set_callback(job.provider, &mut json, url.as_str(), true);
        }
    }
    WireBody::from_json(job.provider, json).map_err(|err| {
        format!(
            "not sent: the recorded body is not a {} request this version can send ({})",
            job.provider,
            crate::client::clean(&err.to_string(), 200)
        )
    })
}

/// Records the provider's answer and when the task is first looked at: a callback's
/// reconciliation deadline, at once for a task an earlier submit made (it may have ended long
/// ago), else the poll plan's first poll.
async fn answered(
    run: &Run,
    lease: &Lease,
    job: Job,
    submission: crate::client::Submission,
) -> Result<(), Error> {
    let mut kept = Kept {
        replayed: submission.replayed,
        ..Kept::default()
    };
    let window = run.window(&job);
    let delay = if submission.replayed {
        0.0
    } else if job.callback_url.is_some() {
        reconcile_after(window)
    } else {
        let mut poller = Poller::new(run.options.polls, window);
        let delay = poller.next_delay(0.0, None).as_secs_f64();
        kept.poller = poller.state();
        delay
    };
    let after = After::until(Run::due_in(run.real(delay))).with_step_state(kept.json());
    let change = Transition::Submitted {
        task_id: submission.id,
        status: submission.status,
    };
    match run.record(lease, &job, change, after).await {
        Ok(_) => Ok(()),
        // Never left `submitting` (every rerun would get the same answer and stop there):
        // failed, with both jobs named, for the user to look into.
        Err(err @ Error::TaskTaken { .. }) => {
            let error = format!("{err}; this job was not recorded as submitted: check the task at the provider, and give the line a new `id` to make it again");
            run.apply(lease, &job, Transition::Failed { error }).await?;
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// Records a submit the provider did not answer with a task.
async fn refused(run: &Run, lease: &Lease, job: Job, err: Error) -> Result<(), Error> {
    let http = err.http_status();
    let reason = crate::metrics::submit_outcome(&err);
    let (change, retry_after) = match err {
        Error::SubmitUncertain { .. } if job.idempotency_key.is_none() => {
            let error = err.to_string();
            run.apply(lease, &job, Transition::Uncertain { error })
                .await?;
            return Ok(());
        }
        // Keyed: the same key gets the same task; stay `submitting` and try again.
        Error::SubmitUncertain { .. } | Error::Network { .. } => (
            Transition::Note {
                error: err.to_string(),
            },
            None,
        ),
        // Refused before any task existed: back to the queue, after the provider's
        // Retry-After.
        Error::RateLimited { .. } | Error::Unavailable { .. } => {
            let after = err.retry_after();
            (
                Transition::Requeue {
                    error: err.to_string(),
                },
                after,
            )
        }
        // Every other submit would fail the same way: stop submitting, keep the job.
        Error::Authentication { .. } | Error::InsufficientCredits { .. } => {
            let error = err.to_string();
            let change = Transition::Requeue {
                error: error.clone(),
            };
            let job = run.apply(lease, &job, change).await?;
            run.stop_submitting(error.clone());
            return run.defer(lease, &job, error).await;
        }
        // Refused before any task existed: failed, and not counted as committed.
        Error::InvalidRequest { .. } | Error::Unsupported(_) => {
            let change = Transition::Refused {
                error: err.to_string(),
            };
            run.record(lease, &job, change, After::hold().with_http_status(http))
                .await?;
            return Ok(());
        }
        _ => {
            let change = Transition::Failed {
                error: err.to_string(),
            };
            run.record(lease, &job, change, After::hold().with_http_status(http))
                .await?;
            return Ok(());
        }
    };
    again(run, lease, &job, change, retry_after, http, reason).await
}

/// Records `change` and lets the job go until its next try, or leaves it for a later run
/// when its tries ran out.
async fn again(
    run: &Run,
    lease: &Lease,
    job: &Job,
    change: Transition,
    retry_after: Option<std::time::Duration>,
    http: Option<u16>,
    reason: &str,
) -> Result<(), Error> {
    let mut kept = Kept::of(job);
    kept.failures = kept.failures.saturating_add(1);
    let policy = job_retries();
    if kept.failures > policy.max_retries {
        let why = format!(
            "submit retries ran out ({}); rerun to continue",
            change_error(&change)
        );
        let after = After::hold()
            .with_step_state(Kept::default().json())
            .with_http_status(http);
        let job = run.record(lease, job, change, after).await?;
        return run.defer(lease, &job, why).await;
    }
    run.retried("job_submit", reason);
    let delay = policy.delay(kept.failures, retry_after);
    let after = After::until(Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default())
        .with_step_state(kept.json())
        .with_http_status(http);
    run.record(lease, job, change, after).await?;
    Ok(())
}

fn change_error(change: &Transition) -> &str {
    match change {
        Transition::Note { error } | Transition::Requeue { error } => error,
        _ => "",
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
