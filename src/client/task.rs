//! A provider-neutral view of a task, read from each provider's generated task type.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{
    generated::{apiframe, hiapi, reapi},
    Provider,
};

/// Where a task is, across providers. Unknown status names count as [`TaskState::Running`], so
/// a status a provider adds later keeps a wait going rather than ending it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

    /// The state a provider's status name stands for.
    pub fn from_status(provider: Provider, status: &str) -> TaskState {
        let lower = status.to_ascii_lowercase();
        match (provider, lower.as_str()) {
            (_, "cancelled" | "canceled") => TaskState::Cancelled,
            (Provider::HiApi, "queued") => TaskState::Queued,
            (Provider::HiApi, "success") => TaskState::Succeeded,
            (Provider::HiApi, "fail") => TaskState::Failed,
            (Provider::Reapi, "pending" | "queued") => TaskState::Queued,
            (Provider::Reapi, "completed") => TaskState::Succeeded,
            (Provider::Reapi, "failed") => TaskState::Failed,
            (Provider::Apiframe, "queued") => TaskState::Queued,
            (Provider::Apiframe, "completed") => TaskState::Succeeded,
            (Provider::Apiframe, "failed") => TaskState::Failed,
            _ => TaskState::Running,
        }
    }
}

/// One output file of a finished task.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Output {
    /// Where to download it. Short-lived: download it as soon as the task succeeds.
    pub url: String,
    /// When the URL stops working, when the provider says (HiAPI `expireAt`), or estimated
    /// (Apiframe: `completedAt` + 24 h, its documented default retention).
    pub expires_at: Option<DateTime<Utc>>,
    /// The provider says the file is gone already (Apiframe `expired`).
    pub expired: bool,
}

/// Why a task failed, as the provider put it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskError {
    /// The provider's code, if any.
    pub code: Option<String>,
    /// The provider's message.
    pub message: String,
}

/// A task as last seen.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
            .map(|done| done + chrono::Duration::hours(24));
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
}
