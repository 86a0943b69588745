//! The ledger's writes, written once over an [`Engine`]: every change to a job is one
//! transaction that checks the lease and the lifecycle, records the change and appends it to
//! the event history.

use std::time::Duration;

use super::{
    super::{
        engine::{Engine, Param, Rows, Tx},
        lifecycle::sql_states,
        millis, now_millis,
        rows::{db_error, job_from_row, signed, Columns},
        After, Again, Budget, Committed, CommittedRow, Enqueued, Heard, HeardEvent, Job, JobState,
        Lease, NewJob, Recorded, Retry, Transition,
    },
    events::{log, NewEvent},
    read::task_taken,
};
use crate::{client::canonical_json, Error};

/// Rows per `INSERT` when recording jobs: 11 parameters each, well under both engines' limits
/// on bound parameters.
const ENQUEUE_ROWS: usize = 200;

/// The advisory lock PostgreSQL workers take to check the budget one at a time.
const BUDGET_LOCK: i64 = 7_242_002;

pub(crate) async fn enqueue(engine: &dyn Engine, jobs: &[NewJob]) -> Result<Enqueued, Error> {
    let context = "recording jobs";
    let err = |e| db_error(context, e);
    let mut tx = engine.begin().await.map_err(err)?;
    let mut done = Enqueued::default();
    let now = now_millis();
    // Many rows per statement (a round trip each, not one per job): which ones went in comes
    // back from RETURNING.
    for chunk in jobs.chunks(ENQUEUE_ROWS) {
        let bodies: Vec<String> = chunk.iter().map(|job| canonical_json(&job.body)).collect();
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 11;
                let p: Vec<String> = (1..=11).map(|k| format!("${}", n + k)).collect();
                format!("({}, 'queued', {})", p[..9].join(", "), p[9..].join(", "))
            })
            .collect();
        // Only generated `$N` placeholders are formatted in; every value is bound.
        let sql = format!(
            "INSERT INTO jobs (id, line, provider, body, idempotency_key, resolution,
                video_seconds, credits, output_name, state, created_at, updated_at)
             VALUES {} ON CONFLICT DO NOTHING RETURNING id",
            rows.join(", ")
        );
        let mut params = Vec::with_capacity(chunk.len() * 11);
        for (job, body) in chunk.iter().zip(&bodies) {
            params.extend([
                Param::text(&job.id),
                Param::Int(job.line.map(signed)),
                Param::text(job.provider.name()),
                Param::text(body),
                Param::opt_text(job.idempotency_key.clone()),
                Param::text(&job.resolution),
                Param::int(job.video_seconds),
                Param::Int(job.credits.map(signed)),
                Param::text(&job.output_name),
                Param::int(now),
                Param::int(now),
            ]);
        }
        let inserted = tx.query(&sql, &params).await.map_err(err)?;
        let inserted: std::collections::HashSet<String> = inserted
            .iter()
            .map(|row| row.text("id"))
            .collect::<Result<_, _>>()?;
        done.inserted += inserted.len() as u64;
        for (job, body) in chunk.iter().zip(&bodies) {
            if !inserted.contains(&job.id) {
                compare_existing(&mut *tx, job, body, &mut done).await?;
            }
        }
    }
    tx.commit().await.map_err(err)?;
    Ok(done)
}

/// A job that was already there: recorded by an earlier run, or by another worker enqueueing
/// the same file at the same moment (every unique column is a conflict, so concurrent
/// enqueues wait for each other instead of failing).
async fn compare_existing(
    tx: &mut dyn Tx,
    job: &NewJob,
    body: &str,
    done: &mut Enqueued,
) -> Result<(), Error> {
    let rows = tx
        .query(
            "SELECT provider, body FROM jobs WHERE id = $1",
            &[Param::text(&job.id)],
        )
        .await
        .map_err(|e| db_error("recording jobs", e))?;
    match rows.first() {
        // Not this id: another job holds its key.
        None => done.conflicts.push((job.id.clone(), job.line)),
        Some(row) => {
            if row.text("provider")? == job.provider.name() && row.text("body")? == body {
                done.existing += 1;
            } else {
                done.conflicts.push((job.id.clone(), job.line));
            }
        }
    }
    Ok(())
}

/// The condition that keeps queued jobs unclaimed while `$5` tasks (a negative `$5`: no
/// limit) are being submitted or running at the provider.
pub(super) fn in_flight_room() -> String {
    format!(
        "(state <> '{}' OR $5 < 0 OR (SELECT COUNT(*) FROM jobs AS f WHERE f.state IN ('{}', '{}')) < $5)",
        JobState::Queued,
        JobState::Submitting,
        JobState::Submitted
    )
}

pub(crate) async fn claim(
    engine: &dyn Engine,
    owner: &str,
    lease: Duration,
    limit: u32,
    max_in_flight: Option<u32>,
) -> Result<Vec<Job>, Error> {
    let now = now_millis();
    let sql = format!(
        "UPDATE jobs SET lease_owner = $1, lease_until = $2, fence = fence + 1
         WHERE seq IN (
            SELECT seq FROM jobs
            WHERE state IN ({}) AND (lease_until IS NULL OR lease_until < $3) AND next_at <= $3
              AND {}
            ORDER BY {}, seq LIMIT $4 {}) RETURNING *",
        sql_states(|f| f.step.is_some()),
        in_flight_room(),
        super::super::lifecycle::sql_claim_order(),
        engine.dialect().row_lock(),
    );
    let rows = engine
        .query(
            &sql,
            &[
                Param::text(owner),
                Param::int(now.saturating_add(millis(lease))),
                Param::int(now),
                Param::int(limit),
                Param::int(max_in_flight.map_or(-1, i64::from)),
            ],
        )
        .await
        .map_err(|e| db_error("claiming jobs", e))?;
    let mut jobs = rows
        .iter()
        .map(|row| job_from_row(&row))
        .collect::<Result<Vec<_>, _>>()?;
    jobs.sort_by_key(|job| (job.state.facts().claim_order, job.seq));
    Ok(jobs)
}

pub(crate) async fn renew(
    engine: &dyn Engine,
    owner: &str,
    lease: Duration,
) -> Result<Vec<Lease>, Error> {
    let until = now_millis().saturating_add(millis(lease));
    let rows = engine
        .query(
            "UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2 RETURNING id, fence",
            &[Param::int(until), Param::text(owner)],
        )
        .await
        .map_err(|e| db_error("renewing leases", e))?;
    rows.iter()
        .map(|row| {
            Ok(Lease {
                job: row.text("id")?,
                owner: owner.to_owned(),
                fence: row.int("fence")?,
            })
        })
        .collect()
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

pub(crate) async fn release(engine: &dyn Engine, lease: &Lease) -> Result<(), Error> {
    engine
        .query(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 AND fence = $3 RETURNING id",
            &[
                Param::text(&lease.job),
                Param::text(&lease.owner),
                Param::int(lease.fence),
            ],
        )
        .await
        .map_err(|e| db_error("releasing a job", e))?;
    Ok(())
}

/// Applies `change` to the job `lease` holds, in one transaction: the lease and the states
/// the transition may come from are checked on the row as it is, the budget (for a first
/// submit, under caps) against what the ledger holds as committed, then the change and its
/// event are recorded.
pub(crate) async fn apply(
    engine: &dyn Engine,
    lease: &Lease,
    change: &Transition,
    after: &After,
) -> Result<Job, Error> {
    let (rule, own) = change.rule();
    let context = format!("recording {} for job {}", rule.described, lease.job);
    let err = |e| db_error(&context, e);
    let mut tx = engine.begin().await.map_err(err)?;
    if let Transition::Submitting {
        budget,
        max_in_flight,
        ..
    } = change
    {
        if budget.is_capped() || max_in_flight.is_some() {
            if let Some(lock) = engine.dialect().exclusive(BUDGET_LOCK) {
                tx.query(&lock, &[]).await.map_err(err)?;
            }
        }
    }
    let sql = format!(
        "SELECT * FROM jobs WHERE id = $1 {}",
        engine.dialect().for_update()
    );
    let before = tx
        .query(&sql, &[Param::text(&lease.job)])
        .await
        .map_err(err)?;
    let Some(before) = before.first().map(|row| job_from_row(&row)).transpose()? else {
        return Err(Error::ledger(format!(
            "no job {:?} in the ledger",
            lease.job
        )));
    };
    refused(&before, lease, rule)?;
    if let Transition::Submitting {
        budget,
        max_in_flight,
        ..
    } = change
    {
        if before.state == JobState::Queued && budget.is_capped() {
            check_budget(&mut *tx, &before, budget).await?;
        }
        if let Some(limit) = max_in_flight {
            check_in_flight(&mut *tx, &before, *limit).await?;
        }
    }
    let sql = rule.sql(after, own.len());
    let mut params = vec![
        Param::text(&lease.job),
        Param::text(&lease.owner),
        Param::int(lease.fence),
        Param::int(now_millis()),
    ];
    params.extend(own);
    params.extend(super::super::lifecycle::Rule::after_params(after));
    let rows = match tx.query(&sql, &params).await {
        Ok(rows) => rows,
        // The answer's task id is another job's (the only unique column it sets).
        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            drop(tx);
            if let Transition::Submitted { task_id, .. } = change {
                return Err(task_taken(engine, lease, task_id).await);
            }
            return Err(Error::ledger(format!("{context}: {db}")));
        }
        Err(e) => return Err(err(e)),
    };
    let job = one_job(&rows, || {
        Error::ledger(format!("job {}: {context} changed no row", lease.job))
    })?;
    let event = NewEvent::of(&job, rule.name, Some(before.state))
        .worker(&lease.owner)
        .error(change.error())
        .http_status(after.http_status);
    log(&mut *tx, &event).await.map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(job)
}

/// Why a fenced write to `before` (as the ledger holds it) is refused, if it is.
fn refused(before: &Job, lease: &Lease, rule: &super::super::lifecycle::Rule) -> Result<(), Error> {
    match &before.lease {
        Some(held) if held.owner == lease.owner && held.fence == lease.fence => {}
        _ => {
            return Err(Error::LeaseLost {
                job: lease.job.clone(),
            })
        }
    }
    if !rule.allows(before.state) {
        return Err(Error::NotAllowed {
            job: before.id.clone(),
            change: rule.described,
            state: before.state.name().to_owned(),
        });
    }
    Ok(())
}

/// Refuses a submit while `limit` tasks (other jobs', every worker's) are being submitted or
/// running at the provider.
async fn check_in_flight(tx: &mut dyn Tx, job: &Job, limit: u32) -> Result<(), Error> {
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM jobs WHERE state IN ('{}', '{}') AND id <> $1",
        JobState::Submitting,
        JobState::Submitted
    );
    let rows = tx
        .query(&sql, &[Param::text(&job.id)])
        .await
        .map_err(|e| db_error("counting the tasks in flight", e))?;
    let running = match rows.first() {
        Some(row) => row.unsigned("n")?,
        None => 0,
    };
    if running >= u64::from(limit) {
        return Err(Error::InFlightLimit { limit });
    }
    Ok(())
}

/// Refuses the first submit of `job` when what the ledger holds as committed plus its cost
/// goes past `budget` (run inside the submit's transaction, after the budget lock).
async fn check_budget(tx: &mut dyn Tx, job: &Job, budget: &Budget) -> Result<(), Error> {
    let rows = tx
        .query(super::read::COMMITTED_SQL, &[])
        .await
        .map_err(|e| db_error("reading the committed budget", e))?;
    let committed = super::read::committed_from(&rows)?;
    let cost = Committed {
        rows: vec![CommittedRow {
            provider: job.provider,
            resolution: job.resolution.clone(),
            jobs: 1,
            video_seconds: u64::from(job.video_seconds),
            credits: job.credits,
        }],
    };
    budget.check(&committed, &cost)
}

/// The first row of `rows` as a job, or `none()`.
fn one_job(rows: &Rows, none: impl FnOnce() -> Error) -> Result<Job, Error> {
    match rows.first() {
        Some(row) => job_from_row(&row),
        None => Err(none()),
    }
}

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
    for row in rows.iter() {
        let job = job_from_row(&row)?;
        let event = NewEvent::of(&job, "settled", Some(JobState::Uncertain));
        log(&mut *tx, &event.error(Some(note))).await.map_err(err)?;
    }
    tx.commit().await.map_err(err)?;
    Ok(rows.len() as u64)
}

/// [`Ledger::retry`](super::super::Ledger::retry) submitting anew: the task and everything it
/// left are cleared; a billed task (any but a refused submit's) is counted in
/// `earlier_tasks`, so the budget keeps paying for it.
const RETRY_SUBMIT_SQL: &str = "UPDATE jobs SET state = 'queued',
        earlier_tasks = earlier_tasks + CASE WHEN refused THEN 0 ELSE 1 END, refused = FALSE,
        task_id = NULL, status = NULL, output_url = NULL, output_expires_at = NULL,
        output_expired = FALSE, file = NULL, bytes = NULL, sha256 = NULL, submitting_at = NULL,
        submitted_at = NULL, finished_at = NULL, task_seconds = NULL, callback_url = NULL,
        heard_at = NULL, progress = NULL, deliveries = 0, step_state = NULL, next_at = 0,
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
            log(&mut *tx, &event.error(Some(&retry.note)))
                .await
                .map_err(err)?;
            moved = moved.saturating_add(1);
        }
    }
    tx.commit().await.map_err(err)?;
    Ok(moved)
}

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
        HeardEvent::Failed(error) => params.push(Param::text(error)),
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
        log(&mut *tx, &event.error(error.flatten()))
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
                log(&mut *tx, &event).await.map_err(err)?;
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
