//! Retries: jittered exponential backoff, honouring `Retry-After` (seconds or HTTP-date), capped.

use std::{future::Future, time::Duration};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::Error;

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

    /// The wait before retry number `retry` (0 for the first): the provider's `Retry-After`
    /// when given (capped), else a uniformly random time up to `base × 2^retry` (capped).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_retry_after);
        }
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry.min(20)))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }

    /// Runs `call` until it succeeds, fails with an error `retryable` refuses, or the retries
    /// run out.
    pub(crate) async fn run<T, F, Fut>(
        &self,
        retryable: impl Fn(&Error) -> bool,
        mut call: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut retry = 0;
        loop {
            match call().await {
                Err(err) if retry < self.max_retries && retryable(&err) => {
                    tokio::time::sleep(self.delay(retry, err.retry_after())).await;
                    retry += 1;
                }
                done => return done,
            }
        }
    }
}

/// The `Retry-After` of an answer: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(value, chrono::Utc::now())
}

fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sat, 21 Nov 2026 09:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_cap() {
        let policy = RetryPolicy::default();
        for retry in 0..10 {
            let ceiling =
                (Duration::from_millis(500) * 2u32.pow(retry)).min(Duration::from_secs(8));
            for _ in 0..50 {
                assert!(policy.delay(retry, None) <= ceiling);
            }
        }
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
    }
}
