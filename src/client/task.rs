//! A provider-neutral view of a task, read from each provider's generated task type; the
//! handle that names a task at its provider; and the finished task that always has an output.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    generated::{apiframe, hiapi, reapi},
    Provider,
};

/// Where a task is, across providers. Unknown status names count as [`TaskState::Running`], so
/// a status a provider adds later keeps a wait going rather than ending it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskState {
    /// Accepted, not started (`queued`, `pending`, `QUEUED`).
    Queued,
    /// Running, or any status the client does not know.
    Running,
    /// Done, with outputs (`success`, `completed`, `COMPLETED`).
    Succeeded,
    /// Ended without a video (`fail`, `failed`, `FAILED`).
    Failed,
    /// Cancelled (`CANCELLED`).
    Cancelled,
}

impl TaskState {
    /// Whether the task will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded | TaskState::Failed | TaskState::Cancelled
        )
    }

    /// The state a provider's status name stands for (see [`Facts::statuses`]; case is
    /// ignored).
    ///
    /// [`Facts::statuses`]: crate::provider::Facts::statuses
    pub fn from_status(provider: Provider, status: &str) -> TaskState {
        let names = provider.facts().statuses;
        let is = |name: &str| status.eq_ignore_ascii_case(name);
        if is("cancelled") || is("canceled") || names.cancelled.is_some_and(is) {
            TaskState::Cancelled
        } else if is(names.queued) || names.also_queued.iter().any(|name| is(name)) {
            TaskState::Queued
        } else if is(names.succeeded) {
            TaskState::Succeeded
        } else if is(names.failed) {
            TaskState::Failed
        } else {
            TaskState::Running
        }
    }
}

/// One output file of a finished task.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// Where to download it. Short-lived: download it as soon as the task succeeds.
    pub url: String,
    /// When the URL stops working, when the provider says (HiAPI `expireAt`), or estimated
    /// (Apiframe: `completedAt` + 24 h, its documented default retention).
    pub expires_at: Option<DateTime<Utc>>,
    /// The provider says the file is gone already (Apiframe `expired`).
    pub expired: bool,
}

impl fmt::Debug for Output {
    /// Without the URL's query string: a signed URL grants access until it expires.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("url", &crate::net::redacted(&self.url))
            .field("expires_at", &self.expires_at)
            .field("expired", &self.expired)
            .finish()
    }
}

/// Why a task failed, as the provider put it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskError {
    /// The provider's code, if any.
    pub code: Option<String>,
    /// The provider's message.
    pub message: String,
}

/// A task as last seen. Serialises (and deserialises) so it can be stored and resumed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSnapshot {
    /// The provider.
    pub provider: Provider,
    /// The task (job) id.
    pub id: String,
    /// The provider-neutral state.
    pub state: TaskState,
    /// The provider's own status name.
    pub status: String,
    /// Percent done, when the provider reports it (Apiframe).
    pub progress: Option<u8>,
    /// The outputs, once succeeded.
    pub outputs: Vec<Output>,
    /// Why it failed, once failed.
    pub error: Option<TaskError>,
    /// Credits charged, when the provider reports it (Apiframe).
    pub credit_cost: Option<i64>,
}

impl TaskSnapshot {
    /// The handle that names this task at its provider.
    pub fn handle(&self) -> TaskHandle {
        TaskHandle::new(self.provider, self.id.clone())
    }

    /// A failed (or cancelled) task's end in words: provider, task, status, and the
    /// provider's code and message when it gave them.
    pub fn failure(&self) -> String {
        let (provider, id, status) = (self.provider, &self.id, &self.status);
        match &self.error {
            Some(e) => format!(
                "{provider} task {id} {status}: {}{}",
                e.code
                    .as_deref()
                    .map(|c| format!("{c}: "))
                    .unwrap_or_default(),
                e.message
            ),
            None => format!("{provider} task {id} {status}"),
        }
    }

    pub(crate) fn from_hiapi(task: hiapi::types::Task) -> Self {
        let status = task.status.0;
        let outputs = task
            .output
            .unwrap_or_default()
            .into_iter()
            .map(|output| Output {
                url: output.url,
                expires_at: output
                    .expire_at
                    .and_then(|at| DateTime::from_timestamp(at, 0)),
                expired: false,
            })
            .collect();
        let error = task.error.map(|error| TaskError {
            code: error.code.map(|code| match code {
                serde_json::Value::String(code) => code,
                other => other.to_string(),
            }),
            message: error.message.unwrap_or_default(),
        });
        TaskSnapshot {
            provider: Provider::HiApi,
            id: task.task_id,
            state: TaskState::from_status(Provider::HiApi, &status),
            status,
            progress: None,
            outputs,
            error,
            credit_cost: None,
        }
    }

    pub(crate) fn from_reapi(task: reapi::types::Task) -> Self {
        let status = task.status.0;
        let outputs = task
            .output
            .map(|output| output.video_urls)
            .unwrap_or_default()
            .into_iter()
            .map(|url| Output {
                url,
                expires_at: None,
                expired: false,
            })
            .collect();
        let error = task.error.map(|error| TaskError {
            code: error.code.map(|code| code.to_string()),
            message: error.message.unwrap_or_default(),
        });
        TaskSnapshot {
            provider: Provider::Reapi,
            id: task.id,
            state: TaskState::from_status(Provider::Reapi, &status),
            status,
            progress: None,
            outputs,
            error,
            credit_cost: None,
        }
    }

    pub(crate) fn from_apiframe(job: apiframe::types::Job) -> Self {
        let status = job.status.0;
        let expires_at = job
            .completed_at
            .and_then(|done| done.checked_add_signed(chrono::TimeDelta::hours(24)));
        let expired = job.expired.unwrap_or(false);
        let urls: Vec<String> = job
            .result
            .as_ref()
            .and_then(|result| result.get("urls"))
            .and_then(|urls| urls.as_array())
            .map(|urls| {
                urls.iter()
                    .filter_map(|url| url.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        TaskSnapshot {
            provider: Provider::Apiframe,
            id: job.id.to_string(),
            state: TaskState::from_status(Provider::Apiframe, &status),
            status,
            progress: job
                .progress
                .and_then(|p| u8::try_from(p.clamp(0, 100)).ok()),
            outputs: urls
                .into_iter()
                .map(|url| Output {
                    url,
                    expires_at,
                    expired,
                })
                .collect(),
            error: job.error.map(|message| TaskError {
                code: None,
                message,
            }),
            credit_cost: job.credit_cost,
        }
    }
}

/// A task at its provider: what every call about an existing task takes, so that a HiAPI id
/// is never polled on an Apiframe client by mistake. Serialises as
/// `{"provider": "hiapi", "id": "..."}`; `Display` shows `provider:id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaskHandle {
    /// The provider the task lives at.
    pub provider: Provider,
    /// The task (job) id the provider gave it.
    pub id: String,
}

impl TaskHandle {
    /// The task `id` at `provider` (for an id stored elsewhere, or typed on a command line).
    pub fn new(provider: Provider, id: impl Into<String>) -> Self {
        TaskHandle {
            provider,
            id: id.into(),
        }
    }
}

impl fmt::Display for TaskHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.id)
    }
}

impl From<&TaskHandle> for TaskHandle {
    fn from(handle: &TaskHandle) -> Self {
        handle.clone()
    }
}

impl From<&TaskSnapshot> for TaskHandle {
    fn from(snapshot: &TaskSnapshot) -> Self {
        snapshot.handle()
    }
}

impl From<&Finished> for TaskHandle {
    fn from(finished: &Finished) -> Self {
        finished.handle()
    }
}

/// A task that succeeded with at least one output: what a finished wait returns. It cannot
/// be built without an output, so [`Finished::output`] needs no `Option` and no index.
/// Serialises as its [`TaskSnapshot`]; deserialising refuses a snapshot that has not
/// succeeded or has no output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TaskSnapshot", into = "TaskSnapshot")]
pub struct Finished {
    snapshot: TaskSnapshot,
    output: Output,
}

impl Finished {
    /// The video: the first (for HappyHorse, the only) output.
    pub fn output(&self) -> &Output {
        &self.output
    }

    /// Every output, the first being [`Finished::output`].
    pub fn outputs(&self) -> &[Output] {
        &self.snapshot.outputs
    }

    /// The provider.
    pub fn provider(&self) -> Provider {
        self.snapshot.provider
    }

    /// The task id.
    pub fn id(&self) -> &str {
        &self.snapshot.id
    }

    /// The handle that names this task at its provider.
    pub fn handle(&self) -> TaskHandle {
        self.snapshot.handle()
    }

    /// The snapshot it was made from (status name, credits charged, ...).
    pub fn snapshot(&self) -> &TaskSnapshot {
        &self.snapshot
    }

    /// The snapshot it was made from.
    pub fn into_snapshot(self) -> TaskSnapshot {
        self.snapshot
    }
}

/// Why a [`TaskSnapshot`] is not a [`Finished`] task.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{provider} task {id} is {status}, not succeeded with an output")]
pub struct NotFinished {
    /// The provider.
    pub provider: Provider,
    /// The task id.
    pub id: String,
    /// Its status name.
    pub status: String,
}

impl TryFrom<TaskSnapshot> for Finished {
    type Error = NotFinished;

    fn try_from(snapshot: TaskSnapshot) -> Result<Self, NotFinished> {
        match (snapshot.state, snapshot.outputs.first()) {
            (TaskState::Succeeded, Some(output)) => Ok(Finished {
                output: output.clone(),
                snapshot,
            }),
            _ => Err(NotFinished {
                provider: snapshot.provider,
                id: snapshot.id,
                status: snapshot.status,
            }),
        }
    }
}

impl From<Finished> for TaskSnapshot {
    fn from(finished: Finished) -> Self {
        finished.snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_map_to_states_and_unknown_ones_keep_running() {
        use TaskState::*;
        for (provider, status, state) in [
            (Provider::HiApi, "queued", Queued),
            (Provider::HiApi, "handling", Running),
            (Provider::HiApi, "archiving", Running),
            (Provider::HiApi, "success", Succeeded),
            (Provider::HiApi, "fail", Failed),
            (Provider::Reapi, "pending", Queued),
            (Provider::Reapi, "completed", Succeeded),
            (Provider::Reapi, "failed", Failed),
            (Provider::Apiframe, "QUEUED", Queued),
            (Provider::Apiframe, "PROCESSING", Running),
            (Provider::Apiframe, "COMPLETED", Succeeded),
            (Provider::Apiframe, "FAILED", Failed),
            (Provider::Apiframe, "CANCELLED", Cancelled),
            (Provider::Apiframe, "UPSCALING", Running),
        ] {
            assert_eq!(
                TaskState::from_status(provider, status),
                state,
                "{provider} {status}"
            );
        }
        assert!(!Running.is_terminal() && Cancelled.is_terminal());
    }

    fn snapshot(state: TaskState, outputs: usize) -> TaskSnapshot {
        TaskSnapshot {
            provider: Provider::HiApi,
            id: "tk-1".into(),
            state,
            status: "whatever".into(),
            progress: None,
            outputs: (0..outputs)
                .map(|i| Output {
                    url: format!("https://cdn.example.com/{i}.mp4?sig=secret"),
                    expires_at: None,
                    expired: false,
                })
                .collect(),
            error: None,
            credit_cost: None,
        }
    }

    #[test]
    fn finished_tasks_always_have_an_output_and_round_trip_as_snapshots() {
        assert!(Finished::try_from(snapshot(TaskState::Succeeded, 0)).is_err());
        assert!(Finished::try_from(snapshot(TaskState::Running, 1)).is_err());
        let finished = Finished::try_from(snapshot(TaskState::Succeeded, 2)).unwrap();
        assert!(finished.output().url.contains("/0.mp4"));
        assert_eq!(finished.outputs().len(), 2);
        let stored = serde_json::to_string(&finished).unwrap();
        let back: Finished = serde_json::from_str(&stored).unwrap();
        assert_eq!(back, finished);
        let unfinished = serde_json::to_string(&snapshot(TaskState::Running, 1)).unwrap();
        assert!(serde_json::from_str::<Finished>(&unfinished).is_err());
        assert!(!format!("{:?}", finished.output()).contains("secret"));
    }

    #[test]
    fn handles_serialise_with_their_provider() {
        let handle = TaskHandle::new(Provider::Apiframe, "b2c3");
        let text = serde_json::to_string(&handle).unwrap();
        assert_eq!(text, r#"{"provider":"apiframe","id":"b2c3"}"#);
        assert_eq!(serde_json::from_str::<TaskHandle>(&text).unwrap(), handle);
        assert_eq!(handle.to_string(), "apiframe:b2c3");
    }
}
