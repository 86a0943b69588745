//! Changes made to many jobs at once, outside any worker's step: a user settling uncertain
//! jobs or trying failed ones again, a run putting back what earlier runs left, the history
//! pruned, callbacks brought forward as the history learns.

use std::time::Duration;

use super::{
    super::{
        engine::{Engine, Param},
        millis, now_millis,
        rows::{db_error, job_from_row},
        Again, Job, JobState, Retry,
    },
    events::{log, NewEvent},
};
use crate::{client::canonical_json, Error};

pub(crate) async fn settle_uncertain(engine: &dyn Engine, to: JobState) -> Result<u64, Error> {
    let note = match to {
        JobState::Queued => "resubmitted by request after an uncertain submit",
        JobState::Skipped => {
            "skipped by request after an uncertain submit; a task may exist at the provider"
        }
        other => {
            return Err(Error::ledger(format!(
                "an uncertain job can be queued or skipped, not {other}"
            )))
        }
    };
    let context = "settling uncertain jobs";
    let err = |e| db_error(context, e);
    let mut tx = engine.begin().await.map_err(err)?;
    let rows = tx
        .query(
            "UPDATE jobs SET state = $1, error = $2, updated_at = $3 WHERE state = 'uncertain'
             RETURNING *",
            &[
                Param::text(to.name()),
                Param::text(note),
                Param::int(now_millis()),
            ],
        )
        .await
        .map_err(err)?;
    let jobs = rows
        .iter()
        .map(|row| job_from_row(&row))
        .collect::<Result<Vec<_>, _>>()?;
    let events: Vec<NewEvent<'_>> = jobs
        .iter()
        .map(|job| NewEvent::of(job, "settled", Some(JobState::Uncertain)).error(Some(note)))
        .collect();
    log(&mut *tx, &events).await.map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(rows.len() as u64)
}

/// [`Ledger::retry`](super::super::Ledger::retry) submitting anew: the task and everything it
/// left are cleared; a billed task (any but a refused submit's) is counted in
/// `earlier_tasks`, so the budget keeps paying for it.
const RETRY_SUBMIT_SQL: &str = "UPDATE jobs SET state = 'queued',
        earlier_tasks = earlier_tasks + CASE WHEN refused THEN 0 ELSE 1 END, refused = FALSE,
        task_id = NULL, status = NULL, output_url = NULL, output_expires_at = NULL,
        output_expired = FALSE, file = NULL, bytes = NULL, sha256 = NULL, e_tag = NULL,
        object_version = NULL, submitting_at = NULL,
        submitted_at = NULL, finished_at = NULL, task_seconds = NULL, callback_url = NULL,
        heard_at = NULL, progress = NULL, deliveries = 0, polls = 0, step_state = NULL, next_at = 0,
        idempotency_key = $6, error = $5, updated_at = $4
     WHERE id = $1 AND state = $2 AND attempts = $3 AND lease_owner IS NULL RETURNING *";

/// Fetching again from the task that made the video: back to `succeeded` with its output.
const RETRY_DOWNLOAD_SQL: &str = "UPDATE jobs SET state = 'succeeded', error = $5,
        updated_at = $4, next_at = 0
     WHERE id = $1 AND state = $2 AND attempts = $3 AND lease_owner IS NULL
       AND output_url IS NOT NULL AND task_id IS NOT NULL RETURNING *";

pub(crate) async fn retry(engine: &dyn Engine, retries: &[Retry]) -> Result<u64, Error> {
    let context = "putting failed jobs back to be tried again";
    let err = |e| db_error(context, e);
    let mut tx = engine.begin().await.map_err(err)?;
    let mut moved = 0u64;
    let now = now_millis();
    for retry in retries {
        let mut params = vec![
            Param::text(&retry.id),
            Param::text(retry.state.name()),
            Param::int(retry.attempts),
            Param::int(now),
            Param::text(&retry.note),
        ];
        let sql = match &retry.again {
            Again::Download => RETRY_DOWNLOAD_SQL,
            Again::Submit { idempotency_key } => {
                params.push(Param::opt_text(idempotency_key.clone()));
                RETRY_SUBMIT_SQL
            }
        };
        let rows = tx.query(sql, &params).await.map_err(err)?;
        if let Some(row) = rows.first() {
            let job = job_from_row(&row)?;
            let event = NewEvent::of(&job, "retry", Some(retry.state));
            log(&mut *tx, &[event.error(Some(&retry.note))])
                .await
                .map_err(err)?;
            moved = moved.saturating_add(1);
        }
    }
    tx.commit().await.map_err(err)?;
    Ok(moved)
}

/// [`Ledger::replace_unsent_body`](super::super::Ledger::replace_unsent_body): only a queued
/// job whose current key no submit carried (`submitting_at` is set by the first intent under
/// a key and cleared when a retry gives a new one), held by no live lease, whose body is
/// still `was`.
pub(crate) async fn replace_unsent_body(
    engine: &dyn Engine,
    id: &str,
    was: &serde_json::Value,
    body: &serde_json::Value,
    note: &str,
) -> Result<Option<Job>, Error> {
    let context = "replacing a job's body before its first submit";
    let err = |e| db_error(context, e);
    let mut tx = engine.begin().await.map_err(err)?;
    let now = now_millis();
    let rows = tx
        .query(
            "UPDATE jobs SET body = $2, updated_at = $4
             WHERE id = $1 AND body = $3 AND state = 'queued' AND submitting_at IS NULL
               AND (lease_owner IS NULL OR lease_until < $4)
             RETURNING *",
            &[
                Param::text(id),
                Param::text(canonical_json(body)),
                Param::text(canonical_json(was)),
                Param::int(now),
            ],
        )
        .await
        .map_err(err)?;
    let Some(row) = rows.first() else {
        tx.commit().await.map_err(err)?;
        return Ok(None);
    };
    let job = job_from_row(&row)?;
    let event = NewEvent::of(&job, "body replaced", Some(JobState::Queued)).error(Some(note));
    log(&mut *tx, &[event]).await.map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(Some(job))
}

/// Brings forward the due time of the jobs waiting on a callback, of one provider,
/// resolution and length, to `after` past their submit where that is sooner.
pub(crate) async fn reschedule_callbacks(
    engine: &dyn Engine,
    kind: (crate::Provider, &str, u32),
    after: Duration,
) -> Result<u64, Error> {
    let sql = format!(
        "UPDATE jobs SET next_at = submitted_at + $1
         WHERE state = '{}' AND callback_url IS NOT NULL AND heard_at IS NULL
           AND provider = $2 AND resolution = $3 AND video_seconds = $4
           AND submitted_at IS NOT NULL AND next_at > submitted_at + $1 RETURNING id",
        JobState::Submitted
    );
    let rows = engine
        .query(
            &sql,
            &[
                Param::int(millis(after)),
                Param::text(kind.0.name()),
                Param::text(kind.1),
                Param::int(kind.2),
            ],
        )
        .await
        .map_err(|e| db_error("rescheduling the reconciliation of callbacks", e))?;
    Ok(rows.len() as u64)
}

/// Deletes the events recorded before `before`; returns how many.
pub(crate) async fn prune_events(
    engine: &dyn Engine,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<u64, Error> {
    let rows = engine
        .query(
            "DELETE FROM job_events WHERE at < $1 RETURNING seq",
            &[Param::int(before.timestamp_millis())],
        )
        .await
        .map_err(|e| db_error("pruning the event history", e))?;
    Ok(rows.len() as u64)
}

/// Puts back the jobs runs left for later: due now. Returns how many.
pub(crate) async fn resume_deferred(engine: &dyn Engine) -> Result<u64, Error> {
    let rows = engine
        .query(
            "UPDATE jobs SET next_at = 0 WHERE next_at >= $1 RETURNING id",
            &[Param::int(super::super::DEFERRED_MS)],
        )
        .await
        .map_err(|e| db_error("putting back the jobs left for a later run", e))?;
    Ok(rows.len() as u64)
}
