//! One error type for everything the client does, saying what happened in the library's
//! terms. Advice about commands and flags belongs to the CLI, which adds it.

use std::{path::PathBuf, time::Duration};

use reqwest::StatusCode;
use serde_json::Value;

use super::TaskHandle;
use crate::{request::Unsupported, validate::Issue, Provider};

/// What went wrong, in terms a caller can act on. Never contains an API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No key was configured.
    #[error("no {provider} API key: set {env} (keys start with {prefix}) or configure one", env = provider.api_key_env(), prefix = provider.key_prefix())]
    MissingApiKey {
        /// The provider without a key.
        provider: Provider,
    },
    /// The configuration cannot work (a bad or insecure base URL, say).
    #[error("{message}")]
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The provider refused the key (401/403).
    #[error("{provider} refused the API key: {message}; check {env} (keys start with {prefix}) and that it has not been revoked", env = provider.api_key_env(), prefix = provider.key_prefix())]
    Authentication {
        /// The provider.
        provider: Provider,
        /// The provider's message.
        message: String,
    },
    /// The request is invalid: found locally before any network call, or by the provider
    /// (400/422). Resending the same request fails the same way.
    #[error("{} refused the request: {}; fix the request (sending it again will fail the same way)", provider, issues_text(.issues))]
    InvalidRequest {
        /// The provider.
        provider: Provider,
        /// Every problem, with its field path where known.
        issues: Vec<Issue>,
    },
    /// The provider cannot serve this request at all (a 21:9 video on Apiframe, say).
    #[error("{0}")]
    Unsupported(#[from] Unsupported),
    /// The account lacks credits (402).
    #[error("{provider}: insufficient credits ({message}); top up the account, then resubmit")]
    InsufficientCredits {
        /// The provider.
        provider: Provider,
        /// The provider's message, with the amounts when it gives them.
        message: String,
    },
    /// Too many requests (429), still so after the retries.
    #[error("{provider} rate limit exceeded ({message}); retry after {}", after(*retry_after))]
    RateLimited {
        /// The provider.
        provider: Provider,
        /// When the provider said to retry.
        retry_after: Option<Duration>,
        /// The provider's message.
        message: String,
    },
    /// A transient failure at the provider (5xx, the moderation service's
    /// `nsfw_moderation_unavailable`, an Idempotency-Key still in flight), still so after the
    /// retries.
    #[error("{provider} is temporarily unavailable ({status}{}: {message}); retry after {}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default(), after(*retry_after))]
    Unavailable {
        /// The provider.
        provider: Provider,
        /// The HTTP status.
        status: StatusCode,
        /// The provider's error code, if any.
        code: Option<String>,
        /// The provider's message.
        message: String,
        /// When the provider said to retry.
        retry_after: Option<Duration>,
    },
    /// No such task (404): a wrong id, another provider's id, or another key's task.
    #[error("{provider} has no task {id:?}; check the id, the provider, and that the key is the one that created it")]
    NotFound {
        /// The provider.
        provider: Provider,
        /// The id asked for.
        id: String,
    },
    /// The task ended without a video (`fail`, `failed`, `FAILED`, `CANCELLED`).
    #[error("{provider} task {id} {status}: {}{message}; fix the input before resubmitting (the same input will likely fail again)", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
    TaskFailed {
        /// The provider.
        provider: Provider,
        /// The task id.
        id: String,
        /// The provider's terminal status.
        status: String,
        /// The provider's error code, if any.
        code: Option<String>,
        /// The provider's message.
        message: String,
    },
    /// The wait ran out of time; the task itself goes on at the provider.
    #[error("{provider} task {id} is still {status} after {}; it goes on at the provider and may still finish: wait for it again", crate::units::duration(*waited))]
    DeadlineExceeded {
        /// The provider.
        provider: Provider,
        /// The task id.
        id: String,
        /// The last status seen.
        status: String,
        /// How long the wait lasted.
        waited: Duration,
    },
    /// A submit or wait was cancelled. A task that was submitted goes on at the provider.
    #[error("{}", match id {
        Some(id) => format!("stopped waiting for {provider} task {id}; the task goes on at the provider"),
        None => format!("cancelled during the submit to {provider}; a task may have been created (the same request with the same Idempotency-Key replays it)"),
    })]
    Cancelled {
        /// The provider.
        provider: Provider,
        /// The task id, when the submit had answered.
        id: Option<String>,
    },
    /// A download was cancelled. The bytes received are kept in the partial file, and the next
    /// download of the same output to the same path resumes from them.
    #[error("download to {} cancelled after {} bytes; the partial file {} is kept and the next download to that path resumes from it", path.display(), received, partial.display())]
    DownloadCancelled {
        /// The target.
        path: PathBuf,
        /// The partial file beside it.
        partial: PathBuf,
        /// Bytes in the partial file.
        received: u64,
    },
    /// A task handle was given to a client for another provider.
    #[error("task {task} belongs to {}, but this client talks to {client}", task.provider)]
    WrongProvider {
        /// The task.
        task: TaskHandle,
        /// The client's provider.
        client: Provider,
    },
    /// The connection failed or timed out.
    #[error("network error talking to {provider}: {}", chain(source))]
    Network {
        /// The provider.
        provider: Provider,
        /// The transport error.
        source: reqwest::Error,
    },
    /// A submit whose outcome is unknown: one of its attempts reached the provider and lost its
    /// answer (a dropped connection, a 5xx), so a task may exist and be billed, whatever the
    /// attempts after it said.
    #[error("{provider} may have created a task: a submit's answer was lost ({lost}){}; {}", if last_differs(lost, last) { format!(", then {last}") } else { String::new() }, match idempotency_key {
        Some(key) => format!("submitting the same request with the same Idempotency-Key ({key}) returns that task instead of creating another"),
        None => format!("submitting again may create and bill a second task ({provider} {}): check the provider's task list first", if provider.facts().idempotency { "was sent no Idempotency-Key" } else { "has no idempotency key" }),
    })]
    SubmitUncertain {
        /// The provider.
        provider: Provider,
        /// The key the attempts carried, if any.
        idempotency_key: Option<String>,
        /// How the answer was lost.
        lost: String,
        /// The last attempt's error.
        last: Box<Error>,
    },
    /// The provider answered something the contract does not describe.
    #[error("{provider} answered unexpectedly{}: {detail}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    UnexpectedResponse {
        /// The provider.
        provider: Provider,
        /// The HTTP status, when there was one.
        status: Option<StatusCode>,
        /// What was wrong, with the start of the body.
        detail: String,
    },
    /// The task has no output to download yet, or none at all.
    #[error("task {id} has no output to download (status {status}); wait for it to succeed first")]
    NoOutput {
        /// The task id.
        id: String,
        /// Its status.
        status: String,
    },
    /// The output URL expired before the download.
    #[error("the output URL expired{}; output URLs are short-lived: download as soon as a task succeeds (poll the task again in case the provider issues a fresh URL)", expired_at.map(|t| format!(" at {t}")).unwrap_or_default())]
    OutputExpired {
        /// When it expired, if known.
        expired_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The download target exists.
    #[error("{} already exists; allow overwriting it or choose another path", path.display())]
    FileExists {
        /// The target.
        path: PathBuf,
    },
    /// The video cannot be written where asked: a missing or read-only directory, a directory
    /// in the file's place. Checked before anything is submitted.
    #[error("cannot write the video to {}: {reason}", path.display())]
    UnusableTarget {
        /// The target.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The output URL served something that is not a video.
    #[error(
        "the output URL served {content_type:?}, not a video; the URL may be wrong or expired"
    )]
    NotVideo {
        /// The `Content-Type` received.
        content_type: String,
    },
    /// The download ended short of its announced size, after the retries.
    #[error("the download stopped at {received} of {expected} bytes after retries; downloading to the same path again resumes from the partial file")]
    Incomplete {
        /// Bytes announced.
        expected: u64,
        /// Bytes received.
        received: u64,
    },
    /// A local file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// An object store refused or failed a read or write (`s3://`, `gs://`, `az://`).
    #[error("object store: {message}")]
    Storage {
        /// What went wrong, and with which object (never a credential or a signed query).
        message: String,
        /// The store's own error, where there was one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// The job ledger could not be read or written.
    #[error("ledger: {message}")]
    Ledger {
        /// What went wrong, and with which ledger.
        message: String,
        /// The database's own error, where there was one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// A batch's worker stopped without finishing its step (it panicked, or its task was
    /// aborted): a fault of happyhorse itself, not of the ledger or the provider.
    #[error("a batch worker stopped: {message}")]
    Worker {
        /// What stopped.
        message: String,
    },
    /// Another process is running a batch on this ledger.
    #[error("the ledger {ledger} is in use by another happyhorse process; wait for it to finish, or stop it (a stopped batch resumes where it left off)")]
    LedgerBusy {
        /// The ledger.
        ledger: String,
    },
    /// Jobs whose ids the ledger holds with a different request.
    #[error("{} already in the ledger with a different request ({}); give {} a new `id`, or use another ledger", if jobs.len() == 1 { "a job is" } else { "jobs are" }, jobs.join(", "), if jobs.len() == 1 { "it" } else { "each" })]
    JobConflict {
        /// The jobs, with their lines where known (`line 4: job-1a2b`).
        jobs: Vec<String>,
    },
    /// The batch would commit more than its cap; nothing was submitted.
    #[error("over budget: {message}")]
    OverBudget {
        /// The cap, what is committed, and what the batch would add.
        message: String,
    },
    /// The provider answered a job's submit with a task the ledger already records for another
    /// job: two jobs cannot share one task, so the answer was not recorded.
    #[error("the provider answered job {job}'s submit with {provider} task {task_id}, which the ledger already records for {}", holder.as_deref().map_or_else(|| "another job".to_owned(), |h| format!("job {h}")))]
    TaskTaken {
        /// The job whose submit was answered.
        job: String,
        /// The provider.
        provider: Provider,
        /// The task id in the answer.
        task_id: String,
        /// The job that holds the task, where it could be read.
        holder: Option<String>,
    },
    /// A change the job's lifecycle does not allow from where the job stands (a receiver may
    /// have settled it meanwhile); nothing was recorded.
    #[error("job {job}: cannot record {change} while it is {state}")]
    NotAllowed {
        /// The job.
        job: String,
        /// The change, in words (`a status`, `a task id`, ...).
        change: &'static str,
        /// Where the job stands (a state's name).
        state: String,
    },
    /// The most tasks a batch keeps running at the provider at once are running: the submit
    /// was not recorded, and waits for one of them to end.
    #[error("{limit} tasks are running at the provider already (the batch's limit)")]
    InFlightLimit {
        /// The limit.
        limit: u32,
    },
    /// Another worker claimed the job since this one did; this worker's writes to it are refused.
    #[error("job {job} was claimed by another worker; this worker left it alone")]
    LeaseLost {
        /// The job.
        job: String,
    },
}

/// A task without a video to download is [`Error::NoOutput`].
impl From<super::NotFinished> for Error {
    fn from(not: super::NotFinished) -> Self {
        Error::NoOutput {
            id: not.id,
            status: not.status,
        }
    }
}

fn issues_text(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(|issue| issue.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// An error and its causes (`error sending request: connection refused`), without URLs: a
/// reqwest error's Display names the URL, which may carry a signed query string.
fn chain(err: &reqwest::Error) -> String {
    let mut text = String::from(if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "cannot connect"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "error sending request"
    });
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn last_differs(lost: &str, last: &Error) -> bool {
    !last.to_string().contains(lost)
}

fn after(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(
        || "a short backoff".to_owned(),
        |d| format!("{} s", d.as_secs().max(1)),
    )
}

impl Error {
    /// A ledger error with no underlying database error.
    #[cfg(feature = "ledger")]
    pub(crate) fn ledger(message: impl Into<String>) -> Error {
        Error::Ledger {
            message: message.into(),
            source: None,
        }
    }

    /// A ledger error caused by the database's `source`.
    #[cfg(feature = "ledger")]
    pub(crate) fn ledger_cause(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error::Ledger {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Unavailable { .. } | Error::Network { .. }
        )
    }

    /// Why this failed attempt may have reached the provider and created a task: a request
    /// sent whose answer never came, or a server error. `None` when it certainly did not.
    pub(crate) fn may_have_reached_provider(&self) -> Option<String> {
        match self {
            Error::Network { source, .. } if !source.is_connect() => Some(chain(source)),
            Error::Unavailable { status, .. } if matches!(status.as_u16(), 500 | 502 | 504) => {
                Some(format!("HTTP {}", status.as_u16()))
            }
            _ => None,
        }
    }

    /// The HTTP status behind this error, when there was one (for logs).
    pub(crate) fn http_status(&self) -> Option<u16> {
        match self {
            Error::RateLimited { .. } => Some(429),
            Error::Unavailable { status, .. } => Some(status.as_u16()),
            Error::UnexpectedResponse { status, .. } => status.map(|s| s.as_u16()),
            Error::Authentication { .. } => Some(401),
            Error::NotFound { .. } => Some(404),
            Error::InsufficientCredits { .. } => Some(402),
            _ => None,
        }
    }

    /// Why this error may be retried, for the retry mechanism; `None` when it may not.
    pub(crate) fn retry(&self) -> Option<crate::retry::Retry> {
        use crate::retry::Retry;
        match self {
            Error::RateLimited { retry_after, .. } => {
                Some(Retry::because("429 rate limited", *retry_after).kind("rate_limited"))
            }
            Error::Unavailable {
                status,
                code,
                retry_after,
                ..
            } => Some(
                Retry::because(
                    format!(
                        "{} unavailable{}",
                        status.as_u16(),
                        code.as_deref()
                            .map(|c| format!(" ({c})"))
                            .unwrap_or_default()
                    ),
                    *retry_after,
                )
                .kind("unavailable"),
            ),
            Error::Network { source, .. } => {
                Some(Retry::because(chain(source), None).kind("network"))
            }
            _ => None,
        }
    }

    /// The wait the provider asked for, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } | Error::Unavailable { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// The error for a provider's answer with `status` and `body` (JSON, or the raw text as a
    /// JSON string).
    pub(crate) fn from_answer(
        provider: Provider,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &Value,
        id: Option<&str>,
    ) -> Error {
        let message = answer_message(provider, body);
        match status.as_u16() {
            400 | 422 => Error::InvalidRequest {
                provider,
                issues: answer_issues(provider, body, &message),
            },
            // Refused for its size before any task existed (a body over the provider's limit).
            413 => Error::InvalidRequest {
                provider,
                issues: vec![Issue::new(
                    String::new(),
                    format!("the request body is larger than {provider} takes (413)"),
                )],
            },
            401 | 403 => Error::Authentication { provider, message },
            402 => Error::InsufficientCredits {
                provider,
                message: credits_message(body, message),
            },
            404 => Error::NotFound {
                provider,
                id: id.unwrap_or_default().to_owned(),
            },
            429 => Error::RateLimited {
                provider,
                retry_after,
                message,
            },
            408 | 409 | 425 | 500..=599 => Error::Unavailable {
                provider,
                status,
                code: answer_code(provider, body),
                message,
                retry_after,
            },
            _ => Error::UnexpectedResponse {
                provider,
                status: Some(status),
                detail: snippet(body),
            },
        }
    }
}

/// The provider's message in an error body.
fn answer_message(provider: Provider, body: &Value) -> String {
    let found = match provider {
        Provider::HiApi => body.get("message").and_then(Value::as_str),
        Provider::Reapi => body.pointer("/error/message").and_then(Value::as_str),
        Provider::Apiframe => body.get("error").and_then(Value::as_str),
    };
    found.map_or_else(|| snippet(body), |text| clean(text, 300))
}

/// Outside text as it may appear in a message: control characters and invisible ones
/// (bidirectional overrides, zero-width characters: see `values::text::is_invisible`) shown as
/// `\u{…}` escapes (no terminal sequences, no NULs, no reordered text), cut with `…` once `max`
/// characters are shown (escapes count at their shown length).
pub(crate) fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0usize;
    for c in text.chars() {
        let piece: String = if c.is_control() || crate::values::text::is_invisible(c) {
            c.escape_unicode().collect()
        } else {
            c.to_string()
        };
        let width = piece.chars().count();
        if shown.saturating_add(width) > max {
            out.push('…');
            break;
        }
        shown += width;
        out.push_str(&piece);
    }
    out
}

/// The provider's error code, when it has one.
fn answer_code(provider: Provider, body: &Value) -> Option<String> {
    let code = match provider {
        Provider::HiApi => body.get("error_code"),
        Provider::Reapi => body.pointer("/error/code"),
        Provider::Apiframe => None,
    }?;
    Some(match code {
        Value::String(code) => clean(code, 64),
        other => clean(&other.to_string(), 64),
    })
}

/// The field problems in a 400 body: Apiframe's `details` map, else the message split at `; `.
fn answer_issues(provider: Provider, body: &Value, message: &str) -> Vec<Issue> {
    if provider == Provider::Apiframe {
        if let Some(details) = body.get("details").and_then(Value::as_object) {
            let issues: Vec<Issue> = details
                .iter()
                .flat_map(|(path, messages)| {
                    let messages: Vec<String> = match messages {
                        Value::Array(list) => list
                            .iter()
                            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
                            .collect(),
                        Value::String(one) => vec![one.clone()],
                        other => vec![other.to_string()],
                    };
                    messages
                        .into_iter()
                        .map(move |m| Issue::new(clean(path, 60), clean(&m, 120)))
                })
                .take(MAX_ISSUES)
                .collect();
            if !issues.is_empty() {
                return issues;
            }
        }
    }
    message
        .split("; ")
        .filter(|part| !part.is_empty())
        .take(MAX_ISSUES)
        .map(|part| Issue::new(String::new(), part.to_owned()))
        .collect()
}

/// The most field problems an error carries from an answer.
const MAX_ISSUES: usize = 8;

fn credits_message(body: &Value, message: String) -> String {
    match (body.get("creditsRequired"), body.get("creditsAvailable")) {
        (Some(required), Some(available)) => {
            format!(
                "{message}: {} required, {} available",
                clean(&required.to_string(), 30),
                clean(&available.to_string(), 30)
            )
        }
        _ => message,
    }
}

/// The start of a body, for messages.
pub(crate) fn snippet(body: &Value) -> String {
    let text = match body {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    clean(&text, 300)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_map_to_actionable_variants() {
        let hiapi = |status: u16, body: Value| {
            Error::from_answer(
                Provider::HiApi,
                StatusCode::from_u16(status).unwrap(),
                Some(Duration::from_secs(3)),
                &body,
                Some("tk-1"),
            )
        };
        let err = hiapi(
            400,
            json!({"code": 400, "error_code": "INVALID_REQUEST",
                   "message": "duration: maximum: got 20, want 15; additional properties 'seed' not allowed"}),
        );
        let Error::InvalidRequest { issues, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(issues.len(), 2);
        assert!(matches!(
            hiapi(401, json!({"message": "permission_denied"})),
            Error::Authentication { .. }
        ));
        let limited = hiapi(429, json!({"message": "slow down"}));
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(3)));
        assert!(limited.is_transient());
        let moderation = hiapi(
            503,
            json!({"error_code": "nsfw_moderation_unavailable", "message": "retry"}),
        );
        assert!(moderation
            .to_string()
            .contains("nsfw_moderation_unavailable"));
        assert!(moderation.is_transient());
        assert!(matches!(hiapi(404, json!({})), Error::NotFound { id, .. } if id == "tk-1"));
        let apiframe = Error::from_answer(
            Provider::Apiframe,
            StatusCode::PAYMENT_REQUIRED,
            None,
            &json!({"error": "Insufficient credits", "creditsRequired": 155, "creditsAvailable": 12}),
            None,
        );
        assert!(
            apiframe.to_string().contains("155 required, 12 available"),
            "{apiframe}"
        );
        let details = Error::from_answer(
            Provider::Apiframe,
            StatusCode::BAD_REQUEST,
            None,
            &json!({"error": "Validation failed", "details": {"prompt": ["required"]}}),
            None,
        );
        assert!(
            details.to_string().contains("prompt: required"),
            "{details}"
        );
    }

    #[test]
    fn missing_key_names_the_variable_and_no_cli_flag() {
        let text = Error::MissingApiKey {
            provider: Provider::Apiframe,
        }
        .to_string();
        assert!(
            text.contains("APIFRAME_API_KEY") && text.contains("afk_"),
            "{text}"
        );
        assert!(!text.contains("--"), "{text}");
    }
}
