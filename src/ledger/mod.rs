//! A durable record of batch jobs: which request each job is, which provider task it became,
//! where it stands, and where its video was saved.
//!
//! [`Ledger`] is a small trait with one implementation per database: [`SqliteLedger`] (one
//! file, WAL, embedded; one batch process at a time) and `PgLedger` (feature `postgres`: many
//! workers on many machines, claims with `FOR UPDATE SKIP LOCKED`). A webhook receiver records
//! what callbacks say with [`Ledger::record`], whoever holds the job. A job moves through [`JobState`]s by fenced transitions: a
//! worker first claims a job (a lease with an owner, an expiry and a fencing number that grows
//! with every claim) and every later write names that lease, so a worker that lost its lease
//! cannot overwrite what a newer one recorded.
//!
//! The order of writes is what makes a batch crash-safe: the intent
//! ([`Transition::Submitting`]) is committed before the submit is sent, and the provider's answer
//! ([`Transition::Submitted`]) before anything else happens. A process killed between the two
//! leaves a job in `submitting`: on HiAPI and Apiframe the rerun sends the same
//! `Idempotency-Key` and gets the same task back; on reapi (no idempotency) the job becomes
//! [`JobState::Uncertain`] and is reported, never silently resubmitted.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use happyhorse::ledger::{Ledger, SqliteLedger};
//!
//! # let dir = tempfile::tempdir()?;
//! let ledger = SqliteLedger::open(dir.path().join("happyhorse.db")).await?;
//! let summary = ledger.summary().await?;
//! assert_eq!(summary.total(), 0);
//! # Ok(())
//! # }
//! ```

#[macro_use]
mod shared;
mod migrations;
#[cfg(feature = "postgres")]
mod postgres;
mod rows;
mod sqlite;

use std::{fmt, future::Future, path::PathBuf, pin::Pin, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg(feature = "postgres")]
pub use postgres::PgLedger;
pub use sqlite::SqliteLedger;

use crate::{client::Output, Error, Provider};

/// The future a [`Ledger`] method returns (boxed, so the trait can be used as `dyn Ledger`).
pub type LedgerFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Recorded; nothing sent yet.
    Queued,
    /// The submit is (or was) being sent: a task may exist.
    Submitting,
    /// The provider answered with a task id.
    Submitted,
    /// The task succeeded; its video is not saved yet.
    Succeeded,
    /// The video is saved and verified.
    Downloaded,
    /// The task (or its submit) failed for good.
    Failed,
    /// The task succeeded but its output URL expired before the video was saved.
    Expired,
    /// A reapi submit whose answer was lost: a task may exist, and resubmitting could pay twice.
    Uncertain,
    /// An uncertain job the user chose not to resubmit.
    Skipped,
}

impl JobState {
    /// Every state, in lifecycle order.
    pub const ALL: [JobState; 9] = [
        JobState::Queued,
        JobState::Submitting,
        JobState::Submitted,
        JobState::Succeeded,
        JobState::Downloaded,
        JobState::Failed,
        JobState::Expired,
        JobState::Uncertain,
        JobState::Skipped,
    ];

    /// The name stored in the ledger and shown to users.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Submitting => "submitting",
            JobState::Submitted => "submitted",
            JobState::Succeeded => "succeeded",
            JobState::Downloaded => "downloaded",
            JobState::Failed => "failed",
            JobState::Expired => "expired",
            JobState::Uncertain => "uncertain",
            JobState::Skipped => "skipped",
        }
    }

    /// Nothing more happens to the job without the user's say.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            JobState::Downloaded
                | JobState::Failed
                | JobState::Expired
                | JobState::Uncertain
                | JobState::Skipped
        )
    }

    /// A worker can take the job and move it on.
    pub fn is_claimable(self) -> bool {
        matches!(
            self,
            JobState::Queued | JobState::Submitting | JobState::Submitted | JobState::Succeeded
        )
    }

    /// The job counts against the budget: a submit was (or may have been) sent (a skipped
    /// job too: it was uncertain, so a task may exist). The ledger's
    /// [`Summary::committed`] also leaves out failed jobs whose submit was refused before any
    /// task existed ([`Transition::Refused`]), which a state alone cannot tell.
    pub fn is_committed(self) -> bool {
        self != JobState::Queued
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for JobState {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        JobState::ALL
            .into_iter()
            .find(|state| state.name() == s)
            .ok_or_else(|| Error::Ledger {
                message: format!("unknown job state {s:?} in the ledger"),
            })
    }
}

/// A job to record: a validated request for one provider, with everything a later run needs.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    /// The stable job id (file-name safe).
    pub id: String,
    /// Where it came from (a line number in a jobs file), for messages.
    pub line: Option<u64>,
    /// The provider it is for.
    pub provider: Provider,
    /// The exact wire body to submit.
    pub body: Value,
    /// The `Idempotency-Key` every submit of this job carries (none on reapi).
    pub idempotency_key: Option<String>,
    /// `720p` or `1080p`, as billed.
    pub resolution: String,
    /// Seconds of video, as billed.
    pub video_seconds: u32,
    /// Credits, where the provider documents a price.
    pub credits: Option<u64>,
    /// The file name the video is saved under.
    pub output_name: String,
}

/// A lease on a job: who holds it and the fencing number of the claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job: String,
    /// The worker holding it.
    pub owner: String,
    /// Grows with every claim of the job; a write naming an older number is refused.
    pub fence: i64,
}

/// One job as recorded. `Debug` leaves out the output URL's query (a signed URL).
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    /// The stable job id.
    pub id: String,
    /// Order of recording.
    pub seq: i64,
    /// The line of the jobs file it came from, if any.
    pub line: Option<u64>,
    /// The provider.
    pub provider: Provider,
    /// The wire body.
    pub body: Value,
    /// The `Idempotency-Key` its submits carry.
    pub idempotency_key: Option<String>,
    /// `720p` or `1080p`.
    pub resolution: String,
    /// Seconds of video.
    pub video_seconds: u32,
    /// Credits, where documented.
    pub credits: Option<u64>,
    /// The file name the video is saved under.
    pub output_name: String,
    /// Where it stands.
    pub state: JobState,
    /// Submits sent (or begun) so far.
    pub attempts: u32,
    /// The provider's task id, once known.
    pub task_id: Option<String>,
    /// The provider's last status name seen.
    pub status: Option<String>,
    /// The output, once the task succeeded.
    pub output: Option<Output>,
    /// The saved file.
    pub file: Option<PathBuf>,
    /// Its size.
    pub bytes: Option<u64>,
    /// Its SHA-256, lower-case hex.
    pub sha256: Option<String>,
    /// The last error, in the library's words.
    pub error: Option<String>,
    /// When the job was recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the provider answered the submit.
    pub submitted_at: Option<DateTime<Utc>>,
    /// How long the task took at the provider, from submit to the poll that saw it end, on the
    /// batch's clock (used to time later polls).
    pub task_seconds: Option<f64>,
    /// The lease it is held under, if claimed.
    pub lease: Option<Lease>,
    /// Where the provider was asked to deliver the task's callback (set with the first submit
    /// and kept for every resubmit, so the body under the job's key never changes); `None`:
    /// the job is polled.
    pub callback_url: Option<CallbackUrl>,
    /// When a receiver recorded the task's end from a callback ([`Ledger::record`]).
    pub heard_at: Option<DateTime<Utc>>,
    /// The latest progress a callback reported, in percent (Apiframe).
    pub progress: Option<u8>,
    /// Callback deliveries received for the task, duplicates included.
    pub deliveries: u64,
    /// Its submit was refused before any task existed (nothing billed).
    pub refused: bool,
    /// Billed tasks of earlier tries (`batch --retry-failed`), which the budget still counts.
    pub earlier_tasks: u32,
}

/// A callback URL. `Debug` and `Display` leave out its query, which may carry a token.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackUrl(pub String);

impl CallbackUrl {
    /// The whole URL, query included: only for sending it to the provider.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CallbackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CallbackUrl({:?})", crate::net::redacted(&self.0))
    }
}

impl fmt::Display for CallbackUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::net::redacted(&self.0))
    }
}

/// What a verified callback said about a task: what a receiver records with
/// [`Ledger::record`].
#[derive(Clone, Debug, PartialEq)]
pub struct Heard {
    /// The provider that sent it.
    pub provider: Provider,
    /// The task it is about.
    pub task_id: String,
    /// The provider's status name.
    pub status: String,
    /// What it means for the job.
    pub event: HeardEvent,
}

/// The substance of a callback.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HeardEvent {
    /// Still running (Apiframe progress events), with the percent done when given.
    Progress(Option<u8>),
    /// Succeeded, with its output.
    Succeeded(Output),
    /// Failed (or was cancelled) for good.
    Failed(String),
}

/// What [`Ledger::record`] did with a callback.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Recorded {
    /// The first word of this: the job changed (its end, or newer progress) and the change is
    /// committed. Side effects of the event belong here, once.
    Applied(Job),
    /// Already known (a redelivery, a concurrent duplicate, older progress, or a job the
    /// batch's own poll settled first): counted, nothing else changed.
    Duplicate(Job),
    /// No job in this ledger has this task (yet: a callback can overtake the worker's record
    /// of the submit's answer).
    Unknown,
}

/// Jobs other workers hold: what a worker that ran out of work waits for before it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeldElsewhere {
    /// Jobs not settled and leased by another worker.
    pub jobs: u64,
    /// When the first of those leases ends, unless renewed.
    pub next_expiry: Option<DateTime<Utc>>,
}

/// A change to a claimed job.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Transition {
    /// About to send the submit (written, and committed, before it is sent), with the
    /// callback URL the body will carry (kept from the first submit when one was recorded).
    Submitting {
        /// Where the provider should call back, if anywhere.
        callback_url: Option<String>,
    },
    /// The provider's answer: the task id.
    Submitted {
        /// The task id.
        task_id: String,
        /// The status in the answer.
        status: String,
    },
    /// A status seen while waiting (recorded when it changes).
    Status {
        /// The provider's status name.
        status: String,
    },
    /// The task succeeded.
    Succeeded {
        /// Its output.
        output: Output,
        /// How long it took, on the batch's clock.
        task_seconds: f64,
    },
    /// The video is saved and verified.
    Downloaded {
        /// Where.
        file: PathBuf,
        /// Its size.
        bytes: u64,
        /// Its SHA-256, lower-case hex.
        sha256: String,
    },
    /// Failed for good.
    Failed {
        /// Why.
        error: String,
    },
    /// The submit was refused before any task existed (the provider's 400/413/422, or a body
    /// that could not be sent): failed, and not committed, since nothing was billed. Only from
    /// `submitting`, with no task recorded.
    Refused {
        /// Why.
        error: String,
    },
    /// The output URL expired before the video was saved.
    Expired {
        /// What happened and what to do.
        error: String,
    },
    /// A submit's answer was lost where no `Idempotency-Key` protects a resubmit.
    Uncertain {
        /// What happened.
        error: String,
    },
    /// The task is gone with the emulator that held it (an in-process sandbox whose process
    /// ended): back to the queue with no task, to be submitted again. Nothing was paid. Only
    /// from `submitted` or `succeeded`.
    Lost {
        /// What happened.
        error: String,
    },
    /// No task was created (rate limit, outage before any task): back to the queue.
    Requeue {
        /// Why.
        error: String,
    },
    /// Something went wrong that a later attempt may get past; the state stays.
    Note {
        /// What.
        error: String,
    },
}

/// What [`Ledger::enqueue`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Enqueued {
    /// Jobs recorded now.
    pub inserted: u64,
    /// Jobs already recorded with the same request.
    pub existing: u64,
    /// Jobs whose id is recorded with a different provider or request: `(id, line)`.
    pub conflicts: Vec<(String, Option<u64>)>,
}

/// What a ledger holds, counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Jobs per state, in lifecycle order (states with no job left out).
    pub states: Vec<(JobState, u64)>,
    /// What the batch committed to: jobs that were (or may have been) submitted.
    pub committed: Committed,
    /// Jobs in states that need the user's attention: failed, expired, uncertain.
    pub attention: Vec<Attention>,
    /// How the jobs submitted with a callback learnt their end.
    pub callbacks: Callbacks,
}

/// How the jobs submitted with a callback learnt their end: whether the callbacks are arriving.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Callbacks {
    /// Jobs submitted with a callback.
    pub jobs: u64,
    /// Of those, ended by a callback a receiver recorded.
    pub heard: u64,
    /// Of those, ended by a poll instead (the callback was dropped, late, or never sent).
    pub reconciled: u64,
}

impl Summary {
    /// All jobs.
    pub fn total(&self) -> u64 {
        self.states.iter().map(|(_, n)| n).sum()
    }

    /// Jobs in `state`.
    pub fn count(&self, state: JobState) -> u64 {
        self.states
            .iter()
            .find(|(s, _)| *s == state)
            .map_or(0, |(_, n)| *n)
    }
}

/// Seconds of video and credits committed, per provider and resolution.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Committed {
    /// `(provider, resolution, jobs, seconds of video, credits where documented)`.
    pub rows: Vec<CommittedRow>,
}

/// One row of [`Committed`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CommittedRow {
    /// The provider.
    pub provider: Provider,
    /// `720p` or `1080p`.
    pub resolution: String,
    /// Jobs.
    pub jobs: u64,
    /// Seconds of video.
    pub video_seconds: u64,
    /// Credits, where the provider documents a price.
    pub credits: Option<u64>,
}

impl Committed {
    /// Seconds of video, all providers.
    pub fn video_seconds(&self) -> u64 {
        self.rows.iter().map(|r| r.video_seconds).sum()
    }

    /// Credits where documented, all providers.
    pub fn credits(&self) -> u64 {
        self.rows.iter().filter_map(|r| r.credits).sum()
    }
}

/// A job that needs the user.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attention {
    /// The job.
    pub id: String,
    /// Its state.
    pub state: JobState,
    /// Its provider.
    pub provider: Provider,
    /// Its task, if known.
    pub task_id: Option<String>,
    /// Why.
    pub error: Option<String>,
}

/// How long one past task took: the history polls are timed from.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskTime {
    /// The provider.
    pub provider: Provider,
    /// `720p` or `1080p`.
    pub resolution: String,
    /// Seconds of video.
    pub video_seconds: u32,
    /// Seconds from submit to completion.
    pub seconds: f64,
}

/// A store of batch jobs. Every method is one atomic step; writes to a claimed job name its
/// [`Lease`] and fail with [`Error::LeaseLost`] when a newer claim took the job.
pub trait Ledger: Send + Sync + fmt::Debug {
    /// Records the jobs not yet recorded (in one transaction); reports the ones whose id is
    /// recorded with another provider or body as conflicts, and changes nothing about them.
    fn enqueue<'a>(&'a self, jobs: &'a [NewJob]) -> LedgerFuture<'a, Enqueued>;

    /// Starts a run by `owner`: for a ledger one process works at a time (SQLite), takes the
    /// ledger for this process ([`Error::LedgerBusy`] if another holds it) and frees the leases
    /// of runs that died. The ledger stays taken until it is dropped.
    fn begin_run<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, ()>;

    /// Claims up to `limit` claimable jobs for `owner` for `lease` (resumed jobs first, then
    /// in recording order), each with a new fencing number.
    fn claim<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        limit: u32,
    ) -> LedgerFuture<'a, Vec<Job>>;

    /// Extends every lease `owner` holds by `lease`; returns how many.
    fn renew<'a>(&'a self, owner: &'a str, lease: Duration) -> LedgerFuture<'a, u64>;

    /// Applies `change` to the job `lease` holds, and returns the job as recorded.
    fn apply<'a>(&'a self, lease: &'a Lease, change: Transition) -> LedgerFuture<'a, Job>;

    /// Gives the job back (the lease ends; the state stays).
    fn release<'a>(&'a self, lease: &'a Lease) -> LedgerFuture<'a, ()>;

    /// Moves every uncertain job to `to` (queued to resubmit, skipped to leave); returns how
    /// many. Nothing else may become queued or skipped this way.
    fn settle_uncertain<'a>(&'a self, to: JobState) -> LedgerFuture<'a, u64>;

    /// Puts failed (or expired) jobs back to be tried again, each as its [`Retry`] says, in
    /// one transaction; returns how many moved. A job no longer as it was planned from (its
    /// state or its submits changed, or a worker holds it) is left as it is.
    fn retry<'a>(&'a self, retries: &'a [Retry]) -> LedgerFuture<'a, u64>;

    /// Every job, in recording order.
    fn jobs<'a>(&'a self) -> LedgerFuture<'a, Vec<Job>>;

    /// Counts per state, the committed budget, and the jobs that need attention.
    fn summary<'a>(&'a self) -> LedgerFuture<'a, Summary>;

    /// The most recent task times (at most `per_kind` for each provider, resolution and
    /// length).
    fn task_times<'a>(&'a self, per_kind: u32) -> LedgerFuture<'a, Vec<TaskTime>>;

    /// Records what a verified callback said, in one committed step, whoever holds the job:
    /// a task's end moves a `submitted` job to `succeeded` or `failed` (the lease stays with
    /// its worker, which saves the video); progress is kept when newer. Every delivery is
    /// counted. Safe under redelivery and concurrent duplicates: only one of them is
    /// [`Recorded::Applied`].
    fn record<'a>(&'a self, heard: &'a Heard) -> LedgerFuture<'a, Recorded>;

    /// The jobs `owner` holds whose end a callback recorded (`succeeded` or `failed`, with
    /// `heard_at` set): what a worker waiting on callbacks picks up.
    fn heard<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, Vec<Job>>;

    /// Unsettled jobs leased by workers other than `owner`.
    fn held_elsewhere<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, HeldElsewhere>;

    /// The jobs recorded under any of `ids` (in no particular order; unknown ids are left out).
    fn jobs_by_id<'a>(&'a self, ids: &'a [String]) -> LedgerFuture<'a, Vec<Job>>;

    /// What the jobs not yet submitted (`queued`) will cost, per provider and resolution
    /// (credits only where every such job has a documented price).
    fn queued<'a>(&'a self) -> LedgerFuture<'a, Committed>;

    /// The providers of the jobs a worker can still move on.
    fn claimable_providers<'a>(&'a self) -> LedgerFuture<'a, Vec<Provider>>;

    /// The files this ledger keeps on this machine (SQLite: the database, its WAL,
    /// shared-memory, journal and lock files), so that no job's video is saved over one of
    /// them; none for a database server.
    fn local_files(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}

/// A failed job to try again ([`Ledger::retry`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Retry {
    /// The job.
    pub id: String,
    /// The state it was planned from (`failed` or `expired`).
    pub state: JobState,
    /// Its submits when it was planned: a job submitted since is left as it is.
    pub attempts: u32,
    /// How.
    pub again: Again,
    /// Why, kept as the job's note until its next step.
    pub note: String,
}

/// How a failed job is tried again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Again {
    /// A new task: back to the queue with no task, its submits carrying this new
    /// `Idempotency-Key` (the old one would give the old task back).
    Submit {
        /// The new key (`None` where the provider has none).
        idempotency_key: Option<String>,
    },
    /// The same task's video fetched again: back to `succeeded` with its output.
    Download,
}

/// Opens the ledger at `location`: a file path (SQLite; created if missing), or a
/// `postgres://` URL (feature `postgres`).
pub async fn open(location: &str) -> Result<Box<dyn Ledger>, Error> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(Box::new(PgLedger::connect(location).await?));
        // A configuration this build cannot serve: nothing was opened.
        #[cfg(not(feature = "postgres"))]
        return Err(Error::Config {
            message: "this build has no PostgreSQL ledger (the `postgres` cargo feature is off); use a build with it, or a file path (SQLite)"
                .into(),
        });
    }
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    Ok(Box::new(SqliteLedger::open(path).await?))
}

/// Opens the ledger at `location` to read only, creating, upgrading and writing nothing: see
/// [`SqliteLedger::open_read_only`] and (feature `postgres`) `PgLedger::connect_read_only`. A
/// ledger that does not exist yet reads as an empty one. Writes to it fail.
pub async fn open_read_only(location: &str) -> Result<Box<dyn Ledger>, Error> {
    if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(match PgLedger::connect_read_only(location).await? {
            Some(ledger) => Box::new(ledger),
            None => Box::new(SqliteLedger::open_read_only("").await?),
        });
        #[cfg(not(feature = "postgres"))]
        return open(location).await;
    }
    let path = location.strip_prefix("sqlite://").unwrap_or(location);
    Ok(Box::new(SqliteLedger::open_read_only(path).await?))
}

/// A ledger's location as messages and logs may show it: a URL without its password (and
/// query); a path as it is.
pub fn shown(location: &str) -> String {
    if !location.contains("://") {
        return location.to_owned();
    }
    crate::net::redacted(&redact_password(location))
}

/// `url` with its password (if any) replaced.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// Milliseconds since the Unix epoch, never panicking (a clock before 1970 reads 0).
pub(crate) fn now_millis() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

/// A duration in milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A timestamp from milliseconds; out of range reads as the epoch.
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    /// A build without PostgreSQL refuses a `postgres://` ledger as a configuration it
    /// cannot serve (the CLI's exit status 2), opening nothing. Runs under plain `cargo test`.
    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn a_build_without_postgres_refuses_its_urls_as_configuration() {
        let err = super::open("postgres://hh@localhost/jobs")
            .await
            .unwrap_err();
        assert!(
            matches!(&err, crate::Error::Config { message } if message.contains("no PostgreSQL ledger")),
            "{err}"
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact_password("postgres://hh:s3cret@db.example:5432/jobs?sslmode=require"),
            "postgres://hh:***@db.example:5432/jobs?sslmode=require"
        );
        assert_eq!(
            super::redact_password("postgres:///jobs"),
            "postgres:///jobs"
        );
        let shown = super::shown("postgres://hh:s3cret@db.example/jobs?password=s3cret");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert_eq!(super::shown("out/happyhorse.db"), "out/happyhorse.db");
    }
}
