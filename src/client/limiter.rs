//! A submit pacer that learns a provider's rate limit from its 429s.
//!
//! Every submit attempt of a [`super::Client`] (and of its clones: a batch's jobs share one)
//! waits for a slot here. Until the provider pushes back the pace is unlimited. On a 429 (or a
//! 503 `nsfw_moderation_unavailable`, the moderation service shedding load) the pace becomes
//! 90 % of the submits that succeeded in the last `Retry-After` window (at least one second):
//! what the provider just let through is the best estimate of what it allows. The pace then
//! grows by 2 % per second of successes, so the batch probes back up slowly and settles near
//! the limit (a token bucket lets a slight excess through for a while) instead of oscillating
//! between hammering and idling. The refused submit itself waits
//! its `Retry-After` (the retry policy) and then a slot like any other.
//!
//! Push-backs within one `Retry-After` window count as one (the submits in flight were refused
//! for the same reason), and the pace never falls below half the most submits that got through
//! in one second so far: a provider refusing some submits at random, not by
//! rate, slows a batch down but cannot stall it.

use std::{collections::VecDeque, sync::Mutex, time::Duration};

use tokio::time::Instant;

/// The slowest pace the limiter falls to, submits per second.
const MIN_RATE: f64 = 0.5;
/// The pace never falls below this share of the most submits that ever got through in one
/// second: a provider that refuses some submits at random (not a rate limit) slows a batch
/// down, but cannot stall it.
const FLOOR_OF_PEAK: f64 = 0.5;
/// How long successes are remembered (for the estimate and the peak).
const PEAK_WINDOW: Duration = Duration::from_secs(10);
/// How fast the pace grows after a push-back, per second of successes.
const GROWTH: f64 = 0.02;
/// The longest window the estimate counts successes over.
const WINDOW_MAX: Duration = Duration::from_secs(10);

#[derive(Debug)]
struct State {
    /// Submits per second allowed, once the provider pushed back.
    rate: Option<f64>,
    /// When the next submit may start.
    next: Instant,
    /// When recent submits succeeded.
    successes: VecDeque<Instant>,
    /// When the pace last grew.
    grown: Instant,
    /// The most submits that got through in one second so far.
    best: f64,
    /// The last push-back and its `Retry-After`.
    last_push_back: Option<(Instant, Duration)>,
    /// Counts the push-backs that changed the pace: a slot handed out before one is taken
    /// again at the new pace.
    paced: u64,
}

/// Paces the submits of one provider's client.
#[derive(Debug)]
pub(crate) struct SubmitLimiter {
    state: Mutex<State>,
}

impl Default for SubmitLimiter {
    fn default() -> Self {
        let now = Instant::now();
        SubmitLimiter {
            state: Mutex::new(State {
                rate: None,
                next: now,
                successes: VecDeque::new(),
                grown: now,
                best: 0.0,
                last_push_back: None,
                paced: 0,
            }),
        }
    }
}

impl SubmitLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this submit's slot. Slots are handed out ahead (many submits wait at once);
    /// a push-back while one waits hands it a new slot at the new pace, so the submits queued
    /// behind a refusal do not go out at the pace the provider just refused.
    pub async fn acquire(&self) {
        loop {
            let (start, paced) = {
                let mut state = self.lock();
                let now = Instant::now();
                let start = state.next.max(now);
                if let Some(rate) = state.rate {
                    state.next = start + Duration::from_secs_f64(1.0 / rate.max(MIN_RATE));
                }
                (start, state.paced)
            };
            tokio::time::sleep_until(start).await;
            if self.lock().paced == paced {
                return;
            }
        }
    }

    /// The submit got through.
    pub fn succeeded(&self) {
        let mut state = self.lock();
        let now = Instant::now();
        state.successes.push_back(now);
        while state
            .successes
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > PEAK_WINDOW)
        {
            state.successes.pop_front();
        }
        let second_ago = now.checked_sub(Duration::from_secs(1));
        let within = state.successes.len()
            - second_ago.map_or(0, |t| state.successes.partition_point(|s| *s <= t));
        // A count of a few thousand at most: exact in an f64.
        state.best = state.best.max(within as f64);
        let since = now
            .saturating_duration_since(state.grown)
            .min(Duration::from_secs(1));
        state.grown = now;
        if let Some(rate) = state.rate.as_mut() {
            *rate *= 1.0 + GROWTH * since.as_secs_f64();
        }
    }

    /// The provider pushed back (429, or 503 while moderation is unavailable).
    pub fn pushed_back(&self, retry_after: Option<Duration>) {
        let mut state = self.lock();
        let now = Instant::now();
        let window = retry_after
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_secs(1), WINDOW_MAX);
        let recent = state
            .successes
            .iter()
            .filter(|t| now.saturating_duration_since(**t) <= window)
            .count();
        // At most a few thousand per window: exact in an f64.
        let observed = recent as f64 / window.as_secs_f64();
        let floor = (state.best * FLOOR_OF_PEAK).max(MIN_RATE);
        let estimate = (observed * 0.9).max(floor);
        // One push-back decides per window: the other submits in flight when the provider
        // pushed back were refused for the same reason.
        let same_event = state
            .last_push_back
            .is_some_and(|(at, after)| now.saturating_duration_since(at) < after);
        let rate = match state.rate {
            None => estimate,
            Some(rate) if same_event => rate,
            Some(rate) => rate.min(estimate.max(rate * 0.5)).max(floor),
        };
        if !same_event {
            // The slots handed out at the old pace are handed out again from here.
            state.paced = state.paced.wrapping_add(1);
            state.next = now + Duration::from_secs_f64(1.0 / rate.max(MIN_RATE));
        }
        state.rate = Some(rate);
        state.last_push_back = Some((now, window));
        tracing::debug!(
            rate = state.rate,
            observed,
            "submits paced after a push-back"
        );
    }

    /// Submits per second allowed now (`None`: no limit learnt).
    pub fn rate(&self) -> Option<f64> {
        self.lock().rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn learns_the_rate_from_what_got_through_and_probes_back_up() {
        let limiter = SubmitLimiter::default();
        // 20 submits in the second before a 429.
        for _ in 0..20 {
            limiter.acquire().await;
            limiter.succeeded();
            tokio::time::advance(Duration::from_millis(50)).await;
        }
        limiter.pushed_back(Some(Duration::from_secs(1)));
        let rate = limiter.rate().unwrap();
        assert!((17.0..=19.0).contains(&rate), "{rate}");
        // Paced: ten slots take about half a second.
        let start = Instant::now();
        for _ in 0..10 {
            limiter.acquire().await;
            limiter.succeeded();
        }
        let took = start.elapsed().as_secs_f64();
        assert!((0.4..0.6).contains(&took), "{took}");
        assert!(limiter.rate().unwrap() > rate, "successes grow the pace");
    }

    #[tokio::test(start_paused = true)]
    async fn random_push_backs_slow_the_pace_but_never_stall_it() {
        let limiter = SubmitLimiter::default();
        // 40 submits a second get through, and one in ten is refused, for a minute.
        for i in 0..2400u32 {
            limiter.acquire().await;
            if i % 10 == 9 {
                limiter.pushed_back(Some(Duration::from_secs(1)));
            } else {
                limiter.succeeded();
            }
            tokio::time::advance(Duration::from_millis(25)).await;
        }
        // The first refusal came after 9 submits, so the pace was learnt low (8/s) and the
        // floor is half the best second (4.5/s): slower than the 40/s offered, never stalled.
        let rate = limiter.rate().unwrap();
        assert!(rate >= 4.5, "{rate}");
    }

    #[tokio::test(start_paused = true)]
    async fn submits_waiting_for_a_slot_take_the_pace_a_push_back_sets() {
        let limiter = std::sync::Arc::new(SubmitLimiter::default());
        for _ in 0..20 {
            limiter.acquire().await;
            limiter.succeeded();
            tokio::time::advance(Duration::from_millis(50)).await;
        }
        limiter.pushed_back(Some(Duration::from_secs(1)));
        let first = limiter.rate().unwrap();
        tokio::time::advance(Duration::from_millis(1100)).await;
        // Twenty submits take their slots at that pace (the last about a second away)...
        let start = Instant::now();
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        // ...then the provider pushes back with nothing let through in its window: the pace
        // falls to the floor (half the best second), and the waiting submits take it.
        limiter.pushed_back(Some(Duration::from_secs(1)));
        let slower = limiter.rate().unwrap();
        assert!(slower < first * 0.7, "{slower} after {first}");
        let mut last = start;
        for handle in waiting {
            last = last.max(handle.await.unwrap());
        }
        let took = last.duration_since(start).as_secs_f64();
        let at_new_pace = 18.0 / slower;
        assert!(
            took >= at_new_pace,
            "the last of 20 went after {took:.2} s; at the new pace not before {at_new_pace:.2} s"
        );
    }
}
