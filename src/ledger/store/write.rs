//! The ledger's writes, written once over an [`Engine`]: every change to a job is one
//! transaction that checks the lease and the lifecycle, records the change and appends it to
//! the event history.

use std::{collections::HashMap, time::Duration};

use super::{
    super::{
        engine::{Engine, Param, Rows, Tx},
        lifecycle::sql_states,
        millis, now_millis,
        rows::{db_error, job_from_row, signed, Columns},
        After, Budget, Committed, CommittedRow, Enqueued, Job, JobState, Lease, NewJob, Transition,
    },
    events::{log, NewEvent},
    read::task_taken,
};
use crate::{client::canonical_json, request::prompt_of, Error};

/// Rows per `INSERT` when recording jobs: 12 parameters each, well under both engines' limits
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
                let n = i * 12;
                let p: Vec<String> = (1..=12).map(|k| format!("${}", n + k)).collect();
                format!("({}, 'queued', {})", p[..9].join(", "), p[9..].join(", "))
            })
            .collect();
        // Only generated `$N` placeholders are formatted in; every value is bound.
        let sql = format!(
            "INSERT INTO jobs (id, line, provider, body, idempotency_key, resolution,
                video_seconds, credits, output_name, state, created_at, updated_at, prompt)
             VALUES {} ON CONFLICT DO NOTHING RETURNING id",
            rows.join(", ")
        );
        let mut params = Vec::with_capacity(chunk.len() * 12);
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
                Param::opt_text(prompt_of(job.provider, &job.body).map(str::to_owned)),
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
        "UPDATE jobs SET lease_owner = $1, lease_until = $2, next_at = $2, fence = fence + 1
         WHERE seq IN (
            SELECT seq FROM jobs {}
            WHERE state IN ({}) AND (lease_until IS NULL OR lease_until < $3) AND next_at <= $3
              AND {}
            ORDER BY {}, next_at, seq LIMIT $4 {}) RETURNING *",
        engine.dialect().due_index(),
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
            "UPDATE jobs SET lease_until = $1,
                next_at = CASE WHEN next_at >= lease_until THEN $1 ELSE next_at END
             WHERE lease_owner = $2 RETURNING id, fence",
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

pub(crate) async fn release(engine: &dyn Engine, lease: &Lease) -> Result<(), Error> {
    engine
        .query(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, next_at = 0
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
    let limited = matches!(change, Transition::Submitting { budget, max_in_flight, .. }
        if budget.is_capped() || max_in_flight.is_some());
    if let Some(lock) = engine.dialect().exclusive(BUDGET_LOCK).filter(|_| limited) {
        tx.query(&lock, &[]).await.map_err(err)?;
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
        return Err(no_job(lease));
    };
    refused(&before, lease, rule)?;
    check_limits(&mut *tx, &before, change).await?;
    let rows = match tx
        .query(
            &rule.sql(after, own.len()),
            &fenced_params(lease, own, after),
        )
        .await
    {
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
    let job = changed(&rows, lease, &context)?;
    let event = NewEvent::of(&job, rule.name, Some(before.state))
        .worker(&lease.owner)
        .error(change.error())
        .http_status(after.http_status);
    log(&mut *tx, &[event]).await.map_err(err)?;
    tx.commit().await.map_err(err)?;
    Ok(job)
}

/// Jobs per `SELECT` of the rows [`apply_many`] changes.
const GROUP_IDS: usize = 500;

/// Applies many changes in one transaction (one commit, one flush to disk): each is checked
/// and recorded as [`apply`] does, and refused on its own (its lease lost, the lifecycle)
/// without touching the others. Changes that take a lock or set a unique column (the
/// submit's two) are refused here: they are recorded one at a time. The outer error is the
/// database's: then nothing was recorded.
pub(crate) async fn apply_many(
    engine: &dyn Engine,
    changes: &[(Lease, Transition, After)],
) -> Result<Vec<Result<Job, Error>>, Error> {
    let context = format!("recording {} changes", changes.len());
    let err = |e| db_error(&context, e);
    let mut results = Vec::with_capacity(changes.len());
    if changes.is_empty() {
        return Ok(results);
    }
    let mut tx = engine.begin().await.map_err(err)?;
    // The rows as they are, locked in one order (two workers' groups never wait on each
    // other in a circle).
    let mut ids: Vec<&str> = changes
        .iter()
        .map(|(lease, ..)| lease.job.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(GROUP_IDS) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT * FROM jobs WHERE id IN ({}) ORDER BY id {}",
            marks.join(", "),
            engine.dialect().for_update()
        );
        let params: Vec<Param> = chunk.iter().map(|id| Param::text(*id)).collect();
        for row in tx.query(&sql, &params).await.map_err(err)?.iter() {
            let job = job_from_row(&row)?;
            rows.insert(job.id.clone(), job);
        }
    }
    // Each change checked on its own; those allowed are written a statement per shape (the
    // same transition, the same parts of `After`): one round trip for many rows.
    let mut outcome: Vec<Option<Result<Job, Error>>> = Vec::with_capacity(changes.len());
    let mut shapes: Vec<(String, Vec<usize>)> = Vec::new();
    let mut params_of: Vec<Vec<Param>> = Vec::with_capacity(changes.len());
    let mut from_of = Vec::with_capacity(changes.len());
    let mut accepted = std::collections::HashSet::new();
    for (i, (lease, change, after)) in changes.iter().enumerate() {
        let (rule, own) = change.rule();
        params_of.push(Vec::new());
        from_of.push(None);
        let refusal = match rows.get(&lease.job) {
            None => Some(no_job(lease)),
            Some(_)
                if matches!(
                    change,
                    Transition::Submitting { .. } | Transition::Submitted { .. }
                ) =>
            {
                Some(Error::ledger(format!(
                    "job {}: {} is recorded on its own, not in a group",
                    lease.job, rule.described
                )))
            }
            Some(_) if !accepted.insert(lease.job.as_str()) => Some(Error::ledger(format!(
                "job {}: two changes in one group",
                lease.job
            ))),
            Some(before) => refused(before, lease, rule).err(),
        };
        if let Some(refusal) = refusal {
            outcome.push(Some(Err(refusal)));
            continue;
        }
        outcome.push(None);
        from_of[i] = rows.get(&lease.job).map(|before| before.state);
        let own_len = own.len();
        params_of[i] = fenced_params(lease, own, after);
        let sql = rule.sql(after, own_len);
        match shapes.iter_mut().find(|(shape, _)| *shape == sql) {
            Some((_, members)) => members.push(i),
            None => shapes.push((sql, vec![i])),
        }
    }
    for (sql, members) in &shapes {
        let width = params_of[members[0]].len().max(1);
        for chunk in members.chunks((GROUP_PARAMS / width).max(1)) {
            let many = many_rows(sql, width, chunk.len());
            let params: Vec<Param> = chunk
                .iter()
                .flat_map(|&i| std::mem::take(&mut params_of[i]))
                .collect();
            let written = tx.query(&many, &params).await.map_err(err)?;
            let mut by_id = HashMap::with_capacity(chunk.len());
            for row in written.iter() {
                let job = job_from_row(&row)?;
                by_id.insert(job.id.clone(), job);
            }
            for &i in chunk {
                let lease = &changes[i].0;
                let job = by_id.remove(&lease.job).ok_or_else(|| {
                    Error::ledger(format!("job {}: {context} changed no row", lease.job))
                })?;
                outcome[i] = Some(Ok(job));
            }
        }
    }
    let mut events = Vec::new();
    for (i, (lease, change, after)) in changes.iter().enumerate() {
        if let (Some(Ok(job)), Some(from)) = (&outcome[i], from_of[i]) {
            events.push(
                NewEvent::of(job, change.rule().0.name, Some(from))
                    .worker(&lease.owner)
                    .error(change.error())
                    .http_status(after.http_status),
            );
        }
    }
    log(&mut *tx, &events).await.map_err(err)?;
    tx.commit().await.map_err(err)?;
    for result in outcome {
        results.push(result.unwrap_or_else(|| {
            Err(Error::ledger(format!(
                "{context}: a change was left unwritten"
            )))
        }));
    }
    Ok(results)
}

/// Parameters per statement of [`apply_many`]'s writes: SQLite's driver binds each by a
/// search of the statement's names, so the cost of binding grows with the square of their
/// number.
const GROUP_PARAMS: usize = 480;

/// A fenced one-row statement (`UPDATE jobs SET ... WHERE id = $1 ...`, parameters `$1` to
/// `$width`) made into one for `rows` rows: the rows' parameters come as a table `v` of
/// columns `c1`..`c{width}`, and each `$k` becomes `v.ck`.
fn many_rows(sql: &str, width: usize, rows: usize) -> String {
    let columns: Vec<String> = (1..=width).map(|k| format!("c{k}")).collect();
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|k| format!("${}", r * width + k)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let mut body = String::with_capacity(sql.len() + 64);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            body.push_str("v.c");
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                body.push(d);
            }
        } else {
            body.push(c);
        }
    }
    let body = body.replacen(" WHERE ", " FROM v WHERE ", 1);
    format!(
        "WITH v ({}) AS (VALUES {}) {body}",
        columns.join(", "),
        values.join(", ")
    )
}

fn no_job(lease: &Lease) -> Error {
    Error::ledger(format!("no job {:?} in the ledger", lease.job))
}

/// A fenced statement's parameters: `$1` job, `$2` owner, `$3` fence, `$4` now, then the
/// transition's own, then `after`'s.
fn fenced_params(lease: &Lease, own: Vec<Param>, after: &After) -> Vec<Param> {
    let mut params = vec![
        Param::text(&lease.job),
        Param::text(&lease.owner),
        Param::int(lease.fence),
        Param::int(now_millis()),
    ];
    params.extend(own);
    params.extend(super::super::lifecycle::Rule::after_params(after));
    params
}

/// The job a fenced statement changed (it was checked just before, in the same transaction).
fn changed(rows: &Rows, lease: &Lease, context: &str) -> Result<Job, Error> {
    one_job(rows, || {
        Error::ledger(format!("job {}: {context} changed no row", lease.job))
    })
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

/// A first submit's checks (the budget, the tasks in flight), inside its transaction, after
/// the lock that makes them one at a time across workers.
async fn check_limits(tx: &mut dyn Tx, before: &Job, change: &Transition) -> Result<(), Error> {
    let Transition::Submitting {
        budget,
        max_in_flight,
        ..
    } = change
    else {
        return Ok(());
    };
    if before.state == JobState::Queued && budget.is_capped() {
        check_budget(tx, before, budget).await?;
    }
    if let Some(limit) = max_in_flight {
        check_in_flight(tx, before, *limit).await?;
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
