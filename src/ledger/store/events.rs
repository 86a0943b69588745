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

/// Appends `event` inside `tx`.
pub(crate) fn log<'a>(tx: &'a mut dyn Tx, event: &NewEvent<'_>) -> EngineFuture<'a, ()> {
    let params = vec![
        Param::text(&event.job.id),
        Param::int(now_millis()),
        Param::text(event.event),
        Param::opt_text(event.from.map(JobState::name)),
        Param::text(event.job.state.name()),
        Param::opt_text(event.worker),
        Param::int(event.job.attempts),
        Param::opt_text(event.job.status.clone()),
        Param::Int(event.http_status.map(i64::from)),
        Param::opt_text(event.error),
        Param::int(signed(event.job.deliveries)),
    ];
    Box::pin(async move {
        tx.query(
            "INSERT INTO job_events (job_id, at, event, from_state, to_state, worker, attempt,
                status, http_status, error, deliveries)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &params,
        )
        .await?;
        Ok(())
    })
}
