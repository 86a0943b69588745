//! Callback (HiAPI) and webhook (Apiframe) deliveries: POSTed when a task ends (and on
//! Apiframe progress when asked), signed as each provider signs them, retried on anything but a
//! 2xx answer.
//!
//! The sandbox delivers only to loopback hosts, so it never reaches out of the machine: a
//! task whose callback points elsewhere is accepted (as the provider would accept it) and its
//! delivery is recorded as failed.

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use serde_json::Value;

use super::{unix_now, Phase, State, Task, WebhookStatus};
use crate::{net::is_loopback, webhook, Provider};

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
/// subscribed), then the terminal event, unless a fault drops it or duplicates it.
pub(crate) async fn deliver(state: Arc<State>, task: Arc<Task>, target: Target) {
    let total = Duration::from_secs_f64(state.config.task_seconds);
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

/// POSTs one event until a 2xx answer or the attempts run out; true when delivered.
async fn send(state: &State, task: &Task, url: &str, body: &Value) -> bool {
    if !deliverable(url) {
        return false;
    }
    let Ok(bytes) = serde_json::to_vec(body) else {
        return false;
    };
    let attempts = state.config.callback_attempts.max(1);
    for attempt in 0..attempts {
        if attempt > 0 {
            let backoff = state.config.callback_backoff * 2u32.saturating_pow(attempt - 1);
            tokio::time::sleep(backoff).await;
        }
        let mut request = state
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .timeout(Duration::from_secs(10));
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
        if let Ok(answer) = request.body(bytes.clone()).send().await {
            if answer.status().is_success() {
                return true;
            }
        }
    }
    false
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
}
