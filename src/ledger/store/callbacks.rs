//! What a receiver records: a verified callback's news about a task, whoever holds its job.

use super::{
    super::{
        engine::{Engine, Param},
        now_millis,
        rows::{db_error, job_from_row},
        Heard, HeardEvent, JobState, Recorded,
    },
    events::{log, NewEvent},
};
use crate::Error;

/// The statement recording a callback's event on the job of `$1` provider and `$2` task, if
/// it moves the job on (`$3` now, `$4` status, then the event's own); `RETURNING *`. A
/// task's end makes the job due now.
fn heard_sql(event: &HeardEvent) -> &'static str {
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
                updated_at = $3, error = NULL, deliveries = deliveries + 1, next_at = 0
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
const DUPLICATE_SQL: &str = "UPDATE jobs SET deliveries = deliveries + 1
     WHERE provider = $1 AND task_id = $2 RETURNING *";

pub(crate) async fn record(engine: &dyn Engine, heard: &Heard) -> Result<Recorded, Error> {
    let context = format!(
        "recording a callback for {} task {}",
        heard.provider, heard.task_id
    );
    let err = |e| db_error(&context, e);
    let mut params = vec![
        Param::text(heard.provider.name()),
        Param::text(&heard.task_id),
        Param::int(now_millis()),
        Param::text(&heard.status),
    ];
    match &heard.event {
        HeardEvent::Progress(percent) => params.push(Param::Int(percent.map(i64::from))),
        HeardEvent::Succeeded(output) => params.extend([
            Param::text(&output.url),
            Param::Int(output.expires_at.map(|t| t.timestamp_millis())),
            Param::Bool(output.expired),
        ]),
        HeardEvent::Failed(error) => params.push(Param::text(crate::net::redacted_text(error))),
    }
    let mut tx = engine.begin().await.map_err(err)?;
    let rows = tx
        .query(heard_sql(&heard.event), &params)
        .await
        .map_err(err)?;
    let recorded = if let Some(row) = rows.first() {
        let job = job_from_row(&row)?;
        let error = matches!(heard.event, HeardEvent::Failed(_)).then_some(job.error.as_deref());
        let event = NewEvent::of(&job, "callback", Some(JobState::Submitted));
        log(&mut *tx, &[event.error(error.flatten())])
            .await
            .map_err(err)?;
        if let Some(notify) = engine.dialect().notify_due() {
            tx.query(notify, &[]).await.map_err(err)?;
        }
        Recorded::Applied(job)
    } else {
        let rows = tx.query(DUPLICATE_SQL, &params[..2]).await.map_err(err)?;
        match rows.first() {
            Some(row) => {
                let job = job_from_row(&row)?;
                let event = NewEvent::of(&job, "duplicate callback", Some(job.state));
                log(&mut *tx, &[event]).await.map_err(err)?;
                Recorded::Duplicate(job)
            }
            None => Recorded::Unknown,
        }
    };
    tx.commit().await.map_err(err)?;
    if matches!(recorded, Recorded::Applied(_)) {
        engine.woke();
    }
    Ok(recorded)
}
