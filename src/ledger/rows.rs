//! Reading the ledger's rows into its records, the same for every engine: values are checked
//! (a negative size, an unknown state or provider, a body that is not JSON) and refused with
//! a ledger error naming the column, never a panic.

use std::{path::PathBuf, str::FromStr};

use super::{
    engine::{Row, Value},
    from_millis, CallbackUrl, Event, Job, JobState, Lease,
};
use crate::{client::Output, Error, Provider};

/// A ledger error for a failed statement, keeping the database's error as its source.
pub(super) fn db_error(context: &str, err: sqlx::Error) -> Error {
    Error::ledger_cause(format!("{context}: {err}"), err)
}

/// Typed reads of one row's columns.
pub(super) trait Columns {
    fn value(&self, column: &str) -> Result<&Value, Error>;

    fn opt_int(&self, column: &str) -> Result<Option<i64>, Error> {
        match self.value(column)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            Value::Bool(v) => Ok(Some(i64::from(*v))),
            other => Err(mismatch(column, "an integer", other)),
        }
    }

    fn int(&self, column: &str) -> Result<i64, Error> {
        self.opt_int(column)?
            .ok_or_else(|| Error::ledger(format!("column {column} is null in the ledger")))
    }

    fn opt_real(&self, column: &str) -> Result<Option<f64>, Error> {
        match self.value(column)? {
            Value::Null => Ok(None),
            Value::Real(v) => Ok(Some(*v)),
            // SQLite stores a whole REAL as an integer when it can.
            Value::Int(v) => Ok(Some(*v as f64)),
            other => Err(mismatch(column, "a number", other)),
        }
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, Error> {
        match self.value(column)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(mismatch(column, "text", other)),
        }
    }

    fn text(&self, column: &str) -> Result<String, Error> {
        self.opt_text(column)?
            .ok_or_else(|| Error::ledger(format!("column {column} is null in the ledger")))
    }

    fn flag(&self, column: &str) -> Result<bool, Error> {
        match self.value(column)? {
            Value::Bool(v) => Ok(*v),
            Value::Int(v) => Ok(*v != 0),
            other => Err(mismatch(column, "a boolean", other)),
        }
    }

    fn opt_unsigned(&self, column: &str) -> Result<Option<u64>, Error> {
        self.opt_int(column)?
            .map(|v| {
                u64::try_from(v)
                    .map_err(|_| Error::ledger(format!("negative {column} ({v}) in the ledger")))
            })
            .transpose()
    }

    fn unsigned(&self, column: &str) -> Result<u64, Error> {
        Ok(self.opt_unsigned(column)?.unwrap_or(0))
    }

    fn state(&self, column: &str) -> Result<JobState, Error> {
        self.text(column)?.parse()
    }

    fn provider(&self, column: &str) -> Result<Provider, Error> {
        let name = self.text(column)?;
        Provider::from_str(&name)
            .map_err(|e| Error::ledger(format!("column {column} of the ledger: {e}")))
    }
}

impl Columns for Row<'_> {
    fn value(&self, column: &str) -> Result<&Value, Error> {
        self.get(column)
            .ok_or_else(|| Error::ledger(format!("no column {column} in the ledger's answer")))
    }
}

fn mismatch(column: &str, wanted: &str, got: &Value) -> Error {
    Error::ledger(format!(
        "column {column} of the ledger holds {got:?}, not {wanted}"
    ))
}

/// `value` as a signed column, saturating.
pub(super) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A job from a `SELECT *` (or `RETURNING *`) row.
pub(super) fn job_from_row(row: &Row<'_>) -> Result<Job, Error> {
    let id = row.text("id")?;
    let body = row.text("body")?;
    let body = serde_json::from_str(&body)
        .map_err(|e| Error::ledger_cause(format!("reading job {id}'s body: {e}"), e))?;
    let video_seconds = row.int("video_seconds")?;
    let output_url = row.opt_text("output_url")?;
    let expired = row.flag("output_expired")?;
    let expires = row.opt_int("output_expires_at")?;
    let fence = row.int("fence")?;
    Ok(Job {
        lease: row.opt_text("lease_owner")?.map(|owner| Lease {
            job: id.clone(),
            owner,
            fence,
        }),
        seq: row.int("seq")?,
        line: row.opt_unsigned("line")?,
        provider: row.provider("provider")?,
        body,
        idempotency_key: row.opt_text("idempotency_key")?,
        resolution: row.text("resolution")?,
        video_seconds: u32::try_from(video_seconds).map_err(|_| {
            Error::ledger(format!(
                "video_seconds {video_seconds} out of range in the ledger"
            ))
        })?,
        credits: row.opt_unsigned("credits")?,
        output_name: row.text("output_name")?,
        state: row.state("state")?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        task_id: row.opt_text("task_id")?,
        status: row.opt_text("status")?,
        output: output_url.map(|url| Output {
            url,
            expires_at: expires.map(from_millis),
            expired,
        }),
        file: row.opt_text("file")?.map(PathBuf::from),
        bytes: row.opt_unsigned("bytes")?,
        sha256: row.opt_text("sha256")?,
        e_tag: row.opt_text("e_tag")?,
        polls: row.unsigned("polls")?,
        object_version: row.opt_text("object_version")?,
        error: row.opt_text("error")?,
        created_at: from_millis(row.int("created_at")?),
        updated_at: from_millis(row.int("updated_at")?),
        submitted_at: row.opt_int("submitted_at")?.map(from_millis),
        finished_at: row.opt_int("finished_at")?.map(from_millis),
        task_seconds: row.opt_real("task_seconds")?,
        callback_url: row.opt_text("callback_url")?.map(CallbackUrl),
        heard_at: row.opt_int("heard_at")?.map(from_millis),
        progress: row
            .opt_int("progress")?
            .and_then(|p| u8::try_from(p.clamp(0, 100)).ok()),
        deliveries: row.unsigned("deliveries")?,
        refused: row.flag("refused")?,
        earlier_tasks: u32::try_from(row.int("earlier_tasks")?).unwrap_or(u32::MAX),
        due_at: from_millis(row.int("next_at")?),
        step_state: row.opt_text("step_state")?,
        id,
    })
}

/// An event from a `SELECT * FROM job_events` row.
pub(super) fn event_from_row(row: &Row<'_>) -> Result<Event, Error> {
    Ok(Event {
        seq: row.int("seq")?,
        job: row.text("job_id")?,
        at: from_millis(row.int("at")?),
        event: row.text("event")?,
        from: row
            .opt_text("from_state")?
            .map(|s| s.parse::<JobState>())
            .transpose()?,
        to: row.state("to_state")?,
        worker: row.opt_text("worker")?,
        attempt: u32::try_from(row.int("attempt")?).unwrap_or(u32::MAX),
        status: row.opt_text("status")?,
        http_status: row
            .opt_int("http_status")?
            .and_then(|s| u16::try_from(s).ok()),
        error: row.opt_text("error")?,
        deliveries: row.unsigned("deliveries")?,
    })
}
