//! The embedded ledger: one SQLite file in WAL mode, written with `synchronous = FULL` so that a
//! committed intent survives a power cut as well as a killed process.
//!
//! One connection serves the process (SQLite has one writer; a single connection never waits on
//! its own busy lock), and a run takes an advisory lock on `<file>.lock` so that two processes
//! never work one SQLite ledger at once. Readers (`happyhorse jobs`) need no lock: WAL lets them
//! read while a run writes.

use std::{
    fs::File,
    path::{Path, PathBuf},
    str::FromStr,
    sync::Mutex,
    time::Duration,
};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{
    migrations, millis, now_millis,
    rows::{db_error, get, job_from_row, signed, transition_name, transition_sql, unsigned},
    Attention, Committed, CommittedRow, Enqueued, Job, JobState, Lease, Ledger, LedgerFuture,
    NewJob, Summary, TaskTime, Transition,
};
use crate::{Error, Provider};

/// A ledger in one SQLite file. See the [module docs](super).
#[derive(Debug)]
pub struct SqliteLedger {
    pool: SqlitePool,
    path: PathBuf,
    /// The run lock, once [`Ledger::begin_run`] took it.
    run_lock: Mutex<Option<File>>,
}

impl SqliteLedger {
    /// Opens (creating if missing) the ledger file at `path` and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteLedger, Error> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(|source| Error::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
        }
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|err| db_error(&format!("cannot open {}", path.display()), err))?;
        let ledger = SqliteLedger {
            pool,
            path,
            run_lock: Mutex::new(None),
        };
        ledger.migrate().await?;
        Ok(ledger)
    }

    /// The ledger file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn migrate(&self) -> Result<(), Error> {
        let context = format!("migrating {}", self.path.display());
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| db_error(&context, e))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS happyhorse_migrations (
                version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error(&context, e))?;
        let applied: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM happyhorse_migrations")
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| db_error(&context, e))?;
        let known = migrations::SQLITE.last().map_or(0, |m| m.version);
        if applied > known {
            return Err(Error::Ledger {
                message: format!(
                    "{} has schema version {applied}, newer than this build knows ({known}); use a newer happyhorse",
                    self.path.display()
                ),
            });
        }
        for migration in migrations::SQLITE.iter().filter(|m| m.version > applied) {
            sqlx::raw_sql(migration.sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(&context, e))?;
            sqlx::query("INSERT INTO happyhorse_migrations (version, description, applied_at) VALUES (?, ?, ?)")
                .bind(migration.version)
                .bind(migration.description)
                .bind(now_millis())
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(&context, e))?;
            tracing::info!(version = migration.version, description = migration.description, path = %self.path.display(), "ledger migrated");
        }
        tx.commit().await.map_err(|e| db_error(&context, e))
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".lock");
        PathBuf::from(name)
    }

    fn take_run_lock(&self) -> Result<(), Error> {
        let mut held = self.run_lock.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_some() {
            return Ok(());
        }
        let path = self.lock_path();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => {
                *held = Some(file);
                Ok(())
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::LedgerBusy {
                ledger: self.path.display().to_string(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Io { path, source }),
        }
    }

    async fn fetch_job(&self, id: &str) -> Result<Option<Job>, Error> {
        let row = sqlx::query("SELECT * FROM jobs WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error("reading a job", e))?;
        row.as_ref().map(job_from_row).transpose()
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
}

impl Ledger for SqliteLedger {
    fn enqueue<'a>(&'a self, jobs: &'a [NewJob]) -> LedgerFuture<'a, Enqueued> {
        Box::pin(async move {
            let context = "recording jobs";
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|e| db_error(context, e))?;
            let mut done = Enqueued::default();
            let now = now_millis();
            for job in jobs {
                let body = crate::client::canonical_json(&job.body);
                let inserted = sqlx::query(
                    "INSERT INTO jobs (id, line, provider, body, idempotency_key, resolution,
                        video_seconds, credits, output_name, state, created_at, updated_at)
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(&job.id)
                .bind(job.line.map(signed))
                .bind(job.provider.name())
                .bind(&body)
                .bind(&job.idempotency_key)
                .bind(&job.resolution)
                .bind(i64::from(job.video_seconds))
                .bind(job.credits.map(signed))
                .bind(&job.output_name)
                .bind(now)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error(context, e))?
                .rows_affected();
                if inserted == 1 {
                    done.inserted += 1;
                    continue;
                }
                let row = sqlx::query("SELECT provider, body FROM jobs WHERE id = ?")
                    .bind(&job.id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| db_error(context, e))?;
                let (provider, recorded): (String, String) =
                    (get(&row, "provider")?, get(&row, "body")?);
                if provider == job.provider.name() && recorded == body {
                    done.existing += 1;
                } else {
                    done.conflicts.push((job.id.clone(), job.line));
                }
            }
            tx.commit().await.map_err(|e| db_error(context, e))?;
            Ok(done)
        })
    }

    fn begin_run<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, ()> {
        Box::pin(async move {
            self.take_run_lock()?;
            // This process holds the ledger: every other lease belongs to a run that died.
            let freed = sqlx::query(
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL
                 WHERE lease_owner IS NOT NULL AND lease_owner <> ?",
            )
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(|e| db_error("freeing the leases of an earlier run", e))?
            .rows_affected();
            if freed > 0 {
                tracing::info!(freed, "took over the jobs of an earlier run that stopped");
            }
            Ok(())
        })
    }

    fn claim<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        limit: u32,
    ) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(async move {
            let now = now_millis();
            let rows = sqlx::query(
                "UPDATE jobs SET lease_owner = ?1, lease_until = ?2, fence = fence + 1
                 WHERE seq IN (
                    SELECT seq FROM jobs
                    WHERE state IN ('queued', 'submitting', 'submitted', 'succeeded')
                      AND (lease_until IS NULL OR lease_until < ?3)
                    ORDER BY CASE state WHEN 'succeeded' THEN 0 WHEN 'submitted' THEN 1
                                        WHEN 'submitting' THEN 2 ELSE 3 END, seq
                    LIMIT ?4)
                 RETURNING *",
            )
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

    fn renew<'a>(&'a self, owner: &'a str, lease: Duration) -> LedgerFuture<'a, u64> {
        Box::pin(async move {
            let until = now_millis().saturating_add(millis(lease));
            Ok(
                sqlx::query("UPDATE jobs SET lease_until = ? WHERE lease_owner = ?")
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
            // Each write names the lease (?1 job, ?2 owner, ?3 fence), the time (?4), and the
            // states it may come from; its own values follow from ?5.
            let sql = transition_sql(&change);
            let query = sqlx::query(sql)
                .bind(&lease.job)
                .bind(&lease.owner)
                .bind(lease.fence)
                .bind(now);
            let query = match &change {
                Transition::Submitting => query,
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
                | Transition::Expired { error }
                | Transition::Uncertain { error }
                | Transition::Requeue { error }
                | Transition::Note { error } => query.bind(error),
            };
            let row = query.fetch_optional(&self.pool).await.map_err(|e| {
                db_error(
                    &format!(
                        "recording {} for job {}",
                        transition_name(&change),
                        lease.job
                    ),
                    e,
                )
            })?;
            match row {
                Some(row) => job_from_row(&row),
                None => Err(self.refused(lease, &change).await),
            }
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> LedgerFuture<'a, ()> {
        Box::pin(async move {
            sqlx::query(
                "UPDATE jobs SET lease_owner = NULL, lease_until = NULL
                 WHERE id = ? AND lease_owner = ? AND fence = ?",
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
                "UPDATE jobs SET state = ?, error = ?, updated_at = ? WHERE state = 'uncertain'",
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
            for row in sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
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
                "SELECT provider, resolution, COUNT(*) AS jobs, SUM(video_seconds) AS seconds,
                    SUM(credits) AS credits
                 FROM jobs WHERE state <> 'queued' GROUP BY provider, resolution
                 ORDER BY provider, resolution",
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
            Ok(Summary {
                states,
                committed,
                attention,
            })
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
                    FROM jobs WHERE task_seconds IS NOT NULL)
                 WHERE n <= ?",
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
}
