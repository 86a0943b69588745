//! Callback (HiAPI) and webhook (Apiframe) deliveries: POSTed when a task ends (and on
//! Apiframe progress when asked), signed as each provider signs them, retried on anything but a
//! 2xx answer, with the crate's one retry mechanism (`crate::retry`), as the client retries.
//!
//! The sandbox delivers only to loopback hosts, so it never reaches out of the machine: a
//! task whose callback points elsewhere is accepted (as the provider would accept it) and its
//! delivery is recorded as failed.
//!
//! Every attempt is recorded in the sandbox's delivery log ([`super::Sandbox::deliveries`]),
//! and so are the events a fault drops or that cannot be delivered: never the URL or a header.

use std::{
    fmt,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use axum::body::Bytes;
use serde_json::Value;

use super::{
    stats::{Delivery, DeliveryEvent, DeliveryOutcome},
    unix_now, Phase, SandboxConfig, State, Task, WebhookStatus,
};
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

/// How a `duplicate_callback` fault repeats a task's terminal event, drawn when the task is
/// created: every copy is a full delivery, with its own attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Duplicates {
    /// Two copies, sent at the same moment.
    TwoAtOnce,
    /// Two copies, the second once the first is done (delivered or given up).
    TwoInTurn,
    /// Two copies sent at the same moment, then a third once both are done.
    Three,
}

impl Duplicates {
    /// Three copies or two, at even odds; two are sent at once or in turn, at even odds.
    pub fn draw() -> Self {
        if fastrand::bool() {
            Duplicates::Three
        } else if fastrand::bool() {
            Duplicates::TwoAtOnce
        } else {
            Duplicates::TwoInTurn
        }
    }
}

/// What one copy of an event is, for the delivery log.
#[derive(Clone, Copy, Debug)]
struct EventCopy {
    event: DeliveryEvent,
    task_status: &'static str,
    number: u8,
    concurrent: bool,
}

impl EventCopy {
    /// The one copy of an event that is not duplicated.
    fn only(event: DeliveryEvent, task_status: &'static str) -> Self {
        EventCopy {
            event,
            task_status,
            number: 1,
            concurrent: false,
        }
    }

    /// Copy `number` of the terminal event, sent `concurrent`ly with another or not.
    fn of(self, number: u8, concurrent: bool) -> Self {
        EventCopy {
            number,
            concurrent,
            ..self
        }
    }
}

/// Whether the sandbox may deliver to `url`: HTTP or HTTPS to a loopback host only.
fn deliverable(url: &str) -> bool {
    reqwest::Url::parse(url)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && is_loopback(&url))
}

/// Runs a task's deliveries to completion: progress events while it runs (Apiframe, when
/// subscribed), then the terminal event, unless a fault drops it (one `Dropped` record) or
/// duplicates it (2 or 3 copies, as [`Duplicates`] says). Runs as a task of the sandbox's
/// [`super::Background`], which aborts it when the sandbox shuts down.
pub(crate) async fn deliver(state: Arc<State>, task: Arc<Task>, target: Target) {
    let total = state.real(task.seconds);
    if target.progress && task.provider == Provider::Apiframe && !total.is_zero() {
        // Three progress events while the task runs, at 25, 50 and 75 % of its running time.
        for step in 1..=3u32 {
            let at = total / 4 + total * 3 * step / 16;
            sleep_until(&task, at).await;
            let phase = state.phase(&task);
            if let Phase::Running { .. } = phase {
                let body = super::routes::task_body(&state, &task);
                let copy =
                    EventCopy::only(DeliveryEvent::Progress, phase.status_name(task.provider));
                send(&state, &task, &target.url, &body, copy).await;
            }
        }
    }
    sleep_until(&task, total).await;
    let phase = state.phase(&task);
    let wanted = match phase {
        Phase::Succeeded => target.completed,
        Phase::Failed => target.failed,
        _ => false,
    };
    if !wanted {
        return;
    }
    let terminal = EventCopy::only(DeliveryEvent::Terminal, phase.status_name(task.provider));
    if task.faults.drop_callback {
        record(&state, &task, terminal, 0, DeliveryOutcome::Dropped, None);
        tracing::info!(
            provider = %task.provider.name(), task = %task.id,
            "callback dropped (drop_callback fault)"
        );
        task.webhook
            .store(WebhookStatus::Failed as u8, Ordering::Relaxed);
        return;
    }
    let body = super::routes::task_body(&state, &task);
    let (state, task, url) = (&*state, &*task, target.url.as_str());
    let delivered = match task.faults.duplicate_callback {
        None => send(state, task, url, &body, terminal).await,
        Some(Duplicates::TwoInTurn) => {
            let first = send(state, task, url, &body, terminal.of(1, false)).await;
            let second = send(state, task, url, &body, terminal.of(2, false)).await;
            first || second
        }
        Some(Duplicates::TwoAtOnce) => {
            let (first, second) = tokio::join!(
                send(state, task, url, &body, terminal.of(1, true)),
                send(state, task, url, &body, terminal.of(2, true)),
            );
            first || second
        }
        Some(Duplicates::Three) => {
            let (first, second) = tokio::join!(
                send(state, task, url, &body, terminal.of(1, true)),
                send(state, task, url, &body, terminal.of(2, true)),
            );
            let third = send(state, task, url, &body, terminal.of(3, false)).await;
            first || second || third
        }
    };
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

/// Records one attempt (`attempt` 0: none was made) of `copy` in the delivery log; `began`
/// is when the attempt started (`None`: now, and it took no time).
fn record(
    state: &State,
    task: &Task,
    copy: EventCopy,
    attempt: u32,
    outcome: DeliveryOutcome,
    began: Option<Instant>,
) {
    let (began, duration) = match began {
        Some(began) => (began, began.elapsed()),
        None => (Instant::now(), Duration::ZERO),
    };
    state.deliveries.record(Delivery {
        provider: task.provider,
        task_id: task.id.clone(),
        event: copy.event,
        task_status: copy.task_status,
        copy: copy.number,
        attempt,
        concurrent: copy.concurrent,
        started_at: state.wall_clock(began),
        duration,
        outcome,
    });
}

/// POSTs one copy of an event until a 2xx answer or the attempts run out, through the crate's
/// one retry mechanism ([`delivery_policy`]); true when delivered. Records each attempt in the
/// delivery log, and logs the outcome: the URL without its query, never a header.
async fn send(state: &State, task: &Task, url: &str, body: &Value, copy: EventCopy) -> bool {
    let (provider, id, shown) = (task.provider.name(), task.id.as_str(), redacted(url));
    if !deliverable(url) {
        record(state, task, copy, 0, DeliveryOutcome::NotDeliverable, None);
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
                let bytes = bytes.clone();
                async move {
                    let began = Instant::now();
                    let answer = post(state, task, url, bytes).await;
                    let outcome = match &answer {
                        Ok(status) | Err(Undelivered::Status(status)) => {
                            DeliveryOutcome::Status(*status)
                        }
                        Err(Undelivered::TimedOut) => DeliveryOutcome::TimedOut,
                        Err(Undelivered::NoAnswer) => DeliveryOutcome::NoAnswer,
                    };
                    record(state, task, copy, attempt, outcome, Some(began));
                    answer
                }
            },
        )
        .await;
    let number = copy.number;
    match delivered {
        Ok(status) => {
            tracing::info!(
                %provider, task = %id, url = %shown, status, attempts = tries, copy = number,
                "callback delivered"
            );
            true
        }
        Err(failure) => {
            tracing::warn!(
                %provider, task = %id, url = %shown, attempts = tries, copy = number,
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
    fn duplicates_draw_every_shape() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            seen.insert(format!("{:?}", Duplicates::draw()));
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
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
