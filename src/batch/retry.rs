//! Failed jobs tried again (`batch --retry-failed`): which failures can be, and how, without
//! ever making a second task where the first may still make a video.

use std::{fmt, str::FromStr};

use crate::{
    client::TaskState,
    ledger::{Again, Job, JobState, Retry},
};

/// A failure that can be tried again, by what is known of its task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RetryClass {
    /// `refused`: the provider refused the submit before any task existed (400, 413, 422, or a
    /// body this version cannot send). Nothing was billed; a new submit is.
    Refused,
    /// `task-failed`: the provider ended the task failed or cancelled (a poll or a callback
    /// said so). It makes no video; a new, billed task is submitted.
    TaskFailed,
    /// `expired`: the task succeeded, but its video's URL expired before it was saved. The
    /// video is gone at the provider; a new, billed task is submitted.
    Expired,
    /// `download`: the task succeeded and the saved file was not a video; fetched again from
    /// the same task (nothing billed), or reported expired if its URL has.
    Download,
}

impl RetryClass {
    /// Every class, in the order they are shown.
    pub const ALL: [RetryClass; 4] = [
        RetryClass::Refused,
        RetryClass::TaskFailed,
        RetryClass::Expired,
        RetryClass::Download,
    ];

    /// Its name, as `--retry-failed` takes it.
    pub fn name(self) -> &'static str {
        match self {
            RetryClass::Refused => "refused",
            RetryClass::TaskFailed => "task-failed",
            RetryClass::Expired => "expired",
            RetryClass::Download => "download",
        }
    }

    /// Whether trying again submits a new task (which the provider bills, but for a refused
    /// submit's first try, which it did not).
    pub fn submits(self) -> bool {
        self != RetryClass::Download
    }

    /// The class of `job`'s failure, if it can be tried again: `None` for a job that did not
    /// fail, and for one whose task may still be going (a poll that failed for good, a task
    /// id another job holds, a status never seen to end), which only its provider can tell.
    pub fn of(job: &Job) -> Option<RetryClass> {
        match job.state {
            JobState::Expired => Some(RetryClass::Expired),
            JobState::Failed if job.refused => Some(RetryClass::Refused),
            JobState::Failed if job.task_id.is_some() && job.output.is_some() => {
                Some(RetryClass::Download)
            }
            JobState::Failed => {
                let ended = job
                    .task_id
                    .as_ref()
                    .and(job.status.as_deref())
                    .map(|status| TaskState::from_status(job.provider, status));
                matches!(ended, Some(TaskState::Failed | TaskState::Cancelled))
                    .then_some(RetryClass::TaskFailed)
            }
            _ => None,
        }
    }
}

impl fmt::Display for RetryClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`RetryClass`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown failure class {0:?}: expected refused, task-failed, expired or download")]
pub struct UnknownRetryClass(String);

impl FromStr for RetryClass {
    type Err = UnknownRetryClass;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        RetryClass::ALL
            .into_iter()
            .find(|class| class.name() == text.trim())
            .ok_or_else(|| UnknownRetryClass(crate::client::clean(text, 40)))
    }
}

/// How `job` is tried again when its class is among `classes`.
pub(super) fn retry_of(job: &Job, classes: &[RetryClass]) -> Option<Retry> {
    let class = RetryClass::of(job).filter(|class| classes.contains(class))?;
    let again = match class {
        RetryClass::Download => Again::Download,
        _ => Again::Submit {
            idempotency_key: job.idempotency_key.as_deref().map(|key| {
                // A new key per try, from the job's first: the old one would give back the
                // old task (or the old refusal). Submits only grow, so no two tries share one.
                let first = key.split_once(RETRY_MARK).map_or(key, |(first, _)| first);
                format!("{first}{RETRY_MARK}{}", job.attempts)
            }),
        },
    };
    let old = job
        .task_id
        .as_deref()
        .map(|task| format!(" (task {task})"))
        .unwrap_or_default();
    Some(Retry {
        id: job.id.clone(),
        state: job.state,
        attempts: job.attempts,
        again,
        note: format!(
            "tried again by request ({class}) after: {}{old}",
            crate::client::clean(job.error.as_deref().unwrap_or("a failure"), 300)
        ),
    })
}

/// Between a job's first key and the try it belongs to.
const RETRY_MARK: &str = "-try";
