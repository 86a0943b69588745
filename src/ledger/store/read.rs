//! The ledger's reads, written once over an [`Engine`].

use super::super::{
    engine::{Engine, Param, Rows},
    from_millis,
    lifecycle::sql_states,
    now_millis,
    rows::{db_error, event_from_row, job_from_row, Columns},
    Attention, Callbacks, Committed, CommittedRow, Event, Job, Lease, Outlook, Summary, TaskTime,
};
use crate::{Error, Provider};
use chrono::{DateTime, Utc};

async fn query(
    engine: &dyn Engine,
    context: &str,
    sql: &str,
    params: &[Param],
) -> Result<Rows, Error> {
    engine
        .read(sql, params)
        .await
        .map_err(|e| db_error(context, e))
}

fn jobs_of(rows: &Rows) -> Result<Vec<Job>, Error> {
    rows.iter().map(|row| job_from_row(&row)).collect()
}

pub(crate) async fn fetch_job(engine: &dyn Engine, id: &str) -> Result<Option<Job>, Error> {
    let rows = query(
        engine,
        "reading a job",
        "SELECT * FROM jobs WHERE id = $1",
        &[Param::text(id)],
    )
    .await?;
    rows.first().map(|row| job_from_row(&row)).transpose()
}

/// [`Error::TaskTaken`] for `lease.job`, naming the job that holds `task_id`.
pub(crate) async fn task_taken(engine: &dyn Engine, lease: &Lease, task_id: &str) -> Error {
    let job = fetch_job(engine, &lease.job).await.ok().flatten();
    let provider = job.as_ref().map_or(Provider::HiApi, |job| job.provider);
    let holder = query(
        engine,
        "reading the job that holds a task",
        "SELECT id FROM jobs WHERE provider = $1 AND task_id = $2",
        &[Param::text(provider.name()), Param::text(task_id)],
    )
    .await
    .ok()
    .and_then(|rows| rows.first().and_then(|row| row.text("id").ok()));
    Error::TaskTaken {
        job: lease.job.clone(),
        provider,
        task_id: task_id.to_owned(),
        holder,
    }
}

pub(crate) async fn jobs(engine: &dyn Engine) -> Result<Vec<Job>, Error> {
    jobs_of(
        &query(
            engine,
            "reading jobs",
            "SELECT * FROM jobs ORDER BY seq",
            &[],
        )
        .await?,
    )
}

/// What the ledger holds as committed: every billed task (earlier tries' and the current
/// one's, unless it is still queued or its submit was refused), per provider and resolution.
pub(crate) const COMMITTED_SQL: &str =
    "SELECT provider, resolution, CAST(COUNT(*) AS BIGINT) AS jobs,
        CAST(SUM(video_seconds * tasks) AS BIGINT) AS seconds,
        CAST(SUM(credits * tasks) AS BIGINT) AS credits,
        CAST(COUNT(credits) AS BIGINT) AS priced
     FROM (SELECT provider, resolution, video_seconds, credits, earlier_tasks
            + CASE WHEN state <> 'queued' AND NOT refused THEN 1 ELSE 0 END AS tasks
           FROM jobs) AS billed
     WHERE tasks > 0 GROUP BY provider, resolution ORDER BY provider, resolution";

/// Rows of [`COMMITTED_SQL`] (or of the queued jobs' cost) as [`Committed`]; credits only
/// where every job of the row has a documented price.
pub(crate) fn committed_from(rows: &Rows) -> Result<Committed, Error> {
    let mut committed = Committed::default();
    for row in rows.iter() {
        let jobs = row.unsigned("jobs")?;
        let priced = row.unsigned("priced")?;
        committed.rows.push(CommittedRow {
            provider: row.provider("provider")?,
            resolution: row.text("resolution")?,
            jobs,
            video_seconds: row.unsigned("seconds")?,
            credits: if priced == jobs {
                row.opt_unsigned("credits")?
            } else {
                None
            },
        });
    }
    Ok(committed)
}

pub(crate) async fn summary(engine: &dyn Engine) -> Result<Summary, Error> {
    let context = "summarising the ledger";
    let mut states = Vec::new();
    let rows = query(
        engine,
        context,
        "SELECT state, CAST(COUNT(*) AS BIGINT) AS n FROM jobs GROUP BY state",
        &[],
    )
    .await?;
    for row in rows.iter() {
        states.push((row.state("state")?, row.unsigned("n")?));
    }
    states.sort();
    let committed = committed_from(&query(engine, context, COMMITTED_SQL, &[]).await?)?;
    let sql = format!(
        "SELECT id, state, provider, task_id, error FROM jobs WHERE state IN ({}) ORDER BY seq",
        sql_states(|f| f.attention)
    );
    let mut attention = Vec::new();
    for row in query(engine, context, &sql, &[]).await?.iter() {
        attention.push(Attention {
            id: row.text("id")?,
            state: row.state("state")?,
            provider: row.provider("provider")?,
            task_id: row.opt_text("task_id")?,
            error: row.opt_text("error")?,
        });
    }
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) AS jobs, CAST(COUNT(heard_at) AS BIGINT) AS heard,
            CAST(SUM(CASE WHEN heard_at IS NULL AND state IN ({}) AND NOT refused
                THEN 1 ELSE 0 END) AS BIGINT) AS reconciled
         FROM jobs WHERE callback_url IS NOT NULL",
        super::super::lifecycle::sql_task_ended()
    );
    let rows = query(engine, context, &sql, &[]).await?;
    let callbacks = match rows.first() {
        Some(row) => Callbacks {
            jobs: row.unsigned("jobs")?,
            heard: row.unsigned("heard")?,
            reconciled: row.unsigned("reconciled")?,
        },
        None => Callbacks::default(),
    };
    Ok(Summary {
        states,
        committed,
        attention,
        callbacks,
    })
}

pub(crate) async fn task_times(engine: &dyn Engine, per_kind: u32) -> Result<Vec<TaskTime>, Error> {
    let rows = query(
        engine,
        "reading task times",
        "SELECT provider, resolution, video_seconds, task_seconds FROM (
            SELECT provider, resolution, video_seconds, task_seconds,
                ROW_NUMBER() OVER (PARTITION BY provider, resolution, video_seconds
                                   ORDER BY finished_at DESC) AS n
            FROM jobs WHERE task_seconds IS NOT NULL) AS recent
         WHERE n <= $1",
        &[Param::int(per_kind)],
    )
    .await?;
    let mut times = Vec::with_capacity(rows.len());
    for row in rows.iter() {
        times.push(TaskTime {
            provider: row.provider("provider")?,
            resolution: row.text("resolution")?,
            video_seconds: u32::try_from(row.int("video_seconds")?).unwrap_or(0),
            seconds: row.opt_real("task_seconds")?.unwrap_or(f64::NAN),
        });
    }
    Ok(times)
}

pub(crate) async fn jobs_by_id(engine: &dyn Engine, ids: &[String]) -> Result<Vec<Job>, Error> {
    let mut found = Vec::new();
    // Well under both engines' limits on bound parameters.
    for chunk in ids.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        // Only generated `$N` placeholders are formatted in; the ids are bound.
        let sql = format!(
            "SELECT * FROM jobs WHERE id IN ({})",
            placeholders.join(", ")
        );
        let params: Vec<Param> = chunk.iter().map(Param::text).collect();
        found.extend(jobs_of(
            &query(engine, "reading jobs by id", &sql, &params).await?,
        )?);
    }
    Ok(found)
}

pub(crate) async fn queued(engine: &dyn Engine) -> Result<Committed, Error> {
    let rows = query(
        engine,
        "counting the jobs to submit",
        "SELECT provider, resolution, CAST(COUNT(*) AS BIGINT) AS jobs,
            CAST(SUM(video_seconds) AS BIGINT) AS seconds,
            CAST(SUM(credits) AS BIGINT) AS credits,
            CAST(COUNT(credits) AS BIGINT) AS priced
         FROM jobs WHERE state = 'queued' GROUP BY provider, resolution
         ORDER BY provider, resolution",
        &[],
    )
    .await?;
    committed_from(&rows)
}

pub(crate) async fn claimable_providers(engine: &dyn Engine) -> Result<Vec<Provider>, Error> {
    let sql = format!(
        "SELECT DISTINCT provider FROM jobs WHERE state IN ({})",
        sql_states(|f| f.step.is_some())
    );
    let rows = query(engine, "reading the providers of the jobs to do", &sql, &[]).await?;
    rows.iter().map(|row| row.provider("provider")).collect()
}

pub(crate) async fn events(engine: &dyn Engine, job: &str) -> Result<Vec<Event>, Error> {
    let rows = query(
        engine,
        "reading a job's history",
        "SELECT * FROM job_events WHERE job_id = $1 ORDER BY seq",
        &[Param::text(job)],
    )
    .await?;
    rows.iter().map(|row| event_from_row(&row)).collect()
}

/// What is left for `owner` once it found nothing to claim.
pub(crate) async fn outlook(
    engine: &dyn Engine,
    owner: &str,
    max_in_flight: Option<u32>,
) -> Result<Outlook, Error> {
    let now = now_millis();
    let sql = format!(
        "SELECT
            CAST(SUM(CASE WHEN (lease_until IS NULL OR lease_until < $2) AND next_at < $4 THEN 1 ELSE 0 END) AS BIGINT) AS waiting,
            CAST(MIN(CASE WHEN (lease_until IS NULL OR lease_until < $2) AND next_at < $4 AND {room} THEN next_at END) AS BIGINT) AS next_due,
            CAST(SUM(CASE WHEN lease_until >= $2 AND lease_owner <> $1 THEN 1 ELSE 0 END) AS BIGINT) AS elsewhere,
            CAST(MIN(CASE WHEN lease_until >= $2 AND lease_owner <> $1 THEN lease_until END) AS BIGINT) AS expiry
         FROM jobs WHERE state IN ({claimable})",
        room = super::write::in_flight_room().replace("$5", "$3"),
        claimable = sql_states(|f| f.step.is_some()),
    );
    let rows = query(
        engine,
        "looking at the jobs left",
        &sql,
        &[
            Param::text(owner),
            Param::int(now),
            Param::int(max_in_flight.map_or(-1, i64::from)),
            Param::int(super::super::DEFERRED_MS),
        ],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(Outlook::default());
    };
    Ok(Outlook {
        waiting: row.unsigned("waiting")?,
        next_due: row.opt_int("next_due")?.map(from_millis),
        held_elsewhere: row.unsigned("elsewhere")?,
        next_expiry: row.opt_int("expiry")?.map(from_millis),
    })
}

/// When the first job a worker can claim is due (it may be now): the due index read in
/// order, past the few rows leased now.
pub(crate) async fn next_due(
    engine: &dyn Engine,
    max_in_flight: Option<u32>,
) -> Result<Option<DateTime<Utc>>, Error> {
    let sql = format!(
        "SELECT next_at FROM jobs {}
         WHERE next_at < $3 AND state IN ({}) AND (lease_until IS NULL OR lease_until < $1)
           AND {}
         ORDER BY next_at LIMIT 1",
        engine.dialect().due_index(),
        sql_states(|f| f.step.is_some()),
        super::write::in_flight_room().replace("$5", "$2"),
    );
    let rows = query(
        engine,
        "looking for the next due job",
        &sql,
        &[
            Param::int(now_millis()),
            Param::int(max_in_flight.map_or(-1, i64::from)),
            Param::int(super::super::DEFERRED_MS),
        ],
    )
    .await?;
    rows.first()
        .map(|row| Ok(from_millis(row.int("next_at")?)))
        .transpose()
}

/// The newest event's number (0: none yet).
pub(crate) async fn event_seq(engine: &dyn Engine) -> Result<i64, Error> {
    let rows = query(
        engine,
        "reading the history",
        "SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) AS seq FROM job_events",
        &[],
    )
    .await?;
    Ok(match rows.first() {
        Some(row) => row.opt_int("seq")?.unwrap_or(0),
        None => 0,
    })
}

/// Up to `limit` events recorded after `seq` (of one kind, if given), oldest first.
pub(crate) async fn events_after(
    engine: &dyn Engine,
    seq: i64,
    limit: u32,
    kind: Option<&str>,
) -> Result<Vec<Event>, Error> {
    let (sql, params) = match kind {
        Some(kind) => (
            "SELECT * FROM job_events WHERE event = $3 AND seq > $1 ORDER BY seq LIMIT $2",
            vec![Param::int(seq), Param::int(limit), Param::text(kind)],
        ),
        None => (
            "SELECT * FROM job_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            vec![Param::int(seq), Param::int(limit)],
        ),
    };
    let rows = query(engine, "reading the history", sql, &params).await?;
    rows.iter().map(|row| event_from_row(&row)).collect()
}
