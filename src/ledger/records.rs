//! The ledger's records: what is put in ([`NewJob`], [`Heard`], [`Retry`]) and what comes
//! out ([`Job`], [`Summary`], [`Event`]). Records that come out are `#[non_exhaustive]`: a
//! column added later is a field added, not a break.

use std::{fmt, path::PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::JobState;
use crate::{client::Output, Provider};

/// A job to record: a validated request for one provider, with everything a later run needs.
/// `Debug` shows the body's URLs without their queries (a presigned image URL, a callback's
/// token).
#[derive(Clone, PartialEq)]
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

impl fmt::Debug for NewJob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewJob")
            .field("id", &self.id)
            .field("line", &self.line)
            .field("provider", &self.provider)
            .field("body", &crate::net::RedactedJson(&self.body))
            .field("idempotency_key", &self.idempotency_key)
            .field("resolution", &self.resolution)
            .field("video_seconds", &self.video_seconds)
            .field("credits", &self.credits)
            .field("output_name", &self.output_name)
            .finish()
    }
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

/// One job as recorded. `Debug` leaves out the query of every URL, in the body and the
/// output (signed URLs, a callback's token).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
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
    /// The ETag the object store gave it (a video saved into a store).
    pub e_tag: Option<String>,
    /// Polls of its current task so far (status requests, answered or not).
    pub polls: u64,
    /// The version the object store gave it, where the bucket keeps versions.
    pub object_version: Option<String>,
    /// The last error, in the library's words.
    pub error: Option<String>,
    /// When the job was recorded.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When the provider answered the submit.
    pub submitted_at: Option<DateTime<Utc>>,
    /// When a poll saw its task end (succeeded, failed), or its submit was refused.
    pub finished_at: Option<DateTime<Utc>>,
    /// How long the task took at the provider, from submit to the poll that saw it end, on the
    /// batch's clock (used to time later polls).
    pub task_seconds: Option<f64>,
    /// The lease it is held under, if claimed.
    pub lease: Option<Lease>,
    /// Where the provider was asked to deliver the task's callback (set with the first submit
    /// and kept for every resubmit, so the body under the job's key never changes); `None`:
    /// the job is polled.
    pub callback_url: Option<CallbackUrl>,
    /// When a receiver recorded the task's end from a callback ([`Ledger::record`](super::Ledger::record)).
    pub heard_at: Option<DateTime<Utc>>,
    /// The latest progress a callback reported, in percent (Apiframe).
    pub progress: Option<u8>,
    /// Callback deliveries received for the task, duplicates included.
    pub deliveries: u64,
    /// Its submit was refused before any task existed (nothing billed).
    pub refused: bool,
    /// Billed tasks of earlier tries (`batch --retry-failed`), which the budget still counts.
    pub earlier_tasks: u32,
    /// When a worker should next look at it, if it is not settled (the next poll, a
    /// callback's reconciliation deadline; the epoch: at once). While a worker holds it: when
    /// that lease ends, unless something made it due sooner.
    pub due_at: DateTime<Utc>,
    /// What its current step keeps between looks (its poll plan), as JSON.
    pub(crate) step_state: Option<String>,
}

impl Job {
    /// The wire body with the query of every URL in it left out (a presigned image URL, a
    /// callback's token): what a page, a log or a message may show.
    pub fn redacted_body(&self) -> Value {
        crate::net::redacted_json(&self.body)
    }
}

impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("seq", &self.seq)
            .field("line", &self.line)
            .field("provider", &self.provider)
            .field("body", &crate::net::RedactedJson(&self.body))
            .field("idempotency_key", &self.idempotency_key)
            .field("resolution", &self.resolution)
            .field("video_seconds", &self.video_seconds)
            .field("credits", &self.credits)
            .field("output_name", &self.output_name)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("task_id", &self.task_id)
            .field("status", &self.status)
            .field("output", &self.output)
            .field("file", &self.file)
            .field("bytes", &self.bytes)
            .field("sha256", &self.sha256)
            .field("e_tag", &self.e_tag)
            .field("polls", &self.polls)
            .field("object_version", &self.object_version)
            .field("error", &self.error)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("submitted_at", &self.submitted_at)
            .field("finished_at", &self.finished_at)
            .field("task_seconds", &self.task_seconds)
            .field("lease", &self.lease)
            .field("callback_url", &self.callback_url)
            .field("heard_at", &self.heard_at)
            .field("progress", &self.progress)
            .field("deliveries", &self.deliveries)
            .field("refused", &self.refused)
            .field("earlier_tasks", &self.earlier_tasks)
            .field("due_at", &self.due_at)
            .field("step_state", &self.step_state)
            .finish()
    }
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
/// [`Ledger::record`](super::Ledger::record).
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

/// What [`Ledger::record`](super::Ledger::record) did with a callback.
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

/// What [`Ledger::enqueue`](super::Ledger::enqueue) did.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Committed {
    /// `(provider, resolution, jobs, seconds of video, credits where documented)`.
    pub rows: Vec<CommittedRow>,
}

/// One row of [`Committed`].
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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

/// A failed job to try again ([`Ledger::retry`](super::Ledger::retry)).
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

/// One entry of a job's history: a transition, a poll's news, or a callback, as recorded
/// (append-only; entries older than the retention setting are pruned).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Event {
    /// Order of recording, across all jobs.
    pub seq: i64,
    /// The job.
    pub job: String,
    /// When.
    pub at: DateTime<Utc>,
    /// What: a transition's name (`submitting`, `submitted`, `status`, ...), `callback` /
    /// `duplicate callback` for a delivery a receiver recorded, or `body replaced`
    /// ([`Ledger::replace_unsent_body`](super::Ledger::replace_unsent_body)).
    pub event: String,
    /// The state before (`None` for a job's first entry when not known).
    pub from: Option<JobState>,
    /// The state after.
    pub to: JobState,
    /// The worker that recorded it (`None`: a receiver).
    pub worker: Option<String>,
    /// The job's submits so far.
    pub attempt: u32,
    /// The provider's status name, where one was seen.
    pub status: Option<String>,
    /// The HTTP status of the answer behind it, where known.
    pub http_status: Option<u16>,
    /// The error it recorded, if any.
    pub error: Option<String>,
    /// Callback deliveries counted for the task so far.
    pub deliveries: u64,
}

/// What happens to a job after a change a worker records
/// ([`Ledger::step`](super::Ledger::step)): the worker keeps it (its step goes on), or lets
/// it go until it is due again.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct After {
    /// Let the job go (its lease ends), to be claimed again from this time; `None`: keep it.
    pub due: Option<DateTime<Utc>>,
    /// What the job's current step keeps between looks (its poll plan, its failures so far),
    /// replacing what was kept; `None` leaves it.
    pub step_state: Option<String>,
    /// The HTTP status of the answer behind the change, for the history.
    pub http_status: Option<u16>,
    /// The change records a poll of the job's task (its count goes up by one).
    pub polled: bool,
}

impl After {
    /// Keep the job.
    pub fn hold() -> After {
        After::default()
    }

    /// Let the job go until `due`.
    pub fn until(due: DateTime<Utc>) -> After {
        After {
            due: Some(due),
            ..After::default()
        }
    }

    /// Let the job go, left for a later run: it is not due, and no worker waits for it,
    /// until a run puts it back ([`Ledger::resume_deferred`](super::Ledger::resume_deferred)).
    pub fn deferred() -> After {
        After::until(super::from_millis(super::DEFERRED_MS))
    }

    /// With the step's state.
    pub fn with_step_state(mut self, state: String) -> After {
        self.step_state = Some(state);
        self
    }

    /// With the HTTP status behind the change.
    pub fn with_http_status(mut self, status: Option<u16>) -> After {
        self.http_status = status;
        self
    }

    /// Counting a poll of the job's task ([`Job::polls`]).
    pub fn polled(mut self) -> After {
        self.polled = true;
        self
    }
}

/// What is left for a worker that found nothing to claim
/// ([`Ledger::outlook`](super::Ledger::outlook)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outlook {
    /// Jobs not settled and held by no live lease: due now or later.
    pub waiting: u64,
    /// When the first of those is due (it may be now).
    pub next_due: Option<DateTime<Utc>>,
    /// Jobs not settled and leased by other workers.
    pub held_elsewhere: u64,
    /// When the first of those leases ends, unless renewed.
    pub next_expiry: Option<DateTime<Utc>>,
}
