//! The one retry mechanism: jittered exponential backoff that honours `Retry-After` (capped),
//! logs every decision, and runs any attempt the caller gives it. The client's submits, polls
//! and download resumes and the sandbox's callback deliveries all go through
//! [`RetryPolicy::run`].

use std::{
    fmt,
    future::Future,
    time::{Duration, SystemTime},
};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How failed calls are retried.
///
/// Defaults follow the providers' official SDKs: up to 3 retries; full-jitter backoff from
/// 0.5 s doubling to at most 8 s; a `Retry-After` answer waits what it says, up to 60 s.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The backoff ceiling of the first retry; it doubles per retry.
    pub base_delay: Duration,
    /// The backoff ceiling.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured; longer ones are cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Why an attempt may be tried again, and when the other side asked for it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Retry {
    /// What failed, for the log (`429 rate limited`, `connection reset`): never a key or a
    /// signed URL.
    pub reason: String,
    /// The `Retry-After` the answer carried.
    pub after: Option<Duration>,
    /// The reason as one word, for metrics (`rate_limited`, `unavailable`, `network`, ...).
    pub kind: &'static str,
}

impl Retry {
    pub(crate) fn because(reason: impl fmt::Display, after: Option<Duration>) -> Retry {
        Retry {
            reason: reason.to_string(),
            after,
            kind: "other",
        }
    }

    /// Sets [`Retry::kind`].
    pub(crate) fn kind(mut self, kind: &'static str) -> Retry {
        self.kind = kind;
        self
    }
}

/// Retries taken in this process, by operation and kind of reason: what
/// `happyhorse_retries_total` reports (the clients a batch uses are not told of its metrics).
static RETRIES: std::sync::Mutex<std::collections::BTreeMap<(&'static str, &'static str), u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn note_retry(operation: &'static str, kind: &'static str) {
    let mut retries = RETRIES.lock().unwrap_or_else(|p| p.into_inner());
    let n = retries.entry((operation, kind)).or_insert(0);
    *n = n.saturating_add(1);
}

/// The retries taken in this process so far, by (operation, kind of reason).
#[cfg(feature = "ledger")]
pub(crate) fn counted() -> Vec<((&'static str, &'static str), u64)> {
    let retries = RETRIES.lock().unwrap_or_else(|p| p.into_inner());
    retries.iter().map(|(k, n)| (*k, *n)).collect()
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Sets [`RetryPolicy::max_retries`].
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the first backoff ceiling and the cap.
    pub fn with_backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// The wait before retry number `retry` (0 for the first): the other side's
    /// `Retry-After` when given (capped), else a uniformly random time up to
    /// `base × 2^retry` (capped).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(20)))
            .min(self.max_delay);
        scale(ceiling, fastrand::f64())
    }

    /// Counts the attempts of one operation and decides, after each failure, whether and
    /// when to try again. [`RetryPolicy::run`] drives it for a closure; a loop that keeps
    /// state of its own across attempts (a download's partial file) drives it by hand.
    pub(crate) fn attempts(&self, operation: &'static str) -> Attempts<'_> {
        Attempts {
            policy: self,
            operation,
            number: 1,
        }
    }

    /// Runs `attempt` (numbered from 1) until it succeeds, fails in a way `classify` does not
    /// call retryable, or the retries run out; logs each decision under `operation`.
    pub(crate) async fn run<T, E, F, Fut>(
        &self,
        operation: &'static str,
        classify: impl Fn(&E) -> Option<Retry>,
        mut attempt: F,
    ) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut attempts = self.attempts(operation);
        loop {
            match attempt(attempts.number()).await {
                Ok(done) => return Ok(done),
                Err(err) => {
                    if !attempts.again(classify(&err)).await {
                        return Err(err);
                    }
                }
            }
        }
    }
}

/// The attempts of one operation under a [`RetryPolicy`].
#[derive(Debug)]
pub(crate) struct Attempts<'p> {
    policy: &'p RetryPolicy,
    operation: &'static str,
    number: u32,
}

impl Attempts<'_> {
    /// The current attempt, from 1.
    pub(crate) fn number(&self) -> u32 {
        self.number
    }

    /// After a failed attempt: `retry` says why it may be tried again (`None`: it may not).
    /// Logs the decision; when retrying, sleeps the backoff and returns true.
    pub(crate) async fn again(&mut self, retry: Option<Retry>) -> bool {
        let (operation, attempt) = (self.operation, self.number);
        let Some(retry) = retry else {
            return false;
        };
        if attempt > self.policy.max_retries {
            tracing::debug!(operation, attempt, reason = %retry.reason, "giving up: no retries left");
            return false;
        }
        let delay = self.policy.delay(attempt - 1, retry.after);
        tracing::debug!(
            operation,
            attempt,
            reason = %retry.reason,
            retry_after_s = retry.after.map(|d| d.as_secs_f64()),
            delay_ms = delay.as_millis() as u64,
            "retrying"
        );
        note_retry(operation, retry.kind);
        tokio::time::sleep(delay).await;
        self.number = attempt.saturating_add(1);
        true
    }
}

/// `d × factor`, saturating at [`Duration::MAX`] instead of panicking; a factor that is not a
/// finite non-negative number counts as 1.
pub(crate) fn scale(d: Duration, factor: f64) -> Duration {
    let factor = if factor.is_finite() && factor >= 0.0 {
        factor
    } else {
        1.0
    };
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// The `Retry-After` of an answer: delay-seconds, or an HTTP-date in any of RFC 9110's three
/// forms (IMF-fixdate, RFC 850, asctime), counted from now.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, SystemTime::now())
}

/// [`retry_after`] against a given clock. A date in the past means "now".
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        httpdate::parse_http_date(text).unwrap()
    }

    #[test]
    fn retry_after_reads_seconds_and_all_three_date_forms() {
        let now = at("Sat, 21 Nov 2026 10:00:00 GMT");
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        for form in [
            "Sat, 21 Nov 2026 10:00:30 GMT",
            "Saturday, 21-Nov-26 10:00:30 GMT",
            "Sat Nov 21 10:00:30 2026",
        ] {
            assert_eq!(
                parse_retry_after(form, now),
                Some(Duration::from_secs(30)),
                "{form}"
            );
        }
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 09:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("18446744073709551616", now), None);
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_cap() {
        let policy = RetryPolicy::default();
        for retry in 0..40 {
            let ceiling = Duration::from_millis(500)
                .saturating_mul(2u32.saturating_pow(retry))
                .min(Duration::from_secs(8));
            for _ in 0..50 {
                assert!(policy.delay(retry, None) <= ceiling);
            }
        }
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
        assert_eq!(
            policy.delay(u32::MAX, Some(Duration::MAX)),
            Duration::from_secs(60)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn run_retries_what_classify_allows_and_stops_at_the_limit() {
        let policy = RetryPolicy::default().with_max_retries(2);
        let mut calls = Vec::new();
        let result: Result<(), &str> = policy
            .run(
                "test",
                |err: &&str| (*err == "busy").then(|| Retry::because("busy", None)),
                |attempt| {
                    calls.push(attempt);
                    async { Err("busy") }
                },
            )
            .await;
        assert_eq!(result, Err("busy"));
        assert_eq!(calls, [1, 2, 3]);

        let mut calls = 0;
        let result: Result<(), &str> = policy
            .run(
                "test",
                |err: &&str| (*err == "busy").then(|| Retry::because("busy", None)),
                |_| {
                    calls += 1;
                    async { Err("refused") }
                },
            )
            .await;
        assert_eq!((result, calls), (Err("refused"), 1));
    }
}
