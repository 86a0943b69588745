//! The ledger's protocol: what a batch, a receiver and the CLI ask of a ledger. It is sealed
//! (implemented by this crate's [`SqliteLedger`](super::SqliteLedger) and `PgLedger` only):
//! each method is written once, over the engine the ledger runs on.

use std::{fmt, path::PathBuf, time::Duration};

use chrono::{DateTime, Utc};

use super::{
    engine::Engine,
    store::{browse, bulk, callbacks, read, write},
    After, Committed, Enqueued, ErrorGroup, Event, Heard, Job, JobFilter, JobPage, JobState, Lease,
    LedgerFuture, NewJob, Outlook, ProgressPoint, Recorded, Retry, Summary, TaskTime, Transition,
};
use crate::Error;
use crate::Provider;

pub(crate) mod sealed {
    /// Only this crate's ledgers implement [`Ledger`](super::Ledger).
    pub trait Sealed {}
}

/// A store of batch jobs. Every method is one atomic step; writes to a claimed job name its
/// [`Lease`] and fail with [`Error::LeaseLost`] when a newer claim took the job.
pub trait Ledger: sealed::Sealed + Send + Sync + fmt::Debug {
    /// The database it runs on (what the methods below are written over).
    #[doc(hidden)]
    fn engine(&self) -> &dyn Engine;

    /// Records the jobs not yet recorded (in one transaction); reports the ones whose id is
    /// recorded with another provider or body as conflicts, and changes nothing about them.
    fn enqueue<'a>(&'a self, jobs: &'a [NewJob]) -> LedgerFuture<'a, Enqueued> {
        Box::pin(write::enqueue(self.engine(), jobs))
    }

    /// Starts a run by `owner`: for a ledger one process works at a time (SQLite), takes the
    /// ledger for this process ([`Error::LedgerBusy`] if another holds it) and frees the leases
    /// of runs that died. The ledger stays taken until it is dropped.
    fn begin_run<'a>(&'a self, owner: &'a str) -> LedgerFuture<'a, ()>;

    /// Claims up to `limit` claimable jobs for `owner` for `lease` (jobs in the middle of a
    /// submit or a save first, then polls, then new submits; within each, the longest due
    /// first), each with a new fencing number. A claimed job is next due when its lease ends.
    fn claim<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        limit: u32,
    ) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(write::claim(self.engine(), owner, lease, limit, None))
    }

    /// [`Ledger::claim`], due jobs only, keeping queued jobs unclaimed while `max_in_flight`
    /// tasks (every worker's) are being submitted or running at the provider.
    fn claim_due<'a>(
        &'a self,
        owner: &'a str,
        lease: Duration,
        limit: u32,
        max_in_flight: Option<u32>,
    ) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(write::claim(
            self.engine(),
            owner,
            lease,
            limit,
            max_in_flight,
        ))
    }

    /// Extends every lease `owner` holds by `lease`; returns how many.
    fn renew<'a>(&'a self, owner: &'a str, lease: Duration) -> LedgerFuture<'a, u64> {
        Box::pin(async move { Ok(write::renew(self.engine(), owner, lease).await?.len() as u64) })
    }

    /// Extends every lease `owner` holds by `lease`; returns the leases renewed, so that a
    /// worker can tell which of its own were taken.
    fn renew_leases<'a>(&'a self, owner: &'a str, lease: Duration) -> LedgerFuture<'a, Vec<Lease>> {
        Box::pin(write::renew(self.engine(), owner, lease))
    }

    /// Applies `change` to the job `lease` holds, and returns the job as recorded.
    fn apply<'a>(&'a self, lease: &'a Lease, change: Transition) -> LedgerFuture<'a, Job> {
        Box::pin(async move { write::apply(self.engine(), lease, &change, &After::hold()).await })
    }

    /// Applies `change` to the job `lease` holds, then keeps the job or lets it go as `after`
    /// says, in one transaction, with its event; returns the job as recorded. A change the
    /// lifecycle does not allow from where the job stands is [`Error::NotAllowed`].
    fn step<'a>(
        &'a self,
        lease: &'a Lease,
        change: Transition,
        after: After,
    ) -> LedgerFuture<'a, Job> {
        Box::pin(async move { write::apply(self.engine(), lease, &change, &after).await })
    }

    /// [`Ledger::step`] for many jobs at once, in one transaction (one commit, one flush to
    /// disk, where a step each would make as many): each change is checked on its own, and
    /// one refused ([`Error::LeaseLost`], [`Error::NotAllowed`]) leaves the others recorded.
    /// A submit's two changes (`Submitting`, `Submitted`) are refused here: they take a lock
    /// or set a unique column, and are recorded one at a time with [`Ledger::step`]. The
    /// outer error is the database's, and then none was recorded. Results come in the order
    /// of `changes`.
    fn steps<'a>(
        &'a self,
        changes: &'a [(Lease, Transition, After)],
    ) -> LedgerFuture<'a, Vec<Result<Job, Error>>> {
        Box::pin(write::apply_many(self.engine(), changes))
    }

    /// Gives the job back (the lease ends; the state stays).
    fn release<'a>(&'a self, lease: &'a Lease) -> LedgerFuture<'a, ()> {
        Box::pin(write::release(self.engine(), lease))
    }

    /// Moves every uncertain job to `to` (queued to resubmit, skipped to leave); returns how
    /// many. Nothing else may become queued or skipped this way.
    fn settle_uncertain<'a>(&'a self, to: JobState) -> LedgerFuture<'a, u64> {
        Box::pin(bulk::settle_uncertain(self.engine(), to))
    }

    /// Puts failed (or expired) jobs back to be tried again, each as its [`Retry`] says, in
    /// one transaction; returns how many moved. A job no longer as it was planned from (its
    /// state or its submits changed, or a worker holds it) is left as it is.
    fn retry<'a>(&'a self, retries: &'a [Retry]) -> LedgerFuture<'a, u64> {
        Box::pin(bulk::retry(self.engine(), retries))
    }

    /// Replaces the wire body of a job no submit has carried under its current key (queued,
    /// never sent since it was recorded or since [`Ledger::retry`] gave it a new key) and no
    /// live lease holds, if its body is still `was`: a presigned image URL signed again
    /// before it expires, say. The provider has never seen the key with any body, so the
    /// body under it may still change. Returns the job as it now is, or `None` when it was
    /// not so (a submit began, a worker holds it, or the body is another): then nothing
    /// changed. The history records `note`.
    fn replace_unsent_body<'a>(
        &'a self,
        id: &'a str,
        was: &'a serde_json::Value,
        body: &'a serde_json::Value,
        note: &'a str,
    ) -> LedgerFuture<'a, Option<Job>> {
        Box::pin(bulk::replace_unsent_body(
            self.engine(),
            id,
            was,
            body,
            note,
        ))
    }

    /// Every job, in recording order.
    fn jobs<'a>(&'a self) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(read::jobs(self.engine()))
    }

    /// Counts per state, the committed budget, and the jobs that need attention.
    fn summary<'a>(&'a self) -> LedgerFuture<'a, Summary> {
        Box::pin(read::summary(self.engine()))
    }

    /// The most recent task times (at most `per_kind` for each provider, resolution and
    /// length).
    fn task_times<'a>(&'a self, per_kind: u32) -> LedgerFuture<'a, Vec<TaskTime>> {
        Box::pin(read::task_times(self.engine(), per_kind))
    }

    /// Records what a verified callback said, in one committed step, whoever holds the job:
    /// a task's end moves a `submitted` job to `succeeded` or `failed` (the lease stays with
    /// its worker, which saves the video); progress is kept when newer. Every delivery is
    /// counted. Safe under redelivery and concurrent duplicates: only one of them is
    /// [`Recorded::Applied`].
    fn record<'a>(&'a self, heard: &'a Heard) -> LedgerFuture<'a, Recorded> {
        Box::pin(callbacks::record(self.engine(), heard))
    }

    /// The jobs recorded under any of `ids` (in no particular order; unknown ids are left out).
    fn jobs_by_id<'a>(&'a self, ids: &'a [String]) -> LedgerFuture<'a, Vec<Job>> {
        Box::pin(read::jobs_by_id(self.engine(), ids))
    }

    /// What the jobs not yet submitted (`queued`) will cost, per provider and resolution
    /// (credits only where every such job has a documented price).
    fn queued<'a>(&'a self) -> LedgerFuture<'a, Committed> {
        Box::pin(read::queued(self.engine()))
    }

    /// The providers of the jobs a worker can still move on.
    fn claimable_providers<'a>(&'a self) -> LedgerFuture<'a, Vec<Provider>> {
        Box::pin(read::claimable_providers(self.engine()))
    }

    /// A job, as recorded (`None`: no such job).
    fn job<'a>(&'a self, id: &'a str) -> LedgerFuture<'a, Option<Job>> {
        Box::pin(read::fetch_job(self.engine(), id))
    }

    /// A job's history, oldest first: every transition, poll news and callback recorded for
    /// it (those older than the retention setting pruned).
    fn events<'a>(&'a self, job: &'a str) -> LedgerFuture<'a, Vec<Event>> {
        Box::pin(read::events(self.engine(), job))
    }

    /// Deletes the history recorded before `before`; returns how many entries went.
    fn prune_events<'a>(&'a self, before: DateTime<Utc>) -> LedgerFuture<'a, u64> {
        Box::pin(bulk::prune_events(self.engine(), before))
    }

    /// What is left for `owner` once it found nothing due to claim: jobs waiting (and when
    /// the first is due), and jobs other workers hold.
    fn outlook<'a>(
        &'a self,
        owner: &'a str,
        max_in_flight: Option<u32>,
    ) -> LedgerFuture<'a, Outlook> {
        Box::pin(read::outlook(self.engine(), owner, max_in_flight))
    }

    /// When the first job a worker can claim is due (it may be now; `None`: none waits),
    /// keeping queued jobs out while `max_in_flight` tasks are in flight. Cheap however
    /// large the ledger: what a busy worker asks between claims ([`Ledger::outlook`] counts).
    fn next_due<'a>(
        &'a self,
        max_in_flight: Option<u32>,
    ) -> LedgerFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(read::next_due(self.engine(), max_in_flight))
    }

    /// Brings forward to `after` past their submit the due time of the jobs of one provider,
    /// resolution and length waiting on a callback (the history now expects their end
    /// sooner); returns how many.
    fn reschedule_callbacks<'a>(
        &'a self,
        provider: Provider,
        resolution: &'a str,
        video_seconds: u32,
        after: Duration,
    ) -> LedgerFuture<'a, u64> {
        Box::pin(bulk::reschedule_callbacks(
            self.engine(),
            (provider, resolution, video_seconds),
            after,
        ))
    }

    /// Puts back the jobs earlier runs left for a later one ([`After::deferred`]): due now.
    /// Returns how many.
    fn resume_deferred<'a>(&'a self) -> LedgerFuture<'a, u64> {
        Box::pin(bulk::resume_deferred(self.engine()))
    }

    /// Up to `limit` (at most 500) jobs matching `filter`, recorded after the cursor `after`
    /// (a [`JobPage::next`]; `None`: from the first), and how many match in all.
    fn page<'a>(
        &'a self,
        filter: &'a JobFilter,
        after: Option<i64>,
        limit: u32,
    ) -> LedgerFuture<'a, JobPage> {
        Box::pin(browse::page(self.engine(), filter, after, limit))
    }

    /// The run's progress: transitions into each state per `bucket` of time, oldest first.
    fn progress<'a>(&'a self, bucket: Duration) -> LedgerFuture<'a, Vec<ProgressPoint>> {
        let bucket_ms = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX);
        Box::pin(browse::progress(self.engine(), bucket_ms))
    }

    /// Polls made of the jobs' current tasks, and how many jobs have a task: polls per job.
    fn polls<'a>(&'a self) -> LedgerFuture<'a, (u64, u64)> {
        Box::pin(browse::polls(self.engine()))
    }

    /// The jobs that need attention grouped by state and cause, largest first (at most
    /// `limit` groups).
    fn error_groups<'a>(&'a self, limit: usize) -> LedgerFuture<'a, Vec<ErrorGroup>> {
        Box::pin(browse::error_groups(self.engine(), limit))
    }

    /// The newest event's number in the history (0: none).
    fn event_seq<'a>(&'a self) -> LedgerFuture<'a, i64> {
        Box::pin(read::event_seq(self.engine()))
    }

    /// Up to `limit` events recorded after event `seq` (only those named `kind`, such as
    /// `callback`, if given), oldest first.
    fn events_after<'a>(
        &'a self,
        seq: i64,
        limit: u32,
        kind: Option<&'a str>,
    ) -> LedgerFuture<'a, Vec<Event>> {
        Box::pin(read::events_after(self.engine(), seq, limit, kind))
    }

    /// A signal that a job may have become due, where the ledger can give one (a callback
    /// recorded through this ledger in this process; PostgreSQL: any worker's or receiver's,
    /// through `LISTEN`).
    fn due_signal<'a>(&'a self) -> LedgerFuture<'a, Option<std::sync::Arc<tokio::sync::Notify>>> {
        Box::pin(async move {
            self.engine()
                .due_signal()
                .await
                .map_err(|e| super::rows::db_error("listening for due jobs", e))
        })
    }

    /// The files this ledger keeps on this machine (SQLite: the database, its WAL,
    /// shared-memory, journal and lock files), so that no job's video is saved over one of
    /// them; none for a database server.
    fn local_files(&self) -> Vec<PathBuf> {
        Vec::new()
    }
}
