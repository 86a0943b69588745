//! What the SQLite and PostgreSQL ledgers share, written once: the statements are the same
//! (`$N` parameters and `CAST`, which both read), and so is the code around them. Each backend
//! provides `pool`, `begin_write()` (a transaction that takes the write lock where the engine
//! needs one) and `name()` (the ledger as messages show it); the macros expand into its
//! `impl` blocks, so the code is type-checked against each backend's own sqlx types.

/// Rows per `INSERT` when recording jobs: 11 parameters each, well under both engines' limits
/// on bound parameters.
pub(crate) const ENQUEUE_ROWS: usize = 200;

/// `migrate`, `fetch_job` and `refused`, for a backend's inherent `impl`. `$migrations` is its
/// list; `$schema_lock` an optional statement run first in the migration's transaction (one
/// migrator at a time across processes).
macro_rules! ledger_inherent_methods {
    ($migrations:expr, $schema_lock:expr) => {
    async fn migrate(&self) -> Result<(), Error> {
        let context = format!("migrating {}", self.name());
        let mut tx = self.begin_write().await.map_err(|e| db_error(&context, e))?;
        if let Some(lock) = $schema_lock {
            sqlx::query(lock)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(&context, e))?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS happyhorse_migrations (
                version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&context, e))?;
        let applied: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM happyhorse_migrations",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error(&context, e))?;
        let known = $migrations.last().map_or(0, |m| m.version);
        if applied > known {
            return Err(Error::Ledger {
                message: format!(
                    "{} has schema version {applied}, newer than this build knows ({known}); use a newer happyhorse",
                    self.name()
                ),
            });
        }
        for migration in $migrations.iter().filter(|m| m.version > applied) {
            sqlx::raw_sql(migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(&context, e))?;
            sqlx::query("INSERT INTO happyhorse_migrations (version, description, applied_at) VALUES ($1, $2, $3)")
                .bind(migration.version)
                .bind(migration.description)
                .bind(now_millis())
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(&context, e))?;
            tracing::info!(
                version = migration.version,
                description = migration.description,
                "ledger migrated"
            );
        }
        tx.commit().await.map_err(|e| db_error(&context, e))
    }

    /// Refuses a ledger whose schema is not the last of `migrations`, without changing it.
    async fn check_schema(&self, migrations: &[super::migrations::Migration]) -> Result<(), Error> {
        let context = format!("reading {}", self.name());
        let applied: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM happyhorse_migrations",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| db_error(&context, e))?;
        let known = migrations.last().map_or(0, |m| m.version);
        if applied != known {
            return Err(Error::Ledger {
                message: format!(
                    "{} has schema version {applied} and this build reads {known}; opened to read only, it is neither {}",
                    self.name(),
                    if applied > known { "read by an older build nor changed" } else { "misread nor upgraded (opening it to write upgrades it)" }
                ),
            });
        }
        Ok(())
    }

    async fn fetch_job(&self, id: &str) -> Result<Option<Job>, Error> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("reading a job", e))?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// [`Error::TaskTaken`] for `lease.job`, naming the job that holds `task_id`.
    async fn task_taken(&self, lease: &Lease, task_id: &str) -> Error {
        let job = self.fetch_job(&lease.job).await.ok().flatten();
        let provider = job.as_ref().map_or(crate::Provider::HiApi, |job| job.provider);
        let holder: Option<String> =
            sqlx::query_scalar("SELECT id FROM jobs WHERE provider = $1 AND task_id = $2")
                .bind(provider.name())
                .bind(task_id)
                .fetch_optional(&self.pool)
                .await
                .ok()
                .flatten();
        Error::TaskTaken {
            job: lease.job.clone(),
            provider,
            task_id: task_id.to_owned(),
            holder,
        }
    }

    /// Why a fenced write to `lease.job` matched no row.
    async fn refused(&self, lease: &Lease, change: &Transition) -> Error {
        match self.fetch_job(&lease.job).await {
            Ok(Some(job)) => match &job.lease {
                Some(held) if held.owner == lease.owner && held.fence == lease.fence => {
                    Error::Ledger {
                        message: format!(
                            "job {}: cannot record {} while it is {}",
                            job.id,
                            transition_name(change),
                            job.state
                        ),
                    }
                }
                _ => Error::LeaseLost {
                    job: lease.job.clone(),
                },
            },
            Ok(None) => Error::Ledger {
                message: format!("no job {:?} in the ledger", lease.job),
            },
            Err(err) => err,
        }
    }
    };
}

/// Every [`Ledger`](super::Ledger) method but `begin_run`, for a backend's `impl Ledger`.
/// `$row_lock` ends the claim's row selection (PostgreSQL: `FOR UPDATE SKIP LOCKED`).
macro_rules! ledger_shared_methods {
    ($row_lock:literal) => {
    fn claim<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        limit: u32,
    ) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(async move {
            let now = now_millis();
            let rows = sqlx::query(concat!(
                "UPDATE jobs SET lease_owner = $1, lease_until = $2, fence = fence + 1
                 WHERE seq IN (
                    SELECT seq FROM jobs
                    WHERE state IN ('queued', 'submitting', 'submitted', 'succeeded')
                      AND (lease_until IS NULL OR lease_until < $3)
                    ORDER BY CASE state WHEN 'succeeded' THEN 0 WHEN 'submitted' THEN 1
                                        WHEN 'submitting' THEN 2 ELSE 3 END, seq
                    LIMIT $4 ",
                $row_lock,
                ") RETURNING *"
            ))
            .bind(owner)
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("claiming jobs", e))?;
            let mut jobs = rows
                .iter()
                .map(job_from_row)
                .collect::<Result<Vec<_>, _>>()?;
            jobs.sort_by_key(|job| (!matches!(job.state, JobState::Succeeded), job.seq));
            Ok(jobs)
        })
    }

    fn enqueue<'a>(&'a self, jobs: &'a [NewJob]) -> LedgerFuture<'a, Enqueued> {
        Box::pin(async move {
            let context = "recording jobs";
            let mut tx = self.begin_write().await.map_err(|e| db_error(context, e))?;
            let mut done = Enqueued::default();
            let now = now_millis();
            // Many rows per statement (a round trip each, not one per job): which ones went in
            // comes back from RETURNING.
            for chunk in jobs.chunks(super::shared::ENQUEUE_ROWS) {
                let bodies: Vec<String> = chunk
                    .iter()
                    .map(|job| crate::client::canonical_json(&job.body))
                    .collect();
                let rows: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let n = i * 11;
                        format!(
                            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 'queued', ${}, ${})",
                            n + 1, n + 2, n + 3, n + 4, n + 5, n + 6, n + 7, n + 8, n + 9,
                            n + 10, n + 11
                        )
                    })
                    .collect();
                // Only generated `$N` placeholders are formatted in; every value is bound.
                let sql = format!(
                    "INSERT INTO jobs (id, line, provider, body, idempotency_key, resolution,
                        video_seconds, credits, output_name, state, created_at, updated_at)
                     VALUES {} ON CONFLICT DO NOTHING RETURNING id",
                    rows.join(", ")
                );
                let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
                for (job, body) in chunk.iter().zip(&bodies) {
                    query = query
                        .bind(&job.id)
                        .bind(job.line.map(signed))
                        .bind(job.provider.name())
                        .bind(body)
                        .bind(&job.idempotency_key)
                        .bind(&job.resolution)
                        .bind(i64::from(job.video_seconds))
                        .bind(job.credits.map(signed))
                        .bind(&job.output_name)
                        .bind(now)
                        .bind(now);
                }
                let inserted: std::collections::HashSet<String> = query
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| db_error(context, e))?
                    .into_iter()
                    .collect();
                done.inserted += inserted.len() as u64;
                for (job, body) in chunk.iter().zip(&bodies) {
                    if inserted.contains(&job.id) {
                        continue;
                    }
                    // Already there: recorded by an earlier run, or by another worker
                    // enqueueing the same file at the same moment (every unique column is a
                    // conflict, so concurrent enqueues wait for each other instead of failing).
                    let row = sqlx::query("SELECT provider, body FROM jobs WHERE id = $1")
                        .bind(&job.id)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(|e| db_error(context, e))?;
                    let Some(row) = row else {
                        // Not this id: another job holds its key.
                        done.conflicts.push((job.id.clone(), job.line));
                        continue;
                    };
                    let (provider, recorded): (String, String) =
                        (get(&row, "provider")?, get(&row, "body")?);
                    if provider == job.provider.name() && &recorded == body {
                        done.existing += 1;
                    } else {
                        done.conflicts.push((job.id.clone(), job.line));
                    }
                }
            }
            tx.commit().await.map_err(|e| db_error(context, e))?;
            Ok(done)
        })
    }

    fn renew<'a>(&'a self, owner: &'a str, lease: Duration) -> LedgerFuture<'a, u64> {
        Box::pin(async move {
            let until = now_millis().saturating_add(millis(lease));
            Ok(
                sqlx::query("UPDATE jobs SET lease_until = $1 WHERE lease_owner = $2")
                    .bind(until)
                    .bind(owner)
                    .execute(&self.pool)
                    .await
                    .map_err(|e| db_error("renewing leases", e))?
                    .rows_affected(),
            )
        })
    }

    fn apply<'a>(&'a self, lease: &'a Lease, change: Transition) -> LedgerFuture<'a, Job> {
        Box::pin(async move {
            let now = now_millis();
            let sql = transition_sql(&change);
            let query = sqlx::query(sql)
                .bind(&lease.job)
                .bind(&lease.owner)
                .bind(lease.fence)
                .bind(now);
            let query = match &change {
                Transition::Submitting { callback_url } => query.bind(callback_url),
                Transition::Submitted { task_id, status } => query.bind(task_id).bind(status),
                Transition::Status { status } => query.bind(status),
                Transition::Succeeded {
                    output,
                    task_seconds,
                } => query
                    .bind(&output.url)
                    .bind(output.expires_at.map(|t| t.timestamp_millis()))
                    .bind(output.expired)
                    .bind(task_seconds.is_finite().then_some(*task_seconds)),
                Transition::Downloaded {
                    file,
                    bytes,
                    sha256,
                } => query
                    .bind(file.to_string_lossy().into_owned())
                    .bind(signed(*bytes))
                    .bind(sha256),
                Transition::Failed { error }
                | Transition::Refused { error }
                | Transition::Expired { error }
                | Transition::Uncertain { error }
                | Transition::Requeue { error }
                | Transition::Lost { error }
                | Transition::Note { error } => query.bind(error),
            };
            // `fetch_all`, never `fetch_optional`: the statement must run to its end, where
            // SQLite commits (and reports a failed commit, such as a full disk); a statement
            // dropped after its first row would lose that error and report the write as done.
            let rows = match query.fetch_all(&self.pool).await {
                Ok(rows) => rows,
                // The answer's task id is another job's (the only unique column it sets).
                Err(sqlx::Error::Database(err)) if err.is_unique_violation() => {
                    if let Transition::Submitted { task_id, .. } = &change {
                        return Err(self.task_taken(lease, task_id).await);
                    }
                    return Err(db_error(
                        &format!("recording {} for job {}", transition_name(&change), lease.job),
                        err,
                    ));
                }
                Err(err) => {
                    return Err(db_error(
                        &format!("recording {} for job {}", transition_name(&change), lease.job),
                        err,
                    ))
                }
            };
            match rows.into_iter().next() {
                Some(row) => job_from_row(&row),
                None => Err(self.refused(lease, &change).await),
            }
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> LedgerFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND lease_owner = $2 AND fence = $3",
            )
            .bind(&lease.job)
            .bind(&lease.owner)
            .bind(lease.fence)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("releasing a job", e))?;
            Ok(())
        })
    }

    fn settle_uncertain<'a>(&'a self, to: JobState) -> LedgerFuture<'a, u64> {
        Box::pin(async move {
            let note = match to {
                JobState::Queued => "resubmitted by request after an uncertain submit",
                JobState::Skipped => {
                    "skipped by request after an uncertain submit; a task may exist at the provider"
                }
                other => {
                    return Err(Error::Ledger {
                        message: format!("an uncertain job can be queued or skipped, not {other}"),
                    })
                }
            };
            Ok(sqlx::query(
                "UPDATE jobs SET state = $1, error = $2, updated_at = $3 WHERE state = 'uncertain'",
            )
            .bind(to.name())
            .bind(note)
            .bind(now_millis())
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("settling uncertain jobs", e))?
            .rows_affected())
        })
    }

    fn retry<'a>(&'a self, retries: &'a [super::Retry]) -> LedgerFuture<'a, u64> {
        Box::pin(async move {
            let context = "putting failed jobs back to be tried again";
            let mut tx = self.begin_write().await.map_err(|e| db_error(context, e))?;
            let mut moved = 0u64;
            let now = now_millis();
            for retry in retries {
                let rows = match &retry.again {
                    super::Again::Download => sqlx::query(super::rows::RETRY_DOWNLOAD_SQL),
                    super::Again::Submit { idempotency_key } => {
                        sqlx::query(super::rows::RETRY_SUBMIT_SQL).bind(idempotency_key)
                    }
                }
                .bind(&retry.id)
                .bind(retry.state.name())
                .bind(i64::from(retry.attempts))
                .bind(now)
                .bind(&retry.note)
                .fetch_all(&mut *tx)
                .await
                .map_err(|e| db_error(context, e))?;
                moved = moved.saturating_add(rows.len() as u64);
            }
            tx.commit().await.map_err(|e| db_error(context, e))?;
            Ok(moved)
        })
    }

    fn jobs<'a>(&'a self) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(async move {
            sqlx::query("SELECT * FROM jobs ORDER BY seq")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error("reading jobs", e))?
                .iter()
                .map(job_from_row)
                .collect()
        })
    }

    fn summary<'a>(&'a self) -> LedgerFuture<'a, Summary> {
        Box::pin(async move {
            let context = "summarising the ledger";
            let mut states = Vec::new();
            for row in sqlx::query("SELECT state, CAST(COUNT(*) AS BIGINT) AS n FROM jobs GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error(context, e))?
            {
                let state: String = get(&row, "state")?;
                let n: i64 = get(&row, "n")?;
                states.push((state.parse::<JobState>()?, u64::try_from(n).unwrap_or(0)));
            }
            states.sort();
            let mut committed = Committed::default();
            for row in sqlx::query(
                "SELECT provider, resolution, COUNT(*) AS jobs,
                    CAST(SUM(video_seconds * tasks) AS BIGINT) AS seconds,
                    CAST(SUM(credits * tasks) AS BIGINT) AS credits
                 FROM (SELECT provider, resolution, video_seconds, credits, earlier_tasks
                        + CASE WHEN state <> 'queued' AND NOT refused THEN 1 ELSE 0 END AS tasks
                       FROM jobs) AS billed
                 WHERE tasks > 0 GROUP BY provider, resolution ORDER BY provider, resolution",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(context, e))?
            {
                let provider: String = get(&row, "provider")?;
                committed.rows.push(CommittedRow {
                    provider: Provider::from_str(&provider).map_err(|e| db_error(context, e))?,
                    resolution: get(&row, "resolution")?,
                    jobs: unsigned(get(&row, "jobs")?, "jobs")?.unwrap_or(0),
                    video_seconds: unsigned(get(&row, "seconds")?, "seconds")?.unwrap_or(0),
                    credits: unsigned(get(&row, "credits")?, "credits")?,
                });
            }
            let mut attention = Vec::new();
            for row in sqlx::query(
                "SELECT id, state, provider, task_id, error FROM jobs
                 WHERE state IN ('failed', 'expired', 'uncertain') ORDER BY seq",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(context, e))?
            {
                let provider: String = get(&row, "provider")?;
                let state: String = get(&row, "state")?;
                attention.push(Attention {
                    id: get(&row, "id")?,
                    state: state.parse()?,
                    provider: Provider::from_str(&provider).map_err(|e| db_error(context, e))?,
                    task_id: get(&row, "task_id")?,
                    error: get(&row, "error")?,
                });
            }
            let row = sqlx::query(
                "SELECT CAST(COUNT(*) AS BIGINT) AS jobs,
                    CAST(COUNT(heard_at) AS BIGINT) AS heard,
                    CAST(SUM(CASE WHEN heard_at IS NULL
                        AND state IN ('succeeded', 'downloaded', 'failed', 'expired')
                        AND NOT refused THEN 1 ELSE 0 END) AS BIGINT) AS reconciled
                 FROM jobs WHERE callback_url IS NOT NULL",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error(context, e))?;
            let callbacks = Callbacks {
                jobs: unsigned(get(&row, "jobs")?, "jobs")?.unwrap_or(0),
                heard: unsigned(get(&row, "heard")?, "heard")?.unwrap_or(0),
                reconciled: unsigned(get(&row, "reconciled")?, "reconciled")?.unwrap_or(0),
            };
            Ok(Summary {
                states,
                committed,
                attention,
                callbacks,
            })
        })
    }

    fn record<'a>(&'a self, heard: &'a Heard) -> LedgerFuture<'a, Recorded> {
        Box::pin(async move {
            let context = format!("recording a callback for {} task {}", heard.provider, heard.task_id);
            let query = sqlx::query(heard_sql(&heard.event))
                .bind(heard.provider.name())
                .bind(&heard.task_id)
                .bind(now_millis())
                .bind(&heard.status);
            let query = match &heard.event {
                HeardEvent::Progress(percent) => query.bind(percent.map(i64::from)),
                HeardEvent::Succeeded(output) => query
                    .bind(&output.url)
                    .bind(output.expires_at.map(|t| t.timestamp_millis()))
                    .bind(output.expired),
                HeardEvent::Failed(error) => query.bind(error),
            };
            // Run to completion (see `apply`): the commit's error must reach the caller.
            if let Some(row) = query
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error(&context, e))?
                .into_iter()
                .next()
            {
                return Ok(Recorded::Applied(job_from_row(&row)?));
            }
            let row = sqlx::query(DUPLICATE_SQL)
                .bind(heard.provider.name())
                .bind(&heard.task_id)
                .fetch_all(&self.pool)
                .await
                .map_err(|e| db_error(&context, e))?
                .into_iter()
                .next();
            match row {
                Some(row) => Ok(Recorded::Duplicate(job_from_row(&row)?)),
                None => Ok(Recorded::Unknown),
            }
        })
    }

    fn heard<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(async move {
            sqlx::query(
                "SELECT * FROM jobs WHERE lease_owner = $1 AND heard_at IS NOT NULL
                   AND state IN ('succeeded', 'failed') ORDER BY seq",
            )
            .bind(owner)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error("reading the jobs callbacks settled", e))?
            .iter()
            .map(job_from_row)
            .collect()
        })
    }

    fn held_elsewhere<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, HeldElsewhere> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(MIN(lease_until) AS BIGINT) AS next
                 FROM jobs
                 WHERE state IN ('queued', 'submitting', 'submitted', 'succeeded')
                   AND lease_owner IS NOT NULL AND lease_owner <> $1",
            )
            .bind(owner)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| db_error("counting jobs other workers hold", e))?;
            let next: Option<i64> = get(&row, "next")?;
            Ok(HeldElsewhere {
                jobs: unsigned(get(&row, "n")?, "jobs")?.unwrap_or(0),
                next_expiry: next.map(from_millis),
            })
        })
    }

    fn jobs_by_id<'a>(&'a self, ids: &'a [String]) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(async move {
            let mut found = Vec::new();
            // Well under both engines' limits on bound parameters.
            for chunk in ids.chunks(500) {
                let placeholders: Vec<String> =
                    (1..=chunk.len()).map(|i| format!("${i}")).collect();
                // Only generated `$N` placeholders are formatted in; the ids are bound.
                let sql = format!("SELECT * FROM jobs WHERE id IN ({})", placeholders.join(", "));
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for id in chunk {
                    query = query.bind(id);
                }
                for row in query
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| db_error("reading jobs by id", e))?
                {
                    found.push(job_from_row(&row)?);
                }
            }
            Ok(found)
        })
    }

    fn queued<'a>(&'a self) -> LedgerFuture<'a, Committed> {
        Box::pin(async move {
            let context = "counting the jobs to submit";
            let mut queued = Committed::default();
            for row in sqlx::query(
                "SELECT provider, resolution, CAST(COUNT(*) AS BIGINT) AS jobs,
                    CAST(SUM(video_seconds) AS BIGINT) AS seconds,
                    CAST(SUM(credits) AS BIGINT) AS credits,
                    CAST(COUNT(credits) AS BIGINT) AS priced
                 FROM jobs WHERE state = 'queued' GROUP BY provider, resolution
                 ORDER BY provider, resolution",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(context, e))?
            {
                let provider: String = get(&row, "provider")?;
                let jobs = unsigned(get(&row, "jobs")?, "jobs")?.unwrap_or(0);
                let priced = unsigned(get(&row, "priced")?, "priced")?.unwrap_or(0);
                queued.rows.push(CommittedRow {
                    provider: Provider::from_str(&provider).map_err(|e| db_error(context, e))?,
                    resolution: get(&row, "resolution")?,
                    jobs,
                    video_seconds: unsigned(get(&row, "seconds")?, "seconds")?.unwrap_or(0),
                    credits: if priced == jobs {
                        unsigned(get(&row, "credits")?, "credits")?
                    } else {
                        None
                    },
                });
            }
            Ok(queued)
        })
    }

    fn claimable_providers<'a>(&'a self) -> LedgerFuture<'a, Vec<Provider>> {
        Box::pin(async move {
            let context = "reading the providers of the jobs to do";
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT provider FROM jobs
                 WHERE state IN ('queued', 'submitting', 'submitted', 'succeeded')",
            )
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(context, e))?;
            names
                .iter()
                .map(|name| Provider::from_str(name).map_err(|e| db_error(context, e)))
                .collect()
        })
    }

    fn task_times<'a>(&'a self, per_kind: u32) -> LedgerFuture<'a, Vec<TaskTime>> {
        Box::pin(async move {
            let context = "reading task times";
            let rows = sqlx::query(
                "SELECT provider, resolution, video_seconds, task_seconds FROM (
                    SELECT provider, resolution, video_seconds, task_seconds,
                        ROW_NUMBER() OVER (PARTITION BY provider, resolution, video_seconds
                                           ORDER BY finished_at DESC) AS n
                    FROM jobs WHERE task_seconds IS NOT NULL) AS recent
                 WHERE n <= $1",
            )
            .bind(i64::from(per_kind))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(context, e))?;
            let mut times = Vec::with_capacity(rows.len());
            for row in rows {
                let provider: String = get(&row, "provider")?;
                let video_seconds: i64 = get(&row, "video_seconds")?;
                times.push(TaskTime {
                    provider: Provider::from_str(&provider).map_err(|e| db_error(context, e))?,
                    resolution: get(&row, "resolution")?,
                    video_seconds: u32::try_from(video_seconds).unwrap_or(0),
                    seconds: get(&row, "task_seconds")?,
                });
            }
            Ok(times)
        })
    }

    };
}
