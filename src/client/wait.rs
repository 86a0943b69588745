//! Waiting for a task: a deadline, cancellation, a poll schedule that starts quick and backs
//! off, and a callback on every change.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{Client, Error, TaskSnapshot, TaskState};

/// How [`Client::wait`] polls.
///
/// The defaults: one poll at once, the next after 2 s, then each interval ×1.5 up to 10 s,
/// ±10 % jitter, for at most 10 minutes. The seed pages poll every 5 s; a HappyHorse job takes about three minutes
/// and most early failures (an unreachable image, a moderation hit) show within seconds, so the
/// first polls come sooner than 5 s and later ones less often: a 3-minute job costs about 22
/// polls instead of 36, and a quick failure is seen in 2 s rather than 5. 10 minutes matches the
/// providers' SDK budgets (600 s); the jitter spreads a batch's polls apart.
#[derive(Clone, Debug)]
pub struct WaitOptions {
    /// Give up after this long (the task goes on at the provider).
    pub max_wait: Duration,
    /// The wait before the first poll.
    pub first_poll: Duration,
    /// How much each interval grows.
    pub multiplier: f64,
    /// The longest interval.
    pub max_interval: Duration,
    /// Stops the wait early with [`Error::Cancelled`].
    pub cancel: Option<CancellationToken>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            max_wait: Duration::from_secs(600),
            first_poll: Duration::from_secs(2),
            multiplier: 1.5,
            max_interval: Duration::from_secs(10),
            cancel: None,
        }
    }
}

impl WaitOptions {
    /// Sets the deadline.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets the poll schedule: the first wait, the growth factor, the longest wait.
    pub fn schedule(mut self, first: Duration, multiplier: f64, max: Duration) -> Self {
        self.first_poll = first;
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self.max_interval = max.max(first);
        self
    }

    /// Cancels the wait when `token` is cancelled.
    pub fn cancel_on(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// The interval after `interval`.
    fn next(&self, interval: Duration) -> Duration {
        interval.mul_f64(self.multiplier).min(self.max_interval)
    }
}

fn jitter(interval: Duration) -> Duration {
    interval.mul_f64(0.9 + 0.2 * fastrand::f64())
}

impl Client {
    /// Polls task `id` until it ends. Calls `on_change` with each snapshot whose status or
    /// progress differs from the last one (the first included).
    ///
    /// Returns the succeeded snapshot; [`Error::TaskFailed`] when it fails or is cancelled;
    /// [`Error::DeadlineExceeded`] or [`Error::Cancelled`] when the wait stops first (the task
    /// goes on, and a later wait can resume it by id). Transient errors while polling (429,
    /// 5xx, network) do not end the wait; authentication and not-found errors do.
    pub async fn wait(
        &self,
        id: &str,
        options: &WaitOptions,
        mut on_change: impl FnMut(&TaskSnapshot),
    ) -> Result<TaskSnapshot, Error> {
        let provider = self.provider();
        let started = Instant::now();
        let deadline = started + options.max_wait;
        let mut interval = options.first_poll;
        let mut last: Option<TaskSnapshot> = None;
        loop {
            // The first poll is immediate: a resumed wait may find the task done already.
            match self.poll_once(id).await {
                Ok(snapshot) => {
                    let changed = last.as_ref().is_none_or(|seen| {
                        seen.status != snapshot.status || seen.progress != snapshot.progress
                    });
                    if changed {
                        on_change(&snapshot);
                    }
                    match snapshot.state {
                        TaskState::Succeeded => return Ok(snapshot),
                        TaskState::Failed | TaskState::Cancelled => {
                            let (code, message) = match &snapshot.error {
                                Some(error) => (error.code.clone(), error.message.clone()),
                                None if snapshot.state == TaskState::Cancelled => {
                                    (None, "the task was cancelled at the provider".into())
                                }
                                None => (None, "the provider gave no reason".into()),
                            };
                            return Err(Error::TaskFailed {
                                provider,
                                id: id.to_owned(),
                                status: snapshot.status,
                                code,
                                message,
                            });
                        }
                        _ => last = Some(snapshot),
                    }
                }
                // Keep waiting through transient trouble, honouring any Retry-After.
                Err(err) if err.is_transient() => {
                    if let Some(wait) = err.retry_after() {
                        interval = interval.max(wait.min(self.config.retry.max_retry_after));
                    }
                }
                Err(err) => return Err(err),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::DeadlineExceeded {
                    provider,
                    id: id.to_owned(),
                    status: last.map_or_else(|| "unknown".into(), |s| s.status),
                    waited: started.elapsed(),
                });
            }
            let pause = jitter(interval).min(deadline - now);
            let cancelled = match &options.cancel {
                Some(token) => tokio::select! {
                    _ = token.cancelled() => true,
                    _ = tokio::time::sleep(pause) => false,
                },
                None => {
                    tokio::time::sleep(pause).await;
                    false
                }
            };
            if cancelled {
                return Err(Error::Cancelled {
                    provider,
                    id: id.to_owned(),
                });
            }
            interval = options.next(interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_grows_to_its_cap() {
        let options = WaitOptions::default();
        let mut interval = options.first_poll;
        let mut schedule = vec![interval];
        for _ in 0..6 {
            interval = options.next(interval);
            schedule.push(interval);
        }
        let seconds: Vec<f64> = schedule.iter().map(Duration::as_secs_f64).collect();
        assert_eq!(seconds, [2.0, 3.0, 4.5, 6.75, 10.0, 10.0, 10.0]);
        // A three-minute job: how many polls the default schedule makes.
        let (mut at, mut polls, mut interval) = (0.0, 1, options.first_poll.as_secs_f64());
        while at < 180.0 {
            at += interval;
            polls += 1;
            interval = (interval * 1.5).min(10.0);
        }
        assert_eq!(polls, 22);
    }
}
