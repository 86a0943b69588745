//! The event history: one row appended per change, in the change's own transaction.

use super::super::{
    engine::{EngineFuture, Param, Tx},
    now_millis,
    rows::signed,
    Job, JobState,
};

/// An event about to be recorded.
pub(crate) struct NewEvent<'a> {
    job: &'a Job,
    event: &'a str,
    from: Option<JobState>,
    worker: Option<&'a str>,
    error: Option<&'a str>,
    http_status: Option<u16>,
}

impl<'a> NewEvent<'a> {
    /// `event` happened to `job` (as it is now recorded), which was in `from`.
    pub fn of(job: &'a Job, event: &'a str, from: Option<JobState>) -> NewEvent<'a> {
        NewEvent {
            job,
            event,
            from,
            worker: None,
            error: None,
            http_status: None,
        }
    }

    /// Recorded by `worker`.
    pub fn worker(mut self, worker: &'a str) -> NewEvent<'a> {
        self.worker = Some(worker);
        self
    }

    /// With the error it recorded.
    pub fn error(mut self, error: Option<&'a str>) -> NewEvent<'a> {
        self.error = error;
        self
    }

    /// With the HTTP status of the answer behind it.
    pub fn http_status(mut self, status: Option<u16>) -> NewEvent<'a> {
        self.http_status = status;
        self
    }
}

/// Rows per `INSERT` of events (11 parameters each). Few: binding a statement's parameters
/// costs SQLite's driver time that grows with the square of their number.
const EVENT_ROWS: usize = 32;

/// Appends `events` inside `tx` (a statement per [`EVENT_ROWS`]).
pub(crate) fn log<'a>(tx: &'a mut dyn Tx, events: &[NewEvent<'_>]) -> EngineFuture<'a, ()> {
    let now = now_millis();
    let statements: Vec<(String, Vec<Param>)> = events
        .chunks(EVENT_ROWS)
        .map(|chunk| {
            let mut params = Vec::with_capacity(chunk.len() * 11);
            let rows: Vec<String> = chunk
                .iter()
                .enumerate()
                .map(|(i, event)| {
                    params.extend([
                        Param::text(&event.job.id),
                        Param::int(now),
                        Param::text(event.event),
                        Param::opt_text(event.from.map(JobState::name)),
                        Param::text(event.job.state.name()),
                        Param::opt_text(event.worker),
                        Param::int(event.job.attempts),
                        Param::opt_text(event.job.status.clone()),
                        Param::Int(event.http_status.map(i64::from)),
                        Param::opt_text(event.error.map(crate::net::redacted_text)),
                        Param::int(signed(event.job.deliveries)),
                    ]);
                    let marks: Vec<String> = (1..=11).map(|k| format!("${}", i * 11 + k)).collect();
                    format!("({})", marks.join(", "))
                })
                .collect();
            // Only generated `$N` placeholders are formatted in; every value is bound.
            let sql = format!(
                "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt,
                    status, http_status, error, deliveries)
                 VALUES {}",
                rows.join(", ")
            );
            (sql, params)
        })
        .collect();
    Box::pin(async move {
        for (sql, params) in &statements {
            tx.query(sql, params).await?;
        }
        Ok(())
    })
}
