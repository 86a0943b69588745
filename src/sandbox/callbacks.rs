//! Callback (HiAPI) and webhook (Apiframe) deliveries: POSTed when a task ends (and on
//! Apiframe progress when asked), signed as each provider signs them, retried on anything but a
//! 2xx answer, with the crate's one retry mechanism (`crate::retry`), as the client retries.
//!
//! The sandbox delivers only to loopback hosts, so it never reaches out of the machine: a
//! task whose callback points elsewhere is accepted (as the provider would accept it) and its
//! delivery is recorded as failed.

use std::{
    fmt,
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use axum::body::Bytes;
use serde_json::Value;

use super::{unix_now, Phase, SandboxConfig, State, Task, WebhookStatus};
use crate::{
    net::{is_loopback, redacted},
    retry::{Retry, RetryPolicy},
    webhook, Provider,
};

/// How long one delivery attempt waits for the receiver's answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where and how a task's events are delivered.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub url: String,
    /// Apiframe `webhookEvents`; HiAPI delivers only the terminal state.
    pub progress: bool,
    pub completed: bool,
    pub failed: bool,
}

/// Whether `url` is plain HTTP to a loopback host (`localhost`, 127.0.0.0/8, `[::1]`), the
/// one exception the sandbox makes to the providers' HTTPS rule.
pub(crate) fn is_loopback_http(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|url| url.scheme() == "http" && is_loopback(&url))
}

/// Whether the sandbox may deliver to `url`: HTTP or HTTPS to a loopback host only.
fn deliverable(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && is_loopback(&url))
}

/// Runs a task's deliveries to completion: progress events while it runs (Apiframe, when
/// subscribed), then the terminal event, unless a fault drops it or duplicates it. Runs as a
/// task of the sandbox's [`super::Background`], which aborts it when the sandbox shuts down.
pub(crate) async fn deliver(state: Arc<State>, task: Arc<Task>, target: Target) {
    let total = state.real(task.seconds);
    if target.progress && task.provider == Provider::Apiframe && !total.is_zero() {
        // Three progress events while the task runs, at 25, 50 and 75 % of its running time.
        for step in 1..=3u32 {
            let at = total / 4 + total * 3 * step / 16;
            sleep_until(&task, at).await;
            if let Phase::Running { .. } = state.phase(&task) {
                let body = super::routes::task_body(&state, &task);
                send(&state, &task, &target.url, &body).await;
            }
        }
    }
    sleep_until(&task, total).await;
    let wanted = match state.phase(&task) {
        Phase::Succeeded => target.completed,
        Phase::Failed => target.failed,
        _ => false,
    };
    if !wanted {
        return;
    }
    if task.faults.drop_callback {
        task.webhook
            .store(WebhookStatus::Failed as u8, Ordering::Relaxed);
        return;
    }
    let body = super::routes::task_body(&state, &task);
    let delivered = send(&state, &task, &target.url, &body).await;
    if delivered && task.faults.duplicate_callback {
        send(&state, &task, &target.url, &body).await;
    }
    let status = if delivered {
        WebhookStatus::Delivered
    } else {
        WebhookStatus::Failed
    };
    task.webhook.store(status as u8, Ordering::Relaxed);
}

async fn sleep_until(task: &Task, at: Duration) {
    let elapsed = task.started.elapsed();
    if at > elapsed {
        tokio::time::sleep(at - elapsed).await;
    }
}

/// POSTs one event until a 2xx answer or the attempts run out, through the crate's one retry
/// mechanism ([`delivery_policy`]); true when delivered. Logs the outcome: the URL without its
/// query, never a header.
async fn send(state: &State, task: &Task, url: &str, body: &Value) -> bool {
    let (provider, id, shown) = (task.provider.name(), task.id.as_str(), redacted(url));
    if !deliverable(url) {
        tracing::warn!(
            %provider, task = %id, url = %shown,
            "callback not delivered: the sandbox delivers only to loopback hosts"
        );
        return false;
    }
    let Ok(bytes) = serde_json::to_vec(body) else {
        return false;
    };
    let bytes = Bytes::from(bytes);
    let policy = delivery_policy(&state.config);
    let mut tries = 0u32;
    let delivered = policy
        .run(
            "callback delivery",
            |failure: &Undelivered| Some(Retry::because(failure, None)),
            |attempt| {
                tries = attempt;
                post(state, task, url, bytes.clone())
            },
        )
        .await;
    match delivered {
        Ok(status) => {
            tracing::info!(%provider, task = %id, url = %shown, status, attempts = tries, "callback delivered");
            true
        }
        Err(failure) => {
            tracing::warn!(
                %provider, task = %id, url = %shown, attempts = tries,
                "callback not delivered: {failure}"
            );
            false
        }
    }
}

/// How deliveries are retried: [`SandboxConfig::callback_attempts`] in all, the first retry
/// after up to [`SandboxConfig::callback_backoff`], the ceiling doubling for each later one
/// and never capped below that schedule.
fn delivery_policy(config: &SandboxConfig) -> RetryPolicy {
    let retries = config.callback_attempts.max(1).saturating_sub(1);
    let base = config.callback_backoff;
    let last = base.saturating_mul(2u32.saturating_pow(retries.saturating_sub(1)));
    RetryPolicy::default()
        .with_max_retries(retries)
        .with_backoff(base, last)
}

/// Why one delivery attempt did not count: the receiver's answer, or no answer.
#[derive(Debug)]
enum Undelivered {
    Status(u16),
    TimedOut,
    NoAnswer,
}

impl fmt::Display for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undelivered::Status(status) => write!(f, "the receiver answered {status}"),
            Undelivered::TimedOut => f.write_str("the receiver did not answer within 10 s"),
            Undelivered::NoAnswer => f.write_str("the receiver could not be reached"),
        }
    }
}

/// One delivery attempt: the event POSTed, signed as its provider signs it (HiAPI afresh with
/// each attempt's timestamp). The 2xx status when delivered.
async fn post(state: &State, task: &Task, url: &str, bytes: Bytes) -> Result<u16, Undelivered> {
    let mut request = state
        .http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(ATTEMPT_TIMEOUT);
    match task.provider {
        Provider::HiApi => {
            if let Some(secret) = &state.config.webhook_secret {
                let now = unix_now();
                request = request
                    .header(webhook::HIAPI_TIMESTAMP_HEADER, now.to_string())
                    .header(
                        webhook::HIAPI_SIGNATURE_HEADER,
                        webhook::hiapi_signature(secret.as_bytes(), now, &bytes),
                    );
            }
        }
        Provider::Apiframe => {
            let signature = webhook::apiframe_signature_keyed(&task.key_hash, &bytes);
            request = request.header(webhook::APIFRAME_SIGNATURE_HEADER, signature);
        }
        Provider::Reapi => {}
    }
    match request.body(bytes).send().await {
        Ok(answer) if answer.status().is_success() => Ok(answer.status().as_u16()),
        Ok(answer) => Err(Undelivered::Status(answer.status().as_u16())),
        Err(err) if err.is_timeout() => Err(Undelivered::TimedOut),
        Err(_) => Err(Undelivered::NoAnswer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_is_recognised() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost/hook",
            "http://LOCALHOST:80",
            "http://[::1]:8080/x",
            "http://127.8.9.10/x?y",
            "http://user@127.0.0.1/x",
        ] {
            assert!(is_loopback_http(url), "{url}");
        }
        for url in [
            "https://127.0.0.1/hook",
            "http://example.com/hook",
            "http://127.0.0.1.example.com/hook",
            "http://10.0.0.1/hook",
            "http://[::2]/x",
            "ftp://127.0.0.1/x",
        ] {
            assert!(!is_loopback_http(url), "{url}");
        }
    }

    #[test]
    fn deliveries_retry_with_the_configured_attempts_and_doubling_backoff() {
        let config = SandboxConfig::default().with_callback_retries(5, Duration::from_millis(100));
        let policy = delivery_policy(&config);
        assert_eq!(policy.max_retries, 4);
        assert_eq!(policy.base_delay, Duration::from_millis(100));
        // The fourth retry may wait up to 100 ms × 2³, as the schedule always said.
        assert_eq!(policy.max_delay, Duration::from_millis(800));
        for retry in 0..4 {
            let ceiling = Duration::from_millis(100 << retry);
            for _ in 0..50 {
                assert!(policy.delay(retry, None) <= ceiling);
            }
        }
        let once = SandboxConfig::default().with_callback_retries(1, Duration::from_secs(1));
        assert_eq!(delivery_policy(&once).max_retries, 0);
        let zero = SandboxConfig {
            callback_attempts: 0,
            ..SandboxConfig::default()
        };
        assert_eq!(delivery_policy(&zero).max_retries, 0);
        let many = SandboxConfig {
            callback_attempts: u32::MAX,
            ..SandboxConfig::default()
        };
        assert_eq!(delivery_policy(&many).max_retries, u32::MAX - 1);
    }
}
