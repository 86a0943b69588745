//! What both ledger backends share: decoding a job row, and each transition's statement.
//!
//! The statements use `$N` parameters, which PostgreSQL and (through sqlx) SQLite both read as
//! numbered: `$1` job, `$2` lease owner, `$3` fence, `$4` now, then the transition's own.

use std::{path::PathBuf, str::FromStr};

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{from_millis, CallbackUrl, HeardEvent, Job, Lease, Transition};
use crate::{client::Output, Error, Provider};

pub(super) fn transition_name(change: &Transition) -> &'static str {
    match change {
        Transition::Submitting { .. } => "a submit",
        Transition::Submitted { .. } => "a task id",
        Transition::Status { .. } => "a status",
        Transition::Succeeded { .. } => "a success",
        Transition::Downloaded { .. } => "a download",
        Transition::Failed { .. } => "a failure",
        Transition::Refused { .. } => "a refused submit",
        Transition::Expired { .. } => "an expiry",
        Transition::Uncertain { .. } => "an uncertain submit",
        Transition::Requeue { .. } => "a requeue",
        Transition::Lost { .. } => "a lost task",
        Transition::Note { .. } => "a note",
    }
}

/// The statement of a transition: it names the lease and the states it may come from.
pub(super) fn transition_sql(change: &Transition) -> &'static str {
    match change {
        Transition::Submitting { .. } => {
            "UPDATE jobs SET state = 'submitting', attempts = attempts + 1,
                submitting_at = $4, updated_at = $4, error = NULL,
                callback_url = COALESCE(callback_url, $5)
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state IN ('queued', 'submitting') RETURNING *"
        }
        Transition::Submitted { .. } => {
            "UPDATE jobs SET state = 'submitted', task_id = $5, status = $6,
                submitted_at = $4, updated_at = $4, error = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state = 'submitting' RETURNING *"
        }
        // From any state: a callback may have settled the job meanwhile, and the row returned
        // tells the worker so (the status is kept only while the job is still submitted).
        Transition::Status { .. } => {
            "UPDATE jobs SET status = CASE WHEN state = 'submitted' THEN $5 ELSE status END,
                updated_at = $4
             WHERE id = $1 AND lease_owner = $2 AND fence = $3 RETURNING *"
        }
        Transition::Succeeded { .. } => {
            "UPDATE jobs SET state = 'succeeded', output_url = $5, output_expires_at = $6,
                output_expired = $7, task_seconds = $8, finished_at = $4,
                updated_at = $4, error = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state IN ('submitted', 'succeeded') RETURNING *"
        }
        Transition::Downloaded { .. } => {
            "UPDATE jobs SET state = 'downloaded', file = $5, bytes = $6, sha256 = $7,
                updated_at = $4, error = NULL, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state = 'succeeded' RETURNING *"
        }
        Transition::Failed { .. } => {
            "UPDATE jobs SET state = 'failed', error = $5, finished_at = $4,
                updated_at = $4, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3 RETURNING *"
        }
        // Only from `submitting` with no task: nothing was (or will be) billed.
        Transition::Refused { .. } => {
            "UPDATE jobs SET state = 'failed', refused = TRUE, error = $5, finished_at = $4,
                updated_at = $4, lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state = 'submitting' AND task_id IS NULL RETURNING *"
        }
        Transition::Expired { .. } => {
            "UPDATE jobs SET state = 'expired', error = $5, updated_at = $4,
                lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state IN ('submitted', 'succeeded') RETURNING *"
        }
        Transition::Uncertain { .. } => {
            "UPDATE jobs SET state = 'uncertain', error = $5, updated_at = $4,
                lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state = 'submitting' RETURNING *"
        }
        Transition::Lost { .. } => {
            "UPDATE jobs SET state = 'queued', task_id = NULL, status = NULL, output_url = NULL,
                output_expires_at = NULL, output_expired = FALSE, submitted_at = NULL,
                error = $5, updated_at = $4
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state IN ('submitted', 'succeeded') RETURNING *"
        }
        Transition::Requeue { .. } => {
            "UPDATE jobs SET state = 'queued', error = $5, updated_at = $4
             WHERE id = $1 AND lease_owner = $2 AND fence = $3
               AND state IN ('queued', 'submitting') RETURNING *"
        }
        Transition::Note { .. } => {
            "UPDATE jobs SET error = $5, updated_at = $4
             WHERE id = $1 AND lease_owner = $2 AND fence = $3 RETURNING *"
        }
    }
}

/// [`Ledger::retry`](super::Ledger::retry) submitting anew: `$1` the new key, `$2` job, `$3`
/// the state it was planned from, `$4` its attempts then, `$5` now, `$6` the note. The task
/// and everything it left are cleared; a billed task (any but a refused submit's) is counted
/// in `earlier_tasks`, so the budget keeps paying for it.
pub(super) const RETRY_SUBMIT_SQL: &str = "UPDATE jobs SET state = 'queued',
        earlier_tasks = earlier_tasks + CASE WHEN refused THEN 0 ELSE 1 END, refused = FALSE,
        task_id = NULL, status = NULL, output_url = NULL, output_expires_at = NULL,
        output_expired = FALSE, file = NULL, bytes = NULL, sha256 = NULL, submitting_at = NULL,
        submitted_at = NULL, finished_at = NULL, task_seconds = NULL, callback_url = NULL,
        heard_at = NULL, progress = NULL, deliveries = 0, idempotency_key = $1, error = $6,
        updated_at = $5
     WHERE id = $2 AND state = $3 AND attempts = $4 AND lease_owner IS NULL RETURNING id";

/// [`Ledger::retry`](super::Ledger::retry) fetching again from the task that made the video:
/// back to `succeeded` with its output (`$1` job, `$2` state planned from, `$3` attempts then,
/// `$4` now, `$5` the note).
pub(super) const RETRY_DOWNLOAD_SQL: &str = "UPDATE jobs SET state = 'succeeded', error = $5,
        updated_at = $4
     WHERE id = $1 AND state = $2 AND attempts = $3 AND lease_owner IS NULL
       AND output_url IS NOT NULL AND task_id IS NOT NULL RETURNING id";

/// The statement recording a callback's event on the job of `$1` provider and `$2` task, if
/// it moves the job on (`$3` now, `$4` status, then the event's own); `RETURNING *`.
pub(super) fn heard_sql(event: &HeardEvent) -> &'static str {
    match event {
        HeardEvent::Progress(_) => {
            "UPDATE jobs SET progress = $5, status = $4, updated_at = $3,
                deliveries = deliveries + 1
             WHERE provider = $1 AND task_id = $2 AND state = 'submitted'
               AND $5 IS NOT NULL AND (progress IS NULL OR progress < $5) RETURNING *"
        }
        HeardEvent::Succeeded(_) => {
            "UPDATE jobs SET state = 'succeeded', status = $4, output_url = $5,
                output_expires_at = $6, output_expired = $7, heard_at = $3, finished_at = $3,
                updated_at = $3, error = NULL, deliveries = deliveries + 1
             WHERE provider = $1 AND task_id = $2 AND state = 'submitted' RETURNING *"
        }
        HeardEvent::Failed(_) => {
            "UPDATE jobs SET state = 'failed', status = $4, error = $5, heard_at = $3,
                finished_at = $3, updated_at = $3, deliveries = deliveries + 1
             WHERE provider = $1 AND task_id = $2 AND state = 'submitted' RETURNING *"
        }
    }
}

/// Counts a delivery that changed nothing; `RETURNING *` (no row: no such task).
pub(super) const DUPLICATE_SQL: &str = "UPDATE jobs SET deliveries = deliveries + 1
     WHERE provider = $1 AND task_id = $2 RETURNING *";

pub(super) fn db_error(context: &str, err: impl std::fmt::Display) -> Error {
    Error::Ledger {
        message: format!("{context}: {err}"),
    }
}

pub(super) fn get<'r, R, T>(row: &'r R, column: &str) -> Result<T, Error>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    for<'c> &'c str: ColumnIndex<R>,
{
    row.try_get(column)
        .map_err(|e| db_error(&format!("reading column {column}"), e))
}

pub(super) fn unsigned(value: Option<i64>, column: &str) -> Result<Option<u64>, Error> {
    value
        .map(|v| {
            u64::try_from(v).map_err(|_| Error::Ledger {
                message: format!("negative {column} ({v}) in the ledger"),
            })
        })
        .transpose()
}

pub(super) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A job from a `SELECT *` (or `RETURNING *`) row of either backend.
pub(super) fn job_from_row<R>(row: &R) -> Result<Job, Error>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let provider: String = get(row, "provider")?;
    let provider = Provider::from_str(&provider).map_err(|e| db_error("reading a job", e))?;
    let body: String = get(row, "body")?;
    let body = serde_json::from_str(&body).map_err(|e| db_error("reading a job's body", e))?;
    let state: String = get(row, "state")?;
    let output_url: Option<String> = get(row, "output_url")?;
    let expires: Option<i64> = get(row, "output_expires_at")?;
    let expired: bool = get(row, "output_expired")?;
    let owner: Option<String> = get(row, "lease_owner")?;
    let id: String = get(row, "id")?;
    let video_seconds: i64 = get(row, "video_seconds")?;
    let attempts: i64 = get(row, "attempts")?;
    let fence: i64 = get(row, "fence")?;
    Ok(Job {
        lease: owner.map(|owner| Lease {
            job: id.clone(),
            owner,
            fence,
        }),
        id,
        seq: get(row, "seq")?,
        line: unsigned(get(row, "line")?, "line")?,
        provider,
        body,
        idempotency_key: get(row, "idempotency_key")?,
        resolution: get(row, "resolution")?,
        video_seconds: u32::try_from(video_seconds).map_err(|_| Error::Ledger {
            message: format!("video_seconds {video_seconds} out of range in the ledger"),
        })?,
        credits: unsigned(get(row, "credits")?, "credits")?,
        output_name: get(row, "output_name")?,
        state: state.parse()?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        task_id: get(row, "task_id")?,
        status: get(row, "status")?,
        output: output_url.map(|url| Output {
            url,
            expires_at: expires.map(from_millis),
            expired,
        }),
        file: get::<R, Option<String>>(row, "file")?.map(PathBuf::from),
        bytes: unsigned(get(row, "bytes")?, "bytes")?,
        sha256: get(row, "sha256")?,
        error: get(row, "error")?,
        created_at: from_millis(get(row, "created_at")?),
        updated_at: from_millis(get(row, "updated_at")?),
        submitted_at: get::<R, Option<i64>>(row, "submitted_at")?.map(from_millis),
        task_seconds: get(row, "task_seconds")?,
        callback_url: get::<R, Option<String>>(row, "callback_url")?.map(CallbackUrl),
        heard_at: get::<R, Option<i64>>(row, "heard_at")?.map(from_millis),
        progress: get::<R, Option<i64>>(row, "progress")?
            .and_then(|p| u8::try_from(p.clamp(0, 100)).ok()),
        deliveries: unsigned(get(row, "deliveries")?, "deliveries")?.unwrap_or(0),
        refused: get(row, "refused")?,
        earlier_tasks: u32::try_from(get::<R, i64>(row, "earlier_tasks")?).unwrap_or(u32::MAX),
    })
}
