//! The per-key rate limit on submits: a token bucket per (provider, API key), in real time.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::Provider;

/// One key's bucket: the tokens it held at `at`.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets, one per (provider, key), each holding one second's worth of tokens (at least
/// one) and refilled continuously at `rate` tokens per second. A bucket idle long enough to be
/// full again is the same as no bucket, so [`Limiter::sweep`] drops those. Not `Debug`: the
/// map holds the keys themselves.
pub(crate) struct Limiter {
    /// Tokens per second: finite and positive.
    rate: f64,
    /// The most tokens a bucket holds: `max(rate, 1)`.
    capacity: f64,
    buckets: Mutex<HashMap<(Provider, String), Bucket>>,
}

impl Limiter {
    /// A limiter of `rate` submits per second per key; `rate` must be finite and positive (the
    /// sandbox's configuration is clamped before it gets here).
    pub fn new(rate: f64) -> Self {
        Limiter {
            rate,
            capacity: rate.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from the key's bucket at `now`: `Ok` when there was one, else the whole
    /// seconds until the next one (at least 1), for `Retry-After`.
    pub fn take(&self, provider: Provider, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((provider, key.to_owned())).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        // A clock behind the bucket's (never with `Instant`) adds nothing.
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.capacity);
        bucket.at = bucket.at.max(now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.rate;
        // `wait` is at most 1 / rate, and the rate is at least the sandbox's minimum.
        Err((wait.ceil() as u64).max(1))
    }

    /// How long an untouched bucket takes to fill up from empty.
    fn refill_time(&self) -> Duration {
        Duration::try_from_secs_f64(self.capacity / self.rate).unwrap_or(Duration::MAX)
    }

    /// Forgets the buckets untouched long enough to be full again by `now`.
    pub fn sweep(&self, now: Instant) {
        let full_after = self.refill_time();
        self.buckets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, bucket| now.saturating_duration_since(bucket.at) < full_after);
    }

    /// How many buckets are remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.buckets.lock().map_or(0, |buckets| buckets.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_holds_one_seconds_worth_and_refills_continuously() {
        let limiter = Limiter::new(4.0);
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(limiter.take(Provider::HiApi, "sk-a", t0), Ok(()));
        }
        assert_eq!(limiter.take(Provider::HiApi, "sk-a", t0), Err(1));
        // Another key, and the same key on another provider, have buckets of their own.
        assert_eq!(limiter.take(Provider::HiApi, "sk-b", t0), Ok(()));
        assert_eq!(limiter.take(Provider::Reapi, "sk-a", t0), Ok(()));
        // A quarter second later, one token is back.
        let later = t0 + Duration::from_millis(250);
        assert_eq!(limiter.take(Provider::HiApi, "sk-a", later), Ok(()));
        assert_eq!(limiter.take(Provider::HiApi, "sk-a", later), Err(1));
    }

    #[test]
    fn slow_rates_hold_one_token_and_say_how_long_to_wait() {
        let limiter = Limiter::new(0.1);
        let t0 = Instant::now();
        assert_eq!(limiter.take(Provider::Apiframe, "afk_a", t0), Ok(()));
        assert_eq!(limiter.take(Provider::Apiframe, "afk_a", t0), Err(10));
        let later = t0 + Duration::from_millis(2500);
        assert_eq!(limiter.take(Provider::Apiframe, "afk_a", later), Err(8));
        let full = t0 + Duration::from_secs(10);
        assert_eq!(limiter.take(Provider::Apiframe, "afk_a", full), Ok(()));
    }

    #[test]
    fn a_sweep_forgets_only_buckets_that_are_full_again() {
        let limiter = Limiter::new(2.0);
        let t0 = Instant::now();
        let _ = limiter.take(Provider::HiApi, "sk-a", t0);
        let _ = limiter.take(Provider::HiApi, "sk-b", t0 + Duration::from_millis(900));
        limiter.sweep(t0 + Duration::from_millis(1000));
        assert_eq!(limiter.len(), 1);
        limiter.sweep(t0 + Duration::from_millis(1900));
        assert_eq!(limiter.len(), 0);
        limiter.sweep(t0);
    }
}
